// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* waitprof: where threads wait. main only dispatches to the subcommands. */
#include <argp.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "record", cmd_record, "record off-CPU time and lock waits, with stacks, into a file" },
	{ "agent", cmd_agent, "record continuously; serve Prometheus metrics and pprof over HTTP" },
	{ "report", cmd_report, "print a recording as text, folded stacks or other formats" },
	{ "flamegraph", cmd_flamegraph, "render folded stacks as an interactive SVG flame graph" },
	{ "symbolize", cmd_symbolize, "addresses to function, file:line (eu-addr2line compatible)" },
	{ "analyze", cmd_analyze, "latency samples from a CSV file: percentiles, histogram, modality" },
	{ "diff", cmd_diff, "compare two recordings or CSVs; with --fail-* a CI regression gate" },
	{ "funclat", cmd_funclat, "latency of functions and syscalls: histogram, modality, slow callers" },
	{ "tail", cmd_tail, "where the slow calls of a function waited, against the typical ones" },
};

static void usage(FILE *out)
{
	size_t i;

	fprintf(out, "Usage: waitprof COMMAND [OPTIONS] [ARGS]\n\n"
		     "waitprof finds where threads wait: off-CPU time and lock contention.\n\n"
		     "Commands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\nOptions:\n"
		     "  -h, --help     this help\n"
		     "  -V, --version  print the version\n"
		     "\nRun 'waitprof COMMAND --help' for a command's options.\n"
		     "\nExamples:\n"
		     "  $ waitprof record -o out.data -- ./app\n"
		     "  $ waitprof report out.data\n");
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("waitprof " WAITPROF_VERSION "\n");
		return 0;
	}
	/* Usage errors exit 2 everywhere, and name the subcommand. */
	argp_err_exit_status = 2;
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		char name[64];

		if (strcmp(argv[1], commands[i].name))
			continue;
		snprintf(name, sizeof(name), "waitprof %s", commands[i].name);
		argv[1] = name;
		return commands[i].run(argc - 1, argv + 1);
	}
	fprintf(stderr, "waitprof: unknown command '%s' (see 'waitprof --help')\n", argv[1]);
	return 2;
}
