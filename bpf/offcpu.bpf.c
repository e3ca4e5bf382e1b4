// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Off-CPU time: at switch-out take the thread's stacks, at switch-in add the
 * interval to a sparse log-linear histogram keyed by (process, thread,
 * stacks, state). sched_waking marks when a blocked thread became runnable,
 * which splits each interval into blocked and run-queue time.
 *
 * Each program comes twice: tp_btf (per-thread state in task storage) and
 * raw_tp (per-thread state in a hash map by tid) for kernels without tp_btf.
 * User space picks one set before load; the bodies are shared.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "offcpu.h"
#include "stacks.bpf.h"
#include "maps.bpf.h"

#define PF_KTHREAD		0x00200000
#define TASK_INTERRUPTIBLE	0x0001
#define TASK_UNINTERRUPTIBLE	0x0002
#define STACK_CACHE_WAYS	4

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Knobs, set through the skeleton's rodata before load. */
const volatile bool filter_tgid = false;	/* -p / -- COMMAND */
const volatile bool filter_tid = false;		/* -t */
const volatile bool follow_forks = false;	/* add children of traced processes */
const volatile bool user_threads_only = false;	/* -u */
const volatile bool kernel_threads_only = false; /* -k */
const volatile __u8 state_mask = OFFCPU_STATE_ALL; /* --state */
const volatile __u64 min_block_ns = 0;		/* -m */
const volatile __u64 max_block_ns = ~0ULL;	/* -M */
const volatile __u32 self_tgid = 0;		/* never trace the recorder */
const volatile __u32 cache_verify_every = 64;	/* 0: trust the cache blindly */
const volatile bool stack_cache = true;
const volatile bool capture_wakers = false;	/* --wakers: off-wake chains */
const volatile bool emit_events = false;	/* --events: every interval to events */
const volatile bool rq_clock = false;		/* time from the runqueue clock (tp_btf) */
const volatile bool runnable_from_schedinfo = false; /* no sched_wakeup: see blocked_part() */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} traced_tgids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} traced_tids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);		/* resized by user space */
	__type(key, struct offcpu_key);
	__type(value, struct offcpu_val);
} offcpu_hist SEC(".maps");

/* In front of offcpu_hist: see struct offcpu_hist_slot. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, OFFCPU_HIST_CACHE_SLOTS);
	__type(key, __u32);
	__type(value, struct offcpu_hist_slot);
} offcpu_hist_cache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);		/* 1 without --wakers */
	__type(key, struct offcpu_waker_key);
	__type(value, struct offcpu_waker_val);
} offcpu_wakers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CNT_NR);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u8);
} seen_tgids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} proc_notifies SEC(".maps");

/* record --events: sized by user space (--events-buffer); one page when off. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

/* Stack ids a thread had when it last blocked with these registers. */
struct stack_cache_entry {
	__u64 ip;
	__u64 sp;
	__u64 bp;
	__s64 syscall_nr;
	__u32 state;		/* preempted and sleeping take other kernel paths */
	__u32 epoch;		/* unwind tables in force when walked */
	__u64 user_stack_id;
	__u64 kern_stack_id;
};

struct thread_state {
	__u64 off_ts;		/* switch-out time; 0 while on CPU or untracked */
	char comm[TASK_COMM_LEN]; /* taken at switch-out, when the task is current */
	__u32 tgid;
	__u32 pad0;
	__u64 wake_ts;		/* made runnable (sched_wakeup) during this interval */
	__u64 run_delay;	/* sched_info.run_delay at switch-out */
	__u64 user_stack_id;
	__u64 kern_stack_id;
	__u32 waker_tid;
	__u32 waker_tgid;	/* --wakers: who woke this interval */
	char waker_comm[TASK_COMM_LEN];
	__u64 waker_user_stack_id;
	__u64 waker_kern_stack_id;
	__u8 state;
	__u8 cache_next;
	__u8 waker_seen;	/* sched_waking named the waker */
	__u8 pad;
	__u16 hits_since_verify;
	struct stack_cache_entry cache[STACK_CACHE_WAYS];
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct thread_state);
} thread_states SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);		/* 1 when task storage is used */
	__type(key, __u32);
	__type(value, struct thread_state);
} thread_states_by_tid SEC(".maps");

