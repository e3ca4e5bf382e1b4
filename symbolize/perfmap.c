// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* /tmp/perf-PID.map, written by JIT compilers: "START SIZE NAME" in hex. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int compare_entry(const void *a, const void *b)
{
	const struct perfmap_entry *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return 0;
}

static int append(struct perfmap *map, size_t *cap, uint64_t start, uint64_t size,
		  const char *name)
{
	if (map->nr == *cap) {
		size_t new_cap = *cap ? *cap * 2 : 256;
		struct perfmap_entry *grown = realloc(map->entries, new_cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		map->entries = grown;
		*cap = new_cap;
	}
	map->entries[map->nr].name = strdup(name);
	if (!map->entries[map->nr].name)
		return -ENOMEM;
	map->entries[map->nr].start = start;
	map->entries[map->nr].size = size;
	map->nr++;
	return 0;
}

int perfmap_load(const char *path, int pid, struct perfmap **out)
{
	struct perfmap *map;
	char *line = NULL;
	size_t line_cap = 0, cap = 0;
	ssize_t len;
	FILE *f;
	int err = 0;

	f = fopen(path, "re");
	if (!f)
		return -errno;
	map = calloc(1, sizeof(*map));
	if (!map) {
		fclose(f);
		return -ENOMEM;
	}
	map->pid = pid;
	while ((len = getline(&line, &line_cap, f)) > 0) {
		unsigned long long start, size;
		int name_at = 0;

		if (line[len - 1] == '\n')
			line[len - 1] = '\0';
		if (sscanf(line, "%llx %llx %n", &start, &size, &name_at) != 2 || !name_at ||
		    !size)
			continue;
		err = append(map, &cap, start, size, line + name_at);
		if (err)
			break;
	}
	free(line);
	fclose(f);
	if (err) {
		perfmap_free(map);
		return err;
	}
	/* Overlapping entries (code replaced by newer code) resolve to the
	 * covering entry with the highest start. */
	if (map->nr)
		qsort(map->entries, map->nr, sizeof(*map->entries), compare_entry);
	*out = map;
	return 0;
}

void perfmap_free(struct perfmap *map)
{
	size_t i;

	if (!map)
		return;
	for (i = 0; i < map->nr; i++)
		free(map->entries[i].name);
	free(map->entries);
	free(map);
}

const struct perfmap_entry *perfmap_find(const struct perfmap *map, uint64_t addr)
{
	size_t lo = 0, hi = map->nr;
	ssize_t i;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (map->entries[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = (ssize_t)lo - 1; i >= 0 && (ssize_t)lo - i <= 16; i--) {
		if (addr - map->entries[i].start < map->entries[i].size)
			return &map->entries[i];
	}
	return NULL;
}
