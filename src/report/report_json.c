// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The JSON report (docs/report-schema.md): one stable, documented schema. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "findings.h"
#include "json.h"
#include "json_common.h"
#include "modality.h"
#include "report.h"
#include "report_locks.h"
#include "stack_ends.h"
#include "stack_stop.h"
#include "stack_names.h"
#include "util.h"

static void write_key(FILE *out, const char *key)
{
	json_write_string(out, key);
	fputc(':', out);
}

static void write_offcpu_entry(FILE *out, const struct recording *rec,
			       const struct offcpu_entry *e, struct named_stack *ns)
{
	const struct rec_stack *st;
	int stop;

	fputs("{\"comm\":", out);
	json_write_string(out, e->comm);
	fprintf(out, ",\"pid\":%u,", e->tgid);
	report_write_frames_json(out, rec, e->user_stack_id, e->kern_stack_id, e->tgid, ns);
	stop = stack_end_of(rec, e->user_stack_id);
	fputs(",\"user_end\":", out);
	if (stop < 0)
		fputs("null", out);
	else
		json_write_string(out, stop == CFI_STOP_END ? "root" : cfi_stop_name(stop));
	st = e->user_stack_id ? rec_find_stack(rec, e->user_stack_id) : NULL;
	fprintf(out, ",\"user_walk\":%s", !st ? "null" : st->flags & STACK_CFI ? "\"cfi\"" :
		st->flags & STACK_FP ? "\"fp\"" : "null");
	fprintf(out, ",\"total_ns\":%llu,\"blocked_ns\":%llu,\"runqueue_ns\":%llu,"
		     "\"count\":%llu,\"max_ns\":%llu,",
		(unsigned long long)e->total_ns, (unsigned long long)e->blocked_ns,
		(unsigned long long)(e->total_ns - e->blocked_ns), (unsigned long long)e->count,
		(unsigned long long)e->max_ns);
	report_write_hist_modality_json(out, e->hist_count, e->hist_sum_ns);
	fputc('}', out);
}

struct thread_total {
	__u32 pid, tid;
	char comm[TASK_COMM_LEN];
	__u64 offcpu_ns, blocked_ns, count;
	__u64 preempted_ns, preempted_count;	/* involuntary switches */
};

static int cmp_thread(const void *a, const void *b)
{
	const struct thread_total *x = a, *y = b;

	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	return strncmp(x->comm, y->comm, TASK_COMM_LEN);
}

static int write_threads(FILE *out, const struct recording *rec)
{
	struct thread_total *t = NULL, *cur = NULL;
	size_t nr = 0, i;

	for (i = 0; i < rec->nr_offcpu; i++) {
		const struct rec_offcpu *o = &rec->offcpu[i];

		cur = ARRAY_PUSH(t, nr);
		if (!cur) {
			free(t);
			return -ENOMEM;
		}
		cur->pid = o->key.tgid;
		cur->tid = o->key.tid;
		memcpy(cur->comm, o->key.comm, TASK_COMM_LEN);
		cur->offcpu_ns = o->val.total_ns;
		cur->blocked_ns = o->val.blocked_ns;
		cur->count = o->val.count;
		if (o->key.state == OFFCPU_PREEMPTED) {
			cur->preempted_ns = o->val.total_ns;
			cur->preempted_count = o->val.count;
		}
	}
	if (nr)
		qsort(t, nr, sizeof(*t), cmp_thread);
	fputs("\"threads\":[", out);
	for (i = 0; i < nr;) {
		struct thread_total sum = t[i];
		size_t j;

		for (j = i + 1; j < nr && !cmp_thread(&t[j], &t[i]); j++) {
			sum.offcpu_ns += t[j].offcpu_ns;
			sum.blocked_ns += t[j].blocked_ns;
			sum.count += t[j].count;
			sum.preempted_ns += t[j].preempted_ns;
			sum.preempted_count += t[j].preempted_count;
		}
		fprintf(out, "%s{\"pid\":%u,\"tid\":%u,\"comm\":", i ? "," : "", sum.pid, sum.tid);
		json_write_string(out, sum.comm);
		fprintf(out, ",\"offcpu_ns\":%llu,\"blocked_ns\":%llu,\"runqueue_ns\":%llu,"
			     "\"count\":%llu,\"preempted_ns\":%llu,\"preempted_count\":%llu}",
			(unsigned long long)sum.offcpu_ns, (unsigned long long)sum.blocked_ns,
			(unsigned long long)(sum.offcpu_ns - sum.blocked_ns),
			(unsigned long long)sum.count, (unsigned long long)sum.preempted_ns,
			(unsigned long long)sum.preempted_count);
		i = j;
	}
	fputc(']', out);
	free(t);
	return 0;
}

