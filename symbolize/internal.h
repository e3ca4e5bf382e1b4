/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * symbolize internals: the pieces symbolizer.c puts together. Not installed,
 * not for callers outside symbolize/ (tests may use it).
 */
#ifndef WAITPROF_SYMBOLIZE_INTERNAL_H
#define WAITPROF_SYMBOLIZE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <elfutils/libdw.h>
#include <gelf.h>
#include <libelf.h>

#include "symbolize.h"

/* One symbol after aliases were merged: the chosen name of an address. */
struct elf_symbol {
	uint64_t addr;
	uint64_t size;		/* 0: sizeless (assembly label), see limit */
	uint64_t limit;		/* end of the symbol's section: a sizeless
				 * symbol never covers past it */
	const char *name;	/* points into the ELF's string table */
};

struct elf_symtab {
	size_t nr;
	struct elf_symbol *syms;	/* sorted by addr, one per addr */
};

/* A PT_LOAD segment, to turn file offsets into virtual addresses. */
struct load_segment {
	uint64_t vaddr;
	uint64_t offset;
	uint64_t filesz;
	uint64_t memsz;
};

/* An opened ELF file (or an in-memory image such as the vdso). */
struct elf_file {
	char *path;		/* as opened, for messages and the debuglink dir */
	int fd;			/* -1 for memory images */
	Elf *elf;
	void *image;		/* malloc'd memory image, or NULL */
	dev_t dev;
	ino_t ino;
	int elf_class;		/* ELFCLASS64 or ELFCLASS32 */
	bool has_debug_info;	/* .debug_info with contents */
	uint8_t build_id_len;
	uint8_t build_id[SYM_BUILD_ID_MAX];
	const char *debuglink;	/* .gnu_debuglink name, in the ELF's data */
	uint32_t debuglink_crc;
	size_t nr_segments;
	struct load_segment *segments;
};

/* elf_file.c */
int elf_file_open_fd(int fd, const char *path, struct elf_file **out);
int elf_file_open_path(const char *path, struct elf_file **out);
int elf_file_open_memory(const void *data, size_t size, const char *name,
			 struct elf_file **out);
void elf_file_close(struct elf_file *file);
/* A file offset to the ELF's virtual address; false when no segment maps it. */
bool elf_file_offset_to_vaddr(const struct elf_file *file, uint64_t offset, uint64_t *vaddr);
bool elf_file_vaddr_to_offset(const struct elf_file *file, uint64_t vaddr, uint64_t *offset);
/* Reads the GNU build-id note of an ELF: its length, 0 when none. */
int elf_read_build_id(Elf *elf, uint8_t *build_id, size_t size);
/* Opens path under the directory fd root without ever leaving it (symlinks
 * resolve inside root). -1 with errno set on failure. */
int open_in_root(int root_fd, const char *path);

/* debuginfod.c: the debug file of a build-id from the servers in
 * DEBUGINFOD_URLS (none when it is unset): an fd and its path in the
 * client's cache (malloc'd), or a negative errno. */
int debuginfod_fetch(const uint8_t *build_id, size_t len, char **path);

/* maps.c: opens the file behind a mapping of a live process (map_files,
 * else the path inside /proc/PID/root). -1 on failure. */
int proc_map_open(int pid, const struct proc_map *map);

/* elf_syms.c */
/* Loads FUNC (functions=true) or OBJECT symbols: .symtab, else .dynsym. */
int elf_symtab_load(Elf *elf, bool functions, struct elf_symtab *out);
bool elf_has_symtab(Elf *elf);
void elf_symtab_free(struct elf_symtab *tab);
const struct elf_symbol *elf_symtab_find(const struct elf_symtab *tab, uint64_t addr);

/* debuginfo.c: a separate debug file for file, or NULL. root_fd >= 0 makes
 * the debuglink candidates beside the binary resolve inside that root. */
struct elf_file *debuginfo_find(const struct elf_file *file, const char *debug_dir,
				int root_fd);
/* The build-id path of a debug file: DIR/.build-id/xx/yyyy.debug */
int debuginfo_build_id_path(const char *debug_dir, const uint8_t *build_id,
			    size_t len, char *buf, size_t size);

/* dwarf.c: the DWARF index of one ELF (lazily built CU ranges). */
struct cu_entry;
struct cu_info;

struct dwarf_index {
	Dwarf *dwarf;
	size_t nr_cus;
	struct cu_entry *cus;		/* address ranges of CUs, sorted */
	size_t nr_infos;
	struct cu_info *infos;		/* one per CU: its function index */
	bool indexed;
};

/* One frame as found in DWARF, before strings are interned. */
struct dwarf_frame {
	const char *name;	/* linkage name, else name; NULL when none */
	const char *file;	/* as in the line table (maybe relative) */
	const char *comp_dir;	/* of the CU, for relative file names */
	unsigned int line;
	unsigned int column;
	bool is_function;	/* from a subprogram or inlined DIE */
};

int dwarf_index_open(Elf *elf, struct dwarf_index *index);
void dwarf_index_close(struct dwarf_index *index);
/* Up to max frames for vaddr, innermost first. Returns the count (0 when
 * DWARF knows nothing about vaddr). */
int dwarf_lookup(struct dwarf_index *index, uint64_t vaddr, bool inlines,
		 struct dwarf_frame *frames, int max);

/* demangle.c: a malloc'd demangled name, or NULL when name is not mangled. */
char *demangle(const char *name);

/* kallsyms.c */
struct kallsym {
	uint64_t addr;
	const char *name;
	const char *module;	/* NULL for the kernel itself */
	bool text;
};

struct kallsyms {
	size_t nr;
	struct kallsym *syms;	/* sorted by addr */
	char *strings;
	uint64_t kernel_base;	/* _text, for module offsets */
};

int kallsyms_load(const char *path, struct kallsyms **out);
void kallsyms_free(struct kallsyms *ks);
/* The symbol covering addr; text_only: a function, else NULL. */
const struct kallsym *kallsyms_find(const struct kallsyms *ks, uint64_t addr, bool text_only);

/* perfmap.c: /tmp/perf-PID.map of JIT compilers. */
struct perfmap_entry {
	uint64_t start;
	uint64_t size;
	char *name;
};

struct perfmap {
	int pid;
	size_t nr;
	struct perfmap_entry *entries;	/* sorted by start */
};

int perfmap_load(const char *path, int pid, struct perfmap **out);
void perfmap_free(struct perfmap *map);
const struct perfmap_entry *perfmap_find(const struct perfmap *map, uint64_t addr);

#endif /* WAITPROF_SYMBOLIZE_INTERNAL_H */
