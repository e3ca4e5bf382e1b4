/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Processes the kernel reported (mmap_events.h) before the tracker follows them. */
#ifndef WAITPROF_PROC_PENDING_H
#define WAITPROF_PROC_PENDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mmap_events.h"
#include "symbolize.h"

struct proc_pending;

struct pending_proc {
	int pid;
	int parent;		/* forked from, 0 when unknown */
	bool execd;		/* exec'd: maps are its own image's */
	bool exited;
	uint64_t exit_round;	/* the tracker's round when it exited */
	char comm[16];		/* "" when not reported */
	char *exe;		/* the first file mapped after its exec */
	struct proc_maps *maps;	/* code mapped since its exec (or fork), NULL when none */
	struct pending_proc *next;
};

/* At most max processes are kept; the rest are counted (dropped). */
struct proc_pending *proc_pending_new(size_t max);
void proc_pending_free(struct proc_pending *pp);
/* Keeps what ev says of a process the tracker does not follow (yet). */
void proc_pending_add(struct proc_pending *pp, const struct mmap_event *ev, uint64_t round);
/* Hands over what is kept of pid (free it with pending_proc_free), or NULL. */
struct pending_proc *proc_pending_take(struct proc_pending *pp, int pid);
void pending_proc_free(struct pending_proc *p);
/* Forgets processes that exited before round: the tracker would have
 * claimed them by then (their notifications are read first). */
void proc_pending_expire(struct proc_pending *pp, uint64_t round);
uint64_t proc_pending_dropped(const struct proc_pending *pp);

#endif
