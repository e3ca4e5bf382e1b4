// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf_env.h"
#include "elf_lookup.h"
#include "lock_collector.h"
#include "map_drain.h"
#include "offcpu_collector.h"
#include "rec_store.h"
#include "util.h"
/* After the headers: its bss holds struct map_swap (drain.h). */
#include "lock.skel.h"

/* The probed functions; the index is the attach cookie (enum lock_uprobe_fn). */
static const char *const uprobe_fns[LOCK_FN_NR] = {
	[LOCK_FN_MUTEX_LOCK] = "pthread_mutex_lock",
	[LOCK_FN_MUTEX_TRYLOCK] = "pthread_mutex_trylock",
	[LOCK_FN_MUTEX_TIMEDLOCK] = "pthread_mutex_timedlock",
	[LOCK_FN_RWLOCK_RDLOCK] = "pthread_rwlock_rdlock",
	[LOCK_FN_RWLOCK_WRLOCK] = "pthread_rwlock_wrlock",
	[LOCK_FN_MUTEX_UNLOCK] = "pthread_mutex_unlock",
	[LOCK_FN_RWLOCK_UNLOCK] = "pthread_rwlock_unlock",
};

static bool is_unlock_fn(int fn)
{
	return fn == LOCK_FN_MUTEX_UNLOCK || fn == LOCK_FN_RWLOCK_UNLOCK;
}

/* The futex syscalls' tracepoints, entry (even) and exit (odd); futex_wake
 * needs no exit. Older kernels have only the first pair. */
static const char *const futex_events[] = {
	"sys_enter_futex", "sys_exit_futex",
	"sys_enter_futex_wait", "sys_exit_futex_wait",
	"sys_enter_futex_waitv", "sys_exit_futex_waitv",
	"sys_enter_futex_wake",
};
#define NR_FUTEX_EVENTS ARRAY_LEN(futex_events)

#define MAX_UPROBE_LINKS (2 * LOCK_FN_NR * LOCK_UPROBE_MAX_PIDS)
#define MAX_REAPERS	(4 * MAX_UPROBE_LINKS)

struct uprobe_target {
	int pid;		/* -1: every process */
	char libc[4096];
};

struct lock_collector {
	struct lock_bpf *skel;
	bool futex_tps;			/* syscall tracepoints, not raw_tp */
	int futex_ids[NR_FUTEX_EVENTS];
	struct bpf_link *futex_links[NR_FUTEX_EVENTS];
	struct bpf_link *links[MAX_UPROBE_LINKS];
	int nr_links;
	pthread_t reapers[MAX_REAPERS];	/* closing links of past windows */
	int nr_reapers;
	struct uprobe_target targets[LOCK_UPROBE_MAX_PIDS];
	int nr_targets;
	bool uprobes_attached;
	uint32_t on_ms, period_ms;
	uint64_t start_ns, attached_since, attached_ns, stopped_ns;
	char sources[128];
	__u32 swap_cap;			/* the smaller buffer's entries */
	uint64_t drained_ns;		/* last drain, for DRAIN_PERIOD_NS */
	__u64 drains;			/* buffer pairs drained while recording */
	__u64 moved;			/* ... entries they held */
};

static const char *const counter_names[LCNT_NR] = {
	[LCNT_FUTEX_WAITS] = "lock_futex_waits",
	[LCNT_FUTEX_WAKES] = "lock_futex_wakes",
	[LCNT_KERNEL_CONTENTIONS] = "lock_kernel_contentions",
	[LCNT_UPROBE_CALLS] = "lock_uprobe_calls",
	[LCNT_DROP_HIST_FULL] = "lock_dropped_hist_full",
	[LCNT_DROP_HOLDERS_FULL] = "lock_dropped_holders_full",
	[LCNT_DROP_STACK_FULL] = "lock_dropped_stack_map_full",
	[LCNT_DROP_STATE_FULL] = "lock_dropped_thread_state_full",
	[LCNT_USTACK_EMPTY] = "lock_user_stack_empty",
	[LCNT_KSTACK_FAILED] = "lock_kernel_stack_failed",
	[LCNT_WAKE_UNMATCHED] = "lock_woken_without_wake_seen",
	[LCNT_STACK_CACHE_HITS] = "lock_stack_cache_hits",
	[LCNT_STACK_CACHE_VERIFIED] = "lock_stack_cache_verified",
	[LCNT_STACK_CACHE_MISMATCH] = "lock_stack_cache_mismatch",
	[LCNT_TRAMP_MAPPED] = "lock_uretprobe_trampolines_mapped",
	[LCNT_TRAMP_UNMAPPED] = "lock_uretprobe_trampolines_unmapped",
	[LCNT_SPLICE_STACK_GONE] = "lock_uretprobe_stack_drained",
	[LCNT_FILTERED_DURATION] = "lock_filtered_duration",
	[LCNT_STACK_CACHE_MISS_OTHER_CALLER] = "lock_stack_cache_misses_other_caller",
	[LCNT_STACK_INTERRUPTED] = "lock_stacks_interrupted",
};

