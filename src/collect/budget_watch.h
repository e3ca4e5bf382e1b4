/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Says on stderr, while recording, when a budget overflows (src/recording/budgets.h):
 * one line per budget, the first time it happens, naming the option that
 * raises it; and at the end the final count of each that did.
 */
#ifndef WAITPROF_BUDGET_WATCH_H
#define WAITPROF_BUDGET_WATCH_H

#include "recording.h"

struct offcpu_collector;
struct lock_collector;
struct proc_tracker;
struct unwind_loader;

struct budget_watch;

/* locks and unwinder may be NULL. */
struct budget_watch *budget_watch_new(struct offcpu_collector *c, struct lock_collector *locks,
				      struct proc_tracker *tracker, struct unwind_loader *unwinder);
/* Checks at most once a second; cheap to call on every loop turn. */
void budget_watch_tick(struct budget_watch *w);
/* The final counts, from the finished recording. */
void budget_watch_summary(const struct budget_watch *w, const struct recording *rec);
void budget_watch_free(struct budget_watch *w);

#endif
