// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Finding the separate debug file of an ELF, in this order (the first that
 * matches wins):
 *   1. DEBUGDIR/.build-id/xx/yyyy.debug (by build-id)
 *   2. the .gnu_debuglink name beside the binary: DIR/NAME
 *   3. DIR/.debug/NAME
 *   4. DEBUGDIR/DIR/NAME
 *   5. a debuginfod server, by build-id, when DEBUGINFOD_URLS is set
 * A candidate is accepted when its build-id equals the binary's, or, when
 * the binary has no build-id, when its CRC32 equals the debuglink's CRC.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "internal.h"

int debuginfo_build_id_path(const char *debug_dir, const uint8_t *build_id,
			    size_t len, char *buf, size_t size)
{
	size_t i, pos;
	int n;

	if (len < 2)
		return -EINVAL;
	n = snprintf(buf, size, "%s/.build-id/%02x/", debug_dir, build_id[0]);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	pos = n;
	for (i = 1; i < len; i++) {
		if (pos + 3 >= size)
			return -ENAMETOOLONG;
		pos += snprintf(buf + pos, size - pos, "%02x", build_id[i]);
	}
	if (pos + sizeof(".debug") > size)
		return -ENAMETOOLONG;
	strcpy(buf + pos, ".debug");
	return 0;
}

static bool crc_matches(int fd, uint32_t want)
{
	struct stat st;
	void *map;
	uLong crc;

	if (fstat(fd, &st) || st.st_size <= 0)
		return false;
	map = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED)
		return false;
	crc = crc32(0L, map, st.st_size);
	munmap(map, st.st_size);
	return (uint32_t)crc == want;
}

/* Accepts an opened candidate (takes ownership of fd). */
static struct elf_file *try_candidate(const struct elf_file *file, int fd, const char *path,
				      bool by_build_id)
{
	struct elf_file *debug;

	if (fd < 0)
		return NULL;
	if (!by_build_id && !file->build_id_len && !crc_matches(fd, file->debuglink_crc)) {
		close(fd);
		return NULL;
	}
	if (elf_file_open_fd(fd, path, &debug))
		return NULL;
	if (file->build_id_len && (debug->build_id_len != file->build_id_len ||
				   memcmp(debug->build_id, file->build_id, file->build_id_len))) {
		elf_file_close(debug);
		return NULL;
	}
	/* A debug file without DWARF and without symbols is of no use. */
	if (!debug->has_debug_info && !elf_has_symtab(debug->elf)) {
		elf_file_close(debug);
		return NULL;
	}
	return debug;
}

static int open_host_or_root(int root_fd, const char *path)
{
	if (root_fd >= 0)
		return open_in_root(root_fd, path);
	return open(path, O_RDONLY | O_CLOEXEC);
}

/* path = a + b + c; false when it does not fit. */
static bool join_path(char *buf, size_t size, const char *a, const char *b, const char *c)
{
	int n = snprintf(buf, size, "%s%s%s", a, b, c);

	return n >= 0 && (size_t)n < size;
}

static struct elf_file *by_debuglink(const struct elf_file *file, const char *debug_dir,
				     int root_fd)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct elf_file *debug;
	const char *slash;
	size_t dir_len;

	/* The link is a plain file name; anything else is not followed. */
	if (strchr(file->debuglink, '/') || !strcmp(file->debuglink, "..") ||
	    !strcmp(file->debuglink, "."))
		return NULL;
	slash = strrchr(file->path, '/');
	dir_len = slash ? (size_t)(slash - file->path) : 0;
	if (dir_len >= sizeof(dir))
		return NULL;
	memcpy(dir, file->path, dir_len);
	dir[dir_len] = '\0';

	if (join_path(path, sizeof(path), dir, "/", file->debuglink) &&
	    strcmp(path, file->path)) {	/* not the binary itself */
		debug = try_candidate(file, open_host_or_root(root_fd, path), path, false);
		if (debug)
			return debug;
	}
	if (join_path(path, sizeof(path), dir, "/.debug/", file->debuglink)) {
		debug = try_candidate(file, open_host_or_root(root_fd, path), path, false);
		if (debug)
			return debug;
	}
	/* The debug dir is the host's, never the process's root. */
	if (!join_path(dir + dir_len, sizeof(dir) - dir_len, "/", file->debuglink, "") ||
	    !join_path(path, sizeof(path), debug_dir, dir, ""))
		return NULL;
	return try_candidate(file, open(path, O_RDONLY | O_CLOEXEC), path, false);
}

static struct elf_file *by_debuginfod(const struct elf_file *file)
{
	struct elf_file *debug;
	char *path;
	int fd;

	if (!file->build_id_len)
		return NULL;
	fd = debuginfod_fetch(file->build_id, file->build_id_len, &path);
	if (fd < 0)
		return NULL;
	debug = try_candidate(file, fd, path, true);
	free(path);
	return debug;
}

struct elf_file *debuginfo_find(const struct elf_file *file, const char *debug_dir,
				int root_fd)
{
	char path[PATH_MAX];
	struct elf_file *debug;

	if (file->build_id_len &&
	    !debuginfo_build_id_path(debug_dir, file->build_id, file->build_id_len,
				     path, sizeof(path))) {
		debug = try_candidate(file, open(path, O_RDONLY | O_CLOEXEC), path, true);
		if (debug)
			return debug;
	}
	if (file->debuglink && file->path[0] == '/') {
		debug = by_debuglink(file, debug_dir, root_fd);
		if (debug)
			return debug;
	}
	return by_debuginfod(file);
}
