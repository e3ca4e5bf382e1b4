// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Double-buffer flips and batch drains of BPF hash maps (map_drain.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>

#include "map_drain.h"
#include "util.h"

#define TAKE_BATCH	4096	/* entries a batch call moves */
#define ENOTSUPP_ERRNO	524	/* the kernel's ENOTSUPP, which reaches user space */

bool map_swap_due(const struct map_swap *swap, __u32 capacity, uint64_t last_ns, uint64_t now)
{
	__u64 inserted = ((volatile struct map_swap *)swap)->inserted[swap->gen & 1];

	if (inserted >= capacity / DRAIN_FILL_DIV)
		return true;
	return inserted && now - last_ns >= DRAIN_PERIOD_NS;
}

/*
 * Every BPF program runs inside an RCU read-side section, so once a grace
 * period has passed none still holds a value pointer into the old buffer.
 * membarrier(MEMBARRIER_CMD_GLOBAL) is synchronize_rcu() (a few ms here).
 * Where it is refused (nohz_full kernels), programs run for microseconds:
 * 50 ms is a thousand times that.
 */
static void wait_for_programs(void)
{
	struct timespec ts = { .tv_nsec = 50 * 1000 * 1000 };

	if (syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) == 0)
		return;
	nanosleep(&ts, NULL);
}

__u32 map_swap_flip(struct map_swap *swap)
{
	volatile struct map_swap *s = swap;
	__u32 old = s->gen & 1;

	__atomic_store_n(&swap->gen, s->gen + 1, __ATOMIC_SEQ_CST);
	wait_for_programs();
	return old;
}

void map_swap_drained(struct map_swap *swap, __u32 buf)
{
	__atomic_store_n(&swap->inserted[buf & 1], 0, __ATOMIC_SEQ_CST);
}

/* Without batch operations (before 5.6): the keys first, then each entry. */
static int take_one_by_one(int fd, size_t key_size, size_t val_size, map_entry_fn fn,
			   void *ctx, __u64 *moved)
{
	char *key = malloc(key_size), *next = malloc(key_size), *val = malloc(val_size);
	void *prev = NULL;
	int err = 0;

	if (!key || !next || !val) {
		err = -ENOMEM;
		goto out;
	}
	while (!err && !bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, key_size);
		prev = key;
		if (bpf_map_lookup_and_delete_elem(fd, key, val) &&
		    (bpf_map_lookup_elem(fd, key, val) || bpf_map_delete_elem(fd, key)))
			continue;
		/* Deleted: the next key from a deleted one restarts the walk. */
		prev = NULL;
		err = fn(ctx, key, val);
		(*moved)++;
	}
out:
	free(key);
	free(next);
	free(val);
	return err;
}

/* Room for n entries; the buffers' old contents are not kept. */
static int batch_room(char **keys, char **vals, size_t key_size, size_t val_size, __u32 n)
{
	free(*keys);
	free(*vals);
	*keys = malloc((size_t)n * key_size);
	*vals = malloc((size_t)n * val_size);
	return *keys && *vals ? 0 : -ENOMEM;
}

static bool batch_unsupported(int e)
{
	return e == EINVAL || e == ENOTSUP || e == EOPNOTSUPP || e == ENOTSUPP_ERRNO;
}

int map_take_all(int fd, size_t key_size, size_t val_size, map_entry_fn fn, void *ctx,
		 __u64 *moved)
{
	__u32 count, i, cap = TAKE_BATCH;
	char *keys = NULL, *vals = NULL;
	__u64 in = 0, out = 0;
	bool first = true, done = false;
	int ret, err;

	err = batch_room(&keys, &vals, key_size, val_size, cap);
	while (!done && !err) {
		count = cap;
		ret = bpf_map_lookup_and_delete_batch(fd, first ? NULL : &in, &out, keys, vals,
						      &count, NULL);
		if (ret && errno == ENOSPC && cap < (1u << 20)) {
			/* One hash bucket holds more than cap entries. */
			cap *= 2;
			err = batch_room(&keys, &vals, key_size, val_size, cap);
			continue;
		}
		if (ret && errno == ENOENT) {
			done = true;
		} else if (ret && first && batch_unsupported(errno)) {
			err = take_one_by_one(fd, key_size, val_size, fn, ctx, moved);
			break;
		} else if (ret) {
			err = -errno;
			break;
		}
		for (i = 0; i < count && !err; i++)
			err = fn(ctx, keys + (size_t)i * key_size, vals + (size_t)i * val_size);
		*moved += count;
		in = out;
		first = false;
	}
	free(keys);
	free(vals);
	return err;
}
