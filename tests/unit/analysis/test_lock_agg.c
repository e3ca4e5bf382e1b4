// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of src/analysis/lock_agg.c on a recording built in memory:
 * the blocked and runnable parts of the waits (total_wait_ns, runqueue_ns,
 * the histogram of the blocked part), futex retries kept apart, uprobe
 * acquisitions and holds, grouping per lock, naming, and the kind each
 * source of evidence votes for: a thread's exit (join), PI operations
 * (mutex, condvar), uprobes, the holders' frames, the waiters' frames.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "lock_agg.h"
#include "modality.h"
#include "rec_build.h"

int test_failures;

#define PID		100
#define OTHER_PID	200	/* no process recorded for it */
#define KLOCK		0xffffffff81000000ULL
#define KMUTEX		0xffffffff82000000ULL

/* Locks of PID: in the heap, in an anonymous mapping, in the binary. */
#define HEAP		0x600000ULL
#define ANON		0x700000ULL

/* User stacks of PID, innermost first (see build_stacks). */
enum {
	S_MUTEX_WAIT = 1,	/* __lll_lock_wait < pthread_mutex_lock < worker */
	S_PLAIN_WAIT,		/* __futex_abstimed_wait_common < worker: says nothing */
	S_JOIN_WAIT,		/* ... < __pthread_clockjoin_ex < main */
	S_COND_SIGNAL,		/* pthread_cond_signal < producer */
	S_RWLOCK_UNLOCK,	/* pthread_rwlock_unlock < writer */
	S_LLL_WAKE,		/* __lll_lock_wake < pthread_mutex_unlock < worker */
	S_APP_FIRST,		/* rwlock_user (the app's) < pthread_cond_signal */
	S_UNRESOLVED,		/* two addresses nothing covers */
	S_UNRESOLVED_COND,	/* an address nothing covers < pthread_cond_signal */
	S_SEM_WAIT,		/* __new_sem_wait_slow64 */
	S_GO_IDLE,		/* runtime.futex < runtime.futexsleep < runtime.notesleep */
	S_KERNEL = 20,
	S_UNKNOWN = 99,		/* never recorded */
};

#define LIBC(off)	(0x7f0000000000ULL + (off))
#define APP(off)	(0x400000ULL + (off))

static void build_stacks(struct recording *rec)
{
	static const struct {
		__u64 addr;
		const char *name;
		bool libc;
	} syms[] = {
		{ LIBC(0x100), "__lll_lock_wait", true },
		{ LIBC(0x200), "pthread_mutex_lock", true },
		{ LIBC(0x300), "__futex_abstimed_wait_common", true },
		{ LIBC(0x400), "__pthread_clockjoin_ex", true },
		{ LIBC(0x500), "pthread_cond_signal", true },
		{ LIBC(0x600), "pthread_rwlock_unlock", true },
		{ LIBC(0x700), "__lll_lock_wake", true },
		{ LIBC(0x800), "pthread_mutex_unlock", true },
		{ LIBC(0x900), "__new_sem_wait_slow64", true },
		{ APP(0x10), "worker", false },
		{ APP(0x20), "main", false },
		{ APP(0x30), "producer", false },
		{ APP(0x40), "writer", false },
		{ APP(0x50), "rwlock_user", false },
		{ APP(0x60), "runtime.futex", false },
		{ APP(0x70), "runtime.futexsleep", false },
		{ APP(0x80), "runtime.notesleep", false },
	};
	size_t i;

	for (i = 0; i < sizeof(syms) / sizeof(syms[0]); i++)
		add_symbol(rec, PID, syms[i].addr, syms[i].name, syms[i].libc ? LIBC_PATH : APP_PATH);
	ADD_STACK(rec, S_MUTEX_WAIT, 0, LIBC(0x100), LIBC(0x200), APP(0x10));
	ADD_STACK(rec, S_PLAIN_WAIT, 0, LIBC(0x300), APP(0x10));
	ADD_STACK(rec, S_JOIN_WAIT, 0, LIBC(0x300), LIBC(0x400), APP(0x20));
	ADD_STACK(rec, S_COND_SIGNAL, 0, LIBC(0x500), APP(0x30));
	ADD_STACK(rec, S_RWLOCK_UNLOCK, 0, LIBC(0x600), APP(0x40));
	ADD_STACK(rec, S_LLL_WAKE, 0, LIBC(0x700), LIBC(0x800), APP(0x10));
	ADD_STACK(rec, S_APP_FIRST, 0, APP(0x50), LIBC(0x500));
	ADD_STACK(rec, S_UNRESOLVED, 0, 0xdead0001, 0xdead0002);
	ADD_STACK(rec, S_UNRESOLVED_COND, 0, 0xdead0001, LIBC(0x500));
	ADD_STACK(rec, S_SEM_WAIT, 0, LIBC(0x900), APP(0x10));
	ADD_STACK(rec, S_GO_IDLE, 0, APP(0x60), APP(0x70), APP(0x80));
	ADD_STACK(rec, S_KERNEL, STACK_KERNEL, 0xffffffff81100000ULL);
	add_symbol(rec, 0, 0xffffffff81100000ULL, "rwsem_down_read_slowpath", "[kernel]");
}

