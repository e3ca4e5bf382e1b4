/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Loads the CFI unwind tables (src/unwind/cfi_table.c) of traced processes into
 * the BPF maps the stack walker reads (bpf/unwind_cfi.bpf.h). Tables are
 * built once per object (by build-id) and placed once in the shared row
 * array; each process gets its list of mappings.
 */
#ifndef WAITPROF_UNWIND_LOADER_H
#define WAITPROF_UNWIND_LOADER_H

#include <stddef.h>
#include <stdint.h>

struct bpf_map;
struct recording;
struct unwind_loader;

/* The row budget is the capacity of the rows map. */
struct unwind_loader *unwind_loader_new(struct bpf_map *rows, struct bpf_map *procs);
void unwind_loader_free(struct unwind_loader *l);
/* (Re)loads the tables of the process maps were read from (maps->pid);
 * 0 or a negative errno (process gone, ...). */
struct proc_maps;
int unwind_loader_load(struct unwind_loader *l, const struct proc_maps *maps);
/* The name of an unwinder counter (enum unwind_counter in bpf/stack.h), in
 * buf when it has to be made. */
const char *unwind_counter_name(unsigned int id, char *buf, size_t len);
/* Adds the loader's figures to the recording's counters. */
void unwind_loader_report(const struct unwind_loader *l, struct recording *rec);

#endif
