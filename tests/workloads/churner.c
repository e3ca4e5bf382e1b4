// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A workload with ground truth for long recordings: it makes many more
 * distinct off-CPU keys and stacks than small in-kernel maps hold, the way
 * a server with connection churn does. The parent runs CHILDREN short-lived
 * processes one after another, each a fresh exec (so address layouts, hence
 * user stack ids, differ per process); each child runs THREADS threads named
 * "churnw" that sleep SLEEPS times at varying call depths (a distinct user
 * stack per depth) for 1-4 ms (several histogram buckets), timing every
 * sleep. Each child prints one JSON line at exit:
 *   {"thread":"churnw","pid":N,"threads":N,"calls":N,"blocked_ns":N}
 *
 * usage: churner [-c CHILDREN] [-t THREADS] [-n SLEEPS]
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS	64
#define MAX_DEPTH	32

struct worker {
	pthread_t thread;
	int index;
	long calls;
	uint64_t blocked_ns;
};

static int nr_children = 60, nr_threads = 8, nr_sleeps = 12;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

__attribute__((noinline)) static void timed_sleep(struct worker *w, int ms)
{
	struct timespec ts = { 0, ms * 1000000L };
	uint64_t t0 = now_ns();

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
	w->blocked_ns += now_ns() - t0;
	w->calls++;
}

/* depth more frames under the worker: one user stack per depth. */
__attribute__((noinline)) static void descend(struct worker *w, int depth, int ms)
{
	volatile int keep = depth;

	if (depth > 0)
		descend(w, depth - 1, ms);
	else
		timed_sleep(w, ms);
	(void)keep;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int i;

	pthread_setname_np(pthread_self(), "churnw");
	for (i = 0; i < nr_sleeps; i++)
		descend(w, (w->index * 5 + i) % MAX_DEPTH, 1 + (w->index + i) % 4);
	return NULL;
}

static int child_main(void)
{
	struct worker workers[MAX_THREADS] = {};
	uint64_t blocked = 0;
	long calls = 0;
	int i;

	for (i = 0; i < nr_threads; i++) {
		workers[i].index = i;
		if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]))
			return 1;
	}
	for (i = 0; i < nr_threads; i++) {
		pthread_join(workers[i].thread, NULL);
		calls += workers[i].calls;
		blocked += workers[i].blocked_ns;
	}
	printf("{\"thread\":\"churnw\",\"pid\":%d,\"threads\":%d,\"calls\":%ld,\"blocked_ns\":%llu}\n",
	       getpid(), nr_threads, calls, (unsigned long long)blocked);
	return 0;
}

static int run_child(const char *self)
{
	char c[16], t[16], n[16];
	int status;
	pid_t pid;

	snprintf(c, sizeof(c), "%d", nr_children);
	snprintf(t, sizeof(t), "%d", nr_threads);
	snprintf(n, sizeof(n), "%d", nr_sleeps);
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		execl(self, self, "-C", "-c", c, "-t", t, "-n", n, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	int opt, i, is_child = 0;

	while ((opt = getopt(argc, argv, "Cc:t:n:")) != -1) {
		switch (opt) {
		case 'C': is_child = 1; break;
		case 'c': nr_children = atoi(optarg); break;
		case 't': nr_threads = atoi(optarg); break;
		case 'n': nr_sleeps = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: churner [-c CHILDREN] [-t THREADS] [-n SLEEPS]\n");
			return 2;
		}
	}
	if (nr_threads < 1 || nr_threads > MAX_THREADS || nr_children < 1 || nr_sleeps < 1)
		return 2;
	if (is_child)
		return child_main();
	for (i = 0; i < nr_children; i++)
		if (run_child("/proc/self/exe")) {
			fprintf(stderr, "churner: child %d failed\n", i);
			return 1;
		}
	return 0;
}
