// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Opening ELF files: build-id, load segments, .gnu_debuglink. Every value
 * read from a file is checked: files may be truncated or hostile.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

static void elf_library_init(void)
{
	static bool done;

	if (!done) {
		elf_version(EV_CURRENT);
		done = true;
	}
}

static int note_build_id(Elf_Data *data, uint8_t *build_id, size_t size)
{
	size_t offset = 0, name_off, desc_off;
	GElf_Nhdr nhdr;

	while ((offset = gelf_getnote(data, offset, &nhdr, &name_off, &desc_off)) > 0) {
		if (nhdr.n_type != NT_GNU_BUILD_ID || nhdr.n_namesz != 4 ||
		    memcmp((char *)data->d_buf + name_off, "GNU", 4))
			continue;
		if (nhdr.n_descsz == 0 || nhdr.n_descsz > size)
			return 0;
		memcpy(build_id, (char *)data->d_buf + desc_off, nhdr.n_descsz);
		return nhdr.n_descsz;
	}
	return 0;
}

int elf_read_build_id(Elf *elf, uint8_t *build_id, size_t size)
{
	Elf_Scn *scn = NULL;
	size_t i, nr_phdrs;
	int len;

	/* Sections first: debug files keep the note section but their
	 * program headers may point at nothing. */
	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		GElf_Shdr shdr;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_NOTE)
			continue;
		data = elf_getdata(scn, NULL);
		if (data && data->d_buf && (len = note_build_id(data, build_id, size)) > 0)
			return len;
	}
	if (elf_getphdrnum(elf, &nr_phdrs))
		return 0;
	for (i = 0; i < nr_phdrs; i++) {
		GElf_Phdr phdr;
		Elf_Data *data;

		if (!gelf_getphdr(elf, i, &phdr) || phdr.p_type != PT_NOTE)
			continue;
		data = elf_getdata_rawchunk(elf, phdr.p_offset, phdr.p_filesz, ELF_T_NHDR);
		if (data && data->d_buf && (len = note_build_id(data, build_id, size)) > 0)
			return len;
	}
	return 0;
}

static int read_segments(struct elf_file *file)
{
	size_t i, nr_phdrs;

	if (elf_getphdrnum(file->elf, &nr_phdrs) || nr_phdrs == 0)
		return 0;
	if (nr_phdrs > 4096)
		return -EINVAL;
	file->segments = calloc(nr_phdrs, sizeof(*file->segments));
	if (!file->segments)
		return -ENOMEM;
	for (i = 0; i < nr_phdrs; i++) {
		struct load_segment *seg = &file->segments[file->nr_segments];
		GElf_Phdr phdr;

		if (!gelf_getphdr(file->elf, i, &phdr) || phdr.p_type != PT_LOAD)
			continue;
		seg->vaddr = phdr.p_vaddr;
		seg->offset = phdr.p_offset;
		seg->filesz = phdr.p_filesz;
		seg->memsz = phdr.p_memsz;
		file->nr_segments++;
	}
	return 0;
}

/* Section facts: is there real DWARF, and the .gnu_debuglink. */
static void read_sections(struct elf_file *file)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(file->elf, &shstrndx))
		return;
	while ((scn = elf_nextscn(file->elf, scn)) != NULL) {
		GElf_Shdr shdr;
		const char *name;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &shdr))
			continue;
		name = elf_strptr(file->elf, shstrndx, shdr.sh_name);
		if (!name)
			continue;
		if (!strcmp(name, ".debug_info") && shdr.sh_type != SHT_NOBITS && shdr.sh_size)
			file->has_debug_info = true;
		if (strcmp(name, ".gnu_debuglink") || shdr.sh_type == SHT_NOBITS)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data || !data->d_buf || data->d_size < 8)
			continue;
		/* NUL-terminated name, padded to 4, then a CRC32. */
		size_t len = strnlen(data->d_buf, data->d_size);
		size_t crc_off = (len + 4) & ~(size_t)3;

		if (len == 0 || crc_off + 4 > data->d_size)
			continue;
		file->debuglink = data->d_buf;
		memcpy(&file->debuglink_crc, (char *)data->d_buf + crc_off, 4);
	}
}

