// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Folded stacks into the compact form, read by two threads. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fg_alloc.h"
#include "stacks_impl.h"

#define HUGE_PAGE (2u << 20)
/* Name chunks fill a huge page: names are probed at random too. */
#define NAME_CHUNK (HUGE_PAGE - 64)
/* 32 MiB a chunk: big enough that handing chunks out costs nothing, small
 * enough that both threads stay busy to the end and little is resident. */
#define READ_CHUNK (32u << 20)

/* Tests set WAITPROF_FG_CHUNK (bytes) to cut small inputs into many chunks. */
static size_t chunk_size(void)
{
	const char *env = getenv("WAITPROF_FG_CHUNK");
	long v = env ? strtol(env, NULL, 10) : 0;

	return v > 0 ? (size_t)v : READ_CHUNK;
}

struct fg_name_chunk {
	struct fg_name_chunk *next;
	size_t used, cap;
	char data[];
};


/* Tables probed at random get 2 MiB pages where the kernel allows (THP in
 * "madvise" mode): on a VM every TLB miss is a nested page walk. */
void *fg_big_zalloc(size_t bytes)
{
	size_t size = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
	void *p;

	if (bytes < HUGE_PAGE)
		return calloc(1, bytes);
	p = aligned_alloc(HUGE_PAGE, size);
	if (!p)
		return NULL;
	madvise(p, size, MADV_HUGEPAGE);
	memset(p, 0, size);
	return p;
}

/* Eight bytes a step: FNV-1a's byte loop was a fifth of the parse. */
uint32_t fg_hash_bytes(const char *s, size_t len)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ len, w;

	for (; len >= 8; s += 8, len -= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
		h ^= h >> 29;
	}
	if (len) {
		w = 0;
		memcpy(&w, s, len);
		h = (h ^ w) * 0x94d049bb133111ebull;
		h ^= h >> 31;
	}
	h *= 0x9e3779b97f4a7c15ull;
	return (uint32_t)(h >> 32);
}

static const char *name_copy(struct fg_name_table *t, const char *s, size_t len)
{
	struct fg_name_chunk *c = t->arena;
	char *dst;

	if (!c || c->cap - c->used < len + 4) {
		size_t cap = len + 4 > NAME_CHUNK ? len + 4 : NAME_CHUNK;

		c = fg_big_zalloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->used = 0;
		c->cap = cap;
		c->next = t->arena;
		t->arena = c;
	}
	dst = c->data + c->used;
	memcpy(dst, &(uint32_t){ (uint32_t)len }, 4);
	memcpy(dst + 4, s, len);
	c->used += len + 4;
	return dst + 4;
}

