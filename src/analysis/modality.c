// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Modality of a log-linear latency histogram (see modality.h and
 * docs/MODALITY.md for the method and its measured error rates).
 *
 * All shape work happens in log2(ns) space, "octaves": latencies are
 * multiplicative, and a long tail that looks like a second hump on a linear
 * axis is a smooth slope there.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "modality.h"

#define GRID_STEP_OCT		(1.0 / 16)
#define GRID_MAX		1024
#define KERNEL_REACH		5.0	/* kernel sds beyond which a bucket is ignored */
#define BANDWIDTH_MIN_OCT	0.15	/* about one bucket: kills the sub-bucket sawtooth */
#define BANDWIDTH_MAX_OCT	1.0
#define GAP_CLOSE_MAX_OCT	1.0	/* k*q to (k+1)*q of a timer lattice is <= 1 octave */
#define CORE_HALF_OCT		0.5	/* half-width of a peak's core window */
#define VALLEY_HALF_OCT		0.5	/* half-width of the valley's window */
#define WINDOW_ROOM		0.5	/* share of the peak-valley distance windows may fill */
#define MAX_PEAKS		(GRID_MAX / 2)
#define BORDERLINE_ALPHA	0.2	/* valleys up to this p may be confirmed */
#define MIX_MIN_DELTA_BIC	10.0
#define MIX_MIN_ASHMAN_D	4.0	/* uniform-in-log fits two Gaussians at D ~ 3.2 */
#define MIX_MIN_WEIGHT		0.01
#define MIX_MIN_MINOR_SAMPLES	20	/* EM fits a component to a handful of tail samples */
#define MIX_MAX_ITER		200
#define MATERIAL_SEP_OCT	3.0	/* 8x the typical latency: always worth a line */
#define MATERIAL_TIME_SHARE	0.15	/* ... or 15% of all the time */

struct shape {
	const __u64 *counts;
	double lo[HIST_NR_BUCKETS], hi[HIST_NR_BUCKETS];	/* bucket bounds, log2 */
	double a[HIST_NR_BUCKETS], b[HIST_NR_BUCKETS];	/* mass spread over [a, b) */
	unsigned int first, last;	/* occupied interior buckets */
	double n;
	double h;			/* kernel sd, octaves */
	double x0;			/* log2 of grid point 0 */
	unsigned int nr_grid;
	double f[GRID_MAX];		/* smoothed density, samples per octave */
	unsigned int nr_peaks;
	unsigned int peak[MAX_PEAKS];	/* grid indices, ascending */
	unsigned int valley[MAX_PEAKS];	/* valley[j] lies between peak[j] and peak[j+1] */
	double valley_p[MAX_PEAKS];
	double valley_dip[MAX_PEAKS];
	int valley_confirmed[MAX_PEAKS];	/* borderline p, confirmed by a mixture */
	double best_rejected_p;
};

const char *modality_verdict_name(enum modality_verdict verdict)
{
	switch (verdict) {
	case MODALITY_UNIMODAL:
		return "unimodal";
	case MODALITY_BIMODAL:
		return "bimodal";
	case MODALITY_MULTIMODAL:
		return "multimodal";
	default:
		return "insufficient";
	}
}

void modality_hist_from_samples(const __u64 *samples_ns, size_t nr_samples,
				__u64 counts[HIST_NR_BUCKETS],
				__u64 sums_ns[HIST_NR_BUCKETS])
{
	size_t i;

	for (i = 0; i < nr_samples; i++) {
		unsigned int bucket = hist_bucket(samples_ns[i]);

		counts[bucket]++;
		if (sums_ns)
			sums_ns[bucket] += samples_ns[i];
	}
}

static double grid_x(const struct shape *s, unsigned int g)
{
	return s->x0 + g * GRID_STEP_OCT;
}

static double normal_cdf(double z)
{
	return 0.5 * erfc(-z * M_SQRT1_2);
}

/* ns a bucket stands for when no sums were kept: its midpoint. */
static double bucket_mid_ns(unsigned int i)
{
	if (i == 0)
		return (double)(1ULL << HIST_MIN_SHIFT) / 2;
	if (i >= HIST_OVERFLOW)
		return (double)(1ULL << HIST_MAX_SHIFT);	/* a lower bound */
	return ((double)hist_bucket_lower(i) + (double)hist_bucket_upper(i)) / 2;
}

