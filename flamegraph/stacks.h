/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Folded stacks read into a compact form for drawing: each stack is an array
 * of 4-byte name ids plus its values, names are interned once. A frame tree
 * costs ~70 bytes per distinct prefix and most prefixes of deep stacks are
 * distinct (15M tree nodes for 1M lines of depth 5-40); this form costs 4
 * bytes a frame and 32 a stack, about a third of the text. What is drawn is
 * chosen afterwards (fg_stacks_draw), once the grand total and so the
 * minimum width are known, by grouping stacks prefix by prefix and never
 * descending into a group too narrow to draw.
 *
 * Reading uses two threads: a regular file is mapped and cut into chunks at
 * line starts (each parsed chunk is dropped from memory again), a pipe is
 * read into buffers, one parsed while the next is read. Line numbers of
 * malformed lines are exact (counted per chunk, summed at the end).
 *
 * A regular file is read twice, so memory is bounded by what can be drawn,
 * not by the input (stacks_prune.c): fg_stacks_read only counts (totals,
 * malformed lines, and a sketch of every path prefix's total), and
 * fg_stacks_draw, once the minimum width is known, reads it again keeping
 * each stack only down to the first frame that cannot be drawn, and merges
 * stacks cut alike. A pipe cannot be read twice: its stacks are kept whole.
 */
#ifndef WAITPROF_STACKS_H
#define WAITPROF_STACKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "folded.h"
#include "svg.h"

#define FG_READERS 2
/* log2 of the prefix sketch's counters (8 bytes each, one set a reader). */
#define FG_SKETCH_BITS 20

struct fg_stack {
	const uint32_t *frames;	/* name ids, outermost first */
	uint64_t value, base;
	uint32_t depth;
};

/* A probe reads the slot and the name (its length is stored just before
 * it), two cache misses instead of four with parallel arrays: the lookup
 * was 70% of the parse. */
struct fg_name_slot {
	const char *name;	/* NULL: empty */
	uint32_t hash, id;
};

struct fg_name_table {
	struct fg_name_slot *slots;
	size_t cap_slots;
	const char **ptr;
	uint32_t *len;
	uint32_t *hash;
	size_t nr, cap;
	struct fg_name_chunk *arena;
};

/* What one reading thread builds. */
struct fg_reader {
	struct fg_name_table names;
	uint32_t *ids;		/* frames of all its stacks, concatenated */
	size_t nr_ids, cap_ids;
	char *unescaped;	/* scratch: a frame with \x3b or \x5c turned back */
	size_t unescaped_cap;
	struct fg_stack *stacks; /* frames holds an offset into ids until read ends */
	size_t nr_stacks, cap_stacks;
	uint64_t total, base_total;
	bool differential;
	struct fg_stacks_bad {
		uint64_t chunk, line;	/* line: 1-based within the chunk */
		const char *reason;
	} bad[FG_MAX_BAD_LINES];
	uint64_t nr_bad;
	uint64_t nr_counted;	/* stacks read (kept or only counted) */
	uint64_t *sketch;	/* prefix totals by path hash; NULL: no file read */
	unsigned sketch_bits;	/* log2 of its counters */
	struct fg_frame_ref {	/* scratch: the frames of one line */
		const char *s;
		size_t len;
		size_t slot;	/* its path's sketch counter */
	} *split;
	size_t split_cap;
	bool split_escaped;	/* the line has a '\\': frames may need unescaping */
	struct fg_dedup_slot {	/* pruned stacks by their frames */
		uint32_t hash, stack;	/* stack FG_NONE: empty */
	} *dedup;
	size_t nr_dedup, cap_dedup;
	int err;
};

struct fg_chunk {
	uint32_t input;		/* which fg_stacks_read call */
	uint64_t lines;		/* lines starting in this chunk */
};

struct fg_stacks {
	struct fg_parse_opts opts;
	struct fg_reader readers[FG_READERS];
	struct fg_chunk *chunks;
	size_t nr_chunks, cap_chunks;
	const char **sources;	/* per input, not copied */
	size_t nr_inputs;

	/* Regular files counted and read again by fg_stacks_draw. */
	struct fg_deferred {
		int fd;
		off_t start;
		size_t size, first_chunk;
		enum fg_column col;
	} *deferred;
	size_t nr_deferred;
	bool pruned;		/* deferred inputs read, for this minimum: */
	double pruned_min;

	/* Filled by fg_stacks_draw: names in name order, ids rewritten to ranks. */
	const char **sorted;
	uint32_t *sorted_len;
	size_t nr_sorted;
	bool ranked;
};

int fg_stacks_init(struct fg_stacks *s, const struct fg_parse_opts *opts);
void fg_stacks_free(struct fg_stacks *s);

/* Reads a whole stream (a regular file is mapped and only counted until
 * fg_stacks_draw, which reads it again; anything else is read once);
 * 0, -ENOMEM, -EIO, -EINVAL after fg_stacks_draw, or -EOVERFLOW past
 * 2^32 - 2 stacks or names kept. */
int fg_stacks_read(struct fg_stacks *s, FILE *in, const char *source, enum fg_column col);

uint64_t fg_stacks_count(const struct fg_stacks *s);	/* stacks read */
uint64_t fg_stacks_bad(const struct fg_stacks *s);	/* malformed lines */
bool fg_stacks_differential(const struct fg_stacks *s);

/* Same messages as fg_tree_report_bad, in input order. */
void fg_stacks_report_bad(const struct fg_stacks *s, FILE *out);

/*
 * Chooses the frames to draw with these options: exactly the frames, values
 * and offsets fg_render_svg draws from a tree of the same input. Names in
 * the drawing point into s. 0, -ENOMEM, -EIO, or -EINVAL when called again
 * with a smaller minimum width than the first call (files were pruned for it).
 */
int fg_stacks_draw(struct fg_stacks *s, const struct fg_svg_opts *opts, struct fg_drawing *d);

/* fg_stacks_draw then fg_render_drawing. */
int fg_stacks_render_svg(FILE *out, struct fg_stacks *s, const struct fg_svg_opts *opts);

#endif
