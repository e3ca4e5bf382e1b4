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
#include "offcpu.skel.h"
#include "offcpu_collector.h"
#include "unwind_loader.h"
#include "util.h"

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

	ro->filter_tgid = o->filter_pids;
	ro->filter_tid = o->nr_tids > 0;
	ro->follow_forks = o->follow_forks;
	ro->user_threads_only = o->user_only;
	ro->kernel_threads_only = o->kernel_only;
	ro->state_mask = o->state_mask ? o->state_mask : OFFCPU_STATE_ALL;
	ro->min_block_ns = o->min_ns;
	ro->max_block_ns = o->max_ns ? o->max_ns : ~0ULL;
	ro->self_tgid = getpid();
	ro->cache_verify_every = o->verify_every;
	ro->stack_cache = !o->no_stack_cache;
	ro->emit_events = o->emit_events;
	ro->capture_wakers = o->capture_wakers;
}

/* Whether the kernel's struct has the member, by its BTF. */
static bool kernel_has_member(const char *type, const char *member)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	const struct btf_member *m;
	const struct btf_type *t;
	bool found = false;
	int id, i;

	if (!vmlinux)
		return false;
	id = btf__find_by_name_kind(vmlinux, type, BTF_KIND_STRUCT);
	t = id > 0 ? btf__type_by_id(vmlinux, id) : NULL;
	for (i = 0, m = t ? btf_members(t) : NULL; t && i < btf_vlen(t); i++, m++)
		if (!strcmp(btf__name_by_offset(vmlinux, m->name_off), member))
			found = true;
	btf__free(vmlinux);
	return found;
}

/* Chooses tp_btf or raw_tp programs before load (never by retrying). */
static void choose_programs(struct offcpu_collector *c, const struct offcpu_opts *o)
{
	struct offcpu_bpf *skel = c->skel;
	bool btf = !o->force_raw_tp && bpf_env_has_tp_btf("sched_switch") &&
		   bpf_env_has_task_storage();
	/* sched_waking only names wakers: off unless something reads them
	 * (~140 ns a wakeup saved); sched_wakeup stamps the runnable time. */
	bool need_waker = o->capture_wakers || o->emit_events;
	/* --events need CLOCK_MONOTONIC times: bpf_ktime_get_ns. The runqueue
	 * is reached through the CFS runqueue (CONFIG_FAIR_GROUP_SCHED). */
	bool rq_clock = btf && !o->emit_events && kernel_has_member("cfs_rq", "rq");
	/* On the runqueue clock the scheduler's own accounting splits blocked
	 * from runnable time (~80 ns a wakeup saved); --wakers pairs wakers
	 * with the wakeups sched_wakeup sees. */
	bool schedinfo = rq_clock && !o->capture_wakers &&
			 kernel_has_member("sched_info", "last_queued");

	c->btf_mode = btf;
	skel->rodata->rq_clock = rq_clock;
	skel->rodata->runnable_from_schedinfo = schedinfo;
	bpf_program__set_autoload(skel->progs.sched_switch_btf, btf);
	bpf_program__set_autoload(skel->progs.sched_waking_btf, btf && need_waker);
	bpf_program__set_autoload(skel->progs.sched_wakeup_new_btf, btf && need_waker);
	bpf_program__set_autoload(skel->progs.sched_wakeup_btf, btf && !schedinfo);
	bpf_program__set_autoload(skel->progs.sched_switch_raw, !btf);
	bpf_program__set_autoload(skel->progs.sched_waking_raw, !btf && need_waker);
	bpf_program__set_autoload(skel->progs.sched_wakeup_new_raw, !btf && need_waker);
	bpf_program__set_autoload(skel->progs.sched_wakeup_raw, !btf);
	if (btf)
		bpf_map__set_max_entries(skel->maps.thread_states_by_tid, 1);
	else if (!bpf_env_has_task_storage())
		bpf_map__set_autocreate(skel->maps.thread_states, false);
}

static int fill_filters(struct offcpu_collector *c, const struct offcpu_opts *o)
{
	__u8 one = 1;
	int i, err;

	for (i = 0; i < o->nr_pids; i++) {
		err = offcpu_trace_tgid(c, o->pids[i]);
		if (err)
			return err;
	}
	for (i = 0; i < o->nr_tids; i++) {
		__u32 tid = o->tids[i];

		err = bpf_map__update_elem(c->skel->maps.traced_tids, &tid, sizeof(tid),
					   &one, sizeof(one), BPF_ANY);
		if (err)
			return err;
	}
	return 0;
}

