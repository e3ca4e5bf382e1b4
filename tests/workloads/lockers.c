// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Lock workloads with ground truth. Each mode runs named threads on global
 * locks and measures itself; at exit it prints one JSON line per lock:
 *   {"mode":M,"lock":NAME,"pid":N,"addr":N,"calls":N,"wait_ns":N,"waits":N}
 * calls counts every lock call the workload made on that lock, wait_ns the
 * time those calls took (clock around each call), waits the calls that
 * took longer than 20 us (contended, in practice).
 *
 *   mutex    THREADS threads take contended_mu in take_and_hold() and hold
 *            it HOLD_US in hold_contended_mu() (a nanosleep under the lock)
 *   rwlock   one writer holds table_rwlock for writing HOLD_US in
 *            write_table(); THREADS-1 readers rdlock it in read_table()
 *   condvar  a consumer waits on work_cv (with work_mu) in wait_for_work();
 *            a producer signals it every HOLD_US without holding work_mu
 *            long: waiting for work, not contention
 *   quiet    one thread locks quiet_mu ROUNDS times: never contended (with
 *            -p PAUSE_US, sleeping that long between calls)
 *   mmap     THREADS threads mmap+touch+munmap: the kernel's mmap_lock
 *   logger   THREADS threads append ROUNDS records each to a journal file
 *            under journal_mu in journal_append(); every FLUSH-th append
 *            runs fdatasync under the lock in flush_journal() (with -F: after
 *            unlocking, off the lock): the bimodal-lock case of issue 5;
 *            -S SLEEP_US: the flush is a nanosleep of SLEEP_US instead of
 *            fdatasync (a flush cost that does not depend on the disk);
 *            -D SECONDS: each thread appends until SECONDS have passed
 *            instead of ROUNDS times (a recording of a known length);
 *            -s SPIN_US of CPU work under the lock per record (formatting);
 *            -T: journal_append_tail() instead, whose unlock is its last
 *            call: built at -O2 (lockers_o2) it is a tail call (jmp), so
 *            the unlock returns straight into logger_worker, whose pause
 *            runs after the unlock; -R: also time each append call and
 *            print {"mode":"logger","function":"journal_append","calls":N,
 *            "total_ns":N} (tests/e2e/test_tail.py); -L FILE: also log
 *            every append call to FILE, one line "tid t0_ns t1_ns cpu_ns"
 *            (CLOCK_MONOTONIC around the call, and the thread's CPU time
 *            in it, CLOCK_THREAD_CPUTIME_ID), written after the run; -c DIR: the flush
 *            persists the journal's length in a checkpoint file in DIR
 *            instead of syncing the journal (journal on tmpfs with -d, the
 *            checkpoint on a disk: an append under the lock then never
 *            waits for the disk, only the flush does)
 *
 * usage: lockers MODE [-t THREADS] [-n ROUNDS] [-u HOLD_US] [-p PAUSE_US]
 *                    [-f FLUSH] [-F] [-T] [-R] [-s SPIN_US] [-d DIR] [-c DIR]
 *                    [-S SLEEP_US] [-D SECONDS] [-L FILE]
 */
#include <errno.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

struct lock_truth {
	const char *name;
	void *addr;
	uint64_t calls;
	uint64_t wait_ns;
	uint64_t waits;
};

static int threads = 4, rounds = 50, hold_us = 2000, pause_us, spin_us;
static int flush_every = 32, flush_off_lock, tail_unlock, time_appends, journal_fd = -1;
static int flush_sleep_us;
static FILE *calls_log;		/* -L: every append call */
static uint64_t deadline_ns;	/* -D: the logger's end, or 0: run ROUNDS */
static unsigned long appends;
static const char *journal_dir = "/var/tmp", *checkpoint_dir;
static int checkpoint_fd = -1;

pthread_mutex_t contended_mu = PTHREAD_MUTEX_INITIALIZER;
pthread_rwlock_t table_rwlock = PTHREAD_RWLOCK_INITIALIZER;
pthread_mutex_t work_mu = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t work_cv = PTHREAD_COND_INITIALIZER;
pthread_mutex_t quiet_mu = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t journal_mu = PTHREAD_MUTEX_INITIALIZER;

