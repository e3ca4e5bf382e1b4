/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* funclat's results written as text, JSON or CSV, with what the probes cost. */
#ifndef WAITPROF_FUNCLAT_REPORT_H
#define WAITPROF_FUNCLAT_REPORT_H

#include <stdbool.h>
#include <stdio.h>
#include <linux/types.h>

#include "funclat_result.h"

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

struct recording;
/* What funclat writes: its results, what the probes cost, its counters. */
struct funclat_output {
	const struct funclat_result *res;
	size_t nr;
	const struct funclat_cost *cost;
	const __u64 *counters;		/* FCNT_NR of them */
	const struct recording *named;	/* more counters by name (the unwinder's), or NULL */
};

/* funclat --format text, json and csv (report_writers.h lists them). */
int funclat_write_text(FILE *out, const struct funclat_output *f);
int funclat_write_json(FILE *out, const struct funclat_output *f);
int funclat_write_csv(FILE *out, const struct funclat_output *f);

#endif
