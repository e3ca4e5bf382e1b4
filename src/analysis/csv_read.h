/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A streaming RFC 4180 CSV reader: one record at a time from a FILE, in
 * memory bounded by the longest record (and at most CSV_MAX_RECORD bytes),
 * never by the file. Quoted fields may hold commas, doubled quotes, CR and
 * LF; records end with LF or CRLF. A malformed record is still returned
 * whole (up to its end of line) with a reason, so callers can count and
 * report it by line number instead of dropping it silently.
 */
#ifndef WAITPROF_CSV_READ_H
#define WAITPROF_CSV_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>

#define CSV_MAX_RECORD	(1u << 20)	/* bytes of field data per record */

struct csv_reader {
	FILE *in;
	char *data;		/* fields, each NUL-terminated */
	size_t len, cap;
	size_t *starts;		/* offset of each field in data */
	size_t nr_fields, cap_fields;
	__u64 line;		/* line the current record starts on (1-based) */
	__u64 next_line;
	const char *error;	/* why the current record is malformed, or NULL */
};

void csv_reader_init(struct csv_reader *r, FILE *in);
/* 1: a record was read (check r->error); 0: end of input; -ENOMEM; -EIO. */
int csv_read_record(struct csv_reader *r);
static inline const char *csv_get(const struct csv_reader *r, size_t i)
{
	return i < r->nr_fields ? r->data + r->starts[i] : NULL;
}
void csv_reader_free(struct csv_reader *r);

#endif
