// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * waitprof diff BASE CURRENT: match entries of two recordings (or two CSVs
 * of samples) by name, show what changed, and with --fail-* act as a CI
 * gate: exit 1 on a regression, 0 on none, 2 on usage or input errors.
 */
#include <argp.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "csv_samples.h"
#include "diff_compare.h"
#include "diff_input.h"
#include "diff_report.h"
#include "util.h"

struct diff_args {
	const char *inputs[2];
	int nr_inputs;
	const char *by;
	struct diff_gate gate;
	struct csv_samples_opts csv;
	enum diff_format format;
	int top;
};

enum {
	OPT_FAIL_P99 = 1000, OPT_FAIL_TOTAL, OPT_FAIL_BIMODAL, OPT_MIN_SAMPLES, OPT_CONFIDENCE,
	OPT_GATE, OPT_UNIT, OPT_TOP,
};

static const struct argp_option diff_options[] = {
	{ "by", 'b', "VIEW", 0, "Recordings: stack (default), function, thread or lock. CSVs: the column to group by" },
	{ "fail-p99", OPT_FAIL_P99, "PCT", 0, "Exit 1 when an entry's p99 grew more than PCT percent (and the data support it)" },
	{ "fail-total", OPT_FAIL_TOTAL, "PCT", 0, "Exit 1 when an entry's total wait grew more than PCT percent (and the data support it)" },
	{ "fail-new-bimodal", OPT_FAIL_BIMODAL, NULL, 0, "Exit 1 when an entry that was unimodal (or absent) is now bimodal" },
	{ "gate", OPT_GATE, NULL, 0, "All three checks at the default thresholds: p99 +100%, total +25%, new bimodal" },
	{ "min-samples", OPT_MIN_SAMPLES, "N", 0, "Compare only entries with at least N samples on each side (default 100)" },
	{ "confidence", OPT_CONFIDENCE, "C", 0, "Bootstrap confidence a flag needs, 0.5 to 0.9999 (default 0.99)" },
	{ "column", 'c', "NAME", 0, "CSVs: the latency column (default: found by name)" },
	{ "unit", OPT_UNIT, "UNIT", 0, "CSVs: ns, us, ms or s (default: from the column name, else ns)" },
	{ "format", 'F', "FORMAT", 0, "text (default), markdown or json" },
	{ "top", OPT_TOP, "N", 0, "Text and Markdown: show N entries (default 20, 0 = all)" },
	{},
};

static bool parse_pct(const char *arg, double *out)
{
	double v;

	if (!parse_double(arg, &v) || v < 0 || v > 1e6)
		return false;
	*out = v;
	return true;
}

