// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "bpf_env.h"
#include "cfi_table.h"
#include "map_drain.h"
#include "offcpu_collector.h"
#include "rec_store.h"
#include "unwind_loader.h"
#include "util.h"
/* After the headers: its bss holds struct map_swap (drain.h). */
#include "offcpu.skel.h"

struct offcpu_collector {
	struct offcpu_bpf *skel;
	struct ring_buffer *notify_rb;
	proc_notify_fn on_proc;
	void *ctx;
	struct recording *events_rec;	/* --events sink */
	__u64 events_oom;		/* events user space had no memory for */
	__u64 events_max;		/* kept at most */
	__u64 events_over;		/* ... and the ones past it */
	bool btf_mode;
	bool cfi;
	__u32 hist_cap;			/* entries of each histogram buffer */
	__u32 stack_cap;		/* entries of the stacks map */
	uint64_t hist_drained_ns;	/* last drain, for DRAIN_PERIOD_NS */
	uint64_t stacks_drained_ns;
	__u64 stacks_at_drain;		/* stack_stats when the last drain began */
	__u64 hist_drains;		/* buffers drained while recording */
	__u64 hist_moved;		/* ... entries they held */
	__u64 stack_drains;
	__u64 stacks_moved;
};

static const char *const counter_names[CNT_NR] = {
	[CNT_DROP_HIST_FULL] = "dropped_hist_full",
	[CNT_DROP_STACK_FULL] = "dropped_stack_map_full",
	[CNT_DROP_THREAD_FULL] = "dropped_thread_state_full",
	[CNT_USTACK_EMPTY] = "user_stack_empty",
	[CNT_USTACK_TRUNCATED] = "user_stack_truncated",
	[CNT_KSTACK_FAILED] = "kernel_stack_failed",
	[CNT_CACHE_HITS] = "stack_cache_hits",
	[CNT_CACHE_VERIFIED] = "stack_cache_verified",
	[CNT_CACHE_MISMATCH_USER] = "stack_cache_mismatch_user",
	[CNT_CACHE_MISMATCH_KERN] = "stack_cache_mismatch_kernel",
	[CNT_FILTERED_DURATION] = "filtered_by_duration",
	[CNT_NEW_PROCESS_LOST] = "process_notifications_lost",
	[CNT_EVENTS_LOST] = "events_lost",
	[CNT_DROP_WAKERS_FULL] = "dropped_wakers_full",
	[CNT_CACHE_MISS] = "stack_cache_misses",
	[CNT_CACHE_MISS_STALE] = "stack_cache_misses_stale",
	[CNT_CACHE_MISS_OTHER_CALLER] = "stack_cache_misses_other_caller",
	[CNT_STACK_INTERRUPTED] = "stacks_interrupted",
	[CNT_SWITCH_IN_UNSEEN] = "switch_in_unseen",
	[CNT_SWITCH_IN_LOST] = "switch_in_lost",
	[CNT_RUN_UNSEEN] = "runs_unseen",
};

static int on_notify(void *ctx, void *data, size_t size)
{
	struct offcpu_collector *c = ctx;

	if (size >= sizeof(struct proc_notify) && c->on_proc)
		c->on_proc(c->ctx, data);
	return 0;
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct offcpu_collector *c = ctx;

	if (size < sizeof(struct offcpu_event) || !c->events_rec)
		return 0;
	if (c->events_rec->nr_events >= c->events_max)
		c->events_over++;
	else if (rec_add_event(c->events_rec, data))
		c->events_oom++;
	return 0;
}

void offcpu_set_event_sink(struct offcpu_collector *c, struct recording *rec)
{
	c->events_rec = rec;
}

#define DEFAULT_EVENTS_BUFFER (8u << 20)

/* The ring must be a power-of-2 multiple of the page size. */
static __u32 events_ring_size(const struct offcpu_opts *o)
{
	__u32 page = (__u32)sysconf(_SC_PAGESIZE), size = page;
	__u32 want = o->events_buffer ? o->events_buffer : DEFAULT_EVENTS_BUFFER;

	if (!o->emit_events)
		return page;
	while (size < want && size < (1u << 30))
		size <<= 1;
	return size;
}

#define DEFAULT_UNWIND_ROWS (1u << 20)	/* 8 MiB of kernel memory */

/* CFI needs bpf_loop; exact stack bounds need bpf_find_vma and task
 * storage. Without them: frame pointers within 8 MiB of the stack pointer. */
