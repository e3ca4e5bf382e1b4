/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the recorder itself costs, measured while it records and written into
 * the recording: its CPU time and peak memory (getrusage), the run count and
 * run time of each of its BPF programs (when the kernel's BPF statistics are
 * on), and the system's IPIs (/proc/interrupts, all processes together).
 */
#ifndef WAITPROF_RECORDER_COST_H
#define WAITPROF_RECORDER_COST_H

#include <stdbool.h>

#include "recording.h"

struct bpf_object;
struct recorder_cost;

/* With enable_bpf_stats, BPF statistics are turned on until
 * recorder_cost_stop() (the kernel turns them off if we die first). */
struct recorder_cost *recorder_cost_new(bool enable_bpf_stats);
/* Adds the loaded programs of obj (call before recorder_cost_start). */
void recorder_cost_add_object(struct recorder_cost *c, struct bpf_object *obj);
/* The tracing window: after attach, and after detach. */
void recorder_cost_start(struct recorder_cost *c);
void recorder_cost_stop(struct recorder_cost *c);
/* Counters and metadata (docs/report-schema.md, "recorder"); CPU time is
 * the whole process's up to now, so call it last before writing. */
int recorder_cost_write(const struct recorder_cost *c, struct recording *rec);
void recorder_cost_free(struct recorder_cost *c);

#endif
