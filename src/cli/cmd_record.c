// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * waitprof record: trace off-CPU time until the duration ends, the command
 * exits or a signal arrives, then write the recording (data, maps, symbols,
 * drop counts). Nothing is pinned, so even SIGKILL leaves nothing behind.
 */
#include <argp.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bpf_env.h"
#include "budget_watch.h"
#include "commands.h"
#include "drainer.h"
#include "launcher.h"
#include "lock_collector.h"
#include "offwake.h"
#include "offcpu_collector.h"
#include "output_file.h"
#include "proc_tracker.h"
#include "rec_symbols.h"
#include "recorder_cost.h"
#include "session.h"
#include "target.h"
#include "unwind_loader.h"
#include "util.h"

#define DEFAULT_MAX_PROCS 4096

struct record_args {
	struct target target;	/* the filters, for every collector */
	struct offcpu_opts offcpu;
	struct lock_opts locks;
	bool no_locks;
	double duration_s;
	const char *output;
	char **command;
	int verbose;
	bool quiet;
	bool no_follow_forks;
	uint32_t max_procs;
	bool bpf_stats;
};

enum {
	OPT_STATE = 1000, OPT_HIST_SIZE, OPT_STACK_SIZE, OPT_NO_CACHE, OPT_VERIFY,
	OPT_RAW_TP, OPT_NO_FOLLOW, OPT_UNWIND, OPT_UNWIND_ROWS, OPT_MAX_PROCS, OPT_NO_LOCKS, OPT_NO_KLOCKS,
	OPT_UPROBES, OPT_UPROBE_SAMPLE, OPT_EVENTS, OPT_EVENTS_BUFFER, OPT_WAKERS, OPT_BPF_STATS,
};

static const struct argp_option record_options[] = {
	{ "pid", 'p', "PID[,PID...]", 0, "Trace these processes (all their threads)" },
	{ "tid", 't', "TID[,TID...]", 0, "Trace these threads only" },
	{ "duration", 'd', "SECONDS", 0, "Stop after SECONDS (default: until Ctrl-C or the command exits)" },
	{ "min-block", 'm', "US", 0, "Ignore intervals shorter than US microseconds" },
	{ "max-block", 'M', "US", 0, "Ignore intervals longer than US microseconds" },
	{ "user-threads-only", 'u', NULL, 0, "Trace user threads only (no kernel threads)" },
	{ "kernel-threads-only", 'k', NULL, 0, "Trace kernel threads only" },
	{ "state", OPT_STATE, "STATES", 0, "How threads left the CPU, comma-separated: interruptible (S), uninterruptible (D), preempted (R), or all (default)" },
	{ "output", 'o', "FILE", 0, "Write the recording to FILE (default waitprof.data)" },
	{ "hist-size", OPT_HIST_SIZE, "N", 0, "Histogram map entries in the kernel (default 65536, twice: one buffer is drained into memory while the other fills)" },
	{ "stack-size", OPT_STACK_SIZE, "N", 0, "Stacks the kernel holds between drains into memory (default 16384)" },
	{ "no-stack-cache", OPT_NO_CACHE, NULL, 0, "Walk both stacks on every switch (slower, for checking)" },
	{ "verify-every", OPT_VERIFY, "N", 0, "Re-walk every Nth stack cache hit and count disagreements (default 64, 0 = never)" },
	{ "force-raw-tp", OPT_RAW_TP, NULL, 0, "Use raw tracepoints even where tp_btf or the futex syscall tracepoints work (tests the fallback)" },
	{ "no-follow-forks", OPT_NO_FOLLOW, NULL, 0, "With -p or a command, do not trace child processes" },
	{ "unwind", OPT_UNWIND, "cfi|fp", 0, "User stacks from call frame information (default; works without frame pointers) or frame pointers only" },
	{ "max-processes", OPT_MAX_PROCS, "N", 0, "Processes whose maps are kept for symbolizing (default 4096): the user-space memory bound" },
	{ "unwind-rows", OPT_UNWIND_ROWS, "N", 0, "CFI rows kept in the kernel (default 1048576, 8 bytes each)" },
	{ "wakers", OPT_WAKERS, NULL, 0, "Also take the waking thread's stacks at every wakeup: off-wake chains (report -F folded --view offwake); costs a stack walk per wakeup" },
	{ "no-locks", OPT_NO_LOCKS, NULL, 0, "Do not record lock contention (futex waits, kernel locks)" },
	{ "no-kernel-locks", OPT_NO_KLOCKS, NULL, 0, "Record futex waits but not kernel lock contention" },
	{ "uprobes", OPT_UPROBES, NULL, 0, "Also time every pthread mutex/rwlock acquisition with uprobes (costs a trap, ~20 us, per call: see docs/LOCKS.md)" },
	{ "uprobe-sample-ms", OPT_UPROBE_SAMPLE, "ON/PERIOD", 0, "With --uprobes, probe only ON ms of every PERIOD ms (counts are then sampled)" },
	{ "events", OPT_EVENTS, NULL, 0, "Also keep every off-CPU interval (time, thread, stacks, waker) for events-csv and chrome-trace reports" },
	{ "events-buffer", OPT_EVENTS_BUFFER, "SIZE", 0, "With --events, the ring buffer size: bytes, or with K/M suffix (default 8M; lost events are counted)" },
	{ "bpf-stats", OPT_BPF_STATS, NULL, 0, "Measure the run time of waitprof's BPF programs (kernel BPF statistics on while recording, as found after; costs ~2 clock reads per program run system-wide)" },
	{ "verbose", 'v', NULL, 0, "More messages (twice: libbpf debug output)" },
	{ "quiet", 'q', NULL, 0, "Only errors on stderr" },
	{},
};

