// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The slow tail of a function: a uprobe and uretprobe open and close a span
 * per thread around the outermost call of a target; sched_switch splits the
 * span's time into on-CPU, run-queue and blocked time, the blocked time by
 * wait site (the stacks at switch-out and, in a futex wait, the lock). At
 * return one record per call goes to a ring buffer: user space computes the
 * percentiles and compares the slow calls with the typical ones.
 *
 * Loaded by `waitprof tail` only: record's sched_switch path is untouched.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "tail.h"
#define NR_COUNTERS	TCNT_NR
#include "common.bpf.h"
#define PROC_NOTIFY_LOST	TCNT_NOTIFY_LOST
#include "proc_notify.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define SYS_FUTEX		202	/* x86-64 */
#define SLOT_MASK		(TAIL_MAX_SLOTS - 1)
#define TASK_INTERRUPTIBLE	0x1
#define TASK_UNINTERRUPTIBLE	0x2

/* The scheduler's own accounting splits runnable from blocked time (see
 * blocked_part()); set by user space where the kernel keeps sched_info. */
const volatile bool runnable_from_schedinfo = false;

/* A call in progress on a thread. */
struct span {	/* starts as struct tail_span_head */
	__u32 target;
	__u32 depth;		/* nested calls of the same target */
	__u32 tgid;
	__u32 nr_slots;
	__u32 nr_segs;
	__u32 closing;		/* returned at ret_ns; sent at the next switch or entry */
	__u64 entry_ns;
	__u64 ret_ns;
	__u64 tramp_ip;		/* the user ip in the return probe's trap */
	__u64 on_since;		/* back on CPU at (entry, or the last switch-in) */
	__u64 on_cpu_ns;
	__u64 slot;		/* the outermost call's return slot (sp at entry) */
	__u64 ret_addr;		/* and the return address it held */
	__u64 runqueue_ns;
	__u64 other_ns;
	struct tail_slot slots[TAIL_MAX_SLOTS];
	struct tail_seg segs[TAIL_MAX_SEGS];
};

/* Past off-CPU intervals of a thread, for the off-wake step: what a waker
 * was doing while the thread it woke waited. */
#define PAST_WAITS	8
struct past_wait {
	__u64 ip;		/* user ip at switch-out */
	__u64 off_ns;
	__u64 wake_ns;		/* blocked until here, then runnable */
	__u64 on_ns;
	__u64 user_stack_id;
	__u64 kern_stack_id;
	__u64 futex_addr;
	/* Its own off-wake: the part of it its waker spent at this site. */
	__u64 chain_user_stack_id;
	__u64 chain_kern_stack_id;
	__u64 chain_futex_addr;
	__u64 chain_ns;
};

/* Every thread of a traced process: where it is off CPU now, who woke it,
 * and its last waits. */
struct thread {
	__u64 off_ns;		/* 0: on CPU */
	__u64 off_ip;		/* user ip at switch-out */
	__u64 run_delay;	/* sched_info.run_delay at switch-out */
	__u64 user_stack_id;	/* at switch-out */
	__u64 kern_stack_id;
	__u64 futex_addr;
	__u32 preempted;	/* switched out runnable */
	__u32 next_past;
	/* Off-wake: filled by sched_waking, moved into the segment. */
	__u64 waker_user_stack_id;
	__u64 waker_kern_stack_id;
	__u64 waker_site_ns;
	__u64 waker_blocked_ns;
	__u64 waker_runqueue_ns;
	__u64 waker_window_ns;
	__u64 waker_futex_addr;
	__u32 waker_tid;
	__u32 waker_pid;
	__u32 waker_chain;
	__u32 pad;
	struct past_wait past[PAST_WAITS];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct span);
} spans SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, struct thread);
} threads SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);	/* ~10k calls between polls */
} calls SEC(".maps");

