// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "diff_stats.h"

void diff_mann_whitney(const __u64 *base, const __u64 *cur, struct mann_whitney *mw)
{
	double n1 = 0, n2 = 0, u = 0, below_base = 0, ties = 0, n, var, t;
	unsigned int i;

	for (i = 0; i < HIST_NR_BUCKETS; i++) {
		n1 += (double)cur[i];
		n2 += (double)base[i];
	}
	memset(mw, 0, sizeof(*mw));
	mw->effect = 0.5;
	mw->p_greater = 1.0;
	if (n1 == 0 || n2 == 0)
		return;
	/* U counts pairs (current, base) with current > base, ties as 1/2. */
	for (i = 0; i < HIST_NR_BUCKETS; i++) {
		u += (double)cur[i] * (below_base + 0.5 * (double)base[i]);
		below_base += (double)base[i];
		t = (double)cur[i] + (double)base[i];
		ties += t * t * t - t;
	}
	n = n1 + n2;
	mw->effect = u / (n1 * n2);
	var = n1 * n2 / 12.0 * ((n + 1) - ties / (n * (n - 1)));
	if (var <= 0)
		return;
	mw->z = (u - n1 * n2 / 2.0) / sqrt(var);
	mw->p_greater = 0.5 * erfc(mw->z / sqrt(2.0));
}

/* The value of rank `rank` (0 .. n, from the smallest), interpolated
 * inside its bucket like hist_quantile. */
static double value_at_rank(const __u64 *counts, double rank, __u64 max_ns)
{
	__u64 n = 0;
	unsigned int i;

	for (i = 0; i < HIST_NR_BUCKETS; i++)
		n += counts[i];
	if (!n)
		return 0;
	if (rank < 0)
		rank = 0;
	if (rank > (double)n)
		rank = (double)n;
	return hist_quantile(counts, NULL, rank / (double)n, max_ns);
}

static double total_count(const __u64 *counts)
{
	double n = 0;
	unsigned int i;

	for (i = 0; i < HIST_NR_BUCKETS; i++)
		n += (double)counts[i];
	return n;
}

/*
 * Waits beyond the p99 are not independent draws: a host stall or a burst
 * of load delays several consecutive waits of every thread at once, so one
 * recording's tail is a few clusters, not n*0.01 samples. The rank's
 * binomial variance is widened by this design effect (clusters of about
 * TAIL_CLUSTER waits). Without it, 4 of 56 pairs of unchanged runs of the
 * e2e logger were "99% sure" their 200 us nanosleep's p99 had doubled
 * (docs/DIFF.md); with it, a tail that moved for every wait still is.
 */
#define TAIL_CLUSTER	4.0

static double bound(const __u64 *counts, double n, double q, double z, int sign, __u64 max)
{
	return value_at_rank(counts, n * q + sign * z * sqrt(TAIL_CLUSTER * n * q * (1 - q)), max);
}

double diff_quantile_confidence(const __u64 *base, __u64 base_max, const __u64 *cur,
				__u64 cur_max, double q, double *ratio_lo, double *ratio_hi)
{
	double nb = total_count(base), nc = total_count(cur), z, best = -1, lo_b, hi_b;

	*ratio_lo = *ratio_hi = NAN;
	if (!nb || !nc)
		return 0.5;
	hi_b = bound(base, nb, q, 1.96, 1, base_max);
	lo_b = bound(base, nb, q, 1.96, -1, base_max);
	if (hi_b > 0)
		*ratio_lo = bound(cur, nc, q, 1.96, -1, cur_max) / hi_b;
	if (lo_b > 0)
		*ratio_hi = bound(cur, nc, q, 1.96, 1, cur_max) / lo_b;
	for (z = 0; z <= 6.0; z += 0.02) {
		if (bound(cur, nc, q, z, -1, cur_max) <= bound(base, nb, q, z, 1, base_max))
			break;
		best = z;
	}
	return best < 0 ? 0.5 : 0.5 * erfc(-best / sqrt(2.0));
}

/* xorshift64*: small, fast, and the same numbers on every run. */
static double uniform(__u64 *state)
{
	__u64 x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return (double)((x * 2685821657736338717ull) >> 11) * (1.0 / 9007199254740992.0);
}

static double normal(__u64 *state)
{
	double u1 = uniform(state), u2 = uniform(state);

	if (u1 < 1e-300)
		u1 = 1e-300;
	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* Knuth's product method for small means, a normal approximation above 50. */
static double poisson(__u64 *state, double mean)
{
	double l, p = 1.0, v;
	unsigned int k = 0;

	if (mean <= 0)
		return 0;
	if (mean > 50) {
		v = floor(mean + sqrt(mean) * normal(state) + 0.5);
		return v < 0 ? 0 : v;
	}
	l = exp(-mean);
	do {
		k++;
		p *= uniform(state);
	} while (p > l);
	return k - 1;
}

struct resampled {
	__u64 counts[HIST_NR_BUCKETS];
	double total;
};

static void resample(const __u64 *counts, const __u64 *sums, __u64 *state, struct resampled *r)
{
	unsigned int i;
	double c;

	r->total = 0;
	for (i = 0; i < HIST_NR_BUCKETS; i++) {
		c = counts[i] ? poisson(state, (double)counts[i]) : 0;
		r->counts[i] = (__u64)c;
		if (counts[i])
			r->total += c * ((double)sums[i] / (double)counts[i]);
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double ratio(double cur, double base)
{
	if (base <= 0)
		return cur > 0 ? INFINITY : 1.0;
	return cur / base;
}

void diff_bootstrap(const __u64 *base_counts, const __u64 *base_sums, const __u64 *cur_counts,
		    const __u64 *cur_sums, unsigned int rounds, struct bootstrap *out)
{
	double *p99r = calloc(rounds ? rounds : 1, sizeof(double));
	double *totr = calloc(rounds ? rounds : 1, sizeof(double));
	struct resampled *b = malloc(sizeof(*b)), *c = malloc(sizeof(*c));
	unsigned int i, p99_up = 0, tot_up = 0;
	__u64 state = 0x9e3779b97f4a7c15ull;

	memset(out, 0, sizeof(*out));
	if (!p99r || !totr || !b || !c || !rounds)
		goto cleanup;
	for (i = 0; i < rounds; i++) {
		resample(base_counts, base_sums, &state, b);
		resample(cur_counts, cur_sums, &state, c);
		p99r[i] = ratio(hist_quantile(c->counts, NULL, 0.99, 0),
				hist_quantile(b->counts, NULL, 0.99, 0));
		totr[i] = ratio(c->total, b->total);
		p99_up += p99r[i] > 1.0;
		tot_up += totr[i] > 1.0;
	}
	qsort(p99r, rounds, sizeof(double), cmp_double);
	qsort(totr, rounds, sizeof(double), cmp_double);
	out->p99_conf = (double)p99_up / rounds;
	out->total_conf = (double)tot_up / rounds;
	out->p99_lo = p99r[(unsigned int)(rounds * 0.025)];
	out->p99_hi = p99r[(unsigned int)(rounds * 0.975)];
	out->total_lo = totr[(unsigned int)(rounds * 0.025)];
	out->total_hi = totr[(unsigned int)(rounds * 0.975)];
cleanup:
	free(p99r);
	free(totr);
	free(b);
	free(c);
}
