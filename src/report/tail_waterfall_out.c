// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The waterfall of a target's slowest calls (tail_waterfall.h) as text,
 * as JSON (in the report's target object) and as Chrome trace-event JSON
 * (Perfetto UI, chrome://tracing): a track per thread, the call a slice,
 * its pieces slices nested in it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "modality.h"
#include "stack_names.h"
#include "tail_report.h"
#include "tail_waterfall.h"
#include "text_common.h"

static const char *const kind_names[] = {
	[TAIL_PIECE_ON_CPU] = "on-cpu",
	[TAIL_PIECE_BLOCKED] = "blocked",
	[TAIL_PIECE_RUNNABLE] = "runnable",
	[TAIL_PIECE_MERGED] = "merged",
};

static const char *dur(char *buf, size_t len, __u64 ns)
{
	format_duration_ns(buf, len, (double)ns);
	return buf;
}

static double pct(__u64 part, __u64 whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0;
}

static __u64 waker_on_cpu(const struct tail_piece *p)
{
	__u64 off = p->waker_blocked_ns + p->waker_runqueue_ns;

	return p->waker_window_ns > off ? p->waker_window_ns - off : 0;
}

/* "woken by tid 12346, which meanwhile was 95% blocked (93% in fdatasync
 * in flush_journal), 0% runnable, 5% on CPU" */
static void text_waker(FILE *out, const struct tail_piece *p)
{
	if (!p->waker_tid)
		return;
	fprintf(out, "; woken by tid %u", p->waker_tid);
	if (!p->waker_followed) {
		fputs(" (not traced)", out);
		return;
	}
	fprintf(out, ", which meanwhile was %.0f%% blocked", pct(p->waker_blocked_ns, p->dur_ns));
	if (p->waker_reason[0]) {
		fprintf(out, " (%.0f%% %s ", pct(p->waker_site_ns, p->dur_ns),
			p->waker_chain ? "through its own waker, in" : "in");
		name_fput(out, p->waker_reason, NAME_TEXT);
		fputc(')', out);
	}
	fprintf(out, ", %.0f%% runnable, %.0f%% on CPU", pct(p->waker_runqueue_ns, p->dur_ns),
		pct(waker_on_cpu(p), p->dur_ns));
	if (p->dur_ns > p->waker_window_ns)
		fprintf(out, ", %.0f%% unknown", pct(p->dur_ns - p->waker_window_ns, p->dur_ns));
	fputs(" [off-wake]", out);
}

static void text_piece(FILE *out, const struct tail_piece *p)
{
	char at[32], len[32], a[32], b[32];

	fprintf(out, "      +%-10s %10s  ", dur(at, sizeof(at), p->start_ns),
		dur(len, sizeof(len), p->dur_ns));
	switch (p->kind) {
	case TAIL_PIECE_ON_CPU:
		fputs("on CPU", out);
		break;
	case TAIL_PIECE_BLOCKED:
		fprintf(out, "blocked %s ", p->lock[0] ? "on" : "in");
		name_fput(out, p->reason, NAME_TEXT);
		text_waker(out, p);
		break;
	case TAIL_PIECE_RUNNABLE:
		fprintf(out, "runnable (%s)", p->reason);
		break;
	case TAIL_PIECE_MERGED:
		fprintf(out, "%s: blocked %s, runnable %s, on CPU the rest", p->reason,
			dur(a, sizeof(a), p->merged_blocked_ns),
			dur(b, sizeof(b), p->merged_runqueue_ns));
		break;
	}
	fputc('\n', out);
}

static int text_call(FILE *out, struct tail_namer *n, const struct tail_record *r, size_t rank)
{
	struct tail_waterfall w;
	char total[32];
	size_t i;

	if (tail_waterfall_build(n, r, &w))
		return -ENOMEM;
	fprintf(out, "  #%zu  %s  pid %u tid %u  (%zu pieces, adding up to the call's time)\n",
		rank, dur(total, sizeof(total), r->total_ns), r->pid, r->tid, w.nr);
	for (i = 0; i < w.nr; i++)
		text_piece(out, &w.pieces[i]);
	fprintf(out, "      +%-10s %10s  return\n", total, "");
	tail_waterfall_free(&w);
	return 0;
}

int tail_waterfall_text(FILE *out, const struct tail_result *r, struct tail_namer *n)
{
	size_t i;
	int err = 0;

	if (!r->nr_slowest)
		return 0;
	fputs("Slowest calls of ", out);
	name_fput(out, r->target, NAME_TEXT);
	fputs(" (waterfall; times from the entry):\n", out);
	for (i = 0; i < r->nr_slowest && !err; i++)
		err = text_call(out, n, r->slowest[i], i + 1);
	return err;
}

static void json_piece(FILE *out, const struct tail_piece *p)
{
	fprintf(out, "{\"kind\":\"%s\",\"start_ns\":%llu,\"dur_ns\":%llu,\"reason\":",
		kind_names[p->kind], (unsigned long long)p->start_ns,
		(unsigned long long)p->dur_ns);
	if (p->kind == TAIL_PIECE_ON_CPU)
		fputs("null", out);
	else
		json_write_string(out, p->reason);
	fputs(",\"lock\":", out);
	if (p->lock[0])
		json_write_string(out, p->lock);
	else
		fputs("null", out);
	fputs(",\"waker\":", out);
	if (!p->waker_tid) {
		fputs("null", out);
	} else {
		fprintf(out, "{\"tid\":%u,\"followed\":%s,\"window_ns\":%llu,\"blocked_ns\":%llu,"
			"\"runqueue_ns\":%llu,\"site_ns\":%llu,\"two_levels\":%s,\"site\":",
			p->waker_tid, p->waker_followed ? "true" : "false",
			(unsigned long long)p->waker_window_ns,
			(unsigned long long)p->waker_blocked_ns,
			(unsigned long long)p->waker_runqueue_ns,
			(unsigned long long)p->waker_site_ns, p->waker_chain ? "true" : "false");
		if (p->waker_reason[0])
			json_write_string(out, p->waker_reason);
		else
			fputs("null", out);
		fputc('}', out);
	}
	if (p->kind == TAIL_PIECE_MERGED)
		fprintf(out, ",\"merged\":%u,\"blocked_ns\":%llu,\"runqueue_ns\":%llu", p->merged,
			(unsigned long long)p->merged_blocked_ns,
			(unsigned long long)p->merged_runqueue_ns);
	fputc('}', out);
}

int tail_waterfall_json(FILE *out, const struct tail_result *r, struct tail_namer *n)
{
	struct tail_waterfall w;
	size_t i, j;

	fputs("\"waterfall\":[", out);
	for (i = 0; i < r->nr_slowest; i++) {
		const struct tail_record *c = r->slowest[i];

		if (tail_waterfall_build(n, c, &w))
			return -ENOMEM;
		fprintf(out, "%s{\"rank\":%zu,\"pid\":%u,\"tid\":%u,\"entry_ns\":%llu,"
			"\"total_ns\":%llu,\"pieces\":[", i ? "," : "", i + 1, c->pid, c->tid,
			(unsigned long long)c->entry_ns, (unsigned long long)c->total_ns);
		for (j = 0; j < w.nr; j++) {
			if (j)
				fputc(',', out);
			json_piece(out, &w.pieces[j]);
		}
		fputs("]}", out);
		tail_waterfall_free(&w);
	}
	fputc(']', out);
	return 0;
}

/* ---- Chrome trace ---- */

static void write_ts(FILE *out, const char *key, __u64 ns)
{
	fprintf(out, ",\"%s\":%llu.%03llu", key, (unsigned long long)(ns / 1000),
		(unsigned long long)(ns % 1000));
}

static void trace_piece(FILE *out, const struct tail_record *c, const struct tail_piece *p,
			size_t rank, __u64 base)
{
	char name[TAIL_REASON_LEN + 32];

	switch (p->kind) {
	case TAIL_PIECE_ON_CPU:
		snprintf(name, sizeof(name), "on CPU");
		break;
	case TAIL_PIECE_BLOCKED:
		snprintf(name, sizeof(name), "blocked %s %s", p->lock[0] ? "on" : "in", p->reason);
		break;
	case TAIL_PIECE_RUNNABLE:
		snprintf(name, sizeof(name), "runnable (%s)", p->reason);
		break;
	default:
		snprintf(name, sizeof(name), "%s", p->reason);
	}
	fprintf(out, ",\n{\"ph\":\"X\",\"cat\":\"%s\",\"name\":", kind_names[p->kind]);
	json_write_string(out, name);
	fprintf(out, ",\"pid\":%u,\"tid\":%u", c->pid, c->tid);
	write_ts(out, "ts", c->entry_ns + p->start_ns - base);
	write_ts(out, "dur", p->dur_ns);
	fprintf(out, ",\"args\":{\"call\":%zu,\"dur_ns\":%llu", rank,
		(unsigned long long)p->dur_ns);
	if (p->waker_tid) {
		fprintf(out, ",\"waker_tid\":%u,\"offwake\":", p->waker_tid);
		if (p->waker_followed)
			fprintf(out, "\"the waker meanwhile: blocked %.0f%%%s%s%s, runnable %.0f%%, "
				"on CPU %.0f%%\"", pct(p->waker_blocked_ns, p->dur_ns),
				p->waker_reason[0] ? (p->waker_chain ? " (largest, through its own "
							     "waker: " : " (largest: ") : "",
				p->waker_reason,
				p->waker_reason[0] ? ")" : "", pct(p->waker_runqueue_ns, p->dur_ns),
				pct(waker_on_cpu(p), p->dur_ns));
		else
			fputs("\"waker not traced\"", out);
	}
	fputs("}}", out);
}

static int trace_call(FILE *out, struct tail_namer *n, const struct tail_result *r,
		      size_t rank, __u64 base)
{
	const struct tail_record *c = r->slowest[rank - 1];
	struct tail_waterfall w;
	char name[512];
	size_t i;

	if (tail_waterfall_build(n, c, &w))
		return -ENOMEM;
	snprintf(name, sizeof(name), "%s #%zu", r->target, rank);
	fputs(",\n{\"ph\":\"X\",\"cat\":\"call\",\"name\":", out);
	json_write_string(out, name);
	fprintf(out, ",\"pid\":%u,\"tid\":%u", c->pid, c->tid);
	write_ts(out, "ts", c->entry_ns - base);
	write_ts(out, "dur", c->total_ns);
	fprintf(out, ",\"args\":{\"call\":%zu,\"total_ns\":%llu,\"pieces\":%zu}}", rank,
		(unsigned long long)c->total_ns, w.nr);
	for (i = 0; i < w.nr; i++)
		trace_piece(out, c, &w.pieces[i], rank, base);
	tail_waterfall_free(&w);
	return 0;
}

int tail_write_chrome_trace(FILE *out, const struct tail_output *o)
{
	struct tail_namer n;
	__u64 base = ~0ULL;
	size_t t, i;
	int err = 0;

	if (tail_namer_init(&n, o->data->rec))
		return -ENOMEM;
	for (t = 0; t < o->nr; t++)
		for (i = 0; i < o->res[t].nr_slowest; i++)
			if (o->res[t].slowest[i]->entry_ns < base)
				base = o->res[t].slowest[i]->entry_ns;
	if (base == ~0ULL)
		base = 0;
	fprintf(out, "{\"displayTimeUnit\":\"ns\",\"otherData\":{\"clock\":\"CLOCK_MONOTONIC\","
		"\"base_ns\":%llu,\"what\":\"waitprof tail: the slowest calls\"},\n"
		"\"traceEvents\":[\n{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":0,\"tid\":0,"
		"\"args\":{\"name\":\"waitprof tail\"}}", (unsigned long long)base);
	for (t = 0; t < o->nr && !err; t++)
		for (i = 0; i < o->res[t].nr_slowest && !err; i++)
			err = trace_call(out, &n, &o->res[t], i + 1, base);
	fputs("\n]}\n", out);
	tail_namer_free(&n);
	return err;
}
