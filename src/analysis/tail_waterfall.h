/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The timeline of one call of `waitprof tail` (its waterfall): on CPU from
 * the entry, then per interval off CPU its blocked part (the reason, and
 * with off-wake what the waker was doing) and its runnable part, on CPU
 * again, ... until the return. The pieces tile the call: their durations
 * add up to its latency exactly.
 */
#ifndef WAITPROF_TAIL_WATERFALL_H
#define WAITPROF_TAIL_WATERFALL_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "tail.h"
#include "tail_sites.h"

enum tail_piece_kind {
	TAIL_PIECE_ON_CPU,
	TAIL_PIECE_BLOCKED,
	TAIL_PIECE_RUNNABLE,	/* woken, or preempted: waiting for a CPU */
	TAIL_PIECE_MERGED,	/* the intervals past TAIL_MAX_SEGS, and the time between */
};

struct tail_piece {
	enum tail_piece_kind kind;
	__u64 start_ns;		/* from the call's entry */
	__u64 dur_ns;
	char reason[TAIL_REASON_LEN];	/* blocked: the wait's; runnable: "preempted" or "woken" */
	char lock[TAIL_REASON_LEN];	/* blocked on a named lock: its symbol, else "" */
	__u32 pid;			/* blocked: the site, for its frames */
	__u64 user_stack_id;
	__u64 kern_stack_id;
	/* Blocked, off-wake: who woke it and what it was doing meanwhile. */
	__u32 waker_tid;
	bool waker_followed;
	char waker_reason[TAIL_REASON_LEN];	/* its largest wait meanwhile, "" if none */
	__u64 waker_site_ns;
	__u64 waker_blocked_ns;
	__u64 waker_runqueue_ns;
	__u64 waker_window_ns;	/* of dur_ns, the part the waker's past covers */
	bool waker_chain;	/* waker_reason is its own waker's (two levels) */
	/* Merged: how many intervals, and their parts. */
	__u32 merged;
	__u64 merged_blocked_ns;
	__u64 merged_runqueue_ns;
};

struct tail_waterfall {
	struct tail_piece *pieces;	/* in time order */
	size_t nr;
};

/* r's pieces, named with n. Returns 0 or a negative errno. */
int tail_waterfall_build(struct tail_namer *n, const struct tail_record *r,
			 struct tail_waterfall *w);
void tail_waterfall_free(struct tail_waterfall *w);

#endif
