// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The diff as text, a Markdown table for a pull-request comment, or JSON. */
#include <math.h>
#include <string.h>

#include "diff_report.h"
#include "json.h"
#include "stack_names.h"

#define KEY_SHOWN 120	/* text and Markdown show a long key's innermost end */

static void flag_names(unsigned int flags, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s%s", flags & DIFF_FLAG_P99 ? "p99" : "",
		 (flags & DIFF_FLAG_P99) && (flags & ~DIFF_FLAG_P99) ? ", " : "",
		 flags & DIFF_FLAG_TOTAL ? "total" : "",
		 (flags & DIFF_FLAG_TOTAL) && (flags & DIFF_FLAG_NEW_BIMODAL) ? ", " : "",
		 flags & DIFF_FLAG_NEW_BIMODAL ? "new bimodal" : "");
}

/* A long key (a stack) shows its user frames' innermost end, cut at a
 * frame; kernel frames go first. JSON always has the whole key. */
static const char *shown_key(const char *key, char *buf, size_t len)
{
	const char *tail, *semi, *k = strstr(key, FRAME_SUFFIX_KERNEL);
	size_t n = strlen(key);

	if (n <= KEY_SHOWN)
		return key;
	if (k) {	/* drop from the first kernel frame on */
		while (k > key && k[-1] != ';')
			k--;
		n = k > key ? (size_t)(k - key - 1) : n;
	}
	snprintf(buf, len, "%.*s", (int)n, key);
	n = strlen(buf);
	if (n <= KEY_SHOWN)
		return buf;
	tail = buf + n - KEY_SHOWN;
	semi = strchr(tail, ';');
	return semi && semi[1] ? semi + 1 : tail;
}

static const char *row_key(const struct diff_row *r)
{
	return r->side[0] ? r->side[0]->key : r->side[1]->key;
}

/* "...user;frames" when cut, else the key; buf holds the cut form. */
static const char *display_key(const struct diff_row *r, char *buf, size_t len, bool *cut)
{
	char tmp[1024];
	const char *k = shown_key(row_key(r), tmp, sizeof(tmp));

	*cut = k != row_key(r);
	snprintf(buf, len, "%s%s", *cut ? "..." : "", k);
	return buf;
}

static void pct(char *buf, size_t len, double base, double cur)
{
	double p = diff_pct(base, cur);

	if (isnan(p))
		snprintf(buf, len, "%s", "");
	else
		snprintf(buf, len, " (%+.0f%%)", p);
}

/* "12 ms → 840 ms (+6900%)", "— → 840 ms", "12 ms → —" */
static void pair(char *buf, size_t len, const struct diff_row *r, const double v[2], bool dur)
{
	char a[32] = "—", b[32] = "—", p[32] = "";

	if (r->side[0]) {
		if (dur)
			format_duration_ns(a, sizeof(a), v[0]);
		else
			snprintf(a, sizeof(a), "%.0f", v[0]);
	}
	if (r->side[1]) {
		if (dur)
			format_duration_ns(b, sizeof(b), v[1]);
		else
			snprintf(b, sizeof(b), "%.0f", v[1]);
	}
	if (r->side[0] && r->side[1])
		pct(p, sizeof(p), v[0], v[1]);
	snprintf(buf, len, "%s → %s%s", a, b, p);
}


static const char *verdict(const struct diff_row *r, int s)
{
	return r->side[s] ? modality_verdict_name(r->mod[s].verdict) : "—";
}

static void confidence(char *buf, size_t len, const struct diff_row *r)
{
	if (!r->compared)
		snprintf(buf, len, "%s", r->side[0] && r->side[1] ? "too few samples" : "one side only");
	else
		snprintf(buf, len, "p99 %.1f%%, total %.1f%%", r->boot.p99_conf * 100,
			 r->boot.total_conf * 100);
}

/* A row's cells as text and Markdown both show them. */
struct row_cells {
	char flags[64], count[96], total[96], p50[96], p99[96], conf[96], key[1100];
};

static void row_cells(const struct diff_row *r, struct row_cells *c)
{
	double count[2], total[2];
	bool cut;
	int s;

	for (s = 0; s < 2; s++) {
		count[s] = r->side[s] ? (double)r->side[s]->count : 0;
		total[s] = r->side[s] ? (double)r->side[s]->total_ns : 0;
	}
	flag_names(r->flags, c->flags, sizeof(c->flags));
	pair(c->count, sizeof(c->count), r, count, false);
	pair(c->total, sizeof(c->total), r, total, true);
	pair(c->p50, sizeof(c->p50), r, r->p50, true);
	pair(c->p99, sizeof(c->p99), r, r->p99, true);
	confidence(c->conf, sizeof(c->conf), r);
	display_key(r, c->key, sizeof(c->key), &cut);
}

