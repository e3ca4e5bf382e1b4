/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Off-CPU entries of a recording, merged per (process, thread name, user
 * stack, kernel stack) across threads and buckets, with their histograms. */
#ifndef WAITPROF_OFFCPU_AGG_H
#define WAITPROF_OFFCPU_AGG_H

#include <stddef.h>

#include "recording.h"

enum wait_part {
	WAIT_ALL,	/* the whole off-CPU interval */
	WAIT_BLOCKED,	/* switch-out to wakeup */
	WAIT_RUNQUEUE,	/* wakeup (or preemption) to switch-in */
};

struct offcpu_entry {
	__u32 tgid;
	char comm[TASK_COMM_LEN];
	__u64 user_stack_id;
	__u64 kern_stack_id;
	__u64 count;
	__u64 total_ns;
	__u64 blocked_ns;
	__u64 max_ns;
	__u64 hist_count[HIST_NR_BUCKETS];
	__u64 hist_sum_ns[HIST_NR_BUCKETS];
};

struct offcpu_agg {
	struct offcpu_entry *entries;	/* sorted by value, largest first */
	size_t nr;
	__u64 total_ns;			/* of the selected wait part */
};

/* Value of an entry for the selected part of the wait. */
__u64 offcpu_entry_value(const struct offcpu_entry *e, enum wait_part part);
int offcpu_aggregate(const struct recording *rec, enum wait_part part, struct offcpu_agg *agg);
void offcpu_agg_free(struct offcpu_agg *agg);
bool parse_wait_part(const char *s, enum wait_part *part);

#endif
