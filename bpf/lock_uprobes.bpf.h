/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The pthread uprobes of bpf/lock.bpf.c (--uprobes): every lock call timed
 * from entry to return, and every hold from the lock call's return to the
 * unlock. Included once, at the end of lock.bpf.c, whose maps and helpers
 * it uses: a fragment of that object, kept apart for size.
 */
#ifndef WAITPROF_LOCK_UPROBES_BPF_H
#define WAITPROF_LOCK_UPROBES_BPF_H


/*
 * At function entry the return address is at the stack pointer and the
 * frame pointer is still the caller's, so the walk starts at the caller and
 * loses no frame (unlike a walk from inside libc).
 */
SEC("uprobe")
int BPF_KPROBE(lock_uprobe_enter, void *lock)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid, flags = 0;
	struct uprobe_state st = {};
	struct user_regs r = {};
	__u64 ret_addr = 0;
	long err = 0;

	if (!tgid_traced(pid_tgid >> 32))
		return 0;
	r.sp = PT_REGS_SP(ctx);
	r.bp = PT_REGS_FP(ctx);
	if (r.sp && !(r.sp & 7) && r.sp < USER_ADDR_MAX &&
	    !bpf_probe_read_user(&ret_addr, sizeof(ret_addr), (void *)r.sp)) {
		st.ret_slot = r.sp;
		st.ret_addr = ret_addr;
		r.ip = ret_addr;
		r.sp += 8;
		st.stack_id = capture_user_stack(&r, &err, &flags);
	}
	if (!st.stack_id)
		counter_add(err ? LCNT_DROP_STACK_FULL : LCNT_USTACK_EMPTY, 1);
	st.lock = (__u64)lock;
	st.fn = (__u8)bpf_get_attach_cookie(ctx);
	st.start_ns = bpf_ktime_get_ns();
	if (bpf_map_update_elem(&uprobe_calls, &tid, &st, BPF_ANY))
		counter_add(LCNT_DROP_STATE_FULL, 1);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(lock_uprobe_return, long ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid(), delta, now;
	__u32 tid = (__u32)pid_tgid;
	struct lock_key key = {};
	struct uprobe_state *st;

	st = bpf_map_lookup_elem(&uprobe_calls, &tid);
	if (!st)
		return 0;
	now = bpf_ktime_get_ns();
	delta = now - st->start_ns;
	key.tgid = pid_tgid >> 32;
	key.source = LOCK_SRC_UPROBE;
	key.op = st->fn | (ret ? LOCK_UPROBE_FAILED : 0);
	key.addr = st->lock;
	key.stack_id = st->stack_id;
	if (!ret) {
		struct held_key hk = { .lock = st->lock, .tid = tid };
		struct held_state hs = { .since_ns = now, .stack_id = st->stack_id, .fn = st->fn,
					 .run_delay = current_run_delay(),
					 .nvcsw = current_nvcsw() };

		bpf_map_update_elem(&held_locks, &hk, &hs, BPF_ANY);
		note_lock_taken(tid, st->lock);
	}
	bpf_map_delete_elem(&uprobe_calls, &tid);
	counter_add(LCNT_UPROBE_CALLS, 1);
	lock_hist_add(&key, delta);
	return 0;
}

/* pthread_*_unlock entry: the hold that began when the lock call returned
 * ends here (a read lock held by several threads is one hold per thread). */
SEC("uprobe")
int BPF_KPROBE(lock_uprobe_unlock, void *lock)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct held_key hk = { .lock = (__u64)lock, .tid = (__u32)pid_tgid };
	struct lock_key key = {};
	struct held_state *hs;
	__u64 delta, runnable;

	hs = bpf_map_lookup_elem(&held_locks, &hk);
	if (!hs)
		return 0;	/* taken before probing began, or not by a probed call */
	delta = bpf_ktime_get_ns() - hs->since_ns;
	runnable = current_run_delay() - hs->run_delay;
	if (runnable > delta)
		runnable = delta;
	key.tgid = pid_tgid >> 32;
	key.source = LOCK_SRC_HOLD;
	key.op = hs->fn | (current_nvcsw() != hs->nvcsw ? LOCK_HOLD_SLEPT : 0);
	key.addr = hk.lock;
	key.stack_id = hs->stack_id;
	bpf_map_delete_elem(&held_locks, &hk);
	lock_hist_add_split(&key, delta - runnable, runnable);
	return 0;
}

#endif /* WAITPROF_LOCK_UPROBES_BPF_H */