int offcpu_start(struct offcpu_collector **out, const struct offcpu_opts *o,
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
	if (o->hist_entries)
		bpf_map__set_max_entries(c->skel->maps.offcpu_hist, o->hist_entries);
	if (o->stack_entries)
		bpf_map__set_max_entries(c->skel->maps.stacks, o->stack_entries);
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
	err = offcpu_bpf__attach(c->skel);
	if (err) {
		err_msg("cannot attach to the scheduler tracepoints: %s", strerror(-err));
		goto fail;
	}
	*out = c;
	return 0;
fail:
	offcpu_destroy(c);
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

/* Copies one stack from the shared stacks map into rec, once: ids already
 * copied (this drain's seen set, or an earlier drain's stacks) are skipped. */
int collector_copy_stack(int stacks_fd, __u64 id, struct recording *rec, struct id_set *seen)
{
	struct stack_trace st;

	if (!id || id_set_has(seen, id) || rec_find_stack(rec, id))
		return 0;
	if (id_set_add(seen, id))
		return -ENOMEM;
	if (bpf_map_lookup_elem(stacks_fd, &id, &st))
		return 0;	/* counted as missing at report time */
	if (st.nr > MAX_STACK_DEPTH)
		st.nr = MAX_STACK_DEPTH;
	return rec_add_stack(rec, id, st.flags, st.nr, st.ips);
}

/* Adds add into the hist map's entry for key; a full map drops like the
 * kernel does (*dropped intervals). */
static int hist_merge(int hist_fd, const struct offcpu_key *key, const struct offcpu_val *add,
		      __u64 *dropped)
{
	struct offcpu_val val;

	if (!bpf_map_lookup_elem(hist_fd, key, &val)) {
		val.count += add->count;
		val.total_ns += add->total_ns;
		val.blocked_ns += add->blocked_ns;
		if (add->max_ns > val.max_ns)
			val.max_ns = add->max_ns;
		return bpf_map_update_elem(hist_fd, key, &val, BPF_EXIST) ? -errno : 0;
	}
	if (!bpf_map_update_elem(hist_fd, key, add, BPF_NOEXIST))
		return 0;
	if (errno != E2BIG)
		return -errno;
	*dropped += add->count;
	return 0;
}

/* Adds n to a per-CPU counter (on CPU 0's copy). */
static int percpu_counter_add(int fd, __u32 id, __u64 n)
{
	int ncpu = libbpf_num_possible_cpus(), err = 0;
	__u64 *vals;

	if (ncpu <= 0)
		return ncpu;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &id, vals) == 0) {
		vals[0] += n;
		if (bpf_map_update_elem(fd, &id, vals, BPF_ANY))
			err = -errno;
	}
	free(vals);
	return err;
}

/*
 * Moves what the per-CPU histogram caches still hold into the hist map, so
 * that it holds everything. The programs are detached: nothing races.
 */
static int flush_hist_cache(struct offcpu_collector *c)
{
	int cache_fd = bpf_map__fd(c->skel->maps.offcpu_hist_cache);
	int hist_fd = bpf_map__fd(c->skel->maps.offcpu_hist);
	int ncpu = libbpf_num_possible_cpus(), cpu, err = 0;
	struct offcpu_hist_slot *slots;
	__u64 dropped = 0;
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
				err = hist_merge(hist_fd, &slots[cpu].key, &slots[cpu].val,
						 &dropped);
	}
	free(slots);
	if (!err && dropped)
		err = percpu_counter_add(bpf_map__fd(c->skel->maps.counters), CNT_DROP_HIST_FULL,
					 dropped);
	return err;
}

int offcpu_drain(struct offcpu_collector *c, struct recording *rec)
{
	int hist_fd = bpf_map__fd(c->skel->maps.offcpu_hist);
	int stacks_fd = bpf_map__fd(c->skel->maps.stacks);
	struct offcpu_key key, next;
	struct offcpu_val val;
	struct id_set seen = {};
	void *prev = NULL;
	int err;

	err = flush_hist_cache(c);
	while (!err && !bpf_map_get_next_key(hist_fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(hist_fd, &key, &val))
			continue;
		err = rec_add_offcpu(rec, &key, &val);
		if (!err)
			err = collector_copy_stack(stacks_fd, key.user_stack_id, rec, &seen);
		if (!err)
			err = collector_copy_stack(stacks_fd, key.kern_stack_id, rec, &seen);
		if (err)
			break;
	}
	/* Intervals whose histogram entry was dropped still name stacks. */
	for (size_t i = 0; i < rec->nr_events && !err; i++) {
		err = collector_copy_stack(stacks_fd, rec->events[i].user_stack_id, rec, &seen);
		if (!err)
			err = collector_copy_stack(stacks_fd, rec->events[i].kern_stack_id, rec, &seen);
	}
	id_set_free(&seen);
	if (!err)
		err = drain_counters(c, rec);
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
