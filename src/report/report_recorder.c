// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * What the recording cost and what it could not keep, first in every report:
 * the recorder's CPU time and memory, its BPF programs' run time, the
 * system's IPIs while it traced, and every budget that overflowed.
 */
#include <string.h>

#include "budgets.h"
#include "json.h"
#include "modality.h"
#include "report.h"
#include "util.h"

/* Recordings from before the recorder measured itself have no such figures. */
static bool has_cost(const struct recording *rec)
{
	return rec_get_meta(rec, "bpf_stats") != NULL;
}

static bool has_counter(const struct recording *rec, const char *name)
{
	size_t i;

	for (i = 0; i < rec->nr_counters; i++)
		if (!strcmp(rec->counters[i].name, name))
			return true;
	return false;
}

/* Calls fn for each BPF program with its run count and run time. */
static void for_each_prog(const struct recording *rec,
			  void (*fn)(void *ctx, const char *name, __u64 runs, __u64 ns), void *ctx)
{
	const size_t plen = strlen(BPF_RUN_COUNT_PREFIX);
	char ns_name[128];
	size_t i;

	for (i = 0; i < rec->nr_counters; i++) {
		const struct rec_counter *c = &rec->counters[i];

		if (strncmp(c->name, BPF_RUN_COUNT_PREFIX, plen))
			continue;
		snprintf(ns_name, sizeof(ns_name), BPF_RUN_NS_PREFIX "%s", c->name + plen);
		fn(ctx, c->name + plen, c->value, rec_get_counter(rec, ns_name));
	}
}

static void print_prog(void *ctx, const char *name, __u64 runs, __u64 ns)
{
	char total[32];

	if (!runs)
		return;
	format_duration_ns(total, sizeof(total), (double)ns);
	fprintf(ctx, "    %-24s %12llu runs %8.0f ns/run  %s\n", name, (unsigned long long)runs,
		(double)ns / runs, total);
}

static void sum_prog(void *ctx, const char *name, __u64 runs, __u64 ns)
{
	__u64 *sum = ctx;

	sum[0] += runs;
	sum[1] += ns;
}

static void print_cost(FILE *out, const struct recording *rec)
{
	const char *stats = rec_get_meta(rec, "bpf_stats");
	__u64 user = rec_get_counter(rec, "recorder_cpu_user_us");
	__u64 sys = rec_get_counter(rec, "recorder_cpu_sys_us");
	__u64 sum[2] = {};
	char total[32];

	fprintf(out, "  CPU:        %.2f s (%.2f user, %.2f system; %.2f while tracing), "
		     "peak RSS %.1f MB\n", (user + sys) / 1e6, user / 1e6, sys / 1e6,
		rec_get_counter(rec, "recorder_cpu_tracing_us") / 1e6,
		rec_get_counter(rec, "recorder_max_rss_kb") / 1024.0);
	for_each_prog(rec, sum_prog, sum);
	if (!sum[0]) {
		fprintf(out, "  BPF:        run time not measured (kernel BPF statistics %s; "
			     "record --bpf-stats measures it)\n", stats);
	} else {
		format_duration_ns(total, sizeof(total), (double)sum[1]);
		fprintf(out, "  BPF:        %s in %llu program runs (BPF statistics %s)\n", total,
			(unsigned long long)sum[0], stats);
		for_each_prog(rec, print_prog, out);
	}
	if (has_counter(rec, "system_ipi_function_calls"))
		fprintf(out, "  IPIs:       %llu TLB shootdowns, %llu function calls while tracing "
			     "(system-wide: every process's, not only the recorder's)\n",
			(unsigned long long)rec_get_counter(rec, "system_ipi_tlb_shootdowns"),
			(unsigned long long)rec_get_counter(rec, "system_ipi_function_calls"));
}

/* "path build-id; path build-id; ...": the first few by file name. */
static void print_missing_symbols(FILE *out, const char *list)
{
	const char *p = list, *end, *name;
	unsigned int nr = 0, shown = 0;

	for (end = list; (end = strchr(end, ';')); end++)
		nr++;
	nr++;
	fprintf(out, "  Symbols:    %u object%s without a symbol table (offsets shown; install "
		     "debug symbols or set DEBUGINFOD_URLS):", nr, nr == 1 ? "" : "s");
	while (p && *p && shown < 6) {
		end = strchr(p, ' ');
		if (!end)
			break;
		for (name = end; name > p && name[-1] != '/'; name--)
			;
		fprintf(out, "%s %.*s", shown ? "," : "", (int)(end - name), name);
		shown++;
		p = strchr(end, ';');
		p = p ? p + 2 : NULL;
	}
	if (nr > shown)
		fprintf(out, " and %u more (JSON: recording.objects_without_symbols)", nr - shown);
	fputc('\n', out);
}