static __always_inline void emit(struct span *s, __u32 tid, __u64 now)
{
	struct tail_record *r;
	__u32 i;

	r = bpf_ringbuf_reserve(&calls, sizeof(*r), 0);
	if (!r) {
		counter_add(TCNT_RING_FULL, 1);
		return;
	}
	r->target = s->target;
	r->tid = tid;
	r->pid = s->tgid;
	r->nr_slots = s->nr_slots;
	r->nr_segs = s->nr_segs;
	r->pad = 0;
	for (i = 0; i < TAIL_MAX_SLOTS; i++)
		r->slots[i] = s->slots[i];
	for (i = 0; i < TAIL_MAX_SEGS; i++)
		r->segs[i] = s->segs[i];
	r->entry_ns = s->entry_ns;
	r->total_ns = now - s->entry_ns;
	r->on_cpu_ns = s->on_cpu_ns + (now > s->on_since ? now - s->on_since : 0);
	r->runqueue_ns = s->runqueue_ns;
	r->other_ns = s->other_ns;
	bpf_ringbuf_submit(r, 0);
}

/* The tracepoint's iterator, left out of kernel stack ids (see
 * capture_kernel_stack); 0 where kallsyms does not have it. */
extern const void __traceiter_sched_switch __ksym __weak;

/* The futex word prev waits on: the first argument of futex(2), saved at
 * syscall entry in its user registers. */
static __always_inline __u64 futex_of(struct task_struct *prev)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(prev);
	long nr = BPF_CORE_READ(regs, orig_ax);

	if (nr != SYS_FUTEX)
		return 0;
	return BPF_CORE_READ(regs, di);
}

struct task_struct___pre_5_14 {
	long state;
};

static __always_inline bool runnable_state(bool preempt, struct task_struct *prev)
{
	long state;

	if (preempt)
		return true;
	if (bpf_core_field_exists(prev->__state))
		state = BPF_CORE_READ(prev, __state);
	else
		state = BPF_CORE_READ((struct task_struct___pre_5_14 *)prev, state);
	return !(state & (TASK_INTERRUPTIBLE | TASK_UNINTERRUPTIBLE));
}

/*
 * The outermost call's return address is the uretprobe's trampoline now,
 * which names no function: the frame the walk read from that slot gets
 * the real one back, and the stack is stored under its own id. Nested
 * calls of the target have trampolines too, but only the outermost
 * return address is kept: the outermost trampoline frame is the one.
 */
struct tramp_find {
	struct stack_trace *st;
	__u64 tramp;
	__u64 at;		/* MAX_STACK_DEPTH: not found */
};

/* bpf_loop callback: verified once, not once per possible stack depth. */
static long find_tramp_cb(__u32 i, void *data)
{
	struct tramp_find *f = data;
	__u64 idx = i;

	/* One register for the check and the index (as funclat.bpf.c). */
	__asm__ volatile("" : "+r"(idx));
	if (idx >= MAX_STACK_DEPTH || idx >= f->st->nr)
		return 1;
	if (f->st->ips[idx] == f->tramp)
		f->at = idx;
	return 0;
}

static __always_inline __u64 fix_trampoline(struct span *s, __u64 id)
{
	struct tramp_find f = { .st = stack_scratch_get(), .at = MAX_STACK_DEPTH };
	__u64 seq = stack_capture_seq();	/* the frames of id's capture */
	long err = 0;
	__u64 nid, at;

	if (!f.st || !s->ret_addr ||
	    bpf_probe_read_user(&f.tramp, sizeof(f.tramp), (void *)s->slot) ||
	    f.tramp == s->ret_addr)
		return id;
	bpf_loop(MAX_STACK_DEPTH, find_tramp_cb, &f, 0);
	at = f.at;
	__asm__ volatile("" : "+r"(at));
	if (at >= MAX_STACK_DEPTH)
		return id;
	f.st->ips[at] = s->ret_addr;
	nid = stack_store(f.st, MAX_STACK_DEPTH, seq, &err);
	return nid ? nid : id;
}

static __always_inline struct thread *thread_get(__u32 tid)
{
	static const struct thread zero;
	struct thread *t = bpf_map_lookup_elem(&threads, &tid);

	if (t)
		return t;
	bpf_map_update_elem(&threads, &tid, &zero, BPF_NOEXIST);
	t = bpf_map_lookup_elem(&threads, &tid);
	if (!t)
		counter_add(TCNT_DROP_THREAD_FULL, 1);
	return t;
}