static bool parse_us(const char *arg, uint64_t *ns)
{
	double us;

	if (!parse_double(arg, &us) || us < 0 || us > 1e12)
		return false;
	*ns = (uint64_t)(us * 1000.0);
	return true;
}

static bool parse_states(const char *arg, uint8_t *mask)
{
	char buf[256], *tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", arg);
	*mask = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "all"))
			*mask |= OFFCPU_STATE_ALL;
		else if (!strcmp(tok, "interruptible") || !strcmp(tok, "S"))
			*mask |= OFFCPU_INTERRUPTIBLE;
		else if (!strcmp(tok, "uninterruptible") || !strcmp(tok, "D"))
			*mask |= OFFCPU_UNINTERRUPTIBLE;
		else if (!strcmp(tok, "preempted") || !strcmp(tok, "runnable") || !strcmp(tok, "R"))
			*mask |= OFFCPU_PREEMPTED;
		else
			return false;
	}
	return *mask != 0;
}

static bool parse_count(const char *arg, uint32_t *out, uint32_t min)
{
	uint64_t v;

	if (!parse_u64(arg, &v) || v < min || v > (1u << 24))
		return false;
	*out = (uint32_t)v;
	return true;
}

/* "65536", "64K", "8M": rounded up to a power of two by the collector. */
static bool parse_buffer_size(const char *arg, uint32_t *out)
{
	char num[32];
	uint64_t v, mult = 1;
	size_t len = strlen(arg);

	if (!len || len >= sizeof(num))
		return false;
	memcpy(num, arg, len + 1);
	if (num[len - 1] == 'K' || num[len - 1] == 'k')
		mult = 1024;
	else if (num[len - 1] == 'M' || num[len - 1] == 'm')
		mult = 1024 * 1024;
	if (mult > 1)
		num[len - 1] = '\0';
	if (!parse_u64(num, &v) || v * mult < 4096 || v * mult > (1ull << 30))
		return false;
	*out = (uint32_t)(v * mult);
	return true;
}

