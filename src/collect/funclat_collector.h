/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The user side of bpf/funclat.bpf.c: load, attach probes, read back. */
#ifndef WAITPROF_FUNCLAT_COLLECTOR_H
#define WAITPROF_FUNCLAT_COLLECTOR_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>

#include "funclat.h"
#include "target.h"

struct funclat_opts {
	/* Syscall targets: only its processes (filter_pids) and their
	 * children (follow_forks); every target: calls under min_ns left out. */
	const struct target *target;
	bool syscalls;		/* load the sys_enter/sys_exit programs */
	bool no_stacks;		/* no user stack at entry (cheaper) */
	bool no_session;	/* separate uprobe and uretprobe even where
				 * uprobe sessions exist */
	uint32_t sample_every;	/* 1 in N calls per thread; 0 or 1: all */
	uint32_t stack_entries;	/* stacks map capacity */
	uint32_t stack_hist_entries;
	bool unwind_fp;		/* frame pointers only, no CFI tables */
	uint32_t unwind_rows;	/* CFI row budget (cfi_rows capacity) */
};

struct funclat_collector;

/* A process whose maps to read (bpf/proc_notify.h, as record gets them). */
typedef void (*funclat_notify_fn)(void *ctx, const struct proc_notify *n);

/* Opens, configures and loads; nothing is attached yet. Returns 0 or a
 * negative errno after one line on stderr. */
int funclat_open(struct funclat_collector **out, const struct funclat_opts *opts,
		 funclat_notify_fn on_notify, void *ctx);
/* True when uprobes are attached as sessions (kernel 6.13+): a call whose
 * entry is not sampled then takes no return trap. */
bool funclat_uses_session(const struct funclat_collector *c);
/* True when user stacks are walked with CFI tables (else frame pointers). */
bool funclat_unwinds_cfi(const struct funclat_collector *c);
/* A map of the loaded object, for the unwind table loader. */
struct bpf_map *funclat_map(const struct funclat_collector *c, const char *name);
/* Entry and return probes on path at file offset for target (pid -1: every
 * process). */
int funclat_attach_uprobe(struct funclat_collector *c, __u32 target, int pid,
			  const char *path, uint64_t offset);
/* A syscall target; the tracepoints are attached by funclat_attach_syscalls. */
int funclat_add_syscall(struct funclat_collector *c, __u32 target, int nr);
int funclat_attach_syscalls(struct funclat_collector *c);
int funclat_trace_tgid(struct funclat_collector *c, int tgid);

/*
 * Times an in-process dummy function n times unprobed, then with the entry
 * and return probes on it: *per_call_ns is the time a probed call adds.
 */
int funclat_measure_cost(struct funclat_collector *c, unsigned int n, double *per_call_ns);
/* What the probes measured for that empty function: the part of the probe
 * overhead that falls inside every measured call. -1 when not measured. */
double funclat_empty_call_ns(struct funclat_collector *c);

void funclat_set_sample(struct funclat_collector *c, uint32_t every);
uint32_t funclat_sample(const struct funclat_collector *c);
int funclat_poll(struct funclat_collector *c, int timeout_ms);
/* Detaches every probe; the maps stay readable. */
void funclat_detach(struct funclat_collector *c);

/* Entries seen by target (sampled or not); the sum over targets when
 * target is FUNCLAT_MAX_TARGETS. */
uint64_t funclat_entries(struct funclat_collector *c, __u32 target);
int funclat_read_hist(struct funclat_collector *c, __u32 target, __u64 counts[HIST_NR_BUCKETS],
		      __u64 sums[HIST_NR_BUCKETS], __u64 *max_ns);
/* Walks the (target, process, stack, bucket) histogram. */
typedef int (*funclat_stack_fn)(void *ctx, const struct funclat_stack_key *key,
				const struct funclat_stack_val *val);
int funclat_for_each_stack(struct funclat_collector *c, funclat_stack_fn fn, void *ctx);
int funclat_read_stack(struct funclat_collector *c, __u64 id, struct stack_trace *st);
void funclat_read_counters(struct funclat_collector *c, __u64 out[FCNT_NR]);
struct recording;
/* Adds the unwinder's counters (unwind_cfi_walks, ...) to rec, by name. */
int funclat_drain_unwind_counters(struct funclat_collector *c, struct recording *rec);
void funclat_destroy(struct funclat_collector *c);

#endif
