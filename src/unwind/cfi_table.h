/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Compact x86-64 unwind tables compiled from an ELF file's call frame
 * information, a cache of them by build-id, and a user-space reference
 * walker that uses them the way the BPF walker will (docs/UNWIND.md).
 */
#ifndef WAITPROF_CFI_TABLE_H
#define WAITPROF_CFI_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cfi.h"
#include "stack_stop.h"

#define CFI_BUILD_ID_MAX	64
#define CFI_MAX_LOADS		16

/* What compiling one object found; all counts are FDE rows unless named. */
struct cfi_table_stats {
	uint32_t fdes;			/* FDEs used */
	uint32_t fdes_overlapping;	/* dropped: overlapping an earlier FDE */
	uint32_t fdes_bad;		/* dropped: malformed or unknown opcode */
	uint32_t raw_rows;		/* rows before merging */
	uint32_t rows;			/* rows in the table, gap markers included */
	uint32_t gaps;			/* CFI_CFA_NONE markers */
	uint32_t plt_rows;
	uint32_t signal_rows;
	uint32_t end_rows;
	uint32_t unsupported_rows;
	uint32_t rbp_undefined_rows;
	bool from_debug_frame;		/* .debug_frame of the file itself */
	bool from_debug_file;		/* .debug_frame of its separate debug file */
};

struct cfi_load {			/* a PT_LOAD segment */
	uint64_t vaddr;
	uint64_t offset;
	uint64_t filesz;
	bool exec;
};

struct cfi_table {
	uint8_t build_id[CFI_BUILD_ID_MAX];
	uint32_t build_id_len;
	uint64_t base;			/* vaddr of row pc 0 */
	struct cfi_row *rows;
	uint32_t nr_rows;
	uint32_t nr_loads;
	struct cfi_load loads[CFI_MAX_LOADS];
	struct cfi_table_stats stats;
};

/* Compiles the CFI of the ELF file open at fd (path is used only to find a
 * separate debug file and for messages; may be NULL). Returns 0 or -errno. */
int cfi_table_build_fd(int fd, const char *path, struct cfi_table **out);
int cfi_table_build(const char *path, struct cfi_table **out);
/* The same from an ELF image in memory (a process's [vdso]). */
int cfi_table_build_image(void *image, size_t size, struct cfi_table **out);
void cfi_table_free(struct cfi_table *table);

/* Row in force at ELF vaddr, or NULL before the first row / outside the
 * table. The search is bounded to CFI_SEARCH_STEPS, like the BPF one. */
const struct cfi_row *cfi_table_lookup(const struct cfi_table *table, uint64_t vaddr);

/* Load bias of a mapping of this object: runtime address = vaddr + bias.
 * Returns 0, or -ENOENT when no PT_LOAD holds file offset pgoff. */
int cfi_table_bias(const struct cfi_table *table, uint64_t start, uint64_t pgoff,
		   uint64_t *bias);

/* Bytes of heap the table holds. */
size_t cfi_table_size(const struct cfi_table *table);

/* Reads the GNU build-id note of an ELF fd; returns its length or -errno. */
int cfi_read_build_id(int fd, uint8_t *buf, size_t size);

/* In-memory cache of tables by build-id (by device/inode/size/mtime when a
 * file has no build-id). Owns the tables it returns. */
struct cfi_cache;
struct cfi_cache *cfi_cache_new(void);
void cfi_cache_free(struct cfi_cache *cache);
/* Table for the file at fd, built on first use. NULL on error (errno set);
 * a file without CFI gets an empty table, not an error. */
const struct cfi_table *cfi_cache_get(struct cfi_cache *cache, int fd, const char *path);
/* Table of an in-memory image (the [vdso]), kept by its build-id. */
const struct cfi_table *cfi_cache_get_image(struct cfi_cache *cache, void *image, size_t size);
uint32_t cfi_cache_builds(const struct cfi_cache *cache);	/* misses so far */
size_t cfi_cache_bytes(const struct cfi_cache *cache);
/* Mappings whose object was known by its identity: no file opened. */
uint64_t cfi_cache_hits(const struct cfi_cache *cache);

