/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Text pieces the text report's sections share. */
#ifndef WAITPROF_TEXT_COMMON_H
#define WAITPROF_TEXT_COMMON_H

#include <stdio.h>
#include <linux/types.h>

#include "modality.h"

/* A histogram as text, one row per power of two, for people; m (or NULL)
 * marks the modes and the antimode. */
void report_print_histogram(FILE *out, const __u64 *counts, const struct modality *m);

struct recording;
/* "unwinder: N CFI walks (...), M frame-pointer walks (...)" from the
 * unwind_* counters of rec (or NULL); nothing when there were no walks. */
void report_print_unwinder(FILE *out, const struct recording *named);

#endif
