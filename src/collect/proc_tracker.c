// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Captures the memory maps of traced processes while they are alive, so
 * their stacks can be symbolized after they exit. A process is read when BPF
 * first sees it block, again shortly after it forks or execs (ld.so maps the
 * libraries after exec), and periodically for dlopen. Mappings that vanish
 * are kept, so stacks recorded before an unmap still resolve.
 *
 * A periodic read whose text is what it was costs one read of
 * /proc/PID/maps and nothing else (on pgbench the recorder used to reopen
 * ~680 mapped files a second), and the period doubles while nothing
 * changes. Files are known by identity across processes (struct file_ids).
 *
 * With proc_tracker_follow_mmaps, the kernel's own record of each code
 * mapping (mmap_events.c) fills in what the reads miss: a program that
 * execs and exits within a few milliseconds is often gone before the
 * recorder reads it on a loaded machine, but its mappings wait in the perf
 * rings. The rings are read before every notification is handled.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mmap_events.h"
#include "proc_pending.h"
#include "proc_tracker.h"
#include "util.h"

#define MS			(1000ull * 1000)
#define REFRESH_PERIOD_NS	(2000ull * 1000 * 1000)
#define REFRESH_PERIOD_MAX_NS	(16000ull * 1000 * 1000)
/* Processes the perf records name before the tracker follows them. */
#define PENDING_MAX		16384

struct tracked_proc {
	int pid;
	bool gone;
	uint64_t start_time;	/* in clock ticks since boot: tells a reused pid */
	char comm[16];
	char *exe;
	uint64_t due_ns;	/* next read, 0 = none planned */
	uint64_t period_ns;	/* periodic reads: doubles while unchanged */
	uint64_t maps_hash;	/* of the maps text last parsed */
	unsigned int rereads;	/* quick re-reads left after a fork or exec */
	int parent;		/* forked from (0: unknown); see inherit() */
	bool inherited;		/* maps are the parent's: it exited first */
	bool read_ok;		/* its maps were read from /proc at least once */
	bool exited;		/* its leader's exit was reported (perf) */
	bool reused;		/* ... and its pid names a new process since */
	bool want_exe;		/* exec'd: the next file mapped is its executable */
	struct proc_maps *maps;
};

struct proc_tracker {
	struct tracked_proc *procs;
	size_t nr;
	size_t max_procs;
	uint64_t dropped;	/* processes not tracked because of max_procs */
	uint64_t pid_reuses;	/* pids that came to name another process */
	struct proc_tracker_stats stats;
	struct file_ids *ids;
	proc_read_hook hook;
	void *hook_ctx;
	uint32_t *index;	/* pid hash: index in procs + 1, 0 = free */
	size_t index_cap;	/* a power of two, at least twice nr */
	struct mmap_events *mmaps;	/* NULL: /proc reads only */
	struct proc_pending *pending;
	uint64_t round;		/* refreshes so far: see proc_pending_expire() */
	uint64_t event_maps;	/* mappings taken from perf records */
};

void proc_tracker_set_hook(struct proc_tracker *t, proc_read_hook hook, void *ctx)
{
	t->hook = hook;
	t->hook_ctx = ctx;
}

struct proc_tracker *proc_tracker_new(size_t max_procs)
{
	struct proc_tracker *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->max_procs = max_procs;
	t->ids = file_ids_new();
	if (!t->ids) {
		free(t);
		return NULL;
	}
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
	file_ids_free(t->ids);
	mmap_events_free(t->mmaps);
	proc_pending_free(t->pending);
	free(t->index);
	free(t->procs);
	free(t);
}

static size_t pid_slot(int pid, size_t cap)
{
	return ((uint32_t)pid * 0x9e3779b1u) & (cap - 1);
}

/* Every perf record looks its pid up: a hash, not a walk of 4096. */
static struct tracked_proc *find(struct proc_tracker *t, int pid)
{
	size_t h;

