// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * waitprof tail: where the slow calls of a function waited, against the
 * typical ones. Every call of the target is a span on its thread; the
 * kernel splits it into on-CPU, runnable and blocked time by wait site
 * (bpf/tail.bpf.c), and the report compares the latency bands.
 */
#include <argp.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bpf_env.h"
#include "commands.h"
#include "funclat_targets.h"
#include "launcher.h"
#include "output_file.h"
#include "recording.h"
#include "report_writers.h"
#include "session.h"
#include "tail_bands.h"
#include "tail_collector.h"
#include "target.h"
#include "util.h"

#define MAX_PIDS	64

struct tail_args {
	struct target target;	/* -p or the command */
	double duration_s;
	const struct report_writer *writer;	/* -F */
	const char *output;
	const char *trace_file;	/* --trace: the waterfall as Chrome trace JSON */
	uint64_t waterfall;	/* -w: the slowest calls shown one by one */
	char **targets;
	int nr_targets;
	char **command;
	bool raw_tp;
	bool unwind_fp;
	int verbose;
	bool quiet;
};

enum { OPT_RAW_TP = 1000, OPT_UNWIND, OPT_TRACE };

#define DEFAULT_WATERFALL	3
#define MAX_WATERFALL		1000000

static const struct argp_option tail_options[] = {
	{ "pid", 'p', "PID[,PID...]", 0, "Trace these processes (default: the command)" },
	{ "duration", 'd', "SECONDS", 0, "Stop after SECONDS (default: Ctrl-C or the command's exit)" },
	{ "format", 'F', "FMT", 0, "text (default), json or html" },
	{ "output", 'o', "FILE", 0, "Write the report to FILE (default: stdout)" },
	{ "waterfall", 'w', "N", 0, "Show the timeline of the N slowest calls of each target: each wait with its reason and duration, each runnable stretch, on CPU between (default 3; 0: none)" },
	{ "trace", OPT_TRACE, "FILE", 0, "Also write those timelines as Chrome trace-event JSON (Perfetto UI, chrome://tracing) to FILE" },
	{ "raw-tp", OPT_RAW_TP, NULL, 0, "Use raw_tp/sched_switch even where tp_btf works" },
	{ "unwind", OPT_UNWIND, "cfi|fp", 0, "User stacks from call frame information (default) or frame pointers only" },
	{ "verbose", 'v', NULL, 0, "More messages (twice: libbpf debug output)" },
	{ "quiet", 'q', NULL, 0, "Only errors on stderr" },
	{},
};

