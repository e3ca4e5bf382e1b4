// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Lock benchmark for bench/locks.sh: prints its own timing as one JSON line.
 *   locks_bench uncontended N      one thread, N pthread_mutex_lock/unlock
 *                                  pairs: ns per pair
 *   locks_bench contended T N      T threads, N lock/unlock pairs each on
 *                                  one mutex with a little work inside:
 *                                  wall time and pairs per second
 */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t bench_mu = PTHREAD_MUTEX_INITIALIZER;
static volatile uint64_t shared_counter;
static long pairs;
static int yield_inside;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void *worker(void *arg)
{
	long i;
	int j;

	(void)arg;
	for (i = 0; i < pairs; i++) {
		pthread_mutex_lock(&bench_mu);
		for (j = 0; j < 50; j++)
			shared_counter++;
		if (yield_inside)
			sched_yield();
		pthread_mutex_unlock(&bench_mu);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t tids[64];
	int threads = 1, i;
	uint64_t t0, dt;

	if (argc == 3 && !strcmp(argv[1], "uncontended")) {
		pairs = atol(argv[2]);
	} else if (argc == 4 && (!strcmp(argv[1], "contended") || !strcmp(argv[1], "handoff"))) {
		yield_inside = !strcmp(argv[1], "handoff");
		threads = atoi(argv[2]);
		pairs = atol(argv[3]);
	} else {
		fprintf(stderr, "usage: locks_bench uncontended N | contended|handoff THREADS N\n");
		return 2;
	}
	if (threads < 1 || threads > 64 || pairs < 1)
		return 2;
	t0 = now_ns();
	for (i = 0; i < threads; i++)
		pthread_create(&tids[i], NULL, worker, NULL);
	for (i = 0; i < threads; i++)
		pthread_join(tids[i], NULL);
	dt = now_ns() - t0;
	printf("{\"mode\":\"%s\",\"threads\":%d,\"pairs\":%ld,\"wall_ns\":%llu,"
	       "\"ns_per_pair\":%.1f}\n", argv[1], threads, pairs * threads,
	       (unsigned long long)dt, (double)dt / ((double)pairs * threads));
	return 0;
}