static int elf_file_setup(struct elf_file *file)
{
	GElf_Ehdr ehdr;
	int err;

	if (elf_kind(file->elf) != ELF_K_ELF || !gelf_getehdr(file->elf, &ehdr))
		return -ENOEXEC;
	file->elf_class = gelf_getclass(file->elf);
	file->build_id_len = elf_read_build_id(file->elf, file->build_id, SYM_BUILD_ID_MAX);
	err = read_segments(file);
	if (err)
		return err;
	read_sections(file);
	return 0;
}

/* The end of every open: set up a file opened so far (err 0), or close it
 * (elf_file_close frees whatever part was made). */
static int finish_open(struct elf_file *file, int err, struct elf_file **out)
{
	if (!err)
		err = elf_file_setup(file);
	if (err) {
		elf_file_close(file);
		return err;
	}
	*out = file;
	return 0;
}

int elf_file_open_fd(int fd, const char *path, struct elf_file **out)
{
	struct elf_file *file;
	struct stat st;
	int err = 0;

	elf_library_init();
	if (fstat(fd, &st)) {
		err = -errno;
		close(fd);
		return err;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	file = calloc(1, sizeof(*file));
	if (!file) {
		close(fd);
		return -ENOMEM;
	}
	file->fd = fd;
	file->dev = st.st_dev;
	file->ino = st.st_ino;
	file->path = strdup(path);
	file->elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!file->path || !file->elf)
		err = file->path ? -ENOEXEC : -ENOMEM;
	return finish_open(file, err, out);
}

int elf_file_open_path(const char *path, struct elf_file **out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	return elf_file_open_fd(fd, path, out);
}

int elf_file_open_memory(const void *data, size_t size, const char *name,
			 struct elf_file **out)
{
	struct elf_file *file;

	elf_library_init();
	file = calloc(1, sizeof(*file));
	if (!file)
		return -ENOMEM;
	file->fd = -1;
	file->image = malloc(size);
	file->path = strdup(name);
	if (!file->image || !file->path)
		return finish_open(file, -ENOMEM, out);
	memcpy(file->image, data, size);
	file->elf = elf_memory(file->image, size);
	return finish_open(file, file->elf ? 0 : -ENOEXEC, out);
}

void elf_file_close(struct elf_file *file)
{
	if (!file)
		return;
	if (file->elf)
		elf_end(file->elf);
	if (file->fd >= 0)
		close(file->fd);
	free(file->image);
	free(file->segments);
	free(file->path);
	free(file);
}

/*
 * The load segment whose file-backed bytes (p_filesz, not p_memsz: .bss
 * has no bytes in the file) hold pos, a file offset (by_vaddr false) or a
 * virtual address; *delta is pos's distance from the segment's start.
 */
static const struct load_segment *segment_holding(const struct elf_file *file, uint64_t pos,
						  bool by_vaddr, uint64_t *delta)
{
	size_t i;

	for (i = 0; i < file->nr_segments; i++) {
		const struct load_segment *seg = &file->segments[i];
		uint64_t start = by_vaddr ? seg->vaddr : seg->offset;

		if (pos >= start && pos - start < seg->filesz) {
			*delta = pos - start;
			return seg;
		}
	}
	return NULL;
}

bool elf_file_offset_to_vaddr(const struct elf_file *file, uint64_t offset, uint64_t *vaddr)
{
	uint64_t delta;
	const struct load_segment *seg = segment_holding(file, offset, false, &delta);

	if (seg)
		*vaddr = seg->vaddr + delta;
	return seg != NULL;
}

bool elf_file_vaddr_to_offset(const struct elf_file *file, uint64_t vaddr, uint64_t *offset)
{
	uint64_t delta;
	const struct load_segment *seg = segment_holding(file, vaddr, true, &delta);

	if (seg)
		*offset = seg->offset + delta;
	return seg != NULL;
}

int open_in_root(int root_fd, const char *path)
{
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC,
		/* Symlinks (absolute ones too) resolve inside root, never out
		 * of it; /proc magic links are refused. */
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	long fd;

	while (*path == '/')
		path++;
	if (!*path) {
		errno = EINVAL;
		return -1;
	}
	fd = syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
	return fd < 0 ? -1 : (int)fd;
}
