// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* SVG flame graph writer: layout, colours and escaping. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "svg.h"
#include "utf8.h"

#define XPAD 10
#define FONT_WIDTH 0.59		/* average glyph width / font size, monospace */
#define TITLE_MAX_CHARS 4096	/* a name longer than this is cut in <title> */

enum frame_kind {
	KIND_USER,
	KIND_KERNEL,
	KIND_INLINED,
	KIND_JIT,
	KIND_WAKER,
	KIND_SEPARATOR,
};

struct rgb {
	int r, g, b;
};

struct pending {
	uint32_t node;
	bool waker;		/* below a "--" frame: the waker's side */
	uint64_t offset;	/* sum of the values left of this frame */
};

struct render {
	FILE *out;
	const struct fg_drawing *d;
	const struct fg_svg_opts *o;
	uint64_t root_total;
	double scale;		/* pixels per unit of value */
	uint32_t max_depth;	/* deepest drawn frame */
	double max_delta;	/* differential: largest |current - base| drawn */
	double base_scale;	/* 1, or current total / base total (normalize) */
	double height;
	double ypad_top, ypad_bottom;
};

/* The tree walk that chooses the frames of a tree (the reference renderer). */
struct tree_walk {
	const struct fg_tree *tree;
	double min_value;
	uint32_t *kids;
	size_t kids_cap;
	struct pending *stack;
	size_t nr_stack, stack_cap;
};

void fg_svg_opts_default(struct fg_svg_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->width = 1200;
	opts->minwidth = 0.1;
	opts->palette = FG_PALETTE_OFFCPU;
	opts->frame_height = 16;
	opts->font_size = 12;
}

bool fg_palette_parse(const char *name, enum fg_palette *out)
{
	if (!strcmp(name, "offcpu") || !strcmp(name, "io") || !strcmp(name, "blue"))
		*out = FG_PALETTE_OFFCPU;
	else if (!strcmp(name, "hot"))
		*out = FG_PALETTE_HOT;
	else if (!strcmp(name, "mem") || !strcmp(name, "green"))
		*out = FG_PALETTE_MEM;
	else
		return false;
	return true;
}

/* XML 1.0 allows tab, LF, CR and everything from U+0020 except the
 * surrogates (already rejected by the decoder) and U+FFFE/U+FFFF. */
static bool xml_allowed(uint32_t cp)
{
	if (cp < 0x20)
		return cp == '\t' || cp == '\n' || cp == '\r';
	return cp != 0xfffe && cp != 0xffff;
}

size_t fg_xml_write(FILE *out, const char *s, size_t len, size_t max_chars)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, chars = 0, n;
	uint32_t cp;

	while (i < len && (!max_chars || chars < max_chars)) {
		n = utf8_decode(p + i, len - i, &cp);
		chars++;
		switch (cp) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&apos;", out); break;
		default:
			if (cp == UTF8_REPLACEMENT || !xml_allowed(cp) || cp == '\t' ||
			    cp == '\n' || cp == '\r')
				fputs(cp < 0x20 ? " " : "\xef\xbf\xbd", out);
			else
				fwrite(p + i, 1, n, out);
		}
		i += n;
	}
	return chars;
}

/* Counts code points of s, stopping once above limit. */
static size_t utf8_count(const char *s, size_t len, size_t limit)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, chars = 0;
	uint32_t cp;

	while (i < len && chars <= limit) {
		i += utf8_decode(p + i, len - i, &cp);
		chars++;
	}
	return chars;
}

static enum frame_kind kind_of(const char *name, size_t len, size_t *base_len)
{
	*base_len = len;
	if (len == 2 && name[0] == '-' && name[1] == '-')
		return KIND_SEPARATOR;
	if (len < 4 || name[len - 4] != '_' || name[len - 3] != '[' || name[len - 1] != ']')
		return KIND_USER;
	*base_len = len - 4;
	switch (name[len - 2]) {
	case 'k': return KIND_KERNEL;
	case 'i': return KIND_INLINED;
	case 'j': return KIND_JIT;
	case 'w': return KIND_WAKER;
	}
	*base_len = len;
	return KIND_USER;
}

static int mix(int lo, int span, unsigned int byte)
{
	return lo + (int)(span * (byte & 0xff) / 255);
}

