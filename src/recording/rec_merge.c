// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Merging finished recordings (rec_merge.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rec_merge.h"
#include "rec_store.h"
#include "symbolize.h"

static int copy_symbol(struct recording *dst, const struct rec_symbol *s)
{
	struct sym_frame *frames = calloc(s->nr_frames ? s->nr_frames : 1, sizeof(*frames));
	struct sym_result res = { .nr = s->nr_frames, .frames = frames };
	__u32 i;
	int err;

	if (!frames)
		return -ENOMEM;
	for (i = 0; i < s->nr_frames; i++) {
		frames[i].name = s->frames[i].name;
		frames[i].file = s->frames[i].file;
		frames[i].module = s->frames[i].module;
		frames[i].line = s->frames[i].line;
		frames[i].offset = s->frames[i].offset;
		frames[i].inlined = s->frames[i].inlined;
	}
	err = rec_add_symbol(dst, s->pid, s->addr, &res);
	free(frames);
	return err;
}

static bool has_process(const struct recording *rec, int pid)
{
	size_t i;

	for (i = 0; i < rec->nr_procs; i++)
		if (rec->procs[i].pid == pid)
			return true;
	return false;
}

static struct proc_maps *copy_maps(const struct proc_maps *src)
{
	struct proc_maps *m;
	size_t i;

	if (!src)
		return NULL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->pid = src->pid;
	m->maps = calloc(src->nr ? src->nr : 1, sizeof(*m->maps));
	for (i = 0; m->maps && i < src->nr; i++, m->nr++) {
		m->maps[i] = src->maps[i];
		m->maps[i].path = strdup(src->maps[i].path ? src->maps[i].path : "");
		if (!m->maps[i].path)
			break;
	}
	if (!m->maps || m->nr < src->nr) {
		proc_maps_free(m);
		return NULL;
	}
	return m;
}

static int merge_processes(struct recording *dst, const struct recording *src)
{
	size_t i;
	int err = 0;

	for (i = 0; i < src->nr_procs && !err; i++) {
		const struct rec_process *p = &src->procs[i];
		struct proc_maps *maps;

		if (has_process(dst, p->pid))
			continue;
		maps = copy_maps(p->maps);
		if (p->maps && !maps)
			return -ENOMEM;
		err = rec_add_process(dst, p->pid, p->comm, p->exe, maps);
	}
	return err;
}

static int merge_entries(struct recording *dst, const struct recording *src)
{
	size_t i;
	int err = 0;

	for (i = 0; i < src->nr_offcpu && !err; i++)
		err = rec_merge_offcpu(dst, &src->offcpu[i].key, &src->offcpu[i].val);
	for (i = 0; i < src->nr_locks && !err; i++)
		err = rec_merge_lock(dst, &src->locks[i].key, &src->locks[i].val);
	for (i = 0; i < src->nr_lock_holders && !err; i++)
		err = rec_merge_lock_holder(dst, &src->lock_holders[i].key,
					    &src->lock_holders[i].val);
	for (i = 0; i < src->nr_stacks && !err; i++)
		err = rec_store_stack(dst, src->stacks[i].id, src->stacks[i].flags,
				      src->stacks[i].nr, src->stacks[i].ips);
	return err;
}

static int merge_meta(struct recording *dst, const struct recording *src)
{
	const char *keys[] = { "command_line", "start_time", "hostname", "attach_mode" };
	unsigned long long dur = 0;
	const char *d;
	char buf[32];
	size_t i;
	int err = 0;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]) && !err; i++)
		if (!rec_get_meta(dst, keys[i]) && rec_get_meta(src, keys[i]))
			err = rec_set_meta(dst, keys[i], rec_get_meta(src, keys[i]));
	d = rec_get_meta(dst, "duration_ns");
	if (d)
		dur = strtoull(d, NULL, 10);
	d = rec_get_meta(src, "duration_ns");
	if (d)
		dur += strtoull(d, NULL, 10);
	snprintf(buf, sizeof(buf), "%llu", dur);
	return err ? err : rec_set_meta(dst, "duration_ns", buf);
}

int rec_merge_into(struct recording *dst, const struct recording *src)
{
	size_t i;
	int err = merge_entries(dst, src);

	if (!err)
		err = merge_processes(dst, src);
	for (i = 0; i < src->nr_symbols && !err; i++)
		err = copy_symbol(dst, &src->symbols[i]);
	/* Names and symbols seen in several windows are copied twice: the
	 * lookups (bsearch after rec_finish) find either, and both are equal. */
	for (i = 0; i < src->nr_lock_names && !err; i++)
		err = rec_add_lock_name(dst, src->lock_names[i].pid, src->lock_names[i].addr,
					src->lock_names[i].name, src->lock_names[i].offset);
	if (!err)
		err = merge_meta(dst, src);
	return err;
}
