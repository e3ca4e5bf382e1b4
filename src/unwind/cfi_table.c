// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Compiles an ELF file's call frame information (.eh_frame, .debug_frame,
 * or its separate debug file's .debug_frame) into a sorted, merged table of
 * x86-64 unwind rows (bpf/cfi.h) with gap markers, and looks rows up.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfi_parse.h"

static Elf_Scn *find_section(Elf *elf, const char *name)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr shdr;
	size_t shstrndx;
	const char *sname;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &shdr))
			continue;
		sname = elf_strptr(elf, shstrndx, shdr.sh_name);
		if (sname && !strcmp(sname, name))
			return scn;
	}
	return NULL;
}

static int section_bytes(Elf *elf, const char *name, bool eh, struct cfi_section *sec)
{
	Elf_Scn *scn = find_section(elf, name);
	GElf_Shdr shdr;
	Elf_Data *data;

	if (!scn || !gelf_getshdr(scn, &shdr) || shdr.sh_type == SHT_NOBITS)
		return -ENOENT;
	if ((shdr.sh_flags & SHF_COMPRESSED) && elf_compress(scn, 0, 0) < 0)
		return -EINVAL;
	data = elf_getdata(scn, NULL);
	if (!data || !data->d_buf || !data->d_size)
		return -ENOENT;
	sec->data = data->d_buf;
	sec->size = data->d_size;
	sec->vaddr = shdr.sh_addr;
	sec->eh = eh;
	return 0;
}

/* Adds the FDEs of one of elf's sections; returns how many it added. */
static int add_section(struct cfi_builder *b, Elf *elf, const char *name, bool eh)
{
	struct cfi_section sec;
	size_t before = b->nr_spans;
	int err;

	if (section_bytes(elf, name, eh, &sec))
		return 0;
	err = cfi_parse_section(b, &sec);
	if (err)
		return err;
	return (int)(b->nr_spans - before);
}

static int build_id_of(Elf *elf, uint8_t *buf, size_t size)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr shdr;
	GElf_Nhdr nhdr;
	Elf_Data *data;
	size_t off, name_off, desc_off;

	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_NOTE)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		off = 0;
		while ((off = gelf_getnote(data, off, &nhdr, &name_off, &desc_off)) > 0) {
			if (nhdr.n_type != NT_GNU_BUILD_ID || nhdr.n_namesz != 4 ||
			    memcmp((char *)data->d_buf + name_off, "GNU", 4))
				continue;
			if (nhdr.n_descsz > size || !nhdr.n_descsz)
				return -E2BIG;
			memcpy(buf, (char *)data->d_buf + desc_off, nhdr.n_descsz);
			return (int)nhdr.n_descsz;
		}
	}
	return -ENOENT;
}

int cfi_read_build_id(int fd, uint8_t *buf, size_t size)
{
	Elf *elf;
	int ret;

	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf)
		return -EINVAL;
	ret = build_id_of(elf, buf, size);
	elf_end(elf);
	return ret;
}

