/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* JSON string output shared by every writer that emits JSON. */
#ifndef WAITPROF_JSON_H
#define WAITPROF_JSON_H

#include <stdio.h>

/* Writes s as a quoted JSON string: quotes, backslashes and control
 * characters escaped, "</" written as "<\/" so the text is also safe inside
 * an HTML <script>, and invalid UTF-8 bytes replaced by U+FFFD. NULL is
 * written as null. */
void json_write_string(FILE *out, const char *s);

#endif