static int rehash(struct fg_name_table *t)
{
	size_t cap = t->cap_slots ? t->cap_slots * 2 : 4096, i, s;
	struct fg_name_slot *slots = fg_big_zalloc(cap * sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (i = 0; i < t->nr; i++) {
		for (s = t->hash[i] & (cap - 1); slots[s].name;)
			s = (s + 1) & (cap - 1);
		slots[s] = (struct fg_name_slot){ t->ptr[i], t->hash[i], (uint32_t)i };
	}
	free(t->slots);
	t->slots = slots;
	t->cap_slots = cap;
	return 0;
}

uint32_t fg_names_lookup(struct fg_name_table *t, const char *s, size_t len, uint32_t h,
			    bool add)
{
	const struct fg_name_slot *c;
	size_t mask, slot;
	uint32_t id, clen;

	if ((t->nr + 1) * 2 > t->cap_slots && rehash(t))
		return FG_NONE;
	mask = t->cap_slots - 1;
	for (slot = h & mask; t->slots[slot].name; slot = (slot + 1) & mask) {
		c = &t->slots[slot];
		if (c->hash != h)
			continue;
		memcpy(&clen, c->name - 4, 4);
		if (clen == len && !memcmp(c->name, s, len))
			return c->id;
	}
	if (!add || t->nr >= FG_NONE - 1)
		return FG_NONE;
	if (t->nr == t->cap) {
		size_t c1 = t->cap, c2 = t->cap, c3 = t->cap;

		if (fg_grow((void **)&t->ptr, &c1, c1 + 1, sizeof(*t->ptr)) ||
		    fg_grow((void **)&t->len, &c2, c2 + 1, sizeof(*t->len)) ||
		    fg_grow((void **)&t->hash, &c3, c3 + 1, sizeof(*t->hash)))
			return FG_NONE;
		t->cap = c1;
	}
	id = (uint32_t)t->nr;
	t->ptr[id] = name_copy(t, s, len);
	if (!t->ptr[id])
		return FG_NONE;
	t->len[id] = (uint32_t)len;
	t->hash[id] = h;
	t->slots[slot] = (struct fg_name_slot){ t->ptr[id], h, id };
	t->nr++;
	return id;
}

uint32_t fg_names_find(struct fg_name_table *t, const char *s, size_t len)
{
	return fg_names_lookup(t, s, len, fg_hash_bytes(s, len), false);
}

static void names_free(struct fg_name_table *t)
{
	struct fg_name_chunk *c, *next;

	for (c = t->arena; c; c = next) {
		next = c->next;
		free(c);
	}
	free(t->slots);
	free(t->ptr);
	free(t->len);
	free(t->hash);
	memset(t, 0, sizeof(*t));
}


void fg_reader_bad(struct fg_reader *r, uint64_t chunk, uint64_t line, const char *why)
{
	if (r->nr_bad < FG_MAX_BAD_LINES)
		r->bad[r->nr_bad] = (struct fg_stacks_bad){ chunk, line, why };
	r->nr_bad++;
}

/* Appends the frames of one stack as name ids; 0 or -errno. */
static int add_frames(struct fg_reader *r, const char *s, size_t len, bool reverse,
		      uint32_t *depth)
{
	const char *end = s + len, *semi, *name;
	size_t first = r->nr_ids, i, j, name_len;
	uint32_t id;

	for (;;) {
		semi = memchr(s, ';', end - s);
		if (!semi)
			semi = end;
		if (r->nr_ids == r->cap_ids &&
		    fg_grow((void **)&r->ids, &r->cap_ids, r->nr_ids + 1, sizeof(*r->ids)))
			return -ENOMEM;
		name = s;
		name_len = semi - s;
		if (memchr(s, '\\', name_len)) {
			if (fg_grow((void **)&r->unescaped, &r->unescaped_cap, name_len, 1))
				return -ENOMEM;
			name_len = fg_unescape_name(r->unescaped, s, name_len);
			name = r->unescaped;
		}
		id = fg_names_lookup(&r->names, name, name_len, fg_hash_bytes(name, name_len), true);
		if (id == FG_NONE)
			return r->names.nr >= FG_NONE - 1 ? -EOVERFLOW : -ENOMEM;
		r->ids[r->nr_ids++] = id;
		if (semi == end)
			break;
		s = semi + 1;
	}
	if (r->nr_ids - first > UINT32_MAX)
		return -EOVERFLOW;
	*depth = (uint32_t)(r->nr_ids - first);
	for (i = first, j = r->nr_ids - 1; reverse && i < j; i++, j--) {
		id = r->ids[i];
		r->ids[i] = r->ids[j];
		r->ids[j] = id;
	}
	return 0;
}

static int add_line(struct fg_reader *r, const char *line, size_t len,
		    const struct fg_line_ctx *c, uint64_t lineno)
{
	bool reverse = c->reverse;
	enum fg_column col = c->col;
	uint64_t chunk = c->chunk;
	uint64_t value, base;
	size_t stack_len, off = r->nr_ids;
	struct fg_stack *st;
	bool two;
	const char *why = fg_folded_split(line, len, &stack_len, &value, &base, &two);
	uint32_t depth;
	int err;

	if (why) {
		if (*why)
			fg_reader_bad(r, chunk, lineno, why);
		return 0;
	}
	if (r->nr_stacks == r->cap_stacks &&
	    fg_grow((void **)&r->stacks, &r->cap_stacks, r->nr_stacks + 1, sizeof(*r->stacks)))
		return -ENOMEM;
	err = add_frames(r, line, stack_len, reverse, &depth);
	if (err)
		return err;
	if (!two && col == FG_BASE) {
		base = value;
		value = 0;
	}
	st = &r->stacks[r->nr_stacks++];
	st->frames = (const uint32_t *)(uintptr_t)off;
	st->depth = depth;
	st->value = value;
	st->base = base;
	r->nr_counted++;
	if (r->sketch)
		fg_sketch_add_stored(r, r->nr_stacks - 1);
	r->total = fg_add_sat(r->total, value);
	r->base_total = fg_add_sat(r->base_total, base);
	if (two || col == FG_BASE)
		r->differential = true;
	return 0;
}

static int one_line(struct fg_reader *r, const char *line, size_t len,
		    const struct fg_line_ctx *c, uint64_t lineno)
{
	if (c->pass == FG_PASS_COUNT)
		return fg_count_line(r, line, len, c, lineno);
	if (c->pass == FG_PASS_PRUNE)
		return fg_prune_line(r, line, len, c);
	return add_line(r, line, len, c, lineno);
}

/* Parses the lines that start in [a, b) of buf (size bytes in all). */
static int parse_range(struct fg_reader *r, const struct fg_line_ctx *c, const char *buf,
		       size_t size, size_t a, size_t b, uint64_t *lines)
{
	const char *nl;
	size_t p = a, e;
	int err;

	if (a && buf[a - 1] != '\n') {
		nl = memchr(buf + a, '\n', size - a);
		p = nl ? (size_t)(nl - buf) + 1 : size;
	}
	*lines = 0;
	while (p < b && p < size) {
		nl = memchr(buf + p, '\n', size - p);
		e = nl ? (size_t)(nl - buf) : size;
		(*lines)++;
		err = one_line(r, buf + p, e - p, c, *lines);
		if (err)
			return err;
		p = e + 1;
	}
	return 0;
}

int fg_stacks_init(struct fg_stacks *s, const struct fg_parse_opts *opts)
{
	memset(s, 0, sizeof(*s));
	if (opts)
		s->opts = *opts;
	return 0;
}

void fg_stacks_free(struct fg_stacks *s)
{
	size_t i;

	for (i = 0; i < FG_READERS; i++) {
		names_free(&s->readers[i].names);
		free(s->readers[i].ids);
		free(s->readers[i].unescaped);
		free(s->readers[i].stacks);
		fg_reader_free_prune(&s->readers[i]);
	}
	for (i = 0; i < s->nr_deferred; i++)
		close(s->deferred[i].fd);
	free(s->deferred);
	free(s->chunks);
	free(s->sources);
	free(s->sorted);
	free(s->sorted_len);
	memset(s, 0, sizeof(*s));
}

static int add_chunks(struct fg_stacks *s, size_t n, size_t *first)
{
	size_t i;

	if (fg_grow((void **)&s->chunks, &s->cap_chunks, s->nr_chunks + n, sizeof(*s->chunks)))
		return -ENOMEM;
	*first = s->nr_chunks;
	for (i = 0; i < n; i++)
		s->chunks[s->nr_chunks + i] = (struct fg_chunk){ (uint32_t)s->nr_inputs, 0 };
	s->nr_chunks += n;
	return 0;
}

/* A mapped file: both threads take the next chunk until none is left. */
struct map_job {
	struct fg_stacks *s;
	const char *map;
	size_t size, first_chunk, nr_chunks;
	size_t next;		/* atomic */
	struct fg_line_ctx ctx;
};

struct map_arg {
	struct map_job *job;
	struct fg_reader *r;
};

static void *map_worker(void *p)
{
	struct map_arg *arg = p;
	struct map_job *j = arg->job;
	size_t size = chunk_size(), k, a, b, page = (size_t)sysconf(_SC_PAGESIZE), lo, hi;
	struct fg_line_ctx ctx = j->ctx;
	uint64_t lines;
	int err = 0;

	while (!err && (k = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED)) < j->nr_chunks) {
		a = k * size;
		b = a + size < j->size ? a + size : j->size;
		ctx.chunk = j->first_chunk + k;
		err = parse_range(arg->r, &ctx, j->map, j->size, a, b, &lines);
		/* Lines are numbered by the count pass, which sees every line. */
		if (ctx.pass != FG_PASS_PRUNE)
			j->s->chunks[ctx.chunk].lines = lines;
		/* Done with these pages: drop them so the file does not stay
		 * resident (it is still in the page cache). */
		lo = a / page * page;
		hi = b / page * page;
		if (hi > lo)
			madvise((char *)j->map + lo, hi - lo, MADV_DONTNEED);
	}
	if (err)
		arg->r->err = err;
	return NULL;
}

