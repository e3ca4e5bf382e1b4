/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Spreadsheet and timeline exports of a recording. */
#ifndef WAITPROF_REPORT_CSV_H
#define WAITPROF_REPORT_CSV_H

#include <stdio.h>

#include "recording.h"
#include "stack_names.h"

/* One row per off-CPU entry and per lock (report --format csv). */
int report_csv(FILE *out, const struct recording *rec);
/* One row per recorded interval (report --format events-csv). */
int report_events_csv(FILE *out, const struct recording *rec);
/* Chrome trace-event JSON (report --format chrome-trace). */
int report_chrome_trace(FILE *out, const struct recording *rec);

#endif
