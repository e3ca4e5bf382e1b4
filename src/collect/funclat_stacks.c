// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "funclat_stacks.h"
#include "symbolize.h"
#include "util.h"

#define MAX_PROCS 4096

struct proc_entry {
	int tgid;
	struct proc_maps *maps;
};

struct funclat_stacks {
	struct proc_entry *procs;
	size_t nr_procs;
	struct symbolizer *sym;
};

/* One (process, stack) and its calls above the antimode. */
struct slow_entry {
	__u32 tgid;
	__u64 stack_id;
	__u64 count;
	__u64 total_ns;
};

struct slow_collect {
	__u32 target;
	double above_ns;
	struct slow_entry *entries;
	size_t nr;
	int err;
};

struct funclat_stacks *funclat_stacks_new(void)
{
	struct symbolizer_opts so = { .demangle = true, .inlines = true };
	struct funclat_stacks *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->sym = symbolizer_new(&so);
	if (!s->sym) {
		free(s);
		return NULL;
	}
	return s;
}

void funclat_stacks_free(struct funclat_stacks *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->nr_procs; i++)
		proc_maps_free(s->procs[i].maps);
	free(s->procs);
	symbolizer_free(s->sym);
	free(s);
}

static struct proc_entry *find_proc(struct funclat_stacks *s, int tgid)
{
	size_t i;

	for (i = 0; i < s->nr_procs; i++)
		if (s->procs[i].tgid == tgid)
			return &s->procs[i];
	return NULL;
}

void funclat_stacks_note_process(struct funclat_stacks *s, int tgid)
{
	struct proc_entry *p = find_proc(s, tgid);
	struct proc_maps *maps = proc_maps_read(tgid);

	if (!maps || !maps->nr) {
		proc_maps_free(maps);
		return;		/* gone: keep what was captured */
	}
	if (!p) {
		if (s->nr_procs >= MAX_PROCS || !(p = ARRAY_PUSH(s->procs, s->nr_procs))) {
			proc_maps_free(maps);
			return;
		}
		p->tgid = tgid;
	}
	proc_maps_free(p->maps);
	p->maps = maps;
}

/* A bucket's calls are slow when most of its span lies above the antimode. */
static bool bucket_slow(unsigned int b, double above_ns)
{
	double lo = (double)hist_bucket_lower(b), hi;

	if (above_ns <= 0 || b == HIST_OVERFLOW)
		return true;	/* beyond the range: slow by any measure */
	hi = (double)hist_bucket_upper(b);
	return (lo + hi) / 2 >= above_ns;
}

static int collect_slow(void *ctx, const struct funclat_stack_key *key,
			const struct funclat_stack_val *val)
{
	struct slow_collect *sc = ctx;
	struct slow_entry *e;

	if (key->target != sc->target || !bucket_slow(key->bucket, sc->above_ns))
		return 0;
	e = ARRAY_PUSH(sc->entries, sc->nr);
	if (!e)
		return -ENOMEM;
	e->tgid = key->tgid;
	e->stack_id = key->user_stack_id;
	e->count = val->count;
	e->total_ns = val->total_ns;
	return 0;
}

static int cmp_by_stack(const void *a, const void *b)
{
	const struct slow_entry *x = a, *y = b;

	if (x->tgid != y->tgid)
		return x->tgid < y->tgid ? -1 : 1;
	if (x->stack_id != y->stack_id)
		return x->stack_id < y->stack_id ? -1 : 1;
	return 0;
}

static int cmp_by_time(const void *a, const void *b)
{
	const struct slow_entry *x = a, *y = b;

	if (x->total_ns != y->total_ns)
		return x->total_ns > y->total_ns ? -1 : 1;
	return 0;
}

/* Buckets of one stack into one entry per (process, stack). */
static size_t merge_entries(struct slow_entry *e, size_t nr)
{
	size_t i, out = 0;

	if (!nr)
		return 0;
	qsort(e, nr, sizeof(*e), cmp_by_stack);
	for (i = 1; i < nr; i++) {
		if (!cmp_by_stack(&e[out], &e[i])) {
			e[out].count += e[i].count;
			e[out].total_ns += e[i].total_ns;
		} else {
			e[++out] = e[i];
		}
	}
	return out + 1;
}

static int push_frame(struct funclat_slow_stack *ss, const char *name)
{
	char **p = realloc(ss->frames, (ss->nr_frames + 1) * sizeof(*p));

	if (!p)
		return -ENOMEM;
	ss->frames = p;
	p[ss->nr_frames] = strdup(name);
	if (!p[ss->nr_frames])
		return -ENOMEM;
	ss->nr_frames++;
	return 0;
}

/* Every frame but a syscall's first is a return address: looked up one
 * byte back, inside the call instruction. */
static int symbolize_frames(struct funclat_stacks *s, const struct proc_maps *maps,
			    const struct stack_trace *st, bool first_exact,
			    struct funclat_slow_stack *ss)
{
	char buf[512];
	struct sym_result res;
	size_t i, j;
	int err = 0;

	for (i = 0; i < st->nr && !err; i++) {
		__u64 addr = st->ips[i] - (i == 0 && first_exact ? 0 : 1);

		if (maps && !sym_user(s->sym, maps, addr, &res) && res.nr) {
			for (j = 0; j < res.nr && !err; j++)
				err = push_frame(ss, sym_frame_label(&res.frames[j], buf, sizeof(buf)));
			continue;
		}
		snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)st->ips[i]);
		err = push_frame(ss, buf);
	}
	return err;
}

static int describe_stack(struct funclat_stacks *s, struct funclat_collector *c,
			  const struct slow_entry *e, const char *func, bool is_syscall,
			  struct funclat_slow_stack *ss)
{
	struct proc_entry *p = find_proc(s, e->tgid);
	struct stack_trace st;
	int err;

	ss->pid = e->tgid;
	ss->count = e->count;
	ss->total_ns = e->total_ns;
	/* The probed function itself: a uprobe's stack starts at its caller. */
	err = push_frame(ss, func);
	if (err)
		return err;
	if (!e->stack_id || funclat_read_stack(c, e->stack_id, &st))
		return push_frame(ss, "[no stack]");
	if (!p)
		funclat_stacks_note_process(s, e->tgid);
	p = find_proc(s, e->tgid);
	return symbolize_frames(s, p ? p->maps : NULL, &st, is_syscall, ss);
}

int funclat_stacks_slow(struct funclat_stacks *s, struct funclat_collector *c, __u32 target,
			const char *func, bool is_syscall, double above_ns,
			struct funclat_slow_stack **out, size_t *nr_out)
{
	struct slow_collect sc = { .target = target, .above_ns = above_ns };
	size_t nr, i;
	int err;

	err = funclat_for_each_stack(c, collect_slow, &sc);
	if (err)
		goto cleanup;
	nr = merge_entries(sc.entries, sc.nr);
	qsort(sc.entries, nr, sizeof(*sc.entries), cmp_by_time);
	if (nr > FUNCLAT_SLOW_STACKS_MAX)
		nr = FUNCLAT_SLOW_STACKS_MAX;
	*out = calloc(nr ? nr : 1, sizeof(**out));
	if (!*out) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (i = 0; i < nr && !err; i++) {
		err = describe_stack(s, c, &sc.entries[i], func, is_syscall, &(*out)[i]);
		*nr_out = i + 1;
	}
cleanup:
	free(sc.entries);
	return err;
}
