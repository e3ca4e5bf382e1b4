// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of src/analysis/tail_bands.c on calls and a recording built in
 * memory: exact nearest-rank percentiles, bands by rank, every nanosecond
 * of a band in exactly one of on-CPU, runnable and the waits, and the
 * reasons: a futex wait on a named lock by the lock's symbol, a syscall by
 * its name and the innermost application frame, the overflow slot apart.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "rec_build.h"
#include "tail_bands.h"
#include "tail_waterfall.h"

int test_failures;

#define PID		100
#define NR_CALLS	200
#define LOCK_ADDR	0x601040ULL
#define LIBC(off)	(0x7f0000000000ULL + (off))
#define APP(off)	(0x400000ULL + (off))
#define KERN(off)	(0xffffffff81000000ULL + (off))

enum {
	S_MUTEX_WAIT = 1,	/* __lll_lock_wait < pthread_mutex_lock < worker */
	S_FSYNC,		/* fdatasync < flush_journal < worker */
	K_FUTEX,		/* __schedule < schedule < futex_wait < __x64_sys_futex */
	K_FSYNC,		/* __schedule < io_schedule < ext4_sync_file < __x64_sys_fdatasync */
	K_FAULT,		/* __schedule < folio_wait_bit < filemap_fault */
};

static void build_rec(struct recording *rec)
{
	static const struct map_range maps[] = {
		{ 0x400000, 0x500000, APP_PATH },
		{ 0x7f0000000000ULL, 0x7f0000100000ULL, LIBC_PATH },
	};

	add_process(rec, PID, "app", maps, 2);
	add_symbol(rec, PID, LIBC(0x100), "__lll_lock_wait", LIBC_PATH);
	add_symbol(rec, PID, LIBC(0x200), "pthread_mutex_lock", LIBC_PATH);
	add_symbol(rec, PID, LIBC(0x300), "fdatasync", LIBC_PATH);
	add_symbol(rec, PID, APP(0x10), "worker", APP_PATH);
	add_symbol(rec, PID, APP(0x20), "flush_journal", APP_PATH);
	add_symbol(rec, 0, KERN(0x10), "__schedule", "[kernel]");
	add_symbol(rec, 0, KERN(0x20), "schedule", "[kernel]");
	add_symbol(rec, 0, KERN(0x30), "futex_wait", "[kernel]");
	add_symbol(rec, 0, KERN(0x40), "__x64_sys_futex", "[kernel]");
	add_symbol(rec, 0, KERN(0x50), "io_schedule", "[kernel]");
	add_symbol(rec, 0, KERN(0x60), "ext4_sync_file", "[kernel]");
	add_symbol(rec, 0, KERN(0x70), "__x64_sys_fdatasync", "[kernel]");
	add_symbol(rec, 0, KERN(0x80), "folio_wait_bit", "[kernel]");
	add_symbol(rec, 0, KERN(0x90), "filemap_fault", "[kernel]");
	ADD_STACK(rec, S_MUTEX_WAIT, STACK_CFI, LIBC(0x100), LIBC(0x200), APP(0x10));
	ADD_STACK(rec, S_FSYNC, STACK_CFI, LIBC(0x300), APP(0x20), APP(0x10));
	ADD_STACK(rec, K_FUTEX, STACK_KERNEL, KERN(0x10), KERN(0x20), KERN(0x30), KERN(0x40));
	ADD_STACK(rec, K_FSYNC, STACK_KERNEL, KERN(0x10), KERN(0x50), KERN(0x60), KERN(0x70));
	ADD_STACK(rec, K_FAULT, STACK_KERNEL, KERN(0x10), KERN(0x80), KERN(0x90));
	MUST(rec_add_lock_name(rec, PID, LOCK_ADDR, "journal_mu", 0));
	rec_finish(rec);
}

static void add_slot(struct tail_record *r, __u64 ustack, __u64 kstack, __u64 futex, __u64 ns)
{
	struct tail_slot *s = &r->slots[r->nr_slots++];

	s->user_stack_id = ustack;
	s->kern_stack_id = kstack;
	s->futex_addr = futex;
	s->blocked_ns = ns;
	r->on_cpu_ns -= ns;
}

/* The slowest call's one interval off CPU: from 10 us, its journal_mu wait
 * (120 us) then runnable (20 us); its waker was meanwhile 100 us in
 * fdatasync, 10 us blocked elsewhere, 5 us runnable. */