static int load_buckets(struct shape *s, const __u64 *counts)
{
	unsigned int i;

	s->counts = counts;
	s->first = HIST_NR_BUCKETS;
	s->last = 0;
	s->n = 0;
	for (i = 1; i < HIST_OVERFLOW; i++) {
		s->lo[i] = log2((double)hist_bucket_lower(i));
		s->hi[i] = log2((double)hist_bucket_upper(i));
		if (!counts[i])
			continue;
		if (s->first == HIST_NR_BUCKETS)
			s->first = i;
		s->last = i;
		s->n += counts[i];
	}
	return s->first == HIST_NR_BUCKETS ? -ENODATA : 0;
}

/*
 * Spread each occupied bucket uniformly (in log space) over its bounds, and
 * close short runs of empty buckets by giving each neighbour half the gap.
 * Timer-quantised data (multiples of q) leaves the buckets between k*q and
 * (k+1)*q empty; without closing, each lattice point would be a "mode".
 * Gaps longer than an octave are real empty regions and stay open.
 */
static void spread_buckets(struct shape *s)
{
	unsigned int i, prev = 0;

	for (i = s->first; i <= s->last; i++) {
		if (!s->counts[i])
			continue;
		s->a[i] = s->lo[i];
		s->b[i] = s->hi[i];
		if (prev) {
			double gap = s->lo[i] - s->hi[prev];

			if (gap > 0 && gap <= GAP_CLOSE_MAX_OCT) {
				s->b[prev] += gap / 2;
				s->a[i] -= gap / 2;
			}
		}
		prev = i;
	}
	/*
	 * The lowest lattice point also stands for the cell below it (and a
	 * clock that rounds up piles everything under q there): spread it as
	 * far down as up, or it becomes a spurious mode of its own.
	 */
	s->a[s->first] -= s->b[s->first] - s->hi[s->first];
	s->b[s->last] += s->lo[s->last] - s->a[s->last];
}

/* Weighted quantile of log2 latency over buckets [from, to], log-linear inside. */
static double log_quantile(const struct shape *s, unsigned int from,
			   unsigned int to, double q)
{
	double total = 0, target, seen = 0;
	unsigned int i;

	for (i = from; i <= to; i++)
		total += s->counts[i];
	if (total <= 0)
		return s->lo[from];
	target = q * total;
	for (i = from; i <= to; i++) {
		double c = s->counts[i];

		if (c > 0 && seen + c >= target)
			return s->lo[i] + (s->hi[i] - s->lo[i]) * (target - seen) / c;
		seen += c;
	}
	return s->hi[to];
}

/* Silverman's rule on log2 latency, robust to the tail, clamped. */
static void choose_bandwidth(struct shape *s)
{
	double mean = 0, var = 0, iqr, spread, h;
	unsigned int i;

	for (i = s->first; i <= s->last; i++)
		mean += s->counts[i] * (s->lo[i] + s->hi[i]) / 2;
	mean /= s->n;
	for (i = s->first; i <= s->last; i++) {
		double d = (s->lo[i] + s->hi[i]) / 2 - mean;

		var += s->counts[i] * d * d;
	}
	var /= s->n;
	iqr = log_quantile(s, s->first, s->last, 0.75) -
	      log_quantile(s, s->first, s->last, 0.25);
	spread = sqrt(var);
	if (iqr > 0 && iqr / 1.34 < spread)
		spread = iqr / 1.34;
	h = 0.9 * spread * pow(s->n, -0.2);
	if (h < BANDWIDTH_MIN_OCT)
		h = BANDWIDTH_MIN_OCT;
	if (h > BANDWIDTH_MAX_OCT)
		h = BANDWIDTH_MAX_OCT;
	s->h = h;
}

/*
 * Density in log2 space: each bucket's mass, uniform over [a, b), convolved
 * with a Gaussian of sd h.  Dividing by the interval's width is what removes
 * the sawtooth of linear sub-buckets of unequal log width.
 */
