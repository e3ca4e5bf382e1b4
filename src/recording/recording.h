/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The recording: everything needed to report again without re-recording.
 * In memory it is a set of flat arrays; on disk a header and typed,
 * checksummed sections (docs/RECORDING.md). Readers skip section types they
 * do not know, so new data (locks, events, ...) adds sections, not versions.
 */
#ifndef WAITPROF_RECORDING_H
#define WAITPROF_RECORDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>

#include "lock.h"
#include "offcpu.h"
#include "symbolize.h"

#define REC_MAGIC	"WAITPROF"
#define REC_VERSION	1

enum rec_section_type {
	REC_SEC_META = 1,	/* key/value strings */
	REC_SEC_STACKS,		/* raw stacks by id */
	REC_SEC_OFFCPU,		/* struct offcpu_key + offcpu_val records */
	REC_SEC_PROCESSES,	/* pid, comm, exe, memory maps with build-ids */
	REC_SEC_SYMBOLS,	/* (pid, address) -> frames, resolved at record time */
	REC_SEC_COUNTERS,	/* name -> value: drops and cache checks */
	REC_SEC_END,		/* present only in a complete recording */
	REC_SEC_LOCKS,		/* struct lock_key + lock_val records */
	REC_SEC_LOCK_HOLDERS,	/* struct lock_holder_key + lock_holder_val records */
	REC_SEC_LOCK_NAMES,	/* (pid, address) -> variable name, resolved at record time */
	REC_SEC_WAKERS,		/* struct offcpu_waker_key + offcpu_waker_val (--wakers) */
	REC_SEC_EVENTS = 32,	/* struct offcpu_event records (record --events) */
};

struct rec_meta {
	char *key;
	char *value;
};

struct rec_stack {
	__u64 id;
	__u32 flags;		/* enum stack_flags */
	__u32 nr;
	__u64 *ips;		/* innermost first */
};

struct rec_offcpu {
	struct offcpu_key key;
	struct offcpu_val val;
};

struct rec_process {
	int pid;
	char comm[TASK_COMM_LEN];
	char *exe;
	struct proc_maps *maps;	/* NULL when they could not be captured */
};

/* One symbolized frame; strings are owned by the recording. */
struct rec_frame {
	char *name;		/* NULL: unknown */
	char *file;
	char *module;
	__u64 offset;
	__u32 line;
	bool inlined;
};

struct rec_symbol {
	__u32 pid;		/* 0 for kernel addresses */
	__u64 addr;
	__u32 nr_frames;	/* innermost first */
	struct rec_frame *frames;
};

struct rec_counter {
	char *name;
	__u64 value;
};

struct rec_lock {
	struct lock_key key;
	struct lock_val val;
};

struct rec_lock_holder {
	struct lock_holder_key key;
	struct lock_holder_val val;
};

struct rec_waker {
	struct offcpu_waker_key key;
	struct offcpu_waker_val val;
};

/* The variable a lock address lies in (global or static), pid 0: kernel. */
struct rec_lock_name {
	__u32 pid;
	__u64 addr;
	__u64 offset;		/* addr - start of the variable */
	char *name;
};

struct rec_store;

struct recording {
	bool complete;		/* END section seen (or written) */
	struct rec_meta *meta;
	size_t nr_meta;
	struct rec_stack *stacks;	/* sorted by id after rec_finish() */
	size_t nr_stacks;
	struct rec_offcpu *offcpu;
	size_t nr_offcpu;
	struct rec_process *procs;	/* sorted by pid after rec_finish() */
	size_t nr_procs;
	struct rec_symbol *symbols;	/* sorted by (pid, addr) after rec_finish() */
	size_t nr_symbols;
	struct rec_counter *counters;
	size_t nr_counters;
	struct rec_lock *locks;
	size_t nr_locks;
	struct rec_lock_holder *lock_holders;
	size_t nr_lock_holders;
	struct rec_lock_name *lock_names;	/* sorted by (pid, addr) after rec_finish() */
	size_t nr_lock_names;
	struct rec_waker *wakers;
	size_t nr_wakers;
	struct offcpu_event *events;	/* record --events, in arrival order */
	size_t nr_events;
	size_t cap_events;
	struct rec_store *store;	/* a live recording's indexes (rec_store.h) */
};

struct recording *rec_new(void);
void rec_free(struct recording *rec);

int rec_set_meta(struct recording *rec, const char *key, const char *value);
const char *rec_get_meta(const struct recording *rec, const char *key);
int rec_add_stack(struct recording *rec, __u64 id, __u32 flags, __u32 nr, const __u64 *ips);
int rec_add_offcpu(struct recording *rec, const struct offcpu_key *key,
		   const struct offcpu_val *val);
/* Takes ownership of maps. */
int rec_add_process(struct recording *rec, int pid, const char *comm, const char *exe,
		    struct proc_maps *maps);
int rec_add_counter(struct recording *rec, const char *name, __u64 value);
__u64 rec_get_counter(const struct recording *rec, const char *name);
/* The recorder's cost per BPF program (collect/recorder_cost.c):
 * counters "bpf_run_count:PROG" and "bpf_run_ns:PROG". */
#define BPF_RUN_COUNT_PREFIX "bpf_run_count:"
#define BPF_RUN_NS_PREFIX "bpf_run_ns:"
/* Copies the frames. */
int rec_add_symbol(struct recording *rec, __u32 pid, __u64 addr,
		   const struct sym_result *res);
int rec_add_lock(struct recording *rec, const struct lock_key *key, const struct lock_val *val);
int rec_add_lock_holder(struct recording *rec, const struct lock_holder_key *key,
			const struct lock_holder_val *val);
int rec_add_lock_name(struct recording *rec, __u32 pid, __u64 addr, const char *name,
		      __u64 offset);
int rec_add_waker(struct recording *rec, const struct offcpu_waker_key *key,
		  const struct offcpu_waker_val *val);
const struct rec_lock_name *rec_find_lock_name(const struct recording *rec, __u32 pid,
					       __u64 addr);
int rec_add_event(struct recording *rec, const struct offcpu_event *ev);
/* Sorts the arrays for the lookups below. */
void rec_finish(struct recording *rec);

const struct rec_stack *rec_find_stack(const struct recording *rec, __u64 id);
const struct rec_process *rec_find_process(const struct recording *rec, int pid);
const struct rec_symbol *rec_find_symbol(const struct recording *rec, __u32 pid, __u64 addr);

/* Writes atomically (a temporary file renamed into place). On error returns
 * a negative errno and leaves no partial file under path. */
int rec_write(const struct recording *rec, const char *path);
/* Reads a recording; on failure returns NULL and writes a one-line reason
 * into err. A file without an END section is read (complete = false). */
struct recording *rec_read(const char *path, char *err, size_t err_len);
struct recording *rec_read_mem(const void *data, size_t len, char *err, size_t err_len);
/* 1 when path starts with the recording magic, 0 when it does not (a CSV,
 * folded text), -errno when it cannot be read. */
int rec_file_is_recording(const char *path);

#endif /* WAITPROF_RECORDING_H */