static __always_inline void counter_add(__u32 id, __u64 n)
{
	__u64 *cnt = bpf_map_lookup_elem(&counters, &id);

	if (cnt)
		*cnt += n;
}

/*
 * The time of a scheduler event on p's runqueue. bpf_ktime_get_ns costs
 * ~60 ns on a VM. The runqueue's clock was updated by the scheduler just
 * before sched_switch and sched_wakeup (its own run_delay reads it) and is
 * three loads away: the runqueue only through p's CFS runqueue, as the
 * per-CPU runqueues symbol needs CONFIG_KALLSYMS_ALL. tp_btf only (p is a
 * BTF pointer), and not for --events, whose times are CLOCK_MONOTONIC.
 */
static __always_inline __u64 sched_now(struct task_struct *p)
{
	if (!rq_clock || !bpf_core_field_exists(struct cfs_rq, rq))
		return bpf_ktime_get_ns();
	return p->se.cfs_rq->rq->clock;
}

static __always_inline struct thread_state *
thread_state_get(struct task_struct *task, __u32 tid, bool btf, bool create)
{
	static const struct thread_state zero;
	struct thread_state *ts;

	if (btf)
		return bpf_task_storage_get(&thread_states, task, 0,
					    create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
	ts = bpf_map_lookup_elem(&thread_states_by_tid, &tid);
	if (ts || !create)
		return ts;
	bpf_map_update_elem(&thread_states_by_tid, &tid, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&thread_states_by_tid, &tid);
}

static __always_inline bool thread_traced(struct task_struct *task, __u32 tgid, __u32 tid)
{
	__u32 flags;

	if (!tid || tgid == self_tgid)
		return false;
	if (user_threads_only || kernel_threads_only) {
		flags = task->flags;
		if (user_threads_only && (flags & PF_KTHREAD))
			return false;
		if (kernel_threads_only && !(flags & PF_KTHREAD))
			return false;
	}
	if (filter_tgid && !bpf_map_lookup_elem(&traced_tgids, &tgid))
		return false;
	if (filter_tid && !bpf_map_lookup_elem(&traced_tids, &tid))
		return false;
	return true;
}

struct task_struct___pre_5_14 {
	long state;
};

static __always_inline __u8 switch_out_state(bool preempt, struct task_struct *prev)
{
	long state;

	if (preempt)
		return OFFCPU_PREEMPTED;
	if (bpf_core_field_exists(prev->__state))
		state = prev->__state;
	else
		state = BPF_CORE_READ((struct task_struct___pre_5_14 *)prev, state);
	if (state & TASK_UNINTERRUPTIBLE)
		return OFFCPU_UNINTERRUPTIBLE;
	if (state & TASK_INTERRUPTIBLE)
		return OFFCPU_INTERRUPTIBLE;
	return OFFCPU_PREEMPTED;	/* yielded while runnable */
}

/* task must be trusted: current, from bpf_get_current_task_btf() in raw_tp
 * programs as well. */
static __always_inline void read_user_regs(struct task_struct *task, struct user_regs *r)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);

	r->ip = regs->ip;
	r->sp = regs->sp;
	r->bp = regs->bp;
	r->syscall_nr = regs->orig_ax;
}

