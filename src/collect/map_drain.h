/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Moving BPF hash maps into user space while the programs run (bpf/drain.h). */
#ifndef WAITPROF_MAP_DRAIN_H
#define WAITPROF_MAP_DRAIN_H

#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>

#include "drain.h"

/* Drain a buffer once the programs inserted this fraction of its capacity
 * (1/DRAIN_FILL_DIV), and a non-empty one at least every DRAIN_PERIOD_NS. */
#define DRAIN_FILL_DIV		4
#define DRAIN_PERIOD_NS		(5ull * 1000 * 1000 * 1000)

/* Whether the active buffer of swap should be drained now. */
bool map_swap_due(const struct map_swap *swap, __u32 capacity, uint64_t last_ns, uint64_t now);
/*
 * Points the programs at the other buffer and waits until none can still
 * write into the one they used, which it returns (0 or 1) for draining.
 */
__u32 map_swap_flip(struct map_swap *swap);
/* The buffer drained is empty again: its insert count restarts. */
void map_swap_drained(struct map_swap *swap, __u32 buf);

typedef int (*map_entry_fn)(void *ctx, const void *key, const void *val);
/*
 * Hands every entry of the hash map fd to fn and deletes it; *moved counts
 * them. On a map the programs still insert into (the stacks), an entry is
 * read and deleted under its bucket's lock, so none is lost between.
 */
int map_take_all(int fd, size_t key_size, size_t val_size, map_entry_fn fn, void *ctx,
		 __u64 *moved);

#endif
