// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Test-only prototype of the BPF CFI walker specified in docs/UNWIND.md
 * section 3. The production walker belongs in bpf/; this one exists to prove
 * the tables and the spec in the kernel: it must pass the verifier and give
 * the same frames as the reference walker (src/cfi_unwind.c) on
 * cfi_target's threads, and it measures what a walk costs.
 *
 * Attached to tp_btf/sys_enter for one process: when a ptrace-stopped
 * thread is released, its read() restarts and this walks its user stack.
 *
 * Both binary searches run as bpf_loop callbacks: written as bounded for
 * loops inside the per-frame callback, the verifier explores every branch
 * of every step (318k instructions processed for one walk, and over the 1M
 * limit with this test's repeat loop); as callbacks, 19k.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "cfi.h"
#include "cfi_walk_test.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);		/* set by user space: the pool's rows */
	__type(key, __u32);
	__type(value, struct cfi_row);
} cfi_rows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, struct cfi_proc);
} cfi_procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);		/* tid */
	__type(value, struct cfi_walk_result);
} results SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cfi_walk_result);
} scratch SEC(".maps");

const volatile __u32 target_tgid;

struct walk {
	__u64 pc, sp, bp, stack_end;
	__u32 bp_known, exact, stop, nr, lookups;
	int mapping;			/* index of pc's mapping, found when pc was pushed */
	struct cfi_proc *proc;
	struct cfi_walk_result *res;
};

/* State of the mapping search, kept on the stack across bpf_loop steps. */
struct map_search {
	const struct cfi_proc *proc;
	__u64 pc;
	__u32 lo, n;
};

static long map_search_step(__u32 i, struct map_search *ms)
{
	__u32 half;

	if (ms->n <= 1)
		return 1;
	half = ms->n / 2;
	if (ms->proc->maps[(ms->lo + half) & (CFI_PROC_MAX_MAPPINGS - 1)].start <= ms->pc) {
		ms->lo += half;
		ms->n -= half;
	} else {
		ms->n = half;
	}
	return 0;
}

/* Index of the mapping holding pc, or -1: last start <= pc, bounded. */
static __always_inline int find_mapping(const struct cfi_proc *proc, __u64 pc)
{
	struct map_search ms = { proc, pc, 0, proc->nr };
	__u32 lo;

	if (!ms.n || ms.n > CFI_PROC_MAX_MAPPINGS || proc->maps[0].start > pc)
		return -1;
	bpf_loop(CFI_PROC_SEARCH_STEPS, map_search_step, &ms, 0);
	lo = ms.lo & (CFI_PROC_MAX_MAPPINGS - 1);
	if (ms.n != 1 || pc >= proc->maps[lo].end)
		return -1;
	return (int)lo;
}

/* The only way this walker reads user memory: inside [sp, stack_end). */
static __always_inline int read_stack(struct walk *w, __u64 addr, __u64 *val)
{
	if (addr < w->sp || addr > w->stack_end - 8 || (addr & 7)) {
		w->stop = CFI_STOP_BOUNDS;
		return -1;
	}
	if (bpf_probe_read_user(val, sizeof(*val), (void *)addr)) {
		w->stop = CFI_STOP_READ;
		return -1;
	}
	return 0;
}

/* State of the row search: rows [first + lo, first + lo + n) are left. */
struct row_search {
	__u32 lo, n, key, first, lookups, failed;
};

/* One step of the binary search: keep rows[lo].pc <= key, halve n. */
static long row_search_step(__u32 i, struct row_search *rs)
{
	__u32 half, idx;
	struct cfi_row *row;

	if (rs->n <= 1)
		return 1;
	half = rs->n / 2;
	idx = rs->first + rs->lo + half;
	row = bpf_map_lookup_elem(&cfi_rows, &idx);
	rs->lookups++;
	if (!row) {
		rs->failed = 1;
		return 1;
	}
	if (row->pc <= rs->key) {
		rs->lo += half;
		rs->n -= half;
	} else {
		rs->n = half;
	}
	return 0;
}

/* The row in force at the lookup address, or NULL (w->stop set). */
static __always_inline struct cfi_row *find_row(struct walk *w, const struct cfi_mapping *m)
{
	__u64 lookup = w->exact ? w->pc : w->pc - 1;
	struct row_search rs = { 0 };
	struct cfi_row *row;
	__u32 idx;

	if (!m->nr_rows || m->nr_rows > CFI_MAX_OBJECT_ROWS) {
		w->stop = CFI_STOP_NO_TABLE;
		return NULL;
	}
	if (lookup < m->table_base || lookup - m->table_base > 0xffffffffULL) {
		w->stop = CFI_STOP_NO_CFI;
		return NULL;
	}
	rs.key = (__u32)(lookup - m->table_base);
	rs.n = m->nr_rows;
	rs.first = m->first_row;
	bpf_loop(CFI_SEARCH_STEPS, row_search_step, &rs, 0);
	w->lookups += rs.lookups;
	idx = rs.first + rs.lo;
	row = bpf_map_lookup_elem(&cfi_rows, &idx);
	if (rs.failed || !row || rs.n != 1 || row->pc > rs.key) {
		w->stop = CFI_STOP_NO_CFI;
		return NULL;
	}
	return row;
}

