// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ELF symbol tables as sorted arrays: one entry per address, the alias chosen
 * once when loading, so a lookup is a binary search.
 *
 * Alias rule (several symbols at one address): a symbol with a size beats a
 * sizeless one, then GLOBAL beats GNU_UNIQUE beats WEAK beats LOCAL, then the
 * symbol that comes first in the table wins (deterministic for a given file).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* How far back a lookup walks for an enclosing symbol when the nearest one
 * ends before addr (nested symbols are rare; bounded so lookups stay O(log n)). */
#define NESTED_WALK 8

struct raw_symbol {
	uint64_t addr;
	uint64_t size;
	uint64_t limit;
	const char *name;
	unsigned int rank;
	size_t index;
};

static unsigned int binding_rank(unsigned char bind)
{
	switch (bind) {
	case STB_GLOBAL:
		return 3;
	case STB_GNU_UNIQUE:
		return 2;
	case STB_WEAK:
		return 1;
	default:
		return 0;
	}
}

static bool wanted_type(unsigned char type, bool functions)
{
	if (functions)
		return type == STT_FUNC || type == STT_GNU_IFUNC;
	return type == STT_OBJECT || type == STT_COMMON;
}

static int compare_raw(const void *a, const void *b)
{
	const struct raw_symbol *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank > y->rank ? -1 : 1;
	if (x->index != y->index)
		return x->index < y->index ? -1 : 1;
	return 0;
}

static Elf_Scn *find_table(Elf *elf, Elf64_Word type)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		GElf_Shdr shdr;

		if (gelf_getshdr(scn, &shdr) && shdr.sh_type == type &&
		    shdr.sh_entsize && shdr.sh_size / shdr.sh_entsize > 1)
			return scn;
	}
	return NULL;
}

bool elf_has_symtab(Elf *elf)
{
	return find_table(elf, SHT_SYMTAB) != NULL;
}

/* The end address of the section a symbol lives in. */
static uint64_t section_limit(Elf *elf, size_t shndx)
{
	Elf_Scn *scn = elf_getscn(elf, shndx);
	GElf_Shdr shdr;

	if (!scn || !gelf_getshdr(scn, &shdr))
		return 0;
	return shdr.sh_addr + shdr.sh_size;
}

static int collect(Elf *elf, Elf_Scn *scn, bool functions, struct raw_symbol **out, size_t *nr)
{
	struct raw_symbol *raw;
	Elf_Data *data;
	GElf_Shdr shdr;
	size_t i, count, n = 0;

	if (!gelf_getshdr(scn, &shdr))
		return -EINVAL;
	data = elf_getdata(scn, NULL);
	if (!data || !shdr.sh_entsize)
		return -EINVAL;
	count = data->d_size / shdr.sh_entsize;
	raw = calloc(count ? count : 1, sizeof(*raw));
	if (!raw)
		return -ENOMEM;
	for (i = 1; i < count; i++) {
		GElf_Sym sym;
		const char *name;

		if (!gelf_getsym(data, i, &sym))
			break;
		if (!wanted_type(GELF_ST_TYPE(sym.st_info), functions) ||
		    sym.st_shndx == SHN_UNDEF || sym.st_shndx >= SHN_LORESERVE)
			continue;
		name = elf_strptr(elf, shdr.sh_link, sym.st_name);
		if (!name || !*name)
			continue;
		raw[n].addr = sym.st_value;
		raw[n].size = sym.st_size;
		raw[n].limit = section_limit(elf, sym.st_shndx);
		raw[n].name = name;
		raw[n].rank = (sym.st_size ? 4 : 0) + binding_rank(GELF_ST_BIND(sym.st_info));
		raw[n].index = i;
		n++;
	}
	*out = raw;
	*nr = n;
	return 0;
}

int elf_symtab_load(Elf *elf, bool functions, struct elf_symtab *out)
{
	struct raw_symbol *raw = NULL;
	Elf_Scn *scn;
	size_t i, nr = 0, kept = 0;
	int err;

	memset(out, 0, sizeof(*out));
	scn = find_table(elf, SHT_SYMTAB);
	if (!scn)
		scn = find_table(elf, SHT_DYNSYM);
	if (!scn)
		return 0;
	err = collect(elf, scn, functions, &raw, &nr);
	if (err)
		return err;
	qsort(raw, nr, sizeof(*raw), compare_raw);
	out->syms = calloc(nr ? nr : 1, sizeof(*out->syms));
	if (!out->syms) {
		free(raw);
		return -ENOMEM;
	}
	for (i = 0; i < nr; i++) {
		if (kept && out->syms[kept - 1].addr == raw[i].addr)
			continue;	/* an alias ranked lower */
		out->syms[kept].addr = raw[i].addr;
		out->syms[kept].size = raw[i].size;
		out->syms[kept].limit = raw[i].limit;
		out->syms[kept].name = raw[i].name;
		kept++;
	}
	out->nr = kept;
	free(raw);
	return 0;
}

void elf_symtab_free(struct elf_symtab *tab)
{
	free(tab->syms);
	tab->syms = NULL;
	tab->nr = 0;
}

/* Index of the last symbol starting at or below addr, or -1. */
static ssize_t last_at_or_below(const struct elf_symtab *tab, uint64_t addr)
{
	size_t lo = 0, hi = tab->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (tab->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (ssize_t)lo - 1;
}

const struct elf_symbol *elf_symtab_find(const struct elf_symtab *tab, uint64_t addr)
{
	const struct elf_symbol *sym;
	ssize_t idx = last_at_or_below(tab, addr), i;
	uint64_t end;

	if (idx < 0)
		return NULL;
	/* A sized symbol that covers addr wins, the nearest first. */
	for (i = idx; i >= 0 && idx - i < NESTED_WALK; i--) {
		sym = &tab->syms[i];
		if (sym->size && addr - sym->addr < sym->size)
			return sym;
	}
	/* Else a sizeless label, up to the next symbol and its section end. */
	sym = &tab->syms[idx];
	if (sym->size)
		return NULL;
	end = sym->limit;
	if ((size_t)idx + 1 < tab->nr && tab->syms[idx + 1].addr < end)
		end = tab->syms[idx + 1].addr;
	return addr < end ? sym : NULL;
}
