// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "diff_input.h"
#include "lock_agg.h"
#include "offcpu_agg.h"
#include "stack_names.h"

bool diff_parse_by(const char *s, enum diff_by *by)
{
	if (!strcmp(s, "stack"))
		*by = DIFF_BY_STACK;
	else if (!strcmp(s, "function"))
		*by = DIFF_BY_FUNCTION;
	else if (!strcmp(s, "thread"))
		*by = DIFF_BY_THREAD;
	else if (!strcmp(s, "lock"))
		*by = DIFF_BY_LOCK;
	else
		return false;
	return true;
}

const char *diff_by_name(enum diff_by by)
{
	static const char *const names[] = { "stack", "function", "thread", "lock" };

	return names[by];
}

static int add_item(struct diff_set *set, size_t *cap, const char *key, __u64 count,
		    __u64 total, __u64 max, const __u64 *counts, const __u64 *sums)
{
	struct diff_item *it;
	unsigned int i;

	if (set->nr == *cap) {
		size_t want = *cap ? *cap * 2 : 16;

		it = realloc(set->items, want * sizeof(*it));
		if (!it)
			return -ENOMEM;
		set->items = it;
		*cap = want;
	}
	it = &set->items[set->nr];
	it->key = strdup(key);
	if (!it->key)
		return -ENOMEM;
	set->nr++;
	it->count = count;
	it->total_ns = total;
	it->max_ns = max;
	for (i = 0; i < HIST_NR_BUCKETS; i++) {
		it->hist_count[i] = counts[i];
		it->hist_sum_ns[i] = sums[i];
	}
	return 0;
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(((const struct diff_item *)a)->key, ((const struct diff_item *)b)->key);
}

/* Sorts by key and merges items with equal keys (other pids, tids, ids). */
static void merge_equal_keys(struct diff_set *set)
{
	size_t i, out = 0;
	unsigned int b;

	if (!set->nr)
		return;
	qsort(set->items, set->nr, sizeof(*set->items), cmp_key);
	for (i = 1; i < set->nr; i++) {
		struct diff_item *keep = &set->items[out], *it = &set->items[i];

		if (strcmp(keep->key, it->key)) {
			set->items[++out] = *it;
			continue;
		}
		keep->count += it->count;
		keep->total_ns += it->total_ns;
		if (it->max_ns > keep->max_ns)
			keep->max_ns = it->max_ns;
		for (b = 0; b < HIST_NR_BUCKETS; b++) {
			keep->hist_count[b] += it->hist_count[b];
			keep->hist_sum_ns[b] += it->hist_sum_ns[b];
		}
		free(it->key);
	}
	set->nr = out + 1;
}

static const char *basename_of(const char *path)
{
	const char *slash = path ? strrchr(path, '/') : NULL;

	return slash ? slash + 1 : path ? path : "";
}

/* System libraries whose frames say how a thread blocked, not where the
 * program asked to: the function view looks past them. */
static bool system_frame(const struct named_frame *f)
{
	static const char *const libs[] = { "libc.so", "libc-", "libpthread", "ld-linux",
					    "libstdc++", "libgcc_s", "librt", NULL };
	const char *mod = f->sym && f->sym->module ? basename_of(f->sym->module) : "";
	const char *const *l;

	for (l = libs; *l; l++)
		if (!strncmp(mod, *l, strlen(*l)))
			return true;
	return false;
}

/* The innermost frame of the program itself; else the innermost user
 * frame; else the innermost kernel frame. */
static void program_function(const struct recording *rec, __u64 user_id, __u64 kern_id,
			     __u32 pid, struct named_stack *ns, char *buf, size_t len)
{
	unsigned int i;

	stack_names(rec, user_id, pid, ns);
	for (i = 0; i < ns->nr; i++) {
		if (!system_frame(&ns->frames[i])) {
			snprintf(buf, len, "%s", ns->frames[i].name);
			return;
		}
	}
	if (ns->nr) {
		snprintf(buf, len, "%s", ns->frames[0].name);
		return;
	}
	stack_names(rec, kern_id, 0, ns);
	snprintf(buf, len, "%s", ns->nr ? ns->frames[0].name : "[unknown]");
}

static int offcpu_items(const struct recording *rec, enum diff_by by, struct diff_set *set,
			size_t *cap, struct named_stack *ns)
{
	char *buf = NULL, key[512];
	struct offcpu_agg agg;
	size_t bufcap = 0, i;
	int err, len;

	err = offcpu_aggregate(rec, WAIT_ALL, &agg);
	for (i = 0; i < agg.nr && !err; i++) {
		const struct offcpu_entry *e = &agg.entries[i];
		const char *k = key;

		if (by == DIFF_BY_THREAD) {
			snprintf(key, sizeof(key), "%.*s", TASK_COMM_LEN, e->comm);
		} else if (by == DIFF_BY_FUNCTION) {
			program_function(rec, e->user_stack_id, e->kern_stack_id, e->tgid, ns, key,
					 sizeof(key));
		} else {
			len = stack_names_join(rec, e->user_stack_id, e->kern_stack_id, e->tgid,
					       ns, &buf, &bufcap);
			if (len < 0) {
				err = len;
				break;
			}
			/* comm first, written as in folded output */
			char comm[TASK_COMM_LEN * 4 + 1], *full;

			snprintf(key, sizeof(key), "%.*s", TASK_COMM_LEN, e->comm);
			name_escape(comm, sizeof(comm), key, NAME_FOLDED);
			full = malloc(strlen(comm) + 2 + len);
			if (!full) {
				err = -ENOMEM;
				break;
			}
			sprintf(full, "%s;%s", comm, buf);
			err = add_item(set, cap, full, e->count, e->total_ns, e->max_ns, e->hist_count,
				       e->hist_sum_ns);
			free(full);
			continue;
		}
		err = add_item(set, cap, k, e->count, e->total_ns, e->max_ns, e->hist_count,
			       e->hist_sum_ns);
	}
	offcpu_agg_free(&agg);
	free(buf);
	return err;
}

