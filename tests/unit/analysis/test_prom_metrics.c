// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of src/report/prom_metrics.c (waitprof agent's /metrics) on
 * recordings built in memory: label values escaped as the exposition
 * format requires, the cardinality bounds (the largest names keep their
 * series, the rest add to "other", counters never go back), the histogram
 * buckets of lock waits (cumulative, 1-2-5 steps, +Inf = count).
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "rec_build.h"
#include "hist.h"
#include "prom_metrics.h"

int test_failures;

#define PID	100
#define HEAP	0x600000ULL
#define MS	1000000ULL

static void offcpu(struct recording *rec, const char *comm, __u32 tid, __u64 blocked,
		   __u64 runq)
{
	struct offcpu_key k = { .tgid = PID, .tid = tid, .state = 1, .bucket = 100 };
	struct offcpu_val v = { .count = 1, .total_ns = blocked + runq, .blocked_ns = blocked,
				.max_ns = blocked + runq };

	snprintf(k.comm, sizeof(k.comm), "%s", comm);
	MUST(rec_add_offcpu(rec, &k, &v));
}

/* count futex waits of wait_ns each on the lock at addr. */
static void lock_wait(struct recording *rec, __u64 addr, __u64 count, __u64 wait_ns)
{
	struct lock_key k = { .tgid = PID, .source = LOCK_SRC_FUTEX, .op = FUTEX_CLASS_WAIT,
			      .bucket = hist_bucket(wait_ns), .addr = addr, .stack_id = 0 };
	struct lock_val v = { .count = count, .total_ns = count * wait_ns, .max_ns = wait_ns };

	MUST(rec_add_lock(rec, &k, &v));
}

static struct recording *window(void)
{
	struct recording *rec = rec_new_or_die();

	add_process(rec, PID, "app", (struct map_range[]){ { HEAP, HEAP + 0x100000, "[heap]" } }, 1);
	MUST(rec_set_meta(rec, "duration_ns", "2000000000"));
	return rec;
}

static char *render(const struct prom_metrics *m)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		exit(2);
	prom_metrics_write(f, m, 1.5);
	fclose(f);
	return buf;
}

static void has(const char *text, const char *line)
{
	CHECK(strstr(text, line) != NULL, "missing: %s", line);
}

static void test_escaping_and_threads(void)
{
	struct prom_metrics *m = prom_metrics_new(50, 3);
	struct recording *w1 = window(), *w2 = window();
	char *text;

	offcpu(w1, "a\"b\\c\nd", 1, 3 * MS, 1 * MS);	/* 4 ms: first */
	offcpu(w1, "mid", 2, 2 * MS, 0);
	offcpu(w1, "small", 3, 1 * MS, 0);
	offcpu(w1, "tiny", 4, MS / 2, 0);
	rec_finish(w1);
	CHECK(prom_metrics_add_window(m, w1) == 0);
	/* A name new in the second window goes to "other"; old ones stay. */
	offcpu(w2, "new", 5, 7 * MS, 0);
	offcpu(w2, "mid", 2, 1 * MS, 0);
	rec_finish(w2);
	CHECK(prom_metrics_add_window(m, w2) == 0);
	text = render(m);
	has(text, "waitprof_offcpu_seconds_total{comm=\"a\\\"b\\\\c\\nd\",wait=\"blocked\"} 0.003000000\n");
	has(text, "waitprof_offcpu_seconds_total{comm=\"a\\\"b\\\\c\\nd\",wait=\"runqueue\"} 0.001000000\n");
	has(text, "waitprof_offcpu_seconds_total{comm=\"mid\",wait=\"blocked\"} 0.003000000\n");
	has(text, "waitprof_offcpu_seconds_total{comm=\"other\",wait=\"blocked\"} 0.008500000\n");
	CHECK(!strstr(text, "comm=\"small\"") && !strstr(text, "comm=\"new\""),
	      "names past --max-threads fold into other");
	has(text, "waitprof_recorder_cpu_seconds_total 1.500000\n");
	has(text, "waitprof_windows_total 2\n");
	free(text);
	rec_free(w1);
	rec_free(w2);
	prom_metrics_free(m);
}

static void test_lock_histogram(void)
{
	struct prom_metrics *m = prom_metrics_new(2, 50);
	struct recording *w = window();
	char *text;

	lock_wait(w, HEAP + 0x10, 10, 3 * MS);		/* most wait: own series */
	lock_wait(w, HEAP + 0x20, 4, 1 * MS);		/* past --max-locks 2: other */
	lock_wait(w, HEAP + 0x30, 1, 50 * 1000);	/* ... 50 us */
	rec_finish(w);
	CHECK(prom_metrics_add_window(m, w) == 0);
	text = render(m);
	/* 3 ms lies in a bucket whose upper edge is at most 5 ms. */
	has(text, "waitprof_lock_wait_seconds_bucket{lock=\"0x600010 ([heap])\",kind=\"futex\","
		  "comm=\"app\",le=\"0.002\"} 0\n");
	has(text, "waitprof_lock_wait_seconds_bucket{lock=\"0x600010 ([heap])\",kind=\"futex\","
		  "comm=\"app\",le=\"0.005\"} 10\n");
	has(text, "waitprof_lock_wait_seconds_bucket{lock=\"0x600010 ([heap])\",kind=\"futex\","
		  "comm=\"app\",le=\"+Inf\"} 10\n");
	has(text, "waitprof_lock_wait_seconds_count{lock=\"0x600010 ([heap])\",kind=\"futex\","
		  "comm=\"app\"} 10\n");
	has(text, "waitprof_lock_wait_seconds_sum{lock=\"0x600010 ([heap])\",kind=\"futex\","
		  "comm=\"app\"} 0.030000000\n");
	has(text, "waitprof_lock_wait_seconds_bucket{lock=\"other\",kind=\"other\",comm=\"other\","
		  "le=\"0.0001\"} 1\n");
	has(text, "waitprof_lock_wait_seconds_count{lock=\"other\",kind=\"other\",comm=\"other\"} 5\n");
	has(text, "waitprof_lock_bimodal{lock=\"0x600010 ([heap])\",kind=\"futex\",comm=\"app\"} 0\n");
	CHECK(!strstr(text, "0x600020") && !strstr(text, "waitprof_lock_bimodal{lock=\"other\""),
	      "locks past --max-locks fold into other, which has no verdict");
	free(text);
	rec_free(w);
	prom_metrics_free(m);
}

int main(void)
{
	test_escaping_and_threads();
	test_lock_histogram();
	return check_summary("prom_metrics");
}
