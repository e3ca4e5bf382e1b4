// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `waitprof tail -F html`: one self-contained page (no external URL): the
 * bands as stacked bars (on CPU, runnable, the largest waits), the text
 * report, and the waterfall of the slowest calls, drawn by the page's
 * script from the Chrome trace that --trace writes (embedded). The script
 * checks what it drew (every call's pieces tile it, and their number)
 * and says so on <body data-selfcheck>, which headless browsers can read.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "svg.h"
#include "tail_report.h"

#define BAR_WAITS	4	/* waits with a colour of their own per band */

static const char *const wait_colors[BAR_WAITS] = { "#d62728", "#9467bd", "#8c564b", "#e377c2" };

static const char page_style[] =
	"body{font-family:sans-serif;margin:1em 2em;color:#222}"
	"h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}"
	".bar{display:flex;width:600px;height:16px;border:1px solid #ccc}"
	".bar div{height:100%}.row{display:flex;align-items:center;margin:3px 0}"
	".row span.n{width:90px}.legend span{margin-right:1em}"
	"pre{font-size:0.85em;background:#f6f6f6;padding:0.5em;overflow-x:auto}"
	".wf{position:relative;height:18px;width:800px;border:1px solid #ccc;margin:2px 0}"
	".wf div{position:absolute;top:0;height:100%}"
	".c-on-cpu{background:#2ca02c}.c-blocked{background:#d62728}"
	".c-runnable{background:#ffbf00}.c-merged{background:#999}";

/* Draws each call of the embedded trace as a bar of its pieces, and checks
 * that the pieces tile the call (their dur_ns add up to its total_ns). */
static const char page_script[] =
	"\"use strict\";\n"
	"(function () {\n"
	"var body = document.body;\n"
	"function fail(msg) { body.setAttribute('data-selfcheck', 'error: ' + msg); }\n"
	"window.addEventListener('error', function (e) { fail(String(e.message)); });\n"
	"try { draw(); } catch (err) { fail(String(err)); }\n"
	"function draw() {\n"
	"  var trace = JSON.parse(document.getElementById('trace').textContent);\n"
	"  var ev = trace.traceEvents, calls = {}, order = [], box = document.getElementById('wf');\n"
	"  ev.forEach(function (e) {\n"
	"    if (e.ph !== 'X') return;\n"
	"    var k = e.args.call + '/' + e.tid;\n"
	"    if (!calls[k]) { calls[k] = {call: null, pieces: []}; order.push(k); }\n"
	"    if (e.cat === 'call') calls[k].call = e; else calls[k].pieces.push(e);\n"
	"  });\n"
	"  var pieces = 0, bad = [];\n"
	"  order.forEach(function (k) {\n"
	"    var c = calls[k], sum = 0;\n"
	"    if (!c.call) { bad.push(k + ': no call slice'); return; }\n"
	"    var p = document.createElement('p');\n"
	"    p.textContent = c.call.name + ': ' + (c.call.args.total_ns / 1e6).toFixed(3) + ' ms, ' +\n"
	"      c.pieces.length + ' pieces';\n"
	"    box.appendChild(p);\n"
	"    var bar = document.createElement('div');\n"
	"    bar.className = 'wf';\n"
	"    c.pieces.forEach(function (e) {\n"
	"      var d = document.createElement('div');\n"
	"      d.className = 'c-' + e.cat;\n"
	"      d.style.left = ((e.ts - c.call.ts) / c.call.dur * 100) + '%';\n"
	"      d.style.width = (e.dur / c.call.dur * 100) + '%';\n"
	"      d.title = e.name + ' ' + (e.args.dur_ns / 1e3).toFixed(1) + ' us';\n"
	"      bar.appendChild(d);\n"
	"      sum += e.args.dur_ns;\n"
	"    });\n"
	"    box.appendChild(bar);\n"
	"    pieces += c.pieces.length;\n"
	"    if (sum !== c.call.args.total_ns || c.pieces.length !== c.call.args.pieces)\n"
	"      bad.push(k + ': pieces ' + sum + ' ns of ' + c.call.args.total_ns);\n"
	"  });\n"
	"  body.setAttribute('data-calls', String(order.length));\n"
	"  body.setAttribute('data-pieces', String(pieces));\n"
	"  if (bad.length) { fail(bad.join('; ')); return; }\n"
	"  body.setAttribute('data-selfcheck', 'ok');\n"
	"}\n"
	"})();\n";

static void put_text(FILE *out, const char *s, size_t len)
{
	fg_xml_write(out, s, len, 0);
}

static double pct(__u64 part, __u64 whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0;
}

static void put_piece(FILE *out, const char *color, __u64 ns, __u64 total, const char *what)
{
	if (!ns)
		return;
	fprintf(out, "<div style=\"width:%.3f%%;background:%s\" title=\"", pct(ns, total), color);
	put_text(out, what, strlen(what));
	fprintf(out, " %.1f%%\"></div>", pct(ns, total));
}

static void put_band(FILE *out, const struct tail_band *b)
{
	__u64 rest = b->blocked_ns;
	size_t i;

	fprintf(out, "<div class=\"row\"><span class=\"n\">%s</span><div class=\"bar\">", b->name);
	put_piece(out, "#2ca02c", b->on_cpu_ns, b->total_ns, "on CPU");
	put_piece(out, "#ffbf00", b->runqueue_ns, b->total_ns, "runnable");
	for (i = 0; i < b->nr_waits && i < BAR_WAITS; i++) {
		put_piece(out, wait_colors[i], b->waits[i].total_ns, b->total_ns, b->waits[i].reason);
		rest -= b->waits[i].total_ns;
	}
	put_piece(out, "#999", rest, b->total_ns, "other waits");
	fprintf(out, "</div>&nbsp;%llu calls</div>\n", (unsigned long long)b->calls);
}

/* What fn writes for o, in memory. */
static char *render(int (*fn)(FILE *, const struct tail_output *), const struct tail_output *o,
		    size_t *len)
{
	char *buf = NULL;
	FILE *m = open_memstream(&buf, len);

	if (!m)
		return NULL;
	fn(m, o);
	if (fclose(m)) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* JSON in <script>: "<" only occurs inside its strings, where \u003c
 * reads the same and no "</script>" can end the element early. */
static void put_json_script(FILE *out, const char *json)
{
	const char *p;

	fputs("<script type=\"application/json\" id=\"trace\">", out);
	for (p = json; *p; p++) {
		if (*p == '<')
			fputs("\\u003c", out);
		else
			fputc(*p, out);
	}
	fputs("</script>\n", out);
}

int tail_write_html(FILE *out, const struct tail_output *o)
{
	size_t tlen = 0, jlen = 0, i;
	char *text = render(tail_write_text, o, &tlen);
	char *trace = render(tail_write_chrome_trace, o, &jlen);
	int b;

	if (!text || !trace) {
		free(text);
		free(trace);
		return -ENOMEM;
	}
	fprintf(out, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
		"<title>waitprof tail</title><style>%s</style></head><body>\n"
		"<h1>waitprof tail: where the slow calls waited</h1>\n", page_style);
	for (i = 0; i < o->nr; i++) {
		fputs("<h2>", out);
		put_text(out, o->res[i].target, strlen(o->res[i].target));
		fputs("</h2>\n<p class=\"legend\"><span style=\"color:#2ca02c\">&#9632; on CPU</span>"
		      "<span style=\"color:#ffbf00\">&#9632; runnable</span>"
		      "<span style=\"color:#d62728\">&#9632; waits, largest first</span></p>\n", out);
		for (b = 0; b < TAIL_NR_BANDS; b++)
			put_band(out, &o->res[i].bands[b]);
	}
	fputs("<h2>The slowest calls (waterfall)</h2>\n<p class=\"legend\">"
	      "<span style=\"color:#2ca02c\">&#9632; on CPU</span>"
	      "<span style=\"color:#d62728\">&#9632; blocked</span>"
	      "<span style=\"color:#ffbf00\">&#9632; runnable</span>"
	      "<span style=\"color:#999\">&#9632; merged intervals</span></p>\n"
	      "<div id=\"wf\"></div>\n<h2>Report</h2>\n<pre>", out);
	put_text(out, text, tlen);
	fputs("</pre>\n", out);
	put_json_script(out, trace);
	fprintf(out, "<script>%s</script>\n</body></html>\n", page_script);
	free(text);
	free(trace);
	return 0;
}
