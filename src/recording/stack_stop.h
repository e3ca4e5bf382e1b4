/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Names of the reasons a user stack's walk stopped (enum cfi_stop). */
#ifndef WAITPROF_STACK_STOP_H
#define WAITPROF_STACK_STOP_H

#include "cfi.h"

/* "end", "no-table", ...: counter keys (unwind_cfi_stop_NAME) and the JSON
 * report's stack ends; "?" for a value out of range. */
const char *cfi_stop_name(enum cfi_stop stop);

#endif
