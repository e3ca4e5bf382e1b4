// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The symbolizer's two hash tables: resolved addresses (owner + address to
 * frames, so each unique address is resolved once) and interned strings (so
 * frames can point at built names without owning them). Open addressing,
 * linear probing, grown at half load.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static uint64_t result_hash(const void *owner, uint64_t addr)
{
	return mix64((uintptr_t)owner * 31 + addr);
}

static int result_cache_grow(struct result_cache *cache)
{
	size_t new_cap = cache->cap ? cache->cap * 2 : 1024, i;
	struct cached_result *slots = calloc(new_cap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (i = 0; i < cache->cap; i++) {
		struct cached_result *old = &cache->slots[i];
		size_t pos;

		if (!old->owner)
			continue;
		pos = result_hash(old->owner, old->addr) & (new_cap - 1);
		while (slots[pos].owner)
			pos = (pos + 1) & (new_cap - 1);
		slots[pos] = *old;
	}
	free(cache->slots);
	cache->slots = slots;
	cache->cap = new_cap;
	return 0;
}

struct cached_result *result_cache_find(struct result_cache *cache, const void *owner,
					uint64_t addr)
{
	size_t pos;

	if (!cache->cap)
		return NULL;
	pos = result_hash(owner, addr) & (cache->cap - 1);
	while (cache->slots[pos].owner) {
		if (cache->slots[pos].owner == owner && cache->slots[pos].addr == addr)
			return &cache->slots[pos];
		pos = (pos + 1) & (cache->cap - 1);
	}
	return NULL;
}

int result_cache_add(struct result_cache *cache, const void *owner, uint64_t addr,
		     struct sym_frame *frames, size_t nr, struct cached_result **out)
{
	size_t pos;

	if ((cache->nr + 1) * 2 > cache->cap && result_cache_grow(cache))
		return -ENOMEM;
	pos = result_hash(owner, addr) & (cache->cap - 1);
	while (cache->slots[pos].owner)
		pos = (pos + 1) & (cache->cap - 1);
	cache->slots[pos].owner = owner;
	cache->slots[pos].addr = addr;
	cache->slots[pos].frames = frames;
	cache->slots[pos].nr = nr;
	cache->nr++;
	*out = &cache->slots[pos];
	return 0;
}

void result_cache_free(struct result_cache *cache)
{
	size_t i;

	for (i = 0; i < cache->cap; i++)
		free(cache->slots[i].frames);
	free(cache->slots);
	memset(cache, 0, sizeof(*cache));
}

static uint64_t string_hash(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static int string_pool_grow(struct string_pool *pool)
{
	size_t new_cap = pool->cap ? pool->cap * 2 : 1024, i;
	char **slots = calloc(new_cap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (i = 0; i < pool->cap; i++) {
		char *s = pool->slots[i];
		size_t pos;

		if (!s)
			continue;
		pos = string_hash(s, strlen(s)) & (new_cap - 1);
		while (slots[pos])
			pos = (pos + 1) & (new_cap - 1);
		slots[pos] = s;
	}
	free(pool->slots);
	pool->slots = slots;
	pool->cap = new_cap;
	return 0;
}

const char *string_pool_add_len(struct string_pool *pool, const char *s, size_t len)
{
	size_t pos;
	char *copy;

	if ((pool->nr + 1) * 2 > pool->cap && string_pool_grow(pool))
		return NULL;
	pos = string_hash(s, len) & (pool->cap - 1);
	while (pool->slots[pos]) {
		if (!strncmp(pool->slots[pos], s, len) && pool->slots[pos][len] == '\0')
			return pool->slots[pos];
		pos = (pos + 1) & (pool->cap - 1);
	}
	copy = malloc(len + 1);
	if (!copy)
		return NULL;
	memcpy(copy, s, len);
	copy[len] = '\0';
	pool->slots[pos] = copy;
	pool->nr++;
	pool->bytes += len + 1;
	return copy;
}

const char *string_pool_add(struct string_pool *pool, const char *s)
{
	return s ? string_pool_add_len(pool, s, strlen(s)) : NULL;
}

void string_pool_free(struct string_pool *pool)
{
	size_t i;

	for (i = 0; i < pool->cap; i++)
		free(pool->slots[i]);
	free(pool->slots);
	memset(pool, 0, sizeof(*pool));
}
