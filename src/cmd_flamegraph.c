// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Placeholder until the flamegraph work lands: fails loudly, never pretends. */
#include <stdio.h>
#include "commands.h"

int cmd_flamegraph(int argc, char **argv)
{
	fprintf(stderr, "waitprof flamegraph: not built yet\n");
	return 2;
}
