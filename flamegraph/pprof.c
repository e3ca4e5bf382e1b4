// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pprof writer: a hand-written protobuf encoder for profile.proto
 * (github.com/google/pprof/proto/profile.proto), gzipped with zlib.
 *
 * One location per frame and the frames inlined into it (address 0), one
 * function per distinct (name, file), one mapping per distinct (module,
 * build-id). Strings are
 * the profile's interned names: string_table[id + 1], string_table[0] = "".
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "profile.h"

/* profile.proto field numbers. */
enum {
	PROFILE_SAMPLE_TYPE = 1, PROFILE_SAMPLE = 2, PROFILE_MAPPING = 3,
	PROFILE_LOCATION = 4, PROFILE_FUNCTION = 5, PROFILE_STRING_TABLE = 6,
	PROFILE_TIME_NANOS = 9, PROFILE_DURATION_NANOS = 10, PROFILE_PERIOD_TYPE = 11,
	PROFILE_PERIOD = 12, PROFILE_DEFAULT_SAMPLE_TYPE = 14,
	VALUE_TYPE_TYPE = 1, VALUE_TYPE_UNIT = 2,
	SAMPLE_LOCATION_ID = 1, SAMPLE_VALUE = 2,
	MAPPING_ID = 1, MAPPING_FILENAME = 5, MAPPING_BUILD_ID = 6,
	MAPPING_HAS_FUNCTIONS = 7,
	LOCATION_ID = 1, LOCATION_MAPPING_ID = 2, LOCATION_LINE = 4,
	LINE_FUNCTION_ID = 1, LINE_LINE = 2,
	FUNCTION_ID = 1, FUNCTION_NAME = 2, FUNCTION_SYSTEM_NAME = 3, FUNCTION_FILENAME = 4,
};

enum { WIRE_VARINT = 0, WIRE_BYTES = 2 };

struct pb {
	uint8_t *data;
	size_t len, cap;
	bool oom;
};

static void pb_reserve(struct pb *b, size_t n)
{
	size_t cap = b->cap ? b->cap : 256;
	uint8_t *d;

	if (b->oom || b->len + n <= b->cap)
		return;
	while (cap < b->len + n)
		cap *= 2;
	d = realloc(b->data, cap);
	if (!d) {
		b->oom = true;
		return;
	}
	b->data = d;
	b->cap = cap;
}

