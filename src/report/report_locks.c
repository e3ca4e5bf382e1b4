// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The lock section of the text report: top locks by total wait, each with
 * its numbers, the modality finding, a histogram, call sites and holders. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lock_agg.h"
#include "lock_verdict.h"
#include "modality.h"
#include "report_locks.h"
#include "stack_names.h"
#include "text_common.h"
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
	for (i = 0; i < ns->nr && i < SITE_FRAMES; i++) {
		fputs(i ? " <- " : "", out);
		name_fput(out, ns->frames[i].name, NAME_TEXT);
	}
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
	char raw[192], name[192], comm[TASK_COMM_LEN * 4];
	char total[32], avg[32], p50[32], p99[32], max[32], runnable[32], finding[512];
	struct lock_latency lat;
	struct lock_verdict verdict;
	struct modality m;		/* the other views' */

	lock_display_name(e, raw, sizeof(raw));
	name_escape(name, sizeof(name), raw, NAME_TEXT);
	name_escape(comm, sizeof(comm), e->comm[0] ? e->comm : "-", NAME_TEXT);
	lock_entry_latency(e, &lat);
	format_duration_ns(total, sizeof(total), (double)lat.total_ns);
	format_duration_ns(avg, sizeof(avg), lat.count ? (double)lat.total_ns / lat.count : 0);
	format_duration_ns(p50, sizeof(p50), hist_quantile(lat.counts, lat.sums, 0.5, lat.max_ns));
	format_duration_ns(p99, sizeof(p99), hist_quantile(lat.counts, lat.sums, 0.99, lat.max_ns));
	format_duration_ns(max, sizeof(max), (double)lat.max_ns);
	fprintf(out, "#%d %s  %s%s%s  %s [%u]  in %s\n", rank, name, lock_kind_name(e->kind),
		e->kernel ? " " : "", e->kernel ? lock_kernel_type(e->kernel_flags) : "",
		comm, e->pid, e->object);
	fprintf(out, "    %s %s  %llu contentions", lat.waits ? "waited" : "acquiring took", total,
		(unsigned long long)e->contentions);
	if (e->futex_retries)
		fprintf(out, " (+%llu retries that never slept)", (unsigned long long)e->futex_retries);
	if (e->acquisitions)
		fprintf(out, "  %llu acquisitions%s (%llu failed)",
			(unsigned long long)e->acquisitions, agg->sampled ? " sampled" : "",
			(unsigned long long)e->failed_acquisitions);
	fprintf(out, "  avg %s  p50 %s  p99 %s  max %s\n", avg, p50, p99, max);
	if (lat.waits && e->runqueue_ns) {
		format_duration_ns(total, sizeof(total), (double)e->runqueue_ns);
		fprintf(out, "    of which %s runnable (woken, waiting for a CPU); the latencies "
			"below are the blocked part\n", total);
	}
	lock_verdict_judge(rec, e, NULL, recording_duration_s(rec), ns, &verdict);
	fprintf(out, "    %s: %s\n", name, verdict.text);
	if (verdict.hint[0])
		fprintf(out, "    hint: %s\n", verdict.hint);
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
		fprintf(out, "    held %s in %llu holds (%llu slept holding it)  p50 %s  p99 %s  "
			"max %s\n    %s (hold times): %s\n", total, (unsigned long long)e->holds,
			(unsigned long long)e->holds_slept, p50, p99, max, name, finding);
	}
	if (e->owner_holds) {
		format_duration_ns(total, sizeof(total), (double)e->owner_slept_ns);
		format_duration_ns(runnable, sizeof(runnable), (double)e->owner_runnable_ns);
		fprintf(out, "    owners seen by their waiters in %llu holds; they slept holding it "
			"in %llu (%llu sleeps, %s), and were runnable holding it for %s\n",
			(unsigned long long)e->owner_holds,
			(unsigned long long)e->owner_holds_slept,
			(unsigned long long)e->owner_sleeps, total, runnable);
	}
	report_print_histogram(out, lat.counts, &verdict.waits);
	print_sites(out, rec, e, e->callsites, e->nr_callsites, "waiters (where threads waited)", ns);
	print_sites(out, rec, e, e->sleep_sites, e->nr_sleep_sites,
		    "owners' sleeps holding it (the longest in each hold)", ns);
	print_sites(out, rec, e, e->acq_callsites, e->nr_acq_callsites,
		    "acquirers (uprobes: every lock call)", ns);
	print_holders(out, rec, e, ns);
	fputc('\n', out);
}

/* Waits for work or for a thread to end, not for a lock: summed up after
 * the locks, one line each. */
