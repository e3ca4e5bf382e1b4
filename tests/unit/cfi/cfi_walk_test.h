/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What the test-only BPF walker (cfi_walk.bpf.c) reports per thread. */
#ifndef WAITPROF_CFI_WALK_TEST_H
#define WAITPROF_CFI_WALK_TEST_H

#define CFI_WALK_MAX_FRAMES	128
#define CFI_WALK_REPEAT		4

struct cfi_walk_result {
	__u32 nr;
	__u32 stop;		/* enum cfi_stop */
	__u32 lookups;		/* cfi_rows lookups, all frames */
	__u32 pad;
	__u64 cold_ns;		/* first walk */
	__u64 warm_ns;		/* last of CFI_WALK_REPEAT walks */
	__u64 ips[CFI_WALK_MAX_FRAMES];
};

#endif
