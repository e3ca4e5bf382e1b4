// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Quantiles inside log-linear buckets, placed around each bucket's mean. */
#include <math.h>

#include "hist_quantile.h"

/*
 * The span the values of bucket i are spread over: uniform around their
 * mean (the per-bucket sums make it exact) as wide as the bucket allows,
 * so a sparse tail bucket with one value yields that value. The overflow
 * bucket has no upper bound: its mean stands for all of it.
 */
static void bucket_span(const __u64 *counts, const __u64 *sums, unsigned int i,
			double *lo, double *hi)
{
	double mean, half;

	*lo = (double)hist_bucket_lower(i);
	*hi = i == HIST_OVERFLOW ? *lo : (double)hist_bucket_upper(i);
	if (!sums || !counts[i])
		return;
	mean = (double)sums[i] / (double)counts[i];
	if (mean < *lo || mean > *hi || i == HIST_OVERFLOW) {
		*lo = *hi = mean;
		return;
	}
	half = fmin(mean - *lo, *hi - mean);
	*lo = mean - half;
	*hi = mean + half;
}

static double unclamped_quantile(const __u64 *counts, const __u64 *sums, double q)
{
	__u64 total = 0, cum = 0;
	double rank, lo, hi;
	unsigned int i;

	for (i = 0; i < HIST_NR_BUCKETS; i++)
		total += counts[i];
	if (!total)
		return 0;
	rank = q * (double)total;
	for (i = 0; i < HIST_NR_BUCKETS; i++) {
		if (!counts[i])
			continue;
		if ((double)(cum + counts[i]) >= rank) {
			bucket_span(counts, sums, i, &lo, &hi);
			/* One value is its mean: the span's middle. */
			if (counts[i] == 1)
				return (lo + hi) / 2;
			/* More are spread from one end of the span to the
			 * other, each at the middle of its slice of ranks. */
			return lo + (hi - lo) * (fmax(rank - (double)cum, 0.5) - 0.5) /
					     fmax((double)counts[i] - 1.0, 1.0);
		}
		cum += counts[i];
	}
	return (double)hist_bucket_lower(HIST_OVERFLOW);
}

double hist_quantile(const __u64 *counts, const __u64 *sums, double q, __u64 max_ns)
{
	double v = unclamped_quantile(counts, sums, q);

	if (max_ns && v > (double)max_ns)
		v = (double)max_ns;
	return v;
}
