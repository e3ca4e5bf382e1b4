// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Run-queue ground truth: more CPU-bound threads than CPUs, plus a thread
 * that naps. Each thread reads the kernel's own run_delay (the second field
 * of /proc/self/task/TID/schedstat: time spent runnable, waiting for a CPU)
 * when it starts and when it ends, and prints one JSON line:
 *   {"thread":"spin0","tid":N,"pid":N,"run_delay_ns":N}
 *
 * usage: spinner [-t SPINNERS] [-d MS] [-n NAP_MS]
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64

struct spin_thread {
	char name[16];
	int napper;
	pid_t tid;
	uint64_t run_delay_ns;
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

static uint64_t run_delay(pid_t tid)
{
	unsigned long long on_cpu, delay = 0;
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/schedstat", tid);
	f = fopen(path, "r");
	if (!f || fscanf(f, "%llu %llu", &on_cpu, &delay) != 2)
		perror(path);
	if (f)
		fclose(f);
	return delay;
}

static void spin_for(uint64_t end)
{
	uint64_t i = 0;

	while (now_ns() < end)
		for (int k = 0; k < 1000; k++)
			sink += i++;
}

static void nap_until(uint64_t end)
{
	struct timespec ts = { 0, nap_ms * 1000000L };

	while (now_ns() < end)
		nanosleep(&ts, NULL);
}

static void *thread_main(void *arg)
{
	struct spin_thread *t = arg;
	uint64_t start, end;

	t->tid = (pid_t)syscall(SYS_gettid);
	start = run_delay(t->tid);
	pthread_setname_np(pthread_self(), t->name);
	end = now_ns() + (uint64_t)duration_ms * 1000000ull;
	/* The napper outlives the spinners by 300 ms, so its own end (read
	 * run_delay, exit) is not cut by a time slice the truth cannot see. */
	if (t->napper)
		nap_until(end + 300 * 1000000ull);
	else
		spin_for(end);
	t->run_delay_ns = run_delay(t->tid) - start;
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
		if (pthread_create(&threads[i].handle, NULL, thread_main, &threads[i]))
			return 1;
	}
	for (i = 0; i <= nr_spin; i++) {
		pthread_join(threads[i].handle, NULL);
		printf("{\"thread\":\"%s\",\"tid\":%d,\"pid\":%d,\"run_delay_ns\":%llu}\n",
		       threads[i].name, threads[i].tid, getpid(),
		       (unsigned long long)threads[i].run_delay_ns);
	}
	return 0;
}
