/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Prometheus metrics of waitprof agent: counters summed over every window
 * recorded so far, rendered in the text exposition format (docs/AGENT.md).
 * Cardinality is bounded: at most max_locks lock series and max_comms
 * thread names; once full, new ones add to a series labelled "other".
 * A series, once made, stays (counters must never go backwards).
 * Not thread-safe: the caller serializes.
 */
#ifndef WAITPROF_PROM_METRICS_H
#define WAITPROF_PROM_METRICS_H

#include <stdio.h>

#include "recording.h"

struct prom_metrics;

struct prom_metrics *prom_metrics_new(unsigned int max_locks, unsigned int max_comms);
void prom_metrics_free(struct prom_metrics *m);
/* Adds one finished (symbolized) window. 0 or -ENOMEM. */
int prom_metrics_add_window(struct prom_metrics *m, const struct recording *win);
/* Writes every metric; cpu_s is the recorder's CPU time so far. */
void prom_metrics_write(FILE *out, const struct prom_metrics *m, double cpu_s);
/* Writes s as a label value: backslash, double quote and newline escaped. */
void prom_label_value(FILE *out, const char *s);

#endif
