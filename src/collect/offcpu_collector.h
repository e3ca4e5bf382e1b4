/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The user side of bpf/offcpu.bpf.c: load, attach, drain into a recording. */
#ifndef WAITPROF_OFFCPU_COLLECTOR_H
#define WAITPROF_OFFCPU_COLLECTOR_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>

#include "offcpu.h"
#include "recording.h"
#include "target.h"
#include "util.h"

/* 80 bytes an event: 20 million is 1.6 GB of recorder memory. Past it
 * events are counted (events_dropped_limit), not kept. */
#define OFFCPU_EVENTS_MAX (20ull * 1000 * 1000)

struct offcpu_opts {
	const struct target *target;	/* every filter, all applied in BPF */
	uint32_t hist_entries;	/* offcpu_hist capacity */
	uint32_t stack_entries;	/* stacks capacity */
	uint32_t verify_every;	/* stack cache check period, 0 = never */
	bool no_stack_cache;
	bool no_hist_cache;	/* every interval straight into offcpu_hist (agent windows) */
	bool force_raw_tp;	/* test the fallback path on kernels with tp_btf */
	bool unwind_fp;		/* frame pointers only, no CFI tables */
	uint32_t unwind_rows;	/* CFI row budget (cfi_rows capacity) */
	bool emit_events;	/* --events: every interval through a ring buffer */
	bool capture_wakers;	/* --wakers: waker stacks for off-wake chains */
	bool lock_owners;	/* locks traced too: time lock owners' intervals (lock_owners.bpf.h) */
	uint32_t events_buffer;	/* its size in bytes (power of 2, >= page) */
	uint64_t events_max;	/* events kept in memory, 0: OFFCPU_EVENTS_MAX */
};

struct offcpu_collector;

typedef void (*proc_notify_fn)(void *ctx, const struct proc_notify *n);

/* Opens, configures, loads and attaches. Returns 0 or a negative errno after
 * printing one line that says what to do. */
int offcpu_start(struct offcpu_collector **out, const struct offcpu_opts *opts,
		 proc_notify_fn on_proc, void *ctx);
/* offcpu_start in two steps, so maps can be filled before the first event
 * (unwind tables of the processes named with -p). */
int offcpu_load(struct offcpu_collector **out, const struct offcpu_opts *opts,
		proc_notify_fn on_proc, void *ctx);
int offcpu_attach(struct offcpu_collector *c);
/* A map of the loaded object, for the loaders that fill it. */
struct bpf_map *offcpu_map(const struct offcpu_collector *c, const char *name);
/* True when user stacks are walked with CFI tables (else frame pointers). */
bool offcpu_unwinds_cfi(const struct offcpu_collector *c);
/* "tp_btf" or "raw_tp". */
const char *offcpu_attach_mode(const struct offcpu_collector *c);
/* Adds a process to the filter (for -- COMMAND, before it execs). */
int offcpu_trace_tgid(struct offcpu_collector *c, int tgid);
/* With emit_events: where polled events go (rec_add_event). */
void offcpu_set_event_sink(struct offcpu_collector *c, struct recording *rec);
/* Delivers process notifications (and events); returns <0 on error. */
int offcpu_poll(struct offcpu_collector *c, int timeout_ms);
/*
 * While recording: moves the histogram and the stacks into rec when the
 * kernel's maps fill or have not been drained for a while, so that they
 * never fill (bpf/drain.h). Returns 0 or a negative errno.
 */
int offcpu_collect(struct offcpu_collector *c, struct recording *rec);
/* The next offcpu_collect drains whatever the maps hold (a window ends). */
void offcpu_collect_due_now(struct offcpu_collector *c);
/* Detaches the programs; the maps stay readable. */
void offcpu_detach(struct offcpu_collector *c);
/* Copies histogram entries, the stacks they use and counters into rec. */
int offcpu_drain(struct offcpu_collector *c, struct recording *rec);
/* Adds the counters as they are now (off-CPU and unwinder) to rec. */
int offcpu_peek_counters(struct offcpu_collector *c, struct recording *rec);
/* The loaded BPF object (its programs' run statistics). */
struct bpf_object *offcpu_object(const struct offcpu_collector *c);
void offcpu_destroy(struct offcpu_collector *c);

struct id_set;
/* Copies stack id from the shared stacks map into rec unless it is there
 * already; every collector's drain uses it. */
int collector_copy_stack(int stacks_fd, __u64 id, struct recording *rec, struct id_set *seen);
/* Where drained map entries go: the recording, and the stacks map their
 * stack ids are copied from (each id once). */
struct collector_sink {
	struct recording *rec;
	int stacks_fd;
	struct id_set seen;
};
/* Sums a per-CPU array map of nr counters into rec, named by name_of. */
int collector_drain_counters(int fd, __u32 nr, struct recording *rec,
			     const char *(*name_of)(__u32 id, char *buf, size_t len));

#endif
