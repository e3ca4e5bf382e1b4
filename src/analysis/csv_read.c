// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "csv_read.h"

void csv_reader_init(struct csv_reader *r, FILE *in)
{
	memset(r, 0, sizeof(*r));
	r->in = in;
	r->next_line = 1;
}

void csv_reader_free(struct csv_reader *r)
{
	free(r->data);
	free(r->starts);
	memset(r, 0, sizeof(*r));
}

/* Appends one byte; past CSV_MAX_RECORD the record is marked bad and the
 * rest of it is read but not kept. */
static int put(struct csv_reader *r, char c)
{
	char *grown;

	if (r->len + 1 >= CSV_MAX_RECORD) {
		r->error = "record longer than 1 MiB";
		return 0;
	}
	if (r->len + 1 >= r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 256;

		grown = realloc(r->data, cap);
		if (!grown)
			return -ENOMEM;
		r->data = grown;
		r->cap = cap;
	}
	r->data[r->len++] = c;
	return 0;
}

static int start_field(struct csv_reader *r)
{
	size_t *grown;

	if (r->nr_fields == r->cap_fields) {
		size_t cap = r->cap_fields ? r->cap_fields * 2 : 16;

		grown = realloc(r->starts, cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		r->starts = grown;
		r->cap_fields = cap;
	}
	r->starts[r->nr_fields++] = r->len;
	return 0;
}

static void bad(struct csv_reader *r, const char *why)
{
	if (!r->error)
		r->error = why;
}

enum field_state { FIELD_START, UNQUOTED, QUOTED, QUOTE_IN_QUOTED, AFTER_QUOTE };

/* Ends the record at a line end (c is '\n', or '\r' followed by '\n'). */
static bool at_record_end(struct csv_reader *r, int c)
{
	int next;

	if (c == '\n') {
		r->next_line++;
		return true;
	}
	if (c != '\r')
		return false;
	next = getc_unlocked(r->in);
	if (next != '\n' && next != EOF)
		ungetc(next, r->in);
	r->next_line++;
	return true;
}

int csv_read_record(struct csv_reader *r)
{
	enum field_state st = FIELD_START;
	int c, err = 0;

	r->len = 0;
	r->nr_fields = 0;
	r->error = NULL;
	r->line = r->next_line;
	c = getc_unlocked(r->in);
	if (c == EOF)
		return ferror(r->in) ? -EIO : 0;
	err = start_field(r);
	for (; !err; c = getc_unlocked(r->in)) {
		if (c == EOF) {
			if (st == QUOTED)
				bad(r, "unterminated quoted field at end of file");
			break;
		}
		switch (st) {
		case QUOTED:
			if (c == '"')
				st = QUOTE_IN_QUOTED;
			else
				err = put(r, (char)c);
			if (c == '\n')
				r->next_line++;
			continue;
		case QUOTE_IN_QUOTED:
			if (c == '"') {		/* a doubled quote */
				err = put(r, '"');
				st = QUOTED;
				continue;
			}
			st = AFTER_QUOTE;
			break;
		default:
			break;
		}
		if (c == ',') {
			err = put(r, '\0');
			if (!err)
				err = start_field(r);
			st = FIELD_START;
			continue;
		}
		if (at_record_end(r, c))
			break;
		if (st == FIELD_START && c == '"') {
			st = QUOTED;
		} else if (st == AFTER_QUOTE) {
			bad(r, "text after a closing quote");
		} else {
			if (c == '"')
				bad(r, "quote inside an unquoted field");
			st = UNQUOTED;
			err = put(r, (char)c);
		}
	}
	if (!err)
		err = put(r, '\0');
	if (err)
		return err;
	if (r->len + 1 >= CSV_MAX_RECORD)	/* cut short: keep offsets valid */
		r->data[r->len - 1] = '\0';
	if (ferror(r->in))
		return -EIO;
	return 1;
}
