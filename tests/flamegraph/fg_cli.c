// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* "waitprof flamegraph" alone, for tests that must not depend on BPF. */
#include "commands.h"

int main(int argc, char **argv)
{
	return cmd_flamegraph(argc, argv);
}
