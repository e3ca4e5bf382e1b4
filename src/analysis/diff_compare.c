// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "diff_compare.h"

double diff_pct(double base, double cur)
{
	if (base <= 0)
		return NAN;
	return (cur - base) / base * 100.0;
}

static bool multimodal(const struct modality *m)
{
	return m->verdict == MODALITY_BIMODAL || m->verdict == MODALITY_MULTIMODAL;
}

static void describe_side(struct diff_row *row, int s)
{
	const struct diff_item *it = row->side[s];

	if (!it)
		return;
	row->p50[s] = hist_quantile(it->hist_count, it->hist_sum_ns, 0.50, it->max_ns);
	row->p99[s] = hist_quantile(it->hist_count, it->hist_sum_ns, 0.99, it->max_ns);
	modality_analyze(it->hist_count, it->hist_sum_ns, &row->mod[s]);
}

static void judge(struct diff_row *row, const struct diff_gate *g, __u64 base_total)
{
	const struct diff_item *b = row->side[0], *c = row->side[1];

	if (b && c && b->count >= g->min_samples && c->count >= g->min_samples) {
		row->compared = true;
		diff_mann_whitney(b->hist_count, c->hist_count, &row->mw);
		diff_bootstrap(b->hist_count, b->hist_sum_ns, c->hist_count, c->hist_sum_ns,
			       DIFF_BOOT_ROUNDS, &row->boot);
		/* The bootstrap is unreliable for extreme quantiles: order
		 * statistics give p99 its own distribution-free bounds. */
		row->boot.p99_conf = diff_quantile_confidence(b->hist_count, b->max_ns,
							      c->hist_count, c->max_ns, 0.99,
							      &row->boot.p99_lo,
							      &row->boot.p99_hi);
		if (diff_pct(row->p99[0], row->p99[1]) > g->p99_pct &&
		    row->boot.p99_conf >= g->confidence)
			row->flags |= DIFF_FLAG_P99;
		if (diff_pct((double)b->total_ns, (double)c->total_ns) > g->total_pct &&
		    row->boot.total_conf >= g->confidence)
			row->flags |= DIFF_FLAG_TOTAL;
		if (row->mod[0].verdict == MODALITY_UNIMODAL && multimodal(&row->mod[1]))
			row->flags |= DIFF_FLAG_NEW_BIMODAL;
		return;
	}
	/* New in CURRENT (or too rare in BASE to compare): its growth counts
	 * against BASE's whole total, since it has no total of its own. */
	if (c && c->count >= g->min_samples) {
		double growth = (double)c->total_ns - (b ? (double)b->total_ns : 0);

		if (growth > (double)base_total * g->total_pct / 100.0)
			row->flags |= DIFF_FLAG_TOTAL;
		if (!b && multimodal(&row->mod[1]))
			row->flags |= DIFF_FLAG_NEW_BIMODAL;
	}
}

static __u64 larger_total(const struct diff_row *r)
{
	__u64 b = r->side[0] ? r->side[0]->total_ns : 0, c = r->side[1] ? r->side[1]->total_ns : 0;

	return b > c ? b : c;
}

static int cmp_row(const void *a, const void *b)
{
	const struct diff_row *x = a, *y = b;
	__u64 tx = larger_total(x), ty = larger_total(y);

	if (!x->flags != !y->flags)
		return x->flags ? -1 : 1;
	return tx > ty ? -1 : tx < ty;
}

static struct diff_row *push_row(struct diff_result *r, size_t *cap)
{
	struct diff_row *rows;

	if (r->nr == *cap) {
		size_t want = *cap ? *cap * 2 : 32;

		rows = realloc(r->rows, want * sizeof(*rows));
		if (!rows)
			return NULL;
		r->rows = rows;
		*cap = want;
	}
	rows = &r->rows[r->nr++];
	memset(rows, 0, sizeof(*rows));
	return rows;
}

/* Both sets are sorted by key: one merge pass pairs them. */
int diff_compare(const struct diff_set *base, const struct diff_set *cur,
		 const struct diff_gate *gate, struct diff_result *r)
{
	size_t i = 0, j = 0, cap = 0, k;
	struct diff_row *row;
	int c;

	memset(r, 0, sizeof(*r));
	for (k = 0; k < base->nr; k++)
		r->total_ns[0] += base->items[k].total_ns;
	for (k = 0; k < cur->nr; k++)
		r->total_ns[1] += cur->items[k].total_ns;
	while (i < base->nr || j < cur->nr) {
		row = push_row(r, &cap);
		if (!row) {
			diff_result_free(r);
			return -ENOMEM;
		}
		c = i == base->nr ? 1 : j == cur->nr ? -1 :
		    strcmp(base->items[i].key, cur->items[j].key);
		if (c <= 0)
			row->side[0] = &base->items[i++];
		if (c >= 0)
			row->side[1] = &cur->items[j++];
		r->only_base += c < 0;
		r->only_current += c > 0;
		r->matched += c == 0;
		describe_side(row, 0);
		describe_side(row, 1);
		judge(row, gate, r->total_ns[0]);
		r->flagged += row->flags != 0;
		r->failing += (row->flags & gate->fail_mask) != 0;
	}
	if (r->nr)
		qsort(r->rows, r->nr, sizeof(*r->rows), cmp_row);
	return 0;
}

void diff_result_free(struct diff_result *r)
{
	free(r->rows);
	memset(r, 0, sizeof(*r));
}
