/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Compact call-frame tables for unwinding x86-64 user stacks without frame
 * pointers. User space (src/unwind/cfi_table.c) compiles each ELF object's
 * .eh_frame/.debug_frame into sorted rows; the BPF walker finds the row for
 * a pc by binary search and applies it. docs/UNWIND.md is the full spec.
 *
 * Every byte that crosses the boundary is defined here, and nothing else:
 * this header is included by BPF programs and by user space alike.
 *
 * Maps (sizes set by user space before load):
 *   cfi_rows   ARRAY  u32 -> struct cfi_row   every loaded object's rows,
 *                                               each object one contiguous run
 *   cfi_procs  HASH   u32 tgid -> struct cfi_proc   the process's executable
 *                                               mappings, sorted by start
 */
#ifndef WAITPROF_CFI_H
#define WAITPROF_CFI_H

/* BPF programs get the __u* types from vmlinux.h, which cannot be mixed
 * with the UAPI headers; user space gets them from the UAPI. */
#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* How the caller's CFA (the stack pointer before the call) is found. */
enum cfi_cfa_rule {
	CFI_CFA_NONE		= 0,	/* no FDE covers this pc (gap or past the end) */
	CFI_CFA_RSP		= 1,	/* cfa = rsp + cfa_offset */
	CFI_CFA_RBP		= 2,	/* cfa = rbp + cfa_offset */
	CFI_CFA_PLT11		= 3,	/* cfa = rsp + cfa_offset + ((pc & 15) >= 11 ? 8 : 0) */
	CFI_CFA_PLT10		= 4,	/* the same with threshold 10 (some linkers' PLT) */
	CFI_CFA_END		= 5,	/* return address undefined: outermost frame */
	CFI_CFA_SIGNAL		= 6,	/* signal trampoline: rsp points at the ucontext */
	CFI_CFA_UNSUPPORTED	= 7,	/* a rule this walker does not implement */
};

/* Where the caller's rbp is. The return address is always at cfa - 8. */
enum cfi_rbp_rule {
	CFI_RBP_SAME		= 0,	/* not saved by this frame: unchanged */
	CFI_RBP_AT_CFA		= 1,	/* saved at cfa + rbp_offset */
	CFI_RBP_UNDEFINED	= 2,	/* saved in a way we do not follow: unknown */
};

/*
 * One row: from pc (relative to the object's table base) up to the next
 * row's pc, the rules below hold. Rows of one object are sorted by pc, no
 * two consecutive rows are equal, and the last row is CFI_CFA_NONE.
 *
 * 8 bytes, so an ARRAY map stores it without padding. Offsets are in units
 * of 8 bytes: on the 16.3M rows of every ELF file of the development
 * machine, every CFA and saved-rbp offset was a multiple of 8, every rbp
 * offset fit 8 bits, and 56 CFA offsets (frames over 256 KiB) did not fit
 * 16 bits; those rows are CFI_CFA_UNSUPPORTED.
 */
struct cfi_row {
	__u32 pc;		/* ELF vaddr - table base (struct cfi_mapping.table_base) */
	__u8 rules;		/* enum cfi_cfa_rule | enum cfi_rbp_rule << 4 */
	__s8 rbp_offset8;	/* CFI_RBP_AT_CFA: caller's rbp at cfa + 8 * rbp_offset8 */
	__s16 cfa_offset8;	/* cfa = rsp or rbp + 8 * cfa_offset8 */
};

#define CFI_ROW_CFA_RULE(row)	((row)->rules & 0x0f)
#define CFI_ROW_RBP_RULE(row)	((row)->rules >> 4)
#define CFI_ROW_CFA_OFFSET(row)	((__s64)(row)->cfa_offset8 * 8)
#define CFI_ROW_RBP_OFFSET(row)	((__s64)(row)->rbp_offset8 * 8)
#define CFI_ROW_RULES(cfa_rule, rbp_rule)	((__u8)((cfa_rule) | (rbp_rule) << 4))

/* Binary search over at most 2^CFI_SEARCH_STEPS rows per object. */
#define CFI_SEARCH_STEPS	22
#define CFI_MAX_OBJECT_ROWS	(1U << CFI_SEARCH_STEPS)

/* One executable file mapping of a process, with its object's rows. */
struct cfi_mapping {
	__u64 start;		/* runtime address range [start, end) */
	__u64 end;
	__u64 table_base;	/* runtime address of row pc 0 (load bias + base vaddr) */
	__u32 first_row;	/* index of the object's first row in cfi_rows */
	__u32 nr_rows;		/* 0: executable but no table (JIT, [vdso], no CFI) */
};

#define CFI_PROC_MAX_MAPPINGS	128
#define CFI_PROC_SEARCH_STEPS	8	/* log2(CFI_PROC_MAX_MAPPINGS) + 1 */

/* Value of cfi_procs: the process's executable mappings sorted by start. */
struct cfi_proc {
	__u32 nr;
	__u32 generation;	/* bumped by user space on every rewrite */
	struct cfi_mapping maps[CFI_PROC_MAX_MAPPINGS];
};

/* rt_sigframe as __restore_rt finds it (rsp points at the ucontext): the
 * offsets of the interrupted registers in uc_mcontext (struct sigcontext). */
#define CFI_SIGFRAME_RBP	120	/* 40 + 10 * 8 */
#define CFI_SIGFRAME_RSP	160	/* 40 + 15 * 8 */
#define CFI_SIGFRAME_RIP	168	/* 40 + 16 * 8 */

/* Why a walk stopped; counted per reason by both walkers. */
enum cfi_stop {
	CFI_STOP_END = 0,	/* reached a frame whose return address is undefined */
	CFI_STOP_DEPTH,		/* out of frames */
	CFI_STOP_NO_MAPPING,	/* pc not in an executable mapping */
	CFI_STOP_NO_TABLE,	/* mapping has no rows (JIT, vdso, no CFI) */
	CFI_STOP_NO_CFI,	/* pc in a gap between FDEs */
	CFI_STOP_UNSUPPORTED,	/* row with an unsupported rule */
	CFI_STOP_RBP_UNKNOWN,	/* CFA from rbp, but rbp was lost */
	CFI_STOP_BOUNDS,	/* a read would leave [sp, stack end) */
	CFI_STOP_CFA_ORDER,	/* CFA did not grow strictly */
	CFI_STOP_READ,		/* a bounded read failed anyway */
	CFI_STOP_ZERO_RA,	/* return address 0: end of a hand-made stack */
	CFI_STOP_NR,
};

#endif /* WAITPROF_CFI_H */
