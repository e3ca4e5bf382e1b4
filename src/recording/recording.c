// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The recording in memory: building it, finding things in it, freeing it.
 * The file format lives in recording_io.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rec_store.h"
#include "recording.h"
#include "util.h"

struct recording *rec_new(void)
{
	return calloc(1, sizeof(struct recording));
}

static void frames_free(struct rec_frame *frames, __u32 nr)
{
	__u32 i;

	for (i = 0; i < nr; i++) {
		free(frames[i].name);
		free(frames[i].file);
		free(frames[i].module);
	}
	free(frames);
}

void rec_free(struct recording *rec)
{
	size_t i;

	if (!rec)
		return;
	for (i = 0; i < rec->nr_meta; i++) {
		free(rec->meta[i].key);
		free(rec->meta[i].value);
	}
	for (i = 0; i < rec->nr_stacks; i++)
		free(rec->stacks[i].ips);
	for (i = 0; i < rec->nr_procs; i++) {
		free(rec->procs[i].exe);
		proc_maps_free(rec->procs[i].maps);
	}
	for (i = 0; i < rec->nr_symbols; i++)
		frames_free(rec->symbols[i].frames, rec->symbols[i].nr_frames);
	for (i = 0; i < rec->nr_counters; i++)
		free(rec->counters[i].name);
	for (i = 0; i < rec->nr_lock_names; i++)
		free(rec->lock_names[i].name);
	free(rec->events);
	free(rec->locks);
	free(rec->lock_holders);
	free(rec->lock_names);
	free(rec->wakers);
	free(rec->meta);
	free(rec->stacks);
	free(rec->offcpu);
	free(rec->procs);
	free(rec->symbols);
	free(rec->counters);
	rec_store_free(rec->store);
	free(rec);
}

int rec_set_meta(struct recording *rec, const char *key, const char *value)
{
	struct rec_meta *m;
	size_t i;

	for (i = 0; i < rec->nr_meta; i++) {
		if (!strcmp(rec->meta[i].key, key)) {
			char *v = strdup(value);

			if (!v)
				return -ENOMEM;
			free(rec->meta[i].value);
			rec->meta[i].value = v;
			return 0;
		}
	}
	m = ARRAY_PUSH(rec->meta, rec->nr_meta);
	if (!m)
		return -ENOMEM;
	m->key = strdup(key);
	m->value = strdup(value);
	if (!m->key || !m->value)
		return -ENOMEM;
	return 0;
}

const char *rec_get_meta(const struct recording *rec, const char *key)
{
	size_t i;

	for (i = 0; i < rec->nr_meta; i++)
		if (!strcmp(rec->meta[i].key, key))
			return rec->meta[i].value;
	return NULL;
}

int rec_add_stack(struct recording *rec, __u64 id, __u32 flags, __u32 nr, const __u64 *ips)
{
	struct rec_stack *st;

	if (nr > MAX_STACK_DEPTH)
		return -EINVAL;
	st = ARRAY_PUSH(rec->stacks, rec->nr_stacks);
	if (!st)
		return -ENOMEM;
	st->id = id;
	st->flags = flags;
	st->nr = nr;
	st->ips = malloc(sizeof(__u64) * (nr ? nr : 1));
	if (!st->ips)
		return -ENOMEM;
	memcpy(st->ips, ips, sizeof(__u64) * nr);
	return 0;
}

int rec_add_offcpu(struct recording *rec, const struct offcpu_key *key,
		   const struct offcpu_val *val)
{
	struct rec_offcpu *o = ARRAY_PUSH(rec->offcpu, rec->nr_offcpu);

	if (!o)
		return -ENOMEM;
	o->key = *key;
	o->key.comm[TASK_COMM_LEN - 1] = '\0';
	o->val = *val;
	return 0;
}

int rec_add_process(struct recording *rec, int pid, const char *comm, const char *exe,
		    struct proc_maps *maps)
{
	struct rec_process *p = ARRAY_PUSH(rec->procs, rec->nr_procs);

	if (!p) {
		proc_maps_free(maps);
		return -ENOMEM;
	}
	p->pid = pid;
	snprintf(p->comm, sizeof(p->comm), "%s", comm ? comm : "");
	p->exe = exe ? strdup(exe) : NULL;
	p->maps = maps;
	return 0;
}

int rec_add_counter(struct recording *rec, const char *name, __u64 value)
{
	struct rec_counter *c = ARRAY_PUSH(rec->counters, rec->nr_counters);

	if (!c)
		return -ENOMEM;
	c->name = strdup(name);
	c->value = value;
	return c->name ? 0 : -ENOMEM;
}

__u64 rec_get_counter(const struct recording *rec, const char *name)
{
	size_t i;

	for (i = 0; i < rec->nr_counters; i++)
		if (!strcmp(rec->counters[i].name, name))
			return rec->counters[i].value;
	return 0;
}

int rec_add_lock(struct recording *rec, const struct lock_key *key, const struct lock_val *val)
{
	struct rec_lock *l = ARRAY_PUSH(rec->locks, rec->nr_locks);

	if (!l)
		return -ENOMEM;
	l->key = *key;
	l->val = *val;
	return 0;
}

