// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * waitprof agent: records continuously with record's collectors, rolls
 * what they collect into windows without detaching, and serves the windows
 * over HTTP to Prometheus and pprof scrapers (docs/AGENT.md). Nothing is
 * pinned: however the agent ends, nothing stays in the kernel.
 */
#include <argp.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent_serve.h"
#include "agent_windows.h"
#include "bpf_env.h"
#include "commands.h"
#include "lock_collector.h"
#include "offcpu_collector.h"
#include "proc_tracker.h"
#include "session.h"
#include "target.h"
#include "unwind_loader.h"
#include "util.h"

#define AGENT_DEFAULT_LISTEN	"127.0.0.1:9477"
#define AGENT_DEFAULT_WINDOW_S	10
#define AGENT_DEFAULT_KEEP	30
#define AGENT_DEFAULT_TOP	50

struct agent_args {
	struct target target;
	struct offcpu_opts offcpu;
	struct lock_opts locks;
	bool no_locks;
	const char *listen;
	double window_s;
	double duration_s;
	unsigned int keep;
	const char *output_dir;
	uint32_t max_procs;
	uint32_t max_locks, max_comms;
	int verbose;
	bool quiet;
};

enum { OPT_LISTEN = 1000, OPT_WINDOW, OPT_KEEP, OPT_OUTPUT_DIR, OPT_UPROBES, OPT_NO_LOCKS,
       OPT_MAX_LOCKS, OPT_MAX_COMMS, OPT_MAX_PROCS };

static const struct argp_option agent_options[] = {
	{ "pid", 'p', "PID[,PID...]", 0, "Trace these processes (default: every thread on the system)" },
	{ "listen", OPT_LISTEN, "ADDR:PORT", 0, "Serve HTTP here (default " AGENT_DEFAULT_LISTEN "; port 0: any free port, printed)" },
	{ "window", OPT_WINDOW, "SECONDS", 0, "Length of a window (default 10)" },
	{ "keep", OPT_KEEP, "N", 0, "Windows kept in memory for the pprof endpoints, and files kept in --output-dir (default 30)" },
	{ "output-dir", OPT_OUTPUT_DIR, "DIR", 0, "Also write each window as a recording into DIR (waitprof report reads it)" },
	{ "duration", 'd', "SECONDS", 0, "Stop after SECONDS (default: until SIGTERM or SIGINT)" },
	{ "uprobes", OPT_UPROBES, NULL, 0, "Also time every pthread mutex/rwlock acquisition with uprobes (costs ~20 us per call: see docs/LOCKS.md)" },
	{ "no-locks", OPT_NO_LOCKS, NULL, 0, "Do not record lock contention" },
	{ "max-locks", OPT_MAX_LOCKS, "N", 0, "Lock series in /metrics; later locks add to lock=\"other\" (default 50)" },
	{ "max-threads", OPT_MAX_COMMS, "N", 0, "Thread names (comm) in waitprof_offcpu_seconds_total; later ones add to comm=\"other\" (default 50)" },
	{ "max-processes", OPT_MAX_PROCS, "N", 0, "Processes whose maps are kept for symbolizing (default 4096)" },
	{ "verbose", 'v', NULL, 0, "More messages" },
	{ "quiet", 'q', NULL, 0, "Only errors on stderr" },
	{},
};

static bool parse_count(const char *arg, uint32_t *out, uint64_t min, uint64_t max)
{
	uint64_t v;

	if (!parse_u64(arg, &v) || v < min || v > max)
		return false;
	*out = (uint32_t)v;
	return true;
}

