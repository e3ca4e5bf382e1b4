/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What the CFI tests share: the live targets and the ptrace helpers. */
#ifndef WAITPROF_TEST_CFI_H
#define WAITPROF_TEST_CFI_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

#include "check.h"

/* Path of the libc.so.6 this process runs with. */
int test_libc_path(char *buf, size_t size);
int test_unwind_live(const char *target);
int test_bpf_walk(const char *target);
int test_unwind_real(char **argv, uint32_t min_frames, int min_threads);

/* Shared by the live tests: cfi_target's three threads (main, thread,
 * signal), stopped with ptrace and read through /proc/PID/mem. */
#define NR_THREADS	3

struct mem_reader {
	int fd;
	uint64_t lo, hi;	/* reads outside [lo, hi) are counted */
	uint32_t violations;
};

int mem_read(void *ctx, uint64_t addr, void *buf, size_t len);
pid_t spawn_target(const char *target, int *report_fd);
int read_reports(int fd, pid_t tids[NR_THREADS]);
bool wait_in_read(pid_t pid, pid_t tid);
int stop_thread(pid_t tid, struct user_regs_struct *regs);

#endif
