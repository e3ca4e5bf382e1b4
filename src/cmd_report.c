// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* waitprof report: a recording as text, folded stacks or other formats. */
#include <argp.h>
#include <errno.h>
#include <string.h>

#include "commands.h"
#include "output_file.h"
#include "recording.h"
#include "report.h"
#include "report_csv.h"
#include "report_export.h"
#include "report_locks.h"
#include "util.h"

enum report_format {
	FORMAT_TEXT,
	FORMAT_FOLDED,
	FORMAT_JSON,
	FORMAT_CSV,
	FORMAT_EVENTS_CSV,
	FORMAT_CHROME_TRACE,
	FORMAT_SVG,
	FORMAT_PPROF,
	FORMAT_SPEEDSCOPE,
	FORMAT_HTML,
};

enum report_view {
	VIEW_OFFCPU,
	VIEW_LOCKS,
	VIEW_OFFWAKE,
};

struct report_args {
	enum report_view view;
	const char *input;
	const char *output;
	enum report_format format;
	struct report_opts opts;
};

enum { OPT_WAIT = 1000, OPT_TOP, OPT_VIEW };

static const struct argp_option report_options[] = {
	{ "format", 'F', "FORMAT", 0, "text (default), folded, json, csv, events-csv, chrome-trace, svg, pprof, speedscope or html" },
	{ "output", 'o', "FILE", 0, "Write to FILE instead of stdout" },
	{ "wait", OPT_WAIT, "PART", 0, "all (default), blocked (until woken) or runqueue (woken, waiting for a CPU)" },
	{ "top", OPT_TOP, "N", 0, "Text: show the N largest stacks (default 20, 0 = all)" },
	{ "view", OPT_VIEW, "VIEW", 0, "Folded, svg, pprof, speedscope, html: offcpu (default), locks (lock waits by lock and waiter stack) or offwake (waiter -- waker chains of futex waits)" },
	{},
};

