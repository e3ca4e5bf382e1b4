/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The output formats of report and funclat: one table, one row a format
 * name with its writers. Adding a format is adding a writer and a row.
 */
#ifndef WAITPROF_REPORT_WRITERS_H
#define WAITPROF_REPORT_WRITERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "funclat_report.h"
#include "recording.h"
#include "report.h"
#include "tail_report.h"

struct report_writer {
	const char *name;	/* --format */
	/* A recording (report): the drawing formats draw o->view, the
	 * others write all of it. NULL: not a report format. */
	int (*recording)(FILE *out, const struct recording *rec, const struct report_opts *o);
	/* funclat's results; NULL: not a funclat format. */
	int (*funclat)(FILE *out, const struct funclat_output *f);
	/* tail's bands; NULL: not a tail format. */
	int (*tail)(FILE *out, const struct tail_output *o);
};

/* The writer of format name for a recording (funclat false) or for
 * funclat's results; NULL when there is none. */
const struct report_writer *report_writer_find(const char *name, bool funclat);
/* "text, folded, json, ...": the format names of one side, for messages. */
const char *report_writer_names(char *buf, size_t len, bool funclat);
/* The writer of format name for tail's bands; NULL when there is none. */
const struct report_writer *report_writer_find_tail(const char *name);

#endif
