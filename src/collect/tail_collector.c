// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Loads bpf/tail.bpf.c, attaches its span probes and its sched_switch
 * program, drains one record per call from the ring buffer, and at the end
 * names the wait sites the way record does: the sites become off-CPU
 * entries and the futex words lock entries of a recording in memory, which
 * rec_symbolize() and its lock names resolve.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf_env.h"
#include "lock.h"
#include "offcpu.h"
#include "offcpu_collector.h"
#include "proc_tracker.h"
#include "rec_symbols.h"
#include "recording.h"
#include "symbolize.h"
#include "tail.skel.h"
#include "tail_collector.h"
#include "unwind_loader.h"
#include "util.h"

#define MAX_PROCS		4096
#define DEFAULT_UNWIND_ROWS	(1u << 20)	/* 8 MiB of kernel memory */

struct tail_collector {
	struct tail_bpf *skel;
	struct ring_buffer *rb;		/* calls and process notifications */
	struct bpf_link **links;
	size_t nr_links;
	struct tail_record *calls;
	size_t nr_calls;
	/* The processes' maps (symbols) and, with CFI, their unwind tables:
	 * record's tracker and loader. */
	struct proc_tracker *tracker;
	struct unwind_loader *loader;	/* NULL: frame pointers only */
	bool btf;
	bool cfi;
	bool oom;
};

/* Every read of a process's maps: its unwind tables follow. */
static void on_proc_read(void *ctx, const struct proc_maps *maps)
{
	struct tail_collector *c = ctx;
	int err;

	if (!c->loader)
		return;
	err = unwind_loader_load(c->loader, maps);
	if (err && util_verbose)
		info_msg("no unwind tables for pid %d: %s", maps->pid, strerror(-err));
}

void tail_note_process(struct tail_collector *c, int tgid, bool reread)
{
	/* Stacks walked before new tables are in fall back to frame
	 * pointers: load now, not at the tracker's first re-read. */
	proc_tracker_note(c->tracker, tgid, reread);
	if (reread)
		proc_tracker_read_now(c->tracker, tgid);
}

void tail_refresh(struct tail_collector *c)
{
	proc_tracker_refresh(c->tracker, false);
}

int tail_next_due_ms(const struct tail_collector *c, int max_ms)
{
	return proc_tracker_next_due_ms(c->tracker, max_ms);
}

static int on_call(void *ctx, void *data, size_t size)
{
	struct tail_collector *c = ctx;
	struct tail_record *r;

	if (size < sizeof(*r))
		return 0;
	r = ARRAY_PUSH(c->calls, c->nr_calls);
	if (!r) {
		c->oom = true;
		return -ENOMEM;
	}
	memcpy(r, data, sizeof(*r));
	return 0;
}

static int on_notify(void *ctx, void *data, size_t size)
{
	const struct proc_notify *n = data;

	if (size >= sizeof(*n))
		tail_note_process(ctx, n->tgid, n->type != PROC_NOTIFY_NEW);
	return 0;
}

/* As record chooses (offcpu_collector.c): tp_btf where the kernel has it,
 * and the scheduler's sched_info for the runnable part where it keeps it. */
static void choose_programs(struct tail_collector *c, const struct tail_opts *o)
{
	struct tail_bpf *skel = c->skel;

	c->btf = !o->force_raw_tp && bpf_env_has_tp_btf("sched_switch");
	skel->rodata->runnable_from_schedinfo =
		bpf_env_kernel_has_member("cfs_rq", "rq") &&
		bpf_env_kernel_has_member("sched_info", "last_queued");
	bpf_program__set_autoload(skel->progs.tail_switch_btf, c->btf);
	bpf_program__set_autoload(skel->progs.tail_switch_raw, !c->btf);
	bpf_program__set_autoload(skel->progs.tail_waking_btf, c->btf);
	bpf_program__set_autoload(skel->progs.tail_waking_raw, !c->btf);
}

/* As funclat chooses: CFI needs bpf_loop; exact stack bounds need
 * bpf_find_vma and task storage, else walks stay within 8 MiB of the
 * stack pointer. */