static void choose_unwinder(struct offcpu_collector *c, const struct offcpu_opts *o)
{
	struct offcpu_bpf *skel = c->skel;

	c->cfi = !o->unwind_fp && bpf_env_has_helper(BPF_FUNC_loop);
	skel->rodata->unwind_cfi = c->cfi;
	skel->rodata->find_stack_vma = bpf_env_has_task_storage() &&
				       bpf_env_has_helper(BPF_FUNC_find_vma);
	bpf_map__set_max_entries(skel->maps.cfi_rows,
				 c->cfi ? (o->unwind_rows ? o->unwind_rows : DEFAULT_UNWIND_ROWS) : 1);
	if (!skel->rodata->find_stack_vma && !bpf_env_has_task_storage())
		bpf_map__set_autocreate(skel->maps.stack_bounds_map, false);
}

static void set_rodata(struct offcpu_bpf *skel, const struct offcpu_opts *o)
{
	struct offcpu_bpf__rodata *ro = skel->rodata;
	const struct target *t = o->target;

	BPF_COMMON_RODATA(ro, t->filter_pids, t->min_ns, t->max_ns);
	ro->filter_tid = t->nr_tids > 0;
	ro->follow_forks = t->follow_forks;
	ro->user_threads_only = t->user_only;
	ro->kernel_threads_only = t->kernel_only;
	ro->state_mask = t->state_mask ? t->state_mask : OFFCPU_STATE_ALL;
	ro->cache_verify_every = o->verify_every;
	ro->stack_cache = !o->no_stack_cache;
	ro->hist_cache_on = !o->no_hist_cache;
	ro->emit_events = o->emit_events;
	ro->capture_wakers = o->capture_wakers;
}

/* Chooses tp_btf or raw_tp programs before load (never by retrying). */
static void choose_programs(struct offcpu_collector *c, const struct offcpu_opts *o)
{
	struct offcpu_bpf *skel = c->skel;
	bool btf = !o->force_raw_tp && bpf_env_has_tp_btf("sched_switch") &&
		   bpf_env_has_task_storage();
	/* sched_waking only names wakers: off unless something reads them
	 * (~140 ns a wakeup saved). */
	bool need_waker = o->capture_wakers || o->emit_events;
	/* --events need CLOCK_MONOTONIC times: bpf_ktime_get_ns. The runqueue
	 * is reached through the CFS runqueue (CONFIG_FAIR_GROUP_SCHED). */
	bool rq_clock = btf && !o->emit_events && bpf_env_kernel_has_member("cfs_rq", "rq");
	/* The scheduler's own accounting, on its runqueue clock, splits
	 * blocked from runnable time on every path (see blocked_part()):
	 * sched_wakeup's stamp on bpf_ktime_get_ns ran 4-5% over run_delay
	 * for a thread napping 1 ms. --wakers still pairs wakers with the
	 * wakeups sched_wakeup sees. */
	bool schedinfo = bpf_env_kernel_has_member("cfs_rq", "rq") &&
			 bpf_env_kernel_has_member("sched_info", "last_queued");
	bool need_wakeup = !schedinfo || o->capture_wakers;

	c->btf_mode = btf;
	skel->rodata->rq_clock = rq_clock;
	skel->rodata->lock_owners_on = o->lock_owners;
	skel->rodata->runnable_from_schedinfo = schedinfo;
	bpf_program__set_autoload(skel->progs.sched_switch_btf, btf);
	bpf_program__set_autoload(skel->progs.sched_waking_btf, btf && need_waker);
	bpf_program__set_autoload(skel->progs.sched_wakeup_new_btf, btf && need_waker);
	bpf_program__set_autoload(skel->progs.sched_wakeup_btf, btf && need_wakeup);
	bpf_program__set_autoload(skel->progs.sched_switch_raw, !btf);
	bpf_program__set_autoload(skel->progs.sched_waking_raw, !btf && need_waker);
	bpf_program__set_autoload(skel->progs.sched_wakeup_new_raw, !btf && need_waker);
	bpf_program__set_autoload(skel->progs.sched_wakeup_raw, !btf && need_wakeup);
	if (btf)
		bpf_map__set_max_entries(skel->maps.thread_states_by_tid, 1);
	else if (!bpf_env_has_task_storage())
		bpf_map__set_autocreate(skel->maps.thread_states, false);
}

static int fill_filters(struct offcpu_collector *c, const struct offcpu_opts *o)
{
	const struct target *t = o->target;
	__u8 one = 1;
	int i, err;

	for (i = 0; i < t->nr_pids; i++) {
		err = offcpu_trace_tgid(c, t->pids[i]);
		if (err)
			return err;
	}
	for (i = 0; i < t->nr_tids; i++) {
		__u32 tid = t->tids[i];

		err = bpf_map__update_elem(c->skel->maps.traced_tids, &tid, sizeof(tid),
					   &one, sizeof(one), BPF_ANY);
		if (err)
			return err;
	}
	return 0;
}

