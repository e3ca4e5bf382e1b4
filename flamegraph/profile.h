/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A generic profile: samples, each a stack of frames (outermost first) with
 * one value per sample type. The recorder builds one from its data, folded
 * input builds one with prof_from_folded(); the writers export it as pprof
 * (gzipped profile.proto) or speedscope JSON.
 *
 * Frames are interned: prof_add_frame() returns the same id for the same
 * frame, so a stack is a short array of ids. All strings are copied.
 */
#ifndef WAITPROF_PROFILE_H
#define WAITPROF_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "folded.h"

#define PROF_MAX_TYPES 4

enum prof_frame_kind {
	PROF_FRAME_USER,
	PROF_FRAME_KERNEL,
};

struct prof_frame {
	const char *function;	/* required */
	const char *file;	/* NULL when unknown */
	uint32_t line;		/* 0 when unknown */
	const char *module;	/* binary path, NULL when unknown */
	const char *build_id;	/* hex, NULL when unknown */
	bool inlined;		/* inlined into the next outer frame */
	enum prof_frame_kind kind;
};

struct prof_value_type {
	const char *type;	/* e.g. "off_cpu", "contentions" */
	const char *unit;	/* e.g. "nanoseconds", "count" */
};

struct profile {
	struct prof_value_type types[PROF_MAX_TYPES];
	size_t nr_types;
	size_t default_type;	/* index of the type viewers show first */
	uint64_t time_ns;	/* start, ns since the epoch (0: unknown) */
	uint64_t duration_ns;

	struct prof_frame *frames;	/* strings point into strings */
	size_t nr_frames, cap_frames;
	uint32_t *frame_slots;		/* hash of frames; UINT32_MAX = empty */
	size_t cap_frame_slots;

	uint32_t *stack_ids;	/* all stacks, concatenated */
	size_t nr_stack_ids, cap_stack_ids;
	size_t *sample_start;	/* sample i: stack_ids[start[i] .. start[i+1]) */
	int64_t *values;	/* sample i: values[i * nr_types ...] */
	size_t nr_samples, cap_samples;

	struct fg_tree strings;	/* string interner (names only, no stacks) */
};

/* Starts an empty profile with no sample types. */
int prof_init(struct profile *p);
void prof_free(struct profile *p);

/* Adds a sample type; the last one added becomes the default (as Go puts
 * delay/nanoseconds last). Returns its index or -errno. */
int prof_add_type(struct profile *p, const char *type, const char *unit);

/* Interns a frame; returns its id or -ENOMEM. */
int64_t prof_add_frame(struct profile *p, const struct prof_frame *f);

/* Adds a sample: depth frame ids, outermost first, and nr_types values. */
int prof_add_sample(struct profile *p, const uint32_t *frame_ids, size_t depth,
		    const int64_t *values);

/*
 * Builds a profile from a folded tree: one sample per distinct stack, value
 * = the stack's self value. A frame's _[k] suffix makes it a kernel frame,
 * _[i] an inlined one (both stripped). With a time countname (ns, us, ms, s)
 * values become nanoseconds of sample_type (default "off_cpu"); otherwise a
 * count of sample_type (default "samples"). -EINVAL for a differential tree.
 */
int prof_from_folded(struct profile *p, const struct fg_tree *tree,
		     const char *sample_type, const char *countname);

/* Sum of values of type t over all samples. */
int64_t prof_total(const struct profile *p, size_t t);

/* Writers: 0, or -errno (-EIO when writing failed). */
int prof_write_pprof(FILE *out, const struct profile *p);
int prof_write_speedscope(FILE *out, const struct profile *p);

#endif
