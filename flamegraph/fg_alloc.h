/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Small helpers every flamegraph/ file uses: growing arrays, saturating
 * sums (counts near 2^64 cap instead of wrapping). Internal. */
#ifndef WAITPROF_FG_ALLOC_H
#define WAITPROF_FG_ALLOC_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

/* Makes room for need elements of elem bytes, doubling; 0 or -ENOMEM. */
static inline int fg_grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t new_cap = *cap ? *cap : 16;
	void *p;

	if (need <= *cap)
		return 0;
	while (new_cap < need)
		new_cap *= 2;
	p = realloc(*arr, new_cap * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = new_cap;
	return 0;
}

static inline uint64_t fg_add_sat(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

#endif
