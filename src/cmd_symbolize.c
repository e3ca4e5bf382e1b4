// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Placeholder until the symbolize work lands: fails loudly, never pretends. */
#include <stdio.h>
#include "commands.h"

int cmd_symbolize(int argc, char **argv)
{
	fprintf(stderr, "waitprof symbolize: not built yet\n");
	return 2;
}