static void lock_rec(struct recording *rec, __u8 source, __u32 tgid, __u64 addr, __u8 op,
		     __u64 stack, __u16 bucket, __u64 count, __u64 total, __u64 max,
		     __u64 runnable)
{
	struct lock_key k = { .tgid = tgid, .source = source, .op = op, .bucket = bucket,
			      .addr = addr, .stack_id = stack };
	struct lock_val v = { .count = count, .total_ns = total, .max_ns = max,
			      .runnable_ns = runnable };

	MUST(rec_add_lock(rec, &k, &v));
}

/* A futex wait of PID that slept: count waits, blocked ns, runnable ns. */
static void wait_rec(struct recording *rec, __u64 addr, __u8 op, __u64 stack, __u64 count,
		     __u64 blocked, __u64 runnable)
{
	lock_rec(rec, LOCK_SRC_FUTEX, PID, addr, op, stack, hist_bucket(blocked / count), count,
		 blocked, blocked / count, runnable);
}

static void holder_rec(struct recording *rec, __u64 addr, __u64 waker, __u64 waiter,
		       __u64 wakes, __u64 woken, __u64 wait_ns)
{
	struct lock_holder_key k = { .tgid = PID, .addr = addr, .waker_stack_id = waker,
				     .waiter_stack_id = waiter };
	struct lock_holder_val v = { .wakes = wakes, .woken = woken, .woken_wait_ns = wait_ns };

	MUST(rec_add_lock_holder(rec, &k, &v));
}

static const struct lock_entry *find(const struct lock_agg *agg, bool kernel, __u32 pid,
				     __u64 addr)
{
	const struct lock_entry *found = NULL;
	size_t i;

	for (i = 0; i < agg->nr; i++) {
		const struct lock_entry *e = &agg->entries[i];

		if (e->kernel != kernel || e->pid != pid || e->addr != addr)
			continue;
		CHECK(!found, "two entries for %u 0x%llx", pid, (unsigned long long)addr);
		found = e;
	}
	CHECK(found, "an entry for pid %u 0x%llx", pid, (unsigned long long)addr);
	return found;
}

/* Finishes rec and aggregates it, expecting nr entries. */
static void aggregate(struct recording *rec, struct lock_agg *agg, size_t nr)
{
	rec_finish(rec);
	CHECK_U64(lock_aggregate(rec, agg), 0);
	CHECK_U64(agg->nr, nr);
}

static void check_callsite(const struct lock_callsite *c, __u64 stack_id, __u64 count,
			   __u64 total_ns)
{
	CHECK_U64(c->stack_id, stack_id);
	CHECK_U64(c->count, count);
	CHECK_U64(c->total_ns, total_ns);
}

static void check_holder(const struct lock_holder *h, __u64 stack_id, __u64 wakes,
			 __u64 woken, __u64 woken_wait_ns)
{
	CHECK_U64(h->stack_id, stack_id);
	CHECK_U64(h->wakes, wakes);
	CHECK_U64(h->woken, woken);
	CHECK_U64(h->woken_wait_ns, woken_wait_ns);
}

static void test_empty(void)
{
	struct recording *rec = rec_new_or_die();
	struct lock_agg agg;

	aggregate(rec, &agg, 0);
	CHECK(!agg.sampled && agg.uprobe_duty == 1.0, "not sampled, duty 1");
	lock_agg_free(&agg);
	rec_free(rec);
}

/*
 * One contended mutex: the total holds both parts of every wait, the
 * runnable part apart too; the histogram and max hold the blocked part;
 * futex calls that never slept are retries, in none of those.
 */
