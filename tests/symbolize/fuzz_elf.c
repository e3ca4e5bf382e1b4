// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer harness: an arbitrary byte string as an ELF image through every
 * parser of the symbolizer (headers, segments, notes, debuglink, symbol
 * tables, DWARF CU index, lines and inline scopes).
 * Build: CC=clang CXX=clang++ cmake -DWAITPROF_FUZZ=ON ...; run: ./fuzz_elf -max_total_time=300 CORPUS
 */
#include <stdint.h>
#include <stdlib.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dwarf_frame frames[16];
	struct elf_symtab funcs, objects;
	struct dwarf_index dwarf;
	struct elf_file *file;
	uint64_t vaddr, offset;
	size_t i;

	if (elf_file_open_memory(data, size, "fuzz", &file))
		return 0;
	elf_symtab_load(file->elf, true, &funcs);
	elf_symtab_load(file->elf, false, &objects);
	for (i = 0; i < funcs.nr && i < 64; i++) {
		elf_symtab_find(&funcs, funcs.syms[i].addr + 1);
		free(demangle(funcs.syms[i].name));
	}
	elf_symtab_find(&objects, 0x4000);
	if (dwarf_index_open(file->elf, &dwarf) == 0) {
		for (i = 0; i < file->nr_segments && i < 8; i++) {
			vaddr = file->segments[i].vaddr;
			dwarf_lookup(&dwarf, vaddr, true, frames, 16);
			dwarf_lookup(&dwarf, vaddr + 0x10, false, frames, 16);
			elf_file_vaddr_to_offset(file, vaddr, &offset);
			elf_file_offset_to_vaddr(file, file->segments[i].offset, &vaddr);
		}
		dwarf_index_close(&dwarf);
	}
	elf_symtab_free(&funcs);
	elf_symtab_free(&objects);
	elf_file_close(file);
	return 0;
}
