/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What stacks.c, stacks_prune.c and stacks_draw.c share. Internal. */
#ifndef WAITPROF_STACKS_IMPL_H
#define WAITPROF_STACKS_IMPL_H

#include "stacks.h"

/* How a pass over a file's lines treats each line. */
enum fg_pass {
	FG_PASS_FULL,	/* every frame kept (pipes: read once) */
	FG_PASS_COUNT,	/* totals, malformed lines and the prefix sketch only */
	FG_PASS_PRUNE,	/* frames kept down to where nothing can be drawn */
};

struct fg_line_ctx {
	enum fg_pass pass;
	enum fg_column col;
	bool reverse;
	uint64_t chunk;
	double min_value;	/* FG_PASS_PRUNE: the smallest value drawn */
	const uint64_t *sketch;	/* FG_PASS_PRUNE: both readers' counts summed */
	unsigned sketch_bits;
};

uint32_t fg_hash_bytes(const char *s, size_t len);
/* The id of a name whose fg_hash_bytes is h; FG_NONE when absent and add
 * is false, or out of memory. */
uint32_t fg_names_lookup(struct fg_name_table *t, const char *s, size_t len, uint32_t h,
			 bool add);
uint32_t fg_names_find(struct fg_name_table *t, const char *s, size_t len);
/* Zeroed memory; 2 MiB pages for big tables probed at random. */
void *fg_big_zalloc(size_t bytes);
void fg_reader_bad(struct fg_reader *r, uint64_t chunk, uint64_t line, const char *why);

/* Reads the counted files again, keeping what min_value lets be drawn
 * (once; again only with a larger minimum). 0 or -errno. */
int fg_stacks_prune_files(struct fg_stacks *s, double min_value);

/* stacks_prune.c */
int fg_sketch_alloc(struct fg_reader *r);
/* Adds stacks[first..] (already parsed in full) to r's sketch. */
void fg_sketch_add_stored(struct fg_reader *r, size_t first);
/* Sums every reader's sketch into reader 0's; frees the others. */
void fg_sketch_merge(struct fg_stacks *s);
int fg_count_line(struct fg_reader *r, const char *line, size_t len,
		  const struct fg_line_ctx *c, uint64_t lineno);
int fg_prune_line(struct fg_reader *r, const char *line, size_t len,
		  const struct fg_line_ctx *c);
void fg_reader_free_prune(struct fg_reader *r);

#endif