/* A stable colour from the name's hash: the same function is the same
 * colour in every graph drawn with the same palette. */
static struct rgb kind_color(enum fg_palette pal, enum frame_kind kind, uint32_t h)
{
	unsigned int v1 = h, v2 = h >> 8, v3 = h >> 16;
	int blue = mix(80, 60, v1);

	switch (kind) {
	case KIND_SEPARATOR:
		return (struct rgb){ 200, 200, 200 };
	case KIND_WAKER:
		return (struct rgb){ mix(165, 45, v1), mix(105, 45, v2), mix(210, 45, v3) };
	case KIND_INLINED:
		if (pal == FG_PALETTE_OFFCPU)
			return (struct rgb){ mix(150, 40, v1), mix(150, 40, v1), mix(235, 20, v2) };
		return (struct rgb){ mix(80, 55, v1), mix(175, 55, v1), mix(175, 55, v2) };
	case KIND_KERNEL:
		if (pal == FG_PALETTE_HOT)
			return (struct rgb){ mix(220, 30, v1), mix(180, 30, v2), mix(120, 30, v3) };
		return (struct rgb){ mix(50, 50, v1), mix(165, 50, v2), mix(185, 50, v3) };
	case KIND_JIT:
		return (struct rgb){ mix(50, 60, v1), mix(200, 55, v2), mix(50, 60, v3) };
	case KIND_USER:
		break;
	}
	switch (pal) {
	case FG_PALETTE_HOT:
		return (struct rgb){ mix(205, 50, v3), mix(0, 230, v1), mix(0, 55, v2) };
	case FG_PALETTE_MEM:
		return (struct rgb){ 0, mix(190, 50, v2), mix(0, 210, v1) };
	case FG_PALETTE_OFFCPU:
		break;
	}
	return (struct rgb){ blue, blue, mix(190, 55, v2) };
}

/* A frame's base value, scaled to the current total with --normalize so
 * runs of different lengths compare by share rather than by amount. */
static double base_value(const struct render *r, const struct fg_drawn_frame *f)
{
	return (double)f->base * r->base_scale;
}

/* Differential: white when unchanged, red as it grew, blue as it shrank. */
static struct rgb diff_color(const struct render *r, const struct fg_drawn_frame *f)
{
	double delta = (double)f->total - base_value(r, f);
	int fade;

	if (delta == 0 || r->max_delta <= 0)
		return (struct rgb){ 250, 250, 250 };
	fade = (int)lround(210.0 * (1.0 - fabs(delta) / r->max_delta));
	if (delta > 0)
		return (struct rgb){ 255, fade, fade };
	return (struct rgb){ fade, fade, 255 };
}

static void write_count(FILE *out, uint64_t v)
{
	char digits[32], grouped[48];
	int n = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)v);
	int i, j = 0;

	for (i = 0; i < n; i++) {
		if (i && (n - i) % 3 == 0)
			grouped[j++] = ',';
		grouped[j++] = digits[i];
	}
	grouped[j] = '\0';
	fputs(grouped, out);
}

static void write_title(const struct render *r, const struct fg_drawn_frame *f)
{
	const char *unit = r->o->countname ? r->o->countname : "samples";

	fputs("<title>", r->out);
	if (fg_xml_write(r->out, f->name, f->name_len, TITLE_MAX_CHARS) == TITLE_MAX_CHARS &&
	    utf8_count(f->name, f->name_len, TITLE_MAX_CHARS) > TITLE_MAX_CHARS)
		fputs("...", r->out);
	fputs(" (", r->out);
	write_count(r->out, f->total);
	fputc(' ', r->out);
	fg_xml_write(r->out, unit, strlen(unit), 64);
	fprintf(r->out, ", %.2f%%", r->root_total ? 100.0 * f->total / r->root_total : 0.0);
	if (r->d->differential) {
		fputs("; before ", r->out);
		write_count(r->out, f->base);
		if (f->base)
			fprintf(r->out, ", %+.2f%%", 100.0 * ((double)f->total - base_value(r, f)) /
				base_value(r, f));
		else
			fputs(", new", r->out);
	}
	fputs(")</title>", r->out);
}