/* The libc a process maps, from /proc/PID/maps ("self" for the system's). */
static int find_libc(const char *pid, char *path, size_t len)
{
	char maps[64], line[4608], *p;
	FILE *f;
	int err = -ENOENT;

	snprintf(maps, sizeof(maps), "/proc/%s/maps", pid);
	f = fopen(maps, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		p = strchr(line, '/');
		if (!p)
			continue;
		p[strcspn(p, "\n")] = '\0';
		if (!strstr(p, "/libc.so") && !strstr(p, "/libc-"))
			continue;
		snprintf(path, len, "%s", p);
		err = 0;
		break;
	}
	fclose(f);
	return err;
}

static int plan_uprobes(struct lock_collector *c, const struct lock_opts *o)
{
	const struct target *tg = o->target;
	char pid[16];
	int i, err;

	if (tg->nr_pids <= 0 || tg->nr_pids > LOCK_UPROBE_MAX_PIDS) {
		c->targets[0].pid = -1;
		c->nr_targets = 1;
		err = find_libc("self", c->targets[0].libc, sizeof(c->targets[0].libc));
		if (err)
			err_msg("--uprobes: cannot find the system's libc in /proc/self/maps");
		return err;
	}
	for (i = 0; i < tg->nr_pids; i++) {
		struct uprobe_target *t = &c->targets[c->nr_targets];

		snprintf(pid, sizeof(pid), "%d", tg->pids[i]);
		t->pid = tg->pids[i];
		/* A launched command has not exec'd yet: it maps our libc. */
		if (find_libc(pid, t->libc, sizeof(t->libc)) &&
		    find_libc("self", t->libc, sizeof(t->libc))) {
			err_msg("--uprobes: no libc mapped by process %d", tg->pids[i]);
			return -ENOENT;
		}
		c->nr_targets++;
	}
	return 0;
}

static void *reap_link(void *link)
{
	bpf_link__destroy(link);
	return NULL;
}

/* Joins the reapers that are done (all of them when wait). */
static void join_reapers(struct lock_collector *c, bool wait)
{
	int i, out = 0;

	for (i = 0; i < c->nr_reapers; i++) {
		if (wait)
			pthread_join(c->reapers[i], NULL);
		else if (pthread_tryjoin_np(c->reapers[i], NULL))
			c->reapers[out++] = c->reapers[i];
	}
	c->nr_reapers = out;
}

static int attach_uprobes(struct lock_collector *c)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo);
	struct bpf_link *link;
	int t, fn, ret, err;
	uint64_t off = 0;

	join_reapers(c, false);
	for (t = 0; t < c->nr_targets; t++) {
		for (fn = 1; fn < LOCK_FN_NR; fn++) {
			err = elf_dynsym_func_offset(c->targets[t].libc, uprobe_fns[fn], &off);
			if (err) {
				err_msg("--uprobes: no %s in %s", uprobe_fns[fn], c->targets[t].libc);
				return err;
			}
			/* Unlocks need their entry only: one trap per call. */
			for (ret = 0; ret < (is_unlock_fn(fn) ? 1 : 2); ret++) {
				uo.retprobe = ret;
				uo.bpf_cookie = fn;
				link = bpf_program__attach_uprobe_opts(
					is_unlock_fn(fn) ? c->skel->progs.lock_uprobe_unlock :
					ret ? c->skel->progs.lock_uprobe_return :
					      c->skel->progs.lock_uprobe_enter,
					c->targets[t].pid, c->targets[t].libc, off, &uo);
				if (!link) {
					err_msg("cannot attach a uprobe to %s in %s: %s",
						uprobe_fns[fn], c->targets[t].libc,
						strerror(errno));
					return -errno;
				}
				c->links[c->nr_links++] = link;
			}
		}
	}
	c->uprobes_attached = true;
	c->attached_since = now_ns();
	return 0;
}

