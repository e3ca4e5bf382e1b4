/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * User stacks from call frame information, over the tables of bpf/cfi.h
 * that user space loads for each traced process (docs/UNWIND.md): the maps,
 * and the loop around the step of cfi_step.h, which the reference walker in
 * src/unwind/cfi_unwind.c shares. One frame per bpf_loop iteration keeps
 * the verifier's work per frame constant.
 *
 * Every read is checked against [sp, stack_end) before it is made: a
 * faulting read costs more than the context switch being measured.
 */
#ifndef WAITPROF_UNWIND_CFI_BPF_H
#define WAITPROF_UNWIND_CFI_BPF_H

#include "cfi.h"

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

/* The step itself (cfi_step.h) reads rows from the map and the stack with
 * bounds checked reads. */
#define CFI_ROW(rows, idx)	((const struct cfi_row *)bpf_map_lookup_elem(&cfi_rows, &(idx)))
#define CFI_READ(w, addr, val)	bpf_probe_read_user((val), sizeof(*(val)), (void *)(addr))
#include "cfi_step.h"

/*
 * A forked child runs its parent's image at the same addresses: it walks
 * with the parent's tables from its first switch, instead of with frame
 * pointers only until user space has read its maps. PostgreSQL forks a
 * process per connection; under pgbench 62% of the user walks were such
 * fallbacks before this. Exec drops the entry (the new image differs).
 */
static __always_inline void cfi_proc_inherit(__u32 parent_tgid, __u32 child_tgid)
{
	struct cfi_proc *proc = bpf_map_lookup_elem(&cfi_procs, &parent_tgid);

	if (proc)
		bpf_map_update_elem(&cfi_procs, &child_tgid, proc, BPF_NOEXIST);
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
	struct stack_scratch_area *a = stack_area_get();
	struct cfi_proc *proc = bpf_map_lookup_elem(&cfi_procs, &w->tgid);
	struct stack_trace *st;
	__u32 nr;

	if (!a || !proc) {
		w->stop = CFI_STOP_NO_MAPPING;
		return 1;
	}
	w->stop = cfi_next_frame(w, proc);
	if (w->stop != CFI_CONTINUE)
		return 1;
	st = &a->st;
	nr = st->nr;
	if (nr >= MAX_STACK_DEPTH) {
		w->stop = CFI_STOP_DEPTH;
		return 1;
	}
	st->ips[nr] = w->pc;
	st->nr = nr + 1;
	stack_note_slot(a, nr, w->ra_addr);
	return 0;
}

#endif /* WAITPROF_UNWIND_CFI_BPF_H */
