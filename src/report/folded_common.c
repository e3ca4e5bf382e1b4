// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Folded lines as every folded view writes them (off-CPU, locks, wakers):
 * names escaped by the one rule of stack_names.h (NAME_FOLDED). */
#include <string.h>

#include "folded_common.h"
#include "stack_names.h"

void folded_put_frame(struct wbuf *b, const char *name, const char *suffix)
{
	wbuf_u8(b, ';');
	name_wbuf(b, name, strlen(name), NAME_FOLDED);
	if (suffix)
		wbuf_put(b, suffix, strlen(suffix));
}

void folded_put_head(struct wbuf *b, const char *comm, size_t len)
{
	b->len = 0;
	name_wbuf(b, comm, len, NAME_FOLDED);
}