static void pb_varint(struct pb *b, uint64_t v)
{
	pb_reserve(b, 10);
	if (b->oom)
		return;
	while (v >= 0x80) {
		b->data[b->len++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	b->data[b->len++] = (uint8_t)v;
}

static void pb_key(struct pb *b, unsigned int field, unsigned int wire)
{
	pb_varint(b, (uint64_t)field << 3 | wire);
}

/* Zero is the default and is left out, as protobuf encoders do. */
static void pb_uint(struct pb *b, unsigned int field, uint64_t v)
{
	if (!v)
		return;
	pb_key(b, field, WIRE_VARINT);
	pb_varint(b, v);
}

static void pb_bytes(struct pb *b, unsigned int field, const void *data, size_t len)
{
	pb_key(b, field, WIRE_BYTES);
	pb_varint(b, len);
	pb_reserve(b, len);
	if (b->oom)
		return;
	memcpy(b->data + b->len, data, len);
	b->len += len;
}

/* Appends a finished sub-message and empties it for reuse. */
static void pb_message(struct pb *b, unsigned int field, struct pb *sub)
{
	if (sub->oom)
		b->oom = true;
	pb_bytes(b, field, sub->data, sub->len);
	sub->len = 0;
}

/* String index: interned id + 1 (index 0 is the empty string). */
static uint64_t str_index(struct profile *p, const char *s)
{
	uint32_t id;

	if (!s)
		return 0;
	id = fg_tree_intern(&p->strings, s, strlen(s));
	return id == FG_NONE ? 0 : (uint64_t)id + 1;
}

/* A small (key -> id) map for mappings, keyed by interned
 * string pointers. */
struct pair_map {
	const char **keys;	/* two per entry */
	size_t nr, cap;
};

static uint64_t pair_id(struct pair_map *m, const char *a, const char *b, bool *oom)
{
	size_t i;

	for (i = 0; i < m->nr; i++)
		if (m->keys[2 * i] == a && m->keys[2 * i + 1] == b)
			return i + 1;
	if (m->nr == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		const char **k = realloc(m->keys, cap * 2 * sizeof(*k));

		if (!k) {
			*oom = true;
			return 0;
		}
		m->keys = k;
		m->cap = cap;
	}
	m->keys[2 * m->nr] = a;
	m->keys[2 * m->nr + 1] = b;
	return ++m->nr;
}

struct pprof_ids {
	uint64_t *function_of;	/* per frame */
	uint64_t *mapping_of;	/* per frame, 0 = none */
	struct pair_map mappings;	/* few: modules, scanned linearly */
};

/* Frames are unique, but several frames (different lines) share one
 * function, and many share one mapping: give each its pprof id. */
static int assign_ids(const struct profile *p, struct pprof_ids *ids)
{
	struct fg_tree lookup;
	size_t i;
	bool oom = false;

	ids->function_of = calloc(p->nr_frames + 1, sizeof(uint64_t));
	ids->mapping_of = calloc(p->nr_frames + 1, sizeof(uint64_t));
	if (!ids->function_of || !ids->mapping_of || fg_tree_init(&lookup, NULL))
		return -ENOMEM;
	/* Key functions by "name\1file" interned in a scratch table: an id
	 * per distinct pair without a quadratic scan. */
	for (i = 0; i < p->nr_frames && !oom; i++) {
		const struct prof_frame *f = &p->frames[i];
		size_t ln = strlen(f->function), lf = f->file ? strlen(f->file) : 0;
		char *key = malloc(ln + lf + 2);
		uint32_t id;

		if (!key)
			break;
		memcpy(key, f->function, ln);
		key[ln] = '\x01';
		memcpy(key + ln + 1, f->file ? f->file : "", lf);
		id = fg_tree_intern(&lookup, key, ln + lf + 1);
		free(key);
		if (id == FG_NONE)
			oom = true;
		ids->function_of[i] = id;	/* id 0 is "all": ids start at 1 */
		if (f->module || f->build_id)
			ids->mapping_of[i] = pair_id(&ids->mappings, f->module, f->build_id, &oom);
	}
	fg_tree_free(&lookup);
	return oom || i < p->nr_frames ? -ENOMEM : 0;
}

static void encode_functions(struct profile *p, const struct pprof_ids *ids, struct pb *b,
			     struct pb *sub)
{
	uint64_t next = 1;
	size_t i;

	/* Emit each function once, at the first frame that names it. */
	for (i = 0; i < p->nr_frames; i++) {
		const struct prof_frame *f = &p->frames[i];
		uint64_t name;

		if (ids->function_of[i] != next)
			continue;
		next++;
		name = str_index(p, f->function);
		pb_uint(sub, FUNCTION_ID, ids->function_of[i]);
		pb_uint(sub, FUNCTION_NAME, name);
		pb_uint(sub, FUNCTION_SYSTEM_NAME, name);
		pb_uint(sub, FUNCTION_FILENAME, str_index(p, f->file));
		pb_message(b, PROFILE_FUNCTION, sub);
	}
}

static void encode_mappings(struct profile *p, const struct pprof_ids *ids, struct pb *b,
			    struct pb *sub)
{
	size_t i;

	for (i = 0; i < ids->mappings.nr; i++) {
		pb_uint(sub, MAPPING_ID, i + 1);
		pb_uint(sub, MAPPING_FILENAME, str_index(p, ids->mappings.keys[2 * i]));
		pb_uint(sub, MAPPING_BUILD_ID, str_index(p, ids->mappings.keys[2 * i + 1]));
		pb_uint(sub, MAPPING_HAS_FUNCTIONS, 1);
		pb_message(b, PROFILE_MAPPING, sub);
	}
}

/*
 * A location is a real frame plus the frames inlined into it: its lines
 * run innermost first, the real frame last (profile.proto's order). Each
 * distinct group is interned as the bytes of its frame ids, innermost
 * first; the interned id is the location id ("all", id 0, is never one).
 */
struct loc_key {
	uint32_t *ids;
	size_t cap;
};

static uint32_t location_of(struct fg_tree *locs, struct loc_key *key, const struct profile *p,
			    size_t inner, size_t outer_limit, size_t *next)
{
	size_t k = inner, n = 0, j;

	while (k > outer_limit && p->frames[p->stack_ids[k]].inlined)
		k--;
	*next = k;
	if (inner - k + 1 > key->cap) {
		uint32_t *ids = realloc(key->ids, (inner - k + 1) * sizeof(*ids));

		if (!ids)
			return FG_NONE;
		key->ids = ids;
		key->cap = inner - k + 1;
	}
	for (j = inner + 1; j-- > k;)
		key->ids[n++] = p->stack_ids[j];
	return fg_tree_intern(locs, (const char *)key->ids, n * sizeof(*key->ids));
}

static void encode_samples(const struct profile *p, struct fg_tree *locs, struct pb *b,
			   struct pb *sub, struct pb *packed)
{
	struct loc_key key = { 0 };
	size_t i, j, next;
	uint32_t loc;

	for (i = 0; i < p->nr_samples; i++) {
		/* pprof lists the leaf first; ours is outermost first. */
		for (j = p->sample_start[i + 1]; j-- > p->sample_start[i]; j = next) {
			loc = location_of(locs, &key, p, j, p->sample_start[i], &next);
			if (loc == FG_NONE) {
				b->oom = true;
				goto out;
			}
			pb_varint(packed, loc);
		}
		pb_message(sub, SAMPLE_LOCATION_ID, packed);
		for (j = 0; j < p->nr_types; j++)
			pb_varint(packed, (uint64_t)p->values[i * p->nr_types + j]);
		pb_message(sub, SAMPLE_VALUE, packed);
		pb_message(b, PROFILE_SAMPLE, sub);
	}
out:
	free(key.ids);
}

static void encode_locations(const struct profile *p, const struct pprof_ids *ids,
			     const struct fg_tree *locs, struct pb *b, struct pb *sub,
			     struct pb *line)
{
	size_t i, j, n;
	uint32_t frame;

	for (i = 1; i < locs->nr_names; i++) {
		n = locs->name_lens[i] / sizeof(frame);
		/* The real frame is the last; arena bytes may be unaligned. */
		memcpy(&frame, locs->names[i] + (n - 1) * sizeof(frame), sizeof(frame));
		pb_uint(sub, LOCATION_ID, i);
		pb_uint(sub, LOCATION_MAPPING_ID, ids->mapping_of[frame]);
		for (j = 0; j < n; j++) {
			memcpy(&frame, locs->names[i] + j * sizeof(frame), sizeof(frame));
			pb_uint(line, LINE_FUNCTION_ID, ids->function_of[frame]);
			pb_uint(line, LINE_LINE, p->frames[frame].line);
			pb_message(sub, LOCATION_LINE, line);
		}
		pb_message(b, PROFILE_LOCATION, sub);
	}
}

static void encode_value_type(struct profile *p, struct pb *b, unsigned int field,
			      const struct prof_value_type *t, struct pb *sub)
{
	pb_uint(sub, VALUE_TYPE_TYPE, str_index(p, t->type));
	pb_uint(sub, VALUE_TYPE_UNIT, str_index(p, t->unit));
	pb_message(b, field, sub);
}

static int encode_profile(struct profile *p, struct pb *b)
{
	struct pb sub = { 0 }, inner = { 0 };
	struct pprof_ids ids = { 0 };
	struct fg_tree locs;
	const struct prof_value_type *def = &p->types[p->default_type];
	size_t i;
	int err;

	if (fg_tree_init(&locs, NULL))
		return -ENOMEM;
	err = assign_ids(p, &ids);
	if (err)
		goto cleanup;
	for (i = 0; i < p->nr_types; i++)
		encode_value_type(p, b, PROFILE_SAMPLE_TYPE, &p->types[i], &sub);
	encode_samples(p, &locs, b, &sub, &inner);
	encode_mappings(p, &ids, b, &sub);
	encode_locations(p, &ids, &locs, b, &sub, &inner);
	encode_functions(p, &ids, b, &sub);
	encode_value_type(p, b, PROFILE_PERIOD_TYPE, def, &sub);
	pb_uint(b, PROFILE_PERIOD, 1);
	pb_uint(b, PROFILE_TIME_NANOS, p->time_ns);
	pb_uint(b, PROFILE_DURATION_NANOS, p->duration_ns);
	pb_uint(b, PROFILE_DEFAULT_SAMPLE_TYPE, str_index(p, def->type));
	/* Last, so that every string interned above is in the table. */
	pb_bytes(b, PROFILE_STRING_TABLE, "", 0);
	for (i = 0; i < p->strings.nr_names; i++)
		pb_bytes(b, PROFILE_STRING_TABLE, p->strings.names[i], p->strings.name_lens[i]);
	err = b->oom || sub.oom || inner.oom ? -ENOMEM : 0;
cleanup:
	fg_tree_free(&locs);
	free(ids.function_of);
	free(ids.mapping_of);
	free(ids.mappings.keys);
	free(sub.data);
	free(inner.data);
	return err;
}

static int write_gzip(FILE *out, const uint8_t *data, size_t len)
{
	uint8_t chunk[1 << 16];
	z_stream zs = { 0 };
	int zr, err = 0;

	if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	zs.next_in = (Bytef *)data;
	zs.avail_in = (uInt)len;
	do {
		zs.next_out = chunk;
		zs.avail_out = sizeof(chunk);
		zr = deflate(&zs, Z_FINISH);
		if (zr == Z_STREAM_ERROR) {
			err = -EIO;
			break;
		}
		if (fwrite(chunk, 1, sizeof(chunk) - zs.avail_out, out) !=
		    sizeof(chunk) - zs.avail_out) {
			err = -EIO;
			break;
		}
	} while (zr != Z_STREAM_END);
	deflateEnd(&zs);
	return err;
}

int prof_write_pprof(FILE *out, const struct profile *cp)
{
	/* Interning the few strings not yet seen (none for profiles built
	 * through prof_add_*) changes only the string table. */
	struct profile *p = (struct profile *)cp;
	struct pb b = { 0 };
	int err;

	if (!p->nr_types)
		return -EINVAL;
	if (p->strings.nr_names > UINT32_MAX / 2)
		return -E2BIG;
	err = encode_profile(p, &b);
	if (!err && b.len > UINT32_MAX)
		err = -E2BIG;
	if (!err)
		err = write_gzip(out, b.data, b.len);
	free(b.data);
	if (!err && (fflush(out) || ferror(out)))
		err = -EIO;
	return err;
}
