/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Functions of an ELF file by name or glob, as uprobe file offsets: the one
 * place that turns a symbol's address into a file offset. */
#ifndef WAITPROF_ELF_LOOKUP_H
#define WAITPROF_ELF_LOOKUP_H

#include <libelf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct elf_func {
	char *name;
	uint64_t addr;		/* st_value */
	uint64_t offset;	/* file offset: what a uprobe is attached at */
	uint64_t size;
};

struct elf_funcs {
	size_t nr;
	struct elf_func *funcs;	/* sorted by name */
	size_t nr_ifuncs;	/* matching IFUNC resolvers, left out */
	char *first_ifunc;	/* the first of those, for the message */
};

/*
 * The defined functions of path (.symtab, else the .symtab of its build-id
 * debug file under /usr/lib/debug, else .dynsym) whose name matches
 * pattern (fnmatch(3) glob; a plain name matches itself only). Aliases (one
 * address, several names) are one function, named by the plainest alias:
 * global before weak before local, fewer leading underscores, shorter.
 * Returns 0 (possibly with nr = 0) or a negative errno.
 */
int elf_find_funcs(const char *path, const char *pattern, struct elf_funcs *out);
void elf_funcs_free(struct elf_funcs *f);

/*
 * The first exported function (.dynsym, STT_FUNC) named name: its file
 * offset. Several symbol versions of one function are one address (libbpf
 * 1.1 refuses such names, so lock uprobes look them up here). 0, -ENOENT
 * or a negative errno.
 */
int elf_dynsym_func_offset(const char *path, const char *name, uint64_t *off);

/* The file offset of virtual address vaddr: false when no loadable
 * segment holds it in its file-backed part (p_filesz, not p_memsz). */
bool elf_vaddr_to_offset(Elf *elf, uint64_t vaddr, uint64_t *off);

/* True when s has glob characters. */
int elf_is_glob(const char *s);

#endif