static __always_inline void walk_stacks(void *ctx, const struct user_regs *regs, bool user,
					__u64 *user_id, __u64 *kern_id)
{
	__u32 uflags = 0;
	long err = 0;

	*kern_id = capture_kernel_stack(ctx, &err);
	if (!*kern_id)
		counter_add(err == -7 /* E2BIG */ ? CNT_DROP_STACK_FULL : CNT_KSTACK_FAILED, 1);
	*user_id = 0;
	if (!user)
		return;
	err = 0;
	*user_id = capture_user_stack(regs, &err, &uflags);
	if (!*user_id)
		counter_add(err ? CNT_DROP_STACK_FULL : CNT_USTACK_EMPTY, 1);
	else if (uflags & STACK_TRUNCATED)
		counter_add(CNT_USTACK_TRUNCATED, 1);
}

static __always_inline void notify_new_process(__u32 tgid)
{
	struct proc_notify *ev;
	__u8 one = 1;

	if (bpf_map_update_elem(&seen_tgids, &tgid, &one, BPF_NOEXIST))
		return;		/* seen before (or the map is full) */
	ev = bpf_ringbuf_reserve(&proc_notifies, sizeof(*ev), 0);
	if (!ev) {
		counter_add(CNT_NEW_PROCESS_LOST, 1);
		return;
	}
	ev->type = PROC_NOTIFY_NEW;
	ev->tgid = tgid;
	ev->parent_tgid = 0;
	ev->pad = 0;
	bpf_ringbuf_submit(ev, 0);
}

/*
 * Stacks of the thread going off CPU. A thread that blocks again with the
 * same user registers, syscall and state is almost always at the same place, so
 * the ids are reused from a small per-thread cache; every
 * cache_verify_every-th hit is walked anyway and disagreements are counted,
 * which is how the report proves the cache safe. A preempted thread is not:
 * inside a syscall its user registers stay those of the entry while the
 * kernel can preempt it at any of many points (on a loaded machine 3-7% of
 * such hits had another kernel stack), and in user mode its ip moves anyway.
 */
static __always_inline void take_stacks(void *ctx, struct task_struct *prev,
					struct thread_state *ts, __u32 tgid, __u8 state)
{
	struct stack_cache_entry *e = NULL;
	struct user_regs regs = {};
	__u32 i, epoch = unwind_epoch_now();
	__u64 user_id, kern_id;
	bool user;

	user = !(prev->flags & PF_KTHREAD);
	if (user)
		read_user_regs(prev, &regs);
	if (user && stack_cache && state != OFFCPU_PREEMPTED) {
		for (i = 0; i < STACK_CACHE_WAYS; i++) {
			if (ts->cache[i].ip == regs.ip && ts->cache[i].sp == regs.sp &&
			    ts->cache[i].bp == regs.bp &&
			    ts->cache[i].syscall_nr == regs.syscall_nr &&
			    ts->cache[i].state == state && ts->cache[i].epoch == epoch) {
				e = &ts->cache[i];
				break;
			}
		}
	}
	if (e) {
		counter_add(CNT_CACHE_HITS, 1);
		ts->user_stack_id = e->user_stack_id;
		ts->kern_stack_id = e->kern_stack_id;
		if (!cache_verify_every || ++ts->hits_since_verify < cache_verify_every)
			return;
		ts->hits_since_verify = 0;
	}
	/* One call site only: the kernel stack starts inside this program, so
	 * a second call site would give the same stack another id. */
	walk_stacks(ctx, &regs, user, &user_id, &kern_id);
	ts->user_stack_id = user_id;
	ts->kern_stack_id = kern_id;
	if (e) {
		counter_add(CNT_CACHE_VERIFIED, 1);
		if (user_id != e->user_stack_id)
			counter_add(CNT_CACHE_MISMATCH_USER, 1);
		if (kern_id != e->kern_stack_id)
			counter_add(CNT_CACHE_MISMATCH_KERN, 1);
		/* The fresh walk is the truth for this interval and the next. */
		e->user_stack_id = user_id;
		e->kern_stack_id = kern_id;
		return;
	}
	if (user)
		notify_new_process(tgid);
	if (!user || !stack_cache || state == OFFCPU_PREEMPTED)
		return;
	e = &ts->cache[ts->cache_next & (STACK_CACHE_WAYS - 1)];
	ts->cache_next++;
	e->ip = regs.ip;
	e->sp = regs.sp;
	e->bp = regs.bp;
	e->syscall_nr = regs.syscall_nr;
	e->state = state;
	e->epoch = epoch;
	e->user_stack_id = user_id;
	e->kern_stack_id = kern_id;
}

