// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The caching front of the symbolizer: finds (or opens) the module of an
 * address, resolves it once, and keeps the frames until symbolizer_free().
 *
 * Names: DWARF's (linkage name, else name) where DWARF has a function that
 * contains the address, else the ELF symbol that covers it (see elf_syms.c),
 * else none: callers then print module+0xOFFSET (sym_frame_label), never the
 * nearest unrelated symbol.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache.h"
#include "module.h"

#define MAX_FRAMES 64

struct symbolizer {
	struct symbolizer_opts opts;
	char *debug_dir;

	size_t nr_modules, cap_modules;
	struct module **modules;
	struct module *last_elf;	/* sym_elf's most recent module */

	struct result_cache results;
	struct string_pool strings;

	struct kallsyms *kallsyms;
	bool kallsyms_tried;
	char kernel_owner;		/* the result-cache owner of kernel addresses */

	size_t nr_perfmaps;
	struct perfmap **perfmaps;	/* one per pid, NULL entries for "none" */
	int *perfmap_pids;
};

void sym_each_missing_symbols(struct symbolizer *sym, sym_missing_fn fn, void *ctx)
{
	size_t i;

	for (i = 0; i < sym->nr_modules; i++) {
		const struct module *mod = sym->modules[i];

		if (mod->file && mod->symtab_missing)
			fn(ctx, mod->file->path, mod->file->build_id, mod->file->build_id_len);
	}
}

struct symbolizer *symbolizer_new(const struct symbolizer_opts *opts)
{
	struct symbolizer *sym = calloc(1, sizeof(*sym));

	if (!sym)
		return NULL;
	if (opts)
		sym->opts = *opts;
	sym->debug_dir = strdup(sym->opts.debug_dir ? sym->opts.debug_dir : "/usr/lib/debug");
	if (!sym->debug_dir) {
		free(sym);
		return NULL;
	}
	sym->opts.debug_dir = sym->debug_dir;
	return sym;
}

void symbolizer_free(struct symbolizer *sym)
{
	size_t i;

	if (!sym)
		return;
	for (i = 0; i < sym->nr_modules; i++)
		module_free(sym->modules[i]);
	free(sym->modules);
	for (i = 0; i < sym->nr_perfmaps; i++)
		perfmap_free(sym->perfmaps[i]);
	free(sym->perfmaps);
	free(sym->perfmap_pids);
	kallsyms_free(sym->kallsyms);
	result_cache_free(&sym->results);
	string_pool_free(&sym->strings);
	free(sym->debug_dir);
	free(sym);
}

