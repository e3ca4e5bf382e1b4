// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The generic profile model: interned frames, samples with values. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fg_alloc.h"
#include "profile.h"

#define SLOT_EMPTY UINT32_MAX


int prof_init(struct profile *p)
{
	memset(p, 0, sizeof(*p));
	return fg_tree_init(&p->strings, NULL);
}

void prof_free(struct profile *p)
{
	free(p->frames);
	free(p->frame_slots);
	free(p->stack_ids);
	free(p->sample_start);
	free(p->values);
	fg_tree_free(&p->strings);
	memset(p, 0, sizeof(*p));
}

/* Returns the interned copy of s (NULL stays NULL). */
static const char *intern(struct profile *p, const char *s, bool *oom)
{
	uint32_t id;

	if (!s)
		return NULL;
	id = fg_tree_intern(&p->strings, s, strlen(s));
	if (id == FG_NONE) {
		*oom = true;
		return NULL;
	}
	return p->strings.names[id];
}

int prof_add_type(struct profile *p, const char *type, const char *unit)
{
	bool oom = false;
	struct prof_value_type *t;

	if (p->nr_types == PROF_MAX_TYPES || p->nr_samples)
		return -EINVAL;
	t = &p->types[p->nr_types];
	t->type = intern(p, type, &oom);
	t->unit = intern(p, unit, &oom);
	if (oom)
		return -ENOMEM;
	p->default_type = p->nr_types;
	return (int)p->nr_types++;
}

/* Strings are interned, so equal strings are equal pointers. */
static uint64_t frame_hash(const struct prof_frame *f)
{
	uint64_t h = (uintptr_t)f->function * 0x9e3779b97f4a7c15ull;

	h ^= (uintptr_t)f->file * 0xc2b2ae3d27d4eb4full + f->line;
	h ^= (uintptr_t)f->module * 0x165667b19e3779f9ull;
	h ^= (uintptr_t)f->build_id * 0x27d4eb2f165667c5ull;
	h ^= ((uint64_t)f->inlined << 1 | f->kind) * 0x85ebca77c2b2ae63ull;
	return h ^ (h >> 29);
}

static bool frame_equal(const struct prof_frame *a, const struct prof_frame *b)
{
	return a->function == b->function && a->file == b->file && a->line == b->line &&
	       a->module == b->module && a->build_id == b->build_id &&
	       a->inlined == b->inlined && a->kind == b->kind;
}

