/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The user side of bpf/tail.bpf.c: load, attach the span probes, drain the
 * calls, and name their wait sites into a recording in memory. */
#ifndef WAITPROF_TAIL_COLLECTOR_H
#define WAITPROF_TAIL_COLLECTOR_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>

#include "tail_data.h"
#include "target.h"

struct tail_opts {
	const struct target *target;	/* -p or the command */
	bool force_raw_tp;		/* raw_tp/sched_switch even with tp_btf */
	bool unwind_fp;			/* frame pointers only, no CFI tables */
};

struct tail_collector;

/* Opens, configures, loads and attaches sched_switch; no uprobe yet.
 * Returns 0 or a negative errno after one line on stderr. */
int tail_open(struct tail_collector **out, const struct tail_opts *o);
/* Entry and return probes on path at file offset for target (pid -1:
 * every process). */
int tail_attach_uprobe(struct tail_collector *c, __u32 target, int pid, const char *path,
		       uint64_t offset);
int tail_trace_tgid(struct tail_collector *c, int tgid);
/* Drains calls and process notifications, waiting up to timeout_ms. */
int tail_poll(struct tail_collector *c, int timeout_ms);
/* A process to read now if new (its maps, its unwind tables); with
 * reread, again shortly (exec, a new mapping). */
void tail_note_process(struct tail_collector *c, int tgid, bool reread);
/* Reads the processes that are due; the milliseconds until the next one. */
void tail_refresh(struct tail_collector *c);
int tail_next_due_ms(const struct tail_collector *c, int max_ms);
bool tail_btf_mode(const struct tail_collector *c);
/* True when user stacks are walked with CFI tables (else frame pointers). */
bool tail_unwinds_cfi(const struct tail_collector *c);
/* Detaches the probes, drains what is left, and moves the calls, the
 * counters and the named wait sites into d (d->targets is the caller's). */
int tail_finish(struct tail_collector *c, struct tail_data *d);
void tail_destroy(struct tail_collector *c);

#endif