static void test_wait_split(void)
{
	struct recording *rec = rec_new_or_die();
	unsigned int b1 = hist_bucket(100000), b2 = hist_bucket(1000000);
	const struct lock_entry *e;
	struct lock_agg agg;
	__u64 n = 0;
	unsigned int i;

	build_stacks(rec);
	add_process(rec, PID, "app", (struct map_range[]){ { HEAP, HEAP + 0x100000, "[heap]" } }, 1);
	MUST(rec_add_lock_name(rec, PID, HEAP + 0x100, "contended_mu", 0));
	lock_rec(rec, LOCK_SRC_FUTEX, PID, HEAP + 0x100, FUTEX_CLASS_WAIT, S_MUTEX_WAIT, b1,
		 3, 300000, 150000, 30000);
	lock_rec(rec, LOCK_SRC_FUTEX, PID, HEAP + 0x100, FUTEX_CLASS_WAIT, S_PLAIN_WAIT, b2,
		 1, 1000000, 1000000, 500000);
	lock_rec(rec, LOCK_SRC_FUTEX, PID, HEAP + 0x100, FUTEX_CLASS_WAIT | FUTEX_NO_SLEEP,
		 S_MUTEX_WAIT, 0, 7, 70, 20, 0);
	/* A lock whose every futex call found it released: retries only. */
	lock_rec(rec, LOCK_SRC_FUTEX, PID, HEAP + 0x200, FUTEX_CLASS_WAIT | FUTEX_NO_SLEEP,
		 S_MUTEX_WAIT, 0, 5, 50, 20, 0);
	aggregate(rec, &agg, 2);
	e = find(&agg, false, PID, HEAP + 0x100);
	if (e) {
		CHECK_U64(e->contentions, 4);
		CHECK_U64(e->total_wait_ns, 300000 + 30000 + 1000000 + 500000);
		CHECK_U64(e->runqueue_ns, 30000 + 500000);
		CHECK_U64(e->max_ns, 1000000);
		CHECK_U64(e->hist_count[b1], 3);
		CHECK_U64(e->hist_count[b2], 1);
		CHECK_U64(e->hist_sum_ns[b1], 300000);
		CHECK_U64(e->hist_sum_ns[b2], 1000000);
		for (i = 0; i < HIST_NR_BUCKETS; i++)
			n += e->hist_count[i];
		CHECK_U64(n, 4);
		CHECK_U64(e->futex_retries, 7);
		CHECK_U64(e->futex_retry_ns, 70);
		CHECK_U64(e->acquisitions, 0);
		CHECK_U64(e->holds, 0);
		/* Call sites carry both parts, largest first. */
		CHECK_U64(e->nr_callsites, 2);
		if (e->nr_callsites == 2) {
			check_callsite(&e->callsites[0], S_PLAIN_WAIT, 1, 1500000);
			check_callsite(&e->callsites[1], S_MUTEX_WAIT, 3, 330000);
		}
		/* The waiters' frames: the second call site is in
		 * pthread_mutex_lock. */
		CHECK(e->kind == LOCK_KIND_MUTEX, "kind %s", lock_kind_name(e->kind));
		CHECK_STR(e->symbol, "contended_mu");
		CHECK_STR(e->object, "[heap]");
		CHECK_STR(e->comm, "app");
	}
	e = find(&agg, false, PID, HEAP + 0x200);
	if (e) {
		CHECK(e->contentions == 0 && e->total_wait_ns == 0 && e->nr_callsites == 0,
		      "retries are not waits");
		CHECK_U64(e->futex_retries, 5);
		CHECK(e->kind == LOCK_KIND_FUTEX, "nothing to go by: futex, not %s",
		      lock_kind_name(e->kind));
	}
	/* Sorted by total wait, largest first. */
	CHECK(agg.nr == 2 && agg.entries[0].addr == HEAP + 0x100, "the contended lock first");
	lock_agg_free(&agg);
	rec_free(rec);
}

