/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Latency samples from a CSV file, one a row (bpftrace's
 * timestamp_ns,latency_ns,event and the like), binned per group into the
 * same log-linear histograms the BPF side keeps (bpf/hist.h), so analyze and
 * diff treat them exactly like recordings. Streams: memory is bounded by the
 * number of groups (CSV_MAX_GROUPS, ~4 KiB each), not by the rows.
 */
#ifndef WAITPROF_CSV_SAMPLES_H
#define WAITPROF_CSV_SAMPLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>

#include "hist.h"

#define CSV_MAX_GROUPS		4096	/* further groups go to "(other groups)" */
#define CSV_BAD_LISTED		20	/* malformed rows listed by line number */

enum csv_unit { CSV_UNIT_AUTO, CSV_UNIT_NS, CSV_UNIT_US, CSV_UNIT_MS, CSV_UNIT_S };

struct csv_samples_opts {
	const char *column;	/* latency column; NULL: found by name */
	const char *group_by;	/* group column; NULL: one group, "all" */
	enum csv_unit unit;	/* AUTO: from the column name's suffix, else ns */
};

struct sample_group {
	char *name;
	__u64 count;
	__u64 total_ns;
	__u64 max_ns;
	__u64 hist_count[HIST_NR_BUCKETS];
	__u64 hist_sum_ns[HIST_NR_BUCKETS];
};

struct csv_bad_row {
	__u64 line;
	char reason[112];
};

struct csv_samples {
	char *column;			/* the latency column used */
	char *group_column;		/* NULL when not grouped */
	enum csv_unit unit;
	struct sample_group *groups;	/* by total_ns, largest first */
	size_t nr_groups;
	__u64 rows;			/* data rows, malformed ones included */
	__u64 bad_rows;
	struct csv_bad_row bad[CSV_BAD_LISTED];	/* the first ones */
	size_t nr_bad_listed;
	__u64 rows_in_other;		/* rows of groups past CSV_MAX_GROUPS */
};

/* True when the file starts like a CSV (not a waitprof recording). */
bool csv_looks_like_csv(const char *path);
/*
 * Reads every row. Returns 0, or a negative errno with a one-line reason in
 * err (no such column, unreadable file). Malformed rows are not errors:
 * they are counted and the first CSV_BAD_LISTED listed.
 */
int csv_samples_load(FILE *in, const struct csv_samples_opts *o, struct csv_samples *out,
		     char *err, size_t err_len);
int csv_samples_load_path(const char *path, const struct csv_samples_opts *o,
			  struct csv_samples *out, char *err, size_t err_len);
void csv_samples_free(struct csv_samples *s);
bool csv_parse_unit(const char *s, enum csv_unit *unit);
const char *csv_unit_name(enum csv_unit unit);

#endif
