/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Memory maps of traced processes, captured while they live. */
#ifndef WAITPROF_PROC_TRACKER_H
#define WAITPROF_PROC_TRACKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "recording.h"

struct proc_tracker;

/* At most max_procs processes are tracked (a memory bound); the rest are
 * counted as dropped. */
struct proc_tracker *proc_tracker_new(size_t max_procs);
void proc_tracker_free(struct proc_tracker *t);
/* Called after each successful read of a process's maps. */
typedef void (*proc_read_hook)(void *ctx, int pid);
void proc_tracker_set_hook(struct proc_tracker *t, proc_read_hook hook, void *ctx);
/* Reads a new process at once; with reread_soon, reads it again shortly
 * (after exec, ld.so is still mapping libraries). */
void proc_tracker_note(struct proc_tracker *t, int pid, bool reread_soon);
/* Reads processes that are due (or all of them). */
void proc_tracker_refresh(struct proc_tracker *t, bool all);
/* Milliseconds until a process is due to be read again, at most max_ms. */
int proc_tracker_next_due_ms(const struct proc_tracker *t, int max_ms);
uint64_t proc_tracker_dropped(const struct proc_tracker *t);
/* Pids that came to name another process while recording. */
uint64_t proc_tracker_pid_reuses(const struct proc_tracker *t);
/* Hands every captured process to the recording. */
int proc_tracker_move_to(struct proc_tracker *t, struct recording *rec);

#endif
