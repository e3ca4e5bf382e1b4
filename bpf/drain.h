/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * drain: the kernel/user contract for moving histogram maps into user space
 * while the programs run. Each drained map comes twice; the programs write
 * into buffer (gen & 1). User space flips gen, waits until no program can
 * still hold a pointer into the other buffer (an RCU grace period: every
 * program runs inside rcu_read_lock), then empties that buffer into its own
 * aggregate. No increment is lost, which copying and deleting entries of a
 * map the programs update through pointers cannot promise.
 */
#ifndef WAITPROF_DRAIN_H
#define WAITPROF_DRAIN_H

/* A global in the object's .bss, read by user space through the skeleton's
 * mmapped bss. */
struct map_swap {
	__u32 gen;		/* written by user space only */
	__u32 pad;
	__u64 inserted[2];	/* keys the programs inserted into each buffer */
};

/* One 64-bit counter of stacks inserted into the shared stacks map, by any
 * program of any object: user space drains the stacks when it grows. */
#define STACK_STATS_INSERTED	0

#endif /* WAITPROF_DRAIN_H */
