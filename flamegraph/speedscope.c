// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * speedscope writer (https://www.speedscope.app/file-format-schema.json):
 * the profile's frames become shared.frames; each sample type becomes one
 * "sampled" profile whose samples are frame indexes, outermost first, and
 * whose weights are that type's values.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "json.h"
#include "profile.h"

#define SPEEDSCOPE_SCHEMA "https://www.speedscope.app/file-format-schema.json"

/* speedscope's units; anything else is shown as a plain number. */
static const char *speedscope_unit(const char *unit)
{
	static const char *const known[] = {
		"nanoseconds", "microseconds", "milliseconds", "seconds", "bytes",
	};
	size_t i;

	for (i = 0; unit && i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(unit, known[i]))
			return known[i];
	return "none";
}

static void write_frames(FILE *out, const struct profile *p)
{
	size_t i;

	fputs("\"shared\":{\"frames\":[", out);
	for (i = 0; i < p->nr_frames; i++) {
		const struct prof_frame *f = &p->frames[i];

		fputs(i ? ",\n{\"name\":" : "\n{\"name\":", out);
		json_write_string(out, f->function);
		if (f->file) {
			fputs(",\"file\":", out);
			json_write_string(out, f->file);
		}
		if (f->line)
			fprintf(out, ",\"line\":%" PRIu32, f->line);
		fputc('}', out);
	}
	fputs("]},\n", out);
}

static void write_sampled(FILE *out, const struct profile *p, size_t t)
{
	size_t i, j;

	fputs("{\"type\":\"sampled\",\"name\":", out);
	json_write_string(out, p->types[t].type);
	fprintf(out, ",\"unit\":\"%s\",\"startValue\":0,\"endValue\":%" PRId64 ",\n\"samples\":[",
		speedscope_unit(p->types[t].unit), prof_total(p, t));
	for (i = 0; i < p->nr_samples; i++) {
		fputs(i ? ",\n[" : "\n[", out);
		for (j = p->sample_start[i]; j < p->sample_start[i + 1]; j++)
			fprintf(out, j > p->sample_start[i] ? ",%" PRIu32 : "%" PRIu32, p->stack_ids[j]);
		fputc(']', out);
	}
	fputs("],\n\"weights\":[", out);
	for (i = 0; i < p->nr_samples; i++)
		fprintf(out, i ? ",%" PRId64 : "%" PRId64, p->values[i * p->nr_types + t]);
	fputs("]}", out);
}

int prof_write_speedscope(FILE *out, const struct profile *p)
{
	size_t t;

	if (!p->nr_types)
		return -EINVAL;
	fputs("{\"$schema\":\"" SPEEDSCOPE_SCHEMA "\",\"exporter\":\"waitprof\",\"name\":\"waitprof\",\n", out);
	fprintf(out, "\"activeProfileIndex\":%zu,\n", p->default_type);
	write_frames(out, p);
	fputs("\"profiles\":[", out);
	for (t = 0; t < p->nr_types; t++) {
		if (t)
			fputs(",\n", out);
		write_sampled(out, p, t);
	}
	fputs("]}\n", out);
	if (fflush(out) || ferror(out))
		return -EIO;
	return 0;
}