static error_t parse_report_opt(int key, char *arg, struct argp_state *state)
{
	struct report_args *a = state->input;
	uint64_t n;

	switch (key) {
	case 'F':
		if (!strcmp(arg, "text"))
			a->format = FORMAT_TEXT;
		else if (!strcmp(arg, "folded"))
			a->format = FORMAT_FOLDED;
		else if (!strcmp(arg, "json"))
			a->format = FORMAT_JSON;
		else if (!strcmp(arg, "csv"))
			a->format = FORMAT_CSV;
		else if (!strcmp(arg, "events-csv"))
			a->format = FORMAT_EVENTS_CSV;
		else if (!strcmp(arg, "chrome-trace"))
			a->format = FORMAT_CHROME_TRACE;
		else if (!strcmp(arg, "svg"))
			a->format = FORMAT_SVG;
		else if (!strcmp(arg, "pprof"))
			a->format = FORMAT_PPROF;
		else if (!strcmp(arg, "speedscope"))
			a->format = FORMAT_SPEEDSCOPE;
		else if (!strcmp(arg, "html"))
			a->format = FORMAT_HTML;
		else
			argp_failure(state, 2, 0, "unknown format '%s' (text, folded, json, csv, events-csv, chrome-trace, svg, pprof, speedscope, html)", arg);
		break;
	case 'o': a->output = arg; break;
	case OPT_WAIT:
		if (!parse_wait_part(arg, &a->opts.wait))
			argp_failure(state, 2, 0, "invalid --wait '%s' (all, blocked, runqueue)", arg);
		break;
	case OPT_TOP:
		if (!parse_u64(arg, &n) || n > 1000000)
			argp_failure(state, 2, 0, "invalid --top '%s'", arg);
		a->opts.top = (int)n;
		break;
	case OPT_VIEW:
		if (!strcmp(arg, "offcpu"))
			a->view = VIEW_OFFCPU;
		else if (!strcmp(arg, "locks"))
			a->view = VIEW_LOCKS;
		else if (!strcmp(arg, "offwake"))
			a->view = VIEW_OFFWAKE;
		else
			argp_failure(state, 2, 0, "unknown view '%s' (offcpu, locks, offwake)", arg);
		break;
	case ARGP_KEY_ARG:
		if (a->input)
			argp_failure(state, 2, 0, "one recording at a time");
		a->input = arg;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp report_argp = {
	.options = report_options,
	.parser = parse_report_opt,
	.args_doc = "[FILE]",
	.doc = "Print a recording (default waitprof.data).\v"
	       "Folded output is 'thread;outermost;...;innermost VALUE' with user frames, then\n"
	       "kernel frames suffixed _[k], inlined frames _[i], values in microseconds\n"
	       "(bcc offcputime -f compatible): pipe it to 'waitprof flamegraph'.\n"
	       "svg is the flame graph of the same stacks; pprof (gzipped profile.proto,\n"
	       "for go tool pprof, Pyroscope, Parca) and speedscope keep nanoseconds, counts,\n"
	       "file:line and build-ids; html is one self-contained page with the flame\n"
	       "graph, the lock table, histograms and findings.",
};

/* Per-interval formats need record --events: say so instead of writing nothing. */
static int report_events(FILE *out, const struct recording *rec, bool chrome)
{
	if (!rec->nr_events && !rec_get_meta(rec, "events_clock")) {
		err_msg("this recording has no events: record with --events");
		return -ENODATA;
	}
	return chrome ? report_chrome_trace(out, rec) : report_events_csv(out, rec);
}

static int report_export(FILE *out, const struct recording *rec, const struct report_args *a)
{
	enum export_view view = a->view == VIEW_LOCKS ? EXPORT_LOCKS :
				a->view == VIEW_OFFWAKE ? EXPORT_OFFWAKE : EXPORT_OFFCPU;

	switch (a->format) {
	case FORMAT_SVG: return report_svg(out, rec, &a->opts, view);
	case FORMAT_PPROF: return report_pprof(out, rec, &a->opts, view);
	case FORMAT_SPEEDSCOPE: return report_speedscope(out, rec, &a->opts, view);
	default: return report_html(out, rec, &a->opts, view);
	}
}

int cmd_report(int argc, char **argv)
{
	struct report_args a = { .opts.top = 20 };
	struct recording *rec;
	char err[512];
	FILE *out = stdout;
	int ret;

	if (argp_parse(&report_argp, argc, argv, 0, NULL, &a))
		return 2;
	if (!a.input)
		a.input = "waitprof.data";
	rec = rec_read(a.input, err, sizeof(err));
	if (!rec) {
		err_msg("%s", err);
		return 1;
	}
	if (!rec->complete)
		err_msg("warning: %s is incomplete (recording was cut short)", a.input);
	if (a.output) {
		out = output_open(a.output, false);
		if (!out) {
			err_msg("cannot write %s: %s", a.output, strerror(errno));
			rec_free(rec);
			return 1;
		}
	}
	if (a.format == FORMAT_FOLDED && a.view == VIEW_LOCKS)
		ret = report_locks_folded(out, rec);
	else if (a.format == FORMAT_FOLDED && a.view == VIEW_OFFWAKE)
		ret = report_offwake_folded(out, rec);
	else if (a.format == FORMAT_FOLDED)
		ret = report_offcpu_folded(out, rec, &a.opts);
	else if (a.format == FORMAT_SVG || a.format == FORMAT_PPROF ||
		 a.format == FORMAT_SPEEDSCOPE || a.format == FORMAT_HTML)
		ret = report_export(out, rec, &a);
	else if (a.format == FORMAT_JSON)
		ret = report_json(out, rec, &a.opts);
	else if (a.format == FORMAT_CSV)
		ret = report_csv(out, rec);
	else if (a.format == FORMAT_EVENTS_CSV || a.format == FORMAT_CHROME_TRACE)
		ret = report_events(out, rec, a.format == FORMAT_CHROME_TRACE);
	else
		ret = report_text(out, rec, &a.opts);
	if (fflush(out) || ferror(out)) {
		err_msg("cannot write %s: %s", a.output ? a.output : "stdout", strerror(errno));
		ret = -EIO;
	}
	if (a.output)
		fclose(out);
	rec_free(rec);
	if (ret && ret != -EIO)
		err_msg("report failed: %s", strerror(-ret));
	return ret ? 1 : 0;
}
