// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Off-CPU time by how its user call chain ended (stack_ends.h). */
#include <string.h>

#include "stack_ends.h"

const char *stack_end_words(enum cfi_stop stop)
{
	static const char *const words[CFI_STOP_NR] = {
		[CFI_STOP_END] = "reached its root",
		[CFI_STOP_DEPTH] = "deeper than the depth limit",
		[CFI_STOP_NO_MAPPING] = "a return address outside any executable mapping",
		[CFI_STOP_NO_TABLE] = "code without an unwind table (JIT, [vdso], no CFI)",
		[CFI_STOP_NO_CFI] = "a pc that no FDE covers",
		[CFI_STOP_UNSUPPORTED] = "a CFI rule the walker does not follow",
		[CFI_STOP_RBP_UNKNOWN] = "no frame pointer (rbp lost or never set)",
		[CFI_STOP_BOUNDS] = "a frame outside the thread's stack",
		[CFI_STOP_CFA_ORDER] = "a frame that did not grow the stack",
		[CFI_STOP_READ] = "stack memory not readable without a fault",
		[CFI_STOP_ZERO_RA] = "a zero return address",
	};

	return (unsigned int)stop < CFI_STOP_NR ? words[stop] : "?";
}

int stack_end_of(const struct recording *rec, __u64 user_stack_id)
{
	const struct rec_stack *st = user_stack_id ? rec_find_stack(rec, user_stack_id) : NULL;
	int stop;

	if (!st)
		return -1;
	stop = STACK_END_OF(st->flags);
	return stop < CFI_STOP_NR ? stop : -1;
}

void stack_ends_collect(const struct recording *rec, const struct offcpu_agg *agg,
			enum wait_part part, struct stack_ends *ends)
{
	size_t i;

	memset(ends, 0, sizeof(*ends));
	for (i = 0; i < agg->nr; i++) {
		const struct offcpu_entry *e = &agg->entries[i];
		__u64 ns = offcpu_entry_value(e, part);
		int stop;

		/* No user stack: a kernel thread, or a walk that gave nothing
		 * (counted apart, user_stack_empty). */
		if (!e->user_stack_id || !rec_find_stack(rec, e->user_stack_id))
			continue;
		ends->user_ns += ns;
		stop = stack_end_of(rec, e->user_stack_id);
		if (stop < 0)
			ends->unknown_ns += ns;
		else if (stop == CFI_STOP_END)
			ends->root_ns += ns;
		else
			ends->stop_ns[stop] += ns;
	}
}

__u64 stack_ends_truncated_ns(const struct stack_ends *ends)
{
	__u64 sum = 0;
	int i;

	for (i = 0; i < CFI_STOP_NR; i++)
		sum += ends->stop_ns[i];
	return sum;
}
