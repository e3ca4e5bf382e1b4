// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "lock_names.h"
#include "rec_symbols.h"
#include "util.h"

struct addr_ref {
	__u32 pid;		/* 0: kernel */
	__u64 addr;
	bool return_addr;	/* look up addr - 1: the call, not what follows */
};

static int cmp_ref(const void *a, const void *b)
{
	const struct addr_ref *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int collect_stack(struct addr_ref **refs, size_t *nr, const struct recording *rec,
			 __u64 id, __u32 pid)
{
	const struct rec_stack *st = rec_find_stack(rec, id);
	struct addr_ref *r;
	__u32 i;

	if (!st)
		return 0;
	for (i = 0; i < st->nr; i++) {
		r = ARRAY_PUSH(*refs, *nr);
		if (!r)
			return -ENOMEM;
		r->pid = (st->flags & STACK_KERNEL) ? 0 : pid;
		r->addr = st->ips[i];
		/* Kernel stacks from bpf_get_stack are return addresses
		 * throughout; a user stack's first frame is the interrupted ip. */
		r->return_addr = (st->flags & STACK_KERNEL) || i > 0;
	}
	return 0;
}

static int resolve(struct recording *rec, struct symbolizer *sym, const struct addr_ref *r,
		   struct rec_symbols_stats *stats)
{
	const struct rec_process *proc;
	struct sym_result res = {};
	__u64 addr = r->return_addr && r->addr ? r->addr - 1 : r->addr;

	if (r->pid == 0) {
		sym_kernel(sym, addr, &res);
	} else {
		proc = rec_find_process(rec, r->pid);
		if (proc && proc->maps)
			sym_user(sym, proc->maps, addr, &res);
	}
	stats->addresses++;
	if (res.nr && res.frames[0].name)
		stats->resolved++;
	return rec_add_symbol(rec, r->pid, r->addr, &res);
}

#define MISSING_SYMBOLS_SAID	5	/* warnings on stderr, then a count */

static bool warn_missing = true;

void rec_symbols_warn_missing(bool warn)
{
	warn_missing = warn;
}

struct missing_symbols {
	char list[4096];	/* "path build-id; ..." for the recording */
	size_t len;
	unsigned int nr;
};

/* Once per object: the user learns why names are module+offset, and how
 * to get them. */
static void on_missing_symbols(void *ctx, const char *path, const uint8_t *build_id,
			       size_t build_id_len)
{
	struct missing_symbols *m = ctx;
	char id[2 * 64 + 1] = "none";
	size_t i;

	for (i = 0; i < build_id_len && i < 64; i++)
		snprintf(id + 2 * i, sizeof(id) - 2 * i, "%02x", build_id[i]);
	if (m->nr++ < MISSING_SYMBOLS_SAID && warn_missing)
		err_msg("warning: %s has no symbol table (build-id %s): static functions show "
			"as offsets; install its debug symbols%s", path, id,
			getenv("DEBUGINFOD_URLS") ? "" : " or set DEBUGINFOD_URLS");
	if (m->len < sizeof(m->list))
		m->len += snprintf(m->list + m->len, sizeof(m->list) - m->len, "%s%s %s",
				   m->len ? "; " : "", path, id);
}

static void note_missing_symbols(struct recording *rec, struct symbolizer *sym)
{
	struct missing_symbols m = { .len = 0 };

	sym_each_missing_symbols(sym, on_missing_symbols, &m);
	if (m.nr > MISSING_SYMBOLS_SAID && warn_missing)
		err_msg("warning: %u more objects have no symbol table (waitprof report lists them)",
			m.nr - MISSING_SYMBOLS_SAID);
	if (m.len)
		rec_set_meta(rec, "objects_without_symbols", m.list);
}

int rec_symbolize(struct recording *rec, const struct symbolizer_opts *opts,
		  struct rec_symbols_stats *stats)
{
	struct addr_ref *refs = NULL;
	struct symbolizer *sym;
	size_t nr = 0, i;
	int err = 0;

	*stats = (struct rec_symbols_stats){};
	for (i = 0; i < rec->nr_offcpu && !err; i++) {
		err = collect_stack(&refs, &nr, rec, rec->offcpu[i].key.user_stack_id,
				    rec->offcpu[i].key.tgid);
		if (!err)
			err = collect_stack(&refs, &nr, rec, rec->offcpu[i].key.kern_stack_id, 0);
	}
	for (i = 0; i < rec->nr_locks && !err; i++)
		err = collect_stack(&refs, &nr, rec, rec->locks[i].key.stack_id,
				    rec->locks[i].key.tgid);
	for (i = 0; i < rec->nr_lock_holders && !err; i++)
		err = collect_stack(&refs, &nr, rec, rec->lock_holders[i].key.waker_stack_id,
				    rec->lock_holders[i].key.tgid);
	for (i = 0; i < rec->nr_wakers && !err; i++) {
		const struct offcpu_waker_key *k = &rec->wakers[i].key;

		err = collect_stack(&refs, &nr, rec, k->user_stack_id, k->tgid);
		if (!err)
			err = collect_stack(&refs, &nr, rec, k->kern_stack_id, 0);
		if (!err)
			err = collect_stack(&refs, &nr, rec, k->waker_user_stack_id, k->waker_tgid);
		if (!err)
			err = collect_stack(&refs, &nr, rec, k->waker_kern_stack_id, 0);
	}
	if (err)
		goto out;
	if (nr)
		qsort(refs, nr, sizeof(*refs), cmp_ref);
	sym = symbolizer_new(opts);
	if (!sym) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < nr && !err; i++) {
		if (i && !cmp_ref(&refs[i], &refs[i - 1]))
			continue;
		err = resolve(rec, sym, &refs[i], stats);
	}
	if (!err)
		err = lock_names_resolve(rec, sym);
	if (!err)
		note_missing_symbols(rec, sym);
	symbolizer_free(sym);
	rec_finish(rec);
out:
	free(refs);
	return err;
}
