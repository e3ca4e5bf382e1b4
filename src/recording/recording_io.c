// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The recording file (docs/RECORDING.md):
 *   "WAITPROF" u32 version u32 reserved
 *   sections: u32 type, u32 crc32(payload), u64 payload length, payload
 * Integers are little-endian, strings a u32 length and bytes. Every read is
 * bounds-checked; a bad checksum or a short section is a clear error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "buf.h"
#include "recording.h"
#include "util.h"

#define MAX_STR		(1u << 20)
#define MAX_FILE_SIZE	(1ull << 34)	/* 16 GiB: refuse anything larger */
#define HEADER_SIZE	16

static void section_begin(struct wbuf *b, __u32 type, size_t *start)
{
	wbuf_u32(b, type);
	wbuf_u32(b, 0);		/* crc, patched in section_end */
	wbuf_u64(b, 0);		/* length, likewise */
	*start = b->len;
}

static void section_end(struct wbuf *b, size_t start)
{
	__u64 len;
	__u32 crc;

	if (b->oom)
		return;
	len = b->len - start;
	crc = crc32(0, b->data + start, (uInt)len);
	memcpy(b->data + start - 12, &crc, 4);
	memcpy(b->data + start - 8, &len, 8);
}

static void write_meta(struct wbuf *b, const struct recording *rec)
{
	size_t i, s;

	section_begin(b, REC_SEC_META, &s);
	wbuf_u32(b, rec->nr_meta);
	for (i = 0; i < rec->nr_meta; i++) {
		wbuf_str(b, rec->meta[i].key);
		wbuf_str(b, rec->meta[i].value);
	}
	section_end(b, s);
}

static void write_stacks(struct wbuf *b, const struct recording *rec)
{
	size_t i, s;

	section_begin(b, REC_SEC_STACKS, &s);
	wbuf_u32(b, rec->nr_stacks);
	for (i = 0; i < rec->nr_stacks; i++) {
		wbuf_u64(b, rec->stacks[i].id);
		wbuf_u32(b, rec->stacks[i].flags);
		wbuf_u32(b, rec->stacks[i].nr);
		wbuf_put(b, rec->stacks[i].ips, sizeof(__u64) * rec->stacks[i].nr);
	}
	section_end(b, s);
}

static void write_offcpu(struct wbuf *b, const struct recording *rec)
{
	size_t i, s;

	section_begin(b, REC_SEC_OFFCPU, &s);
	wbuf_u32(b, sizeof(struct rec_offcpu));
	wbuf_u32(b, rec->nr_offcpu);
	for (i = 0; i < rec->nr_offcpu; i++)
		wbuf_put(b, &rec->offcpu[i], sizeof(struct rec_offcpu));
	section_end(b, s);
}

static void write_maps(struct wbuf *b, const struct proc_maps *maps)
{
	size_t i;

	wbuf_u32(b, maps ? maps->nr : 0);
	for (i = 0; maps && i < maps->nr; i++) {
		const struct proc_map *m = &maps->maps[i];

		wbuf_u64(b, m->start);
		wbuf_u64(b, m->end);
		wbuf_u64(b, m->pgoff);
		wbuf_u64(b, m->inode);
		wbuf_u32(b, m->dev_major);
		wbuf_u32(b, m->dev_minor);
		wbuf_put(b, m->perms, 4);
		wbuf_u8(b, m->build_id_len);
		wbuf_put(b, m->build_id, SYM_BUILD_ID_MAX);
		wbuf_str(b, m->path);
	}
}

static void write_processes(struct wbuf *b, const struct recording *rec)
{
	size_t i, s;

	section_begin(b, REC_SEC_PROCESSES, &s);
	wbuf_u32(b, rec->nr_procs);
	for (i = 0; i < rec->nr_procs; i++) {
		wbuf_u32(b, (__u32)rec->procs[i].pid);
		wbuf_str(b, rec->procs[i].comm);
		wbuf_str(b, rec->procs[i].exe);
		write_maps(b, rec->procs[i].maps);
	}
	section_end(b, s);
}

