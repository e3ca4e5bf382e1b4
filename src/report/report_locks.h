/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Lock reports: the text section, the JSON "locks" array, folded views. */
#ifndef WAITPROF_REPORT_LOCKS_H
#define WAITPROF_REPORT_LOCKS_H

#include <stdio.h>

#include "recording.h"
#include "report.h"

/* The lock section that leads the text report (nothing when no locks were
 * recorded). */
int report_locks_text(FILE *out, const struct recording *rec, const struct report_opts *o);
/* "\"locks\":[...]" (docs/report-schema.md). */
int report_locks_json(FILE *out, const struct recording *rec);
/* comm;lock (kind);outermost;...;innermost waited-us */
int report_locks_folded(FILE *out, const struct recording *rec);
/* comm;waiter outermost;...;innermost;--;waker innermost;...;outermost us:
 * flamegraph.pl's chain-graph order (the waker is read from the wakeup up). */
int report_offwake_folded(FILE *out, const struct recording *rec);

#endif
