/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* JSON pieces the JSON writers share (docs/report-schema.md). */
#ifndef WAITPROF_JSON_COMMON_H
#define WAITPROF_JSON_COMMON_H

#include <stdio.h>
#include <linux/types.h>

#include "recording.h"
#include "stack_names.h"

/* "frames":[...] outermost first: the user stack's frames, then the kernel's. */
void report_write_frames_json(FILE *out, const struct recording *rec, __u64 user_id,
			      __u64 kern_id, __u32 pid, struct named_stack *ns);
/* A histogram as the JSON report writes it: "histogram":[{lo_ns,hi_ns,count,total_ns}] */
void report_write_histogram_json(FILE *out, const __u64 *counts, const __u64 *sums);
/* The histogram, then its verdict: ...,"modality":{...} (modality_analyze). */
void report_write_hist_modality_json(FILE *out, const __u64 *counts, const __u64 *sums);

#endif
