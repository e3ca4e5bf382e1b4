// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The labelled evaluation of src/analysis/modality.c: unimodal families (must not be
 * called bi- or multimodal), two-lognormal mixtures over a grid of
 * separations and minor weights (must be found where the brief says they
 * can be), trimodal mixtures, all generated here from a fixed seed and
 * binned with hist_bucket() exactly as the BPF programs bin.
 *
 * Prints the tables docs/MODALITY.md quotes and fails on the gates:
 *   - <= 2% bimodal/multimodal verdicts on each unimodal family and size,
 *     and at n = 300 no unimodal verdict (insufficient, or a split);
 *   - recall >= 0.95 in every mixture cell with >= 1 decade between modes,
 *     >= 3% minor weight and n >= 1e4;
 *   - >= 90% multimodal verdicts on the trimodal mixture at n >= 1e4.
 * MODALITY_EVAL_TRIALS=k multiplies the number of trials (default 1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modality.h"
#include "sample_gen.h"

#define US 1e3
#define MS 1e6

enum family_kind {
	LOGNORMAL, EXPONENTIAL, GAMMA, WEIBULL, LOMAX, PARETO, LOG_UNIFORM,
	NORMAL, QUANT_LOGNORMAL, QUANT_EXPONENTIAL,
};

struct family {
	const char *name;
	enum family_kind kind;
	double scale, shape;
};

static const struct family unimodal[] = {
	{ "lognormal s=0.25", LOGNORMAL, 50 * US, 0.25 },
	{ "lognormal s=0.5", LOGNORMAL, 50 * US, 0.5 },
	{ "lognormal s=1", LOGNORMAL, 50 * US, 1 },
	{ "lognormal s=2", LOGNORMAL, 50 * US, 2 },
	{ "exponential", EXPONENTIAL, 100 * US, 1 },
	{ "gamma k=0.5", GAMMA, 100 * US, 0.5 },
	{ "gamma k=2", GAMMA, 50 * US, 2 },
	{ "gamma k=5", GAMMA, 20 * US, 5 },
	{ "weibull k=0.5", WEIBULL, 100 * US, 0.5 },
	{ "weibull k=1.5", WEIBULL, 100 * US, 1.5 },
	{ "lomax a=1", LOMAX, 10 * US, 1 },
	{ "lomax a=2", LOMAX, 10 * US, 2 },
	{ "pareto a=1.5", PARETO, 10 * US, 1.5 },
	{ "uniform-in-log", LOG_UNIFORM, 1 * US, 10 * MS },
	{ "normal cv=0.2", NORMAL, 100 * US, 0.2 },
	{ "lognormal s=1 1us-quantised", QUANT_LOGNORMAL, 20 * US, 1 },
	{ "exponential 1us-quantised", QUANT_EXPONENTIAL, 5 * US, 1 },
};
#define NR_UNIMODAL (sizeof(unimodal) / sizeof(unimodal[0]))

static const double sizes[] = { 1e3, 1e4, 1e5 };
#define NR_SIZES 3
#define SMALL_N 300	/* below MODALITY_MIN_UNIMODAL: expect insufficient */
static const double separations[] = { 0.5, 1, 1.5, 2, 3, 4 };	/* decades */
#define NR_SEPS 6
static const double weights[] = { 0.01, 0.03, 0.06, 0.10, 0.30, 0.50 };
#define NR_WEIGHTS 6
#define MIX_MEDIAN (20 * US)
#define MIX_SIGMA 0.5	/* of each component, natural log */

static double draw_unimodal(struct rng *r, const struct family *f)
{
	switch (f->kind) {
	case LOGNORMAL:
		return rng_lognormal(r, f->scale, f->shape);
	case EXPONENTIAL:
		return -f->scale * log(rng_uniform(r));
	case GAMMA:
		return f->scale * rng_gamma(r, f->shape);
	case WEIBULL:
		return f->scale * pow(-log(rng_uniform(r)), 1 / f->shape);
	case LOMAX:
		return f->scale * (pow(rng_uniform(r), -1 / f->shape) - 1);
	case PARETO:
		return f->scale * pow(rng_uniform(r), -1 / f->shape);
	case LOG_UNIFORM:
		return f->scale * pow(f->shape / f->scale, rng_uniform(r));
	case NORMAL:
		return f->scale * (1 + f->shape * rng_normal(r));
	case QUANT_LOGNORMAL:	/* a clock that ticks in whole microseconds */
		return ceil(rng_lognormal(r, f->scale, f->shape) / US) * US;
	case QUANT_EXPONENTIAL:
		return ceil(-f->scale * log(rng_uniform(r)) / US) * US;
	}
	return 0;
}

static void bin_sample(double ns, __u64 *counts, __u64 *sums)
{
	__u64 v = ns > 0 ? (__u64)(ns + 0.5) : 0;
	unsigned int b = hist_bucket(v);

	counts[b]++;
	sums[b] += v;
}

static enum modality_verdict run_unimodal(struct rng *r, const struct family *f, size_t n)
{
	__u64 counts[HIST_NR_BUCKETS] = { 0 }, sums[HIST_NR_BUCKETS] = { 0 };
	struct modality m;
	size_t i;

	for (i = 0; i < n; i++)
		bin_sample(draw_unimodal(r, f), counts, sums);
	modality_analyze(counts, sums, &m);
	return m.verdict;
}

/* Components at the given medians and weights, all with sd MIX_SIGMA. */
static enum modality_verdict run_mixture(struct rng *r, const double *medians,
					 const double *mix_weights, unsigned int nr,
					 size_t n)
{
	__u64 counts[HIST_NR_BUCKETS] = { 0 }, sums[HIST_NR_BUCKETS] = { 0 };
	struct modality m;
	size_t i;

	for (i = 0; i < n; i++) {
		double u = rng_uniform(r);
		unsigned int c = 0;

		while (c + 1 < nr && u >= mix_weights[c]) {
			u -= mix_weights[c];
			c++;
		}
		bin_sample(rng_lognormal(r, medians[c], MIX_SIGMA), counts, sums);
	}
	modality_analyze(counts, sums, &m);
	return m.verdict;
}

/* Whether the true log-space density of a 2-mixture has two maxima. */
static int truly_bimodal(double sep_decades, double minor)
{
	double d = sep_decades * log(10) / MIX_SIGMA, prev = -1, cur, x;
	int rising = 1, maxima = 0;

	for (x = -4; x <= d + 4; x += 0.001) {
		cur = (1 - minor) * exp(-x * x / 2) + minor * exp(-(x - d) * (x - d) / 2);
		if (prev >= 0 && rising && cur < prev)
			maxima++;
		if (prev >= 0)
			rising = cur >= prev;
		prev = cur;
	}
	return maxima >= 2;
}

static int positive(enum modality_verdict v)
{
	return v == MODALITY_BIMODAL || v == MODALITY_MULTIMODAL;
}

struct tally {
	unsigned int tp, fp, tn_or_fn_pos, neg;	/* for precision per size */
};

/* Too few samples to rule a minor mode out: the verdict must say so. */
static int eval_small(struct rng *r, const struct family *f, unsigned int trials)
{
	unsigned int t, fp = 0, insufficient = 0;

	for (t = 0; t < trials; t++) {
		enum modality_verdict v = run_unimodal(r, f, SMALL_N);

		fp += positive(v);
		insufficient += v == MODALITY_INSUFFICIENT;
	}
	printf("   %5.1f%% [%5.1f%%]  ", 100.0 * fp / trials, 100.0 * insufficient / trials);
	if (fp <= 0.02 * trials && fp + insufficient == trials)
		return 0;
	printf("\nFAIL: %s at n=%d: %u false positives, %u insufficient of %u\n",
	       f->name, SMALL_N, fp, insufficient, trials);
	return 1;
}

static int eval_unimodal(struct rng *r, unsigned int trials, struct tally *tally)
{
	unsigned int f, s, t, failures = 0;

	printf("\nFalse positives (bimodal or multimodal verdicts) on unimodal families, "
	       "%u trials each; [insufficient share]\n", trials);
	printf("%-30s   n=%-14d", "family", SMALL_N);
	for (s = 0; s < NR_SIZES; s++)
		printf("   n=%-14.0e", sizes[s]);
	printf("\n");
	for (f = 0; f < NR_UNIMODAL; f++) {
		printf("%-30s", unimodal[f].name);
		failures += eval_small(r, &unimodal[f], trials);
		for (s = 0; s < NR_SIZES; s++) {
			unsigned int fp = 0, insufficient = 0;

			for (t = 0; t < trials; t++) {
				enum modality_verdict v = run_unimodal(r, &unimodal[f],
								       (size_t)sizes[s]);

				fp += positive(v);
				insufficient += v == MODALITY_INSUFFICIENT;
			}
			tally[s].fp += fp;
			tally[s].neg += trials;
			printf("   %5.1f%% [%5.1f%%]  ", 100.0 * fp / trials,
			       100.0 * insufficient / trials);
			if (fp > 0.02 * trials) {
				failures++;
				printf("\nFAIL: %s at n=%.0e: %u/%u false positives\n",
				       unimodal[f].name, sizes[s], fp, trials);
			}
		}
		printf("\n");
	}
	return failures;
}

static int eval_mixtures(struct rng *r, unsigned int trials, struct tally *tally)
{
	unsigned int s, i, j, t, failures = 0;

	for (s = 0; s < NR_SIZES; s++) {
		/* n = 1e5 costs the most time and every cell there is 0 or 1 */
		unsigned int cell_trials = sizes[s] >= 1e5 ? trials / 2 : trials;

		printf("\nRecall (bimodal or multimodal verdicts), two lognormals sd %.1f (ln), "
		       "n=%.0e, %u trials; * = not bimodal in truth; [multimodal]\n",
		       MIX_SIGMA, sizes[s], cell_trials);
		printf("%-12s", "sep\\minor");
		for (j = 0; j < NR_WEIGHTS; j++)
			printf(" %12.0f%%  ", weights[j] * 100);
		printf("\n");
		for (i = 0; i < NR_SEPS; i++) {
			printf("%4.1f decades", separations[i]);
			for (j = 0; j < NR_WEIGHTS; j++) {
				double medians[2] = { MIX_MEDIAN,
						      MIX_MEDIAN * pow(10, separations[i]) };
				double w[2] = { 1 - weights[j], weights[j] };
				int truth = truly_bimodal(separations[i], weights[j]);
				unsigned int pos = 0, multi = 0;

				for (t = 0; t < cell_trials; t++) {
					enum modality_verdict v = run_mixture(r, medians, w, 2,
									      (size_t)sizes[s]);

					pos += positive(v);
					multi += v == MODALITY_MULTIMODAL;
				}
				if (truth) {
					tally[s].tp += pos;
					tally[s].tn_or_fn_pos += cell_trials;
				} else {
					tally[s].fp += pos;
					tally[s].neg += cell_trials;
				}
				printf(" %5.2f%c[%4.2f]", (double)pos / cell_trials, truth ? ' ' : '*',
				       (double)multi / cell_trials);
				if (separations[i] >= 1 && weights[j] >= 0.03 && sizes[s] >= 1e4 &&
				    pos < 0.95 * cell_trials) {
					failures++;
					printf("<FAIL");
				}
			}
			printf("\n");
		}
	}
	return failures;
}

static int eval_trimodal(struct rng *r, unsigned int trials)
{
	static const double medians[3] = { 2 * US, 200 * US, 20 * MS };
	static const double w[3] = { 0.6, 0.3, 0.1 };
	unsigned int s, t, failures = 0;

	printf("\nTrimodal (2 us, 200 us, 20 ms; 60/30/10%%), %u trials: multimodal / any split\n",
	       trials);
	for (s = 0; s < NR_SIZES; s++) {
		unsigned int multi = 0, pos = 0;

		for (t = 0; t < trials; t++) {
			enum modality_verdict v = run_mixture(r, medians, w, 3, (size_t)sizes[s]);

			multi += v == MODALITY_MULTIMODAL;
			pos += positive(v);
		}
		printf("  n=%.0e: %.2f / %.2f\n", sizes[s], (double)multi / trials,
		       (double)pos / trials);
		if (sizes[s] >= 1e4 && multi < 0.9 * trials) {
			failures++;
			printf("FAIL: trimodal at n=%.0e found multimodal %u/%u\n",
			       sizes[s], multi, trials);
		}
	}
	return failures;
}

int main(void)
{
	struct tally tally[NR_SIZES];
	const char *env = getenv("MODALITY_EVAL_TRIALS");
	unsigned int scale = env ? (unsigned int)atoi(env) : 1, s;
	struct rng r;
	int failures = 0;

	if (!scale)
		scale = 1;
	memset(tally, 0, sizeof(tally));
	rng_seed(&r, 20261123);
	failures += eval_unimodal(&r, 100 * scale, tally);
	failures += eval_mixtures(&r, 60 * scale, tally);
	failures += eval_trimodal(&r, 50 * scale);
	printf("\nPrecision of bimodal/multimodal verdicts (negatives: unimodal families and "
	       "mixtures whose true density has one mode)\n");
	for (s = 0; s < NR_SIZES; s++) {
		unsigned int pos = tally[s].tp + tally[s].fp;

		printf("  n=%.0e: precision %.4f (%u true, %u false positives), "
		       "recall over truly bimodal cells %.3f, false-positive rate %.4f\n",
		       sizes[s], pos ? (double)tally[s].tp / pos : 1.0, tally[s].tp, tally[s].fp,
		       (double)tally[s].tp / tally[s].tn_or_fn_pos,
		       (double)tally[s].fp / tally[s].neg);
	}
	printf("\n%s: %d gate failure(s)\n", failures ? "FAIL" : "PASS", failures);
	return failures ? 1 : 0;
}
