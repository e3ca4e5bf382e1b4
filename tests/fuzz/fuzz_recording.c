// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer harness: arbitrary bytes as a recording file, through the reader
 * and then through every lookup a report makes, so a file that parses must
 * also be safe to report on.
 */
#include <stdint.h>
#include <stdlib.h>

#include "recording.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct recording *rec;
	char err[256];
	size_t i, j;

	rec = rec_read_mem(data, size, err, sizeof(err));
	if (!rec)
		return 0;
	for (i = 0; i < rec->nr_offcpu; i++) {
		const struct rec_stack *st = rec_find_stack(rec, rec->offcpu[i].key.user_stack_id);

		for (j = 0; st && j < st->nr; j++)
			rec_find_symbol(rec, rec->offcpu[i].key.tgid, st->ips[j]);
		rec_find_process(rec, (int)rec->offcpu[i].key.tgid);
	}
	rec_get_meta(rec, "command_line");
	rec_free(rec);
	return 0;
}
