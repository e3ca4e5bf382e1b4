/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Quantiles of a bpf/hist.h histogram, for every report. */
#ifndef WAITPROF_HIST_QUANTILE_H
#define WAITPROF_HIST_QUANTILE_H

#include <linux/types.h>

#include "hist.h"

/*
 * The q-quantile (0..1) of a log-linear histogram: linear inside the bucket
 * that holds it, the overflow bucket's mean from its sum, and never above
 * max_ns (0: no clamp), since the histogram only bounds the largest value.
 * sums may be NULL.
 */
double hist_quantile(const __u64 *counts, const __u64 *sums, double q, __u64 max_ns);

#endif
