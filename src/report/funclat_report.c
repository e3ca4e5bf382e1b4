// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* funclat's results as text (with histograms and callers), JSON or CSV. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "funclat_report.h"
#include "json.h"
#include "recording.h"
#include "text_common.h"

#define PRECISION_TEXT "log-linear histogram, 8 sub-buckets per octave: a bucket spans at " \
		       "most 12.5% of its value; a percentile is placed inside its bucket " \
		       "around the bucket's exact mean, so it is within 12.5% and exact for " \
		       "a bucket of one call"

static const char *dur(char *buf, size_t len, double ns)
{
	format_duration_ns(buf, len, ns);
	return buf;
}

static void text_histogram(FILE *out, const struct funclat_result *r)
{
	__u64 peak = 0, rows[HIST_NR_BUCKETS] = {}, lo[HIST_NR_BUCKETS], hi[HIST_NR_BUCKETS];
	unsigned int i, nonzero = 0, nr = 0, step, bar;
	char a[32], b[32];

	for (i = 0; i < HIST_NR_BUCKETS; i++)
		nonzero += r->counts[i] != 0;
	/* Up to 40 rows: whole octaves beyond that. */
	step = nonzero > 40 ? HIST_SUBS : 1;
	for (i = 0; i < HIST_NR_BUCKETS; i++) {
		unsigned int row = step == 1 || i == 0 ? i : 1 + (i - 1) / step * step;

		if (!r->counts[i])
			continue;
		if (!nr || lo[nr - 1] != hist_bucket_lower(row)) {
			lo[nr] = hist_bucket_lower(row);
			hi[nr] = row == 0 || row == HIST_OVERFLOW || step == 1 ?
				 hist_bucket_upper(i) : hist_bucket_lower(row + step);
			nr++;
		}
		rows[nr - 1] += r->counts[i];
	}
	for (i = 0; i < nr; i++)
		if (rows[i] > peak)
			peak = rows[i];
	fprintf(out, "  %-24s %10s\n", "latency", "calls");
	for (i = 0; i < nr; i++) {
		bar = peak ? (unsigned int)((rows[i] * 40 + peak - 1) / peak) : 0;
		if (hi[i] == ~0ULL)
			snprintf(b, sizeof(b), "...");
		else
			dur(b, sizeof(b), (double)hi[i]);
		fprintf(out, "  %10s - %-10s  %10llu |%.*s\n", dur(a, sizeof(a), (double)lo[i]), b,
			(unsigned long long)rows[i], bar,
			"@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@");
	}
}

static void text_stacks(FILE *out, const struct funclat_slow_stack *st, size_t nr)
{
	char a[32];
	size_t i, j;

	for (i = 0; i < nr; i++) {
		const struct funclat_slow_stack *s = &st[i];

		fprintf(out, "    %10s  %8llu calls  pid %-7d ", dur(a, sizeof(a), (double)s->total_ns),
			(unsigned long long)s->count, s->pid);
		for (j = 0; j < s->nr_frames; j++)
			fprintf(out, "%s%s", j ? " <- " : "", s->frames[j]);
		fputc('\n', out);
	}
	if (!nr)
		fprintf(out, "    (no stacks: see the counters with -v)\n");
}

static void text_result(FILE *out, const struct funclat_result *r)
{
	char a[32], b[32], c[32], d[32], e[32], f[32], desc[512];

	fprintf(out, "\n%s\n", r->label);
	if (!r->count) {
		if (r->entries)
			fprintf(out, "  %llu calls entered, none timed: not sampled, shorter than -m, "
				"or never returned (longjmp, exit: see the notes below)\n",
				(unsigned long long)r->entries);
		else
			fprintf(out, "  no calls\n");
		return;
	}
	fprintf(out, "  calls %llu  total %s  mean %s  p50 %s  p90 %s  p99 %s  max %s\n",
		(unsigned long long)r->count, dur(a, sizeof(a), (double)r->total_ns),
		dur(b, sizeof(b), (double)r->total_ns / (double)r->count),
		dur(c, sizeof(c), r->p50_ns), dur(d, sizeof(d), r->p90_ns),
		dur(e, sizeof(e), r->p99_ns), dur(f, sizeof(f), (double)r->max_ns));
	text_histogram(out, r);
	modality_describe(desc, sizeof(desc), &r->modality, "calls");
	fprintf(out, "  modality: %s\n", desc);
	if (r->nr_callers) {
		fprintf(out, "  callers of all calls, most time first:\n");
		text_stacks(out, r->callers, r->nr_callers);
	}
	if (!r->slow_above_ns)
		return;
	fprintf(out, "  slow calls (above %s) by caller, most time first:\n",
		dur(a, sizeof(a), r->slow_above_ns));
	text_stacks(out, r->slow, r->nr_slow);
}

