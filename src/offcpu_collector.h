/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The user side of bpf/offcpu.bpf.c: load, attach, drain into a recording. */
#ifndef WAITPROF_OFFCPU_COLLECTOR_H
#define WAITPROF_OFFCPU_COLLECTOR_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>

#include "offcpu.h"
#include "recording.h"

#define OFFCPU_MAX_FILTER_IDS 1024
/* 80 bytes an event: 20 million is 1.6 GB of recorder memory. Past it
 * events are counted (events_dropped_limit), not kept. */
#define OFFCPU_EVENTS_MAX (20ull * 1000 * 1000)

struct offcpu_opts {
	const int *pids;	/* -p, or the command's pid */
	int nr_pids;
	const int *tids;	/* -t */
	int nr_tids;
	bool filter_pids;	/* trace only pids (true for -p and -- COMMAND) */
	bool follow_forks;	/* add new child processes of traced ones */
	bool user_only;
	bool kernel_only;
	uint8_t state_mask;
	uint64_t min_ns;
	uint64_t max_ns;
	uint32_t hist_entries;	/* offcpu_hist capacity */
	uint32_t stack_entries;	/* stacks capacity */
	uint32_t verify_every;	/* stack cache check period, 0 = never */
	bool no_stack_cache;
	bool force_raw_tp;	/* test the fallback path on kernels with tp_btf */
	bool unwind_fp;		/* frame pointers only, no CFI tables */
	uint32_t unwind_rows;	/* CFI row budget (cfi_rows capacity) */
	bool emit_events;	/* --events: every interval through a ring buffer */
	bool capture_wakers;	/* --wakers: waker stacks for off-wake chains */
	uint32_t events_buffer;	/* its size in bytes (power of 2, >= page) */
	uint64_t events_max;	/* events kept in memory, 0: OFFCPU_EVENTS_MAX */
};

struct offcpu_collector;

typedef void (*proc_notify_fn)(void *ctx, const struct proc_notify *n);

/* Opens, configures, loads and attaches. Returns 0 or a negative errno after
 * printing one line that says what to do. */
int offcpu_start(struct offcpu_collector **out, const struct offcpu_opts *opts,
		 proc_notify_fn on_proc, void *ctx);
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
/* Detaches the programs; the maps stay readable. */
void offcpu_detach(struct offcpu_collector *c);
/* Copies histogram entries, the stacks they use and counters into rec. */
int offcpu_drain(struct offcpu_collector *c, struct recording *rec);
void offcpu_destroy(struct offcpu_collector *c);

struct id_set;
/* Copies stack id from the shared stacks map into rec unless it is there
 * already; every collector's drain uses it. */
int collector_copy_stack(int stacks_fd, __u64 id, struct recording *rec, struct id_set *seen);
/* Sums a per-CPU array map of nr counters into rec, named by name_of. */
int collector_drain_counters(int fd, __u32 nr, struct recording *rec,
			     const char *(*name_of)(__u32 id, char *buf, size_t len));

#endif
