// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * report --format html: one self-contained page (no external URL) with the
 * findings in plain words, the flame graph, the lock table and the
 * histograms of the top stacks and locks with their modes marked.
 *
 * The flame graph is the same SVG --format svg writes. Inline in HTML its
 * namespaced attributes (fg:x, fg:w) and its CDATA script would not survive
 * the HTML parser, so the page carries it as a JSON string, parses it as
 * XML and makes it the root of an about:blank <iframe>'s document, where
 * its own script finds what it expects (document.documentElement is the
 * <svg>). A blob: or data: URL would work too but is a foreign origin from
 * a file:// page: nothing could check it. The page's script then checks
 * that search (for the page's ?s=REGEX, default ".") and zoom work and
 * says so on <body data-selfcheck>, which headless browsers can read.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "findings.h"
#include "lock_agg.h"
#include "modality.h"
#include "report_export.h"
#include "stack_names.h"
#include "svg.h"

#define TOP_STACKS	5
#define TOP_LOCKS	10
#define HIST_W		600
#define HIST_H		90
#define STACK_FRAMES	6

/* HTML text and attribute values: the same escaping as XML. */
static void put_text(FILE *out, const char *s)
{
	fg_xml_write(out, s, strlen(s), 0);
}

static const char page_style[] =
	"body{font-family:sans-serif;margin:1em 2em;color:#222}"
	"h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}"
	"table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;"
	"text-align:right}td.n,th.n{text-align:left}"
	"iframe{width:100%;border:1px solid #ccc}"
	".hist{margin:0.8em 0}.hist p{margin:2px 0}.meta{color:#555}"
	"code{font-size:0.9em}";

/* The page's script: puts the flame graph into an about:blank <iframe>
 * (same origin as the page) as the root of its document, runs the graph's
 * own script there, then checks that search and zoom work. */
static const char page_script[] =
	"\"use strict\";\n"
	"(function () {\n"
	"var body = document.body, SVGNS = 'http://www.w3.org/2000/svg';\n"
	"function fail(msg) { body.setAttribute('data-selfcheck', 'error: ' + msg); }\n"
	"window.addEventListener('error', function (e) { fail(String(e.message)); });\n"
	"var src = document.getElementById('fg-svg');\n"
	"var frame = document.getElementById('fg');\n"
	"if (!src || !frame) { body.setAttribute('data-selfcheck', 'ok nograph'); return; }\n"
	"try { show(); } catch (err) { fail(String(err)); }\n"
	"function show() {\n"
	"  var xml = new DOMParser().parseFromString(JSON.parse(src.textContent), 'image/svg+xml');\n"
	"  if (xml.getElementsByTagName('parsererror').length) { fail('flame graph: bad SVG'); return; }\n"
	"  var code = '', scripts = xml.getElementsByTagName('script');\n"
	"  while (scripts.length) { code += scripts[0].textContent; scripts[0].parentNode.removeChild(scripts[0]); }\n"
	"  xml.documentElement.removeAttribute('onload');\n"
	"  var w = frame.contentWindow, d = frame.contentDocument;\n"
	"  var root = d.importNode(xml.documentElement, true);\n"
	"  d.replaceChild(root, d.documentElement);\n"
	"  var s = d.createElementNS(SVGNS, 'script');\n"
	"  s.textContent = code;\n"
	"  root.appendChild(s);\n"
	"  frame.style.height = (parseFloat(root.getAttribute('height')) + 8) + 'px';\n"
	"  w.init({});\n"
	"  check(w, d);\n"
	"}\n"
	"function check(w, d) {\n"
	"  var gs = d.getElementsByClassName('f');\n"
	"  if (typeof w.search !== 'function') { fail('flame graph did not load'); return; }\n"
	"  if (!gs.length) { body.setAttribute('data-selfcheck', 'ok empty'); return; }\n"
	"  var q = typeof URLSearchParams !== 'undefined' ? new URLSearchParams(location.search).get('s') : null;\n"
	"  var pct = w.search(q || '.');\n"
	"  var matched = d.getElementById('matched').textContent;\n"
	"  w.resetSearch();\n"
	"  var target = gs[gs.length > 1 ? 1 : 0];\n"
	"  target.dispatchEvent(new w.MouseEvent('click', {bubbles: true}));\n"
	"  var full = parseFloat(d.documentElement.getAttribute('width')) - 20;\n"
	"  var got = parseFloat(target.getElementsByTagName('rect')[0].getAttribute('width'));\n"
	"  var hidden = d.querySelectorAll('g.hide').length;\n"
	"  w.unzoom();\n"
	"  body.setAttribute('data-search-result', matched);\n"
	"  body.setAttribute('data-zoom-width', got.toFixed(1) + '/' + full.toFixed(1));\n"
	"  body.setAttribute('data-zoom-hidden', String(hidden));\n"
	"  if (!(pct >= 0) || Math.abs(got - full) > 0.5) { fail('search ' + pct + ', zoom ' + got); return; }\n"
	"  body.setAttribute('data-selfcheck', 'ok');\n"
	"}\n"
	"})();\n";

static double x_of(double ns, double lo_log, double hi_log)
{
	if (ns < 1)
		ns = 1;
	return 40 + (log2(ns) - lo_log) / (hi_log - lo_log) * (HIST_W - 60);
}

static void put_marker(FILE *out, double x, const char *color, const char *dash,
		       const char *label)
{
	/* Labels near the right edge go on the line's left so they stay in. */
	bool left = x > HIST_W - 90;

	fprintf(out, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"4\" y2=\"%d\" stroke=\"%s\"%s%s%s/>"
		"<text x=\"%.1f\" y=\"12\" font-size=\"10\" fill=\"%s\"%s>", x, x, HIST_H - 14,
		color, dash ? " stroke-dasharray=\"" : "", dash ? dash : "", dash ? "\"" : "",
		left ? x - 2 : x + 2, color, left ? " text-anchor=\"end\"" : "");
	put_text(out, label);
	fputs("</text>", out);
}

/* Bars per histogram bucket on a log2 time axis; modes and the antimode
 * drawn as lines. */
static void put_hist_svg(FILE *out, const __u64 *counts, const struct modality *m)
{
	int first = -1, last = -1, i;
	double lo_log, hi_log, max = 0;
	char lo[32], hi[32], what[48];
	unsigned int k;

	for (i = 0; i < HIST_NR_BUCKETS; i++) {
		if (!counts[i])
			continue;
		if (first < 0)
			first = i;
		last = i;
		if ((double)counts[i] > max)
			max = (double)counts[i];
	}
	if (first < 0)
		return;
	lo_log = log2((double)(hist_bucket_lower(first) ?: 1));
	hi_log = log2((double)hist_bucket_upper(last < HIST_OVERFLOW ? last : HIST_OVERFLOW - 1));
	if (hi_log <= lo_log)
		hi_log = lo_log + 1;
	fprintf(out, "<svg class=\"histsvg\" width=\"%d\" height=\"%d\" role=\"img\">", HIST_W, HIST_H);
	for (i = first; i <= last; i++) {
		double x0, x1, h;

		if (!counts[i])
			continue;
		x0 = x_of((double)hist_bucket_lower(i), lo_log, hi_log);
		x1 = i < HIST_OVERFLOW ? x_of((double)hist_bucket_upper(i), lo_log, hi_log) : x0 + 4;
		h = (double)counts[i] / max * (HIST_H - 30);
		fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
			"fill=\"#4a7ab5\"><title>%llu</title></rect>", x0, HIST_H - 14 - h,
			x1 - x0 > 1 ? x1 - x0 - 0.5 : 0.5, h, (unsigned long long)counts[i]);
	}
	for (k = 0; m->verdict != MODALITY_INSUFFICIENT && k < m->nr_modes; k++) {
		format_duration_ns(lo, sizeof(lo), m->modes[k].peak_ns);
		snprintf(what, sizeof(what), "mode %s", lo);
		put_marker(out, x_of(m->modes[k].peak_ns, lo_log, hi_log), "#2a8a2a", NULL, what);
	}
	if (m->antimode_ns > 0) {
		format_duration_ns(lo, sizeof(lo), m->antimode_ns);
		snprintf(what, sizeof(what), "antimode %s", lo);
		put_marker(out, x_of(m->antimode_ns, lo_log, hi_log), "#c03030", "4,3", what);
	}
	format_duration_ns(lo, sizeof(lo), (double)hist_bucket_lower(first));
	format_duration_ns(hi, sizeof(hi), exp2(hi_log));
	fprintf(out, "<text x=\"40\" y=\"%d\" font-size=\"10\">%s</text>"
		"<text x=\"%d\" y=\"%d\" font-size=\"10\" text-anchor=\"end\">%s</text></svg>\n",
		HIST_H - 2, lo, HIST_W - 20, HIST_H - 2, hi);
}