static void smooth(struct shape *s)
{
	double reach = KERNEL_REACH * s->h, span;
	unsigned int g, i;

	s->x0 = s->a[s->first] - reach;
	span = s->b[s->last] + reach - s->x0;
	s->nr_grid = (unsigned int)(span / GRID_STEP_OCT) + 1;
	if (s->nr_grid > GRID_MAX)
		s->nr_grid = GRID_MAX;
	for (g = 0; g < s->nr_grid; g++) {
		double x = grid_x(s, g), f = 0;

		for (i = s->first; i <= s->last; i++) {
			double width;

			if (!s->counts[i] || x < s->a[i] - reach || x > s->b[i] + reach)
				continue;
			width = s->b[i] - s->a[i];
			f += s->counts[i] / width *
			     (normal_cdf((x - s->a[i]) / s->h) -
			      normal_cdf((x - s->b[i]) / s->h));
		}
		s->f[g] = f;
	}
}

static void find_peaks(struct shape *s)
{
	unsigned int g, j;

	s->nr_peaks = 0;
	for (g = 1; g + 1 < s->nr_grid && s->nr_peaks < MAX_PEAKS; g++) {
		/* strictly above the left, at least the right: plateaus count once */
		if (s->f[g] > s->f[g - 1] && s->f[g] >= s->f[g + 1])
			s->peak[s->nr_peaks++] = g;
	}
	for (j = 0; j + 1 < s->nr_peaks; j++) {
		unsigned int lowest = s->peak[j];

		for (g = s->peak[j]; g <= s->peak[j + 1]; g++)
			if (s->f[g] < s->f[lowest])
				lowest = g;
		s->valley[j] = lowest;
	}
}

/* Samples in [x_lo, x_hi) of log2 space, each bucket spread over [a, b). */
static double window_mass(const struct shape *s, double x_lo, double x_hi)
{
	double mass = 0;
	unsigned int i;

	for (i = s->first; i <= s->last; i++) {
		double lo, hi;

		if (!s->counts[i] || s->b[i] <= x_lo || s->a[i] >= x_hi)
			continue;
		lo = s->a[i] > x_lo ? s->a[i] : x_lo;
		hi = s->b[i] < x_hi ? s->b[i] : x_hi;
		mass += s->counts[i] * (hi - lo) / (s->b[i] - s->a[i]);
	}
	return mass;
}

/*
 * P(X >= k) for X ~ Binomial(n, p), summed term by term from k upwards.
 * Terms shrink by a ratio that itself shrinks, so after a bounded number of
 * terms the rest is bounded above by a geometric series: the result never
 * understates the p-value.  Below the mean the answer is "not significant".
 */
static double binomial_upper_tail(double k, double n, double p)
{
	double log_term, term, sum, ratio;
	unsigned int steps;

	if (k <= 0)
		return 1;
	if (k > n)
		return 0;
	if (k <= n * p)
		return 1;
	log_term = lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1) +
		   k * log(p) + (n - k) * log1p(-p);
	term = exp(log_term);
	sum = term;
	for (steps = 0; steps < 100000 && k < n; steps++, k++) {
		ratio = (n - k) / (k + 1) * p / (1 - p);
		term *= ratio;
		sum += term;
		if (term < sum * 1e-15)
			return sum > 1 ? 1 : sum;
	}
	if (k < n) {
		ratio = (n - k) / (k + 1) * p / (1 - p);
		sum += ratio < 1 ? term * ratio / (1 - ratio) : 1;
	}
	return sum > 1 ? 1 : sum;
}

/*
 * Under any density unimodal in log space, every point of a window lying
 * between a peak window and the true mode is at least as dense as every
 * point of the peak window.  So given the samples in both windows, the peak
 * window's share is a binomial with p at most its share of the total width
 * (1/2 for equal widths), whatever the density.  Not knowing on which side
 * the true mode lies, test both peaks and keep the larger p-value.  Window
 * masses spread buckets uniformly in log space, so they are fractional:
 * round them against rejection.
 */
