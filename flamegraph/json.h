/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* JSON string output that is safe for any bytes: quotes, backslash and
 * control characters escaped, invalid UTF-8 as \ufffd, and "</" written as
 * "<\/" and U+2028/U+2029 escaped so the JSON can also sit inside an HTML
 * <script> or be eval'd as JavaScript. */
#ifndef WAITPROF_JSON_H
#define WAITPROF_JSON_H

#include <stddef.h>
#include <stdio.h>

/* Writes s (NUL-terminated) as a quoted JSON string; NULL writes null. */
void json_write_string(FILE *out, const char *s);
/* The same for len bytes that may contain NUL (written as \u0000). */
void json_write_string_len(FILE *out, const char *s, size_t len);

#endif
