// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Bounded memory for files: two passes over a mapped input.
 *
 * The count pass adds each line's value to one counter per path prefix
 * ("a", "a;b", "a;b;c"), the counter chosen by a hash of the path. Paths
 * that share a counter only add to it, so a counter is never below the total
 * of any prefix hashed to it: a prefix whose counter is under the minimum
 * drawn value cannot be drawn, nor can anything below it.
 *
 * The prune pass, once the grand total and so the minimum are known, keeps
 * each stack down to its first frame whose counter is under the minimum.
 * That frame stays (it still takes its width and place among its siblings,
 * so the offsets of the frames right of it stay exact) but is not drawn;
 * the frames below it are dropped unread. Stacks cut alike are merged, so
 * what is kept grows with the drawable paths, not with the input.
 *
 * Collisions can only keep more than needed, never less: the output does
 * not depend on the sketch's size. 2^20 counters against ~12,000 drawable
 * widths in the default 1200 px: the counters sum to the grand total times
 * the mean depth, so the mean counter stays a small fraction of the minimum.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fg_alloc.h"
#include "stacks_impl.h"

#define PATH_SEED 0x2545f4914f6cdd1dull

static inline uint64_t path_next(uint64_t h, uint32_t name_hash)
{
	h = (h ^ name_hash) * 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 31);
}

static inline size_t sketch_slot(uint64_t h, unsigned bits)
{
	return (size_t)(h >> (64 - bits));
}

static inline void sketch_add(struct fg_reader *r, uint64_t h, uint64_t value)
{
	uint64_t *c = &r->sketch[sketch_slot(h, r->sketch_bits)];

	*c = fg_add_sat(*c, value);
}

/* Tests set WAITPROF_FG_SKETCH_BITS (1-26) to make paths share counters. */
static unsigned sketch_bits(void)
{
	const char *env = getenv("WAITPROF_FG_SKETCH_BITS");
	long v = env ? strtol(env, NULL, 10) : 0;

	return v >= 1 && v <= 26 ? (unsigned)v : FG_SKETCH_BITS;
}

int fg_sketch_alloc(struct fg_reader *r)
{
	if (r->sketch)
		return 0;
	r->sketch_bits = sketch_bits();
	r->sketch = fg_big_zalloc(sizeof(*r->sketch) << r->sketch_bits);
	return r->sketch ? 0 : -ENOMEM;
}

void fg_sketch_add_stored(struct fg_reader *r, size_t first)
{
	size_t i, k;

	for (i = first; i < r->nr_stacks; i++) {
		const struct fg_stack *st = &r->stacks[i];
		const uint32_t *ids = r->ids + (uintptr_t)st->frames;
		uint64_t h = PATH_SEED;

		if (!st->value)
			continue;
		for (k = 0; k < st->depth; k++) {
			h = path_next(h, r->names.hash[ids[k]]);
			sketch_add(r, h, st->value);
		}
	}
}

void fg_sketch_merge(struct fg_stacks *s)
{
	uint64_t *to = s->readers[0].sketch;
	size_t r, i;

	for (r = 1; r < FG_READERS; r++) {
		const uint64_t *from = s->readers[r].sketch;

		for (i = 0; from && i < ((size_t)1 << s->readers[0].sketch_bits); i++)
			to[i] = fg_add_sat(to[i], from[i]);
		free(s->readers[r].sketch);
		s->readers[r].sketch = NULL;
	}
}

/* Splits a stack on ';' into r->split; 0 or -ENOMEM. */
static int split_frames(struct fg_reader *r, const char *s, size_t len, size_t *depth)
{
	const char *end = s + len, *semi;
	size_t n = 0;

	r->split_escaped = memchr(s, '\\', len);
	for (;;) {
		semi = memchr(s, ';', end - s);
		if (!semi)
			semi = end;
		if (n == r->split_cap &&
		    fg_grow((void **)&r->split, &r->split_cap, n + 1, sizeof(*r->split)))
			return -ENOMEM;
		r->split[n++] = (struct fg_frame_ref){ s, (size_t)(semi - s), 0 };
		if (semi == end)
			break;
		s = semi + 1;
	}
	*depth = n;
	return 0;
}

