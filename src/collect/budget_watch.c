// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Budget overflows said when they happen (budget_watch.h). The counters are
 * read into a scratch recording once a second: a few dozen per-CPU array
 * lookups, nothing on the traced threads' path.
 */
#include <stdlib.h>

#include "budget_watch.h"
#include "budgets.h"
#include "lock_collector.h"
#include "offcpu_collector.h"
#include "proc_tracker.h"
#include "unwind_loader.h"
#include "util.h"

#define WATCH_PERIOD_NS 1000000000ull
#define MAX_BUDGETS 32

struct budget_watch {
	struct offcpu_collector *c;
	struct lock_collector *locks;
	struct proc_tracker *tracker;
	struct unwind_loader *unwinder;
	uint64_t next_ns;
	bool warned[MAX_BUDGETS];
};

struct budget_watch *budget_watch_new(struct offcpu_collector *c, struct lock_collector *locks,
				      struct proc_tracker *tracker, struct unwind_loader *unwinder)
{
	struct budget_watch *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->c = c;
	w->locks = locks;
	w->tracker = tracker;
	w->unwinder = unwinder;
	return w;
}

static int peek(struct budget_watch *w, struct recording *now)
{
	int err = offcpu_peek_counters(w->c, now);

	if (!err)
		err = lock_peek_counters(w->locks, now);
	if (!err && w->unwinder)
		unwind_loader_report(w->unwinder, now);
	if (!err)
		err = rec_add_counter(now, "processes_not_tracked", proc_tracker_dropped(w->tracker));
	return err;
}

static void warn_new(struct budget_watch *w, const struct recording *now)
{
	char hint[64];
	size_t i;

	for (i = 0; i < nr_budgets && i < MAX_BUDGETS; i++) {
		__u64 n = rec_get_counter(now, budgets[i].counter);

		if (!n || w->warned[i])
			continue;
		w->warned[i] = true;
		err_msg("warning: %llu %s so far (%s); said once, counted in the report",
			(unsigned long long)n, budgets[i].what,
			budget_hint(&budgets[i], hint, sizeof(hint)));
	}
}

void budget_watch_tick(struct budget_watch *w)
{
	struct recording *now;
	uint64_t t = now_ns();

	if (!w || t < w->next_ns)
		return;
	w->next_ns = t + WATCH_PERIOD_NS;
	now = rec_new();
	if (!now)
		return;
	if (!peek(w, now))
		warn_new(w, now);
	rec_free(now);
}

void budget_watch_summary(const struct budget_watch *w, const struct recording *rec)
{
	char hint[64];
	size_t i;

	for (i = 0; w && i < nr_budgets; i++) {
		__u64 n = rec_get_counter(rec, budgets[i].counter);

		if (n)
			err_msg("warning: %llu %s in all (%s)", (unsigned long long)n,
				budgets[i].what, budget_hint(&budgets[i], hint, sizeof(hint)));
	}
}

void budget_watch_free(struct budget_watch *w)
{
	free(w);
}
