// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The user-space side of CFI unwinding: tables cached by build-id, a
 * process's executable mappings with their load biases, the packed form the
 * BPF maps hold (cfi_rows, cfi_procs), and the reference walker that runs on
 * that packed form exactly as the BPF walker will (docs/UNWIND.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfi_table.h"

#define CACHE_BUCKETS	256

struct cfi_cache_entry {
	uint8_t key[CFI_BUILD_ID_MAX];
	uint32_t key_len;
	struct cfi_table *table;
	struct cfi_cache_entry *next;
};

struct cfi_cache {
	struct cfi_cache_entry *buckets[CACHE_BUCKETS];
	uint32_t builds;
	size_t bytes;
};

struct cfi_cache *cfi_cache_new(void)
{
	return calloc(1, sizeof(struct cfi_cache));
}

void cfi_cache_free(struct cfi_cache *cache)
{
	struct cfi_cache_entry *e, *next;
	size_t i;

	if (!cache)
		return;
	for (i = 0; i < CACHE_BUCKETS; i++) {
		for (e = cache->buckets[i]; e; e = next) {
			next = e->next;
			cfi_table_free(e->table);
			free(e);
		}
	}
	free(cache);
}

uint32_t cfi_cache_builds(const struct cfi_cache *cache)
{
	return cache->builds;
}

size_t cfi_cache_bytes(const struct cfi_cache *cache)
{
	return cache->bytes;
}

/* The build-id, or for a file without one its identity on disk. */
static int cache_key(int fd, uint8_t *key)
{
	struct {
		uint64_t dev, ino, size;
		int64_t mtime_s, mtime_ns;
	} id;
	struct stat st;
	int n = cfi_read_build_id(fd, key, CFI_BUILD_ID_MAX);

	if (n > 0)
		return n;
	if (fstat(fd, &st))
		return -errno;
	memset(&id, 0, sizeof(id));
	id.dev = st.st_dev;
	id.ino = st.st_ino;
	id.size = (uint64_t)st.st_size;
	id.mtime_s = st.st_mtim.tv_sec;
	id.mtime_ns = st.st_mtim.tv_nsec;
	memcpy(key, &id, sizeof(id));	/* 40 bytes: never a build-id length */
	return sizeof(id);
}

static uint32_t key_hash(const uint8_t *key, uint32_t len)
{
	uint32_t h = 2166136261u, i;

	for (i = 0; i < len; i++)
		h = (h ^ key[i]) * 16777619u;
	return h % CACHE_BUCKETS;
}

static struct cfi_cache_entry **cache_slot(struct cfi_cache *cache, const uint8_t *key,
					   uint32_t len)
{
	struct cfi_cache_entry **e = &cache->buckets[key_hash(key, len)];

	for (; *e; e = &(*e)->next)
		if ((*e)->key_len == len && !memcmp((*e)->key, key, len))
			break;
	return e;
}

/* Takes ownership of table. */
static const struct cfi_table *cache_insert(struct cfi_cache *cache, const uint8_t *key,
					    uint32_t len, struct cfi_table *table)
{
	struct cfi_cache_entry *e = calloc(1, sizeof(*e)), **head;

	if (!e) {
		cfi_table_free(table);
		return NULL;
	}
	memcpy(e->key, key, len);
	e->key_len = len;
	e->table = table;
	head = &cache->buckets[key_hash(key, len)];
	e->next = *head;
	*head = e;
	cache->builds++;
	cache->bytes += sizeof(*e) + cfi_table_size(table);
	return table;
}

const struct cfi_table *cfi_cache_get(struct cfi_cache *cache, int fd, const char *path)
{
	uint8_t key[CFI_BUILD_ID_MAX];
	struct cfi_cache_entry **slot;
	struct cfi_table *table;
	int len = cache_key(fd, key), err;

	if (len < 0) {
		errno = -len;
		return NULL;
	}
	slot = cache_slot(cache, key, (uint32_t)len);
	if (*slot)
		return (*slot)->table;
	err = cfi_table_build_fd(fd, path, &table);
	if (err) {
		errno = -err;
		return NULL;
	}
	return cache_insert(cache, key, (uint32_t)len, table);
}

const struct cfi_table *cfi_cache_get_image(struct cfi_cache *cache, void *image, size_t size)
{
	static const uint8_t anonymous[] = "[vdso] without build-id";
	struct cfi_cache_entry **slot;
	struct cfi_table *table;
	const uint8_t *key;
	uint32_t len;
	int err;

	/* A vDSO is a few KB: building its table to learn its key is cheap. */
	err = cfi_table_build_image(image, size, &table);
	if (err) {
		errno = -err;
		return NULL;
	}
	key = table->build_id_len ? table->build_id : anonymous;
	len = table->build_id_len ? table->build_id_len : sizeof(anonymous);
	slot = cache_slot(cache, key, len);
	if (*slot) {
		cfi_table_free(table);
		return (*slot)->table;
	}
	return cache_insert(cache, key, len, table);
}

static int push_map(struct cfi_proc_maps *pm, const struct cfi_map *m, size_t *cap)
{
	if (pm->nr == *cap) {
		size_t n = *cap ? *cap * 2 : 32;
		struct cfi_map *maps = realloc(pm->maps, n * sizeof(*maps));

		if (!maps)
			return -ENOMEM;
		pm->maps = maps;
		*cap = n;
	}
	pm->maps[pm->nr++] = *m;
	return 0;
}

static int push_range(struct cfi_proc_maps *pm, uint64_t start, uint64_t end, size_t *cap)
{
	if (pm->nr_all == *cap) {
		size_t n = *cap ? *cap * 2 : 64;
		void *all = realloc(pm->all, n * sizeof(*pm->all));

		if (!all)
			return -ENOMEM;
		pm->all = all;
		*cap = n;
	}
	pm->all[pm->nr_all].start = start;
	pm->all[pm->nr_all].end = end;
	pm->nr_all++;
	return 0;
}

/* Table and bias of one executable file mapping; failures leave it
 * without a table (the walk stops there) rather than failing the process. */
static void map_table(pid_t pid, struct cfi_cache *cache, struct cfi_map *m)
{
	char mf[96];
	int fd;

	snprintf(mf, sizeof(mf), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int)pid,
		 m->start, m->end);
	fd = open(mf, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fd = open(m->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	m->table = cfi_cache_get(cache, fd, m->path);
	close(fd);
	if (m->table && cfi_table_bias(m->table, m->start, m->pgoff, &m->bias))
		m->table = NULL;
}

/* The vDSO is no file: read its image out of the process. */
static void vdso_table(pid_t pid, struct cfi_cache *cache, struct cfi_map *m)
{
	size_t size = m->end - m->start;
	char mem[64];
	void *image;
	int fd;

	if (size > (1 << 20))
		return;
	image = malloc(size);
	snprintf(mem, sizeof(mem), "/proc/%d/mem", (int)pid);
	fd = open(mem, O_RDONLY | O_CLOEXEC);
	if (image && fd >= 0 && pread(fd, image, size, (off_t)m->start) == (ssize_t)size)
		m->table = cfi_cache_get_image(cache, image, size);
	if (fd >= 0)
		close(fd);
	free(image);
	if (m->table && cfi_table_bias(m->table, m->start, m->pgoff, &m->bias))
		m->table = NULL;
}

int cfi_proc_maps_load(pid_t pid, struct cfi_cache *cache, struct cfi_proc_maps *out)
{
	size_t cap = 0, cap_all = 0;
	char path[64], line[512], perms[8], name[256];
	struct cfi_map m;
	FILE *f;
	int err = 0;

	memset(out, 0, sizeof(*out));
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		memset(&m, 0, sizeof(m));
		name[0] = '\0';
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %*s %*s %255[^\n]",
			   &m.start, &m.end, perms, &m.pgoff, name) < 4)
			continue;
		err = push_range(out, m.start, m.end, &cap_all);
		if (err)
			break;
		if (perms[2] != 'x')
			continue;
		snprintf(m.path, sizeof(m.path), "%s", name);
		if (name[0] == '/')
			map_table(pid, cache, &m);
		else if (!strcmp(name, "[vdso]"))
			vdso_table(pid, cache, &m);
		err = push_map(out, &m, &cap);	/* [vdso] etc.: executable, no table */
		if (err)
			break;
	}
	fclose(f);
	if (err)
		cfi_proc_maps_free(out);
	return err;
}

