/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Report writers: each format reads the recording and writes one stream. */
#ifndef WAITPROF_REPORT_H
#define WAITPROF_REPORT_H

#include <stdio.h>

#include "offcpu_agg.h"
#include "recording.h"

struct report_opts {
	enum wait_part wait;	/* --wait */
	int top;		/* text: entries shown */
};

int report_offcpu_folded(FILE *out, const struct recording *rec, const struct report_opts *o);
int report_text(FILE *out, const struct recording *rec, const struct report_opts *o);
int report_json(FILE *out, const struct recording *rec, const struct report_opts *o);
struct named_stack;
/* "frames":[...] outermost first: the user stack's frames, then the kernel's. */
void report_write_frames_json(FILE *out, const struct recording *rec, __u64 user_id,
			      __u64 kern_id, __u32 pid, struct named_stack *ns);
/* A histogram as text, one row per power of two, for people. */
struct modality;
void report_print_histogram(FILE *out, const __u64 *counts, const struct modality *m);
/* Appends ";name[suffix]" to a folded line, with the separators ';' and
 * newlines in the name replaced: one rule for every folded view. */
struct wbuf;
void folded_put_frame(struct wbuf *b, const char *name, const char *suffix);
/* A histogram as the JSON report writes it: "histogram":[{lo_ns,hi_ns,count,total_ns}] */
void report_write_histogram_json(FILE *out, const __u64 *counts, const __u64 *sums);

#endif