/* "inner <- outer <- ..." of a stack, escaped. */
static void put_stack_line(FILE *out, const struct recording *rec, __u64 stack_id, __u32 pid,
			   struct named_stack *ns)
{
	unsigned int i;

	stack_names(rec, stack_id, pid, ns);
	if (!ns->nr)
		put_text(out, ns->missing ? "[missing stack]" : "[no stack]");
	for (i = 0; i < ns->nr && i < STACK_FRAMES; i++) {
		fputs(i ? " &lt;- " : "", out);
		put_text(out, ns->frames[i].name);
	}
	if (ns->nr > STACK_FRAMES)
		fputs(" &lt;- ...", out);
}

/* A histogram with its heading and its finding in words. */
static void put_hist_block(FILE *out, const char *heading, const __u64 *counts,
			   const __u64 *sums, const char *unit_word, struct modality *m)
{
	char finding[512];

	modality_analyze(counts, sums, m);
	modality_describe(finding, sizeof(finding), m, unit_word);
	fputs("<div class=\"hist\"><h3>", out);
	put_text(out, heading);
	fputs("</h3><p class=\"finding\">", out);
	put_text(out, finding);
	fputs("</p>", out);
	put_hist_svg(out, counts, m);
	fputs("</div>\n", out);
}

static int put_offcpu(FILE *out, const struct recording *rec, const struct report_opts *o,
		      struct named_stack *ns)
{
	struct offcpu_agg agg;
	struct modality m;
	char heading[160], total[32];
	size_t i;
	int err;

