// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Findings in plain words: each lock's verdict (lock_verdict.c) when it
 * waits more than one way, or leans so (a hint), and the largest off-CPU
 * stacks whose latency has more than one mode.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "findings.h"
#include "lock_agg.h"
#include "lock_verdict.h"
#include "modality.h"
#include "stack_names.h"
#include "util.h"

#define TOP_STACKS	20	/* off-CPU stacks looked at */

static bool is_multimodal(const struct modality *m)
{
	return m->verdict == MODALITY_BIMODAL || m->verdict == MODALITY_MULTIMODAL;
}

static struct finding *add(struct findings *f, const struct modality *m, const char *unit,
			   double total_ns)
{
	struct finding *it = ARRAY_PUSH(f->items, f->nr);

	if (!it)
		return NULL;
	memset(it, 0, sizeof(*it));
	modality_describe(it->text, sizeof(it->text), m, unit);
	it->slow_ns = modality_slow_ns(m, total_ns);
	return it;
}

static int collect_locks(const struct recording *rec, const struct offcpu_agg *agg,
			 struct findings *f, struct named_stack *ns)
{
	double duration_s = recording_duration_s(rec);
	struct lock_verdict v;
	struct lock_agg locks;
	struct finding *it;
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

		/* Joining waits for a thread's whole life, and a Go runtime
		 * thread idling waits for work: no contention. */
		if (e->kind == LOCK_KIND_JOIN || e->kind == LOCK_KIND_GO_RUNTIME)
			continue;
		lock_verdict_judge(rec, e, agg, duration_s, ns, &v);
		if (!lock_judgement_flags(v.judgement))
			continue;
		it = ARRAY_PUSH(f->items, f->nr);
		if (!it) {
			err = -ENOMEM;
			break;
		}
		memset(it, 0, sizeof(*it));
		lock_display_name(e, name, sizeof(name));
		snprintf(it->subject, sizeof(it->subject), "%s (%s, %s [%u])", name,
			 lock_kind_name(e->kind), e->comm[0] ? e->comm : "-", e->pid);
		snprintf(it->text, sizeof(it->text), "%s", v.text);
		snprintf(it->cause, sizeof(it->cause), "%s", v.cause);
		snprintf(it->hint, sizeof(it->hint), "%s", v.hint);
		it->is_hint = v.judgement == LOCK_LIKELY_BIMODAL;
		/* Hints after every verdict, before the notes. */
		it->slow_ns = it->is_hint ? 0.5 : v.slow_ns;
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
		if ((rec->nr_locks && stack_is_lock_wait(ns)) || stack_is_go_runtime_idle(ns))
			continue;
		it = add(f, &m, "waits", (double)e->total_ns);
		if (!it)
			return -ENOMEM;
		snprintf(it->subject, sizeof(it->subject), "off-CPU stack #%zu (%s [%u]%s%s)", i + 1,
			 e->comm, e->tgid, ns->nr ? ": " : "", ns->nr ? ns->frames[0].name : "");
	}
	return 0;
}

/* What an off-CPU view of a Go program shows, once per Go process. */
static int note_go(const struct recording *rec, const struct offcpu_agg *agg,
		   struct findings *f, struct named_stack *ns)
{
	__u32 noted[16];
	size_t i, nr = 0, j;

	for (i = 0; i < agg->nr && nr < 16; i++) {
		const struct offcpu_entry *e = &agg->entries[i];
		struct finding *it;

		for (j = 0; j < nr && noted[j] != e->tgid; j++)
			;
		if (j < nr)
			continue;
		stack_names(rec, e->user_stack_id, e->tgid, ns);
		if (!stack_is_go(ns))
			continue;
		noted[nr++] = e->tgid;
		it = ARRAY_PUSH(f->items, f->nr);
		if (!it)
			return -ENOMEM;
		memset(it, 0, sizeof(*it));
		snprintf(it->subject, sizeof(it->subject), "%s [%u]", e->comm, e->tgid);
		snprintf(it->text, sizeof(it->text),
			 "a Go program: goroutines waiting on sync.Mutex, channels or the network "
			 "park in the Go scheduler, not on OS threads, so their waits are not in "
			 "this profile (go tool pprof's block and mutex profiles have them); idle "
			 "runtime threads (futexsleep, usleep) are shown as go-runtime, not locks");
		it->slow_ns = 0;	/* a note: after the findings */
	}
	return 0;
}

static int by_slow_ns(const void *a, const void *b)
{
	const struct finding *x = a, *y = b;

	return x->slow_ns < y->slow_ns ? 1 : x->slow_ns > y->slow_ns ? -1 : 0;
}

int findings_collect(const struct recording *rec, enum wait_part wait, struct findings *f)
{
	struct named_stack *ns = malloc(sizeof(*ns));
	struct offcpu_agg agg;
	int err;

	memset(f, 0, sizeof(*f));
	if (!ns)
		return -ENOMEM;
	err = offcpu_aggregate(rec, wait, &agg);
	if (err)
		goto out;
	err = collect_locks(rec, &agg, f, ns);
	if (!err)
		err = collect_stacks(rec, &agg, f, ns);
	if (!err)
		err = note_go(rec, &agg, f, ns);
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
	/* Subjects and causes hold thread and frame names: any bytes. */
	for (i = 0; i < f->nr; i++) {
		fputs("  ", out);
		name_fput(out, f->items[i].subject, NAME_TEXT);
		fprintf(out, ": %s\n", f->items[i].text);
		if (f->items[i].hint[0])
			fprintf(out, "    hint: %s\n", f->items[i].hint);
		if (!f->items[i].cause[0])
			continue;
		fputs("    ", out);
		name_fput(out, f->items[i].cause, NAME_TEXT);
		fputc('\n', out);
	}
	fputc('\n', out);
}
