// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer harness: arbitrary bytes as folded-stack input, parsed line by
 * line into a frame tree and rendered to SVG (to /dev/null), the path every
 * `waitprof flamegraph` input takes.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "folded.h"
#include "svg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fg_svg_opts opts;
	struct fg_tree tree;
	const char *p = (const char *)data, *end = p + size, *nl;
	uint64_t lineno = 0;
	FILE *devnull;

	if (fg_tree_init(&tree, NULL))
		return 0;
	while (p < end) {
		nl = memchr(p, '\n', end - p);
		if (!nl)
			nl = end;
		fg_parse_line(&tree, p, nl - p, "fuzz", ++lineno, FG_CURRENT);
		p = nl + 1;
	}
	fg_tree_finish(&tree);
	devnull = fopen("/dev/null", "w");
	if (devnull) {
		fg_svg_opts_default(&opts);
		fg_render_svg(devnull, &tree, &opts);
		fclose(devnull);
	}
	fg_tree_free(&tree);
	return 0;
}
