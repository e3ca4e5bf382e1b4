/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * One step of the CFI unwinder (docs/UNWIND.md): find the row in force at a
 * pc and apply its rules, moving a walk from a frame to its caller's. The
 * one copy: the BPF walker (unwind_cfi.bpf.h) and the reference walker in
 * user space (src/unwind/cfi_unwind.c) both include it, so what the tests
 * check against the reference is the code that ships.
 *
 * Plain C without libc or BPF helpers. The includer says how memory is read:
 *   CFI_ROW(rows, idx)      const struct cfi_row * of row idx (an lvalue) of
 *                           the row pool, or NULL when there is none;
 *   CFI_READ(w, addr, val)  reads the u64 at addr into *val, nonzero on
 *                           failure (addr is inside [sp, stack_end) by then);
 * and may define:
 *   CFI_ROWS_PARAM, CFI_ROWS_ARG(w)   an extra first parameter of
 *                           cfi_search_rows (named rows) and its argument,
 *                           where the pool is not a global (user space);
 *   CFI_WALK_EXTRA          more members of struct cfi_walk for the two.
 * In BPF the binary searches are global functions: the verifier checks each
 * once, with unknown arguments, instead of once per path through the walk
 * (inlined, their data-dependent branches multiply past its 1M-instruction
 * budget). Elsewhere they are static.
 */
#ifndef WAITPROF_CFI_STEP_H
#define WAITPROF_CFI_STEP_H

#include "cfi.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#ifdef __bpf__
#define CFI_SEARCH	__noinline
#else
#define CFI_SEARCH	static
#endif

#ifndef CFI_ROWS_PARAM
#define CFI_ROWS_PARAM
#define CFI_ROWS_ARG(w)
#endif

#ifndef CFI_WALK_EXTRA
#define CFI_WALK_EXTRA
#endif

#define CFI_CONTINUE	CFI_STOP_NR	/* not a stop: take the next frame */

struct cfi_walk {
	__u64 pc;
	__u64 sp;
	__u64 bp;
	__u64 stack_end;
	__u64 ra_addr;		/* where the last step read pc from */
	__u32 tgid;
	__u32 stop;		/* enum cfi_stop, or CFI_CONTINUE */
	__u8 bp_known;
	__u8 exact;		/* look the pc up as is (frame 0, after a signal) */
	CFI_WALK_EXTRA
};

/* Index of the mapping of proc that holds pc, or -1. */
CFI_SEARCH int cfi_search_mappings(const struct cfi_proc *proc, __u64 pc)
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

/* Index in the pool of the last row of [first, first + nr) with
 * pc <= key, or -1. */
CFI_SEARCH int cfi_search_rows(CFI_ROWS_PARAM __u32 first, __u32 nr, __u32 key)
{
	__u32 lo = 0, n = nr, half, idx, i;
	const struct cfi_row *row;

	for (i = 0; i <= CFI_SEARCH_STEPS; i++) {
		if (n <= 1)
			break;
		half = n / 2;
		idx = first + lo + half;
		row = CFI_ROW(rows, idx);
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
	row = CFI_ROW(rows, idx);
	if (!n || !row || row->pc > key)
		return -1;
	return (int)(idx & 0x7fffffff);
}

static __always_inline const struct cfi_mapping *cfi_find_mapping(const struct cfi_proc *proc,
								  __u64 pc)
{
	int i = cfi_search_mappings(proc, pc);

	if (i < 0)
		return 0;
	/* The mask is for the verifier: the result is opaque to it. */
	return &proc->maps[i & (CFI_PROC_MAX_MAPPINGS - 1)];
}

static __always_inline const struct cfi_row *cfi_find_row(const struct cfi_walk *w,
							  const struct cfi_mapping *m, __u32 key)
{
	int i = cfi_search_rows(CFI_ROWS_ARG(w) m->first_row, m->nr_rows, key);
	__u32 idx = i;

	(void)w;
	return i < 0 ? 0 : CFI_ROW(w, idx);
}

/* The only way a walk reads memory: aligned, inside [sp, stack_end). */
static __always_inline __u32 cfi_read(const struct cfi_walk *w, __u64 addr, __u64 *val)
{
	if (addr < w->sp || addr + 8 > w->stack_end || (addr & 7))
		return CFI_STOP_BOUNDS;
	if (CFI_READ(w, addr, val))
		return CFI_STOP_READ;
	return CFI_CONTINUE;
}

/* Frame of __restore_rt: the interrupted registers are in the ucontext at sp. */
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
	w->ra_addr = w->sp + CFI_SIGFRAME_RIP;
	w->sp = rsp;
	w->bp = rbp;
	w->bp_known = 1;
	w->pc = rip;
	w->exact = 1;
	return rip ? CFI_CONTINUE : CFI_STOP_ZERO_RA;
}

/* Moves w from one frame to its caller's. */
static __always_inline __u32 cfi_step(struct cfi_walk *w, const struct cfi_proc *proc)
{
	const struct cfi_mapping *m = cfi_find_mapping(proc, w->pc);
	const struct cfi_row *row;
	__u64 lookup, cfa, ra, bp;
	__u32 stop, rule;

	if (!m)
		return CFI_STOP_NO_MAPPING;
	if (!m->nr_rows)
		return CFI_STOP_NO_TABLE;
	/* A return address follows its call: the call itself is at pc - 1. */
	lookup = w->exact ? w->pc : w->pc - 1;
	if (lookup < m->table_base || lookup - m->table_base > 0xffffffffULL)
		return CFI_STOP_NO_CFI;
	row = cfi_find_row(w, m, (__u32)(lookup - m->table_base));
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
	w->ra_addr = cfa - 8;
	w->sp = cfa;
	w->pc = ra;
	w->exact = 0;
	return ra ? CFI_CONTINUE : CFI_STOP_ZERO_RA;
}

/* The next frame: its caller's pc in w, which must lie in an executable
 * mapping to be kept; CFI_CONTINUE, or why the walk ends here. */
static __always_inline __u32 cfi_next_frame(struct cfi_walk *w, const struct cfi_proc *proc)
{
	__u32 stop = cfi_step(w, proc);

	if (stop != CFI_CONTINUE)
		return stop;
	if (!cfi_find_mapping(proc, w->pc))
		return CFI_STOP_NO_MAPPING;
	return CFI_CONTINUE;
}

#endif /* WAITPROF_CFI_STEP_H */
