// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The kernel's own record of processes mapping code, as perf record gets
 * it: a dummy software event per CPU with mmap2, comm and task set writes
 * PERF_RECORD_MMAP2 (executable mappings only), COMM, FORK and EXIT into a
 * ring, synchronously, in the process's context. A program that lives a few
 * milliseconds is often gone before the recorder, competing for the CPU,
 * reads its /proc/PID/maps; its mappings still wait in the ring.
 *
 * Records come with their time (sample_id_all) and are handed on in time
 * order across CPUs: a process that exec'd on one CPU may map libc on
 * another, and the exec must come first. The mapping's build-id comes in
 * the record when the kernel can (5.12+, attr.build_id), else its device
 * and inode.
 */
#include <errno.h>
#include <linux/perf_event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "mmap_events.h"
#include "util.h"

/* 256 KiB per CPU: ~2000 mappings, a few hundred execs between two reads
 * (the recorder reads at least every 100 ms). */
#define RING_PAGES		64
#define RING_PAGES_MIN		8

struct cpu_ring {
	int fd;
	struct perf_event_mmap_page *meta;
	size_t map_size;
	const char *data;
	uint64_t data_size;	/* a power of two */
};

/* A record copied out of a ring, by its time. */
struct record_ref {
	uint64_t time;
	uint32_t offset;	/* in the scratch buffer */
	uint32_t seq;		/* ties: the order read */
};

struct mmap_events {
	struct cpu_ring *rings;
	int nr_rings;
	char *scratch;
	size_t scratch_cap;
	struct record_ref *refs;
	size_t refs_cap;
	struct mmap_events_stats stats;
};

/* What sample_id_all appends to every record (sample_type TID | TIME). */
struct sample_id {
	__u32 pid, tid;
	__u64 time;
};

struct mmap2_record {
	struct perf_event_header header;
	__u32 pid, tid;
	__u64 addr, len, pgoff;
	union {
		struct {
			__u32 maj, min;
			__u64 ino, ino_generation;
		};
		struct {
			__u8 build_id_size;
			__u8 reserved_1;
			__u16 reserved_2;
			__u8 build_id[20];
		};
	};
	__u32 prot, flags;
	char filename[];
};

struct comm_record {
	struct perf_event_header header;
	__u32 pid, tid;
	char comm[];
};

struct task_record {		/* FORK and EXIT */
	struct perf_event_header header;
	__u32 pid, ppid, tid, ptid;
	__u64 time;
};

struct lost_record {
	struct perf_event_header header;
	__u64 id, lost;
};

