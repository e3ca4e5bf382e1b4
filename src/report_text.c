// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The text report: what was recorded, what was lost, then the top stacks
 * with totals, counts and a latency histogram each. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "findings.h"
#include "modality.h"
#include "report.h"
#include "report_locks.h"
#include "stack_names.h"
#include "util.h"

#define HIST_BAR_WIDTH 40

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

/* Every loss is reported, and the stack cache's self-check with it. */
/* Every loss is reported with the knob that avoids it, and the stack
 * cache's self-check and the unwinder's figures with them. */
static void print_losses(FILE *out, const struct recording *rec)
{
	static const struct { const char *counter, *what, *knob; } drops[] = {
		{ "dropped_hist_full", "intervals lost: histogram map full", "raise --hist-size" },
		{ "dropped_stack_map_full", "stacks lost: stack map full", "raise --stack-size" },
		{ "dropped_thread_state_full", "intervals lost: no per-thread state", "fewer threads" },
		{ "process_notifications_lost", "new processes not announced in time", "rare; maps read at the end" },
		{ "processes_not_tracked", "processes past the budget, not symbolized", "raise --max-processes" },
		{ "pids_reused", "pids reused while recording", "their older stacks may be misnamed" },
	};
	__u64 verified = rec_get_counter(rec, "stack_cache_verified");
	__u64 cfi = rec_get_counter(rec, "unwind_cfi_walks");
	bool any = false;
	size_t i;

	for (i = 0; i < ARRAY_LEN(drops); i++) {
		__u64 n = rec_get_counter(rec, drops[i].counter);

		if (n) {
			fprintf(out, "  WARNING:    %llu %s (%s)\n", (unsigned long long)n,
				drops[i].what, drops[i].knob);
			any = true;
		}
	}
	fprintf(out, "  stacks:     %llu user walks empty, %llu truncated, %llu kernel failed%s\n",
		(unsigned long long)rec_get_counter(rec, "user_stack_empty"),
		(unsigned long long)rec_get_counter(rec, "user_stack_truncated"),
		(unsigned long long)rec_get_counter(rec, "kernel_stack_failed"),
		any ? "" : "; nothing dropped");
	if (cfi || rec_get_counter(rec, "unwind_fp_walks"))
		fprintf(out, "  unwinder:   %llu CFI walks (%llu to the outermost frame), "
			     "%llu frame-pointer walks (%llu where CFI had no table)\n",
			(unsigned long long)cfi,
			(unsigned long long)rec_get_counter(rec, "unwind_cfi_stop_end"),
			(unsigned long long)rec_get_counter(rec, "unwind_fp_walks"),
			(unsigned long long)rec_get_counter(rec, "unwind_fp_fallbacks"));
	if (verified)
		fprintf(out, "  stack cache: %llu hits, %llu re-walked, %llu user / %llu kernel mismatches\n",
			(unsigned long long)rec_get_counter(rec, "stack_cache_hits"),
			(unsigned long long)verified,
			(unsigned long long)rec_get_counter(rec, "stack_cache_mismatch_user"),
			(unsigned long long)rec_get_counter(rec, "stack_cache_mismatch_kernel"));
	fputc('\n', out);
}

static void print_frames(FILE *out, const struct named_stack *ns, const char *tag)
{
	unsigned int i;

	for (i = 0; i < ns->nr; i++) {
		const struct named_frame *f = &ns->frames[i];

		fprintf(out, "      %s%s%s", tag, f->name, f->kind == FRAME_INLINED ? " (inlined)" : "");
		if (f->sym && f->sym->file)
			fprintf(out, "  %s:%u", f->sym->file, f->sym->line);
		fputc('\n', out);
	}
}

/* Bytes beyond one per column: UTF-8 continuation bytes. */
static int utf8_extra(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) == 0x80;
	return n;
}

static int hist_row(unsigned int bucket)
{
	return bucket == 0 ? 0 : bucket == HIST_OVERFLOW ? HIST_NR_OCTAVES + 1 :
	       1 + ((int)bucket - 1) / HIST_SUBS;
}

/* "<- mode 2: 45%, ~227 µs" on the row holding a mode's centre, "-- antimode"
 * on the row of the valley between the two main modes. */
