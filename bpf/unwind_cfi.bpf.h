/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * User stacks from call frame information: a BPF port of the reference
 * walker in src/cfi_unwind.c, over the tables of bpf/cfi.h that user space
 * loads for each traced process (docs/UNWIND.md). One frame per bpf_loop
 * iteration keeps the verifier's work per frame constant.
 *
 * Every read is checked against [sp, stack_end) before it is made: a
 * faulting read costs more than the context switch being measured.
 */
#ifndef WAITPROF_UNWIND_CFI_BPF_H
#define WAITPROF_UNWIND_CFI_BPF_H

#include "cfi.h"

#define CFI_CONTINUE	CFI_STOP_NR	/* not a stop: take the next frame */

/* Mappable: user space copies new rows straight in (a batch update of 30k
 * rows took 6.5 ms, the window in which a new process's stacks are walked
 * with frame pointers only). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);		/* the row budget, set by user space */
	__type(key, __u32);
	__type(value, struct cfi_row);
} cfi_rows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct cfi_proc);
} cfi_procs SEC(".maps");

struct cfi_walk {
	__u64 pc;
	__u64 sp;
	__u64 bp;
	__u64 stack_end;
	__u32 tgid;
	__u32 stop;		/* enum cfi_stop, or CFI_CONTINUE */
	__u8 bp_known;
	__u8 exact;		/* look the pc up as is (frame 0, after a signal) */
};

/*
 * The two binary searches are global functions: the verifier checks each
 * once, with unknown arguments, instead of once per path through the walk
 * (inlined, their data-dependent branches multiply past its 1M-instruction
 * budget).
 */

/* Index of the mapping of proc that holds pc, or -1. */
__noinline int cfi_search_mappings(struct cfi_proc *proc, __u64 pc)
{
	__u32 lo = 0, n, half, i;

	if (!proc)
		return -1;
	n = proc->nr;
	if (n > CFI_PROC_MAX_MAPPINGS)
		n = CFI_PROC_MAX_MAPPINGS;
	if (!n)
		return -1;
	for (i = 0; i < CFI_PROC_SEARCH_STEPS; i++) {
		if (n <= 1)
			break;
		half = n / 2;
		if (proc->maps[(lo + half) & (CFI_PROC_MAX_MAPPINGS - 1)].start <= pc) {
			lo += half;
			n -= half;
		} else {
			n = half;
		}
	}
	lo &= CFI_PROC_MAX_MAPPINGS - 1;
	if (proc->maps[lo].start <= pc && pc < proc->maps[lo].end)
		return (int)lo;
	return -1;
}

/* Index in cfi_rows of the last row of [first, first + nr) with pc <= key,
 * or -1. */
__noinline int cfi_search_rows(__u32 first, __u32 nr, __u32 key)
{
	__u32 lo = 0, n = nr, half, idx, i;
	struct cfi_row *row;

	for (i = 0; i <= CFI_SEARCH_STEPS; i++) {
		if (n <= 1)
			break;
		half = n / 2;
		idx = first + lo + half;
		row = bpf_map_lookup_elem(&cfi_rows, &idx);
		if (!row)
			return -1;
		if (row->pc <= key) {
			lo += half;
			n -= half;
		} else {
			n = half;
		}
	}
	idx = first + lo;
	row = bpf_map_lookup_elem(&cfi_rows, &idx);
	if (!n || !row || row->pc > key)
		return -1;
	return (int)(idx & 0x7fffffff);
}

static __always_inline struct cfi_mapping *cfi_find_mapping(struct cfi_proc *proc, __u64 pc)
{
	int i = cfi_search_mappings(proc, pc);

	if (i < 0)
		return NULL;
	/* The mask is for the verifier: the result is opaque to it. */
	return &proc->maps[i & (CFI_PROC_MAX_MAPPINGS - 1)];
}

static __always_inline struct cfi_row *cfi_find_row(const struct cfi_mapping *m, __u32 key)
{
	int i = cfi_search_rows(m->first_row, m->nr_rows, key);
	__u32 idx = i;

	return i < 0 ? NULL : bpf_map_lookup_elem(&cfi_rows, &idx);
}

static __always_inline __u32 cfi_read(const struct cfi_walk *w, __u64 addr, __u64 *val)
{
	if (addr < w->sp || addr + 8 > w->stack_end || (addr & 7))
		return CFI_STOP_BOUNDS;
	if (bpf_probe_read_user(val, sizeof(*val), (void *)addr))
		return CFI_STOP_READ;
	return CFI_CONTINUE;
}

