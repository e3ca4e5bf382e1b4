// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Names of tail's BPF counters (bpf/tail.h, enum tail_counter). */
#include "tail_data.h"

static const char *const counter_names[TCNT_NR] = {
	[TCNT_RING_FULL] = "calls_lost_ring_full",
	[TCNT_SLOT_OVERFLOW] = "waits_beyond_slots",
	[TCNT_DROP_SPAN_FULL] = "dropped_span_map_full",
	[TCNT_UNMATCHED_RETURN] = "unmatched_return",
	[TCNT_OTHER_TARGET] = "nested_other_target",
	[TCNT_EXIT_INSIDE] = "thread_exit_inside_call",
	[TCNT_DROP_STACK_FULL] = "dropped_stack_map_full",
	[TCNT_KSTACK_FAILED] = "kernel_stack_failed",
	[TCNT_USTACK_EMPTY] = "user_stack_empty",
	[TCNT_NOTIFY_LOST] = "process_notifications_lost",
	[TCNT_SEG_MERGED] = "intervals_merged_in_waterfall",
	[TCNT_DROP_THREAD_FULL] = "dropped_thread_map_full",
	[TCNT_WAKER_UNTRACED] = "futex_waker_not_traced",
	[TCNT_OPEN_AT_END] = "calls_open_at_end",
};

const char *tail_counter_name(unsigned int id)
{
	return id < TCNT_NR ? counter_names[id] : "?";
}
