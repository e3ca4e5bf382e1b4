// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Text pieces the off-CPU and lock sections, funclat and tail share: the
 * histogram a person reads, one row per power of two, with the modes
 * marked; the unwinder's line. */
#include "recording.h"
#include "text_common.h"

#define HIST_BAR_WIDTH 40

/* Bytes beyond one per column: UTF-8 continuation bytes. */
static int utf8_extra(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) == 0x80;
	return n;
}

static int hist_row(unsigned int bucket)
{
	return bucket == 0 ? 0 : bucket == HIST_OVERFLOW ? HIST_NR_OCTAVES + 1 :
	       1 + ((int)bucket - 1) / HIST_SUBS;
}

/* "<- mode 2: 45%, ~227 µs" on the row holding a mode's centre, "-- antimode"
 * on the row of the valley between the two main modes. */
static void print_marks(FILE *out, const struct modality *m, int r)
{
	char dur[32];
	unsigned int k;

	if (!m || m->nr_modes < 2)
		return;
	for (k = 0; k < m->nr_modes; k++) {
		if (hist_row(hist_bucket((unsigned long long)m->modes[k].center_ns)) != r)
			continue;
		format_duration_ns(dur, sizeof(dur), m->modes[k].center_ns);
		fprintf(out, "  <- mode %u: %.0f%%, ~%s", k + 1, m->modes[k].count_share * 100, dur);
	}
	if (m->antimode_ns > 0 && hist_row(hist_bucket((unsigned long long)m->antimode_ns)) == r) {
		format_duration_ns(dur, sizeof(dur), m->antimode_ns);
		fprintf(out, "  -- antimode ~%s", dur);
	}
}

/* Octave rows (power-of-two ranges): the log-linear detail is for analysis,
 * a person reads a shorter histogram. m (or NULL) marks the modes. */
void report_print_histogram(FILE *out, const __u64 *counts, const struct modality *m)
{
	__u64 rows[HIST_NR_OCTAVES + 2] = {}, max = 0;
	int first = -1, last = -1, r, i;
	char lo[32], hi[32];

	for (i = 0; i < HIST_NR_BUCKETS; i++)
		rows[hist_row(i)] += counts[i];
	for (r = 0; r < HIST_NR_OCTAVES + 2; r++) {
		if (!rows[r])
			continue;
		if (first < 0)
			first = r;
		last = r;
		if (rows[r] > max)
			max = rows[r];
	}
	for (r = first; r >= 0 && r <= last; r++) {
		unsigned int lo_b = r == 0 ? 0 : 1 + (r - 1) * HIST_SUBS;
		unsigned int hi_b = r == HIST_NR_OCTAVES + 1 ? HIST_OVERFLOW : r * HIST_SUBS + 1;
		int bar = (int)((rows[r] * HIST_BAR_WIDTH + max - 1) / max);

		format_duration_ns(lo, sizeof(lo), (double)hist_bucket_lower(lo_b));
		if (r == HIST_NR_OCTAVES + 1)
			snprintf(hi, sizeof(hi), "...");
		else
			format_duration_ns(hi, sizeof(hi), (double)hist_bucket_lower(hi_b));
		/* Widths in columns: "µ" is two bytes. */
		fprintf(out, "      %*s .. %-*s |%-*.*s| %llu", 10 + utf8_extra(lo), lo,
			10 + utf8_extra(hi), hi, HIST_BAR_WIDTH, bar,
			"########################################", (unsigned long long)rows[r]);
		print_marks(out, m, r);
		fputc('\n', out);
	}
}

void report_print_unwinder(FILE *out, const struct recording *named)
{
	__u64 cfi, fp;

	if (!named)
		return;
	cfi = rec_get_counter(named, "unwind_cfi_walks");
	fp = rec_get_counter(named, "unwind_fp_walks");
	if (!cfi && !fp)
		return;
	fprintf(out, "unwinder: %llu CFI walks (%llu to the outermost frame), %llu frame-pointer "
		"walks (%llu where CFI had no table)\n", (unsigned long long)cfi,
		(unsigned long long)rec_get_counter(named, "unwind_cfi_stop_end"),
		(unsigned long long)fp,
		(unsigned long long)rec_get_counter(named, "unwind_fp_fallbacks"));
}
