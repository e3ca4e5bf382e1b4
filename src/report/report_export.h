/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A recording exported for other tools: an SVG flame graph, pprof,
 * speedscope, and one self-contained HTML page with all of it. */
#ifndef WAITPROF_REPORT_EXPORT_H
#define WAITPROF_REPORT_EXPORT_H

#include <stdio.h>

#include "recording.h"
#include "report.h"

/* The folded stacks of o->view: off-CPU, lock waits or off-wake chains. */
int report_folded(FILE *out, const struct recording *rec, const struct report_opts *o);
/* The flame graph of exactly the stacks and values --format folded prints
 * for o->view (microseconds), titled with the recorded command. */
int report_svg(FILE *out, const struct recording *rec, const struct report_opts *o);
/* Gzipped profile.proto: off-CPU samples/count + off_cpu/nanoseconds, locks
 * contentions/count + delay/nanoseconds; mappings with build-ids, file and
 * line, inlined frames as lines of their caller's location. */
int report_pprof(FILE *out, const struct recording *rec, const struct report_opts *o);
/* speedscope's file format: a sampled profile with nanosecond weights. */
int report_speedscope(FILE *out, const struct recording *rec, const struct report_opts *o);
/* One self-contained page: flame graph, lock table, histograms, findings. */
int report_html(FILE *out, const struct recording *rec, const struct report_opts *o);

/* Renders o->view's flame graph SVG into a malloc'd buffer (for the HTML
 * page); 0 or -errno. */
int report_svg_mem(const struct recording *rec, const struct report_opts *o, char **svg,
		   size_t *len);

#endif