static double core_vs_valley_p(const struct shape *s, double x_peak, double x_valley,
			       double core_half, double valley_half)
{
	double core = floor(window_mass(s, x_peak - core_half, x_peak + core_half));
	double valley = ceil(window_mass(s, x_valley - valley_half, x_valley + valley_half));

	return binomial_upper_tail(core, core + valley, core_half / (core_half + valley_half));
}

struct gauss {
	double weight, mean, var;
};

static double gauss_pdf(const struct gauss *g, double x)
{
	double d = x - g->mean;

	return g->weight * exp(-d * d / (2 * g->var)) / sqrt(2 * M_PI * g->var);
}

/*
 * One M step over buckets [from, to], each a point at the center of its
 * spread interval [a, b) with the interval's own variance added, so a
 * component cannot collapse onto one bucket.  resp == NULL fits one Gaussian.
 */
static void fit_gauss(const struct shape *s, unsigned int from, unsigned int to,
		      const double *resp, struct gauss *g, double total)
{
	double n = 0, sum = 0, sq = 0;
	unsigned int i;

	for (i = from; i <= to; i++) {
		double w = s->counts[i] * (resp ? resp[i] : 1);
		double x = (s->a[i] + s->b[i]) / 2, width = s->b[i] - s->a[i];

		n += w;
		sum += w * x;
		sq += w * (x * x + width * width / 12);
	}
	g->weight = n / total;
	g->mean = n > 0 ? sum / n : 0;
	g->var = n > 0 ? sq / n - g->mean * g->mean : 1;
	if (g->var < 1e-4)
		g->var = 1e-4;
}

static double mixture_loglik(const struct shape *s, unsigned int from, unsigned int to,
			     const struct gauss *g, unsigned int nr)
{
	double ll = 0;
	unsigned int i, k;

	for (i = from; i <= to; i++) {
		double x = (s->a[i] + s->b[i]) / 2, p = 0;

		if (!s->counts[i])
			continue;
		for (k = 0; k < nr; k++)
			p += gauss_pdf(&g[k], x);
		ll += s->counts[i] * log(p > 1e-300 ? p : 1e-300);
	}
	return ll;
}

/* EM for two Gaussians in log space, started from the split at x_split. */
static double fit_two(const struct shape *s, unsigned int from, unsigned int to,
		      double x_split, double total, struct gauss g[2])
{
	double resp[HIST_NR_BUCKETS], inv[HIST_NR_BUCKETS];
	double ll = -INFINITY, prev;
	unsigned int i, iter;

	for (i = from; i <= to; i++)
		resp[i] = (s->a[i] + s->b[i]) / 2 < x_split;
	for (iter = 0; iter < MIX_MAX_ITER; iter++) {
		for (i = from; i <= to; i++)
			inv[i] = 1 - resp[i];
		fit_gauss(s, from, to, resp, &g[0], total);
		fit_gauss(s, from, to, inv, &g[1], total);
		prev = ll;
		ll = mixture_loglik(s, from, to, g, 2);
		if (fabs(ll - prev) < 1e-7 * fabs(ll))
			break;
		for (i = from; i <= to; i++) {
			double x = (s->a[i] + s->b[i]) / 2;
			double p0 = gauss_pdf(&g[0], x), p1 = gauss_pdf(&g[1], x);

			resp[i] = p0 + p1 > 0 ? p0 / (p0 + p1) : 0.5;
		}
	}
	return ll;
}

/*
 * Research found a 2-Gaussian mixture on log latency flags skewed unimodal
 * families when used alone, but confirms a borderline valley well: the
 * two components must be far apart for their widths (Ashman's D), clearly
 * better than one (BIC), both real, and on either side of the valley.
 */