static error_t parse_record_opt(int key, char *arg, struct argp_state *state)
{
	struct record_args *a = state->input;
	struct offcpu_opts *o = &a->offcpu;
	struct target *t = &a->target;

	switch (key) {
	case 'p':
		t->nr_pids = parse_id_list(arg, t->pids, TARGET_MAX_IDS);
		if (t->nr_pids < 0)
			argp_failure(state, 2, 0, "invalid PID list '%s'", arg);
		t->filter_pids = true;
		break;
	case 't':
		t->nr_tids = parse_id_list(arg, t->tids, TARGET_MAX_IDS);
		if (t->nr_tids < 0)
			argp_failure(state, 2, 0, "invalid TID list '%s'", arg);
		break;
	case 'd':
		if (!parse_double(arg, &a->duration_s) || a->duration_s <= 0)
			argp_failure(state, 2, 0, "invalid duration '%s' (seconds, > 0)", arg);
		break;
	case 'm':
		if (!parse_us(arg, &t->min_ns))
			argp_failure(state, 2, 0, "invalid minimum block time '%s' (microseconds)", arg);
		break;
	case 'M':
		if (!parse_us(arg, &t->max_ns))
			argp_failure(state, 2, 0, "invalid maximum block time '%s' (microseconds)", arg);
		break;
	case 'u': t->user_only = true; break;
	case 'k': t->kernel_only = true; break;
	case OPT_STATE:
		if (!parse_states(arg, &t->state_mask))
			argp_failure(state, 2, 0, "invalid --state '%s'", arg);
		break;
	case 'o': a->output = arg; break;
	case OPT_HIST_SIZE:
		if (!parse_count(arg, &o->hist_entries, 1024))
			argp_failure(state, 2, 0, "invalid --hist-size '%s' (1024 to 16777216)", arg);
		break;
	case OPT_STACK_SIZE:
		if (!parse_count(arg, &o->stack_entries, 128))
			argp_failure(state, 2, 0, "invalid --stack-size '%s' (128 to 16777216)", arg);
		break;
	case OPT_NO_CACHE: o->no_stack_cache = true; break;
	case OPT_VERIFY:
		if (!parse_count(arg, &o->verify_every, 0))
			argp_failure(state, 2, 0, "invalid --verify-every '%s'", arg);
		break;
	case OPT_RAW_TP: o->force_raw_tp = true; break;
	case OPT_NO_FOLLOW: a->no_follow_forks = true; break;
	case OPT_UNWIND:
		if (strcmp(arg, "cfi") && strcmp(arg, "fp"))
			argp_failure(state, 2, 0, "invalid --unwind '%s' (cfi, fp)", arg);
		o->unwind_fp = !strcmp(arg, "fp");
		break;
	case OPT_MAX_PROCS:
		if (!parse_count(arg, &a->max_procs, 1))
			argp_failure(state, 2, 0, "invalid --max-processes '%s'", arg);
		break;
	case OPT_UNWIND_ROWS:
		if (!parse_count(arg, &o->unwind_rows, 1024))
			argp_failure(state, 2, 0, "invalid --unwind-rows '%s' (1024 to 16777216)", arg);
		break;
	case OPT_NO_LOCKS: a->no_locks = true; break;
	case OPT_WAKERS: o->capture_wakers = true; break;
	case OPT_NO_KLOCKS: a->locks.no_kernel_locks = true; break;
	case OPT_UPROBES: a->locks.uprobes = true; break;
	case OPT_UPROBE_SAMPLE:
		if (sscanf(arg, "%u/%u", &a->locks.sample_on_ms, &a->locks.sample_period_ms) != 2 ||
		    !a->locks.sample_on_ms || a->locks.sample_on_ms >= a->locks.sample_period_ms)
			argp_failure(state, 2, 0, "invalid --uprobe-sample-ms '%s' (ON/PERIOD, 0 < ON < PERIOD)", arg);
		break;
	case OPT_EVENTS: o->emit_events = true; break;
	case OPT_EVENTS_BUFFER:
		if (!parse_buffer_size(arg, &o->events_buffer))
			argp_failure(state, 2, 0, "invalid --events-buffer '%s' (4K to 1G)", arg);
		break;
	case OPT_BPF_STATS: a->bpf_stats = true; break;
	case 'v': a->verbose++; break;
	case 'q': a->quiet = true; break;
	case ARGP_KEY_ARGS:
		a->command = state->argv + state->next;
		state->next = state->argc;
		break;
	case ARGP_KEY_END:
		if (t->user_only && t->kernel_only)
			argp_failure(state, 2, 0, "-u and -k exclude each other");
		if (t->max_ns && t->min_ns > t->max_ns)
			argp_failure(state, 2, 0, "-m is larger than -M");
		if (a->command && t->nr_pids > 0)
			argp_failure(state, 2, 0, "give -p or a command, not both");
		if (a->no_locks && a->locks.uprobes)
			argp_failure(state, 2, 0, "--uprobes needs lock recording (drop --no-locks)");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp record_argp = {
	.options = record_options,
	.parser = parse_record_opt,
	.args_doc = "[-- COMMAND [ARGS...]]",
	.doc = "Record where threads wait off-CPU, with user and kernel stacks.\v"
	       "With no -p, -t or command, every thread on the system is traced.\n\n"
	       "Examples:\n"
	       "  $ waitprof record -- ./server --port 8080\n"
	       "  $ waitprof record -p 1234 -d 10 -m 1000 -o slow.data\n"
	       "  $ waitprof record -d 5 --state uninterruptible   # I/O waits only",
};

/* Fails early, before anything is loaded, when the output cannot be made. */
static int check_output_writable(const char *path)
{
	char probe[4096];
	FILE *f;

	if (snprintf(probe, sizeof(probe), "%s.probe.%d", path, getpid()) >= (int)sizeof(probe)) {
		err_msg("output path too long: %s", path);
		return -ENAMETOOLONG;
	}
	f = fopen(probe, "wxe");
	if (!f) {
		err_msg("cannot write %s: %s", path, strerror(errno));
		return -errno;
	}
	fclose(f);
	unlink(probe);
	return 0;
}

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

static void record_meta(struct recording *rec, const struct record_args *a,
			struct offcpu_collector *c, uint64_t start_s, uint64_t dur_ns, int argc,
			char **argv)
{
	char buf[4096];
	struct utsname uts;
	size_t off = 0;
	int i;

	for (i = 0; i < argc && off < sizeof(buf) - 1; i++)
		off += snprintf(buf + off, sizeof(buf) - off, "%s%s", i ? " " : "", argv[i]);
	rec_set_meta(rec, "command_line", buf);
	format_utc(buf, sizeof(buf), start_s);
	rec_set_meta(rec, "start_time", buf);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)dur_ns);
	rec_set_meta(rec, "duration_ns", buf);
	if (!uname(&uts)) {
		rec_set_meta(rec, "hostname", uts.nodename);
		snprintf(buf, sizeof(buf), "%s %s %s", uts.sysname, uts.release, uts.machine);
		rec_set_meta(rec, "kernel", buf);
	}
	rec_set_meta(rec, "attach_mode", offcpu_attach_mode(c));
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)a->target.min_ns);
	rec_set_meta(rec, "min_block_ns", buf);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)a->target.max_ns);
	rec_set_meta(rec, "max_block_ns", buf);
	snprintf(buf, sizeof(buf), "%u", a->target.state_mask ? a->target.state_mask : OFFCPU_STATE_ALL);
	rec_set_meta(rec, "state_mask", buf);
	if (a->offcpu.emit_events)
		rec_set_meta(rec, "events_clock", "CLOCK_MONOTONIC");
	rec_set_meta(rec, "unwinder", offcpu_unwinds_cfi(c) ? "cfi (frame pointers where no table)" :
						       "frame-pointer (bounds-checked)");
}

