/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* funclat's result per target: histogram, percentiles, modality, callers. */
#ifndef WAITPROF_FUNCLAT_RESULT_H
#define WAITPROF_FUNCLAT_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "funclat.h"
#include "funclat_data.h"
#include "modality.h"

struct funclat_result {
	const char *label;
	bool is_syscall;
	__u64 counts[HIST_NR_BUCKETS];
	__u64 sums[HIST_NR_BUCKETS];
	__u64 count;
	__u64 total_ns;
	__u64 max_ns;
	__u64 entries;		/* every call seen, sampled or not */
	double p50_ns, p90_ns, p99_ns;
	struct modality modality;
	double slow_above_ns;	/* the antimode; 0 when not bimodal */
	struct funclat_slow_stack *slow;
	size_t nr_slow;
	struct funclat_slow_stack *callers;	/* --stacks: all calls */
	size_t nr_callers;
};

/* Fills count, total and percentiles from counts/sums, then the modality. */
void funclat_result_finish(struct funclat_result *r);
void funclat_result_free(struct funclat_result *r);

#endif
