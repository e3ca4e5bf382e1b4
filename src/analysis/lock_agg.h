/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Locks of a recording: futex waits, kernel contention and uprobe-timed
 * acquisitions merged per lock, classified (mutex, rwlock, condvar, futex,
 * kernel, join), named, with call sites and holders. Report writers only format.
 */
#ifndef WAITPROF_LOCK_AGG_H
#define WAITPROF_LOCK_AGG_H

#include <stdbool.h>
#include <stddef.h>

#include "hist_quantile.h"
#include "recording.h"

enum lock_kind {
	LOCK_KIND_MUTEX,
	LOCK_KIND_RWLOCK,
	LOCK_KIND_CONDVAR,
	LOCK_KIND_FUTEX,	/* another futex use: semaphore, once, barrier, ... */
	LOCK_KIND_KERNEL,
	LOCK_KIND_JOIN,		/* pthread_join: waiting for a thread to end */
	LOCK_KIND_GO_RUNTIME,	/* a Go runtime thread idling: not contention */
};

/* A waiter stack of one lock. */
struct lock_callsite {
	__u64 stack_id;
	__u64 count;
	__u64 total_ns;
};

/* A waker ("holder") stack of one lock. */
struct lock_holder {
	__u64 stack_id;
	__u64 wakes;		/* wake calls from this stack */
	__u64 woken;		/* waits it ended */
	__u64 woken_wait_ns;	/* ... and their wait time */
};

struct lock_entry {
	__u32 pid;		/* 0 for a kernel lock contended by kernel threads */
	bool kernel;
	__u64 addr;		/* the lock (base address when named) */
	enum lock_kind kind;
	__u32 kernel_flags;	/* LCB_F_* of kernel locks */
	const char *symbol;	/* variable name, NULL when not a named variable */
	__u64 symbol_offset;
	char object[128];	/* what holds the address: file, [heap], [stack], [kernel] */
	char comm[TASK_COMM_LEN];
	/* contended waits (futex or kernel) */
	__u64 contentions;
	__u64 total_wait_ns;	/* blocked and runnable parts */
	__u64 runqueue_ns;	/* ... runnable: woken, waiting for a CPU */
	__u64 max_ns;
	__u64 hist_count[HIST_NR_BUCKETS];
	__u64 hist_sum_ns[HIST_NR_BUCKETS];
	/* futex waits that returned at once (EAGAIN): not in the above */
	__u64 futex_retries;
	__u64 futex_retry_ns;
	/* acquisitions timed by uprobes, uncontended ones included */
	__u64 acquisitions;
	__u64 failed_acquisitions;	/* busy trylocks, timeouts */
	__u64 acq_total_ns;
	__u64 acq_max_ns;
	__u64 acq_count[HIST_NR_BUCKETS];
	__u64 acq_sum_ns[HIST_NR_BUCKETS];
	/* holds: successful lock call's return to the unlock (uprobes) */
	__u64 holds;
	__u64 hold_total_ns;
	__u64 hold_runqueue_ns;	/* ... of it the holder spent runnable, preempted */
	__u64 hold_max_ns;
	__u64 hold_count[HIST_NR_BUCKETS];
	__u64 hold_sum_ns[HIST_NR_BUCKETS];
	__u64 holds_slept;			/* holds in which the holder slept */
	__u64 hold_slept_count[HIST_NR_BUCKETS];
	/* contended holds seen from a waiter's note of the owner to the
	 * owner's wake (bpf/lock_owners.bpf.h), with or without uprobes */
	__u64 owner_holds;
	__u64 owner_holds_slept;		/* ... in which the owner slept */
	__u64 owner_sleeps;			/* its sleeps in them */
	__u64 owner_slept_ns;			/* their blocked time */
	__u64 owner_runnable_ns;		/* its time preempted or queued holding it */
	__u64 owner_slept_count[HIST_NR_BUCKETS]; /* per hold that slept */
	__u64 owner_slept_sum_ns[HIST_NR_BUCKETS];
	struct lock_callsite *sleep_sites;	/* the owners' longest sleeps, by total_ns */
	size_t nr_sleep_sites;
	struct lock_callsite *callsites;	/* by total_ns, largest first */
	size_t nr_callsites;
	struct lock_callsite *acq_callsites;	/* uprobe call sites, by total_ns */
	size_t nr_acq_callsites;
	struct lock_holder *holders;		/* by woken_wait_ns, then wakes */
	size_t nr_holders;
};

struct lock_agg {
	struct lock_entry *entries;	/* by total wait (then acquisition time) */
	size_t nr;
	bool sampled;			/* uprobes ran in sampling windows */
	double uprobe_duty;		/* share of the time they were attached */
};

int lock_aggregate(const struct recording *rec, struct lock_agg *agg);
void lock_agg_free(struct lock_agg *agg);
const char *lock_kind_name(enum lock_kind kind);
/* "spinlock", "rwsem (write)", "mutex", ... for kernel locks. */
const char *lock_kernel_type(__u32 flags);
/* "contended_mu", "table+0x10", "0x55d0c0a1b040 ([heap])" */
void lock_display_name(const struct lock_entry *e, char *buf, size_t len);
/* The latency a lock is judged and summarised by (modality, p50/p99, the
 * text, HTML, CSV and diff rows). */
struct lock_latency {
	const char *what;	/* "waits" or "acquisitions" */
	bool waits;
	__u64 count;
	__u64 total_ns;
	__u64 max_ns;
	const __u64 *counts;	/* HIST_NR_BUCKETS each */
	const __u64 *sums;
};

/* The waits that slept, unless uprobes timed acquisitions and there are
 * too few waits to judge: see docs/MODALITY.md, "Locks". */
void lock_entry_latency(const struct lock_entry *e, struct lock_latency *lat);

#endif
