/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Off-wake chains (record --wakers): draining the offcpu object's
 * offcpu_wakers map into the recording's wakers section. */
#ifndef WAITPROF_OFFWAKE_H
#define WAITPROF_OFFWAKE_H

#include "offcpu_collector.h"
#include "recording.h"

/* Copies the waker records and the stacks they use that rec lacks. */
int offwake_drain(const struct offcpu_collector *c, struct recording *rec);

#endif
