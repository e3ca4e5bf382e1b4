// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * C++ and Rust (legacy mangling, which is Itanium-compatible) demangling
 * through libstdc++'s __cxa_demangle, declared here so no C++ file is needed.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

/* Rust's legacy names end in "::h" and 16 hex digits: a hash, noise to a reader. */
static void strip_rust_hash(char *name)
{
	size_t len = strlen(name), i;

	if (len < 19 || strncmp(name + len - 19, "::h", 3))
		return;
	for (i = len - 16; i < len; i++) {
		char c = name[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return;
	}
	name[len - 19] = '\0';
}

char *demangle(const char *name)
{
	bool rust_legacy;
	char *out;
	int status = -1;

	/* Itanium names start with _Z (eu-addr2line requires the same). */
	if (!name || name[0] != '_' || name[1] != 'Z')
		return NULL;
	out = __cxa_demangle(name, NULL, NULL, &status);
	if (status != 0) {
		free(out);
		return NULL;
	}
	rust_legacy = strstr(name, "17h") && name[strlen(name) - 1] == 'E';
	if (rust_legacy)
		strip_rust_hash(out);
	return out;
}