/* The name as two loads from the trusted task, not a helper's string copy:
 * the kernel keeps comm NUL-padded (strscpy_pad). */
static __always_inline void copy_comm(char *dst, const struct task_struct *task)
{
	const __u64 *src = (const __u64 *)task->comm;

	((__u64 *)dst)[0] = src[0];
	((__u64 *)dst)[1] = src[1];
}

/* prev is trusted (current) in both modes: its fields are plain loads. */
static __always_inline void switch_out(void *ctx, bool preempt, struct task_struct *prev,
				       __u64 now, bool btf)
{
	struct thread_state *ts;
	__u32 tgid, tid;
	__u8 state;

	if (!btf)
		prev = bpf_get_current_task_btf();
	tgid = prev->tgid;
	tid = prev->pid;
	if (!thread_traced(prev, tgid, tid))
		return;
	state = switch_out_state(preempt, prev);
	ts = thread_state_get(prev, tid, btf, true);
	if (!ts) {
		counter_add(CNT_DROP_THREAD_FULL, 1);
		return;
	}
	if (!(state & state_mask)) {
		ts->off_ts = 0;
		return;
	}
	take_stacks(ctx, prev, ts, tgid, state);
	ts->tgid = tgid;
	copy_comm(ts->comm, prev);
	ts->off_ts = now;
	ts->wake_ts = 0;
	if (runnable_from_schedinfo && bpf_core_field_exists(prev->sched_info.run_delay))
		ts->run_delay = prev->sched_info.run_delay;
	ts->waker_tid = 0;
	ts->waker_seen = 0;
	ts->state = state;
}

/* Adds v into offcpu_hist, where every CPU's cache writes back: atomics. */
static __always_inline void hist_write_back(const struct offcpu_key *key,
					    const struct offcpu_val *v)
{
	static const struct offcpu_val zero;
	struct offcpu_val *val;

	val = map_lookup_or_init(&offcpu_hist, key, &zero);
	if (!val) {
		counter_add(CNT_DROP_HIST_FULL, v->count);
		return;
	}
	__sync_fetch_and_add(&val->count, v->count);
	__sync_fetch_and_add(&val->total_ns, v->total_ns);
	__sync_fetch_and_add(&val->blocked_ns, v->blocked_ns);
	if (v->max_ns > val->max_ns)
		val->max_ns = v->max_ns;	/* a rare lost race only lowers max */
}

/* Stack ids are hashes already: a multiply spreads the rest. */
static __always_inline __u32 hist_slot_index(const struct offcpu_key *k)
{
	__u64 h = k->user_stack_id ^ (k->kern_stack_id << 1) ^ ((__u64)k->tid << 32) ^
		  ((__u64)k->bucket << 4) ^ k->state ^ k->tgid;

	return (h * 0x9e3779b97f4a7c15ULL) >> (64 - OFFCPU_HIST_CACHE_BITS);
}

static __always_inline bool offcpu_key_equal(const struct offcpu_key *a,
					     const struct offcpu_key *b)
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;
	__u32 i;

	for (i = 0; i < sizeof(*a) / sizeof(__u64); i++)
		if (x[i] != y[i])
			return false;
	return true;
}

/*
 * One interval into this CPU's slot for its key. Only sched_switch uses the
 * cache and it cannot nest on a CPU, so plain adds; a slot holding another
 * key is written back first.
 */
