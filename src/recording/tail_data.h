/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What `waitprof tail`'s collector hands on to its analysis: every call of
 * every target as the BPF side recorded it (bpf/tail.h), and a recording
 * in memory that names the wait sites (stacks, process maps, lock names;
 * the record command's symbolization, reused as it is).
 */
#ifndef WAITPROF_TAIL_DATA_H
#define WAITPROF_TAIL_DATA_H

#include <stddef.h>
#include <linux/types.h>

#include "tail.h"

struct recording;

struct tail_data {
	char **targets;			/* labels, by target number */
	size_t nr_targets;
	struct tail_record *calls;	/* in arrival order */
	size_t nr_calls;
	__u64 counters[TCNT_NR];
	__u64 duration_ns;
	/* Stacks, processes and lock names of the wait sites: each site is
	 * an off-CPU entry (tgid, stacks), each futex a lock entry. */
	struct recording *rec;
};

/* "ring_buffer_full", ...: the name of counter id (TCNT_*), "?" when out
 * of range. */
const char *tail_counter_name(unsigned int id);

#endif