/* Moves r->split[0] to the next frame of a stack ending at end; false
 * after the last. */
static bool split_next(struct fg_reader *r, const char *end)
{
	struct fg_frame_ref *f = &r->split[0];
	const char *semi;

	if (f->s + f->len == end)
		return false;
	f->s += f->len + 1;
	f->len = end - f->s;
	semi = memchr(f->s, ';', f->len);
	if (semi)
		f->len = semi - f->s;
	return true;
}

/* Frame by frame, outermost first: the first frame into r->split[0]. */
static int split_first(struct fg_reader *r, const char *s, size_t len)
{
	if (!r->split_cap && fg_grow((void **)&r->split, &r->split_cap, 1, sizeof(*r->split)))
		return -ENOMEM;
	const char *semi = memchr(s, ';', len);

	r->split_escaped = memchr(s, '\\', len);
	r->split[0] = (struct fg_frame_ref){ s, semi ? (size_t)(semi - s) : len, 0 };
	return 0;
}

/* The k-th frame of the path (the stack's order, or reversed) as compared:
 * escapes turned back. */
static int frame_name(struct fg_reader *r, size_t k, size_t depth, bool reverse,
		      const char **name, size_t *len)
{
	const struct fg_frame_ref *f = &r->split[reverse ? depth - 1 - k : k];

	*name = f->s;
	*len = f->len;
	if (!r->split_escaped || !memchr(f->s, '\\', f->len))
		return 0;
	if (fg_grow((void **)&r->unescaped, &r->unescaped_cap, f->len, 1))
		return -ENOMEM;
	*len = fg_unescape_name(r->unescaped, f->s, f->len);
	*name = r->unescaped;
	return 0;
}

/* Splits a line; false when it adds no stack (blank, or malformed: *why). */
static bool split_line(const char *line, size_t len, enum fg_column col, size_t *stack_len,
		       uint64_t *value, uint64_t *base, bool *two, const char **why)
{
	*why = fg_folded_split(line, len, stack_len, value, base, two);
	if (*why)
		return false;
	if (!*two && col == FG_BASE) {
		*base = *value;
		*value = 0;
	}
	return true;
}

int fg_count_line(struct fg_reader *r, const char *line, size_t len,
		  const struct fg_line_ctx *c, uint64_t lineno)
{
	uint64_t value, base, h = PATH_SEED;
	size_t stack_len, depth, k, name_len;
	const char *why, *name;
	bool two;
	int err;

	if (!split_line(line, len, c->col, &stack_len, &value, &base, &two, &why)) {
		if (*why)
			fg_reader_bad(r, c->chunk, lineno, why);
		return 0;
	}
	r->nr_counted++;
	r->total = fg_add_sat(r->total, value);
	r->base_total = fg_add_sat(r->base_total, base);
	if (two || c->col == FG_BASE)
		r->differential = true;
	if (!value)
		return 0;
	err = split_frames(r, line, stack_len, &depth);
	/* The deep paths' counters are cache misses: start them all while
	 * hashing, add once they are on their way. */
	for (k = 0; !err && k < depth; k++) {
		err = frame_name(r, k, depth, c->reverse, &name, &name_len);
		h = path_next(h, fg_hash_bytes(name, name_len));
		r->split[k].slot = sketch_slot(h, r->sketch_bits);
		__builtin_prefetch(&r->sketch[r->split[k].slot], 1);
	}
	for (k = 0; !err && k < depth; k++) {
		uint64_t *count = &r->sketch[r->split[k].slot];

		*count = fg_add_sat(*count, value);
	}
	return err;
}

