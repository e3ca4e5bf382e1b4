// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <math.h>
#include <string.h>

#include "csv_write.h"

void csv_writer_init(struct csv_writer *w, FILE *out)
{
	w->out = out;
	w->in_row = false;
}

static void separator(struct csv_writer *w)
{
	if (w->in_row)
		fputc(',', w->out);
	w->in_row = true;
}

static bool needs_quotes(const char *s, size_t len)
{
	size_t i;

	if (len && (s[0] == ' ' || s[len - 1] == ' '))
		return true;
	for (i = 0; i < len; i++)
		if (s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n')
			return true;
	return false;
}

void csv_field_len(struct csv_writer *w, const char *s, size_t len)
{
	size_t i;

	separator(w);
	if (!needs_quotes(s, len)) {
		fwrite(s, 1, len, w->out);
		return;
	}
	fputc('"', w->out);
	for (i = 0; i < len; i++) {
		if (s[i] == '"')
			fputc('"', w->out);
		fputc(s[i], w->out);
	}
	fputc('"', w->out);
}

void csv_field(struct csv_writer *w, const char *s)
{
	csv_field_len(w, s ? s : "", s ? strlen(s) : 0);
}

void csv_field_u64(struct csv_writer *w, __u64 v)
{
	separator(w);
	fprintf(w->out, "%llu", (unsigned long long)v);
}

void csv_field_double(struct csv_writer *w, double v)
{
	separator(w);
	if (!isnan(v))
		fprintf(w->out, "%.6g", v);
}

void csv_end_row(struct csv_writer *w)
{
	fputs("\r\n", w->out);
	w->in_row = false;
}

void csv_header(struct csv_writer *w, const char *const *names)
{
	for (; *names; names++)
		csv_field(w, *names);
	csv_end_row(w);
}