/* The visible label: the name without its _[k]-style suffix, cut to fit. */
static void write_label(const struct render *r, const struct fg_drawn_frame *f,
			size_t base_len, double width)
{
	size_t fit = (size_t)(width / (r->o->font_size * FONT_WIDTH));

	if (fit < 3)
		return;
	if (utf8_count(f->name, base_len, fit) <= fit) {
		fg_xml_write(r->out, f->name, base_len, 0);
		return;
	}
	fg_xml_write(r->out, f->name, base_len, fit - 2);
	fputs("..", r->out);
}

static void write_frame(struct render *r, const struct fg_drawn_frame *f)
{
	double x = XPAD + f->offset * r->scale, w = f->total * r->scale;
	double fh = r->o->frame_height, y;
	size_t base_len;
	enum frame_kind kind = kind_of(f->name, f->name_len, &base_len);
	struct rgb c;

	if (r->o->inverted)
		y = r->ypad_top + f->depth * fh;
	else
		y = r->height - r->ypad_bottom - (f->depth + 1) * fh;
	if (r->d->differential)
		c = diff_color(r, f);
	else if (f->waker && kind != KIND_SEPARATOR)
		c = kind_color(r->o->palette, KIND_WAKER, fg_hash_name(f->name, base_len));
	else
		c = kind_color(r->o->palette, kind, fg_hash_name(f->name, base_len));

	fprintf(r->out, "<g class=\"f\" fg:x=\"%llu\" fg:w=\"%llu\"",
		(unsigned long long)f->offset, (unsigned long long)f->total);
	if (r->d->differential)
		fprintf(r->out, " fg:b=\"%llu\"", (unsigned long long)f->base);
	fputc('>', r->out);
	write_title(r, f);
	fprintf(r->out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
		"fill=\"rgb(%d,%d,%d)\" rx=\"2\" ry=\"2\"/><text x=\"%.2f\" y=\"%.2f\">",
		x, y, w, fh - 1, c.r, c.g, c.b, x + 3, y + fh / 2 + r->o->font_size / 2.0 - 2);
	write_label(r, f, base_len, w);
	fputs("</text></g>\n", r->out);
}

