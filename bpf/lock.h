/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * lock: every byte that crosses the kernel/user boundary for lock
 * contention. Included by lock.bpf.c and by src/collect/lock_collector.c.
 *
 * Three sources share one sparse histogram layout (the bucket is part of the
 * key, as in offcpu.h):
 *   - futex waits (contended user-space locks, condition variables, ...),
 *     from raw_tp/sys_enter + sys_exit;
 *   - kernel lock contention, from lock:contention_begin/end;
 *   - pthread acquisitions, from opt-in uprobes on libc (every call, the
 *     uncontended ones included).
 */
#ifndef WAITPROF_LOCK_H
#define WAITPROF_LOCK_H

#include "drain.h"
#include "hist.h"
#include "stack.h"

enum lock_source {
	LOCK_SRC_FUTEX = 1,	/* a thread slept in a futex wait */
	LOCK_SRC_KERNEL,	/* lock:contention_begin .. contention_end */
	LOCK_SRC_UPROBE,	/* pthread_*lock entry .. return */
	LOCK_SRC_HOLD,		/* pthread_*lock return .. pthread_*unlock entry */
	/* A contended mutex's hold, seen from its owner being noted by a
	 * waiter to its wake (bpf/lock_owners.bpf.h): the time the owner
	 * slept holding the lock (0: it did not), with the user stack of its
	 * longest sleep and, in op, how many sleeps (at most 255). */
	LOCK_SRC_HOLD_SLEEP,
};

/* What kind of futex wait (LOCK_SRC_FUTEX), from the operation. */
enum futex_op_class {
	FUTEX_CLASS_WAIT = 1,	/* FUTEX_WAIT, FUTEX_WAIT_BITSET, futex_wait */
	FUTEX_CLASS_PI,		/* FUTEX_LOCK_PI(2), FUTEX_TRYLOCK_PI: a PI mutex */
	FUTEX_CLASS_REQUEUE_PI,	/* FUTEX_WAIT_REQUEUE_PI: a PI condition variable */
	FUTEX_CLASS_WAITV,	/* futex_waitv: the first futex of the vector */
	/* Or'ed in when the wait returned EAGAIN: the futex word changed
	 * before the thread could sleep (the lock was released meanwhile).
	 * Such a call costs a syscall, not a wait: it is kept apart so the
	 * wait histograms hold only waits that slept. */
	FUTEX_NO_SLEEP = 0x80,
	/* Or'ed in when the wait looked like pthread_join's: a shared
	 * FUTEX_WAIT whose expected value is another thread's id (the joined
	 * thread's tid word), ended with no futex wake from any traced thread
	 * (the kernel wakes it when that thread exits). Symbols need not
	 * resolve: a join is known even when its stack was cut short. */
	FUTEX_THREAD_EXIT = 0x40,
};

/* Which function a uprobe timed (LOCK_SRC_UPROBE); LOCK_UPROBE_FAILED is or'ed
 * in when the call returned non-zero (a busy trylock, a timeout). */
enum lock_uprobe_fn {
	LOCK_FN_MUTEX_LOCK = 1,
	LOCK_FN_MUTEX_TRYLOCK,
	LOCK_FN_MUTEX_TIMEDLOCK,
	LOCK_FN_RWLOCK_RDLOCK,
	LOCK_FN_RWLOCK_WRLOCK,
	LOCK_FN_MUTEX_UNLOCK,	/* entry probe only: ends a hold */
	LOCK_FN_RWLOCK_UNLOCK,
	LOCK_FN_NR,
	/* LOCK_SRC_HOLD: the holder slept (a voluntary context switch: I/O, a
	 * sleep, a wait) while it held the lock, as against a hold that ran or
	 * was only preempted. */
	LOCK_HOLD_SLEPT = 0x40,
	LOCK_UPROBE_FAILED = 0x80,
};

/*
 * One histogram bucket of one (process, lock, stack, operation). For
 * LOCK_SRC_KERNEL, op holds the contention_begin flags (LCB_F_*) and
 * stack_id a kernel stack; otherwise stack_id is a user stack (for uprobes,
 * the stack of the lock call itself, caller first; for LOCK_SRC_HOLD, the
 * time from a successful lock call's return to the matching unlock, with
 * the lock call's op and stack).
 */