static error_t parse_agent_opt(int key, char *arg, struct argp_state *state)
{
	struct agent_args *a = state->input;
	struct target *t = &a->target;
	uint32_t v = 0;

	switch (key) {
	case 'p':
		t->nr_pids = parse_id_list(arg, t->pids, TARGET_MAX_IDS);
		if (t->nr_pids < 0)
			argp_failure(state, 2, 0, "invalid PID list '%s'", arg);
		t->filter_pids = true;
		break;
	case OPT_LISTEN: a->listen = arg; break;
	case OPT_WINDOW:
		if (!parse_double(arg, &a->window_s) || a->window_s < 1 || a->window_s > 86400)
			argp_failure(state, 2, 0, "invalid --window '%s' (1 to 86400 seconds)", arg);
		break;
	case 'd':
		if (!parse_double(arg, &a->duration_s) || a->duration_s <= 0)
			argp_failure(state, 2, 0, "invalid duration '%s' (seconds, > 0)", arg);
		break;
	case OPT_KEEP:
		if (!parse_count(arg, &v, 1, AGENT_MAX_KEEP))
			argp_failure(state, 2, 0, "invalid --keep '%s' (1 to %d)", arg, AGENT_MAX_KEEP);
		a->keep = v;
		break;
	case OPT_OUTPUT_DIR: a->output_dir = arg; break;
	case OPT_UPROBES: a->locks.uprobes = true; break;
	case OPT_NO_LOCKS: a->no_locks = true; break;
	case OPT_MAX_LOCKS:
		if (!parse_count(arg, &a->max_locks, 1, 100000))
			argp_failure(state, 2, 0, "invalid --max-locks '%s'", arg);
		break;
	case OPT_MAX_COMMS:
		if (!parse_count(arg, &a->max_comms, 1, 100000))
			argp_failure(state, 2, 0, "invalid --max-threads '%s'", arg);
		break;
	case OPT_MAX_PROCS:
		if (!parse_count(arg, &a->max_procs, 1, 1u << 24))
			argp_failure(state, 2, 0, "invalid --max-processes '%s'", arg);
		break;
	case 'v': a->verbose++; break;
	case 'q': a->quiet = true; break;
	case ARGP_KEY_ARG:
		argp_failure(state, 2, 0, "unexpected argument '%s' (the agent takes -p, not a command)", arg);
		break;
	case ARGP_KEY_END:
		if (a->no_locks && a->locks.uprobes)
			argp_failure(state, 2, 0, "--uprobes needs lock recording (drop --no-locks)");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp agent_argp = {
	.options = agent_options,
	.parser = parse_agent_opt,
	.doc = "Record continuously and serve the results over HTTP: Prometheus metrics at "
	       "/metrics, gzipped pprof profiles of the last windows at "
	       "/debug/pprof/offcpu?seconds=N and /debug/pprof/mutex?seconds=N.\v"
	       "The default listen address is loopback only; see docs/AGENT.md for the metrics, "
	       "their labels and scrape configurations.\n\n"
	       "Examples:\n"
	       "  $ waitprof agent\n"
	       "  $ waitprof agent -p 1234 --listen 0.0.0.0:9477 --window 15\n"
	       "  $ waitprof agent --output-dir /var/lib/waitprof --keep 60",
};

static void on_proc_notify(void *ctx, const struct proc_notify *n)
{
	struct proc_tracker *tracker = ctx;

	if (n->type == PROC_NOTIFY_EXEC)
		proc_tracker_exec(tracker, n->tgid);
	else if (n->type == PROC_NOTIFY_UNMAPPED)
		proc_tracker_unmapped(tracker, n->tgid);
	else
		proc_tracker_note_fork(tracker, n->tgid, n->type == PROC_NOTIFY_FORK ? n->parent_tgid : 0,
				       n->type != PROC_NOTIFY_NEW);
}

static void on_proc_read(void *ctx, const struct proc_maps *maps)
{
	unwind_loader_load(ctx, maps);
}

struct agent_loop {
	struct agent_args *args;
	struct agent_recorder rec;
	struct agent_serve serve;
	char (*files)[4096];	/* --output-dir: the files written, oldest first */
	unsigned int nr_files;
	bool failed;
};

/* Writes the window into --output-dir and removes the oldest past --keep. */
static void write_window(struct agent_loop *l, const struct recording *win)
{
	char stamp[64], *path;
	struct tm tm;
	time_t t = time(NULL);
	int err;

	if (l->nr_files == l->args->keep) {
		if (unlink(l->files[0]) && errno != ENOENT)
			err_msg("cannot remove %s: %s", l->files[0], strerror(errno));
		memmove(l->files, l->files + 1, (l->nr_files - 1) * sizeof(l->files[0]));
		l->nr_files--;
	}
	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	path = l->files[l->nr_files];
	snprintf(path, sizeof(l->files[0]), "%s/waitprof-%s-%d.data", l->args->output_dir, stamp,
		 getpid());
	err = rec_write(win, path);
	if (err)
		err_msg("cannot write %s: %s", path, strerror(-err));
	else
		l->nr_files++;
}

static int agent_poll(void *ctx)
{
	struct agent_loop *l = ctx;

	return offcpu_poll(l->rec.offcpu, lock_poll_ms(l->rec.locks,
				proc_tracker_next_due_ms(l->rec.tracker, 100)));
}

static bool agent_tick(void *ctx)
{
	struct agent_loop *l = ctx;
	struct recording *win;
	int err;

	proc_tracker_refresh(l->rec.tracker, false);
	lock_tick(l->rec.locks);
	if (now_ns() - l->rec.window_start_ns < (uint64_t)(l->args->window_s * 1e9))
		return true;
	err = agent_recorder_roll(&l->rec, &win);
	if (err) {
		err_msg("cannot end the window: %s; stopping", strerror(-err));
		l->failed = true;
		return false;
	}
	if (util_verbose)
		info_msg("window: %zu off-CPU entries, %zu lock entries, %zu stacks",
			 win->nr_offcpu, win->nr_locks, win->nr_stacks);
	if (l->args->output_dir)
		write_window(l, win);
	if (agent_serve_add(&l->serve, win))
		err_msg("warning: out of memory for the metrics of a window");
	return true;
}

static int load_collectors(struct agent_args *a, struct agent_recorder *r,
			   struct unwind_loader **unwinder)
{
	int err, i;

	a->offcpu.lock_owners = !a->no_locks;
	/* Windows must hold what ended in them: no per-CPU write-back cache,
	 * whose slots are emptied only at detach (offcpu_hist_slot). */
	a->offcpu.no_hist_cache = true;
	err = offcpu_load(&r->offcpu, &a->offcpu, on_proc_notify, r->tracker);
	if (err)
		return err;
	if (offcpu_unwinds_cfi(r->offcpu)) {
		*unwinder = unwind_loader_new(offcpu_map(r->offcpu, "cfi_rows"),
					      offcpu_map(r->offcpu, "cfi_procs"));
		if (!*unwinder)
			return -ENOMEM;
		proc_tracker_set_hook(r->tracker, on_proc_read, *unwinder);
		for (i = 0; i < a->target.nr_pids; i++)
			proc_tracker_note(r->tracker, a->target.pids[i], false);
	}
	err = offcpu_attach(r->offcpu);
	if (err || a->no_locks)
		return err;
	a->locks.verify_every = a->offcpu.verify_every;
	err = lock_start(&r->locks, &a->locks, r->offcpu);
	if (err && a->locks.uprobes)
		return err;
	if (err)
		err_msg("warning: recording without lock contention");
	return 0;
}

static int check_output_dir(const char *dir)
{
	struct stat st;

	if (!dir)
		return 0;
	if (stat(dir, &st) || !S_ISDIR(st.st_mode) || access(dir, W_OK)) {
		err_msg("--output-dir %s: not a writable directory", dir);
		return -ENOTDIR;
	}
	return 0;
}

static int run_agent(struct agent_args *a, struct agent_loop *l, const char *cmdline)
{
	struct session session = { .poll = agent_poll, .tick = agent_tick, .ctx = l };
	struct unwind_loader *unwinder = NULL;
	struct http_server *http = NULL;
	char what[128];
	int err;

	l->rec.tracker = proc_tracker_new(a->max_procs);
	l->rec.command_line = cmdline;
	if (!l->rec.tracker)
		return -ENOMEM;
	proc_tracker_follow_mmaps(l->rec.tracker);
	err = load_collectors(a, &l->rec, &unwinder);
	if (!err)
		err = http_server_start(&http, a->listen, agent_serve_http, &l->serve);
	if (err && !http && l->rec.offcpu)
		err_msg("cannot listen on %s: %s", a->listen, strerror(-err));
	if (!err)
		err = agent_recorder_start(&l->rec);
	if (err)
		goto out;
	/* One line a test or a supervisor can read: where to scrape. */
	snprintf(what, sizeof(what), "agent serving on port %u (%s), windows of %g s",
		 http_server_port(http), offcpu_attach_mode(l->rec.offcpu), a->window_s);
	session.what = what;
	session.duration_s = a->duration_s;
	err = session_run(&session);
	if (!err && l->failed)
		err = -EIO;
out:
	http_server_stop(http);
	agent_recorder_stop(&l->rec);
	lock_destroy(l->rec.locks);
	offcpu_destroy(l->rec.offcpu);
	unwind_loader_free(unwinder);
	proc_tracker_free(l->rec.tracker);
	return err;
}

int cmd_agent(int argc, char **argv)
{
	struct agent_args a = { .listen = AGENT_DEFAULT_LISTEN, .window_s = AGENT_DEFAULT_WINDOW_S,
				.keep = AGENT_DEFAULT_KEEP, .max_procs = 4096,
				.max_locks = AGENT_DEFAULT_TOP, .max_comms = AGENT_DEFAULT_TOP,
				.offcpu.verify_every = 64 };
	struct agent_loop loop = { .args = &a };
	char cmdline[1024];
	size_t off = 0;
	int err, i;

	if (argp_parse(&agent_argp, argc, argv, 0, NULL, &a))
		return 2;
	util_quiet = a.quiet;
	util_verbose = a.verbose;
	session_catch_signals();
	a.target.follow_forks = true;
	a.offcpu.target = &a.target;
	a.locks.target = &a.target;
	for (i = 0; i < argc && off < sizeof(cmdline) - 1; i++)
		off += snprintf(cmdline + off, sizeof(cmdline) - off, "%s%s", i ? " " : "", argv[i]);
	bpf_env_init(a.verbose);
	if (bpf_env_check() || target_check_exist(&a.target) || check_output_dir(a.output_dir))
		return 1;
	loop.files = calloc(a.keep, sizeof(*loop.files));
	err = loop.files ? agent_serve_init(&loop.serve, a.keep, a.window_s, a.max_locks,
					    a.max_comms) : -ENOMEM;
	if (err) {
		free(loop.files);
		err_msg("out of memory");
		return 1;
	}
	err = run_agent(&a, &loop, cmdline);
	agent_serve_fini(&loop.serve);
	free(loop.files);
	return err ? 1 : 0;
}
