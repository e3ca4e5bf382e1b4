/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The callers of a target's slow calls: process maps captured while the
 * processes live, and stacks picked above the antimode and symbolized. */
#ifndef WAITPROF_FUNCLAT_STACKS_H
#define WAITPROF_FUNCLAT_STACKS_H

#include <stdbool.h>
#include <linux/types.h>

#include "funclat_collector.h"
#include "funclat_data.h"

struct funclat_stacks;

struct funclat_stacks *funclat_stacks_new(void);
void funclat_stacks_free(struct funclat_stacks *s);
/* (Re)reads a process's maps; the last good copy is kept once it is gone. */
void funclat_stacks_note_process(struct funclat_stacks *s, int tgid);
/* The stacks at entry of the calls slower than above_ns (0: all calls),
 * most total time first, at most FUNCLAT_SLOW_STACKS_MAX. */
int funclat_stacks_slow(struct funclat_stacks *s, struct funclat_collector *c, __u32 target,
			const char *func, bool is_syscall, double above_ns,
			struct funclat_slow_stack **out, size_t *nr_out);

#endif
