/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Map helpers shared by every waitprof BPF program. */
#ifndef WAITPROF_MAPS_BPF_H
#define WAITPROF_MAPS_BPF_H

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

#endif /* WAITPROF_MAPS_BPF_H */
