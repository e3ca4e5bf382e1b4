/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Strict UTF-8 decoding for the escapers: frame names come from binaries
 * and from users' files, so any byte sequence must come out as valid text. */
#ifndef WAITPROF_UTF8_H
#define WAITPROF_UTF8_H

#include <stddef.h>
#include <stdint.h>

#define UTF8_REPLACEMENT 0xfffdu

/*
 * Decodes one code point from s (len > 0 bytes). Returns the bytes consumed
 * (at least 1). Overlong forms, surrogates, values above U+10FFFF and
 * truncated sequences decode as U+FFFD consuming one byte, so decoding
 * always makes progress.
 */
static inline size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	uint32_t c = s[0], min;
	size_t n, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		c &= 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		c &= 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		c &= 0x07;
		min = 0x10000;
	} else {
		goto invalid;
	}
	if (len < n)
		goto invalid;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			goto invalid;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		goto invalid;
	*cp = c;
	return n;
invalid:
	*cp = UTF8_REPLACEMENT;
	return 1;
}

#endif
