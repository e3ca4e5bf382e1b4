// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Names a program may choose, against every writer of names (tests/e2e/
 * test_names.py, test_csv.py, test_export.py): C++ frames with commas,
 * spaces, quotes and templates, thread and process names with the folded
 * separator, newlines, markup and terminal escapes. Each mode blocks known
 * amounts and prints what it slept, one JSON line per thread:
 *
 *   hostile quoting   threads "a,b\"c", "semi;colon", "sp ace": 40 rounds of
 *                     wait_in<long, double> (3 ms) and 3_naps (3 x 3 ms)
 *   hostile bimodal   thread "<b>&\"x</script>": 480 waits in wait_in<int,
 *                     char>, 7 in 8 of 50 us and 1 in 8 of 4 ms
 *   hostile control   process "my prog;v2" joins threads "x;y z\n1 2"
 *                     (20 x 10 ms) and "\x1b[31mRED" (10 x 10 ms)
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

static long long now_ns()
{
	timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void nap(long ns)
{
	timespec ts{0, ns};

	nanosleep(&ts, nullptr);
}

template <typename A, typename B>
__attribute__((noinline)) void wait_in(A a, B b, long ns)
{
	nap(ns);
	asm volatile("" ::: "memory");
}

__attribute__((noinline)) unsigned long long operator"" _naps(unsigned long long n)
{
	for (unsigned long long i = 0; i < n; i++)
		wait_in<int, char>(1, 'c', 3000000);
	return n;
}

struct worker {
	const char *name;
	const char *label;	/* the name in the JSON line: printable */
	void (*body)();
	long long slept_ns;
};

static void quoting_rounds()
{
	for (int i = 0; i < 40; i++) {
		wait_in<long, double>(1, 2.0, 3000000);
		(void)(3_naps);
	}
}

/* Two populations of waits at one stack. */
static void bimodal_waits()
{
	for (int i = 0; i < 480; i++)
		wait_in<int, char>(1, 'c', i % 8 ? 50000 : 4000000);
}

static void twenty_naps()
{
	for (int i = 0; i < 20; i++)
		wait_in<int, char>(1, 'c', 10000000);
}

static void ten_naps()
{
	for (int i = 0; i < 10; i++)
		wait_in<int, char>(1, 'c', 10000000);
}

static void *run_worker(void *arg)
{
	worker *w = (worker *)arg;
	long long t0;

	prctl(PR_SET_NAME, w->name);
	t0 = now_ns();
	w->body();
	w->slept_ns = now_ns() - t0;
	return nullptr;
}

static worker quoting[] = {
	{ "a,b\"c", "quote", quoting_rounds, 0 },
	{ "semi;colon", "semi", quoting_rounds, 0 },
	{ "sp ace", "space", quoting_rounds, 0 },
};
static worker bimodal[] = {
	{ "<b>&\"x</script>", "markup", bimodal_waits, 0 },
};
static worker control[] = {
	{ "x;y z\n1 2", "newline", twenty_naps, 0 },
	{ "\x1b[31mRED", "escape", ten_naps, 0 },
};

static int run_all(worker *ws, int n)
{
	pthread_t t[4];

	for (int i = 0; i < n; i++)
		if (pthread_create(&t[i], nullptr, run_worker, &ws[i]))
			return 1;
	for (int i = 0; i < n; i++)
		pthread_join(t[i], nullptr);
	for (int i = 0; i < n; i++)
		printf("{\"thread\":\"%s\",\"slept_ns\":%lld}\n", ws[i].label, ws[i].slept_ns);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	/* Give the recorder time to read the new process's maps. */
	nap(300000000);
	if (!strcmp(mode, "quoting"))
		return run_all(quoting, 3);
	if (!strcmp(mode, "bimodal"))
		return run_all(bimodal, 1);
	if (!strcmp(mode, "control")) {
		/* The process's name: comm of the main thread, 10 of 15 bytes. */
		prctl(PR_SET_NAME, "my prog;v2");
		return run_all(control, 2);
	}
	fprintf(stderr, "usage: hostile quoting|bimodal|control\n");
	return 2;
}
