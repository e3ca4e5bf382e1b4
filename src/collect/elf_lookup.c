// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stdio.h>
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

/*
 * Only the file-backed part of a segment has file offsets: p_filesz bytes
 * from p_offset. The rest up to p_memsz (.bss) is zero-filled memory with
 * no bytes in the file, and vaddr - p_vaddr + p_offset there would name
 * whatever follows in the file. A uprobe is placed at a file offset (the
 * kernel finds the instruction through the file's pages), so an address
 * past p_filesz has none to give.
 */
bool elf_vaddr_to_offset(Elf *elf, uint64_t vaddr, uint64_t *off)
{
	size_t i, n;
	GElf_Phdr ph;

	if (elf_getphdrnum(elf, &n))
		return false;
	for (i = 0; i < n; i++) {
		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (vaddr >= ph.p_vaddr && vaddr - ph.p_vaddr < ph.p_filesz) {
			*off = vaddr - ph.p_vaddr + ph.p_offset;
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
	if (!elf_vaddr_to_offset(elf, sym->st_value, &off))
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

/* elf holds the symbols; addr_elf (the file probed) the segments that turn
 * their addresses into file offsets: the same file, or its debug file's
 * original. */
static int scan_symtab(Elf *elf, Elf *addr_elf, Elf_Scn *scn, const GElf_Shdr *sh,
		       const char *pattern, bool glob, struct elf_funcs *out, int **ranks)
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
		err = add_func(out, ranks, addr_elf, name, &sym);
		if (err)
			return err;
	}
	return 0;
}

static int cmp_func_name(const void *a, const void *b)
{
	return strcmp(((const struct elf_func *)a)->name, ((const struct elf_func *)b)->name);
}

/* The GNU build-id note of elf; 0 when it has none. */
static size_t read_build_id(Elf *elf, unsigned char *id, size_t size)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	GElf_Nhdr nh;
	size_t off, name_off, desc_off;
	Elf_Data *data;

	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		data = elf_getdata(scn, NULL);
		for (off = 0; data && (off = gelf_getnote(data, off, &nh, &name_off, &desc_off));) {
			if (nh.n_type != NT_GNU_BUILD_ID || nh.n_namesz != 4 ||
			    memcmp((char *)data->d_buf + name_off, "GNU", 4) || nh.n_descsz > size)
				continue;
			memcpy(id, (char *)data->d_buf + desc_off, nh.n_descsz);
			return nh.n_descsz;
		}
	}
	return 0;
}

/* /usr/lib/debug/.build-id/xx/rest.debug: Debian's -dbg packages (libc6-dbg)
 * keep the full .symtab, static and internal functions included. */
static Elf *open_debug_file(Elf *elf, int *fd_out)
{
	unsigned char id[64];
	char path[256];
	size_t len = read_build_id(elf, id, sizeof(id)), i, pos;
	Elf *dbg;

	*fd_out = -1;
	if (len < 2)
		return NULL;
	pos = snprintf(path, sizeof(path), "/usr/lib/debug/.build-id/%02x/", id[0]);
	for (i = 1; i < len && pos < sizeof(path) - 8; i++)
		pos += snprintf(path + pos, sizeof(path) - pos, "%02x", id[i]);
	snprintf(path + pos, sizeof(path) - pos, ".debug");
	*fd_out = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd_out < 0)
		return NULL;
	dbg = elf_begin(*fd_out, ELF_C_READ_MMAP, NULL);
	if (!dbg || elf_kind(dbg) != ELF_K_ELF) {
		if (dbg)
			elf_end(dbg);
		close(*fd_out);
		*fd_out = -1;
		return NULL;
	}
	return dbg;
}

static bool has_section(Elf *elf, Elf64_Word type)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(elf, scn)))
		if (gelf_getshdr(scn, &sh) && sh.sh_type == type)
			return true;
	return false;
}

static int scan_all(Elf *elf, Elf *addr_elf, Elf64_Word type, const char *pattern, bool glob,
		    struct elf_funcs *out, int **ranks)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	int err = 0;

	while ((scn = elf_nextscn(elf, scn)) && !err) {
		if (gelf_getshdr(scn, &sh) && sh.sh_type == type)
			err = scan_symtab(elf, addr_elf, scn, &sh, pattern, glob, out, ranks);
	}
	return err;
}

int elf_find_funcs(const char *path, const char *pattern, struct elf_funcs *out)
{
	bool glob = elf_is_glob(pattern);
	int fd, dbg_fd = -1, err = 0, *ranks = NULL;
	Elf *elf, *dbg = NULL;

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
	/* .symtab has every function; a stripped file's is in its debug
	 * file; .dynsym has only the exported ones. */
	if (has_section(elf, SHT_SYMTAB)) {
		err = scan_all(elf, elf, SHT_SYMTAB, pattern, glob, out, &ranks);
	} else {
		dbg = open_debug_file(elf, &dbg_fd);
		if (dbg)
			err = scan_all(dbg, elf, SHT_SYMTAB, pattern, glob, out, &ranks);
	}
	if (!err && !out->nr && !out->nr_ifuncs)
		err = scan_all(elf, elf, SHT_DYNSYM, pattern, glob, out, &ranks);
	if (!err && out->nr > 1)
		qsort(out->funcs, out->nr, sizeof(*out->funcs), cmp_func_name);
cleanup:
	free(ranks);
	if (dbg)
		elf_end(dbg);
	if (dbg_fd >= 0)
		close(dbg_fd);
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

int elf_dynsym_func_offset(const char *path, const char *name, uint64_t *off)
{
	Elf_Scn *scn = NULL;
	int fd, err = -ENOENT;
	Elf *elf;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	elf = elf_begin(fd, ELF_C_READ, NULL);
	while (elf && err && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;
		size_t i;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM || !sh.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		for (i = 0; data && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			const char *n;

			if (!gelf_getsym(data, i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
			    !sym.st_value)
				continue;
			n = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (n && !strcmp(n, name) && elf_vaddr_to_offset(elf, sym.st_value, off)) {
				err = 0;
				break;
			}
		}
	}
	elf_end(elf);
	close(fd);
	return err;
}
