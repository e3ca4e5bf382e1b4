/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* funclat's results and how they are written: text, JSON, CSV. */
#ifndef WAITPROF_FUNCLAT_REPORT_H
#define WAITPROF_FUNCLAT_REPORT_H

#include <stdbool.h>
#include <stdio.h>
#include <linux/types.h>

#include "funclat.h"
#include "modality.h"

#define FUNCLAT_SLOW_STACKS_MAX 10

struct funclat_slow_stack {
	int pid;
	__u64 count;
	__u64 total_ns;
	size_t nr_frames;
	char **frames;		/* innermost first; the function itself first */
};

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

struct funclat_cost {
	double per_call_ns;	/* measured at start; < 0 when not measured */
	double empty_call_ns;	/* an empty function's measured latency: the floor */
	__u64 probed_calls;	/* uprobe hits: every one trapped */
	__u64 syscall_calls;
	__u32 sample_every;
	bool max_rate_switched;
	double max_rate;
	__u64 duration_ns;
};

enum funclat_format { FUNCLAT_TEXT, FUNCLAT_JSON, FUNCLAT_CSV };

/* Percentile p (0-100) of a log-linear histogram, interpolated linearly
 * inside the bucket it falls in; 0 for an empty histogram. */
double funclat_percentile(const __u64 counts[HIST_NR_BUCKETS], double p);
/* The same, with the per-bucket sums of ns (NULL: none): calls are spread
 * evenly around their bucket's exact mean. */
double funclat_percentile_sums(const __u64 counts[HIST_NR_BUCKETS], const __u64 *sums,
			       double p);
/* Fills count, total and percentiles from counts/sums, then the modality. */
void funclat_result_finish(struct funclat_result *r);
void funclat_result_free(struct funclat_result *r);

struct recording;
/* named: more counters by name (the unwinder's), NULL for none. */
void funclat_write(FILE *out, enum funclat_format fmt, const struct funclat_result *res,
		   size_t nr, const struct funclat_cost *cost, const __u64 counters[FCNT_NR],
		   const struct recording *named);

#endif
