// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * /proc/kallsyms: "ADDR TYPE NAME [MODULE]". Kernel symbols have no sizes: a
 * symbol covers up to the next one, but not across a module boundary, and
 * nothing after the very last symbol (those addresses give ??).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int compare_kallsym(const void *a, const void *b)
{
	const struct kallsym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	/* Among aliases, text before data, then the first listed (stable by name). */
	if (x->text != y->text)
		return x->text ? -1 : 1;
	return strcmp(x->name, y->name);
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	size_t cap = 1 << 20, used = 0, n;
	char *buf;

	if (!f)
		return NULL;
	buf = malloc(cap + 1);
	while (buf && (n = fread(buf + used, 1, cap - used, f)) > 0) {
		used += n;
		if (used == cap) {
			char *grown = realloc(buf, cap * 2 + 1);

			if (!grown) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = grown;
			cap *= 2;
		}
	}
	fclose(f);
	if (buf) {
		buf[used] = '\0';
		*len = used;
	}
	return buf;
}

static int parse_line(char *line, struct kallsym *sym)
{
	char *type, *name, *module, *end;

	sym->addr = strtoull(line, &end, 16);
	if (end == line || *end != ' ')
		return -1;
	type = end + 1;
	if (!*type || type[1] != ' ')
		return -1;
	name = type + 2;
	module = strchr(name, '\t');
	if (module) {
		*module++ = '\0';
		if (*module == '[') {
			module++;
			end = strchr(module, ']');
			if (end)
				*end = '\0';
		}
	}
	sym->name = name;
	sym->module = module && *module ? module : NULL;
	sym->text = strchr("tTwW", *type) != NULL;
	return 0;
}

int kallsyms_load(const char *path, struct kallsyms **out)
{
	struct kallsyms *ks = calloc(1, sizeof(*ks));
	size_t len = 0, cap = 0;
	char *line, *next;

	if (!ks)
		return -ENOMEM;
	ks->strings = read_all(path, &len);
	if (!ks->strings) {
		free(ks);
		return -errno ?: -ENOMEM;
	}
	for (line = ks->strings; line && *line; line = next) {
		struct kallsym sym;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (parse_line(line, &sym) || sym.addr == 0)
			continue;	/* zeroed addresses: no permission */
		if (ks->nr == cap) {
			size_t new_cap = cap ? cap * 2 : 65536;
			struct kallsym *grown = realloc(ks->syms, new_cap * sizeof(*grown));

			if (!grown) {
				kallsyms_free(ks);
				return -ENOMEM;
			}
			ks->syms = grown;
			cap = new_cap;
		}
		if (!sym.module && (!strcmp(sym.name, "_text") || !strcmp(sym.name, "_stext")) &&
		    !ks->kernel_base)
			ks->kernel_base = sym.addr;
		ks->syms[ks->nr++] = sym;
	}
	if (ks->nr == 0) {
		kallsyms_free(ks);
		return -EPERM;
	}
	qsort(ks->syms, ks->nr, sizeof(*ks->syms), compare_kallsym);
	*out = ks;
	return 0;
}

void kallsyms_free(struct kallsyms *ks)
{
	if (!ks)
		return;
	free(ks->syms);
	free(ks->strings);
	free(ks);
}

static bool same_module(const struct kallsym *a, const struct kallsym *b)
{
	if (!a->module || !b->module)
		return a->module == b->module;
	return !strcmp(a->module, b->module);
}

const struct kallsym *kallsyms_find(const struct kallsyms *ks, uint64_t addr, bool text_only)
{
	size_t lo = 0, hi = ks->nr, idx, next;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ks->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	idx = lo - 1;
	/* The first of the aliases at this address (sorted text first). A
	 * data symbol between two functions ends the first one. */
	while (idx > 0 && ks->syms[idx - 1].addr == ks->syms[idx].addr)
		idx--;
	next = lo;
	if (next >= ks->nr || !same_module(&ks->syms[idx], &ks->syms[next]))
		return NULL;	/* past the last symbol we know the end of */
	return ks->syms[idx].text || !text_only ? &ks->syms[idx] : NULL;
}
