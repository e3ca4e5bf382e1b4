// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The lock section of the text report: top locks by total wait, each with
 * its numbers, the modality finding, a histogram, call sites and holders. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lock_agg.h"
#include "modality.h"
#include "report.h"
#include "report_locks.h"
#include "stack_names.h"
#include "util.h"

#define TOP_SITES	3
#define SITE_FRAMES	8

/* One stack on one line, innermost first: "a <- b <- c". */
static void print_stack_line(FILE *out, const struct recording *rec, __u64 stack_id,
			     __u32 pid, struct named_stack *ns)
{
	unsigned int i;

	stack_names(rec, stack_id, pid, ns);
	if (!ns->nr) {
		fputs(ns->missing ? "[missing stack]" : "[no stack]", out);
		return;
	}
	for (i = 0; i < ns->nr && i < SITE_FRAMES; i++)
		fprintf(out, "%s%s", i ? " <- " : "", ns->frames[i].name);
	if (ns->nr > SITE_FRAMES)
		fputs(" <- ...", out);
}

static void print_sites(FILE *out, const struct recording *rec, const struct lock_entry *e,
			const struct lock_callsite *sites, size_t nr, const char *title,
			struct named_stack *ns)
{
	char total[32];
	size_t i;

	if (!nr)
		return;
	fprintf(out, "    %s:\n", title);
	for (i = 0; i < nr && i < TOP_SITES; i++) {
		format_duration_ns(total, sizeof(total), (double)sites[i].total_ns);
		fprintf(out, "      %10s %6llu x  ", total, (unsigned long long)sites[i].count);
		print_stack_line(out, rec, sites[i].stack_id, e->kernel ? 0 : e->pid, ns);
		fputc('\n', out);
	}
}

static void print_holders(FILE *out, const struct recording *rec, const struct lock_entry *e,
			  struct named_stack *ns)
{
	char total[32];
	size_t i;

	if (!e->nr_holders)
		return;
	fputs("    holders (the stacks that woke the waiters: unlock, signal):\n", out);
	for (i = 0; i < e->nr_holders && i < TOP_SITES; i++) {
		const struct lock_holder *h = &e->holders[i];

		format_duration_ns(total, sizeof(total), (double)h->woken_wait_ns);
		fprintf(out, "      %10s ended %llu waits, %llu wakes  ", total,
			(unsigned long long)h->woken, (unsigned long long)h->wakes);
		print_stack_line(out, rec, h->stack_id, e->pid, ns);
		fputc('\n', out);
	}
}

static void print_entry(FILE *out, const struct recording *rec, const struct lock_entry *e,
			int rank, const struct lock_agg *agg, struct named_stack *ns)
{
	char name[192], total[32], avg[32], p50[32], p99[32], max[32], finding[512];
	struct lock_latency lat;
	struct modality head, m;	/* the lock's verdict; the other views' */

	lock_display_name(e, name, sizeof(name));
	lock_entry_latency(e, &lat);
	format_duration_ns(total, sizeof(total), (double)lat.total_ns);
	format_duration_ns(avg, sizeof(avg), lat.count ? (double)lat.total_ns / lat.count : 0);
	format_duration_ns(p50, sizeof(p50), hist_quantile(lat.counts, lat.sums, 0.5, lat.max_ns));
	format_duration_ns(p99, sizeof(p99), hist_quantile(lat.counts, lat.sums, 0.99, lat.max_ns));
	format_duration_ns(max, sizeof(max), (double)lat.max_ns);
	fprintf(out, "#%d %s  %s%s%s  %s [%u]  in %s\n", rank, name, lock_kind_name(e->kind),
		e->kernel ? " " : "", e->kernel ? lock_kernel_type(e->kernel_flags) : "",
		e->comm[0] ? e->comm : "-", e->pid, e->object);
	fprintf(out, "    %s %s  %llu contentions", lat.waits ? "waited" : "acquiring took", total,
		(unsigned long long)e->contentions);
	if (e->futex_retries)
		fprintf(out, " (+%llu retries that never slept)", (unsigned long long)e->futex_retries);
	if (e->acquisitions)
		fprintf(out, "  %llu acquisitions%s (%llu failed)",
			(unsigned long long)e->acquisitions, agg->sampled ? " sampled" : "",
			(unsigned long long)e->failed_acquisitions);
	fprintf(out, "  avg %s  p50 %s  p99 %s  max %s\n", avg, p50, p99, max);
	modality_analyze(lat.counts, lat.sums, &head);
	modality_describe(finding, sizeof(finding), &head, lat.what);
	fprintf(out, "    %s: %s\n", name, finding);
	if (!lat.waits && e->contentions) {
		modality_analyze(e->hist_count, e->hist_sum_ns, &m);
		modality_describe(finding, sizeof(finding), &m, "waits");
		fprintf(out, "    %s (futex waits alone): %s\n", name, finding);
	} else if (lat.waits && e->acquisitions) {
		modality_analyze(e->acq_count, e->acq_sum_ns, &m);
		modality_describe(finding, sizeof(finding), &m, "acquisitions");
		fprintf(out, "    %s (every acquisition, uprobes): %s\n", name, finding);
	}
	if (e->holds) {
		format_duration_ns(total, sizeof(total), (double)e->hold_total_ns);
		format_duration_ns(p50, sizeof(p50),
				   hist_quantile(e->hold_count, e->hold_sum_ns, 0.5, e->hold_max_ns));
		format_duration_ns(p99, sizeof(p99),
				   hist_quantile(e->hold_count, e->hold_sum_ns, 0.99, e->hold_max_ns));
		format_duration_ns(max, sizeof(max), (double)e->hold_max_ns);
		modality_analyze(e->hold_count, e->hold_sum_ns, &m);
		modality_describe(finding, sizeof(finding), &m, "holds");
		fprintf(out, "    held %s in %llu holds  p50 %s  p99 %s  max %s\n"
			"    %s (hold times): %s\n", total, (unsigned long long)e->holds, p50, p99,
			max, name, finding);
	}
	report_print_histogram(out, lat.counts, &head);
	print_sites(out, rec, e, e->callsites, e->nr_callsites, "waiters (where threads waited)", ns);
	print_sites(out, rec, e, e->acq_callsites, e->nr_acq_callsites,
		    "acquirers (uprobes: every lock call)", ns);
	print_holders(out, rec, e, ns);
	fputc('\n', out);
}