void cfi_proc_maps_free(struct cfi_proc_maps *pm)
{
	free(pm->maps);
	free(pm->all);
	memset(pm, 0, sizeof(*pm));
}

uint64_t cfi_proc_stack_end(const struct cfi_proc_maps *pm, uint64_t sp)
{
	size_t i;

	for (i = 0; i < pm->nr_all; i++)
		if (sp >= pm->all[i].start && sp < pm->all[i].end)
			return pm->all[i].end;
	return 0;
}

const struct cfi_map *cfi_proc_find(const struct cfi_proc_maps *pm, uint64_t pc)
{
	size_t i;

	for (i = 0; i < pm->nr; i++)
		if (pc >= pm->maps[i].start && pc < pm->maps[i].end)
			return &pm->maps[i];
	return NULL;
}

int cfi_pool_place(struct cfi_pool *pool, const struct cfi_table *t, uint32_t *first)
{
	uint32_t i;

	for (i = 0; i < pool->nr_slots; i++) {
		if (pool->slots[i].table == t) {
			*first = pool->slots[i].first;
			return 0;
		}
	}
	if (pool->nr_slots == pool->cap_slots) {
		uint32_t n = pool->cap_slots ? pool->cap_slots * 2 : 16;
		struct cfi_pool_slot *slots = realloc(pool->slots, n * sizeof(*slots));

		if (!slots)
			return -ENOMEM;
		pool->slots = slots;
		pool->cap_slots = n;
	}
	if (t->nr_rows > UINT32_MAX - pool->nr)
		return -E2BIG;
	if (pool->nr + t->nr_rows > pool->cap) {
		uint32_t n = pool->cap ? pool->cap : 65536;
		struct cfi_row *rows;

		while (n < pool->nr + t->nr_rows)
			n *= 2;
		rows = realloc(pool->rows, (size_t)n * sizeof(*rows));
		if (!rows)
			return -ENOMEM;
		pool->rows = rows;
		pool->cap = n;
	}
	memcpy(pool->rows + pool->nr, t->rows, (size_t)t->nr_rows * sizeof(*t->rows));
	pool->slots[pool->nr_slots].table = t;
	pool->slots[pool->nr_slots].first = pool->nr;
	pool->nr_slots++;
	*first = pool->nr;
	pool->nr += t->nr_rows;
	return 0;
}