static void write_summary(FILE *out, const struct diff_result *r, const char *base,
			  const char *cur, const char *by, bool md)
{
	char tb[32], tc[32], p[32];

	format_duration_ns(tb, sizeof(tb), (double)r->total_ns[0]);
	format_duration_ns(tc, sizeof(tc), (double)r->total_ns[1]);
	pct(p, sizeof(p), (double)r->total_ns[0], (double)r->total_ns[1]);
	fprintf(out, "%s%s → %s (by %s): %zu matched, %zu only in base, %zu only in current; "
		"total %s → %s%s; %u regression%s%s\n", md ? "**waitprof diff** " : "waitprof diff ",
		base, cur, by, r->matched, r->only_base, r->only_current, tb, tc, p, r->flagged,
		r->flagged == 1 ? "" : "s", r->failing ? " (gate fails)" : "");
}

static void write_text_row(FILE *out, const struct diff_row *r)
{
	struct row_cells c;

	row_cells(r, &c);
	fprintf(out, "\n%s%s%s", r->flags ? "REGRESSION (" : "", c.flags, r->flags ? "): " : "");
	/* A thread name is any bytes: none reaches the terminal raw. */
	name_fput(out, c.key, NAME_TEXT);
	fputc('\n', out);
	fprintf(out, "  count %s  total %s\n  p50 %s  p99 %s\n  modality %s → %s  confidence %s",
		c.count, c.total, c.p50, c.p99, verdict(r, 0), verdict(r, 1), c.conf);
	if (r->compared)
		fprintf(out, "  Mann-Whitney P(slower) %.3f p=%.2g", r->mw.effect, r->mw.p_greater);
	fputc('\n', out);
}

/* A table cell as a code span: no markup inside, but a pipe still ends
 * the cell unless escaped, a backtick ends the span, a newline the row. */
static void md_cell(FILE *out, const char *s)
{
	fputc('`', out);
	for (; *s; s++) {
		if (*s == '\n' || *s == '\r')
			fputc(' ', out);
		else if (*s == '`')
			fputc('\'', out);
		else if (*s == '|')
			fputs("\\|", out);
		else
			fputc(*s, out);
	}
	fputc('`', out);
}

static void write_md_row(FILE *out, const struct diff_row *r)
{
	struct row_cells c;
	char shown[1100];

	row_cells(r, &c);
	fprintf(out, "| %s%s | ", r->flags ? ":x: " : "", c.flags);
	md_cell(out, name_escape(shown, sizeof(shown), c.key, NAME_TEXT));
	fprintf(out, " | %s | %s | %s | %s | %s → %s | %s |\n", c.count, c.total, c.p50, c.p99,
		verdict(r, 0), verdict(r, 1), c.conf);
}

static void json_num(FILE *out, const char *key, double v, bool comma)
{
	if (isnan(v) || isinf(v))
		fprintf(out, "\"%s\":null%s", key, comma ? "," : "");
	else
		fprintf(out, "\"%s\":%.6g%s", key, v, comma ? "," : "");
}

static void json_side(FILE *out, const struct diff_row *r, int s)
{
	const struct diff_item *it = r->side[s];

	if (!it) {
		fputs("null", out);
		return;
	}
	fprintf(out, "{\"count\":%llu,\"total_ns\":%llu,\"max_ns\":%llu,",
		(unsigned long long)it->count, (unsigned long long)it->total_ns,
		(unsigned long long)it->max_ns);
	json_num(out, "p50_ns", r->p50[s], true);
	json_num(out, "p99_ns", r->p99[s], true);
	fputs("\"modality\":", out);
	modality_write_json(out, &r->mod[s]);
	fputc('}', out);
}