static void write_symbols(struct wbuf *b, const struct recording *rec)
{
	size_t i, j, s;

	section_begin(b, REC_SEC_SYMBOLS, &s);
	wbuf_u32(b, rec->nr_symbols);
	for (i = 0; i < rec->nr_symbols; i++) {
		const struct rec_symbol *sym = &rec->symbols[i];

		wbuf_u32(b, sym->pid);
		wbuf_u64(b, sym->addr);
		wbuf_u32(b, sym->nr_frames);
		for (j = 0; j < sym->nr_frames; j++) {
			wbuf_str(b, sym->frames[j].name);
			wbuf_str(b, sym->frames[j].file);
			wbuf_str(b, sym->frames[j].module);
			wbuf_u64(b, sym->frames[j].offset);
			wbuf_u32(b, sym->frames[j].line);
			wbuf_u8(b, sym->frames[j].inlined);
		}
	}
	section_end(b, s);
}

static void write_counters(struct wbuf *b, const struct recording *rec)
{
	size_t i, s;

	section_begin(b, REC_SEC_COUNTERS, &s);
	wbuf_u32(b, rec->nr_counters);
	for (i = 0; i < rec->nr_counters; i++) {
		wbuf_str(b, rec->counters[i].name);
		wbuf_u64(b, rec->counters[i].value);
	}
	section_end(b, s);
}

/* Fixed-size records: the record size first, so a reader can refuse a
 * layout it does not know instead of misreading it. */
static void write_records(struct wbuf *b, __u32 type, const void *recs, size_t nr,
			  size_t size)
{
	size_t s;

	section_begin(b, type, &s);
	wbuf_u32(b, size);
	wbuf_u32(b, nr);
	wbuf_put(b, recs, size * nr);
	section_end(b, s);
}

static void write_lock_names(struct wbuf *b, const struct recording *rec)
{
	size_t i, s;

	section_begin(b, REC_SEC_LOCK_NAMES, &s);
	wbuf_u32(b, rec->nr_lock_names);
	for (i = 0; i < rec->nr_lock_names; i++) {
		wbuf_u32(b, rec->lock_names[i].pid);
		wbuf_u64(b, rec->lock_names[i].addr);
		wbuf_u64(b, rec->lock_names[i].offset);
		wbuf_str(b, rec->lock_names[i].name);
	}
	section_end(b, s);
}

static void write_locks(struct wbuf *b, const struct recording *rec)
{
	if (!rec->nr_locks && !rec->nr_lock_holders && !rec->nr_lock_names)
		return;
	write_records(b, REC_SEC_LOCKS, rec->locks, rec->nr_locks, sizeof(struct rec_lock));
	write_records(b, REC_SEC_LOCK_HOLDERS, rec->lock_holders, rec->nr_lock_holders,
		      sizeof(struct rec_lock_holder));
	write_lock_names(b, rec);
}

static void write_wakers(struct wbuf *b, const struct recording *rec)
{
	if (rec->nr_wakers)
		write_records(b, REC_SEC_WAKERS, rec->wakers, rec->nr_wakers,
			      sizeof(struct rec_waker));
}

static void write_events(struct wbuf *b, const struct recording *rec)
{
	if (rec->nr_events)
		write_records(b, REC_SEC_EVENTS, rec->events, rec->nr_events,
			      sizeof(struct offcpu_event));
}

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t w;

	while (n) {
		w = write(fd, c, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		c += w;
		n -= w;
	}
	return 0;
}

int rec_write(const struct recording *rec, const char *path)
{
	struct wbuf b = {};
	char tmp[4096];
	size_t s;
	int fd, err;

	wbuf_put(&b, REC_MAGIC, 8);
	wbuf_u32(&b, REC_VERSION);
	wbuf_u32(&b, 0);
	write_meta(&b, rec);
	write_processes(&b, rec);
	write_stacks(&b, rec);
	write_offcpu(&b, rec);
	write_symbols(&b, rec);
	write_counters(&b, rec);
	write_locks(&b, rec);
	write_wakers(&b, rec);
	write_events(&b, rec);
	section_begin(&b, REC_SEC_END, &s);
	section_end(&b, s);
	if (b.oom) {
		wbuf_free(&b);
		return -ENOMEM;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, getpid()) >= (int)sizeof(tmp)) {
		wbuf_free(&b);
		return -ENAMETOOLONG;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = -errno;
		wbuf_free(&b);
		return err;
	}
	err = write_all(fd, b.data, b.len);
	if (!err && fsync(fd))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	wbuf_free(&b);
	return err;
}

