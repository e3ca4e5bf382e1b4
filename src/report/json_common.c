// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* JSON pieces every JSON writer shares (off-CPU, locks, analyze): a stack's
 * frames and a histogram, in the one form docs/report-schema.md gives. */
#include <stdbool.h>

#include "json.h"
#include "json_common.h"
#include "modality.h"

static const char *kind_name(enum frame_kind kind)
{
	return kind == FRAME_KERNEL ? "kernel" : kind == FRAME_INLINED ? "inlined" : "user";
}

static void write_frame(FILE *out, const struct named_frame *f, bool *first)
{
	fputs(*first ? "{" : ",{", out);
	*first = false;
	fputs("\"name\":", out);
	json_write_string(out, f->name);
	fprintf(out, ",\"kind\":\"%s\",\"addr\":%llu", kind_name(f->kind),
		(unsigned long long)f->addr);
	if (f->sym && f->sym->file) {
		fputs(",\"file\":", out);
		json_write_string(out, f->sym->file);
		fprintf(out, ",\"line\":%u", f->sym->line);
	}
	if (f->sym && f->sym->module) {
		fputs(",\"module\":", out);
		json_write_string(out, f->sym->module);
		fprintf(out, ",\"offset\":%llu", (unsigned long long)f->sym->offset);
	}
	fputc('}', out);
}

void report_write_frames_json(FILE *out, const struct recording *rec, __u64 user_id,
			      __u64 kern_id, __u32 pid, struct named_stack *ns)
{
	bool first = true;
	int i;

	fputs("\"frames\":[", out);
	stack_names(rec, user_id, pid, ns);
	for (i = (int)ns->nr - 1; i >= 0; i--)
		write_frame(out, &ns->frames[i], &first);
	stack_names(rec, kern_id, 0, ns);
	for (i = (int)ns->nr - 1; i >= 0; i--)
		write_frame(out, &ns->frames[i], &first);
	fputc(']', out);
}

void report_write_histogram_json(FILE *out, const __u64 *counts, const __u64 *sums)
{
	bool first = true;
	unsigned int i;

	fputs("\"histogram\":[", out);
	for (i = 0; i < HIST_NR_BUCKETS; i++) {
		if (!counts[i])
			continue;
		fprintf(out, "%s{\"lo_ns\":%llu,\"hi_ns\":%llu,\"count\":%llu,\"total_ns\":%llu}",
			first ? "" : ",", (unsigned long long)hist_bucket_lower(i),
			(unsigned long long)(i == HIST_OVERFLOW ? 0 : hist_bucket_upper(i)),
			(unsigned long long)counts[i], (unsigned long long)sums[i]);
		first = false;
	}
	fputc(']', out);
}

void report_write_hist_modality_json(FILE *out, const __u64 *counts, const __u64 *sums)
{
	struct modality m;

	report_write_histogram_json(out, counts, sums);
	modality_analyze(counts, sums, &m);
	fputs(",\"modality\":", out);
	modality_write_json(out, &m);
}
