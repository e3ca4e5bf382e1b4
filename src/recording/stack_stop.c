// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Short names of the reasons a user stack's walk stopped (bpf/cfi.h). The
 * unwinder names its counters with them and the reports print them, so they
 * live with the recording both sides share, not with either side.
 */
#include "stack_stop.h"

const char *cfi_stop_name(enum cfi_stop stop)
{
	static const char *const names[CFI_STOP_NR] = {
		[CFI_STOP_END] = "end",
		[CFI_STOP_DEPTH] = "depth",
		[CFI_STOP_NO_MAPPING] = "no-mapping",
		[CFI_STOP_NO_TABLE] = "no-table",
		[CFI_STOP_NO_CFI] = "no-cfi",
		[CFI_STOP_UNSUPPORTED] = "unsupported",
		[CFI_STOP_RBP_UNKNOWN] = "rbp-unknown",
		[CFI_STOP_BOUNDS] = "bounds",
		[CFI_STOP_CFA_ORDER] = "cfa-order",
		[CFI_STOP_READ] = "read",
		[CFI_STOP_ZERO_RA] = "zero-ra",
	};

	return (unsigned int)stop < CFI_STOP_NR ? names[stop] : "?";
}
