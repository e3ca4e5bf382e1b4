// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Every output format of report and funclat, by name (report_writers.h). */
#include <errno.h>
#include <string.h>

#include "report_csv.h"
#include "report_export.h"
#include "report_writers.h"
#include "stack_names.h"
#include "util.h"

/* The text report goes to terminals: through the net that escapes every
 * control byte a traced program could have put in a name or a path. */
static int write_text(FILE *out, const struct recording *rec, const struct report_opts *o)
{
	FILE *text = name_text_stream(out);
	int ret;

	if (!text)
		return -errno;
	ret = report_text(text, rec, o);
	if (fclose(text) && !ret)
		ret = -EIO;
	return ret;
}

static int write_csv(FILE *out, const struct recording *rec, const struct report_opts *o)
{
	(void)o;
	return report_csv(out, rec);
}

/* Per-interval formats need record --events: say so instead of writing nothing. */
static int has_events(const struct recording *rec)
{
	if (!rec->nr_events && !rec_get_meta(rec, "events_clock")) {
		err_msg("this recording has no events: record with --events");
		return -ENODATA;
	}
	return 0;
}

static int write_events_csv(FILE *out, const struct recording *rec, const struct report_opts *o)
{
	(void)o;
	return has_events(rec) ?: report_events_csv(out, rec);
}

static int write_chrome_trace(FILE *out, const struct recording *rec,
			      const struct report_opts *o)
{
	(void)o;
	return has_events(rec) ?: report_chrome_trace(out, rec);
}

/* In the order --help and the messages list them. */
static const struct report_writer writers[] = {
	{ "text", write_text, funclat_write_text, tail_write_text },
	{ "folded", report_folded, NULL },
	{ "json", report_json, funclat_write_json, tail_write_json },
	{ "csv", write_csv, funclat_write_csv },
	{ "events-csv", write_events_csv, NULL },
	{ "chrome-trace", write_chrome_trace, NULL },
	{ "svg", report_svg, NULL },
	{ "pprof", report_pprof, NULL },
	{ "speedscope", report_speedscope, NULL },
	{ "html", report_html, NULL, tail_write_html },
};

#define NR_WRITERS (sizeof(writers) / sizeof(writers[0]))

static bool writes(const struct report_writer *w, bool funclat)
{
	return funclat ? w->funclat != NULL : w->recording != NULL;
}

const struct report_writer *report_writer_find(const char *name, bool funclat)
{
	size_t i;

	for (i = 0; i < NR_WRITERS; i++)
		if (!strcmp(writers[i].name, name) && writes(&writers[i], funclat))
			return &writers[i];
	return NULL;
}

const char *report_writer_names(char *buf, size_t len, bool funclat)
{
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < NR_WRITERS && off < len; i++)
		if (writes(&writers[i], funclat))
			off += snprintf(buf + off, len - off, "%s%s", off ? ", " : "",
					writers[i].name);
	return buf;
}

const struct report_writer *report_writer_find_tail(const char *name)
{
	size_t i;

	for (i = 0; i < NR_WRITERS; i++)
		if (!strcmp(writers[i].name, name) && writers[i].tail)
			return &writers[i];
	return NULL;
}
