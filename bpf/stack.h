/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Stacks as they cross to user space. Every BPF program stores its user and
 * kernel stacks in one hash map keyed by a 64-bit hash of the frames, so an
 * id means the same frames in every map that refers to it (offcpu, locks,
 * wakers, events) and a better user-stack unwinder changes how frames are
 * found, not how they are stored.
 */
#ifndef WAITPROF_STACK_H
#define WAITPROF_STACK_H

#include "cfi.h"

#define MAX_STACK_DEPTH	127

enum stack_flags {
	STACK_KERNEL	= 1 << 0,	/* kernel frames */
	STACK_TRUNCATED	= 1 << 1,	/* deeper than MAX_STACK_DEPTH */
	STACK_FP	= 1 << 2,	/* user frames walked with frame pointers */
	STACK_CFI	= 1 << 3,	/* user frames walked with call frame information */
};

/*
 * Bits 8-15 of a user stack's flags: why its walk ended, as enum cfi_stop + 1
 * for both walkers (0: not recorded, as in kernel stacks and recordings made
 * before the field). CFI_STOP_END is the only proper end, a root: a frame
 * whose return address the CFI marks undefined (glibc's _start and the child
 * side of clone/clone3), or a frame-pointer chain ending in a zero rbp (the
 * psABI's mark of the outermost frame). Every other reason is a truncated
 * chain, which the report weighs by off-CPU time.
 */
#define STACK_END_SHIFT		8
#define STACK_END_MASK		(0xffU << STACK_END_SHIFT)
#define STACK_END_FLAGS(stop)	((((__u32)(stop) + 1) << STACK_END_SHIFT) & STACK_END_MASK)
/* The enum cfi_stop of flags, or -1 when not recorded. */
#define STACK_END_OF(flags)	((int)(((flags) & STACK_END_MASK) >> STACK_END_SHIFT) - 1)

/* The unwinder's counters (map unwind_counters): the first CFI_STOP_NR are
 * CFI walks by the reason they stopped (enum cfi_stop). */
enum unwind_counter {
	UNW_CFI_WALKS = CFI_STOP_NR,	/* user stacks walked with CFI */
	UNW_FP_WALKS,			/* ... with frame pointers only */
	UNW_FP_FALLBACKS,		/* CFI had no table for frame 0: frame pointers */
	UNW_FIND_VMA,			/* stack bounds looked up (bpf_find_vma) */
	UNW_NO_BOUNDS,			/* no VMA for the stack pointer: 8 MiB assumed */
	UNW_NR,
};

/* Value of the stacks map; ips[0] is the innermost frame. */
struct stack_trace {
	__u32 nr;
	__u32 flags;
	__u64 ips[MAX_STACK_DEPTH];
};

#endif /* WAITPROF_STACK_H */
