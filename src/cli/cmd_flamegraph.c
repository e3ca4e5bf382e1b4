// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * waitprof flamegraph: folded stacks (or recordings, folded through
 * src/report/diff_folded.c) in, an interactive SVG (or a pprof / speedscope export)
 * out. Apart from diff_folded_open() only the flamegraph/ library is used, so
 * the tests build the command on its own (tests/flamegraph/fg_cli.c).
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "diff_folded.h"
#include "folded.h"
#include "profile.h"
#include "stacks.h"
#include "svg.h"

enum output_format {
	FORMAT_SVG,
	FORMAT_PPROF,
	FORMAT_SPEEDSCOPE,
};

struct flamegraph_args {
	struct fg_svg_opts svg;
	struct fg_parse_opts parse;
	enum output_format format;
	const char *output;
	const char *sample_type;
	bool diff;
	bool strict;
	bool tree;		/* SVG through the frame tree (reference for tests) */
	char **inputs;
	int nr_inputs;
};

enum {
	OPT_TITLE = 256, OPT_SUBTITLE, OPT_WIDTH, OPT_MINWIDTH, OPT_COUNTNAME,
	OPT_REVERSE, OPT_INVERTED, OPT_COLORS, OPT_DIFF, OPT_FORMAT, OPT_STRICT,
	OPT_SAMPLE_TYPE, OPT_NORMALIZE, OPT_TREE,
};

static const struct option long_opts[] = {
	{ "title", required_argument, NULL, OPT_TITLE },
	{ "subtitle", required_argument, NULL, OPT_SUBTITLE },
	{ "width", required_argument, NULL, OPT_WIDTH },
	{ "minwidth", required_argument, NULL, OPT_MINWIDTH },
	{ "countname", required_argument, NULL, OPT_COUNTNAME },
	{ "reverse", no_argument, NULL, OPT_REVERSE },
	{ "inverted", no_argument, NULL, OPT_INVERTED },
	{ "colors", required_argument, NULL, OPT_COLORS },
	{ "colours", required_argument, NULL, OPT_COLORS },
	{ "diff", no_argument, NULL, OPT_DIFF },
	{ "normalize", no_argument, NULL, OPT_NORMALIZE },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "sample-type", required_argument, NULL, OPT_SAMPLE_TYPE },
	{ "strict", no_argument, NULL, OPT_STRICT },
	{ "tree", no_argument, NULL, OPT_TREE },
	{ "output", required_argument, NULL, 'o' },
	{ "help", no_argument, NULL, 'h' },
	{ 0 },
};

static void usage(FILE *out)
{
	fprintf(out,
"Usage: waitprof flamegraph [OPTIONS] [FOLDED...]\n"
"  or:  waitprof flamegraph --diff [OPTIONS] BASE CURRENT\n\n"
"Renders folded stacks (\"frame;frame;... VALUE\", from files or stdin) as an\n"
"interactive SVG flame graph, or exports them as pprof or speedscope.\n\n"
"  -o, --output FILE     write to FILE instead of stdout\n"
"      --format FMT      svg (default), pprof (gzipped profile.proto) or speedscope (JSON)\n"
"      --title TEXT      graph title\n"
"      --subtitle TEXT   second line under the title\n"
"      --width PX        image width (default 1200)\n"
"      --minwidth PX     omit frames narrower than PX pixels (default 0.1),\n"
"                        or under P%% of the total when given as P%%\n"
"      --countname UNIT  unit of the values, e.g. us (default samples)\n"
"      --reverse         reverse every stack (innermost frame at the root)\n"
"      --inverted        icicle graph: root at the top\n"
"      --colors PALETTE  offcpu/io (blues, default), hot, mem\n"
"      --diff            differential graph of two files: BASE then CURRENT\n"
"                        (red grew, blue shrank; width is CURRENT)\n"
"      --normalize       diff: scale BASE to CURRENT's total before comparing\n"
"      --sample-type T   pprof/speedscope value name (default off_cpu, or\n"
"                        samples when --countname is not a time unit)\n"
"      --strict          fail (exit 2) on any malformed line instead of skipping it\n"
"      --tree            draw through a full frame tree (the previous renderer:\n"
"                        same SVG, slower, more memory; kept as a reference)\n"
"  -h, --help            this help\n\n"
"Malformed lines are reported on stderr with their line numbers.\n");
}

