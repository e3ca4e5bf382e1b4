// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The JSON report's "locks" array (docs/report-schema.md). */
#include <errno.h>
#include <stdlib.h>

#include "json.h"
#include "json_common.h"
#include "lock_agg.h"
#include "lock_verdict.h"
#include "modality.h"
#include "report_locks.h"
#include "stack_names.h"

#define JSON_TOP_SITES 10

static void write_frames(FILE *out, const struct recording *rec, const struct lock_entry *e,
			 __u64 stack_id, struct named_stack *ns)
{
	if (e->kernel)
		report_write_frames_json(out, rec, 0, stack_id, 0, ns);
	else
		report_write_frames_json(out, rec, stack_id, 0, e->pid, ns);
}

static void write_sites(FILE *out, const char *key, const struct recording *rec,
			const struct lock_entry *e, const struct lock_callsite *sites, size_t nr,
			struct named_stack *ns)
{
	size_t i;

	fprintf(out, ",\"%s\":[", key);
	for (i = 0; i < nr && i < JSON_TOP_SITES; i++) {
		fputs(i ? ",{" : "{", out);
		write_frames(out, rec, e, sites[i].stack_id, ns);
		fprintf(out, ",\"total_wait_ns\":%llu,\"count\":%llu}",
			(unsigned long long)sites[i].total_ns, (unsigned long long)sites[i].count);
	}
	fputc(']', out);
}

static void write_holders(FILE *out, const struct recording *rec, const struct lock_entry *e,
			  struct named_stack *ns)
{
	size_t i;

	fputs(",\"holders\":[", out);
	for (i = 0; i < e->nr_holders && i < JSON_TOP_SITES; i++) {
		const struct lock_holder *h = &e->holders[i];

		fputs(i ? ",{" : "{", out);
		write_frames(out, rec, e, h->stack_id, ns);
		fprintf(out, ",\"total_ns\":%llu,\"count\":%llu,\"wakes\":%llu}",
			(unsigned long long)h->woken_wait_ns, (unsigned long long)h->woken,
			(unsigned long long)h->wakes);
	}
	fputc(']', out);
}