/* As record's report says it: how the user stacks above were walked. */
int funclat_write_text(FILE *out, const struct funclat_output *f)
{
	const struct funclat_cost *cost = f->cost;
	char a[32], b[32];
	unsigned int i;

	for (i = 0; i < f->nr; i++)
		text_result(out, &f->res[i]);
	fprintf(out, "\nprecision: %s.\n", PRECISION_TEXT);
	if (cost->sample_every > 1)
		fprintf(out, "sampling: 1 in %u calls per thread, chosen at random%s; counts "
			"above are of sampled calls\n", cost->sample_every,
			cost->max_rate_switched ? " (switched on by --max-rate)" : "");
	if (cost->probed_calls || cost->per_call_ns >= 0) {
		fprintf(out, "probe cost: %llu probed calls", (unsigned long long)cost->probed_calls);
		if (cost->per_call_ns >= 0)
			fprintf(out, " x %s measured at start = about %s added to the traced "
				"threads", dur(a, sizeof(a), cost->per_call_ns),
				dur(b, sizeof(b), cost->per_call_ns * (double)cost->probed_calls));
		fputc('\n', out);
	}
	if (cost->empty_call_ns >= 0)
		fprintf(out, "probe floor: an empty function measures %s here: every uprobe "
			"latency above includes about that much probe overhead\n",
			dur(a, sizeof(a), cost->empty_call_ns));
	for (i = 0; i < FCNT_NR; i++)
		if (f->counters[i] && i != FCNT_SAMPLED_OUT && i != FCNT_TRAMP_MAPPED)
			fprintf(out, "note: %s: %llu\n", funclat_counter_name(i),
				(unsigned long long)f->counters[i]);
	report_print_unwinder(out, f->named);
	return 0;
}

static void json_histogram(FILE *out, const struct funclat_result *r)
{
	unsigned int i;
	bool first = true;

	fputc('[', out);
	for (i = 0; i < HIST_NR_BUCKETS; i++) {
		if (!r->counts[i])
			continue;
		fprintf(out, "%s{\"lo_ns\":%llu,\"hi_ns\":", first ? "" : ",",
			(unsigned long long)hist_bucket_lower(i));
		if (i == HIST_OVERFLOW)
			fputs("null", out);
		else
			fprintf(out, "%llu", (unsigned long long)hist_bucket_upper(i));
		fprintf(out, ",\"count\":%llu,\"total_ns\":%llu}", (unsigned long long)r->counts[i],
			(unsigned long long)r->sums[i]);
		first = false;
	}
	fputc(']', out);
}

static void json_stacks(FILE *out, const struct funclat_slow_stack *st, size_t nr)
{
	size_t i, j;

	fputc('[', out);
	for (i = 0; i < nr; i++) {
		const struct funclat_slow_stack *s = &st[i];

		fprintf(out, "%s{\"pid\":%d,\"count\":%llu,\"total_ns\":%llu,\"frames\":[",
			i ? "," : "", s->pid, (unsigned long long)s->count,
			(unsigned long long)s->total_ns);
		for (j = 0; j < s->nr_frames; j++) {
			if (j)
				fputc(',', out);
			json_write_string(out, s->frames[j]);
		}
		fputs("]}", out);
	}
	fputc(']', out);
}

