// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The words and the JSON for a modality result (modality.h): what a report,
 * a diff or funclat prints about the shape of a latency histogram.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "modality.h"

int format_duration_ns(char *buf, size_t len, double ns)
{
	static const char *const units[] = { "µs", "ms", "s" };
	unsigned int u;
	double v;

	if (!(ns >= 0))
		ns = 0;
	if (ns < 999.5)
		return snprintf(buf, len, "%.0f ns", ns);
	v = ns / 1e3;
	for (u = 0; u < 2 && v >= 999.5; u++)
		v /= 1e3;
	if (v < 9.995)
		return snprintf(buf, len, u == 2 ? "%.2f %s" : "%.1f %s", v, units[u]);
	if (v < 99.95)
		return snprintf(buf, len, "%.1f %s", v, units[u]);
	return snprintf(buf, len, "%.0f %s", v, units[u]);
}

static void format_share(char *buf, size_t len, double share)
{
	if (share >= 0.01 || share <= 0)
		snprintf(buf, len, "%.0f%%", share * 100);
	else if (share >= 0.001)
		snprintf(buf, len, "%.1f%%", share * 100);
	else
		snprintf(buf, len, "<0.1%%");
}

/* snprintf at *off, keeping the length the whole text would have. */
__attribute__((format(printf, 4, 5)))
static void append(char *buf, size_t len, int *off, const char *fmt, ...)
{
	size_t used = (size_t)*off < len ? (size_t)*off : len;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
	if (n > 0)
		*off += n;
}

static void describe_modes(char *buf, size_t len, int *off, const struct modality *m,
			   const char *unit_word)
{
	/* "of acquisitions wait", but "of waits last". */
	const char *verb = !strcmp(unit_word, "waits") || !strcmp(unit_word, "holds") ?
			   "last" : "wait";
	char share[16], dur[32];
	unsigned int k, slow = modality_slowest_mode(m);

	for (k = 0; k < m->nr_modes; k++) {
		format_share(share, sizeof(share), m->modes[k].count_share);
		format_duration_ns(dur, sizeof(dur), m->modes[k].center_ns);
		if (k == 0)
			append(buf, len, off, "%s of %s %s ~%s", share, unit_word, verb, dur);
		else
			append(buf, len, off, ", %s %s ~%s", share, verb, dur);
	}
	format_share(share, sizeof(share), m->modes[slow].time_share);
	append(buf, len, off, "; the %s mode is %s of the total wait",
	       m->nr_modes > 2 ? "slowest" : "slow", share);
}

static void describe_clipped(char *buf, size_t len, int *off, const struct modality *m)
{
	char share[16], dur[32];

	if (m->underflow_share > 0) {
		format_share(share, sizeof(share), m->underflow_share);
		format_duration_ns(dur, sizeof(dur), 1ULL << HIST_MIN_SHIFT);
		append(buf, len, off, "; %s under %s, not analysed", share, dur);
	}
	if (m->overflow_share > 0) {
		format_share(share, sizeof(share), m->overflow_share);
		format_duration_ns(dur, sizeof(dur), (double)(1ULL << HIST_MAX_SHIFT));
		append(buf, len, off, "; %s at %s or more, not analysed", share, dur);
	}
}

int modality_describe(char *buf, size_t len, const struct modality *m,
		      const char *unit_word)
{
	char dur[32];
	int off = 0;

	if (!buf || !len)
		return 0;
	buf[0] = '\0';
	if (!unit_word)
		unit_word = "samples";
	if (!m || !m->total_count)
		return snprintf(buf, len, "no %s", unit_word);
	format_duration_ns(dur, sizeof(dur), m->nr_modes ? m->modes[0].center_ns : 0);
	switch (m->verdict) {
	case MODALITY_INSUFFICIENT:
		append(buf, len, &off, "too few %s (%llu) to tell one mode from two",
		       unit_word, (unsigned long long)m->analysed_count);
		if (m->nr_modes)
			append(buf, len, &off, "; typical wait ~%s", dur);
		break;
	case MODALITY_UNIMODAL:
		append(buf, len, &off, "unimodal — typical wait ~%s over %llu %s, no second mode",
		       dur, (unsigned long long)m->analysed_count, unit_word);
		break;
	case MODALITY_BIMODAL:
		append(buf, len, &off, "bimodal — ");
		describe_modes(buf, len, &off, m, unit_word);
		break;
	case MODALITY_MULTIMODAL:
		append(buf, len, &off, "multimodal (%u modes) — ", m->nr_modes);
		describe_modes(buf, len, &off, m, unit_word);
		break;
	}
	describe_clipped(buf, len, &off, m);
	return off;
}

/* JSON has no NaN or infinity. */
static void json_number(FILE *out, const char *key, double v, int comma)
{
	if (isfinite(v))
		fprintf(out, "\"%s\":%.6g%s", key, v, comma ? "," : "");
	else
		fprintf(out, "\"%s\":null%s", key, comma ? "," : "");
}

void modality_write_json(FILE *out, const struct modality *m)
{
	unsigned int k;

	fprintf(out, "{\"verdict\":\"%s\",\"nr_modes\":%u,\"modes\":[",
		modality_verdict_name(m->verdict), m->nr_modes);
	for (k = 0; k < m->nr_modes; k++) {
		const struct modality_mode *mode = &m->modes[k];

		fprintf(out, "%s{\"count\":%llu,", k ? "," : "",
			(unsigned long long)mode->count);
		json_number(out, "center_ns", mode->center_ns, 1);
		json_number(out, "peak_ns", mode->peak_ns, 1);
		json_number(out, "lo_ns", mode->lo_ns, 1);
		json_number(out, "hi_ns", mode->hi_ns, 1);
		json_number(out, "count_share", mode->count_share, 1);
		json_number(out, "time_share", mode->time_share, 0);
		fputc('}', out);
	}
	fputs("],", out);
	if (m->nr_modes > 1)
		json_number(out, "antimode_ns", m->antimode_ns, 1);
	else
		fputs("\"antimode_ns\":null,", out);
	json_number(out, "score", m->score, 1);
	json_number(out, "dip_ratio", m->dip_ratio, 1);
	json_number(out, "p_value", m->p_value, 1);
	json_number(out, "confidence", m->confidence, 1);
	json_number(out, "bandwidth_oct", m->bandwidth_oct, 1);
	fprintf(out, "\"method\":\"%s\",", m->mixture_confirmed ? "valley+mixture" : "valley");
	fprintf(out, "\"total_count\":%llu,\"analysed_count\":%llu,\"time_shares_exact\":%s,",
		(unsigned long long)m->total_count, (unsigned long long)m->analysed_count,
		m->sums_exact ? "true" : "false");
	fputs("\"clipped\":{", out);
	json_number(out, "underflow_share", m->underflow_share, 1);
	json_number(out, "overflow_share", m->overflow_share, 1);
	json_number(out, "underflow_time_share", m->underflow_time_share, 1);
	json_number(out, "overflow_time_share", m->overflow_time_share, 0);
	fputs("}}", out);
}