void cfi_pool_free(struct cfi_pool *pool)
{
	free(pool->rows);
	free(pool->slots);
	memset(pool, 0, sizeof(*pool));
}

int cfi_proc_pack(const struct cfi_proc_maps *pm, struct cfi_pool *pool, struct cfi_proc *out)
{
	size_t i;
	int err;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < pm->nr; i++) {
		const struct cfi_map *m = &pm->maps[i];
		struct cfi_mapping *cm;

		if (out->nr == CFI_PROC_MAX_MAPPINGS)
			return -E2BIG;
		cm = &out->maps[out->nr++];
		cm->start = m->start;
		cm->end = m->end;
		if (!m->table || !m->table->nr_rows)
			continue;
		err = cfi_pool_place(pool, m->table, &cm->first_row);
		if (err)
			return err;
		cm->nr_rows = m->table->nr_rows;
		cm->table_base = m->bias + m->table->base;
	}
	return 0;
}

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

/* The mapping holding pc: last one starting at or below pc, bounded. */
static const struct cfi_mapping *find_mapping(const struct cfi_proc *proc, uint64_t pc)
{
	uint32_t lo = 0, n = proc->nr, half, step;

	if (!n || n > CFI_PROC_MAX_MAPPINGS || proc->maps[0].start > pc)
		return NULL;
	for (step = 0; step < CFI_PROC_SEARCH_STEPS && n > 1; step++) {
		half = n / 2;
		if (proc->maps[lo + half].start <= pc) {
			lo += half;
			n -= half;
		} else {
			n = half;
		}
	}
	if (n != 1 || pc >= proc->maps[lo].end)
		return NULL;
	return &proc->maps[lo];
}

#define WALK_CONTINUE	CFI_STOP_NR

struct walk {
	uint64_t pc, sp, bp, stack_end;
	bool bp_known;
	bool exact;		/* pc is not a return address: look it up as is */
	cfi_read_fn read_mem;
	void *ctx;
	struct cfi_unwind_result *res;
};

/* Reads a u64 of the stack, only inside [sp, stack_end) and aligned. */
static enum cfi_stop read_stack(struct walk *w, uint64_t addr, uint64_t *val)
{
	if (addr < w->sp || addr > w->stack_end - 8 || (addr & 7))
		return CFI_STOP_BOUNDS;
	w->res->reads++;
	if (w->read_mem(w->ctx, addr, val, sizeof(*val)))
		return CFI_STOP_READ;
	return WALK_CONTINUE;
}

/* Frame of __restore_rt: the interrupted registers are in the ucontext at sp. */
static enum cfi_stop step_signal(struct walk *w)
{
	uint64_t rbp, rsp, rip;
	enum cfi_stop stop;

	if ((stop = read_stack(w, w->sp + CFI_SIGFRAME_RBP, &rbp)) != WALK_CONTINUE ||
	    (stop = read_stack(w, w->sp + CFI_SIGFRAME_RSP, &rsp)) != WALK_CONTINUE ||
	    (stop = read_stack(w, w->sp + CFI_SIGFRAME_RIP, &rip)) != WALK_CONTINUE)
		return stop;
	if (rsp <= w->sp)		/* sigaltstack, or garbage */
		return CFI_STOP_CFA_ORDER;
	w->sp = rsp;
	w->bp = rbp;
	w->bp_known = true;
	w->pc = rip;
	w->exact = true;
	return rip ? WALK_CONTINUE : CFI_STOP_ZERO_RA;
}

