// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * waitprof funclat: the latency of functions (uprobes) and syscalls (raw
 * syscall tracepoints) as log-linear histograms with a modality verdict,
 * and for a bimodal target the callers of its slow calls.
 */
#include <argp.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpf_env.h"
#include "commands.h"
#include "funclat_collector.h"
#include "funclat_procs.h"
#include "funclat_report.h"
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
	int pids[MAX_PIDS];
	int nr_pids;
	double duration_s;
	uint64_t min_ns;
	enum funclat_format format;
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

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
	stop_signal = sig;
}

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
	uint64_t v;
	double us;

	switch (key) {
	case 'p':
		a->nr_pids = parse_id_list(arg, a->pids, MAX_PIDS);
		if (a->nr_pids <= 0)
			argp_failure(state, 2, 0, "invalid PID list '%s' (at most %d)", arg, MAX_PIDS);
		break;
	case 'd':
		if (!parse_double(arg, &a->duration_s) || a->duration_s <= 0)
			argp_failure(state, 2, 0, "invalid duration '%s' (seconds, > 0)", arg);
		break;
	case 'm':
		if (!parse_double(arg, &us) || us < 0 || us > 1e12)
			argp_failure(state, 2, 0, "invalid -m '%s' (microseconds)", arg);
		a->min_ns = (uint64_t)(us * 1000.0);
		break;
	case OPT_FORMAT:
		if (!strcmp(arg, "text"))
			a->format = FUNCLAT_TEXT;
		else if (!strcmp(arg, "json"))
			a->format = FUNCLAT_JSON;
		else if (!strcmp(arg, "csv"))
			a->format = FUNCLAT_CSV;
		else
			argp_failure(state, 2, 0, "invalid --format '%s' (text, json or csv)", arg);
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
		if (a->command && a->nr_pids)
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
	       "into the kernel (about 20 us on a VM, measured at start and reported).\n"
	       "Examples:\n"
	       "  waitprof funclat -p 1234 -d 10 c:fdatasync\n"
	       "  waitprof funclat ./app:journal_append syscall:fdatasync -- ./app\n"
	       "  waitprof funclat --format json -o lat.json 'c:pthread_mutex_*' -p 1234",
};

static void install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_stop_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

static int check_pids(const struct funclat_args *a)
{
	char path[64];
	int i;

	for (i = 0; i < a->nr_pids; i++) {
		snprintf(path, sizeof(path), "/proc/%d", a->pids[i]);
		if (access(path, F_OK)) {
			err_msg("no process with PID %d", a->pids[i]);
			return -ESRCH;
		}
	}
	return 0;
}

/* Where process notifications go; procs is set once the object is loaded. */
struct notify_ctx {
	struct funclat_stacks *stacks;
	struct funclat_procs *procs;
};

static void on_notify(void *ctx, const struct funclat_notify *n)
{
	struct notify_ctx *nc = ctx;

	if (nc->procs)
		funclat_procs_note(nc->procs, n->tgid, n->reread);
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

static bool should_stop(const struct funclat_args *a, struct launcher *child, uint64_t start)
{
	int status;

	if (stop_signal)
		return true;
	if (a->duration_s > 0 && now_ns() - start >= (uint64_t)(a->duration_s * 1e9))
		return true;
	return child && launcher_exited(child, &status);
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
	FILE *out = stdout;

	if (a->output) {
		out = output_open(a->output, false);
		if (!out) {
			err_msg("cannot write %s: %s", a->output, strerror(errno));
			return -errno;
		}
	}
	funclat_write(out, a->format, res, nr, cost, counters, named);
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

/* Until the duration ends, the command exits or a signal comes. */
static int trace(struct funclat_args *a, struct funclat_collector *c, struct launcher *child,
		 struct notify_ctx *nc, struct funclat_cost *cost)
{
	uint64_t start, rate_ns, rate_entries = 0, maps_ns = 0;
	int err;

	install_signals();
	start = rate_ns = now_ns();
	if (child) {
		err = launcher_go(child);
		if (err)
			return err;
	}
	while (!should_stop(a, child, start)) {
		funclat_poll(c, nc->procs ? funclat_procs_next_due_ms(nc->procs, 100) : 100);
		check_rate(c, a, &rate_ns, &rate_entries, &cost->max_rate_switched);
		if (nc->procs)
			funclat_procs_refresh(nc->procs);
		/* The command's maps while it lives: it may exit at any time. */
		if (child && now_ns() - maps_ns > 1000000000ULL) {
			funclat_stacks_note_process(nc->stacks, a->pids[0]);
			maps_ns = now_ns();
		}
	}
	cost->duration_ns = now_ns() - start;
	funclat_detach(c);
	if (stop_signal)
		info_msg("stopping on signal %d", (int)stop_signal);
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
	for (i = 0; i < a->nr_pids && !a->command; i++)
		funclat_procs_note(nc->procs, a->pids[i], false);
	return 0;
}

static int start(struct funclat_args *a, const struct funclat_plan *plan,
		 struct notify_ctx *nc, struct funclat_collector **out,
		 struct funclat_cost *cost)
{
	struct funclat_opts o = {
		.sample_every = a->sample_every, .min_ns = a->min_ns, .no_stacks = a->no_stacks,
		.no_session = a->no_session, .follow_forks = true,
		.syscalls = plan->nr_syscalls > 0, .filter_pids = a->nr_pids > 0,
		.unwind_fp = a->unwind_fp, .unwind_rows = a->unwind_rows,
	};
	int i, err;

	err = funclat_open(out, &o, on_notify, nc);
	for (i = 0; i < a->nr_pids && !err; i++)
		err = funclat_trace_tgid(*out, a->pids[i]);
	if (!err)
		err = start_procs(a, *out, nc);
	if (err)
		return err;
	if (!a->no_cost)
		measure_cost(*out, cost);
	err = attach_plan(*out, plan);
	if (err)
		return err;
	info_msg("timing %zu target%s (%zu function%s, %s)%s", plan->nr_targets,
		 plan->nr_targets == 1 ? "" : "s", plan->nr_probes, plan->nr_probes == 1 ? "" : "s",
		 funclat_uses_session(*out) ? "uprobe sessions: no return trap for calls not sampled" :
		 "uprobe + uretprobe", a->command ? "" : "... Ctrl-C to stop");
	return 0;
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
		a->pids[0] = launcher_pid(child);
		a->nr_pids = 1;
	}
	err = funclat_plan_build(&plan, a->targets, a->nr_targets, a->pids, a->nr_pids);
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
		err = trace(a, c, child, &nc, &cost);
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
	struct funclat_args a = { .format = FUNCLAT_TEXT };
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
		err = check_pids(&a);
	if (!err)
		err = run(&a);
	free(a.targets);
	return err ? 1 : 0;
}