/* The stacks of prev (current) where it blocks; s: its open call, if any,
 * whose uretprobe trampoline gets its real return address back. */
static __always_inline void take_stacks(void *ctx, struct task_struct *prev, struct thread *t,
					struct span *s, __u32 tgid)
{
	struct user_regs regs;
	__u32 uflags = 0;
	long err = 0;

	t->kern_stack_id = capture_kernel_stack(ctx, (__u64)&__traceiter_sched_switch, &err);
	if (!t->kern_stack_id)
		counter_add(err == -7 /* E2BIG */ ? TCNT_DROP_STACK_FULL : TCNT_KSTACK_FAILED, 1);
	read_user_regs(prev, &regs);
	err = 0;
	t->user_stack_id = capture_user_stack(&regs, &err, &uflags);
	if (!t->user_stack_id)
		counter_add(err ? TCNT_DROP_STACK_FULL : TCNT_USTACK_EMPTY, 1);
	else if (s)
		t->user_stack_id = fix_trampoline(s, t->user_stack_id);
	/* A CFI walk that found no table for its first frame (tables not in
	 * yet, code mapped since): ask for the process's tables again. */
	if (unwind_cfi && (uflags & STACK_FP))
		notify_unmapped(tgid);
	t->futex_addr = futex_of(prev);
}

#define TRAMP_NEAR	64	/* bytes: the return trampoline's code */
#define RETURN_PATH_NS	20000

/* A preemption on the way back from the uretprobe's trap to the caller:
 * runnable, at the call's return address. */
static __always_inline bool return_path(struct task_struct *prev, const struct span *s,
					bool preempt, __u64 now)
{
	struct user_regs regs;

	/* The way back is a few microseconds of CPU: later, the thread is
	 * in its caller's code, whatever its registers say. */
	if (now - s->ret_ns > RETURN_PATH_NS || !runnable_state(preempt, prev))
		return false;
	read_user_regs(prev, &regs);
	/* Back at the caller, or still in the return trampoline. */
	return regs.ip == s->ret_addr ||
	       (regs.ip + TRAMP_NEAR >= s->tramp_ip && regs.ip <= s->tramp_ip + TRAMP_NEAR);
}

/* prev is current: its stacks and registers are its own. Every thread of
 * a traced process is followed (it may wake a call's thread); only those
 * in a call are timed. */
static __always_inline void switch_out(void *ctx, bool preempt, __u64 now)
{
	struct task_struct *prev = bpf_get_current_task_btf();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid, tgid = pid_tgid >> 32;
	struct thread *t;
	struct span *s;

	if (!tid || !tgid_traced(tgid))
		return;
	t = thread_get(tid);
	if (!t)
		return;
	s = bpf_map_lookup_elem(&spans, &tid);
	if (s && s->closing && !return_path(prev, s, preempt, now)) {
		emit(s, tid, s->ret_ns);
		s->closing = 0;
	}
	if (s && !s->depth && !s->closing)
		s = NULL;
	if (s)
		s->on_cpu_ns += now > s->on_since ? now - s->on_since : 0;
	t->off_ns = now;
	t->off_ip = PT_REGS_IP((struct pt_regs *)bpf_task_pt_regs(prev));
	t->preempted = runnable_state(preempt, prev);
	t->waker_tid = 0;
	if (runnable_from_schedinfo && bpf_core_field_exists(prev->sched_info.run_delay))
		t->run_delay = BPF_CORE_READ(prev, sched_info.run_delay);
	t->user_stack_id = t->kern_stack_id = t->futex_addr = 0;
	if (!t->preempted)
		take_stacks(ctx, prev, t, s, tgid);
}

/*
 * The blocked part of an interval of delta ns off CPU, as offcpu.bpf.c's
 * blocked_part(): the scheduler's run_delay grew by the waits it closed
 * since switch-out, plus the wait that ends now (last_queued to the
 * runqueue's clock). Without sched_info the whole interval is blocked.
 */