static int add_module(struct symbolizer *sym, struct module *mod)
{
	if (sym->nr_modules == sym->cap_modules) {
		size_t cap = sym->cap_modules ? sym->cap_modules * 2 : 32;
		struct module **grown = realloc(sym->modules, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		sym->modules = grown;
		sym->cap_modules = cap;
	}
	sym->modules[sym->nr_modules++] = mod;
	return 0;
}

static struct module *new_module(struct elf_file *file, int open_error)
{
	struct module *mod = calloc(1, sizeof(*mod));

	if (!mod) {
		elf_file_close(file);
		return NULL;
	}
	mod->file = file;
	mod->open_error = open_error;
	mod->root_fd = -1;
	if (file) {
		mod->build_id_len = file->build_id_len;
		memcpy(mod->build_id, file->build_id, file->build_id_len);
	}
	return mod;
}

static struct module *find_by_build_id(struct symbolizer *sym, const uint8_t *id, size_t len)
{
	size_t i;

	for (i = 0; len && i < sym->nr_modules; i++) {
		struct module *mod = sym->modules[i];

		if (mod->file && mod->build_id_len == len && !memcmp(mod->build_id, id, len))
			return mod;
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Modules of processes                                                */

static bool map_matches(const struct module *mod, const struct proc_map *map)
{
	if (map->build_id_len)
		return mod->build_id_len == map->build_id_len &&
		       !memcmp(mod->build_id, map->build_id, map->build_id_len);
	return mod->inode && mod->inode == map->inode && mod->dev_major == map->dev_major &&
	       mod->dev_minor == map->dev_minor;
}

static bool build_id_ok(const struct elf_file *file, const struct proc_map *map)
{
	if (!map->build_id_len)
		return true;
	return file->build_id_len == map->build_id_len &&
	       !memcmp(file->build_id, map->build_id, map->build_id_len);
}

/* The path of a mapping without the " (deleted)" the kernel appends. */
static void map_path(const struct proc_map *map, char *buf, size_t size)
{
	size_t len = strlen(map->path);
	const char *suffix = " (deleted)";

	if (len > strlen(suffix) && !strcmp(map->path + len - strlen(suffix), suffix))
		len -= strlen(suffix);
	snprintf(buf, size, "%.*s", (int)len, map->path);
}

static struct elf_file *open_map_file(struct symbolizer *sym, const struct proc_maps *maps,
				      const struct proc_map *map, int *root_fd)
{
	struct elf_file *file = NULL;
	char path[4096], root[64];
	int fd;

	map_path(map, path, sizeof(path));
	/* The live process: its own view of the file. */
	fd = proc_map_open(maps->pid, map);
	if (fd >= 0 && !elf_file_open_fd(fd, path, &file)) {
		if (build_id_ok(file, map)) {
			snprintf(root, sizeof(root), "/proc/%d/root", maps->pid);
			*root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
			return file;
		}
		elf_file_close(file);
	}
	/* The process is gone: the same path on this host, if it is the
	 * same build, else the debug file with that build-id. */
	if (!elf_file_open_path(path, &file)) {
		if (build_id_ok(file, map))
			return file;
		elf_file_close(file);
	}
	if (map->build_id_len &&
	    !debuginfo_build_id_path(sym->debug_dir, map->build_id, map->build_id_len, path,
				     sizeof(path)) &&
	    !elf_file_open_path(path, &file))
		return file;
	return NULL;
}

static struct module *module_of_map(struct symbolizer *sym, const struct proc_maps *maps,
				    const struct proc_map *map)
{
	struct elf_file *file;
	struct module *mod;
	int root_fd = -1;
	size_t i;

	for (i = 0; i < sym->nr_modules; i++) {
		if (map_matches(sym->modules[i], map))
			return sym->modules[i];
	}
	file = open_map_file(sym, maps, map, &root_fd);
	if (file && (mod = find_by_build_id(sym, file->build_id, file->build_id_len))) {
		elf_file_close(file);	/* the same build under another path */
		if (root_fd >= 0)
			close(root_fd);
		return mod;
	}
	mod = new_module(file, file ? 0 : ENOENT);
	if (!mod) {
		if (root_fd >= 0)
			close(root_fd);
		return NULL;
	}
	mod->root_fd = root_fd;
	mod->inode = map->inode;
	mod->dev_major = map->dev_major;
	mod->dev_minor = map->dev_minor;
	if (!file && map->build_id_len) {
		mod->build_id_len = map->build_id_len;
		memcpy(mod->build_id, map->build_id, map->build_id_len);
	}
	if (add_module(sym, mod)) {
		module_free(mod);
		return NULL;
	}
	return mod;
}

/* The vdso is not a file: read it from the live process. */
static struct module *module_of_vdso(struct symbolizer *sym, const struct proc_maps *maps,
				     const struct proc_map *map)
{
	struct elf_file *file = NULL;
	struct module *mod;
	size_t size = map->end - map->start;
	char path[64];
	void *image;
	int fd;

	if (size == 0 || size > (1 << 20))
		return NULL;
	snprintf(path, sizeof(path), "/proc/%d/mem", maps->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	image = malloc(size);
	if (image && pread(fd, image, size, map->start) == (ssize_t)size)
		elf_file_open_memory(image, size, "[vdso]", &file);
	free(image);
	close(fd);
	if (!file)
		return NULL;
	mod = find_by_build_id(sym, file->build_id, file->build_id_len);
	if (mod) {
		elf_file_close(file);
		return mod;
	}
	mod = new_module(file, 0);
	if (mod && add_module(sym, mod)) {
		module_free(mod);
		mod = NULL;
	}
	return mod;
}

/* ------------------------------------------------------------------ */
/* Building frames                                                     */

static const char *pooled(struct symbolizer *sym, const char *s)
{
	return s ? string_pool_add(&sym->strings, s) : NULL;
}

static const char *display_name(struct symbolizer *sym, const char *name)
{
	char *demangled;
	const char *out;

	if (!name || !sym->opts.demangle)
		return name;
	demangled = demangle(name);
	if (!demangled)
		return name;
	out = pooled(sym, demangled);
	free(demangled);
	return out ?: name;
}

static const char *source_path(struct symbolizer *sym, const char *file, const char *comp_dir)
{
	char buf[4096];

	if (!file)
		return NULL;
	if (file[0] == '/' || !comp_dir || !*comp_dir)
		return file;
	snprintf(buf, sizeof(buf), "%s/%s", comp_dir, file);
	return pooled(sym, buf);
}

static int store(struct symbolizer *sym, const void *owner, uint64_t key,
		 struct sym_frame *frames, size_t nr, struct sym_result *out)
{
	struct cached_result *slot;

	if (result_cache_add(&sym->results, owner, key, frames, nr, &slot)) {
		free(frames);
		return -ENOMEM;
	}
	out->nr = slot->nr;
	out->frames = slot->frames;
	return 0;
}

/* Resolves vaddr in mod; module_name and offset go into every frame. */
static int resolve_in_module(struct symbolizer *sym, struct module *mod, uint64_t vaddr,
			     const char *module_name, uint64_t offset, struct sym_result *out)
{
	struct dwarf_frame dwarf[MAX_FRAMES];
	const struct elf_symbol *symbol;
	struct cached_result *hit;
	struct sym_frame *frames;
	const char *symbol_name;
	int nr = 0, i;

	hit = result_cache_find(&sym->results, mod, vaddr);
	if (hit) {
		out->nr = hit->nr;
		out->frames = hit->frames;
		return 0;
	}
	symbol = module_find_function(mod, sym->debug_dir, vaddr);
	symbol_name = display_name(sym, symbol ? symbol->name : NULL);
	if (sym->opts.lines || sym->opts.inlines)
		nr = module_dwarf_lookup(mod, sym->debug_dir, vaddr, sym->opts.inlines, dwarf,
					 MAX_FRAMES);
	frames = calloc(nr ? nr : 1, sizeof(*frames));
	if (!frames)
		return -ENOMEM;
	if (nr == 0) {	/* no DWARF: the symbol alone */
		memset(dwarf, 0, sizeof(dwarf[0]));
		nr = 1;
	}
	for (i = 0; i < nr; i++) {
		struct sym_frame *frame = &frames[i];

		frame->name = dwarf[i].is_function ? display_name(sym, dwarf[i].name) : symbol_name;
		if (sym->opts.lines && dwarf[i].file) {
			frame->file = source_path(sym, dwarf[i].file, dwarf[i].comp_dir);
			frame->line = dwarf[i].line;
			frame->column = dwarf[i].column;
		}
		frame->inlined = i + 1 < nr;
		frame->module = module_name;
		frame->offset = offset;
		frame->symbol = symbol_name;
	}
	return store(sym, mod, vaddr, frames, nr, out);
}

/* A frame with what little is known. owner must be unique to what the key
 * means (a module's pooled name for offsets, the perf map for addresses). */
static int unknown_frame(struct symbolizer *sym, const void *owner, uint64_t key,
			 const char *module_name, uint64_t offset, const char *name,
			 struct sym_result *out)
{
	struct cached_result *hit;
	struct sym_frame *frame;

	if (!owner)
		return -ENOMEM;
	hit = result_cache_find(&sym->results, owner, key);
	if (hit) {
		out->nr = hit->nr;
		out->frames = hit->frames;
		return 0;
	}
	frame = calloc(1, sizeof(*frame));

	if (!frame)
		return -ENOMEM;
	frame->name = name;
	frame->symbol = name;
	frame->module = module_name;
	frame->offset = offset;
	return store(sym, owner, key, frame, 1, out);
}

/* ------------------------------------------------------------------ */
/* JIT code                                                            */

static struct perfmap *perfmap_of(struct symbolizer *sym, int pid)
{
	struct perfmap *map = NULL;
	char path[64];
	size_t i;

	for (i = 0; i < sym->nr_perfmaps; i++) {
		if (sym->perfmap_pids[i] == pid)
			return sym->perfmaps[i];
	}
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", pid);
	perfmap_load(path, pid, &map);
	struct perfmap **maps = realloc(sym->perfmaps, (i + 1) * sizeof(*maps));
	int *pids = realloc(sym->perfmap_pids, (i + 1) * sizeof(*pids));

	if (maps)
		sym->perfmaps = maps;
	if (pids)
		sym->perfmap_pids = pids;
	if (!maps || !pids) {
		perfmap_free(map);
		return NULL;
	}
	sym->perfmaps[i] = map;
	sym->perfmap_pids[i] = pid;
	sym->nr_perfmaps++;
	return map;
}

static int resolve_jit(struct symbolizer *sym, const struct proc_maps *maps, uint64_t addr,
		       struct sym_result *out)
{
	const struct perfmap_entry *entry;
	struct perfmap *map = perfmap_of(sym, maps->pid);
	struct cached_result *hit;

	out->nr = 0;
	out->frames = NULL;
	if (!map || !(entry = perfmap_find(map, addr)))
		return 0;
	hit = result_cache_find(&sym->results, map, addr);
	if (hit) {
		out->nr = hit->nr;
		out->frames = hit->frames;
		return 0;
	}
	return unknown_frame(sym, map, addr, "[jit]", addr - entry->start,
			     pooled(sym, entry->name), out);
}

/* ------------------------------------------------------------------ */
/* Public entry points                                                 */

int sym_user(struct symbolizer *sym, const struct proc_maps *maps, uint64_t addr,
	     struct sym_result *out)
{
	const struct proc_map *map = proc_maps_find(maps, addr);
	const char *module_name;
	struct module *mod;
	uint64_t offset, vaddr;

	out->nr = 0;
	out->frames = NULL;
	if (!map || map->path[0] != '/') {
		if (map && !strcmp(map->path, "[vdso]"))
			goto vdso;
		return resolve_jit(sym, maps, addr, out);
	}
	offset = addr - map->start + map->pgoff;
	module_name = pooled(sym, map->path);
	mod = module_of_map(sym, maps, map);
	if (!module_name)
		return -ENOMEM;
	if (!mod || !mod->file || !module_map_vaddr(mod, map, addr, false, &vaddr))
		return unknown_frame(sym, module_name, offset, module_name, offset, NULL, out);
	return resolve_in_module(sym, mod, vaddr, module_name, offset, out);

vdso:
	offset = addr - map->start;
	mod = module_of_vdso(sym, maps, map);
	if (!mod || !module_map_vaddr(mod, map, addr, false, &vaddr))
		return unknown_frame(sym, pooled(sym, "[vdso]"), offset, "[vdso]", offset, NULL,
				     out);
	return resolve_in_module(sym, mod, vaddr, "[vdso]", offset, out);
}

static struct module *module_of_path(struct symbolizer *sym, const char *path)
{
	struct elf_file *file = NULL;
	struct module *mod;
	int err;
	size_t i;

	if (sym->last_elf && !strcmp(sym->last_elf->open_path, path))
		return sym->last_elf;
	for (i = 0; i < sym->nr_modules; i++) {
		mod = sym->modules[i];
		if (mod->open_path && !strcmp(mod->open_path, path))
			return sym->last_elf = mod;
	}
	err = elf_file_open_path(path, &file);
	mod = file ? find_by_build_id(sym, file->build_id, file->build_id_len) : NULL;
	if (mod && !mod->open_path) {	/* opened for a process: adopt it */
		elf_file_close(file);
		mod->open_path = strdup(path);
		return mod->open_path ? (sym->last_elf = mod) : NULL;
	}
	/* A new module, or the same build under a second path (a symlink):
	 * then the file is kept twice, which is rare and harmless. */
	mod = new_module(file, err ? -err : 0);
	if (!mod)
		return NULL;
	mod->open_path = strdup(path);
	if (!mod->open_path || add_module(sym, mod)) {
		module_free(mod);
		return NULL;
	}
	return sym->last_elf = mod;
}

int sym_elf(struct symbolizer *sym, const char *path, uint64_t addr, struct sym_result *out)
{
	struct module *mod = module_of_path(sym, path);
	uint64_t offset = addr;

	out->nr = 0;
	out->frames = NULL;
	if (!mod)
		return -ENOMEM;
	if (!mod->file)
		return -mod->open_error;
	elf_file_vaddr_to_offset(mod->file, addr, &offset);
	return resolve_in_module(sym, mod, addr, pooled(sym, path), offset, out);
}

int sym_elf_data(struct symbolizer *sym, const char *path, uint64_t addr, const char **name,
		 uint64_t *var_offset)
{
	struct module *mod = module_of_path(sym, path);
	const struct elf_symbol *object;

	*name = NULL;
	if (!mod)
		return -ENOMEM;
	if (!mod->file)
		return -mod->open_error;
	object = module_find_object(mod, sym->debug_dir, addr);
	if (object) {
		*name = display_name(sym, object->name);
		if (var_offset)
			*var_offset = addr - object->addr;
	}
	return 0;
}

int sym_elf_class(struct symbolizer *sym, const char *path, const char **errmsg)
{
	struct module *mod = module_of_path(sym, path);

	if (!mod) {
		if (errmsg)
			*errmsg = strerror(ENOMEM);
		return 0;
	}
	if (!mod->file) {
		if (errmsg)
			*errmsg = mod->open_error == ENOEXEC ? "not an ELF file"
							     : strerror(mod->open_error);
		return 0;
	}
	return mod->file->elf_class == ELFCLASS32 ? 32 : 64;
}

int sym_data(struct symbolizer *sym, const struct proc_maps *maps, uint64_t addr,
	     const char **name, uint64_t *var_offset)
{
	const struct proc_map *map = proc_maps_find(maps, addr);
	const struct elf_symbol *object;
	struct module *mod;
	uint64_t vaddr;

	*name = NULL;
	if (var_offset)
		*var_offset = 0;
	if (!map)
		return 0;
	/* .bss beyond the file's last page is an anonymous mapping right
	 * after the file's own: count from the file's mapping. */
	if (map->path[0] != '/' && map > maps->maps && map[-1].end == map->start &&
	    map[-1].path[0] == '/')
		map--;
	if (map->path[0] != '/')
		return 0;
	mod = module_of_map(sym, maps, map);
	if (!mod || !module_map_vaddr(mod, map, addr, true, &vaddr))
		return 0;
	object = module_find_object(mod, sym->debug_dir, vaddr);
	if (!object)
		return 0;
	*name = display_name(sym, object->name);
	if (var_offset)
		*var_offset = vaddr - object->addr;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The kernel                                                          */

int sym_kernel_load(struct symbolizer *sym, const char *kallsyms_path)
{
	struct kallsyms *ks;
	int err;

	sym->kallsyms_tried = true;
	err = kallsyms_load(kallsyms_path ?: "/proc/kallsyms", &ks);
	if (err)
		return err;
	kallsyms_free(sym->kallsyms);
	sym->kallsyms = ks;
	return 0;
}

static const struct kallsym *kernel_symbol(struct symbolizer *sym, uint64_t addr,
					   bool text_only)
{
	if (!sym->kallsyms_tried)
		sym_kernel_load(sym, NULL);
	return sym->kallsyms ? kallsyms_find(sym->kallsyms, addr, text_only) : NULL;
}

const char *sym_kernel_name(struct symbolizer *sym, uint64_t addr, uint64_t *sym_offset)
{
	const struct kallsym *ks = kernel_symbol(sym, addr, false);

	if (!ks)
		return NULL;
	if (sym_offset)
		*sym_offset = addr - ks->addr;
	return ks->name;
}

int sym_kernel(struct symbolizer *sym, uint64_t addr, struct sym_result *out)
{
	const struct kallsym *ks = kernel_symbol(sym, addr, true);
	struct cached_result *hit;
	const char *module;
	uint64_t base;

	out->nr = 0;
	out->frames = NULL;
	if (!ks)
		return 0;
	hit = result_cache_find(&sym->results, &sym->kernel_owner, addr);
	if (hit) {
		out->nr = hit->nr;
		out->frames = hit->frames;
		return 0;
	}
	/* Kernel offsets count from _text; a module's from its symbol. */
	module = ks->module ? pooled(sym, ks->module) : "[kernel]";
	base = ks->module ? ks->addr : sym->kallsyms->kernel_base;
	return unknown_frame(sym, &sym->kernel_owner, addr, module, addr - base, ks->name, out);
}

const char *sym_frame_label(const struct sym_frame *frame, char *buf, size_t size)
{
	const char *base;

	if (frame->name) {
		snprintf(buf, size, "%s", frame->name);
		return buf;
	}
	if (!frame->module) {
		snprintf(buf, size, "??");
		return buf;
	}
	base = strrchr(frame->module, '/');
	base = base ? base + 1 : frame->module;
	snprintf(buf, size, "%s+0x%" PRIx64, base, frame->offset);
	return buf;
}
