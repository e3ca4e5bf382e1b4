// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * /proc/PID/maps, captured with the build-ids of the mapped files so that
 * addresses can be symbolized after the process is gone.
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

	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
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

/* Mappings of one file share its build-id: read it once. */
static void fill_build_id(struct proc_maps *maps, size_t i)
{
	struct proc_map *map = &maps->maps[i];
	size_t j;
	int fd;

	if (map->path[0] != '/' || !map->inode)
		return;
	for (j = 0; j < i; j++) {
		const struct proc_map *seen = &maps->maps[j];

		if (seen->inode == map->inode && seen->dev_major == map->dev_major &&
		    seen->dev_minor == map->dev_minor) {
			map->build_id_len = seen->build_id_len;
			memcpy(map->build_id, seen->build_id, seen->build_id_len);
			return;
		}
	}
	fd = proc_map_open(maps->pid, map);
	if (fd >= 0)
		map->build_id_len = fd_build_id(fd, map->build_id);
}

struct proc_maps *proc_maps_read(int pid)
{
	struct proc_maps *maps;
	char path[64], *line = NULL;
	size_t line_cap = 0, cap = 0, i;
	FILE *f;
	int err = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return NULL;
	maps = calloc(1, sizeof(*maps));
	if (!maps) {
		fclose(f);
		errno = ENOMEM;
		return NULL;
	}
	maps->pid = pid;
	while (getline(&line, &line_cap, f) > 0) {
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
	free(line);
	fclose(f);
	if (!err && maps->nr == 0)
		err = -ESRCH;	/* a zombie, or a kernel thread */
	if (err) {
		proc_maps_free(maps);
		errno = -err;
		return NULL;
	}
	/* The kernel lists maps sorted by start already. */
	for (i = 0; i < maps->nr; i++)
		fill_build_id(maps, i);
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