static void json_result(FILE *out, const struct funclat_result *r)
{

	fputs("{\"target\":", out);
	json_write_string(out, r->label);
	fprintf(out, ",\"kind\":\"%s\",\"count\":%llu,\"entries\":%llu,\"total_ns\":%llu,"
		"\"p50_ns\":%.0f,\"p90_ns\":%.0f,\"p99_ns\":%.0f,\"max_ns\":%llu,\"histogram\":",
		r->is_syscall ? "syscall" : "function", (unsigned long long)r->count,
		(unsigned long long)r->entries, (unsigned long long)r->total_ns, r->p50_ns,
		r->p90_ns, r->p99_ns, (unsigned long long)r->max_ns);
	json_histogram(out, r);
	fputs(",\"modality\":", out);
	modality_write_json(out, &r->modality);
	fprintf(out, ",\"slow_above_ns\":%.0f,\"slow_stacks\":", r->slow_above_ns);
	json_stacks(out, r->slow, r->nr_slow);
	if (r->callers) {
		fputs(",\"stacks\":", out);
		json_stacks(out, r->callers, r->nr_callers);
	}
	fputc('}', out);
}

int funclat_write_json(FILE *out, const struct funclat_output *f)
{
	const struct funclat_cost *cost = f->cost;
	const struct recording *named = f->named;
	unsigned int i;

	fputs("{\"functions\":[", out);
	for (i = 0; i < f->nr; i++) {
		if (i)
			fputc(',', out);
		json_result(out, &f->res[i]);
	}
	fprintf(out, "],\"probe_cost\":{\"per_call_ns\":");
	if (cost->per_call_ns >= 0)
		fprintf(out, "%.0f", cost->per_call_ns);
	else
		fputs("null", out);
	fprintf(out, ",\"probed_calls\":%llu,\"added_ns\":", (unsigned long long)cost->probed_calls);
	if (cost->per_call_ns >= 0)
		fprintf(out, "%.0f", cost->per_call_ns * (double)cost->probed_calls);
	else
		fputs("null", out);
	fputs(",\"empty_call_ns\":", out);
	if (cost->empty_call_ns >= 0)
		fprintf(out, "%.0f", cost->empty_call_ns);
	else
		fputs("null", out);
	fprintf(out, ",\"syscall_calls\":%llu,\"sample_every\":%u,\"max_rate\":%.0f,"
		"\"max_rate_switched\":%s,\"method\":\"entry+return uprobes on an in-process "
		"dummy function, best of 3 against unprobed\"},", (unsigned long long)cost->syscall_calls,
		cost->sample_every, cost->max_rate, cost->max_rate_switched ? "true" : "false");
	fprintf(out, "\"duration_ns\":%llu,\"precision\":\"%s\",\"counters\":{",
		(unsigned long long)cost->duration_ns, PRECISION_TEXT);
	for (i = 0; i < FCNT_NR; i++)
		fprintf(out, "%s\"%s\":%llu", i ? "," : "", funclat_counter_name(i),
			(unsigned long long)f->counters[i]);
	for (i = 0; named && i < named->nr_counters; i++)
		fprintf(out, ",\"%s\":%llu", named->counters[i].name,
			(unsigned long long)named->counters[i].value);
	fputs("}}\n", out);
	return 0;
}

int funclat_write_csv(FILE *out, const struct funclat_output *f)
{
	const struct modality *m;
	unsigned int i, slow;

	fputs("target,count,total_ns,p50_ns,p90_ns,p99_ns,max_ns,modality,slow_above_ns,"
	      "slow_count_share,slow_time_share\n", out);
	for (i = 0; i < f->nr; i++) {
		const struct funclat_result *r = &f->res[i];

		m = &r->modality;
		slow = modality_slowest_mode(m);
		/* Labels are paths and names: quote them the CSV way. */
		fputc('"', out);
		for (const char *p = r->label; *p; p++) {
			if (*p == '"')
				fputc('"', out);
			fputc(*p, out);
		}
		fprintf(out, "\",%llu,%llu,%.0f,%.0f,%.0f,%llu,%s,%.0f,%.4f,%.4f\n",
			(unsigned long long)r->count, (unsigned long long)r->total_ns, r->p50_ns,
			r->p90_ns, r->p99_ns, (unsigned long long)r->max_ns,
			modality_verdict_name(m->verdict), r->slow_above_ns,
			r->slow_above_ns ? m->modes[slow].count_share : 0.0,
			r->slow_above_ns ? m->modes[slow].time_share : 0.0);
	}
	return 0;
}
