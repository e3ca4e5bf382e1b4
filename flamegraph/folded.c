// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Streaming parser of folded stacks into an interned frame tree. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fg_alloc.h"
#include "folded.h"

#define ARENA_CHUNK (1u << 20)
#define NAME_MAX_LEN (UINT32_MAX - 1)

struct fg_arena_chunk {
	struct fg_arena_chunk *next;
	size_t used, cap;
	char data[];
};

uint32_t fg_hash_name(const char *name, size_t len)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)name[i];
		h *= 16777619u;
	}
	return h;
}

static uint32_t hash_child(uint32_t parent, uint32_t name)
{
	uint64_t k = ((uint64_t)parent << 32) | name;

	/* A 64-bit mix (splitmix64's finalizer), folded to 32 bits. */
	k ^= k >> 30;
	k *= 0xbf58476d1ce4e5b9ull;
	k ^= k >> 27;
	k *= 0x94d049bb133111ebull;
	k ^= k >> 31;
	return (uint32_t)k;
}


static char *arena_copy(struct fg_tree *tree, const char *s, size_t len)
{
	struct fg_arena_chunk *c = tree->arena;
	char *dst;

	if (!c || c->cap - c->used < len + 1) {
		size_t cap = len + 1 > ARENA_CHUNK ? len + 1 : ARENA_CHUNK;

		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->used = 0;
		c->cap = cap;
		/* A big name gets its own chunk behind the current one, so
		 * the rest of the current chunk stays in use. */
		if (tree->arena && cap > ARENA_CHUNK) {
			c->next = tree->arena->next;
			tree->arena->next = c;
		} else {
			c->next = tree->arena;
			tree->arena = c;
		}
	}
	dst = c->data + c->used;
	memcpy(dst, s, len);
	dst[len] = '\0';
	c->used += len + 1;
	return dst;
}

#define SLOT_ID(slot) ((uint32_t)(slot))
#define SLOT_HASH(slot) ((uint32_t)((slot) >> 32))

static int rehash_names(struct fg_tree *tree)
{
	size_t cap = tree->cap_name_slots ? tree->cap_name_slots * 2 : 1024;
	uint64_t *slots = malloc(cap * sizeof(*slots));
	size_t i;

	if (!slots)
		return -ENOMEM;
	memset(slots, 0xff, cap * sizeof(*slots));
	for (i = 0; i < tree->nr_names; i++) {
		size_t s = tree->name_hashes[i] & (cap - 1);

		while (SLOT_ID(slots[s]) != FG_NONE)
			s = (s + 1) & (cap - 1);
		slots[s] = (uint64_t)tree->name_hashes[i] << 32 | i;
	}
	free(tree->name_slots);
	tree->name_slots = slots;
	tree->cap_name_slots = cap;
	return 0;
}

/* Returns the id of the name, adding it if new; FG_NONE when out of memory. */
static uint32_t intern_hashed(struct fg_tree *tree, const char *s, size_t len, uint32_t h)
{
	uint32_t id;
	size_t mask, slot;

	if ((tree->nr_names + 1) * 2 > tree->cap_name_slots && rehash_names(tree))
		return FG_NONE;
	mask = tree->cap_name_slots - 1;
	for (slot = h & mask; SLOT_ID(tree->name_slots[slot]) != FG_NONE; slot = (slot + 1) & mask) {
		if (SLOT_HASH(tree->name_slots[slot]) != h)
			continue;
		id = SLOT_ID(tree->name_slots[slot]);
		if (tree->name_lens[id] == len && !memcmp(tree->names[id], s, len))
			return id;
	}
	if (tree->nr_names >= FG_NONE - 1)
		return FG_NONE;
	if (tree->nr_names == tree->cap_names) {
		size_t cap = tree->cap_names, c2 = cap, c3 = cap;

		if (fg_grow((void **)&tree->names, &cap, cap + 1, sizeof(char *)) ||
		    fg_grow((void **)&tree->name_lens, &c2, c2 + 1, sizeof(uint32_t)) ||
		    fg_grow((void **)&tree->name_hashes, &c3, c3 + 1, sizeof(uint32_t)))
			return FG_NONE;
		tree->cap_names = cap;
	}
	id = (uint32_t)tree->nr_names;
	tree->names[id] = arena_copy(tree, s, len);
	if (!tree->names[id])
		return FG_NONE;
	tree->name_lens[id] = (uint32_t)len;
	tree->name_hashes[id] = h;
	tree->name_slots[slot] = (uint64_t)h << 32 | id;
	tree->nr_names++;
	return id;
}

