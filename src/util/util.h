/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Small helpers every part of src/ uses. */
#ifndef WAITPROF_UTIL_H
#define WAITPROF_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Appends a zeroed element to a growable array whose capacity is the next
 * power of two of its length; NULL when out of memory. */
void *array_push(void **arr, size_t *nr, size_t elem_size);
#define ARRAY_PUSH(arr, nr) \
	((__typeof__(arr))array_push((void **)&(arr), &(nr), sizeof(*(arr))))

/* One-line error to stderr, prefixed "waitprof: ". */
void err_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Progress and information, to stderr unless quiet. */
extern bool util_quiet;
extern int util_verbose;
void info_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parses "1,2,3" into ids; returns count or -1 on a bad list. */
int parse_id_list(const char *s, int *ids, int max);
/* Strict number parsers: the whole string must be a number in range. */
bool parse_u64(const char *s, uint64_t *out);
bool parse_double(const char *s, double *out);

uint64_t now_ns(void);
/* 64-bit FNV-1a of len bytes: to tell whether something changed. */
uint64_t hash_bytes(const void *data, size_t len);
/* Seconds since the epoch as "2026-11-23T19:39:01Z". */
void format_utc(char *buf, size_t len, uint64_t epoch_s);
/* Reads /proc/PID/comm; "" when gone. */
void read_comm(int pid, char *buf, size_t len);



/* A set of non-zero u64 ids (open addressing). */
struct id_set {
	uint64_t *slots;
	size_t cap;
	size_t nr;
};
bool id_set_has(const struct id_set *s, uint64_t id);
int id_set_add(struct id_set *s, uint64_t id);
void id_set_free(struct id_set *s);

#endif
