/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Small helpers shared by the symbolizer's unit tests. */
#ifndef WAITPROF_TEST_SYMBOLIZE_HELPERS_H
#define WAITPROF_TEST_SYMBOLIZE_HELPERS_H

#include <stdio.h>
#include <string.h>

static int test_failures;

#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			test_failures++;                                       \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                          \
			fputc('\n', stderr);                                   \
		}                                                              \
	} while (0)

#define CHECK_STR(got, want)                                                   \
	CHECK((got) && !strcmp((got), (want)), "got '%s', want '%s'",          \
	      (got) ? (got) : "(null)", (want))

static inline bool ends_with(const char *s, const char *suffix)
{
	size_t n = s ? strlen(s) : 0, m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

#endif
