/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Where user call chains end: off-CPU time by the reason its user stack's
 * walk stopped (bpf/stack.h, STACK_END_*), so the report can say which share
 * of the time has a whole chain, down to a root, and why the rest does not.
 */
#ifndef WAITPROF_STACK_ENDS_H
#define WAITPROF_STACK_ENDS_H

#include "offcpu_agg.h"
#include "stack.h"

struct stack_ends {
	__u64 user_ns;			/* time whose user stack was recorded */
	__u64 root_ns;			/* ... and whose walk reached a root */
	__u64 unknown_ns;		/* ... walked by a recorder that kept no end */
	__u64 stop_ns[CFI_STOP_NR];	/* truncated, by reason (CFI_STOP_END: 0) */
};

/* Sums agg's entries (their values for part) by how their user walk ended. */
void stack_ends_collect(const struct recording *rec, const struct offcpu_agg *agg,
			enum wait_part part, struct stack_ends *ends);
/* Truncated time: every user stack that ends short of a root. */
__u64 stack_ends_truncated_ns(const struct stack_ends *ends);
/* How a user stack ended, in words ("no unwind table for the code (JIT,
 * [vdso], no CFI)"); its short key is cfi_stop_name(). */
const char *stack_end_words(enum cfi_stop stop);
/* The end of user stack id: enum cfi_stop, or -1 when not recorded. */
int stack_end_of(const struct recording *rec, __u64 user_stack_id);

#endif
