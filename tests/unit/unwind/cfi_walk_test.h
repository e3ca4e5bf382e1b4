/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What the BPF walker under test (cfi_walk.bpf.c) reports per thread. */
#ifndef WAITPROF_CFI_WALK_TEST_H
#define WAITPROF_CFI_WALK_TEST_H

#include "stack.h"

#define CFI_WALK_MAX_FRAMES	MAX_STACK_DEPTH
#define CFI_WALK_REPEAT		4

struct cfi_walk_result {
	__u32 nr;		/* 0: no table for frame 0 (no walk) */
	__u32 stop;		/* enum cfi_stop; CFI_STOP_NR without a walk */
	__u64 cold_ns;		/* first walk */
	__u64 warm_ns;		/* last of CFI_WALK_REPEAT walks */
	__u64 ips[CFI_WALK_MAX_FRAMES];
};

#endif