static __always_inline __u64 blocked_part(struct task_struct *next, const struct thread *t,
					  __u64 delta)
{
	__u64 runnable, queued, clock;

	if (t->preempted)
		return 0;
	if (!runnable_from_schedinfo || !bpf_core_field_exists(next->sched_info.last_queued) ||
	    !bpf_core_field_exists(struct cfs_rq, rq))
		return delta;
	clock = BPF_CORE_READ(next, se.cfs_rq, rq, clock);
	runnable = BPF_CORE_READ(next, sched_info.run_delay) - t->run_delay;
	queued = BPF_CORE_READ(next, sched_info.last_queued);
	if (queued && queued < clock)
		runnable += clock - queued;
	return runnable < delta ? delta - runnable : 0;
}

/* The slot for the thread's current wait site (the same site merges);
 * its index, or TAIL_NO_SLOT when the slots are full. */
static __always_inline __u32 add_blocked(struct span *s, const struct thread *t, __u64 blocked)
{
	__u32 i, n = s->nr_slots;

	for (i = 0; i < TAIL_MAX_SLOTS; i++) {
		struct tail_slot *sl = &s->slots[i];

		if (i >= n)
			break;
		if (sl->user_stack_id == t->user_stack_id &&
		    sl->kern_stack_id == t->kern_stack_id && sl->futex_addr == t->futex_addr) {
			sl->blocked_ns += blocked;
			return i;
		}
	}
	if (n >= TAIL_MAX_SLOTS) {
		s->other_ns += blocked;
		counter_add(TCNT_SLOT_OVERFLOW, 1);
		return TAIL_NO_SLOT;
	}
	s->slots[n & SLOT_MASK].user_stack_id = t->user_stack_id;
	s->slots[n & SLOT_MASK].kern_stack_id = t->kern_stack_id;
	s->slots[n & SLOT_MASK].futex_addr = t->futex_addr;
	s->slots[n & SLOT_MASK].blocked_ns = blocked;
	s->nr_slots = n + 1;
	return n;
}

/* The interval as a segment of the call's waterfall; past the last one,
 * merged into it. */
static __always_inline void add_segment(struct span *s, const struct thread *t, __u64 now,
					__u64 blocked, __u64 runnable, __u32 slot)
{
	__u32 n = s->nr_segs;
	struct tail_seg *g;

	s->nr_segs = n + 1;
	if (n >= TAIL_MAX_SEGS) {
		g = &s->segs[TAIL_MAX_SEGS - 1];
		g->flags |= TSEG_MERGED;
		g->flags &= ~TSEG_WAKER_SEEN;
		g->end_ns = now - s->entry_ns;
		g->blocked_ns += blocked;
		g->runqueue_ns += runnable;
		g->slot = TAIL_NO_SLOT;
		g->merged++;
		counter_add(TCNT_SEG_MERGED, 1);
		return;
	}
	g = &s->segs[n & (TAIL_MAX_SEGS - 1)];
	g->start_ns = t->off_ns - s->entry_ns;
	g->end_ns = now - s->entry_ns;
	g->blocked_ns = blocked;
	g->runqueue_ns = runnable;
	g->slot = slot;
	g->flags = t->preempted ? TSEG_PREEMPTED : 0;
	g->merged = 1;
	g->waker_tid = t->waker_tid;
	g->waker_pid = t->waker_pid;
	if (t->waker_tid && t->waker_pid) {
		g->flags |= TSEG_WAKER_SEEN | (t->waker_chain ? TSEG_WAKER_CHAIN : 0);
		g->waker_user_stack_id = t->waker_user_stack_id;
		g->waker_kern_stack_id = t->waker_kern_stack_id;
		g->waker_futex_addr = t->waker_futex_addr;
		g->waker_site_ns = t->waker_site_ns;
		g->waker_blocked_ns = t->waker_blocked_ns;
		g->waker_runqueue_ns = t->waker_runqueue_ns;
		g->waker_window_ns = t->waker_window_ns;
	}
}

