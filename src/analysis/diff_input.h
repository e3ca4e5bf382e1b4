/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * One side of a diff: latency histograms keyed by symbolized identity, from
 * a recording (by stack, function, thread or lock) or from a CSV of samples
 * (by a group column). Keys are names, never addresses, so a rebuilt binary
 * or another ASLR layout still matches (docs/DIFF.md).
 */
#ifndef WAITPROF_DIFF_INPUT_H
#define WAITPROF_DIFF_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "csv_samples.h"
#include "hist.h"
#include "recording.h"

enum diff_by {
	DIFF_BY_STACK,		/* thread name + user and kernel frames */
	DIFF_BY_FUNCTION,	/* the program's innermost function (libc skipped) */
	DIFF_BY_THREAD,		/* thread name */
	DIFF_BY_LOCK,		/* lock kind + variable name (or object + call site) */
};

struct diff_item {
	char *key;
	__u64 count;
	__u64 total_ns;
	__u64 max_ns;
	__u64 hist_count[HIST_NR_BUCKETS];
	__u64 hist_sum_ns[HIST_NR_BUCKETS];
};

struct diff_set {
	struct diff_item *items;	/* sorted by key, keys unique */
	size_t nr;
	bool csv;
	__u64 csv_bad_rows;
	__u64 csv_first_bad_line;
};

bool diff_parse_by(const char *s, enum diff_by *by);
const char *diff_by_name(enum diff_by by);
/* A recording or (auto-detected) a CSV; csv->group_by picks the CSV key. */
int diff_set_load(const char *path, enum diff_by by, const struct csv_samples_opts *csv,
		  struct diff_set *set, char *err, size_t err_len);
int diff_set_from_recording(const struct recording *rec, enum diff_by by, struct diff_set *set);
void diff_set_free(struct diff_set *set);

#endif