/*
 * Closing a uprobe link removes its breakpoints at once, then waits for RCU
 * grace periods (~100 ms each here): closed one after another, 10 links
 * keep probing for a second. Closed in parallel threads, a sampling window
 * ends on time; the threads are joined before the next window opens.
 */
static void detach_uprobes(struct lock_collector *c, bool async)
{
	int i;

	if (c->uprobes_attached)
		c->attached_ns += now_ns() - c->attached_since;
	join_reapers(c, false);
	if (c->nr_reapers + c->nr_links > MAX_REAPERS)
		join_reapers(c, true);
	for (i = 0; i < c->nr_links; i++) {
		if (!async || pthread_create(&c->reapers[c->nr_reapers], NULL, reap_link,
					     c->links[i]))
			bpf_link__destroy(c->links[i]);
		else
			c->nr_reapers++;
	}
	c->nr_links = 0;
	c->uprobes_attached = false;
}

static void set_rodata(struct lock_bpf *skel, const struct lock_opts *o)
{
	BPF_COMMON_RODATA(skel->rodata, o->target->filter_pids, o->target->min_ns,
			  o->target->max_ns);
	skel->rodata->cache_verify_every = o->verify_every;
	skel->rodata->stack_cache = !o->no_stack_cache;
	skel->rodata->uprobes_on = o->uprobes;
	skel->rodata->run_delay_known = bpf_env_kernel_has_member("sched_info", "run_delay");
}

/* The futex syscalls' own tracepoints run only on futex calls; raw_tp
 * sys_enter/sys_exit run on every syscall. */
static bool use_futex_tracepoints(struct lock_collector *c, const struct lock_opts *o)
{
	if (o->force_raw_tp)
		return false;
	bpf_env_tracepoint_ids("syscalls", futex_events, c->futex_ids, NR_FUTEX_EVENTS);
	return c->futex_ids[0] >= 0 && c->futex_ids[1] >= 0;
}

/* Which program of each pair is loaded, chosen before load: tp_btf or
 * raw_tp for the kernel lock tracepoints, syscall tracepoints or raw_tp for
 * futex calls. */
static void choose_programs(struct lock_collector *c, const struct lock_opts *o)
{
	struct lock_bpf *skel = c->skel;
	bool btf = !o->force_raw_tp && bpf_env_has_tp_btf("contention_begin");
	bool kernel = !o->no_kernel_locks;

	c->futex_tps = use_futex_tracepoints(c, o);
	bpf_program__set_autoload(skel->progs.futex_enter_tp, c->futex_tps);
	bpf_program__set_autoload(skel->progs.futex_exit_tp, c->futex_tps);
	bpf_program__set_autoload(skel->progs.lock_sys_enter, !c->futex_tps);
	bpf_program__set_autoload(skel->progs.lock_sys_exit, !c->futex_tps);

	bpf_program__set_autoload(skel->progs.contention_begin_btf, kernel && btf);
	bpf_program__set_autoload(skel->progs.contention_end_btf, kernel && btf);
	bpf_program__set_autoload(skel->progs.contention_begin_raw, kernel && !btf);
	bpf_program__set_autoload(skel->progs.contention_end_raw, kernel && !btf);
	bpf_program__set_autoload(skel->progs.lock_uprobe_enter, o->uprobes);
	bpf_program__set_autoload(skel->progs.lock_uprobe_return, o->uprobes);
	bpf_program__set_autoload(skel->progs.lock_uprobe_unlock, o->uprobes);
	snprintf(c->sources, sizeof(c->sources), "futex (%s)%s%s%s",
		 c->futex_tps ? "syscall tracepoints" : "raw_tp sys_enter/exit",
		 kernel ? ", kernel locks (" : "", kernel ? (btf ? "tp_btf)" : "raw_tp)") : "",
		 o->uprobes ? ", pthread uprobes" : "");
}

