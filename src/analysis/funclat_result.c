// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* funclat's numbers per target: percentiles (hist_quantile), the modality
 * and the threshold above which calls count as slow. */
#include <stdlib.h>

#include "funclat_result.h"
#include "hist_quantile.h"

/*
 * Where the slow calls start: above the mode that holds most calls. With
 * three modes (a disk whose flushes are fast or slow, say) the deepest
 * valley may lie between the two slow ones; the callers that pay are those
 * of every call above the common case.
 */
static double slow_threshold(const struct modality *m)
{
	unsigned int i, main_mode = 0;

	if (m->verdict != MODALITY_BIMODAL && m->verdict != MODALITY_MULTIMODAL)
		return 0;
	for (i = 1; i < m->nr_modes; i++)
		if (m->modes[i].count > m->modes[main_mode].count)
			main_mode = i;
	if (main_mode + 1 < m->nr_modes && m->modes[main_mode + 1].lo_ns > 0)
		return m->modes[main_mode + 1].lo_ns;
	return m->antimode_ns;
}

void funclat_result_finish(struct funclat_result *r)
{
	unsigned int i;

	r->count = r->total_ns = 0;
	for (i = 0; i < HIST_NR_BUCKETS; i++) {
		r->count += r->counts[i];
		r->total_ns += r->sums[i];
	}
	/* The quantiles report and diff give the same histogram. */
	r->p50_ns = hist_quantile(r->counts, r->sums, 0.50, r->max_ns);
	r->p90_ns = hist_quantile(r->counts, r->sums, 0.90, r->max_ns);
	r->p99_ns = hist_quantile(r->counts, r->sums, 0.99, r->max_ns);
	modality_analyze(r->counts, r->sums, &r->modality);
	r->slow_above_ns = slow_threshold(&r->modality);
}

static void free_stacks(struct funclat_slow_stack *st, size_t nr)
{
	size_t i, j;

	for (i = 0; i < nr; i++) {
		for (j = 0; j < st[i].nr_frames; j++)
			free(st[i].frames[j]);
		free(st[i].frames);
	}
	free(st);
}

void funclat_result_free(struct funclat_result *r)
{
	free_stacks(r->slow, r->nr_slow);
	free_stacks(r->callers, r->nr_callers);
	r->slow = r->callers = NULL;
	r->nr_slow = r->nr_callers = 0;
}