static __always_inline long step_signal(struct walk *w)
{
	__u64 rbp, rsp, rip;

	if (read_stack(w, w->sp + CFI_SIGFRAME_RBP, &rbp) ||
	    read_stack(w, w->sp + CFI_SIGFRAME_RSP, &rsp) ||
	    read_stack(w, w->sp + CFI_SIGFRAME_RIP, &rip))
		return 1;
	if (rsp <= w->sp) {
		w->stop = CFI_STOP_CFA_ORDER;
		return 1;
	}
	w->sp = rsp;
	w->bp = rbp;
	w->bp_known = 1;
	w->pc = rip;
	w->exact = 1;
	return 0;
}

/* One frame; bpf_loop callback: 0 to go on, 1 when w->stop says why not. */
static long step(__u32 i, struct walk *w)
{
	const struct cfi_mapping *m;
	struct cfi_row *row;
	__u64 cfa, ra, bp;
	__u32 rule;

	if (w->mapping < 0 || !w->proc) {
		w->stop = CFI_STOP_NO_MAPPING;
		return 1;
	}
	m = &w->proc->maps[w->mapping & (CFI_PROC_MAX_MAPPINGS - 1)];
	row = find_row(w, m);
	if (!row)
		return 1;
	rule = CFI_ROW_CFA_RULE(row);
	switch (rule) {
	case CFI_CFA_END:
		w->stop = CFI_STOP_END;
		return 1;
	case CFI_CFA_SIGNAL:
		if (step_signal(w))
			return 1;
		goto push;
	case CFI_CFA_RSP:
		cfa = w->sp + CFI_ROW_CFA_OFFSET(row);
		break;
	case CFI_CFA_RBP:
		if (!w->bp_known) {
			w->stop = CFI_STOP_RBP_UNKNOWN;
			return 1;
		}
		cfa = w->bp + CFI_ROW_CFA_OFFSET(row);
		break;
	case CFI_CFA_PLT11:
	case CFI_CFA_PLT10:
		cfa = w->sp + CFI_ROW_CFA_OFFSET(row) +
		      ((w->pc & 15) >= (rule == CFI_CFA_PLT11 ? 11 : 10) ? 8 : 0);
		break;
	case CFI_CFA_NONE:
		w->stop = CFI_STOP_NO_CFI;
		return 1;
	default:
		w->stop = CFI_STOP_UNSUPPORTED;
		return 1;
	}
	if (cfa <= w->sp) {
		w->stop = CFI_STOP_CFA_ORDER;
		return 1;
	}
	if (read_stack(w, cfa - 8, &ra))
		return 1;
	if (CFI_ROW_RBP_RULE(row) == CFI_RBP_AT_CFA) {
		if (read_stack(w, cfa + CFI_ROW_RBP_OFFSET(row), &bp))
			return 1;
		w->bp = bp;
		w->bp_known = 1;
	} else if (CFI_ROW_RBP_RULE(row) != CFI_RBP_SAME) {
		w->bp_known = 0;
	}
	w->sp = cfa;
	w->pc = ra;
	w->exact = 0;
	if (!ra) {
		w->stop = CFI_STOP_ZERO_RA;
		return 1;
	}
push:
	w->mapping = find_mapping(w->proc, w->pc);
	if (w->mapping < 0) {
		w->stop = CFI_STOP_NO_MAPPING;
		return 1;
	}
	if (w->nr >= CFI_WALK_MAX_FRAMES) {
		w->stop = CFI_STOP_DEPTH;
		return 1;
	}
	w->res->ips[w->nr & (CFI_WALK_MAX_FRAMES - 1)] = w->pc;
	w->nr++;
	return 0;
}

struct vma_end {
	__u64 end;
};

static long vma_end_cb(struct task_struct *task, struct vm_area_struct *vma, struct vma_end *ve)
{
	ve->end = vma->vm_end;
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(walk_on_sys_enter, struct pt_regs *regs, long id)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid(), t0;
	struct vma_end ve = { 0 };
	struct walk w = { 0 }, start = { 0 };
	__u32 zero = 0, tgid = pid_tgid >> 32, tid = (__u32)pid_tgid, rep;
	struct cfi_walk_result *res;

	if (tgid != target_tgid || id != 0 /* read */)
		return 0;
	res = bpf_map_lookup_elem(&scratch, &zero);
	if (!res)
		return 0;
	/* Test only: the production walker caches the stack VMA per thread. */
	bpf_find_vma(bpf_get_current_task_btf(), regs->sp, vma_end_cb, &ve, 0);
	start.pc = regs->ip;
	start.sp = regs->sp;
	start.bp = regs->bp;
	start.stack_end = ve.end;
	start.bp_known = 1;
	start.exact = 1;
	start.stop = CFI_STOP_DEPTH;
	start.nr = 1;
	start.lookups = 0;
	start.res = res;
	start.proc = bpf_map_lookup_elem(&cfi_procs, &tgid);
	if (!start.proc || start.stack_end <= start.sp)
		return 0;
	start.mapping = find_mapping(start.proc, start.pc);
	/* Walk CFI_WALK_REPEAT times: the first walk runs with cold caches,
	 * the last with warm ones. */
	for (rep = 0; rep < CFI_WALK_REPEAT; rep++) {
		w = start;
		t0 = bpf_ktime_get_ns();
		res->ips[0] = w.pc;
		bpf_loop(CFI_WALK_MAX_FRAMES, step, &w, 0);
		if (rep == 0)
			res->cold_ns = bpf_ktime_get_ns() - t0;
		res->warm_ns = bpf_ktime_get_ns() - t0;
	}
	res->nr = w.nr;
	res->stop = w.stop;
	res->lookups = w.lookups;
	bpf_map_update_elem(&results, &tid, res, BPF_ANY);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
