/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * symbolize: addresses to names, for user space and the kernel.
 *
 * A library with no knowledge of BPF or of the waitprof CLI. Results are
 * owned by the symbolizer and stay valid until symbolizer_free(), so callers
 * may keep the pointers (each unique address is resolved once and cached).
 */
#ifndef WAITPROF_SYMBOLIZE_H
#define WAITPROF_SYMBOLIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SYM_BUILD_ID_MAX 20

/* One line of /proc/PID/maps, plus the build-id of the mapped file. */
struct proc_map {
	uint64_t start;		/* virtual address range [start, end) */
	uint64_t end;
	uint64_t pgoff;		/* file offset of start */
	uint64_t inode;
	uint32_t dev_major;
	uint32_t dev_minor;
	char perms[5];		/* "r-xp" */
	uint8_t build_id_len;	/* 0 when unknown */
	uint8_t build_id[SYM_BUILD_ID_MAX];
	char *path;		/* "/usr/lib/...", "[vdso]", "" for anonymous */
	/* Added later: the file's identity on disk when read through a
	 * file_ids cache (0 when unknown); not part of the recording. */
	uint64_t file_size;
	int64_t file_mtime_ns;
};

/* A process's memory maps, captured while it was alive. */
struct proc_maps {
	int pid;
	size_t nr;
	struct proc_map *maps;	/* sorted by start */
};

/* Reads /proc/PID/maps and the build-ids of the mapped files (through
 * /proc/PID/map_files or /proc/PID/root). NULL with errno set on failure. */
struct proc_maps *proc_maps_read(int pid);
void proc_maps_free(struct proc_maps *maps);

/*
 * Build-ids of the files mapped so far, by identity on disk (device, inode,
 * size, mtime), so that a process mapping known objects costs a stat per
 * file instead of an open, an ELF parse and the mmap/munmap pair (whose
 * TLB-shootdown IPIs land on the traced program's CPUs).
 */
struct file_ids;
struct file_ids_stats {
	uint64_t lookups;	/* file mappings looked up */
	uint64_t files_read;	/* ... whose build-id had to be read */
};
struct file_ids *file_ids_new(void);
void file_ids_free(struct file_ids *ids);
void file_ids_get_stats(const struct file_ids *ids, struct file_ids_stats *out);

/* The text of /proc/PID/maps, malloc'd and NUL-terminated; NULL with errno
 * set when the process is gone. */
char *proc_maps_text(int pid, size_t *len);
/* Parses maps text read from pid (modified in place); build-ids through
 * ids, which may be NULL. NULL with errno set on failure. */
struct proc_maps *proc_maps_parse(int pid, char *text, struct file_ids *ids);
/* Adds a mapping made after maps were read (a perf MMAP2 record): it
 * replaces what it overlaps, as mmap(MAP_FIXED) does; map->path is copied.
 * 0 or -ENOMEM (maps unchanged). */
int proc_maps_insert(struct proc_maps *maps, const struct proc_map *map);
/* The build-id of a mapping known without /proc/PID/maps (a perf MMAP2
 * record; the process may be gone), through ids: the file as the process
 * sees it, else at its path here if it is the mapped inode (any file there
 * when the inode is unknown, 0). */
void proc_map_identify(int pid, struct proc_map *map, struct file_ids *ids);
/* The mapping that holds addr, or NULL. */
const struct proc_map *proc_maps_find(const struct proc_maps *maps, uint64_t addr);

/* One frame of a symbolized address. An address inside inlined code yields
 * several frames, innermost first; all but the last have inlined = true. */
struct sym_frame {
	const char *name;	/* function; NULL when no symbol covers it */
	const char *file;	/* source file, NULL when unknown */
	unsigned int line;	/* 0 when unknown */
	bool inlined;
	const char *module;	/* path of the object, "[kernel]" or a module name */
	uint64_t offset;	/* address relative to the module (file offset for user code) */
	/* Added after the first contract; callers may ignore them. */
	unsigned int column;	/* 0 when unknown */
	const char *symbol;	/* ELF symbol covering the address (same for all
				 * frames of one address), NULL when none */
};

struct sym_result {
	size_t nr;		/* 0 when nothing at all is known */
	const struct sym_frame *frames;
};

struct symbolizer_opts {
	bool demangle;		/* C++ and Rust names */
	bool inlines;		/* expand DWARF inline chains */
	bool lines;		/* look up file:line */
	const char *debug_dir;	/* default "/usr/lib/debug" */
};

/* A symbolizer is not thread-safe: use one per thread. */
struct symbolizer;

struct symbolizer *symbolizer_new(const struct symbolizer_opts *opts);
void symbolizer_free(struct symbolizer *sym);

/* A user address of a process, through its captured maps. Returns 0 and
 * fills out (possibly with nr = 0 for an unmapped address); a negative errno
 * only for hard failures (out of memory). Never crashes on bad files. */
int sym_user(struct symbolizer *sym, const struct proc_maps *maps,
	     uint64_t addr, struct sym_result *out);

/* A kernel address, through /proc/kallsyms (with module names). */
int sym_kernel(struct symbolizer *sym, uint64_t addr, struct sym_result *out);

/* An address in an ELF file's own virtual address space (as eu-addr2line -e). */
int sym_elf(struct symbolizer *sym, const char *path, uint64_t addr,
	    struct sym_result *out);

/* A data address (e.g. a global pthread_mutex_t in .data/.bss) to the name of
 * the variable that holds it; *name = NULL when none covers it. */
int sym_data(struct symbolizer *sym, const struct proc_maps *maps,
	     uint64_t addr, const char **name, uint64_t *var_offset);

/* Objects whose functions were looked up but that have no symbol table,
 * neither in the file nor in a separate debug file (local, or from
 * debuginfod with DEBUGINFOD_URLS): their names are from .dynsym only
 * (exported functions), static functions print as module+offset. fn is
 * called once per object. */
typedef void (*sym_missing_fn)(void *ctx, const char *path, const uint8_t *build_id,
			       size_t build_id_len);
void sym_each_missing_symbols(struct symbolizer *sym, sym_missing_fn fn, void *ctx);

/* Formats a frame's location as "name" or "module+0xOFF" into buf (never
 * prints the nearest unrelated symbol). Returns buf. */
const char *sym_frame_label(const struct sym_frame *frame, char *buf, size_t size);

/* Loads kernel symbols from a kallsyms-format file (default /proc/kallsyms,
 * which sym_kernel reads on first use). Negative errno on failure. */
int sym_kernel_load(struct symbolizer *sym, const char *kallsyms_path);

/* The name of the kernel symbol covering addr, function or variable (data
 * symbols are in kallsyms with CONFIG_KALLSYMS_ALL), without building
 * frames. NULL when none covers addr. */
const char *sym_kernel_name(struct symbolizer *sym, uint64_t addr, uint64_t *sym_offset);

/* sym_data for an address in an ELF file's own address space. */
int sym_elf_data(struct symbolizer *sym, const char *path, uint64_t addr, const char **name,
		 uint64_t *var_offset);

/* The bitness of an ELF file (32 or 64), 0 when it is not a readable ELF
 * file; errmsg (if not NULL) gets a static one-line reason. */
int sym_elf_class(struct symbolizer *sym, const char *path, const char **errmsg);

#endif /* WAITPROF_SYMBOLIZE_H */
