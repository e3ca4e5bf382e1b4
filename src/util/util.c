// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

bool util_quiet;
int util_verbose;

void *array_push(void **arr, size_t *nr, size_t elem_size)
{
	size_t n = *nr;
	char *slot;

	if ((n & (n - 1)) == 0) {
		size_t cap = n ? n * 2 : 1;
		void *p;

		if (cap > SIZE_MAX / elem_size)
			return NULL;
		p = realloc(*arr, cap * elem_size);
		if (!p)
			return NULL;
		*arr = p;
	}
	slot = (char *)*arr + n * elem_size;
	memset(slot, 0, elem_size);
	*nr = n + 1;
	return slot;
}

void err_msg(const char *fmt, ...)
{
	va_list ap;

	fputs("waitprof: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void info_msg(const char *fmt, ...)
{
	va_list ap;

	if (util_quiet)
		return;
	fputs("waitprof: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int parse_id_list(const char *s, int *ids, int max)
{
	int n = 0;
	char *end;
	long v;

	while (*s) {
		errno = 0;
		v = strtol(s, &end, 10);
		if (errno || end == s || v <= 0 || v > 0x7fffffff || n >= max)
			return -1;
		ids[n++] = (int)v;
		if (*end == ',')
			end++;
		else if (*end)
			return -1;
		s = end;
	}
	return n ? n : -1;
}

bool parse_u64(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || *s == '-')
		return false;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

bool parse_double(const char *s, double *out)
{
	char *end;
	double v;

	if (!s || !*s)
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || v != v)
		return false;
	*out = v;
	return true;
}

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

void format_utc(char *buf, size_t len, uint64_t epoch_s)
{
	time_t t = (time_t)epoch_s;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void read_comm(int pid, char *buf, size_t len)
{
	char path[64];
	FILE *f;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

static size_t id_slot(uint64_t id, size_t cap)
{
	id ^= id >> 31;
	id *= 0x9e3779b97f4a7c15ULL;
	return (size_t)(id >> 17) & (cap - 1);
}

bool id_set_has(const struct id_set *s, uint64_t id)
{
	size_t i;

	if (!s->cap || !id)
		return false;
	for (i = id_slot(id, s->cap); s->slots[i]; i = (i + 1) & (s->cap - 1))
		if (s->slots[i] == id)
			return true;
	return false;
}

static int id_set_grow(struct id_set *s)
{
	struct id_set bigger = { .cap = s->cap ? s->cap * 2 : 64 };
	size_t i;

	bigger.slots = calloc(bigger.cap, sizeof(uint64_t));
	if (!bigger.slots)
		return -ENOMEM;
	for (i = 0; i < s->cap; i++)
		if (s->slots[i])
			id_set_add(&bigger, s->slots[i]);
	free(s->slots);
	*s = bigger;
	return 0;
}

int id_set_add(struct id_set *s, uint64_t id)
{
	size_t i;

	if (!id)
		return -EINVAL;
	if ((s->nr + 1) * 2 > s->cap && id_set_grow(s))
		return -ENOMEM;
	for (i = id_slot(id, s->cap); s->slots[i]; i = (i + 1) & (s->cap - 1))
		if (s->slots[i] == id)
			return 0;
	s->slots[i] = id;
	s->nr++;
	return 0;
}

void id_set_free(struct id_set *s)
{
	free(s->slots);
	memset(s, 0, sizeof(*s));
}

uint64_t hash_bytes(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}
