/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The kernel's record of processes mapping code, system-wide (perf). */
#ifndef WAITPROF_MMAP_EVENTS_H
#define WAITPROF_MMAP_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "symbolize.h"

struct mmap_events;

enum mmap_event_type {
	MMAP_EVENT_MAP,		/* code was mapped: map */
	MMAP_EVENT_EXEC,	/* the process exec'd; comm is the new image's name */
	MMAP_EVENT_COMM,	/* the process renamed itself: comm */
	MMAP_EVENT_FORK,	/* a new process, forked from parent */
	MMAP_EVENT_EXIT,	/* the process's leader exited */
};

struct mmap_event {
	enum mmap_event_type type;
	int pid;		/* the process (thread group) */
	int parent;		/* FORK: the process that forked it */
	char comm[16];		/* EXEC, COMM */
	/* MAP: range, offset, perms, path ("" when anonymous) and either the
	 * build-id or the device and inode: valid during the call only. */
	struct proc_map map;
};

typedef void (*mmap_event_fn)(void *ctx, const struct mmap_event *ev);

struct mmap_events_stats {
	uint64_t maps;		/* code mappings reported */
	uint64_t lost;		/* records lost to a full ring */
	uint64_t build_ids;	/* ... mappings that came with their build-id */
};

/* One ring per CPU. A negative errno when perf events are not permitted
 * (perf_event_paranoid, CAP_PERFMON) or not supported. */
int mmap_events_open(struct mmap_events **out);
void mmap_events_free(struct mmap_events *e);
/* Calls fn for each record the rings hold, in the order they happened. */
void mmap_events_read(struct mmap_events *e, mmap_event_fn fn, void *ctx);
void mmap_events_get_stats(const struct mmap_events *e, struct mmap_events_stats *out);

#endif
