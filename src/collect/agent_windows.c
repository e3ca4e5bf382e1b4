// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The windows of waitprof agent (agent_windows.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include "agent_windows.h"
#include "drainer.h"
#include "lock_collector.h"
#include "offcpu_collector.h"
#include "proc_tracker.h"
#include "rec_store.h"
#include "rec_symbols.h"
#include "util.h"

int agent_recorder_start(struct agent_recorder *ar)
{
	if (!ar->live)
		ar->live = rec_new();
	if (!ar->live)
		return -ENOMEM;
	ar->window_start_ns = now_ns();
	ar->window_start_epoch = time(NULL);
	return drainer_start(&ar->drainer, ar->offcpu, ar->locks, ar->live);
}

void agent_recorder_stop(struct agent_recorder *ar)
{
	drainer_stop(ar->drainer);
	ar->drainer = NULL;
	rec_free(ar->live);
	ar->live = NULL;
}

static struct proc_maps *copy_maps(const struct proc_maps *src)
{
	struct proc_maps *m = calloc(1, sizeof(*m));
	size_t i;

	if (!m)
		return NULL;
	m->pid = src->pid;
	m->maps = calloc(src->nr ? src->nr : 1, sizeof(*m->maps));
	if (!m->maps) {
		free(m);
		return NULL;
	}
	for (i = 0; i < src->nr; i++, m->nr++) {
		m->maps[i] = src->maps[i];
		m->maps[i].path = strdup(src->maps[i].path ? src->maps[i].path : "");
		if (!m->maps[i].path) {
			proc_maps_free(m);
			return NULL;
		}
	}
	return m;
}

static int cmp_pid(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* The window's processes, copied from the tracker (which keeps them for
 * the windows to come): only those the window names. */
static int add_processes(struct agent_recorder *ar, struct recording *win)
{
	size_t nr = win->nr_offcpu + win->nr_locks, n = 0, i;
	int *pids = malloc((nr ? nr : 1) * sizeof(*pids)), err = 0;

	if (!pids)
		return -ENOMEM;
	for (i = 0; i < win->nr_offcpu; i++)
		pids[n++] = win->offcpu[i].key.tgid;
	for (i = 0; i < win->nr_locks; i++)
		pids[n++] = win->locks[i].key.tgid;
	qsort(pids, n, sizeof(*pids), cmp_pid);
	for (i = 0; i < n && !err; i++) {
		const struct proc_maps *maps;
		struct proc_maps *copy = NULL;
		const char *comm = NULL, *exe = NULL;

		if ((i && pids[i] == pids[i - 1]) || !pids[i])
			continue;
		maps = proc_tracker_peek(ar->tracker, pids[i], &comm, &exe);
		if (!comm)
			continue;
		if (maps && !(copy = copy_maps(maps)))
			err = -ENOMEM;
		else
			err = rec_add_process(win, pids[i], comm, exe, copy);
	}
	free(pids);
	return err;
}

static int carry_stack(struct recording *next, const struct recording *win, __u64 id)
{
	const struct rec_stack *s;

	if (!id || rec_has_stack_id(next, id))
		return 0;
	s = rec_find_stack(win, id);
	return s ? rec_store_stack(next, id, s->flags, s->nr, s->ips) : 0;
}

/*
 * The stacks the next window may name without the kernel sending them
 * again: those moved out of the kernel in this window (their intervals may
 * still be in flight) and those this window named (a thread's stack cache
 * reuses an id without re-inserting the stack). Older ones are let go, so
 * memory follows the working set, not the uptime.
 */
static int carry_stacks(struct recording *next, struct recording *win, size_t nr_carried)
{
	size_t i;
	int err = 0;

	for (i = nr_carried; i < win->nr_stacks && !err; i++)
		err = rec_store_stack(next, win->stacks[i].id, win->stacks[i].flags,
				      win->stacks[i].nr, win->stacks[i].ips);
	rec_finish(win);
	for (i = 0; i < win->nr_offcpu && !err; i++) {
		err = carry_stack(next, win, win->offcpu[i].key.user_stack_id);
		if (!err)
			err = carry_stack(next, win, win->offcpu[i].key.kern_stack_id);
	}
	for (i = 0; i < win->nr_locks && !err; i++)
		err = carry_stack(next, win, win->locks[i].key.stack_id);
	for (i = 0; i < win->nr_lock_holders && !err; i++)
		err = carry_stack(next, win, win->lock_holders[i].key.waker_stack_id);
	return err;
}

static void window_meta(struct agent_recorder *ar, struct recording *win, uint64_t dur_ns)
{
	char buf[256];
	struct utsname uts;

	rec_set_meta(win, "command_line", ar->command_line ? ar->command_line : "waitprof agent");
	format_utc(buf, sizeof(buf), ar->window_start_epoch);
	rec_set_meta(win, "start_time", buf);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)dur_ns);
	rec_set_meta(win, "duration_ns", buf);
	if (!uname(&uts))
		rec_set_meta(win, "hostname", uts.nodename);
	rec_set_meta(win, "attach_mode", offcpu_attach_mode(ar->offcpu));
}

/* Drains what the kernel holds into the live recording: the drain thread
 * is stopped, so this thread owns it. */
static int drain_window(struct agent_recorder *ar)
{
	int err = drainer_stop(ar->drainer);

	ar->drainer = NULL;
	if (err)
		return err;
	offcpu_collect_due_now(ar->offcpu);
	lock_collect_due_now(ar->locks);
	err = offcpu_collect(ar->offcpu, ar->live);
	if (!err)
		err = lock_collect(ar->locks, ar->live);
	if (!err)
		err = offcpu_peek_counters(ar->offcpu, ar->live);
	if (!err && ar->locks)
		err = lock_peek_counters(ar->locks, ar->live);
	return err;
}

int agent_recorder_roll(struct agent_recorder *ar, struct recording **out)
{
	struct symbolizer_opts sopts = { .demangle = true, .inlines = true, .lines = true };
	struct rec_symbols_stats stats;
	struct recording *win = ar->live, *next = rec_new();
	uint64_t end_ns;
	size_t nr_carried = ar->nr_carried;
	int err;

	*out = NULL;
	if (!next)
		return -ENOMEM;
	err = drain_window(ar);
	end_ns = now_ns();
	if (!err)
		err = carry_stacks(next, win, nr_carried);
	if (err) {
		rec_free(next);
		return err;
	}
	/* The next window starts now: symbolizing this one takes a while. */
	ar->live = next;
	ar->nr_carried = next->nr_stacks;
	window_meta(ar, win, end_ns - ar->window_start_ns);
	err = agent_recorder_start(ar);
	if (err) {
		rec_free(win);
		return err;
	}
	proc_tracker_refresh(ar->tracker, false);
	err = add_processes(ar, win);
	if (!err) {
		rec_finish(win);
		err = rec_symbolize(win, &sopts, &stats);
		/* Said once: each window would repeat it. */
		rec_symbols_warn_missing(false);
	}
	if (err) {
		rec_free(win);
		return err;
	}
	win->complete = true;
	*out = win;
	return 0;
}
