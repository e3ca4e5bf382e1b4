// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Differential test against eu-addr2line: random addresses inside the
 * functions of a real binary, symbolized by both; prints how often the
 * innermost function names agree (alias-aware: two names of one address
 * agree) and how often whole inline chains agree, and fails below the limits.
 *
 * usage: diff_addr2line ELF COUNT SEED MIN_NAME_PCT MIN_CHAIN_PCT
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define MAX_CHAIN 32

struct named_addr {
	const char *name;
	uint64_t addr;
	uint64_t size;
};

struct symbols {
	struct elf_file *file, *debug;	/* kept open: names point into them */
	size_t nr;
	struct named_addr *by_name;	/* every FUNC symbol, sorted by name */
	struct named_addr *sized;	/* sized FUNC symbols, to sample from */
	size_t nr_sized;
};

struct chain {
	int nr;
	char *names[MAX_CHAIN];
};

static int compare_name(const void *a, const void *b)
{
	const struct named_addr *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : (x->addr < y->addr ? -1 : x->addr > y->addr);
}

/* Every FUNC symbol from the ELF that holds them (the binary or its debug
 * file), as the symbolizer picks it. */
static int load_symbols(const char *path, struct symbols *out)
{
	struct elf_file *file, *debug = NULL, *src;
	Elf_Scn *scn = NULL;

	if (elf_file_open_path(path, &file))
		return -1;
	src = file;
	if (!elf_has_symtab(file->elf)) {
		debug = debuginfo_find(file, "/usr/lib/debug", -1);
		if (debug && elf_has_symtab(debug->elf))
			src = debug;
	}
	memset(out, 0, sizeof(*out));
	out->file = file;
	out->debug = debug;
	while ((scn = elf_nextscn(src->elf, scn)) != NULL) {
		GElf_Shdr shdr;
		Elf_Data *data;
		size_t i, count;

		if (!gelf_getshdr(scn, &shdr) ||
		    shdr.sh_type != (elf_has_symtab(src->elf) ? SHT_SYMTAB : SHT_DYNSYM))
			continue;
		data = elf_getdata(scn, NULL);
		count = shdr.sh_size / shdr.sh_entsize;
		out->by_name = calloc(count, sizeof(*out->by_name));
		out->sized = calloc(count, sizeof(*out->sized));
		for (i = 1; i < count; i++) {
			GElf_Sym sym;
			const char *name;

			if (!gelf_getsym(data, i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
			    sym.st_shndx == SHN_UNDEF)
				continue;
			name = elf_strptr(src->elf, shdr.sh_link, sym.st_name);
			if (!name || !*name)
				continue;
			out->by_name[out->nr++] = (struct named_addr){ name, sym.st_value, sym.st_size };
			if (sym.st_size > 1)
				out->sized[out->nr_sized++] =
					(struct named_addr){ name, sym.st_value, sym.st_size };
		}
		break;
	}
	qsort(out->by_name, out->nr, sizeof(*out->by_name), compare_name);
	return out->nr_sized ? 0 : -1;	/* the ELFs stay open: names point into them */
}

static bool is_alias(const struct symbols *syms, const char *a, const char *b)
{
	struct named_addr key = { a, 0, 0 };
	const struct named_addr *x, *y;
	size_t i, j, lo = 0, hi = syms->nr;

	if (!a || !b)
		return a == b;
	if (!strcmp(a, b))
		return true;
	/* The first entry named a, then every address of a against every of b. */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (compare_name(&syms->by_name[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = lo; i < syms->nr && !strcmp(syms->by_name[i].name, a); i++) {
		x = &syms->by_name[i];
		for (j = 0; j < syms->nr; j++) {
			y = &syms->by_name[j];
			if (y->addr == x->addr && !strcmp(y->name, b))
				return true;
		}
	}
	return false;
}

static char *chomp(char *line)
{
	line[strcspn(line, "\n")] = '\0';
	return line;
}

/* eu-addr2line -a -f -i output: "0x..." then "NAME[ inlined at ... in SYM]",
 * "FILE:LINE", then a NAME/FILE pair per inlined caller. */
static int read_eu(FILE *in, struct chain *chains, size_t count)
{
	char line[8192];
	ssize_t cur = -1;
	int expect_name = 0;

	while (fgets(line, sizeof(line), in)) {
		chomp(line);
		if (!strncmp(line, "0x", 2) && strlen(line) == 18) {
			if ((size_t)++cur >= count)
				return -1;
			expect_name = 1;
			continue;
		}
		if (cur < 0)
			return -1;
		if (expect_name == 1 || expect_name == 3) {
			struct chain *c = &chains[cur];
			char *cut = strstr(line, " inlined at ");

			if (cut)
				*cut = '\0';
			if (!cut && expect_name == 1) {
				cut = strstr(line, " inlined in ");
				if (cut)
					*cut = '\0';
			}
			if (c->nr < MAX_CHAIN)
				c->names[c->nr++] = strcmp(line, "??") ? strdup(line) : NULL;
			expect_name = 2;
		} else {
			expect_name = 3;	/* a location; a caller's name may follow */
		}
	}
	return (size_t)(cur + 1) == count ? 0 : -1;
}

static int run_eu(const char *elf, const uint64_t *addrs, size_t count, struct chain *chains)
{
	char tmp[] = "/tmp/symbolize-diff-XXXXXX", cmd[8192];
	FILE *f, *out;
	size_t i;
	int fd = mkstemp(tmp), err;

	if (fd < 0)
		return -1;
	f = fdopen(fd, "w");
	for (i = 0; i < count; i++)
		fprintf(f, "0x%" PRIx64 "\n", addrs[i]);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "eu-addr2line -e '%s' -a -f -i < %s", elf, tmp);
	out = popen(cmd, "r");
	if (!out) {
		unlink(tmp);
		return -1;
	}
	/* eu-addr2line -i exits 1 for addresses without DWARF: judge it by
	 * its output, which must hold one entry per address. */
	err = read_eu(out, chains, count);
	pclose(out);
	unlink(tmp);
	return err;
}

int main(int argc, char **argv)
{
	struct symbolizer_opts opts = { .lines = true, .inlines = true };
	size_t count, i, names_ok = 0, chains_ok = 0, shown = 0;
	double min_names, min_chains, names_pct, chains_pct;
	struct symbolizer *sym;
	struct symbols syms;
	struct chain *eu;
	uint64_t *addrs;
	const char *elf;

	if (argc != 6) {
		fprintf(stderr, "usage: %s ELF COUNT SEED MIN_NAME_PCT MIN_CHAIN_PCT\n", argv[0]);
		return 2;
	}
	elf = argv[1];
	count = strtoul(argv[2], NULL, 10);
	srandom(strtoul(argv[3], NULL, 10));
	min_names = strtod(argv[4], NULL);
	min_chains = strtod(argv[5], NULL);
	if (load_symbols(elf, &syms)) {
		fprintf(stderr, "%s: no sized function symbols\n", elf);
		return 1;
	}
	addrs = calloc(count, sizeof(*addrs));
	eu = calloc(count, sizeof(*eu));
	for (i = 0; i < count; i++) {
		const struct named_addr *f = &syms.sized[random() % syms.nr_sized];

		addrs[i] = f->addr + (uint64_t)random() % f->size;
	}
	if (run_eu(elf, addrs, count, eu)) {
		fprintf(stderr, "eu-addr2line failed or printed something unexpected\n");
		return 1;
	}
	sym = symbolizer_new(&opts);
	for (i = 0; i < count; i++) {
		struct sym_result res;
		bool same_chain;
		int k;

		if (sym_elf(sym, elf, addrs[i], &res) || !res.nr)
			res.nr = 0;
		const char *mine = res.nr ? res.frames[0].name : NULL;

		if (is_alias(&syms, mine, eu[i].nr ? eu[i].names[0] : NULL))
			names_ok++;
		/* Nothing known reads as one unnamed frame, as eu prints it. */
		same_chain = (int)(res.nr ? res.nr : 1) == eu[i].nr;
		for (k = 0; same_chain && k < eu[i].nr; k++)
			same_chain = is_alias(&syms, res.nr ? res.frames[k].name : NULL,
					      eu[i].names[k]);
		if (same_chain)
			chains_ok++;
		else if (shown++ < 5)
			fprintf(stderr, "  differs at 0x%" PRIx64 ": ours %s (%zu frames), eu %s (%d)\n",
				addrs[i], mine ?: "??", res.nr,
				eu[i].nr && eu[i].names[0] ? eu[i].names[0] : "??", eu[i].nr);
	}
	names_pct = 100.0 * names_ok / count;
	chains_pct = 100.0 * chains_ok / count;
	printf("%s: %zu addresses: innermost names agree %.2f%% (min %.1f%%), "
	       "inline chains agree %.2f%% (min %.1f%%)\n",
	       elf, count, names_pct, min_names, chains_pct, min_chains);
	symbolizer_free(sym);
	for (i = 0; i < count; i++) {
		for (int k = 0; k < eu[i].nr; k++)
			free(eu[i].names[k]);
	}
	free(eu);
	free(addrs);
	free(syms.by_name);
	free(syms.sized);
	elf_file_close(syms.debug);
	elf_file_close(syms.file);
	return names_pct >= min_names && chains_pct >= min_chains ? 0 : 1;
}