static __always_inline void hist_add(const struct offcpu_key *key, __u64 delta, __u64 blocked)
{
	struct offcpu_val one = { .count = 1, .total_ns = delta, .blocked_ns = blocked,
				  .max_ns = delta };
	__u32 idx = hist_slot_index(key);
	struct offcpu_hist_slot *s;

	s = bpf_map_lookup_elem(&offcpu_hist_cache, &idx);
	if (!s) {
		hist_write_back(key, &one);
		return;
	}
	if (s->val.count && !offcpu_key_equal(&s->key, key)) {
		hist_write_back(&s->key, &s->val);
		s->val.count = 0;
	}
	if (!s->val.count) {
		s->key = *key;
		s->val = one;
		return;
	}
	s->val.count++;
	s->val.total_ns += delta;
	s->val.blocked_ns += blocked;
	if (delta > s->val.max_ns)
		s->val.max_ns = delta;
}

/* Wakes the reader only when the ring is a quarter full: a wakeup per event
 * would add context switches to the ones being measured. The default
 * (adaptive) wakeup would not do: it fires only when the reader has caught
 * up, which it never has after a silent submit. The reader also drains on
 * its timer, so nothing waits long. */
static __always_inline void emit_event(const struct offcpu_key *key, const struct thread_state *ts,
				       __u64 off_ts, __u64 delta, __u64 blocked)
{
	struct offcpu_event *ev;
	__u64 flags = BPF_RB_FORCE_WAKEUP;

	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		counter_add(CNT_EVENTS_LOST, 1);
		return;
	}
	ev->off_ts = off_ts;
	ev->total_ns = delta;
	ev->blocked_ns = blocked;
	ev->user_stack_id = key->user_stack_id;
	ev->kern_stack_id = key->kern_stack_id;
	ev->tgid = key->tgid;
	ev->tid = key->tid;
	ev->waker_tid = key->state == OFFCPU_PREEMPTED ? 0 : ts->waker_tid;
	ev->state = key->state;
	ev->pad[0] = ev->pad[1] = ev->pad[2] = 0;
	__builtin_memcpy(ev->comm, key->comm, sizeof(ev->comm));
	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) <
	    bpf_ringbuf_query(&events, BPF_RB_RING_SIZE) / 4)
		flags = BPF_RB_NO_WAKEUP;
	bpf_ringbuf_submit(ev, flags);
}

static __always_inline void wakers_add(const struct thread_state *ts,
				       const struct offcpu_key *k, __u64 delta)
{
	static const struct offcpu_waker_val zero;
	struct offcpu_waker_key key = {
		.tgid = k->tgid, .waker_tgid = ts->waker_tgid,
		.user_stack_id = k->user_stack_id, .kern_stack_id = k->kern_stack_id,
		.waker_user_stack_id = ts->waker_user_stack_id,
		.waker_kern_stack_id = ts->waker_kern_stack_id,
	};
	struct offcpu_waker_val *val;

	__builtin_memcpy(key.comm, k->comm, sizeof(key.comm));
	__builtin_memcpy(key.waker_comm, ts->waker_comm, sizeof(key.waker_comm));
	val = map_lookup_or_init(&offcpu_wakers, &key, &zero);
	if (!val) {
		counter_add(CNT_DROP_WAKERS_FULL, 1);
		return;
	}
	__sync_fetch_and_add(&val->count, 1);
	__sync_fetch_and_add(&val->total_ns, delta);
}

/*
 * The part of next's interval until it became runnable. Preempted threads
 * were runnable throughout. With runnable_from_schedinfo the scheduler's own
 * accounting, on the clock read here, gives the runnable part: waits it
 * closed since switch-out (a runnable thread that migrates is dequeued and
 * queued again) plus the wait that ends now, which it has not closed yet at
 * sched_switch. Otherwise sched_wakeup's stamp; a wakeup we did not see
 * leaves the whole interval counted as blocked.
 */
