// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdlib.h>
#include <string.h>

#include "buf.h"

#define STR_NULL 0xffffffffu

void wbuf_put(struct wbuf *b, const void *p, size_t n)
{
	size_t cap;
	uint8_t *data;

	if (b->oom || !n)
		return;	/* n == 0: p may be NULL (an empty section) */
	if (b->len + n > b->cap) {
		cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n)
			cap *= 2;
		data = realloc(b->data, cap);
		if (!data) {
			b->oom = true;
			return;
		}
		b->data = data;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

void wbuf_u8(struct wbuf *b, uint8_t v)
{
	wbuf_put(b, &v, 1);
}

void wbuf_u32(struct wbuf *b, uint32_t v)
{
	wbuf_put(b, &v, 4);
}

void wbuf_u64(struct wbuf *b, uint64_t v)
{
	wbuf_put(b, &v, 8);
}

void wbuf_str(struct wbuf *b, const char *s)
{
	size_t n;

	if (!s) {
		wbuf_u32(b, STR_NULL);
		return;
	}
	n = strlen(s);
	wbuf_u32(b, (uint32_t)n);
	wbuf_put(b, s, n);
}

void wbuf_free(struct wbuf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

void rbuf_get(struct rbuf *b, void *p, size_t n)
{
	if (b->bad || n > b->len - b->pos) {
		b->bad = true;
		memset(p, 0, n);
		return;
	}
	memcpy(p, b->data + b->pos, n);
	b->pos += n;
}

uint8_t rbuf_u8(struct rbuf *b)
{
	uint8_t v;

	rbuf_get(b, &v, 1);
	return v;
}

uint32_t rbuf_u32(struct rbuf *b)
{
	uint32_t v;

	rbuf_get(b, &v, 4);
	return v;
}

uint64_t rbuf_u64(struct rbuf *b)
{
	uint64_t v;

	rbuf_get(b, &v, 8);
	return v;
}

char *rbuf_str(struct rbuf *b, size_t max_len)
{
	uint32_t n = rbuf_u32(b);
	char *s;

	if (b->bad || n == STR_NULL)
		return NULL;
	if (n > max_len || n > b->len - b->pos) {
		b->bad = true;
		return NULL;
	}
	s = malloc((size_t)n + 1);
	if (!s) {
		b->bad = true;
		return NULL;
	}
	memcpy(s, b->data + b->pos, n);
	s[n] = '\0';
	b->pos += n;
	return s;
}
