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
#define NR_COUNTERS	CNT_NR
#include "common.bpf.h"
#include "stack_cache.bpf.h"
#define PROC_NOTIFY_LOST	CNT_NEW_PROCESS_LOST
#include "proc_notify.bpf.h"
#include "lock_owners.bpf.h"

#define PF_EXITING		0x00000004
#define PF_KTHREAD		0x00200000
#define TASK_INTERRUPTIBLE	0x0001
#define TASK_UNINTERRUPTIBLE	0x0002

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Knobs, set through the skeleton's rodata before load (and common.bpf.h's). */
const volatile bool filter_tid = false;		/* -t */
const volatile bool user_threads_only = false;	/* -u */
const volatile bool kernel_threads_only = false; /* -k */
const volatile __u8 state_mask = OFFCPU_STATE_ALL; /* --state */
const volatile __u32 cache_verify_every = 64;	/* 0: trust the cache blindly */
const volatile bool stack_cache = true;
/* Off for waitprof agent: a slot is written back only when another key
 * needs it, so an interval could stay in an idle CPU's slot past the end
 * of its window (the agent cannot empty the slots while attached). */
const volatile bool hist_cache_on = true;
const volatile bool capture_wakers = false;	/* --wakers: off-wake chains */
const volatile bool emit_events = false;	/* --events: every interval to events */
const volatile bool rq_clock = false;		/* time from the runqueue clock (tp_btf) */
const volatile bool runnable_from_schedinfo = false; /* see blocked_part() */
const volatile bool lock_owners_on = false;	/* locks traced: see lock_owners.bpf.h */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} traced_tids SEC(".maps");

/* Two buffers (drain.h): the programs add into the one hist_swap selects,
 * user space drains the other during the recording. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);		/* resized by user space */
	__type(key, struct offcpu_key);
	__type(value, struct offcpu_val);
} offcpu_hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);		/* resized by user space */
	__type(key, struct offcpu_key);
	__type(value, struct offcpu_val);
} offcpu_hist_b SEC(".maps");

struct map_swap hist_swap;

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

/* record --events: sized by user space (--events-buffer); one page when off. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

struct thread_state {
	__u64 off_ts;		/* switch-out time; 0 while on CPU or untracked */
	char comm[TASK_COMM_LEN]; /* taken at switch-out, when the task is current */
	__u32 tgid;
	__u32 pad0;
	__u64 wake_ts;		/* made runnable (sched_wakeup) during this interval */
	__u64 run_delay;	/* sched_info.run_delay at switch-out */
	__u64 pcount;		/* sched_info.pcount (arrivals on a CPU) at switch-out */
	__u64 exec_ns;		/* se.sum_exec_runtime at switch-out */
	__u64 user_stack_id;
	__u64 kern_stack_id;
	__u32 waker_tid;
	__u32 waker_tgid;	/* --wakers: who woke this interval */
	char waker_comm[TASK_COMM_LEN];
	__u64 waker_user_stack_id;
	__u64 waker_kern_stack_id;
	__u8 state;
	__u8 waker_seen;	/* sched_waking named the waker */
	__u8 pad[6];
	struct stack_cache cache;
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
	/* The process filter (tgid_traced) last: a map lookup. */
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

/* The tracepoints' iterators, left out of kernel stack ids (see
 * capture_kernel_stack); 0 where kallsyms does not have them. */
extern const void __traceiter_sched_switch __ksym __weak;
extern const void __traceiter_sched_waking __ksym __weak;

/* Returns whether both stacks are the walks' true result, worth caching:
 * not when a capture failed for want of room, or was interrupted by
 * another capture on this CPU (stack_store), which is counted apart. */
static __always_inline bool walk_stacks(void *ctx, const struct user_regs *regs, bool user,
					__u64 traceiter, __u64 *user_id, __u64 *kern_id)
{
	__u32 uflags = 0;
	long err = 0;

	*kern_id = capture_kernel_stack(ctx, traceiter, &err);
	if (!*kern_id && err == STACK_ERR_INTERRUPTED)
		counter_add(CNT_STACK_INTERRUPTED, 1);
	else if (!*kern_id)
		counter_add(err == -7 /* E2BIG */ ? CNT_DROP_STACK_FULL : CNT_KSTACK_FAILED, 1);
	*user_id = 0;
	if (!user)
		return *kern_id;
	err = 0;
	*user_id = capture_user_stack(regs, &err, &uflags);
	if (!*user_id && err == STACK_ERR_INTERRUPTED)
		counter_add(CNT_STACK_INTERRUPTED, 1);
	else if (!*user_id)
		counter_add(err ? CNT_DROP_STACK_FULL : CNT_USTACK_EMPTY, 1);
	else if (STACK_END_OF(uflags) != CFI_STOP_END)
		counter_add(CNT_USTACK_TRUNCATED, 1);
	if (unwind_cfi && (uflags & STACK_FP))
		notify_unmapped(bpf_get_current_pid_tgid() >> 32);
	return *kern_id && !err;
}