static void write_entry(FILE *out, const struct recording *rec, const struct lock_entry *e,
			const struct lock_agg *agg, struct named_stack *ns)
{
	struct lock_verdict v;
	struct lock_latency lat;
	struct modality m;

	lock_entry_latency(e, &lat);
	fprintf(out, "{\"kind\":\"%s\",", lock_kind_name(e->kind));
	if (e->kernel) {
		fputs("\"kernel_type\":", out);
		json_write_string(out, lock_kernel_type(e->kernel_flags));
		fputc(',', out);
	}
	fprintf(out, "\"address\":%llu,\"symbol\":", (unsigned long long)e->addr);
	if (e->symbol)
		json_write_string(out, e->symbol);
	else
		fputs("null", out);
	fprintf(out, ",\"symbol_offset\":%llu,\"object\":", (unsigned long long)e->symbol_offset);
	json_write_string(out, e->object);
	fprintf(out, ",\"pid\":%u,\"comm\":", e->pid);
	json_write_string(out, e->comm);
	fprintf(out, ",\"total_wait_ns\":%llu,\"contentions\":%llu,\"max_ns\":%llu,"
		     "\"avg_ns\":%.0f,\"p50_ns\":%.0f,\"p99_ns\":%.0f,",
		(unsigned long long)e->total_wait_ns, (unsigned long long)e->contentions,
		(unsigned long long)e->max_ns,
		e->contentions ? (double)e->total_wait_ns / e->contentions : 0.0,
		hist_quantile(e->hist_count, e->hist_sum_ns, 0.5, e->max_ns),
		hist_quantile(e->hist_count, e->hist_sum_ns, 0.99, e->max_ns));
	report_write_histogram_json(out, e->hist_count, e->hist_sum_ns);
	fprintf(out, ",\"runqueue_ns\":%llu", (unsigned long long)e->runqueue_ns);
	fprintf(out, ",\"futex_retries\":%llu,\"futex_retry_ns\":%llu",
		(unsigned long long)e->futex_retries, (unsigned long long)e->futex_retry_ns);
	fprintf(out, ",\"acquisitions\":%llu,\"acquisitions_sampled\":%s,"
		     "\"failed_acquisitions\":%llu,\"acquisition_total_ns\":%llu,"
		     "\"acquisition_max_ns\":%llu,\"acquisition_p50_ns\":%.0f,"
		     "\"acquisition_p99_ns\":%.0f,\"acquisition_histogram\":{",
		(unsigned long long)e->acquisitions, agg->sampled ? "true" : "false",
		(unsigned long long)e->failed_acquisitions, (unsigned long long)e->acq_total_ns,
		(unsigned long long)e->acq_max_ns,
		hist_quantile(e->acq_count, e->acq_sum_ns, 0.5, e->acq_max_ns),
		hist_quantile(e->acq_count, e->acq_sum_ns, 0.99, e->acq_max_ns));
	/* {"histogram":[...]}: the one histogram writer, under its own key. */
	report_write_histogram_json(out, e->acq_count, e->acq_sum_ns);
	fputc('}', out);
	fprintf(out, ",\"holds\":%llu,\"holds_slept\":%llu,\"hold_total_ns\":%llu,"
		     "\"hold_runqueue_ns\":%llu,"
		     "\"hold_max_ns\":%llu,\"hold_p50_ns\":%.0f,\"hold_p99_ns\":%.0f,"
		     "\"hold_histogram\":{",
		(unsigned long long)e->holds, (unsigned long long)e->holds_slept,
		(unsigned long long)e->hold_total_ns, (unsigned long long)e->hold_runqueue_ns,
		(unsigned long long)e->hold_max_ns,
		hist_quantile(e->hold_count, e->hold_sum_ns, 0.5, e->hold_max_ns),
		hist_quantile(e->hold_count, e->hold_sum_ns, 0.99, e->hold_max_ns));
	report_write_histogram_json(out, e->hold_count, e->hold_sum_ns);
	fputc('}', out);
	if (e->holds) {
		modality_analyze(e->hold_count, e->hold_sum_ns, &m);
		fputs(",\"hold_modality\":", out);
		modality_write_json(out, &m);
	}
	fprintf(out, ",\"owner_holds\":%llu,\"owner_holds_slept\":%llu,\"owner_sleeps\":%llu,"
		     "\"owner_slept_ns\":%llu,\"owner_runnable_ns\":%llu",
		(unsigned long long)e->owner_holds, (unsigned long long)e->owner_holds_slept,
		(unsigned long long)e->owner_sleeps, (unsigned long long)e->owner_slept_ns,
		(unsigned long long)e->owner_runnable_ns);
	write_sites(out, "callsites", rec, e, e->callsites, e->nr_callsites, ns);
	write_sites(out, "owner_sleep_sites", rec, e, e->sleep_sites, e->nr_sleep_sites, ns);
	write_sites(out, "acquisition_callsites", rec, e, e->acq_callsites, e->nr_acq_callsites,
		    ns);
	write_holders(out, rec, e, ns);
	lock_verdict_judge(rec, e, NULL, recording_duration_s(rec), ns, &v);
	fprintf(out, ",\"verdict\":\"%s\",\"verdict_text\":", lock_judgement_name(v.judgement));
	json_write_string(out, v.text);
	fputs(",\"hint\":", out);
	if (v.hint[0])
		json_write_string(out, v.hint);
	else
		fputs("null", out);
	fprintf(out, ",\"probe_ns\":%.0f,\"modality_of\":\"%s\",\"modality\":", v.probe_ns,
		lat.what);
	modality_write_json(out, &v.waits);
	/* The other population, judged too. */
	if (!lat.waits && e->contentions) {
		modality_analyze(e->hist_count, e->hist_sum_ns, &m);
		fputs(",\"wait_modality\":", out);
		modality_write_json(out, &m);
	} else if (lat.waits && e->acquisitions) {
		modality_analyze(e->acq_count, e->acq_sum_ns, &m);
		fputs(",\"acquisition_modality\":", out);
		modality_write_json(out, &m);
	}
	fputc('}', out);
}

int report_locks_json(FILE *out, const struct recording *rec)
{
	struct named_stack *ns = malloc(sizeof(*ns));
	struct lock_agg agg;
	size_t i;
	int err;

	fputs("\"locks\":[", out);
	if (!ns) {
		fputc(']', out);
		return -ENOMEM;
	}
	err = lock_aggregate(rec, &agg);
	for (i = 0; !err && i < agg.nr; i++) {
		fputs(i ? ",\n" : "\n", out);
		write_entry(out, rec, &agg.entries[i], &agg, ns);
	}
	fputc(']', out);
	if (!err)
		lock_agg_free(&agg);
	free(ns);
	return err;
}
