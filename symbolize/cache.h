/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The symbolizer's hash tables (cache.c). Internal to symbolize/. */
#ifndef WAITPROF_SYMBOLIZE_CACHE_H
#define WAITPROF_SYMBOLIZE_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "symbolize.h"

struct cached_result {
	const void *owner;	/* the module (or kernel) the address belongs to */
	uint64_t addr;
	struct sym_frame *frames;
	size_t nr;
};

struct result_cache {
	size_t nr;
	size_t cap;		/* a power of two */
	struct cached_result *slots;
};

struct cached_result *result_cache_find(struct result_cache *cache, const void *owner,
					uint64_t addr);
/* Takes ownership of frames (malloc'd). */
int result_cache_add(struct result_cache *cache, const void *owner, uint64_t addr,
		     struct sym_frame *frames, size_t nr, struct cached_result **out);
void result_cache_free(struct result_cache *cache);

struct string_pool {
	size_t nr;
	size_t cap;
	size_t bytes;
	char **slots;
};

/* The pooled copy of s (valid until string_pool_free), NULL on ENOMEM. */
const char *string_pool_add(struct string_pool *pool, const char *s);
const char *string_pool_add_len(struct string_pool *pool, const char *s, size_t len);
void string_pool_free(struct string_pool *pool);

#endif /* WAITPROF_SYMBOLIZE_CACHE_H */