static __always_inline void count_lookup(enum stack_cache_lookup how, bool cached)
{
	if (!cached)
		return;
	if (how == STACK_CACHE_HIT)
		counter_add(CNT_CACHE_HITS, 1);
	else
		counter_add(how == STACK_CACHE_STALE ? CNT_CACHE_MISS_STALE : CNT_CACHE_MISS, 1);
}

/*
 * Stacks of the thread going off CPU, from the per-thread cache when the
 * thread left from the same place before (bpf/stack_cache.bpf.h). A hit
 * that is re-walked to check the cache is counted with its disagreements,
 * and the fresh walk is what the interval gets and the entry keeps.
 */
static __always_inline void take_stacks(void *ctx, struct task_struct *prev,
					struct thread_state *ts, __u32 tgid, __u8 state)
{
	enum stack_cache_lookup how = STACK_CACHE_MISS;
	struct stack_cache_entry *e = NULL;
	struct stack_cache_key key = {};
	bool user, whole;
	__u64 user_id, kern_id;

	user = !(prev->flags & PF_KTHREAD);
	if (stack_cache) {
		stack_cache_key_of(ctx, prev, tgid, state, user,
				   !user || state != OFFCPU_INTERRUPTIBLE, &key);
		e = stack_cache_find(&ts->cache, &key, &how, CNT_CACHE_MISS_OTHER_CALLER);
	} else if (user) {
		read_user_regs(prev, &key.regs);
	}
	count_lookup(how, stack_cache);
	if (how == STACK_CACHE_HIT) {
		ts->user_stack_id = e->user_stack_id;
		ts->kern_stack_id = e->kern_stack_id;
		if (!stack_cache_verify_now(&ts->cache, cache_verify_every))
			return;
	}
	/* One call site only: the kernel stack starts inside this program, so
	 * a second call site would give the same stack another id. */
	whole = walk_stacks(ctx, &key.regs, user, (__u64)&__traceiter_sched_switch,
			    &user_id, &kern_id);
	ts->user_stack_id = user_id;
	ts->kern_stack_id = kern_id;
	if (how == STACK_CACHE_HIT) {
		/* A walk that failed checks nothing (it is counted as failed). */
		if (whole) {
			counter_add(CNT_CACHE_VERIFIED, 1);
			if (user_id != e->user_stack_id)
				counter_add(CNT_CACHE_MISMATCH_USER, 1);
			if (kern_id != e->kern_stack_id)
				counter_add(CNT_CACHE_MISMATCH_KERN, 1);
		}
	} else if (user && !(prev->flags & PF_EXITING)) {
		/* A dying leader switches out once more after
		 * sched_process_exit: it must not be noted again, or its tgid
		 * stays in seen_tgids. */
		notify_new_process(tgid);
	}
	/* A walk that failed (a full stack map, an interrupted capture) is not
	 * kept: it is counted per interval, as without the cache. */
	if (stack_cache && whole)
		stack_cache_fill(&ts->cache, e, &key, user_id, kern_id);
}

/* The name as two loads from the trusted task, not a helper's string copy:
 * the kernel keeps comm NUL-padded (strscpy_pad). */
static __always_inline void copy_comm(char *dst, const struct task_struct *task)
{
	const __u64 *src = (const __u64 *)task->comm;

	((__u64 *)dst)[0] = src[0];
	((__u64 *)dst)[1] = src[1];
}

/* The entry for key in the buffer the programs write into now. */
static __always_inline struct offcpu_val *hist_entry(const struct offcpu_key *key)
{
	static const struct offcpu_val zero;

	return swap_lookup_or_insert(&hist_swap, &offcpu_hist, &offcpu_hist_b, key, &zero);
}