static int mixture_confirms(const struct shape *s, unsigned int j)
{
	double xv = grid_x(s, s->valley[j]);
	double lo = j > 0 ? grid_x(s, s->valley[j - 1]) : -INFINITY;
	double hi = j + 2 < s->nr_peaks ? grid_x(s, s->valley[j + 1]) : INFINITY;
	unsigned int i, from = 0, to = 0;
	double n = 0, ll1, ll2, d;
	struct gauss one, two[2];

	for (i = s->first; i <= s->last; i++) {
		double x = (s->a[i] + s->b[i]) / 2;

		if (x < lo || x >= hi)
			continue;
		if (!from)
			from = i;
		to = i;
		n += s->counts[i];
	}
	if (!from || n < MODALITY_MIN_SAMPLES)
		return 0;
	fit_gauss(s, from, to, NULL, &one, n);
	ll1 = mixture_loglik(s, from, to, &one, 1);
	ll2 = fit_two(s, from, to, xv, n, two);
	d = M_SQRT2 * fabs(two[1].mean - two[0].mean) / sqrt(two[0].var + two[1].var);
	return 2 * (ll2 - ll1) - 3 * log(n) > MIX_MIN_DELTA_BIC &&
	       d >= MIX_MIN_ASHMAN_D &&
	       fmin(two[0].weight, two[1].weight) >= MIX_MIN_WEIGHT &&
	       fmin(two[0].weight, two[1].weight) * n >= MIX_MIN_MINOR_SAMPLES &&
	       fmin(two[0].mean, two[1].mean) < xv && fmax(two[0].mean, two[1].mean) > xv;
}

static void test_valley(struct shape *s, unsigned int j)
{
	double xl = grid_x(s, s->peak[j]), xr = grid_x(s, s->peak[j + 1]);
	double xv = grid_x(s, s->valley[j]);
	double low_peak = fmin(s->f[s->peak[j]], s->f[s->peak[j + 1]]);
	double core_half = CORE_HALF_OCT, valley_half = VALLEY_HALF_OCT, room, pl, pr;

	s->valley_dip[j] = low_peak > 0 ? s->f[s->valley[j]] / low_peak : 1;
	s->valley_confirmed[j] = 0;
	if (xr - xl < MODALITY_MIN_SEP_OCT) {
		s->valley_p[j] = 1;
		return;
	}
	/* the windows must not overlap: shrink both in proportion */
	room = fmin(xv - xl, xr - xv) * WINDOW_ROOM;
	if (core_half + valley_half > room) {
		core_half *= room / (CORE_HALF_OCT + VALLEY_HALF_OCT);
		valley_half *= room / (CORE_HALF_OCT + VALLEY_HALF_OCT);
	}
	pl = core_vs_valley_p(s, xl, xv, core_half, valley_half);
	pr = core_vs_valley_p(s, xr, xv, core_half, valley_half);
	s->valley_p[j] = pl > pr ? pl : pr;
	s->valley_confirmed[j] = s->valley_p[j] > MODALITY_ALPHA &&
				 s->valley_p[j] <= BORDERLINE_ALPHA &&
				 s->valley_dip[j] <= MODALITY_MAX_DIP_RATIO &&
				 mixture_confirms(s, j);
}

static int valley_holds(const struct shape *s, unsigned int j)
{
	return (s->valley_p[j] <= MODALITY_ALPHA || s->valley_confirmed[j]) &&
	       s->valley_dip[j] <= MODALITY_MAX_DIP_RATIO;
}

/*
 * How weak a valley is, to merge the weakest first: sub-octave wiggles, then
 * shallow valleys (shallowest first), then insignificant ones by p-value.
 */
static double valley_weakness(const struct shape *s, unsigned int j)
{
	double sep = grid_x(s, s->peak[j + 1]) - grid_x(s, s->peak[j]);

	if (sep < MODALITY_MIN_SEP_OCT)
		return 4 + s->valley_dip[j];
	if (s->valley_dip[j] > MODALITY_MAX_DIP_RATIO)
		return 2 + s->valley_dip[j];
	return s->valley_p[j];
}

static void remove_valley(struct shape *s, unsigned int r)
{
	for (; r + 2 < s->nr_peaks; r++)
		s->valley[r] = s->valley[r + 1];
}

/* Drop the lower peak beside valley j; the valleys either side become one. */
static void merge_at(struct shape *s, unsigned int j)
{
	unsigned int drop = s->f[s->peak[j]] < s->f[s->peak[j + 1]] ? j : j + 1;
	unsigned int k;

	if (drop > 0 && drop + 1 < s->nr_peaks) {
		if (s->f[s->valley[drop]] < s->f[s->valley[drop - 1]])
			s->valley[drop - 1] = s->valley[drop];
		remove_valley(s, drop);
	} else {
		remove_valley(s, drop == 0 ? 0 : drop - 1);
	}
	for (k = drop; k + 1 < s->nr_peaks; k++)
		s->peak[k] = s->peak[k + 1];
	s->nr_peaks--;
}

