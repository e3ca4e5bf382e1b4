/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A recording as folded stacks, for readers of folded text (flamegraph
 * --diff): frames by name, as in diff --by stack, so runs match. */
#ifndef WAITPROF_DIFF_FOLDED_H
#define WAITPROF_DIFF_FOLDED_H

#include <stddef.h>
#include <stdio.h>

/*
 * When path is a waitprof recording: a temporary stream of its off-CPU
 * folded stacks (report --format folded, microseconds), at its start.
 * Otherwise NULL with err empty (read the file as folded text); on failure
 * NULL with a one-line reason in err.
 */
FILE *diff_folded_open(const char *path, char *err, size_t err_len);

#endif
