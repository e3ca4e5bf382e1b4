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

struct cu_entry {
	struct cu_range range;
	uint64_t max_high;	/* the highest end of this and all earlier ranges */
	Dwarf_Die die;
};

int dwarf_index_open(Elf *elf, struct dwarf_index *index)
{
	memset(index, 0, sizeof(*index));
	index->dwarf = dwarf_begin_elf(elf, DWARF_C_READ, NULL);
	return index->dwarf ? 0 : -ENOENT;
}

void dwarf_index_close(struct dwarf_index *index)
{
	free(index->cus);
	if (index->dwarf)
		dwarf_end(index->dwarf);
	memset(index, 0, sizeof(*index));
}

static int compare_cu(const void *a, const void *b)
{
	const struct cu_entry *x = a, *y = b;

	if (x->range.low != y->range.low)
		return x->range.low < y->range.low ? -1 : 1;
	return x->range.high < y->range.high ? -1 : x->range.high > y->range.high;
}

static int add_cu(struct cu_entry **cus, size_t *nr, size_t *cap, Dwarf_Die *cudie,
		  uint64_t low, uint64_t high)
{
	if (low >= high)
		return 0;
	if (*nr == *cap) {
		size_t new_cap = *cap ? *cap * 2 : 256;
		struct cu_entry *grown = realloc(*cus, new_cap * sizeof(**cus));

		if (!grown)
			return -ENOMEM;
		*cus = grown;
		*cap = new_cap;
	}
	(*cus)[*nr].range.low = low;
	(*cus)[*nr].range.high = high;
	(*cus)[*nr].range.cu_offset = dwarf_dieoffset(cudie);
	(*cus)[*nr].die = *cudie;
	(*nr)++;
	return 0;
}

static int build_index(struct dwarf_index *index)
{
	struct cu_entry *cus = NULL;
	size_t nr = 0, cap = 0;
	Dwarf_CU *cu = NULL;
	Dwarf_Die cudie;
	uint8_t unit_type;
	int err = 0;

	index->indexed = true;
	while (dwarf_get_units(index->dwarf, cu, &cu, NULL, &unit_type, &cudie, NULL) == 0) {
		Dwarf_Addr base, low, high;
		ptrdiff_t offset = 0;

		if (unit_type != DW_UT_compile && unit_type != DW_UT_partial &&
		    unit_type != DW_UT_skeleton)
			continue;
		while ((offset = dwarf_ranges(&cudie, offset, &base, &low, &high)) > 0) {
			err = add_cu(&cus, &nr, &cap, &cudie, low, high);
			if (err)
				goto out;
		}
	}
	if (nr)
		if (nr)
		qsort(cus, nr, sizeof(*cus), compare_cu);
	for (size_t i = 0; i < nr; i++) {
		uint64_t prev = i ? cus[i - 1].max_high : 0;

		cus[i].max_high = cus[i].range.high > prev ? cus[i].range.high : prev;
	}
out:
	if (err) {
		free(cus);
		return err;
	}
	index->cus = (struct cu_range *)cus;
	index->nr_cus = nr;
	return 0;
}

static const struct cu_entry *find_cu(struct dwarf_index *index, uint64_t vaddr)
{
	const struct cu_entry *cus;
	size_t lo = 0, hi;
	ssize_t i;

	if (!index->indexed && build_index(index))
		return NULL;
	cus = (const struct cu_entry *)index->cus;
	hi = index->nr_cus;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cus[mid].range.low <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* A CU's ranges may enclose other CUs' (GCC's .text.unlikely and
	 * .text.startup parts): walk back while an earlier range reaches vaddr. */
	for (i = (ssize_t)lo - 1; i >= 0 && cus[i].max_high > vaddr; i--) {
		if (vaddr < cus[i].range.high)
			return &cus[i];
	}
	return NULL;
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

/* Fills frame's file:line for pc; *row_addr gets the address of the line
 * table row (pc when there is none). */
static void line_of(Dwarf_Die *cudie, uint64_t pc, struct dwarf_frame *frame,
		    uint64_t *row_addr)
{
	Dwarf_Line *line = dwarf_getsrc_die(cudie, pc);
	int lineno = 0, column = 0;
	Dwarf_Addr addr;

	*row_addr = pc;
	if (!line)
		return;
	if (dwarf_lineaddr(line, &addr) == 0)
		*row_addr = addr;
	frame->file = dwarf_linesrc(line, NULL, NULL);
	if (!frame->file)
		return;
	dwarf_lineno(line, &lineno);
	dwarf_linecol(line, &column);
	frame->line = lineno > 0 ? lineno : 0;
	frame->column = column > 0 ? column : 0;
}

/* The chain of function DIEs that contain pc, innermost first, ending at
 * the first real (not inlined) function. Returns the count. */
static int function_chain(Dwarf_Die *cudie, uint64_t pc, Dwarf_Die *chain, int max)
{
	Dwarf_Die scopes[MAX_SCOPE_DEPTH];
	Dwarf_Die parent = *cudie;
	int depth = 0, nr = 0, i;

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
	const struct cu_entry *cu;
	Dwarf_Files *files = NULL;
	Dwarf_Attribute attr;
	const char *comp_dir;
	uint64_t row_addr;
	int nr, i;

	if (!index->dwarf || max < 1)
		return 0;
	cu = find_cu(index, vaddr);
	if (!cu)
		return 0;
	cudie = cu->die;
	comp_dir = dwarf_formstring(dwarf_attr(&cudie, DW_AT_comp_dir, &attr));
	memset(frames, 0, sizeof(*frames) * max);

	line_of(&cudie, vaddr, &frames[0], &row_addr);
	nr = function_chain(&cudie, vaddr, chain, MAX_SCOPE_DEPTH);
	/* eu-addr2line -i looks the inline chain up at row_addr, which names
	 * the previous function for the padding after it: we stay at pc. */
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
