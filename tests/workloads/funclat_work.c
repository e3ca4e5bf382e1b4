// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Ground truth for waitprof funclat: functions with known call counts that
 * time themselves. At exit one JSON line says what happened.
 *
 *   truth N      timed_call() N times, each sleeping a log-uniform 1-8 ms,
 *                timed inside its body; recurse_depth(DEPTH) REC times;
 *                jump_away() JUMPS times, which longjmps out and never
 *                returns; EXITERS threads that call exit_inside(), which
 *                calls pthread_exit; getppid() PPIDS times.
 *   logger N E   log_worker() -> record_event() -> journal_append() N
 *                times; journal_append writes a line to a file under a
 *                mutex and every E-th call persists a checkpoint with
 *                fdatasync under the lock (E = 0: never). Prints how many
 *                calls flushed.
 *   spin N       probe_target() N times: an empty function, for the cost
 *                benchmark; prints the ns per call.
 *
 * usage: funclat_work truth N | logger N E JOURNAL CHECKPOINT | spin N
 * Put JOURNAL on tmpfs and CHECKPOINT on a disk: appends then cost the same
 * every time, and only the flush touches the disk (on one ext4 file system
 * the flush's journal commit also slows the next append: a third mode).
 */
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline, noipa))

enum { DEPTH = 5, REC = 20, JUMPS = 7, EXITERS = 3, PPIDS = 333 };

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000ULL, .tv_nsec = ns % 1000000000ULL };

	clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
}

/* ---- truth ---- */

static uint64_t *self_ns;

NOINLINE uint64_t timed_call(uint64_t sleep_for)
{
	uint64_t t0 = now_ns();

	sleep_ns(sleep_for);
	return now_ns() - t0;
}

NOINLINE int recurse_depth(int depth)
{
	int r;

	if (depth == 0) {
		sleep_ns(200000);
		return 0;
	}
	r = recurse_depth(depth - 1);
	__asm__ volatile("" : "+r"(r));
	return r + 1;
}

static jmp_buf jump_buf;

NOINLINE void jump_away(int i)
{
	longjmp(jump_buf, i + 1);
}

NOINLINE void exit_inside(void)
{
	sleep_ns(1000000);
	pthread_exit(NULL);
}