static void add_offwake_segment(struct tail_record *r)
{
	struct tail_seg *g = &r->segs[r->nr_segs++];

	g->start_ns = 10000;
	g->blocked_ns = 120000;
	g->runqueue_ns = 20000;
	g->end_ns = g->start_ns + g->blocked_ns + g->runqueue_ns;
	g->slot = 0;
	g->merged = 1;
	g->flags = TSEG_WAKER_SEEN;
	g->waker_tid = PID + 2;
	g->waker_pid = PID;
	g->waker_user_stack_id = S_FSYNC;
	g->waker_kern_stack_id = K_FSYNC;
	g->waker_site_ns = 100000;
	g->waker_blocked_ns = 110000;
	g->waker_runqueue_ns = 5000;
	g->waker_window_ns = 120000;
}

/*
 * Call i (1..NR_CALLS, shuffled) takes i us. The slowest two (the p99-p100
 * band) wait 60% on journal_mu and are 10% runnable; calls 181-198 (p90-p99)
 * wait half their time in fdatasync, and call 190 also 1 us in a page fault
 * (no user stack) and 2 us beyond its slots; the rest run.
 */
static void build_calls(struct tail_data *d)
{
	size_t i;

	d->nr_calls = NR_CALLS;
	d->calls = calloc(NR_CALLS, sizeof(*d->calls));
	if (!d->calls)
		exit(2);
	for (i = 0; i < NR_CALLS; i++) {
		/* 7 is prime to 200: every duration once, not in order. */
		__u64 n = (i * 7) % NR_CALLS + 1;
		struct tail_record *r = &d->calls[i];

		r->pid = PID;
		r->tid = PID + 1;
		r->total_ns = r->on_cpu_ns = n * 1000;
		if (n > 198) {
			r->runqueue_ns = n * 100;
			r->on_cpu_ns -= r->runqueue_ns;
			add_slot(r, S_MUTEX_WAIT, K_FUTEX, LOCK_ADDR, n * 600);
		} else if (n > 180) {
			add_slot(r, S_FSYNC, K_FSYNC, 0, n * 500);
		}
		if (n == 200)
			add_offwake_segment(r);
		if (n == 190) {
			add_slot(r, 0, K_FAULT, 0, 1000);
			r->other_ns = 2000;
			r->on_cpu_ns -= 2000;
		}
	}
}

static const struct tail_wait_sum *find_wait(const struct tail_band *b, const char *reason)
{
	size_t i;

	for (i = 0; i < b->nr_waits; i++)
		if (!strcmp(b->waits[i].reason, reason))
			return &b->waits[i];
	CHECK(0, "band %s has no wait '%s'", b->name, reason);
	return NULL;
}

static void test_bands(const struct tail_result *r)
{
	static const __u64 calls[TAIL_NR_BANDS] = { 100, 80, 18, 2 };
	const struct tail_wait_sum *w;
	__u64 sum;
	size_t i;
	int b;

	CHECK_STR(r->target, "./app:handle_request");
	CHECK_U64(r->calls, NR_CALLS);
	CHECK_U64(r->p50_ns, 100000);
	CHECK_U64(r->p90_ns, 180000);
	CHECK_U64(r->p99_ns, 198000);
	CHECK_U64(r->max_ns, 200000);
	for (b = 0; b < TAIL_NR_BANDS; b++) {
		const struct tail_band *band = &r->bands[b];

		CHECK_U64(band->calls, calls[b]);
		for (sum = 0, i = 0; i < band->nr_waits; i++)
			sum += band->waits[i].total_ns;
		CHECK_U64(band->blocked_ns, sum);
		CHECK_U64(band->on_cpu_ns + band->runqueue_ns + band->blocked_ns, band->total_ns);
		for (i = 1; i < band->nr_waits; i++)
			CHECK(band->waits[i - 1].total_ns >= band->waits[i].total_ns,
			      "waits most time first");
	}
	CHECK_STR(r->bands[TAIL_BAND_P50].name, "p0-p50");
	CHECK_STR(r->bands[TAIL_BAND_MAX].name, "p99-p100");
	/* 1 + ... + 100 us. */
	CHECK_U64(r->bands[TAIL_BAND_P50].total_ns, 5050000);
	CHECK_U64(r->bands[TAIL_BAND_P50].nr_waits, 0);

	w = find_wait(&r->bands[TAIL_BAND_MAX], "journal_mu");
	if (w) {
		CHECK_STR(w->lock, "journal_mu");
		CHECK_U64(w->total_ns, (199 + 200) * 600);
		CHECK_U64(w->user_stack_id, S_MUTEX_WAIT);
		CHECK_U64(w->kern_stack_id, K_FUTEX);
	}
	CHECK_U64(r->bands[TAIL_BAND_MAX].runqueue_ns, (199 + 200) * 100);

	w = find_wait(&r->bands[TAIL_BAND_P99], "fdatasync in flush_journal");
	if (w) {
		CHECK(!w->lock, "fdatasync is not a lock");
		CHECK_U64(w->total_ns, (181 + 198) * 18 / 2 * 500);
	}
	/* No syscall: the innermost kernel function below the scheduler; no
	 * user stack: nothing after it. */
	w = find_wait(&r->bands[TAIL_BAND_P99], "folio_wait_bit");
	if (w)
		CHECK_U64(w->total_ns, 1000);
	w = find_wait(&r->bands[TAIL_BAND_P99], "other wait sites (more than 8 in a call)");
	if (w)
		CHECK_U64(w->total_ns, 2000);
	CHECK_STR(r->bands[TAIL_BAND_P99].waits[0].reason, "fdatasync in flush_journal");
}