/* Acquisitions timed by uprobes and holds: counted apart from the waits. */
static void test_uprobes(void)
{
	struct recording *rec = rec_new_or_die();
	unsigned int b0 = 0, b1 = hist_bucket(100000), b3 = HIST_OVERFLOW;
	const struct lock_entry *e;
	struct lock_latency lat;
	struct lock_agg agg;

	build_stacks(rec);
	MUST(rec_set_meta(rec, "uprobe_sample_ms", "500"));
	MUST(rec_set_meta(rec, "uprobe_duty", "0.25"));
	lock_rec(rec, LOCK_SRC_UPROBE, PID, HEAP + 0x800, LOCK_FN_MUTEX_LOCK, S_MUTEX_WAIT, b1,
		 10, 1000, 200, 0);
	lock_rec(rec, LOCK_SRC_UPROBE, PID, HEAP + 0x800, LOCK_FN_MUTEX_TRYLOCK | LOCK_UPROBE_FAILED,
		 S_PLAIN_WAIT, b0, 2, 20, 15, 0);
	lock_rec(rec, LOCK_SRC_HOLD, PID, HEAP + 0x800, LOCK_FN_MUTEX_LOCK, S_MUTEX_WAIT, b3,
		 10, 5000, 900, 700);
	/* Kinds from the functions timed: rwlock, and rwlock with a mutex. */
	lock_rec(rec, LOCK_SRC_UPROBE, PID, HEAP + 0x900, LOCK_FN_RWLOCK_RDLOCK, S_PLAIN_WAIT, b1,
		 1, 100, 100, 0);
	lock_rec(rec, LOCK_SRC_UPROBE, PID, HEAP + 0xa00, LOCK_FN_MUTEX_LOCK, S_PLAIN_WAIT, b1,
		 1, 100, 100, 0);
	lock_rec(rec, LOCK_SRC_UPROBE, PID, HEAP + 0xa00, LOCK_FN_RWLOCK_WRLOCK, S_PLAIN_WAIT, b1,
		 1, 50, 50, 0);
	aggregate(rec, &agg, 3);
	CHECK(agg.sampled && agg.uprobe_duty == 0.25, "sampled, duty %g", agg.uprobe_duty);
	e = find(&agg, false, PID, HEAP + 0x800);
	if (e) {
		CHECK_U64(e->acquisitions, 12);
		CHECK_U64(e->failed_acquisitions, 2);
		CHECK_U64(e->acq_total_ns, 1020);
		CHECK_U64(e->acq_max_ns, 200);
		CHECK_U64(e->acq_count[b1], 10);
		CHECK_U64(e->acq_sum_ns[b1], 1000);
		CHECK_U64(e->acq_count[b0], 2);
		CHECK_U64(e->nr_acq_callsites, 2);
		CHECK(e->nr_acq_callsites && e->acq_callsites[0].stack_id == S_MUTEX_WAIT,
		      "largest acquisition call site first");
		CHECK_U64(e->holds, 10);
		CHECK_U64(e->hold_total_ns, 5000 + 700);
		CHECK_U64(e->hold_runqueue_ns, 700);
		CHECK_U64(e->hold_max_ns, 900);
		CHECK_U64(e->hold_count[b3], 10);
		CHECK_U64(e->hold_sum_ns[b3], 5000);
		CHECK(e->contentions == 0 && e->total_wait_ns == 0 && e->nr_callsites == 0,
		      "no waits");
		CHECK(e->kind == LOCK_KIND_MUTEX, "kind %s", lock_kind_name(e->kind));
		/* No waits to judge: the acquisitions are the latency. */
		lock_entry_latency(e, &lat);
		CHECK(!lat.waits && lat.count == 12 && lat.total_ns == 1020 && lat.max_ns == 200 &&
		      lat.counts == e->acq_count && !strcmp(lat.what, "acquisitions"),
		      "latency of the acquisitions");
		/* No process recorded: the lock is where nothing is known. */
		CHECK_STR(e->object, "[unknown]");
		CHECK_STR(e->comm, "?");
	}
	e = find(&agg, false, PID, HEAP + 0x900);
	CHECK(e && e->kind == LOCK_KIND_RWLOCK, "rdlock timed: rwlock");
	e = find(&agg, false, PID, HEAP + 0xa00);
	CHECK(e && e->kind == LOCK_KIND_RWLOCK, "wrlock and mutex_lock timed: rwlock");
	/* By total wait (all 0), then acquisition time. */
	CHECK(agg.nr == 3 && agg.entries[0].addr == HEAP + 0x800 &&
	      agg.entries[1].addr == HEAP + 0xa00 && agg.entries[2].addr == HEAP + 0x900,
	      "ordered by acquisition time");
	lock_agg_free(&agg);
	rec_free(rec);
}

struct kind_case {
	const char *what;
	__u64 addr;
	enum lock_kind want;
};

/*
 * Each lock's evidence, strongest first: a thread's exit ended every wait
 * (join), PI operations (mutex; requeue-PI: condvar), the holders' innermost
 * libc frames (the largest waker decides), the waiters'; else futex.
 */