static void *exiter(void *arg)
{
	exit_inside();
	return arg;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest rank, as a histogram percentile approximates it. */
static uint64_t percentile(const uint64_t *sorted, int n, double p)
{
	int rank = (int)(p / 100.0 * n + 0.999999);

	return sorted[rank < 1 ? 0 : rank - 1];
}

static int run_truth(int n)
{
	pthread_t threads[EXITERS];
	uint64_t seed = 12345, d;
	volatile int jumps = 0;
	int i;

	self_ns = calloc(n, sizeof(*self_ns));
	if (!self_ns)
		return 1;
	for (i = 0; i < n; i++) {
		/* log-uniform in [1 ms, 8 ms): 3 octaves, long enough that the
		 * scheduling noise of a busy machine stays in the tail */
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		d = (uint64_t)(1000000.0 * exp2(3.0 * (double)(seed >> 11) / (double)(1ULL << 53)));
		self_ns[i] = timed_call(d);
	}
	for (i = 0; i < REC; i++)
		recurse_depth(DEPTH);
	while (jumps < JUMPS) {
		if (!setjmp(jump_buf))
			jump_away(jumps);
		jumps++;
	}
	for (i = 0; i < EXITERS; i++)
		pthread_create(&threads[i], NULL, exiter, NULL);
	for (i = 0; i < EXITERS; i++)
		pthread_join(threads[i], NULL);
	for (i = 0; i < PPIDS; i++)
		getppid();
	/* One more timed call after the jumps: its return proves the
	 * abandoned frames were dropped, not matched. */
	timed_call(100000);
	qsort(self_ns, n, sizeof(*self_ns), cmp_u64);
	printf("{\"mode\":\"truth\",\"timed_calls\":%d,\"p50_ns\":%llu,\"p90_ns\":%llu,"
	       "\"p99_ns\":%llu,\"recurse_calls\":%d,\"jumps\":%d,\"exiters\":%d,\"getppid\":%d}\n",
	       n + 1, (unsigned long long)percentile(self_ns, n, 50),
	       (unsigned long long)percentile(self_ns, n, 90),
	       (unsigned long long)percentile(self_ns, n, 99), REC * (DEPTH + 1), jumps, EXITERS,
	       PPIDS);
	free(self_ns);
	return 0;
}

/* ---- logger ---- */

static pthread_mutex_t journal_mu = PTHREAD_MUTEX_INITIALIZER;
static int checkpoint_fd = -1;
static char *journal;		/* the journal file, mapped */
static uint64_t journal_bytes;
static unsigned long journal_calls, journal_flushes;
static unsigned long flush_every;
/* Appends the workload's own clock saw take over SLOW_APPEND_NS inside
 * journal_append (a stall of the machine's, not a probe's), flushes apart. */
#define SLOW_APPEND_NS	8000
static unsigned long journal_slow_plain;

/*
 * The flush persists a checkpoint (the journal's length) in a file of its
 * own: syncing the journal itself would also make the next append slower
 * (ext4 re-dirties the inode it just cleaned), a third mode of its own.
 */
NOINLINE int journal_append(const char *line, size_t len)
{
	uint64_t t0 = now_ns();
	bool flushed = false;
	int err = 0;
	char mark[32];
	int n;

	pthread_mutex_lock(&journal_mu);
	memcpy(journal + journal_bytes, line, len);
	journal_bytes += len;
	if (flush_every && ++journal_calls % flush_every == 0) {
		flushed = true;
		n = snprintf(mark, sizeof(mark), "%llu\n", (unsigned long long)journal_bytes);
		if (pwrite(checkpoint_fd, mark, n, 0) != n || fdatasync(checkpoint_fd))
			err = -1;
		journal_flushes++;
	}
	pthread_mutex_unlock(&journal_mu);
	if (!flushed && now_ns() - t0 > SLOW_APPEND_NS)
		journal_slow_plain++;
	return err;
}

NOINLINE int record_event(int i)
{
	char line[128];
	int len = snprintf(line, sizeof(line), "event %d: the quick brown fox\n", i);

	return journal_append(line, len);
}

NOINLINE int log_worker(int n)
{
	int i, errs = 0;

	for (i = 0; i < n; i++) {
		errs += record_event(i) != 0;
		sleep_ns(20000);	/* the work between two events */
	}
	return errs;
}

static int run_logger(int n, unsigned long every, const char *path, const char *checkpoint)
{
	size_t size = (size_t)n * 128;
	int errs, journal_fd;

	flush_every = every;
	journal_fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	checkpoint_fd = open(checkpoint, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (journal_fd < 0 || checkpoint_fd < 0) {
		perror(journal_fd < 0 ? path : checkpoint);
		return 1;
	}
	/*
	 * Appends are a copy into the mapped, pre-faulted journal: write(2)
	 * has modes of its own (a page allocated every ~120th append, the
	 * file's mtime updated once a jiffy: 2.6% of appends 3.5x slower on
	 * one CI machine), which would be true modes, not the flush's.
	 */
	if (posix_fallocate(journal_fd, 0, (off_t)size)) {
		perror("posix_fallocate");
		return 1;
	}
	journal = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
		       journal_fd, 0);
	close(journal_fd);
	if (journal == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	errs = log_worker(n);
	munmap(journal, size);
	close(checkpoint_fd);
	printf("{\"mode\":\"logger\",\"calls\":%d,\"flushes\":%lu,\"slow_plain\":%lu,"
	       "\"errors\":%d}\n", n, journal_flushes, journal_slow_plain, errs);
	return errs != 0;
}

/* ---- spin: the probe-cost benchmark ---- */

NOINLINE int probe_target(int x)
{
	__asm__ volatile("" : "+r"(x));
	return x + 1;
}

static int run_spin(int n)
{
	uint64_t t0 = now_ns();
	int i, x = 0;

	for (i = 0; i < n; i++)
		x = probe_target(x);
	printf("{\"mode\":\"spin\",\"calls\":%d,\"ns_per_call\":%.1f,\"x\":%d}\n", n,
	       (double)(now_ns() - t0) / n, x);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 3 && !strcmp(argv[1], "truth"))
		return run_truth(atoi(argv[2]));
	if (argc >= 6 && !strcmp(argv[1], "logger"))
		return run_logger(atoi(argv[2]), strtoul(argv[3], NULL, 10), argv[4], argv[5]);
	if (argc >= 3 && !strcmp(argv[1], "spin"))
		return run_spin(atoi(argv[2]));
	fprintf(stderr, "usage: funclat_work truth N | logger N FLUSH_EVERY JOURNAL CHECKPOINT | "
		"spin N\n");
	return 2;
}