static __always_inline __u64 blocked_part(struct task_struct *next, const struct thread_state *ts,
					  __u64 now, __u64 delta)
{
	__u64 queued, runnable;

	if (ts->state == OFFCPU_PREEMPTED)
		return 0;
	if (runnable_from_schedinfo && bpf_core_field_exists(next->sched_info.last_queued)) {
		runnable = next->sched_info.run_delay - ts->run_delay;
		queued = next->sched_info.last_queued;
		if (queued && queued < now)
			runnable += now - queued;
		return runnable < delta ? delta - runnable : 0;
	}
	if (ts->wake_ts >= ts->off_ts && ts->wake_ts <= now)
		return ts->wake_ts - ts->off_ts;
	return delta;
}

static __always_inline void switch_in(struct task_struct *next, __u64 now, bool btf)
{
	__u32 tid = btf ? next->pid : BPF_CORE_READ(next, pid);
	struct offcpu_key key = {};
	struct thread_state *ts;
	__u64 off_ts, delta, blocked;

	if (!tid)
		return;
	ts = thread_state_get(next, tid, btf, false);
	if (!ts || !ts->off_ts)
		return;
	off_ts = ts->off_ts;
	delta = now > off_ts ? now - off_ts : 0;	/* clocks of two CPUs */
	if (delta < min_block_ns || delta > max_block_ns) {
		ts->off_ts = 0;
		counter_add(CNT_FILTERED_DURATION, 1);
		return;
	}
	blocked = blocked_part(next, ts, now, delta);
	ts->off_ts = 0;
	key.tgid = ts->tgid;
	key.tid = tid;
	key.user_stack_id = ts->user_stack_id;
	key.kern_stack_id = ts->kern_stack_id;
	__builtin_memcpy(key.comm, ts->comm, sizeof(key.comm));
	key.state = ts->state;
	key.bucket = hist_bucket(delta);
	hist_add(&key, delta, blocked);
	if (emit_events)
		emit_event(&key, ts, off_ts, delta, blocked);
	if (capture_wakers && ts->state != OFFCPU_PREEMPTED && ts->wake_ts >= off_ts &&
	    ts->wake_ts <= now)
		wakers_add(ts, &key, delta);
}

static __always_inline int handle_switch(void *ctx, bool preempt, struct task_struct *prev,
					 struct task_struct *next, bool btf)
{
	__u64 now = sched_now(prev);

	switch_out(ctx, preempt, prev, now, btf);
	switch_in(next, now, btf);
	return 0;
}

/*
 * --wakers: the stacks of the waking thread (current). Its user stack only
 * when it is in a system call: woken from an interrupt, current is whatever
 * the interrupt hit, and its user registers say nothing of the wakeup.
 */
static __always_inline void take_waker_stacks(void *ctx, struct thread_state *ts)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct user_regs regs = {};
	bool user;

	user = !(BPF_CORE_READ(cur, flags) & PF_KTHREAD);
	if (user) {
		read_user_regs(cur, &regs);
		user = regs.syscall_nr >= 0;
	}
	walk_stacks(ctx, &regs, user, &ts->waker_user_stack_id, &ts->waker_kern_stack_id);
	ts->waker_tgid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(ts->waker_comm, sizeof(ts->waker_comm));
}

/*
 * Who woke a blocked thread: sched_waking runs in the waker's context. When
 * it became runnable: sched_wakeup, after the enqueue (possibly on another
 * CPU, through an IPI), the moment the kernel's own run_delay starts.
 */
static __always_inline int handle_waking(void *ctx, struct task_struct *p, bool btf)
{
	__u32 tid = BPF_CORE_READ(p, pid);
	struct thread_state *ts;

	ts = thread_state_get(p, tid, btf, false);
	if (!ts || !ts->off_ts || ts->waker_seen)
		return 0;
	ts->waker_seen = 1;
	ts->waker_tid = (__u32)bpf_get_current_pid_tgid();
	if (capture_wakers)
		take_waker_stacks(ctx, ts);
	return 0;
}

