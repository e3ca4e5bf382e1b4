// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * DWARF through libdw: which CU holds an address (our own sorted index of CU
 * ranges, built once, since .debug_aranges is often missing), file:line from
 * the CU's line table, and the inline chain from one descent of the DIE tree
 * (the nesting of DW_TAG_inlined_subroutine DIEs that contain the address).
 */
#include <dwarf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MAX_SCOPE_DEPTH 64
#define MAX_CONTAINER_DEPTH 8

/* An address range, sorted by low; max_high makes overlaps searchable. */
struct addr_range {
	uint64_t low;
	uint64_t high;
	uint64_t max_high;	/* the highest end of this and all earlier ranges */
	size_t seq;		/* order of the DIEs, for ties */
};

/* One range of a CU. */
struct cu_entry {
	struct addr_range range;
	size_t info;		/* index into dwarf_index.infos */
};

/* One range of a top-level function of a CU. */
struct func_entry {
	struct addr_range range;
	Dwarf_Die die;
};

/* A CU and, built the first time an address falls in it, the ranges of
 * its functions: a binary search then replaces walking every DIE. */
struct cu_info {
	Dwarf_Die die;
	bool funcs_indexed;
	size_t nr_funcs;
	struct func_entry *funcs;
};

/* libdw 0.188 runs strlen over string sections: one that does not end in
 * NUL makes it read past the section (found by fuzz_elf). */
static bool string_sections_terminated(Elf *elf)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return false;
	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		const char *name;
		Elf_Data *data;
		GElf_Shdr shdr;
		size_t len;

		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type == SHT_NOBITS)
			continue;
		name = elf_strptr(elf, shstrndx, shdr.sh_name);
		if (!name)
			continue;
		len = strlen(name);
		if ((strncmp(name, ".debug_", 7) && strncmp(name, ".zdebug_", 8)) || len < 3 ||
		    strcmp(name + len - 3, "str"))
			continue;
		/* Compressed sections are checked as libdw will see them. */
		if (shdr.sh_flags & SHF_COMPRESSED)
			elf_compress(scn, 0, 0);
		else if (name[1] == 'z')
			elf_compress_gnu(scn, 0, 0);
		data = elf_getdata(scn, NULL);
		if (data && data->d_size &&
		    (!data->d_buf || ((const char *)data->d_buf)[data->d_size - 1] != '\0'))
			return false;
	}
	return true;
}

int dwarf_index_open(Elf *elf, struct dwarf_index *index)
{
	memset(index, 0, sizeof(*index));
	if (!string_sections_terminated(elf))
		return -EINVAL;
	index->dwarf = dwarf_begin_elf(elf, DWARF_C_READ, NULL);
	return index->dwarf ? 0 : -ENOENT;
}

void dwarf_index_close(struct dwarf_index *index)
{
	size_t i;

	for (i = 0; i < index->nr_infos; i++)
		free(index->infos[i].funcs);
	free(index->infos);
	free(index->cus);
	if (index->dwarf)
		dwarf_end(index->dwarf);
	memset(index, 0, sizeof(*index));
}

/* Grows *array (of elements of size) to hold one more; false on ENOMEM. */
static bool reserve(void **array, size_t nr, size_t *cap, size_t size)
{
	size_t new_cap;
	void *grown;

	if (nr < *cap)
		return true;
	new_cap = *cap ? *cap * 2 : 64;
	grown = realloc(*array, new_cap * size);
	if (!grown)
		return false;
	*array = grown;
	*cap = new_cap;
	return true;
}

/* Both entry types start with an addr_range: sort and search them alike. */
static int compare_range(const void *a, const void *b)
{
	const struct addr_range *x = a, *y = b;

	if (x->low != y->low)
		return x->low < y->low ? -1 : 1;
	/* The search walks backwards and takes the first range that holds
	 * the address: order ties so the first DIE is met first (gas emits
	 * one subprogram per alias of an assembly function). */
	return x->seq > y->seq ? -1 : x->seq < y->seq;
}

static void sort_ranges(void *entries, size_t nr, size_t size)
{
	uint64_t prev = 0;
	size_t i;

	if (!nr)
		return;
	qsort(entries, nr, size, compare_range);
	for (i = 0; i < nr; i++) {
		struct addr_range *r = (struct addr_range *)((char *)entries + i * size);

		r->max_high = r->high > prev ? r->high : prev;
		prev = r->max_high;
	}
}