static void choose_unwinder(struct tail_collector *c, const struct tail_opts *o)
{
	struct tail_bpf *skel = c->skel;
	bool bounds = bpf_env_has_task_storage() && bpf_env_has_helper(BPF_FUNC_task_storage_get) &&
		      bpf_env_has_helper(BPF_FUNC_find_vma);

	c->cfi = !o->unwind_fp && bpf_env_has_helper(BPF_FUNC_loop);
	skel->rodata->unwind_cfi = c->cfi;
	skel->rodata->find_stack_vma = bounds;
	bpf_map__set_max_entries(skel->maps.cfi_rows, c->cfi ? DEFAULT_UNWIND_ROWS : 1);
	if (!bpf_env_has_task_storage())
		bpf_map__set_autocreate(skel->maps.stack_bounds_map, false);
}

static int start_procs(struct tail_collector *c)
{
	c->tracker = proc_tracker_new(MAX_PROCS);
	if (!c->tracker)
		return -ENOMEM;
	if (c->cfi) {
		c->loader = unwind_loader_new(c->skel->maps.cfi_rows, c->skel->maps.cfi_procs);
		if (!c->loader)
			return -ENOMEM;
	}
	proc_tracker_set_hook(c->tracker, on_proc_read, c);
	return 0;
}

static int attach_fixed(struct tail_collector *c)
{
	struct tail_bpf *skel = c->skel;

	skel->links.tail_exit = bpf_program__attach(skel->progs.tail_exit);
	if (c->btf) {
		skel->links.tail_switch_btf = bpf_program__attach(skel->progs.tail_switch_btf);
		skel->links.tail_waking_btf = bpf_program__attach(skel->progs.tail_waking_btf);
	} else {
		skel->links.tail_switch_raw = bpf_program__attach(skel->progs.tail_switch_raw);
		skel->links.tail_waking_raw = bpf_program__attach(skel->progs.tail_waking_raw);
	}
	if (!skel->links.tail_exit || (!skel->links.tail_switch_btf && !skel->links.tail_switch_raw) ||
	    (!skel->links.tail_waking_btf && !skel->links.tail_waking_raw))
		return -errno;
	return 0;
}

int tail_open(struct tail_collector **out, const struct tail_opts *o)
{
	struct tail_collector *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return -ENOMEM;
	c->skel = tail_bpf__open();
	if (!c->skel) {
		err = -errno;
		err_msg("cannot open the tail BPF object: %s", strerror(-err));
		goto fail;
	}
	BPF_COMMON_RODATA(c->skel->rodata, o->target->filter_pids, 0, 0);
	choose_programs(c, o);
	choose_unwinder(c, o);
	err = tail_bpf__load(c->skel);
	if (err) {
		bpf_env_explain_load_error("tail", err);
		goto fail;
	}
	err = start_procs(c);
	if (err) {
		err_msg("out of memory for process maps and unwind tables");
		goto fail;
	}
	c->rb = ring_buffer__new(bpf_map__fd(c->skel->maps.calls), on_call, c, NULL);
	if (!c->rb || ring_buffer__add(c->rb, bpf_map__fd(c->skel->maps.proc_notifies),
				       on_notify, c)) {
		err = -errno;
		err_msg("cannot open the ring buffers: %s", strerror(-err));
		goto fail;
	}
	err = attach_fixed(c);
	if (err) {
		err_msg("cannot attach to sched_switch: %s", strerror(-err));
		goto fail;
	}
	*out = c;
	return 0;
fail:
	tail_destroy(c);
	return err;
}

bool tail_btf_mode(const struct tail_collector *c)
{
	return c->btf;
}

bool tail_unwinds_cfi(const struct tail_collector *c)
{
	return c->cfi;
}

int tail_trace_tgid(struct tail_collector *c, int tgid)
{
	__u32 key = tgid;
	__u8 one = 1;

	return bpf_map__update_elem(c->skel->maps.traced_tgids, &key, sizeof(key), &one,
				    sizeof(one), BPF_ANY);
}

static int attach_one(struct tail_collector *c, __u32 target, int pid, const char *path,
		      uint64_t offset, bool ret)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo, .retprobe = ret, .bpf_cookie = target);
	struct bpf_program *prog = ret ? c->skel->progs.tail_return : c->skel->progs.tail_entry;
	struct bpf_link *link, **p;

	link = bpf_program__attach_uprobe_opts(prog, pid, path, offset, &uo);
	if (!link)
		return -errno;
	p = ARRAY_PUSH(c->links, c->nr_links);
	if (!p) {
		bpf_link__destroy(link);
		return -ENOMEM;
	}
	*p = link;
	return 0;
}