static __always_inline __u32 cfi_step_signal(struct cfi_walk *w)
{
	__u64 rbp, rsp, rip;
	__u32 stop;

	if ((stop = cfi_read(w, w->sp + CFI_SIGFRAME_RBP, &rbp)) != CFI_CONTINUE ||
	    (stop = cfi_read(w, w->sp + CFI_SIGFRAME_RSP, &rsp)) != CFI_CONTINUE ||
	    (stop = cfi_read(w, w->sp + CFI_SIGFRAME_RIP, &rip)) != CFI_CONTINUE)
		return stop;
	if (rsp <= w->sp)		/* sigaltstack, or garbage */
		return CFI_STOP_CFA_ORDER;
	w->sp = rsp;
	w->bp = rbp;
	w->bp_known = 1;
	w->pc = rip;
	w->exact = 1;
	return rip ? CFI_CONTINUE : CFI_STOP_ZERO_RA;
}

/* Moves w from one frame to its caller's. */
static __always_inline __u32 cfi_step(struct cfi_walk *w, struct cfi_proc *proc)
{
	struct cfi_mapping *m = cfi_find_mapping(proc, w->pc);
	__u64 lookup, cfa, ra, bp;
	struct cfi_row *row;
	__u32 stop, rule;

	if (!m)
		return CFI_STOP_NO_MAPPING;
	if (!m->nr_rows)
		return CFI_STOP_NO_TABLE;
	/* A return address follows its call: the call itself is at pc - 1. */
	lookup = w->exact ? w->pc : w->pc - 1;
	if (lookup < m->table_base || lookup - m->table_base > 0xffffffffULL)
		return CFI_STOP_NO_CFI;
	row = cfi_find_row(m, (__u32)(lookup - m->table_base));
	if (!row)
		return CFI_STOP_NO_CFI;
	rule = CFI_ROW_CFA_RULE(row);
	switch (rule) {
	case CFI_CFA_NONE:
		return CFI_STOP_NO_CFI;
	case CFI_CFA_END:
		return CFI_STOP_END;
	case CFI_CFA_SIGNAL:
		return cfi_step_signal(w);
	case CFI_CFA_RSP:
		cfa = w->sp + CFI_ROW_CFA_OFFSET(row);
		break;
	case CFI_CFA_RBP:
		if (!w->bp_known)
			return CFI_STOP_RBP_UNKNOWN;
		cfa = w->bp + CFI_ROW_CFA_OFFSET(row);
		break;
	case CFI_CFA_PLT11:
	case CFI_CFA_PLT10:
		cfa = w->sp + CFI_ROW_CFA_OFFSET(row) +
		      ((w->pc & 15) >= (rule == CFI_CFA_PLT11 ? 11 : 10) ? 8 : 0);
		break;
	default:
		return CFI_STOP_UNSUPPORTED;
	}
	if (cfa <= w->sp)
		return CFI_STOP_CFA_ORDER;
	stop = cfi_read(w, cfa - 8, &ra);
	if (stop != CFI_CONTINUE)
		return stop;
	if (CFI_ROW_RBP_RULE(row) == CFI_RBP_AT_CFA) {
		stop = cfi_read(w, cfa + CFI_ROW_RBP_OFFSET(row), &bp);
		if (stop != CFI_CONTINUE)
			return stop;
		w->bp = bp;
		w->bp_known = 1;
	} else if (CFI_ROW_RBP_RULE(row) != CFI_RBP_SAME) {
		w->bp_known = 0;
	}
	w->sp = cfa;
	w->pc = ra;
	w->exact = 0;
	return ra ? CFI_CONTINUE : CFI_STOP_ZERO_RA;
}

/*
 * One frame per call; returns 1 to end the loop. The frame count lives in
 * the scratch map, not in w: a value on the BPF stack is known to the
 * verifier, which then checks every iteration apart (127 of them, a second
 * per program load); from map memory it is unknown and iterations converge.
 */
static long cfi_frame_cb(__u32 index, void *ctx)
{
	struct cfi_walk *w = ctx;
	struct stack_trace *st = stack_scratch_get();
	struct cfi_proc *proc = bpf_map_lookup_elem(&cfi_procs, &w->tgid);
	__u32 nr;

	if (!st || !proc) {
		w->stop = CFI_STOP_NO_MAPPING;
		return 1;
	}
	w->stop = cfi_step(w, proc);
	if (w->stop != CFI_CONTINUE)
		return 1;
	if (!cfi_find_mapping(proc, w->pc)) {
		w->stop = CFI_STOP_NO_MAPPING;
		return 1;
	}
	nr = st->nr;
	if (nr >= MAX_STACK_DEPTH) {
		w->stop = CFI_STOP_DEPTH;
		return 1;
	}
	st->ips[nr] = w->pc;
	st->nr = nr + 1;
	return 0;
}

#endif /* WAITPROF_UNWIND_CFI_BPF_H */
