/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Files waitprof writes for the user: under sudo they belong to the user
 * who ran sudo, not to root. */
#ifndef WAITPROF_OUTPUT_FILE_H
#define WAITPROF_OUTPUT_FILE_H

/* Opens path for writing (mode 0644, or 0600 when private), created with
 * the invoking user as owner when run through sudo. NULL with errno set. */
#include <stdbool.h>
#include <stdio.h>

FILE *output_open(const char *path, bool private_data);
/* Gives an existing file to the sudo invoker (SUDO_UID/SUDO_GID); a no-op
 * when not run through sudo. */
void output_give_to_invoker(const char *path);

#endif