int offcpu_load(struct offcpu_collector **out, const struct offcpu_opts *o,
		proc_notify_fn on_proc, void *ctx)
{
	struct offcpu_collector *c;
	int err;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->on_proc = on_proc;
	c->ctx = ctx;
	c->events_max = o->events_max ? o->events_max : OFFCPU_EVENTS_MAX;
	c->skel = offcpu_bpf__open();
	if (!c->skel) {
		err = -errno;
		err_msg("cannot open the BPF object: %s", strerror(-err));
		goto fail;
	}
	set_rodata(c->skel, o);
	choose_programs(c, o);
	choose_unwinder(c, o);
	if (!o->capture_wakers)
		bpf_map__set_max_entries(c->skel->maps.offcpu_wakers, 1);
	if (o->hist_entries) {
		bpf_map__set_max_entries(c->skel->maps.offcpu_hist, o->hist_entries);
		bpf_map__set_max_entries(c->skel->maps.offcpu_hist_b, o->hist_entries);
	}
	if (o->stack_entries)
		bpf_map__set_max_entries(c->skel->maps.stacks, o->stack_entries);
	c->hist_cap = bpf_map__max_entries(c->skel->maps.offcpu_hist);
	c->stack_cap = bpf_map__max_entries(c->skel->maps.stacks);
	c->hist_drained_ns = c->stacks_drained_ns = now_ns();
	bpf_map__set_max_entries(c->skel->maps.events, events_ring_size(o));
	err = offcpu_bpf__load(c->skel);
	if (err) {
		bpf_env_explain_load_error("off-CPU", err);
		goto fail;
	}
	err = fill_filters(c, o);
	if (err) {
		err_msg("cannot set the process filter: %s", strerror(-err));
		goto fail;
	}
	c->notify_rb = ring_buffer__new(bpf_map__fd(c->skel->maps.proc_notifies), on_notify, c,
					NULL);
	if (!c->notify_rb) {
		err = -errno;
		err_msg("cannot open the notification ring buffer: %s", strerror(-err));
		goto fail;
	}
	if (o->emit_events) {
		err = ring_buffer__add(c->notify_rb, bpf_map__fd(c->skel->maps.events), on_event, c);
		if (err) {
			err_msg("cannot open the events ring buffer: %s", strerror(-err));
			goto fail;
		}
	}
	*out = c;
	return 0;
fail:
	offcpu_destroy(c);
	return err;
}

int offcpu_attach(struct offcpu_collector *c)
{
	int err = offcpu_bpf__attach(c->skel);

	if (err)
		err_msg("cannot attach to the scheduler tracepoints: %s", strerror(-err));
	return err;
}

int offcpu_start(struct offcpu_collector **out, const struct offcpu_opts *o,
		 proc_notify_fn on_proc, void *ctx)
{
	int err = offcpu_load(out, o, on_proc, ctx);

	if (err)
		return err;
	err = offcpu_attach(*out);
	if (err) {
		offcpu_destroy(*out);
		*out = NULL;
	}
	return err;
}

struct bpf_map *offcpu_map(const struct offcpu_collector *c, const char *name)
{
	return bpf_object__find_map_by_name(c->skel->obj, name);
}

bool offcpu_unwinds_cfi(const struct offcpu_collector *c)
{
	return c->cfi;
}

const char *offcpu_attach_mode(const struct offcpu_collector *c)
{
	return c->btf_mode ? "tp_btf" : "raw_tp";
}

int offcpu_trace_tgid(struct offcpu_collector *c, int tgid)
{
	__u32 key = tgid;
	__u8 one = 1;

	return bpf_map__update_elem(c->skel->maps.traced_tgids, &key, sizeof(key), &one,
				    sizeof(one), BPF_ANY);
}

int offcpu_poll(struct offcpu_collector *c, int timeout_ms)
{
	int n = ring_buffer__poll(c->notify_rb, timeout_ms);

	/* Events are submitted without a wakeup until the ring fills a
	 * quarter: epoll does not see them, so drain on every tick. */
	if (n >= 0 && c->events_rec)
		ring_buffer__consume(c->notify_rb);
	return n == -EINTR ? 0 : n;
}

void offcpu_detach(struct offcpu_collector *c)
{
	offcpu_bpf__detach(c->skel);
	/* Deliver what was queued before detaching. */
	ring_buffer__consume(c->notify_rb);
}