int fg_drawing_add(struct fg_drawing *d, const struct fg_drawn_frame *f)
{
	if (d->nr == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 1024;
		struct fg_drawn_frame *p = realloc(d->frames, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		d->frames = p;
		d->cap = cap;
	}
	d->frames[d->nr++] = *f;
	return 0;
}

void fg_drawing_free(struct fg_drawing *d)
{
	free(d->frames);
	memset(d, 0, sizeof(*d));
}

double fg_svg_min_value(const struct fg_svg_opts *o, uint64_t root_total)
{
	double scale = root_total ? (double)(o->width - 2 * XPAD) / root_total : 0;
	double min_value = scale > 0 ? o->minwidth / scale : 0;

	if (o->minwidth_percent > 0)
		min_value = root_total * o->minwidth_percent / 100.0;
	return min_value;
}

static int push(struct tree_walk *w, uint32_t node, uint64_t offset, bool waker)
{
	if (w->nr_stack == w->stack_cap) {
		size_t cap = w->stack_cap ? w->stack_cap * 2 : 256;
		struct pending *s = realloc(w->stack, cap * sizeof(*s));

		if (!s)
			return -ENOMEM;
		w->stack = s;
		w->stack_cap = cap;
	}
	w->stack[w->nr_stack++] = (struct pending){ node, waker, offset };
	return 0;
}

static int cmp_names(const void *a, const void *b, void *arg)
{
	const struct fg_tree *t = arg;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	uint32_t lx = fg_name_len(t, x), ly = fg_name_len(t, y);
	int c = memcmp(fg_name(t, x), fg_name(t, y), lx < ly ? lx : ly);

	return c ? c : (lx > ly) - (lx < ly);
}

/* Queues the drawn children of p in name order, leftmost on top. */
static int push_children(struct tree_walk *w, const struct pending *p)
{
	const struct fg_tree *t = w->tree;
	bool waker = p->waker || (fg_name_len(t, p->node) == 2 && !memcmp(fg_name(t, p->node), "--", 2));
	uint64_t offset = p->offset;
	size_t nr = 0, i;
	uint32_t c;

	for (c = t->nodes[p->node].first_child; c != FG_NONE; c = t->nodes[c].next_sibling) {
		if (nr == w->kids_cap) {
			size_t cap = w->kids_cap ? w->kids_cap * 2 : 64;
			uint32_t *k = realloc(w->kids, cap * sizeof(*k));

			if (!k)
				return -ENOMEM;
			w->kids = k;
			w->kids_cap = cap;
		}
		w->kids[nr++] = c;
	}
	qsort_r(w->kids, nr, sizeof(*w->kids), cmp_names, (void *)t);
	for (i = 0; i < nr; i++)
		offset += t->nodes[w->kids[i]].total;
	/* Walk right to left so the leftmost child is popped (drawn) first. */
	for (i = nr; i-- > 0;) {
		uint64_t total = t->nodes[w->kids[i]].total;

		offset -= total;
		if (!total || total < w->min_value)
			continue;
		if (push(w, w->kids[i], offset, waker))
			return -ENOMEM;
	}
	return 0;
}

/* The frames of a tree wide enough to draw, depth first. */
static int walk_tree(struct tree_walk *w, struct fg_drawing *d)
{
	const struct fg_tree *t = w->tree;
	struct fg_drawn_frame f;
	struct pending p;

	if (d->root_total && push(w, 0, 0, false))
		return -ENOMEM;
	while (w->nr_stack) {
		p = w->stack[--w->nr_stack];
		f = (struct fg_drawn_frame){
			.name = fg_name(t, p.node), .name_len = fg_name_len(t, p.node),
			.depth = t->nodes[p.node].depth, .waker = p.waker, .offset = p.offset,
			.total = t->nodes[p.node].total, .base = fg_base_total(t, p.node),
		};
		if (fg_drawing_add(d, &f) || push_children(w, &p))
			return -ENOMEM;
	}
	return 0;
}

/* How deep the drawn graph is and, for a diff, its largest change. */
static void measure(struct render *r)
{
	size_t i;

	for (i = 0; i < r->d->nr; i++) {
		const struct fg_drawn_frame *f = &r->d->frames[i];
		double delta;

		if (f->depth > r->max_depth)
			r->max_depth = f->depth;
		if (r->d->differential) {
			delta = fabs((double)f->total - base_value(r, f));
			if (delta > r->max_delta)
				r->max_delta = delta;
		}
	}
}

static const char *gradient_end(enum fg_palette pal)
{
	switch (pal) {
	case FG_PALETTE_HOT: return "#eeeeb0";
	case FG_PALETTE_MEM: return "#e0ffe0";
	case FG_PALETTE_OFFCPU: break;
	}
	return "#e0e0ff";
}

static void write_text(const struct render *r, const char *id, const char *anchor,
		       double x, double y, const char *text, const char *cls)
{
	fprintf(r->out, "<text id=\"%s\" x=\"%.2f\" y=\"%.2f\"", id, x, y);
	if (anchor)
		fprintf(r->out, " text-anchor=\"%s\"", anchor);
	if (cls)
		fprintf(r->out, " class=\"%s\"", cls);
	fputc('>', r->out);
	if (text)
		fg_xml_write(r->out, text, strlen(text), 0);
	fputs("</text>\n", r->out);
}

static void write_header(struct render *r)
{
	const struct fg_svg_opts *o = r->o;
	const char *title = o->title;
	double w = o->width, fs = o->font_size;

	if (!title)
		title = r->d->differential ? "Differential Flame Graph" :
			o->inverted ? "Icicle Graph" : "Flame Graph";
	fprintf(r->out, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
		"<svg version=\"1.1\" width=\"%u\" height=\"%.0f\" viewBox=\"0 0 %u %.0f\" "
		"onload=\"init(evt)\" xmlns=\"http://www.w3.org/2000/svg\" "
		"xmlns:xlink=\"http://www.w3.org/1999/xlink\" xmlns:fg=\"" FG_SVG_NS "\" "
		"fg:xpad=\"%d\" fg:fontsize=\"%u\" fg:fontwidth=\"%.2f\" fg:frameheight=\"%u\" "
		"fg:inverted=\"%d\" fg:diff=\"%d\" fg:minwidth=\"%g\">\n",
		o->width, r->height, o->width, r->height, XPAD, o->font_size, FONT_WIDTH,
		o->frame_height, o->inverted, r->d->differential, o->minwidth);
	fprintf(r->out, "<defs><linearGradient id=\"background\" y1=\"0\" y2=\"1\" x1=\"0\" x2=\"0\">"
		"<stop stop-color=\"#eeeeee\" offset=\"5%%\"/><stop stop-color=\"%s\" offset=\"95%%\"/>"
		"</linearGradient></defs>\n", gradient_end(o->palette));
	fprintf(r->out, "<style type=\"text/css\">\n"
		"text { font-family: monospace; font-size: %upx; fill: rgb(0,0,0); }\n"
		"#title { font-size: %.0fpx; }\n"
		"#search, #unzoom { cursor: pointer; }\n"
		"#search:hover, #unzoom:hover { fill: rgb(0,0,180); }\n"
		"#frames > g:hover > rect { stroke: black; stroke-width: 0.5; cursor: pointer; }\n"
		".hide { display: none; }\n"
		".parent { opacity: 0.5; }\n"
		"</style>\n", o->font_size, fs + 5);
	fprintf(r->out, "<script type=\"text/ecmascript\"><![CDATA[\n%s]]></script>\n", fg_svg_script);
	fprintf(r->out, "<rect x=\"0\" y=\"0\" width=\"%u\" height=\"%.0f\" fill=\"url(#background)\"/>\n",
		o->width, r->height);
	write_text(r, "title", "middle", w / 2, fs * 2, title, NULL);
	if (o->subtitle)
		write_text(r, "subtitle", "middle", w / 2, fs * 3.5, o->subtitle, NULL);
	write_text(r, "details", NULL, XPAD, r->height - r->ypad_bottom / 2 + 2, " ", NULL);
	write_text(r, "unzoom", NULL, XPAD, fs * 2, "Reset Zoom", "hide");
	write_text(r, "search", "end", w - XPAD, fs * 2, "Search", NULL);
	write_text(r, "matched", "end", w - XPAD, r->height - r->ypad_bottom / 2 + 2, " ", NULL);
	if (!r->root_total)
		write_text(r, "empty", "middle", w / 2, fs * 5, "No samples", NULL);
}

int fg_render_drawing(FILE *out, const struct fg_drawing *d, const struct fg_svg_opts *opts)
{
	struct fg_svg_opts defaults;
	struct render r = { .out = out, .d = d, .o = opts };
	size_t i;

	if (!opts) {
		fg_svg_opts_default(&defaults);
		r.o = opts = &defaults;
	}
	if (opts->width <= 2 * XPAD || !opts->frame_height || !opts->font_size)
		return -EINVAL;
	r.root_total = d->root_total;
	r.scale = r.root_total ? (double)(opts->width - 2 * XPAD) / r.root_total : 0;
	r.base_scale = 1.0;
	if (opts->normalize && d->root_base)
		r.base_scale = (double)r.root_total / d->root_base;
	r.ypad_top = opts->font_size * (opts->subtitle ? 4.5 : 3.0);
	r.ypad_bottom = opts->font_size * 2 + 10;
	measure(&r);
	r.height = r.ypad_top + r.ypad_bottom + (r.max_depth + 1.0) * opts->frame_height;
	write_header(&r);
	fputs("<g id=\"frames\">\n", out);
	for (i = 0; i < d->nr; i++)
		write_frame(&r, &d->frames[i]);
	fputs("</g>\n</svg>\n", out);
	if (fflush(out) || ferror(out))
		return -EIO;
	return 0;
}

int fg_render_svg(FILE *out, const struct fg_tree *tree, const struct fg_svg_opts *opts)
{
	struct fg_svg_opts defaults;
	struct tree_walk w = { .tree = tree };
	struct fg_drawing d = { 0 };
	int err;

	if (!opts) {
		fg_svg_opts_default(&defaults);
		opts = &defaults;
	}
	if (!tree->totals_ready || !tree->nr_nodes)
		return -EINVAL;
	d.root_total = tree->nodes[0].total;
	d.root_base = fg_base_total(tree, 0);
	d.differential = tree->differential;
	w.min_value = fg_svg_min_value(opts, d.root_total);
	err = walk_tree(&w, &d);
	if (!err)
		err = fg_render_drawing(out, &d, opts);
	free(w.stack);
	free(w.kids);
	fg_drawing_free(&d);
	return err;
}