static enum cfi_stop step(struct walk *w, const struct cfi_proc *proc,
			  const struct cfi_row *rows, uint32_t nr_rows)
{
	const struct cfi_mapping *m = find_mapping(proc, w->pc);
	const struct cfi_row *row;
	uint64_t lookup, cfa, ra, bp;
	enum cfi_stop stop;
	int64_t i;

	if (!m)
		return CFI_STOP_NO_MAPPING;
	if (!m->nr_rows || m->first_row > nr_rows || m->nr_rows > nr_rows - m->first_row)
		return CFI_STOP_NO_TABLE;
	/* A return address follows its call: the call itself is at pc - 1. */
	lookup = w->exact ? w->pc : w->pc - 1;
	if (lookup < m->table_base || lookup - m->table_base > UINT32_MAX)
		return CFI_STOP_NO_CFI;
	i = cfi_rows_search(rows + m->first_row, m->nr_rows, (uint32_t)(lookup - m->table_base),
			    &w->res->lookup_steps);
	if (i < 0)
		return CFI_STOP_NO_CFI;
	row = &rows[m->first_row + i];
	switch (CFI_ROW_CFA_RULE(row)) {
	case CFI_CFA_NONE:
		return CFI_STOP_NO_CFI;
	case CFI_CFA_END:
		return CFI_STOP_END;
	case CFI_CFA_SIGNAL:
		return step_signal(w);
	case CFI_CFA_RSP:
		cfa = w->sp + CFI_ROW_CFA_OFFSET(row);
		break;
	case CFI_CFA_RBP:
		if (!w->bp_known)
			return CFI_STOP_RBP_UNKNOWN;
		cfa = w->bp + CFI_ROW_CFA_OFFSET(row);
		break;
	case CFI_CFA_PLT11:
	case CFI_CFA_PLT10:
		cfa = w->sp + CFI_ROW_CFA_OFFSET(row) +
		      ((w->pc & 15) >= (CFI_ROW_CFA_RULE(row) == CFI_CFA_PLT11 ? 11u : 10u) ? 8 : 0);
		break;
	default:
		return CFI_STOP_UNSUPPORTED;
	}
	if (cfa <= w->sp)
		return CFI_STOP_CFA_ORDER;
	stop = read_stack(w, cfa - 8, &ra);
	if (stop != WALK_CONTINUE)
		return stop;
	if (CFI_ROW_RBP_RULE(row) == CFI_RBP_AT_CFA) {
		stop = read_stack(w, cfa + CFI_ROW_RBP_OFFSET(row), &bp);
		if (stop != WALK_CONTINUE)
			return stop;
		w->bp = bp;
		w->bp_known = true;
	} else if (CFI_ROW_RBP_RULE(row) != CFI_RBP_SAME) {
		w->bp_known = false;
	}
	w->sp = cfa;
	w->pc = ra;
	w->exact = false;
	return ra ? WALK_CONTINUE : CFI_STOP_ZERO_RA;
}

uint32_t cfi_unwind_user(const struct cfi_regs *regs, uint64_t stack_end,
			 const struct cfi_proc *proc, const struct cfi_row *rows,
			 uint32_t nr_rows, cfi_read_fn read_mem, void *ctx,
			 uint64_t *ips, uint32_t max_frames, struct cfi_unwind_result *res)
{
	struct walk w = {
		.pc = regs->rip, .sp = regs->rsp, .bp = regs->rbp, .stack_end = stack_end,
		.bp_known = true, .exact = true, .read_mem = read_mem, .ctx = ctx, .res = res,
	};
	enum cfi_stop stop = CFI_STOP_DEPTH;
	uint32_t nr = 0;

	memset(res, 0, sizeof(*res));
	if (!max_frames || stack_end <= regs->rsp)
		goto out;
	ips[nr++] = w.pc;
	for (;;) {
		stop = step(&w, proc, rows, nr_rows);
		if (stop != WALK_CONTINUE)
			break;
		if (!find_mapping(proc, w.pc)) {
			stop = CFI_STOP_NO_MAPPING;
			break;
		}
		if (nr == max_frames) {
			stop = CFI_STOP_DEPTH;
			break;
		}
		ips[nr++] = w.pc;
	}
out:
	res->nr = nr;
	res->stop = stop;
	return nr;
}