static __always_inline void remember_wait(struct thread *t, __u64 now, __u64 blocked)
{
	struct past_wait *p = &t->past[t->next_past & (PAST_WAITS - 1)];

	t->next_past++;
	p->ip = t->off_ip;
	p->off_ns = t->off_ns;
	p->wake_ns = t->off_ns + blocked;
	p->on_ns = now;
	p->user_stack_id = t->user_stack_id;
	p->kern_stack_id = t->kern_stack_id;
	p->futex_addr = t->futex_addr;
	p->chain_ns = 0;
	if (t->waker_tid && t->waker_pid && t->waker_site_ns) {
		p->chain_user_stack_id = t->waker_user_stack_id;
		p->chain_kern_stack_id = t->waker_kern_stack_id;
		p->chain_futex_addr = t->waker_futex_addr;
		p->chain_ns = t->waker_site_ns < blocked ? t->waker_site_ns : blocked;
	}
}

static __always_inline void switch_in(struct task_struct *next, __u64 now)
{
	__u32 tid = BPF_CORE_READ(next, pid), slot = TAIL_NO_SLOT;
	__u64 delta, blocked;
	struct thread *t;
	struct span *s;

	if (!tid)
		return;
	t = bpf_map_lookup_elem(&threads, &tid);
	if (!t || !t->off_ns)
		return;
	delta = now > t->off_ns ? now - t->off_ns : 0;	/* clocks of two CPUs */
	blocked = blocked_part(next, t, delta);
	remember_wait(t, now, blocked);
	s = bpf_map_lookup_elem(&spans, &tid);
	if (s && (s->depth || s->closing) && t->off_ns >= s->entry_ns) {
		s->runqueue_ns += delta - blocked;
		if (blocked)
			slot = add_blocked(s, t, blocked);
		add_segment(s, t, now, blocked, delta - blocked, slot);
		s->on_since = now;
		if (s->closing) {
			emit(s, tid, now);
			s->closing = 0;
		}
	}
	t->off_ns = 0;
}

/*
 * The thread was last off CPU in the entry probe's own trap (its user ip
 * the probed instruction's, or past its int3), just before the probe ran:
 * the caller's clock holds that wait, so the call does too. It starts
 * when the thread left the CPU; that interval is its first segment.
 */
static __always_inline void adopt_trap_wait(struct span *s, __u32 tid, __u64 probe_ip)
{
	struct thread *t = bpf_map_lookup_elem(&threads, &tid);
	__u64 blocked, runnable, ip;
	__u32 slot = TAIL_NO_SLOT;
	struct past_wait *p;
	struct tail_seg *g;

	if (!t || t->off_ns || !t->next_past)
		return;
	p = &t->past[(t->next_past - 1) & (PAST_WAITS - 1)];
	/* Once: a later call on the thread with no switch between must not
	 * take the same wait. */
	ip = p->ip;
	p->ip = 0;
	if ((ip != probe_ip && ip != probe_ip + 1) || p->on_ns > s->entry_ns ||
	    p->off_ns >= p->on_ns)
		return;
	blocked = p->wake_ns - p->off_ns;
	runnable = p->on_ns - p->wake_ns;
	s->entry_ns = p->off_ns;
	s->on_since = p->on_ns;
	s->runqueue_ns = runnable;
	if (blocked)
		slot = add_blocked(s, t, blocked);
	g = &s->segs[0];
	g->start_ns = 0;
	g->end_ns = p->on_ns - p->off_ns;
	g->blocked_ns = blocked;
	g->runqueue_ns = runnable;
	g->slot = slot;
	g->flags = t->preempted ? TSEG_PREEMPTED : 0;
	g->merged = 1;
	g->waker_tid = 0;
	s->nr_segs = 1;
}

static __always_inline int handle_switch(void *ctx, bool preempt, struct task_struct *next)
{
	__u64 now = bpf_ktime_get_ns();

	switch_out(ctx, preempt, now);
	switch_in(next, now);
	return 0;
}

/* The part of [lo, hi) inside [a, b). */
static __always_inline __u64 overlap(__u64 lo, __u64 hi, __u64 a, __u64 b)
{
	__u64 x = lo > a ? lo : a, y = hi < b ? hi : b;

	return y > x ? y - x : 0;
}