int tail_attach_uprobe(struct tail_collector *c, __u32 target, int pid, const char *path,
		       uint64_t offset)
{
	int err;

	if (target >= TAIL_MAX_TARGETS)
		return -E2BIG;
	/* The return probe first: an entry without its return would leave
	 * the span open. */
	err = attach_one(c, target, pid, path, offset, true);
	if (!err)
		err = attach_one(c, target, pid, path, offset, false);
	return err;
}

int tail_poll(struct tail_collector *c, int timeout_ms)
{
	int n = ring_buffer__poll(c->rb, timeout_ms);

	if (c->oom)
		return -ENOMEM;
	return n == -EINTR ? 0 : n;
}

static void detach(struct tail_collector *c)
{
	size_t i;

	for (i = 0; i < c->nr_links; i++)
		bpf_link__destroy(c->links[i]);
	free(c->links);
	c->links = NULL;
	c->nr_links = 0;
}

static int add_stack(struct tail_collector *c, struct recording *rec, struct id_set *added,
		     __u64 id)
{
	struct stack_trace st;
	int err;

	if (!id || id_set_has(added, id))
		return 0;
	err = id_set_add(added, id);
	if (err)
		return err;
	if (bpf_map__lookup_elem(c->skel->maps.stacks, &id, sizeof(id), &st, sizeof(st), 0))
		return 0;	/* lost: the site reads as "[no stack]" */
	if (st.nr > MAX_STACK_DEPTH)
		st.nr = MAX_STACK_DEPTH;
	return rec_add_stack(rec, id, st.flags, st.nr, st.ips);
}

/* One off-CPU entry per (process, stacks) site and one lock entry per
 * futex word: what rec_symbolize() and lock_names_resolve() name. A site
 * repeats across calls: its address lookups are done once all the same. */
static int add_slot(struct tail_collector *c, struct recording *rec, struct id_set *added,
		    const struct tail_record *r, const struct tail_slot *s)
{
	struct offcpu_key ok = { .tgid = r->pid, .tid = r->tid,
				 .user_stack_id = s->user_stack_id,
				 .kern_stack_id = s->kern_stack_id,
				 .state = OFFCPU_INTERRUPTIBLE };
	struct offcpu_val ov = { .count = 1, .total_ns = s->blocked_ns,
				 .blocked_ns = s->blocked_ns, .max_ns = s->blocked_ns };
	struct lock_key lk = { .tgid = r->pid, .source = LOCK_SRC_FUTEX, .addr = s->futex_addr,
			       .stack_id = s->user_stack_id };
	struct lock_val lv = { .count = 1, .total_ns = s->blocked_ns, .max_ns = s->blocked_ns };
	int err;

	err = add_stack(c, rec, added, s->user_stack_id);
	if (!err)
		err = add_stack(c, rec, added, s->kern_stack_id);
	if (!err)
		err = rec_add_offcpu(rec, &ok, &ov);
	if (!err && s->futex_addr)
		err = rec_add_lock(rec, &lk, &lv);
	return err;
}

/* What a waker was doing (off-wake): its site as an off-CPU entry of its
 * process, so that its frames are named as the call's own are. */
static int add_waker_site(struct tail_collector *c, struct recording *rec, struct id_set *added,
			  const struct tail_seg *g)
{
	struct offcpu_key ok = { .tgid = g->waker_pid, .tid = g->waker_tid,
				 .user_stack_id = g->waker_user_stack_id,
				 .kern_stack_id = g->waker_kern_stack_id,
				 .state = OFFCPU_INTERRUPTIBLE };
	struct offcpu_val ov = { .count = 1, .total_ns = g->waker_site_ns,
				 .blocked_ns = g->waker_site_ns, .max_ns = g->waker_site_ns };
	struct lock_key lk = { .tgid = g->waker_pid, .source = LOCK_SRC_FUTEX,
			       .addr = g->waker_futex_addr, .stack_id = g->waker_user_stack_id };
	struct lock_val lv = { .count = 1, .total_ns = g->waker_site_ns,
			       .max_ns = g->waker_site_ns };
	int err;

	if (!(g->flags & TSEG_WAKER_SEEN) || !g->waker_site_ns)
		return 0;
	err = add_stack(c, rec, added, g->waker_user_stack_id);
	if (!err)
		err = add_stack(c, rec, added, g->waker_kern_stack_id);
	if (!err)
		err = rec_add_offcpu(rec, &ok, &ov);
	if (!err && g->waker_futex_addr)
		err = rec_add_lock(rec, &lk, &lv);
	return err;
}

