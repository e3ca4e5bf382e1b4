/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Findings: the locks and the largest off-CPU stacks whose latency has more
 * than one mode, in plain words, the costliest slow mode first. One list
 * for the text report (which leads with it) and the HTML report.
 */
#ifndef WAITPROF_FINDINGS_H
#define WAITPROF_FINDINGS_H

#include <stddef.h>
#include <stdio.h>

#include "recording.h"
#include "report.h"

struct finding {
	char subject[256];	/* "journal_mu (mutex, lockers [1234])" */
	char text[512];		/* the modality in words */
	char cause[512];	/* what the holders blocked on, or "" */
	double slow_ns;		/* wait in the modes above the fastest */
};

struct findings {
	struct finding *items;
	size_t nr;
};

int findings_collect(const struct recording *rec, const struct report_opts *o,
		     struct findings *f);
void findings_free(struct findings *f);
/* "Findings:" and one paragraph each; one line when there are none. */
void findings_print_text(FILE *out, const struct findings *f);

#endif
