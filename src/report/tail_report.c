// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `waitprof tail` as text (one sentence per target comparing its slowest
 * 1% with its typical calls, then a table per band) or JSON
 * (docs/report-schema.md, "tail"). It formats what tail_bands.c computed.
 */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "json_common.h"
#include "modality.h"
#include "stack_names.h"
#include "tail_report.h"
#include "tail_sites.h"
#include "text_common.h"

#define TOP_WAITS	3	/* reasons in the sentence and per band */
#define TEXT_FRAMES	6	/* application frames shown per reason */
#define MIN_SHARE_PCT	0.5	/* text leaves out reasons that print as 0% (JSON has all) */

static const char *dur(char *buf, size_t len, double ns)
{
	format_duration_ns(buf, len, ns);
	return buf;
}

/* 2400 as "2,400". */
static const char *count_str(char *buf, size_t len, unsigned long long n)
{
	char tmp[32];
	size_t i, d, o = 0;

	d = (size_t)snprintf(tmp, sizeof(tmp), "%llu", n);
	for (i = 0; i < d && o + 2 < len; i++) {
		if (i && (d - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = tmp[i];
	}
	buf[o] = '\0';
	return buf;
}

static double pct(__u64 part, __u64 whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0;
}

static __u64 waiting_ns(const struct tail_band *b)
{
	return b->total_ns > b->on_cpu_ns ? b->total_ns - b->on_cpu_ns : 0;
}

/* " (its wakers meanwhile: 80% in fdatasync in flush_journal)": the
 * largest thing the wakers did while the followed waits lasted. */
static __u64 waker_on_cpu(const struct tail_wait_sum *w)
{
	__u64 off = w->waker_blocked_ns + w->waker_runqueue_ns;

	return w->waker_window_ns > off ? w->waker_window_ns - off : 0;
}

/* The wakers' largest site that is not the wait itself (a queue of
 * waiters on one lock wakes each other: that part is "queued"). */
static const struct tail_waker_sum *top_cause(const struct tail_wait_sum *w, __u64 *queued)
{
	const struct tail_waker_sum *top = NULL;
	size_t i;

	*queued = 0;
	for (i = 0; i < w->nr_wakers; i++) {
		if (!strcmp(w->wakers[i].reason, w->reason))
			*queued += w->wakers[i].total_ns;
		else if (!top)
			top = &w->wakers[i];
	}
	return top;
}

/* " (off-wake: its wakers meanwhile 30% in fdatasync in flush_journal,
 * 30% queued on journal_mu themselves, 22% runnable)" */
static void text_waker_brief(FILE *out, const struct tail_wait_sum *w)
{
	__u64 on_cpu = waker_on_cpu(w), queued;
	const struct tail_waker_sum *top = top_cause(w, &queued);

	if (!w->followed_ns || pct(w->followed_ns, w->total_ns) < 50)
		return;
	fputs(" (off-wake: its wakers meanwhile ", out);
	if (top) {
		fprintf(out, "%.0f%% in ", pct(top->total_ns, w->followed_ns));
		name_fput(out, top->reason, NAME_TEXT);
		fputs(", ", out);
	}
	if (queued) {
		fprintf(out, "%.0f%% queued on ", pct(queued, w->followed_ns));
		name_fput(out, w->reason, NAME_TEXT);
		fputs(" themselves, ", out);
	}
	fprintf(out, "%.0f%% runnable, %.0f%% on CPU)", pct(w->waker_runqueue_ns, w->followed_ns),
		pct(on_cpu, w->followed_ns));
}

/* "71% on journal_mu (its wakers meanwhile: 80% in fdatasync in
 * flush_journal), 18% in fdatasync in flush_journal, 4% runnable" */
static void text_shares(FILE *out, const struct tail_band *b)
{
	size_t i;

	for (i = 0; i < b->nr_waits && i < TOP_WAITS; i++) {
		const struct tail_wait_sum *w = &b->waits[i];

		if (pct(w->total_ns, b->total_ns) < MIN_SHARE_PCT)
			break;	/* most first: the rest are smaller */
		fprintf(out, "%.0f%% %s ", pct(w->total_ns, b->total_ns), w->lock ? "on" : "in");
		name_fput(out, w->reason, NAME_TEXT);
		text_waker_brief(out, w);
		fputs(", ", out);
	}
	fprintf(out, "%.0f%% runnable", pct(b->runqueue_ns, b->total_ns));
}

static void text_sentence(FILE *out, const struct tail_result *r)
{
	const struct tail_band *slow = &r->bands[TAIL_BAND_MAX];
	const struct tail_band *typical = &r->bands[TAIL_BAND_P50];
	char p50[32], p99[32], calls[32];

	name_fput(out, r->target, NAME_TEXT);
	fprintf(out, ": p50 %s, p99 %s (%s calls).", dur(p50, sizeof(p50), (double)r->p50_ns),
		dur(p99, sizeof(p99), (double)r->p99_ns),
		count_str(calls, sizeof(calls), r->calls));
	if (!slow->calls) {
		fputs(" Too few calls for a slowest 1%.\n", out);
		return;
	}
	fprintf(out, " The slowest 1%% spend %.0f%% of their time waiting: ",
		pct(waiting_ns(slow), slow->total_ns));
	text_shares(out, slow);
	fprintf(out, "; the median call waits %.0f%%.\n",
		pct(waiting_ns(typical), typical->total_ns));
}

/* "pthread_mutex_lock <- journal_append <- logger_worker", innermost first. */
static void text_frames(FILE *out, const struct recording *rec, const struct tail_wait_sum *w,
			struct named_stack *ns)
{
	unsigned int i, shown = 0;

	stack_names(rec, w->user_stack_id, w->pid, ns);
	fputs("            ", out);
	for (i = 0; i < ns->nr && shown < TEXT_FRAMES; i++, shown++) {
		if (shown)
			fputs(" <- ", out);
		name_fput(out, ns->frames[i].name ? ns->frames[i].name : "?", NAME_TEXT);
	}
	if (!ns->nr)
		fputs(ns->missing ? "[stack lost]" : "[no user stack]", out);
	fputc('\n', out);
}

/* Off-wake, one level: what the threads that ended this reason's waits
 * were doing while they lasted. */
static void text_offwake(FILE *out, const struct tail_wait_sum *w)
{
	__u64 on_cpu, named = 0;
	size_t i;

	if (!w->followed_ns)
		return;
	fprintf(out, "            off-wake (%.0f%% of these waits ended by a traced thread; "
		"what it was doing meanwhile): ", pct(w->followed_ns, w->total_ns));
	for (i = 0; i < w->nr_wakers && i < TOP_WAITS; i++) {
		if (pct(w->wakers[i].total_ns, w->followed_ns) < MIN_SHARE_PCT)
			break;
		fprintf(out, "%.0f%% in ", pct(w->wakers[i].total_ns, w->followed_ns));
		name_fput(out, w->wakers[i].reason, NAME_TEXT);
		if (w->wakers[i].chain_ns)
			fprintf(out, " (%.0f%% through its own waker)",
				pct(w->wakers[i].chain_ns, w->followed_ns));
		fputs(", ", out);
	}
	for (i = 0; i < w->nr_wakers; i++)
		named += w->wakers[i].total_ns;
	if (w->waker_blocked_ns > named &&
	    pct(w->waker_blocked_ns - named, w->followed_ns) >= MIN_SHARE_PCT)
		fprintf(out, "%.0f%% blocked elsewhere, ",
			pct(w->waker_blocked_ns - named, w->followed_ns));
	on_cpu = waker_on_cpu(w);
	fprintf(out, "%.0f%% runnable, %.0f%% on CPU", pct(w->waker_runqueue_ns, w->followed_ns),
		pct(on_cpu, w->followed_ns));
	if (w->followed_ns > w->waker_window_ns)
		fprintf(out, ", %.0f%% unknown (before the oldest of its last %d waits)",
			pct(w->followed_ns - w->waker_window_ns, w->followed_ns), 8);
	fputc('\n', out);
}

static void text_band(FILE *out, const struct tail_band *b, const struct recording *rec,
		      struct named_stack *ns)
{
	char total[32], each[32];
	size_t i;

	fprintf(out, "  %-9s %7llu calls  %10s (mean %9s)  on-CPU %3.0f%%  runnable %3.0f%%  "
		"blocked %3.0f%%\n", b->name, (unsigned long long)b->calls,
		dur(total, sizeof(total), (double)b->total_ns),
		dur(each, sizeof(each), b->calls ? (double)b->total_ns / (double)b->calls : 0),
		pct(b->on_cpu_ns, b->total_ns), pct(b->runqueue_ns, b->total_ns),
		pct(b->blocked_ns, b->total_ns));
	for (i = 0; i < b->nr_waits && i < TOP_WAITS; i++) {
		const struct tail_wait_sum *w = &b->waits[i];

		if (pct(w->total_ns, b->total_ns) < MIN_SHARE_PCT)
			break;
		fprintf(out, "      %3.0f%% %s ", pct(w->total_ns, b->total_ns),
			w->lock ? "on" : "in");
		name_fput(out, w->reason, NAME_TEXT);
		fputc('\n', out);
		if (w->site_ns)
			text_frames(out, rec, w, ns);
		text_offwake(out, w);
	}
}

static void text_counters(FILE *out, const struct tail_data *d)
{
	bool any = false;
	unsigned int i;

	for (i = 0; i < TCNT_NR; i++) {
		if (!d->counters[i])
			continue;
		fprintf(out, "%s%s %llu", any ? ", " : "counters: ", tail_counter_name(i),
			(unsigned long long)d->counters[i]);
		any = true;
	}
	if (any)
		fputc('\n', out);
}

int tail_write_text(FILE *out, const struct tail_output *o)
{
	struct named_stack *ns = malloc(sizeof(*ns));
	struct tail_namer n;
	size_t i;
	int b;

	if (!ns || tail_namer_init(&n, o->data->rec)) {
		free(ns);
		return -1;
	}
	for (i = 0; i < o->nr; i++) {
		const struct tail_result *r = &o->res[i];

		text_sentence(out, r);
		for (b = 0; b < TAIL_NR_BANDS; b++)
			text_band(out, &r->bands[b], o->data->rec, ns);
		fputc('\n', out);
		tail_waterfall_text(out, r, &n);
		if (r->nr_slowest)
			fputc('\n', out);
	}
	tail_namer_free(&n);
	fputs("on-CPU is measured (entry to switch-out, switch-in to return); runnable is the "
	      "scheduler's run_delay while off CPU; a band's shares add up to 100%; off-wake "
	      "follows a futex wait into what the thread that ended it was doing (two levels through "
	      "that thread's own futex wait)\n",
	      out);
	text_counters(out, o->data);
	report_print_unwinder(out, o->data->rec);
	free(ns);
	return 0;
}

/* null when no wait of the reason was ended by a traced thread. */
static void json_offwake(FILE *out, const struct tail_wait_sum *w, const struct recording *rec,
			 struct named_stack *ns)
{
	size_t i;

	if (!w->followed_ns) {
		fputs("null", out);
		return;
	}
	fprintf(out, "{\"followed_ns\":%llu,\"waker_window_ns\":%llu,\"waker_blocked_ns\":%llu,"
		"\"waker_runqueue_ns\":%llu,\"waker_waits\":[",
		(unsigned long long)w->followed_ns, (unsigned long long)w->waker_window_ns,
		(unsigned long long)w->waker_blocked_ns,
		(unsigned long long)w->waker_runqueue_ns);
	for (i = 0; i < w->nr_wakers; i++) {
		const struct tail_waker_sum *k = &w->wakers[i];

		fputs(i ? ",{\"reason\":" : "{\"reason\":", out);
		json_write_string(out, k->reason);
		fprintf(out, ",\"two_levels_ns\":%llu,", (unsigned long long)k->chain_ns);
		report_write_frames_json(out, rec, k->user_stack_id, k->kern_stack_id, k->pid, ns);
		fprintf(out, ",\"total_ns\":%llu}", (unsigned long long)k->total_ns);
	}
	fputs("]}", out);
}

static void json_band(FILE *out, const struct tail_band *b, const struct recording *rec,
		      struct named_stack *ns)
{
	size_t i;

	fprintf(out, "{\"band\":\"%s\",\"calls\":%llu,\"total_ns\":%llu,\"on_cpu_ns\":%llu,"
		"\"runqueue_ns\":%llu,\"blocked_ns\":%llu,\"waits\":[", b->name,
		(unsigned long long)b->calls, (unsigned long long)b->total_ns,
		(unsigned long long)b->on_cpu_ns, (unsigned long long)b->runqueue_ns,
		(unsigned long long)b->blocked_ns);
	for (i = 0; i < b->nr_waits; i++) {
		const struct tail_wait_sum *w = &b->waits[i];

		fputs(i ? ",{\"reason\":" : "{\"reason\":", out);
		json_write_string(out, w->reason);
		fputs(",\"lock\":", out);
		if (w->lock)
			json_write_string(out, w->lock);
		else
			fputs("null", out);
		fputc(',', out);
		report_write_frames_json(out, rec, w->user_stack_id, w->kern_stack_id, w->pid, ns);
		fprintf(out, ",\"total_ns\":%llu,\"offwake\":", (unsigned long long)w->total_ns);
		json_offwake(out, w, rec, ns);
		fputc('}', out);
	}
	fputs("]}", out);
}

static void json_result(FILE *out, const struct tail_result *r, const struct recording *rec,
			struct named_stack *ns, struct tail_namer *n)
{
	int b;

	fputs("{\"target\":", out);
	json_write_string(out, r->target);
	fprintf(out, ",\"calls\":%llu,\"p50_ns\":%llu,\"p90_ns\":%llu,\"p99_ns\":%llu,"
		"\"max_ns\":%llu,\"bands\":[", (unsigned long long)r->calls,
		(unsigned long long)r->p50_ns, (unsigned long long)r->p90_ns,
		(unsigned long long)r->p99_ns, (unsigned long long)r->max_ns);
	for (b = 0; b < TAIL_NR_BANDS; b++) {
		if (b)
			fputc(',', out);
		json_band(out, &r->bands[b], rec, ns);
	}
	fputs("],", out);
	tail_waterfall_json(out, r, n);
	fputc('}', out);
}

int tail_write_json(FILE *out, const struct tail_output *o)
{
	struct named_stack *ns = malloc(sizeof(*ns));
	struct tail_namer n;
	unsigned int c;
	size_t i;

	if (!ns || tail_namer_init(&n, o->data->rec)) {
		free(ns);
		return -1;
	}
	fputs("{\"targets\":[", out);
	for (i = 0; i < o->nr; i++) {
		if (i)
			fputc(',', out);
		json_result(out, &o->res[i], o->data->rec, ns, &n);
	}
	tail_namer_free(&n);
	fprintf(out, "],\"duration_ns\":%llu,\"counters\":{",
		(unsigned long long)o->data->duration_ns);
	for (c = 0; c < TCNT_NR; c++)
		fprintf(out, "%s\"%s\":%llu", c ? "," : "", tail_counter_name(c),
			(unsigned long long)o->data->counters[c]);
	/* The unwinder's and the process tracker's (docs/UNWIND.md). */
	for (i = 0; i < o->data->rec->nr_counters; i++) {
		fputc(',', out);
		json_write_string(out, o->data->rec->counters[i].name);
		fprintf(out, ":%llu", (unsigned long long)o->data->rec->counters[i].value);
	}
	fputs("}}\n", out);
	free(ns);
	return 0;
}