static void json_row(FILE *out, const struct diff_row *r)
{
	const struct diff_item *b = r->side[0], *c = r->side[1];
	char flags[64];

	fputs("{\"key\":", out);
	json_write_string(out, b ? b->key : c->key);
	fprintf(out, ",\"status\":\"%s\",\"flags\":[%s%s%s%s%s],\"base\":",
		b && c ? "matched" : b ? "only_base" : "only_current",
		r->flags & DIFF_FLAG_P99 ? "\"p99\"" : "",
		(r->flags & DIFF_FLAG_P99) && (r->flags & ~DIFF_FLAG_P99) ? "," : "",
		r->flags & DIFF_FLAG_TOTAL ? "\"total\"" : "",
		(r->flags & DIFF_FLAG_TOTAL) && (r->flags & DIFF_FLAG_NEW_BIMODAL) ? "," : "",
		r->flags & DIFF_FLAG_NEW_BIMODAL ? "\"new_bimodal\"" : "");
	(void)flags;
	json_side(out, r, 0);
	fputs(",\"current\":", out);
	json_side(out, r, 1);
	fputs(",\"delta_pct\":{", out);
	json_num(out, "count", b && c ? diff_pct((double)b->count, (double)c->count) : NAN, true);
	json_num(out, "total", b && c ? diff_pct((double)b->total_ns, (double)c->total_ns) : NAN,
		 true);
	json_num(out, "p50", b && c ? diff_pct(r->p50[0], r->p50[1]) : NAN, true);
	json_num(out, "p99", b && c ? diff_pct(r->p99[0], r->p99[1]) : NAN, false);
	fprintf(out, "},\"compared\":%s", r->compared ? "true" : "false");
	if (r->compared) {
		fputs(",\"confidence\":{", out);
		json_num(out, "p99_increased", r->boot.p99_conf, true);
		json_num(out, "total_increased", r->boot.total_conf, true);
		fprintf(out, "\"p99_ratio_95ci\":[%.4g,%.4g],\"total_ratio_95ci\":[%.4g,%.4g]},",
			r->boot.p99_lo, r->boot.p99_hi, r->boot.total_lo, r->boot.total_hi);
		fputs("\"mann_whitney\":{", out);
		json_num(out, "p_slower", r->mw.effect, true);
		json_num(out, "z", r->mw.z, true);
		json_num(out, "p_value", r->mw.p_greater, false);
		fputc('}', out);
	}
	fputc('}', out);
}

static void write_json(FILE *out, const struct diff_result *r, const struct diff_gate *g,
		       const char *base, const char *cur, const char *by)
{
	size_t i;

	fputs("{\"base\":", out);
	json_write_string(out, base);
	fputs(",\"current\":", out);
	json_write_string(out, cur);
	fputs(",\"by\":", out);
	json_write_string(out, by);
	fprintf(out, ",\"gate\":{\"p99_pct\":%g,\"total_pct\":%g,\"confidence\":%g,"
		"\"min_samples\":%llu,\"fail_p99\":%s,\"fail_total\":%s,\"fail_new_bimodal\":%s},",
		g->p99_pct, g->total_pct, g->confidence, (unsigned long long)g->min_samples,
		g->fail_mask & DIFF_FLAG_P99 ? "true" : "false",
		g->fail_mask & DIFF_FLAG_TOTAL ? "true" : "false",
		g->fail_mask & DIFF_FLAG_NEW_BIMODAL ? "true" : "false");
	fprintf(out, "\"summary\":{\"matched\":%zu,\"only_base\":%zu,\"only_current\":%zu,"
		"\"flagged\":%u,\"failing\":%u,\"base_total_ns\":%llu,\"current_total_ns\":%llu},"
		"\"entries\":[", r->matched, r->only_base, r->only_current, r->flagged, r->failing,
		(unsigned long long)r->total_ns[0], (unsigned long long)r->total_ns[1]);
	for (i = 0; i < r->nr; i++) {
		fputs(i ? ",\n" : "\n", out);
		json_row(out, &r->rows[i]);
	}
	fputs("]}\n", out);
}

void diff_write(FILE *out, enum diff_format fmt, const struct diff_result *r,
		const struct diff_gate *gate, const char *base_name, const char *cur_name,
		const char *by, int top)
{
	size_t i, n = top > 0 && (size_t)top < r->nr ? (size_t)top : r->nr;

	if (fmt == DIFF_JSON) {
		write_json(out, r, gate, base_name, cur_name, by);
		return;
	}
	write_summary(out, r, base_name, cur_name, by, fmt == DIFF_MARKDOWN);
	if (fmt == DIFF_MARKDOWN) {
		fputs("\n| regression | entry | count | total | p50 | p99 | modality | confidence |\n"
		      "|---|---|---|---|---|---|---|---|\n", out);
		for (i = 0; i < n; i++)
			write_md_row(out, &r->rows[i]);
	} else {
		for (i = 0; i < n; i++)
			write_text_row(out, &r->rows[i]);
	}
	if (n < r->nr)
		fprintf(out, "\n%s(%zu more entries: --top 0 shows all)\n",
			fmt == DIFF_MARKDOWN ? "" : "", r->nr - n);
}
