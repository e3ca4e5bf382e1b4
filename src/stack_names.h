/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A recorded stack as names: the one place that decides how a frame reads
 * (function, inlined marker, module+offset when unknown, kernel suffix). */
#ifndef WAITPROF_STACK_NAMES_H
#define WAITPROF_STACK_NAMES_H

#include <stdbool.h>

#include "recording.h"

enum frame_kind {
	FRAME_USER,
	FRAME_INLINED,
	FRAME_KERNEL,
};

struct named_frame {
	const char *name;	/* valid until the next call with the same buffer */
	enum frame_kind kind;
	const struct rec_frame *sym;	/* file:line etc., NULL when unknown */
	__u64 addr;
};

#define NAMED_FRAMES_MAX (MAX_STACK_DEPTH * 4)

struct named_stack {
	unsigned int nr;
	bool missing;		/* stack id set but its frames were not recorded */
	struct named_frame frames[NAMED_FRAMES_MAX];	/* innermost first */
	char names[NAMED_FRAMES_MAX][64];	/* storage for synthesized names */
};

/* Fills ns with the frames of a stack; pid 0 for kernel stacks. The
 * tracing machinery's own kernel frames (BPF trampolines, the tracepoint)
 * are left out. */
void stack_names(const struct recording *rec, __u64 stack_id, __u32 pid,
		 struct named_stack *ns);

/* The frame is in the C library (or libpthread): the lock and syscall
 * wrappers, not the application. */
bool frame_in_libc(const struct named_frame *f);

#endif
