// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of src/analysis/offcpu_agg.c on recordings built in memory:
 * records merged per (process, thread name, user stack, kernel stack)
 * across threads, states and buckets; the histograms per bucket, the
 * underflow and overflow buckets included; the order and the total by wait
 * part; an empty recording; stack ids the recording does not hold.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "offcpu_agg.h"
#include "rec_build.h"
#include "rec_store.h"

int test_failures;

#define MS 1000000ULL
#define SEC (1000 * MS)

static void add(struct recording *rec, __u32 tgid, __u32 tid, const char *comm, __u64 user,
		__u64 kern, __u8 state, __u16 bucket, __u64 count, __u64 total, __u64 blocked,
		__u64 max)
{
	struct offcpu_key k = {
		.tgid = tgid, .tid = tid, .user_stack_id = user, .kern_stack_id = kern,
		.state = state, .bucket = bucket,
	};
	struct offcpu_val v = {
		.count = count, .total_ns = total, .blocked_ns = blocked, .max_ns = max,
	};

	memcpy(k.comm, comm, strnlen(comm, sizeof(k.comm)));
	MUST(rec_add_offcpu(rec, &k, &v));
}

static const struct offcpu_entry *find(const struct offcpu_agg *agg, __u32 tgid,
				       const char *comm, __u64 user, __u64 kern)
{
	const struct offcpu_entry *found = NULL;
	size_t i;

	for (i = 0; i < agg->nr; i++) {
		const struct offcpu_entry *e = &agg->entries[i];

		if (e->tgid != tgid || strncmp(e->comm, comm, TASK_COMM_LEN) ||
		    e->user_stack_id != user || e->kern_stack_id != kern)
			continue;
		CHECK(!found, "two entries for %u %s %llu/%llu", tgid, comm,
		      (unsigned long long)user, (unsigned long long)kern);
		found = e;
	}
	return found;
}

/* Finishes rec and aggregates it by part, expecting nr entries. */
static void aggregate(struct recording *rec, enum wait_part part, struct offcpu_agg *agg,
		      size_t nr)
{
	rec_finish(rec);
	CHECK_U64(offcpu_aggregate(rec, part, agg), 0);
	CHECK_U64(agg->nr, nr);
}

static __u64 hist_total(const __u64 *h)
{
	__u64 sum = 0;
	unsigned int i;

	for (i = 0; i < HIST_NR_BUCKETS; i++)
		sum += h[i];
	return sum;
}

static void test_empty(void)
{
	struct recording *rec = rec_new_or_die();
	struct offcpu_agg agg = { .nr = 99 };

	aggregate(rec, WAIT_ALL, &agg, 0);
	CHECK_U64(agg.total_ns, 0);
	CHECK(!agg.entries, "no entries allocated");
	offcpu_agg_free(&agg);
	rec_free(rec);
}

/* One thread, one stack, one bucket: the entry is the record. */
static void test_one_bucket(void)
{
	struct recording *rec = rec_new_or_die();
	unsigned int b = hist_bucket(3 * MS);
	struct offcpu_agg agg;
	const struct offcpu_entry *e;

	add(rec, 10, 11, "web", 1, 2, OFFCPU_INTERRUPTIBLE, b, 4, 12 * MS, 11 * MS, 3500000);
	aggregate(rec, WAIT_ALL, &agg, 1);
	e = find(&agg, 10, "web", 1, 2);
	CHECK(e, "the entry is there");
	if (e) {
		CHECK_U64(e->count, 4);
		CHECK_U64(e->total_ns, 12 * MS);
		CHECK_U64(e->blocked_ns, 11 * MS);
		CHECK_U64(e->max_ns, 3500000);
		CHECK_U64(e->hist_count[b], 4);
		CHECK_U64(e->hist_sum_ns[b], 12 * MS);
		CHECK_U64(hist_total(e->hist_count), 4);
		CHECK_U64(hist_total(e->hist_sum_ns), 12 * MS);
	}
	CHECK_U64(agg.total_ns, 12 * MS);
	offcpu_agg_free(&agg);
	CHECK(!agg.entries && !agg.nr, "freed and zeroed");
	rec_free(rec);
}

/*
 * Threads, states and buckets of one (process, name, stacks) merge into one
 * entry; the underflow (0) and overflow buckets count like any other; a
 * record whose bucket is past the histogram (which the file reader never
 * loads) adds nothing.
 */