static struct bpf_link *attach_tracepoint_id(struct bpf_program *prog, int id)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_TRACEPOINT,
		.size = sizeof(attr),
		.config = id,
	};
	struct bpf_link *link;
	int pfd, err;

	/* A BPF program on a tracepoint event runs on every CPU. */
	pfd = syscall(__NR_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
	if (pfd < 0)
		return NULL;
	link = bpf_program__attach_perf_event(prog, pfd);
	if (!link) {
		err = errno;
		close(pfd);
		errno = err;
	}
	return link;
}

static int attach_futex_tracepoints(struct lock_collector *c)
{
	struct bpf_program *prog;
	size_t i;
	int err;

	for (i = 0; i < NR_FUTEX_EVENTS; i++) {
		if (c->futex_ids[i] < 0)
			continue;
		prog = i % 2 ? c->skel->progs.futex_exit_tp : c->skel->progs.futex_enter_tp;
		c->futex_links[i] = attach_tracepoint_id(prog, c->futex_ids[i]);
		if (!c->futex_links[i]) {
			err = -errno;
			err_msg("cannot attach to syscalls:%s: %s", futex_events[i],
				strerror(-err));
			return err;
		}
	}
	return 0;
}

static void detach_futex_tracepoints(struct lock_collector *c)
{
	size_t i;

	for (i = 0; i < NR_FUTEX_EVENTS; i++) {
		bpf_link__destroy(c->futex_links[i]);
		c->futex_links[i] = NULL;
	}
}

static int attach_tracepoints(struct lock_collector *c, const struct lock_opts *o)
{
	struct lock_bpf *skel = c->skel;
	struct bpf_program *progs[] = {
		skel->progs.lock_sys_enter, skel->progs.lock_sys_exit,
		skel->progs.contention_begin_btf, skel->progs.contention_end_btf,
		skel->progs.contention_begin_raw, skel->progs.contention_end_raw,
	};
	struct bpf_link **links[] = {
		&skel->links.lock_sys_enter, &skel->links.lock_sys_exit,
		&skel->links.contention_begin_btf, &skel->links.contention_end_btf,
		&skel->links.contention_begin_raw, &skel->links.contention_end_raw,
	};
	size_t i;
	int err;

	if (c->futex_tps) {
		err = attach_futex_tracepoints(c);
		if (err)
			return err;
	}
	for (i = 0; i < ARRAY_LEN(progs); i++) {
		if (!bpf_program__autoload(progs[i]))
			continue;
		*links[i] = bpf_program__attach(progs[i]);
		if (!*links[i]) {
			err_msg("cannot attach %s: %s", bpf_program__name(progs[i]),
				strerror(errno));
			return -errno;
		}
	}
	(void)o;
	return 0;
}

/* Maps the lock object shares with the offcpu object: one stack id space
 * (and its insert count, which tells when to drain it), one process
 * filter, the user-stack unwinder's tables and caches, and the lock
 * owners whose sleeps the off-CPU programs add up. */
static bool is_shared_map(const char *name)
{
	return !strcmp(name, "stacks") || !strcmp(name, "stack_stats") ||
	       !strcmp(name, "traced_tgids") ||
	       !strncmp(name, "cfi_", 4) || !strncmp(name, "unwind_", 7) ||
	       !strcmp(name, "stack_bounds_map") || !strcmp(name, "lock_owners");
}

static int share_maps(struct lock_bpf *skel, const struct offcpu_collector *shared)
{
	struct bpf_map *map, *theirs;
	int err;

	bpf_object__for_each_map(map, skel->obj) {
		if (!is_shared_map(bpf_map__name(map)))
			continue;
		theirs = offcpu_map(shared, bpf_map__name(map));
		if (!theirs)
			continue;
		err = bpf_map__reuse_fd(map, bpf_map__fd(theirs));
		if (err) {
			err_msg("cannot share the %s map with the lock programs: %s",
				bpf_map__name(map), strerror(-err));
			return err;
		}
	}
	/* Walk user stacks the way the off-CPU programs do. */
	skel->rodata->unwind_cfi = offcpu_unwinds_cfi(shared);
	skel->rodata->find_stack_vma = bpf_env_has_task_storage() &&
				       bpf_env_has_helper(BPF_FUNC_find_vma);
	return 0;
}

