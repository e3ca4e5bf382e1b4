/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Stack capture shared by every waitprof BPF program: one deduplicating
 * stacks map, a kernel stack through bpf_get_stack, and user stacks through
 * capture_user_stack(), the single place a better unwinder plugs in.
 *
 * User memory is read only after validation: a faulting read costs ~18 us on
 * a VM (shared/NOTES.md), more than the context switch being measured.
 */
#ifndef WAITPROF_STACKS_BPF_H
#define WAITPROF_STACKS_BPF_H

#include "stack.h"

#ifndef STACKS_MAX_ENTRIES
#define STACKS_MAX_ENTRIES 16384
#endif

/* A frame pointer chain may not go further than this above the stack
 * pointer: default thread stacks are 8 MiB. */
#define USER_STACK_SPAN	(8ULL << 20)
#define USER_ADDR_MAX	0x00007fffffffffffULL

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, STACKS_MAX_ENTRIES);	/* resized by user space */
	__type(key, __u64);
	__type(value, struct stack_trace);
} stacks SEC(".maps");

/* Stack unwinding by user space's choice, set through rodata. */
const volatile bool unwind_cfi = false;		/* CFI tables are loaded */
const volatile bool find_stack_vma = false;	/* bpf_find_vma + task storage work */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, UNW_NR);
	__type(key, __u32);
	__type(value, __u64);
} unwind_counters SEC(".maps");

/* Bumped by user space whenever unwind tables change, so stacks cached
 * before (walked without the new tables) are walked again. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} unwind_epoch SEC(".maps");

static __always_inline __u32 unwind_epoch_now(void)
{
	__u32 zero = 0, *epoch;

	if (!unwind_cfi)
		return 0;
	epoch = bpf_map_lookup_elem(&unwind_epoch, &zero);
	return epoch ? *epoch : 0;
}

/* Per thread: the VMA that held its stack pointer last time. */
struct stack_bounds {
	__u64 lo;
	__u64 hi;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct stack_bounds);
} stack_bounds_map SEC(".maps");

/* Scratch space: a stack_trace does not fit the 512-byte BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct stack_trace);
} stack_scratch SEC(".maps");

static __always_inline struct stack_trace *stack_scratch_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&stack_scratch, &zero);
}

#include "unwind_cfi.bpf.h"

static __always_inline void unwind_count(__u32 id)
{
	__u64 *cnt = bpf_map_lookup_elem(&unwind_counters, &id);

	if (cnt)
		*cnt += 1;
}

static long stack_vma_cb(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	struct stack_bounds *b = data;

	b->lo = vma->vm_start;
	b->hi = vma->vm_end;
	return 0;
}

/*
 * The end of the current thread's stack: the VMA holding sp, looked up with
 * bpf_find_vma (~15 us here) only when sp leaves the range cached for the
 * thread. Without it, USER_STACK_SPAN above sp bounds the walk.
 */
static __always_inline __u64 user_stack_end(__u64 sp)
{
	struct stack_bounds *b, found = {};
	struct task_struct *task;

	if (!find_stack_vma)
		return sp + USER_STACK_SPAN;
	task = bpf_get_current_task_btf();
	b = bpf_task_storage_get(&stack_bounds_map, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!b)
		return sp + USER_STACK_SPAN;
	if (sp >= b->lo && sp < b->hi)
		return b->hi;
	unwind_count(UNW_FIND_VMA);
	/* bpf_find_vma's callback data must live on the BPF stack. */
	if (bpf_find_vma(task, sp, stack_vma_cb, &found, 0) || sp < found.lo || sp >= found.hi) {
		b->lo = b->hi = 0;
		unwind_count(UNW_NO_BOUNDS);
		return sp + USER_STACK_SPAN;
	}
	*b = found;
	return b->hi;
}

/* 64-bit FNV-1a over the frames, finished with a mixer; 0 is reserved for
 * "no stack", so a zero hash is nudged. */
