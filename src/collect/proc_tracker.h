/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Memory maps of traced processes, captured while they live. */
#ifndef WAITPROF_PROC_TRACKER_H
#define WAITPROF_PROC_TRACKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "recording.h"
#include "symbolize.h"

struct proc_tracker;

/* At most max_procs processes are tracked (a memory bound); the rest are
 * counted as dropped. */
struct proc_tracker *proc_tracker_new(size_t max_procs);
void proc_tracker_free(struct proc_tracker *t);
/* Called after each read that found a process's maps changed (or new);
 * maps->pid is the process, the maps are the tracker's (do not keep). */
typedef void (*proc_read_hook)(void *ctx, const struct proc_maps *maps);
void proc_tracker_set_hook(struct proc_tracker *t, proc_read_hook hook, void *ctx);
/* Follows code mappings as the kernel reports them (perf records, system
 * wide), so a process gone before its first read is still named. A
 * negative errno when perf events are not permitted: /proc reads only
 * (said once with -v). */
int proc_tracker_follow_mmaps(struct proc_tracker *t);
/* Reads a new process at once; with reread_soon, reads it again shortly
 * (after exec, ld.so is still mapping libraries). */
void proc_tracker_note(struct proc_tracker *t, int pid, bool reread_soon);
/* The same for a process forked from parent: if it exits before its first
 * read, it keeps its parent's maps, unless it exec'd. */
void proc_tracker_note_fork(struct proc_tracker *t, int pid, int parent, bool reread_soon);
/* The process exec'd: its maps are read again soon. */
void proc_tracker_exec(struct proc_tracker *t, int pid);
/* A stack of the process began in code its tables do not cover (BPF's
 * PROC_NOTIFY_UNMAPPED): its maps are read now. */
void proc_tracker_unmapped(struct proc_tracker *t, int pid);
/* Reads a tracked process now. */
void proc_tracker_read_now(struct proc_tracker *t, int pid);
/* Notes the user processes running now (a system-wide recording's start),
 * for at most budget_ns; returns how many. */
size_t proc_tracker_note_running(struct proc_tracker *t, uint64_t budget_ns);
/* Reads processes that are due (or all of them). */
void proc_tracker_refresh(struct proc_tracker *t, bool all);
/* Milliseconds until a process is due to be read again, at most max_ms. */
int proc_tracker_next_due_ms(const struct proc_tracker *t, int max_ms);
uint64_t proc_tracker_dropped(const struct proc_tracker *t);
/* Pids that came to name another process while recording. */
uint64_t proc_tracker_pid_reuses(const struct proc_tracker *t);

/* What reading processes cost: for the recording's counters. */
struct proc_tracker_stats {
	uint64_t reads;		/* /proc/PID/maps reads */
	uint64_t unchanged;	/* ... whose text had not changed: nothing more done */
	uint64_t bytes;		/* maps text read */
	uint64_t read_ns;	/* time spent reading and parsing */
	uint64_t inherited;	/* children named with their parent's maps */
	uint64_t unmapped_reads; /* reads asked for by PROC_NOTIFY_UNMAPPED */
	uint64_t file_lookups;	/* file mappings looked up by identity */
	uint64_t files_read;	/* ... whose build-id had to be read (new objects) */
};
void proc_tracker_get_stats(const struct proc_tracker *t, struct proc_tracker_stats *out);
/* Adds the tracker's figures (budget, reads, objects) to the counters. */
void proc_tracker_report(const struct proc_tracker *t, struct recording *rec);
/* Hands every captured process to the recording. */
/* A tracked process's maps (NULL: unknown pid or none read), name and
 * executable (may be NULL), still owned by the tracker: copy them. */
const struct proc_maps *proc_tracker_peek(struct proc_tracker *t, int pid, const char **comm,
				       const char **exe);
int proc_tracker_move_to(struct proc_tracker *t, struct recording *rec);

#endif