/* ---- reading ---- */

#define FAIL(...) do { snprintf(err, err_len, __VA_ARGS__); goto fail; } while (0)

/*
 * Every section but the end marker is a u32 count of entries and then the
 * entries; fixed-size records have their size before the count. One reader
 * (read_section) checks the counts, sizes and trailing bytes of all of
 * them; what differs is how one entry is read and checked (read_entry) or
 * how one fixed-size record is checked and added (add_record).
 */
struct section_format {
	__u32 type;
	const char *name;
	size_t record_size;	/* fixed-size records: the size the file must say */
	int (*read_entry)(struct rbuf *r, struct recording *rec);
	int (*add_record)(struct recording *rec, const void *record);
};

static int read_meta_entry(struct rbuf *r, struct recording *rec)
{
	char *k = rbuf_str(r, MAX_STR), *v = rbuf_str(r, MAX_STR);
	int ret = (k && v) ? rec_set_meta(rec, k, v) : -EINVAL;

	free(k);
	free(v);
	return ret;
}

static int read_stack_entry(struct rbuf *r, struct recording *rec)
{
	__u64 ips[MAX_STACK_DEPTH], id = rbuf_u64(r);
	__u32 flags = rbuf_u32(r), nr = rbuf_u32(r);

	if (nr > MAX_STACK_DEPTH)
		return -EINVAL;
	rbuf_get(r, ips, sizeof(__u64) * nr);
	if (r->bad || rec_add_stack(rec, id, flags, nr, ips))
		return -EINVAL;
	return 0;
}

static struct proc_maps *read_maps(struct rbuf *r, int pid)
{
	__u32 n = rbuf_u32(r), i;
	struct proc_maps *maps;

	if (r->bad || n > rbuf_left(r) / 60)
		return r->bad = true, NULL;
	maps = calloc(1, sizeof(*maps));
	if (!maps || !(maps->maps = calloc(n ? n : 1, sizeof(*maps->maps)))) {
		free(maps);
		r->bad = true;
		return NULL;
	}
	maps->pid = pid;
	for (i = 0; i < n && !r->bad; i++) {
		struct proc_map *m = &maps->maps[i];

		m->start = rbuf_u64(r);
		m->end = rbuf_u64(r);
		m->pgoff = rbuf_u64(r);
		m->inode = rbuf_u64(r);
		m->dev_major = rbuf_u32(r);
		m->dev_minor = rbuf_u32(r);
		rbuf_get(r, m->perms, 4);
		m->perms[4] = '\0';
		m->build_id_len = rbuf_u8(r);
		rbuf_get(r, m->build_id, SYM_BUILD_ID_MAX);
		m->path = rbuf_str(r, MAX_STR);
		if (!m->path)
			m->path = strdup("");
		maps->nr = i + 1;
		if (m->build_id_len > SYM_BUILD_ID_MAX || m->end < m->start || !m->path)
			r->bad = true;
	}
	if (r->bad) {
		proc_maps_free(maps);
		return NULL;
	}
	return maps;
}

static int read_process_entry(struct rbuf *r, struct recording *rec)
{
	int pid = (int)rbuf_u32(r), ret;
	char *comm = rbuf_str(r, MAX_STR), *exe = rbuf_str(r, MAX_STR);
	struct proc_maps *maps = read_maps(r, pid);

	ret = r->bad ? -EINVAL : rec_add_process(rec, pid, comm, exe, maps);
	if (r->bad)
		proc_maps_free(maps);
	free(comm);
	free(exe);
	return ret;
}

static int read_symbol_entry(struct rbuf *r, struct recording *rec)
{
	struct rec_symbol *sym = ARRAY_PUSH(rec->symbols, rec->nr_symbols);
	__u32 j, nr;

	if (!sym)
		return -ENOMEM;
	sym->pid = rbuf_u32(r);
	sym->addr = rbuf_u64(r);
	nr = rbuf_u32(r);
	if (nr > 256 || nr > rbuf_left(r) / 29)
		return -EINVAL;
	sym->frames = calloc(nr ? nr : 1, sizeof(*sym->frames));
	if (!sym->frames)
		return -ENOMEM;
	for (j = 0; j < nr && !r->bad; j++) {
		struct rec_frame *f = &sym->frames[j];

		f->name = rbuf_str(r, MAX_STR);
		f->file = rbuf_str(r, MAX_STR);
		f->module = rbuf_str(r, MAX_STR);
		f->offset = rbuf_u64(r);
		f->line = rbuf_u32(r);
		f->inlined = rbuf_u8(r) != 0;
		sym->nr_frames = j + 1;
	}
	return 0;
}

