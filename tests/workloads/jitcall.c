// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Two callers reach one blocking point with equal registers: the case a
 * stack cache keyed by the user registers alone gets wrong. Each worker
 * thread alternates between caller_a and caller_b, built alike (same frame
 * size), so at the nanosleep inside wait_point the user ip, sp, bp and the
 * syscall are the same for both, and only return addresses on the stack
 * differ:
 *   -m sites  the two callers call wait_point directly: the stacks differ
 *             in the frames just above the blocking function;
 *   -m deep   each caller goes through the same chain of -d pass-through
 *             frames first, as an interpreter calls C from different script
 *             lines (sysbench's Lua calling libmariadb): they differ only
 *             in the outermost frames.
 * At exit it prints one JSON line per caller and thread:
 *   {"caller":"caller_a","tid":N,"calls":N,"blocked_ns":N}
 *
 * usage: jitcall [-m sites|deep] [-d DEPTH] [-n ROUNDS] [-s SLEEP_US] [-t THREADS]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 8

struct caller_stats {
	long calls;
	uint64_t blocked_ns;
};

struct worker {
	pthread_t thread;
	pid_t tid;
	struct caller_stats a, b;
};

static int deep, depth = 8, rounds = 200, sleep_us = 2000, nthreads = 2;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* The one blocking point: nanosleep, timed. */
__attribute__((noinline)) static void wait_point(struct caller_stats *st)
{
	struct timespec ts = { 0, sleep_us * 1000L };
	uint64_t t0 = now_ns();

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
	st->blocked_ns += now_ns() - t0;
	st->calls++;
}

/* n pass-through frames of one size, then the blocking point. The asm
 * after the call keeps it a call (no tail call), so every frame stays. */
__attribute__((noinline)) static void chain(int n, struct caller_stats *st)
{
	if (n > 0)
		chain(n - 1, st);
	else
		wait_point(st);
	__asm__ volatile("" ::: "memory");
}

/* caller_a and caller_b are the same code: the same frame, so the same
 * registers below them. */
__attribute__((noinline)) static void caller_a(struct worker *w)
{
	if (deep)
		chain(depth, &w->a);
	else
		wait_point(&w->a);
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void caller_b(struct worker *w)
{
	if (deep)
		chain(depth, &w->b);
	else
		wait_point(&w->b);
	__asm__ volatile("" ::: "memory");
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int i;

	w->tid = gettid();
	pthread_setname_np(pthread_self(), "jitcall");
	for (i = 0; i < rounds; i++) {
		/* Two a's, then a b: neither caller's stack is the last one
		 * every time, and both come back at the same registers. */
		if (i % 3 == 2)
			caller_b(w);
		else
			caller_a(w);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	static struct worker workers[MAX_THREADS];
	int opt, i;

	while ((opt = getopt(argc, argv, "m:d:n:s:t:")) != -1) {
		switch (opt) {
		case 'm': deep = !strcmp(optarg, "deep"); break;
		case 'd': depth = atoi(optarg); break;
		case 'n': rounds = atoi(optarg); break;
		case 's': sleep_us = atoi(optarg); break;
		case 't': nthreads = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: %s [-m sites|deep] [-d DEPTH] [-n ROUNDS] "
					"[-s SLEEP_US] [-t THREADS]\n", argv[0]);
			return 2;
		}
	}
	if (nthreads < 1 || nthreads > MAX_THREADS)
		nthreads = 2;
	for (i = 0; i < nthreads; i++)
		pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]);
	for (i = 0; i < nthreads; i++)
		pthread_join(workers[i].thread, NULL);
	for (i = 0; i < nthreads; i++) {
		printf("{\"caller\":\"caller_a\",\"tid\":%d,\"calls\":%ld,\"blocked_ns\":%llu}\n",
		       workers[i].tid, workers[i].a.calls, (unsigned long long)workers[i].a.blocked_ns);
		printf("{\"caller\":\"caller_b\",\"tid\":%d,\"calls\":%ld,\"blocked_ns\":%llu}\n",
		       workers[i].tid, workers[i].b.calls, (unsigned long long)workers[i].b.blocked_ns);
	}
	return 0;
}
