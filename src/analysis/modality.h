/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Modality of a latency histogram: is it one mode with a long tail, or two
 * (or more) separate populations?  Works on the log-linear histogram of
 * bpf/hist.h, optionally with the per-bucket sums of ns the BPF side keeps,
 * so count shares and time shares of each mode are both exact.
 *
 * Method (docs/MODALITY.md): kernel-smoothed density in log2 space, valleys
 * between peaks at least MODALITY_MIN_SEP_OCT apart, each valley tested with
 * a binomial test that is valid under any unimodal density; a valley that is
 * only borderline by that test needs a 2-Gaussian mixture to confirm it.
 * Pure computation: no I/O except modality_write_json() (modality_text.c).
 * Thread-safe: no static state.
 */
#ifndef WAITPROF_MODALITY_H
#define WAITPROF_MODALITY_H

#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>

#include "hist.h"

#define MODALITY_MAX_MODES	8

/* Fewer analysed samples than this: never a verdict but insufficient. */
#define MODALITY_MIN_SAMPLES	100
/* Fewer than this and no second mode found: insufficient, not unimodal. */
#define MODALITY_MIN_UNIMODAL	500
/* Significance a valley needs (one-sided binomial p-value). */
#define MODALITY_ALPHA		1e-3
/* Peaks closer than this (in octaves, log2 units) are one mode. */
#define MODALITY_MIN_SEP_OCT	1.5
/* A valley must be at most this fraction of the lower peak's density. */
#define MODALITY_MAX_DIP_RATIO	0.85

enum modality_verdict {
	MODALITY_INSUFFICIENT = 0,
	MODALITY_UNIMODAL,
	MODALITY_BIMODAL,
	MODALITY_MULTIMODAL,
};

struct modality_mode {
	double center_ns;	/* median of the samples in this mode */
	double peak_ns;		/* where its smoothed density peaks */
	double lo_ns, hi_ns;	/* the mode's span: antimodes or data extent */
	__u64 count;
	double count_share;	/* of all samples, clipped ones included */
	double time_share;	/* of all ns, clipped buckets included */
};

struct modality {
	enum modality_verdict verdict;
	unsigned int nr_modes;	/* ascending by center; 1 when unimodal */
	struct modality_mode modes[MODALITY_MAX_MODES];
	double antimode_ns;	/* deepest valley between the 2 main modes, 0 if none */
	double score;		/* Ashman's D of the 2 main modes in log space, 0 if none */
	double dip_ratio;	/* valley / lower peak density of that split, 1 if none */
	double p_value;		/* of the weakest accepted valley, or the best rejected one */
	double confidence;	/* 1 - p_value: confidence there is more than one mode */
	int mixture_confirmed;	/* a valley only borderline by itself, confirmed by a mixture */
	double bandwidth_oct;	/* smoothing kernel sd, log2 units */
	__u64 total_count;	/* all samples, clipped ones included */
	__u64 analysed_count;	/* samples in buckets 1 .. HIST_NR_BUCKETS - 2 */
	double total_ns;
	double underflow_share, overflow_share;		/* of the count */
	double underflow_time_share, overflow_time_share;
	int sums_exact;		/* 1 when per-bucket sums were given */
};

/*
 * Analyse a histogram in the bpf/hist.h layout.  sums_ns may be NULL: then
 * each sample counts as its bucket's midpoint for time shares.
 * Returns 0, or -EINVAL on NULL arguments.
 */
int modality_analyze(const __u64 counts[HIST_NR_BUCKETS],
		     const __u64 sums_ns[HIST_NR_BUCKETS], struct modality *m);

/* Bin raw samples exactly as the BPF programs do (adds to counts and sums). */
void modality_hist_from_samples(const __u64 *samples_ns, size_t nr_samples,
				__u64 counts[HIST_NR_BUCKETS],
				__u64 sums_ns[HIST_NR_BUCKETS]);

/* Bin then analyse raw samples.  Returns 0 or a negative errno. */
int modality_analyze_samples(const __u64 *samples_ns, size_t nr_samples,
			     struct modality *m);

/* "unimodal", "bimodal", "multimodal", "insufficient" */
const char *modality_verdict_name(enum modality_verdict verdict);

/* Index of the slowest mode (highest center). */
unsigned int modality_slowest_mode(const struct modality *m);
/* The time in the modes above the fastest one, of total_ns: what the
 * slowness costs (rank findings by it). */
double modality_slow_ns(const struct modality *m, double total_ns);

/*
 * A human duration: "850 ns", "2.0 µs", "12.5 µs", "1.2 ms", "3.40 s".
 * Returns what snprintf returns.
 */
int format_duration_ns(char *buf, size_t len, double ns);

/*
 * The plain-words part of a finding, e.g.
 * "bimodal — 94% of acquisitions wait ~2.0 µs, 6% wait ~1.2 ms; the slow mode
 * is 97% of the total wait".  unit_word names what was counted (plural);
 * NULL means "samples".  Returns what snprintf returns.
 */
int modality_describe(char *buf, size_t len, const struct modality *m,
		      const char *unit_word);

/* The report's "modality" object, as one JSON object (no trailing newline). */
void modality_write_json(FILE *out, const struct modality *m);

#endif /* WAITPROF_MODALITY_H */
