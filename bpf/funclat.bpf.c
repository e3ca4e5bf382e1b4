// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Function and syscall latency: a uprobe at a function's entry pushes a
 * frame on the thread's own call stack (timestamp, stack pointer, the real
 * return address, the user stack at entry); the uretprobe pops the frame
 * whose stack pointer matches and adds the call to the target's log-linear
 * histogram and to a sparse (target, process, stack, bucket) histogram.
 * syscall:NAME targets use the raw sys_enter/sys_exit tracepoints instead.
 *
 * Matching by stack pointer, not by depth, is what keeps recursion, tail
 * calls and longjmp right: a return whose stack pointer lies above frames
 * still on the stack proves those frames were abandoned, and they are
 * dropped and counted, never matched with the wrong return.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "funclat.h"
#define NR_COUNTERS	FCNT_NR
#include "common.bpf.h"
#define PROC_NOTIFY_LOST	FCNT_NOTIFY_LOST
#include "proc_notify.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define NR_TARGET_SLOTS	(FUNCLAT_MAX_TARGETS + 1)
#define CALIB_TARGET	FUNCLAT_MAX_TARGETS
#define DEPTH_MASK	(FUNCLAT_MAX_DEPTH - 1)

/* Knobs, set through the skeleton's rodata before load (and common.bpf.h's:
 * filter_tgid applies to syscall targets; proc_notify.bpf.h's). */
const volatile bool capture_stacks = true;

/* 1 in sample_every entries is timed. Not rodata: --max-rate changes it
 * while running. */
__u32 sample_every = 1;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NR_TARGET_SLOTS * HIST_NR_BUCKETS);
	__type(key, __u32);
	__type(value, struct funclat_bucket);
} target_hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NR_TARGET_SLOTS);
	__type(key, __u32);
	__type(value, struct funclat_target_stats);
} target_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);		/* resized by user space */
	__type(key, struct funclat_stack_key);
	__type(value, struct funclat_stack_val);
} stack_hist SEC(".maps");

/* syscall number -> target + 1 (0: not traced). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FUNCLAT_MAX_SYSCALLS);
	__type(key, __u32);
	__type(value, __u32);
} syscall_targets SEC(".maps");

/* A call in progress. */
struct call_frame {
	__u64 entry_ns;
	__u64 sp;		/* at entry: the address of the return slot */
	__u64 ret_addr;		/* read at entry, before the uretprobe replaced it */
	__u64 ip;		/* the function's entry */
	__u64 stack_id;
	__u32 target;
	__u32 sampled;
};

struct thread_calls {
	__u32 depth;
	__u32 tgid;
	__u64 tramp_addr;	/* this process's uretprobe trampoline, once seen */
	__u64 sys_entry_ns;	/* 0: no traced syscall in progress */
	__u64 sys_stack_id;
	__s64 sys_nr;
	__u32 sys_target;
	__u32 pad;
	struct call_frame frames[FUNCLAT_MAX_DEPTH];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct thread_calls);
} threads SEC(".maps");

static __always_inline struct thread_calls *thread_get(__u32 tid, bool create)
{
	static const struct thread_calls zero;
	struct thread_calls *tc;

	tc = bpf_map_lookup_elem(&threads, &tid);
	if (tc || !create)
		return tc;
	bpf_map_update_elem(&threads, &tid, &zero, BPF_NOEXIST);
	tc = bpf_map_lookup_elem(&threads, &tid);
	if (!tc)
		counter_add(FCNT_DROP_THREAD_FULL, 1);
	return tc;
}

static __always_inline bool sample_this(void)
{
	__u32 every = sample_every;

	if (every <= 1)
		return true;
	/* Random, not every Nth: a workload with a period of its own (a flush
	 * every 100th call) would otherwise alias with the sampling. */
	if (bpf_get_prandom_u32() % every == 0)
		return true;
	counter_add(FCNT_SAMPLED_OUT, 1);
	return false;
}

/*
 * A return address the walk read from a slot a uretprobe owns is the
 * trampoline's. Every such slot belongs to a call in progress on this
 * thread, and the walk meets them innermost first, as the frames are
 * stacked: when every call in progress shows up, the i-th trampoline is the
 * i-th frame from the top. When some do not (a probed function without a
 * frame pointer is skipped by the walk) the pairing is unknown: the frames
 * are left as they are and counted.
 */
