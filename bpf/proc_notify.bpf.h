/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Telling user space when to read a process's maps (struct proc_notify,
 * bpf/proc_notify.h): the first stack of a process, its forks and execs,
 * and a stack that began outside its unwind tables. One mechanism for
 * every object that walks user stacks (offcpu, funclat).
 *
 * The includer defines PROC_NOTIFY_LOST, its counter of notifications lost
 * to a full ring, and includes common.bpf.h first.
 */
#ifndef WAITPROF_PROC_NOTIFY_BPF_H
#define WAITPROF_PROC_NOTIFY_BPF_H

#include "common.bpf.h"
#include "proc_notify.h"

#ifndef PROC_NOTIFY_LOST
#error "define PROC_NOTIFY_LOST (the counter of lost notifications) before proc_notify.bpf.h"
#endif

/* Set through the skeleton's rodata: children of traced processes are
 * traced too. */
const volatile bool follow_forks = false;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u8);
} seen_tgids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} proc_notifies SEC(".maps");

/* PROC_NOTIFY_UNMAPPED sent per process image: see notify_unmapped(). */
struct unmapped_notes {
	__u64 last_ns;
	__u32 sent;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct unmapped_notes);
} unmapped_notified SEC(".maps");

/* Sends one notification; a full ring is counted (false). */
static __always_inline bool send_proc_notify(__u32 type, __u32 tgid, __u32 parent_tgid,
					     __u64 flags)
{
	struct proc_notify *ev = bpf_ringbuf_reserve(&proc_notifies, sizeof(*ev), 0);

	if (!ev) {
		counter_add(PROC_NOTIFY_LOST, 1);
		return false;
	}
	ev->type = type;
	ev->tgid = tgid;
	ev->parent_tgid = parent_tgid;
	ev->pad = 0;
	bpf_ringbuf_submit(ev, flags);
	return true;
}

/* The first stack seen from tgid. */
static __always_inline void notify_new_process(__u32 tgid)
{
	__u8 one = 1;

	if (bpf_map_update_elem(&seen_tgids, &tgid, &one, BPF_NOEXIST))
		return;		/* seen before (or the map is full) */
	send_proc_notify(PROC_NOTIFY_NEW, tgid, 0, 0);
}

/*
 * The stack began where the process's unwind tables have no mapping: it
 * mapped code since user space last read its maps (ld.so loading libraries
 * after exec, dlopen, the [uprobes] page of a uretprobe). Ask for a read
 * now, while the thread is off CPU: a program that lives a few milliseconds
 * would be gone at the next scheduled read. Bounded per image, as JIT code
 * never has tables.
 */
static __always_inline void notify_unmapped(__u32 tgid)
{
	struct unmapped_notes *n, fresh = {};
	__u64 now = bpf_ktime_get_ns();

	n = bpf_map_lookup_elem(&unmapped_notified, &tgid);
	if (!n) {
		bpf_map_update_elem(&unmapped_notified, &tgid, &fresh, BPF_NOEXIST);
		n = bpf_map_lookup_elem(&unmapped_notified, &tgid);
		if (!n)
			return;
	} else if (n->sent >= PROC_UNMAPPED_MAX || now - n->last_ns < PROC_UNMAPPED_GAP_NS) {
		return;
	}
	if (!send_proc_notify(PROC_NOTIFY_UNMAPPED, tgid, 0, BPF_RB_FORCE_WAKEUP))
		return;
	n->sent++;
	n->last_ns = now;
}

/*
 * A process forked another: with follow_forks, a child of a traced process
 * is traced too, and with notify user space reads its maps now (before its
 * first stack, which may come after it is gone).
 */
static __always_inline void notify_fork(__u32 parent_tgid, __u32 child_tgid, bool notify)
{
	__u8 one = 1;

	if (!follow_forks || parent_tgid == child_tgid ||
	    !bpf_map_lookup_elem(&traced_tgids, &parent_tgid))
		return;
	bpf_map_update_elem(&traced_tgids, &child_tgid, &one, BPF_ANY);
	if (notify)
		send_proc_notify(PROC_NOTIFY_FORK, child_tgid, parent_tgid, 0);
}

/*
 * A process exec'd: the old image's unwind tables must not be used on the
 * new one, and a process user space follows (seen, or traced: a traced
 * command execs before its first stack) is read again now.
 */
static __always_inline void notify_exec(__u32 tgid)
{
	if (unwind_cfi)
		bpf_map_delete_elem(&cfi_procs, &tgid);
	bpf_map_delete_elem(&unmapped_notified, &tgid);
	if (!bpf_map_lookup_elem(&seen_tgids, &tgid) &&
	    !(filter_tgid && bpf_map_lookup_elem(&traced_tgids, &tgid)))
		return;
	send_proc_notify(PROC_NOTIFY_EXEC, tgid, 0, 0);
}

/*
 * A process's leader exited. Left behind, exited processes fill seen_tgids
 * under churn and new ones go unnoticed. A thread outliving its leader is
 * noted again.
 */
static __always_inline void forget_process(__u32 tgid)
{
	if (unwind_cfi)
		bpf_map_delete_elem(&cfi_procs, &tgid);
	bpf_map_delete_elem(&seen_tgids, &tgid);
}

#endif /* WAITPROF_PROC_NOTIFY_BPF_H */