/* Reads [start, start + size) of fd with both threads; the chunks' line
 * counts are at first_chunk (added when *first_chunk is SIZE_MAX). */
static int read_mapped(struct fg_stacks *s, int fd, off_t start, size_t size,
		       const struct fg_line_ctx *ctx, size_t *first_chunk)
{
	struct map_job job = { .s = s, .size = size, .ctx = *ctx };
	struct map_arg args[FG_READERS];
	pthread_t tid;
	void *map;
	bool threaded;
	int err, i;

	if (!size)
		return 0;
	map = mmap(NULL, size + start, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED)
		return -errno;
	madvise(map, size + start, MADV_SEQUENTIAL);
	job.map = (const char *)map + start;
	job.nr_chunks = (size + chunk_size() - 1) / chunk_size();
	err = *first_chunk == SIZE_MAX ? add_chunks(s, job.nr_chunks, first_chunk) : 0;
	if (err)
		goto cleanup;
	job.first_chunk = *first_chunk;
	for (i = 0; i < FG_READERS; i++)
		args[i] = (struct map_arg){ &job, &s->readers[i] };
	threaded = job.nr_chunks > 1 && !pthread_create(&tid, NULL, map_worker, &args[1]);
	map_worker(&args[0]);
	if (threaded)
		pthread_join(tid, NULL);
	err = s->readers[0].err ? s->readers[0].err : s->readers[1].err;
cleanup:
	munmap(map, size + start);
	return err;
}