/* A waker's past wait inside a window, split between the site its own
 * waker was at (chain) and its own site. */
struct wait_share {
	__u64 own;
	__u64 chain;
};

static __always_inline struct wait_share share_of(const struct past_wait *pw, __u64 a, __u64 b)
{
	__u64 in = overlap(pw->off_ns, pw->wake_ns, a, b), len = pw->wake_ns - pw->off_ns;
	struct wait_share sh = { .own = in };

	if (pw->chain_ns && len && pw->futex_addr) {
		sh.chain = in * pw->chain_ns / len;
		sh.own = in - sh.chain;
	}
	return sh;
}

static __always_inline bool same_site(const struct past_wait *x, const struct past_wait *y,
				      bool xc, bool yc)
{
	if (xc != yc)
		return false;
	if (xc)
		return x->chain_user_stack_id == y->chain_user_stack_id &&
		       x->chain_kern_stack_id == y->chain_kern_stack_id &&
		       x->chain_futex_addr == y->chain_futex_addr;
	return x->user_stack_id == y->user_stack_id && x->kern_stack_id == y->kern_stack_id &&
	       x->futex_addr == y->futex_addr;
}

/* The waker's site with the most of [a, b): over its past waits, own
 * sites and their chained ones, summed per site. */
static __always_inline void waker_site(struct thread *t, const struct thread *w, __u64 a,
				       __u64 b)
{
	const struct past_wait *best = NULL;
	__u64 top = 0, sum = 0;
	bool chain = false;
	__u32 i, j;

	for (i = 0; i < PAST_WAITS; i++) {
		struct wait_share sh = share_of(&w->past[i], a, b);

		t->waker_blocked_ns += sh.own + sh.chain;
		t->waker_runqueue_ns += overlap(w->past[i].wake_ns, w->past[i].on_ns, a, b);
		if (sh.own > top) {
			top = sh.own;
			best = &w->past[i];
			chain = false;
		}
		if (sh.chain > top) {
			top = sh.chain;
			best = &w->past[i];
			chain = true;
		}
	}
	if (!best)
		return;
	for (j = 0; j < PAST_WAITS; j++) {
		struct wait_share sh = share_of(&w->past[j], a, b);

		if (same_site(&w->past[j], best, false, chain))
			sum += sh.own;
		if (same_site(&w->past[j], best, true, chain))
			sum += sh.chain;
	}
	t->waker_chain = chain;
	t->waker_site_ns = sum;
	t->waker_user_stack_id = chain ? best->chain_user_stack_id : best->user_stack_id;
	t->waker_kern_stack_id = chain ? best->chain_kern_stack_id : best->kern_stack_id;
	t->waker_futex_addr = chain ? best->chain_futex_addr : best->futex_addr;
}

/*
 * Off-wake: a thread blocked on a futex is woken by current (a futex wake
 * is a system call of the waker: never an interrupt's). What the waker was
 * doing since the wait began, from its past waits: blocked where (its
 * largest site; two levels where it waited on a futex itself, see
 * tail.h), runnable, on CPU. Its past reaches back PAST_WAITS intervals:
 * the window starts no earlier than the oldest one. Every traced thread is
 * followed (it may be a call's waker further down a chain).
 */