static error_t parse_tail_opt(int key, char *arg, struct argp_state *state)
{
	struct tail_args *a = state->input;

	switch (key) {
	case 'p':
		a->target.nr_pids = parse_id_list(arg, a->target.pids, MAX_PIDS);
		a->target.filter_pids = true;
		if (a->target.nr_pids <= 0)
			argp_failure(state, 2, 0, "invalid PID list '%s' (at most %d)", arg, MAX_PIDS);
		break;
	case 'd':
		if (!parse_double(arg, &a->duration_s) || a->duration_s <= 0)
			argp_failure(state, 2, 0, "invalid duration '%s' (seconds, > 0)", arg);
		break;
	case 'F':
		a->writer = report_writer_find_tail(arg);
		if (!a->writer)
			argp_failure(state, 2, 0, "invalid format '%s' (text, json, html)", arg);
		break;
	case 'o': a->output = arg; break;
	case 'w':
		if (!parse_u64(arg, &a->waterfall) || a->waterfall > MAX_WATERFALL)
			argp_failure(state, 2, 0, "invalid --waterfall '%s' (0 to %d)", arg,
				     MAX_WATERFALL);
		break;
	case OPT_TRACE: a->trace_file = arg; break;
	case OPT_RAW_TP: a->raw_tp = true; break;
	case OPT_UNWIND:
		if (strcmp(arg, "cfi") && strcmp(arg, "fp"))
			argp_failure(state, 2, 0, "invalid --unwind '%s' (cfi, fp)", arg);
		a->unwind_fp = !strcmp(arg, "fp");
		break;
	case 'v': a->verbose++; break;
	case 'q': a->quiet = true; break;
	case ARGP_KEY_ARG:
		a->targets[a->nr_targets++] = arg;
		break;
	case ARGP_KEY_END:
		if (!a->nr_targets)
			argp_failure(state, 2, 0, "no TARGET (e.g. ./app:handle_request, libpq:PQexec)");
		if (a->command && a->target.nr_pids)
			argp_failure(state, 2, 0, "give -p or a command, not both");
		if (!a->command && !a->target.nr_pids)
			argp_failure(state, 2, 0, "give -p PID or -- COMMAND");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp tail_argp = {
	.options = tail_options,
	.parser = parse_tail_opt,
	.args_doc = "TARGET... [-- COMMAND [ARGS...]]",
	.doc = "Where the slow calls of a function waited, against the typical ones: each "
	       "call's time split into on-CPU, runnable and blocked by reason (the lock, or "
	       "the kernel function and the application frame), by latency band.\v"
	       "TARGET is PATH:FUNC or LIB:FUNC, as funclat takes it (functions only).\n\n"
	       "Examples:\n"
	       "  $ waitprof tail ./app:handle_request -- ./app\n"
	       "  $ waitprof tail -p 1234 -d 10 -F json -o tail.json ./app:handle_request\n"
	       "  $ waitprof tail -w 5 --trace slow.json ./app:handle_request -- ./app\n\n"
	       "A futex wait (a lock, a condition variable) ended by another traced thread is "
	       "followed one level (off-wake): the report says what that thread was doing "
	       "meanwhile (blocked where, runnable, on CPU).",
};

/* Splits "TARGET... -- COMMAND": argp cannot tell targets from the command. */
static int split_command(int argc, char **argv, struct tail_args *a)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--"))
			continue;
		if (i + 1 < argc)
			a->command = argv + i + 1;
		return i;
	}
	return argc;
}

static int attach_plan(struct tail_collector *c, const struct funclat_plan *plan)
{
	size_t i;
	int err;

	if (plan->nr_targets > TAIL_MAX_TARGETS) {
		err_msg("at most %d targets", TAIL_MAX_TARGETS);
		return -E2BIG;
	}
	if (plan->nr_syscalls) {
		err_msg("tail times functions; for a syscall, give the function that calls it");
		return -EINVAL;
	}
	for (i = 0; i < plan->nr_probes; i++) {
		const struct funclat_probe *p = &plan->probes[i];

		err = tail_attach_uprobe(c, p->target, p->pid, p->path, p->offset);
		if (err) {
			err_msg("cannot attach a uprobe to %s in %s: %s",
				plan->targets[p->target].func, p->path, strerror(-err));
			return err;
		}
	}
	return 0;
}

static int tail_loop_poll(void *ctx)
{
	struct tail_collector *c = ctx;

	return tail_poll(c, tail_next_due_ms(c, 100));
}

/* The processes' maps are re-read as record's tracker schedules them
 * (after exec and new mappings, then every few seconds). */
static bool tail_loop_tick(void *ctx)
{
	tail_refresh(ctx);
	return true;
}

static int trace(struct tail_args *a, struct tail_collector *c, struct launcher *child,
		 size_t nr_probes, __u64 *duration_ns)
{
	struct session session = { .duration_s = a->duration_s, .child = child,
				   .poll = tail_loop_poll, .tick = tail_loop_tick, .ctx = c };
	char what[160];
	int err;

	snprintf(what, sizeof(what), "splitting the calls of %d target%s (%zu function%s, %s, %s)",
		 a->nr_targets, a->nr_targets == 1 ? "" : "s", nr_probes,
		 nr_probes == 1 ? "" : "s",
		 tail_btf_mode(c) ? "tp_btf/sched_switch" : "raw_tp/sched_switch",
		 tail_unwinds_cfi(c) ? "CFI stacks" : "frame-pointer stacks");
	session.what = what;
	err = session_run(&session);
	*duration_ns = now_ns() - session.start_ns;
	return err;
}