static int rehash_frames(struct profile *p)
{
	size_t cap = p->cap_frame_slots ? p->cap_frame_slots * 2 : 256, i, s;
	uint32_t *slots = malloc(cap * sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	memset(slots, 0xff, cap * sizeof(*slots));
	for (i = 0; i < p->nr_frames; i++) {
		for (s = frame_hash(&p->frames[i]) & (cap - 1); slots[s] != SLOT_EMPTY;)
			s = (s + 1) & (cap - 1);
		slots[s] = (uint32_t)i;
	}
	free(p->frame_slots);
	p->frame_slots = slots;
	p->cap_frame_slots = cap;
	return 0;
}

int64_t prof_add_frame(struct profile *p, const struct prof_frame *in)
{
	struct prof_frame f = *in;
	bool oom = false;
	size_t s;

	f.function = intern(p, in->function ? in->function : "", &oom);
	f.file = intern(p, in->file, &oom);
	f.module = intern(p, in->module, &oom);
	f.build_id = intern(p, in->build_id, &oom);
	if (oom)
		return -ENOMEM;
	if ((p->nr_frames + 1) * 2 > p->cap_frame_slots && rehash_frames(p))
		return -ENOMEM;
	for (s = frame_hash(&f) & (p->cap_frame_slots - 1); p->frame_slots[s] != SLOT_EMPTY;
	     s = (s + 1) & (p->cap_frame_slots - 1)) {
		if (frame_equal(&p->frames[p->frame_slots[s]], &f))
			return p->frame_slots[s];
	}
	if (p->nr_frames >= SLOT_EMPTY - 1 ||
	    fg_grow((void **)&p->frames, &p->cap_frames, p->nr_frames + 1, sizeof(f)))
		return -ENOMEM;
	p->frames[p->nr_frames] = f;
	p->frame_slots[s] = (uint32_t)p->nr_frames;
	return (int64_t)p->nr_frames++;
}

int prof_add_sample(struct profile *p, const uint32_t *frame_ids, size_t depth,
		    const int64_t *values)
{
	size_t cap = p->cap_samples, cap2 = cap;

	if (!p->nr_types)
		return -EINVAL;
	if (fg_grow((void **)&p->stack_ids, &p->cap_stack_ids, p->nr_stack_ids + depth,
		 sizeof(*p->stack_ids)) ||
	    fg_grow((void **)&p->sample_start, &cap, p->nr_samples + 2, sizeof(*p->sample_start)) ||
	    fg_grow((void **)&p->values, &cap2, (p->nr_samples + 2), p->nr_types * sizeof(int64_t)))
		return -ENOMEM;
	p->cap_samples = cap < cap2 ? cap : cap2;
	memcpy(p->stack_ids + p->nr_stack_ids, frame_ids, depth * sizeof(*frame_ids));
	p->sample_start[p->nr_samples] = p->nr_stack_ids;
	p->nr_stack_ids += depth;
	p->sample_start[p->nr_samples + 1] = p->nr_stack_ids;
	memcpy(p->values + p->nr_samples * p->nr_types, values, p->nr_types * sizeof(int64_t));
	p->nr_samples++;
	return 0;
}

int64_t prof_total(const struct profile *p, size_t t)
{
	int64_t sum = 0;
	size_t i;

	for (i = 0; i < p->nr_samples; i++)
		sum += p->values[i * p->nr_types + t];
	return sum;
}

/* Nanoseconds per unit for a time countname; 0 when not a time. */
static int64_t ns_per_unit(const char *countname)
{
	static const struct {
		const char *name;
		int64_t ns;
	} units[] = {
		{ "ns", 1 }, { "nsecs", 1 }, { "nanoseconds", 1 },
		{ "us", 1000 }, { "usecs", 1000 }, { "microseconds", 1000 },
		{ "ms", 1000000 }, { "msecs", 1000000 }, { "milliseconds", 1000000 },
		{ "s", 1000000000 }, { "secs", 1000000000 }, { "seconds", 1000000000 },
	};
	size_t i;

	for (i = 0; countname && i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcmp(countname, units[i].name))
			return units[i].ns;
	return 0;
}

/* A folded name's frame: "_[k]" is kernel, "_[i]" inlined (both stripped). */
static int64_t folded_frame(struct profile *p, const char *name, size_t len)
{
	struct prof_frame f = { 0 };
	char *copy;
	int64_t id;

	if (len >= 4 && !memcmp(name + len - 4, "_[k]", 4)) {
		f.kind = PROF_FRAME_KERNEL;
		len -= 4;
	} else if (len >= 4 && !memcmp(name + len - 4, "_[i]", 4)) {
		f.inlined = true;
		len -= 4;
	}
	copy = strndup(name, len);
	if (!copy)
		return -ENOMEM;
	f.function = copy;
	id = prof_add_frame(p, &f);
	free(copy);
	return id;
}

static int add_folded_samples(struct profile *p, const struct fg_tree *tree, int64_t scale)
{
	int64_t *frame_of = malloc(tree->nr_nodes * sizeof(*frame_of));
	uint32_t *stack = malloc((tree->max_depth + 1) * sizeof(*stack));
	size_t i, depth;
	int err = -ENOMEM;

	if (!frame_of || !stack)
		goto cleanup;
	frame_of[0] = -1;
	/* Parents come before children, so one pass names every node. */
	for (i = 1; i < tree->nr_nodes; i++) {
		frame_of[i] = folded_frame(p, fg_name(tree, i), fg_name_len(tree, i));
		if (frame_of[i] < 0)
			goto cleanup;
	}
	for (i = 1; i < tree->nr_nodes; i++) {
		uint64_t self = tree->nodes[i].self;
		int64_t value;
		uint32_t n;

		if (!self)
			continue;
		depth = tree->nodes[i].depth;
		for (n = (uint32_t)i; n; n = tree->nodes[n].parent)
			stack[tree->nodes[n].depth - 1] = (uint32_t)frame_of[n];
		value = self > (uint64_t)INT64_MAX / scale ? INT64_MAX : (int64_t)self * scale;
		err = prof_add_sample(p, stack, depth, &value);
		if (err)
			goto cleanup;
	}
	err = 0;
cleanup:
	free(frame_of);
	free(stack);
	return err;
}

int prof_from_folded(struct profile *p, const struct fg_tree *tree,
		     const char *sample_type, const char *countname)
{
	int64_t scale = ns_per_unit(countname);
	int err;

	err = prof_init(p);
	if (err)
		return err;
	if (tree->differential)
		return -EINVAL;
	if (scale)
		err = prof_add_type(p, sample_type ? sample_type : "off_cpu", "nanoseconds");
	else
		err = prof_add_type(p, sample_type ? sample_type : "samples", "count");
	if (err < 0)
		return err;
	return add_folded_samples(p, tree, scale ? scale : 1);
}
