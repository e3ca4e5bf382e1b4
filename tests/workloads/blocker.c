// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A workload with ground truth: named threads block in known ways, under
 * known functions, and time their own blocking calls. At exit it prints one
 * JSON line per thread to stdout:
 *   {"thread":"sleeper","tid":N,"calls":N,"blocked_ns":N}
 * so tests can hold waitprof's numbers against the truth.
 *
 *   sleeper  nanosleep(SLEEP_MS) in sleeper_main -> sleep_once
 *   poller   poll() with a timeout on a pipe that never becomes readable
 *   reader   read() on a pipe that the writer feeds every WRITE_MS
 *   writer   nanosleep + write (it blocks too, and wakes the reader)
 *   vforker  vfork() a child that sleeps DSLEEP_MS: the parent waits in D
 *            (uninterruptible) state, off by default (-o vforker)
 *
 * usage: blocker [-n ROUNDS] [-s SLEEP_MS] [-P POLL_MS] [-w WRITE_MS] [-o THREADS] [-S DELAY_MS]
 *   -S waits DELAY_MS before starting the threads (time to attach a tracer)
 *   -o picks the threads to run, e.g. -o sleeper,poller (default: all)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct thread_stats {
	const char *name;
	pid_t tid;
	long calls;
	uint64_t blocked_ns;
};

static int start_delay_ms, rounds = 100, sleep_ms = 10, poll_ms = 15, write_ms = 20, dsleep_ms = 5;
static int never_ready[2], feed[2];

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

__attribute__((noinline)) static void ms_sleep(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

__attribute__((noinline)) static void sleep_once(struct thread_stats *st)
{
	uint64_t t0 = now_ns();

	ms_sleep(sleep_ms);
	st->blocked_ns += now_ns() - t0;
	st->calls++;
}

__attribute__((noinline)) static void *sleeper_main(void *arg)
{
	struct thread_stats *st = arg;
	int i;

	for (i = 0; i < rounds; i++)
		sleep_once(st);
	return NULL;
}

__attribute__((noinline)) static void poll_once(struct thread_stats *st)
{
	struct pollfd pfd = { .fd = never_ready[0], .events = POLLIN };
	uint64_t t0 = now_ns();

	poll(&pfd, 1, poll_ms);
	st->blocked_ns += now_ns() - t0;
	st->calls++;
}

__attribute__((noinline)) static void *poller_main(void *arg)
{
	struct thread_stats *st = arg;
	int i;

	for (i = 0; i < rounds; i++)
		poll_once(st);
	return NULL;
}

__attribute__((noinline)) static int read_once(struct thread_stats *st)
{
	uint64_t t0 = now_ns();
	char c;
	ssize_t n = read(feed[0], &c, 1);

	st->blocked_ns += now_ns() - t0;
	st->calls++;
	return n == 1 && c == 'x';
}

__attribute__((noinline)) static void *reader_main(void *arg)
{
	struct thread_stats *st = arg;

	while (read_once(st))
		;
	return NULL;
}

__attribute__((noinline)) static void *writer_main(void *arg)
{
	struct thread_stats *st = arg;
	int i;

	for (i = 0; i < rounds; i++) {
		uint64_t t0 = now_ns();

		ms_sleep(write_ms);
		st->blocked_ns += now_ns() - t0;
		st->calls++;
		if (write(feed[1], "x", 1) != 1)
			break;
	}
	if (write(feed[1], "q", 1) != 1)
		perror("write");
	return NULL;
}

__attribute__((noinline)) static void vfork_once(struct thread_stats *st)
{
	uint64_t t0 = now_ns();
	pid_t pid = vfork();

	if (pid == 0) {
		/* Only async-signal-safe calls in a vfork child. */
		struct timespec ts = { 0, dsleep_ms * 1000000L };

		nanosleep(&ts, NULL);
		_exit(0);
	}
	st->blocked_ns += now_ns() - t0;
	st->calls++;
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

__attribute__((noinline)) static void *vforker_main(void *arg)
{
	struct thread_stats *st = arg;
	int i;

	for (i = 0; i < rounds; i++)
		vfork_once(st);
	return NULL;
}

struct thread_kind {
	const char *name;
	void *(*fn)(void *);
};

static const struct thread_kind kinds[] = {
	{ "sleeper", sleeper_main },
	{ "poller", poller_main },
	{ "reader", reader_main },
	{ "writer", writer_main },
	{ "vforker", vforker_main },
};

#define NR_KINDS (sizeof(kinds) / sizeof(kinds[0]))

struct thread_start {
	const struct thread_kind *kind;
	struct thread_stats stats;
};

__attribute__((noinline)) static void *thread_entry(void *arg)
{
	struct thread_start *ts = arg;

	ts->stats.tid = (pid_t)syscall(SYS_gettid);
	pthread_setname_np(pthread_self(), ts->kind->name);
	return ts->kind->fn(&ts->stats);
}

/* reader and writer only make sense together */
static bool wanted(const char *only, size_t kind)
{
	if (!only)
		return strcmp(kinds[kind].name, "vforker") != 0;
	if (kind == 2 || kind == 3)
		return strstr(only, "reader") || strstr(only, "writer");
	return strstr(only, kinds[kind].name) != NULL;
}

static int parse_int(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*end || v <= 0 || v > 1000000) {
		fprintf(stderr, "blocker: bad number '%s'\n", s);
		exit(2);
	}
	return (int)v;
}

int main(int argc, char **argv)
{
	struct thread_start starts[NR_KINDS] = {};
	pthread_t threads[NR_KINDS];
	const char *only = NULL;
	size_t i;
	int opt;

	while ((opt = getopt(argc, argv, "n:s:P:w:o:S:")) != -1) {
		switch (opt) {
		case 'n': rounds = parse_int(optarg); break;
		case 's': sleep_ms = parse_int(optarg); break;
		case 'P': poll_ms = parse_int(optarg); break;
		case 'w': write_ms = parse_int(optarg); break;
		case 'o': only = optarg; break;
		case 'S': start_delay_ms = parse_int(optarg); break;
		default:
			fprintf(stderr, "usage: blocker [-n ROUNDS] [-s SLEEP_MS] [-P POLL_MS] "
					"[-w WRITE_MS] [-o THREAD,...] [-S DELAY_MS]\n");
			return 2;
		}
	}
	if (start_delay_ms)
		ms_sleep(start_delay_ms);
	if (pipe(never_ready) || pipe(feed)) {
		perror("pipe");
		return 1;
	}
	for (i = 0; i < NR_KINDS; i++) {
		starts[i].kind = &kinds[i];
		starts[i].stats.name = kinds[i].name;
		if (!wanted(only, i))
			continue;
		if (pthread_create(&threads[i], NULL, thread_entry, &starts[i])) {
			fprintf(stderr, "blocker: cannot create thread\n");
			return 1;
		}
	}
	for (i = 0; i < NR_KINDS; i++) {
		if (!wanted(only, i))
			continue;
		pthread_join(threads[i], NULL);
		printf("{\"thread\":\"%s\",\"tid\":%d,\"pid\":%d,\"calls\":%ld,\"blocked_ns\":%llu}\n",
		       starts[i].stats.name, starts[i].stats.tid, getpid(), starts[i].stats.calls,
		       (unsigned long long)starts[i].stats.blocked_ns);
	}
	return 0;
}