/* Adds v into offcpu_hist, where every CPU's cache writes back: atomics. */
static __always_inline void hist_write_back(const struct offcpu_key *key,
					    const struct offcpu_val *v)
{
	struct offcpu_val *val;

	val = hist_entry(key);
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

	s = hist_cache_on ? bpf_map_lookup_elem(&offcpu_hist_cache, &idx) : NULL;
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
 * were runnable throughout. With runnable_from_schedinfo (every attach path
 * where the kernel keeps sched_info) the scheduler's own accounting, on its
 * runqueue clock, gives the runnable part: waits it closed since switch-out
 * (a runnable thread that migrates is dequeued and queued again) plus the
 * wait that ends now, which it closes just after sched_switch. The runqueue
 * clock is read here, not taken from now: on raw_tp and --events now is
 * bpf_ktime_get_ns, which at sched_wakeup and sched_switch runs after the
 * clock the kernel stamped (the pick of the next task lies between), and
 * counted 4-5% more runnable time than run_delay for a thread napping 1 ms
 * (tests/e2e/test_runqueue.py). Otherwise sched_wakeup's stamp; a wakeup we
 * did not see leaves the whole interval counted as blocked.
 */
static __always_inline __u64 blocked_part(struct task_struct *next, const struct thread_state *ts,
					  __u64 now, __u64 delta, bool btf)
{
	__u64 queued, runnable, clock;

	if (ts->state == OFFCPU_PREEMPTED)
		return 0;
	if (runnable_from_schedinfo && bpf_core_field_exists(next->sched_info.last_queued) &&
	    bpf_core_field_exists(struct cfs_rq, rq)) {
		if (btf) {	/* plain loads */
			clock = rq_clock ? now : next->se.cfs_rq->rq->clock;
			runnable = next->sched_info.run_delay;
			queued = next->sched_info.last_queued;
		} else {	/* next runs here: its CFS runqueue is this CPU's */
			clock = BPF_CORE_READ(next, se.cfs_rq, rq, clock);
			runnable = BPF_CORE_READ(next, sched_info.run_delay);
			queued = BPF_CORE_READ(next, sched_info.last_queued);
		}
		runnable -= ts->run_delay;
		if (queued && queued < clock)
			runnable += clock - queued;
		return runnable < delta ? delta - runnable : 0;
	}
	if (ts->wake_ts >= ts->off_ts && ts->wake_ts <= now)
		return ts->wake_ts - ts->off_ts;
	return delta;
}

/* An interval of a thread a waiter had noted as a lock's owner: spent
 * holding that lock (bpf/lock_owners.bpf.h). */
static __always_inline void add_owner_interval(__u32 tid, const struct offcpu_key *key,
					       __u64 delta, __u64 blocked)
{
	struct lock_owner *o = bpf_map_lookup_elem(&lock_owners, &tid);

	if (!o || o->tgid != key->tgid)
		return;
	o->runnable_ns += delta - blocked;
	if (!blocked)
		return;
	o->sleeps++;
	o->slept_ns += blocked;
	if (blocked > o->max_sleep_ns) {
		o->max_sleep_ns = blocked;
		o->user_stack_id = key->user_stack_id;
	}
}

/*
 * Closes ts's open interval, which ended at end after delta ns, blocked_ns
 * of them blocked: into the histogram, and events and wakers when asked.
 */
static __always_inline void account_interval(struct thread_state *ts, __u32 tid, __u64 delta,
					     __u64 blocked, __u64 end)
{
	struct offcpu_key key = {};
	__u64 off_ts = ts->off_ts;

	ts->off_ts = 0;
	if (!duration_kept(delta)) {
		counter_add(CNT_FILTERED_DURATION, 1);
		return;
	}
	key.tgid = ts->tgid;
	key.tid = tid;
	key.user_stack_id = ts->user_stack_id;
	key.kern_stack_id = ts->kern_stack_id;
	__builtin_memcpy(key.comm, ts->comm, sizeof(key.comm));
	key.state = ts->state;
	key.bucket = hist_bucket(delta);
	hist_add(&key, delta, blocked);
	if (lock_owners_on)
		add_owner_interval(tid, &key, delta, blocked);
	if (emit_events)
		emit_event(&key, ts, off_ts, delta, blocked);
	if (capture_wakers && ts->state != OFFCPU_PREEMPTED && ts->wake_ts >= off_ts &&
	    ts->wake_ts <= end)
		wakers_add(ts, &key, delta);
}

/*
 * Neither the end of next's last interval nor the start of its next one
 * reached the program (see close_unseen_switch_in): next ran in between,
 * and sched_info.pcount says so. The CPU time it ran is not off-CPU time;
 * the run-queue waits on both sides are in run_delay.
 */
static __always_inline __u64 less_unseen_runs(struct task_struct *next,
					      const struct thread_state *ts, __u64 delta, bool btf)
{
	__u64 pcount, exec;

	if (!runnable_from_schedinfo || !bpf_core_field_exists(next->sched_info.pcount))
		return delta;
	pcount = btf ? next->sched_info.pcount : BPF_CORE_READ(next, sched_info.pcount);
	if (pcount == ts->pcount)
		return delta;
	counter_add(CNT_RUN_UNSEEN, 1);
	exec = btf ? next->se.sum_exec_runtime : BPF_CORE_READ(next, se.sum_exec_runtime);
	exec -= ts->exec_ns;
	return delta > exec ? delta - exec : 0;
}

static __always_inline void switch_in(struct task_struct *next, __u64 now, bool btf)
{
	__u32 tid = btf ? next->pid : BPF_CORE_READ(next, pid);
	struct thread_state *ts;
	__u64 delta, blocked;

	if (!tid)
		return;
	ts = thread_state_get(next, tid, btf, false);
	if (!ts || !ts->off_ts)
		return;
	delta = now > ts->off_ts ? now - ts->off_ts : 0;	/* clocks of two CPUs */
	delta = less_unseen_runs(next, ts, delta, btf);
	blocked = blocked_part(next, ts, now, delta, btf);
	account_interval(ts, tid, delta, blocked, now);
}

/*
 * prev leaves the CPU with its last interval still open: no program saw it
 * come back. Some switches never reach the program (on the 2-CPU test VM
 * about half of those away from the host agent's threads, without a
 * recursion miss), and the lost interval is most often a sleeper's wait for
 * a CPU: the napper of tests/e2e/test_runqueue.py lost 9-31% of its
 * run-queue time so. The scheduler's accounting closes it: prev arrived at
 * sched_info.last_arrival (runqueue clock, moved onto now's clock), after
 * waiting what run_delay grew by since switch-out. Without sched_info, or
 * when pcount says it never arrived, the interval is dropped, counted.
 */
static __always_inline void close_unseen_switch_in(struct task_struct *prev,
						   struct thread_state *ts, __u32 tid, __u64 now)
{
	__u64 arrival, clock, runnable, delta, blocked = 0, oncpu = 0;

	if (!runnable_from_schedinfo || !bpf_core_field_exists(prev->sched_info.last_arrival) ||
	    !bpf_core_field_exists(struct cfs_rq, rq) || prev->sched_info.pcount == ts->pcount) {
		ts->off_ts = 0;
		counter_add(CNT_SWITCH_IN_LOST, 1);
		return;
	}
	counter_add(CNT_SWITCH_IN_UNSEEN, 1);
	/* Runs before the last arrival went unseen too: their CPU time (up
	 * to this run's pick, prev_sum_exec_runtime) is not off-CPU time. */
	if (prev->sched_info.pcount - ts->pcount > 1) {
		counter_add(CNT_RUN_UNSEEN, prev->sched_info.pcount - ts->pcount - 1);
		oncpu = prev->se.prev_sum_exec_runtime - ts->exec_ns;
	}
	arrival = prev->sched_info.last_arrival;
	if (!rq_clock) {	/* now is bpf_ktime_get_ns */
		clock = prev->se.cfs_rq->rq->clock;
		arrival = clock > arrival && now > clock - arrival ? now - (clock - arrival) : now;
	}
	delta = arrival > ts->off_ts ? arrival - ts->off_ts : 0;
	delta = delta > oncpu ? delta - oncpu : 0;
	runnable = prev->sched_info.run_delay - ts->run_delay;
	if (ts->state != OFFCPU_PREEMPTED)
		blocked = runnable < delta ? delta - runnable : 0;
	account_interval(ts, tid, delta, blocked, arrival);
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
	if (ts->off_ts)
		close_unseen_switch_in(prev, ts, tid, now);
	if (!(state & state_mask)) {
		ts->off_ts = 0;
		return;
	}
	take_stacks(ctx, prev, ts, tgid, state);
	ts->tgid = tgid;
	copy_comm(ts->comm, prev);
	ts->off_ts = now;
	ts->wake_ts = 0;
	if (runnable_from_schedinfo && bpf_core_field_exists(prev->sched_info.run_delay)) {
		ts->run_delay = prev->sched_info.run_delay;	/* prev is trusted */
		ts->pcount = prev->sched_info.pcount;
		ts->exec_ns = prev->se.sum_exec_runtime;
	}
	ts->waker_tid = 0;
	ts->waker_seen = 0;
	ts->state = state;
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
	walk_stacks(ctx, &regs, user, (__u64)&__traceiter_sched_waking, &ts->waker_user_stack_id,
		    &ts->waker_kern_stack_id);
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

	if (ptgid != ctgid && unwind_cfi)
		cfi_proc_inherit(ptgid, ctgid);
	notify_fork(ptgid, ctgid, true);
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
	notify_exec(BPF_CORE_READ(p, tgid));
	return 0;
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(sched_process_exit, struct task_struct *p)
{
	__u32 tid = BPF_CORE_READ(p, pid);

	/* Only the hash-map state needs freeing; task storage dies with the task. */
	bpf_map_delete_elem(&thread_states_by_tid, &tid);
	if (tid == BPF_CORE_READ(p, tgid))
		forget_process(tid);
	return 0;
}