static int read_counter_entry(struct rbuf *r, struct recording *rec)
{
	char *name = rbuf_str(r, MAX_STR);
	__u64 v = rbuf_u64(r);
	int ret = name ? rec_add_counter(rec, name, v) : -EINVAL;

	free(name);
	return ret;
}

static int read_lock_name_entry(struct rbuf *r, struct recording *rec)
{
	__u32 pid = rbuf_u32(r);
	__u64 addr = rbuf_u64(r), offset = rbuf_u64(r);
	char *name = rbuf_str(r, MAX_STR);
	int ret = name ? rec_add_lock_name(rec, pid, addr, name, offset) : -EINVAL;

	free(name);
	return ret;
}

static int add_offcpu(struct recording *rec, const void *record)
{
	const struct rec_offcpu *o = record;

	if (o->key.bucket >= HIST_NR_BUCKETS)
		return -EINVAL;
	return rec_add_offcpu(rec, &o->key, &o->val) ? -ENOMEM : 0;
}

static int add_lock(struct recording *rec, const void *record)
{
	const struct rec_lock *l = record;

	if (l->key.bucket >= HIST_NR_BUCKETS)
		return -EINVAL;
	return rec_add_lock(rec, &l->key, &l->val) ? -ENOMEM : 0;
}

static int add_lock_holder(struct recording *rec, const void *record)
{
	const struct rec_lock_holder *h = record;

	return rec_add_lock_holder(rec, &h->key, &h->val) ? -ENOMEM : 0;
}

static int add_waker(struct recording *rec, const void *record)
{
	const struct rec_waker *w = record;

	return rec_add_waker(rec, &w->key, &w->val) ? -ENOMEM : 0;
}

static int add_event(struct recording *rec, const void *record)
{
	return rec_add_event(rec, record) ? -ENOMEM : 0;
}

/* Room for any fixed-size record, aligned for each. */
union any_record {
	struct rec_offcpu offcpu;
	struct rec_lock lock;
	struct rec_lock_holder holder;
	struct rec_waker waker;
	struct offcpu_event event;
};

static const struct section_format sections[] = {
	{ REC_SEC_META, "meta", 0, read_meta_entry },
	{ REC_SEC_STACKS, "stacks", 0, read_stack_entry },
	{ REC_SEC_OFFCPU, "offcpu", sizeof(struct rec_offcpu), NULL, add_offcpu },
	{ REC_SEC_PROCESSES, "processes", 0, read_process_entry },
	{ REC_SEC_SYMBOLS, "symbols", 0, read_symbol_entry },
	{ REC_SEC_COUNTERS, "counters", 0, read_counter_entry },
	{ REC_SEC_END, "end" },
	{ REC_SEC_LOCKS, "locks", sizeof(struct rec_lock), NULL, add_lock },
	{ REC_SEC_LOCK_HOLDERS, "lock holders", sizeof(struct rec_lock_holder), NULL,
	  add_lock_holder },
	{ REC_SEC_LOCK_NAMES, "lock names", 0, read_lock_name_entry },
	{ REC_SEC_WAKERS, "wakers", sizeof(struct rec_waker), NULL, add_waker },
	{ REC_SEC_EVENTS, "events", sizeof(struct offcpu_event), NULL, add_event },
};

/* NULL for a section type this version does not know (a newer one). */
static const struct section_format *section_format(__u32 type)
{
	size_t i;

	for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		if (sections[i].type == type)
			return &sections[i];
	return NULL;
}

static const char *section_name(__u32 type)
{
	const struct section_format *f = section_format(type);

	return f ? f->name : "unknown";
}

static int read_record(const struct section_format *f, struct rbuf *r, struct recording *rec)
{
	union any_record record;

	rbuf_get(r, &record, f->record_size);
	return r->bad ? -EINVAL : f->add_record(rec, &record);
}

/*
 * One section's payload: its count (after the record size, which must be
 * the one this version writes: -EPROTO otherwise), that many entries, and
 * not a byte more.
 */
