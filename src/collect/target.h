/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What is traced, one struct for every collector (perf's struct target):
 * which threads (-p, -t, -u, -k, the command and its children) and which
 * waits (-m, -M, --state). record fills it once and hands the same struct
 * to the off-CPU and lock collectors, funclat to its own, so a filter
 * means one thing everywhere; a collector whose BPF program lacks a filter
 * says so instead of dropping it silently.
 */
#ifndef WAITPROF_TARGET_H
#define WAITPROF_TARGET_H

#include <stdbool.h>
#include <stdint.h>

/* The BPF programs' traced_tgids and traced_tids maps hold 1024. */
#define TARGET_MAX_IDS 1024

struct target {
	int pids[TARGET_MAX_IDS];	/* -p, or the command's pid */
	int nr_pids;
	int tids[TARGET_MAX_IDS];	/* -t */
	int nr_tids;
	bool filter_pids;	/* only pids (-p, -- COMMAND) ... */
	bool follow_forks;	/* ... and the processes they start */
	bool user_only;		/* -u */
	bool kernel_only;	/* -k */
	uint8_t state_mask;	/* --state (OFFCPU_* bits); 0: all */
	uint64_t min_ns;	/* -m: shorter waits are left out */
	uint64_t max_ns;	/* -M: longer waits are left out; 0: no maximum */
};

/* Traces only pid (the command started for the session) from now on. */
void target_set_command(struct target *t, int pid);
/* 0, or -ESRCH after saying which -p process or -t thread does not exist. */
int target_check_exist(const struct target *t);

#endif