static int write_trace(const struct tail_args *a, const struct tail_output *o)
{
	FILE *out = output_open(a->trace_file, false);
	int err;

	if (!out) {
		err_msg("cannot write %s: %s", a->trace_file, strerror(errno));
		return -errno;
	}
	err = tail_write_chrome_trace(out, o);
	if (fclose(out) || err) {
		err_msg("cannot write %s: %s", a->trace_file, strerror(err ? -err : errno));
		return -EIO;
	}
	return 0;
}

static int write_report(const struct tail_args *a, const struct tail_output *o)
{
	FILE *out = stdout;

	if (a->trace_file) {
		int err = write_trace(a, o);

		if (err)
			return err;
	}
	if (a->output) {
		out = output_open(a->output, false);
		if (!out) {
			err_msg("cannot write %s: %s", a->output, strerror(errno));
			return -errno;
		}
	}
	a->writer->tail(out, o);
	if (out != stdout && fclose(out)) {
		err_msg("cannot write %s: %s", a->output, strerror(errno));
		return -EIO;
	}
	return 0;
}

static int report(const struct tail_args *a, struct tail_data *d)
{
	struct tail_result *res = NULL;
	struct tail_output o;
	int err;

	err = tail_analyze(d, (size_t)a->waterfall, &res);
	if (err) {
		err_msg("cannot analyze the calls: %s", strerror(-err));
		return err;
	}
	o = (struct tail_output){ .res = res, .nr = d->nr_targets, .data = d };
	err = write_report(a, &o);
	tail_results_free(res, d->nr_targets);
	return err;
}

static int run(struct tail_args *a)
{
	struct tail_opts o = { .target = &a->target, .force_raw_tp = a->raw_tp,
			       .unwind_fp = a->unwind_fp };
	struct tail_collector *c = NULL;
	struct launcher *child = NULL;
	struct funclat_plan plan = {};
	struct tail_data d = {};
	size_t i;
	int err;

	if (a->command) {
		err = launcher_prepare(&child, a->command);
		if (err)
			return err;
		target_set_command(&a->target, launcher_pid(child));
	}
	err = funclat_plan_build(&plan, a->targets, a->nr_targets, a->target.pids,
				 a->target.nr_pids);
	if (!err)
		err = tail_open(&c, &o);
	for (i = 0; !err && i < (size_t)a->target.nr_pids; i++) {
		err = tail_trace_tgid(c, a->target.pids[i]);
		if (!a->command)
			tail_note_process(c, a->target.pids[i], false);
	}
	if (!err)
		err = attach_plan(c, &plan);
	if (!err)
		err = trace(a, c, child, plan.nr_probes, &d.duration_ns);
	if (err)
		goto cleanup;
	d.nr_targets = plan.nr_targets;
	d.targets = calloc(plan.nr_targets ? plan.nr_targets : 1, sizeof(*d.targets));
	if (!d.targets) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (i = 0; i < plan.nr_targets; i++)
		d.targets[i] = plan.targets[i].label;
	err = tail_finish(c, &d);
	if (err) {
		err_msg("cannot read the calls: %s", strerror(-err));
		goto cleanup;
	}
	err = report(a, &d);
cleanup:
	free(d.targets);
	free(d.calls);
	rec_free(d.rec);
	tail_destroy(c);
	funclat_plan_free(&plan);
	launcher_free(child, err != 0);
	return err;
}

int cmd_tail(int argc, char **argv)
{
	struct tail_args a = { .writer = report_writer_find_tail("text"),
			       .waterfall = DEFAULT_WATERFALL,
			       .target.follow_forks = true };
	int nargs, err;

	nargs = split_command(argc, argv, &a);
	a.targets = calloc(nargs + 1, sizeof(*a.targets));
	if (!a.targets)
		return 1;
	if (argp_parse(&tail_argp, nargs, argv, 0, NULL, &a)) {
		free(a.targets);
		return 2;
	}
	util_quiet = a.quiet;
	util_verbose = a.verbose;
	bpf_env_init(a.verbose);
	err = bpf_env_check();
	if (!err)
		err = target_check_exist(&a.target);
	if (!err)
		err = run(&a);
	free(a.targets);
	return err ? 1 : 0;
}