int report_locks_text(FILE *out, const struct recording *rec, const struct report_opts *o)
{
	struct named_stack *ns;
	struct lock_agg agg;
	size_t i, shown = 0, condvars = 0;
	int pass;
	__u64 cv_ns = 0;
	int err;

	if (!rec->nr_locks)
		return 0;
	ns = malloc(sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	err = lock_aggregate(rec, &agg);
	if (err) {
		free(ns);
		return err;
	}
	fprintf(out, "waitprof lock report: %zu locks and futexes (%s)\n", agg.nr,
		rec_get_meta(rec, "lock_sources") ?: "futex");
	fprintf(out, "  futex waits %llu, wakes %llu, kernel contentions %llu, uprobe calls %llu\n",
		(unsigned long long)rec_get_counter(rec, "lock_futex_waits"),
		(unsigned long long)rec_get_counter(rec, "lock_futex_wakes"),
		(unsigned long long)rec_get_counter(rec, "lock_kernel_contentions"),
		(unsigned long long)rec_get_counter(rec, "lock_uprobe_calls"));
	if (rec_get_counter(rec, "lock_stack_cache_verified"))
		fprintf(out, "  stack cache: %llu hits, %llu re-walked, %llu mismatches\n",
			(unsigned long long)rec_get_counter(rec, "lock_stack_cache_hits"),
			(unsigned long long)rec_get_counter(rec, "lock_stack_cache_verified"),
			(unsigned long long)rec_get_counter(rec, "lock_stack_cache_mismatch"));
	if (agg.sampled)
		fprintf(out, "  uprobes sampled %s ms: attached %.1f%% of the time, so "
			"acquisition counts are a sample\n",
			rec_get_meta(rec, "uprobe_sample_ms"), 100.0 * agg.uprobe_duty);
	if (rec_get_counter(rec, "lock_dropped_hist_full") +
	    rec_get_counter(rec, "lock_dropped_stack_map_full"))
		fprintf(out, "  WARNING:    %llu lock waits and %llu lock stacks dropped\n",
			(unsigned long long)rec_get_counter(rec, "lock_dropped_hist_full"),
			(unsigned long long)rec_get_counter(rec, "lock_dropped_stack_map_full"));
	fputc('\n', out);
	/* Locks first; other futex uses (semaphores, pthread_join, ...)
	 * after them; condition variables are threads waiting for work, not
	 * contention: summed up last. */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < agg.nr; i++) {
			const struct lock_entry *e = &agg.entries[i];

			if (e->kind == LOCK_KIND_CONDVAR) {
				condvars += !pass;
				cv_ns += pass ? 0 : e->total_wait_ns;
				continue;
			}
			if ((e->kind == LOCK_KIND_FUTEX) != pass)
				continue;
			if (o->top > 0 && (int)shown >= o->top)
				continue;
			print_entry(out, rec, e, (int)++shown, &agg, ns);
		}
	}
	if (condvars) {
		char total[32];

		format_duration_ns(total, sizeof(total), (double)cv_ns);
		fprintf(out, "condition variables (waiting for work, not lock contention): "
			"%zu, %s waited\n", condvars, total);
		for (i = 0; i < agg.nr; i++) {
			const struct lock_entry *e = &agg.entries[i];
			char name[192];

			if (e->kind != LOCK_KIND_CONDVAR)
				continue;
			lock_display_name(e, name, sizeof(name));
			format_duration_ns(total, sizeof(total), (double)e->total_wait_ns);
			fprintf(out, "  %s [%u] %s in %llu waits\n", name, e->pid, total,
				(unsigned long long)e->contentions);
		}
		fputc('\n', out);
	}
	lock_agg_free(&agg);
	free(ns);
	return 0;
}
