/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Quantiles of a bpf/hist.h histogram: the one definition every report,
 * diff, analyze and funclat use, so a p99 reads the same everywhere. */
#ifndef WAITPROF_HIST_QUANTILE_H
#define WAITPROF_HIST_QUANTILE_H

#include <linux/types.h>

#include "hist.h"

/*
 * The q-quantile (0..1) of a log-linear histogram; 0 when it is empty.
 * The values of a bucket are taken as evenly spread over a span around
 * their exact mean (from sums, the per-bucket sums of ns; NULL: the whole
 * bucket), so a bucket of one value yields that value. The result is
 * never above max_ns (0: no clamp): the histogram only bounds the largest
 * value.
 */
double hist_quantile(const __u64 *counts, const __u64 *sums, double q, __u64 max_ns);

#endif
