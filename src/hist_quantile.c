// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "hist_quantile.h"

double hist_quantile(const __u64 *counts, const __u64 *sums, double q, __u64 max_ns)
{
	__u64 total = 0, cum = 0;
	double rank, lo, hi, v = 0;
	unsigned int i;

	for (i = 0; i < HIST_NR_BUCKETS; i++)
		total += counts[i];
	if (!total)
		return 0;
	rank = q * (double)total;
	for (i = 0; i < HIST_NR_BUCKETS; i++) {
		if (!counts[i] || (double)(cum + counts[i]) < rank) {
			cum += counts[i];
			continue;
		}
		if (i == HIST_OVERFLOW) {
			v = sums ? (double)sums[i] / counts[i] : (double)hist_bucket_lower(i);
			break;
		}
		lo = (double)hist_bucket_lower(i);
		hi = (double)hist_bucket_upper(i);
		v = lo + (hi - lo) * ((rank - cum) / (double)counts[i]);
		break;
	}
	if (max_ns && v > (double)max_ns)
		v = (double)max_ns;
	return v;
}
