// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * report --format csv: one row per off-CPU entry (process, thread name,
 * stacks) and per lock, with the numbers the text report shows. Quantiles
 * are interpolated inside their log-linear bucket (at most 12.5% wide)
 * and never above the entry's max.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "csv_write.h"
#include "diff_stats.h"
#include "lock_agg.h"
#include "modality.h"
#include "offcpu_agg.h"
#include "report_csv.h"

static const char *const csv_columns[] = {
	"kind", "pid", "comm", "name", "count", "total_ns", "blocked_ns", "p50_ns", "p90_ns",
	"p99_ns", "max_ns", "verdict", NULL,
};

static void write_stats(struct csv_writer *w, const __u64 *counts, const __u64 *sums,
			__u64 max_ns)
{
	struct modality m;

	csv_field_u64(w, (__u64)(hist_quantile(counts, sums, 0.50, max_ns) + 0.5));
	csv_field_u64(w, (__u64)(hist_quantile(counts, sums, 0.90, max_ns) + 0.5));
	csv_field_u64(w, (__u64)(hist_quantile(counts, sums, 0.99, max_ns) + 0.5));
	csv_field_u64(w, max_ns);
	modality_analyze(counts, sums, &m);
	csv_field(w, modality_verdict_name(m.verdict));
	csv_end_row(w);
}

static int write_offcpu_rows(struct csv_writer *w, const struct recording *rec)
{
	struct named_stack *ns = malloc(sizeof(*ns));
	struct offcpu_agg agg;
	char *buf = NULL;
	size_t cap = 0, i;
	int len = 0, err;

	if (!ns)
		return -ENOMEM;
	err = offcpu_aggregate(rec, WAIT_ALL, &agg);
	for (i = 0; i < agg.nr && !err; i++) {
		const struct offcpu_entry *e = &agg.entries[i];

		len = stack_names_join(rec, e->user_stack_id, e->kern_stack_id, e->tgid, ns,
				       &buf, &cap);
		if (len < 0) {
			err = len;
			break;
		}
		csv_field(w, "offcpu");
		csv_field_u64(w, e->tgid);
		csv_field_len(w, e->comm, strnlen(e->comm, TASK_COMM_LEN));
		csv_field_len(w, buf, len);
		csv_field_u64(w, e->count);
		csv_field_u64(w, e->total_ns);
		csv_field_u64(w, e->blocked_ns);
		write_stats(w, e->hist_count, e->hist_sum_ns, e->max_ns);
	}
	offcpu_agg_free(&agg);
	free(buf);
	free(ns);
	return err;
}

static int write_lock_rows(struct csv_writer *w, const struct recording *rec)
{
	struct lock_agg agg;
	char name[512];
	size_t i;
	int err;

	err = lock_aggregate(rec, &agg);
	for (i = 0; i < agg.nr && !err; i++) {
		const struct lock_entry *e = &agg.entries[i];
		struct lock_latency lat;

		lock_display_name(e, name, sizeof(name));
		lock_entry_latency(e, &lat);
		csv_field(w, "lock");
		csv_field_u64(w, e->pid);
		csv_field_len(w, e->comm, strnlen(e->comm, TASK_COMM_LEN));
		csv_field(w, name);
		csv_field_u64(w, lat.count);
		csv_field_u64(w, lat.total_ns);
		csv_field(w, NULL);
		write_stats(w, lat.counts, lat.sums, lat.max_ns);
	}
	lock_agg_free(&agg);
	return err;
}

int report_csv(FILE *out, const struct recording *rec)
{
	struct csv_writer w;
	int err;

	csv_writer_init(&w, out);
	csv_header(&w, csv_columns);
	err = write_offcpu_rows(&w, rec);
	if (!err && (rec->nr_locks || rec->nr_lock_holders))
		err = write_lock_rows(&w, rec);
	return err;
}
