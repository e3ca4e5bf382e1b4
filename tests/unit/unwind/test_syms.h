/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A minimal ELF symbol table reader for the CFI tests only (the real
 * symbolizer lives in symbolize/ and is not a dependency of these tests). */
#ifndef WAITPROF_TEST_SYMS_H
#define WAITPROF_TEST_SYMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct test_sym {
	uint64_t start, end;	/* ELF vaddr */
	char *name;
};

struct test_syms {
	struct test_sym *v;
	size_t n, cap;
	bool from_debug_file;	/* .symtab of /usr/lib/debug/.build-id/... */
};

/* Function symbols of path's .symtab and .dynsym, and of its build-id
 * debug file when there is one. Returns 0 or -errno. */
int test_syms_load(const char *path, struct test_syms *s);
void test_syms_free(struct test_syms *s);
/* Does a symbol named one of "a|b|c" contain vaddr? */
bool test_syms_is(const struct test_syms *s, const char *names, uint64_t vaddr);
/* Some name for vaddr, or "?". */
const char *test_syms_name(const struct test_syms *s, uint64_t vaddr);
/* [start, end) of the first symbol named name; false if none. */
bool test_syms_find(const struct test_syms *s, const char *name, uint64_t *start, uint64_t *end);

#endif
