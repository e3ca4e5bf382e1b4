/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Starts the traced command so that tracing covers its first instruction:
 * the child is forked first and execs only after launcher_go(). */
#ifndef WAITPROF_LAUNCHER_H
#define WAITPROF_LAUNCHER_H

#include <stdbool.h>

struct launcher;

int launcher_prepare(struct launcher **out, char **argv);
int launcher_pid(const struct launcher *l);
/* Lets the child exec; returns a negative errno (after one line on stderr)
 * when the command cannot be run. */
int launcher_go(struct launcher *l);
/* True once the child has exited; *status gets its wait status. */
bool launcher_exited(struct launcher *l, int *status);
/* Stops a child still running (SIGTERM, then SIGKILL) and reaps it. */
void launcher_free(struct launcher *l, bool failed);

#endif
