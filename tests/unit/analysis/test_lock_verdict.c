// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of src/analysis/lock_verdict.c's hold evidence: a lock whose
 * waits are one mode but whose holds split is a slow holder only when the
 * holder slept in the slow holds (it blocked under the lock); slow holds
 * that ran (an interrupt, a probe trap, a missed preemption) are not, and
 * neither is a slow mode within a few probe costs of the typical hold.
 * Without uprobes, the owners' sleeps under the lock (seen from the
 * waiters: bpf/lock_owners.bpf.h) make a slow holder when they are a
 * material share of the waiters' blocked time.
 */
#include <string.h>

#include "check.h"
#include "lock_verdict.h"
#include "modality.h"

int test_failures;

#define US	1000.0

/* n samples of about ns each into a histogram. */
static void put(__u64 *count, __u64 *sum, double ns, __u64 n)
{
	unsigned int b = hist_bucket((__u64)ns);

	count[b] += n;
	sum[b] += (__u64)(ns * (double)n);
}

/* Waits of one mode (~60 us); holds: 97% ~16 us, 3% ~slow_us; the
 * acquisitions' fastest mode (the probe cost) probe_us. */
static void make_lock(struct lock_entry *e, double slow_us, double slept_share, double probe_us)
{
	unsigned int b;

	memset(e, 0, sizeof(*e));
	e->kind = LOCK_KIND_MUTEX;
	e->contentions = 2000;
	put(e->hist_count, e->hist_sum_ns, 50 * US, 1000);
	put(e->hist_count, e->hist_sum_ns, 70 * US, 1000);
	e->total_wait_ns = 2000 * 60 * US;
	e->max_ns = 80 * US;
	e->acquisitions = e->holds = 6000;
	put(e->acq_count, e->acq_sum_ns, probe_us * US, 6000);
	put(e->hold_count, e->hold_sum_ns, 16 * US, 5820);
	put(e->hold_count, e->hold_sum_ns, slow_us * US, 180);
	b = hist_bucket((__u64)(slow_us * US));
	e->hold_slept_count[b] = (__u64)(180 * slept_share);
	e->holds_slept = e->hold_slept_count[b];
}

static void judge(double slow_us, double slept_share, double probe_us,
		  enum lock_judgement want, const char *what)
{
	static struct named_stack ns;
	struct lock_verdict v;
	struct lock_entry e;

	make_lock(&e, slow_us, slept_share, probe_us);
	lock_verdict_judge(NULL, &e, NULL, 0, &ns, &v);
	CHECK(v.judgement == want, "%s: %s (want %s): %s", what,
	      lock_judgement_name(v.judgement), lock_judgement_name(want), v.text);
}

/* Waits of one mode, no uprobes; owners slept in `holds` of 1000 contended
 * holds for slept_ms in all (the waits: 120 ms blocked). Rule: >= 10 holds,
 * >= 1% of the holds seen, >= 1% of the blocked wait. */
static void judge_owners(__u64 holds, double slept_ms, enum lock_judgement want,
			 const char *what)
{
	static struct named_stack ns;
	struct lock_verdict v;
	struct lock_entry e;

	make_lock(&e, 800, 1.0, 8);
	e.acquisitions = e.holds = 0;
	memset(e.hold_count, 0, sizeof(e.hold_count));
	memset(e.acq_count, 0, sizeof(e.acq_count));
	e.owner_holds = 1000;
	e.owner_holds_slept = holds;
	e.owner_sleeps = holds;
	e.owner_slept_ns = (__u64)(slept_ms * 1e6);
	if (holds)
		put(e.owner_slept_count, e.owner_slept_sum_ns, slept_ms * 1e6 / (double)holds,
		    holds);
	lock_verdict_judge(NULL, &e, NULL, 0, &ns, &v);
	CHECK(v.judgement == want, "%s: %s (want %s): %s", what,
	      lock_judgement_name(v.judgement), lock_judgement_name(want), v.text);
}

/* Waits of two modes, no uprobes: 20000 at ~50 us and `slow` at ~5 ms. */
static void judge_waits(__u64 slow, enum lock_judgement want, const char *what)
{
	static struct named_stack ns;
	struct lock_verdict v;
	struct lock_entry e;

	memset(&e, 0, sizeof(e));
	e.kind = LOCK_KIND_MUTEX;
	e.contentions = 20000 + slow;
	put(e.hist_count, e.hist_sum_ns, 40 * US, 10000);
	put(e.hist_count, e.hist_sum_ns, 60 * US, 10000);
	put(e.hist_count, e.hist_sum_ns, 5000 * US, slow);
	e.total_wait_ns = (__u64)(20000 * 50 * US + (double)slow * 5000 * US);
	e.max_ns = 6000 * US;
	lock_verdict_judge(NULL, &e, NULL, 0, &ns, &v);
	CHECK(v.judgement == want, "%s: %s (want %s): %s", what,
	      lock_judgement_name(v.judgement), lock_judgement_name(want), v.text);
	if (want == LOCK_ONE_WAY)
		CHECK(strstr(v.text, "not material") != NULL, "%s: says why: %s", what, v.text);
}