/* The entry whose range holds addr (the one starting closest below it). */
static void *find_range(void *entries, size_t nr, size_t size, uint64_t addr)
{
	size_t lo = 0, hi = nr;
	ssize_t i;

#define RANGE_AT(i) ((struct addr_range *)((char *)entries + (i) * size))
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (RANGE_AT(mid)->low <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Ranges may enclose others (GCC's .text.unlikely and .text.startup
	 * parts): walk back while an earlier range reaches addr. */
	for (i = (ssize_t)lo - 1; i >= 0 && RANGE_AT(i)->max_high > addr; i--) {
		if (addr < RANGE_AT(i)->high)
			return RANGE_AT(i);
	}
	return NULL;
#undef RANGE_AT
}

static int build_index(struct dwarf_index *index)
{
	size_t cap_cus = 0, cap_infos = 0;
	Dwarf_CU *cu = NULL;
	Dwarf_Die cudie;
	uint8_t unit_type;

	index->indexed = true;
	while (dwarf_get_units(index->dwarf, cu, &cu, NULL, &unit_type, &cudie, NULL) == 0) {
		Dwarf_Addr base, low, high;
		ptrdiff_t offset = 0;

		if (unit_type != DW_UT_compile && unit_type != DW_UT_partial &&
		    unit_type != DW_UT_skeleton)
			continue;
		if (!reserve((void **)&index->infos, index->nr_infos, &cap_infos,
			     sizeof(*index->infos)))
			return -ENOMEM;
		memset(&index->infos[index->nr_infos], 0, sizeof(*index->infos));
		index->infos[index->nr_infos].die = cudie;
		while ((offset = dwarf_ranges(&cudie, offset, &base, &low, &high)) > 0) {
			if (low >= high)
				continue;
			if (!reserve((void **)&index->cus, index->nr_cus, &cap_cus,
				     sizeof(*index->cus)))
				return -ENOMEM;
			index->cus[index->nr_cus].range.low = low;
			index->cus[index->nr_cus].range.high = high;
			index->cus[index->nr_cus].info = index->nr_infos;
			index->cus[index->nr_cus].range.seq = index->nr_cus;
			index->nr_cus++;
		}
		index->nr_infos++;
	}
	sort_ranges(index->cus, index->nr_cus, sizeof(*index->cus));
	return 0;
}

static struct cu_info *find_cu(struct dwarf_index *index, uint64_t vaddr)
{
	struct cu_entry *entry;

	if (!index->indexed && build_index(index))
		return NULL;
	entry = find_range(index->cus, index->nr_cus, sizeof(*index->cus), vaddr);
	return entry ? &index->infos[entry->info] : NULL;
}

static bool is_scope(int tag)
{
	switch (tag) {
	case DW_TAG_subprogram:
	case DW_TAG_inlined_subroutine:
	case DW_TAG_entry_point:
	case DW_TAG_lexical_block:
	case DW_TAG_try_block:
	case DW_TAG_catch_block:
		return true;
	default:
		return false;
	}
}

static bool is_container(int tag)
{
	switch (tag) {
	case DW_TAG_namespace:
	case DW_TAG_class_type:
	case DW_TAG_structure_type:
	case DW_TAG_union_type:
	case DW_TAG_module:
		return true;
	default:
		return false;
	}
}

static bool is_function(int tag)
{
	return tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine ||
	       tag == DW_TAG_entry_point;
}

/* The child scope of parent that contains pc, looking through namespaces
 * and classes (C++ may nest definitions there). */
static bool child_scope(Dwarf_Die *parent, uint64_t pc, int container_depth, Dwarf_Die *out)
{
	Dwarf_Die child;

	if (dwarf_child(parent, &child) != 0)
		return false;
	do {
		int tag = dwarf_tag(&child);

		if (is_scope(tag)) {
			if (dwarf_haspc(&child, pc) == 1) {
				*out = child;
				return true;
			}
		} else if (is_container(tag) && container_depth < MAX_CONTAINER_DEPTH) {
			if (child_scope(&child, pc, container_depth + 1, out))
				return true;
		}
	} while (dwarf_siblingof(&child, &child) == 0);
	return false;
}

static const char *die_name(Dwarf_Die *die)
{
	Dwarf_Attribute attr;
	const char *name;

	name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr) ?:
				dwarf_attr_integrate(die, DW_AT_linkage_name, &attr));
	return name ?: dwarf_diename(die);
}

static void call_site(Dwarf_Die *die, Dwarf_Files *files, struct dwarf_frame *frame)
{
	Dwarf_Attribute attr;
	Dwarf_Word value;

	if (files && dwarf_formudata(dwarf_attr(die, DW_AT_call_file, &attr), &value) == 0)
		frame->file = dwarf_filesrc(files, value, NULL, NULL);
	if (dwarf_formudata(dwarf_attr(die, DW_AT_call_line, &attr), &value) == 0)
		frame->line = value;
	if (dwarf_formudata(dwarf_attr(die, DW_AT_call_column, &attr), &value) == 0)
		frame->column = value;
}

/* Fills frame's file:line for pc from the line table row at or below it. */
static void line_of(Dwarf_Die *cudie, uint64_t pc, struct dwarf_frame *frame)
{
	Dwarf_Line *line = dwarf_getsrc_die(cudie, pc);
	int lineno = 0, column = 0;

	if (!line)
		return;
	frame->file = dwarf_linesrc(line, NULL, NULL);
	if (!frame->file)
		return;
	dwarf_lineno(line, &lineno);
	dwarf_linecol(line, &column);
	frame->line = lineno > 0 ? lineno : 0;
	frame->column = column > 0 ? column : 0;
}