static void test_merge(void)
{
	struct recording *rec = rec_new_or_die();
	unsigned int b = hist_bucket(100000);
	struct offcpu_agg agg;
	const struct offcpu_entry *e;

	add(rec, 10, 11, "web", 1, 2, OFFCPU_INTERRUPTIBLE, b, 2, 200000, 180000, 120000);
	add(rec, 10, 12, "web", 1, 2, OFFCPU_PREEMPTED, b, 1, 100000, 0, 100000);
	add(rec, 10, 11, "web", 1, 2, OFFCPU_INTERRUPTIBLE, HIST_OVERFLOW, 1, 300 * SEC,
	    299 * SEC, 300 * SEC);
	add(rec, 10, 13, "web", 1, 2, OFFCPU_UNINTERRUPTIBLE, 0, 4, 400, 400, 120);
	add(rec, 10, 13, "web", 1, 2, OFFCPU_UNINTERRUPTIBLE, HIST_NR_BUCKETS, 99, 99, 99, 99);
	aggregate(rec, WAIT_ALL, &agg, 1);
	e = find(&agg, 10, "web", 1, 2);
	CHECK(e, "one entry for the three threads");
	if (e) {
		CHECK_U64(e->count, 2 + 1 + 1 + 4);
		CHECK_U64(e->total_ns, 200000 + 100000 + 300 * SEC + 400);
		CHECK_U64(e->blocked_ns, 180000 + 0 + 299 * SEC + 400);
		CHECK_U64(e->max_ns, 300 * SEC);
		CHECK_U64(e->hist_count[b], 3);
		CHECK_U64(e->hist_sum_ns[b], 300000);
		CHECK_U64(e->hist_count[0], 4);
		CHECK_U64(e->hist_sum_ns[0], 400);
		CHECK_U64(e->hist_count[HIST_OVERFLOW], 1);
		CHECK_U64(e->hist_sum_ns[HIST_OVERFLOW], 300 * SEC);
		CHECK_U64(hist_total(e->hist_count), e->count);
		CHECK_U64(hist_total(e->hist_sum_ns), e->total_ns);
	}
	CHECK_U64(agg.total_ns, 200000 + 100000 + 300 * SEC + 400);
	offcpu_agg_free(&agg);
	rec_free(rec);
}

/*
 * Each part of the key keeps entries apart: process, thread name, user
 * stack, kernel stack. Stack ids the recording holds no stack for (and 0,
 * none) group like any other: aggregation never looks stacks up.
 */
static void test_groups(void)
{
	static const struct {
		__u32 tgid;
		const char *comm;
		__u64 user, kern, total;
	} want[] = {
		{ 10, "web", 1, 2, 60 * MS },
		{ 10, "web-io", 1, 2, 50 * MS },
		{ 10, "web", 3, 2, 40 * MS },
		{ 10, "web", 1, 4, 30 * MS },
		{ 20, "web", 1, 2, 20 * MS },
		{ 10, "web", 0, 0, 10 * MS },
	};
	struct recording *rec = rec_new_or_die();
	unsigned int b = hist_bucket(5 * MS);
	struct offcpu_agg agg;
	size_t i;

	/* Added smallest first, in two halves per entry: the order in the
	 * recording must not matter. */
	for (i = sizeof(want) / sizeof(want[0]); i-- > 0;)
		add(rec, want[i].tgid, 100 + i, want[i].comm, want[i].user, want[i].kern,
		    OFFCPU_INTERRUPTIBLE, b, 1, want[i].total / 2, want[i].total / 2, 5 * MS);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		add(rec, want[i].tgid, 200 + i, want[i].comm, want[i].user, want[i].kern,
		    OFFCPU_INTERRUPTIBLE, b, 1, want[i].total / 2, 0, 5 * MS);
	aggregate(rec, WAIT_ALL, &agg, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < agg.nr && i < sizeof(want) / sizeof(want[0]); i++) {
		const struct offcpu_entry *e = &agg.entries[i];

		/* Largest first: the order of want. */
		CHECK(e->tgid == want[i].tgid && !strcmp(e->comm, want[i].comm) &&
		      e->user_stack_id == want[i].user && e->kern_stack_id == want[i].kern,
		      "entry %zu is %u %s %llu/%llu", i, e->tgid, e->comm,
		      (unsigned long long)e->user_stack_id, (unsigned long long)e->kern_stack_id);
		CHECK_U64(e->count, 2);
		CHECK_U64(e->total_ns, want[i].total);
		CHECK_U64(e->blocked_ns, want[i].total / 2);
	}
	CHECK_U64(agg.total_ns, 210 * MS);
	offcpu_agg_free(&agg);
	rec_free(rec);
}

