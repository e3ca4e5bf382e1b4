// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Choosing the frames to draw from the compact stacks: names ranked in name
 * order, then stacks grouped prefix by prefix (a radix sort on the name
 * rank at each depth), pruning every group below the minimum width. Only
 * groups that are drawn are ever split further, so the work is the stacks
 * times the depth to which their prefixes stay drawable.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fg_alloc.h"
#include "stacks_impl.h"

#define RADIX_BITS 11
#define SMALL_SORT 48


struct named {
	const char *ptr;
	uint32_t len;
	uint32_t global;	/* index before sorting */
};

static int cmp_named(const void *a, const void *b)
{
	const struct named *x = a, *y = b;
	int c = memcmp(x->ptr, y->ptr, x->len < y->len ? x->len : y->len);

	return c ? c : (x->len > y->len) - (x->len < y->len);
}

struct rewrite_arg {
	struct fg_reader *r;
	const uint32_t *rank;
};

/* Ids become ranks and offsets become pointers: after this the stacks of
 * both readers are one set, and comparing ids compares names. */
static void *rewrite(void *p)
{
	struct rewrite_arg *a = p;
	struct fg_reader *r = a->r;
	size_t i;

	for (i = 0; i < r->nr_ids; i++)
		r->ids[i] = a->rank[r->ids[i]];
	for (i = 0; i < r->nr_stacks; i++)
		r->stacks[i].frames = r->ids + (uintptr_t)r->stacks[i].frames;
	return NULL;
}

/* Reader 1's names that reader 0 also has map to reader 0's; the union is
 * sorted by name and every id rewritten to its rank. */
static int rank_names(struct fg_stacks *s)
{
	struct fg_name_table *t0 = &s->readers[0].names, *t1 = &s->readers[1].names;
	size_t n = t0->nr, i;
	uint32_t *global1 = malloc((t1->nr + 1) * sizeof(*global1)), *rank = NULL;
	uint32_t *rank0 = NULL, *rank1 = NULL;
	struct named *all = malloc((t0->nr + t1->nr + 1) * sizeof(*all));
	struct rewrite_arg args[2];
	pthread_t tid;
	int err = -ENOMEM;

	if (!global1 || !all)
		goto cleanup;
	for (i = 0; i < t0->nr; i++)
		all[i] = (struct named){ t0->ptr[i], t0->len[i], (uint32_t)i };
	for (i = 0; i < t1->nr; i++) {
		uint32_t id = fg_names_find(t0, t1->ptr[i], t1->len[i]);

		if (id == FG_NONE) {
			id = (uint32_t)n++;
			all[id] = (struct named){ t1->ptr[i], t1->len[i], id };
		}
		global1[i] = id;
	}
	qsort(all, n, sizeof(*all), cmp_named);
	rank = malloc((n + 1) * sizeof(*rank));
	s->sorted = malloc((n + 1) * sizeof(*s->sorted));
	s->sorted_len = malloc((n + 1) * sizeof(*s->sorted_len));
	rank1 = malloc((t1->nr + 1) * sizeof(*rank1));
	if (!rank || !s->sorted || !s->sorted_len || !rank1)
		goto cleanup;
	for (i = 0; i < n; i++) {
		rank[all[i].global] = (uint32_t)i;
		s->sorted[i] = all[i].ptr;
		s->sorted_len[i] = all[i].len;
	}
	s->nr_sorted = n;
	rank0 = rank;	/* reader 0's ids are global ids */
	for (i = 0; i < t1->nr; i++)
		rank1[i] = rank[global1[i]];
	args[0] = (struct rewrite_arg){ &s->readers[0], rank0 };
	args[1] = (struct rewrite_arg){ &s->readers[1], rank1 };
	if (pthread_create(&tid, NULL, rewrite, &args[1])) {
		rewrite(&args[1]);
		rewrite(&args[0]);
	} else {
		rewrite(&args[0]);
		pthread_join(tid, NULL);
	}
	s->ranked = true;
	err = 0;
cleanup:
	free(global1);
	free(all);
	free(rank);
	free(rank1);
	return err;
}

/* One group of stacks sharing a path, waiting to be drawn and split. */
struct group {
	size_t lo, hi;		/* range of the index array */
	uint32_t depth;		/* the frame's depth; children are frames[depth] */
	uint32_t name;		/* rank, or FG_NONE for the root */
	bool waker;
	uint64_t offset, total, base;
};

struct walk {
	struct fg_stacks *s;
	struct fg_drawing *d;
	double min_value;
	uint32_t *idx;		/* stack numbers: reader 0's, then reader 1's */
	uint64_t *keys, *tmp;	/* rank + 1 << 32 | stack number (0: ends here) */
	struct group *todo, *kids;
	size_t nr_todo, cap_todo, cap_kids;
	uint32_t key_bits;
};

