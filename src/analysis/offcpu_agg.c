// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "offcpu_agg.h"
#include "util.h"

static enum wait_part sort_part;

__u64 offcpu_entry_value(const struct offcpu_entry *e, enum wait_part part)
{
	switch (part) {
	case WAIT_BLOCKED: return e->blocked_ns;
	case WAIT_RUNQUEUE: return e->total_ns - e->blocked_ns;
	default: return e->total_ns;
	}
}

bool parse_wait_part(const char *s, enum wait_part *part)
{
	if (!strcmp(s, "all"))
		*part = WAIT_ALL;
	else if (!strcmp(s, "blocked"))
		*part = WAIT_BLOCKED;
	else if (!strcmp(s, "runqueue"))
		*part = WAIT_RUNQUEUE;
	else
		return false;
	return true;
}

static int cmp_group(const void *a, const void *b)
{
	const struct rec_offcpu *x = *(const struct rec_offcpu **)a;
	const struct rec_offcpu *y = *(const struct rec_offcpu **)b;
	int c;

	if (x->key.tgid != y->key.tgid)
		return x->key.tgid < y->key.tgid ? -1 : 1;
	c = strncmp(x->key.comm, y->key.comm, TASK_COMM_LEN);
	if (c)
		return c;
	if (x->key.user_stack_id != y->key.user_stack_id)
		return x->key.user_stack_id < y->key.user_stack_id ? -1 : 1;
	if (x->key.kern_stack_id != y->key.kern_stack_id)
		return x->key.kern_stack_id < y->key.kern_stack_id ? -1 : 1;
	return 0;
}

static int cmp_value(const void *a, const void *b)
{
	__u64 x = offcpu_entry_value(a, sort_part), y = offcpu_entry_value(b, sort_part);

	return x > y ? -1 : x < y;
}

static void add_record(struct offcpu_entry *e, const struct rec_offcpu *r)
{
	e->count += r->val.count;
	e->total_ns += r->val.total_ns;
	e->blocked_ns += r->val.blocked_ns;
	if (r->val.max_ns > e->max_ns)
		e->max_ns = r->val.max_ns;
	e->hist_count[r->key.bucket] += r->val.count;
	e->hist_sum_ns[r->key.bucket] += r->val.total_ns;
}

int offcpu_aggregate(const struct recording *rec, enum wait_part part, struct offcpu_agg *agg)
{
	const struct rec_offcpu **order;
	struct offcpu_entry *e = NULL;
	size_t i;

	memset(agg, 0, sizeof(*agg));
	if (!rec->nr_offcpu)
		return 0;
	order = malloc(rec->nr_offcpu * sizeof(*order));
	if (!order)
		return -ENOMEM;
	for (i = 0; i < rec->nr_offcpu; i++)
		order[i] = &rec->offcpu[i];
	qsort(order, rec->nr_offcpu, sizeof(*order), cmp_group);
	for (i = 0; i < rec->nr_offcpu; i++) {
		if (!e || cmp_group(&order[i], &order[i - 1])) {
			e = ARRAY_PUSH(agg->entries, agg->nr);
			if (!e) {
				free(order);
				return -ENOMEM;
			}
			e->tgid = order[i]->key.tgid;
			memcpy(e->comm, order[i]->key.comm, TASK_COMM_LEN);
			e->user_stack_id = order[i]->key.user_stack_id;
			e->kern_stack_id = order[i]->key.kern_stack_id;
		}
		if (order[i]->key.bucket < HIST_NR_BUCKETS)
			add_record(e, order[i]);
	}
	free(order);
	for (i = 0; i < agg->nr; i++)
		agg->total_ns += offcpu_entry_value(&agg->entries[i], part);
	sort_part = part;
	qsort(agg->entries, agg->nr, sizeof(*agg->entries), cmp_value);
	return 0;
}

void offcpu_agg_free(struct offcpu_agg *agg)
{
	free(agg->entries);
	memset(agg, 0, sizeof(*agg));
}
