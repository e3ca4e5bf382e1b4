/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * tail: every byte that crosses the kernel/user boundary for `waitprof
 * tail`, the split of each call of a target into on-CPU, run-queue and
 * blocked time by wait site. Included by tail.bpf.c,
 * src/collect/tail_collector.c and the recording's tail_data.h.
 */
#ifndef WAITPROF_TAIL_H
#define WAITPROF_TAIL_H

#include "proc_notify.h"
#include "stack.h"

/* Targets are numbered 0 .. nr-1; the uprobe's attach cookie carries it. */
#define TAIL_MAX_TARGETS	64
/* Distinct wait sites kept per call; more go to other_ns (counted). */
#define TAIL_MAX_SLOTS		8
/* Off-CPU intervals kept one by one per call (the waterfall); the last
 * segment merges the intervals beyond (TSEG_MERGED). */
#define TAIL_MAX_SEGS		16
/* A segment's slot when it has none: preempted, or beyond the slots. */
#define TAIL_NO_SLOT		0xffff

#define TSEG_PREEMPTED		0x1	/* left the CPU runnable: all runqueue */
#define TSEG_MERGED		0x2	/* several intervals: start of the first, end of the last */
#define TSEG_WAKER_SEEN		0x4	/* woken by a traced thread: the waker_* fields */
#define TSEG_WAKER_CHAIN	0x8	/* the waker's site is its own waker's (two levels) */

/* One place a call blocked: the stacks at switch-out and, for a futex
 * wait, the futex word's address (the lock). */
struct tail_slot {
	__u64 user_stack_id;	/* 0: none */
	__u64 kern_stack_id;	/* 0: none */
	__u64 futex_addr;	/* 0: not in a futex wait */
	__u64 blocked_ns;
};

/*
 * One interval of a call off CPU, times from the call's entry: blocked from
 * start_ns, then runnable until end_ns. For a futex wait woken by a thread
 * of a traced process (off-wake, one level): what that thread itself was
 * doing during the wait, from its own last off-CPU intervals: blocked
 * (waker_blocked_ns, of which waker_site_ns at its stacks below), runnable
 * (waker_runqueue_ns), on CPU the rest of waker_window_ns, and unknown
 * the rest of blocked_ns (before its oldest interval kept). When the
 * waker was itself in a futex wait that its own waker ended, that part
 * goes to the second waker's site (TSEG_WAKER_CHAIN: a lock handed down
 * a queue of waiters reads as where its holder was, not as the queue).
 */
struct tail_seg {
	__u64 start_ns;
	__u64 end_ns;
	__u64 blocked_ns;
	__u64 runqueue_ns;
	__u64 waker_user_stack_id;
	__u64 waker_kern_stack_id;
	__u64 waker_site_ns;
	__u64 waker_blocked_ns;
	__u64 waker_runqueue_ns;
	__u64 waker_window_ns;
	__u64 waker_futex_addr;	/* the waker's site is a futex wait on this word */
	__u32 waker_tid;
	__u32 waker_pid;
	__u16 slot;		/* index in slots, or TAIL_NO_SLOT */
	__u16 flags;		/* TSEG_* */
	__u32 merged;		/* intervals in it (1 unless TSEG_MERGED) */
};

/* One call, from entry to return of the outermost call of the target on
 * its thread: one ring buffer record. total = on_cpu + runqueue + the
 * slots' blocked_ns + other_ns. */
struct tail_record {
	__u32 target;
	__u32 tid;
	__u32 pid;
	__u32 nr_slots;
	__u32 nr_segs;		/* off-CPU intervals (more than TAIL_MAX_SEGS: merged) */
	__u32 pad;
	__u64 entry_ns;		/* CLOCK_MONOTONIC */
	__u64 total_ns;
	__u64 on_cpu_ns;	/* the sum of the intervals on CPU, measured */
	__u64 runqueue_ns;	/* runnable, waiting for a CPU */
	__u64 other_ns;		/* blocked at sites beyond TAIL_MAX_SLOTS */
	struct tail_slot slots[TAIL_MAX_SLOTS];
	struct tail_seg segs[TAIL_MAX_SEGS];
};

/* The first fields of the BPF side's span (a call in progress): user
 * space reads them at the end to count the calls it never got. */
struct tail_span_head {
	__u32 target;
	__u32 depth;
	__u32 tgid;
	__u32 nr_slots;
	__u32 nr_segs;
	__u32 closing;
};

/* Counters user space reports: nothing is dropped silently. */
enum tail_counter {
	TCNT_RING_FULL,		/* calls lost: the ring buffer was full */
	TCNT_SLOT_OVERFLOW,	/* off-CPU intervals put in other_ns */
	TCNT_DROP_SPAN_FULL,	/* no per-thread span could be made */
	TCNT_UNMATCHED_RETURN,	/* return with no open span (attached mid-call) */
	TCNT_OTHER_TARGET,	/* entries of another target inside a span: not timed */
	TCNT_EXIT_INSIDE,	/* thread exited inside a call */
	TCNT_DROP_STACK_FULL,	/* stacks map full: stack id 0 */
	TCNT_KSTACK_FAILED,	/* kernel stack walk failed */
	TCNT_USTACK_EMPTY,	/* no user stack at switch-out */
	TCNT_NOTIFY_LOST,	/* process notifications lost (proc_notify.h) */
	TCNT_SEG_MERGED,	/* off-CPU intervals merged into a call's last segment */
	TCNT_DROP_THREAD_FULL,	/* no per-thread state could be made: interval not seen */
	TCNT_WAKER_UNTRACED,	/* futex waits woken by a thread not traced: not followed */
	TCNT_OPEN_AT_END,	/* calls still open at the end (not reported; user space) */
	TCNT_NR,
};

#endif /* WAITPROF_TAIL_H */
