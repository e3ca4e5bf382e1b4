/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Statistics for comparing two latency histograms (bpf/hist.h layout), used
 * by the diff gate (docs/DIFF.md). Pure computation, deterministic (a fixed
 * seed), no I/O.
 */
#ifndef WAITPROF_DIFF_STATS_H
#define WAITPROF_DIFF_STATS_H

#include <linux/types.h>

#include "hist.h"
#include "hist_quantile.h"


/*
 * Mann-Whitney U of CURRENT against BASE, computed exactly from the
 * histograms: samples in one bucket are ties (each pair counts 1/2), so the
 * test never claims a difference finer than a bucket (12.5%). Normal
 * approximation with the tie correction.
 */
struct mann_whitney {
	double effect;		/* P(current > base) + P(equal)/2: 0.5 = no shift */
	double z;
	double p_greater;	/* one-sided p-value: current is not slower */
};

void diff_mann_whitney(const __u64 *base, const __u64 *cur, struct mann_whitney *mw);

/*
 * How sure the p99 grew: distribution-free confidence bounds for a quantile
 * from order statistics (rank n q -/+ z sqrt(n q (1 - q)), the binomial
 * interval), read off the histograms. Returns the one-sided level Phi(z) of
 * the largest z at which CURRENT's lower bound is still above BASE's upper
 * bound (0.5 when they overlap at once). The ratio_lo and ratio_hi
 * outputs: the 95% bounds of current/base.
 */
double diff_quantile_confidence(const __u64 *base, __u64 base_max, const __u64 *cur,
				__u64 cur_max, double q, double *ratio_lo, double *ratio_hi);

/*
 * Bootstrap of the ratios current/base of p99 and of the total: each bucket
 * count is redrawn as Poisson(count) (the Poisson bootstrap, equivalent to
 * resampling rows for large n), per side, `rounds` times.
 */
struct bootstrap {
	double p99_conf;	/* share of rounds with p99 ratio > 1 */
	double total_conf;	/* share of rounds with total ratio > 1 */
	double p99_lo, p99_hi;	/* 2.5% and 97.5% of the p99 ratio */
	double total_lo, total_hi;
};

void diff_bootstrap(const __u64 *base_counts, const __u64 *base_sums, const __u64 *cur_counts,
		    const __u64 *cur_sums, unsigned int rounds, struct bootstrap *out);

#endif