static uint32_t intern_name(struct fg_tree *tree, const char *s, size_t len)
{
	if (len > NAME_MAX_LEN)
		len = NAME_MAX_LEN;
	return intern_hashed(tree, s, len, fg_hash_name(s, len));
}

uint32_t fg_tree_intern(struct fg_tree *tree, const char *s, size_t len)
{
	return intern_name(tree, s, len);
}

static int rehash_children(struct fg_tree *tree)
{
	size_t cap = tree->cap_child_slots ? tree->cap_child_slots * 2 : 1024;
	struct fg_child_slot *slots = malloc(cap * sizeof(*slots));
	size_t i;

	if (!slots)
		return -ENOMEM;
	memset(slots, 0xff, cap * sizeof(*slots));
	for (i = 1; i < tree->nr_nodes; i++) {
		const struct fg_node *n = &tree->nodes[i];
		uint32_t h = tree->name_hashes[n->name];
		size_t s = hash_child(n->parent, h) & (cap - 1);

		while (slots[s].id != FG_NONE)
			s = (s + 1) & (cap - 1);
		slots[s] = (struct fg_child_slot){ n->parent, h, n->name, (uint32_t)i };
	}
	free(tree->child_slots);
	tree->child_slots = slots;
	tree->cap_child_slots = cap;
	return 0;
}