static void write_recording_info(FILE *out, const struct recording *rec)
{
	size_t i;

	fprintf(out, "\"recording\":{\"complete\":%s", rec->complete ? "true" : "false");
	for (i = 0; i < rec->nr_meta; i++) {
		fputc(',', out);
		write_key(out, rec->meta[i].key);
		json_write_string(out, rec->meta[i].value);
	}
	fputs("},\"counters\":{", out);
	for (i = 0; i < rec->nr_counters; i++) {
		fputs(i ? "," : "", out);
		write_key(out, rec->counters[i].name);
		fprintf(out, "%llu", (unsigned long long)rec->counters[i].value);
	}
	fputc('}', out);
}

/* "findings":[{subject, text, cause, hint, is_hint, slow_ns}]: what the text
 * report leads with. */
static int write_findings(FILE *out, const struct recording *rec, const struct report_opts *o)
{
	struct findings f;
	size_t i;
	int err;

	err = findings_collect(rec, o->wait, &f);
	if (err)
		return err;
	fputs("\"findings\":[", out);
	for (i = 0; i < f.nr; i++) {
		fputs(i ? ",\n{\"subject\":" : "\n{\"subject\":", out);
		json_write_string(out, f.items[i].subject);
		fputs(",\"text\":", out);
		json_write_string(out, f.items[i].text);
		fputs(",\"cause\":", out);
		if (f.items[i].cause[0])
			json_write_string(out, f.items[i].cause);
		else
			fputs("null", out);
		fputs(",\"hint\":", out);
		if (f.items[i].hint[0])
			json_write_string(out, f.items[i].hint);
		else
			fputs("null", out);
		fprintf(out, ",\"is_hint\":%s,\"slow_ns\":%.0f}",
			f.items[i].is_hint ? "true" : "false", f.items[i].slow_ns);
	}
	fputs("]", out);
	findings_free(&f);
	return 0;
}

/* "chains":{user_ns, root_ns, unknown_ns, truncated:{reason: ns}}: how
 * much off-CPU time has a whole user call chain (bpf/stack.h). */
static void write_chains(FILE *out, const struct recording *rec, const struct offcpu_agg *agg,
			 const struct report_opts *o)
{
	struct stack_ends ends;
	bool first = true;
	int i;

	stack_ends_collect(rec, agg, o->wait, &ends);
	fprintf(out, "\"chains\":{\"user_ns\":%llu,\"root_ns\":%llu,\"unknown_ns\":%llu,"
		     "\"truncated_ns\":%llu,\"truncated\":{",
		(unsigned long long)ends.user_ns, (unsigned long long)ends.root_ns,
		(unsigned long long)ends.unknown_ns,
		(unsigned long long)stack_ends_truncated_ns(&ends));
	for (i = 0; i < CFI_STOP_NR; i++) {
		if (!ends.stop_ns[i])
			continue;
		fputs(first ? "" : ",", out);
		first = false;
		write_key(out, cfi_stop_name(i));
		fprintf(out, "%llu", (unsigned long long)ends.stop_ns[i]);
	}
	fputs("}},\n", out);
}

int report_json(FILE *out, const struct recording *rec, const struct report_opts *o)
{
	struct named_stack *ns = malloc(sizeof(*ns));
	struct offcpu_agg agg;
	size_t i;
	int err;

	if (!ns)
		return -ENOMEM;
	err = offcpu_aggregate(rec, o->wait, &agg);
	if (err)
		goto out;
	fputs("{\"schema\":\"waitprof-report/1\",", out);
	write_recording_info(out, rec);
	fputc(',', out);
	report_recorder_json(out, rec);
	fputs(",\"offcpu\":[", out);
	for (i = 0; i < agg.nr; i++) {
		fputs(i ? ",\n" : "\n", out);
		write_offcpu_entry(out, rec, &agg.entries[i], ns);
	}
	fputs("],\n", out);
	write_chains(out, rec, &agg, o);
	err = write_threads(out, rec);
	fputs(",\n", out);
	if (!err)
		err = report_locks_json(out, rec);
	fputs(",\n", out);
	if (!err)
		err = write_findings(out, rec, o);
	fputs("}\n", out);
	offcpu_agg_free(&agg);
out:
	free(ns);
	return err;
}
