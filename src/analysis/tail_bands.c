// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The slow tail against the typical call: a target's calls sorted by
 * latency, cut into bands by rank (exact percentiles, no histogram), and
 * each band's time split into on-CPU, runnable and the waits by reason.
 * A reason is the lock's name for a futex wait (record's lock names),
 * else the kernel function that blocked (the syscall) and the innermost
 * frame of the application, named as every report names frames.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recording.h"
#include "stack_names.h"
#include "tail_bands.h"
#include "tail_sites.h"
#include "util.h"

#define OTHER_REASON	"other wait sites (more than 8 in a call)"

static const char *const band_names[TAIL_NR_BANDS] = {
	"p0-p50", "p50-p90", "p90-p99", "p99-p100",
};

/* Adds ns of a site to the band's sum for its reason. */
static int add_wait(struct tail_band *b, const char *reason, const char *lock, __u32 pid,
		    const struct tail_slot *sl, __u64 ns)
{
	struct tail_wait_sum *w = NULL;
	size_t i;

	for (i = 0; i < b->nr_waits && !w; i++)
		if (!strcmp(b->waits[i].reason, reason))
			w = &b->waits[i];
	if (!w) {
		w = ARRAY_PUSH(b->waits, b->nr_waits);
		if (!w)
			return -ENOMEM;
		memset(w, 0, sizeof(*w));
		w->reason = strdup(reason);
		w->lock = lock && lock[0] ? strdup(lock) : NULL;
		if (!w->reason)
			return -ENOMEM;
	}
	w->total_ns += ns;
	b->blocked_ns += ns;
	/* The frames shown are the site's with the most time of the reason. */
	if (sl && ns > w->site_ns) {
		w->site_ns = ns;
		w->pid = pid;
		w->user_stack_id = sl->user_stack_id;
		w->kern_stack_id = sl->kern_stack_id;
	}
	return 0;
}

/* The waker's site of an off-wake segment, added to the reason's sums. */
static int add_waker(struct tail_namer *n, struct tail_wait_sum *w, const struct tail_seg *g)
{
	const struct tail_site *site;
	struct tail_waker_sum *k = NULL;
	size_t i;

	w->followed_ns += g->blocked_ns;
	w->waker_window_ns += g->waker_window_ns < g->blocked_ns ? g->waker_window_ns : g->blocked_ns;
	w->waker_blocked_ns += g->waker_blocked_ns;
	w->waker_runqueue_ns += g->waker_runqueue_ns;
	if (!g->waker_site_ns)
		return 0;
	site = tail_site_of(n, g->waker_pid, g->waker_user_stack_id, g->waker_kern_stack_id,
			    g->waker_futex_addr);
	if (!site)
		return -ENOMEM;
	for (i = 0; i < w->nr_wakers && !k; i++)
		if (!strcmp(w->wakers[i].reason, site->reason))
			k = &w->wakers[i];
	if (!k) {
		k = ARRAY_PUSH(w->wakers, w->nr_wakers);
		if (!k)
			return -ENOMEM;
		memset(k, 0, sizeof(*k));
		k->reason = strdup(site->reason);
		k->pid = g->waker_pid;
		k->user_stack_id = g->waker_user_stack_id;
		k->kern_stack_id = g->waker_kern_stack_id;
		if (!k->reason)
			return -ENOMEM;
	}
	k->total_ns += g->waker_site_ns;
	if (g->flags & TSEG_WAKER_CHAIN)
		k->chain_ns += g->waker_site_ns;
	return 0;
}

static struct tail_wait_sum *find_wait(struct tail_band *b, const char *reason)
{
	size_t i;

	for (i = 0; i < b->nr_waits; i++)
		if (!strcmp(b->waits[i].reason, reason))
			return &b->waits[i];
	return NULL;
}

/* Off-wake segments of a call, to their reason's sums (the segments
 * merged past TAIL_MAX_SEGS are not followed). */
static int add_offwake(struct tail_namer *n, struct tail_band *b, const struct tail_record *r)
{
	const struct tail_site *s;
	struct tail_wait_sum *w;
	__u32 i;
	int err = 0;

	for (i = 0; i < r->nr_segs && i < TAIL_MAX_SEGS && !err; i++) {
		const struct tail_seg *g = &r->segs[i];
		const struct tail_slot *sl;

		if (!(g->flags & TSEG_WAKER_SEEN) || g->slot >= TAIL_MAX_SLOTS)
			continue;
		sl = &r->slots[g->slot];
		s = tail_site_of(n, r->pid, sl->user_stack_id, sl->kern_stack_id, sl->futex_addr);
		if (!s)
			return -ENOMEM;
		w = find_wait(b, s->reason);
		if (w)
			err = add_waker(n, w, g);
	}
	return err;
}

static int add_call(struct tail_namer *n, struct tail_band *b, const struct tail_record *r)
{
	const struct tail_site *s;
	__u32 i;
	int err = 0;

	b->calls++;
	b->total_ns += r->total_ns;
	b->on_cpu_ns += r->on_cpu_ns;
	b->runqueue_ns += r->runqueue_ns;
	for (i = 0; i < r->nr_slots && i < TAIL_MAX_SLOTS && !err; i++) {
		const struct tail_slot *sl = &r->slots[i];

		s = tail_site_of(n, r->pid, sl->user_stack_id, sl->kern_stack_id, sl->futex_addr);
		if (!s)
			return -ENOMEM;
		err = add_wait(b, s->reason, s->lock, r->pid, sl, sl->blocked_ns);
	}
	if (!err && r->other_ns)
		err = add_wait(b, OTHER_REASON, NULL, r->pid, NULL, r->other_ns);
	return err ?: add_offwake(n, b, r);
}

