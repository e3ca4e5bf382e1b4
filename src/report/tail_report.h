/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* `waitprof tail`'s bands written as text or JSON (docs/TAIL.md). */
#ifndef WAITPROF_TAIL_REPORT_H
#define WAITPROF_TAIL_REPORT_H

#include <stdio.h>

#include "tail_bands.h"

/* What tail writes: the bands of each target, and the data they came
 * from (its counters, and the recording that names the frames). */
struct tail_output {
	const struct tail_result *res;
	size_t nr;
	const struct tail_data *data;
};

int tail_write_text(FILE *out, const struct tail_output *o);
int tail_write_json(FILE *out, const struct tail_output *o);
int tail_write_html(FILE *out, const struct tail_output *o);
/* The slowest calls' timelines (tail_waterfall_out.c): text, the JSON
 * report's "waterfall" member, and Chrome trace-event JSON. */
struct tail_namer;
int tail_waterfall_text(FILE *out, const struct tail_result *r, struct tail_namer *n);
int tail_waterfall_json(FILE *out, const struct tail_result *r, struct tail_namer *n);
int tail_write_chrome_trace(FILE *out, const struct tail_output *o);

#endif
