/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * RFC 4180 CSV output: fields separated by commas, rows ended by CRLF, a
 * field quoted when it holds a comma, a quote, CR or LF (or starts or ends
 * with a space, which some readers trim), quotes inside doubled. Any bytes
 * survive, so a frame name with commas, quotes or newlines reads back intact.
 */
#ifndef WAITPROF_CSV_WRITE_H
#define WAITPROF_CSV_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>

struct csv_writer {
	FILE *out;
	bool in_row;		/* a field was written on this row */
};

void csv_writer_init(struct csv_writer *w, FILE *out);
/* NULL writes an empty field. */
void csv_field(struct csv_writer *w, const char *s);
void csv_field_len(struct csv_writer *w, const char *s, size_t len);
void csv_field_u64(struct csv_writer *w, __u64 v);
/* Shortest round-tripping form is not needed: %.6g, or empty when NaN. */
void csv_field_double(struct csv_writer *w, double v);
void csv_end_row(struct csv_writer *w);
/* A whole header row from a NULL-terminated list. */
void csv_header(struct csv_writer *w, const char *const *names);

#endif
