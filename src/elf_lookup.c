// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elf_lookup.h"

int elf_is_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/* Lower is plainer: the alias a user would type. */
static int alias_rank(const char *name, int bind)
{
	int rank = 0;

	if (bind == STB_WEAK)
		rank += 1000;
	else if (bind == STB_LOCAL)
		rank += 2000;
	while (*name == '_') {
		rank += 100;
		name++;
	}
	return rank + (int)strlen(name);
}

/* File offset of a virtual address, through the loadable segments. */
static bool vaddr_to_offset(Elf *elf, uint64_t addr, uint64_t *off)
{
	size_t i, n;
	GElf_Phdr ph;

	if (elf_getphdrnum(elf, &n))
		return false;
	for (i = 0; i < n; i++) {
		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (addr >= ph.p_vaddr && addr < ph.p_vaddr + ph.p_memsz) {
			*off = addr - ph.p_vaddr + ph.p_offset;
			return true;
		}
	}
	return false;
}

static struct elf_func *find_by_addr(struct elf_funcs *out, uint64_t addr)
{
	size_t i;

	for (i = 0; i < out->nr; i++)
		if (out->funcs[i].addr == addr)
			return &out->funcs[i];
	return NULL;
}

static int add_func(struct elf_funcs *out, int **ranks, Elf *elf, const char *name,
		    const GElf_Sym *sym)
{
	int bind = GELF_ST_BIND(sym->st_info), rank = alias_rank(name, bind);
	struct elf_func *f = find_by_addr(out, sym->st_value);
	uint64_t off;
	void *p;

	if (f) {
		int *r = &(*ranks)[f - out->funcs];

		if (rank < *r) {
			char *copy = strdup(name);

			if (!copy)
				return -ENOMEM;
			free(f->name);
			f->name = copy;
			*r = rank;
		}
		return 0;
	}
	if (!vaddr_to_offset(elf, sym->st_value, &off))
		return 0;
	p = realloc(out->funcs, (out->nr + 1) * sizeof(*out->funcs));
	if (!p)
		return -ENOMEM;
	out->funcs = p;
	p = realloc(*ranks, (out->nr + 1) * sizeof(**ranks));
	if (!p)
		return -ENOMEM;
	*ranks = p;
	f = &out->funcs[out->nr];
	f->name = strdup(name);
	if (!f->name)
		return -ENOMEM;
	f->addr = sym->st_value;
	f->offset = off;
	f->size = sym->st_size;
	(*ranks)[out->nr] = rank;
	out->nr++;
	return 0;
}

static int scan_symtab(Elf *elf, Elf_Scn *scn, const GElf_Shdr *sh, const char *pattern,
		       bool glob, struct elf_funcs *out, int **ranks)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t i, nsyms;
	GElf_Sym sym;
	int err;

	if (!data || !sh->sh_entsize)
		return 0;
	nsyms = sh->sh_size / sh->sh_entsize;
	for (i = 0; i < nsyms; i++) {
		const char *name;
		int type;

		if (!gelf_getsym(data, i, &sym) || sym.st_shndx == SHN_UNDEF || !sym.st_value)
			continue;
		type = GELF_ST_TYPE(sym.st_info);
		if (type != STT_FUNC && type != STT_GNU_IFUNC)
			continue;
		name = elf_strptr(elf, sh->sh_link, sym.st_name);
		if (!name || !*name)
			continue;
		if (glob ? fnmatch(pattern, name, 0) : strcmp(pattern, name))
			continue;
		if (type == STT_GNU_IFUNC) {
			if (!out->nr_ifuncs++)
				out->first_ifunc = strdup(name);
			continue;
		}
		err = add_func(out, ranks, elf, name, &sym);
		if (err)
			return err;
	}
	return 0;
}

static int cmp_func_name(const void *a, const void *b)
{
	return strcmp(((const struct elf_func *)a)->name, ((const struct elf_func *)b)->name);
}

int elf_find_funcs(const char *path, const char *pattern, struct elf_funcs *out)
{
	bool glob = elf_is_glob(pattern);
	int fd, err = 0, *ranks = NULL, pass;
	Elf_Scn *scn;
	GElf_Shdr sh;
	Elf *elf;

	memset(out, 0, sizeof(*out));
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		err = -ENOEXEC;
		goto cleanup;
	}
	/* .symtab has every function; .dynsym only the exported ones, and is
	 * all a stripped library has. */
	for (pass = 0; pass < 2 && !out->nr && !out->nr_ifuncs && !err; pass++) {
		scn = NULL;
		while ((scn = elf_nextscn(elf, scn)) && !err) {
			if (!gelf_getshdr(scn, &sh))
				continue;
			if (sh.sh_type != (pass ? SHT_DYNSYM : SHT_SYMTAB))
				continue;
			err = scan_symtab(elf, scn, &sh, pattern, glob, out, &ranks);
		}
	}
	if (!err && out->nr > 1)
		qsort(out->funcs, out->nr, sizeof(*out->funcs), cmp_func_name);
cleanup:
	free(ranks);
	if (elf)
		elf_end(elf);
	close(fd);
	if (err)
		elf_funcs_free(out);
	return err;
}

void elf_funcs_free(struct elf_funcs *f)
{
	size_t i;

	for (i = 0; i < f->nr; i++)
		free(f->funcs[i].name);
	free(f->funcs);
	free(f->first_ifunc);
	memset(f, 0, sizeof(*f));
}