/* A stream: one buffer is parsed by a thread while the next is read. */
struct stream_buf {
	char *data;
	size_t len, cap;
	size_t lines_end;	/* complete lines end here; the rest carries over */
};

struct stream_arg {
	struct fg_stacks *s;
	struct fg_reader *r;
	const struct stream_buf *buf;
	struct fg_line_ctx ctx;
};

static void *stream_worker(void *p)
{
	struct stream_arg *a = p;
	int err = parse_range(a->r, &a->ctx, a->buf->data, a->buf->lines_end, 0,
			      a->buf->lines_end, &a->s->chunks[a->ctx.chunk].lines);

	if (err)
		a->r->err = err;
	return NULL;
}

/* Fills b after the carried-over bytes up to a whole line (or EOF). */
static int fill(struct stream_buf *b, FILE *in, bool *eof)
{
	const char *nl;
	size_t n;

	for (;;) {
		if (b->len == b->cap && fg_grow((void **)&b->data, &b->cap, b->cap * 2, 1))
			return -ENOMEM;
		n = fread(b->data + b->len, 1, b->cap - b->len, in);
		b->len += n;
		if (n == 0 && ferror(in))
			return -EIO;
		*eof = n == 0 && feof(in);
		nl = b->len ? memrchr(b->data, '\n', b->len) : NULL;
		if (*eof || (nl && b->len == b->cap)) {
			b->lines_end = *eof ? b->len : (size_t)(nl - b->data) + 1;
			return 0;
		}
	}
}