	err = offcpu_aggregate(rec, o->wait, &agg);
	if (err)
		return err;
	format_duration_ns(total, sizeof(total), (double)agg.total_ns);
	fprintf(out, "<h2>Off-CPU stacks</h2>\n<p class=\"meta\">%zu stacks, %s off CPU in total. "
		"The %d largest, innermost frame first:</p>\n", agg.nr, total, TOP_STACKS);
	for (i = 0; i < agg.nr && i < TOP_STACKS; i++) {
		const struct offcpu_entry *e = &agg.entries[i];
		char raw[TASK_COMM_LEN + 1], comm[TASK_COMM_LEN * 4 + 1];

		/* Shown as the text report and the flame graph show it. */
		snprintf(raw, sizeof(raw), "%.*s", TASK_COMM_LEN, e->comm);
		name_escape(comm, sizeof(comm), raw, NAME_TEXT);
		format_duration_ns(total, sizeof(total), (double)offcpu_entry_value(e, o->wait));
		snprintf(heading, sizeof(heading), "#%zu %s [%u]: %s in %llu waits", i + 1, comm,
			 e->tgid, total, (unsigned long long)e->count);
		put_hist_block(out, heading, e->hist_count, e->hist_sum_ns, "waits", &m);
		fputs("<p class=\"stack\"><code>", out);
		put_stack_line(out, rec, e->user_stack_id, e->tgid, ns);
		fputs("</code><br><code>", out);
		put_stack_line(out, rec, e->kern_stack_id, 0, ns);
		fputs("</code></p>\n", out);
	}
	offcpu_agg_free(&agg);
	return 0;
}

static void put_lock_row(FILE *out, const struct lock_entry *e, struct modality *m)
{
	char name[192], total[32], avg[32], p99[32], max[32];
	struct lock_latency lat;

	lock_display_name(e, name, sizeof(name));
	lock_entry_latency(e, &lat);
	modality_analyze(lat.counts, lat.sums, m);
	format_duration_ns(total, sizeof(total), (double)lat.total_ns);
	format_duration_ns(avg, sizeof(avg), lat.count ? (double)lat.total_ns / lat.count : 0);
	format_duration_ns(p99, sizeof(p99),
			   hist_quantile(lat.counts, lat.sums, 0.99, lat.max_ns));
	format_duration_ns(max, sizeof(max), (double)lat.max_ns);
	fputs("<tr><td class=\"n\">", out);
	put_text(out, name);
	fputs("</td><td class=\"n\">", out);
	put_text(out, lock_kind_name(e->kind));
	fputs("</td><td class=\"n\">", out);
	put_text(out, e->comm[0] ? e->comm : "-");
	fprintf(out, " [%u]</td><td>%llu</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>"
		"<td class=\"n\">%s</td></tr>\n", e->pid, (unsigned long long)e->contentions,
		total, avg, p99, max, modality_verdict_name(m->verdict));
}