/* Sums a per-CPU array of counters into named recording counters. */
int collector_drain_counters(int fd, __u32 nr, struct recording *rec,
				 const char *(*name_of)(__u32 id, char *buf, size_t len))
{
	int ncpu = libbpf_num_possible_cpus(), i, err = 0;
	__u64 *vals, sum;
	char buf[64];
	__u32 id;

	if (ncpu <= 0)
		return ncpu;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (id = 0; id < nr && !err; id++) {
		if (bpf_map_lookup_elem(fd, &id, vals))
			continue;
		for (sum = 0, i = 0; i < ncpu; i++)
			sum += vals[i];
		err = rec_add_counter(rec, name_of(id, buf, sizeof(buf)), sum);
	}
	free(vals);
	return err;
}

static const char *offcpu_counter_name(__u32 id, char *buf, size_t len)
{
	return counter_names[id];
}

static int drain_counters(struct offcpu_collector *c, struct recording *rec)
{
	int err;

	err = collector_drain_counters(bpf_map__fd(c->skel->maps.counters), CNT_NR, rec,
				    offcpu_counter_name);
	if (!err)
		err = collector_drain_counters(bpf_map__fd(c->skel->maps.unwind_counters), UNW_NR,
					    rec, unwind_counter_name);
	return err;
}

int offcpu_peek_counters(struct offcpu_collector *c, struct recording *rec)
{
	return drain_counters(c, rec);
}

struct bpf_object *offcpu_object(const struct offcpu_collector *c)
{
	return c->skel->obj;
}

/* Copies one stack from the shared stacks map into rec, once: ids already
 * stored (by any drain) or tried in this drain (seen) are skipped. */
int collector_copy_stack(int stacks_fd, __u64 id, struct recording *rec, struct id_set *seen)
{
	struct stack_trace st;

	if (!id || id_set_has(seen, id) || rec_has_stack_id(rec, id))
		return 0;
	if (id_set_add(seen, id))
		return -ENOMEM;
	if (bpf_map_lookup_elem(stacks_fd, &id, &st))
		return 0;	/* counted as missing at report time */
	if (st.nr > MAX_STACK_DEPTH)
		st.nr = MAX_STACK_DEPTH;
	return rec_store_stack(rec, id, st.flags, st.nr, st.ips);
}

/* One histogram entry into the recording, with the stacks it names while
 * they are still in the kernel. */
static int sink_hist_entry(void *ctx, const void *key, const void *val)
{
	struct collector_sink *sink = ctx;
	const struct offcpu_key *k = key;
	int err;

	err = rec_merge_offcpu(sink->rec, k, val);
	if (!err)
		err = collector_copy_stack(sink->stacks_fd, k->user_stack_id, sink->rec, &sink->seen);
	if (!err)
		err = collector_copy_stack(sink->stacks_fd, k->kern_stack_id, sink->rec, &sink->seen);
	return err;
}

static int sink_stack(void *ctx, const void *key, const void *val)
{
	const struct stack_trace *st = val;

	return rec_store_stack(ctx, *(const __u64 *)key, st->flags,
			       st->nr > MAX_STACK_DEPTH ? MAX_STACK_DEPTH : st->nr, st->ips);
}

static int hist_buffer_fd(struct offcpu_collector *c, __u32 buf)
{
	return bpf_map__fd(buf ? c->skel->maps.offcpu_hist_b : c->skel->maps.offcpu_hist);
}

/* Empties one histogram buffer into rec. */
static int take_hist_buffer(struct offcpu_collector *c, __u32 buf, struct collector_sink *sink)
{
	return map_take_all(hist_buffer_fd(c, buf), sizeof(struct offcpu_key),
			    sizeof(struct offcpu_val), sink_hist_entry, sink, &c->hist_moved);
}

static __u64 stacks_inserted(struct offcpu_collector *c)
{
	__u32 key = STACK_STATS_INSERTED;
	__u64 n = 0;

	bpf_map_lookup_elem(bpf_map__fd(c->skel->maps.stack_stats), &key, &n);
	return n;
}

/* Copies every stack out of the kernel and deletes it: ids are content
 * hashes, so one captured again is inserted again under the same id, and
 * rec keeps every id it got. */
static int drain_stacks(struct offcpu_collector *c, struct recording *rec, __u64 inserted)
{
	c->stacks_at_drain = inserted;
	c->stack_drains++;
	return map_take_all(bpf_map__fd(c->skel->maps.stacks), sizeof(__u64),
			    sizeof(struct stack_trace), sink_stack, rec, &c->stacks_moved);
}

void offcpu_collect_due_now(struct offcpu_collector *c)
{
	c->hist_drained_ns = c->stacks_drained_ns = 0;
}

