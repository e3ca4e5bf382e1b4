/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The windows of waitprof agent: the collectors stay attached while the
 * drain thread fills a live recording; at each window's end the maps are
 * drained into it and it becomes a finished, symbolized recording of its
 * own, and a new live recording takes over. An interval that ends after a
 * drain lands in the next window: none is lost at the boundary.
 */
#ifndef WAITPROF_AGENT_WINDOWS_H
#define WAITPROF_AGENT_WINDOWS_H

#include <stdint.h>

struct offcpu_collector;
struct lock_collector;
struct proc_tracker;
struct recording;
struct drainer;

struct agent_recorder {
	struct offcpu_collector *offcpu;
	struct lock_collector *locks;	/* may be NULL */
	struct proc_tracker *tracker;
	struct drainer *drainer;
	struct recording *live;
	size_t nr_carried;	/* live's first stacks: carried from the last window */
	uint64_t window_start_ns;	/* CLOCK_MONOTONIC */
	uint64_t window_start_epoch;	/* seconds */
	const char *command_line;
};

/* Starts the first window (the collectors are attached). 0 or -errno. */
int agent_recorder_start(struct agent_recorder *ar);
/* Ends the window: *win is its finished recording, owned by the caller.
 * Starts the next one. 0 or -errno (then recording cannot go on). */
int agent_recorder_roll(struct agent_recorder *ar, struct recording **win);
/* Stops the drain thread; the live recording is freed. */
void agent_recorder_stop(struct agent_recorder *ar);

#endif
