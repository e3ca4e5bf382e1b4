// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Symbol addresses to uprobe file offsets (src/collect/elf_lookup.c), on
 * the system's real libc, against binutils: nm -D gives each function's
 * address, readelf -l the segments. The lock uprobes' lookup (.dynsym by
 * exact name) and funclat's (elf_find_funcs) must both give the offset
 * binutils' numbers give, and a .bss address (inside p_memsz, past
 * p_filesz) must have no offset at all. libc's code has offset == vaddr;
 * this test's own binary is linked without PIE, where they differ
 * (0x401000 at 0x1000), so the arithmetic is checked too.
 */
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elf_lookup.h"

#define LIBC		"/usr/lib/x86_64-linux-gnu/libc.so.6"
#define MAX_SEGS	16
#define MAX_SYMS	8192

static int failures;

#define CHECK(cond, ...) do { \
	if (!(cond)) { failures++; printf("FAIL %s:%d: ", __FILE__, __LINE__); \
		printf(__VA_ARGS__); printf("\n"); } \
} while (0)

struct seg {
	uint64_t offset, vaddr, filesz, memsz;
};

struct sym {
	char name[128];
	char type;
	uint64_t addr;
};

static const char *path;
static struct seg segs[MAX_SEGS];
static size_t nr_segs;
static struct sym syms[MAX_SYMS];
static size_t nr_syms;

/* "  LOAD 0x026000 0x0000000000026000 0x0000000000026000 0x1550fc 0x1550fc R E 0x1000" */
static void parse_segment(const char *line)
{
	struct seg s;
	uint64_t paddr;

	if (nr_segs < MAX_SEGS &&
	    sscanf(line, " LOAD %" SCNx64 " %" SCNx64 " %" SCNx64 " %" SCNx64 " %" SCNx64,
		   &s.offset, &s.vaddr, &paddr, &s.filesz, &s.memsz) == 5)
		segs[nr_segs++] = s;
}

/* "000000000008c370 T pthread_mutex_lock@@GLIBC_2.2.5": the name without
 * its version. */
static void parse_symbol(const char *line)
{
	struct sym *s = &syms[nr_syms];
	char *at;

	if (nr_syms >= MAX_SYMS ||
	    sscanf(line, "%" SCNx64 " %c %127s", &s->addr, &s->type, s->name) != 3)
		return;
	at = strchr(s->name, '@');
	if (at)
		*at = '\0';
	nr_syms++;
}

/* Runs "tool path", each output line through parse; -1 when it fails. */
static int run_tool(const char *tool, void (*parse)(const char *line))
{
	char line[512];
	FILE *p;

	snprintf(line, sizeof(line), "%s %s", tool, path);
	p = popen(line, "r");
	if (!p)
		return -1;
	while (fgets(line, sizeof(line), p))
		parse(line);
	return pclose(p) ? -1 : 0;
}

/* binutils' answer: the offset of addr in the segment that holds it in
 * its file-backed bytes. */
static int expected_offset(uint64_t addr, uint64_t *off)
{
	size_t i;

	for (i = 0; i < nr_segs; i++) {
		if (addr >= segs[i].vaddr && addr < segs[i].vaddr + segs[i].filesz) {
			*off = addr - segs[i].vaddr + segs[i].offset;
			return 0;
		}
	}
	return -1;
}

/* The one address nm gives name (as a function); 0 when none or several. */
static uint64_t function_address(const char *name)
{
	uint64_t addr = 0;
	size_t i;

	for (i = 0; i < nr_syms; i++) {
		if (strcmp(syms[i].name, name) || (syms[i].type != 'T' && syms[i].type != 'W'))
			continue;
		if (addr && addr != syms[i].addr)
			return 0;
		addr = syms[i].addr;
	}
	return addr;
}

