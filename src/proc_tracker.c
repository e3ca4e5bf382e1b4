// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Captures the memory maps of traced processes while they are alive, so
 * their stacks can be symbolized after they exit. A process is read when BPF
 * first sees it block, again shortly after it forks or execs (ld.so maps the
 * libraries after exec), and periodically for dlopen. Mappings that vanish
 * are kept, so stacks recorded before an unmap still resolve.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc_tracker.h"
#include "util.h"

#define MS			(1000ull * 1000)
#define REFRESH_PERIOD_NS	(2000ull * 1000 * 1000)

struct tracked_proc {
	int pid;
	bool gone;
	uint64_t start_time;	/* in clock ticks since boot: tells a reused pid */
	char comm[16];
	char *exe;
	uint64_t due_ns;	/* next read, 0 = none planned */
	unsigned int rereads;	/* quick re-reads left after a fork or exec */
	struct proc_maps *maps;
};

struct proc_tracker {
	struct tracked_proc *procs;
	size_t nr;
	size_t max_procs;
	uint64_t dropped;	/* processes not tracked because of max_procs */
	uint64_t pid_reuses;	/* pids that came to name another process */
	proc_read_hook hook;
	void *hook_ctx;
};

void proc_tracker_set_hook(struct proc_tracker *t, proc_read_hook hook, void *ctx)
{
	t->hook = hook;
	t->hook_ctx = ctx;
}

struct proc_tracker *proc_tracker_new(size_t max_procs)
{
	struct proc_tracker *t = calloc(1, sizeof(*t));

	if (t)
		t->max_procs = max_procs;
	return t;
}

void proc_tracker_free(struct proc_tracker *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->nr; i++) {
		free(t->procs[i].exe);
		proc_maps_free(t->procs[i].maps);
	}
	free(t->procs);
	free(t);
}

static struct tracked_proc *find(struct proc_tracker *t, int pid)
{
	size_t i;

	for (i = 0; i < t->nr; i++)
		if (t->procs[i].pid == pid)
			return &t->procs[i];
	return NULL;
}

static bool overlaps(const struct proc_map *m, const struct proc_maps *maps)
{
	size_t i;

	for (i = 0; i < maps->nr; i++)
		if (m->start < maps->maps[i].end && maps->maps[i].start < m->end)
			return true;
	return false;
}

static int cmp_map(const void *a, const void *b)
{
	const struct proc_map *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* New maps win; old file mappings that nothing new overlaps survive. */
static struct proc_maps *merge_maps(struct proc_maps *old, struct proc_maps *cur)
{
	struct proc_map *all;
	size_t i, n = cur->nr;

	if (!old)
		return cur;
	all = realloc(cur->maps, (cur->nr + old->nr) * sizeof(*all) + 1);
	if (!all) {
		proc_maps_free(old);
		return cur;
	}
	cur->maps = all;
	for (i = 0; i < old->nr; i++) {
		struct proc_map *m = &old->maps[i];

		if (!m->path || m->path[0] != '/' || overlaps(m, cur))
			continue;
		cur->maps[n] = *m;
		m->path = NULL;	/* moved */
		n++;
	}
	cur->nr = n;
	qsort(cur->maps, cur->nr, sizeof(*cur->maps), cmp_map);
	proc_maps_free(old);
	return cur;
}

static void read_exe(struct tracked_proc *p)
{
	char path[64], buf[4096];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", p->pid);
	n = readlink(path, buf, sizeof(buf) - 1);
	if (n <= 0)
		return;
	buf[n] = '\0';
	free(p->exe);
	p->exe = strdup(buf);
}

/* Field 22 of /proc/PID/stat; the comm before it may hold spaces and ')'. */
static uint64_t read_start_time(int pid)
{
	char path[64], buf[1024], *p;
	unsigned long long v = 0;
	FILE *f;
	int field;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f) || !(p = strrchr(buf, ')'))) {
		fclose(f);
		return 0;
	}
	fclose(f);
	for (field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (p)
		sscanf(p + 1, "%llu", &v);
	return v;
}

