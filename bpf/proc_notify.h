/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * proc_notify: the ring-buffer notifications that make user space read a
 * process's maps (symbols, unwind tables) while it is alive. Sent by every
 * object that walks user stacks (bpf/proc_notify.bpf.h), read by
 * record's and funclat's process trackers.
 */
#ifndef WAITPROF_PROC_NOTIFY_H
#define WAITPROF_PROC_NOTIFY_H

/* BPF programs get the __u* types from vmlinux.h. */
#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

enum proc_notify_type {
	PROC_NOTIFY_NEW = 1,	/* first stack seen from this tgid */
	PROC_NOTIFY_EXEC,	/* traced tgid exec'd: maps changed */
	PROC_NOTIFY_FORK,	/* a traced process forked a new process */
	PROC_NOTIFY_EXIT,	/* last thread of a traced tgid exited */
	PROC_NOTIFY_UNMAPPED,	/* a stack began outside the tgid's unwind
				 * tables: its maps changed (ld.so, dlopen,
				 * the [uprobes] page) */
};

/* PROC_NOTIFY_UNMAPPED: at most this many per process image, at least
 * PROC_UNMAPPED_GAP_NS apart (JIT code never has tables). */
#define PROC_UNMAPPED_MAX	8
#define PROC_UNMAPPED_GAP_NS	(1000 * 1000)

struct proc_notify {
	__u32 type;		/* enum proc_notify_type */
	__u32 tgid;
	__u32 parent_tgid;	/* PROC_NOTIFY_FORK */
	__u32 pad;
};

#endif /* WAITPROF_PROC_NOTIFY_H */
