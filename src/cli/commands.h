/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The subcommands: each owns its file (cmd_NAME.c) and parses its own options. */
#ifndef WAITPROF_COMMANDS_H
#define WAITPROF_COMMANDS_H

int cmd_record(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_flamegraph(int argc, char **argv);
int cmd_symbolize(int argc, char **argv);
int cmd_funclat(int argc, char **argv);
int cmd_analyze(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_tail(int argc, char **argv);
int cmd_agent(int argc, char **argv);

#endif