struct tramp_walk {
	struct stack_trace *st;
	struct thread_calls *tc;
	__u64 tramp;
	__u32 k;
};

/* bpf_loop callback: verified once, not once per possible stack depth. */
static long map_tramp_cb(__u32 i, void *data)
{
	struct tramp_walk *w = data;
	__u64 idx = i;

	/* One register for the check and the index, or the verifier sees
	 * an unbounded copy. */
	__asm__ volatile("" : "+r"(idx));
	if (idx >= MAX_STACK_DEPTH || idx >= w->st->nr || !w->k)
		return 1;
	if (w->st->ips[idx] != w->tramp)
		return 0;
	w->k--;
	w->st->ips[idx] = w->tc->frames[w->k & DEPTH_MASK].ret_addr;
	return 0;
}

static __always_inline __u32 map_trampolines(struct thread_calls *tc, struct stack_trace *st)
{
	struct tramp_walk w = { .st = st, .tc = tc, .tramp = tc->tramp_addr };
	__u32 seen;

	if (!w.tramp)
		return 0;
	seen = stack_count_frames(st, w.tramp);
	if (!seen)
		return 0;
	if (seen != tc->depth) {
		counter_add(FCNT_TRAMP_UNMAPPED, seen);
		return 0;
	}
	w.k = tc->depth;
	bpf_loop(MAX_STACK_DEPTH, map_tramp_cb, &w, 0);
	counter_add(FCNT_TRAMP_MAPPED, seen);
	return seen;
}

/* The innermost call in progress whose slot lies above sp: frames below
 * it were left by longjmp (a syscall's walk comes with no clean-up). */
static __always_inline struct call_frame *innermost_call(struct thread_calls *tc, __u64 sp)
{
	struct call_frame *f;
	__u32 i, d = tc->depth;

	for (i = 1; i <= FUNCLAT_MAX_DEPTH && i <= d; i++) {
		f = &tc->frames[(d - i) & DEPTH_MASK];
		if (f->sp >= sp)
			return f;
	}
	return NULL;
}

/*
 * A CFI walk cannot go through a trampoline: the [uprobes] page has no
 * table, so the walk ends on the first one, the slot of the innermost call
 * in progress. That call's own entry stack starts at its real return
 * address: the frames up to the trampoline are joined to it. Its stack was
 * joined the same way, so nesting of any depth reads through.
 */
static __always_inline __u32 splice_trampoline(struct thread_calls *tc, struct stack_trace *st,
					       __u64 sp)
{
	struct call_frame *inner = innermost_call(tc, sp);
	const struct stack_trace *outer;
	__u64 at;

	if (!inner)
		return 0;
	at = stack_find_frame(st, tc->tramp_addr);
	__asm__ volatile("" : "+r"(at));
	if (at >= MAX_STACK_DEPTH)
		return 0;
	outer = inner->stack_id ? bpf_map_lookup_elem(&stacks, &inner->stack_id) : NULL;
	if (!outer) {
		/* Not sampled, or its stack was lost: the real caller at least. */
		st->ips[at] = inner->ret_addr;
		counter_add(FCNT_TRAMP_UNMAPPED, 1);
		return 1;
	}
	stack_join(st, at, outer);
	counter_add(FCNT_TRAMP_MAPPED, 1);
	return 1;
}

/*
 * The user stack walked from regs by the shared capture_user_stack(). Only
 * when calls are in progress with their trampolines is it fixed up from
 * the scratch copy and stored again.
 */
static __always_inline __u64 user_stack(struct thread_calls *tc, const struct user_regs *regs)
{
	struct stack_trace *st;
	__u32 flags = 0, mapped;
	__u64 id, seq;
	long err = 0;

	id = capture_user_stack(regs, &err, &flags);
	seq = stack_capture_seq();
	if (!id) {
		counter_add(err ? FCNT_DROP_STACK_FULL : FCNT_USTACK_EMPTY, 1);
		return 0;
	}
	if (!tc->tramp_addr || !tc->depth)
		return id;
	st = stack_scratch_get();
	if (!st)
		return id;
	if (flags & STACK_CFI)
		mapped = splice_trampoline(tc, st, regs->sp);
	else
		mapped = map_trampolines(tc, st);
	if (!mapped)
		return id;
	err = 0;
	id = stack_store(st, MAX_STACK_DEPTH, seq, &err);
	if (!id)
		counter_add(FCNT_DROP_STACK_FULL, 1);
	return id;
}

