// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Run-queue ground truth: more CPU-bound threads than CPUs, plus a thread
 * that naps. Each thread reads the kernel's own accounting from
 * /proc/self/task/TID/schedstat (run_delay: time runnable, waiting for a
 * CPU; pcount: times put on a CPU) when it starts and when it ends, and
 * prints one JSON line:
 *   {"thread":"spin0","tid":N,"pid":N,"run_delay_ns":N,"runs":N,
 *    "clock_gap_ns":N,"wake_latency_ns":N,"naps":N,"outside_ns":N}
 * Truths that do not come from the scheduler's accounting, on the thread's
 * own clock:
 * - clock_gap_ns (spinners): a spinner never blocks, so every gap over
 *   GAP_NS in its clock is time it waited for a CPU (or an interrupt, or
 *   the hypervisor ran something else).
 * - wake_latency_ns (the napper): each nap asks for NAP exactly (timer
 *   slack 1 ns) and measures how much later it got back: the wait from the
 *   timer's expiry to running again, plus the syscall's own exit path.
 * outside_ns: wall time the truth cannot see, from pthread_create to the
 * first read and from the last read until main's join returned; a recorder
 * sees the thread's whole life, so at most this much more.
 *
 * usage: spinner [-t SPINNERS] [-d MS] [-n NAP_MS]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64

struct spin_thread {
	char name[16];
	int napper;
	pid_t tid;
	uint64_t run_delay_ns;
	uint64_t runs;		/* schedstat pcount: arrivals on a CPU */
	uint64_t clock_gap_ns;
	uint64_t wake_latency_ns;
	uint64_t naps;
	uint64_t created, first_read, last_read, joined;	/* CLOCK_MONOTONIC */
	pthread_t handle;
};

static int duration_ms = 1500, nap_ms = 2;
static volatile uint64_t sink;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* run_delay, and in *runs the times the thread was put on a CPU. */
static uint64_t run_delay(pid_t tid, uint64_t *runs)
{
	unsigned long long on_cpu, delay = 0, pcount = 0;
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/schedstat", tid);
	f = fopen(path, "r");
	if (!f || fscanf(f, "%llu %llu %llu", &on_cpu, &delay, &pcount) != 3)
		perror(path);
	if (f)
		fclose(f);
	*runs = pcount;
	return delay;
}

/* A round of the loop takes ~1 us; interrupts take a few. */
#define GAP_NS 30000

static uint64_t spin_for(uint64_t end)
{
	uint64_t i = 0, gaps = 0, last = now_ns(), t;

	for (;;) {
		for (int k = 0; k < 1000; k++)
			sink += i++;
		t = now_ns();
		if (t - last > GAP_NS)
			gaps += t - last;
		if (t >= end)
			return gaps;
		last = t;
	}
}

static void nap_until(struct spin_thread *t, uint64_t end)
{
	uint64_t nap = (uint64_t)nap_ms * 1000000ull, start, back;
	struct timespec ts = { nap / 1000000000ull, nap % 1000000000ull };

	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	for (start = now_ns(); start < end; start = back) {
		nanosleep(&ts, NULL);
		back = now_ns();
		t->wake_latency_ns += back - start > nap ? back - start - nap : 0;
		t->naps++;
	}
}

static void *thread_main(void *arg)
{
	struct spin_thread *t = arg;
	uint64_t start, end, runs0, runs1;

	t->tid = (pid_t)syscall(SYS_gettid);
	pthread_setname_np(pthread_self(), t->name);
	start = run_delay(t->tid, &runs0);
	t->first_read = now_ns();
	end = t->first_read + (uint64_t)duration_ms * 1000000ull;
	/* The napper outlives the spinners by 300 ms, so its own end (read
	 * run_delay, exit) is not cut by a time slice the truth cannot see. */
	if (t->napper)
		nap_until(t, end + 300 * 1000000ull);
	else
		t->clock_gap_ns = spin_for(end);
	t->last_read = now_ns();
	t->run_delay_ns = run_delay(t->tid, &runs1) - start;
	t->runs = runs1 - runs0;
	return NULL;
}

int main(int argc, char **argv)
{
	struct spin_thread threads[MAX_THREADS] = {};
	int nr_spin = 4, opt, i;

	while ((opt = getopt(argc, argv, "t:d:n:")) != -1) {
		switch (opt) {
		case 't': nr_spin = atoi(optarg); break;
		case 'd': duration_ms = atoi(optarg); break;
		case 'n': nap_ms = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: spinner [-t SPINNERS] [-d MS] [-n NAP_MS]\n");
			return 2;
		}
	}
	if (nr_spin < 1 || nr_spin >= MAX_THREADS || duration_ms <= 0 || nap_ms <= 0) {
		fprintf(stderr, "spinner: bad arguments\n");
		return 2;
	}
	for (i = 0; i <= nr_spin; i++) {
		threads[i].napper = i == nr_spin;
		snprintf(threads[i].name, sizeof(threads[i].name), i == nr_spin ? "napper" : "spin%d", i);
		threads[i].created = now_ns();
		if (pthread_create(&threads[i].handle, NULL, thread_main, &threads[i]))
			return 1;
	}
	for (i = 0; i <= nr_spin; i++) {
		pthread_join(threads[i].handle, NULL);
		threads[i].joined = now_ns();
	}
	for (i = 0; i <= nr_spin; i++) {
		struct spin_thread *t = &threads[i];

		printf("{\"thread\":\"%s\",\"tid\":%d,\"pid\":%d,\"run_delay_ns\":%llu,"
		       "\"runs\":%llu,\"clock_gap_ns\":%llu,\"wake_latency_ns\":%llu,"
		       "\"naps\":%llu,\"outside_ns\":%llu}\n",
		       t->name, t->tid, getpid(), (unsigned long long)t->run_delay_ns,
		       (unsigned long long)t->runs, (unsigned long long)t->clock_gap_ns,
		       (unsigned long long)t->wake_latency_ns, (unsigned long long)t->naps,
		       (unsigned long long)(t->first_read - t->created + t->joined - t->last_read));
	}
	return 0;
}
