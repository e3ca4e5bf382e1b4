/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * funclat TARGET arguments to probes: LIB:FUNC (c, libc, libpq, ...),
 * PATH:FUNC, globs over function names, syscall:NAME; kernel functions are
 * refused with the tracepoint or syscall that serves instead.
 */
#ifndef WAITPROF_FUNCLAT_TARGETS_H
#define WAITPROF_FUNCLAT_TARGETS_H

#include <stddef.h>
#include <stdint.h>

/* A glob may expand to at most this many functions: each costs two probes. */
#define FUNCLAT_MAX_GLOB 64

struct funclat_target {
	char *label;		/* "c:write", "./app:journal_append", "syscall:read" */
	char *func;		/* function or syscall name */
	int syscall_nr;		/* -1 for a function */
};

/* One function of one process (pid -1: every process) to probe. */
struct funclat_probe {
	uint32_t target;
	int pid;
	char *path;
	uint64_t offset;
};

struct funclat_plan {
	struct funclat_target *targets;
	size_t nr_targets;
	struct funclat_probe *probes;
	size_t nr_probes;
	int nr_syscalls;	/* targets with syscall_nr >= 0 */
};

/*
 * Resolves every spec for the given processes (nr_pids 0: system-wide).
 * Libraries are found in each process's maps, then through ldconfig.
 * Returns 0, or a negative errno after one line on stderr.
 */
int funclat_plan_build(struct funclat_plan *plan, char *const *specs, int nr_specs,
		       const int *pids, int nr_pids);
void funclat_plan_free(struct funclat_plan *plan);

/* The x86-64 number of a syscall, -1 when unknown. */
int funclat_syscall_nr(const char *name);

#endif
