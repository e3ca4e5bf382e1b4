// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "offwake.h"
#include "util.h"

int offwake_drain(const struct offcpu_collector *c, struct recording *rec)
{
	struct bpf_map *wakers = offcpu_map(c, "offcpu_wakers");
	struct bpf_map *stacks = offcpu_map(c, "stacks");
	struct offcpu_waker_key key, next;
	struct offcpu_waker_val val;
	struct id_set seen = {};
	void *prev = NULL;
	int fd, sfd, err = 0;

	if (!wakers || !stacks)
		return 0;
	fd = bpf_map__fd(wakers);
	sfd = bpf_map__fd(stacks);
	rec_finish(rec);
	while (!err && !bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &val))
			continue;
		err = rec_add_waker(rec, &key, &val);
		if (!err)
			err = collector_copy_stack(sfd, key.user_stack_id, rec, &seen);
		if (!err)
			err = collector_copy_stack(sfd, key.kern_stack_id, rec, &seen);
		if (!err)
			err = collector_copy_stack(sfd, key.waker_user_stack_id, rec, &seen);
		if (!err)
			err = collector_copy_stack(sfd, key.waker_kern_stack_id, rec, &seen);
	}
	id_set_free(&seen);
	return err;
}