static void test_kinds(void)
{
	static const struct kind_case cases[] = {
		{ "every wait ended by a thread's exit, mutex frames", ANON + 0x100, LOCK_KIND_JOIN },
		{ "one wait not ended by an exit", ANON + 0x200, LOCK_KIND_FUTEX },
		{ "waiter frames in pthread_clockjoin", ANON + 0x300, LOCK_KIND_JOIN },
		{ "PI, a signalling holder", HEAP + 0x100, LOCK_KIND_MUTEX },
		{ "requeue-PI", HEAP + 0x200, LOCK_KIND_CONDVAR },
		{ "holders: the larger waiter time signals", HEAP + 0x300, LOCK_KIND_CONDVAR },
		{ "holder in the app's own frame first", HEAP + 0x400, LOCK_KIND_MUTEX },
		{ "holders unknown and unresolvable", HEAP + 0x500, LOCK_KIND_FUTEX },
		{ "holder past an unresolvable frame", HEAP + 0x600, LOCK_KIND_CONDVAR },
		{ "holder unlocks an rwlock", HEAP + 0x700, LOCK_KIND_RWLOCK },
		{ "holder wakes a low-level lock", HEAP + 0x780, LOCK_KIND_MUTEX },
		{ "waiter in sem_wait", HEAP + 0x800, LOCK_KIND_FUTEX },
		{ "Go runtime idling", HEAP + 0x900, LOCK_KIND_GO_RUNTIME },
	};
	struct recording *rec = rec_new_or_die();
	const struct lock_entry *e;
	struct lock_agg agg;
	size_t i;

	build_stacks(rec);
	wait_rec(rec, ANON + 0x100, FUTEX_CLASS_WAIT | FUTEX_THREAD_EXIT, S_MUTEX_WAIT, 2, 2000, 0);
	wait_rec(rec, ANON + 0x100, FUTEX_CLASS_WAIT | FUTEX_THREAD_EXIT, S_UNKNOWN, 1, 1000, 0);
	/* A retry does not vote: it never waited for the exit. */
	wait_rec(rec, ANON + 0x100, FUTEX_CLASS_WAIT | FUTEX_NO_SLEEP, S_MUTEX_WAIT, 1, 10, 0);
	wait_rec(rec, ANON + 0x200, FUTEX_CLASS_WAIT | FUTEX_THREAD_EXIT, S_PLAIN_WAIT, 1, 1000, 0);
	wait_rec(rec, ANON + 0x200, FUTEX_CLASS_WAIT, S_PLAIN_WAIT, 1, 1000, 0);
	wait_rec(rec, ANON + 0x300, FUTEX_CLASS_WAIT, S_JOIN_WAIT, 1, 1000, 0);
	wait_rec(rec, HEAP + 0x100, FUTEX_CLASS_PI, S_PLAIN_WAIT, 1, 1000, 0);
	holder_rec(rec, HEAP + 0x100, S_COND_SIGNAL, 0, 5, 0, 0);
	wait_rec(rec, HEAP + 0x200, FUTEX_CLASS_REQUEUE_PI, S_MUTEX_WAIT, 1, 1000, 0);
	/* The rwlock waker wakes more often; the signaller's wakes ended
	 * more waiting: holders go by woken_wait_ns first. */
	wait_rec(rec, HEAP + 0x300, FUTEX_CLASS_WAIT, S_MUTEX_WAIT, 4, 1000, 0);
	holder_rec(rec, HEAP + 0x300, S_RWLOCK_UNLOCK, 0, 50, 0, 0);
	holder_rec(rec, HEAP + 0x300, S_RWLOCK_UNLOCK, S_MUTEX_WAIT, 0, 1, 100);
	holder_rec(rec, HEAP + 0x300, S_COND_SIGNAL, 0, 5, 0, 0);
	holder_rec(rec, HEAP + 0x300, S_COND_SIGNAL, S_MUTEX_WAIT, 0, 3, 900);
	wait_rec(rec, HEAP + 0x400, FUTEX_CLASS_WAIT, S_MUTEX_WAIT, 1, 1000, 0);
	holder_rec(rec, HEAP + 0x400, S_APP_FIRST, 0, 9, 0, 0);
	wait_rec(rec, HEAP + 0x500, FUTEX_CLASS_WAIT, S_UNRESOLVED, 1, 1000, 0);
	holder_rec(rec, HEAP + 0x500, S_UNKNOWN, 0, 9, 0, 0);
	holder_rec(rec, HEAP + 0x500, S_UNRESOLVED, 0, 3, 0, 0);
	wait_rec(rec, HEAP + 0x600, FUTEX_CLASS_WAIT, S_UNRESOLVED, 1, 1000, 0);
	holder_rec(rec, HEAP + 0x600, S_UNRESOLVED_COND, 0, 1, 0, 0);
	wait_rec(rec, HEAP + 0x700, FUTEX_CLASS_WAIT, S_PLAIN_WAIT, 1, 1000, 0);
	holder_rec(rec, HEAP + 0x700, S_RWLOCK_UNLOCK, 0, 1, 0, 0);
	wait_rec(rec, HEAP + 0x780, FUTEX_CLASS_WAIT, S_PLAIN_WAIT, 1, 1000, 0);
	holder_rec(rec, HEAP + 0x780, S_LLL_WAKE, 0, 1, 0, 0);
	/* The larger call site is a semaphore's: the mutex frames of the
	 * smaller one are not looked at. */
	wait_rec(rec, HEAP + 0x800, FUTEX_CLASS_WAIT, S_SEM_WAIT, 1, 2000, 0);
	wait_rec(rec, HEAP + 0x800, FUTEX_CLASS_WAIT, S_MUTEX_WAIT, 1, 1000, 0);
	wait_rec(rec, HEAP + 0x900, FUTEX_CLASS_WAIT, S_GO_IDLE, 1, 1000, 0);
	aggregate(rec, &agg, sizeof(cases) / sizeof(cases[0]));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		e = find(&agg, false, PID, cases[i].addr);
		CHECK(e && e->kind == cases[i].want, "%s: %s, want %s", cases[i].what,
		      e ? lock_kind_name(e->kind) : "no entry", lock_kind_name(cases[i].want));
	}
	e = find(&agg, false, PID, HEAP + 0x300);
	CHECK(e && e->nr_holders == 2, "two holders");
	if (e && e->nr_holders == 2) {
		check_holder(&e->holders[0], S_COND_SIGNAL, 5, 3, 900);
		check_holder(&e->holders[1], S_RWLOCK_UNLOCK, 50, 1, 100);
	}
	e = find(&agg, false, PID, ANON + 0x100);
	CHECK(e && e->contentions == 3 && e->futex_retries == 1, "join: 3 waits, 1 retry");
	lock_agg_free(&agg);
	rec_free(rec);
}

