// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A cached ELF object: symbols, separate debug file and DWARF, each loaded
 * the first time something needs it. */
#include <stdlib.h>
#include <unistd.h>

#include "module.h"

void module_free(struct module *mod)
{
	if (!mod)
		return;
	dwarf_index_close(&mod->dwarf);
	elf_symtab_free(&mod->funcs);
	elf_symtab_free(&mod->objects);
	elf_file_close(mod->debug);
	elf_file_close(mod->file);
	if (mod->root_fd >= 0)
		close(mod->root_fd);
	free(mod->open_path);
	free(mod);
}

static struct elf_file *module_debug(struct module *mod, const char *debug_dir)
{
	if (!mod->debug_searched) {
		mod->debug_searched = true;
		mod->debug = debuginfo_find(mod->file, debug_dir, mod->root_fd);
	}
	return mod->debug;
}

static Elf *symbol_source(struct module *mod, const char *debug_dir)
{
	struct elf_file *debug;

	if (elf_has_symtab(mod->file->elf))
		return mod->file->elf;
	debug = module_debug(mod, debug_dir);
	if (debug && elf_has_symtab(debug->elf))
		return debug->elf;
	mod->symtab_missing = true;
	return mod->file->elf;
}

const struct elf_symbol *module_find_function(struct module *mod, const char *debug_dir,
					      uint64_t vaddr)
{
	if (!mod->file)
		return NULL;
	if (!mod->funcs_loaded) {
		mod->funcs_loaded = true;
		elf_symtab_load(symbol_source(mod, debug_dir), true, &mod->funcs);
	}
	return elf_symtab_find(&mod->funcs, vaddr);
}

const struct elf_symbol *module_find_object(struct module *mod, const char *debug_dir,
					    uint64_t vaddr)
{
	if (!mod->file)
		return NULL;
	if (!mod->objects_loaded) {
		mod->objects_loaded = true;
		elf_symtab_load(symbol_source(mod, debug_dir), false, &mod->objects);
	}
	return elf_symtab_find(&mod->objects, vaddr);
}

int module_dwarf_lookup(struct module *mod, const char *debug_dir, uint64_t vaddr,
			bool inlines, struct dwarf_frame *frames, int max)
{
	if (!mod->file)
		return 0;
	if (!mod->dwarf_loaded) {
		struct elf_file *debug;

		mod->dwarf_loaded = true;
		if (mod->file->has_debug_info) {
			dwarf_index_open(mod->file->elf, &mod->dwarf);
		} else {
			debug = module_debug(mod, debug_dir);
			if (debug && debug->has_debug_info)
				dwarf_index_open(debug->elf, &mod->dwarf);
		}
	}
	return dwarf_lookup(&mod->dwarf, vaddr, inlines, frames, max);
}

bool module_map_vaddr(const struct module *mod, const struct proc_map *map, uint64_t addr,
		      bool with_bss, uint64_t *vaddr)
{
	const struct elf_file *file = mod->file;
	uint64_t offset;
	size_t i;

	if (!file || addr < map->start)
		return false;
	offset = addr - map->start + map->pgoff;
	for (i = 0; i < file->nr_segments; i++) {
		const struct load_segment *seg = &file->segments[i];
		uint64_t size = seg->filesz;

		if (with_bss && seg->memsz > size)
			size = seg->memsz;
		if (offset >= seg->offset && offset - seg->offset < size) {
			*vaddr = seg->vaddr + (offset - seg->offset);
			return true;
		}
	}
	return false;
}