static __always_inline int handle_wakeup(struct task_struct *p, bool btf)
{
	struct thread_state *ts;

	/* Task storage needs no tid: read it only for the hash map. */
	ts = thread_state_get(p, btf ? 0 : BPF_CORE_READ(p, pid), btf, false);
	if (!ts || !ts->off_ts || ts->wake_ts)
		return 0;
	ts->wake_ts = sched_now(p);	/* p's new runqueue, locked here */
	return 0;
}

static __always_inline int handle_fork(struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = BPF_CORE_READ(parent, tgid), ctgid = BPF_CORE_READ(child, tgid);
	struct proc_notify *ev;
	__u8 one = 1;

	if (!follow_forks || ptgid == ctgid || !bpf_map_lookup_elem(&traced_tgids, &ptgid))
		return 0;
	bpf_map_update_elem(&traced_tgids, &ctgid, &one, BPF_ANY);
	ev = bpf_ringbuf_reserve(&proc_notifies, sizeof(*ev), 0);
	if (!ev) {
		counter_add(CNT_NEW_PROCESS_LOST, 1);
		return 0;
	}
	ev->type = PROC_NOTIFY_FORK;
	ev->tgid = ctgid;
	ev->parent_tgid = ptgid;
	ev->pad = 0;
	bpf_ringbuf_submit(ev, 0);
	return 0;
}

static __always_inline int handle_exec(struct task_struct *p)
{
	__u32 tgid = BPF_CORE_READ(p, tgid);
	struct proc_notify *ev;

	/* The old image's unwind tables must not be used on the new one. */
	bpf_map_delete_elem(&cfi_procs, &tgid);
	if (!bpf_map_lookup_elem(&seen_tgids, &tgid) &&
	    !(filter_tgid && bpf_map_lookup_elem(&traced_tgids, &tgid)))
		return 0;
	ev = bpf_ringbuf_reserve(&proc_notifies, sizeof(*ev), 0);
	if (!ev) {
		counter_add(CNT_NEW_PROCESS_LOST, 1);
		return 0;
	}
	ev->type = PROC_NOTIFY_EXEC;
	ev->tgid = tgid;
	ev->parent_tgid = 0;
	ev->pad = 0;
	bpf_ringbuf_submit(ev, 0);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch_btf, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return handle_switch(ctx, preempt, prev, next, true);
}

SEC("tp_btf/sched_waking")
int BPF_PROG(sched_waking_btf, struct task_struct *p)
{
	return handle_waking(ctx, p, true);
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(sched_wakeup_btf, struct task_struct *p)
{
	return handle_wakeup(p, true);
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(sched_wakeup_new_btf, struct task_struct *p)
{
	return handle_waking(ctx, p, true);
}

SEC("raw_tp/sched_switch")
int BPF_PROG(sched_switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return handle_switch(ctx, preempt, prev, next, false);
}

SEC("raw_tp/sched_waking")
int BPF_PROG(sched_waking_raw, struct task_struct *p)
{
	return handle_waking(ctx, p, false);
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(sched_wakeup_raw, struct task_struct *p)
{
	return handle_wakeup(p, false);
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(sched_wakeup_new_raw, struct task_struct *p)
{
	return handle_waking(ctx, p, false);
}

SEC("raw_tp/sched_process_fork")
int BPF_PROG(sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
	return handle_fork(parent, child);
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(sched_process_exec, struct task_struct *p)
{
	return handle_exec(p);
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(sched_process_exit, struct task_struct *p)
{
	__u32 tid = BPF_CORE_READ(p, pid);

	/* Only the hash-map state needs freeing; task storage dies with the task. */
	bpf_map_delete_elem(&thread_states_by_tid, &tid);
	if (tid == BPF_CORE_READ(p, tgid))
		bpf_map_delete_elem(&cfi_procs, &tid);
	return 0;
}