/* Kernel locks are one entry per address whoever contends them; user
 * locks one per (process, address). */
static void test_grouping(void)
{
	struct recording *rec = rec_new_or_die();
	unsigned int b = hist_bucket(100);
	const struct lock_entry *e;
	struct lock_agg agg;
	char name[64];

	build_stacks(rec);
	/* Sorted by start, as /proc/PID/maps is. */
	add_process(rec, PID, "app", (struct map_range[]){ { APP(0), APP(0x100000), APP_PATH },
		    { HEAP, HEAP + 0x100000, "[heap]" }, { ANON, ANON + 0x100000, "" } }, 3);
	lock_rec(rec, LOCK_SRC_KERNEL, PID, KLOCK, LCB_F_SPIN, S_KERNEL, b, 4, 400, 150, 40);
	lock_rec(rec, LOCK_SRC_KERNEL, OTHER_PID, KLOCK, LCB_F_SPIN | LCB_F_READ, S_KERNEL, b,
		 1, 100, 100, 0);
	lock_rec(rec, LOCK_SRC_KERNEL, PID, KMUTEX, LCB_F_MUTEX, S_KERNEL, b, 1, 100, 100, 0);
	wait_rec(rec, ANON + 0x40, FUTEX_CLASS_WAIT, S_MUTEX_WAIT, 1, 1000, 0);
	lock_rec(rec, LOCK_SRC_FUTEX, OTHER_PID, ANON + 0x40, FUTEX_CLASS_WAIT, S_MUTEX_WAIT, b,
		 2, 200, 100, 0);
	wait_rec(rec, APP(0x2000), FUTEX_CLASS_WAIT, S_MUTEX_WAIT, 1, 1000, 0);
	aggregate(rec, &agg, 5);
	e = find(&agg, true, 0, KLOCK);
	if (e) {
		CHECK_U64(e->contentions, 5);
		CHECK_U64(e->total_wait_ns, 540);
		CHECK_U64(e->runqueue_ns, 40);
		CHECK_U64(e->kernel_flags, LCB_F_SPIN | LCB_F_READ);
		CHECK(e->kind == LOCK_KIND_KERNEL, "kernel");
		CHECK_STR(lock_kernel_type(e->kernel_flags), "rwlock (read)");
		CHECK_STR(e->object, "[kernel]");
		CHECK_STR(e->comm, "");
		CHECK(e->nr_callsites == 1 && e->callsites[0].count == 5, "one kernel call site");
	}
	e = find(&agg, true, PID, KMUTEX);
	CHECK(e && !strcmp(e->comm, "app") && !strcmp(lock_kernel_type(e->kernel_flags), "mutex"),
	      "a kernel mutex one process contends keeps its pid");
	e = find(&agg, false, PID, ANON + 0x40);
	if (e) {
		CHECK_U64(e->contentions, 1);
		CHECK_STR(e->object, "[anon]");
		lock_display_name(e, name, sizeof(name));
		CHECK_STR(name, "0x700040 ([anon])");
	}
	e = find(&agg, false, OTHER_PID, ANON + 0x40);
	CHECK(e && e->contentions == 2 && !strcmp(e->comm, "?") && !strcmp(e->object, "[unknown]"),
	      "the same address in another process is another lock");
	e = find(&agg, false, PID, APP(0x2000));
	CHECK(e && !strcmp(e->object, "app"), "a lock in the binary: its file name");
	lock_agg_free(&agg);
	rec_free(rec);
}

/*
 * glibc waits on several words of one rwlock (or condition variable): the
 * words of a named one become one entry at its base, numbers summed. A
 * mutex inside a named struct stays at its offset; words of different
 * kinds stay apart.
 */
