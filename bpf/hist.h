/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Log-linear latency histogram, shared by the BPF programs and user space.
 *
 * Every power of two of nanoseconds is split into HIST_SUBS equal linear
 * sub-buckets (HDR-histogram style), so the relative width of a bucket is at
 * most 1/HIST_SUBS (12.5%) anywhere in the range. Bucket 0 holds everything
 * below 2^HIST_MIN_SHIFT ns (underflow), the last bucket everything at or
 * above 2^HIST_MAX_SHIFT ns (overflow, about 275 s). Analysis code must leave
 * the two clipped buckets out of shape tests and report them separately.
 *
 * Bucket i in [1, HIST_NR_BUCKETS - 2] covers
 *   [2^o + s * 2^(o - HIST_SUB_BITS), 2^o + (s + 1) * 2^(o - HIST_SUB_BITS))
 * with o = HIST_MIN_SHIFT + (i - 1) / HIST_SUBS and s = (i - 1) % HIST_SUBS.
 *
 * This header is included by BPF code: no libc, no __builtin_clzll (clang 14
 * crashes on it for the BPF target), only shifts.
 */
#ifndef WAITPROF_HIST_H
#define WAITPROF_HIST_H

#define HIST_SUB_BITS	3
#define HIST_SUBS	(1 << HIST_SUB_BITS)
#define HIST_MIN_SHIFT	7	/* 128 ns: finer than the 1 us asked for */
#define HIST_MAX_SHIFT	38	/* 2^38 ns = 274.9 s: beyond 100 s */
#define HIST_NR_OCTAVES	(HIST_MAX_SHIFT - HIST_MIN_SHIFT)
#define HIST_NR_BUCKETS	(2 + HIST_NR_OCTAVES * HIST_SUBS)	/* 250 */
#define HIST_OVERFLOW	(HIST_NR_BUCKETS - 1)

/* floor(log2(v)) for v > 0, without a count-leading-zeros instruction. */
static inline unsigned int hist_log2(unsigned long long v)
{
	unsigned int r = 0;

	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8) { v >>= 8; r += 8; }
	if (v >> 4) { v >>= 4; r += 4; }
	if (v >> 2) { v >>= 2; r += 2; }
	if (v >> 1) { r += 1; }
	return r;
}

static inline unsigned int hist_bucket(unsigned long long ns)
{
	unsigned int octave, sub;

	if (ns < (1ULL << HIST_MIN_SHIFT))
		return 0;
	if (ns >= (1ULL << HIST_MAX_SHIFT))
		return HIST_OVERFLOW;
	octave = hist_log2(ns);
	sub = (ns >> (octave - HIST_SUB_BITS)) & (HIST_SUBS - 1);
	return 1 + (octave - HIST_MIN_SHIFT) * HIST_SUBS + sub;
}

/* Inclusive lower bound of bucket i, in ns. */
static inline unsigned long long hist_bucket_lower(unsigned int i)
{
	unsigned int octave, sub;

	if (i == 0)
		return 0;
	if (i >= HIST_OVERFLOW)
		return 1ULL << HIST_MAX_SHIFT;
	octave = HIST_MIN_SHIFT + (i - 1) / HIST_SUBS;
	sub = (i - 1) % HIST_SUBS;
	return (1ULL << octave) + ((unsigned long long)sub << (octave - HIST_SUB_BITS));
}

/* Exclusive upper bound of bucket i, in ns (~0 for the overflow bucket). */
static inline unsigned long long hist_bucket_upper(unsigned int i)
{
	if (i >= HIST_OVERFLOW)
		return ~0ULL;
	return hist_bucket_lower(i + 1);
}

#endif /* WAITPROF_HIST_H */
