// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * waitprof analyze FILE.csv: latencies measured by another tool (bpftrace,
 * a benchmark's log), one sample a row, through the same analysis as a
 * recording: per group count, p50/p90/p99/max, histogram and modality.
 */
#include <argp.h>
#include <errno.h>
#include <string.h>

#include "commands.h"
#include "csv_samples.h"
#include "diff_stats.h"
#include "json.h"
#include "json_common.h"
#include "modality.h"
#include "util.h"

struct analyze_args {
	const char *input;
	struct csv_samples_opts csv;
	bool json;
	bool no_hist;
};

enum { OPT_UNIT = 1000, OPT_NO_HIST };

static const struct argp_option analyze_options[] = {
	{ "column", 'c', "NAME", 0, "The latency column (default: the first named like latency, duration, lat, elapsed, wait)" },
	{ "by", 'b', "COLUMN", 0, "One analysis per value of COLUMN (e.g. event)" },
	{ "unit", OPT_UNIT, "UNIT", 0, "ns, us, ms or s (default: from a _ns/_us/_ms/_s suffix of the column name, else ns)" },
	{ "format", 'F', "FORMAT", 0, "text (default) or json" },
	{ "no-histogram", OPT_NO_HIST, NULL, 0, "Text: leave the histograms out" },
	{},
};