int rec_add_lock_holder(struct recording *rec, const struct lock_holder_key *key,
			const struct lock_holder_val *val)
{
	struct rec_lock_holder *h = ARRAY_PUSH(rec->lock_holders, rec->nr_lock_holders);

	if (!h)
		return -ENOMEM;
	h->key = *key;
	h->val = *val;
	return 0;
}

int rec_add_waker(struct recording *rec, const struct offcpu_waker_key *key,
		  const struct offcpu_waker_val *val)
{
	struct rec_waker *w = ARRAY_PUSH(rec->wakers, rec->nr_wakers);

	if (!w)
		return -ENOMEM;
	w->key = *key;
	w->key.comm[TASK_COMM_LEN - 1] = '\0';
	w->key.waker_comm[TASK_COMM_LEN - 1] = '\0';
	w->val = *val;
	return 0;
}

int rec_add_lock_name(struct recording *rec, __u32 pid, __u64 addr, const char *name,
		      __u64 offset)
{
	struct rec_lock_name *n = ARRAY_PUSH(rec->lock_names, rec->nr_lock_names);

	if (!n)
		return -ENOMEM;
	n->pid = pid;
	n->addr = addr;
	n->offset = offset;
	n->name = strdup(name);
	return n->name ? 0 : -ENOMEM;
}

/* Events come by the million: grow by doubling, not one at a time. */
int rec_add_event(struct recording *rec, const struct offcpu_event *ev)
{
	struct offcpu_event *grown;
	size_t cap;

	if (rec->nr_events == rec->cap_events) {
		cap = rec->cap_events ? rec->cap_events * 2 : 4096;
		grown = realloc(rec->events, cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		rec->events = grown;
		rec->cap_events = cap;
	}
	rec->events[rec->nr_events] = *ev;
	rec->events[rec->nr_events].comm[TASK_COMM_LEN - 1] = '\0';
	rec->nr_events++;
	return 0;
}

static char *strdup_or_null(const char *s, bool *oom)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*oom = true;
	return d;
}

int rec_add_symbol(struct recording *rec, __u32 pid, __u64 addr, const struct sym_result *res)
{
	struct rec_symbol *sym = ARRAY_PUSH(rec->symbols, rec->nr_symbols);
	bool oom = false;
	size_t i;

	if (!sym)
		return -ENOMEM;
	sym->pid = pid;
	sym->addr = addr;
	sym->nr_frames = 0;
	sym->frames = calloc(res->nr ? res->nr : 1, sizeof(*sym->frames));
	if (!sym->frames)
		return -ENOMEM;
	for (i = 0; i < res->nr; i++) {
		const struct sym_frame *f = &res->frames[i];
		struct rec_frame *rf = &sym->frames[i];

		rf->name = strdup_or_null(f->name, &oom);
		rf->file = strdup_or_null(f->file, &oom);
		rf->module = strdup_or_null(f->module, &oom);
		rf->line = f->line;
		rf->offset = f->offset;
		rf->inlined = f->inlined;
		sym->nr_frames++;
	}
	return oom ? -ENOMEM : 0;
}

static int cmp_stack(const void *a, const void *b)
{
	const struct rec_stack *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static int cmp_proc(const void *a, const void *b)
{
	const struct rec_process *x = a, *y = b;

	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

static int cmp_symbol(const void *a, const void *b)
{
	const struct rec_symbol *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int cmp_lock_name(const void *a, const void *b)
{
	const struct rec_lock_name *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

const struct rec_lock_name *rec_find_lock_name(const struct recording *rec, __u32 pid,
					       __u64 addr)
{
	struct rec_lock_name key = { .pid = pid, .addr = addr };

	if (!rec->nr_lock_names)
		return NULL;
	return bsearch(&key, rec->lock_names, rec->nr_lock_names, sizeof(key), cmp_lock_name);
}

void rec_finish(struct recording *rec)
{
	if (rec->nr_lock_names)
		qsort(rec->lock_names, rec->nr_lock_names, sizeof(*rec->lock_names),
		      cmp_lock_name);
	if (rec->nr_stacks)
		qsort(rec->stacks, rec->nr_stacks, sizeof(*rec->stacks), cmp_stack);
	if (rec->nr_procs)
		qsort(rec->procs, rec->nr_procs, sizeof(*rec->procs), cmp_proc);
	if (rec->nr_symbols)
		qsort(rec->symbols, rec->nr_symbols, sizeof(*rec->symbols), cmp_symbol);
}

const struct rec_stack *rec_find_stack(const struct recording *rec, __u64 id)
{
	struct rec_stack key = { .id = id };

	if (!id || !rec->nr_stacks)
		return NULL;
	return bsearch(&key, rec->stacks, rec->nr_stacks, sizeof(key), cmp_stack);
}

const struct rec_process *rec_find_process(const struct recording *rec, int pid)
{
	struct rec_process key = { .pid = pid };

	if (!rec->nr_procs)
		return NULL;
	return bsearch(&key, rec->procs, rec->nr_procs, sizeof(key), cmp_proc);
}

const struct rec_symbol *rec_find_symbol(const struct recording *rec, __u32 pid, __u64 addr)
{
	struct rec_symbol key = { .pid = pid, .addr = addr };

	if (!rec->nr_symbols)
		return NULL;
	return bsearch(&key, rec->symbols, rec->nr_symbols, sizeof(key), cmp_symbol);
}
