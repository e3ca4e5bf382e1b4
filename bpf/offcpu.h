/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * offcpu: every byte that crosses the kernel/user boundary for off-CPU
 * recording. Included by offcpu.bpf.c and by the collector in src/.
 */
#ifndef WAITPROF_OFFCPU_H
#define WAITPROF_OFFCPU_H

#include "drain.h"
#include "hist.h"
#include "proc_notify.h"
#include "stack.h"

#define TASK_COMM_LEN	16

/* How a thread left the CPU (bits, so --state can select a set). */
enum offcpu_state {
	OFFCPU_INTERRUPTIBLE	= 1 << 0,	/* S: sleeping, signals wake it */
	OFFCPU_UNINTERRUPTIBLE	= 1 << 1,	/* D: usually I/O */
	OFFCPU_PREEMPTED	= 1 << 2,	/* R: still runnable, lost the CPU */
	OFFCPU_STATE_ALL	= 7,
};

/*
 * One histogram bucket of one (process, thread, stacks, state). The bucket is
 * part of the key so the histogram is sparse: a stack occupies only the
 * buckets its intervals fell into, and totals are sums over buckets.
 */
struct offcpu_key {
	__u32 tgid;
	__u32 tid;
	__u64 user_stack_id;	/* 0: none (kernel thread, or walk failed) */
	__u64 kern_stack_id;
	char comm[TASK_COMM_LEN];
	__u8 state;		/* one enum offcpu_state bit */
	__u8 pad;
	__u16 bucket;		/* hist_bucket() of the interval */
	__u32 pad2;
};

struct offcpu_val {
	__u64 count;
	__u64 total_ns;		/* switch-out to switch-in */
	__u64 blocked_ns;	/* switch-out to wakeup; the rest waited for a CPU */
	__u64 max_ns;
};

/*
 * Per-CPU write-back cache in front of offcpu_hist: sched_switch adds an
 * interval to a slot chosen by a cheap hash of the key, without atomics or
 * the hash map's 48-byte key hash; a slot moves into offcpu_hist only when
 * another key needs it, and user space merges what is left when it drains.
 * count 0: the slot is empty.
 */
#define OFFCPU_HIST_CACHE_BITS	9
#define OFFCPU_HIST_CACHE_SLOTS	(1 << OFFCPU_HIST_CACHE_BITS)

struct offcpu_hist_slot {
	struct offcpu_key key;
	struct offcpu_val val;
};

/* Counters user space reports: drops are never silent. */
enum offcpu_counter {
	CNT_DROP_HIST_FULL,	/* offcpu_hist had no room */
	CNT_DROP_STACK_FULL,	/* stacks map had no room: stack id 0 */
	CNT_DROP_THREAD_FULL,	/* no per-thread state could be made */
	CNT_USTACK_EMPTY,	/* user stack walk gave nothing */
	CNT_USTACK_TRUNCATED,	/* user walks that ended short of a root (bpf/stack.h) */
	CNT_KSTACK_FAILED,	/* bpf_get_stack failed */
	CNT_CACHE_HITS,		/* stack ids reused from the per-thread cache */
	CNT_CACHE_VERIFIED,	/* hits re-walked to check the cache */
	CNT_CACHE_MISMATCH_USER, /* ... whose user stack differed */
	CNT_CACHE_MISMATCH_KERN, /* ... whose kernel stack differed */
	CNT_FILTERED_DURATION,	/* intervals outside -m/-M */
	CNT_NEW_PROCESS_LOST,	/* new-process notifications lost (ring full) */
	CNT_EVENTS_LOST,	/* --events: intervals lost (event ring full) */
	CNT_DROP_WAKERS_FULL,	/* --wakers: offcpu_wakers had no room */
	CNT_CACHE_MISS,		/* no cache entry for this place: walked */
	CNT_CACHE_MISS_STALE,	/* ... one, walked with older unwind tables */
	CNT_CACHE_MISS_OTHER_CALLER, /* misses: the place's return addresses differed */
	CNT_STACK_INTERRUPTED,	/* captures dropped: another took the scratch meanwhile */
	CNT_SWITCH_IN_UNSEEN,	/* switch-ins no program saw, closed from sched_info */
	CNT_SWITCH_IN_LOST,	/* ... that sched_info could not close: dropped */
	CNT_RUN_UNSEEN,		/* runs no program saw begin or end: their CPU time taken out */
	CNT_NR,
};

/*
 * --wakers (off-wake chains): the interval of a woken thread keyed by its
 * stacks and the stacks of the thread that woke it, taken in sched_waking.
 * A waker without a user stack (a kernel thread, or an interrupt: the
 * interrupted task's user stack says nothing of the wakeup) has user stack 0.
 */
struct offcpu_waker_key {
	__u32 tgid;
	__u32 waker_tgid;
	__u64 user_stack_id;
	__u64 kern_stack_id;
	__u64 waker_user_stack_id;
	__u64 waker_kern_stack_id;
	char comm[TASK_COMM_LEN];
	char waker_comm[TASK_COMM_LEN];
};

struct offcpu_waker_val {
	__u64 count;
	__u64 total_ns;		/* switch-out to switch-in, as offcpu_val */
};

/*
 * record --events: one off-CPU interval, sent through the events ring buffer
 * at switch-in. Timestamps are bpf_ktime_get_ns() (CLOCK_MONOTONIC).
 * blocked_ns is the part until the wakeup; the rest waited for a CPU.
 */
struct offcpu_event {
	__u64 off_ts;		/* switch-out */
	__u64 total_ns;		/* switch-out to switch-in */
	__u64 blocked_ns;	/* switch-out to wakeup (0 when preempted) */
	__u64 user_stack_id;
	__u64 kern_stack_id;
	__u32 tgid;
	__u32 tid;
	__u32 waker_tid;	/* 0: wakeup not seen (or preempted) */
	__u8 state;		/* one enum offcpu_state bit */
	__u8 pad[3];
	char comm[TASK_COMM_LEN];
};

#endif /* WAITPROF_OFFCPU_H */
