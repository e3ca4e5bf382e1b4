/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The processes funclat takes stacks in: their maps, read while they live
 * (for symbols), and their CFI unwind tables, loaded into the funclat
 * object's maps and reloaded after exec and as they map new objects. The
 * scheduling is record's proc_tracker, the loading its unwind_loader.
 */
#ifndef WAITPROF_FUNCLAT_PROCS_H
#define WAITPROF_FUNCLAT_PROCS_H

#include <stdbool.h>

#include "funclat_collector.h"
#include "funclat_stacks.h"

struct funclat_procs;
struct recording;

/* Tables are loaded only when c walks stacks with CFI. NULL when out of
 * memory. */
struct funclat_procs *funclat_procs_new(struct funclat_collector *c, struct funclat_stacks *stacks);
void funclat_procs_free(struct funclat_procs *p);
/* A process to read now if new; with reread, again shortly (exec, fork, a
 * new mapping: ld.so and dlopen keep mapping objects for a while). */
void funclat_procs_note(struct funclat_procs *p, int tgid, bool reread);
/* Milliseconds until a process is due to be read again, at most max_ms. */
int funclat_procs_next_due_ms(const struct funclat_procs *p, int max_ms);
/* Reads the processes that are due. */
void funclat_procs_refresh(struct funclat_procs *p);
/* The unwinder's counters, from BPF and from the loader, by name. */
int funclat_procs_report(struct funclat_procs *p, struct funclat_collector *c,
			 struct recording *rec);

#endif