/*
 * The user stack at a function's entry: the caller's return address is at
 * [sp] and the prologue has not run, so the stack is unwound as the caller
 * will see it after the return (pc = that address, sp above the slot).
 */
static __always_inline __u64 entry_stack(struct thread_calls *tc, __u64 ret_addr, __u64 sp,
					 __u64 bp)
{
	struct user_regs regs = { .ip = ret_addr, .sp = sp + 8, .bp = bp, .syscall_nr = -1 };

	return user_stack(tc, &regs);
}

static __always_inline void record_call(__u32 target, __u32 tgid, __u64 stack_id, __u64 delta)
{
	static const struct funclat_stack_val zero;
	struct funclat_stack_key key = {};
	struct funclat_target_stats *stats;
	struct funclat_stack_val *sv;
	struct funclat_bucket *b;
	__u32 bucket, idx;

	if (delta < min_duration_ns) {
		counter_add(FCNT_FILTERED_MIN, 1);
		return;
	}
	bucket = hist_bucket(delta);
	idx = target * HIST_NR_BUCKETS + bucket;
	b = bpf_map_lookup_elem(&target_hist, &idx);
	if (b) {
		__sync_fetch_and_add(&b->count, 1);
		__sync_fetch_and_add(&b->total_ns, delta);
	}
	stats = bpf_map_lookup_elem(&target_stats, &target);
	if (stats && delta > stats->max_ns)
		stats->max_ns = delta;	/* a rare lost race only lowers max */
	if (!capture_stacks)
		return;
	key.target = target;
	key.tgid = tgid;
	key.user_stack_id = stack_id;
	key.bucket = bucket;
	sv = map_lookup_or_init(&stack_hist, &key, &zero);
	if (!sv) {
		counter_add(FCNT_DROP_STACK_HIST_FULL, 1);
		return;
	}
	__sync_fetch_and_add(&sv->count, 1);
	__sync_fetch_and_add(&sv->total_ns, delta);
}

static __always_inline void count_entry(__u32 target)
{
	struct funclat_target_stats *stats = bpf_map_lookup_elem(&target_stats, &target);

	if (stats)
		__sync_fetch_and_add(&stats->entries, 1);
}

/*
 * The [uprobes] page appears at the first probe hit, often after the
 * process's unwind tables were loaded (at exec, at start for -p). Without
 * it a CFI walk stops short of the trampoline and cannot be joined to the
 * outer call's stack: ask user space to load the tables again.
 */
static __always_inline void check_tramp_mapped(__u32 tgid, __u64 tramp)
{
	struct cfi_proc *proc;

	if (!unwind_cfi)
		return;
	proc = bpf_map_lookup_elem(&cfi_procs, &tgid);
	if (proc && cfi_search_mappings(proc, tramp) < 0)
		notify_unmapped(tgid);
}

/*
 * A new call's slot at or above a frame's slot means that frame's call is
 * over: it was left by longjmp and its return will never come. The one
 * exception is a tail call (a jmp from one probed function to another):
 * the same slot, now holding the trampoline instead of a real address.
 */
static __always_inline void drop_abandoned(struct thread_calls *tc, __u64 sp, __u64 ret_addr,
					   __u64 ip, __u32 target)
{
	struct call_frame *top;
	__u32 i, d;

	for (i = 0; i < FUNCLAT_MAX_DEPTH; i++) {
		d = tc->depth;
		if (!d)
			return;
		top = &tc->frames[(d - 1) & DEPTH_MASK];
		if (top->sp > sp)
			return;
		if (top->sp == sp && (tc->tramp_addr ? ret_addr == tc->tramp_addr :
						       ret_addr != top->ret_addr))
			return;
		/* Two targets on one function (c:write and libc:write): one
		 * call, seen by each probe. */
		if (top->sp == sp && top->ip == ip && top->ret_addr == ret_addr &&
		    top->target != target)
			return;
		tc->depth = d - 1;
		counter_add(FCNT_NEVER_RETURNED, 1);
	}
}