static const struct fg_stack *stack_at(const struct fg_stacks *s, uint32_t i)
{
	size_t n0 = s->readers[0].nr_stacks;

	return i < n0 ? &s->readers[0].stacks[i] : &s->readers[1].stacks[i - n0];
}

static void insertion_sort(uint64_t *k, size_t n)
{
	size_t i, j;
	uint64_t v;

	for (i = 1; i < n; i++) {
		v = k[i];
		for (j = i; j && (k[j - 1] >> 32) > (v >> 32); j--)
			k[j] = k[j - 1];
		k[j] = v;
	}
}

/* Stable LSD radix sort on the high 32 bits (only as many digits as ranks need). */
static void radix_sort(uint64_t *k, uint64_t *tmp, size_t n, uint32_t key_bits)
{
	size_t count[1u << RADIX_BITS], i, sum, c;
	uint32_t shift;
	uint64_t *swap;

	for (shift = 32; shift < 32 + key_bits; shift += RADIX_BITS) {
		memset(count, 0, sizeof(count));
		for (i = 0; i < n; i++)
			count[(k[i] >> shift) & ((1u << RADIX_BITS) - 1)]++;
		for (i = 0, sum = 0; i < (1u << RADIX_BITS); i++) {
			c = count[i];
			count[i] = sum;
			sum += c;
		}
		for (i = 0; i < n; i++)
			tmp[count[(k[i] >> shift) & ((1u << RADIX_BITS) - 1)]++] = k[i];
		swap = k;
		k = tmp;
		tmp = swap;
	}
	if ((key_bits + RADIX_BITS - 1) / RADIX_BITS % 2)
		memcpy(tmp, k, n * sizeof(*k));
}

static int push(struct group **arr, size_t *nr, size_t *cap, const struct group *g)
{
	if (*nr == *cap) {
		size_t c = *cap ? *cap * 2 : 256;
		struct group *p = realloc(*arr, c * sizeof(*p));

		if (!p)
			return -ENOMEM;
		*arr = p;
		*cap = c;
	}
	(*arr)[(*nr)++] = *g;
	return 0;
}


static bool is_separator(const struct fg_stacks *s, uint32_t name)
{
	return name != FG_NONE && s->sorted_len[name] == 2 && !memcmp(s->sorted[name], "--", 2);
}

/* Sorts g's stacks by their next frame and queues the children wide
 * enough to draw, leftmost on top (as the tree walk does). */
static int split(struct walk *w, const struct group *g)
{
	size_t n = g->hi - g->lo, i, j, nr_kids = 0;
	bool waker = g->waker || is_separator(w->s, g->name);
	uint64_t *k = w->keys + g->lo, offset = g->offset;
	struct group kid;

	for (i = 0; i < n; i++) {
		const struct fg_stack *st = stack_at(w->s, w->idx[g->lo + i]);
		uint64_t key = st->depth > g->depth ? (uint64_t)st->frames[g->depth] + 1 : 0;

		k[i] = key << 32 | w->idx[g->lo + i];
	}
	if (n < SMALL_SORT)
		insertion_sort(k, n);
	else
		radix_sort(k, w->tmp + g->lo, n, w->key_bits);
	for (i = 0; i < n; i = j) {
		uint64_t key = k[i] >> 32, total = 0, base = 0;

		for (j = i; j < n && k[j] >> 32 == key; j++) {
			const struct fg_stack *st = stack_at(w->s, (uint32_t)k[j]);

			w->idx[g->lo + j] = (uint32_t)k[j];
			total = fg_add_sat(total, st->value);
			base = fg_add_sat(base, st->base);
		}
		if (!key)
			continue;
		kid = (struct group){ g->lo + i, g->lo + j, g->depth + 1, (uint32_t)(key - 1),
				      waker, offset, total, base };
		offset += total;
		if (!total || total < w->min_value)
			continue;
		if (push(&w->kids, &nr_kids, &w->cap_kids, &kid))
			return -ENOMEM;
	}
	while (nr_kids)
		if (push(&w->todo, &w->nr_todo, &w->cap_todo, &w->kids[--nr_kids]))
			return -ENOMEM;
	return 0;
}

static int draw_group(struct walk *w, const struct group *g)
{
	struct fg_drawn_frame f = {
		.name = g->name == FG_NONE ? "all" : w->s->sorted[g->name],
		.name_len = g->name == FG_NONE ? 3 : w->s->sorted_len[g->name],
		.depth = g->depth, .waker = g->waker, .offset = g->offset,
		.total = g->total, .base = g->base,
	};

	return fg_drawing_add(w->d, &f);
}

