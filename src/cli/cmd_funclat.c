// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * waitprof funclat: the latency of functions (uprobes) and syscalls (raw
 * syscall tracepoints) as log-linear histograms with a modality verdict,
 * and for a bimodal target the callers of its slow calls.
 */
#include <argp.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpf_env.h"
#include "commands.h"
#include "funclat_collector.h"
#include "funclat_procs.h"
#include "funclat_report.h"
#include "report_writers.h"
#include "session.h"
#include "target.h"
#include "funclat_stacks.h"
#include "funclat_targets.h"
#include "launcher.h"
#include "output_file.h"
#include "recording.h"
#include "util.h"

#define MAX_PIDS		64
#define COST_CALLS		2000
#define RATE_CHECK_MS		100

struct funclat_args {
	struct target target;	/* -p or the command, -m */
	double duration_s;
	const struct report_writer *writer;	/* --format */
	const char *output;
	char **targets;
	int nr_targets;
	char **command;
	uint32_t sample_every;
	double max_rate;
	bool no_stacks;
	bool all_stacks;
	bool no_cost;
	bool no_session;
	bool unwind_fp;
	uint32_t unwind_rows;
	int verbose;
	bool quiet;
};

enum {
	OPT_FORMAT = 1000, OPT_SAMPLE, OPT_MAX_RATE, OPT_NO_STACKS, OPT_STACKS, OPT_NO_COST,
	OPT_NO_SESSION, OPT_UNWIND, OPT_UNWIND_ROWS,
};

static const struct argp_option funclat_options[] = {
	{ "pid", 'p', "PID[,PID...]", 0, "Trace these processes (default: every process, or the command)" },
	{ "duration", 'd', "SECONDS", 0, "Stop after SECONDS (default: Ctrl-C or the command's exit)" },
	{ "min", 'm', "MIN_US", 0, "Leave out calls shorter than MIN_US microseconds (counted)" },
	{ "format", OPT_FORMAT, "FMT", 0, "text (default), json or csv" },
	{ "output", 'o', "FILE", 0, "Write the report to FILE (default: stdout)" },
	{ "sample", OPT_SAMPLE, "N", 0, "Time 1 in N calls per thread, chosen at random (every hit still traps)" },
	{ "max-rate", OPT_MAX_RATE, "CALLS_PER_SEC", 0, "Switch to sampling when calls come faster than this, and say so" },
	{ "no-stacks", OPT_NO_STACKS, NULL, 0, "Do not take the user stack at entry (no slow-call callers)" },
	{ "stacks", OPT_STACKS, NULL, 0, "Also list the callers of all calls of every target (JSON: \"stacks\")" },
	{ "no-session", OPT_NO_SESSION, NULL, 0, "Separate uprobes and uretprobes even where uprobe sessions exist (kernel 6.13+)" },
	{ "unwind", OPT_UNWIND, "cfi|fp", 0, "User stacks from call frame information (default; works without frame pointers) or frame pointers only" },
	{ "unwind-rows", OPT_UNWIND_ROWS, "N", 0, "CFI rows kept in the kernel (default 1048576, 8 bytes each)" },
	{ "no-cost", OPT_NO_COST, NULL, 0, "Do not measure the per-call probe cost at start" },
	{ "verbose", 'v', NULL, 0, "More messages (twice: libbpf debug output)" },
	{ "quiet", 'q', NULL, 0, "Only errors on stderr" },
	{},
};