static int open_cpu(int cpu, bool build_id)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_DUMMY,
		.sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_TIME,
		.sample_id_all = 1,
		.mmap = 1,
		.mmap2 = 1,
		.comm = 1,
		.comm_exec = 1,
		.task = 1,
		.build_id = build_id,
		.exclude_kernel = 1,
		.exclude_hv = 1,
		/* Read on the recorder's own schedule: no wakeups. */
		.watermark = 1,
		.wakeup_watermark = RING_PAGES * 4096,
	};

	return (int)syscall(__NR_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

static int map_ring(struct cpu_ring *r, size_t pages)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	void *p;

	r->map_size = (pages + 1) * page;
	p = mmap(NULL, r->map_size, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	r->meta = p;
	r->data = (const char *)p + page;
	r->data_size = pages * page;
	return 0;
}

/* perf_event_mlock_kb limits what an unprivileged recorder may map. */
static int open_ring(struct cpu_ring *r, int cpu, bool build_id)
{
	size_t pages;
	int err = -ENOMEM;

	r->fd = open_cpu(cpu, build_id);
	if (r->fd < 0)
		return -errno;
	for (pages = RING_PAGES; pages >= RING_PAGES_MIN; pages /= 2) {
		err = map_ring(r, pages);
		if (!err)
			return 0;
	}
	close(r->fd);
	r->fd = -1;
	return err;
}

/* Build-ids in the records from 5.12 on; older kernels refuse the bit. */
static int open_rings(struct mmap_events *e, int nr_cpus)
{
	bool build_id = true;
	int cpu, err;

	for (cpu = 0; cpu < nr_cpus; cpu++) {
		struct cpu_ring *r = &e->rings[e->nr_rings];

		err = open_ring(r, cpu, build_id);
		if (err == -EINVAL && build_id && !e->nr_rings) {
			build_id = false;
			err = open_ring(r, cpu, build_id);
		}
		if (err == -ENODEV)	/* offline */
			continue;
		if (err)
			return err;
		e->nr_rings++;
	}
	return e->nr_rings ? 0 : -ENODEV;
}

int mmap_events_open(struct mmap_events **out)
{
	struct mmap_events *e;
	int nr_cpus = libbpf_num_possible_cpus();
	int err;

	*out = NULL;
	if (nr_cpus <= 0)
		return nr_cpus ? nr_cpus : -ENODEV;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->rings = calloc((size_t)nr_cpus, sizeof(*e->rings));
	if (!e->rings) {
		free(e);
		return -ENOMEM;
	}
	err = open_rings(e, nr_cpus);
	if (err) {
		mmap_events_free(e);
		return err;
	}
	*out = e;
	return 0;
}

void mmap_events_free(struct mmap_events *e)
{
	int i;

	if (!e)
		return;
	for (i = 0; i < e->nr_rings; i++) {
		munmap(e->rings[i].meta, e->rings[i].map_size);
		close(e->rings[i].fd);
	}
	free(e->rings);
	free(e->scratch);
	free(e->refs);
	free(e);
}

static int grow(void **buf, size_t *cap, size_t need, size_t unit)
{
	size_t n = *cap ? *cap : 64;
	void *p;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	p = realloc(*buf, n * unit);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = n;
	return 0;
}

/* Moves what one ring holds to the end of the scratch buffer (at *len) and
 * gives the ring back to the kernel. Records do not straddle a read: the
 * kernel moves data_head by whole records. */
static int copy_ring(struct mmap_events *e, struct cpu_ring *r, size_t *len)
{
	uint64_t head = __atomic_load_n(&r->meta->data_head, __ATOMIC_ACQUIRE);
	uint64_t tail = r->meta->data_tail, n = head - tail, at, first;

	if (!n)
		return 0;
	if (n > r->data_size || grow((void **)&e->scratch, &e->scratch_cap, *len + n, 1)) {
		/* Cannot happen, or no memory: give the ring back, and say
		 * records were lost (at least one). */
		__atomic_store_n(&r->meta->data_tail, head, __ATOMIC_RELEASE);
		e->stats.lost++;
		return -ENOMEM;
	}
	at = tail & (r->data_size - 1);
	first = n < r->data_size - at ? n : r->data_size - at;
	memcpy(e->scratch + *len, r->data + at, first);
	memcpy(e->scratch + *len + first, r->data, n - first);
	*len += n;
	__atomic_store_n(&r->meta->data_tail, head, __ATOMIC_RELEASE);
	return 0;
}

static int cmp_ref(const void *a, const void *b)
{
	const struct record_ref *x = a, *y = b;

	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Indexes the records in scratch[0, len) by time. */
static size_t index_records(struct mmap_events *e, size_t len)
{
	size_t off = 0, nr = 0;

	while (off + sizeof(struct perf_event_header) <= len) {
		const struct perf_event_header *h = (const void *)(e->scratch + off);
		const struct sample_id *id;

		if (h->size < sizeof(*h) || off + h->size > len)
			break;
		off += h->size;
		if (h->size < sizeof(*h) + sizeof(*id))
			continue;
		if (grow((void **)&e->refs, &e->refs_cap, nr + 1, sizeof(*e->refs))) {
			e->stats.lost++;
			continue;
		}
		id = (const void *)((const char *)h + h->size - sizeof(*id));
		e->refs[nr].time = id->time;
		e->refs[nr].offset = (uint32_t)((const char *)h - e->scratch);
		e->refs[nr].seq = (uint32_t)nr;
		nr++;
	}
	qsort(e->refs, nr, sizeof(*e->refs), cmp_ref);
	return nr;
}

/* The name of a mapping as /proc/PID/maps prints it: perf says "//anon"
 * (and "//toolong", ...) where maps prints nothing. */
static void set_path(struct proc_map *m, const char *name, size_t max)
{
	size_t n = strnlen(name, max);

	if (n >= max || (name[0] == '/' && name[1] == '/'))
		n = 0;
	m->path = strndup(name, n);
}

static void decode_mmap2(struct mmap_events *e, const struct mmap2_record *r,
			 mmap_event_fn fn, void *ctx)
{
	struct mmap_event ev = { .type = MMAP_EVENT_MAP, .pid = (int)r->pid };
	struct proc_map *m = &ev.map;
	size_t name_max;

	/* Outside our pid namespace, perf says pid 0. */
	if (r->header.size < sizeof(*r) + sizeof(struct sample_id) || !r->len || ev.pid <= 0)
		return;
	name_max = r->header.size - sizeof(*r) - sizeof(struct sample_id);
	m->start = r->addr;
	m->end = r->addr + r->len;
	m->pgoff = r->pgoff;
	if (r->header.misc & PERF_RECORD_MISC_MMAP_BUILD_ID) {
		m->build_id_len = r->build_id_size <= SYM_BUILD_ID_MAX ? r->build_id_size : 0;
		memcpy(m->build_id, r->build_id, m->build_id_len);
		e->stats.build_ids += m->build_id_len != 0;
	} else {
		m->dev_major = r->maj;
		m->dev_minor = r->min;
		m->inode = r->ino;
	}
	m->perms[0] = r->prot & PROT_READ ? 'r' : '-';
	m->perms[1] = r->prot & PROT_WRITE ? 'w' : '-';
	m->perms[2] = r->prot & PROT_EXEC ? 'x' : '-';
	m->perms[3] = r->flags & MAP_SHARED ? 's' : 'p';
	set_path(m, r->filename, name_max);
	if (!m->path)
		return;
	e->stats.maps++;
	fn(ctx, &ev);
	free(m->path);
}

static void decode(struct mmap_events *e, const struct perf_event_header *h, mmap_event_fn fn,
		   void *ctx)
{
	const struct comm_record *c = (const void *)h;
	const struct task_record *t = (const void *)h;
	struct mmap_event ev = {};
	size_t n;

	switch (h->type) {
	case PERF_RECORD_MMAP2:
		decode_mmap2(e, (const void *)h, fn, ctx);
		return;
	case PERF_RECORD_COMM:
		/* Threads naming themselves are not the process. */
		if (h->size < sizeof(*c) + sizeof(struct sample_id) || c->pid != c->tid)
			return;
		ev.type = h->misc & PERF_RECORD_MISC_COMM_EXEC ? MMAP_EVENT_EXEC : MMAP_EVENT_COMM;
		ev.pid = (int)c->pid;
		n = h->size - sizeof(*c) - sizeof(struct sample_id);
		n = strnlen(c->comm, n < sizeof(ev.comm) ? n : sizeof(ev.comm) - 1);
		memcpy(ev.comm, c->comm, n);
		break;
	case PERF_RECORD_FORK:
	case PERF_RECORD_EXIT:
		/* New threads and threads ending are not processes. */
		if (h->size < sizeof(*t) || t->pid != t->tid ||
		    (h->type == PERF_RECORD_FORK && t->pid == t->ppid))
			return;
		ev.type = h->type == PERF_RECORD_FORK ? MMAP_EVENT_FORK : MMAP_EVENT_EXIT;
		ev.pid = (int)t->pid;
		ev.parent = (int)t->ppid;
		break;
	case PERF_RECORD_LOST:
		if (h->size >= sizeof(struct lost_record))
			e->stats.lost += ((const struct lost_record *)h)->lost;
		return;
	default:
		return;
	}
	/* Outside our pid namespace, perf says pid 0. */
	if (ev.pid > 0)
		fn(ctx, &ev);
}

void mmap_events_read(struct mmap_events *e, mmap_event_fn fn, void *ctx)
{
	size_t len = 0, nr, i;
	int ring;

	for (ring = 0; ring < e->nr_rings; ring++)
		copy_ring(e, &e->rings[ring], &len);
	if (!len)
		return;
	nr = index_records(e, len);
	for (i = 0; i < nr; i++)
		decode(e, (const void *)(e->scratch + e->refs[i].offset), fn, ctx);
}

void mmap_events_get_stats(const struct mmap_events *e, struct mmap_events_stats *out)
{
	*out = e->stats;
}
