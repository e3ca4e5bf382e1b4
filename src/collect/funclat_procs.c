// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "funclat_procs.h"
#include "proc_tracker.h"
#include "recording.h"
#include "unwind_loader.h"
#include "util.h"

#define MAX_PROCS 4096

struct funclat_procs {
	struct proc_tracker *tracker;
	struct unwind_loader *loader;	/* NULL: frame pointers only */
	struct funclat_stacks *stacks;
};

/* Every read of a process's maps: symbols and unwind tables follow. */
static void on_proc_read(void *ctx, const struct proc_maps *maps)
{
	struct funclat_procs *p = ctx;
	int err;

	funclat_stacks_note_process(p->stacks, maps->pid);
	if (!p->loader)
		return;
	err = unwind_loader_load(p->loader, maps);
	if (err && util_verbose)
		info_msg("no unwind tables for pid %d: %s", maps->pid, strerror(-err));
}

struct funclat_procs *funclat_procs_new(struct funclat_collector *c, struct funclat_stacks *stacks)
{
	struct funclat_procs *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->stacks = stacks;
	p->tracker = proc_tracker_new(MAX_PROCS);
	if (!p->tracker)
		goto fail;
	if (funclat_unwinds_cfi(c)) {
		p->loader = unwind_loader_new(funclat_map(c, "cfi_rows"), funclat_map(c, "cfi_procs"));
		if (!p->loader)
			goto fail;
	}
	proc_tracker_set_hook(p->tracker, on_proc_read, p);
	return p;
fail:
	funclat_procs_free(p);
	return NULL;
}

void funclat_procs_free(struct funclat_procs *p)
{
	if (!p)
		return;
	unwind_loader_free(p->loader);
	proc_tracker_free(p->tracker);
	free(p);
}

void funclat_procs_note(struct funclat_procs *p, int tgid, bool reread)
{
	/* Stacks walked before the new tables are in stop short: load now,
	 * not at the tracker's first re-read 1 ms from now. */
	proc_tracker_note(p->tracker, tgid, reread);
	if (reread)
		proc_tracker_read_now(p->tracker, tgid);
}

int funclat_procs_next_due_ms(const struct funclat_procs *p, int max_ms)
{
	return proc_tracker_next_due_ms(p->tracker, max_ms);
}

void funclat_procs_refresh(struct funclat_procs *p)
{
	proc_tracker_refresh(p->tracker, false);
}

int funclat_procs_report(struct funclat_procs *p, struct funclat_collector *c,
			 struct recording *rec)
{
	int err = funclat_drain_unwind_counters(c, rec);

	if (err)
		return err;
	if (p->loader)
		unwind_loader_report(p->loader, rec);
	proc_tracker_report(p->tracker, rec);
	return 0;
}