/*
 * The filters bpf/lock.bpf.c does not have yet: lock waits are then of
 * every thread of the traced processes, of any length above -m. Said, not
 * dropped silently.
 */
static void say_unapplied_filters(const struct target *t)
{
	char what[64] = "";
	size_t off = 0;

	if (t->nr_tids)
		off += snprintf(what + off, sizeof(what) - off, "%s-t", off ? ", " : "");
	if (t->user_only)
		off += snprintf(what + off, sizeof(what) - off, "%s-u", off ? ", " : "");
	if (t->kernel_only)
		off += snprintf(what + off, sizeof(what) - off, "%s-k", off ? ", " : "");
	if (t->state_mask && t->state_mask != OFFCPU_STATE_ALL)
		off += snprintf(what + off, sizeof(what) - off, "%s--state", off ? ", " : "");
	if (off)
		err_msg("warning: %s limit%s off-CPU time only, not lock waits (--no-locks "
			"leaves these out)", what, strchr(what, ',') ? "" : "s");
}

int lock_start(struct lock_collector **out, const struct lock_opts *o,
	       const struct offcpu_collector *shared)
{
	struct lock_collector *c;
	int err;

	say_unapplied_filters(o->target);

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->skel = lock_bpf__open();
	if (!c->skel) {
		err = -errno;
		err_msg("cannot open the lock BPF object: %s", strerror(-err));
		goto fail;
	}
	set_rodata(c->skel, o);
	choose_programs(c, o);
	if (o->hist_entries) {
		bpf_map__set_max_entries(c->skel->maps.lock_hist, o->hist_entries);
		bpf_map__set_max_entries(c->skel->maps.lock_hist_b, o->hist_entries);
	}
	/* One insert count covers both maps: the smaller one decides. */
	c->swap_cap = bpf_map__max_entries(c->skel->maps.lock_holders);
	if (bpf_map__max_entries(c->skel->maps.lock_hist) < c->swap_cap)
		c->swap_cap = bpf_map__max_entries(c->skel->maps.lock_hist);
	c->drained_ns = now_ns();
	err = share_maps(c->skel, shared);
	if (err)
		goto fail;
	err = lock_bpf__load(c->skel);
	if (err) {
		bpf_env_explain_load_error("lock", err);
		goto fail;
	}
	err = attach_tracepoints(c, o);
	if (err)
		goto fail;
	if (o->uprobes) {
		err = plan_uprobes(c, o);
		if (!err)
			err = attach_uprobes(c);
		if (err)
			goto fail;
		c->on_ms = o->sample_on_ms;
		c->period_ms = o->sample_period_ms;
	}
	c->start_ns = now_ns();
	*out = c;
	return 0;
fail:
	lock_destroy(c);
	return err;
}

const char *lock_sources(const struct lock_collector *c)
{
	return c->sources;
}

void lock_tick(struct lock_collector *c)
{
	uint64_t in_period;
	bool want;

	if (!c || !c->period_ms || !c->nr_targets)
		return;
	in_period = ((now_ns() - c->start_ns) / 1000000) % c->period_ms;
	want = in_period < c->on_ms;
	if (want && !c->uprobes_attached) {
		if (attach_uprobes(c)) {
			detach_uprobes(c, true);
			c->period_ms = c->period_ms;	/* keeps sampling; errors were printed */
		}
	} else if (!want && c->uprobes_attached) {
		detach_uprobes(c, true);
	}
}

int lock_poll_ms(const struct lock_collector *c, int dflt)
{
	int ms;

	if (!c || !c->period_ms)
		return dflt;
	ms = (int)c->on_ms / 4;
	return ms < 5 ? 5 : ms > dflt ? dflt : ms;
}

double lock_uprobe_duty(const struct lock_collector *c)
{
	uint64_t total = (c->stopped_ns ? c->stopped_ns : now_ns()) - c->start_ns;

	if (!c->period_ms || !total)
		return 1.0;
	return (double)c->attached_ns / total;
}

void lock_detach(struct lock_collector *c)
{
	detach_uprobes(c, true);
	join_reapers(c, true);
	c->stopped_ns = now_ns();
	detach_futex_tracepoints(c);
	lock_bpf__detach(c->skel);
}

