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

#include "maps.bpf.h"
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

/* Stacks inserted into the map above (drain.h), shared like it: user space
 * copies the stacks out and deletes them before the map fills. Ids are
 * content hashes, so a stack deleted and captured again gets its old id. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} stack_stats SEC(".maps");

/* Stack unwinding by user space's choice, set through rodata. */
const volatile bool unwind_cfi = false;		/* CFI tables are loaded */
const volatile bool find_stack_vma = false;	/* bpf_find_vma + task storage work */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, UNW_NR);
	__type(key, __u32);
	__type(value, __u64);
} unwind_counters SEC(".maps");

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

/* Return-address slots a user walk notes for the stack cache: where it
 * read the return addresses of its first STACK_SLOTS_FIRST frames above
 * the innermost, and of its last STACK_SLOTS_LAST (an interpreter's or
 * JIT's callers differ there: sysbench's Lua calls into libmariadb). */
#define STACK_SLOTS_FIRST	12
#define STACK_SLOTS_LAST	4	/* a power of two */
#define STACK_SLOTS		(STACK_SLOTS_FIRST + STACK_SLOTS_LAST)	/* a power of two */

/*
 * Scratch space per CPU: a stack_trace does not fit the 512-byte BPF stack.
 * Programs of one object share it, and one can run inside another on the
 * same CPU: a futex exit's user walk (interrupts on) under a timer
 * interrupt's contention_end, or any program under a lock contended in a
 * map helper. The inner capture overwrites the outer's frames, so the
 * outer would store another thread's stack, or a mix, under its id. Every
 * capture takes a sequence number first (stack_capture_begin) and
 * stack_store() drops, and counts, a capture whose number has moved on.
 */
struct stack_scratch_area {
	struct stack_trace st;
	__u64 seq;			/* captures begun on this CPU */
	__u64 slot[STACK_SLOTS];	/* user walk: where frame slot_frame[i]'s return */
	__u8 slot_frame[STACK_SLOTS];	/* address was read; frame 0: none */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct stack_scratch_area);
} stack_scratch SEC(".maps");

static __always_inline struct stack_scratch_area *stack_area_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&stack_scratch, &zero);
}

static __always_inline struct stack_trace *stack_scratch_get(void)
{
	return (struct stack_trace *)stack_area_get();	/* st is the first member */
}

/* A capture into the scratch begins: its sequence number (0: no scratch). */
static __always_inline __u64 stack_capture_begin(void)
{
	struct stack_scratch_area *a = stack_area_get();

	return a ? ++a->seq : 0;
}

/* No other capture began on this CPU since seq's. */
static __always_inline bool stack_capture_intact(__u64 seq)
{
	struct stack_scratch_area *a = stack_area_get();

	return a && a->seq == seq;
}

/* The sequence number of the capture whose frames the scratch holds now,
 * for a caller that edits them and stores them again. */
static __always_inline __u64 stack_capture_seq(void)
{
	struct stack_scratch_area *a = stack_area_get();

	return a ? a->seq : 0;
}

/* Frame nr's return address was read at addr: noted for the stack cache
 * (stack_cache.bpf.h) for the first frames, and in a ring for the last. */
static __always_inline void stack_note_slot(struct stack_scratch_area *a, __u32 nr, __u64 addr)
{
	__u32 i = nr - 1;

	if (i >= STACK_SLOTS_FIRST)
		i = STACK_SLOTS_FIRST + (i & (STACK_SLOTS_LAST - 1));
	i &= STACK_SLOTS - 1;
	a->slot[i] = addr;
	a->slot_frame[i] = nr;
}

#define STACK_ERR_INTERRUPTED	(-4)	/* EINTR: another capture used the scratch */

#include "unwind_cfi.bpf.h"

/*
 * The generation of the unwind tables in force for process tgid (0: none),
 * so a stack cached before its process's tables changed is walked again.
 * Per process: a global epoch, bumped whenever any process's tables
 * changed, invalidated every thread's cache on a server where processes
 * start all the time (2,312 of 8,020 cache misses under pgbench).
 */
static __always_inline __u32 unwind_generation(__u32 tgid)
{
	struct cfi_proc *proc;

	if (!unwind_cfi)
		return 0;
	proc = bpf_map_lookup_elem(&cfi_procs, &tgid);
	return proc ? proc->generation : 0;
}