static error_t parse_funclat_opt(int key, char *arg, struct argp_state *state)
{
	struct funclat_args *a = state->input;
	char names[64];
	uint64_t v;
	double us;

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
	case 'm':
		if (!parse_double(arg, &us) || us < 0 || us > 1e12)
			argp_failure(state, 2, 0, "invalid -m '%s' (microseconds)", arg);
		a->target.min_ns = (uint64_t)(us * 1000.0);
		break;
	case OPT_FORMAT:
		a->writer = report_writer_find(arg, true);
		if (!a->writer)
			argp_failure(state, 2, 0, "invalid --format '%s' (%s)", arg,
				     report_writer_names(names, sizeof(names), true));
		break;
	case 'o': a->output = arg; break;
	case OPT_SAMPLE:
		if (!parse_u64(arg, &v) || v < 1 || v > 1000000000)
			argp_failure(state, 2, 0, "invalid --sample '%s' (1 in N, N >= 1)", arg);
		a->sample_every = (uint32_t)v;
		break;
	case OPT_MAX_RATE:
		if (!parse_double(arg, &a->max_rate) || a->max_rate < 1)
			argp_failure(state, 2, 0, "invalid --max-rate '%s' (calls per second, >= 1)", arg);
		break;
	case OPT_NO_STACKS: a->no_stacks = true; break;
	case OPT_STACKS: a->all_stacks = true; break;
	case OPT_NO_COST: a->no_cost = true; break;
	case OPT_NO_SESSION: a->no_session = true; break;
	case OPT_UNWIND:
		if (strcmp(arg, "cfi") && strcmp(arg, "fp"))
			argp_failure(state, 2, 0, "invalid --unwind '%s' (cfi, fp)", arg);
		a->unwind_fp = !strcmp(arg, "fp");
		break;
	case OPT_UNWIND_ROWS:
		if (!parse_u64(arg, &v) || v < 1024 || v > (1u << 24))
			argp_failure(state, 2, 0, "invalid --unwind-rows '%s' (1024 to 16777216)", arg);
		a->unwind_rows = (uint32_t)v;
		break;
	case 'v': a->verbose++; break;
	case 'q': a->quiet = true; break;
	case ARGP_KEY_ARG:
		a->targets[a->nr_targets++] = arg;
		break;
	case ARGP_KEY_END:
		if (!a->nr_targets)
			argp_failure(state, 2, 0, "no TARGET (e.g. c:write, ./app:journal_append, syscall:read)");
		if (a->command && a->target.nr_pids)
			argp_failure(state, 2, 0, "give -p or a command, not both");
		if (a->all_stacks && a->no_stacks)
			argp_failure(state, 2, 0, "--stacks needs stacks (drop --no-stacks)");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp funclat_argp = {
	.options = funclat_options,
	.parser = parse_funclat_opt,
	.args_doc = "TARGET... [-- COMMAND [ARGS...]]",
	.doc = "Latency of functions and syscalls: histogram, percentiles, modality, and the "
	       "callers of the slow calls of a bimodal target.\v"
	       "TARGET is LIB:FUNC (c or libc: the C library; libpq: libpq.so*), PATH:FUNC, a glob "
	       "over function names (c:pthread_mutex_*), or syscall:NAME. Every probed call traps "
	       "into the kernel (about 20 us on a VM, measured at start and reported).\n\n"
	       "Examples:\n"
	       "  $ waitprof funclat -p 1234 -d 10 c:fdatasync\n"
	       "  $ waitprof funclat ./app:journal_append syscall:fdatasync -- ./app\n"
	       "  $ waitprof funclat --format json -o lat.json 'c:pthread_mutex_*' -p 1234",
};

/* Where process notifications go; procs is set once the object is loaded. */
struct notify_ctx {
	struct funclat_stacks *stacks;
	struct funclat_procs *procs;
};

/* Past its first stack (an exec, a fork, code mapped since the last read), a
 * process's maps change now: read them again shortly. */
static void on_notify(void *ctx, const struct proc_notify *n)
{
	struct notify_ctx *nc = ctx;

	if (nc->procs)
		funclat_procs_note(nc->procs, n->tgid, n->type != PROC_NOTIFY_NEW);
	else
		funclat_stacks_note_process(nc->stacks, n->tgid);
}

static int attach_plan(struct funclat_collector *c, const struct funclat_plan *plan)
{
	size_t i;
	int err;

	for (i = 0; i < plan->nr_probes; i++) {
		const struct funclat_probe *p = &plan->probes[i];

		err = funclat_attach_uprobe(c, p->target, p->pid, p->path, p->offset);
		if (err) {
			err_msg("cannot attach a uprobe to %s in %s%s%.0d: %s",
				plan->targets[p->target].func, p->path,
				p->pid > 0 ? " for process " : "", p->pid > 0 ? p->pid : 0,
				strerror(-err));
			return err;
		}
	}
	for (i = 0; i < plan->nr_targets; i++) {
		if (plan->targets[i].syscall_nr < 0)
			continue;
		err = funclat_add_syscall(c, i, plan->targets[i].syscall_nr);
		if (err) {
			err_msg("cannot trace %s: %s", plan->targets[i].label, strerror(-err));
			return err;
		}
	}
	return funclat_attach_syscalls(c);
}

/* --max-rate: sample so that timed calls stay under the rate. */
static void check_rate(struct funclat_collector *c, const struct funclat_args *a,
		       uint64_t *last_ns, uint64_t *last_entries, bool *switched)
{
	uint64_t now = now_ns(), entries, every;
	double rate;

	if (a->max_rate <= 0 || now - *last_ns < RATE_CHECK_MS * 1000000ULL)
		return;
	entries = funclat_entries(c, FUNCLAT_MAX_TARGETS);
	rate = (double)(entries - *last_entries) * 1e9 / (double)(now - *last_ns);
	*last_ns = now;
	*last_entries = entries;
	every = (uint64_t)ceil(rate / a->max_rate);
	if (every <= funclat_sample(c))
		return;
	funclat_set_sample(c, (uint32_t)(every > 1000000000 ? 1000000000 : every));
	*switched = true;
	info_msg("--max-rate: %.0f calls/s is above %.0f: now timing 1 in %llu calls "
		 "(each call still traps)", rate, a->max_rate, (unsigned long long)every);
}

static int build_results(struct funclat_collector *c, const struct funclat_plan *plan,
			 struct funclat_stacks *stacks, bool all_stacks, struct funclat_result *res)
{
	size_t i;
	int err;

	for (i = 0; i < plan->nr_targets; i++) {
		struct funclat_result *r = &res[i];

		r->label = plan->targets[i].label;
		r->is_syscall = plan->targets[i].syscall_nr >= 0;
		err = funclat_read_hist(c, i, r->counts, r->sums, &r->max_ns);
		if (err)
			return err;
		r->entries = funclat_entries(c, i);
		funclat_result_finish(r);
		if (r->slow_above_ns > 0)
			err = funclat_stacks_slow(stacks, c, i, plan->targets[i].func,
						  r->is_syscall, r->slow_above_ns, &r->slow,
						  &r->nr_slow);
		if (!err && all_stacks)
			err = funclat_stacks_slow(stacks, c, i, plan->targets[i].func,
						  r->is_syscall, 0, &r->callers, &r->nr_callers);
		if (err)
			return err;
	}
	return 0;
}

static void fill_cost(struct funclat_cost *cost, struct funclat_collector *c,
		      const struct funclat_plan *plan, const struct funclat_result *res)
{
	size_t i;

	for (i = 0; i < plan->nr_targets; i++) {
		if (res[i].is_syscall)
			cost->syscall_calls += res[i].entries;
		else
			cost->probed_calls += res[i].entries;
	}
	cost->sample_every = funclat_sample(c);
}

static int write_report(const struct funclat_args *a, const struct funclat_result *res,
			size_t nr, const struct funclat_cost *cost, const __u64 counters[FCNT_NR],
			const struct recording *named)
{
	struct funclat_output f = { .res = res, .nr = nr, .cost = cost, .counters = counters,
				    .named = named };
	FILE *out = stdout;

	if (a->output) {
		out = output_open(a->output, false);
		if (!out) {
			err_msg("cannot write %s: %s", a->output, strerror(errno));
			return -errno;
		}
	}
	a->writer->funclat(out, &f);
	if (out != stdout && fclose(out)) {
		err_msg("cannot write %s: %s", a->output, strerror(errno));
		return -EIO;
	}
	return 0;
}

/* Splits "TARGET... -- COMMAND": argp cannot tell targets from the command. */
static int split_command(int argc, char **argv, struct funclat_args *a)
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

static void measure_cost(struct funclat_collector *c, struct funclat_cost *cost)
{
	int err;

	info_msg("measuring the cost of a probed call...");
	err = funclat_measure_cost(c, COST_CALLS, &cost->per_call_ns);
	if (err) {
		info_msg("cannot measure the probe cost: %s", strerror(-err));
		cost->per_call_ns = -1;
		return;
	}
	cost->empty_call_ns = funclat_empty_call_ns(c);
	info_msg("each probed call costs about %.1f us here", cost->per_call_ns / 1000.0);
}

/* What runs between polls while tracing (session.h). */
struct funclat_loop {
	const struct funclat_args *a;
	struct funclat_collector *c;
	struct notify_ctx *nc;
	struct funclat_cost *cost;
	bool has_child;
	uint64_t rate_ns, rate_entries, maps_ns;
};

static int funclat_loop_poll(void *ctx)
{
	struct funclat_loop *l = ctx;

	return funclat_poll(l->c, l->nc->procs ? funclat_procs_next_due_ms(l->nc->procs, 100) :
						 100);
}

static bool funclat_loop_tick(void *ctx)
{
	struct funclat_loop *l = ctx;

	check_rate(l->c, l->a, &l->rate_ns, &l->rate_entries, &l->cost->max_rate_switched);
	if (l->nc->procs)
		funclat_procs_refresh(l->nc->procs);
	/* The command's maps while it lives: it may exit at any time. */
	if (l->has_child && now_ns() - l->maps_ns > 1000000000ULL) {
		funclat_stacks_note_process(l->nc->stacks, l->a->target.pids[0]);
		l->maps_ns = now_ns();
	}
	return true;
}

/* Until the duration ends, the command exits or a signal comes. */
static int trace(struct funclat_args *a, const struct funclat_plan *plan,
		 struct funclat_collector *c, struct launcher *child, struct notify_ctx *nc,
		 struct funclat_cost *cost)
{
	struct funclat_loop loop = { .a = a, .c = c, .nc = nc, .cost = cost,
				     .has_child = child != NULL, .rate_ns = now_ns() };
	struct session session = { .duration_s = a->duration_s, .child = child,
				   .poll = funclat_loop_poll, .tick = funclat_loop_tick,
				   .ctx = &loop };
	char what[160];
	int err;

	snprintf(what, sizeof(what), "timing %zu target%s (%zu function%s, %s)", plan->nr_targets,
		 plan->nr_targets == 1 ? "" : "s", plan->nr_probes, plan->nr_probes == 1 ? "" : "s",
		 funclat_uses_session(c) ? "uprobe sessions: no return trap for calls not sampled" :
		 "uprobe + uretprobe");
	session.what = what;
	err = session_run(&session);
	if (err)
		return err;
	cost->duration_ns = now_ns() - session.start_ns;
	funclat_detach(c);
	return 0;
}

/*
 * Stacks need the processes' maps, and with CFI their unwind tables: for
 * -p now, before any probe fires; the command's after its exec (until then
 * it is a copy of waitprof); others as BPF reports them.
 */
static int start_procs(struct funclat_args *a, struct funclat_collector *c,
		       struct notify_ctx *nc)
{
	int i;

	if (a->no_stacks)
		return 0;
	nc->procs = funclat_procs_new(c, nc->stacks);
	if (!nc->procs) {
		err_msg("out of memory for process maps and unwind tables");
		return -ENOMEM;
	}
	for (i = 0; i < a->target.nr_pids && !a->command; i++)
		funclat_procs_note(nc->procs, a->target.pids[i], false);
	return 0;
}

static int start(struct funclat_args *a, const struct funclat_plan *plan,
		 struct notify_ctx *nc, struct funclat_collector **out,
		 struct funclat_cost *cost)
{
	struct funclat_opts o = {
		.target = &a->target, .sample_every = a->sample_every, .no_stacks = a->no_stacks,
		.no_session = a->no_session, .syscalls = plan->nr_syscalls > 0,
		.unwind_fp = a->unwind_fp, .unwind_rows = a->unwind_rows,
	};
	int i, err;

	err = funclat_open(out, &o, on_notify, nc);
	for (i = 0; i < a->target.nr_pids && !err; i++)
		err = funclat_trace_tgid(*out, a->target.pids[i]);
	if (!err)
		err = start_procs(a, *out, nc);
	if (err)
		return err;
	if (!a->no_cost)
		measure_cost(*out, cost);
	return attach_plan(*out, plan);
}

static int run(struct funclat_args *a)
{
	struct funclat_cost cost = { .per_call_ns = -1, .empty_call_ns = -1,
				     .max_rate = a->max_rate };
	struct funclat_result *res = NULL;
	struct funclat_collector *c = NULL;
	struct notify_ctx nc = {};
	struct recording *named = NULL;
	struct launcher *child = NULL;
	struct funclat_plan plan = {};
	__u64 counters[FCNT_NR] = {};
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
	if (err)
		goto cleanup;
	nc.stacks = funclat_stacks_new();
	named = rec_new();
	res = calloc(plan.nr_targets, sizeof(*res));
	if (!nc.stacks || !named || !res) {
		err = -ENOMEM;
		goto cleanup;
	}
	err = start(a, &plan, &nc, &c, &cost);
	if (!err)
		err = trace(a, &plan, c, child, &nc, &cost);
	if (err)
		goto cleanup;
	funclat_read_counters(c, counters);
	if (nc.procs)
		err = funclat_procs_report(nc.procs, c, named);
	if (!err)
		err = build_results(c, &plan, nc.stacks, a->all_stacks, res);
	if (err) {
		err_msg("cannot read the BPF maps: %s", strerror(-err));
		goto cleanup;
	}
	fill_cost(&cost, c, &plan, res);
	err = write_report(a, res, plan.nr_targets, &cost, counters, named);
cleanup:
	for (i = 0; res && i < plan.nr_targets; i++)
		funclat_result_free(&res[i]);
	free(res);
	funclat_destroy(c);
	funclat_procs_free(nc.procs);
	funclat_stacks_free(nc.stacks);
	rec_free(named);
	funclat_plan_free(&plan);
	launcher_free(child, err != 0);
	return err;
}

int cmd_funclat(int argc, char **argv)
{
	struct funclat_args a = { .writer = report_writer_find("text", true),
				  .target.follow_forks = true };
	int nargs, err;

	nargs = split_command(argc, argv, &a);
	a.targets = calloc(nargs + 1, sizeof(*a.targets));
	if (!a.targets)
		return 1;
	if (argp_parse(&funclat_argp, nargs, argv, 0, NULL, &a)) {
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