static error_t parse_diff_opt(int key, char *arg, struct argp_state *state)
{
	struct diff_args *a = state->input;
	struct diff_gate *g = &a->gate;
	uint64_t n;

	switch (key) {
	case 'b': a->by = arg; break;
	case OPT_FAIL_P99:
		if (!parse_pct(arg, &g->p99_pct))
			argp_failure(state, 2, 0, "invalid --fail-p99 '%s' (percent)", arg);
		g->fail_mask |= DIFF_FLAG_P99;
		break;
	case OPT_FAIL_TOTAL:
		if (!parse_pct(arg, &g->total_pct))
			argp_failure(state, 2, 0, "invalid --fail-total '%s' (percent)", arg);
		g->fail_mask |= DIFF_FLAG_TOTAL;
		break;
	case OPT_FAIL_BIMODAL: g->fail_mask |= DIFF_FLAG_NEW_BIMODAL; break;
	case OPT_GATE:
		g->fail_mask |= DIFF_FLAG_P99 | DIFF_FLAG_TOTAL | DIFF_FLAG_NEW_BIMODAL;
		break;
	case OPT_MIN_SAMPLES:
		if (!parse_u64(arg, &n) || n < 1)
			argp_failure(state, 2, 0, "invalid --min-samples '%s'", arg);
		g->min_samples = n;
		break;
	case OPT_CONFIDENCE:
		if (!parse_double(arg, &g->confidence) || g->confidence < 0.5 ||
		    g->confidence > 0.9999)
			argp_failure(state, 2, 0, "invalid --confidence '%s' (0.5 to 0.9999)", arg);
		break;
	case 'c': a->csv.column = arg; break;
	case OPT_UNIT:
		if (!csv_parse_unit(arg, &a->csv.unit))
			argp_failure(state, 2, 0, "invalid --unit '%s' (ns, us, ms, s)", arg);
		break;
	case 'F':
		if (!strcmp(arg, "text"))
			a->format = DIFF_TEXT;
		else if (!strcmp(arg, "markdown") || !strcmp(arg, "md"))
			a->format = DIFF_MARKDOWN;
		else if (!strcmp(arg, "json"))
			a->format = DIFF_JSON;
		else
			argp_failure(state, 2, 0, "unknown format '%s' (text, markdown, json)", arg);
		break;
	case OPT_TOP:
		if (!parse_u64(arg, &n) || n > 1000000)
			argp_failure(state, 2, 0, "invalid --top '%s'", arg);
		a->top = (int)n;
		break;
	case ARGP_KEY_ARG:
		if (a->nr_inputs == 2)
			argp_failure(state, 2, 0, "give two inputs: BASE CURRENT");
		a->inputs[a->nr_inputs++] = arg;
		break;
	case ARGP_KEY_END:
		if (a->nr_inputs != 2)
			argp_failure(state, 2, 0, "give two inputs: BASE CURRENT");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp diff_argp = {
	.options = diff_options,
	.parser = parse_diff_opt,
	.args_doc = "BASE CURRENT",
	.doc = "Compare two recordings (or two CSVs of latency samples) entry by entry.\v"
	       "Entries match by name (frames, lock variables, thread names), never by address. "
	       "A regression is flagged when the change exceeds its threshold (p99 +100%, total "
	       "+25% unless given) and the data are --confidence sure the metric grew "
	       "(order-statistic bounds for p99, a bootstrap over the histogram for the total). "
	       "With --gate or any --fail-*: exit 1 on a flagged regression of that kind, 0 on "
	       "none, 2 on usage or input errors (docs/DIFF.md).\n\n"
	       "Examples:\n"
	       "  $ waitprof diff base.data pr.data --by lock --gate\n"
	       "  $ waitprof diff base.csv pr.csv --by event --fail-p99 10 -F markdown",
};

static int load(const struct diff_args *a, const char *path, enum diff_by by,
		struct diff_set *set)
{
	char err[512];
	int ret = diff_set_load(path, by, &a->csv, set, err, sizeof(err));

	if (ret) {
		err_msg("%s", err);
		return ret;
	}
	if (set->csv_bad_rows)
		err_msg("warning: %s: %llu malformed rows not counted (first at line %llu)", path,
			(unsigned long long)set->csv_bad_rows,
			(unsigned long long)set->csv_first_bad_line);
	return 0;
}

int cmd_diff(int argc, char **argv)
{
	struct diff_args a = {
		.gate = { .p99_pct = DIFF_DEFAULT_P99_PCT, .total_pct = DIFF_DEFAULT_TOTAL_PCT,
			  .confidence = DIFF_DEFAULT_CONF, .min_samples = DIFF_DEFAULT_MIN },
		.top = 20,
	};
	struct diff_set sets[2] = {};
	struct diff_result r = {};
	enum diff_by by = DIFF_BY_STACK;
	bool csv0, csv1;
	int ret = 2;

	if (argp_parse(&diff_argp, argc, argv, 0, NULL, &a))
		return 2;
	csv0 = csv_looks_like_csv(a.inputs[0]);
	csv1 = csv_looks_like_csv(a.inputs[1]);
	if (csv0 != csv1 && !access(a.inputs[0], R_OK) && !access(a.inputs[1], R_OK)) {
		err_msg("compare a recording with a recording, or a CSV with a CSV");
		return 2;
	}
	if (csv0)
		a.csv.group_by = a.by;
	else if (a.by && !diff_parse_by(a.by, &by)) {
		err_msg("invalid --by '%s' (stack, function, thread, lock)", a.by);
		return 2;
	}
	if (load(&a, a.inputs[0], by, &sets[0]) || load(&a, a.inputs[1], by, &sets[1]))
		goto cleanup;
	if (by == DIFF_BY_LOCK && !csv0 && !sets[0].nr && !sets[1].nr)
		err_msg("warning: neither recording has lock data (recorded with --no-locks?)");
	if (diff_compare(&sets[0], &sets[1], &a.gate, &r)) {
		err_msg("out of memory");
		goto cleanup;
	}
	diff_write(stdout, a.format, &r, &a.gate, a.inputs[0], a.inputs[1],
		   csv0 ? (a.by ? a.by : "all") : diff_by_name(by), a.top);
	if (fflush(stdout) || ferror(stdout)) {
		err_msg("cannot write the output: %s", strerror(errno));
		goto cleanup;
	}
	ret = r.failing ? 1 : 0;
cleanup:
	diff_result_free(&r);
	diff_set_free(&sets[0]);
	diff_set_free(&sets[1]);
	return ret;
}