/*
 * Merge peaks across the weakest failing valley until every valley left is
 * deep and significant.  The smallest p-value among the valleys merged away
 * (an octave or more wide) is kept so a unimodal verdict can say how close
 * it came.
 */
static void merge_weak_valleys(struct shape *s)
{
	unsigned int j;

	s->best_rejected_p = 1;
	for (j = 0; j + 1 < s->nr_peaks; j++)
		test_valley(s, j);
	while (s->nr_peaks > 1) {
		unsigned int weakest = 0;
		int all_hold = 1;

		for (j = 0; j + 1 < s->nr_peaks; j++) {
			if (valley_holds(s, j))
				continue;
			if (all_hold || valley_weakness(s, j) > valley_weakness(s, weakest))
				weakest = j;
			all_hold = 0;
		}
		if (all_hold && s->nr_peaks <= MODALITY_MAX_MODES)
			break;
		if (all_hold) {
			for (j = 0; j + 1 < s->nr_peaks; j++)
				if (valley_weakness(s, j) > valley_weakness(s, weakest))
					weakest = j;
		}
		if (s->valley_p[weakest] < s->best_rejected_p &&
		    grid_x(s, s->peak[weakest + 1]) - grid_x(s, s->peak[weakest]) >=
		    MODALITY_MIN_SEP_OCT)
			s->best_rejected_p = s->valley_p[weakest];
		merge_at(s, weakest);
		for (j = 0; j + 1 < s->nr_peaks; j++)
			test_valley(s, j);
	}
}

/* Samples and ns of the buckets mode k holds (between valleys k-1 and k). */
static double mode_ns(const struct shape *s, const __u64 *sums, unsigned int k, double *count)
{
	double lo = k ? grid_x(s, s->valley[k - 1]) : -INFINITY;
	double hi = k + 1 < s->nr_peaks ? grid_x(s, s->valley[k]) : INFINITY;
	double ns = 0, x;
	unsigned int i;

	*count = 0;
	for (i = s->first; i <= s->last; i++) {
		x = (s->lo[i] + s->hi[i]) / 2;
		if (x < lo || x >= hi)
			continue;
		*count += s->counts[i];
		ns += sums ? (double)sums[i] : s->counts[i] * bucket_mid_ns(i);
	}
	return ns;
}

/* Drop peak k; the valleys either side of it become the deeper one. */
static void drop_peak(struct shape *s, unsigned int k)
{
	unsigned int j;

	if (k > 0 && k + 1 < s->nr_peaks) {
		if (s->f[s->valley[k]] < s->f[s->valley[k - 1]])
			s->valley[k - 1] = s->valley[k];
		remove_valley(s, k);
	} else {
		remove_valley(s, k ? k - 1 : 0);
	}
	for (j = k; j + 1 < s->nr_peaks; j++)
		s->peak[j] = s->peak[j + 1];
	s->nr_peaks--;
	for (j = 0; j + 1 < s->nr_peaks; j++)
		test_valley(s, j);
}

/*
 * A real but immaterial slow mode is part of the typical one's tail: one
 * less than 8x slower than the most populous mode and holding under 15% of
 * all the time (2.6% of a function's calls 3.5x slower, from a timer tick or
 * a migration: 8.6% of its time) changes no decision a user makes, and
 * calling it "bimodal" would make the verdict move with the machine's load.
 * The flush under a lock (4% of calls 80x slower, 77% of the time) stays.
 */
static void merge_immaterial(struct shape *s, const __u64 *sums, double total_ns)
{
	unsigned int k, main_k;
	double count, best, sep;

	while (s->nr_peaks > 1 && total_ns > 0) {
		main_k = 0;
		best = -1;
		for (k = 0; k < s->nr_peaks; k++) {
			mode_ns(s, sums, k, &count);
			if (count > best) {
				best = count;
				main_k = k;
			}
		}
		for (k = main_k + 1; k < s->nr_peaks; k++) {
			sep = grid_x(s, s->peak[k]) - grid_x(s, s->peak[main_k]);
			if (sep < MATERIAL_SEP_OCT &&
			    mode_ns(s, sums, k, &count) < MATERIAL_TIME_SHARE * total_ns)
				break;
		}
		if (k >= s->nr_peaks)
			return;
		drop_peak(s, k);
	}
}