static int carry(struct stream_buf *to, const struct stream_buf *from)
{
	size_t rest = from->len - from->lines_end;

	if (fg_grow((void **)&to->data, &to->cap, rest >= chunk_size() ? rest * 2 : chunk_size(), 1))
		return -ENOMEM;
	memcpy(to->data, from->data + from->lines_end, rest);
	to->len = rest;
	return 0;
}

/* Writes all of buf to fd; 0 or -errno. */
static int write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads a stream once. With spool >= 0 its lines are only counted and
 * copied to spool, to be read again like a file; else every stack is kept. */
static int read_stream(struct fg_stacks *s, FILE *in, enum fg_column col, int spool)
{
	enum fg_pass pass = spool >= 0 ? FG_PASS_COUNT : FG_PASS_FULL;
	struct stream_buf bufs[2] = { 0 };
	struct stream_arg args[2];
	pthread_t tid;
	bool eof = false, running = false;
	size_t chunk, cur = 0;
	int err;

	err = fg_grow((void **)&bufs[0].data, &bufs[0].cap, chunk_size(), 1);
	while (!err && !eof) {
		err = fill(&bufs[cur], in, &eof);
		if (!err && spool >= 0)
			err = write_all(spool, bufs[cur].data, bufs[cur].lines_end);
		if (!err && running)
			pthread_join(tid, NULL);
		running = false;
		if (!err)
			err = s->readers[0].err ? s->readers[0].err : s->readers[1].err;
		if (!err)
			err = add_chunks(s, 1, &chunk);
		if (err)
			break;
		args[cur] = (struct stream_arg){ s, &s->readers[cur], &bufs[cur],
						 { pass, col, s->opts.reverse, chunk, 0, NULL } };
		if (!eof && !(err = carry(&bufs[!cur], &bufs[cur])) &&
		    !pthread_create(&tid, NULL, stream_worker, &args[cur]))
			running = true;
		else if (!err)
			stream_worker(&args[cur]);
		cur = !cur;
	}
	if (running)
		pthread_join(tid, NULL);
	if (!err)
		err = s->readers[0].err ? s->readers[0].err : s->readers[1].err;
	free(bufs[0].data);
	free(bufs[1].data);
	return err;
}

/* The first file gives every reader a sketch, with what pipes gave before. */
static int start_sketches(struct fg_stacks *s)
{
	size_t i;
	int err;

	for (i = 0; i < FG_READERS; i++) {
		if (s->readers[i].sketch)
			continue;
		err = fg_sketch_alloc(&s->readers[i]);
		if (err)
			return err;
		fg_sketch_add_stored(&s->readers[i], 0);
	}
	return 0;
}

/* Keeps fd (a duplicate of it) to be read again by fg_stacks_draw. */
static int defer_file(struct fg_stacks *s, int fd, off_t start, size_t size,
		      size_t first_chunk, enum fg_column col)
{
	size_t n = s->nr_deferred;
	int kept;

	if (!size)
		return 0;
	if (fg_grow((void **)&s->deferred, &n, s->nr_deferred + 1, sizeof(*s->deferred)))
		return -ENOMEM;
	kept = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (kept < 0)
		return -errno;
	s->deferred[s->nr_deferred++] = (struct fg_deferred){ kept, start, size, first_chunk, col };
	return 0;
}

