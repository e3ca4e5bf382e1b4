// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The recorder's budgets and their overflow counters (budgets.h). */
#include "budgets.h"
#include "json.h"
#include "util.h"

const struct budget budgets[] = {
	{ "processes_not_tracked", "processes past the budget, not symbolized",
	  "--max-processes", NULL },
	{ "dropped_hist_full", "intervals lost: histogram map full", "--hist-size", NULL },
	{ "dropped_stack_map_full", "stacks lost: stack map full", "--stack-size", NULL },
	{ "dropped_thread_state_full", "intervals lost: no per-thread state", NULL,
	  "fewer threads" },
	{ "unwind_mappings_over_budget", "mappings without unwind tables: CFI rows over budget",
	  "--unwind-rows", NULL },
	{ "lock_dropped_hist_full", "lock waits lost: lock map full (16384 locks)", NULL,
	  "record for less time or fewer processes" },
	{ "lock_dropped_stack_map_full", "lock stacks lost: stack map full", "--stack-size", NULL },
	{ "lock_dropped_holders_full", "lock holders lost: holder map full", NULL,
	  "record for less time or fewer processes" },
	{ "lock_dropped_thread_state_full", "lock waits lost: no per-thread state", NULL,
	  "fewer threads" },
	{ "dropped_wakers_full", "wakeups lost: waker map full", NULL,
	  "record for less time or fewer processes" },
	{ "events_lost", "events lost: ring buffer full", "--events-buffer", NULL },
	{ "process_notifications_lost", "new processes not announced in time", NULL,
	  "rare; maps read at the end" },
	{ "mmap_events_lost", "perf mmap records lost: ring full", NULL,
	  "short-lived processes may be unnamed; the recorder was off the CPU too long" },
	{ "mmap_events_pending_dropped", "processes' perf mmap records not kept", NULL,
	  "over 16384 processes not yet followed; short-lived ones may be unnamed" },
	{ "pids_reused", "pids reused while recording", NULL,
	  "their older stacks may be misnamed" },
};
const size_t nr_budgets = ARRAY_LEN(budgets);

const char *budget_hint(const struct budget *b, char *buf, size_t len)
{
	if (!b->option)
		return b->advice;
	snprintf(buf, len, "raise %s", b->option);
	return buf;
}

bool budgets_exceeded(const struct recording *rec)
{
	size_t i;

	for (i = 0; i < nr_budgets; i++)
		if (rec_get_counter(rec, budgets[i].counter))
			return true;
	return false;
}

int budgets_print_text(FILE *out, const struct recording *rec)
{
	char hint[64];
	int shown = 0;
	size_t i;

	for (i = 0; i < nr_budgets; i++) {
		__u64 n = rec_get_counter(rec, budgets[i].counter);

		if (!n)
			continue;
		fprintf(out, "  WARNING:    %llu %s (%s)\n", (unsigned long long)n, budgets[i].what,
			budget_hint(&budgets[i], hint, sizeof(hint)));
		shown++;
	}
	return shown;
}

void budgets_write_json(FILE *out, const struct recording *rec)
{
	bool first = true;
	size_t i;

	fputs("\"budgets_exceeded\":[", out);
	for (i = 0; i < nr_budgets; i++) {
		__u64 n = rec_get_counter(rec, budgets[i].counter);

		if (!n)
			continue;
		fputs(first ? "{\"counter\":" : ",{\"counter\":", out);
		first = false;
		json_write_string(out, budgets[i].counter);
		fprintf(out, ",\"count\":%llu,\"what\":", (unsigned long long)n);
		json_write_string(out, budgets[i].what);
		fputs(",\"option\":", out);
		if (budgets[i].option)
			json_write_string(out, budgets[i].option);
		else
			fputs("null", out);
		fputc('}', out);
	}
	fputc(']', out);
}