/* What runs between polls while recording (session.h). */
struct record_loop {
	struct offcpu_collector *collector;
	struct lock_collector *locks;
	struct proc_tracker *tracker;
	struct budget_watch *watch;
	struct drainer *drainer;
};

static int record_poll(void *ctx)
{
	struct record_loop *l = ctx;

	return offcpu_poll(l->collector,
			   lock_poll_ms(l->locks, proc_tracker_next_due_ms(l->tracker, 100)));
}

static bool record_tick(void *ctx)
{
	struct record_loop *l = ctx;

	proc_tracker_refresh(l->tracker, false);
	lock_tick(l->locks);
	budget_watch_tick(l->watch);
	return !drainer_failed(l->drainer);
}

static void on_proc_read(void *ctx, const struct proc_maps *maps)
{
	struct unwind_loader *unwinder = ctx;
	int err = unwind_loader_load(unwinder, maps);

	if (err && util_verbose)
		info_msg("no unwind tables for pid %d: %s", maps->pid, strerror(-err));
}

#define PRELOAD_BUDGET_NS	(500 * 1000000ULL)

/* CFI tables for the processes we know of now; others as they appear. */
static int start_unwinder(struct offcpu_collector *c, struct proc_tracker *tracker,
			  const struct record_args *a, struct unwind_loader **out)
{
	int i;

	*out = NULL;
	if (!offcpu_unwinds_cfi(c))
		return 0;
	*out = unwind_loader_new(offcpu_map(c, "cfi_rows"), offcpu_map(c, "cfi_procs"));
	if (!*out) {
		err_msg("out of memory for unwind tables");
		return -ENOMEM;
	}
	proc_tracker_set_hook(tracker, on_proc_read, *out);
	for (i = 0; i < a->target.nr_pids && !a->command; i++)
		proc_tracker_note(tracker, a->target.pids[i], false);
	/* System-wide: the running processes' tables before the first switch,
	 * as many as PRELOAD_BUDGET_NS allows (the rest load as each process
	 * first blocks). Loaded that way, ~230 processes took 3.4 s here, and
	 * what blocked meanwhile kept frame-pointer stacks: 30-74% of
	 * postgres's off-CPU time under pgbench. The budget keeps start-up
	 * short: a process costs 20-500 ms to load on this VM today. */
	if (!a->target.filter_pids && !a->target.nr_tids && !a->target.kernel_only)
		proc_tracker_note_running(tracker, PRELOAD_BUDGET_NS);
	return 0;
}

