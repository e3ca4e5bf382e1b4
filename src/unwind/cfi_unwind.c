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
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cfi_table.h"
#include "symbolize.h"

/*
 * The reference walker runs the BPF walker's own step (bpf/cfi_step.h) on
 * the packed form: rows from the pool, reads through the caller's reader,
 * both counted.
 */
#define CFI_WALK_EXTRA \
	const struct cfi_row *rows; \
	uint32_t nr_rows; \
	cfi_read_fn read_mem; \
	void *ctx; \
	struct cfi_unwind_result *res;
#define CFI_ROWS_PARAM		const struct cfi_walk *rows,
#define CFI_ROWS_ARG(w)		(w),
#define CFI_ROW(w, idx)		pool_row((w), (idx))
#define CFI_READ(w, addr, val)	\
	((w)->res->reads++, (w)->read_mem((w)->ctx, (addr), (val), sizeof(*(val))))

struct cfi_walk;
static const struct cfi_row *pool_row(const struct cfi_walk *w, uint32_t idx);

#include "cfi_step.h"

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
	uint64_t hits;		/* mappings served without opening the file */
	size_t bytes;
	void *vdso_image;	/* the last [vdso] seen, and its table */
	size_t vdso_size;
	const struct cfi_table *vdso_table;
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
	free(cache->vdso_image);
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

uint64_t cfi_cache_hits(const struct cfi_cache *cache)
{
	return cache->hits;
}

/* A file without a build-id is known by its identity on disk. */
struct file_identity {
	uint64_t dev, ino, size;
	int64_t mtime_s, mtime_ns;
};