/* The wait part chooses the value entries are sorted and summed by:
 * all = total, blocked = until the wakeup, runqueue = the rest. */
static void test_parts(void)
{
	static const struct {
		enum wait_part part;
		const char *name;
		__u64 order[3];		/* user stack ids, largest first */
		__u64 total;
	} cases[] = {
		{ WAIT_ALL, "all", { 1, 2, 3 }, 230 },
		{ WAIT_BLOCKED, "blocked", { 1, 3, 2 }, 160 },
		{ WAIT_RUNQUEUE, "runqueue", { 2, 1, 3 }, 70 },
	};
	struct recording *rec = rec_new_or_die();
	enum wait_part part = WAIT_RUNQUEUE;
	struct offcpu_agg agg;
	size_t c, i;

	add(rec, 1, 1, "t", 1, 9, OFFCPU_INTERRUPTIBLE, 1, 1, 100 * MS, 90 * MS, 100 * MS);
	add(rec, 1, 1, "t", 2, 9, OFFCPU_PREEMPTED, 1, 1, 80 * MS, 20 * MS, 80 * MS);
	add(rec, 1, 1, "t", 3, 9, OFFCPU_INTERRUPTIBLE, 1, 1, 50 * MS, 50 * MS, 50 * MS);
	rec_finish(rec);
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		CHECK(parse_wait_part(cases[c].name, &part) && part == cases[c].part,
		      "\"%s\" parses", cases[c].name);
		CHECK_U64(offcpu_aggregate(rec, cases[c].part, &agg), 0);
		CHECK_U64(agg.nr, 3);
		CHECK_U64(agg.total_ns, cases[c].total * MS);
		for (i = 0; i < agg.nr && i < 3; i++)
			CHECK(agg.entries[i].user_stack_id == cases[c].order[i],
			      "%s: entry %zu is stack %llu, want %llu", cases[c].name, i,
			      (unsigned long long)agg.entries[i].user_stack_id,
			      (unsigned long long)cases[c].order[i]);
		if (agg.nr == 3) {
			CHECK_U64(offcpu_entry_value(&agg.entries[0], WAIT_ALL),
				  agg.entries[0].total_ns);
			CHECK_U64(offcpu_entry_value(&agg.entries[0], WAIT_BLOCKED),
				  agg.entries[0].blocked_ns);
			CHECK_U64(offcpu_entry_value(&agg.entries[0], WAIT_RUNQUEUE),
				  agg.entries[0].total_ns - agg.entries[0].blocked_ns);
		}
		offcpu_agg_free(&agg);
	}
	part = WAIT_BLOCKED;
	CHECK(!parse_wait_part("Blocked", &part) && !parse_wait_part("", &part) &&
	      !parse_wait_part("run", &part), "only the three names parse");
	CHECK(part == WAIT_BLOCKED, "a name that does not parse leaves the part as it was");
	rec_free(rec);
}

/* Records drained twice and merged by the store (rec_store.h) aggregate
 * to the same numbers as one record of the sums. */
static void test_merged_by_store(void)
{
	struct recording *rec = rec_new_or_die();
	struct offcpu_key k = { .tgid = 5, .tid = 6, .user_stack_id = 7, .kern_stack_id = 8,
				.state = OFFCPU_INTERRUPTIBLE, .bucket = 42, .comm = "drained" };
	struct offcpu_val first = { .count = 3, .total_ns = 3000, .blocked_ns = 2000, .max_ns = 1500 };
	struct offcpu_val second = { .count = 2, .total_ns = 5000, .blocked_ns = 5000, .max_ns = 2600 };
	struct offcpu_agg agg;

	MUST(rec_merge_offcpu(rec, &k, &first));
	MUST(rec_merge_offcpu(rec, &k, &second));
	CHECK_U64(rec->nr_offcpu, 1);
	aggregate(rec, WAIT_ALL, &agg, 1);
	if (agg.nr == 1) {
		CHECK_U64(agg.entries[0].count, 5);
		CHECK_U64(agg.entries[0].total_ns, 8000);
		CHECK_U64(agg.entries[0].blocked_ns, 7000);
		CHECK_U64(agg.entries[0].max_ns, 2600);
		CHECK_U64(agg.entries[0].hist_count[42], 5);
		CHECK_U64(agg.entries[0].hist_sum_ns[42], 8000);
	}
	offcpu_agg_free(&agg);
	rec_free(rec);
}

int main(void)
{
	test_empty();
	test_one_bucket();
	test_merge();
	test_groups();
	test_parts();
	test_merged_by_store();
	return check_summary("off-CPU aggregation tests");
}