static __always_inline void unwind_count(__u32 id)
{
	percpu_counter_add(&unwind_counters, id, 1);
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

/* 64-bit FNV-1a over the frames but frame skip (none: MAX_STACK_DEPTH),
 * finished with a mixer; 0 is reserved for "no stack", so a zero hash is
 * nudged. */
static __always_inline __u64 stack_hash(const struct stack_trace *st, __u32 skip)
{
	__u64 h = 0xcbf29ce484222325ULL ^ st->flags;
	__u32 i;

	for (i = 0; i < MAX_STACK_DEPTH; i++) {
		if (i >= st->nr)
			break;
		if (i == skip)
			continue;
		h ^= st->ips[i];
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h ? h : 1;
}

/* Stores the trace; returns its id (the hash of its frames but frame
 * skip), or 0 when the map is full (err: its error) or when another capture
 * began on this CPU since seq's (err: STACK_ERR_INTERRUPTED): then a trace
 * this one inserted is removed again, as its frames may not be its id's. */
static __always_inline __u64 stack_store(struct stack_trace *st, __u32 skip, __u64 seq,
					 long *err)
{
	__u64 id;
	long ret;

	if (!st->nr)
		return 0;
	id = stack_hash(st, skip);
	ret = bpf_map_update_elem(&stacks, &id, st, BPF_NOEXIST);
	if (!stack_capture_intact(seq)) {
		if (!ret)
			bpf_map_delete_elem(&stacks, &id);
		*err = STACK_ERR_INTERRUPTED;
		return 0;
	}
	if (!ret) {
		__u32 zero = STACK_STATS_INSERTED;
		__u64 *inserted = bpf_map_lookup_elem(&stack_stats, &zero);

		if (inserted)
			__sync_fetch_and_add(inserted, 1);
	} else if (ret != -17 /* EEXIST: already stored */) {
		*err = ret;
		return 0;
	}
	return id;
}

/*
 * Kernel stack of the current task. Its first frame is the calling BPF
 * program itself, at whichever call site clang emitted: skipped, or one
 * stack would get a different id per call site. Then comes bpf_trace_runN
 * and, only while more than one program is attached to the tracepoint,
 * the tracepoint's iterator (traceiter: its address, 0 if unknown): the
 * kernel calls a lone probe directly. Other tracers coming and going would
 * give one stack two ids (a third of the kernel-stack disagreements of the
 * stack cache under pgbench on a shared machine), so the iterator's frame
 * is left out of the id; user space drops it from the names anyway.
 */
#define TRACEITER_MAX_SIZE	0x100	/* __traceiter_* are 0x40-0x70 bytes */

static __always_inline __u64 capture_kernel_stack(void *ctx, __u64 traceiter, long *err)
{
	__u64 seq = stack_capture_begin();
	struct stack_trace *st = stack_scratch_get();
	__u32 skip = MAX_STACK_DEPTH;
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
	if (traceiter && st->nr > 1 && st->ips[1] - traceiter < TRACEITER_MAX_SIZE)
		skip = 1;
	return stack_store(st, skip, seq, err);
}

/* User registers saved at kernel entry. */
struct user_regs {
	__u64 ip;
	__u64 sp;
	__u64 bp;
	__s64 syscall_nr;	/* -1 when not in a syscall (preempted in user mode) */
};

/* task's user registers; task must be trusted: current, from
 * bpf_get_current_task_btf() in raw_tp programs as well. */
static __always_inline void read_user_regs(struct task_struct *task, struct user_regs *r)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);

	r->ip = regs->ip;
	r->sp = regs->sp;
	r->bp = regs->bp;
	r->syscall_nr = regs->orig_ax;
}

/*
 * Frame-pointer walk, bounds-checked: every frame must lie above the last
 * one, be 8-byte aligned and stay within USER_STACK_SPAN of the stack
 * pointer, so a garbage frame pointer (code built without them) ends the
 * walk instead of faulting. A zero rbp after the first frame is the chain's
 * proper end (the psABI's mark of the outermost frame); every other end is
 * recorded in the flags as a truncation (STACK_END_FLAGS).
 */
static __always_inline void walk_user_fp(const struct user_regs *regs, __u64 stack_end,
					 struct stack_trace *st)
{
	__u64 fp = regs->bp, lo = regs->sp, hi = stack_end;
	struct { __u64 next_fp; __u64 ret; } frame;
	__u32 i, end = CFI_STOP_DEPTH;