static __always_inline int handle_waking(struct task_struct *p)
{
	__u32 tid = BPF_CORE_READ(p, pid), wtid;
	__u64 pid_tgid, now, from;
	struct thread *t, *w;

	t = bpf_map_lookup_elem(&threads, &tid);
	if (!t || !t->off_ns || t->preempted || !t->futex_addr || t->waker_tid)
		return 0;
	pid_tgid = bpf_get_current_pid_tgid();
	wtid = (__u32)pid_tgid;
	t->waker_tid = wtid;
	t->waker_pid = 0;
	t->waker_chain = 0;
	t->waker_site_ns = t->waker_blocked_ns = t->waker_runqueue_ns = 0;
	t->waker_window_ns = t->waker_futex_addr = 0;
	t->waker_user_stack_id = t->waker_kern_stack_id = 0;
	w = bpf_map_lookup_elem(&threads, &wtid);
	if (!w) {
		counter_add(TCNT_WAKER_UNTRACED, 1);
		return 0;
	}
	t->waker_pid = pid_tgid >> 32;
	now = bpf_ktime_get_ns();
	from = t->off_ns;
	if (w->next_past >= PAST_WAITS) {
		__u64 oldest = w->past[w->next_past & (PAST_WAITS - 1)].off_ns;

		if (oldest > from)
			from = oldest;
	}
	t->waker_window_ns = now > from ? now - from : 0;
	waker_site(t, w, from, now);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(tail_entry)
{
	static const struct span zero;
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32, tid = (__u32)pid_tgid;
	__u32 target = bpf_get_attach_cookie(ctx);
	struct span *s;

	if (target >= TAIL_MAX_TARGETS || !tgid_traced(tgid))
		return 0;
	s = bpf_map_lookup_elem(&spans, &tid);
	if (s && s->closing) {
		emit(s, tid, s->ret_ns);	/* the last call returned for good */
		s->closing = 0;
	}
	if (s && s->depth) {
		if (s->target == target)
			s->depth++;
		else
			counter_add(TCNT_OTHER_TARGET, 1);
		return 0;
	}
	/* A fresh span (too large for a memset in BPF): the map copies the
	 * zeros in. */
	bpf_map_update_elem(&spans, &tid, &zero, s ? BPF_EXIST : BPF_NOEXIST);
	s = bpf_map_lookup_elem(&spans, &tid);
	if (!s) {
		counter_add(TCNT_DROP_SPAN_FULL, 1);
		return 0;
	}
	notify_new_process(tgid);
	s->target = target;
	s->tgid = tgid;
	s->depth = 1;
	/* Read before the uretprobe replaces it (it was attached first, so
	 * its handler runs after this one). */
	s->slot = PT_REGS_SP(ctx);
	bpf_probe_read_user(&s->ret_addr, sizeof(s->ret_addr), (void *)s->slot);
	s->entry_ns = bpf_ktime_get_ns();
	s->on_since = s->entry_ns;
	adopt_trap_wait(s, tid, PT_REGS_IP(ctx));
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(tail_return)
{
	__u64 now = bpf_ktime_get_ns();
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u32 target = bpf_get_attach_cookie(ctx);
	struct span *s;

	s = bpf_map_lookup_elem(&spans, &tid);
	if (!s || !s->depth) {
		counter_add(TCNT_UNMATCHED_RETURN, 1);
		return 0;
	}
	if (s->target != target)
		return 0;	/* another target's call inside the span */
	if (--s->depth)
		return 0;
	/* Sent at the thread's next switch: if that is a preemption on the
	 * way back to the caller, the wait is the call's (its caller's clock
	 * sees it), and the call ends when the thread is back on a CPU. */
	s->ret_ns = now;
	s->tramp_ip = PT_REGS_IP(ctx);
	s->closing = 1;
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(tail_switch_btf, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return handle_switch(ctx, preempt, next);
}

SEC("raw_tp/sched_switch")
int BPF_PROG(tail_switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return handle_switch(ctx, preempt, next);
}

SEC("tp_btf/sched_waking")
int BPF_PROG(tail_waking_btf, struct task_struct *p)
{
	return handle_waking(p);
}

SEC("raw_tp/sched_waking")
int BPF_PROG(tail_waking_raw, struct task_struct *p)
{
	return handle_waking(p);
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(tail_exit, struct task_struct *p)
{
	__u32 tid = BPF_CORE_READ(p, pid);
	struct span *s = bpf_map_lookup_elem(&spans, &tid);

	if (tid == BPF_CORE_READ(p, tgid))
		forget_process(tid);
	bpf_map_delete_elem(&threads, &tid);
	if (!s)
		return 0;
	if (s->closing)
		emit(s, tid, s->ret_ns);
	else if (s->depth)
		counter_add(TCNT_EXIT_INSIDE, 1);
	bpf_map_delete_elem(&spans, &tid);
	return 0;
}