static void test_named_words(void)
{
	struct recording *rec = rec_new_or_die();
	const struct lock_entry *e;
	struct lock_agg agg;
	char name[64];
	size_t i, at_odd = 0;

	build_stacks(rec);
	MUST(rec_add_lock_name(rec, PID, HEAP, "table_rwlock", 0));
	MUST(rec_add_lock_name(rec, PID, HEAP + 8, "table_rwlock", 8));
	wait_rec(rec, HEAP, FUTEX_CLASS_WAIT, S_PLAIN_WAIT, 2, 200, 20);
	wait_rec(rec, HEAP + 8, FUTEX_CLASS_WAIT, S_PLAIN_WAIT, 3, 300, 30);
	wait_rec(rec, HEAP + 8, FUTEX_CLASS_WAIT, S_MUTEX_WAIT, 1, 100, 0);
	holder_rec(rec, HEAP, S_RWLOCK_UNLOCK, 0, 2, 0, 0);
	holder_rec(rec, HEAP + 8, S_RWLOCK_UNLOCK, 0, 3, 0, 0);
	lock_rec(rec, LOCK_SRC_HOLD, PID, HEAP, LOCK_FN_RWLOCK_WRLOCK, S_PLAIN_WAIT, 1, 2, 400,
		 300, 40);
	lock_rec(rec, LOCK_SRC_HOLD, PID, HEAP + 8, LOCK_FN_RWLOCK_WRLOCK, S_PLAIN_WAIT, 1, 1, 500,
		 500, 60);
	MUST(rec_add_lock_name(rec, PID, HEAP + 0x110, "struct_with_mu", 0x10));
	wait_rec(rec, HEAP + 0x110, FUTEX_CLASS_WAIT, S_MUTEX_WAIT, 1, 100, 0);
	MUST(rec_add_lock_name(rec, PID, HEAP + 0x200, "work_cv", 0));
	MUST(rec_add_lock_name(rec, PID, HEAP + 0x204, "work_cv", 4));
	wait_rec(rec, HEAP + 0x200, FUTEX_CLASS_REQUEUE_PI, S_PLAIN_WAIT, 1, 100, 0);
	wait_rec(rec, HEAP + 0x204, FUTEX_CLASS_REQUEUE_PI, S_PLAIN_WAIT, 1, 100, 0);
	MUST(rec_add_lock_name(rec, PID, HEAP + 0x300, "odd", 0));
	MUST(rec_add_lock_name(rec, PID, HEAP + 0x308, "odd", 8));
	wait_rec(rec, HEAP + 0x300, FUTEX_CLASS_WAIT, S_PLAIN_WAIT, 1, 100, 0);
	holder_rec(rec, HEAP + 0x300, S_RWLOCK_UNLOCK, 0, 1, 0, 0);
	wait_rec(rec, HEAP + 0x308, FUTEX_CLASS_REQUEUE_PI, S_PLAIN_WAIT, 1, 100, 0);
	aggregate(rec, &agg, 5);
	e = find(&agg, false, PID, HEAP);
	if (e) {
		CHECK(e->kind == LOCK_KIND_RWLOCK, "kind %s", lock_kind_name(e->kind));
		CHECK_U64(e->symbol_offset, 0);
		CHECK_U64(e->contentions, 6);
		CHECK_U64(e->total_wait_ns, 200 + 20 + 300 + 30 + 100);
		CHECK_U64(e->runqueue_ns, 20 + 30);
		CHECK_U64(e->holds, 3);
		CHECK_U64(e->hold_total_ns, 400 + 40 + 500 + 60);
		CHECK_U64(e->hold_runqueue_ns, 40 + 60);
		CHECK_U64(e->hold_max_ns, 500);
		CHECK_U64(e->nr_callsites, 2);
		if (e->nr_callsites == 2) {
			check_callsite(&e->callsites[0], S_PLAIN_WAIT, 5, 550);
		}
		CHECK(e->nr_holders == 1 && e->holders[0].wakes == 5, "holders merged");
		lock_display_name(e, name, sizeof(name));
		CHECK_STR(name, "table_rwlock");
	}
	e = find(&agg, false, PID, HEAP + 0x110);
	if (e) {
		CHECK(e->kind == LOCK_KIND_MUTEX, "kind %s", lock_kind_name(e->kind));
		lock_display_name(e, name, sizeof(name));
		CHECK_STR(name, "struct_with_mu+0x10");
	}
	e = find(&agg, false, PID, HEAP + 0x200);
	CHECK(e && e->kind == LOCK_KIND_CONDVAR && e->contentions == 2, "condvar words merged");
	for (i = 0; i < agg.nr; i++)
		at_odd += agg.entries[i].addr == HEAP + 0x300;
	CHECK_U64(at_odd, 2);
	lock_agg_free(&agg);
	rec_free(rec);
}

