/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * funclat: every byte that crosses the kernel/user boundary for function and
 * syscall latency. Included by funclat.bpf.c and src/collect/funclat_collector.c.
 */
#ifndef WAITPROF_FUNCLAT_H
#define WAITPROF_FUNCLAT_H

#include "hist.h"
#include "proc_notify.h"
#include "stack.h"

/* Targets are numbered 0 .. nr-1; the uprobe's attach cookie and the
 * syscall table carry the number. One more slot times the start-up cost
 * measurement and is never reported. */
#define FUNCLAT_MAX_TARGETS	256
/* Calls in progress per thread (recursion and nesting). Power of two. */
#define FUNCLAT_MAX_DEPTH	32
#define FUNCLAT_MAX_SYSCALLS	512

/* One target's histogram bucket: an array map of
 * FUNCLAT_MAX_TARGETS * HIST_NR_BUCKETS of these; exact, never dropped. */
struct funclat_bucket {
	__u64 count;
	__u64 total_ns;
};

/* Per target, an array map of FUNCLAT_MAX_TARGETS. */
struct funclat_target_stats {
	__u64 max_ns;
	__u64 entries;		/* every entry seen, sampled or not */
};

/*
 * One histogram bucket of the calls of one target from one user stack at
 * entry, in one process: the sparse key-with-bucket layout of offcpu.h, so
 * user space can pick the stacks whose calls lie above an antimode.
 */
struct funclat_stack_key {
	__u32 target;
	__u32 tgid;
	__u64 user_stack_id;	/* 0: none (walk failed or the map was full) */
	__u16 bucket;
	__u16 pad;
	__u32 pad2;
};

struct funclat_stack_val {
	__u64 count;
	__u64 total_ns;
};

/* Counters user space reports: nothing is dropped silently. */
enum funclat_counter {
	FCNT_SAMPLED_OUT,	/* entries skipped by --sample */
	FCNT_DEPTH_OVERFLOW,	/* deeper than FUNCLAT_MAX_DEPTH: not timed */
	FCNT_NEVER_RETURNED,	/* frames abandoned (longjmp, exceptions) */
	FCNT_EXIT_INSIDE,	/* thread exited inside a call */
	FCNT_EXEC_INSIDE,	/* process exec'd inside a call */
	FCNT_UNMATCHED_RETURN,	/* return with no entry (attached mid-call) */
	FCNT_FILTERED_MIN,	/* calls shorter than -m */
	FCNT_DROP_THREAD_FULL,	/* no per-thread state could be made */
	FCNT_DROP_STACK_FULL,	/* stacks map full: stack id 0 */
	FCNT_DROP_STACK_HIST_FULL, /* funclat_stack_hist full: call not in stacks */
	FCNT_USTACK_EMPTY,	/* no user stack at entry */
	FCNT_TRAMP_MAPPED,	/* [uprobes] return addresses mapped back */
	FCNT_TRAMP_UNMAPPED,	/* ... that could not be mapped back */
	FCNT_NOTIFY_LOST,	/* process notifications lost (proc_notify.h) */
	FCNT_NR,
};

#endif /* WAITPROF_FUNCLAT_H */