static const char *lock_counter_name(__u32 id, char *buf, size_t len)
{
	return counter_names[id];
}

static int drain_counters(struct lock_collector *c, struct recording *rec)
{
	return collector_drain_counters(bpf_map__fd(c->skel->maps.counters), LCNT_NR, rec,
					lock_counter_name);
}

int lock_peek_counters(struct lock_collector *c, struct recording *rec)
{
	return c ? drain_counters(c, rec) : 0;
}

struct bpf_object *lock_object(const struct lock_collector *c)
{
	return c ? c->skel->obj : NULL;
}

static int sink_lock(void *ctx, const void *key, const void *val)
{
	struct collector_sink *sink = ctx;
	const struct lock_key *k = key;
	int err;

	err = rec_merge_lock(sink->rec, k, val);
	if (!err)
		err = collector_copy_stack(sink->stacks_fd, k->stack_id, sink->rec, &sink->seen);
	return err;
}

static int sink_holder(void *ctx, const void *key, const void *val)
{
	struct collector_sink *sink = ctx;
	const struct lock_holder_key *k = key;
	int err;

	err = rec_merge_lock_holder(sink->rec, k, val);
	if (!err)
		err = collector_copy_stack(sink->stacks_fd, k->waker_stack_id, sink->rec,
					   &sink->seen);
	return err;
}

/* Empties one buffer of lock_hist and of lock_holders into rec. */
static int take_buffers(struct lock_collector *c, __u32 buf, struct recording *rec,
			__u64 *moved)
{
	struct collector_sink sink = { .rec = rec, .stacks_fd = bpf_map__fd(c->skel->maps.stacks) };
	struct bpf_map *hist = buf ? c->skel->maps.lock_hist_b : c->skel->maps.lock_hist;
	struct bpf_map *holders = buf ? c->skel->maps.lock_holders_b : c->skel->maps.lock_holders;
	int err;

	err = map_take_all(bpf_map__fd(hist), sizeof(struct lock_key), sizeof(struct lock_val),
			   sink_lock, &sink, moved);
	if (!err)
		err = map_take_all(bpf_map__fd(holders), sizeof(struct lock_holder_key),
				   sizeof(struct lock_holder_val), sink_holder, &sink, moved);
	id_set_free(&sink.seen);
	return err;
}

void lock_collect_due_now(struct lock_collector *c)
{
	if (c)
		c->drained_ns = 0;
}

int lock_collect(struct lock_collector *c, struct recording *rec)
{
	uint64_t now = now_ns();
	__u32 buf;
	int err;

	if (!c || !map_swap_due(&c->skel->bss->lock_swap, c->swap_cap, c->drained_ns, now))
		return 0;
	buf = map_swap_flip(&c->skel->bss->lock_swap);
	err = take_buffers(c, buf, rec, &c->moved);
	map_swap_drained(&c->skel->bss->lock_swap, buf);
	c->drains++;
	c->drained_ns = now;
	return err;
}

int lock_drain(struct lock_collector *c, struct recording *rec)
{
	__u64 final_moved = 0;
	char buf[64];
	int err;

	err = take_buffers(c, 0, rec, &final_moved);
	if (!err)
		err = take_buffers(c, 1, rec, &final_moved);
	if (!err)
		err = drain_counters(c, rec);
	if (!err)
		err = rec_add_counter(rec, "lock_drains", c->drains);
	if (!err)
		err = rec_add_counter(rec, "lock_entries_drained", c->moved);
	if (!err)
		err = rec_set_meta(rec, "lock_sources", c->sources);
	if (!err && c->period_ms) {
		snprintf(buf, sizeof(buf), "%u/%u", c->on_ms, c->period_ms);
		err = rec_set_meta(rec, "uprobe_sample_ms", buf);
		snprintf(buf, sizeof(buf), "%.4f", lock_uprobe_duty(c));
		if (!err)
			err = rec_set_meta(rec, "uprobe_duty", buf);
	}
	return err;
}

void lock_destroy(struct lock_collector *c)
{
	if (!c)
		return;
	detach_uprobes(c, false);
	join_reapers(c, true);
	detach_futex_tracepoints(c);
	lock_bpf__destroy(c->skel);
	free(c);
}