static void fill_totals(struct modality *m, const __u64 *counts, const __u64 *sums)
{
	double under_ns, over_ns;
	unsigned int i;

	for (i = 0; i < HIST_NR_BUCKETS; i++) {
		m->total_count += counts[i];
		m->total_ns += sums ? (double)sums[i] : counts[i] * bucket_mid_ns(i);
	}
	if (!m->total_count)
		return;
	under_ns = sums ? (double)sums[0] : counts[0] * bucket_mid_ns(0);
	over_ns = sums ? (double)sums[HIST_OVERFLOW] :
			 counts[HIST_OVERFLOW] * bucket_mid_ns(HIST_OVERFLOW);
	m->underflow_share = (double)counts[0] / m->total_count;
	m->overflow_share = (double)counts[HIST_OVERFLOW] / m->total_count;
	if (m->total_ns > 0) {
		m->underflow_time_share = under_ns / m->total_ns;
		m->overflow_time_share = over_ns / m->total_ns;
	}
}

/* Mean and variance of log2 latency over buckets [from, to]. */
static void log_moments(const struct shape *s, unsigned int from, unsigned int to,
			double *mean, double *var)
{
	double n = 0, sum = 0, sq = 0;
	unsigned int i;

	for (i = from; i <= to; i++) {
		double c = s->counts[i], x = (s->lo[i] + s->hi[i]) / 2;
		double w = s->hi[i] - s->lo[i];

		n += c;
		sum += c * x;
		sq += c * (x * x + w * w / 12);	/* uniform within the bucket */
	}
	*mean = n > 0 ? sum / n : 0;
	*var = n > 0 ? sq / n - *mean * *mean : 0;
}

/*
 * Cut the buckets at the valleys left standing: mode k holds the buckets
 * whose log-center lies between valley k - 1 and valley k.
 */
static void fill_modes(const struct shape *s, const __u64 *sums, struct modality *m,
		       unsigned int from[], unsigned int to[])
{
	unsigned int k, i = s->first;

	m->nr_modes = s->nr_peaks ? s->nr_peaks : 1;
	for (k = 0; k < m->nr_modes; k++) {
		struct modality_mode *mode = &m->modes[k];
		double cut = k + 1 < m->nr_modes ? grid_x(s, s->valley[k]) : INFINITY;
		double ns = 0;

		from[k] = i;
		for (; i <= s->last && (s->lo[i] + s->hi[i]) / 2 < cut; i++) {
			mode->count += s->counts[i];
			ns += sums ? (double)sums[i] : s->counts[i] * bucket_mid_ns(i);
		}
		to[k] = i > from[k] ? i - 1 : from[k];
		mode->lo_ns = exp2(k ? grid_x(s, s->valley[k - 1]) : s->lo[s->first]);
		mode->hi_ns = exp2(k + 1 < m->nr_modes ? cut : s->hi[s->last]);
		mode->center_ns = exp2(log_quantile(s, from[k], to[k], 0.5));
		mode->peak_ns = s->nr_peaks ? exp2(grid_x(s, s->peak[k])) : mode->center_ns;
		mode->count_share = (double)mode->count / m->total_count;
		mode->time_share = m->total_ns > 0 ? ns / m->total_ns : 0;
	}
}

/* The two modes with most samples, in ascending order of latency. */
static void main_modes(const struct modality *m, unsigned int *first, unsigned int *second)
{
	unsigned int k, a = 0, b = 1;

	if (m->modes[b].count > m->modes[a].count) {
		a = 1;
		b = 0;
	}
	for (k = 2; k < m->nr_modes; k++) {
		if (m->modes[k].count > m->modes[a].count) {
			b = a;
			a = k;
		} else if (m->modes[k].count > m->modes[b].count) {
			b = k;
		}
	}
	*first = a < b ? a : b;
	*second = a < b ? b : a;
}