static void test_names(void)
{
	static const struct {
		__u32 flags;
		const char *name;
	} kernel[] = {
		{ LCB_F_SPIN, "spinlock" },
		{ LCB_F_SPIN | LCB_F_WRITE, "rwlock (write)" },
		{ LCB_F_SPIN | LCB_F_READ | LCB_F_WRITE, "rwlock" },
		{ LCB_F_MUTEX, "mutex" },
		{ LCB_F_RT, "rt-mutex" },
		{ LCB_F_PERCPU | LCB_F_WRITE, "percpu-rwsem (write)" },
		{ LCB_F_PERCPU | LCB_F_READ, "percpu-rwsem (read)" },
		{ LCB_F_READ, "rwsem (read)" },
		{ LCB_F_WRITE, "rwsem (write)" },
		{ LCB_F_READ | LCB_F_WRITE, "rwsem" },
		{ 0, "lock" },
	};
	size_t i;

	for (i = 0; i < sizeof(kernel) / sizeof(kernel[0]); i++)
		CHECK_STR(lock_kernel_type(kernel[i].flags), kernel[i].name);
	CHECK_STR(lock_kind_name(LOCK_KIND_JOIN), "join");
	CHECK_STR(lock_kind_name(LOCK_KIND_GO_RUNTIME), "go-runtime");
	CHECK_STR(lock_kind_name((enum lock_kind)99), "futex");
}

/* Enough waits to judge: the waits are the latency, whatever uprobes saw. */
/* Owners' sleeps under a contended lock (LOCK_SRC_HOLD_SLEEP): holds seen,
 * those that slept (stack and time), the sleeps (op), the longest sleeps'
 * stacks; a hold that never slept counts as seen only. */
static void test_owner_sleeps(void)
{
	struct recording *rec = rec_new_or_die();
	unsigned int b = hist_bucket(600000);
	const struct lock_entry *e;
	struct lock_agg agg;

	build_stacks(rec);
	lock_rec(rec, LOCK_SRC_FUTEX, PID, HEAP, FUTEX_CLASS_WAIT, S_MUTEX_WAIT, b, 10, 6000000,
		 700000, 0);
	lock_rec(rec, LOCK_SRC_HOLD_SLEEP, PID, HEAP, 3, S_PLAIN_WAIT, b, 4, 2400000, 0, 0);
	lock_rec(rec, LOCK_SRC_HOLD_SLEEP, PID, HEAP, 1, S_APP_FIRST, b, 1, 500000, 0, 0);
	lock_rec(rec, LOCK_SRC_HOLD_SLEEP, PID, HEAP, 0, 0, 0, 20, 0, 0, 0);
	aggregate(rec, &agg, 1);
	e = find(&agg, false, PID, HEAP);
	if (e) {
		CHECK_U64(e->owner_holds, 25);
		CHECK_U64(e->owner_holds_slept, 5);
		CHECK_U64(e->owner_sleeps, 4 * 3 + 1);
		CHECK_U64(e->owner_slept_ns, 2900000);
		CHECK_U64(e->owner_slept_count[b], 5);
		CHECK(e->nr_sleep_sites == 2 && e->sleep_sites[0].stack_id == S_PLAIN_WAIT &&
		      e->sleep_sites[0].count == 4, "the longest sleeps' stacks, largest first");
		CHECK_U64(e->contentions, 10);
	}
	lock_agg_free(&agg);
	rec_free(rec);
}

static void test_latency_choice(void)
{
	struct lock_entry e = { .contentions = MODALITY_MIN_SAMPLES, .total_wait_ns = 7,
				.max_ns = 5, .acquisitions = 1000, .acq_total_ns = 9 };
	struct lock_latency lat;

	lock_entry_latency(&e, &lat);
	CHECK(lat.waits && lat.count == MODALITY_MIN_SAMPLES && lat.total_ns == 7 &&
	      lat.max_ns == 5 && lat.counts == e.hist_count && lat.sums == e.hist_sum_ns,
	      "enough waits: waits");
	e.contentions = MODALITY_MIN_SAMPLES - 1;
	lock_entry_latency(&e, &lat);
	CHECK(!lat.waits && lat.count == 1000 && lat.total_ns == 9, "too few waits: acquisitions");
	e.acquisitions = 0;
	lock_entry_latency(&e, &lat);
	CHECK(lat.waits && lat.count == MODALITY_MIN_SAMPLES - 1, "no uprobes: waits, however few");
}

int main(void)
{
	test_empty();
	test_wait_split();
	test_uprobes();
	test_kinds();
	test_grouping();
	test_named_words();
	test_names();
	test_owner_sleeps();
	test_latency_choice();
	return check_summary("lock aggregation tests");
}