/* The separate debug file: by build-id, then by .gnu_debuglink. */
static int open_debug_file(Elf *elf, const struct cfi_table *t, const char *path)
{
	char name[PATH_MAX], dir[PATH_MAX];
	struct cfi_section link;
	const char *slash;
	uint32_t i;
	int n, fd;

	if (t->build_id_len > 1) {
		n = snprintf(name, sizeof(name), "/usr/lib/debug/.build-id/%02x/", t->build_id[0]);
		for (i = 1; i < t->build_id_len && n + 3 < (int)sizeof(name); i++)
			n += snprintf(name + n, sizeof(name) - n, "%02x", t->build_id[i]);
		snprintf(name + n, sizeof(name) - n, ".debug");
		fd = open(name, O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			return fd;
	}
	if (!path || section_bytes(elf, ".gnu_debuglink", false, &link) ||
	    !memchr(link.data, 0, link.size))
		return -ENOENT;
	slash = strrchr(path, '/');
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
	const char *fmts[] = { "%s/%s", "%s/.debug/%s", "/usr/lib/debug%s/%s" };
	for (i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		snprintf(name, sizeof(name), fmts[i], dir, (const char *)link.data);
		if (!strcmp(name, path))
			continue;
		fd = open(name, O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			return fd;
	}
	return -ENOENT;
}

static int add_debug_file(struct cfi_builder *b, Elf *elf, const struct cfi_table *t,
			  const char *path)
{
	int fd = open_debug_file(elf, t, path), n;
	Elf *dbg;

	if (fd < 0)
		return 0;
	dbg = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!dbg) {
		close(fd);
		return 0;
	}
	n = add_section(b, dbg, ".debug_frame", false);
	if (n > 0)
		b->stats->from_debug_file = true;
	/* Rows point into the debug file's data only while parsing: the
	 * table copies everything it keeps, so it can go now. */
	elf_end(dbg);
	close(fd);
	return n;
}

static int cmp_span(const void *a, const void *b)
{
	const struct cfi_fde_span *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static bool same_rules(const struct cfi_row *a, const struct cfi_row *b)
{
	return a->rules == b->rules && a->cfa_offset8 == b->cfa_offset8 &&
	       a->rbp_offset8 == b->rbp_offset8;
}

static void append_row(struct cfi_table *t, uint64_t pc, const struct cfi_row *row)
{
	struct cfi_row *out = &t->rows[t->nr_rows];

	if (t->nr_rows && same_rules(&t->rows[t->nr_rows - 1], row))
		return;
	*out = *row;
	out->pc = (uint32_t)(pc - t->base);
	t->nr_rows++;
}

/* Sorted, merged rows with a CFI_CFA_NONE marker wherever no FDE follows. */
static int pack_rows(struct cfi_builder *b, struct cfi_table *t)
{
	struct cfi_table_stats *s = &t->stats;
	const struct cfi_row none = { 0 };
	uint64_t last_end = 0;
	size_t i, j;

	if (!b->nr_spans)
		return 0;
	qsort(b->spans, b->nr_spans, sizeof(*b->spans), cmp_span);
	t->base = b->spans[0].start;
	t->rows = calloc(b->nr_raw + b->nr_spans, sizeof(*t->rows));
	if (!t->rows)
		return -ENOMEM;
	for (i = 0; i < b->nr_spans; i++) {
		const struct cfi_fde_span *span = &b->spans[i];

		if (span->start < last_end) {
			s->fdes_overlapping++;
			continue;
		}
		if (span->end - t->base > UINT32_MAX) {	/* beyond 4 GiB of code */
			s->fdes_bad++;
			continue;
		}
		/* The previous FDE's end marker, if this one starts right there. */
		if (t->nr_rows && t->rows[t->nr_rows - 1].pc == span->start - t->base)
			t->nr_rows--;
		for (j = 0; j < span->nr; j++)
			append_row(t, b->raw[span->first + j].pc, &b->raw[span->first + j].row);
		append_row(t, span->end, &none);
		s->fdes++;
		s->raw_rows += span->nr;
		last_end = span->end;
	}
	if (t->nr_rows > CFI_MAX_OBJECT_ROWS)
		return -E2BIG;
	for (i = 0; i < t->nr_rows; i++) {
		switch (CFI_ROW_CFA_RULE(&t->rows[i])) {
		case CFI_CFA_NONE: s->gaps++; break;
		case CFI_CFA_PLT10:
		case CFI_CFA_PLT11: s->plt_rows++; break;
		case CFI_CFA_SIGNAL: s->signal_rows++; break;
		case CFI_CFA_END: s->end_rows++; break;
		case CFI_CFA_UNSUPPORTED: s->unsupported_rows++; break;
		}
		if (CFI_ROW_RBP_RULE(&t->rows[i]) == CFI_RBP_UNDEFINED)
			s->rbp_undefined_rows++;
	}
	s->rows = t->nr_rows;
	return 0;
}

static int read_loads(Elf *elf, struct cfi_table *t)
{
	GElf_Phdr phdr;
	size_t nr, i;

	if (elf_getphdrnum(elf, &nr))
		return -EINVAL;
	for (i = 0; i < nr && t->nr_loads < CFI_MAX_LOADS; i++) {
		if (!gelf_getphdr(elf, (int)i, &phdr) || phdr.p_type != PT_LOAD)
			continue;
		t->loads[t->nr_loads].vaddr = phdr.p_vaddr;
		t->loads[t->nr_loads].offset = phdr.p_offset;
		t->loads[t->nr_loads].filesz = phdr.p_filesz;
		t->loads[t->nr_loads].exec = phdr.p_flags & PF_X;
		t->nr_loads++;
	}
	return 0;
}

static int build_from_elf(Elf *elf, const char *path, struct cfi_table **out)
{
	struct cfi_table *t = calloc(1, sizeof(*t));
	struct cfi_builder b = { 0 };
	GElf_Ehdr ehdr;
	int n, err = -EINVAL;

	if (!t)
		return -ENOMEM;
	b.stats = &t->stats;
	if (!gelf_getehdr(elf, &ehdr) || ehdr.e_ident[EI_CLASS] != ELFCLASS64 ||
	    ehdr.e_machine != EM_X86_64)
		goto cleanup;
	n = build_id_of(elf, t->build_id, sizeof(t->build_id));
	t->build_id_len = n > 0 ? (uint32_t)n : 0;
	err = read_loads(elf, t);
	if (err)
		goto cleanup;
	n = add_section(&b, elf, ".eh_frame", true);
	if (n < 0) {
		err = n;
		goto cleanup;
	}
	err = add_section(&b, elf, ".debug_frame", false);
	if (err < 0)
		goto cleanup;
	t->stats.from_debug_frame = err > 0;
	if (!b.nr_spans) {
		err = add_debug_file(&b, elf, t, path);
		if (err < 0)
			goto cleanup;
	}
	err = pack_rows(&b, t);
cleanup:
	free(b.raw);
	free(b.spans);
	if (err < 0) {
		cfi_table_free(t);
		return err;
	}
	*out = t;
	return 0;
}

int cfi_table_build_fd(int fd, const char *path, struct cfi_table **out)
{
	Elf *elf;
	int err;

	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf)
		return -EINVAL;
	err = build_from_elf(elf, path, out);
	elf_end(elf);
	return err;
}

int cfi_table_build_image(void *image, size_t size, struct cfi_table **out)
{
	Elf *elf;
	int err;

	elf_version(EV_CURRENT);
	elf = elf_memory(image, size);
	if (!elf)
		return -EINVAL;
	err = build_from_elf(elf, NULL, out);
	elf_end(elf);
	return err;
}

int cfi_table_build(const char *path, struct cfi_table **out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;

	if (fd < 0)
		return -errno;
	err = cfi_table_build_fd(fd, path, out);
	close(fd);
	return err;
}

void cfi_table_free(struct cfi_table *table)
{
	if (!table)
		return;
	free(table->rows);
	free(table);
}

size_t cfi_table_size(const struct cfi_table *table)
{
	return sizeof(*table) + table->nr_rows * sizeof(*table->rows);
}

const struct cfi_row *cfi_table_lookup(const struct cfi_table *t, uint64_t vaddr)
{
	int64_t i;

	if (vaddr < t->base || vaddr - t->base > UINT32_MAX)
		return NULL;
	i = cfi_rows_search(t->rows, t->nr_rows, (uint32_t)(vaddr - t->base), NULL);
	return i < 0 ? NULL : &t->rows[i];
}

/* The search the BPF walker runs: keep rows[lo].pc <= key and halve the
 * candidates [lo, lo + n) each step. */
int64_t cfi_rows_search(const struct cfi_row *rows, uint32_t n, uint32_t key, uint32_t *steps)
{
	uint32_t lo = 0, half, step;

	if (!n || n > CFI_MAX_OBJECT_ROWS || rows[0].pc > key)
		return -1;
	for (step = 0; step < CFI_SEARCH_STEPS && n > 1; step++) {
		half = n / 2;
		if (rows[lo + half].pc <= key) {
			lo += half;
			n -= half;
		} else {
			n = half;
		}
	}
	if (steps)
		*steps += step;
	return n == 1 ? (int64_t)lo : -1;
}

int cfi_table_bias(const struct cfi_table *t, uint64_t start, uint64_t pgoff, uint64_t *bias)
{
	const uint64_t page = 4096;
	uint32_t i;

	for (i = 0; i < t->nr_loads; i++) {
		const struct cfi_load *l = &t->loads[i];
		uint64_t off = l->offset & ~(page - 1);
		uint64_t vaddr = l->vaddr & ~(page - 1);

		if (pgoff < off || pgoff >= l->offset + l->filesz)
			continue;
		*bias = start - (vaddr + (pgoff - off));
		return 0;
	}
	return -ENOENT;
}
