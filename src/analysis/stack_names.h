/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A recorded stack as names: the one place that decides how a frame reads
 * (function, inlined marker, module+offset when unknown, kernel suffix),
 * and how any name (frame, thread, process) is written into text. */
#ifndef WAITPROF_STACK_NAMES_H
#define WAITPROF_STACK_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

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

/*
 * The suffix that marks a frame's kind in folded lines and joined stacks:
 * "_[k]" for every frame of a kernel stack, "_[i]" for an inlined one, ""
 * otherwise. The one place every writer takes it from, so folded lines,
 * CSV stacks and diff keys read alike.
 */
#define FRAME_SUFFIX_KERNEL	"_[k]"
#define FRAME_SUFFIX_INLINED	"_[i]"
const char *frame_suffix(const struct named_frame *f, bool kernel);

/*
 * A stack as one string, outermost first: user frames, then kernel frames,
 * each with its frame_suffix(), joined by ';', each name written as in
 * folded lines (NAME_FOLDED below). Returns the length, or -ENOMEM. *buf
 * is reused.
 */
int stack_names_join(const struct recording *rec, __u64 user_id, __u64 kern_id,
		     __u32 pid, struct named_stack *ns, char **buf, size_t *cap);

/* The frame is in the C library (or libpthread): the lock and syscall
 * wrappers, not the application. */
bool frame_in_libc(const struct named_frame *f);

/*
 * The Go scheduler parking or waking its own threads: an M with nothing to
 * run in futexsleep (notesleep, stopm), sysmon's usleep, or a thread
 * preempted in futexwakeup. Goroutines that wait (sync.Mutex, channels,
 * the network) park in the Go scheduler, not on these futexes: such a wait
 * is the runtime at work, never lock contention.
 */
bool stack_is_go_runtime_idle(const struct named_stack *ns);
/* Any frame of the stack is the Go runtime's (runtime.*): a Go program. */
bool stack_is_go(const struct named_stack *ns);

/*
 * Names are data: any program can name its threads and itself, and symbol
 * names are bytes from files. The one rule (docs/FLAMEGRAPH.md, "Names"):
 * a control byte (below 0x20, and 0x7f) is written as \xNN (two lower-case
 * hex digits) in text and folded output; in folded lines ';' (the frame
 * separator) and '\' (the escape itself) are written as \x3b and \x5c too,
 * so a line splits only where frames end and reads back exactly
 * (flamegraph/folded.c turns \x3b and \x5c back; controls stay visible as
 * \xNN, so the SVG, pprof and speedscope exports, built from folded lines,
 * show them so too). JSON, CSV and HTML tables carry the name itself, in
 * their own quoting.
 */
enum name_format {
	NAME_TEXT,	/* controls escaped: nothing reaches a terminal raw */
	NAME_FOLDED,	/* controls, ';' and the backslash escaped */
};

/* The name as fmt writes it, NUL-terminated in buf (never an escape cut
 * in half); returns buf. */
const char *name_escape(char *buf, size_t size, const char *name, enum name_format fmt);
/* Writes the name as fmt writes it. */
void name_fput(FILE *out, const char *name, enum name_format fmt);
/* Appends the first len bytes of name (up to a NUL) as fmt writes them. */
struct wbuf;
void name_wbuf(struct wbuf *b, const char *name, size_t len, enum name_format fmt);

/* A stream over out that writes every control byte but newline and tab as
 * \xNN: the net under a whole text report (a command line, a path), so
 * nothing a traced program named reaches a terminal raw. fclose() it, then
 * out. NULL on failure. */
FILE *name_text_stream(FILE *out);

#endif