static int dedup_grow(struct fg_reader *r)
{
	size_t cap = r->cap_dedup ? r->cap_dedup * 2 : 4096, i, slot;
	struct fg_dedup_slot *slots = malloc(cap * sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	memset(slots, 0xff, cap * sizeof(*slots));
	for (i = 0; i < r->cap_dedup; i++) {
		if (r->dedup[i].stack == FG_NONE)
			continue;
		for (slot = r->dedup[i].hash & (cap - 1); slots[slot].stack != FG_NONE;)
			slot = (slot + 1) & (cap - 1);
		slots[slot] = r->dedup[i];
	}
	free(r->dedup);
	r->dedup = slots;
	r->cap_dedup = cap;
	return 0;
}

/* Keeps ids[off..] as a stack, or adds its values to an equal one. */
static int keep_stack(struct fg_reader *r, size_t off, uint64_t h, uint64_t value,
		      uint64_t base)
{
	uint32_t hash = (uint32_t)(h >> 32), depth = (uint32_t)(r->nr_ids - off);
	const uint32_t *ids = r->ids + off;
	struct fg_stack *st;
	size_t slot, mask;

	if ((r->nr_dedup + 1) * 2 > r->cap_dedup && dedup_grow(r))
		return -ENOMEM;
	mask = r->cap_dedup - 1;
	for (slot = hash & mask; r->dedup[slot].stack != FG_NONE; slot = (slot + 1) & mask) {
		if (r->dedup[slot].hash != hash)
			continue;
		st = &r->stacks[r->dedup[slot].stack];
		if (st->depth == depth &&
		    !memcmp(r->ids + (uintptr_t)st->frames, ids, depth * sizeof(*ids))) {
			st->value = fg_add_sat(st->value, value);
			st->base = fg_add_sat(st->base, base);
			r->nr_ids = off;
			return 0;
		}
	}
	if (r->nr_stacks >= FG_NONE - 1)
		return -EOVERFLOW;
	if (r->nr_stacks == r->cap_stacks &&
	    fg_grow((void **)&r->stacks, &r->cap_stacks, r->nr_stacks + 1, sizeof(*r->stacks)))
		return -ENOMEM;
	st = &r->stacks[r->nr_stacks];
	*st = (struct fg_stack){ (const uint32_t *)(uintptr_t)off, value, base, depth };
	r->dedup[slot] = (struct fg_dedup_slot){ hash, (uint32_t)r->nr_stacks++ };
	r->nr_dedup++;
	return 0;
}

int fg_prune_line(struct fg_reader *r, const char *line, size_t len,
		  const struct fg_line_ctx *c)
{
	uint64_t value, base, h = PATH_SEED, count;
	size_t stack_len, depth, k, name_len, off = r->nr_ids;
	const char *why, *name;
	uint32_t name_hash, id;
	bool two;
	int err;

	/* Malformed lines were reported by the count pass. */
	if (!split_line(line, len, c->col, &stack_len, &value, &base, &two, &why))
		return 0;
	/* Outermost first, frames are split only as far as they are kept. */
	depth = 1;
	err = c->reverse ? split_frames(r, line, stack_len, &depth) : split_first(r, line, stack_len);
	for (k = 0; !err && k < depth; k++) {
		if (!c->reverse && k && !split_next(r, line + stack_len))
			break;
		if (r->nr_ids == r->cap_ids)
			err = fg_grow((void **)&r->ids, &r->cap_ids, r->nr_ids + 1, sizeof(*r->ids));
		if (!err && r->nr_ids - off >= UINT32_MAX)
			err = -EOVERFLOW;
		if (!err)
			err = frame_name(r, c->reverse ? k : 0, depth, c->reverse, &name, &name_len);
		if (err)
			break;
		name_hash = fg_hash_bytes(name, name_len);
		h = path_next(h, name_hash);
		id = fg_names_lookup(&r->names, name, name_len, name_hash, true);
		if (id == FG_NONE)
			err = r->names.nr >= FG_NONE - 1 ? -EOVERFLOW : -ENOMEM;
		else
			r->ids[r->nr_ids++] = id;
		/* Under the minimum: this frame is kept for its width, not drawn. */
		count = c->sketch[sketch_slot(h, c->sketch_bits)];
		if (!count || (double)count < c->min_value)
			break;
		if (!c->reverse)
			depth++;
	}
	if (err) {
		r->nr_ids = off;
		return err;
	}
	return keep_stack(r, off, h, value, base);
}

void fg_reader_free_prune(struct fg_reader *r)
{
	free(r->sketch);
	free(r->split);
	free(r->dedup);
	r->sketch = NULL;
	r->split = NULL;
	r->dedup = NULL;
}
