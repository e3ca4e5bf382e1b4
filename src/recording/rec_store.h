/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The recording as the store of a live recording: histogram entries drained
 * from the kernel many times are merged by key, and every stack copied out
 * of the kernel is kept once, by id, for as long as the recording lives.
 * The in-kernel maps are a cache in front of it (bpf/drain.h).
 */
#ifndef WAITPROF_REC_STORE_H
#define WAITPROF_REC_STORE_H

#include <stdbool.h>
#include <linux/types.h>

#include "recording.h"

/* Adds val into the entry for key (a new one when there is none). */
int rec_merge_offcpu(struct recording *rec, const struct offcpu_key *key,
		     const struct offcpu_val *val);
int rec_merge_lock(struct recording *rec, const struct lock_key *key, const struct lock_val *val);
int rec_merge_lock_holder(struct recording *rec, const struct lock_holder_key *key,
			  const struct lock_holder_val *val);
/* Whether a stack with this id was stored through rec_store_stack(). */
bool rec_has_stack_id(const struct recording *rec, __u64 id);
/* Stores a stack unless one with its id is stored already. */
int rec_store_stack(struct recording *rec, __u64 id, __u32 flags, __u32 nr, const __u64 *ips);
void rec_store_free(struct rec_store *store);

#endif
