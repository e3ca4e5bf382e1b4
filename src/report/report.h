/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Report writers: each format reads the recording and writes one stream. */
#ifndef WAITPROF_REPORT_H
#define WAITPROF_REPORT_H

#include <stdio.h>

#include "offcpu_agg.h"
#include "recording.h"

/* Which stacks the drawing formats (folded, svg, pprof, speedscope, html)
 * draw: report --view. The other formats write the whole recording. */
enum report_view {
	REPORT_VIEW_OFFCPU,	/* off-CPU time by thread name, user and kernel stack */
	REPORT_VIEW_LOCKS,	/* lock waits by lock and waiter stack */
	REPORT_VIEW_OFFWAKE,	/* waiter -- waker chains */
};

struct report_opts {
	enum wait_part wait;	/* --wait */
	int top;		/* text: entries shown */
	enum report_view view;	/* --view */
};

int report_offcpu_folded(FILE *out, const struct recording *rec, const struct report_opts *o);
int report_text(FILE *out, const struct recording *rec, const struct report_opts *o);
int report_json(FILE *out, const struct recording *rec, const struct report_opts *o);
/* What the recorder cost and which budgets overflowed: the text report's
 * first lines, and "recorder":{...} in JSON (docs/report-schema.md). */
void report_recorder_text(FILE *out, const struct recording *rec);
void report_recorder_json(FILE *out, const struct recording *rec);

#endif
