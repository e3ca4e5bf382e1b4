/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The reason a call of `waitprof tail` waited, named from its wait site: the
 * lock's symbol for a futex wait (record's lock names), else the syscall
 * (or the innermost kernel function that is not the scheduler's) and the
 * innermost frame of the application: "fdatasync in flush_journal".
 */
#ifndef WAITPROF_TAIL_SITES_H
#define WAITPROF_TAIL_SITES_H

#include <stddef.h>
#include <linux/types.h>

#define TAIL_REASON_LEN	256

struct recording;
struct named_stack;

struct tail_site {
	__u32 pid;
	__u64 user_stack_id;
	__u64 kern_stack_id;
	__u64 futex_addr;
	char reason[TAIL_REASON_LEN];
	char lock[TAIL_REASON_LEN];	/* "" when not a named lock */
};

/* Names sites once each. */
struct tail_namer {
	const struct recording *rec;
	struct named_stack *ns;
	struct tail_site *sites;
	size_t nr_sites;
};

int tail_namer_init(struct tail_namer *n, const struct recording *rec);
void tail_namer_free(struct tail_namer *n);
/* The named site; valid until the next call. NULL: out of memory. */
const struct tail_site *tail_site_of(struct tail_namer *n, __u32 pid, __u64 user_stack_id,
				     __u64 kern_stack_id, __u64 futex_addr);

#endif
