/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A recording exported for other tools: an SVG flame graph, pprof,
 * speedscope, and one self-contained HTML page with all of it. */
#ifndef WAITPROF_REPORT_EXPORT_H
#define WAITPROF_REPORT_EXPORT_H

#include <stdio.h>

#include "recording.h"
#include "report.h"

/* Which stacks an export draws (report --view). */
enum export_view {
	EXPORT_OFFCPU,	/* off-CPU time by thread name, user and kernel stack */
	EXPORT_LOCKS,	/* lock waits by lock and waiter stack */
	EXPORT_OFFWAKE,	/* waiter -- waker chains */
};

/* The flame graph of exactly the stacks and values --format folded prints
 * for the view (microseconds), titled with the recorded command. */
int report_svg(FILE *out, const struct recording *rec, const struct report_opts *o,
	       enum export_view view);
/* Gzipped profile.proto: off-CPU samples/count + off_cpu/nanoseconds, locks
 * contentions/count + delay/nanoseconds; mappings with build-ids, file and
 * line, inlined frames as lines of their caller's location. */
int report_pprof(FILE *out, const struct recording *rec, const struct report_opts *o,
		 enum export_view view);
/* speedscope's file format: a sampled profile with nanosecond weights. */
int report_speedscope(FILE *out, const struct recording *rec, const struct report_opts *o,
		      enum export_view view);
/* One self-contained page: flame graph, lock table, histograms, findings. */
int report_html(FILE *out, const struct recording *rec, const struct report_opts *o,
		enum export_view view);

/* Renders the view's flame graph SVG into a malloc'd buffer (for the HTML
 * page); 0 or -errno. */
int report_svg_mem(const struct recording *rec, const struct report_opts *o,
		   enum export_view view, char **svg, size_t *len);

#endif