static int name_sites(struct tail_collector *c, struct recording *rec)
{
	struct symbolizer_opts so = { .demangle = true, .inlines = true };
	struct rec_symbols_stats stats;
	struct id_set added = {};
	size_t i, j;
	int err = 0;

	for (i = 0; i < c->nr_calls && !err; i++) {
		const struct tail_record *r = &c->calls[i];

		for (j = 0; j < r->nr_slots && j < TAIL_MAX_SLOTS && !err; j++)
			err = add_slot(c, rec, &added, r, &r->slots[j]);
		for (j = 0; j < r->nr_segs && j < TAIL_MAX_SEGS && !err; j++)
			err = add_waker_site(c, rec, &added, &r->segs[j]);
	}
	id_set_free(&added);
	if (!err)
		err = proc_tracker_move_to(c->tracker, rec);
	if (err)
		return err;
	rec_finish(rec);
	return rec_symbolize(rec, &so, &stats);
}

static void read_counters(struct tail_collector *c, __u64 out[TCNT_NR])
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *vals;
	__u32 id;
	int i;

	memset(out, 0, TCNT_NR * sizeof(*out));
	if (ncpu <= 0 || !(vals = calloc(ncpu, sizeof(*vals))))
		return;
	for (id = 0; id < TCNT_NR; id++) {
		if (bpf_map__lookup_elem(c->skel->maps.counters, &id, sizeof(id), vals,
					 ncpu * sizeof(*vals), 0))
			continue;
		for (i = 0; i < ncpu; i++)
			out[id] += vals[i];
	}
	free(vals);
}

/* Calls in progress, or returned and not sent yet (the thread has not
 * switched since), when the probes went: counted, not reported. */
static __u64 count_open(struct tail_collector *c)
{
	size_t size = bpf_map__value_size(c->skel->maps.spans);
	__u32 key, next, *prev = NULL;
	int fd = bpf_map__fd(c->skel->maps.spans);
	__u64 n = 0;
	void *val = malloc(size);

	if (!val)
		return 0;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		const struct tail_span_head *h = val;

		key = next;
		prev = &key;
		if (!bpf_map_lookup_elem(fd, &key, val) && (h->depth || h->closing))
			n++;
	}
	free(val);
	return n;
}

int tail_finish(struct tail_collector *c, struct tail_data *d)
{
	int err;

	detach(c);
	ring_buffer__consume(c->rb);
	if (c->oom)
		return -ENOMEM;
	/* The processes that live on: their maps as they are now. */
	proc_tracker_refresh(c->tracker, true);
	read_counters(c, d->counters);
	d->counters[TCNT_OPEN_AT_END] = count_open(c);
	d->rec = rec_new();
	if (!d->rec)
		return -ENOMEM;
	err = name_sites(c, d->rec);
	/* The unwinder's counters and the tracker's, by name, as funclat. */
	if (!err)
		err = collector_drain_counters(bpf_map__fd(c->skel->maps.unwind_counters), UNW_NR,
					       d->rec, unwind_counter_name);
	if (!err && c->loader)
		unwind_loader_report(c->loader, d->rec);
	if (!err)
		proc_tracker_report(c->tracker, d->rec);
	d->calls = c->calls;
	d->nr_calls = c->nr_calls;
	c->calls = NULL;
	c->nr_calls = 0;
	return err;
}

void tail_destroy(struct tail_collector *c)
{
	if (!c)
		return;
	detach(c);
	ring_buffer__free(c->rb);
	tail_bpf__destroy(c->skel);
	unwind_loader_free(c->loader);
	proc_tracker_free(c->tracker);
	free(c->calls);
	free(c);
}
