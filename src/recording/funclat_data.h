/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What funclat's collector hands on to its analysis and its report, as the
 * recording file does for record: the callers of slow calls as symbolized
 * stacks, and the names of the BPF side's counters.
 */
#ifndef WAITPROF_FUNCLAT_DATA_H
#define WAITPROF_FUNCLAT_DATA_H

#include <stddef.h>
#include <linux/types.h>

#include "funclat.h"

#define FUNCLAT_SLOW_STACKS_MAX 10

struct funclat_slow_stack {
	int pid;
	__u64 count;
	__u64 total_ns;
	size_t nr_frames;
	char **frames;		/* innermost first; the function itself first */
};

/* "dropped_stack_map_full", ...: the name of counter id (FCNT_*), "?" when
 * out of range. */
const char *funclat_counter_name(unsigned int id);

#endif