/* Lost events are never silent: say how many, and what to do. */
static void report_events_lost(const struct recording *rec)
{
	__u64 lost = rec_get_counter(rec, "events_lost") +
		     rec_get_counter(rec, "events_dropped_no_memory");

	if (lost)
		err_msg("warning: %llu of %llu events lost (ring buffer full: raise --events-buffer)",
			(unsigned long long)lost, (unsigned long long)(lost + rec->nr_events));
	else
		info_msg("%zu events, none lost", rec->nr_events);
}

static int finish_recording(struct record_args *a, struct offcpu_collector *c,
			    struct lock_collector *locks, struct proc_tracker *tracker,
			    struct recording *rec)
{
	struct symbolizer_opts sopts = { .demangle = true, .inlines = true, .lines = true };
	struct rec_symbols_stats stats;
	int err;

	err = offcpu_drain(c, rec);
	if (err) {
		err_msg("cannot read the BPF maps: %s", strerror(-err));
		return err;
	}
	if (a->offcpu.capture_wakers) {
		err = offwake_drain(c, rec);
		if (err) {
			err_msg("cannot read the waker map: %s", strerror(-err));
			return err;
		}
	}
	if (locks) {
		err = lock_drain(locks, rec);
		if (err) {
			err_msg("cannot read the lock BPF maps: %s", strerror(-err));
			return err;
		}
	}
	proc_tracker_refresh(tracker, true);
	proc_tracker_report(tracker, rec);
	err = proc_tracker_move_to(tracker, rec);
	if (err)
		return err;
	rec_finish(rec);
	info_msg("symbolizing %zu stacks...", rec->nr_stacks);
	err = rec_symbolize(rec, &sopts, &stats);
	if (err) {
		err_msg("symbolizing failed: %s", strerror(-err));
		return err;
	}
	if (a->verbose)
		info_msg("%zu unique addresses, %zu named", stats.addresses, stats.resolved);
	return 0;
}