/* Per-object work (docs/RECORDING.md): each object read once, maps read
 * again only when they changed. */
static void print_objects(FILE *out, const struct recording *rec)
{
	const char *missing = rec_get_meta(rec, "objects_without_symbols");

	if (has_counter(rec, "maps_reads"))
		fprintf(out, "  Objects:    %llu read, %llu unwind tables built, %llu reused; "
			     "maps read %llu times (%llu unchanged), %.1f ms\n",
			(unsigned long long)rec_get_counter(rec, "objects_read"),
			(unsigned long long)rec_get_counter(rec, "unwind_tables_built"),
			(unsigned long long)rec_get_counter(rec, "unwind_tables_reused"),
			(unsigned long long)rec_get_counter(rec, "maps_reads"),
			(unsigned long long)rec_get_counter(rec, "maps_reads_unchanged"),
			rec_get_counter(rec, "maps_read_us") / 1e3);
	/* Recordings made without perf's mmap records have none of these. */
	if (has_counter(rec, "mmap_events"))
		fprintf(out, "              %llu code mappings from perf records (%llu lost), "
			     "%llu processes named from them alone\n",
			(unsigned long long)rec_get_counter(rec, "mmap_events_used"),
			(unsigned long long)rec_get_counter(rec, "mmap_events_lost"),
			(unsigned long long)rec_get_counter(rec, "processes_named_from_mmap_events"));
	if (missing)
		print_missing_symbols(out, missing);
}

void report_recorder_text(FILE *out, const struct recording *rec)
{
	bool over = budgets_exceeded(rec);

	if (!has_cost(rec) && !over)
		return;
	fprintf(out, "waitprof recorder: %s\n",
		over ? "budgets overflowed, data was lost (see WARNING)" : "nothing over budget");
	if (has_cost(rec)) {
		print_cost(out, rec);
		print_objects(out, rec);
	}
	budgets_print_text(out, rec);
	fputc('\n', out);
}

static void write_prog(void *ctx, const char *name, __u64 runs, __u64 ns)
{
	struct { FILE *out; bool first; } *w = ctx;

	fputs(w->first ? "{\"name\":" : ",{\"name\":", w->out);
	w->first = false;
	json_write_string(w->out, name);
	fprintf(w->out, ",\"run_count\":%llu,\"run_time_ns\":%llu}", (unsigned long long)runs,
		(unsigned long long)ns);
}

static void write_cost_json(FILE *out, const struct recording *rec)
{
	struct { FILE *out; bool first; } w = { out, true };

	fprintf(out, "\"cpu_user_us\":%llu,\"cpu_sys_us\":%llu,\"cpu_tracing_us\":%llu,"
		     "\"max_rss_kb\":%llu,\"bpf_stats\":",
		(unsigned long long)rec_get_counter(rec, "recorder_cpu_user_us"),
		(unsigned long long)rec_get_counter(rec, "recorder_cpu_sys_us"),
		(unsigned long long)rec_get_counter(rec, "recorder_cpu_tracing_us"),
		(unsigned long long)rec_get_counter(rec, "recorder_max_rss_kb"));
	json_write_string(out, rec_get_meta(rec, "bpf_stats"));
	fputs(",\"bpf_programs\":[", out);
	for_each_prog(rec, write_prog, &w);
	fputs("],\"system_ipis\":", out);
	if (has_counter(rec, "system_ipi_function_calls"))
		fprintf(out, "{\"tlb_shootdowns\":%llu,\"function_calls\":%llu}",
			(unsigned long long)rec_get_counter(rec, "system_ipi_tlb_shootdowns"),
			(unsigned long long)rec_get_counter(rec, "system_ipi_function_calls"));
	else
		fputs("null", out);
	fputc(',', out);
}

void report_recorder_json(FILE *out, const struct recording *rec)
{
	fputs("\"recorder\":{", out);
	if (has_cost(rec))
		write_cost_json(out, rec);
	budgets_write_json(out, rec);
	fputc('}', out);
}