/* The innermost kernel frame that is not lock machinery: who took it. */
static void kernel_caller(const struct recording *rec, __u64 stack_id, struct named_stack *ns,
			  char *buf, size_t len)
{
	unsigned int i;

	stack_names(rec, stack_id, 0, ns);
	for (i = 0; i < ns->nr; i++) {
		const char *n = ns->frames[i].name;

		if (!strstr(n, "lock") && !strstr(n, "slowpath") && !strstr(n, "contention") &&
		    !strstr(n, "mutex") && !strstr(n, "rwsem") && !strstr(n, "schedule")) {
			snprintf(buf, len, "%s", n);
			return;
		}
	}
	snprintf(buf, len, "%s", ns->nr ? ns->frames[0].name : "");
}

/* A lock's identity across runs: kind and variable name; an unnamed lock
 * (heap, stack) by where it lives and the function that waits on it most. */
static void lock_key(const struct recording *rec, const struct lock_entry *e,
		     struct named_stack *ns, char *buf, size_t len)
{
	char name[256], fn[256] = "";

	if (e->symbol) {
		lock_display_name(e, name, sizeof(name));
		snprintf(buf, len, "%s %s", lock_kind_name(e->kind), name);
		return;
	}
	if (e->kernel) {
		if (e->nr_callsites)
			kernel_caller(rec, e->callsites[0].stack_id, ns, fn, sizeof(fn));
		snprintf(buf, len, "kernel %s taken in %s", lock_kernel_type(e->kernel_flags),
			 fn[0] ? fn : "?");
		return;
	}
	if (e->nr_callsites)
		program_function(rec, e->callsites[0].stack_id, 0, e->pid, ns, fn, sizeof(fn));
	snprintf(buf, len, "%s in %s waited in %s", lock_kind_name(e->kind),
		 basename_of(e->object), fn[0] ? fn : "?");
}

static int lock_items(const struct recording *rec, struct diff_set *set, size_t *cap,
		      struct named_stack *ns)
{
	struct lock_agg agg;
	char key[600];
	size_t i;
	int err;

	err = lock_aggregate(rec, &agg);
	for (i = 0; i < agg.nr && !err; i++) {
		const struct lock_entry *e = &agg.entries[i];
		struct lock_latency lat;

		lock_key(rec, e, ns, key, sizeof(key));
		lock_entry_latency(e, &lat);
		err = add_item(set, cap, key, lat.count, lat.total_ns, lat.max_ns, lat.counts,
			       lat.sums);
	}
	lock_agg_free(&agg);
	return err;
}

int diff_set_from_recording(const struct recording *rec, enum diff_by by, struct diff_set *set)
{
	struct named_stack *ns = malloc(sizeof(*ns));
	size_t cap = 0;
	int err;

	memset(set, 0, sizeof(*set));
	if (!ns)
		return -ENOMEM;
	if (by == DIFF_BY_LOCK)
		err = lock_items(rec, set, &cap, ns);
	else
		err = offcpu_items(rec, by, set, &cap, ns);
	free(ns);
	if (err) {
		diff_set_free(set);
		return err;
	}
	merge_equal_keys(set);
	return 0;
}

static int from_csv(const char *path, const struct csv_samples_opts *o, struct diff_set *set,
		    char *err, size_t err_len)
{
	struct csv_samples s;
	size_t cap = 0, i;
	int ret;

	ret = csv_samples_load_path(path, o, &s, err, err_len);
	if (ret)
		return ret;
	set->csv = true;
	set->csv_bad_rows = s.bad_rows;
	set->csv_first_bad_line = s.nr_bad_listed ? s.bad[0].line : 0;
	for (i = 0; i < s.nr_groups && !ret; i++) {
		const struct sample_group *g = &s.groups[i];

		ret = add_item(set, &cap, g->name, g->count, g->total_ns, g->max_ns, g->hist_count,
			       g->hist_sum_ns);
	}
	csv_samples_free(&s);
	if (ret) {
		snprintf(err, err_len, "out of memory");
		return ret;
	}
	merge_equal_keys(set);
	return 0;
}

int diff_set_load(const char *path, enum diff_by by, const struct csv_samples_opts *csv,
		  struct diff_set *set, char *err, size_t err_len)
{
	struct recording *rec;
	int ret;

	memset(set, 0, sizeof(*set));
	if (csv_looks_like_csv(path))
		return from_csv(path, csv, set, err, err_len);
	rec = rec_read(path, err, err_len);
	if (!rec)
		return -EINVAL;
	ret = diff_set_from_recording(rec, by, set);
	rec_free(rec);
	if (ret)
		snprintf(err, err_len, "%s: %s", path, strerror(-ret));
	return ret;
}

void diff_set_free(struct diff_set *set)
{
	size_t i;

	for (i = 0; i < set->nr; i++)
		free(set->items[i].key);
	free(set->items);
	memset(set, 0, sizeof(*set));
}
