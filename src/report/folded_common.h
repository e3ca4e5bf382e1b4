/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Building folded lines ("comm;outer;...;inner value"), shared by every
 * folded view. */
#ifndef WAITPROF_FOLDED_COMMON_H
#define WAITPROF_FOLDED_COMMON_H

#include <stddef.h>

#include "buf.h"

/* Appends ";name[suffix]" to a folded line, the name escaped by the one
 * rule of stack_names.h (NAME_FOLDED); suffix may be NULL. */
void folded_put_frame(struct wbuf *b, const char *name, const char *suffix);
/* Starts a folded line with a thread name (at most len bytes), escaped by
 * the same rule. */
void folded_put_head(struct wbuf *b, const char *comm, size_t len);

#endif
