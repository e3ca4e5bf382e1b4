// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfi_table.h"
#include "test_syms.h"

static int add_sym(struct test_syms *s, uint64_t start, uint64_t size, const char *name)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1024;
		struct test_sym *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n].start = start;
	s->v[s->n].end = start + (size ? size : 1);
	s->v[s->n].name = strdup(name);
	if (!s->v[s->n].name)
		return -ENOMEM;
	s->n++;
	return 0;
}

static int load_file(const char *path, struct test_syms *s)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;
	Elf_Scn *scn = NULL;
	GElf_Shdr shdr;
	GElf_Sym sym;
	Elf_Data *data;
	Elf *elf;
	size_t i;

	if (fd < 0)
		return -errno;
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf) {
		close(fd);
		return -EINVAL;
	}
	while (!err && (scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &shdr) ||
		    (shdr.sh_type != SHT_SYMTAB && shdr.sh_type != SHT_DYNSYM))
			continue;
		data = elf_getdata(scn, NULL);
		for (i = 0; data && shdr.sh_entsize && i < shdr.sh_size / shdr.sh_entsize; i++) {
			const char *name;

			if (!gelf_getsym(data, (int)i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
			    !sym.st_value)
				continue;
			name = elf_strptr(elf, shdr.sh_link, sym.st_name);
			if (name && *name && (err = add_sym(s, sym.st_value, sym.st_size, name)))
				break;
		}
	}
	elf_end(elf);
	close(fd);
	return err;
}

int test_syms_load(const char *path, struct test_syms *s)
{
	uint8_t id[CFI_BUILD_ID_MAX];
	char dbg[512];
	int fd, n, len, i;

	memset(s, 0, sizeof(*s));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = cfi_read_build_id(fd, id, sizeof(id));
	close(fd);
	if (len > 1) {
		n = snprintf(dbg, sizeof(dbg), "/usr/lib/debug/.build-id/%02x/", id[0]);
		for (i = 1; i < len; i++)
			n += snprintf(dbg + n, sizeof(dbg) - n, "%02x", id[i]);
		snprintf(dbg + n, sizeof(dbg) - n, ".debug");
		if (!access(dbg, R_OK) && !load_file(dbg, s))
			s->from_debug_file = true;
	}
	return load_file(path, s);
}

void test_syms_free(struct test_syms *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->v[i].name);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

bool test_syms_is(const struct test_syms *s, const char *names, uint64_t vaddr)
{
	char buf[256], *save = NULL, *name;
	size_t i;

	snprintf(buf, sizeof(buf), "%s", names);
	for (name = strtok_r(buf, "|", &save); name; name = strtok_r(NULL, "|", &save))
		for (i = 0; i < s->n; i++)
			if (vaddr >= s->v[i].start && vaddr < s->v[i].end &&
			    !strcmp(s->v[i].name, name))
				return true;
	return false;
}

const char *test_syms_name(const struct test_syms *s, uint64_t vaddr)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (vaddr >= s->v[i].start && vaddr < s->v[i].end)
			return s->v[i].name;
	return "?";
}

bool test_syms_find(const struct test_syms *s, const char *name, uint64_t *start, uint64_t *end)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		if (!strcmp(s->v[i].name, name)) {
			*start = s->v[i].start;
			*end = s->v[i].end;
			return true;
		}
	}
	return false;
}