/*
 * Entry. With a session (session = true) the return probe runs only when
 * this returns 0: a call that is not sampled asks for none and costs one
 * trap instead of two, and pushes no frame, as its slot gets no trampoline.
 */
static __always_inline int on_entry(struct pt_regs *ctx, bool session)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid(), sp = PT_REGS_SP(ctx), ret_addr = 0, slot;
	__u32 tgid = pid_tgid >> 32, tid = (__u32)pid_tgid;
	__u32 target = bpf_get_attach_cookie(ctx), d;
	struct thread_calls *tc;
	struct call_frame *f;
	bool sampled;

	if (target > CALIB_TARGET || (tgid == self_tgid && target != CALIB_TARGET))
		return 1;
	count_entry(target);
	tc = thread_get(tid, true);
	if (!tc)
		return 1;
	bpf_probe_read_user(&ret_addr, sizeof(ret_addr), (void *)sp);
	drop_abandoned(tc, sp, ret_addr, PT_REGS_IP(ctx), target);
	d = tc->depth;
	if (d >= FUNCLAT_MAX_DEPTH) {
		counter_add(FCNT_DEPTH_OVERFLOW, 1);
		return 1;
	}
	tc->tgid = tgid;
	/* The caller's own slot, if it is a call in progress, now holds the
	 * trampoline: learn its address once. */
	if (d && !tc->tramp_addr) {
		struct call_frame *outer = &tc->frames[(d - 1) & DEPTH_MASK];

		if (!bpf_probe_read_user(&slot, sizeof(slot), (void *)outer->sp) &&
		    slot != outer->ret_addr) {
			tc->tramp_addr = slot;
			check_tramp_mapped(tgid, slot);
		}
	}
	sampled = sample_this();
	if (session && !sampled)
		return 1;
	f = &tc->frames[d & DEPTH_MASK];
	f->sp = sp;
	f->ret_addr = ret_addr;
	f->ip = PT_REGS_IP(ctx);
	f->target = target;
	f->sampled = sampled;
	f->stack_id = 0;
	if (sampled && capture_stacks) {
		f->stack_id = entry_stack(tc, ret_addr, sp, PT_REGS_FP(ctx));
		notify_new_process(tgid);
	}
	tc->depth = d + 1;
	/* Last, so the stack walk is not counted as the function's time. */
	f->entry_ns = bpf_ktime_get_ns();
	return 0;
}

/*
 * The frame of the call returning through slot for target, moved to the top
 * so that popping it removes it. Frames sharing a slot (several targets on
 * one function, tail calls) are one call level: their order is immaterial.
 */
static __always_inline struct call_frame *find_returning(struct thread_calls *tc, __u32 d,
							 __u64 slot, __u32 target)
{
	struct call_frame *top = &tc->frames[(d - 1) & DEPTH_MASK], *f, tmp;
	__u32 i;

	for (i = 1; i <= 4 && i <= d; i++) {
		f = &tc->frames[(d - i) & DEPTH_MASK];
		if (f->sp != slot)
			return NULL;
		if (f->target != target)
			continue;
		if (f != top) {
			tmp = *f;
			*f = *top;
			*top = tmp;
		}
		return top;
	}
	return NULL;
}