static int walk(struct walk *w)
{
	struct group g;
	int err;

	while (w->nr_todo) {
		g = w->todo[--w->nr_todo];
		err = draw_group(w, &g);
		if (!err)
			err = split(w, &g);
		if (err)
			return err;
	}
	return 0;
}

int fg_stacks_draw(struct fg_stacks *s, const struct fg_svg_opts *opts, struct fg_drawing *d)
{
	size_t n, i;
	struct walk w = { .s = s, .d = d };
	struct group root = { .name = FG_NONE };
	int err;

	memset(d, 0, sizeof(*d));
	d->root_total = fg_add_sat(s->readers[0].total, s->readers[1].total);
	d->root_base = fg_add_sat(s->readers[0].base_total, s->readers[1].base_total);
	d->differential = fg_stacks_differential(s);
	w.min_value = fg_svg_min_value(opts, d->root_total);
	err = fg_stacks_prune_files(s, w.min_value);
	if (err)
		return err;
	n = s->readers[0].nr_stacks + s->readers[1].nr_stacks;
	if (n >= UINT32_MAX)
		return -EOVERFLOW;
	if (!s->ranked && (err = rank_names(s)))
		return err;
	for (w.key_bits = 1; w.key_bits < 32 && (1ull << w.key_bits) <= s->nr_sorted; w.key_bits++)
		;
	w.idx = malloc((n + 1) * sizeof(*w.idx));
	w.keys = malloc((n + 1) * sizeof(*w.keys));
	w.tmp = malloc((n + 1) * sizeof(*w.tmp));
	err = -ENOMEM;
	if (!w.idx || !w.keys || !w.tmp)
		goto cleanup;
	for (i = 0; i < n; i++)
		w.idx[i] = (uint32_t)i;
	root.hi = n;
	root.total = d->root_total;
	root.base = d->root_base;
	err = 0;
	if (d->root_total)
		err = push(&w.todo, &w.nr_todo, &w.cap_todo, &root);
	if (!err)
		err = walk(&w);
cleanup:
	free(w.idx);
	free(w.keys);
	free(w.tmp);
	free(w.todo);
	free(w.kids);
	return err;
}

int fg_stacks_render_svg(FILE *out, struct fg_stacks *s, const struct fg_svg_opts *opts)
{
	struct fg_svg_opts defaults;
	struct fg_drawing d;
	int err;

	if (!opts) {
		fg_svg_opts_default(&defaults);
		opts = &defaults;
	}
	err = fg_stacks_draw(s, opts, &d);
	if (!err)
		err = fg_render_drawing(out, &d, opts);
	fg_drawing_free(&d);
	return err;
}

struct bad_at {
	uint64_t chunk, line;
	const char *reason;
};

static int cmp_bad(const void *a, const void *b)
{
	const struct bad_at *x = a, *y = b;

	if (x->chunk != y->chunk)
		return x->chunk < y->chunk ? -1 : 1;
	return (x->line > y->line) - (x->line < y->line);
}

void fg_stacks_report_bad(const struct fg_stacks *s, FILE *out)
{
	struct bad_at bad[FG_READERS * FG_MAX_BAD_LINES];
	uint64_t nr_bad = fg_stacks_bad(s), lines = 0, before, shown;
	size_t n = 0, i, r, c;
	uint32_t input;

	for (r = 0; r < FG_READERS; r++)
		for (i = 0; i < s->readers[r].nr_bad && i < FG_MAX_BAD_LINES; i++)
			bad[n++] = (struct bad_at){ s->readers[r].bad[i].chunk,
						    s->readers[r].bad[i].line,
						    s->readers[r].bad[i].reason };
	qsort(bad, n, sizeof(*bad), cmp_bad);
	shown = nr_bad < FG_MAX_BAD_LINES ? nr_bad : FG_MAX_BAD_LINES;
	for (i = 0; i < shown; i++) {
		input = s->chunks[bad[i].chunk].input;
		for (c = bad[i].chunk, before = 0; c-- > 0 && s->chunks[c].input == input;)
			before += s->chunks[c].lines;
		fprintf(out, "%s:%llu: malformed folded line: %s\n", s->sources[input],
			(unsigned long long)(before + bad[i].line), bad[i].reason);
	}
	for (c = 0; c < s->nr_chunks; c++)
		lines += s->chunks[c].lines;
	if (nr_bad > shown)
		fprintf(out, "... and %llu more malformed lines\n",
			(unsigned long long)(nr_bad - shown));
	if (nr_bad)
		fprintf(out, "%llu of %llu lines malformed and skipped\n",
			(unsigned long long)nr_bad, (unsigned long long)lines);
}
