// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Folded views of lock waits: "--view locks" (the lock, then the waiter's
 * frames) and "--view offwake" (the waiter's frames, "--", the waker's). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "folded_common.h"
#include "lock_agg.h"
#include "report_locks.h"
#include "stack_names.h"
#include "util.h"

/* Outermost first unless reversed (a waker reads from the wakeup up). */
static void put_stack(struct wbuf *b, const struct named_stack *ns, bool kernel, bool reversed,
		      const char *suffix)
{
	int i, n = (int)ns->nr;

	if (!n) {
		folded_put_frame(b, ns->missing ? "[missing stack]" : "[no stack]", suffix);
		return;
	}
	for (i = 0; i < n; i++) {
		const struct named_frame *f = &ns->frames[reversed ? i : n - 1 - i];

		folded_put_frame(b, f->name, suffix ? suffix : frame_suffix(f, kernel));
	}
}

static void emit(FILE *out, struct wbuf *b, __u64 ns)
{
	/* Microseconds, as the off-CPU folded output. */
	if (!b->oom && ns / 1000)
		fprintf(out, "%.*s %llu\n", (int)b->len, (const char *)b->data,
			(unsigned long long)(ns / 1000));
}

int report_locks_folded(FILE *out, const struct recording *rec)
{
	struct named_stack *ns = malloc(sizeof(*ns));
	char name[192], label[256];
	struct lock_agg agg;
	struct wbuf b = {};
	size_t i, j;
	int err;

	if (!ns)
		return -ENOMEM;
	err = lock_aggregate(rec, &agg);
	for (i = 0; !err && i < agg.nr; i++) {
		const struct lock_entry *e = &agg.entries[i];

		lock_display_name(e, name, sizeof(name));
		snprintf(label, sizeof(label), "%s (%s)", name, lock_kind_name(e->kind));
		for (j = 0; j < e->nr_callsites; j++) {
			folded_put_head(&b, e->comm[0] ? e->comm : "-", sizeof(e->comm));
			folded_put_frame(&b, label, NULL);
			stack_names(rec, e->callsites[j].stack_id, e->kernel ? 0 : e->pid, ns);
			put_stack(&b, ns, e->kernel, false, NULL);
			emit(out, &b, e->callsites[j].total_ns);
		}
	}
	if (!err)
		lock_agg_free(&agg);
	wbuf_free(&b);
	free(ns);
	return err;
}

/* A wakeup from an interrupt or softirq: whatever user code the interrupt
 * hit has nothing to do with it. (BPF keeps the user stack when the
 * interrupted task was in a system call; the kernel stack tells.) */
static bool woken_in_interrupt(const struct named_stack *ns)
{
	unsigned int i;

	for (i = 0; i < ns->nr; i++) {
		const char *n = ns->frames[i].name;

		if (!strncmp(n, "asm_sysvec_", 11) || !strncmp(n, "sysvec_", 7) ||
		    !strncmp(n, "asm_common_interrupt", 20) || !strcmp(n, "handle_softirqs") ||
		    !strcmp(n, "__do_softirq") || !strcmp(n, "irq_exit_rcu"))
			return true;
	}
	return false;
}

/*
 * record --wakers: every woken off-CPU interval, as bcc's offwaketime folds
 * it: waiter comm, user then kernel frames outermost first, "--", the
 * waker's kernel then user frames innermost first, the waker's comm.
 */
static void offwake_wakers(FILE *out, const struct recording *rec, struct named_stack *ns,
			   struct wbuf *b)
{
	size_t i;

	for (i = 0; i < rec->nr_wakers; i++) {
		const struct offcpu_waker_key *k = &rec->wakers[i].key;

		folded_put_head(b, k->comm[0] ? k->comm : "-", sizeof(k->comm));
		stack_names(rec, k->user_stack_id, k->tgid, ns);
		if (ns->nr || ns->missing)
			put_stack(b, ns, false, false, NULL);
		stack_names(rec, k->kern_stack_id, 0, ns);
		put_stack(b, ns, true, false, NULL);
		folded_put_frame(b, "--", NULL);
		stack_names(rec, k->waker_kern_stack_id, 0, ns);
		put_stack(b, ns, true, true, "_[w]");
		if (woken_in_interrupt(ns)) {
			folded_put_frame(b, "[interrupt]", "_[w]");
			emit(out, b, rec->wakers[i].val.total_ns);
			continue;
		}
		stack_names(rec, k->waker_user_stack_id, k->waker_tgid, ns);
		if (ns->nr || ns->missing)
			put_stack(b, ns, false, true, "_[w]");
		folded_put_frame(b, k->waker_comm[0] ? k->waker_comm : "-", "_[w]");
		emit(out, b, rec->wakers[i].val.total_ns);
	}
}

/* Chains of futex waits: the waiter's stack, "--", the stack that woke it,
 * valued by the wait the wake ended; then the --wakers chains. */
int report_offwake_folded(FILE *out, const struct recording *rec)
{
	struct named_stack *ns = malloc(sizeof(*ns));
	struct wbuf b = {};
	size_t i;

	if (!ns)
		return -ENOMEM;
	for (i = 0; i < rec->nr_lock_holders; i++) {
		const struct rec_lock_holder *h = &rec->lock_holders[i];
		const struct rec_process *p = rec_find_process(rec, h->key.tgid);

		if (!h->key.waiter_stack_id || !h->val.woken)
			continue;
		folded_put_head(&b, p && p->comm[0] ? p->comm : "-", TASK_COMM_LEN);
		stack_names(rec, h->key.waiter_stack_id, h->key.tgid, ns);
		put_stack(&b, ns, false, false, NULL);
		folded_put_frame(&b, "--", NULL);
		stack_names(rec, h->key.waker_stack_id, h->key.tgid, ns);
		put_stack(&b, ns, false, true, "_[w]");
		emit(out, &b, h->val.woken_wait_ns);
	}
	offwake_wakers(out, rec, ns, &b);
	wbuf_free(&b);
	free(ns);
	return 0;
}
