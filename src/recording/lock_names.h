/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Names the locks of a recording at record time: a global or static lock
 * variable by its symbol (sym_data for user space, kallsyms data symbols
 * inside the kernel image for kernel locks). */
#ifndef WAITPROF_LOCK_NAMES_H
#define WAITPROF_LOCK_NAMES_H

#include "recording.h"

/* Adds a rec_lock_name for every lock address that lies in a named
 * variable. Needs rec_finish() done (processes looked up by pid). */
int lock_names_resolve(struct recording *rec, struct symbolizer *sym);

#endif