static error_t parse_analyze_opt(int key, char *arg, struct argp_state *state)
{
	struct analyze_args *a = state->input;

	switch (key) {
	case 'c': a->csv.column = arg; break;
	case 'b': a->csv.group_by = arg; break;
	case OPT_UNIT:
		if (!csv_parse_unit(arg, &a->csv.unit))
			argp_failure(state, 2, 0, "invalid --unit '%s' (ns, us, ms, s)", arg);
		break;
	case 'F':
		if (strcmp(arg, "text") && strcmp(arg, "json"))
			argp_failure(state, 2, 0, "unknown format '%s' (text, json)", arg);
		a->json = !strcmp(arg, "json");
		break;
	case OPT_NO_HIST: a->no_hist = true; break;
	case ARGP_KEY_ARG:
		if (a->input)
			argp_failure(state, 2, 0, "one file at a time");
		a->input = arg;
		break;
	case ARGP_KEY_END:
		if (!a->input)
			argp_failure(state, 2, 0, "give a CSV file ('-' for stdin)");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp analyze_argp = {
	.options = analyze_options,
	.parser = parse_analyze_opt,
	.args_doc = "FILE.csv",
	.doc = "Analyse latency samples from a CSV file, one sample a row.\v"
	       "The file needs a header row. Malformed rows are counted and listed by line.\n\n"
	       "Examples:\n"
	       "  $ bpftrace -e '...printf(\"%d,%d,%s\\n\", nsecs, $lat, probe)' > lat.csv\n"
	       "  $ waitprof analyze lat.csv --by event\n"
	       "  $ waitprof analyze bench.csv --column p99 --unit us -F json",
};

static double quantile(const struct sample_group *g, double q)
{
	return hist_quantile(g->hist_count, g->hist_sum_ns, q, g->max_ns);
}

/* Octave rows (8 log-linear buckets each) keep the text short. */
static void write_text_histogram(FILE *out, const struct sample_group *g)
{
	__u64 octave[HIST_NR_OCTAVES + 2] = {}, peak = 0;
	char lo[32], hi[32];
	unsigned int i, o, first = ~0u, last = 0;

	for (i = 0; i < HIST_NR_BUCKETS; i++) {
		o = i == 0 ? 0 : i == HIST_OVERFLOW ? HIST_NR_OCTAVES + 1 : 1 + (i - 1) / HIST_SUBS;
		octave[o] += g->hist_count[i];
	}
	for (o = 0; o < HIST_NR_OCTAVES + 2; o++) {
		if (!octave[o])
			continue;
		first = first == ~0u ? o : first;
		last = o;
		peak = octave[o] > peak ? octave[o] : peak;
	}
	for (o = first; peak && o <= last; o++) {
		unsigned int lo_b = o == 0 ? 0 : o == HIST_NR_OCTAVES + 1 ? HIST_OVERFLOW :
				    1 + (o - 1) * HIST_SUBS;
		int bar = (int)(octave[o] * 40 / peak);

		format_duration_ns(lo, sizeof(lo), (double)hist_bucket_lower(lo_b));
		if (o == HIST_NR_OCTAVES + 1)
			snprintf(hi, sizeof(hi), "...");
		else
			format_duration_ns(hi, sizeof(hi),
					   (double)hist_bucket_lower(o == 0 ? 1 : lo_b + HIST_SUBS));
		fprintf(out, "    %9s - %-9s %-40.*s %llu\n", lo, hi, bar,
			"########################################", (unsigned long long)octave[o]);
	}
}

static void write_text_group(FILE *out, const struct sample_group *g, bool hist)
{
	char p50[32], p90[32], p99[32], max[32], desc[512];
	struct modality m;

	format_duration_ns(p50, sizeof(p50), quantile(g, 0.5));
	format_duration_ns(p90, sizeof(p90), quantile(g, 0.9));
	format_duration_ns(p99, sizeof(p99), quantile(g, 0.99));
	format_duration_ns(max, sizeof(max), (double)g->max_ns);
	modality_analyze(g->hist_count, g->hist_sum_ns, &m);
	modality_describe(desc, sizeof(desc), &m, "samples");
	fprintf(out, "\n%s: %llu samples  p50 %s  p90 %s  p99 %s  max %s\n  %s\n", g->name,
		(unsigned long long)g->count, p50, p90, p99, max, desc);
	if (hist)
		write_text_histogram(out, g);
}

static void write_text(FILE *out, const char *path, const struct csv_samples *s, bool hist)
{
	size_t i;

	fprintf(out, "%s: column '%s' (%s), %llu rows, %zu group%s%s%s\n", path, s->column,
		csv_unit_name(s->unit), (unsigned long long)s->rows, s->nr_groups,
		s->nr_groups == 1 ? "" : "s", s->group_column ? " by " : "",
		s->group_column ? s->group_column : "");
	if (s->bad_rows)
		fprintf(out, "%llu malformed row%s not counted%s:\n", (unsigned long long)s->bad_rows,
			s->bad_rows == 1 ? "" : "s", s->bad_rows > s->nr_bad_listed ? " (first ones)" : "");
	for (i = 0; i < s->nr_bad_listed; i++)
		fprintf(out, "  line %llu: %s\n", (unsigned long long)s->bad[i].line, s->bad[i].reason);
	if (s->rows_in_other)
		fprintf(out, "%llu rows of groups past the first %d are in \"(other groups)\"\n",
			(unsigned long long)s->rows_in_other, CSV_MAX_GROUPS);
	for (i = 0; i < s->nr_groups; i++)
		write_text_group(out, &s->groups[i], hist);
}

static void write_json_group(FILE *out, const struct sample_group *g)
{
	fputs("{\"name\":", out);
	json_write_string(out, g->name);
	fprintf(out, ",\"count\":%llu,\"total_ns\":%llu,\"p50_ns\":%.0f,\"p90_ns\":%.0f,"
		     "\"p99_ns\":%.0f,\"max_ns\":%llu,", (unsigned long long)g->count,
		(unsigned long long)g->total_ns,
		quantile(g, 0.5),
		quantile(g, 0.9),
		quantile(g, 0.99),
		(unsigned long long)g->max_ns);
	report_write_hist_modality_json(out, g->hist_count, g->hist_sum_ns);
	fputc('}', out);
}

static void write_json(FILE *out, const char *path, const struct csv_samples *s)
{
	size_t i;

	fputs("{\"file\":", out);
	json_write_string(out, path);
	fputs(",\"column\":", out);
	json_write_string(out, s->column);
	fputs(",\"group_by\":", out);
	json_write_string(out, s->group_column);
	fprintf(out, ",\"unit\":\"%s\",\"rows\":%llu,\"malformed\":{\"count\":%llu,\"listed\":[",
		csv_unit_name(s->unit), (unsigned long long)s->rows,
		(unsigned long long)s->bad_rows);
	for (i = 0; i < s->nr_bad_listed; i++) {
		fprintf(out, "%s{\"line\":%llu,\"reason\":", i ? "," : "",
			(unsigned long long)s->bad[i].line);
		json_write_string(out, s->bad[i].reason);
		fputc('}', out);
	}
	fprintf(out, "]},\"rows_in_other_groups\":%llu,\"groups\":[",
		(unsigned long long)s->rows_in_other);
	for (i = 0; i < s->nr_groups; i++) {
		if (i)
			fputc(',', out);
		write_json_group(out, &s->groups[i]);
	}
	fputs("]}\n", out);
}

int cmd_analyze(int argc, char **argv)
{
	struct analyze_args a = {};
	struct csv_samples s;
	char err[512];
	int ret;

	if (argp_parse(&analyze_argp, argc, argv, 0, NULL, &a))
		return 2;
	ret = csv_samples_load_path(a.input, &a.csv, &s, err, sizeof(err));
	if (ret) {
		err_msg("%s", err);
		return 2;
	}
	if (a.json)
		write_json(stdout, a.input, &s);
	else
		write_text(stdout, a.input, &s, !a.no_hist);
	if (s.bad_rows)
		err_msg("warning: %llu malformed row%s (first at line %llu) not counted",
			(unsigned long long)s.bad_rows, s.bad_rows == 1 ? "" : "s",
			(unsigned long long)s.bad[0].line);
	csv_samples_free(&s);
	if (fflush(stdout) || ferror(stdout)) {
		err_msg("cannot write the output: %s", strerror(errno));
		return 1;
	}
	return 0;
}