static int cmp_waker(const void *a, const void *b)
{
	const struct tail_waker_sum *x = a, *y = b;

	return x->total_ns > y->total_ns ? -1 : x->total_ns < y->total_ns;
}

static int cmp_total(const void *a, const void *b)
{
	const struct tail_record *x = *(const struct tail_record *const *)a;
	const struct tail_record *y = *(const struct tail_record *const *)b;

	return x->total_ns < y->total_ns ? -1 : x->total_ns > y->total_ns;
}

static int cmp_wait(const void *a, const void *b)
{
	const struct tail_wait_sum *x = a, *y = b;

	return x->total_ns > y->total_ns ? -1 : x->total_ns < y->total_ns;
}

/* The nearest-rank index of quantile q of n sorted values: ceil(q n) - 1. */
static size_t rank_of(double q, size_t n)
{
	size_t k = (size_t)(q * (double)n);

	if ((double)k < q * (double)n)
		k++;
	return k ? k - 1 : 0;
}

static enum tail_band_id band_of(size_t i, size_t n)
{
	if (i <= rank_of(0.5, n))
		return TAIL_BAND_P50;
	if (i <= rank_of(0.9, n))
		return TAIL_BAND_P90;
	if (i <= rank_of(0.99, n))
		return TAIL_BAND_P99;
	return TAIL_BAND_MAX;
}

static int analyze_target(struct tail_namer *n, const struct tail_data *d, __u32 target,
			  size_t nr_slowest, struct tail_result *res)
{
	const struct tail_record **sorted;
	size_t i, nr = 0;
	int err = 0, b;

	res->target = d->targets[target];
	for (b = 0; b < TAIL_NR_BANDS; b++)
		res->bands[b].name = band_names[b];
	sorted = calloc(d->nr_calls ? d->nr_calls : 1, sizeof(*sorted));
	if (!sorted)
		return -ENOMEM;
	for (i = 0; i < d->nr_calls; i++)
		if (d->calls[i].target == target)
			sorted[nr++] = &d->calls[i];
	qsort(sorted, nr, sizeof(*sorted), cmp_total);
	res->calls = nr;
	if (nr) {
		res->p50_ns = sorted[rank_of(0.5, nr)]->total_ns;
		res->p90_ns = sorted[rank_of(0.9, nr)]->total_ns;
		res->p99_ns = sorted[rank_of(0.99, nr)]->total_ns;
		res->max_ns = sorted[nr - 1]->total_ns;
	}
	for (i = 0; i < nr && !err; i++)
		err = add_call(n, &res->bands[band_of(i, nr)], sorted[i]);
	for (b = 0; b < TAIL_NR_BANDS; b++) {
		struct tail_band *band = &res->bands[b];

		qsort(band->waits, band->nr_waits, sizeof(struct tail_wait_sum), cmp_wait);
		for (i = 0; i < band->nr_waits; i++)
			qsort(band->waits[i].wakers, band->waits[i].nr_wakers,
			      sizeof(struct tail_waker_sum), cmp_waker);
	}
	/* The slowest first: the array reversed, cut to nr_slowest. */
	res->nr_slowest = nr < nr_slowest ? nr : nr_slowest;
	for (i = 0; i < nr / 2; i++) {
		const struct tail_record *tmp = sorted[i];

		sorted[i] = sorted[nr - 1 - i];
		sorted[nr - 1 - i] = tmp;
	}
	if (res->nr_slowest)
		res->slowest = sorted;
	else
		free(sorted);
	return err;
}

int tail_analyze(const struct tail_data *d, size_t nr_slowest, struct tail_result **out)
{
	struct tail_namer n;
	struct tail_result *res;
	size_t t;
	int err = 0;

	res = calloc(d->nr_targets ? d->nr_targets : 1, sizeof(*res));
	if (!res || tail_namer_init(&n, d->rec)) {
		free(res);
		return -ENOMEM;
	}
	for (t = 0; t < d->nr_targets && !err; t++)
		err = analyze_target(&n, d, t, nr_slowest, &res[t]);
	tail_namer_free(&n);
	if (err) {
		tail_results_free(res, d->nr_targets);
		return err;
	}
	*out = res;
	return 0;
}

void tail_results_free(struct tail_result *res, size_t nr)
{
	size_t i, j;
	int b;

	for (i = 0; res && i < nr; i++) {
		for (b = 0; b < TAIL_NR_BANDS; b++) {
			struct tail_band *band = &res[i].bands[b];

			for (j = 0; j < band->nr_waits; j++) {
				struct tail_wait_sum *w = &band->waits[j];
				size_t k;

				for (k = 0; k < w->nr_wakers; k++)
					free(w->wakers[k].reason);
				free(w->wakers);
				free(w->reason);
				free(w->lock);
			}
			free(band->waits);
		}
		free(res[i].slowest);
	}
	free(res);
}