static int grow_nodes(struct fg_tree *tree)
{
	size_t cap = tree->cap_nodes;
	uint64_t *p;

	if (tree->nr_nodes < cap)
		return 0;
	if (fg_grow((void **)&tree->nodes, &cap, tree->nr_nodes + 1, sizeof(struct fg_node)))
		return -ENOMEM;
	if (tree->base_self) {
		p = realloc(tree->base_self, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		tree->base_self = p;
		p = realloc(tree->base_total, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		tree->base_total = p;
	}
	tree->cap_nodes = cap;
	return 0;
}

static uint32_t add_node(struct fg_tree *tree, uint32_t parent, uint32_t name)
{
	struct fg_node *n;
	uint32_t id;

	if (tree->nr_nodes >= FG_NONE - 1 || grow_nodes(tree))
		return FG_NONE;
	id = (uint32_t)tree->nr_nodes++;
	n = &tree->nodes[id];
	n->name = name;
	n->parent = parent;
	n->first_child = FG_NONE;
	n->next_sibling = FG_NONE;
	n->self = 0;
	n->total = 0;
	if (tree->base_self) {
		tree->base_self[id] = 0;
		tree->base_total[id] = 0;
	}
	if (parent != FG_NONE) {
		n->depth = tree->nodes[parent].depth + 1;
		n->next_sibling = tree->nodes[parent].first_child;
		tree->nodes[parent].first_child = id;
		if (n->depth > tree->max_depth)
			tree->max_depth = n->depth;
	} else {
		n->depth = 0;
	}
	return id;
}

/* One probe keyed by (parent, hash of the name): the name is interned only
 * when the child is new. */
static uint32_t child_get_or_add(struct fg_tree *tree, uint32_t parent,
				 const char *s, size_t len)
{
	struct fg_child_slot *c;
	uint32_t h, name, id;
	size_t mask, slot;

	if (len > NAME_MAX_LEN)
		len = NAME_MAX_LEN;
	h = fg_hash_name(s, len);
	if ((tree->nr_nodes + 1) * 2 > tree->cap_child_slots && rehash_children(tree))
		return FG_NONE;
	mask = tree->cap_child_slots - 1;
	for (slot = hash_child(parent, h) & mask; tree->child_slots[slot].id != FG_NONE;
	     slot = (slot + 1) & mask) {
		c = &tree->child_slots[slot];
		if (c->parent == parent && c->name_hash == h && tree->name_lens[c->name] == len &&
		    !memcmp(tree->names[c->name], s, len))
			return c->id;
	}
	name = intern_hashed(tree, s, len, h);
	if (name == FG_NONE)
		return FG_NONE;
	id = add_node(tree, parent, name);
	if (id != FG_NONE)
		tree->child_slots[slot] = (struct fg_child_slot){ parent, h, name, id };
	return id;
}

int fg_tree_init(struct fg_tree *tree, const struct fg_parse_opts *opts)
{
	memset(tree, 0, sizeof(*tree));
	if (opts)
		tree->opts = *opts;
	if (add_node(tree, FG_NONE, intern_name(tree, "all", 3)) != 0) {
		fg_tree_free(tree);
		return -ENOMEM;
	}
	return 0;
}

void fg_tree_free(struct fg_tree *tree)
{
	struct fg_arena_chunk *c = tree->arena, *next;

	for (; c; c = next) {
		next = c->next;
		free(c);
	}
	free(tree->nodes);
	free(tree->base_self);
	free(tree->base_total);
	free(tree->names);
	free(tree->name_lens);
	free(tree->name_hashes);
	free(tree->name_slots);
	free(tree->child_slots);
	free(tree->prev_stack);
	free(tree->prev_nodes);
	free(tree->prev_ends);
	free(tree->split_frames);
	free(tree->split_lens);
	free(tree->unescaped);
	memset(tree, 0, sizeof(*tree));
}

static int enable_base(struct fg_tree *tree)
{
	if (tree->base_self)
		return 0;
	tree->base_self = calloc(tree->cap_nodes, sizeof(uint64_t));
	tree->base_total = calloc(tree->cap_nodes, sizeof(uint64_t));
	if (!tree->base_self || !tree->base_total)
		return -ENOMEM;
	tree->differential = true;
	return 0;
}


static int add_value(struct fg_tree *tree, uint32_t node, uint64_t value,
		     enum fg_column col)
{
	tree->totals_ready = false;
	if (col == FG_CURRENT) {
		tree->nodes[node].self = fg_add_sat(tree->nodes[node].self, value);
		return 0;
	}
	if (enable_base(tree))
		return -ENOMEM;
	tree->base_self[node] = fg_add_sat(tree->base_self[node], value);
	return 0;
}

/* Remembers the stack just added so the next one can skip the lookups of
 * the prefix they share (folded input is usually sorted). */
static int remember_stack(struct fg_tree *tree, const char *const *frames,
			  const size_t *lens, size_t from, size_t depth)
{
	size_t off = from ? tree->prev_ends[from - 1] : 0;
	size_t i, need = off;

	for (i = from; i < depth; i++)
		need += lens[i];
	if (fg_grow((void **)&tree->prev_stack, &tree->prev_cap, need + 1, 1))
		return -ENOMEM;
	for (i = from; i < depth; i++) {
		memcpy(tree->prev_stack + off, frames[i], lens[i]);
		off += lens[i];
		tree->prev_ends[i] = (uint32_t)off;
	}
	tree->prev_depth = depth;
	return 0;
}

static int grow_prev(struct fg_tree *tree, size_t depth)
{
	size_t cap = tree->prev_depth_cap, cap2 = cap;

	if (depth <= cap)
		return 0;
	if (fg_grow((void **)&tree->prev_nodes, &cap, depth, sizeof(uint32_t)) ||
	    fg_grow((void **)&tree->prev_ends, &cap2, depth, sizeof(uint32_t)))
		return -ENOMEM;
	tree->prev_depth_cap = cap;
	return 0;
}

int fg_tree_add_stack(struct fg_tree *tree, const char *const *frames,
		      const size_t *lens, size_t depth, uint64_t value,
		      enum fg_column col)
{
	uint32_t node = 0;
	size_t i, start = 0, first_new = depth;

	if (depth > UINT32_MAX / 2 || grow_prev(tree, depth))
		return -ENOMEM;
	for (i = 0; i < depth; i++) {
		if (first_new == depth && i < tree->prev_depth &&
		    tree->prev_ends[i] - start == lens[i] &&
		    !memcmp(tree->prev_stack + start, frames[i], lens[i])) {
			start = tree->prev_ends[i];
			node = tree->prev_nodes[i];
			continue;
		}
		if (first_new == depth)
			first_new = i;
		node = child_get_or_add(tree, node, frames[i], lens[i]);
		if (node == FG_NONE)
			return -ENOMEM;
		tree->prev_nodes[i] = node;
	}
	if (remember_stack(tree, frames, lens, first_new == depth ? depth : first_new, depth))
		return -ENOMEM;
	tree->nr_stacks++;
	return add_value(tree, node, value, col);
}

static void record_bad(struct fg_tree *tree, const char *source, uint64_t lineno,
		       const char *reason)
{
	if (tree->nr_bad < FG_MAX_BAD_LINES) {
		struct fg_bad_line *b = &tree->bad[tree->nr_bad];

		b->source = source ? source : "<input>";
		b->lineno = lineno;
		b->reason = reason;
	}
	tree->nr_bad++;
}

/* Parses a run of decimal digits as the whole token; NULL on success,
 * else why it is not a count. */
static const char *parse_count(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (!len)
		return "missing value";
	for (i = 0; i < len; i++) {
		unsigned d = (unsigned char)s[i] - '0';

		if (d > 9)
			return memchr(s, '.', len) ? "fractional value" : "value is not a number";
		if (v > (UINT64_MAX - d) / 10)
			return "value too large";
		v = v * 10 + d;
	}
	*out = v;
	return NULL;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Splits the stack text on ';' into tree-owned scratch arrays. */
static int split_stack(struct fg_tree *tree, const char *s, size_t len,
		       const char ***frames, size_t **lens, size_t *cap, size_t *depth)
{
	size_t n = 0, start = 0, i;

	for (i = 0; i <= len; i++) {
		if (i < len && s[i] != ';')
			continue;
		if (n == *cap) {
			size_t c1 = *cap, c2 = *cap;

			if (fg_grow((void **)frames, &c1, n + 1, sizeof(**frames)) ||
			    fg_grow((void **)lens, &c2, n + 1, sizeof(**lens)))
				return -ENOMEM;
			*cap = c1;
		}
		(*frames)[n] = s + start;
		(*lens)[n] = i - start;
		n++;
		start = i + 1;
	}
	if (tree->opts.reverse) {
		for (i = 0; i < n / 2; i++) {
			const char *f = (*frames)[i];
			size_t l = (*lens)[i];

			(*frames)[i] = (*frames)[n - 1 - i];
			(*lens)[i] = (*lens)[n - 1 - i];
			(*frames)[n - 1 - i] = f;
			(*lens)[n - 1 - i] = l;
		}
	}
	*depth = n;
	return 0;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The separator and the escape as waitprof writes them in names (\x3b,
 * \x5c; docs/FLAMEGRAPH.md "Names"); anything else after a backslash,
 * controls' \xNN included, stays as written, visible. */
static int unescaped_byte(const char *s, size_t left)
{
	int hi, lo, c;

	if (left < 4 || s[0] != '\\' || s[1] != 'x')
		return -1;
	hi = hex_digit(s[2]);
	lo = hex_digit(s[3]);
	c = hi < 0 || lo < 0 ? -1 : hi << 4 | lo;
	return c == ';' || c == '\\' ? c : -1;
}

size_t fg_unescape_name(char *dst, const char *src, size_t len)
{
	size_t i, out = 0;

	for (i = 0; i < len; i++) {
		int c = unescaped_byte(src + i, len - i);

		dst[out++] = c < 0 ? src[i] : (char)c;
		if (c >= 0)
			i += 3;
	}
	return out;
}

/* Points frames that hold an escaped separator at unescaped copies. */
static int unescape_frames(struct fg_tree *tree, size_t stack_len, size_t depth)
{
	size_t i, out = 0;

	if (fg_grow((void **)&tree->unescaped, &tree->unescaped_cap, stack_len + 1, 1))
		return -ENOMEM;
	for (i = 0; i < depth; i++) {
		const char *f = tree->split_frames[i];
		size_t len = tree->split_lens[i], start = out;

		if (!memchr(f, '\\', len))
			continue;
		out += fg_unescape_name(tree->unescaped + out, f, len);
		tree->split_frames[i] = tree->unescaped + start;
		tree->split_lens[i] = out - start;
	}
	return 0;
}

const char *fg_folded_split(const char *line, size_t len, size_t *stack_len,
			    uint64_t *value, uint64_t *base, bool *two_columns)
{
	const char *sp, *why;
	size_t n;

	*two_columns = false;
	*base = 0;
	while (len && is_blank(line[len - 1]))
		len--;
	if (!len)
		return "";
	sp = memrchr(line, ' ', len);
	if (!sp)
		return "no space before the value";
	why = parse_count(sp + 1, line + len - sp - 1, value);
	if (why)
		return why;
	n = sp - line;
	while (n && is_blank(line[n - 1]))
		n--;
	/* "stack BEFORE AFTER": the stack part itself ends in a number. */
	sp = memrchr(line, ' ', n);
	if (sp && !parse_count(sp + 1, line + n - sp - 1, base)) {
		*two_columns = true;
		n = sp - line;
		while (n && is_blank(line[n - 1]))
			n--;
	}
	if (!n)
		return "empty stack";
	if (memchr(line, '\0', n))
		return "NUL byte in stack";
	*stack_len = n;
	return NULL;
}

int fg_parse_line(struct fg_tree *tree, const char *line, size_t len,
		  const char *source, uint64_t lineno, enum fg_column col)
{
	const char *why;
	uint64_t value, base;
	size_t stack_len, depth;
	bool two_columns;
	int err;

	tree->nr_lines++;
	why = fg_folded_split(line, len, &stack_len, &value, &base, &two_columns);
	if (why && !*why)
		return 0;
	if (why) {
		record_bad(tree, source, lineno, why);
		return 1;
	}
	err = split_stack(tree, line, stack_len, &tree->split_frames, &tree->split_lens,
			   &tree->split_cap, &depth);
	if (!err && memchr(line, '\\', stack_len))
		err = unescape_frames(tree, stack_len, depth);
	if (err)
		return err;
	err = fg_tree_add_stack(tree, tree->split_frames, tree->split_lens, depth, value,
				two_columns ? FG_CURRENT : col);
	if (!err && two_columns)
		err = add_value(tree, tree->prev_nodes[depth - 1], base, FG_BASE);
	return err;
}

int fg_parse_file(struct fg_tree *tree, FILE *in, const char *source,
		  enum fg_column col)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	uint64_t lineno = 0;
	int err = 0;

	while ((n = getline(&line, &cap, in)) >= 0) {
		lineno++;
		err = fg_parse_line(tree, line, (size_t)n, source, lineno, col);
		if (err < 0)
			break;
		err = 0;
	}
	if (!err && ferror(in))
		err = -EIO;
	free(line);
	fg_tree_finish(tree);
	return err;
}

void fg_tree_finish(struct fg_tree *tree)
{
	size_t i;

	if (tree->totals_ready)
		return;
	for (i = 0; i < tree->nr_nodes; i++) {
		tree->nodes[i].total = tree->nodes[i].self;
		if (tree->base_total)
			tree->base_total[i] = tree->base_self[i];
	}
	/* A child's index is always above its parent's. */
	for (i = tree->nr_nodes - 1; i > 0; i--) {
		uint32_t p = tree->nodes[i].parent;

		tree->nodes[p].total = fg_add_sat(tree->nodes[p].total, tree->nodes[i].total);
		if (tree->base_total)
			tree->base_total[p] = fg_add_sat(tree->base_total[p], tree->base_total[i]);
	}
	tree->totals_ready = true;
}

void fg_tree_report_bad(const struct fg_tree *tree, FILE *out)
{
	uint64_t i, shown = tree->nr_bad < FG_MAX_BAD_LINES ? tree->nr_bad : FG_MAX_BAD_LINES;

	for (i = 0; i < shown; i++)
		fprintf(out, "%s:%llu: malformed folded line: %s\n", tree->bad[i].source,
			(unsigned long long)tree->bad[i].lineno, tree->bad[i].reason);
	if (tree->nr_bad > shown)
		fprintf(out, "... and %llu more malformed lines\n",
			(unsigned long long)(tree->nr_bad - shown));
	if (tree->nr_bad)
		fprintf(out, "%llu of %llu lines malformed and skipped\n",
			(unsigned long long)tree->nr_bad, (unsigned long long)tree->nr_lines);
}
