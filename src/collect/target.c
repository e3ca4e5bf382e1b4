// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* What is traced (target.h). */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "target.h"
#include "util.h"

void target_set_command(struct target *t, int pid)
{
	t->pids[0] = pid;
	t->nr_pids = 1;
	t->filter_pids = true;
}

int target_check_exist(const struct target *t)
{
	char path[64];
	int i;

	for (i = 0; i < t->nr_pids; i++) {
		snprintf(path, sizeof(path), "/proc/%d", t->pids[i]);
		if (access(path, F_OK)) {
			err_msg("no process with PID %d", t->pids[i]);
			return -ESRCH;
		}
	}
	for (i = 0; i < t->nr_tids; i++) {
		snprintf(path, sizeof(path), "/proc/%d/task/%d", t->tids[i], t->tids[i]);
		if (access(path, F_OK) && (snprintf(path, sizeof(path), "/proc/%d", t->tids[i]),
					   access(path, F_OK))) {
			err_msg("no thread with TID %d", t->tids[i]);
			return -ESRCH;
		}
	}
	return 0;
}
