// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * /proc/PID/maps, captured with the build-ids of the mapped files so that
 * addresses can be symbolized after the process is gone; and mappings the
 * kernel reported one by one (perf MMAP2 records), added to them.
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

#include "internal.h"

/* Reads the build-id of an open file; closes fd. */
static int fd_build_id(int fd, uint8_t *build_id)
{
	Elf *elf;
	int len = 0;

	/* ELF_C_READ: pread of the headers and the note, no mmap/munmap. */
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (elf && elf_kind(elf) == ELF_K_ELF)
		len = elf_read_build_id(elf, build_id, SYM_BUILD_ID_MAX);
	if (elf)
		elf_end(elf);
	close(fd);
	return len;
}

/* /proc/PID/exe, if the mapping is of the executable: it opens even when
 * the file was deleted, and needs no CAP_SYS_ADMIN (map_files does). */
static int open_exe(int pid, const struct proc_map *map)
{
	struct stat st;
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || st.st_ino != map->inode || major(st.st_dev) != map->dev_major ||
	    minor(st.st_dev) != map->dev_minor) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Opens the file behind a mapping: map_files sees deleted files and other
 * mount namespaces (with CAP_SYS_ADMIN); else /proc/PID/exe for the
 * executable; else the path inside the process's root. */
int proc_map_open(int pid, const struct proc_map *map)
{
	char path[64];
	int fd, root_fd;

	snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, pid, map->start,
		 map->end);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 || map->path[0] != '/')
		return fd;
	fd = open_exe(pid, map);
	if (fd >= 0)
		return fd;
	snprintf(path, sizeof(path), "/proc/%d/root", pid);
	root_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return -1;
	fd = open_in_root(root_fd, map->path);
	close(root_fd);
	return fd;
}

static int parse_line(char *line, struct proc_map *map)
{
	unsigned long long start, end, pgoff, inode;
	unsigned int major, minor;
	int path_at = 0;
	char *path;

	if (sscanf(line, "%llx-%llx %4s %llx %x:%x %llu %n", &start, &end, map->perms, &pgoff,
		   &major, &minor, &inode, &path_at) < 7)
		return -EINVAL;
	map->start = start;
	map->end = end;
	map->pgoff = pgoff;
	map->dev_major = major;
	map->dev_minor = minor;
	map->inode = inode;
	path = path_at ? line + path_at : (char *)"";
	path[strcspn(path, "\n")] = '\0';
	map->path = strdup(path);
	return map->path ? 0 : -ENOMEM;
}

#define FILE_IDS_BUCKETS	1024

struct file_id {
	uint64_t inode;
	uint64_t size;
	int64_t mtime_ns;
	uint32_t dev_major;
	uint32_t dev_minor;
	uint8_t build_id_len;
	uint8_t build_id[SYM_BUILD_ID_MAX];
	struct file_id *next;
};

struct file_ids {
	struct file_id *buckets[FILE_IDS_BUCKETS];
	struct file_ids_stats stats;
};

struct file_ids *file_ids_new(void)
{
	return calloc(1, sizeof(struct file_ids));
}

