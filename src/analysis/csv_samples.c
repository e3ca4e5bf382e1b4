// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "csv_read.h"
#include "csv_samples.h"
#include "recording.h"

#define OTHER_GROUP	"(other groups)"

/* Open addressing over group indexes; twice CSV_MAX_GROUPS slots. */
#define GROUP_SLOTS	(CSV_MAX_GROUPS * 2)

struct loader {
	struct csv_samples *s;
	int value_col, group_col;
	double unit_ns;
	int *slots;		/* group index + 1, 0 empty */
	size_t nr_header;
	size_t cap_groups;
};

bool csv_parse_unit(const char *s, enum csv_unit *unit)
{
	if (!strcmp(s, "ns"))
		*unit = CSV_UNIT_NS;
	else if (!strcmp(s, "us"))
		*unit = CSV_UNIT_US;
	else if (!strcmp(s, "ms"))
		*unit = CSV_UNIT_MS;
	else if (!strcmp(s, "s"))
		*unit = CSV_UNIT_S;
	else
		return false;
	return true;
}

const char *csv_unit_name(enum csv_unit unit)
{
	static const char *const names[] = { "auto", "ns", "us", "ms", "s" };

	return names[unit];
}

static double unit_ns(enum csv_unit unit)
{
	switch (unit) {
	case CSV_UNIT_US: return 1e3;
	case CSV_UNIT_MS: return 1e6;
	case CSV_UNIT_S: return 1e9;
	default: return 1.0;
	}
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcasecmp(s + a - b, suffix);
}

static enum csv_unit unit_from_name(const char *name)
{
	if (ends_with(name, "_us") || ends_with(name, "usec") || ends_with(name, "(us)"))
		return CSV_UNIT_US;
	if (ends_with(name, "_ms") || ends_with(name, "msec") || ends_with(name, "(ms)"))
		return CSV_UNIT_MS;
	if (ends_with(name, "_s") || ends_with(name, "_sec") || ends_with(name, "(s)"))
		return CSV_UNIT_S;
	return CSV_UNIT_NS;
}

/* The latency column when none is named: the first whose name says so. */
static int find_value_column(const struct csv_reader *r)
{
	static const char *const words[] = { "latency", "duration", "lat", "elapsed", "wait",
					     "delta", "time_ns", NULL };
	const char *const *w;
	size_t i;

	for (w = words; *w; w++)
		for (i = 0; i < r->nr_fields; i++)
			if (strcasestr(csv_get(r, i), *w) &&
			    strcasecmp(csv_get(r, i), "timestamp_ns") &&
			    strcasecmp(csv_get(r, i), "timestamp"))
				return (int)i;
	return -1;
}

static int find_named_column(const struct csv_reader *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nr_fields; i++)
		if (!strcmp(csv_get(r, i), name))
			return (int)i;
	for (i = 0; i < r->nr_fields; i++)
		if (!strcasecmp(csv_get(r, i), name))
			return (int)i;
	return -1;
}

static void header_list(const struct csv_reader *r, char *buf, size_t len)
{
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < r->nr_fields && off < len; i++)
		off += snprintf(buf + off, len - off, "%s%s", i ? ", " : "", csv_get(r, i));
}

static int read_header(struct csv_reader *r, struct loader *ld, const struct csv_samples_opts *o,
		       char *err, size_t err_len)
{
	char cols[256];
	int ret = csv_read_record(r);

	if (ret <= 0) {
		snprintf(err, err_len, ret ? "cannot read the CSV: %s" : "empty CSV file",
			 strerror(-ret));
		return ret ? ret : -ENODATA;
	}
	header_list(r, cols, sizeof(cols));
	ld->value_col = o->column ? find_named_column(r, o->column) : find_value_column(r);
	if (ld->value_col < 0) {
		if (o->column)
			snprintf(err, err_len, "no column '%s' in the header (%s)", o->column, cols);
		else
			snprintf(err, err_len, "no latency column found by name in the header "
				 "(%s): give --column", cols);
		return -EINVAL;
	}
	ld->group_col = -1;
	if (o->group_by) {
		ld->group_col = find_named_column(r, o->group_by);
		if (ld->group_col < 0) {
			snprintf(err, err_len, "no column '%s' in the header (%s)", o->group_by, cols);
			return -EINVAL;
		}
		ld->s->group_column = strdup(csv_get(r, ld->group_col));
	}
	ld->s->column = strdup(csv_get(r, ld->value_col));
	if (!ld->s->column || (o->group_by && !ld->s->group_column))
		return -ENOMEM;
	ld->s->unit = o->unit != CSV_UNIT_AUTO ? o->unit : unit_from_name(ld->s->column);
	ld->unit_ns = unit_ns(ld->s->unit);
	ld->nr_header = r->nr_fields;
	return 0;
}

static void note_bad(struct csv_samples *s, __u64 line, const char *fmt, ...)
{
	struct csv_bad_row *b;
	va_list ap;

	s->bad_rows++;
	if (s->nr_bad_listed >= CSV_BAD_LISTED)
		return;
	b = &s->bad[s->nr_bad_listed++];
	b->line = line;
	va_start(ap, fmt);
	vsnprintf(b->reason, sizeof(b->reason), fmt, ap);
	va_end(ap);
}