static void print_not_contention(FILE *out, const struct lock_agg *agg, enum lock_kind kind,
				 const char *title)
{
	char total[32], raw[192], name[192];
	__u64 total_ns = 0;
	size_t i, nr = 0;

	for (i = 0; i < agg->nr; i++) {
		if (agg->entries[i].kind == kind) {
			nr++;
			total_ns += agg->entries[i].total_wait_ns;
		}
	}
	if (!nr)
		return;
	format_duration_ns(total, sizeof(total), (double)total_ns);
	fprintf(out, "%s: %zu, %s waited\n", title, nr, total);
	for (i = 0; i < agg->nr; i++) {
		const struct lock_entry *e = &agg->entries[i];

		if (e->kind != kind)
			continue;
		lock_display_name(e, raw, sizeof(raw));
		name_escape(name, sizeof(name), raw, NAME_TEXT);
		format_duration_ns(total, sizeof(total), (double)e->total_wait_ns);
		fprintf(out, "  %s [%u] %s in %llu waits\n", name, e->pid, total,
			(unsigned long long)e->contentions);
	}
	fputc('\n', out);
}

int report_locks_text(FILE *out, const struct recording *rec, const struct report_opts *o)
{
	struct named_stack *ns;
	struct lock_agg agg;
	size_t i, shown = 0, joins = 0, go_idle = 0;
	int pass;
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
	for (i = 0; i < agg.nr; i++) {
		joins += agg.entries[i].kind == LOCK_KIND_JOIN;
		go_idle += agg.entries[i].kind == LOCK_KIND_GO_RUNTIME;
	}
	fprintf(out, "waitprof lock report: %zu locks and futexes", agg.nr - joins - go_idle);
	if (joins)
		fprintf(out, ", %zu thread joins", joins);
	if (go_idle)
		fprintf(out, ", %zu Go runtime idle futexes", go_idle);
	fprintf(out, " (%s)\n", rec_get_meta(rec, "lock_sources") ?: "futex");
	fprintf(out, "  futex waits %llu, wakes %llu, kernel contentions %llu, uprobe calls %llu\n",
		(unsigned long long)rec_get_counter(rec, "lock_futex_waits"),
		(unsigned long long)rec_get_counter(rec, "lock_futex_wakes"),
		(unsigned long long)rec_get_counter(rec, "lock_kernel_contentions"),
		(unsigned long long)rec_get_counter(rec, "lock_uprobe_calls"));
	if (rec_get_counter(rec, "lock_stack_cache_verified"))
		fprintf(out, "  stack cache: %llu waits reused their stack, %llu of them re-walked to "
			     "check, %llu differed (a wrong cached stack; the checked wait kept the "
			     "fresh walk); %llu walked because another caller had left the same "
			     "registers\n",
			(unsigned long long)rec_get_counter(rec, "lock_stack_cache_hits"),
			(unsigned long long)rec_get_counter(rec, "lock_stack_cache_verified"),
			(unsigned long long)rec_get_counter(rec, "lock_stack_cache_mismatch"),
			(unsigned long long)rec_get_counter(rec,
							   "lock_stack_cache_misses_other_caller"));
	if (rec_get_counter(rec, "lock_stacks_interrupted"))
		fprintf(out, "  %llu stack captures dropped: another BPF program on the CPU took "
			     "the capture buffer meanwhile\n",
			(unsigned long long)rec_get_counter(rec, "lock_stacks_interrupted"));
	if (agg.sampled)
		fprintf(out, "  uprobes sampled %s ms: attached %.1f%% of the time, so "
			"acquisition counts are a sample\n",
			rec_get_meta(rec, "uprobe_sample_ms"), 100.0 * agg.uprobe_duty);
	if (rec_get_counter(rec, "lock_dropped_hist_full") +
	    rec_get_counter(rec, "lock_dropped_stack_map_full"))
		fprintf(out, "  lock data dropped: see WARNING at the top\n");
	fputc('\n', out);
	/* Locks first; other futex uses (semaphores, barriers, ...) after
	 * them; condition variables (threads waiting for work) and thread
	 * joins (waiting for a thread to end) and idle Go runtime threads are
	 * not contention: summed up last. */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < agg.nr; i++) {
			const struct lock_entry *e = &agg.entries[i];

			if (e->kind == LOCK_KIND_CONDVAR || e->kind == LOCK_KIND_JOIN ||
			    e->kind == LOCK_KIND_GO_RUNTIME)
				continue;
			if ((e->kind == LOCK_KIND_FUTEX) != pass)
				continue;
			if (o->top > 0 && (int)shown >= o->top)
				continue;
			print_entry(out, rec, e, (int)++shown, &agg, ns);
		}
	}
	print_not_contention(out, &agg, LOCK_KIND_CONDVAR,
			     "condition variables (waiting for work, not lock contention)");
	print_not_contention(out, &agg, LOCK_KIND_JOIN,
			     "thread joins (waiting for threads to end, not lock contention)");
	print_not_contention(out, &agg, LOCK_KIND_GO_RUNTIME,
			     "Go runtime threads idle (waiting for goroutines to run, not lock "
			     "contention)");
	lock_agg_free(&agg);
	free(ns);
	return 0;
}