static int add_function_ranges(struct cu_info *info, size_t *cap, Dwarf_Die *die)
{
	Dwarf_Addr base, low, high;
	ptrdiff_t offset = 0;

	while ((offset = dwarf_ranges(die, offset, &base, &low, &high)) > 0) {
		if (low >= high)
			continue;
		if (!reserve((void **)&info->funcs, info->nr_funcs, cap, sizeof(*info->funcs)))
			return -ENOMEM;
		info->funcs[info->nr_funcs].range.low = low;
		info->funcs[info->nr_funcs].range.high = high;
		info->funcs[info->nr_funcs].die = *die;
		info->funcs[info->nr_funcs].range.seq = info->nr_funcs;
		info->nr_funcs++;
	}
	return 0;
}

/* The ranges of the functions directly under parent (or under its
 * namespaces and classes). */
static int collect_functions(struct cu_info *info, size_t *cap, Dwarf_Die *parent,
			     int container_depth)
{
	Dwarf_Die child;
	int err = 0;

	if (dwarf_child(parent, &child) != 0)
		return 0;
	do {
		int tag = dwarf_tag(&child);

		if (tag == DW_TAG_subprogram || tag == DW_TAG_entry_point)
			err = add_function_ranges(info, cap, &child);
		else if (is_container(tag) && container_depth < MAX_CONTAINER_DEPTH)
			err = collect_functions(info, cap, &child, container_depth + 1);
	} while (!err && dwarf_siblingof(&child, &child) == 0);
	return err;
}

/* The top-level function of the CU that holds pc. */
static bool cu_function(struct cu_info *info, uint64_t pc, Dwarf_Die *out)
{
	struct func_entry *func;

	if (!info->funcs_indexed) {
		size_t cap = 0;

		info->funcs_indexed = true;
		if (collect_functions(info, &cap, &info->die, 0)) {
			free(info->funcs);
			info->funcs = NULL;
			info->nr_funcs = 0;
			return false;
		}
		sort_ranges(info->funcs, info->nr_funcs, sizeof(*info->funcs));
	}
	func = find_range(info->funcs, info->nr_funcs, sizeof(*info->funcs), pc);
	if (!func)
		return false;
	*out = func->die;
	return true;
}

/* The chain of function DIEs that contain pc, innermost first, ending at
 * the first real (not inlined) function. Returns the count. */
static int function_chain(struct cu_info *info, uint64_t pc, Dwarf_Die *chain, int max)
{
	Dwarf_Die scopes[MAX_SCOPE_DEPTH];
	Dwarf_Die parent;
	int depth = 0, nr = 0, i;

	if (!cu_function(info, pc, &scopes[0]))
		return 0;
	parent = scopes[0];
	depth = 1;
	while (depth < MAX_SCOPE_DEPTH && child_scope(&parent, pc, 0, &scopes[depth])) {
		parent = scopes[depth];
		depth++;
	}
	for (i = depth - 1; i >= 0 && nr < max; i--) {
		int tag = dwarf_tag(&scopes[i]);

		if (!is_function(tag))
			continue;
		chain[nr++] = scopes[i];
		if (tag != DW_TAG_inlined_subroutine)
			break;
	}
	return nr;
}

int dwarf_lookup(struct dwarf_index *index, uint64_t vaddr, bool inlines,
		 struct dwarf_frame *frames, int max)
{
	Dwarf_Die chain[MAX_SCOPE_DEPTH], cudie;
	struct cu_info *cu;
	Dwarf_Files *files = NULL;
	Dwarf_Attribute attr;
	const char *comp_dir;
	int nr, i;

	if (!index->dwarf || max < 1)
		return 0;
	cu = find_cu(index, vaddr);
	if (!cu)
		return 0;
	cudie = cu->die;
	comp_dir = dwarf_formstring(dwarf_attr(&cudie, DW_AT_comp_dir, &attr));
	memset(frames, 0, sizeof(*frames) * max);

	line_of(&cudie, vaddr, &frames[0]);
	nr = function_chain(cu, vaddr, chain, MAX_SCOPE_DEPTH);
	/* eu-addr2line -i looks the inline chain up at the start of the line
	 * table row, which names the previous function for the padding after
	 * it: we stay at pc. */
	frames[0].comp_dir = comp_dir;
	if (nr == 0)
		return frames[0].file ? 1 : 0;
	if (!inlines) {
		/* One frame: the real function, at the line of pc. */
		frames[0].name = die_name(&chain[nr - 1]);
		frames[0].is_function = true;
		return 1;
	}
	if (nr > max)
		nr = max;
	if (nr > 1 && dwarf_getsrcfiles(&cudie, &files, NULL) != 0)
		files = NULL;
	for (i = 0; i < nr; i++) {
		frames[i].name = die_name(&chain[i]);
		frames[i].is_function = true;
		frames[i].comp_dir = comp_dir;
		if (i > 0)
			call_site(&chain[i - 1], files, &frames[i]);
	}
	return nr;
}
