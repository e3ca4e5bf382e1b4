/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The recorder's budgets (map sizes, process and unwind-row bounds) and the
 * counters that say one overflowed: one table, so `record` warns on stderr
 * when it happens and `report` leads with the same words and the same option.
 */
#ifndef WAITPROF_BUDGETS_H
#define WAITPROF_BUDGETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "recording.h"

struct budget {
	const char *counter;	/* recording counter, > 0 when over budget */
	const char *what;	/* "N <what>" */
	const char *option;	/* the option that raises it, or NULL */
	const char *advice;	/* what to do when no option raises it */
};

extern const struct budget budgets[];
extern const size_t nr_budgets;

/* "raise --max-processes" or the advice: the hint after a budget's count. */
const char *budget_hint(const struct budget *b, char *buf, size_t len);
/* True when any budget of rec overflowed. */
bool budgets_exceeded(const struct recording *rec);
/* One "WARNING:" line per budget that overflowed; returns how many. */
int budgets_print_text(FILE *out, const struct recording *rec);
/* "budgets_exceeded":[{counter,count,what,option}] */
void budgets_write_json(FILE *out, const struct recording *rec);

#endif