static struct lock_truth t_contended = { "contended_mu", &contended_mu };
static struct lock_truth t_table_rd = { "table_rwlock", &table_rwlock };
static struct lock_truth t_work_cv = { "work_cv", &work_cv };
static struct lock_truth t_work_mu = { "work_mu", &work_mu };
static struct lock_truth t_quiet = { "quiet_mu", &quiet_mu };
static struct lock_truth t_journal = { "journal_mu", &journal_mu };
/* -R: every append call, clock around the call (its wait_ns: their time). */
static struct lock_truth t_appends = { "journal_append", NULL };
static volatile int work_ready, producer_done;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void us_sleep(int us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Adds one timed lock call to the truth. Atomics, not a lock: with
 * --uprobes a bookkeeping mutex inside the measured critical section would
 * be probed too, and its traps would lengthen every hold. */
static void truth_add(struct lock_truth *t, uint64_t ns)
{
	__atomic_fetch_add(&t->calls, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&t->wait_ns, ns, __ATOMIC_RELAXED);
	if (ns > 20000)
		__atomic_fetch_add(&t->waits, 1, __ATOMIC_RELAXED);
}

__attribute__((noinline)) static void hold_contended_mu(void)
{
	us_sleep(hold_us);
}

__attribute__((noinline)) static void take_and_hold(void)
{
	uint64_t t0 = now_ns();

	pthread_mutex_lock(&contended_mu);
	truth_add(&t_contended, now_ns() - t0);
	hold_contended_mu();
	pthread_mutex_unlock(&contended_mu);
}

__attribute__((noinline)) static void *mutex_worker(void *arg)
{
	int i;

	(void)arg;
	pthread_setname_np(pthread_self(), "mutex_worker");
	for (i = 0; i < rounds; i++) {
		take_and_hold();
		us_sleep(hold_us / 4);	/* let the others in */
	}
	return NULL;
}

__attribute__((noinline)) static void write_table(void)
{
	uint64_t t0 = now_ns();

	pthread_rwlock_wrlock(&table_rwlock);
	truth_add(&t_table_rd, now_ns() - t0);
	us_sleep(hold_us);
	pthread_rwlock_unlock(&table_rwlock);
}

__attribute__((noinline)) static void read_table(void)
{
	uint64_t t0 = now_ns();

	pthread_rwlock_rdlock(&table_rwlock);
	truth_add(&t_table_rd, now_ns() - t0);
	us_sleep(hold_us / 10);
	pthread_rwlock_unlock(&table_rwlock);
}

__attribute__((noinline)) static void *rwlock_writer(void *arg)
{
	int i;

	(void)arg;
	pthread_setname_np(pthread_self(), "rw_writer");
	for (i = 0; i < rounds; i++) {
		write_table();
		us_sleep(hold_us / 2);
	}
	return NULL;
}

__attribute__((noinline)) static void *rwlock_reader(void *arg)
{
	int i;

	(void)arg;
	pthread_setname_np(pthread_self(), "rw_reader");
	for (i = 0; i < rounds * 4; i++) {
		read_table();
		us_sleep(hold_us / 5);
	}
	return NULL;
}

__attribute__((noinline)) static void wait_for_work(void)
{
	uint64_t t0 = now_ns();

	pthread_mutex_lock(&work_mu);
	while (!work_ready && !producer_done)
		pthread_cond_wait(&work_cv, &work_mu);
	work_ready = 0;
	pthread_mutex_unlock(&work_mu);
	truth_add(&t_work_cv, now_ns() - t0);
}

__attribute__((noinline)) static void *consumer(void *arg)
{
	int i;

	(void)arg;
	pthread_setname_np(pthread_self(), "consumer");
	for (i = 0; i < rounds; i++)
		wait_for_work();
	return NULL;
}

__attribute__((noinline)) static void post_work(void)
{
	uint64_t t0 = now_ns();

	pthread_mutex_lock(&work_mu);
	truth_add(&t_work_mu, now_ns() - t0);
	work_ready = 1;
	pthread_cond_signal(&work_cv);
	pthread_mutex_unlock(&work_mu);
}

__attribute__((noinline)) static void *producer(void *arg)
{
	int i;

	(void)arg;
	pthread_setname_np(pthread_self(), "producer");
	for (i = 0; i < rounds; i++) {
		us_sleep(hold_us);
		post_work();
	}
	/* Let a consumer that missed a signal finish. */
	us_sleep(hold_us);
	pthread_mutex_lock(&work_mu);
	producer_done = 1;
	pthread_cond_broadcast(&work_cv);
	pthread_mutex_unlock(&work_mu);
	return NULL;
}

__attribute__((noinline)) static void lock_quietly(void)
{
	uint64_t t0 = now_ns();

	pthread_mutex_lock(&quiet_mu);
	truth_add(&t_quiet, now_ns() - t0);
	pthread_mutex_unlock(&quiet_mu);
}

__attribute__((noinline)) static void *quiet_worker(void *arg)
{
	int i;

	(void)arg;
	pthread_setname_np(pthread_self(), "quiet");
	for (i = 0; i < rounds; i++) {
		lock_quietly();
		if (pause_us)
			us_sleep(pause_us);
	}
	return NULL;
}

__attribute__((noinline)) static void map_touch_unmap(void)
{
	size_t len = 64 << 10;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return;
	for (size_t off = 0; off < len; off += 4096)
		p[off] = 1;
	munmap(p, len);
}

__attribute__((noinline)) static void *mmap_worker(void *arg)
{
	int i;

	(void)arg;
	pthread_setname_np(pthread_self(), "mmapper");
	for (i = 0; i < rounds; i++)
		map_touch_unmap();
	return NULL;
}

/* CPU work, not a sleep: the lock stays held and the thread on its CPU. */
static void spin(int us)
{
	uint64_t end = now_ns() + (uint64_t)us * 1000;

	while (us > 0 && now_ns() < end)
		;
}

__attribute__((noinline)) static void flush_journal(void)
{
	char mark[32];
	int n;

	if (flush_sleep_us) {
		us_sleep(flush_sleep_us);
		return;
	}
	if (checkpoint_fd < 0) {
		fdatasync(journal_fd);
		return;
	}
	n = snprintf(mark, sizeof(mark), "%lu\n", appends);
	if (pwrite(checkpoint_fd, mark, n, 0) != n)
		perror("pwrite");
	fdatasync(checkpoint_fd);
}

/* One record; every flush_every-th one is made durable, under the lock or
 * (-F) after it. */
__attribute__((noinline)) static void journal_append(int id)
{
	char rec[80];
	uint64_t t0 = now_ns();
	bool flush;

	pthread_mutex_lock(&journal_mu);
	truth_add(&t_journal, now_ns() - t0);
	spin(spin_us);
	snprintf(rec, sizeof(rec), "%08d %-54s\n", id, "journal record");
	if (write(journal_fd, rec, 64) < 0)
		perror("write");
	flush = ++appends % flush_every == 0;
	if (flush && !flush_off_lock)
		flush_journal();
	pthread_mutex_unlock(&journal_mu);
	if (flush && flush_off_lock)
		flush_journal();
}

__attribute__((noinline)) static void write_record(int id)
{
	char rec[80];

	snprintf(rec, sizeof(rec), "%08d %-54s\n", id, "journal record");
	if (write(journal_fd, rec, 64) < 0)
		perror("write");
}

/* journal_append with the flush under the lock and the unlock last, and
 * no array on its stack: at -O2 gcc makes the unlock a jmp. */
__attribute__((noinline)) static void journal_append_tail(int id)
{
	uint64_t t0 = now_ns();

	pthread_mutex_lock(&journal_mu);
	truth_add(&t_journal, now_ns() - t0);
	spin(spin_us);
	write_record(id);
	if (++appends % flush_every == 0)
		flush_journal();
	pthread_mutex_unlock(&journal_mu);
}

/* A pause drawn uniformly from [0, 2 * mean): fixed pauses let the threads
 * fall into lockstep, and then either always or never collide. */
static int random_pause(unsigned int *seed, int mean_us)
{
	return mean_us ? (int)(rand_r(seed) % (unsigned int)(2 * mean_us)) : 0;
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* -L: one thread's calls, kept in memory during the run. */
struct call_times {
	uint64_t t0, t1, cpu;
};

static void log_calls(const struct call_times *c, int n)
{
	int i, tid = (int)syscall(SYS_gettid);

	flockfile(calls_log);
	for (i = 0; i < n; i++)
		fprintf(calls_log, "%d %llu %llu %llu\n", tid, (unsigned long long)c[i].t0,
			(unsigned long long)c[i].t1, (unsigned long long)c[i].cpu);
	funlockfile(calls_log);
}

__attribute__((noinline)) static void *logger_worker(void *arg)
{
	unsigned int seed = (unsigned int)(uintptr_t)&seed ^ (unsigned int)now_ns();
	struct call_times *log = calls_log && !deadline_ns ? calloc(rounds, sizeof(*log)) : NULL;
	int i;

	(void)arg;
	if (log)	/* its pages faulted in now, not inside the clocks */
		memset(log, 0xff, rounds * sizeof(*log));
	pthread_setname_np(pthread_self(), "logger");
	for (i = 0; deadline_ns ? now_ns() < deadline_ns : i < rounds; i++) {
		/* The CPU clock is a system call: read outside the wall
		 * clock's (vDSO) bracket, whose only system calls are then
		 * the call's own. */
		uint64_t c0 = log ? thread_cpu_ns() : 0;
		uint64_t t0 = time_appends || log ? now_ns() : 0;

		if (tail_unlock)
			journal_append_tail(i);
		else
			journal_append(i);
		if (log) {
			uint64_t t1 = now_ns(), c1 = thread_cpu_ns();

			log[i].t0 = t0;
			log[i].t1 = t1;
			log[i].cpu = c1 - c0;
		}
		if (time_appends)
			truth_add(&t_appends, now_ns() - t0);
		if (pause_us)
			us_sleep(random_pause(&seed, pause_us));
	}
	if (log)
		log_calls(log, i);
	free(log);
	return NULL;
}

static int open_journal(void)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/lockers-journal.XXXXXX", journal_dir);
	journal_fd = mkstemp(path);
	if (journal_fd < 0) {
		perror(path);
		return -1;
	}
	unlink(path);
	if (!checkpoint_dir)
		return 0;
	snprintf(path, sizeof(path), "%s/lockers-checkpoint.XXXXXX", checkpoint_dir);
	checkpoint_fd = mkstemp(path);
	if (checkpoint_fd < 0) {
		perror(path);
		return -1;
	}
	unlink(path);
	return 0;
}

static void run(int n, void *(*fn)(void *), void *(*first)(void *))
{
	pthread_t tids[256];
	int i;

	for (i = 0; i < n && i < 256; i++)
		pthread_create(&tids[i], NULL, (i == 0 && first) ? first : fn, NULL);
	for (i = 0; i < n && i < 256; i++)
		pthread_join(tids[i], NULL);
}

static void print_truth(const char *mode, const struct lock_truth *t)
{
	printf("{\"mode\":\"%s\",\"lock\":\"%s\",\"pid\":%d,\"addr\":%llu,\"calls\":%llu,"
	       "\"wait_ns\":%llu,\"waits\":%llu}\n", mode, t->name, getpid(),
	       (unsigned long long)(uintptr_t)t->addr, (unsigned long long)t->calls,
	       (unsigned long long)t->wait_ns, (unsigned long long)t->waits);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	int opt, seconds = 0;

	optind = 2;
	while ((opt = getopt(argc, argv, "t:n:u:p:f:FTRs:d:c:S:D:L:")) != -1) {
		switch (opt) {
		case 't': threads = atoi(optarg); break;
		case 'n': rounds = atoi(optarg); break;
		case 'u': hold_us = atoi(optarg); break;
		case 'p': pause_us = atoi(optarg); break;
		case 'f': flush_every = atoi(optarg); break;
		case 'F': flush_off_lock = 1; break;
		case 'T': tail_unlock = 1; break;
		case 'R': time_appends = 1; break;
		case 's': spin_us = atoi(optarg); break;
		case 'd': journal_dir = optarg; break;
		case 'c': checkpoint_dir = optarg; break;
		case 'S': flush_sleep_us = atoi(optarg); break;
		case 'D': seconds = atoi(optarg); break;
		case 'L':
			calls_log = fopen(optarg, "w");
			if (!calls_log) {
				perror(optarg);
				return 1;
			}
			break;
		default: goto usage;
		}
	}
	if (threads < 1 || rounds < 1 || hold_us < 1 || flush_every < 1 ||
	    flush_sleep_us < 0 || seconds < 0)
		goto usage;
	if (seconds)
		deadline_ns = now_ns() + (uint64_t)seconds * 1000000000ull;
	if (!strcmp(mode, "mutex")) {
		run(threads, mutex_worker, NULL);
		print_truth(mode, &t_contended);
	} else if (!strcmp(mode, "rwlock")) {
		run(threads < 2 ? 2 : threads, rwlock_reader, rwlock_writer);
		print_truth(mode, &t_table_rd);
	} else if (!strcmp(mode, "condvar")) {
		run(2, consumer, producer);
		print_truth(mode, &t_work_cv);
		print_truth(mode, &t_work_mu);
	} else if (!strcmp(mode, "quiet")) {
		run(1, quiet_worker, NULL);
		print_truth(mode, &t_quiet);
	} else if (!strcmp(mode, "logger")) {
		if (open_journal())
			return 1;
		run(threads, logger_worker, NULL);
		if (calls_log && fclose(calls_log))
			perror("-L");
		print_truth(mode, &t_journal);
		if (time_appends)
			printf("{\"mode\":\"%s\",\"function\":\"%s\",\"calls\":%llu,"
			       "\"total_ns\":%llu}\n", mode, t_appends.name,
			       (unsigned long long)t_appends.calls,
			       (unsigned long long)t_appends.wait_ns);
	} else if (!strcmp(mode, "mmap")) {
		run(threads, mmap_worker, NULL);
	} else {
		goto usage;
	}
	return 0;
usage:
	fprintf(stderr, "usage: lockers mutex|rwlock|condvar|quiet|mmap|logger [-t THREADS] [-n ROUNDS] [-u HOLD_US] [-p PAUSE_US] [-f FLUSH] [-F] [-T] [-R] [-s SPIN_US] [-d DIR] [-c DIR] [-S SLEEP_US] [-D SECONDS] [-L FILE]\n");
	return 2;
}
