/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The user side of bpf/lock.bpf.c: load (sharing the offcpu object's stacks
 * and process filter), attach, sample the uprobes, drain into a recording. */
#ifndef WAITPROF_LOCK_COLLECTOR_H
#define WAITPROF_LOCK_COLLECTOR_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>

#include "lock.h"
#include "recording.h"
#include "target.h"

#define LOCK_UPROBE_MAX_PIDS 16

struct lock_opts {
	/* The filters off-CPU time has: its processes (the shared
	 * traced_tgids map) and -m apply; the uprobes go into the libc of its
	 * pids (none: the system's libc, system-wide). */
	const struct target *target;
	bool no_kernel_locks;	/* skip lock:contention_begin/end */
	bool uprobes;		/* --uprobes */
	uint32_t sample_on_ms;	/* uprobes attached ON ms of every PERIOD ms */
	uint32_t sample_period_ms;	/* 0: attached throughout */
	uint32_t hist_entries;	/* lock_hist capacity */
	uint32_t verify_every;	/* re-walk every Nth stack cache hit (0: never) */
	bool no_stack_cache;	/* walk every user stack */
	bool force_raw_tp;
};

struct lock_collector;

struct offcpu_collector;

/* Opens, loads and attaches; shares the stack map, the process filter and
 * the unwinder's maps of the (started) offcpu collector. Returns 0 or a
 * negative errno after printing one line that says what to do. */
int lock_start(struct lock_collector **out, const struct lock_opts *opts,
	       const struct offcpu_collector *shared);
/* "futex" plus ", kernel (tp_btf)" etc.: what is attached. */
const char *lock_sources(const struct lock_collector *c);
/* Opens and closes the uprobe sampling window; call every ~100 ms. */
void lock_tick(struct lock_collector *c);
/* How long the record loop may sleep between lock_tick() calls: dflt, or
 * shorter while sampling windows must open and close on time. */
int lock_poll_ms(const struct lock_collector *c, int dflt);
/* Share of the recording the uprobes were attached (1.0 when not sampled). */
double lock_uprobe_duty(const struct lock_collector *c);
void lock_detach(struct lock_collector *c);
/* While recording: moves the lock histograms into rec before the kernel's
 * maps fill (bpf/drain.h); c may be NULL. */
int lock_collect(struct lock_collector *c, struct recording *rec);
/* The next lock_collect drains whatever the maps hold (a window ends). */
void lock_collect_due_now(struct lock_collector *c);
/* Copies histogram entries, holders, the stacks they use and the counters
 * into rec. */
int lock_drain(struct lock_collector *c, struct recording *rec);
/* Adds the lock counters as they are now to rec. */
int lock_peek_counters(struct lock_collector *c, struct recording *rec);
/* The loaded BPF object (its programs' run statistics). */
struct bpf_object *lock_object(const struct lock_collector *c);
void lock_destroy(struct lock_collector *c);

#endif
