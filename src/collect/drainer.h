/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A thread that keeps the in-kernel maps drained while recording, apart from
 * the session loop: that loop reads process maps and loads unwind tables,
 * which under process churn kept it away for seconds at a time (measured:
 * 9-10 s between drains under pgbench), long enough to fill a map.
 */
#ifndef WAITPROF_DRAINER_H
#define WAITPROF_DRAINER_H

#include <stdbool.h>

struct offcpu_collector;
struct lock_collector;
struct recording;
struct drainer;

/* Until drainer_stop(), the thread alone writes rec's histograms, lock
 * records and stacks (offcpu_collect, lock_collect); locks may be NULL. */
int drainer_start(struct drainer **out, struct offcpu_collector *offcpu,
		  struct lock_collector *locks, struct recording *rec);
/* True once a drain failed (out of memory): the recording should stop. */
bool drainer_failed(struct drainer *d);
/* Stops and frees the thread; returns its first error (0: none). */
int drainer_stop(struct drainer *d);

#endif
