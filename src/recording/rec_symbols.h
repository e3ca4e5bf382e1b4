/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Resolves every unique address a recording's stacks use, once, into the
 * recording's symbol table, so reports work after the processes are gone. */
#ifndef WAITPROF_REC_SYMBOLS_H
#define WAITPROF_REC_SYMBOLS_H

#include "recording.h"

struct rec_symbols_stats {
	size_t addresses;	/* unique (pid, address) pairs */
	size_t resolved;	/* ... with a function name */
};

/* Needs rec_finish() done (processes looked up by pid). */
int rec_symbolize(struct recording *rec, const struct symbolizer_opts *opts,
		  struct rec_symbols_stats *stats);
/* Whether rec_symbolize warns on stderr about objects without symbols
 * (default true; waitprof agent says it for its first window only). */
void rec_symbols_warn_missing(bool warn);

#endif