/* One executable file mapping of a process, for the reference walker. */
struct cfi_map {
	uint64_t start, end, pgoff;
	uint64_t bias;			/* runtime = vaddr + bias */
	const struct cfi_table *table;	/* NULL: no table (vdso, JIT, error) */
	char path[256];
};

struct cfi_proc_maps {
	struct cfi_map *maps;		/* executable mappings, sorted by start */
	size_t nr;
	struct { uint64_t start, end; } *all;	/* every mapping, for stack bounds */
	size_t nr_all;
};

/* Reads /proc/PID/maps, tables for its executable file mappings through
 * cache (files opened via /proc/PID/map_files). Returns 0 or -errno. */
int cfi_proc_maps_load(pid_t pid, struct cfi_cache *cache, struct cfi_proc_maps *out);
/* The same from maps already read (maps->pid is the live process): a
 * mapping read with its identity (proc_maps_parse with file_ids) whose
 * object the cache holds costs no file access. */
struct proc_maps;
int cfi_proc_maps_from(const struct proc_maps *maps, struct cfi_cache *cache,
		       struct cfi_proc_maps *out);
void cfi_proc_maps_free(struct cfi_proc_maps *pm);
/* End of the mapping holding sp (the stack's upper bound), or 0. */
uint64_t cfi_proc_stack_end(const struct cfi_proc_maps *pm, uint64_t sp);
const struct cfi_map *cfi_proc_find(const struct cfi_proc_maps *pm, uint64_t pc);

/* Rows of many tables in one array, as the cfi_rows BPF map holds them:
 * each table is placed once and keeps its place. */
struct cfi_pool_slot {
	const struct cfi_table *table;
	uint32_t first;
};

struct cfi_pool {
	struct cfi_row *rows;
	uint32_t nr, cap;
	struct cfi_pool_slot *slots;
	uint32_t nr_slots, cap_slots;
};

/* Index of t's first row in pool->rows, appending its rows on first use
 * (rows [old pool->nr, pool->nr) are then new). Returns 0 or -errno. */
int cfi_pool_place(struct cfi_pool *pool, const struct cfi_table *t, uint32_t *first);
void cfi_pool_free(struct cfi_pool *pool);

/* The cfi_procs value for pm, placing its tables in pool. Returns 0, or
 * -E2BIG when pm has more than CFI_PROC_MAX_MAPPINGS executable mappings
 * (out then holds the first ones). */
int cfi_proc_pack(const struct cfi_proc_maps *pm, struct cfi_pool *pool, struct cfi_proc *out);

struct cfi_regs {
	uint64_t rip, rsp, rbp;
};

/* Copies len bytes of the target's memory at addr; 0 or -errno. */
typedef int (*cfi_read_fn)(void *ctx, uint64_t addr, void *buf, size_t len);

struct cfi_unwind_result {
	uint32_t nr;			/* frames stored */
	enum cfi_stop stop;
	uint32_t reads;			/* memory reads made */
	uint32_t lookup_steps;		/* rows read by the binary searches, all frames */
};

/*
 * The reference walker: the BPF walker's own step (bpf/cfi_step.h) on the same data
 * (a cfi_procs value and the cfi_rows array). Stores up to max_frames pcs:
 * ips[0] = regs->rip, then return addresses as found on the stack (the
 * frame after a signal frame is the exact interrupted pc). Every read lies
 * inside [rsp, stack_end), the CFA grows strictly, and every stored pc
 * after the first lies in an executable mapping. Returns the frame count.
 */
uint32_t cfi_unwind_user(const struct cfi_regs *regs, uint64_t stack_end,
			 const struct cfi_proc *proc, const struct cfi_row *rows,
			 uint32_t nr_rows, cfi_read_fn read_mem, void *ctx,
			 uint64_t *ips, uint32_t max_frames, struct cfi_unwind_result *res);

/* Last row of rows[0..n) with pc <= key, in at most CFI_SEARCH_STEPS
 * steps; -1 when key precedes the first row. */
int64_t cfi_rows_search(const struct cfi_row *rows, uint32_t n, uint32_t key, uint32_t *steps);

#endif /* WAITPROF_CFI_TABLE_H */