static int bad_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "waitprof flamegraph: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see 'waitprof flamegraph --help')\n");
	return 2;
}

static bool parse_uint(const char *s, unsigned int lo, unsigned int hi, unsigned int *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < lo || v > hi)
		return false;
	*out = (unsigned int)v;
	return true;
}

static bool parse_nonneg(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0) || v > 1e9)
		return false;
	*out = v;
	return true;
}

/* "0.1" is pixels; "0.5%" a share of the total, as flamegraph.pl takes. */
static bool parse_minwidth(const char *s, struct fg_svg_opts *svg)
{
	size_t len = strlen(s);
	char number[64];

	if (!len || s[len - 1] != '%')
		return parse_nonneg(s, &svg->minwidth);
	if (len >= sizeof(number))
		return false;
	memcpy(number, s, len - 1);
	number[len - 1] = '\0';
	return parse_nonneg(number, &svg->minwidth_percent) && svg->minwidth_percent <= 100;
}

static int parse_args(int argc, char **argv, struct flamegraph_args *a)
{
	int c;

	fg_svg_opts_default(&a->svg);
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_TITLE: a->svg.title = optarg; break;
		case OPT_SUBTITLE: a->svg.subtitle = optarg; break;
		case OPT_COUNTNAME: a->svg.countname = optarg; break;
		case OPT_REVERSE: a->parse.reverse = true; break;
		case OPT_INVERTED: a->svg.inverted = true; break;
		case OPT_DIFF: a->diff = true; break;
		case OPT_NORMALIZE: a->svg.normalize = true; break;
		case OPT_STRICT: a->strict = true; break;
		case OPT_TREE: a->tree = true; break;
		case OPT_SAMPLE_TYPE: a->sample_type = optarg; break;
		case 'o': a->output = optarg; break;
		case 'h': usage(stdout); return 1;
		case OPT_WIDTH:
			if (!parse_uint(optarg, 100, 1000000, &a->svg.width))
				return bad_usage("--width wants pixels from 100 to 1000000, not '%s'", optarg);
			break;
		case OPT_MINWIDTH:
			if (!parse_minwidth(optarg, &a->svg))
				return bad_usage("--minwidth wants pixels >= 0 or a percentage, not '%s'", optarg);
			break;
		case OPT_COLORS:
			if (!fg_palette_parse(optarg, &a->svg.palette))
				return bad_usage("unknown palette '%s' (offcpu, io, hot, mem)", optarg);
			break;
		case OPT_FORMAT:
			if (!strcmp(optarg, "svg"))
				a->format = FORMAT_SVG;
			else if (!strcmp(optarg, "pprof"))
				a->format = FORMAT_PPROF;
			else if (!strcmp(optarg, "speedscope"))
				a->format = FORMAT_SPEEDSCOPE;
			else
				return bad_usage("unknown format '%s' (svg, pprof, speedscope)", optarg);
			break;
		default:
			return bad_usage("%s", "bad option");
		}
	}
	a->inputs = argv + optind;
	a->nr_inputs = argc - optind;
	if (a->diff && a->nr_inputs != 2)
		return bad_usage("%s", "--diff wants exactly two files: BASE CURRENT");
	return 0;
}

/* A recording reads as its folded stacks (src/report/diff_folded.c). */
static FILE *open_input(const char *path)
{
	FILE *in;
	char why[512];

	if (!strcmp(path, "-"))
		return stdin;
	in = diff_folded_open(path, why, sizeof(why));
	if (!in && why[0]) {
		fprintf(stderr, "waitprof flamegraph: %s\n", why);
		return NULL;
	}
	if (!in)
		in = fopen(path, "r");
	if (!in)
		fprintf(stderr, "waitprof flamegraph: cannot open %s: %s\n", path, strerror(errno));
	return in;
}

static int read_error(const char *path, int err)
{
	if (err == -ENOMEM)
		fprintf(stderr, "waitprof flamegraph: out of memory reading %s\n", path);
	else if (err)
		fprintf(stderr, "waitprof flamegraph: error reading %s: %s\n", path, strerror(-err));
	return err ? 2 : 0;
}

/* SVG input goes to the compact stacks, anything else to a frame tree. */
static int read_input(struct fg_tree *tree, struct fg_stacks *stacks, const char *path,
		      enum fg_column col)
{
	const char *source = strcmp(path, "-") ? path : "<stdin>";
	FILE *in = open_input(path);
	int err;