/* Counts a file now; fg_stacks_draw reads it again (fd kept open). */
static int count_file(struct fg_stacks *s, int fd, off_t start, size_t size, enum fg_column col)
{
	struct fg_line_ctx ctx = { FG_PASS_COUNT, col, s->opts.reverse, 0, 0, NULL };
	size_t first_chunk = SIZE_MAX;
	int err;

	if (!size)
		return 0;
	err = start_sketches(s);
	if (!err)
		err = read_mapped(s, fd, start, size, &ctx, &first_chunk);
	return err ? err : defer_file(s, fd, start, size, first_chunk, col);
}

/* An unlinked file in $TMPDIR (or /tmp) to copy a pipe into; -1 if none
 * can be made (WAITPROF_FG_NO_SPOOL set, as tests do, counts as none). */
static int spool_open(void)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	int fd;

	if (getenv("WAITPROF_FG_NO_SPOOL"))
		return -1;
	if ((size_t)snprintf(path, sizeof(path), "%s/waitprof-fg-XXXXXX",
			     dir && *dir ? dir : "/tmp") >= sizeof(path))
		return -1;
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		unlink(path);
	return fd;
}

/* A pipe is copied to a spool file while it is counted, then read again
 * from there like a file: memory stays bounded for pipes too. Without a
 * spool file, every stack is kept. */
static int count_stream(struct fg_stacks *s, FILE *in, enum fg_column col)
{
	int spool = spool_open(), err;
	off_t size;

	if (spool < 0)
		return read_stream(s, in, col, -1);
	err = start_sketches(s);
	if (!err)
		err = read_stream(s, in, col, spool);
	size = lseek(spool, 0, SEEK_END);
	if (!err && size < 0)
		err = -errno;
	if (!err)
		err = defer_file(s, spool, 0, (size_t)size, 0, col);
	close(spool);
	return err;
}

int fg_stacks_read(struct fg_stacks *s, FILE *in, const char *source, enum fg_column col)
{
	struct stat st;
	off_t pos;
	int err;

	if (s->ranked)
		return -EINVAL;
	if (fg_grow((void **)&s->sources, &(size_t){ s->nr_inputs }, s->nr_inputs + 1,
		 sizeof(*s->sources)))
		return -ENOMEM;
	s->sources[s->nr_inputs] = source ? source : "<input>";
	pos = ftello(in);
	if (!fstat(fileno(in), &st) && S_ISREG(st.st_mode) && pos >= 0 && st.st_size >= pos) {
		/* Whatever stdio already buffered is at pos, not yet consumed. */
		err = count_file(s, fileno(in), pos, (size_t)(st.st_size - pos), col);
	} else {
		err = count_stream(s, in, col);
	}
	s->nr_inputs++;
	return err;
}

int fg_stacks_prune_files(struct fg_stacks *s, double min_value)
{
	struct fg_line_ctx ctx = { FG_PASS_PRUNE, FG_CURRENT, s->opts.reverse, 0, min_value, NULL };
	size_t i;
	int err = 0;

	if (s->pruned)
		return s->nr_deferred && min_value < s->pruned_min ? -EINVAL : 0;
	fg_sketch_merge(s);
	ctx.sketch = s->readers[0].sketch;
	ctx.sketch_bits = s->readers[0].sketch_bits;
	for (i = 0; !err && i < s->nr_deferred; i++) {
		const struct fg_deferred *f = &s->deferred[i];

		ctx.col = f->col;
		err = read_mapped(s, f->fd, f->start, f->size, &ctx, &(size_t){ f->first_chunk });
	}
	for (i = 0; i < FG_READERS; i++)
		fg_reader_free_prune(&s->readers[i]);
	s->pruned = !err;
	s->pruned_min = min_value;
	return err;
}

uint64_t fg_stacks_count(const struct fg_stacks *s)
{
	return s->readers[0].nr_counted + s->readers[1].nr_counted;
}

uint64_t fg_stacks_bad(const struct fg_stacks *s)
{
	return s->readers[0].nr_bad + s->readers[1].nr_bad;
}

bool fg_stacks_differential(const struct fg_stacks *s)
{
	return s->readers[0].differential || s->readers[1].differential;
}
