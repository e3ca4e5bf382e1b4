// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* waitprof report: a recording as text, folded stacks or other formats. */
#include <argp.h>
#include <errno.h>
#include <string.h>

#include "commands.h"
#include "output_file.h"
#include "recording.h"
#include "report.h"
#include "report_writers.h"
#include "util.h"

struct report_args {
	const char *input;
	const char *output;
	const struct report_writer *writer;
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
	char names[256];
	uint64_t n;

	switch (key) {
	case 'F':
		a->writer = report_writer_find(arg, false);
		if (!a->writer)
			argp_failure(state, 2, 0, "unknown format '%s' (%s)", arg,
				     report_writer_names(names, sizeof(names), false));
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
			a->opts.view = REPORT_VIEW_OFFCPU;
		else if (!strcmp(arg, "locks"))
			a->opts.view = REPORT_VIEW_LOCKS;
		else if (!strcmp(arg, "offwake"))
			a->opts.view = REPORT_VIEW_OFFWAKE;
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

int cmd_report(int argc, char **argv)
{
	struct report_args a = { .opts.top = 20, .writer = report_writer_find("text", false) };
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
	ret = a.writer->recording(out, rec, &a.opts);
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
