// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The JSON string escaper shared by every JSON writer. */
#include <string.h>

#include "json.h"
#include "utf8.h"

void json_write_string(FILE *out, const char *s)
{
	if (!s) {
		fputs("null", out);
		return;
	}
	json_write_string_len(out, s, strlen(s));
}

void json_write_string_len(FILE *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;
	uint32_t cp;

	fputc('"', out);
	while (i < len) {
		n = utf8_decode(p + i, len - i, &cp);
		switch (cp) {
		case '"': fputs("\\\"", out); break;
		case '\\': fputs("\\\\", out); break;
		case '\n': fputs("\\n", out); break;
		case '\r': fputs("\\r", out); break;
		case '\t': fputs("\\t", out); break;
		case '\b': fputs("\\b", out); break;
		case '\f': fputs("\\f", out); break;
		case '/':
			/* "</script>" must not close an enclosing script. */
			fputs(i > 0 && p[i - 1] == '<' ? "\\/" : "/", out);
			break;
		default:
			if (cp < 0x20 || cp == 0x7f || cp == 0x2028 || cp == 0x2029 ||
			    (cp == UTF8_REPLACEMENT && n == 1))
				fprintf(out, "\\u%04x", cp);
			else
				fwrite(p + i, 1, n, out);
		}
		i += n;
	}
	fputc('"', out);
}