static int read_section(const struct section_format *f, struct rbuf *r, struct recording *rec)
{
	__u32 size, n, i;
	int ret = 0;

	if (!f->record_size && !f->read_entry) {
		rec->complete = true;	/* the end marker: nothing in it */
		return rbuf_left(r) ? -EINVAL : 0;
	}
	if (f->record_size) {
		size = rbuf_u32(r);
		n = rbuf_u32(r);
		if (size != f->record_size)
			return -EPROTO;
		if ((__u64)n * size != rbuf_left(r))
			return -EINVAL;
	} else {
		n = rbuf_u32(r);
	}
	for (i = 0; i < n && !r->bad && !ret; i++)
		ret = f->record_size ? read_record(f, r, rec) : f->read_entry(r, rec);
	if (ret)
		return ret;
	return r->bad || rbuf_left(r) ? -EINVAL : 0;
}

struct recording *rec_read_mem(const void *data, size_t len, char *err, size_t err_len)
{
	struct rbuf file = { .data = data, .len = len };
	struct recording *rec = rec_new();
	const struct section_format *fmt;
	char magic[8];
	__u32 version, type, crc;
	__u64 size;
	size_t off;
	int ret;

	if (!rec)
		FAIL("out of memory");
	rbuf_get(&file, magic, 8);
	version = rbuf_u32(&file);
	rbuf_u32(&file);
	if (file.bad || memcmp(magic, REC_MAGIC, 8))
		FAIL("not a waitprof recording (bad magic)");
	if (version != REC_VERSION)
		FAIL("recording version %u is not supported (this waitprof reads %u)",
		     version, REC_VERSION);
	while (rbuf_left(&file) && !rec->complete) {
		off = file.pos;
		type = rbuf_u32(&file);
		crc = rbuf_u32(&file);
		size = rbuf_u64(&file);
		if (file.bad || size > rbuf_left(&file))
			FAIL("truncated recording: %s section at offset %zu", section_name(type), off);
		struct rbuf sec = { .data = file.data + file.pos, .len = size };

		if (crc32(0, sec.data, (uInt)size) != crc)
			FAIL("corrupt recording: %s section at offset %zu fails its checksum",
			     section_name(type), off);
		fmt = section_format(type);
		if (fmt)
			ret = read_section(fmt, &sec, rec);
		else	/* newer versions number theirs past the end marker */
			ret = type <= REC_SEC_END && rbuf_left(&sec) ? -EINVAL : 0;
		if (ret == -EPROTO)
			FAIL("recording has a %s section layout this waitprof does not know",
			     section_name(type));
		if (ret)
			FAIL("corrupt recording: bad %s section at offset %zu", section_name(type), off);
		file.pos += size;
	}
	rec_finish(rec);
	return rec;
fail:
	rec_free(rec);
	return NULL;
}

int rec_file_is_recording(const char *path)
{
	char magic[8];
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -errno;
	n = fread(magic, 1, sizeof(magic), f);
	fclose(f);
	return n == sizeof(magic) && !memcmp(magic, REC_MAGIC, sizeof(magic));
}

struct recording *rec_read(const char *path, char *err, size_t err_len)
{
	struct recording *rec = NULL;
	struct stat st;
	void *data;
	FILE *f;

	f = fopen(path, "rbe");
	if (!f) {
		snprintf(err, err_len, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode)) {
		snprintf(err, err_len, "%s is not a regular file", path);
		fclose(f);
		return NULL;
	}
	if ((unsigned long long)st.st_size > MAX_FILE_SIZE || st.st_size < HEADER_SIZE) {
		snprintf(err, err_len, "%s: %s", path,
			 st.st_size < HEADER_SIZE ? "too short to be a recording" : "too large");
		fclose(f);
		return NULL;
	}
	data = malloc(st.st_size);
	if (!data) {
		snprintf(err, err_len, "out of memory reading %s", path);
		fclose(f);
		return NULL;
	}
	if (fread(data, 1, st.st_size, f) != (size_t)st.st_size)
		snprintf(err, err_len, "cannot read %s: %s", path, strerror(errno));
	else
		rec = rec_read_mem(data, st.st_size, err, err_len);
	free(data);
	fclose(f);
	return rec;
}