	if (!in)
		return 2;
	if (stacks)
		err = fg_stacks_read(stacks, in, source, col);
	else
		err = fg_parse_file(tree, in, source, col);
	if (in != stdin)
		fclose(in);
	return read_error(path, err);
}

static int read_inputs(struct fg_tree *tree, struct fg_stacks *stacks,
		       const struct flamegraph_args *a)
{
	int i, rc;

	if (!a->nr_inputs)
		return read_input(tree, stacks, "-", FG_CURRENT);
	for (i = 0; i < a->nr_inputs; i++) {
		enum fg_column col = a->diff && i == 0 ? FG_BASE : FG_CURRENT;

		rc = read_input(tree, stacks, a->inputs[i], col);
		if (rc)
			return rc;
	}
	return 0;
}

/* pprof and speedscope carry nanoseconds when the folded unit is a time. */
static int write_profile(FILE *out, const struct fg_tree *tree, const struct flamegraph_args *a)
{
	struct profile prof;
	int err;

	err = prof_from_folded(&prof, tree, a->sample_type, a->svg.countname);
	if (err == -EINVAL) {
		fprintf(stderr, "waitprof flamegraph: --diff cannot be exported as %s\n",
			a->format == FORMAT_PPROF ? "pprof" : "speedscope");
		return 2;
	}
	if (!err)
		err = a->format == FORMAT_PPROF ? prof_write_pprof(out, &prof) :
						  prof_write_speedscope(out, &prof);
	prof_free(&prof);
	return err;
}

static int write_output(const struct fg_tree *tree, struct fg_stacks *stacks,
			const struct flamegraph_args *a)
{
	FILE *out = stdout;
	int err;

	if (a->output) {
		out = fopen(a->output, "w");
		if (!out) {
			fprintf(stderr, "waitprof flamegraph: cannot create %s: %s\n", a->output,
				strerror(errno));
			return 2;
		}
	}
	setvbuf(out, NULL, _IOFBF, 1 << 20);
	if (stacks)
		err = fg_stacks_render_svg(out, stacks, &a->svg);
	else if (a->format == FORMAT_SVG)
		err = fg_render_svg(out, tree, &a->svg);
	else
		err = write_profile(out, tree, a);
	if (out != stdout && fclose(out) && !err)
		err = -EIO;
	if (err == 2)
		return 2;
	if (err) {
		fprintf(stderr, "waitprof flamegraph: cannot write %s: %s\n",
			a->output ? a->output : "output", strerror(-err));
		return 2;
	}
	return 0;
}

int cmd_flamegraph(int argc, char **argv)
{
	struct flamegraph_args a = { 0 };
	struct fg_tree tree = { 0 };
	struct fg_stacks stacks = { 0 }, *sp = NULL;
	uint64_t nr_stacks, nr_bad;
	int rc;

	rc = parse_args(argc, argv, &a);
	if (rc)
		return rc == 1 ? 0 : rc;
	/* SVG needs only what can be drawn: the compact stacks (flamegraph/stacks.h). */
	if (a.format == FORMAT_SVG && !a.tree) {
		fg_stacks_init(&stacks, &a.parse);
		sp = &stacks;
	} else if (fg_tree_init(&tree, &a.parse)) {
		fprintf(stderr, "waitprof flamegraph: out of memory\n");
		return 2;
	}
	rc = read_inputs(&tree, sp, &a);
	if (rc)
		goto cleanup;
	if (sp)
		fg_stacks_report_bad(sp, stderr);
	else
		fg_tree_report_bad(&tree, stderr);
	nr_bad = sp ? fg_stacks_bad(sp) : tree.nr_bad;
	nr_stacks = sp ? fg_stacks_count(sp) : tree.nr_stacks;
	if (nr_bad && a.strict) {
		fprintf(stderr, "waitprof flamegraph: malformed input (--strict)\n");
		rc = 2;
		goto cleanup;
	}
	if (!nr_stacks) {
		fprintf(stderr, "waitprof flamegraph: no stacks in the input\n");
		rc = 2;
		goto cleanup;
	}
	rc = write_output(&tree, sp, &a);
cleanup:
	if (sp)
		fg_stacks_free(sp);
	else
		fg_tree_free(&tree);
	return rc;
}