static __always_inline int on_return(struct pt_regs *ctx)
{
	__u64 now = bpf_ktime_get_ns();
	__u64 slot = PT_REGS_SP(ctx) - 8;	/* the ret popped the slot */
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u32 target = bpf_get_attach_cookie(ctx), d, i;
	struct thread_calls *tc;
	struct call_frame *f;

	tc = thread_get(tid, false);
	if (!tc || !tc->depth) {
		counter_add(FCNT_UNMATCHED_RETURN, 1);
		return 0;
	}
	/* Frames below this return's slot were left by longjmp or an
	 * exception: their calls never returned. */
	for (i = 0; i < FUNCLAT_MAX_DEPTH; i++) {
		d = tc->depth;
		if (!d || tc->frames[(d - 1) & DEPTH_MASK].sp >= slot)
			break;
		tc->depth = d - 1;
		counter_add(FCNT_NEVER_RETURNED, 1);
	}
	d = tc->depth;
	if (!d) {
		counter_add(FCNT_UNMATCHED_RETURN, 1);
		return 0;
	}
	f = find_returning(tc, d, slot, target);
	if (!f) {
		counter_add(FCNT_UNMATCHED_RETURN, 1);
		return 0;
	}
	tc->depth = d - 1;
	if (f->sampled)
		record_call(target, tc->tgid, f->stack_id, now - f->entry_ns);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(funclat_entry)
{
	on_entry(ctx, false);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(funclat_return)
{
	return on_return(ctx);
}

extern bool bpf_session_is_return(void) __ksym __weak;

/* Entry and return in one program, loaded as a uprobe session (kernel
 * 6.13+) by user space when the kernel has them. */
SEC("uprobe")
int BPF_KPROBE(funclat_session)
{
	if (bpf_session_is_return())
		return on_return(ctx);
	return on_entry(ctx, true);
}

SEC("raw_tp/sys_enter")
int BPF_PROG(funclat_sys_enter, struct pt_regs *regs, long id)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32, tid = (__u32)pid_tgid, nr = id, *target;
	struct user_regs ur = {};
	struct thread_calls *tc;
	struct pt_regs *uregs;

	if (id < 0 || nr >= FUNCLAT_MAX_SYSCALLS)
		return 0;
	target = bpf_map_lookup_elem(&syscall_targets, &nr);
	if (!target || !*target || *target > FUNCLAT_MAX_TARGETS || !tgid_traced(tgid))
		return 0;
	count_entry(*target - 1);
	if (!sample_this())
		return 0;
	tc = thread_get(tid, true);
	if (!tc)
		return 0;
	tc->tgid = tgid;
	tc->sys_target = *target - 1;
	tc->sys_nr = id;
	tc->sys_stack_id = 0;
	if (capture_stacks) {
		uregs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
		ur.ip = uregs->ip;
		ur.sp = uregs->sp;
		ur.bp = uregs->bp;
		ur.syscall_nr = id;
		/* Inside probed calls: their trampolines are mapped back too. */
		tc->sys_stack_id = user_stack(tc, &ur);
		if (tc->sys_stack_id)
			notify_new_process(tgid);
	}
	tc->sys_entry_ns = bpf_ktime_get_ns();
	return 0;
}

SEC("raw_tp/sys_exit")
int BPF_PROG(funclat_sys_exit, struct pt_regs *regs, long ret)
{
	__u64 now = bpf_ktime_get_ns();
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct thread_calls *tc;
	struct pt_regs *uregs;

	tc = bpf_map_lookup_elem(&threads, &tid);
	if (!tc || !tc->sys_entry_ns)
		return 0;
	uregs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	if ((__s64)uregs->orig_ax != tc->sys_nr)
		return 0;
	record_call(tc->sys_target, tc->tgid, tc->sys_stack_id, now - tc->sys_entry_ns);
	tc->sys_entry_ns = 0;
	return 0;
}

SEC("raw_tp/sched_process_fork")
int BPF_PROG(funclat_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = BPF_CORE_READ(parent, tgid), ctgid = BPF_CORE_READ(child, tgid);

	/* Its syscalls are traced from now on: with CFI, its unwind tables
	 * are loaded now too. */
	notify_fork(ptgid, ctgid, unwind_cfi);
	return 0;
}

/* A new image: calls in progress in the old one will never return, and
 * the trampoline moves with the new address space. */
SEC("raw_tp/sched_process_exec")
int BPF_PROG(funclat_exec, struct task_struct *p)
{
	__u32 tid = BPF_CORE_READ(p, pid), tgid = BPF_CORE_READ(p, tgid);
	struct thread_calls *tc = bpf_map_lookup_elem(&threads, &tid);

	/* A traced command execs before its first probed call: its tables are
	 * loaded now, not after its first stack. */
	notify_exec(tgid);
	if (!tc)
		return 0;
	counter_add(FCNT_EXEC_INSIDE, tc->depth);
	tc->depth = 0;
	tc->tramp_addr = 0;
	return 0;
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(funclat_exit, struct task_struct *p)
{
	__u32 tid = BPF_CORE_READ(p, pid);
	struct thread_calls *tc = bpf_map_lookup_elem(&threads, &tid);

	if (tid == BPF_CORE_READ(p, tgid))
		forget_process(tid);
	if (!tc)
		return 0;
	counter_add(FCNT_EXIT_INSIDE, tc->depth);
	bpf_map_delete_elem(&threads, &tid);
	return 0;
}
