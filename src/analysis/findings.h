/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Findings: the locks and the largest off-CPU stacks whose latency has more
 * than one mode, in plain words, the costliest slow mode first. One list
 * for the text report (which leads with it) and the HTML report.
 */
#ifndef WAITPROF_FINDINGS_H
#define WAITPROF_FINDINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "offcpu_agg.h"
#include "recording.h"

struct finding {
	char subject[256];	/* "journal_mu (mutex, lockers [1234])" */
	char text[512];		/* the modality in words */
	char cause[512];	/* what the holders blocked on, or "" */
	char hint[256];		/* what would settle a hint, or "" */
	bool is_hint;		/* leans that way, short of a verdict */
	double slow_ns;		/* wait in the modes above the fastest */
};

struct findings {
	struct finding *items;
	size_t nr;
};

/* wait: the part of off-CPU time the stacks are ranked by (--wait). */
int findings_collect(const struct recording *rec, enum wait_part wait, struct findings *f);
void findings_free(struct findings *f);
/* "Findings:" and one paragraph each; one line when there are none. */
void findings_print_text(FILE *out, const struct findings *f);

#endif