	if (!t->index_cap)
		return NULL;
	for (h = pid_slot(pid, t->index_cap); t->index[h]; h = (h + 1) & (t->index_cap - 1))
		if (t->procs[t->index[h] - 1].pid == pid)
			return &t->procs[t->index[h] - 1];
	return NULL;
}

/* Room in the index for one more process. */
static int index_reserve(struct proc_tracker *t)
{
	size_t cap = t->index_cap ? t->index_cap * 2 : 256, i, h;
	uint32_t *index;

	if ((t->nr + 1) * 2 <= t->index_cap)
		return 0;
	index = calloc(cap, sizeof(*index));
	if (!index)
		return -ENOMEM;
	for (i = 0; i < t->nr; i++) {
		for (h = pid_slot(t->procs[i].pid, cap); index[h]; h = (h + 1) & (cap - 1))
			;
		index[h] = (uint32_t)i + 1;
	}
	free(t->index);
	t->index = index;
	t->index_cap = cap;
	return 0;
}

static void index_add(struct proc_tracker *t, size_t i)
{
	size_t h;

	for (h = pid_slot(t->procs[i].pid, t->index_cap); t->index[h];
	     h = (h + 1) & (t->index_cap - 1))
		;
	t->index[h] = (uint32_t)i + 1;
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

/* A child that exited before its first read: it ran its parent's image
 * (an exec would have sent a notification, see proc_tracker_exec), so the
 * parent's maps symbolize its stacks, with what perf says it mapped itself
 * on top. */
static void inherit(struct proc_tracker *t, struct tracked_proc *p)
{
	struct tracked_proc *parent = p->parent ? find(t, p->parent) : NULL;
	struct proc_maps *copy;
	size_t i;

	if (p->read_ok || p->inherited || !parent || !parent->maps)
		return;
	copy = calloc(1, sizeof(*copy));
	if (!copy)
		return;
	copy->maps = calloc(parent->maps->nr ? parent->maps->nr : 1, sizeof(*copy->maps));
	if (!copy->maps) {
		free(copy);
		return;
	}
	copy->pid = p->pid;
	for (i = 0; i < parent->maps->nr; i++) {
		copy->maps[i] = parent->maps->maps[i];
		copy->maps[i].path = strdup(parent->maps->maps[i].path);
		if (!copy->maps[i].path)
			break;
		copy->nr++;
	}
	for (i = 0; p->maps && i < p->maps->nr; i++)
		proc_maps_insert(copy, &p->maps->maps[i]);
	proc_maps_free(p->maps);
	p->maps = copy;
	p->inherited = true;
	if (!p->comm[0])	/* perf may have reported its own */
		memcpy(p->comm, parent->comm, sizeof(p->comm));
	if (parent->exe && !p->exe)
		p->exe = strdup(parent->exe);
	t->stats.inherited++;
}

/* It exec'd: its parent's image, if it was named with it, is not its own. */
static void forget_parent(struct proc_tracker *t, struct tracked_proc *p)
{
	if (p->inherited) {
		proc_maps_free(p->maps);
		p->maps = NULL;
		p->inherited = false;
		t->stats.inherited--;
	}
	p->parent = 0;
}

static void read_proc(struct proc_tracker *t, struct tracked_proc *p)
{
	uint64_t start_time, hash, t0 = now_ns();
	struct proc_maps *maps;
	size_t len;
	char *text;

	p->due_ns = 0;
	text = proc_maps_text(p->pid, &len);
	if (!text) {
		if (errno == ENOENT || errno == ESRCH) {
			p->gone = true;
			inherit(t, p);
		}
		goto out;
	}
	t->stats.reads++;
	t->stats.bytes += len;

	hash = hash_bytes(text, len) ^ len;
	if (p->maps && !p->inherited && hash == p->maps_hash) {
		t->stats.unchanged++;
		free(text);
		goto out;
	}
	start_time = read_start_time(p->pid);
	maps = proc_maps_parse(p->pid, text, t->ids);
	free(text);
	if (!maps) {
		if (errno == ESRCH) {
			p->gone = true;
			inherit(t, p);
		}
		goto out;
	}
	p->maps_hash = hash;
	p->period_ns = 0;
	p->read_ok = true;
	/* The pid now names another process (or the child's inherited maps
	 * give way to its own): its maps replace the old ones (stacks of the
	 * old process recorded before are at risk; counted). */
	if (p->inherited || (p->start_time && start_time && start_time != p->start_time)) {
		proc_maps_free(p->maps);
		p->maps = NULL;
		if (!p->inherited)
			t->pid_reuses++;
		p->inherited = false;
	}
	p->start_time = start_time;
	if (t->hook)
		t->hook(t->hook_ctx, maps);
	read_comm(p->pid, p->comm, sizeof(p->comm));
	read_exe(p);
	p->maps = merge_maps(p->maps, maps);
out:
	t->stats.read_ns += now_ns() - t0;
}

static struct tracked_proc *track(struct proc_tracker *t, int pid, int parent)
{
	struct tracked_proc *p;

	if (t->nr >= t->max_procs || index_reserve(t)) {
		t->dropped++;
		return NULL;
	}
	p = ARRAY_PUSH(t->procs, t->nr);
	if (!p) {
		t->dropped++;
		return NULL;
	}
	p->pid = pid;
	p->parent = parent;
	index_add(t, t->nr - 1);
	return p;
}

/* A mapping perf reported: its file known by identity like a read's. */
static void add_event_map(struct proc_tracker *t, struct tracked_proc *p, struct proc_map *m)
{
	proc_map_identify(p->pid, m, t->ids);
	if (!p->maps) {
		p->maps = calloc(1, sizeof(*p->maps));
		if (!p->maps)
			return;
		p->maps->pid = p->pid;
	}
	if (proc_maps_insert(p->maps, m))
		return;
	t->event_maps++;
	if (p->want_exe && m->path[0] == '/') {
		free(p->exe);
		p->exe = strdup(m->path);
		p->want_exe = false;
	}
}

static void event_exited(struct proc_tracker *t, struct tracked_proc *p)
{
	p->exited = true;
	if (!p->gone) {
		p->gone = true;
		inherit(t, p);
	}
}

static void on_mmap_event(void *ctx, const struct mmap_event *ev)
{
	struct proc_tracker *t = ctx;
	struct tracked_proc *p = find(t, ev->pid);
	struct proc_map m;

	/* A fork after the exit: the pid names a new process, whose records
	 * are not p's (the /proc path tells by start time, see read_proc). */
	if (p && p->exited && ev->type == MMAP_EVENT_FORK)
		p->reused = true;
	if (!p || p->reused) {
		proc_pending_add(t->pending, ev, t->round);
		return;
	}
	switch (ev->type) {
	case MMAP_EVENT_MAP:
		m = ev->map;
		add_event_map(t, p, &m);
		break;
	case MMAP_EVENT_EXEC:
		/* An exit before the exec: a thread other than the leader
		 * exec'd, and the process lives on. */
		p->exited = p->gone = false;
		forget_parent(t, p);
		p->want_exe = true;
		memcpy(p->comm, ev->comm, sizeof(p->comm));
		break;
	case MMAP_EVENT_COMM:
		memcpy(p->comm, ev->comm, sizeof(p->comm));
		break;
	case MMAP_EVENT_FORK:
		if (!p->parent && !p->read_ok)
			p->parent = ev->parent;
		break;
	case MMAP_EVENT_EXIT:
		event_exited(t, p);
		break;
	}
}

/* Reads what the kernel reported since the last call, before anything
 * else the tracker does: the mappings of a process come before its
 * notifications are handled, or wait in t->pending. */
static void sync_mmaps(struct proc_tracker *t)
{
	if (t->mmaps)
		mmap_events_read(t->mmaps, on_mmap_event, t);
}

/* What perf reported of p before the tracker followed it. */
static void claim_pending(struct proc_tracker *t, struct tracked_proc *p)
{
	struct pending_proc *pp = t->pending ? proc_pending_take(t->pending, p->pid) : NULL;
	size_t i;

	if (!pp)
		return;
	if (pp->execd)
		p->parent = 0;
	else if (!p->parent)
		p->parent = pp->parent;
	memcpy(p->comm, pp->comm, sizeof(p->comm));
	p->exe = pp->exe;
	pp->exe = NULL;
	p->want_exe = pp->execd && !p->exe;
	if (pp->maps) {
		for (i = 0; i < pp->maps->nr; i++)
			proc_map_identify(p->pid, &pp->maps->maps[i], t->ids);
		t->event_maps += pp->maps->nr;
		p->maps = pp->maps;
		pp->maps = NULL;
	}
	if (pp->exited)
		event_exited(t, p);
	pending_proc_free(pp);
}

int proc_tracker_follow_mmaps(struct proc_tracker *t)
{
	int err;

	t->pending = proc_pending_new(PENDING_MAX);
	if (!t->pending)
		return -ENOMEM;
	err = mmap_events_open(&t->mmaps);
	if (err) {
		proc_pending_free(t->pending);
		t->pending = NULL;
		if (util_verbose)
			info_msg("no perf mmap records (%s: perf_event_paranoid or CAP_PERFMON?): "
				 "processes are named from /proc reads only", strerror(-err));
		return err;
	}
	return 0;
}

void proc_tracker_note(struct proc_tracker *t, int pid, bool reread_soon)
{
	proc_tracker_note_fork(t, pid, 0, reread_soon);
}

void proc_tracker_note_fork(struct proc_tracker *t, int pid, int parent, bool reread_soon)
{
	uint64_t now = now_ns();
	struct tracked_proc *p;

	sync_mmaps(t);
	p = find(t, pid);
	if (!p) {
		p = track(t, pid, parent);
		if (!p)
			return;
		claim_pending(t, p);
		if (!p->gone)
			read_proc(t, p);
	}
	if (reread_soon && !p->gone) {
		p->rereads = 4;
		p->due_ns = now + 1 * MS;
	}
}

void proc_tracker_exec(struct proc_tracker *t, int pid)
{
	struct tracked_proc *p;

	sync_mmaps(t);
	p = find(t, pid);
	if (p) {
		forget_parent(t, p);
		/* Now, not in 1 ms: a short-lived program may be gone by then,
		 * and its own image is already mapped (ld.so's libraries
		 * follow, caught by the re-reads). */
		if (!p->gone)
			read_proc(t, p);
	}
	proc_tracker_note(t, pid, true);
}

void proc_tracker_unmapped(struct proc_tracker *t, int pid)
{
	struct tracked_proc *p;

	sync_mmaps(t);
	p = find(t, pid);
	if (!p) {
		proc_tracker_note(t, pid, false);
		return;
	}
	t->stats.unmapped_reads++;
	if (!p->gone)
		read_proc(t, p);
}

void proc_tracker_read_now(struct proc_tracker *t, int pid)
{
	struct tracked_proc *p;

	sync_mmaps(t);
	p = find(t, pid);
	if (p && !p->gone)
		read_proc(t, p);
}

size_t proc_tracker_note_running(struct proc_tracker *t, uint64_t budget_ns)
{
	uint64_t deadline = now_ns() + budget_ns;
	char path[64], exe[16];
	struct dirent *de;
	DIR *dir = opendir("/proc");
	size_t noted = 0;
	int pid;

	if (!dir)
		return 0;
	while (now_ns() < deadline && (de = readdir(dir))) {
		pid = atoi(de->d_name);
		if (pid <= 0 || pid == getpid())
			continue;
		/* Kernel threads have no executable and no user stacks. */
		snprintf(path, sizeof(path), "/proc/%d/exe", pid);
		if (readlink(path, exe, sizeof(exe)) <= 0)
			continue;
		proc_tracker_note(t, pid, false);
		noted++;
	}
	closedir(dir);
	return noted;
}

/* After exec, ld.so maps the libraries within a millisecond or so, dlopen
 * may follow: read at +1, +5, +25 and +125 ms, then every
 * REFRESH_PERIOD_NS, doubling up to REFRESH_PERIOD_MAX_NS while the maps
 * stay the same. Until a read, the process's stacks are walked with frame
 * pointers only; a read whose maps did not change costs one read(2). */
static uint64_t next_read_delay(struct tracked_proc *p)
{
	if (!p->rereads) {
		p->period_ns = !p->period_ns ? REFRESH_PERIOD_NS :
			       p->period_ns >= REFRESH_PERIOD_MAX_NS / 2 ? REFRESH_PERIOD_MAX_NS :
			       p->period_ns * 2;
		return p->period_ns;
	}
	p->rereads--;
	return p->rereads == 3 ? 4 * MS : p->rereads == 2 ? 20 * MS :
	       p->rereads == 1 ? 100 * MS : REFRESH_PERIOD_NS;
}

void proc_tracker_refresh(struct proc_tracker *t, bool all)
{
	uint64_t now = now_ns();
	size_t i;

	sync_mmaps(t);
	/* Notifications were read since the last refresh: a process that
	 * exited before it and was not asked for will not be. */
	t->round++;
	if (t->pending)
		proc_pending_expire(t->pending, t->round - 1);

	for (i = 0; i < t->nr; i++) {
		struct tracked_proc *p = &t->procs[i];

		if (p->gone)
			continue;
		if (all || (p->due_ns && p->due_ns <= now)) {
			read_proc(t, p);
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

void proc_tracker_get_stats(const struct proc_tracker *t, struct proc_tracker_stats *out)
{
	struct file_ids_stats ids;

	*out = t->stats;
	file_ids_get_stats(t->ids, &ids);
	out->file_lookups = ids.lookups;
	out->files_read = ids.files_read;
}

const struct proc_maps *proc_tracker_peek(struct proc_tracker *t, int pid, const char **comm,
				       const char **exe)
{
	struct tracked_proc *p = find(t, pid);

	if (!p)
		return NULL;
	*comm = p->comm;
	*exe = p->exe;
	return p->maps;
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

/* Processes never read from /proc, named from perf's records alone. */
static uint64_t named_from_events(const struct proc_tracker *t)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < t->nr; i++) {
		const struct tracked_proc *p = &t->procs[i];

		n += !p->read_ok && !p->inherited && p->maps && p->maps->nr;
	}
	return n;
}

static void report_mmaps(const struct proc_tracker *t, struct recording *rec)
{
	struct mmap_events_stats ev;

	mmap_events_get_stats(t->mmaps, &ev);
	rec_add_counter(rec, "mmap_events", ev.maps);
	rec_add_counter(rec, "mmap_events_lost", ev.lost);
	rec_add_counter(rec, "mmap_events_with_build_id", ev.build_ids);
	rec_add_counter(rec, "mmap_events_used", t->event_maps);
	rec_add_counter(rec, "mmap_events_pending_dropped", proc_pending_dropped(t->pending));
	rec_add_counter(rec, "processes_named_from_mmap_events", named_from_events(t));
}

void proc_tracker_report(const struct proc_tracker *t, struct recording *rec)
{
	struct proc_tracker_stats st;

	proc_tracker_get_stats(t, &st);
	rec_add_counter(rec, "processes_not_tracked", t->dropped);
	rec_add_counter(rec, "pids_reused", t->pid_reuses);
	rec_add_counter(rec, "maps_reads", st.reads);
	rec_add_counter(rec, "maps_reads_unchanged", st.unchanged);
	rec_add_counter(rec, "maps_bytes_read", st.bytes);
	rec_add_counter(rec, "maps_read_us", st.read_ns / 1000);
	rec_add_counter(rec, "processes_named_from_parent", st.inherited);
	rec_add_counter(rec, "maps_reads_for_unmapped_code", st.unmapped_reads);
	rec_add_counter(rec, "object_lookups", st.file_lookups);
	rec_add_counter(rec, "objects_read", st.files_read);
	if (t->mmaps)
		report_mmaps(t, rec);
}