/* Waits at ~20 us and ~100 us (5x apart), no uprobes; owners seen in 1000
 * holds, sleeping in `slept` of them (100 us each). */
static void judge_queue(__u64 slept, enum lock_judgement want, const char *what)
{
	static struct named_stack ns;
	struct lock_verdict v;
	struct lock_entry e;

	memset(&e, 0, sizeof(e));
	e.kind = LOCK_KIND_MUTEX;
	e.contentions = 8000;
	put(e.hist_count, e.hist_sum_ns, 20 * US, 4000);
	put(e.hist_count, e.hist_sum_ns, 100 * US, 4000);
	e.total_wait_ns = (__u64)(4000 * 120 * US);
	e.max_ns = 200 * US;
	e.owner_holds = 1000;
	e.owner_holds_slept = e.owner_sleeps = slept;
	e.owner_slept_ns = (__u64)((double)slept * 100 * US);
	if (slept)
		put(e.owner_slept_count, e.owner_slept_sum_ns, 100 * US, slept);
	lock_verdict_judge(NULL, &e, NULL, 0, &ns, &v);
	CHECK(v.judgement == want, "%s: %s (want %s): %s", what,
	      lock_judgement_name(v.judgement), lock_judgement_name(want), v.text);
}

/* Waits at ~30 us and 60 at ~750 us (25x apart: not the queue), no
 * uprobes; owners seen in 2000 holds, none slept, runnable holding the lock
 * for `runnable_ms` (the slow waits hold 45 ms). */
static void judge_preempted(double runnable_ms, enum lock_judgement want, const char *what)
{
	static struct named_stack ns;
	struct lock_verdict v;
	struct lock_entry e;

	memset(&e, 0, sizeof(e));
	e.kind = LOCK_KIND_MUTEX;
	e.contentions = 6060;
	put(e.hist_count, e.hist_sum_ns, 25 * US, 3000);
	put(e.hist_count, e.hist_sum_ns, 35 * US, 3000);
	put(e.hist_count, e.hist_sum_ns, 750 * US, 60);
	e.total_wait_ns = (__u64)(6000 * 30 * US + 60 * 750 * US);
	e.max_ns = 900 * US;
	e.owner_holds = 2000;
	e.owner_runnable_ns = (__u64)(runnable_ms * 1000 * US);
	lock_verdict_judge(NULL, &e, NULL, 0, &ns, &v);
	CHECK(v.judgement == want, "%s: %s (want %s): %s", what,
	      lock_judgement_name(v.judgement), lock_judgement_name(want), v.text);
	if (want == LOCK_ONE_WAY)
		CHECK(strstr(v.text, "preempted") != NULL, "%s: says why: %s", what, v.text);
}

int main(void)
{
	judge(800, 1.0, 8, LOCK_SLOW_HOLDER, "slow holds that slept (fdatasync under the lock)");
	judge(800, 0.9, 8, LOCK_SLOW_HOLDER, "slow holds, most slept");
	judge(800, 0.0, 8, LOCK_ONE_WAY, "slow holds that ran on the CPU");
	judge(800, 0.3, 8, LOCK_ONE_WAY, "slow holds, most ran");
	judge(40, 1.0, 8, LOCK_ONE_WAY, "a slow mode within 4 probe costs");
	judge_owners(40, 30, LOCK_SLOW_HOLDER, "owners slept 30 ms of 120 ms blocked waits");
	judge_owners(40, 6, LOCK_SLOW_HOLDER, "owners slept 6 ms (5% of the wait, 4% of holds)");
	judge_owners(40, 1, LOCK_ONE_WAY, "owners slept 1 ms: not material");
	judge_owners(9, 30, LOCK_ONE_WAY, "owners slept in 9 holds of 1000: too few");
	judge_owners(5, 30, LOCK_ONE_WAY, "owners slept in 5 holds: too few");
	judge_owners(0, 0, LOCK_ONE_WAY, "owners never slept holding it");
	judge_waits(60, LOCK_BIMODAL, "a slow mode with 23% of the wait");
	judge_waits(12, LOCK_BIMODAL, "12 slow waits, 5.7% of the wait");
	judge_waits(10, LOCK_ONE_WAY, "10 slow waits, 4.8% of the wait: not material");
	judge_queue(0, LOCK_ONE_WAY, "waits 5x apart, no owner slept: the queue");
	judge_queue(60, LOCK_BIMODAL, "waits 5x apart, owners slept in 6% of holds");
	judge_preempted(20, LOCK_ONE_WAY, "waits 25x apart, owners runnable 20 ms holding it");
	judge_preempted(6, LOCK_ONE_WAY, "waits 25x apart, owners runnable 6 ms (1/8 of 45 ms)");
	judge_preempted(4, LOCK_BIMODAL, "waits 25x apart, owners runnable 4 ms: not the cause");
	judge_preempted(0, LOCK_BIMODAL, "waits 25x apart, owners never runnable holding it");
	return check_summary("lock verdict tests");
}
