/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Seeded random latencies for the modality tests: xoshiro256** seeded by
 * splitmix64, Box-Muller normals, Marsaglia-Tsang gammas.  Own code so the
 * evaluation set is the same on every machine and needs no library.
 */
#ifndef WAITPROF_TEST_SAMPLE_GEN_H
#define WAITPROF_TEST_SAMPLE_GEN_H

#include <math.h>
#include <stdint.h>

struct rng {
	uint64_t s[4];
	int have_spare;
	double spare;
};

static inline uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline void rng_seed(struct rng *r, uint64_t seed)
{
	int i;

	for (i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
	r->have_spare = 0;
}

static inline uint64_t rotl64(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s, result = rotl64(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl64(s[3], 45);
	return result;
}

/* Uniform in (0, 1): never 0, so logs and negative powers are safe. */
static inline double rng_uniform(struct rng *r)
{
	return ((rng_next(r) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

static inline double rng_normal(struct rng *r)
{
	double u, v, rad;

	if (r->have_spare) {
		r->have_spare = 0;
		return r->spare;
	}
	u = rng_uniform(r);
	v = rng_uniform(r);
	rad = sqrt(-2 * log(u));
	r->spare = rad * sin(2 * M_PI * v);
	r->have_spare = 1;
	return rad * cos(2 * M_PI * v);
}

static inline double rng_lognormal(struct rng *r, double median, double sigma_ln)
{
	return median * exp(sigma_ln * rng_normal(r));
}

/* Gamma(shape, 1); shapes below 1 through Gamma(shape + 1) * U^(1/shape). */
static inline double rng_gamma(struct rng *r, double shape)
{
	double d, c, x, v, u;

	if (shape < 1)
		return rng_gamma(r, shape + 1) * pow(rng_uniform(r), 1 / shape);
	d = shape - 1.0 / 3;
	c = 1 / sqrt(9 * d);
	for (;;) {
		do {
			x = rng_normal(r);
			v = 1 + c * x;
		} while (v <= 0);
		v = v * v * v;
		u = rng_uniform(r);
		if (log(u) < 0.5 * x * x + d - d * v + d * log(v))
			return d * v;
	}
}

#endif /* WAITPROF_TEST_SAMPLE_GEN_H */
