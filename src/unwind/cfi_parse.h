/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Internal to cfi_table.c and cfi_parse.c: the DWARF CFI parser's output. */
#ifndef WAITPROF_CFI_PARSE_H
#define WAITPROF_CFI_PARSE_H

#include "cfi_table.h"

/* A section's bytes and the address they load at (for pc-relative pointers). */
struct cfi_section {
	const uint8_t *data;
	size_t size;
	uint64_t vaddr;
	bool eh;		/* .eh_frame (vs .debug_frame) encoding */
};

/* A row before packing: absolute vaddr. */
struct cfi_raw_row {
	uint64_t pc;
	struct cfi_row row;
};

struct cfi_fde_span {
	uint64_t start, end;
	uint32_t first, nr;		/* raw rows */
	uint32_t order;			/* source order: .eh_frame wins ties */
};

struct cfi_builder {
	struct cfi_raw_row *raw;
	size_t nr_raw, cap_raw;
	struct cfi_fde_span *spans;
	size_t nr_spans, cap_spans;
	struct cfi_table_stats *stats;
};

/* Adds every FDE of sec to b (rows and spans); malformed entries are
 * counted in b->stats and skipped. Returns 0 or -ENOMEM. */
int cfi_parse_section(struct cfi_builder *b, const struct cfi_section *sec);

#endif /* WAITPROF_CFI_PARSE_H */
