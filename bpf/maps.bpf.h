/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Map helpers shared by every waitprof BPF program. */
#ifndef WAITPROF_MAPS_BPF_H
#define WAITPROF_MAPS_BPF_H

#include "drain.h"

#define EEXIST_ERR	17

/*
 * The value for key, inserted as zero first when absent. NULL only when the
 * map is full (the caller counts the drop); another CPU inserting the same
 * key at the same time (EEXIST) is success.
 */
static __always_inline void *map_lookup_or_init(void *map, const void *key, const void *zero)
{
	void *val = bpf_map_lookup_elem(map, key);
	long err;

	if (val)
		return val;
	err = bpf_map_update_elem(map, key, zero, BPF_NOEXIST);
	if (err && err != -EEXIST_ERR)
		return NULL;
	return bpf_map_lookup_elem(map, key);
}

/*
 * map_lookup_or_init for a double-buffered map (drain.h): also counts the
 * keys this call inserted, which is how user space knows when to drain.
 */
static __always_inline void *map_lookup_or_insert(void *map, const void *key, const void *zero,
						  __u64 *inserted)
{
	void *val = bpf_map_lookup_elem(map, key);
	long err;

	if (val)
		return val;
	err = bpf_map_update_elem(map, key, zero, BPF_NOEXIST);
	if (!err)
		__sync_fetch_and_add(inserted, 1);
	else if (err != -EEXIST_ERR)
		return NULL;
	return bpf_map_lookup_elem(map, key);
}

/* The buffer the programs write into now: user space flips it. */
#define SWAP_ACTIVE(swap)	(*(volatile __u32 *)&(swap).gen & 1)

/* map_lookup_or_insert into whichever of a double-buffered pair (map and
 * map_b, drain.h) swap says is being written. */
static __always_inline void *swap_lookup_or_insert(struct map_swap *swap, void *map, void *map_b,
						   const void *key, const void *zero)
{
	if (SWAP_ACTIVE(*swap))
		return map_lookup_or_insert(map_b, key, zero, &swap->inserted[1]);
	return map_lookup_or_insert(map, key, zero, &swap->inserted[0]);
}

/* Adds n to counter id of a per-CPU array of counters: each CPU has its
 * own, so no atomics. */
static __always_inline void percpu_counter_add(void *map, __u32 id, __u64 n)
{
	__u64 *cnt = bpf_map_lookup_elem(map, &id);

	if (cnt)
		*cnt += n;
}

#endif /* WAITPROF_MAPS_BPF_H */
