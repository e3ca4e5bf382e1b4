/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The owners of contended locks, and how long they slept holding them:
 * shared by bpf/lock.bpf.c and bpf/offcpu.bpf.c (one map, reused by fd).
 *
 * A thread about to sleep on a glibc mutex reads the mutex's owner (its
 * __owner field, next to the lock word) and notes it here. While the note
 * stands the owner holds the lock: an owner releases a lock that has
 * waiters only through a futex wake, which ends the note. So every sleep
 * the owner ends while noted was slept holding the lock, whether the note
 * came before the sleep or during it; offcpu.bpf.c adds each to the note
 * at the owner's switch-in, and lock.bpf.c turns the note into a record at
 * the owner's wake (LOCK_SRC_HOLD_SLEEP). The owner's runnable time while
 * noted (preempted holding the lock, or woken and queued) goes the same
 * way into the lock's stalled time, which its waiters do not count as
 * blocked: this sees holders preempted after an uncontended acquisition,
 * which the futex calls alone cannot. This is how, without uprobes,
 * waitprof sees a holder that blocks under its lock (fdatasync under a
 * logger's mutex) rather than guessing it from the function it unlocks in.
 */
#ifndef WAITPROF_LOCK_OWNERS_BPF_H
#define WAITPROF_LOCK_OWNERS_BPF_H

#define PID_MAX_LIMIT	(4 * 1024 * 1024)	/* the kernel's, on 64-bit */

struct lock_owner {
	__u64 lock;		/* futex word of the lock it holds */
	__u64 slept_ns;		/* blocked time of its sleeps holding it */
	__u64 max_sleep_ns;
	__u64 user_stack_id;	/* the user stack of the longest sleep */
	__u64 runnable_ns;	/* its time runnable, not running, holding it */
	__u32 tgid;
	__u32 sleeps;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);			/* owner tid */
	__type(value, struct lock_owner);
} lock_owners SEC(".maps");

#endif /* WAITPROF_LOCK_OWNERS_BPF_H */