static __always_inline __u64 stack_hash(const struct stack_trace *st)
{
	__u64 h = 0xcbf29ce484222325ULL ^ st->flags;
	__u32 i;

	for (i = 0; i < MAX_STACK_DEPTH; i++) {
		if (i >= st->nr)
			break;
		h ^= st->ips[i];
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h ? h : 1;
}

/* Stores the trace; returns its id, or 0 when the map is full. */
static __always_inline __u64 stack_store(struct stack_trace *st, long *err)
{
	__u64 id;
	long ret;

	if (!st->nr)
		return 0;
	id = stack_hash(st);
	ret = bpf_map_update_elem(&stacks, &id, st, BPF_NOEXIST);
	if (ret && ret != -17 /* EEXIST: already stored */) {
		*err = ret;
		return 0;
	}
	return id;
}

/*
 * Kernel stack of the current task. Its first frame is the calling BPF
 * program itself, at whichever call site clang emitted: skipped, or one
 * stack would get a different id per call site.
 */
static __always_inline __u64 capture_kernel_stack(void *ctx, long *err)
{
	struct stack_trace *st = stack_scratch_get();
	long bytes;

	if (!st)
		return 0;
	bytes = bpf_get_stack(ctx, st->ips, sizeof(st->ips), 1 & BPF_F_SKIP_FIELD_MASK);
	if (bytes <= 0) {
		*err = bytes ? bytes : -1;
		return 0;
	}
	st->nr = bytes / sizeof(__u64);
	st->flags = STACK_KERNEL;
	return stack_store(st, err);
}

/* User registers saved at kernel entry. */
struct user_regs {
	__u64 ip;
	__u64 sp;
	__u64 bp;
	__s64 syscall_nr;	/* -1 when not in a syscall (preempted in user mode) */
};

/*
 * Frame-pointer walk, bounds-checked: every frame must lie above the last
 * one, be 8-byte aligned and stay within USER_STACK_SPAN of the stack
 * pointer, so a garbage frame pointer (code built without them) ends the
 * walk instead of faulting.
 */
static __always_inline void walk_user_fp(const struct user_regs *regs, __u64 stack_end,
					 struct stack_trace *st)
{
	__u64 fp = regs->bp, lo = regs->sp, hi = stack_end;
	struct { __u64 next_fp; __u64 ret; } frame;
	__u32 i;

	st->ips[0] = regs->ip;
	st->nr = 1;
	st->flags = STACK_FP;
	for (i = 1; i < MAX_STACK_DEPTH; i++) {
		if (fp < lo || fp + sizeof(frame) > hi || (fp & 7))
			return;
		if (bpf_probe_read_user(&frame, sizeof(frame), (void *)fp))
			return;
		if (frame.ret < 0x1000 || frame.ret > USER_ADDR_MAX)
			return;
		st->ips[i] = frame.ret;
		st->nr = i + 1;
		lo = fp + sizeof(frame);
		fp = frame.next_fp;
	}
	if (fp >= lo && fp + sizeof(frame) <= hi && !(fp & 7))
		st->flags |= STACK_TRUNCATED;
}

/*
 * CFI walk of the current thread's stack into the scratch trace. Returns
 * false when there is no table for frame 0 (no tables for this process, JIT
 * code, a binary without CFI): then frame pointers are the best we have.
 */
static __always_inline bool walk_user_cfi(const struct user_regs *regs, __u64 stack_end,
					  struct stack_trace *st)
{
	struct cfi_walk w = {
		.pc = regs->ip, .sp = regs->sp, .bp = regs->bp, .stack_end = stack_end,
		.tgid = bpf_get_current_pid_tgid() >> 32, .stop = CFI_CONTINUE,
		.bp_known = 1, .exact = 1,
	};

	if (!bpf_map_lookup_elem(&cfi_procs, &w.tgid))
		return false;
	st->ips[0] = regs->ip;
	st->nr = 1;
	bpf_loop(MAX_STACK_DEPTH, cfi_frame_cb, &w, 0);
	if (st->nr == 1 && (w.stop == CFI_STOP_NO_TABLE || w.stop == CFI_STOP_NO_CFI ||
			    w.stop == CFI_STOP_NO_MAPPING))
		return false;
	if (st->nr > MAX_STACK_DEPTH)
		st->nr = MAX_STACK_DEPTH;
	st->flags = STACK_CFI | (w.stop == CFI_STOP_DEPTH ? STACK_TRUNCATED : 0);
	unwind_count(UNW_CFI_WALKS);
	unwind_count(w.stop < CFI_STOP_NR ? w.stop : CFI_STOP_DEPTH);
	return true;
}

/* Walks the current thread's user stack into st; the unwinder is chosen
 * here only. */
static __always_inline void walk_user_stack(const struct user_regs *regs, struct stack_trace *st)
{
	__u64 stack_end = user_stack_end(regs->sp);

	if (unwind_cfi && walk_user_cfi(regs, stack_end, st))
		return;
	if (unwind_cfi)
		unwind_count(UNW_FP_FALLBACKS);
	unwind_count(UNW_FP_WALKS);
	walk_user_fp(regs, stack_end, st);
}

/* The current thread's user stack from its saved registers, stored. */
static __always_inline __u64 capture_user_stack(const struct user_regs *regs,
						long *err, __u32 *flags)
{
	struct stack_trace *st = stack_scratch_get();

	if (!st)
		return 0;
	if (!regs->ip || regs->ip > USER_ADDR_MAX || !regs->sp || regs->sp > USER_ADDR_MAX)
		return 0;
	walk_user_stack(regs, st);
	*flags = st->flags;
	return stack_store(st, err);
}

/*
 * A uretprobe replaces a probed call's return address with its trampoline,
 * where the walk stops (the [uprobes] page has no unwind table). The frames
 * up to the trampoline are joined to the stack the entry probe took from
 * the real return address on: stack_find_frame() then stack_join().
 */
struct stack_splice {
	struct stack_trace *st;
	const struct stack_trace *outer;
	__u64 addr;
	__u32 at;
};

static long splice_find_cb(__u32 i, void *data)
{
	struct stack_splice *s = data;
	__u64 idx = i;

	/* One register for the check and the index, or the verifier sees an
	 * unbounded access. */
	__asm__ volatile("" : "+r"(idx));
	if (idx >= MAX_STACK_DEPTH || idx >= s->st->nr)
		return 1;
	if (s->st->ips[idx] != s->addr)
		return 0;
	s->at = idx;
	return 1;
}

static long splice_append_cb(__u32 i, void *data)
{
	struct stack_splice *s = data;
	__u64 src = i, dst = s->at + i;

	__asm__ volatile("" : "+r"(src));
	__asm__ volatile("" : "+r"(dst));
	if (src >= MAX_STACK_DEPTH || src >= s->outer->nr || dst >= MAX_STACK_DEPTH)
		return 1;
	s->st->ips[dst] = s->outer->ips[src];
	s->st->nr = dst + 1;
	return 0;
}

/* Index of the first frame at addr, or MAX_STACK_DEPTH. */
static __always_inline __u32 stack_find_frame(struct stack_trace *st, __u64 addr)
{
	struct stack_splice s = { .st = st, .addr = addr, .at = MAX_STACK_DEPTH };

	bpf_loop(MAX_STACK_DEPTH, splice_find_cb, &s, 0);
	return s.at;
}

/* Replaces st's frames from index at on with outer's frames. */
static __always_inline void stack_join(struct stack_trace *st, __u32 at,
				       const struct stack_trace *outer)
{
	struct stack_splice s = { .st = st, .outer = outer, .at = at };

	st->nr = at;
	st->flags |= outer->flags & STACK_TRUNCATED;
	bpf_loop(MAX_STACK_DEPTH, splice_append_cb, &s, 0);
}

#endif /* WAITPROF_STACKS_BPF_H */