/* The slowest calls, slowest first; off-wake summed under its reason; the
 * waterfall's pieces tile the call. */
static void test_slowest(const struct tail_result *r, const struct recording *rec)
{
	const struct tail_wait_sum *w = find_wait(&r->bands[TAIL_BAND_MAX], "journal_mu");
	struct tail_waterfall wf;
	struct tail_namer n;
	__u64 sum = 0;
	size_t i;

	CHECK_U64(r->nr_slowest, 3);
	CHECK_U64(r->slowest[0]->total_ns, 200000);
	CHECK_U64(r->slowest[1]->total_ns, 199000);
	CHECK_U64(r->slowest[2]->total_ns, 198000);
	if (w) {
		CHECK_U64(w->followed_ns, 120000);
		CHECK_U64(w->waker_blocked_ns, 110000);
		CHECK_U64(w->waker_runqueue_ns, 5000);
		CHECK_U64(w->waker_window_ns, 120000);
		CHECK_U64(w->nr_wakers, 1);
		if (w->nr_wakers) {
			CHECK_STR(w->wakers[0].reason, "fdatasync in flush_journal");
			CHECK_U64(w->wakers[0].total_ns, 100000);
		}
	}
	MUST(tail_namer_init(&n, rec));
	MUST(tail_waterfall_build(&n, r->slowest[0], &wf));
	CHECK_U64(wf.nr, 4);
	for (i = 0; i < wf.nr; i++) {
		CHECK_U64(wf.pieces[i].start_ns, sum);
		sum += wf.pieces[i].dur_ns;
	}
	CHECK_U64(sum, 200000);
	if (wf.nr == 4) {
		CHECK(wf.pieces[0].kind == TAIL_PIECE_ON_CPU, "on CPU from the entry");
		CHECK(wf.pieces[1].kind == TAIL_PIECE_BLOCKED, "then blocked");
		CHECK_STR(wf.pieces[1].reason, "journal_mu");
		CHECK_STR(wf.pieces[1].waker_reason, "fdatasync in flush_journal");
		CHECK_U64(wf.pieces[1].dur_ns, 120000);
		CHECK(wf.pieces[2].kind == TAIL_PIECE_RUNNABLE, "then runnable");
		CHECK_U64(wf.pieces[2].dur_ns, 20000);
		CHECK(wf.pieces[3].kind == TAIL_PIECE_ON_CPU, "on CPU to the return");
	}
	tail_waterfall_free(&wf);
	tail_namer_free(&n);
}

int main(void)
{
	char *targets[] = { "./app:handle_request", "./app:idle" };
	struct tail_data d = { .targets = targets, .nr_targets = 2 };
	struct tail_result *res = NULL;
	int b;

	d.rec = rec_new_or_die();
	build_rec(d.rec);
	build_calls(&d);
	CHECK(!tail_analyze(&d, 3, &res), "tail_analyze");
	if (res) {
		test_bands(&res[0]);
		test_slowest(&res[0], d.rec);
		/* A target without calls: four empty bands. */
		CHECK_U64(res[1].calls, 0);
		CHECK_U64(res[1].nr_slowest, 0);
		for (b = 0; b < TAIL_NR_BANDS; b++)
			CHECK_U64(res[1].bands[b].calls + res[1].bands[b].total_ns, 0);
	}
	tail_results_free(res, d.nr_targets);
	free(d.calls);
	rec_free(d.rec);
	return check_summary("tail_bands");
}