static void print_marks(FILE *out, const struct modality *m, int r)
{
	char dur[32];
	unsigned int k;

	if (!m || m->nr_modes < 2)
		return;
	for (k = 0; k < m->nr_modes; k++) {
		if (hist_row(hist_bucket((unsigned long long)m->modes[k].center_ns)) != r)
			continue;
		format_duration_ns(dur, sizeof(dur), m->modes[k].center_ns);
		fprintf(out, "  <- mode %u: %.0f%%, ~%s", k + 1, m->modes[k].count_share * 100, dur);
	}
	if (m->antimode_ns > 0 && hist_row(hist_bucket((unsigned long long)m->antimode_ns)) == r) {
		format_duration_ns(dur, sizeof(dur), m->antimode_ns);
		fprintf(out, "  -- antimode ~%s", dur);
	}
}

/* Octave rows (power-of-two ranges): the log-linear detail is for analysis,
 * a person reads a shorter histogram. m (or NULL) marks the modes. */
void report_print_histogram(FILE *out, const __u64 *counts, const struct modality *m)
{
	__u64 rows[HIST_NR_OCTAVES + 2] = {}, max = 0;
	int first = -1, last = -1, r, i;
	char lo[32], hi[32];

	for (i = 0; i < HIST_NR_BUCKETS; i++)
		rows[hist_row(i)] += counts[i];
	for (r = 0; r < HIST_NR_OCTAVES + 2; r++) {
		if (!rows[r])
			continue;
		if (first < 0)
			first = r;
		last = r;
		if (rows[r] > max)
			max = rows[r];
	}
	for (r = first; r >= 0 && r <= last; r++) {
		unsigned int lo_b = r == 0 ? 0 : 1 + (r - 1) * HIST_SUBS;
		unsigned int hi_b = r == HIST_NR_OCTAVES + 1 ? HIST_OVERFLOW : r * HIST_SUBS + 1;
		int bar = (int)((rows[r] * HIST_BAR_WIDTH + max - 1) / max);

		format_duration_ns(lo, sizeof(lo), (double)hist_bucket_lower(lo_b));
		if (r == HIST_NR_OCTAVES + 1)
			snprintf(hi, sizeof(hi), "...");
		else
			format_duration_ns(hi, sizeof(hi), (double)hist_bucket_lower(hi_b));
		/* Widths in columns: "µ" is two bytes. */
		fprintf(out, "      %*s .. %-*s |%-*.*s| %llu", 10 + utf8_extra(lo), lo,
			10 + utf8_extra(hi), hi, HIST_BAR_WIDTH, bar,
			"########################################", (unsigned long long)rows[r]);
		print_marks(out, m, r);
		fputc('\n', out);
	}
}

static void print_entry(FILE *out, const struct recording *rec, const struct offcpu_entry *e,
			int rank, const struct offcpu_agg *agg, const struct report_opts *o,
			struct named_stack *ns)
{
	char total[32], avg[32], max[32], runq[32], finding[512];
	__u64 value = offcpu_entry_value(e, o->wait);
	struct modality m;

	format_duration_ns(total, sizeof(total), (double)value);
	format_duration_ns(avg, sizeof(avg), e->count ? (double)e->total_ns / e->count : 0);
	format_duration_ns(max, sizeof(max), (double)e->max_ns);
	format_duration_ns(runq, sizeof(runq), (double)(e->total_ns - e->blocked_ns));
	fprintf(out, "#%d %s [%u]  %s (%.1f%%)  count %llu  avg %s  max %s  runqueue %s\n",
		rank, e->comm, e->tgid, total, agg->total_ns ? 100.0 * value / agg->total_ns : 0.0,
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
	/* Findings lead, then lock contention: it names what threads queue on. */
	err = findings_collect(rec, o, &findings);
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
	print_losses(out, rec);
	for (i = 0; i < agg.nr && (o->top <= 0 || (int)i < o->top); i++)
		print_entry(out, rec, &agg.entries[i], (int)i + 1, &agg, o, ns);
	if (o->top > 0 && agg.nr > (size_t)o->top)
		fprintf(out, "... %zu more stacks (--top 0 shows all)\n", agg.nr - o->top);
	offcpu_agg_free(&agg);
	free(ns);
	return 0;
}
