/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * `waitprof tail`: each target's calls by latency band (p0-p50, p50-p90,
 * p90-p99, p99-p100, by rank), and per band where the time went: on CPU,
 * runnable, and blocked by reason (the lock, or the kernel function that
 * blocked and the innermost application frame).
 */
#ifndef WAITPROF_TAIL_BANDS_H
#define WAITPROF_TAIL_BANDS_H

#include <stddef.h>
#include <linux/types.h>

#include "tail_data.h"

enum tail_band_id {
	TAIL_BAND_P50,		/* the fastest half */
	TAIL_BAND_P90,
	TAIL_BAND_P99,
	TAIL_BAND_MAX,		/* the slowest 1% */
	TAIL_NR_BANDS,
};

/* Off-wake, one level: of a reason's waits woken by a traced thread, what
 * that thread was doing meanwhile, blocked at this site. */
struct tail_waker_sum {
	char *reason;
	__u64 total_ns;
	__u64 chain_ns;		/* of it, through the waker's own waker (two levels) */
	__u32 pid;
	__u64 user_stack_id;
	__u64 kern_stack_id;
};

/* The blocked time of one reason in one band. */
struct tail_wait_sum {
	char *reason;		/* "journal_mu", "fdatasync in flush_journal" */
	char *lock;		/* the lock's symbol, NULL when not a named lock */
	__u64 total_ns;
	/* The site of this reason with the most time: its frames. */
	__u32 pid;
	__u64 user_stack_id;
	__u64 kern_stack_id;
	__u64 site_ns;
	/* Off-wake: the part of total_ns whose waker was followed, and how
	 * the wakers spent it: blocked (by site, most first; what no site
	 * holds was blocked elsewhere), runnable, on CPU (the rest of the
	 * window their kept past covers); unknown: followed_ns - window. */
	__u64 followed_ns;
	__u64 waker_window_ns;
	__u64 waker_blocked_ns;
	__u64 waker_runqueue_ns;
	struct tail_waker_sum *wakers;
	size_t nr_wakers;
};

struct tail_band {
	const char *name;	/* "p0-p50", ... */
	__u64 calls;
	__u64 total_ns;
	__u64 on_cpu_ns;
	__u64 runqueue_ns;
	__u64 blocked_ns;	/* the sum of the waits */
	struct tail_wait_sum *waits;	/* most time first */
	size_t nr_waits;
};

struct tail_result {
	const char *target;
	__u64 calls;
	__u64 p50_ns;		/* exact, nearest rank */
	__u64 p90_ns;
	__u64 p99_ns;
	__u64 max_ns;
	struct tail_band bands[TAIL_NR_BANDS];
	/* The slowest calls, slowest first (the waterfall). */
	const struct tail_record **slowest;
	size_t nr_slowest;
};

/* One result per target of d, with its nr_slowest slowest calls. Returns 0
 * or a negative errno. */
int tail_analyze(const struct tail_data *d, size_t nr_slowest, struct tail_result **out);
void tail_results_free(struct tail_result *res, size_t nr);

#endif