static void read_proc(struct proc_tracker *t, struct tracked_proc *p, uint64_t now)
{
	struct proc_maps *maps;
	uint64_t start_time;

	p->due_ns = 0;
	start_time = read_start_time(p->pid);
	maps = proc_maps_read(p->pid);
	if (!maps) {
		if (errno == ENOENT || errno == ESRCH)
			p->gone = true;
		return;
	}
	/* The pid now names another process: its maps replace the old ones
	 * (stacks of the old process recorded before are at risk; counted). */
	if (p->start_time && start_time && start_time != p->start_time) {
		proc_maps_free(p->maps);
		p->maps = NULL;
		t->pid_reuses++;
	}
	p->start_time = start_time;
	if (t->hook)
		t->hook(t->hook_ctx, p->pid);
	read_comm(p->pid, p->comm, sizeof(p->comm));
	read_exe(p);
	p->maps = merge_maps(p->maps, maps);
}

void proc_tracker_note(struct proc_tracker *t, int pid, bool reread_soon)
{
	uint64_t now = now_ns();
	struct tracked_proc *p = find(t, pid);

	if (!p) {
		if (t->nr >= t->max_procs) {
			t->dropped++;
			return;
		}
		p = ARRAY_PUSH(t->procs, t->nr);
		if (!p) {
			t->dropped++;
			return;
		}
		p->pid = pid;
		read_proc(t, p, now);
	}
	if (reread_soon && !p->gone) {
		p->rereads = 4;
		p->due_ns = now + 1 * MS;
	}
}

/* After exec, ld.so maps the libraries within a millisecond or so, dlopen
 * may follow: read at +1, +5, +25 and +125 ms, then every
 * REFRESH_PERIOD_NS. Until a read, the process's stacks are walked with
 * frame pointers only; a read whose maps did not change costs a parse. */
static uint64_t next_read_delay(struct tracked_proc *p)
{
	if (!p->rereads)
		return REFRESH_PERIOD_NS;
	p->rereads--;
	return p->rereads == 3 ? 4 * MS : p->rereads == 2 ? 20 * MS :
	       p->rereads == 1 ? 100 * MS : REFRESH_PERIOD_NS;
}

void proc_tracker_refresh(struct proc_tracker *t, bool all)
{
	uint64_t now = now_ns();
	size_t i;

	for (i = 0; i < t->nr; i++) {
		struct tracked_proc *p = &t->procs[i];

		if (p->gone)
			continue;
		if (all || (p->due_ns && p->due_ns <= now)) {
			read_proc(t, p, now);
			p->due_ns = now + next_read_delay(p);
		} else if (!p->due_ns) {
			p->due_ns = now + REFRESH_PERIOD_NS;
		}
	}
}

int proc_tracker_next_due_ms(const struct proc_tracker *t, int max_ms)
{
	uint64_t now = now_ns(), wait = (uint64_t)max_ms * MS;
	size_t i;

	for (i = 0; i < t->nr; i++) {
		const struct tracked_proc *p = &t->procs[i];

		if (p->gone || !p->due_ns)
			continue;
		if (p->due_ns <= now)
			return 0;
		if (p->due_ns - now < wait)
			wait = p->due_ns - now;
	}
	return (int)((wait + MS - 1) / MS);
}

uint64_t proc_tracker_dropped(const struct proc_tracker *t)
{
	return t->dropped;
}

uint64_t proc_tracker_pid_reuses(const struct proc_tracker *t)
{
	return t->pid_reuses;
}

int proc_tracker_move_to(struct proc_tracker *t, struct recording *rec)
{
	size_t i;
	int err;

	for (i = 0; i < t->nr; i++) {
		struct tracked_proc *p = &t->procs[i];

		err = rec_add_process(rec, p->pid, p->comm, p->exe, p->maps);
		p->maps = NULL;
		if (err)
			return err;
	}
	return 0;
}
