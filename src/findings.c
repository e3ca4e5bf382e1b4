// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Findings in plain words. A lock's slow mode is usually a holder that
 * blocks while it holds the lock (fdatasync under a logger's mutex). The
 * waiters cannot see that, but the off-CPU profile of the same process
 * can: the holders' critical section is the application function their
 * unlock is called from, and the off-CPU stacks through that function
 * that are not lock waits themselves are what the holders blocked on.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "findings.h"
#include "lock_agg.h"
#include "modality.h"
#include "stack_names.h"
#include "util.h"

#define TOP_STACKS	20	/* off-CPU stacks looked at */
#define CAUSE_FRAMES	4	/* frames named from the blocking call outward */

static bool is_multimodal(const struct modality *m)
{
	return m->verdict == MODALITY_BIMODAL || m->verdict == MODALITY_MULTIMODAL;
}

/* Wait in the modes above the fastest one: what the slowness costs. */
static double slow_ns(const struct modality *m, double total_ns)
{
	double share = 0;
	unsigned int k;

	for (k = 1; k < m->nr_modes; k++)
		share += m->modes[k].time_share;
	return share * total_ns;
}

static struct finding *add(struct findings *f, const struct modality *m, const char *unit,
			   double total_ns)
{
	struct finding *it = ARRAY_PUSH(f->items, f->nr);

	if (!it)
		return NULL;
	memset(it, 0, sizeof(*it));
	modality_describe(it->text, sizeof(it->text), m, unit);
	it->slow_ns = slow_ns(m, total_ns);
	return it;
}

/* The innermost application frame of the top holder (waker) stack: the
 * function whose critical section the unlock ends. */
static bool critical_section(const struct recording *rec, const struct lock_entry *e,
			     struct named_stack *ns, char *fn, size_t len)
{
	unsigned int i;

	if (e->kernel || !e->nr_holders)
		return false;
	stack_names(rec, e->holders[0].stack_id, e->pid, ns);
	for (i = 0; i < ns->nr; i++) {
		if (!frame_in_libc(&ns->frames[i])) {
			snprintf(fn, len, "%s", ns->frames[i].name);
			return true;
		}
	}
	return false;
}

/* The thread library's lock operations, waits and wakes both: a holder
 * preempted in its own unlock's wake is not what it blocked on. */
static bool is_lock_frame(const char *n)
{
	return strstr(n, "lll_lock") || strstr(n, "pthread_mutex_") ||
	       strstr(n, "pthread_rwlock_") || strstr(n, "pthread_cond_");
}

/* A thread queued on a user-space lock: the lock report covers it. */
static bool is_lock_wait(const struct named_stack *ns)
{
	unsigned int i;

	for (i = 0; i < ns->nr; i++)
		if (is_lock_frame(ns->frames[i].name))
			return true;
	return false;
}

/* Index of the frame named fn, or -1; -1 too when the stack is itself a
 * lock wait (a thread queued on the lock, not holding it). */
static int holder_frame(const struct named_stack *ns, const char *fn)
{
	unsigned int i;

	for (i = 0; i < ns->nr; i++) {
		const char *n = ns->frames[i].name;

		if (is_lock_frame(n))
			return -1;
		if (!strcmp(n, fn))
			return (int)i;
	}
	return -1;
}

static void describe_cause(char *buf, size_t len, const char *fn, const struct named_stack *ns,
			   int upto, __u64 total_ns, __u64 count)
{
	char dur[32];
	int i, off;

	off = snprintf(buf, len, "%s, where the holders unlock, blocks in ", fn);
	for (i = 0; i <= upto && i < CAUSE_FRAMES && off < (int)len; i++)
		off += snprintf(buf + off, len - off, "%s%s", i ? " <- " : "",
				ns->frames[i].name);
	if (upto >= CAUSE_FRAMES && off < (int)len)
		off += snprintf(buf + off, len - off, " <- ... <- %s", ns->frames[upto].name);
	format_duration_ns(dur, sizeof(dur), (double)total_ns);
	if (off < (int)len)
		snprintf(buf + off, len - off, " (%s blocked in %llu waits)", dur,
			 (unsigned long long)count);
}

/* The holders' largest blocked stack inside their critical section, with
 * the time of every stack (other kernel paths) blocking in the same call.
 * Blocked time only: a preempted holder waited for a CPU, not for I/O. */
static void find_cause(const struct recording *rec, const struct lock_entry *e,
		       const struct offcpu_agg *agg, struct named_stack *ns, struct finding *it)
{
	const struct offcpu_entry *best = NULL;
	__u64 total_ns = 0, count = 0;
	char fn[128], call[128];
	size_t i;

	if (!critical_section(rec, e, ns, fn, sizeof(fn)))
		return;
	for (i = 0; i < agg->nr; i++) {
		const struct offcpu_entry *o = &agg->entries[i];

		if (o->tgid != e->pid || !o->blocked_ns ||
		    (best && o->blocked_ns <= best->blocked_ns))
			continue;
		stack_names(rec, o->user_stack_id, o->tgid, ns);
		if (holder_frame(ns, fn) >= 0)
			best = o;
	}
	if (!best)
		return;
	stack_names(rec, best->user_stack_id, best->tgid, ns);
	snprintf(call, sizeof(call), "%s", ns->frames[0].name);
	for (i = 0; i < agg->nr; i++) {
		const struct offcpu_entry *o = &agg->entries[i];

		if (o->tgid != e->pid)
			continue;
		stack_names(rec, o->user_stack_id, o->tgid, ns);
		if (ns->nr && !strcmp(ns->frames[0].name, call) && holder_frame(ns, fn) >= 0) {
			total_ns += o->blocked_ns;
			count += o->count;
		}
	}
	stack_names(rec, best->user_stack_id, best->tgid, ns);
	describe_cause(it->cause, sizeof(it->cause), fn, ns, holder_frame(ns, fn), total_ns,
		       count);
}

static int collect_locks(const struct recording *rec, const struct offcpu_agg *agg,
			 struct findings *f, struct named_stack *ns)
{
	struct lock_agg locks;
	struct modality m;
	char name[192];
	size_t i;
	int err;

	if (!rec->nr_locks)
		return 0;
	err = lock_aggregate(rec, &locks);
	if (err)
		return err;
	for (i = 0; i < locks.nr; i++) {
		const struct lock_entry *e = &locks.entries[i];
		struct lock_latency lat;
		struct finding *it;

		lock_entry_latency(e, &lat);
		modality_analyze(lat.counts, lat.sums, &m);
		if (!is_multimodal(&m))
			continue;
		it = add(f, &m, lat.what, (double)lat.total_ns);
		if (!it) {
			err = -ENOMEM;
			break;
		}
		lock_display_name(e, name, sizeof(name));
		snprintf(it->subject, sizeof(it->subject), "%s (%s, %s [%u])", name,
			 lock_kind_name(e->kind), e->comm[0] ? e->comm : "-", e->pid);
		find_cause(rec, e, agg, ns, it);
	}
	lock_agg_free(&locks);
	return err;
}

static int collect_stacks(const struct recording *rec, const struct offcpu_agg *agg,
			  struct findings *f, struct named_stack *ns)
{
	struct modality m;
	size_t i;

	for (i = 0; i < agg->nr && i < TOP_STACKS; i++) {
		const struct offcpu_entry *e = &agg->entries[i];
		struct finding *it;

		modality_analyze(e->hist_count, e->hist_sum_ns, &m);
		if (!is_multimodal(&m))
			continue;
		stack_names(rec, e->user_stack_id, e->tgid, ns);
		if (rec->nr_locks && is_lock_wait(ns))
			continue;
		it = add(f, &m, "waits", (double)e->total_ns);
		if (!it)
			return -ENOMEM;
		snprintf(it->subject, sizeof(it->subject), "off-CPU stack #%zu (%s [%u]%s%s)", i + 1,
			 e->comm, e->tgid, ns->nr ? ": " : "", ns->nr ? ns->frames[0].name : "");
	}
	return 0;
}

static int by_slow_ns(const void *a, const void *b)
{
	const struct finding *x = a, *y = b;

	return x->slow_ns < y->slow_ns ? 1 : x->slow_ns > y->slow_ns ? -1 : 0;
}

int findings_collect(const struct recording *rec, const struct report_opts *o,
		     struct findings *f)
{
	struct named_stack *ns = malloc(sizeof(*ns));
	struct offcpu_agg agg;
	int err;

	memset(f, 0, sizeof(*f));
	if (!ns)
		return -ENOMEM;
	err = offcpu_aggregate(rec, o->wait, &agg);
	if (err)
		goto out;
	err = collect_locks(rec, &agg, f, ns);
	if (!err)
		err = collect_stacks(rec, &agg, f, ns);
	offcpu_agg_free(&agg);
	if (f->nr)
		qsort(f->items, f->nr, sizeof(*f->items), by_slow_ns);
out:
	free(ns);
	if (err)
		findings_free(f);
	return err;
}

void findings_free(struct findings *f)
{
	free(f->items);
	f->items = NULL;
	f->nr = 0;
}

void findings_print_text(FILE *out, const struct findings *f)
{
	size_t i;

	fputs("Findings:\n", out);
	if (!f->nr)
		fputs("  no lock and none of the largest off-CPU stacks waits more than one way "
		      "(one mode each, or too few samples to tell)\n", out);
	for (i = 0; i < f->nr; i++) {
		fprintf(out, "  %s: %s\n", f->items[i].subject, f->items[i].text);
		if (f->items[i].cause[0])
			fprintf(out, "    %s\n", f->items[i].cause);
	}
	fputc('\n', out);
}