	st->ips[0] = regs->ip;
	st->nr = 1;
	st->flags = STACK_FP;
	for (i = 1; i < MAX_STACK_DEPTH; i++) {
		if (!fp) {
			/* In frame 0 it only says the leaf keeps no frame pointer. */
			end = i > 1 ? CFI_STOP_END : CFI_STOP_RBP_UNKNOWN;
			break;
		}
		if (fp < lo || fp + sizeof(frame) > hi || (fp & 7)) {
			end = CFI_STOP_BOUNDS;
			break;
		}
		if (bpf_probe_read_user(&frame, sizeof(frame), (void *)fp)) {
			end = CFI_STOP_READ;
			break;
		}
		if (frame.ret < 0x1000 || frame.ret > USER_ADDR_MAX) {
			end = frame.ret ? CFI_STOP_NO_MAPPING : CFI_STOP_ZERO_RA;
			break;
		}
		st->ips[i] = frame.ret;
		st->nr = i + 1;
		stack_note_slot((struct stack_scratch_area *)st, i, fp + 8);
		lo = fp + sizeof(frame);
		fp = frame.next_fp;
	}
	if (end == CFI_STOP_DEPTH && !fp)
		end = CFI_STOP_END;
	else if (end == CFI_STOP_DEPTH && (fp < lo || fp + sizeof(frame) > hi || (fp & 7)))
		end = CFI_STOP_BOUNDS;
	if (end == CFI_STOP_DEPTH)
		st->flags |= STACK_TRUNCATED;
	st->flags |= STACK_END_FLAGS(end);
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
	__u32 stop;

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
	/* All iterations used without a stop: out of frames. */
	stop = w.stop < CFI_STOP_NR ? w.stop : CFI_STOP_DEPTH;
	st->flags = STACK_CFI | STACK_END_FLAGS(stop) |
		    (stop == CFI_STOP_DEPTH ? STACK_TRUNCATED : 0);
	unwind_count(UNW_CFI_WALKS);
	unwind_count(stop);
	return true;
}

/* Walks the current thread's user stack into st; the unwinder is chosen
 * here only. */
static __always_inline void walk_user_stack(const struct user_regs *regs, struct stack_trace *st)
{
	struct stack_scratch_area *a = (struct stack_scratch_area *)st;	/* st is the scratch */
	__u64 stack_end = user_stack_end(regs->sp);

	__builtin_memset(a->slot_frame, 0, sizeof(a->slot_frame));
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
	__u64 seq = stack_capture_begin();
	struct stack_trace *st = stack_scratch_get();

	if (!st)
		return 0;
	if (!regs->ip || regs->ip > USER_ADDR_MAX || !regs->sp || regs->sp > USER_ADDR_MAX)
		return 0;
	walk_user_stack(regs, st);
	*flags = st->flags;
	return stack_store(st, MAX_STACK_DEPTH, seq, err);
}

/*
 * A uretprobe replaces a probed call's return address with its trampoline,
 * where the walk stops (the [uprobes] page has no unwind table). The frames
 * up to the trampoline are joined to the stack the entry probe took from
 * the real return address on: stack_find_frame() then stack_join(). A
 * frame-pointer walk goes through trampolines: stack_count_frames() tells
 * how many it met.
 */
struct frame_match {
	const struct stack_trace *st;
	__u64 addr;
	__u32 first;		/* index of the first frame at addr */
	__u32 count;
	bool all;		/* count them all: do not stop at the first */
};

static long frame_match_cb(__u32 i, void *data)
{
	struct frame_match *m = data;
	__u64 idx = i;

	/* One register for the check and the index, or the verifier sees an
	 * unbounded access. */
	__asm__ volatile("" : "+r"(idx));
	if (idx >= MAX_STACK_DEPTH || idx >= m->st->nr)
		return 1;
	if (m->st->ips[idx] != m->addr)
		return 0;
	if (!m->count++)
		m->first = idx;
	return m->all ? 0 : 1;
}

/* Index of the first frame at addr, or MAX_STACK_DEPTH. */
static __always_inline __u32 stack_find_frame(const struct stack_trace *st, __u64 addr)
{
	struct frame_match m = { .st = st, .addr = addr, .first = MAX_STACK_DEPTH };

	bpf_loop(MAX_STACK_DEPTH, frame_match_cb, &m, 0);
	return m.first;
}

/* How many frames are at addr. */
static __always_inline __u32 stack_count_frames(const struct stack_trace *st, __u64 addr)
{
	struct frame_match m = { .st = st, .addr = addr, .first = MAX_STACK_DEPTH, .all = true };

	bpf_loop(MAX_STACK_DEPTH, frame_match_cb, &m, 0);
	return m.count;
}

struct stack_splice {
	struct stack_trace *st;
	const struct stack_trace *outer;
	__u32 at;
};

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

/* Replaces st's frames from index at on with outer's frames. */
static __always_inline void stack_join(struct stack_trace *st, __u32 at,
				       const struct stack_trace *outer)
{
	struct stack_splice s = { .st = st, .outer = outer, .at = at };

	st->nr = at;
	/* The joined chain ends where outer's did. */
	st->flags = (st->flags & ~(STACK_TRUNCATED | STACK_END_MASK)) |
		    (outer->flags & (STACK_TRUNCATED | STACK_END_MASK));
	bpf_loop(MAX_STACK_DEPTH, splice_append_cb, &s, 0);
}

#endif /* WAITPROF_STACKS_BPF_H */
