// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Ground truth for the CFI unwinder, built -O2 -fomit-frame-pointer: three
 * threads block in read() on a pipe that never gets data, each through a
 * known chain of functions:
 *   main:   main -> level_a -> level_b -> level_c -> read
 *   thread: thread_main -> level_a -> level_b -> level_c -> read
 *   signal: spin_thread -> spin_a -> spin_b -> spin_c (spinning), interrupted
 *           by SIGUSR1 -> sig_handler -> sig_block -> read
 * Each thread reports "<role> <tid>\n" on fd 3 before it blocks.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline, noclone, used))

static int block_fd;
static volatile int spinning;
volatile long sink;

static void report(char role)
{
	char line[32];
	int n = snprintf(line, sizeof(line), "%c %ld\n", role, (long)syscall(SYS_gettid));

	if (write(3, line, (size_t)n) != n)
		_exit(2);
}

NOINLINE void level_c(int fd)
{
	char c;

	sink += read(fd, &c, 1);	/* blocks forever */
}

NOINLINE void level_b(int fd)
{
	level_c(fd);
	sink++;
}

NOINLINE void level_a(int fd)
{
	level_b(fd);
	sink++;
}

NOINLINE void sig_block(int fd)
{
	char c;

	sink += read(fd, &c, 1);
	sink++;
}

NOINLINE void sig_handler(int sig)
{
	report('S');
	sig_block(block_fd);
	sink += sig;
}

NOINLINE void spin_c(void)
{
	spinning = 1;
	for (;;)
		sink++;
}

NOINLINE void spin_b(void)
{
	spin_c();
	sink++;
}

NOINLINE void spin_a(void)
{
	spin_b();
	sink++;
}

NOINLINE void *spin_thread(void *arg)
{
	spin_a();
	return arg;
}

NOINLINE void *thread_main(void *arg)
{
	report('T');
	level_a(block_fd);
	return arg;
}

int main(void)
{
	struct sigaction sa;
	pthread_t thread, spinner;
	int fds[2];

	if (pipe(fds))
		return 1;
	block_fd = fds[0];	/* the write end stays open: read never returns */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sig_handler;
	if (sigaction(SIGUSR1, &sa, NULL))
		return 1;
	if (pthread_create(&thread, NULL, thread_main, NULL) ||
	    pthread_create(&spinner, NULL, spin_thread, NULL))
		return 1;
	while (!spinning)
		;
	pthread_kill(spinner, SIGUSR1);
	report('M');
	level_a(block_fd);
	return (int)sink;
}
