// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The shipped BPF CFI walker under test: walk_user_cfi() and
 * user_stack_end() of bpf/stacks.bpf.h, with the step of bpf/cfi_step.h,
 * exactly as record runs them. test_cfi_bpf.c requires the frames and the
 * stop reason of the reference walker (src/unwind/cfi_unwind.c) on
 * cfi_target's threads, and prints what a walk costs.
 *
 * Attached to tp_btf/sys_enter for one process: when a ptrace-stopped
 * thread is released, its read() restarts and this walks its user stack.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "stacks.bpf.h"
#include "cfi_walk_test.h"

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

/* One timed walk into the scratch trace; false when frame 0 had no table. */
static __always_inline bool timed_walk(const struct user_regs *regs, struct stack_trace *st,
				       __u64 *ns)
{
	__u64 t0 = bpf_ktime_get_ns();
	bool walked = walk_user_cfi(regs, user_stack_end(regs->sp), st);

	*ns = bpf_ktime_get_ns() - t0;
	return walked;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(walk_on_sys_enter, struct pt_regs *regs, long id)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 zero = 0, tgid = pid_tgid >> 32, tid = (__u32)pid_tgid, rep, nr;
	struct user_regs ur = { .ip = regs->ip, .sp = regs->sp, .bp = regs->bp,
				.syscall_nr = id };
	struct stack_trace *st = stack_scratch_get();
	struct cfi_walk_result *res;
	bool walked = false;
	__u64 ns = 0;

	if (tgid != target_tgid || id != 0 /* read */)
		return 0;
	res = bpf_map_lookup_elem(&scratch, &zero);
	if (!res || !st)
		return 0;
	/* Walk CFI_WALK_REPEAT times: the first walk runs with cold caches,
	 * the last with warm ones. */
	for (rep = 0; rep < CFI_WALK_REPEAT; rep++) {
		walked = timed_walk(&ur, st, &ns);
		if (rep == 0)
			res->cold_ns = ns;
	}
	res->warm_ns = ns;
	nr = st->nr;
	res->nr = walked ? nr : 0;
	res->stop = walked ? STACK_END_OF(st->flags) : CFI_STOP_NR;
	__builtin_memcpy(res->ips, st->ips, sizeof(res->ips));
	bpf_map_update_elem(&results, &tid, res, BPF_ANY);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
