/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef WAITPROF_TEST_CFI_H
#define WAITPROF_TEST_CFI_H

#include <stdio.h>

extern int test_failures;

#define CHECK(cond, ...)							\
	do {									\
		if (!(cond)) {							\
			test_failures++;					\
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);				\
			fputc('\n', stderr);					\
		}								\
	} while (0)

/* Path of the libc.so.6 this process runs with. */
int test_libc_path(char *buf, size_t size);
int test_unwind_live(const char *target);

#endif
