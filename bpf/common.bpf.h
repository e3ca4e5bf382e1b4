/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What every waitprof BPF object has alike: the knobs of the process filter
 * and of -m (set by user space with BPF_COMMON_RODATA, bpf_env.h), the map
 * of traced processes, and a per-CPU counter array with counter_add(). The
 * includer defines NR_COUNTERS, its counter enum's _NR, first.
 */
#ifndef WAITPROF_COMMON_BPF_H
#define WAITPROF_COMMON_BPF_H

#include "maps.bpf.h"
#include "stacks.bpf.h"

#ifndef NR_COUNTERS
#error "define NR_COUNTERS (the object's counter enum's _NR) before including common.bpf.h"
#endif

/* Knobs, set through the skeleton's rodata before load. */
const volatile __u32 self_tgid = 0;		/* never trace the recorder */
const volatile bool filter_tgid = false;	/* only processes in traced_tgids (-p, -- COMMAND) */
const volatile __u64 min_duration_ns = 0;	/* -m: shorter waits, intervals, calls are dropped */
const volatile __u64 max_duration_ns = ~0ULL;	/* -M: longer ones are dropped */

/* -m and -M: whether a wait, interval or call of delta ns is kept. */
static __always_inline bool duration_kept(__u64 delta)
{
	return delta >= min_duration_ns && delta <= max_duration_ns;
}

/* The lock object shares the offcpu object's (bpf_map__reuse_fd), so -p
 * means one thing. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} traced_tgids SEC(".maps");

/* What the object counts (drops above all), read by user space. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NR_COUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

static __always_inline void counter_add(__u32 id, __u64 n)
{
	percpu_counter_add(&counters, id, n);
}

/* Whether tgid's events are recorded: never the recorder's, and with -p
 * only those of traced processes. */
static __always_inline bool tgid_traced(__u32 tgid)
{
	if (tgid == self_tgid)
		return false;
	return !filter_tgid || bpf_map_lookup_elem(&traced_tgids, &tgid);
}

#endif /* WAITPROF_COMMON_BPF_H */
