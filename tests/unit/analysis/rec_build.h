/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Recordings built in memory for the analysis tests: stacks, symbols and
 * processes added the way the recorder adds them (recording.h), so a test
 * knows every number that goes in. A step that fails to build is not a
 * check that fails: the test stops (exit 2).
 */
#ifndef WAITPROF_TEST_REC_BUILD_H
#define WAITPROF_TEST_REC_BUILD_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recording.h"

#define LIBC_PATH	"/lib/x86_64-linux-gnu/libc.so.6"
#define APP_PATH	"/usr/bin/app"

#define MUST(expr)								\
	do {									\
		if ((expr) != 0) {						\
			fprintf(stderr, "%s:%d: building the recording: %s\n",	\
				__FILE__, __LINE__, #expr);			\
			exit(2);						\
		}								\
	} while (0)

static inline struct recording *rec_new_or_die(void)
{
	struct recording *rec = rec_new();

	if (!rec) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	return rec;
}

/* A stack of the given addresses, innermost first. */
#define ADD_STACK(rec, id, flags, ...)						\
	MUST(rec_add_stack((rec), (id), (flags),				\
			   sizeof((__u64[]){ __VA_ARGS__ }) / sizeof(__u64),	\
			   (__u64[]){ __VA_ARGS__ }))

/* The frames one address resolved to, innermost first: all but the last
 * inlined, as the symbolizer reports an inline chain. name NULL: no symbol. */
static inline void add_symbol_frames(struct recording *rec, __u32 pid, __u64 addr,
				     const char *module, __u64 offset, unsigned int nr,
				     const char *const *names)
{
	struct sym_frame frames[8] = {};
	struct sym_result res = { .nr = nr, .frames = frames };
	unsigned int i;

	for (i = 0; i < nr && i < 8; i++) {
		frames[i].name = names[i];
		frames[i].module = module;
		frames[i].offset = offset;
		frames[i].inlined = i + 1 < nr;
	}
	MUST(rec_add_symbol(rec, pid, addr, &res));
}

static inline void add_symbol(struct recording *rec, __u32 pid, __u64 addr, const char *name,
			      const char *module)
{
	add_symbol_frames(rec, pid, addr, module, addr & 0xfffff, 1, &name);
}

/* A process whose memory maps are the given [start, end) ranges and paths. */
struct map_range {
	__u64 start, end;
	const char *path;
};

static inline void add_process(struct recording *rec, int pid, const char *comm,
			       const struct map_range *ranges, size_t nr)
{
	struct proc_maps *maps = calloc(1, sizeof(*maps));
	size_t i;

	if (!maps || !(maps->maps = calloc(nr ? nr : 1, sizeof(*maps->maps)))) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	maps->pid = pid;
	maps->nr = nr;
	for (i = 0; i < nr; i++) {
		maps->maps[i].start = ranges[i].start;
		maps->maps[i].end = ranges[i].end;
		maps->maps[i].path = strdup(ranges[i].path);
	}
	MUST(rec_add_process(rec, pid, comm, APP_PATH, maps));
}

#endif