static int put_locks(FILE *out, const struct recording *rec)
{
	struct lock_latency lat;
	struct lock_agg agg;
	struct modality m;
	char name[192], heading[256];
	size_t i;
	int err;

	if (!rec->nr_locks)
		return 0;
	err = lock_aggregate(rec, &agg);
	if (err)
		return err;
	fprintf(out, "<h2>Locks</h2>\n<table id=\"locks\"><tr><th class=\"n\">lock</th>"
		"<th class=\"n\">kind</th><th class=\"n\">process</th><th>contentions</th>"
		"<th>total wait</th><th>avg</th><th>p99</th><th>max</th>"
		"<th class=\"n\">modality</th></tr>\n");
	for (i = 0; i < agg.nr && i < TOP_LOCKS; i++)
		put_lock_row(out, &agg.entries[i], &m);
	fputs("</table>\n", out);
	for (i = 0; i < agg.nr && i < TOP_STACKS; i++) {
		const struct lock_entry *e = &agg.entries[i];

		lock_display_name(e, name, sizeof(name));
		snprintf(heading, sizeof(heading), "%s (%s)", name, lock_kind_name(e->kind));
		lock_entry_latency(e, &lat);
		put_hist_block(out, heading, lat.counts, lat.sums, lat.what, &m);
	}
	lock_agg_free(&agg);
	return 0;
}

/* Findings: every lock and top stack with more than one mode, in words. */
static int put_findings(FILE *out, const struct recording *rec, const struct report_opts *o)
{
	struct findings f;
	size_t i;
	int err;

	err = findings_collect(rec, o->wait, &f);
	if (err)
		return err;
	fputs("<h2>Findings</h2>\n<ul id=\"findings\">\n", out);
	for (i = 0; i < f.nr; i++) {
		fputs("<li>", out);
		put_text(out, f.items[i].subject);
		fputs(": ", out);
		put_text(out, f.items[i].text);
		if (f.items[i].hint[0]) {
			fputs("<br>hint: ", out);
			put_text(out, f.items[i].hint);
		}
		if (f.items[i].cause[0]) {
			fputs("<br>", out);
			put_text(out, f.items[i].cause);
		}
		fputs("</li>\n", out);
	}
	if (!f.nr)
		fputs("<li>No lock and none of the largest stacks waits more than one way: "
		      "each has one mode (or too few samples to tell).</li>\n", out);
	fputs("</ul>\n", out);
	findings_free(&f);
	return 0;
}

/*
 * A string as JSON inside <script>: json_write_string escapes "</", but
 * "<!--" then "<script" would still put the HTML parser into its "double
 * escaped" state, where our own </script> no longer ends the element.
 * Every '<' is written as \u003c: the script data then holds none.
 */
static int put_script_json(FILE *out, const char *s, size_t len)
{
	char *json = NULL;
	size_t json_len = 0, i;
	FILE *mem = open_memstream(&json, &json_len);

	if (!mem)
		return -errno;
	json_write_string_len(mem, s, len);
	if (fclose(mem)) {
		free(json);
		return -ENOMEM;
	}
	for (i = 0; i < json_len; i++) {
		if (json[i] == '<')
			fputs("\\u003c", out);
		else
			fputc(json[i], out);
	}
	free(json);
	return 0;
}

static int put_flamegraph(FILE *out, const struct recording *rec, const struct report_opts *o)
{
	char *svg = NULL;
	size_t len = 0;
	int err;

	err = report_svg_mem(rec, o, &svg, &len);
	if (err)
		return err;
	fputs("<h2>Flame graph</h2>\n<p class=\"meta\">Click a frame to zoom, Escape to reset, "
	      "Ctrl-F to search (regular expression).</p>\n"
	      "<iframe id=\"fg\" title=\"flame graph\" height=\"600\"></iframe>\n"
	      "<script type=\"application/json\" id=\"fg-svg\">", out);
	err = put_script_json(out, svg, len);
	fputs("</script>\n", out);
	free(svg);
	return err;
}

int report_html(FILE *out, const struct recording *rec, const struct report_opts *o)
{
	const char *cmd = rec_get_meta(rec, "command_line");
	const char *dur = rec_get_meta(rec, "duration_ns");
	struct named_stack *ns = malloc(sizeof(*ns));
	char duration[32] = "?";
	int err;

	if (!ns)
		return -ENOMEM;
	if (dur)
		format_duration_ns(duration, sizeof(duration), strtod(dur, NULL));
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>waitprof: ",
	      out);
	put_text(out, cmd ? cmd : "recording");
	fprintf(out, "</title>\n<style>%s</style></head>\n<body data-selfcheck=\"pending\">\n"
		"<h1>waitprof report</h1>\n<p class=\"meta\">Command <code>",
		page_style);
	put_text(out, cmd ? cmd : "?");
	fputs("</code> on ", out);
	put_text(out, rec_get_meta(rec, "hostname") ?: "?");
	fprintf(out, ", recorded for %s.</p>\n", duration);
	err = put_findings(out, rec, o);
	if (!err)
		err = put_flamegraph(out, rec, o);
	if (!err)
		err = put_locks(out, rec);
	if (!err)
		err = put_offcpu(out, rec, o, ns);
	fprintf(out, "<script>\n%s</script>\n</body></html>\n", page_script);
	free(ns);
	return err;
}
