/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Interactive SVG flame graphs from a frame tree: hover details, click to
 * zoom, search by regular expression, differential colouring. The output is
 * one self-contained file; its script is static (in CDATA) and reads frame
 * names from the escaped <title> text, so no name ever lands in code.
 *
 * Every frame is a <g class="f" fg:x="OFFSET" fg:w="VALUE"> (and fg:b="BASE"
 * in differential graphs), in the namespace FG_SVG_NS: OFFSET and VALUE are
 * exact integers in input units, so a graph can be read back losslessly.
 */
#ifndef WAITPROF_SVG_H
#define WAITPROF_SVG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "folded.h"

#define FG_SVG_NS "urn:waitprof:flamegraph"

enum fg_palette {
	FG_PALETTE_OFFCPU,	/* blues, like flamegraph.pl --colors io */
	FG_PALETTE_HOT,		/* the classic red/orange/yellow */
	FG_PALETTE_MEM,		/* greens */
};

struct fg_svg_opts {
	const char *title;	/* NULL: "Flame Graph" / "Icicle Graph" */
	const char *subtitle;	/* NULL: none */
	const char *countname;	/* unit of values, e.g. "us"; NULL: "samples" */
	unsigned int width;	/* image width in pixels */
	double minwidth;	/* omit frames narrower than this many pixels */
	double minwidth_percent; /* if > 0: omit frames under this % of the total */
	bool inverted;		/* icicle: root at the top */
	bool normalize;		/* differential: scale base to the current total */
	enum fg_palette palette;
	unsigned int frame_height;
	unsigned int font_size;
};

/* One frame to draw: exact offset and value, in input units. */
struct fg_drawn_frame {
	const char *name;	/* not NUL-terminated; owned by the frame source */
	uint32_t name_len;
	uint32_t depth;		/* root is 0 */
	bool waker;		/* below a "--" frame: the waker's side */
	uint64_t offset;	/* sum of the values left of this frame */
	uint64_t total;		/* this frame's value */
	uint64_t base;		/* differential: the "before" value */
};

/*
 * The frames wide enough to draw, in drawing order (pre-order, leftmost
 * child first), with the graph's totals. Its size is bounded by what fits
 * in the picture, not by the input.
 */
struct fg_drawing {
	struct fg_drawn_frame *frames;
	size_t nr, cap;
	uint64_t root_total;	/* current total of everything */
	uint64_t root_base;	/* base total of everything */
	bool differential;
};

/* Appends a frame; 0 or -ENOMEM. */
int fg_drawing_add(struct fg_drawing *d, const struct fg_drawn_frame *f);
void fg_drawing_free(struct fg_drawing *d);

/* The smallest value drawn for a graph of this total with these options
 * (flamegraph.pl's minwidth_time): frames whose value is below are omitted. */
double fg_svg_min_value(const struct fg_svg_opts *opts, uint64_t root_total);

/* Fills in the defaults (1200 px wide, 0.1 px minwidth, off-CPU palette). */
void fg_svg_opts_default(struct fg_svg_opts *opts);

/* Parses a palette name ("offcpu", "io", "hot", "mem"); false if unknown. */
bool fg_palette_parse(const char *name, enum fg_palette *out);

/*
 * Writes the SVG for tree (fg_tree_finish must have run). A tree with
 * base values (tree->differential) is drawn as a differential graph: width
 * is the current value, red grew, blue shrank. Returns 0, or -EIO when
 * writing failed, -EINVAL when totals are not ready, -ENOMEM.
 */
int fg_render_svg(FILE *out, const struct fg_tree *tree, const struct fg_svg_opts *opts);

/* Writes the SVG of frames already chosen (fg_stacks_draw, or the tree walk
 * behind fg_render_svg). Returns 0, -EIO, -EINVAL. */
int fg_render_drawing(FILE *out, const struct fg_drawing *d, const struct fg_svg_opts *opts);

/* Writes s as XML text/attribute content: &<>"' escaped, invalid UTF-8 and
 * characters XML cannot carry replaced by U+FFFD. At most max_chars code
 * points are written (0: no limit); returns how many were. */
size_t fg_xml_write(FILE *out, const char *s, size_t len, size_t max_chars);

/* The static script embedded in every graph (svg_script.c). */
extern const char fg_svg_script[];

#endif
