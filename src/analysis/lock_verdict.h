/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * One verdict per lock from all the evidence: the waits that slept, the
 * hold times (--uprobes), the acquisitions' fastest mode (what a probe
 * trap costs), and what the holders block on (the off-CPU profile). The
 * text, JSON and HTML reports and the findings all say this one verdict.
 * The rule is in docs/MODALITY.md, "Locks".
 */
#ifndef WAITPROF_LOCK_VERDICT_H
#define WAITPROF_LOCK_VERDICT_H

#include <stdbool.h>

#include "lock_agg.h"
#include "modality.h"
#include "offcpu_agg.h"
#include "stack_names.h"

enum lock_judgement {
	LOCK_INSUFFICIENT,	/* too few waits to tell, and nothing leans */
	LOCK_ONE_WAY,		/* one mode of waits, and of holds */
	LOCK_LIKELY_BIMODAL,	/* a hint: the waits lean two ways, short of a verdict */
	LOCK_BIMODAL,		/* the waits have two (or more) modes */
	LOCK_SLOW_HOLDER,	/* the waits do not split, but a few holds are slow */
};

struct lock_verdict {
	enum lock_judgement judgement;
	struct modality waits;		/* of lock_entry_latency(): waits or acquisitions */
	struct modality holds;		/* of the hold times; verdict insufficient without */
	const char *what;		/* "waits" or "acquisitions" */
	double probe_ns;		/* what the probes add to a hold, 0 without uprobes */
	bool holds_probe_induced;	/* the holds' slow mode is within a few probe costs */
	double slow_holds_slept;	/* share of the holds' slow mode in which the holder slept */
	double slow_ns;			/* wait in the slow modes: what the slowness costs */
	char text[512];			/* the verdict in words */
	char hint[256];			/* what would settle a LOCK_LIKELY_BIMODAL, or "" */
	char cause[512];		/* what the holders block on under the lock, or "" */
};

/*
 * Judges lock e of rec. agg: the off-CPU entries of the same recording
 * (any wait part), for the cause; may be NULL. duration_s: how long the
 * recording ran (0 if unknown), for the hint. ns: scratch.
 */
void lock_verdict_judge(const struct recording *rec, const struct lock_entry *e,
			const struct offcpu_agg *agg, double duration_s, struct named_stack *ns,
			struct lock_verdict *v);
/* "bimodal", "slow-holder", "likely-bimodal", "one-way", "insufficient". */
const char *lock_judgement_name(enum lock_judgement j);
/* Whether the verdict says the lock waits more than one way (a finding). */
bool lock_judgement_flags(enum lock_judgement j);
/* A thread queued on a user-space lock (its stack is in the lock report). */
bool stack_is_lock_wait(const struct named_stack *ns);
/* The recording's duration from its metadata, 0 if unknown. */
double recording_duration_s(const struct recording *rec);

#endif