/* The build-id, or for a file without one its identity on disk. */
static int cache_key(int fd, uint8_t *key)
{
	struct file_identity id;
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

/* Builds the table of the file at fd and keeps it under key. */
static const struct cfi_table *cache_build(struct cfi_cache *cache, const uint8_t *key,
					   uint32_t len, int fd, const char *path)
{
	struct cfi_table *table;
	int err = cfi_table_build_fd(fd, path, &table);

	if (err) {
		errno = -err;
		return NULL;
	}
	return cache_insert(cache, key, len, table);
}

const struct cfi_table *cfi_cache_get(struct cfi_cache *cache, int fd, const char *path)
{
	uint8_t key[CFI_BUILD_ID_MAX];
	struct cfi_cache_entry **slot;
	int len = cache_key(fd, key);

	if (len < 0) {
		errno = -len;
		return NULL;
	}
	slot = cache_slot(cache, key, (uint32_t)len);
	if (*slot)
		return (*slot)->table;
	return cache_build(cache, key, (uint32_t)len, fd, path);
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

/* The cache key a mapping's identity gives without opening the file: its
 * build-id, else device/inode/size/mtime as cache_key() makes it. 0 when
 * the mapping was read without identities. */
static int map_key(const struct proc_map *pm, uint8_t *key)
{
	struct file_identity id;

	if (pm->build_id_len) {
		memcpy(key, pm->build_id, pm->build_id_len);
		return pm->build_id_len;
	}
	if (!pm->file_size && !pm->file_mtime_ns)
		return 0;
	memset(&id, 0, sizeof(id));
	id.dev = makedev(pm->dev_major, pm->dev_minor);
	id.ino = pm->inode;
	id.size = pm->file_size;
	id.mtime_s = pm->file_mtime_ns / 1000000000;
	id.mtime_ns = pm->file_mtime_ns % 1000000000;
	memcpy(key, &id, sizeof(id));
	return sizeof(id);
}

/* Table and bias of one executable file mapping; failures leave it
 * without a table (the walk stops there) rather than failing the process.
 * An object seen before (by key) is not opened again. */
static void map_table(pid_t pid, struct cfi_cache *cache, const struct proc_map *pm,
		      struct cfi_map *m)
{
	uint8_t key[CFI_BUILD_ID_MAX];
	struct cfi_cache_entry **slot;
	int len = map_key(pm, key);
	char mf[96];
	int fd;

	if (len > 0) {
		slot = cache_slot(cache, key, (uint32_t)len);
		if (*slot) {
			cache->hits++;
			m->table = (*slot)->table;
			goto bias;
		}
	}
	snprintf(mf, sizeof(mf), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int)pid,
		 m->start, m->end);
	fd = open(mf, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fd = open(m->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (len > 0) {
		m->table = cache_build(cache, key, (uint32_t)len, fd, m->path);
	} else {
		m->table = cfi_cache_get(cache, fd, m->path);
	}
	close(fd);
bias:
	if (m->table && cfi_table_bias(m->table, m->start, m->pgoff, &m->bias))
		m->table = NULL;
}

/* The vDSO is no file: read its image out of the process. It is the same
 * image in every process of a boot, so a copy of the last one saves
 * building its table again. */
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
	if (image && fd >= 0 && pread(fd, image, size, (off_t)m->start) == (ssize_t)size) {
		if (cache->vdso_image && cache->vdso_size == size &&
		    !memcmp(cache->vdso_image, image, size)) {
			m->table = cache->vdso_table;
		} else {
			m->table = cfi_cache_get_image(cache, image, size);
			free(cache->vdso_image);
			cache->vdso_image = m->table ? image : NULL;
			cache->vdso_size = size;
			cache->vdso_table = m->table;
			if (m->table)
				image = NULL;	/* kept */
		}
	}
	if (fd >= 0)
		close(fd);
	free(image);
	if (m->table && cfi_table_bias(m->table, m->start, m->pgoff, &m->bias))
		m->table = NULL;
}

int cfi_proc_maps_from(const struct proc_maps *maps, struct cfi_cache *cache,
		       struct cfi_proc_maps *out)
{
	size_t cap = 0, cap_all = 0, i;
	struct cfi_map m;
	int err = 0;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < maps->nr; i++) {
		const struct proc_map *pm = &maps->maps[i];

		err = push_range(out, pm->start, pm->end, &cap_all);
		if (err)
			break;
		if (pm->perms[2] != 'x')
			continue;
		memset(&m, 0, sizeof(m));
		m.start = pm->start;
		m.end = pm->end;
		m.pgoff = pm->pgoff;
		snprintf(m.path, sizeof(m.path), "%s", pm->path);
		if (pm->path[0] == '/')
			map_table(maps->pid, cache, pm, &m);
		else if (!strcmp(pm->path, "[vdso]"))
			vdso_table(maps->pid, cache, &m);
		err = push_map(out, &m, &cap);	/* [vdso] etc.: executable, no table */
		if (err)
			break;
	}
	if (err)
		cfi_proc_maps_free(out);
	return err;
}

int cfi_proc_maps_load(pid_t pid, struct cfi_cache *cache, struct cfi_proc_maps *out)
{
	struct proc_maps *maps = proc_maps_read((int)pid);
	int err;

	memset(out, 0, sizeof(*out));
	if (!maps)
		return -errno;
	err = cfi_proc_maps_from(maps, cache, out);
	proc_maps_free(maps);
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

static const struct cfi_row *pool_row(const struct cfi_walk *w, uint32_t idx)
{
	if (idx >= w->nr_rows)
		return NULL;
	w->res->lookup_steps++;
	return &w->rows[idx];
}

uint32_t cfi_unwind_user(const struct cfi_regs *regs, uint64_t stack_end,
			 const struct cfi_proc *proc, const struct cfi_row *rows,
			 uint32_t nr_rows, cfi_read_fn read_mem, void *ctx,
			 uint64_t *ips, uint32_t max_frames, struct cfi_unwind_result *res)
{
	struct cfi_walk w = {
		.pc = regs->rip, .sp = regs->rsp, .bp = regs->rbp, .stack_end = stack_end,
		.bp_known = 1, .exact = 1, .rows = rows, .nr_rows = nr_rows,
		.read_mem = read_mem, .ctx = ctx, .res = res,
	};
	uint32_t stop = CFI_STOP_DEPTH, nr = 0;

	memset(res, 0, sizeof(*res));
	if (!max_frames || stack_end <= regs->rsp)
		goto out;
	ips[nr++] = w.pc;
	for (;;) {
		stop = cfi_next_frame(&w, proc);
		if (stop != CFI_CONTINUE)
			break;
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