static void describe_split(const struct shape *s, struct modality *m,
			   const unsigned int from[], const unsigned int to[])
{
	unsigned int a, b, j, deepest;
	double mean_a, var_a, mean_b, var_b;

	main_modes(m, &a, &b);
	deepest = a;
	for (j = a; j < b; j++)
		if (s->f[s->valley[j]] < s->f[s->valley[deepest]])
			deepest = j;
	m->antimode_ns = exp2(grid_x(s, s->valley[deepest]));
	m->dip_ratio = s->valley_dip[deepest];
	log_moments(s, from[a], to[a], &mean_a, &var_a);
	log_moments(s, from[b], to[b], &mean_b, &var_b);
	if (var_a + var_b > 0)
		m->score = M_SQRT2 * fabs(mean_b - mean_a) / sqrt(var_a + var_b);
	m->p_value = 0;
	for (j = 0; j + 1 < m->nr_modes; j++) {
		if (s->valley_p[j] > m->p_value)
			m->p_value = s->valley_p[j];
		if (s->valley_p[j] > MODALITY_ALPHA)
			m->mixture_confirmed = 1;
	}
}

static void analyze_shape(struct shape *s, const __u64 *sums, struct modality *m)
{
	unsigned int from[MODALITY_MAX_MODES], to[MODALITY_MAX_MODES];

	spread_buckets(s);
	choose_bandwidth(s);
	smooth(s);
	find_peaks(s);
	merge_weak_valleys(s);
	merge_immaterial(s, sums, m->total_ns);
	m->bandwidth_oct = s->h;
	fill_modes(s, sums, m, from, to);
	m->p_value = s->best_rejected_p;
	m->dip_ratio = 1;
	if (m->nr_modes > 1)
		describe_split(s, m, from, to);
	m->confidence = 1 - m->p_value;
	if (m->nr_modes > 2)
		m->verdict = MODALITY_MULTIMODAL;
	else if (m->nr_modes == 2)
		m->verdict = MODALITY_BIMODAL;
	else if (s->n >= MODALITY_MIN_UNIMODAL)
		m->verdict = MODALITY_UNIMODAL;
	else
		m->verdict = MODALITY_INSUFFICIENT;
}

int modality_analyze(const __u64 counts[HIST_NR_BUCKETS],
		     const __u64 sums_ns[HIST_NR_BUCKETS], struct modality *m)
{
	unsigned int from[1], to[1];
	struct shape *s;

	if (!counts || !m)
		return -EINVAL;
	memset(m, 0, sizeof(*m));
	m->verdict = MODALITY_INSUFFICIENT;
	m->p_value = 1;
	m->dip_ratio = 1;
	m->sums_exact = sums_ns != NULL;
	fill_totals(m, counts, sums_ns);
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	if (load_buckets(s, counts))
		goto cleanup;	/* nothing but clipped samples: no modes */
	m->analysed_count = (__u64)s->n;
	if (s->n >= MODALITY_MIN_SAMPLES) {
		analyze_shape(s, sums_ns, m);
		goto cleanup;
	}
	s->nr_peaks = 0;	/* too few to look at shape: one span, no verdict */
	fill_modes(s, sums_ns, m, from, to);
cleanup:
	free(s);
	return 0;
}

int modality_analyze_samples(const __u64 *samples_ns, size_t nr_samples,
			     struct modality *m)
{
	__u64 *counts, *sums;
	int err;

	counts = calloc(2 * HIST_NR_BUCKETS, sizeof(*counts));
	if (!counts)
		return -ENOMEM;
	sums = counts + HIST_NR_BUCKETS;
	modality_hist_from_samples(samples_ns, nr_samples, counts, sums);
	err = modality_analyze(counts, sums, m);
	free(counts);
	return err;
}

unsigned int modality_slowest_mode(const struct modality *m)
{
	return m->nr_modes ? m->nr_modes - 1 : 0;
}

double modality_slow_ns(const struct modality *m, double total_ns)
{
	double share = 0;
	unsigned int k;

	for (k = 1; k < m->nr_modes; k++)
		share += m->modes[k].time_share;
	return share * total_ns;
}
