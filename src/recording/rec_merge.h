/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Several finished recordings (agent windows) as one, for reports over a
 * longer span: entries merged by key, stacks, processes and names copied. */
#ifndef WAITPROF_REC_MERGE_H
#define WAITPROF_REC_MERGE_H

#include "recording.h"

/* Adds src's data into dst (a rec_new() recording, not yet finished):
 * histogram, lock and holder entries merged by key, the rest copied.
 * Metadata: dst keeps the first start_time and sums duration_ns. */
int rec_merge_into(struct recording *dst, const struct recording *src);

#endif
