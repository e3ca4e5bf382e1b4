// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Off-CPU reports: folded stacks (bcc offcputime -f compatible) and text. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "folded_common.h"
#include "report.h"
#include "stack_names.h"
#include "util.h"

/* Folded names may not hold the separators: ';' splits frames and a
 * newline ends the line; src/analysis/stack_names.h has the rule. Spaces are kept
 * (the value follows the last one). */
static void put_stack(struct wbuf *b, const struct named_stack *ns, bool kernel,
		      const char *missing)
{
	int i;

	if (ns->missing) {
		folded_put_frame(b, missing, NULL);
		return;
	}
	for (i = (int)ns->nr - 1; i >= 0; i--) {
		const struct named_frame *f = &ns->frames[i];

		folded_put_frame(b, f->name, frame_suffix(f, kernel));
	}
}

struct folded_line {
	char *text;
	__u64 value_ns;
};

static int cmp_line(const void *a, const void *b)
{
	return strcmp(((const struct folded_line *)a)->text, ((const struct folded_line *)b)->text);
}

/* Lines are merged by text: different ids can name the same frames. */
int report_offcpu_folded(FILE *out, const struct recording *rec, const struct report_opts *o)
{
	struct named_stack *ns = malloc(sizeof(*ns));
	struct folded_line *lines = NULL, *l;
	struct offcpu_agg agg;
	struct wbuf b = {};
	size_t nr = 0, i, j;
	int err;

	if (!ns)
		return -ENOMEM;
	err = offcpu_aggregate(rec, o->wait, &agg);
	for (i = 0; i < agg.nr && !err; i++) {
		const struct offcpu_entry *e = &agg.entries[i];

		if (!offcpu_entry_value(e, o->wait))
			continue;
		folded_put_head(&b, e->comm, TASK_COMM_LEN);
		stack_names(rec, e->user_stack_id, e->tgid, ns);
		put_stack(&b, ns, false, "[missing user stack]");
		stack_names(rec, e->kern_stack_id, 0, ns);
		put_stack(&b, ns, true, "[missing kernel stack]");
		wbuf_u8(&b, '\0');
		l = ARRAY_PUSH(lines, nr);
		if (b.oom || !l || !(l->text = strdup((char *)b.data))) {
			err = -ENOMEM;
			break;
		}
		l->value_ns = offcpu_entry_value(e, o->wait);
	}
	if (!err && nr)
		qsort(lines, nr, sizeof(*lines), cmp_line);
	for (i = 0; i < nr && !err; i = j) {
		__u64 sum = 0;

		for (j = i; j < nr && !strcmp(lines[j].text, lines[i].text); j++)
			sum += lines[j].value_ns;
		/* Microseconds, as bcc's offcputime -f prints. */
		if (sum / 1000)
			fprintf(out, "%s %llu\n", lines[i].text, (unsigned long long)(sum / 1000));
	}
	for (i = 0; i < nr; i++)
		free(lines[i].text);
	free(lines);
	wbuf_free(&b);
	offcpu_agg_free(&agg);
	free(ns);
	return err;
}
