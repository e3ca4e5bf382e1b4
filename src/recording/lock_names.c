// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lock_names.h"
#include "util.h"

/* The kernel image's [_stext, _end): kallsyms symbols cover up to the next
 * one, so an address outside the image (a lock in a slab object) must not
 * be named after whatever symbol precedes it. */
struct kernel_image {
	__u64 start;
	__u64 end;
	bool read;
};

static void kernel_image_read(struct kernel_image *img)
{
	char line[512], name[256], type;
	unsigned long long addr;
	FILE *f = fopen("/proc/kallsyms", "re");

	img->start = img->end = 0;
	img->read = true;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f) && (!img->start || !img->end)) {
		if (sscanf(line, "%llx %c %255s", &addr, &type, name) != 3)
			continue;
		if (!strcmp(name, "_stext"))
			img->start = addr;
		else if (!strcmp(name, "_end"))
			img->end = addr;
	}
	fclose(f);
}

static int name_kernel_lock(struct recording *rec, struct symbolizer *sym,
			    const struct kernel_image *img, __u64 addr)
{
	const char *name;
	uint64_t off = 0;

	if (!img->start || addr < img->start || addr >= img->end)
		return 0;
	name = sym_kernel_name(sym, addr, &off);
	return name ? rec_add_lock_name(rec, 0, addr, name, off) : 0;
}

static int name_user_lock(struct recording *rec, struct symbolizer *sym, __u32 pid, __u64 addr)
{
	const struct rec_process *proc = rec_find_process(rec, pid);
	const char *name = NULL;
	uint64_t off = 0;

	if (!proc || !proc->maps)
		return 0;
	if (sym_data(sym, proc->maps, addr, &name, &off) || !name)
		return 0;
	return rec_add_lock_name(rec, pid, addr, name, off);
}

struct lock_addr {
	__u32 pid;
	__u64 addr;
};

static int cmp_lock_addr(const void *a, const void *b)
{
	const struct lock_addr *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

int lock_names_resolve(struct recording *rec, struct symbolizer *sym)
{
	struct kernel_image img = {};
	struct lock_addr *addrs;
	size_t i, nr = 0;
	int err = 0;

	if (!rec->nr_locks)
		return 0;
	addrs = calloc(rec->nr_locks, sizeof(*addrs));
	if (!addrs)
		return -ENOMEM;
	for (i = 0; i < rec->nr_locks; i++) {
		const struct lock_key *k = &rec->locks[i].key;

		addrs[nr].pid = k->source == LOCK_SRC_KERNEL ? 0 : k->tgid;
		addrs[nr++].addr = k->addr;
	}
	qsort(addrs, nr, sizeof(*addrs), cmp_lock_addr);
	for (i = 0; i < nr && !err; i++) {
		if (i && !cmp_lock_addr(&addrs[i], &addrs[i - 1]))
			continue;
		if (addrs[i].pid)
			err = name_user_lock(rec, sym, addrs[i].pid, addrs[i].addr);
		else {
			if (!img.read)
				kernel_image_read(&img);
			err = name_kernel_lock(rec, sym, &img, addrs[i].addr);
		}
	}
	free(addrs);
	rec_finish(rec);
	return err;
}
