/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A cached ELF object with its symbols and DWARF (module.c). Internal. */
#ifndef WAITPROF_SYMBOLIZE_MODULE_H
#define WAITPROF_SYMBOLIZE_MODULE_H

#include "internal.h"

struct module {
	struct elf_file *file;		/* NULL: could not be opened (negative entry) */
	int open_error;			/* errno of the failed open */
	struct elf_file *debug;		/* separate debug file, or NULL */
	bool debug_searched;
	int root_fd;			/* process root for debuglink, or -1 */

	/* How callers find the module again without opening the file. */
	uint8_t build_id_len;
	uint8_t build_id[SYM_BUILD_ID_MAX];
	uint32_t dev_major, dev_minor;	/* as /proc/PID/maps printed them */
	uint64_t inode;
	char *open_path;		/* for sym_elf: the path callers pass */

	struct elf_symtab funcs;
	struct elf_symtab objects;
	bool funcs_loaded, objects_loaded;
	bool symtab_missing;		/* names came from .dynsym only */
	struct dwarf_index dwarf;
	bool dwarf_loaded;
};

void module_free(struct module *mod);
/* The ELF that holds the symbols (the binary's .symtab, else the debug
 * file's, else the binary's .dynsym); loaded on first use. */
const struct elf_symbol *module_find_function(struct module *mod, const char *debug_dir,
					      uint64_t vaddr);
const struct elf_symbol *module_find_object(struct module *mod, const char *debug_dir,
					    uint64_t vaddr);
/* DWARF frames for vaddr; 0 when there is no DWARF for it. */
int module_dwarf_lookup(struct module *mod, const char *debug_dir, uint64_t vaddr,
			bool inlines, struct dwarf_frame *frames, int max);
/* The virtual address of a runtime address inside a mapping of the module;
 * with_bss also accepts the zero-filled tail of a segment. */
bool module_map_vaddr(const struct module *mod, const struct proc_map *map, uint64_t addr,
		      bool with_bss, uint64_t *vaddr);

#endif /* WAITPROF_SYMBOLIZE_MODULE_H */
