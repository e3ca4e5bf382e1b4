// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * What the kernel reported of processes the tracker does not follow yet.
 * The perf rings and the BPF notifications are read one after the other,
 * so the mappings of a program that lived 2 ms are often read before the
 * notification that makes the tracker follow it: they wait here, by pid,
 * until it does (proc_pending_take), or until the process has exited and a
 * round of notifications has passed without anyone asking for it.
 */
#include <stdlib.h>
#include <string.h>

#include "proc_pending.h"

#define PENDING_BUCKETS	4096

struct proc_pending {
	struct pending_proc *buckets[PENDING_BUCKETS];
	size_t nr, max, exited;
	uint64_t dropped;
};

struct proc_pending *proc_pending_new(size_t max)
{
	struct proc_pending *pp = calloc(1, sizeof(*pp));

	if (pp)
		pp->max = max;
	return pp;
}

void pending_proc_free(struct pending_proc *p)
{
	if (!p)
		return;
	proc_maps_free(p->maps);
	free(p->exe);
	free(p);
}

void proc_pending_free(struct proc_pending *pp)
{
	struct pending_proc *p, *next;
	size_t i;

	if (!pp)
		return;
	for (i = 0; i < PENDING_BUCKETS; i++) {
		for (p = pp->buckets[i]; p; p = next) {
			next = p->next;
			pending_proc_free(p);
		}
	}
	free(pp);
}

static struct pending_proc **slot(struct proc_pending *pp, int pid)
{
	struct pending_proc **p = &pp->buckets[(unsigned int)pid % PENDING_BUCKETS];

	while (*p && (*p)->pid != pid)
		p = &(*p)->next;
	return p;
}

static struct pending_proc *get(struct proc_pending *pp, int pid)
{
	struct pending_proc **s = slot(pp, pid);

	if (*s)
		return *s;
	if (pp->nr >= pp->max || !(*s = calloc(1, sizeof(**s)))) {
		pp->dropped++;
		return NULL;
	}
	(*s)->pid = pid;
	pp->nr++;
	return *s;
}

/* The process's image is replaced (exec), or the pid names a new process
 * (fork): what was kept of the old one is no use. */
static void reset(struct proc_pending *pp, struct pending_proc *p)
{
	proc_maps_free(p->maps);
	p->maps = NULL;
	free(p->exe);
	p->exe = NULL;
	if (p->exited)
		pp->exited--;
	p->exited = false;
}

static void add_map(struct pending_proc *p, const struct proc_map *map)
{
	if (!p->maps) {
		p->maps = calloc(1, sizeof(*p->maps));
		if (!p->maps)
			return;
		p->maps->pid = p->pid;
	}
	if (proc_maps_insert(p->maps, map))
		return;
	if (p->execd && !p->exe && map->path[0] == '/')
		p->exe = strdup(map->path);
}

void proc_pending_add(struct proc_pending *pp, const struct mmap_event *ev, uint64_t round)
{
	struct pending_proc *p;

	/* An exit of a process never seen before says nothing worth keeping. */
	if (ev->type == MMAP_EVENT_EXIT && !*slot(pp, ev->pid))
		return;
	p = get(pp, ev->pid);
	if (!p)
		return;
	switch (ev->type) {
	case MMAP_EVENT_MAP:
		add_map(p, &ev->map);
		break;
	case MMAP_EVENT_EXEC:
		/* After an exit (a thread that was not the leader exec'd, and
		 * the leader's exit came first) the process lives on. */
		reset(pp, p);
		p->execd = true;
		p->parent = 0;
		memcpy(p->comm, ev->comm, sizeof(p->comm));
		break;
	case MMAP_EVENT_COMM:
		memcpy(p->comm, ev->comm, sizeof(p->comm));
		break;
	case MMAP_EVENT_FORK:
		reset(pp, p);
		p->execd = false;
		p->parent = ev->parent;
		p->comm[0] = '\0';
		break;
	case MMAP_EVENT_EXIT:
		if (!p->exited)
			pp->exited++;
		p->exited = true;
		p->exit_round = round;
		break;
	}
}

struct pending_proc *proc_pending_take(struct proc_pending *pp, int pid)
{
	struct pending_proc **s = slot(pp, pid), *p = *s;

	if (!p)
		return NULL;
	*s = p->next;
	p->next = NULL;
	pp->nr--;
	if (p->exited)
		pp->exited--;
	return p;
}

void proc_pending_expire(struct proc_pending *pp, uint64_t round)
{
	struct pending_proc **s, *p;
	size_t i;

	for (i = 0; i < PENDING_BUCKETS && pp->exited; i++) {
		for (s = &pp->buckets[i]; (p = *s);) {
			if (!p->exited || p->exit_round >= round) {
				s = &p->next;
				continue;
			}
			*s = p->next;
			pp->nr--;
			pp->exited--;
			pending_proc_free(p);
		}
	}
}

uint64_t proc_pending_dropped(const struct proc_pending *pp)
{
	return pp->dropped;
}