static void check_function(const char *name)
{
	uint64_t addr = function_address(name), want, got = 0;
	struct elf_funcs fs;
	int err;

	if (!addr || expected_offset(addr, &want)) {
		CHECK(0, "%s: nm -D gives no single address in a file-backed segment", name);
		return;
	}
	err = elf_dynsym_func_offset(path, name, &got);
	CHECK(!err && got == want, "%s: .dynsym lookup 0x%" PRIx64 " (err %d), binutils 0x%"
	      PRIx64, name, got, err, want);
	err = elf_find_funcs(path, name, &fs);
	CHECK(!err && fs.nr == 1 && fs.funcs[0].offset == want,
	      "%s: elf_find_funcs %zu match(es), offset 0x%" PRIx64 ", binutils 0x%" PRIx64,
	      name, err ? 0 : fs.nr, !err && fs.nr ? fs.funcs[0].offset : 0, want);
	printf("%-28s addr 0x%-8" PRIx64 " offset 0x%" PRIx64 "\n", name, addr, want);
	if (!err)
		elf_funcs_free(&fs);
}

/* A .bss object of libc (B, inside p_memsz past p_filesz): no offset. */
static void check_bss(void)
{
	size_t i, j, checked = 0;
	uint64_t off;
	Elf *elf;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	elf_version(EV_CURRENT);
	elf = fd >= 0 ? elf_begin(fd, ELF_C_READ, NULL) : NULL;
	CHECK(elf, "cannot open %s with libelf", path);
	for (i = 0; elf && i < nr_syms; i++) {
		if (syms[i].type != 'B')
			continue;
		for (j = 0; j < nr_segs; j++) {
			const struct seg *s = &segs[j];

			if (syms[i].addr < s->vaddr + s->filesz ||
			    syms[i].addr >= s->vaddr + s->memsz)
				continue;
			CHECK(!elf_vaddr_to_offset(elf, syms[i].addr, &off),
			      "%s (.bss, 0x%" PRIx64 ") mapped to file offset 0x%" PRIx64,
			      syms[i].name, syms[i].addr, off);
			checked++;
		}
	}
	printf(".bss objects without a file offset: %zu\n", checked);
	CHECK(checked >= 3, "only %zu .bss objects found past p_filesz", checked);
	if (elf)
		elf_end(elf);
	if (fd >= 0)
		close(fd);
}

/* Exported (-rdynamic) from this non-PIE binary: a function whose file
 * offset is not its address. */
void elf_offsets_probe_target(void);
void elf_offsets_probe_target(void)
{
	failures += 0;
}

/* Reads path's segments and symbols; false when binutils cannot. */
static bool load(const char *file)
{
	path = file;
	printf("%s\n", path);
	nr_segs = nr_syms = 0;
	if (!run_tool("readelf -lW", parse_segment) && nr_segs &&
	    !run_tool("nm -D --defined-only", parse_symbol) && nr_syms)
		return true;
	printf("FAIL: readelf -lW or nm -D on %s\n", path);
	failures++;
	return false;
}

int main(int argc, char **argv)
{
	static const char *const names[] = {
		"pthread_mutex_lock", "pthread_mutex_trylock", "pthread_mutex_timedlock",
		"pthread_mutex_unlock", "pthread_rwlock_rdlock", "pthread_rwlock_wrlock",
		"pthread_rwlock_unlock", "fdatasync", "write", "malloc",
	};
	uint64_t self_off;
	size_t i;

	if (argc < 1 || access(LIBC, R_OK)) {
		printf("SKIP: no %s\n", LIBC);
		return 77;
	}
	if (load(LIBC)) {
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			check_function(names[i]);
		check_bss();
	}
	if (load(argv[0])) {
		check_function("elf_offsets_probe_target");
		CHECK(!expected_offset(function_address("elf_offsets_probe_target"), &self_off) &&
		      self_off != function_address("elf_offsets_probe_target"),
		      "this test is not linked -no-pie: its offsets equal its addresses");
	}
	if (failures) {
		printf("%d failure(s)\n", failures);
		return 1;
	}
	printf("uprobe offsets agree with nm -D and readelf -l\n");
	return 0;
}