void file_ids_free(struct file_ids *ids)
{
	struct file_id *e, *next;
	size_t i;

	if (!ids)
		return;
	for (i = 0; i < FILE_IDS_BUCKETS; i++) {
		for (e = ids->buckets[i]; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(ids);
}

void file_ids_get_stats(const struct file_ids *ids, struct file_ids_stats *out)
{
	*out = ids->stats;
}

static struct file_id **file_id_slot(struct file_ids *ids, const struct proc_map *map)
{
	uint64_t h = (map->inode * 0x9e3779b97f4a7c15ULL) ^ map->file_size ^
		     ((uint64_t)map->dev_major << 40) ^ map->dev_minor;
	struct file_id **e = &ids->buckets[(h ^ (h >> 29)) % FILE_IDS_BUCKETS];

	for (; *e; e = &(*e)->next) {
		const struct file_id *f = *e;

		if (f->inode == map->inode && f->dev_major == map->dev_major &&
		    f->dev_minor == map->dev_minor && f->size == map->file_size &&
		    f->mtime_ns == map->file_mtime_ns)
			break;
	}
	return e;
}

/* Size and mtime of the file behind a mapping, without opening it: as the
 * process sees it, else (here: the process may be gone) at its path in our
 * own mount namespace. Only the mapped inode counts, when it is known. */
static int stat_mapping(int pid, struct proc_map *map, bool here)
{
	struct stat st;
	char path[96];

	snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, pid, map->start,
		 map->end);
	if (stat(path, &st)) {
		snprintf(path, sizeof(path), "/proc/%d/root", pid);
		if ((strlen(path) + strlen(map->path) >= sizeof(path) ||
		     (strcat(path, map->path), stat(path, &st))) &&
		    (!here || stat(map->path, &st)))
			return -1;
	}
	if (map->inode && st.st_ino != map->inode)
		return -1;
	if (!map->inode) {
		map->inode = st.st_ino;
		map->dev_major = major(st.st_dev);
		map->dev_minor = minor(st.st_dev);
	}
	map->file_size = (uint64_t)st.st_size;
	map->file_mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	return 0;
}

/* The file of a mapping for its build-id: see stat_mapping() for here. */
static int open_mapping(int pid, const struct proc_map *map, bool here)
{
	struct stat st;
	int fd = proc_map_open(pid, map);

	if (fd >= 0 || !here)
		return fd;
	fd = open(map->path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && (fstat(fd, &st) || st.st_ino != map->inode)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The build-id from ids, read and remembered on first sight. */
static void fill_build_id_cached(int pid, struct proc_map *map, struct file_ids *ids, bool here)
{
	struct file_id **slot, *e;
	int fd;

	ids->stats.lookups++;
	if (stat_mapping(pid, map, here)) {
		map->file_size = 0;
		map->file_mtime_ns = 0;
		return;
	}
	slot = file_id_slot(ids, map);
	if (*slot) {
		map->build_id_len = (*slot)->build_id_len;
		memcpy(map->build_id, (*slot)->build_id, map->build_id_len);
		return;
	}
	fd = open_mapping(pid, map, here);
	if (fd < 0)
		return;
	ids->stats.files_read++;
	map->build_id_len = fd_build_id(fd, map->build_id);
	e = calloc(1, sizeof(*e));
	if (!e)
		return;
	e->inode = map->inode;
	e->size = map->file_size;
	e->mtime_ns = map->file_mtime_ns;
	e->dev_major = map->dev_major;
	e->dev_minor = map->dev_minor;
	e->build_id_len = map->build_id_len;
	memcpy(e->build_id, map->build_id, map->build_id_len);
	*slot = e;
}

void proc_map_identify(int pid, struct proc_map *map, struct file_ids *ids)
{
	if (map->build_id_len || map->path[0] != '/')
		return;
	fill_build_id_cached(pid, map, ids, true);
}

static bool same_file(const struct proc_map *a, const struct proc_map *b)
{
	return a->inode == b->inode && a->dev_major == b->dev_major &&
	       a->dev_minor == b->dev_minor;
}

/* Code needs a build-id, and so do the data segments of a file with code
 * (lock addresses are named from them); a mapped data file does not, and
 * one that is written to (shared memory, a database) would look like a new
 * object at every read. */
static bool maps_code(const struct proc_maps *maps, const struct proc_map *map)
{
	size_t j;

	if (map->perms[2] == 'x')
		return true;
	for (j = 0; j < maps->nr; j++)
		if (maps->maps[j].perms[2] == 'x' && same_file(&maps->maps[j], map))
			return true;
	return false;
}

/* Mappings of one file share its build-id: read it once. */
static void fill_build_id(struct proc_maps *maps, size_t i, struct file_ids *ids)
{
	struct proc_map *map = &maps->maps[i];
	size_t j;
	int fd;

	if (map->path[0] != '/' || !map->inode || !maps_code(maps, map))
		return;
	for (j = 0; j < i; j++) {
		const struct proc_map *seen = &maps->maps[j];

		if (same_file(seen, map)) {
			map->build_id_len = seen->build_id_len;
			memcpy(map->build_id, seen->build_id, seen->build_id_len);
			map->file_size = seen->file_size;
			map->file_mtime_ns = seen->file_mtime_ns;
			return;
		}
	}
	if (ids) {
		fill_build_id_cached(maps->pid, map, ids, false);
		return;
	}
	fd = proc_map_open(maps->pid, map);
	if (fd >= 0)
		map->build_id_len = fd_build_id(fd, map->build_id);
}

/* One read(2) loop, no stdio: the text is hashed and parsed in place. */
char *proc_maps_text(int pid, size_t *len)
{
	size_t cap = 16384, n = 0;
	char path[64], *buf = NULL, *grown;
	ssize_t got;
	int fd, saved;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	for (;;) {
		if (!buf || cap - n < 4096) {
			cap = buf ? cap * 2 : cap;
			grown = realloc(buf, cap);
			if (!grown) {
				errno = ENOMEM;
				goto fail;
			}
			buf = grown;
		}
		got = read(fd, buf + n, cap - n - 1);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	close(fd);
	buf[n] = '\0';
	*len = n;
	return buf;
fail:
	saved = errno;
	close(fd);
	free(buf);
	errno = saved;
	return NULL;
}

struct proc_maps *proc_maps_parse(int pid, char *text, struct file_ids *ids)
{
	struct proc_maps *maps = calloc(1, sizeof(*maps));
	char *line = text, *next;
	size_t cap = 0, i;
	int err = 0;

	if (!maps) {
		errno = ENOMEM;
		return NULL;
	}
	maps->pid = pid;
	for (; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (maps->nr == cap) {
			size_t new_cap = cap ? cap * 2 : 64;
			struct proc_map *grown = realloc(maps->maps, new_cap * sizeof(*grown));

			if (!grown) {
				err = -ENOMEM;
				break;
			}
			maps->maps = grown;
			cap = new_cap;
		}
		memset(&maps->maps[maps->nr], 0, sizeof(maps->maps[0]));
		err = parse_line(line, &maps->maps[maps->nr]);
		if (err == -EINVAL) {
			err = 0;
			continue;
		}
		if (err)
			break;
		maps->nr++;
	}
	if (!err && maps->nr == 0)
		err = -ESRCH;	/* a zombie, or a kernel thread */
	if (err) {
		proc_maps_free(maps);
		errno = -err;
		return NULL;
	}
	/* The kernel lists maps sorted by start already. */
	for (i = 0; i < maps->nr; i++)
		fill_build_id(maps, i, ids);
	return maps;
}

struct proc_maps *proc_maps_read(int pid)
{
	struct proc_maps *maps;
	size_t len;
	char *text = proc_maps_text(pid, &len);

	if (!text)
		return NULL;
	maps = proc_maps_parse(pid, text, NULL);
	free(text);
	return maps;
}

void proc_maps_free(struct proc_maps *maps)
{
	size_t i;

	if (!maps)
		return;
	for (i = 0; i < maps->nr; i++)
		free(maps->maps[i].path);
	free(maps->maps);
	free(maps);
}

const struct proc_map *proc_maps_find(const struct proc_maps *maps, uint64_t addr)
{
	size_t lo = 0, hi;

	if (!maps)
		return NULL;
	hi = maps->nr;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (maps->maps[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || addr >= maps->maps[lo - 1].end)
		return NULL;
	return &maps->maps[lo - 1];
}

static int cmp_start(const void *a, const void *b)
{
	const struct proc_map *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* The index of the entry of maps that strictly contains [start, end), or
 * maps->nr when none does. */
static size_t containing(const struct proc_maps *maps, uint64_t start, uint64_t end)
{
	size_t i;

	for (i = 0; i < maps->nr; i++)
		if (maps->maps[i].start < start && maps->maps[i].end > end)
			break;
	return i;
}

int proc_maps_insert(struct proc_maps *maps, const struct proc_map *map)
{
	size_t outer = containing(maps, map->start, map->end), i, n = 0;
	bool split = outer < maps->nr;
	char *path = strdup(map->path);
	struct proc_map *all, right = {};

	if (!path)
		return -ENOMEM;
	/* Everything that can fail first: one entry at most is split in two
	 * (entries do not overlap), and map is added. */
	if (split) {
		right = maps->maps[outer];
		right.path = strdup(right.path);
	}
	all = realloc(maps->maps, (maps->nr + 2) * sizeof(*all));
	if (!all || (split && !right.path)) {
		if (all)
			maps->maps = all;
		free(right.path);
		free(path);
		return -ENOMEM;
	}
	maps->maps = all;
	if (split) {
		right.pgoff += map->end - right.start;
		right.start = map->end;
		all[outer].end = map->start;
	}
	/* Trim what map covers: the kernel replaced those pages. */
	for (i = 0; i < maps->nr; i++) {
		struct proc_map *m = &all[i];

		if (m->end > map->start && m->start < map->end) {
			if (m->start < map->start) {
				m->end = map->start;
			} else if (m->end > map->end) {
				m->pgoff += map->end - m->start;
				m->start = map->end;
			} else {
				free(m->path);
				continue;
			}
		}
		all[n++] = *m;
	}
	all[n] = *map;
	all[n++].path = path;
	if (split)
		all[n++] = right;
	maps->nr = n;
	qsort(all, n, sizeof(*all), cmp_start);
	return 0;
}
