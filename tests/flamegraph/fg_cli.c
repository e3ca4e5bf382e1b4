// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* "waitprof flamegraph" alone, for tests that must not depend on BPF or on
 * the recorder: linked with flamegraph/ only. */
#include <stddef.h>
#include <stdio.h>

#include "commands.h"
#include "diff_folded.h"

/* Recordings need the recorder (src/report/diff_folded.c); here every file is read
 * as folded text, which is what the "not a recording" answer means. */
FILE *diff_folded_open(const char *path, char *err, size_t err_len)
{
	if (err_len)
		err[0] = '\0';
	return NULL;
}

int main(int argc, char **argv)
{
	return cmd_flamegraph(argc, argv);
}
