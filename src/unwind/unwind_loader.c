// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cfi_table.h"
#include "recording.h"
#include "unwind_loader.h"
#include "util.h"

struct loaded_proc {
	int pid;
	uint64_t hash;		/* of its packed mappings */
};

struct unwind_loader {
	int rows_fd;
	struct cfi_row *rows;	/* the rows map, mapped; NULL: write by syscall */
	size_t rows_len;
	int procs_fd;
	uint32_t max_rows;
	uint32_t rows_written;	/* pool rows [0, rows_written) are in the map */
	uint32_t generation;	/* last one given to a process's tables */
	struct cfi_cache *cache;
	struct cfi_pool pool;
	struct cfi_proc *proc;	/* scratch: 4 KiB */
	struct loaded_proc *loaded;	/* what each pid has now */
	size_t nr_loaded;
	uint64_t loads, failures, over_budget, load_ns;
};

static void map_rows(struct unwind_loader *l)
{
	long page = sysconf(_SC_PAGESIZE);
	void *p;

	l->rows_len = ((size_t)l->max_rows * sizeof(struct cfi_row) + page - 1) / page * page;
	p = mmap(NULL, l->rows_len, PROT_READ | PROT_WRITE, MAP_SHARED, l->rows_fd, 0);
	l->rows = p == MAP_FAILED ? NULL : p;
}

struct unwind_loader *unwind_loader_new(struct bpf_map *rows, struct bpf_map *procs)
{
	struct unwind_loader *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->rows_fd = bpf_map__fd(rows);
	l->procs_fd = bpf_map__fd(procs);
	l->max_rows = bpf_map__max_entries(rows);
	map_rows(l);
	l->cache = cfi_cache_new();
	l->proc = calloc(1, sizeof(*l->proc));
	if (!l->cache || !l->proc) {
		unwind_loader_free(l);
		return NULL;
	}
	return l;
}

void unwind_loader_free(struct unwind_loader *l)
{
	if (!l)
		return;
	if (l->rows)
		munmap(l->rows, l->rows_len);
	cfi_cache_free(l->cache);
	cfi_pool_free(&l->pool);
	free(l->proc);
	free(l->loaded);
	free(l);
}

static uint64_t hash_proc(const struct cfi_proc *proc)
{
	size_t n = proc->nr < CFI_PROC_MAX_MAPPINGS ? proc->nr : CFI_PROC_MAX_MAPPINGS;

	return hash_bytes(proc->maps, n * sizeof(proc->maps[0])) ^ proc->nr;
}

/* True when the pid already has exactly these mappings loaded; else
 * remembers them as loaded. */
static bool unchanged(struct unwind_loader *l, int pid, uint64_t hash)
{
	struct loaded_proc *lp;
	size_t i;

	for (i = 0; i < l->nr_loaded; i++) {
		if (l->loaded[i].pid != pid)
			continue;
		if (l->loaded[i].hash == hash)
			return true;
		l->loaded[i].hash = hash;
		return false;
	}
	lp = ARRAY_PUSH(l->loaded, l->nr_loaded);
	if (lp) {
		lp->pid = pid;
		lp->hash = hash;
	}
	return false;
}

