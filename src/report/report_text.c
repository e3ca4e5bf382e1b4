// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The text report: what was recorded, what was lost, then the top stacks
 * with totals, counts and a latency histogram each. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "budgets.h"
#include "findings.h"
#include "modality.h"
#include "report.h"
#include "report_locks.h"
#include "stack_ends.h"
#include "stack_names.h"
#include "text_common.h"
#include "util.h"

static void print_header(FILE *out, const struct recording *rec, const struct offcpu_agg *agg,
			 const struct report_opts *o)
{
	const char *v;
	char total[32], dur[32];
	double dur_ns = 0;

	v = rec_get_meta(rec, "duration_ns");
	if (v)
		dur_ns = strtod(v, NULL);
	format_duration_ns(dur, sizeof(dur), dur_ns);
	format_duration_ns(total, sizeof(total), (double)agg->total_ns);
	fprintf(out, "waitprof off-CPU report%s\n", rec->complete ? "" : " (INCOMPLETE recording)");
	if ((v = rec_get_meta(rec, "command_line")))
		fprintf(out, "  recorded:   %s\n", v);
	fprintf(out, "  started:    %s on %s (%s), for %s, via %s\n",
		rec_get_meta(rec, "start_time") ?: "?", rec_get_meta(rec, "hostname") ?: "?",
		rec_get_meta(rec, "kernel") ?: "?", dur, rec_get_meta(rec, "attach_mode") ?: "?");
	fprintf(out, "  off-CPU:    %s %s in %zu stacks\n", total,
		o->wait == WAIT_BLOCKED ? "blocked" : o->wait == WAIT_RUNQUEUE ? "waiting for a CPU" :
		"off-CPU", agg->nr);
}

/*
 * The share of off-CPU time whose user call chain reaches a root (_start,
 * clone), and the reasons the rest stops short, largest first: a chain cut
 * at a signal handler or a JIT frame hides who the time belongs to.
 */
static void print_user_chains(FILE *out, const struct recording *rec,
			      const struct offcpu_agg *agg, const struct report_opts *o)
{
	struct stack_ends ends;
	__u64 truncated;
	bool shown[CFI_STOP_NR] = {};
	int i, k, best;

	stack_ends_collect(rec, agg, o->wait, &ends);
	if (!ends.user_ns || ends.unknown_ns == ends.user_ns)
		return;
	truncated = stack_ends_truncated_ns(&ends);
	fprintf(out, "  chains:     %.1f%% of the off-CPU time with a user stack reaches a root "
		     "(_start, clone); %.1f%% truncated",
		100.0 * ends.root_ns / ends.user_ns, 100.0 * truncated / ends.user_ns);
	for (k = 0; truncated && k < CFI_STOP_NR; k++) {
		best = -1;
		for (i = 0; i < CFI_STOP_NR; i++)
			if (!shown[i] && ends.stop_ns[i] &&
			    (best < 0 || ends.stop_ns[i] > ends.stop_ns[best]))
				best = i;
		if (best < 0)
			break;
		shown[best] = true;
		fprintf(out, "%s %.1f%% %s", k ? "," : ":", 100.0 * ends.stop_ns[best] / ends.user_ns,
			stack_end_words(best));
	}
	if (ends.unknown_ns)
		fprintf(out, "; %.1f%% not known (recorded before chain ends were kept)",
			100.0 * ends.unknown_ns / ends.user_ns);
	fputc('\n', out);
}

/*
 * The stack cache in words: how often a switch-out reused the stacks of an
 * earlier one from the same place, why the others were walked, and how the
 * hits that were walked anyway to check compared. A disagreement is a hit
 * whose fresh walk gave another stack than the cache held: that interval
 * got the fresh walk, but the hits between two checks kept the cached
 * stack, so the share of disagreements estimates the share of cached
 * stacks that are wrong.
 */
static void print_stack_cache(FILE *out, const struct recording *rec)
{
	__u64 hits = rec_get_counter(rec, "stack_cache_hits");
	__u64 miss = rec_get_counter(rec, "stack_cache_misses");
	__u64 stale = rec_get_counter(rec, "stack_cache_misses_stale");
	__u64 verified = rec_get_counter(rec, "stack_cache_verified");
	__u64 user = rec_get_counter(rec, "stack_cache_mismatch_user");
	__u64 kern = rec_get_counter(rec, "stack_cache_mismatch_kernel");
	__u64 lookups = hits + miss + stale;

	fprintf(out, "  stack cache: %llu of %llu switch-outs reused stacks (%.1f%%); walked: "
		     "%llu at a new place (%llu where another caller had left the same registers), "
		     "%llu after the process's unwind tables changed\n",
		(unsigned long long)hits, (unsigned long long)lookups,
		lookups ? 100.0 * hits / lookups : 0.0, (unsigned long long)miss,
		(unsigned long long)rec_get_counter(rec, "stack_cache_misses_other_caller"),
		(unsigned long long)stale);
	fprintf(out, "               %llu hits re-walked to check: %llu user and %llu kernel "
		     "stacks differed (%.2f%%: about that share of the cached stacks may be wrong; "
		     "the checked intervals kept the fresh walk)\n",
		(unsigned long long)verified, (unsigned long long)user, (unsigned long long)kern,
		verified ? 100.0 * (user > kern ? user : kern) / verified : 0.0);
	if (rec_get_counter(rec, "stacks_interrupted"))
		fprintf(out, "               %llu stack captures dropped: another BPF program on the "
			     "CPU took the capture buffer meanwhile\n",
			(unsigned long long)rec_get_counter(rec, "stacks_interrupted"));
}