struct lock_key {
	__u32 tgid;		/* 0 for kernel threads */
	__u8 source;		/* enum lock_source */
	__u8 op;		/* enum futex_op_class, LCB_F_* or enum lock_uprobe_fn */
	__u16 bucket;		/* hist_bucket() of the wait */
	__u64 addr;		/* futex word, kernel lock or pthread lock address */
	__u64 stack_id;
};

/*
 * For futex waits, total_ns, max_ns and the bucket are the time the waiter
 * was blocked; runnable_ns is the rest of its waits, spent runnable (woken
 * but queued for a CPU, or preempted before it slept), from the scheduler's
 * sched_info.run_delay. A loaded machine lengthens the runnable part only:
 * kept apart, it does not make a lock look bimodal.
 */
struct lock_val {
	__u64 count;
	__u64 total_ns;
	__u64 max_ns;
	__u64 runnable_ns;
};

/* lock:contention_begin flags (include/trace/events/lock.h). */
#define LCB_F_SPIN	(1U << 0)
#define LCB_F_READ	(1U << 1)
#define LCB_F_WRITE	(1U << 2)
#define LCB_F_RT	(1U << 3)
#define LCB_F_PERCPU	(1U << 4)
#define LCB_F_MUTEX	(1U << 5)

/*
 * Holders ("blame the holder"): the user stack of the thread that woke a
 * futex (the unlocker, the signaller), per (process, futex, waker stack,
 * waiter stack). Entries with waiter_stack_id 0 count wake calls (wakes);
 * the others the waits on that futex the waker ended (the last wake before
 * the waiter returned): woken and woken_wait_ns. Waiter and waker stacks
 * together are the off-wake chain of a lock wait.
 */
struct lock_holder_key {
	__u32 tgid;
	__u32 pad;
	__u64 addr;
	__u64 waker_stack_id;
	__u64 waiter_stack_id;
};

struct lock_holder_val {
	__u64 wakes;
	__u64 woken;
	__u64 woken_wait_ns;
};

enum lock_counter {
	LCNT_FUTEX_WAITS,	/* futex waits ended */
	LCNT_FUTEX_WAKES,	/* futex wakes seen */
	LCNT_KERNEL_CONTENTIONS, /* contention_end matched to a begin */
	LCNT_UPROBE_CALLS,	/* pthread calls timed */
	LCNT_DROP_HIST_FULL,	/* lock_hist had no room */
	LCNT_DROP_HOLDERS_FULL,	/* lock_holders had no room */
	LCNT_DROP_STACK_FULL,	/* stacks map had no room: stack id 0 */
	LCNT_DROP_STATE_FULL,	/* no per-thread state could be made */
	LCNT_USTACK_EMPTY,	/* user stack walk gave nothing */
	LCNT_KSTACK_FAILED,	/* bpf_get_stack failed */
	LCNT_WAKE_UNMATCHED,	/* a wait ended woken but with no wake seen */
	LCNT_STACK_CACHE_HITS,	/* futex user stacks reused from the thread's cache */
	LCNT_STACK_CACHE_VERIFIED, /* ... hits walked anyway to check the cache */
	LCNT_STACK_CACHE_MISMATCH, /* ... whose walk gave another stack */
	LCNT_TRAMP_MAPPED,	/* waiter stacks joined to their lock call's caller */
	LCNT_TRAMP_UNMAPPED,	/* ... whose trampoline frame was not found */
	LCNT_SPLICE_STACK_GONE,	/* ... not joined: a stack was drained to user space */
	LCNT_FILTERED_DURATION,	/* waits -m/-M left out (shorter or longer) */
	LCNT_STACK_CACHE_MISS_OTHER_CALLER, /* walked: the place's return addresses differed */
	LCNT_STACK_INTERRUPTED,	/* captures dropped: another took the scratch meanwhile */
	LCNT_NR,
};

#endif /* WAITPROF_LOCK_H */
