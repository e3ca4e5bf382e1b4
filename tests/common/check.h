/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The checks every C test uses: a failed check prints where, what and why
 * on stderr and is counted, so one run lists every failure, not the first.
 * A test program defines `int test_failures;` once and ends main() with
 * check_summary().
 */
#ifndef WAITPROF_TEST_CHECK_H
#define WAITPROF_TEST_CHECK_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

extern int test_failures;

/* CHECK(cond) or CHECK(cond, "printf format", ...): the reason is optional. */
#define CHECK(cond, ...)							\
	do {									\
		if (!(cond)) {							\
			test_failures++;					\
			fprintf(stderr, "FAIL %s:%d: %s:", __FILE__, __LINE__, #cond); \
			fprintf(stderr, " " __VA_ARGS__);			\
			fputc('\n', stderr);					\
		}								\
	} while (0)

#define CHECK_STR(got, want)							\
	do {									\
		const char *got_ = (got), *want_ = (want);			\
		CHECK(got_ && !strcmp(got_, want_), "got '%s', want '%s'",	\
		      got_ ? got_ : "(null)", want_);				\
	} while (0)

/* Numbers are compared as unsigned 64-bit and printed both ways. */
#define CHECK_U64(got, want)							\
	do {									\
		unsigned long long got_ = (got), want_ = (want);		\
		CHECK(got_ == want_, "%s = %llu, want %llu", #got, got_, want_); \
	} while (0)

/* Prints the count of failed checks; returns main()'s exit status. */
static inline int check_summary(const char *what)
{
	printf("%s: %d failure(s)\n", what, test_failures);
	return test_failures ? 1 : 0;
}

#endif