/* The stack walks' figures, the stack cache's self-check and the
 * unwinder's; losses to budgets lead the report (report_recorder_text). */
static void print_losses(FILE *out, const struct recording *rec, const struct offcpu_agg *agg,
			 const struct report_opts *o)
{
	__u64 verified = rec_get_counter(rec, "stack_cache_verified");
	__u64 cfi = rec_get_counter(rec, "unwind_cfi_walks");
	bool any = budgets_exceeded(rec);

	fprintf(out, "  stacks:     %llu user walks empty, %llu truncated, %llu kernel failed%s\n",
		(unsigned long long)rec_get_counter(rec, "user_stack_empty"),
		(unsigned long long)rec_get_counter(rec, "user_stack_truncated"),
		(unsigned long long)rec_get_counter(rec, "kernel_stack_failed"),
		any ? "; data dropped: see WARNING at the top" : "; nothing dropped");
	print_user_chains(out, rec, agg, o);
	if (cfi || rec_get_counter(rec, "unwind_fp_walks"))
		fprintf(out, "  unwinder:   %llu CFI walks (%llu to the outermost frame), "
			     "%llu frame-pointer walks (%llu where CFI had no table)\n",
			(unsigned long long)cfi,
			(unsigned long long)rec_get_counter(rec, "unwind_cfi_stop_end"),
			(unsigned long long)rec_get_counter(rec, "unwind_fp_walks"),
			(unsigned long long)rec_get_counter(rec, "unwind_fp_fallbacks"));
	if (verified || rec_get_counter(rec, "stack_cache_hits"))
		print_stack_cache(out, rec);
	fputc('\n', out);
}

static void print_frames(FILE *out, const struct named_stack *ns, const char *tag)
{
	unsigned int i;

	for (i = 0; i < ns->nr; i++) {
		const struct named_frame *f = &ns->frames[i];

		fprintf(out, "      %s", tag);
		name_fput(out, f->name, NAME_TEXT);
		fputs(f->kind == FRAME_INLINED ? " (inlined)" : "", out);
		if (f->sym && f->sym->file)
			fprintf(out, "  %s:%u", f->sym->file, f->sym->line);
		fputc('\n', out);
	}
}

static void print_entry(FILE *out, const struct recording *rec, const struct offcpu_entry *e,
			int rank, const struct offcpu_agg *agg, const struct report_opts *o,
			struct named_stack *ns)
{
	char total[32], avg[32], max[32], runq[32], finding[512], comm[TASK_COMM_LEN * 4];
	__u64 value = offcpu_entry_value(e, o->wait);
	struct modality m;

	format_duration_ns(total, sizeof(total), (double)value);
	format_duration_ns(avg, sizeof(avg), e->count ? (double)e->total_ns / e->count : 0);
	format_duration_ns(max, sizeof(max), (double)e->max_ns);
	format_duration_ns(runq, sizeof(runq), (double)(e->total_ns - e->blocked_ns));
	fprintf(out, "#%d %s [%u]  %s (%.1f%%)  count %llu  avg %s  max %s  runqueue %s\n",
		rank, name_escape(comm, sizeof(comm), e->comm, NAME_TEXT), e->tgid, total, agg->total_ns ? 100.0 * value / agg->total_ns : 0.0,
		(unsigned long long)e->count, avg, max, runq);
	stack_names(rec, e->kern_stack_id, 0, ns);
	print_frames(out, ns, "[k] ");
	stack_names(rec, e->user_stack_id, e->tgid, ns);
	if (ns->missing)
		fprintf(out, "      [missing user stack]\n");
	print_frames(out, ns, "");
	modality_analyze(e->hist_count, e->hist_sum_ns, &m);
	if (e->count >= MODALITY_MIN_SAMPLES) {
		modality_describe(finding, sizeof(finding), &m, "waits");
		fprintf(out, "      modality: %s\n", finding);
	}
	report_print_histogram(out, e->hist_count, &m);
	fputc('\n', out);
}

int report_text(FILE *out, const struct recording *rec, const struct report_opts *o)
{
	struct named_stack *ns = malloc(sizeof(*ns));
	struct findings findings;
	struct offcpu_agg agg;
	size_t i;
	int err;

	if (!ns)
		return -ENOMEM;
	err = offcpu_aggregate(rec, o->wait, &agg);
	if (err) {
		free(ns);
		return err;
	}
	/* What the recording cost and lost leads: it qualifies all the rest.
	 * Then findings, then lock contention: it names what threads queue on. */
	report_recorder_text(out, rec);
	err = findings_collect(rec, o->wait, &findings);
	if (!err) {
		findings_print_text(out, &findings);
		findings_free(&findings);
		err = report_locks_text(out, rec, o);
	}
	if (err) {
		offcpu_agg_free(&agg);
		free(ns);
		return err;
	}
	print_header(out, rec, &agg, o);
	print_losses(out, rec, &agg, o);
	for (i = 0; i < agg.nr && (o->top <= 0 || (int)i < o->top); i++)
		print_entry(out, rec, &agg.entries[i], (int)i + 1, &agg, o, ns);
	if (o->top > 0 && agg.nr > (size_t)o->top)
		fprintf(out, "... %zu more stacks (--top 0 shows all)\n", agg.nr - o->top);
	offcpu_agg_free(&agg);
	free(ns);
	return 0;
}
