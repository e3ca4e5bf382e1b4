/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Folded stacks ("thread;outer;...;inner VALUE") parsed into a frame tree.
 *
 * The parser streams: one line at a time, never the whole input in memory.
 * A line is split on its LAST space; the stack is split on ';'. A line whose
 * stack part itself ends in " NUMBER" is differential input ("stack BASE
 * CURRENT", as difffolded.pl writes it). Lines that cannot be parsed are
 * counted and their line numbers kept, never dropped silently.
 *
 * Frame names are interned once; tree nodes are 40 bytes and children are
 * found through one hash table keyed by (parent, name), so a million-line
 * input costs memory in proportion to its distinct frames, not its text.
 */
#ifndef WAITPROF_FOLDED_H
#define WAITPROF_FOLDED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define FG_NONE UINT32_MAX
/* How many malformed lines are remembered (all are counted). */
#define FG_MAX_BAD_LINES 64

/* Which value column a parsed value goes to. */
enum fg_column {
	FG_CURRENT = 0,	/* the value drawn (the "after" of a diff) */
	FG_BASE = 1,	/* the "before" of a differential graph */
};

struct fg_node {
	uint32_t name;		/* interned name id */
	uint32_t parent;	/* FG_NONE for the root */
	uint32_t first_child;	/* FG_NONE when a leaf */
	uint32_t next_sibling;	/* FG_NONE when last */
	uint32_t depth;		/* root is 0 */
	uint64_t self;		/* value of stacks ending here */
	uint64_t total;		/* self plus all descendants */
};

/* Keys live in the slots so a probe touches one cache line, not three. */
struct fg_child_slot {
	uint32_t parent, name_hash, name, id;
};

struct fg_bad_line {
	const char *source;	/* file name given to the parser (not copied) */
	uint64_t lineno;	/* 1-based */
	const char *reason;	/* static string */
};

struct fg_parse_opts {
	bool reverse;		/* reverse every stack (innermost first) */
};

struct fg_tree {
	struct fg_node *nodes;	/* nodes[0] is the root "all" */
	size_t nr_nodes, cap_nodes;
	/* Base ("before") values, allocated only once a base value appears. */
	uint64_t *base_self, *base_total;
	bool differential;

	/* Interned names: names[id] points into arena chunks. */
	char **names;
	uint32_t *name_lens;
	uint32_t *name_hashes;
	size_t nr_names, cap_names;
	uint64_t *name_slots;	/* hash << 32 | id; low half FG_NONE = empty */
	size_t cap_name_slots;
	struct fg_arena_chunk *arena;

	/* (parent, name) -> child node index; FG_NONE = empty. */
	struct fg_child_slot *child_slots;	/* id FG_NONE = empty */
	size_t cap_child_slots;

	struct fg_parse_opts opts;
	uint32_t max_depth;
	uint64_t nr_lines;	/* lines read, including blank and bad ones */
	uint64_t nr_stacks;	/* lines that added a stack */
	uint64_t nr_bad;	/* malformed lines */
	struct fg_bad_line bad[FG_MAX_BAD_LINES];
	bool totals_ready;

	/* Scratch reused between lines to spot a shared prefix. */
	char *prev_stack;
	size_t prev_len, prev_cap;
	uint32_t *prev_nodes;	/* node of each frame of the previous stack */
	uint32_t *prev_ends;	/* end offset of each frame in prev_stack */
	size_t prev_depth, prev_depth_cap;
	const char **split_frames;
	size_t *split_lens;
	size_t split_cap;
	char *unescaped;	/* frames with \x3b or \x5c, turned back */
	size_t unescaped_cap;
};

int fg_tree_init(struct fg_tree *tree, const struct fg_parse_opts *opts);
void fg_tree_free(struct fg_tree *tree);

/*
 * Parses one line (no trailing newline needed; CR/LF and trailing blanks
 * are ignored). Blank lines and lines starting with '#' are skipped.
 * Returns 0 when added or skipped, 1 when the line was malformed (counted,
 * recorded with source and lineno), -ENOMEM on allocation failure.
 */
int fg_parse_line(struct fg_tree *tree, const char *line, size_t len,
		  const char *source, uint64_t lineno, enum fg_column col);
/*
 * Splits a folded line into its stack text (line[0 .. *stack_len)) and its
 * value, plus the base value of a two-column line. Returns NULL for a
 * stack, "" for a blank line, else why the line is malformed. Every
 * parser of folded text goes through here, so all agree on what is bad.
 */
const char *fg_folded_split(const char *line, size_t len, size_t *stack_len,
			    uint64_t *value, uint64_t *base, bool *two_columns);

/* A frame as waitprof escapes names in folded lines (\x3b for ';', \x5c
 * for '\\'; docs/FLAMEGRAPH.md "Names") turned back: writes at most len
 * bytes to dst and returns how many. Other escapes stay as written. */
size_t fg_unescape_name(char *dst, const char *src, size_t len);

/* Parses a whole stream; returns 0 or -errno (-EIO on a read error). */
int fg_parse_file(struct fg_tree *tree, FILE *in, const char *source,
		  enum fg_column col);

/* Adds one already-split stack (outermost first); 0 or -ENOMEM. */
int fg_tree_add_stack(struct fg_tree *tree, const char *const *frames,
		      const size_t *lens, size_t depth, uint64_t value,
		      enum fg_column col);

/* Interns a string in the tree's name table (also usable as a plain string
 * interner); returns its id, stable for the tree's life, or FG_NONE. */
uint32_t fg_tree_intern(struct fg_tree *tree, const char *s, size_t len);

/* Computes totals (after the last parse; idempotent, cheap to repeat). */
void fg_tree_finish(struct fg_tree *tree);

static inline const char *fg_name(const struct fg_tree *tree, uint32_t node)
{
	return tree->names[tree->nodes[node].name];
}

static inline uint32_t fg_name_len(const struct fg_tree *tree, uint32_t node)
{
	return tree->name_lens[tree->nodes[node].name];
}

static inline uint64_t fg_base_total(const struct fg_tree *tree, uint32_t node)
{
	return tree->base_total ? tree->base_total[node] : 0;
}

static inline uint64_t fg_base_self(const struct fg_tree *tree, uint32_t node)
{
	return tree->base_self ? tree->base_self[node] : 0;
}

/* Prints "SOURCE:LINE: REASON" for every remembered malformed line and a
 * summary count; prints nothing when there were none. */
void fg_tree_report_bad(const struct fg_tree *tree, FILE *out);

/* Stable 32-bit hash of a name (FNV-1a); colours use it so the same
 * function gets the same colour in every graph. */
uint32_t fg_hash_name(const char *name, size_t len);

#endif