/* Rows placed in the pool but not yet in the map, up to the budget. */
static int write_new_rows(struct unwind_loader *l)
{
	uint32_t end = l->pool.nr < l->max_rows ? l->pool.nr : l->max_rows;
	uint32_t n = end > l->rows_written ? end - l->rows_written : 0, i, count;
	uint32_t *keys;
	int err;

	if (!n)
		return 0;
	if (l->rows) {
		/* Rows before the process entries that point at them: the
		 * map update of the entry orders the stores. */
		memcpy(&l->rows[l->rows_written], &l->pool.rows[l->rows_written],
		       (size_t)n * sizeof(*l->rows));
		l->rows_written = end;
		return 0;
	}
	keys = malloc(n * sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		keys[i] = l->rows_written + i;
	count = n;
	err = bpf_map_update_batch(l->rows_fd, keys, &l->pool.rows[l->rows_written], &count, NULL);
	for (i = err ? count : n; err && i < n; i++) {
		/* No batch support: one row at a time. */
		err = bpf_map_update_elem(l->rows_fd, &keys[i], &l->pool.rows[keys[i]], BPF_ANY);
		if (err)
			break;
	}
	free(keys);
	if (!err)
		l->rows_written = end;
	return err;
}

/* Mappings whose rows did not fit the budget walk as if they had none. */
static void drop_over_budget(struct unwind_loader *l, struct cfi_proc *proc)
{
	uint32_t i;

	for (i = 0; i < proc->nr && i < CFI_PROC_MAX_MAPPINGS; i++) {
		struct cfi_mapping *m = &proc->maps[i];

		if (m->nr_rows && (uint64_t)m->first_row + m->nr_rows > l->rows_written) {
			m->nr_rows = 0;
			l->over_budget++;
		}
	}
}

int unwind_loader_load(struct unwind_loader *l, const struct proc_maps *maps)
{
	int pid = maps->pid;
	struct cfi_proc_maps pm = {};
	uint64_t t0 = now_ns();
	__u32 tgid = pid;
	int err;

	err = cfi_proc_maps_from(maps, l->cache, &pm);
	if (!err)
		err = cfi_proc_pack(&pm, &l->pool, l->proc);
	if (!err)
		err = write_new_rows(l);
	if (!err) {
		drop_over_budget(l, l->proc);
		if (unchanged(l, pid, hash_proc(l->proc)))
			goto out;
		/* Stack ids this process's threads cached before these tables
		 * are walked again; other processes' are untouched. Never 0,
		 * the generation of a process without tables. */
		l->proc->generation = ++l->generation ? l->generation : ++l->generation;
		err = bpf_map_update_elem(l->procs_fd, &tgid, l->proc, BPF_ANY);
	}
out:
	cfi_proc_maps_free(&pm);
	l->load_ns += now_ns() - t0;
	if (err)
		l->failures++;
	else
		l->loads++;
	return err;
}

void unwind_loader_report(const struct unwind_loader *l, struct recording *rec)
{
	rec_add_counter(rec, "unwind_process_loads", l->loads);
	rec_add_counter(rec, "unwind_process_load_failures", l->failures);
	rec_add_counter(rec, "unwind_tables_built", cfi_cache_builds(l->cache));
	rec_add_counter(rec, "unwind_tables_reused", cfi_cache_hits(l->cache));
	rec_add_counter(rec, "unwind_table_bytes", cfi_cache_bytes(l->cache));
	rec_add_counter(rec, "unwind_rows_loaded", l->rows_written);
	rec_add_counter(rec, "unwind_rows_budget", l->max_rows);
	rec_add_counter(rec, "unwind_mappings_over_budget", l->over_budget);
	rec_add_counter(rec, "unwind_load_us", l->load_ns / 1000);
}

/* Names of the unwinder's counters (enum unwind_counter), for the
 * recording. */
const char *unwind_counter_name(unsigned int id, char *buf, size_t len)
{
	static const char *const names[] = {
		[UNW_CFI_WALKS - CFI_STOP_NR] = "unwind_cfi_walks",
		[UNW_FP_WALKS - CFI_STOP_NR] = "unwind_fp_walks",
		[UNW_FP_FALLBACKS - CFI_STOP_NR] = "unwind_fp_fallbacks",
		[UNW_FIND_VMA - CFI_STOP_NR] = "unwind_stack_vma_lookups",
		[UNW_NO_BOUNDS - CFI_STOP_NR] = "unwind_stack_vma_missing",
	};

	if (id >= CFI_STOP_NR)
		return names[id - CFI_STOP_NR];
	snprintf(buf, len, "unwind_cfi_stop_%s", cfi_stop_name(id));
	return buf;
}
