// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* One call's pieces in time order (tail_waterfall.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tail_waterfall.h"
#include "util.h"

static struct tail_piece *push(struct tail_waterfall *w, enum tail_piece_kind kind,
			       __u64 start, __u64 dur)
{
	struct tail_piece *p = ARRAY_PUSH(w->pieces, w->nr);

	if (!p)
		return NULL;
	memset(p, 0, sizeof(*p));
	p->kind = kind;
	p->start_ns = start;
	p->dur_ns = dur;
	return p;
}

static int name_blocked(struct tail_namer *n, const struct tail_record *r,
			const struct tail_seg *g, struct tail_piece *p)
{
	const struct tail_slot *sl;
	const struct tail_site *s;

	if (g->slot >= TAIL_MAX_SLOTS || g->slot >= r->nr_slots) {
		snprintf(p->reason, sizeof(p->reason), "other wait sites (more than %d in a call)",
			 TAIL_MAX_SLOTS);
		return 0;
	}
	sl = &r->slots[g->slot];
	s = tail_site_of(n, r->pid, sl->user_stack_id, sl->kern_stack_id, sl->futex_addr);
	if (!s)
		return -ENOMEM;
	snprintf(p->reason, sizeof(p->reason), "%s", s->reason);
	snprintf(p->lock, sizeof(p->lock), "%s", s->lock);
	p->pid = r->pid;
	p->user_stack_id = sl->user_stack_id;
	p->kern_stack_id = sl->kern_stack_id;
	p->waker_tid = g->waker_tid;
	if (!(g->flags & TSEG_WAKER_SEEN))
		return 0;
	p->waker_followed = true;
	p->waker_site_ns = g->waker_site_ns;
	p->waker_blocked_ns = g->waker_blocked_ns;
	p->waker_runqueue_ns = g->waker_runqueue_ns;
	p->waker_window_ns = g->waker_window_ns < p->dur_ns ? g->waker_window_ns : p->dur_ns;
	p->waker_chain = g->flags & TSEG_WAKER_CHAIN;
	if (!g->waker_site_ns)
		return 0;
	s = tail_site_of(n, g->waker_pid, g->waker_user_stack_id, g->waker_kern_stack_id,
			 g->waker_futex_addr);
	if (!s)
		return -ENOMEM;
	snprintf(p->waker_reason, sizeof(p->waker_reason), "%s", s->reason);
	return 0;
}

/* One interval off CPU: blocked, then runnable; or merged intervals. */
static int add_segment(struct tail_namer *n, const struct tail_record *r,
		       const struct tail_seg *g, __u64 start, __u64 end, struct tail_waterfall *w)
{
	struct tail_piece *p;
	__u64 blocked = g->blocked_ns < end - start ? g->blocked_ns : end - start;

	if (g->flags & TSEG_MERGED) {
		p = push(w, TAIL_PIECE_MERGED, start, end - start);
		if (!p)
			return -ENOMEM;
		p->merged = g->merged;
		p->merged_blocked_ns = g->blocked_ns;
		p->merged_runqueue_ns = g->runqueue_ns;
		snprintf(p->reason, sizeof(p->reason), "%u intervals off CPU, merged", g->merged);
		return 0;
	}
	if (blocked) {
		p = push(w, TAIL_PIECE_BLOCKED, start, blocked);
		if (!p || name_blocked(n, r, g, p))
			return -ENOMEM;
	}
	if (end - start > blocked) {
		p = push(w, TAIL_PIECE_RUNNABLE, start + blocked, end - start - blocked);
		if (!p)
			return -ENOMEM;
		snprintf(p->reason, sizeof(p->reason), "%s",
			 g->flags & TSEG_PREEMPTED ? "preempted" : "woken, waiting for a CPU");
	}
	return 0;
}

/* Times are clamped into the call: the entry and a switch may be stamped
 * on two CPUs' clocks. */
int tail_waterfall_build(struct tail_namer *n, const struct tail_record *r,
			 struct tail_waterfall *w)
{
	__u64 at = 0, start, end;
	__u32 i;
	int err;

	memset(w, 0, sizeof(*w));
	for (i = 0; i < r->nr_segs && i < TAIL_MAX_SEGS; i++) {
		const struct tail_seg *g = &r->segs[i];

		start = g->start_ns < at ? at : g->start_ns > r->total_ns ? r->total_ns : g->start_ns;
		end = g->end_ns < start ? start : g->end_ns > r->total_ns ? r->total_ns : g->end_ns;
		if (start > at && !push(w, TAIL_PIECE_ON_CPU, at, start - at))
			goto nomem;
		err = add_segment(n, r, g, start, end, w);
		if (err)
			goto nomem;
		at = end;
	}
	if (r->total_ns > at && !push(w, TAIL_PIECE_ON_CPU, at, r->total_ns - at))
		goto nomem;
	return 0;
nomem:
	tail_waterfall_free(w);
	return -ENOMEM;
}

void tail_waterfall_free(struct tail_waterfall *w)
{
	free(w->pieces);
	w->pieces = NULL;
	w->nr = 0;
}
