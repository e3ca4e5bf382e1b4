/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Matching two diff sets and deciding what regressed. A regression is
 * flagged only when its change exceeds the threshold AND the data support
 * it: enough samples on both sides and a bootstrap confidence that the
 * metric grew at all (docs/DIFF.md).
 */
#ifndef WAITPROF_DIFF_COMPARE_H
#define WAITPROF_DIFF_COMPARE_H

#include <stdbool.h>
#include <stdio.h>

#include "diff_input.h"
#include "diff_stats.h"
#include "modality.h"

/* Defaults (--gate): two runs of one unchanged workload on a shared 2-CPU
 * VM moved a sub-millisecond sleep's p99 by up to +63% (docs/DIFF.md). */
#define DIFF_DEFAULT_P99_PCT	100.0
#define DIFF_DEFAULT_TOTAL_PCT	25.0
#define DIFF_DEFAULT_CONF	0.99
#define DIFF_DEFAULT_MIN	100
#define DIFF_BOOT_ROUNDS	1000

enum diff_flag {
	DIFF_FLAG_P99 = 1 << 0,		/* p99 grew past the threshold */
	DIFF_FLAG_TOTAL = 1 << 1,	/* total wait grew past the threshold */
	DIFF_FLAG_NEW_BIMODAL = 1 << 2,	/* was unimodal (or absent), now two modes */
};

struct diff_gate {
	double p99_pct;		/* flag thresholds, percent */
	double total_pct;
	double confidence;	/* bootstrap share needed */
	__u64 min_samples;
	unsigned int fail_mask;	/* enum diff_flag bits that fail the gate */
};

struct diff_row {
	const struct diff_item *side[2];	/* base, current; NULL: absent */
	double p50[2], p99[2];
	struct modality mod[2];
	struct mann_whitney mw;
	struct bootstrap boot;
	bool compared;		/* both sides with min_samples: tests ran */
	unsigned int flags;	/* enum diff_flag */
};

struct diff_result {
	struct diff_row *rows;	/* flagged first, then by the larger total */
	size_t nr;
	size_t only_base, only_current, matched;
	__u64 total_ns[2];
	unsigned int flagged;	/* rows with any flag */
	unsigned int failing;	/* rows with a flag in fail_mask */
};

int diff_compare(const struct diff_set *base, const struct diff_set *cur,
		 const struct diff_gate *gate, struct diff_result *r);
void diff_result_free(struct diff_result *r);
/* Percent change, NAN when base is 0 or a side is missing. */
double diff_pct(double base, double cur);

#endif
