/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Little byte buffers for the recording format: a growable writer and a
 * bounds-checked reader. A reader that runs past its end sets a sticky
 * error flag and returns zeros, so parsers check once per record, and no
 * corrupt input can make them read out of bounds.
 */
#ifndef WAITPROF_BUF_H
#define WAITPROF_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wbuf {
	uint8_t *data;
	size_t len;
	size_t cap;
	bool oom;
};

void wbuf_put(struct wbuf *b, const void *p, size_t n);
void wbuf_u8(struct wbuf *b, uint8_t v);
void wbuf_u32(struct wbuf *b, uint32_t v);
void wbuf_u64(struct wbuf *b, uint64_t v);
/* u32 length + bytes; NULL is written as length 0xffffffff. */
void wbuf_str(struct wbuf *b, const char *s);
void wbuf_free(struct wbuf *b);

struct rbuf {
	const uint8_t *data;
	size_t len;
	size_t pos;
	bool bad;
};

void rbuf_get(struct rbuf *b, void *p, size_t n);
uint8_t rbuf_u8(struct rbuf *b);
uint32_t rbuf_u32(struct rbuf *b);
uint64_t rbuf_u64(struct rbuf *b);
/* A new NUL-terminated copy (NULL for a NULL string or on error); strings
 * longer than max_len mark the buffer bad. */
char *rbuf_str(struct rbuf *b, size_t max_len);
static inline size_t rbuf_left(const struct rbuf *b)
{
	return b->bad ? 0 : b->len - b->pos;
}

#endif