static __u64 hash_name(const char *s)
{
	__u64 h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static struct sample_group *add_group(struct loader *ld, const char *name)
{
	struct csv_samples *s = ld->s;
	struct sample_group *g;

	if (s->nr_groups == ld->cap_groups) {
		size_t cap = ld->cap_groups ? ld->cap_groups * 2 : 8;

		g = realloc(s->groups, cap * sizeof(*g));
		if (!g)
			return NULL;
		s->groups = g;
		ld->cap_groups = cap;
	}
	g = &s->groups[s->nr_groups];
	memset(g, 0, sizeof(*g));
	g->name = strdup(name);
	if (!g->name)
		return NULL;
	s->nr_groups++;
	return g;
}

/* The group of a row: found by hash, made when new, "(other groups)" when
 * there are already CSV_MAX_GROUPS. */
static struct sample_group *group_of(struct loader *ld, const char *name)
{
	size_t i = hash_name(name) % GROUP_SLOTS;
	struct sample_group *g;

	for (;; i = (i + 1) % GROUP_SLOTS) {
		if (!ld->slots[i])
			break;
		g = &ld->s->groups[ld->slots[i] - 1];
		if (!strcmp(g->name, name))
			return g;
	}
	if (ld->s->nr_groups >= CSV_MAX_GROUPS && strcmp(name, OTHER_GROUP)) {
		ld->s->rows_in_other++;
		return group_of(ld, OTHER_GROUP);	/* made once, past the cap */
	}
	g = add_group(ld, name);
	if (g)
		ld->slots[i] = (int)ld->s->nr_groups;
	return g;
}

static bool parse_latency(const char *field, double mult, __u64 *ns)
{
	char *end;
	double v;

	while (*field == ' ' || *field == '\t')
		field++;
	if (!*field)
		return false;
	errno = 0;
	v = strtod(field, &end);
	while (*end == ' ' || *end == '\t')
		end++;
	if (errno || *end || !isfinite(v) || v < 0)
		return false;
	v = v * mult + 0.5;
	if (v >= 1.8e19)
		return false;
	*ns = (__u64)v;
	return true;
}

static void add_sample(struct sample_group *g, __u64 ns)
{
	unsigned int b = hist_bucket(ns);

	g->count++;
	g->total_ns += ns;
	if (ns > g->max_ns)
		g->max_ns = ns;
	g->hist_count[b]++;
	g->hist_sum_ns[b] += ns;
}

static int load_row(struct loader *ld, struct csv_reader *r)
{
	const char *field, *group = "all";
	struct sample_group *g;
	__u64 ns;

	if (r->nr_fields == 1 && !csv_get(r, 0)[0])
		return 0;	/* blank line */
	ld->s->rows++;
	if (r->error) {
		note_bad(ld->s, r->line, "%s", r->error);
		return 0;
	}
	if (r->nr_fields != ld->nr_header) {
		note_bad(ld->s, r->line, "%zu fields, the header has %zu", r->nr_fields,
			 ld->nr_header);
		return 0;
	}
	field = csv_get(r, ld->value_col);
	if (!parse_latency(field, ld->unit_ns, &ns)) {
		note_bad(ld->s, r->line, "latency '%.60s' is not a non-negative number", field);
		return 0;
	}
	if (ld->group_col >= 0)
		group = csv_get(r, ld->group_col);
	g = group_of(ld, group);
	if (!g)
		return -ENOMEM;
	add_sample(g, ns);
	return 0;
}

static int cmp_group_total(const void *a, const void *b)
{
	const struct sample_group *x = a, *y = b;

	if (x->total_ns != y->total_ns)
		return x->total_ns > y->total_ns ? -1 : 1;
	return strcmp(x->name, y->name);
}

int csv_samples_load(FILE *in, const struct csv_samples_opts *o, struct csv_samples *out,
		     char *err, size_t err_len)
{
	struct loader ld = { .s = out };
	struct csv_reader r;
	int ret;

	memset(out, 0, sizeof(*out));
	csv_reader_init(&r, in);
	ld.slots = calloc(GROUP_SLOTS, sizeof(*ld.slots));
	if (!ld.slots) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	ret = read_header(&r, &ld, o, err, err_len);
	while (!ret && (ret = csv_read_record(&r)) == 1)
		ret = load_row(&ld, &r);
	if (ret == -ENOMEM)
		snprintf(err, err_len, "out of memory");
	else if (ret == -EIO)
		snprintf(err, err_len, "cannot read the CSV: %s", strerror(errno));
	if (!ret && out->nr_groups)
		qsort(out->groups, out->nr_groups, sizeof(*out->groups), cmp_group_total);
	free(ld.slots);
	csv_reader_free(&r);
	if (ret)
		csv_samples_free(out);
	return ret;
}

int csv_samples_load_path(const char *path, const struct csv_samples_opts *o,
			  struct csv_samples *out, char *err, size_t err_len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	int ret;

	if (!f) {
		snprintf(err, err_len, "cannot open %s: %s", path, strerror(errno));
		return -errno;
	}
	ret = csv_samples_load(f, o, out, err, err_len);
	if (f != stdin)
		fclose(f);
	return ret;
}

void csv_samples_free(struct csv_samples *s)
{
	size_t i;

	for (i = 0; i < s->nr_groups; i++)
		free(s->groups[i].name);
	free(s->groups);
	free(s->column);
	free(s->group_column);
	memset(s, 0, sizeof(*s));
}

bool csv_looks_like_csv(const char *path)
{
	return rec_file_is_recording(path) == 0;
}
