// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A program with known functions and variables for the symbolizer's tests.
 * Run, it prints the runtime addresses the tests look up, then waits for
 * stdin to close so the test can read its maps while it lives.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

pthread_mutex_t fixture_mutex = PTHREAD_MUTEX_INITIALIZER;	/* zeros: .bss */
long fixture_bss_counter;					/* .bss */
int fixture_data_value = 42;					/* .data */
static char fixture_big_bss[1 << 20];				/* a bss of its own pages */
void *volatile fixture_leaf_return;

__attribute__((noinline)) void fixture_leaf(void)
{
	fixture_leaf_return = __builtin_return_address(0);
	__asm__ volatile("" ::: "memory");
}

static inline __attribute__((always_inline)) int fixture_inlined(int x)
{
	fixture_leaf();
	return x * 3 + (int)fixture_bss_counter;
}

__attribute__((noinline)) int fixture_outer(int x)
{
	int y = fixture_inlined(x);

	fixture_bss_counter += y;
	return y + 1;
}

int main(int argc, char **argv)
{
	char line[16];

	fixture_outer(argc);
	fixture_big_bss[argc] = 1;
	printf("outer %p\n", (void *)fixture_outer);
	printf("inlined_pc %p\n", (void *)((char *)fixture_leaf_return - 1));
	printf("mutex %p\n", (void *)&fixture_mutex);
	printf("bss %p\n", (void *)&fixture_bss_counter);
	printf("data %p\n", (void *)&fixture_data_value);
	printf("big_bss %p\n", (void *)&fixture_big_bss[4096 * 3]);
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin))
		;
	return fixture_big_bss[0];
}
