/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Writing a compared diff (analysis/diff_compare.h) for people or tools. */
#ifndef WAITPROF_DIFF_REPORT_H
#define WAITPROF_DIFF_REPORT_H

#include <stdio.h>

#include "diff_compare.h"

enum diff_format { DIFF_TEXT, DIFF_MARKDOWN, DIFF_JSON };

void diff_write(FILE *out, enum diff_format fmt, const struct diff_result *r,
		const struct diff_gate *gate, const char *base_name, const char *cur_name,
		const char *by, int top);

#endif
