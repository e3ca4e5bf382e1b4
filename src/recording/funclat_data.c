// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Names of funclat's BPF counters (bpf/funclat.h, enum funclat_counter). */
#include "funclat_data.h"

static const char *const counter_names[FCNT_NR] = {
	[FCNT_SAMPLED_OUT] = "sampled_out",
	[FCNT_DEPTH_OVERFLOW] = "depth_overflow",
	[FCNT_NEVER_RETURNED] = "never_returned",
	[FCNT_EXIT_INSIDE] = "thread_exit_inside_call",
	[FCNT_EXEC_INSIDE] = "exec_inside_call",
	[FCNT_UNMATCHED_RETURN] = "unmatched_return",
	[FCNT_FILTERED_MIN] = "filtered_by_min",
	[FCNT_DROP_THREAD_FULL] = "dropped_thread_state_full",
	[FCNT_DROP_STACK_FULL] = "dropped_stack_map_full",
	[FCNT_DROP_STACK_HIST_FULL] = "dropped_stack_hist_full",
	[FCNT_USTACK_EMPTY] = "user_stack_empty",
	[FCNT_TRAMP_MAPPED] = "uretprobe_trampolines_mapped",
	[FCNT_TRAMP_UNMAPPED] = "uretprobe_trampolines_unmapped",
	[FCNT_NOTIFY_LOST] = "process_notifications_lost",
};

const char *funclat_counter_name(unsigned int id)
{
	return id < FCNT_NR ? counter_names[id] : "?";
}
