// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * One histogram, one p50 and p99: funclat's result (funclat_result_finish)
 * and diff's row (diff_compare, as report and analyze read it through
 * hist_quantile) must agree to the bit, and both must sit close to the
 * exact quantiles of the samples the histogram was built from.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff_compare.h"
#include "funclat_result.h"
#include "hist_quantile.h"
#include "sample_gen.h"

static int failures;

#define CHECK(cond, ...) do { \
	if (!(cond)) { failures++; printf("FAIL %s:%d: ", __FILE__, __LINE__); \
		printf(__VA_ARGS__); printf("\n"); } \
} while (0)

struct samples {
	__u64 *v;
	size_t n;
};

static int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

/* The exact q-quantile: the smallest sample with at least q*n at or below. */
static double exact(const struct samples *s, double q)
{
	size_t k = (size_t)ceil(q * (double)s->n);

	return (double)s->v[k ? k - 1 : 0];
}

static void to_item(const struct samples *s, struct diff_item *it)
{
	size_t i;

	memset(it, 0, sizeof(*it));
	it->key = "k";
	for (i = 0; i < s->n; i++) {
		it->hist_count[hist_bucket(s->v[i])]++;
		it->hist_sum_ns[hist_bucket(s->v[i])] += s->v[i];
		it->total_ns += s->v[i];
		if (s->v[i] > it->max_ns)
			it->max_ns = s->v[i];
	}
	it->count = s->n;
}

/* p50 and p99 of it through funclat and through diff. */
static void both_paths(const struct diff_item *it, double funclat[2], double diff[2])
{
	struct diff_gate gate = { .p99_pct = 100, .total_pct = 25, .confidence = 0.99,
				  .min_samples = 100 };
	struct diff_set set = { .items = (struct diff_item *)it, .nr = 1 };
	struct funclat_result r = { .label = "k" };
	struct diff_result res;

	memcpy(r.counts, it->hist_count, sizeof(r.counts));
	memcpy(r.sums, it->hist_sum_ns, sizeof(r.sums));
	r.max_ns = it->max_ns;
	funclat_result_finish(&r);
	funclat[0] = r.p50_ns;
	funclat[1] = r.p99_ns;
	funclat_result_free(&r);
	diff[0] = diff[1] = NAN;
	if (diff_compare(&set, &set, &gate, &res) || res.nr != 1)
		return;
	diff[0] = res.rows[0].p50[1];
	diff[1] = res.rows[0].p99[1];
	diff_result_free(&res);
}

/* Same numbers both ways, each within tol (relative) of the exact one. */
static void check_shape(const char *name, struct samples *s, double tol)
{
	struct diff_item it;
	double f[2], d[2], want[2];
	int i;

	qsort(s->v, s->n, sizeof(*s->v), cmp_u64);
	to_item(s, &it);
	both_paths(&it, f, d);
	want[0] = exact(s, 0.50);
	want[1] = exact(s, 0.99);
	for (i = 0; i < 2; i++) {
		const char *q = i ? "p99" : "p50";

		printf("%-22s %s: funclat %.0f  diff %.0f  exact %.0f\n", name, q, f[i], d[i],
		       want[i]);
		CHECK(f[i] == d[i], "%s %s: funclat %.17g != diff %.17g", name, q, f[i], d[i]);
		CHECK(fabs(f[i] - want[i]) <= tol * want[i], "%s %s: %.0f not within %.1f%% of %.0f",
		      name, q, f[i], tol * 100, want[i]);
		CHECK(f[i] <= (double)it.max_ns, "%s %s: %.0f above the max %llu", name, q, f[i],
		      (unsigned long long)it.max_ns);
	}
}

static void gen_lognormal(struct samples *s, struct rng *r, size_t n, double median,
			  double sigma, double slow_frac, double slow_median)
{
	size_t i;

	s->n = n;
	for (i = 0; i < n; i++) {
		double m = rng_uniform(r) < slow_frac ? slow_median : median;

		s->v[i] = (__u64)rng_lognormal(r, m, sigma) + 1;
	}
}

int main(void)
{
	struct samples s = { .v = calloc(20000, sizeof(__u64)) };
	struct rng r;

	if (!s.v)
		return 1;
	rng_seed(&r, 17);
	/* One call: every quantile is that call's duration, exactly. */
	s.v[0] = 1234567;
	s.n = 1;
	check_shape("one call", &s, 0);
	/* Two calls in one bucket: p50 the smaller, p99 near the larger. */
	s.v[0] = 1000000;
	s.v[1] = 1050000;
	s.n = 2;
	check_shape("two calls", &s, 0.05);
	/* A sparse tail: 99 fast calls and one slow one above the p99 rank. */
	for (s.n = 0; s.n < 99; s.n++)
		s.v[s.n] = 20000 + s.n * 10;
	s.v[s.n++] = 7000000;
	check_shape("sparse tail", &s, 0.02);
	/* Beyond the histogram's range: the overflow bucket's mean. */
	for (s.n = 0; s.n < 10; s.n++)
		s.v[s.n] = (1ULL << HIST_MAX_SHIFT) + 1000000000ULL;
	check_shape("overflow", &s, 1e-9);
	gen_lognormal(&s, &r, 20000, 50000, 0.4, 0, 0);
	check_shape("lognormal", &s, 0.015);
	gen_lognormal(&s, &r, 20000, 20000, 0.2, 0.05, 4000000);
	check_shape("bimodal 5% slow", &s, 0.015);
	free(s.v);
	if (failures) {
		printf("%d failure(s)\n", failures);
		return 1;
	}
	printf("funclat and diff give the same quantiles\n");
	return 0;
}
