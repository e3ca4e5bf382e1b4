// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The diff gate's statistics: Mann-Whitney from histograms against a brute
 * force count of pairs, quantiles, and the false-alarm and detection rates
 * of the p99 and total confidences on generated data. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "diff_stats.h"
#include "modality.h"
#include "sample_gen.h"

int test_failures;

struct hist {
	__u64 counts[HIST_NR_BUCKETS];
	__u64 sums[HIST_NR_BUCKETS];
	__u64 max;
};

static void fill(struct hist *h, struct rng *r, size_t n, double median, double sigma,
		 double slow_frac, double slow_median)
{
	size_t i;

	memset(h, 0, sizeof(*h));
	for (i = 0; i < n; i++) {
		double m = rng_uniform(r) < slow_frac ? slow_median : median;
		__u64 v = (__u64)rng_lognormal(r, m, sigma);

		modality_hist_from_samples(&v, 1, h->counts, h->sums);
		if (v > h->max)
			h->max = v;
	}
}

/* U by brute force over bucket pairs: equal buckets count one half. */
static double brute_u(const __u64 *base, const __u64 *cur)
{
	double u = 0;
	unsigned int i, j;

	for (i = 0; i < HIST_NR_BUCKETS; i++)
		for (j = 0; j < HIST_NR_BUCKETS; j++)
			u += (double)cur[i] * base[j] * (i > j ? 1.0 : i == j ? 0.5 : 0.0);
	return u;
}

static void test_mann_whitney(void)
{
	struct hist a, b, c;
	struct mann_whitney mw;
	struct rng r;
	double n;

	rng_seed(&r, 7);
	fill(&a, &r, 3000, 50000, 0.5, 0, 0);
	fill(&b, &r, 2000, 50000, 0.5, 0, 0);
	fill(&c, &r, 2500, 100000, 0.5, 0, 0);
	diff_mann_whitney(a.counts, c.counts, &mw);
	n = 3000.0 * 2500.0;
	CHECK(fabs(mw.effect * n - brute_u(a.counts, c.counts)) < 1e-6 * n,
	      "U from one pass equals the brute-force pair count");
	CHECK(mw.effect > 0.8 && mw.p_greater < 1e-9, "2x slower: effect %.3f p %.2g", mw.effect,
	      mw.p_greater);
	diff_mann_whitney(c.counts, a.counts, &mw);
	CHECK(mw.effect < 0.2 && mw.p_greater > 0.999, "2x faster: not slower (p %.3f)",
	      mw.p_greater);
	diff_mann_whitney(a.counts, b.counts, &mw);
	CHECK(fabs(mw.effect - 0.5) < 0.03 && mw.p_greater > 0.01,
	      "same distribution: effect %.3f p %.3f", mw.effect, mw.p_greater);
	diff_mann_whitney(a.counts, a.counts, &mw);
	CHECK(fabs(mw.effect - 0.5) < 1e-12 && fabs(mw.z) < 1e-9, "identical histograms: z 0");
}

static void test_quantile(void)
{
	__u64 counts[HIST_NR_BUCKETS] = {}, sums[HIST_NR_BUCKETS] = {};
	unsigned int b = hist_bucket(1000);

	counts[b] = 100;
	sums[b] = 100000;
	CHECK(hist_quantile(counts, sums, 0.5, 0) >= hist_bucket_lower(b) &&
	      hist_quantile(counts, sums, 0.5, 0) < hist_bucket_upper(b),
	      "median inside its bucket");
	CHECK(hist_quantile(counts, sums, 0.99, 1000) <= 1000.0, "clamped to the max");
	CHECK(hist_quantile((__u64[HIST_NR_BUCKETS]){0}, sums, 0.99, 0) == 0, "empty: 0");
}

/* Same distribution, 200 seeds: how often does each confidence reach 0.99?
 * A shifted tail or total: how often is it caught? */
static void test_rates(void)
{
	unsigned int seed, p99_false = 0, total_false = 0, p99_hit = 0, total_hit = 0;
	struct hist *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	struct bootstrap bs;
	double lo, hi, conf;
	struct rng r;

	for (seed = 0; seed < 200; seed++) {
		rng_seed(&r, 100 + seed);
		fill(a, &r, 2000, 30000, 0.3, 0, 0);
		fill(b, &r, 2000, 30000, 0.3, 0, 0);
		conf = diff_quantile_confidence(a->counts, a->max, b->counts, b->max, 0.99, &lo, &hi);
		p99_false += conf >= 0.99;
		diff_bootstrap(a->counts, a->sums, b->counts, b->sums, 200, &bs);
		total_false += bs.total_conf >= 0.99;
		if (seed >= 50)
			continue;
		/* 3% of waits 10x slower: p99 moves ~8x, total ~+27% */
		fill(b, &r, 2000, 30000, 0.3, 0.03, 300000);
		conf = diff_quantile_confidence(a->counts, a->max, b->counts, b->max, 0.99, &lo, &hi);
		p99_hit += conf >= 0.99;
		diff_bootstrap(a->counts, a->sums, b->counts, b->sums, 200, &bs);
		total_hit += bs.total_conf >= 0.99;
	}
	printf("p99 confidence >= 0.99: %u/200 false alarms, %u/50 detections\n", p99_false,
	       p99_hit);
	printf("total confidence >= 0.99: %u/200 false alarms, %u/50 detections\n", total_false,
	       total_hit);
	CHECK(p99_false <= 4, "p99 false alarms %u/200 (at most 2%%)", p99_false);
	CHECK(total_false <= 6, "total false alarms %u/200 (at most 3%%)", total_false);
	CHECK(p99_hit >= 48, "p99 detections %u/50", p99_hit);
	CHECK(total_hit >= 45, "total detections %u/50", total_hit);
	free(a);
	free(b);
}

int main(void)
{
	test_mann_whitney();
	test_quantile();
	test_rates();
	return check_summary("diff statistics tests");
}