int offcpu_collect(struct offcpu_collector *c, struct recording *rec)
{
	struct collector_sink sink = { .rec = rec, .stacks_fd = bpf_map__fd(c->skel->maps.stacks) };
	uint64_t now = now_ns();
	__u64 inserted;
	int err = 0;

	if (map_swap_due(&c->skel->bss->hist_swap, c->hist_cap, c->hist_drained_ns, now)) {
		__u32 buf = map_swap_flip(&c->skel->bss->hist_swap);

		err = take_hist_buffer(c, buf, &sink);
		map_swap_drained(&c->skel->bss->hist_swap, buf);
		c->hist_drains++;
		c->hist_drained_ns = now;
	}
	id_set_free(&sink.seen);
	inserted = stacks_inserted(c);
	if (!err && (inserted - c->stacks_at_drain >= c->stack_cap / DRAIN_FILL_DIV ||
		     (inserted != c->stacks_at_drain &&
		      now - c->stacks_drained_ns >= DRAIN_PERIOD_NS))) {
		err = drain_stacks(c, rec, inserted);
		c->stacks_drained_ns = now;
	}
	return err;
}

/*
 * Merges what the per-CPU histogram caches still hold into rec. The
 * programs are detached: nothing races.
 */
static int flush_hist_cache(struct offcpu_collector *c, struct collector_sink *sink)
{
	int cache_fd = bpf_map__fd(c->skel->maps.offcpu_hist_cache);
	int ncpu = libbpf_num_possible_cpus(), cpu, err = 0;
	struct offcpu_hist_slot *slots;
	__u32 idx;

	if (ncpu <= 0)
		return ncpu;
	slots = calloc(ncpu, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (idx = 0; idx < OFFCPU_HIST_CACHE_SLOTS && !err; idx++) {
		if (bpf_map_lookup_elem(cache_fd, &idx, slots))
			continue;
		for (cpu = 0; cpu < ncpu && !err; cpu++)
			if (slots[cpu].val.count)
				err = sink_hist_entry(sink, &slots[cpu].key, &slots[cpu].val);
	}
	free(slots);
	return err;
}

static int add_drain_counters(struct offcpu_collector *c, struct recording *rec)
{
	int err;

	err = rec_add_counter(rec, "hist_drains", c->hist_drains);
	if (!err)
		err = rec_add_counter(rec, "hist_entries_drained", c->hist_moved);
	if (!err)
		err = rec_add_counter(rec, "stack_drains", c->stack_drains);
	if (!err)
		err = rec_add_counter(rec, "stacks_drained", c->stacks_moved);
	return err;
}

int offcpu_drain(struct offcpu_collector *c, struct recording *rec)
{
	struct collector_sink sink = { .rec = rec, .stacks_fd = bpf_map__fd(c->skel->maps.stacks) };
	__u64 final_moved = 0;
	int err;

	/* What the live drains moved is counted apart from this last pass. */
	err = flush_hist_cache(c, &sink);
	if (!err)
		err = map_take_all(hist_buffer_fd(c, 0), sizeof(struct offcpu_key),
				   sizeof(struct offcpu_val), sink_hist_entry, &sink, &final_moved);
	if (!err)
		err = map_take_all(hist_buffer_fd(c, 1), sizeof(struct offcpu_key),
				   sizeof(struct offcpu_val), sink_hist_entry, &sink, &final_moved);
	/* Intervals whose histogram entry was dropped still name stacks. */
	for (size_t i = 0; i < rec->nr_events && !err; i++) {
		err = collector_copy_stack(sink.stacks_fd, rec->events[i].user_stack_id, rec,
					   &sink.seen);
		if (!err)
			err = collector_copy_stack(sink.stacks_fd, rec->events[i].kern_stack_id, rec,
						   &sink.seen);
	}
	id_set_free(&sink.seen);
	if (!err)
		err = drain_counters(c, rec);
	if (!err)
		err = add_drain_counters(c, rec);
	if (!err && c->events_rec)
		err = rec_add_counter(rec, "events_dropped_no_memory", c->events_oom);
	if (!err && c->events_rec)
		err = rec_add_counter(rec, "events_dropped_limit", c->events_over);
	if (c->events_over)
		err_msg("warning: %llu events past the first %llu were counted, not kept "
			"(events_dropped_limit)", (unsigned long long)c->events_over,
			(unsigned long long)c->events_max);
	return err;
}

void offcpu_destroy(struct offcpu_collector *c)
{
	if (!c)
		return;
	ring_buffer__free(c->notify_rb);
	offcpu_bpf__destroy(c->skel);
	free(c);
}