/* The recorder's cost, on stderr as in the report's first lines. */
static void say_cost(const struct recording *rec)
{
	info_msg("recorder CPU: %.2f s (%.2f s while tracing), peak RSS %llu MB",
		 (rec_get_counter(rec, "recorder_cpu_user_us") +
		  rec_get_counter(rec, "recorder_cpu_sys_us")) / 1e6,
		 rec_get_counter(rec, "recorder_cpu_tracing_us") / 1e6,
		 (unsigned long long)rec_get_counter(rec, "recorder_max_rss_kb") / 1024);
}

/*
 * Writes the recording; when that fails (disk full, say) the data is not
 * thrown away: it goes to memory-backed /dev/shm instead, and the user is
 * told where, with a non-zero exit all the same.
 */
static int write_recording(struct recording *rec, const char *path)
{
	char fallback[64];
	int err, err2;

	err = rec_write(rec, path);
	if (!err) {
		output_give_to_invoker(path);
		return 0;
	}
	snprintf(fallback, sizeof(fallback), "/dev/shm/waitprof-%d.data", getpid());
	err2 = rec_write(rec, fallback);
	if (!err2) {
		output_give_to_invoker(fallback);
		err_msg("cannot write %s: %s; the recording was saved to %s instead", path,
			strerror(-err), fallback);
	} else {
		err_msg("cannot write %s: %s (nor %s: %s); the recording is lost", path,
			strerror(-err), fallback, strerror(-err2));
	}
	return err;
}

int cmd_record(int argc, char **argv)
{
	struct record_args a = { .output = "waitprof.data", .offcpu.verify_every = 64,
				 .max_procs = DEFAULT_MAX_PROCS };
	struct offcpu_collector *collector = NULL;
	struct lock_collector *locks = NULL;
	struct unwind_loader *unwinder = NULL;
	struct proc_tracker *tracker = NULL;
	struct drainer *drainer = NULL;
	struct launcher *child = NULL;
	struct recording *rec = NULL;
	struct recorder_cost *cost = NULL;
	struct budget_watch *watch = NULL;
	struct record_loop loop;
	struct session session = { .poll = record_poll, .tick = record_tick, .ctx = &loop };
	uint64_t start_epoch = time(NULL);
	char what[64];
	int err;

	if (argp_parse(&record_argp, argc, argv, ARGP_IN_ORDER, NULL, &a))
		return 2;
	util_quiet = a.quiet;
	util_verbose = a.verbose;
	/* From here on a signal stops the recording cleanly, even one that
	 * arrives while the programs are still loading. */
	session_catch_signals();
	a.target.follow_forks = !a.no_follow_forks;
	a.offcpu.target = &a.target;
	a.locks.target = &a.target;
	bpf_env_init(a.verbose);
	err = bpf_env_check();
	if (!err)
		err = target_check_exist(&a.target);
	if (!err)
		err = check_output_writable(a.output);
	if (err)
		return 1;
	tracker = proc_tracker_new(a.max_procs);
	rec = rec_new();
	cost = recorder_cost_new(a.bpf_stats);
	if (!tracker || !rec || !cost) {
		err = -ENOMEM;
		goto cleanup;
	}
	/* Before the command starts: it may be gone before its first read. */
	proc_tracker_follow_mmaps(tracker);
	if (a.command) {
		/* The child waits for our go: its pid must be in the filter
		 * before its first instruction. */
		err = launcher_prepare(&child, a.command);
		if (err)
			goto cleanup;
		target_set_command(&a.target, launcher_pid(child));
	}
	a.offcpu.lock_owners = !a.no_locks;
	err = offcpu_load(&collector, &a.offcpu, on_proc_notify, tracker);
	if (err)
		goto cleanup;
	offcpu_set_event_sink(collector, rec);
	/* Tables of the -p processes go in before the first switch is seen:
	 * a thread that blocks before they are loaded keeps a frame-pointer
	 * stack for as long as it sleeps (under pgbench, 17% of postgres's
	 * off-CPU time in a 6 s recording). */
	err = start_unwinder(collector, tracker, &a, &unwinder);
	if (!err)
		err = offcpu_attach(collector);
	if (err)
		goto cleanup;
	if (!a.no_locks) {
		a.locks.verify_every = a.offcpu.verify_every;
		a.locks.no_stack_cache = a.offcpu.no_stack_cache;
		a.locks.force_raw_tp = a.offcpu.force_raw_tp;
		err = lock_start(&locks, &a.locks, collector);
		if (err && a.locks.uprobes)
			goto cleanup;
		if (err)
			err_msg("warning: recording without lock contention (--no-locks hides this)");
		err = 0;
	}
	watch = budget_watch_new(collector, locks, tracker, unwinder);
	if (!watch) {
		err = -ENOMEM;
		goto cleanup;
	}
	recorder_cost_add_object(cost, offcpu_object(collector));
	recorder_cost_add_object(cost, lock_object(locks));
	recorder_cost_start(cost);
	/* The recording's histograms and stacks belong to the drainer from
	 * here until it stops. */
	err = drainer_start(&drainer, collector, locks, rec);
	if (err) {
		err_msg("cannot start the drain thread: %s", strerror(-err));
		goto cleanup;
	}
	loop = (struct record_loop){ collector, locks, tracker, watch, drainer };
	snprintf(what, sizeof(what), "recording off-CPU time (%s)", offcpu_attach_mode(collector));
	session.what = what;
	session.duration_s = a.duration_s;
	/* The command's maps are read when BPF reports its exec, not before:
	 * until then it is a copy of waitprof. */
	session.child = child;
	err = session_run(&session);
	if (err)
		goto cleanup;
	err = drainer_stop(drainer);
	drainer = NULL;
	if (err)
		err_msg("cannot move the BPF maps into memory (%s): stopped early", strerror(-err));
	offcpu_detach(collector);
	if (locks)
		lock_detach(locks);
	recorder_cost_stop(cost);
	record_meta(rec, &a, collector, start_epoch, now_ns() - session.start_ns, argc, argv);
	err = finish_recording(&a, collector, locks, tracker, rec);
	if (err)
		goto cleanup;
	if (unwinder)
		unwind_loader_report(unwinder, rec);
	/* Last: the CPU time includes symbolizing. */
	err = recorder_cost_write(cost, rec);
	if (err)
		goto cleanup;
	budget_watch_summary(watch, rec);
	say_cost(rec);
	err = write_recording(rec, a.output);
	if (err)
		goto cleanup;
	info_msg("wrote %s: %zu histogram entries, %zu stacks, %zu processes%s", a.output,
		 rec->nr_offcpu, rec->nr_stacks, rec->nr_procs,
		 rec_get_counter(rec, "dropped_hist_full") +
		 rec_get_counter(rec, "dropped_stack_map_full") ? " (some data dropped: see report)" : "");
	if (a.offcpu.emit_events)
		report_events_lost(rec);
cleanup:
	budget_watch_free(watch);
	recorder_cost_free(cost);
	drainer_stop(drainer);
	lock_destroy(locks);
	offcpu_destroy(collector);
	unwind_loader_free(unwinder);
	if (child)
		launcher_free(child, err != 0);
	proc_tracker_free(tracker);
	rec_free(rec);
	return err ? 1 : 0;
}
