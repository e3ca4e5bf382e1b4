// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * CFI tables against readelf, the lookup against a linear scan, the PLT,
 * bounds and CFA-order rules on synthetic stacks, .debug_frame, the cache,
 * and the build figures. Usage: test_cfi tables [debug_frame_binary
 * [split_binary]] | synthetic | sigframe | figures | live TARGET | bpf TARGET |
 * real MIN_FRAMES MIN_THREADS COMMAND....
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <gnu/libc-version.h>

#include "cfi_table.h"
#include "test_cfi.h"
#include "test_syms.h"

int test_failures;

int test_libc_path(char *buf, size_t size)
{
	char line[512], path[400];
	FILE *f = fopen("/proc/self/maps", "re");
	int found = -ENOENT;

	if (!f)
		return -errno;
	while (found && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*s %*s %*s %*s %*s %399s", path) == 1 && strstr(path, "/libc.so")) {
			snprintf(buf, size, "%s", path);
			found = 0;
		}
	}
	fclose(f);
	return found;
}

struct readelf_counts {
	unsigned long fdes, rows, empty_fdes;
};

static int count_readelf(const char *path, struct readelf_counts *c)
{
	char cmd[600], line[1024];
	bool after_fde = false;
	FILE *p;
	int i;

	memset(c, 0, sizeof(*c));
	snprintf(cmd, sizeof(cmd), "readelf --debug-dump=frames-interp '%s' 2>/dev/null", path);
	p = popen(cmd, "r");
	if (!p)
		return -errno;
	while (fgets(line, sizeof(line), p)) {
		if (strstr(line, " FDE cie=")) {
			c->fdes++;
			after_fde = true;
			continue;
		}
		if (after_fde && line[0] == '\n')
			c->empty_fdes++;
		after_fde = false;
		for (i = 0; i < 16 && strchr("0123456789abcdef", line[i]) && line[i]; i++)
			;
		if (i == 16 && line[16] == ' ')
			c->rows++;
	}
	/* readelf exits 1 on libc for no stated reason: judge by the output. */
	pclose(p);
	return c->fdes ? 0 : -EIO;
}

/* Row counts against readelf; every row kind the walker relies on is there. */
static void test_libc_vs_readelf(void)
{
	struct readelf_counts rc;
	struct cfi_table *t;
	char libc[400];
	unsigned long expect;
	int err;

	CHECK(!test_libc_path(libc, sizeof(libc)), "no libc in /proc/self/maps");
	err = cfi_table_build(libc, &t);
	CHECK(!err, "build %s: %d", libc, err);
	if (err)
		return;
	CHECK(!count_readelf(libc, &rc), "readelf failed");
	/* readelf prints no row for an FDE without instructions; we emit one. */
	expect = rc.rows + rc.empty_fdes;
	printf("libc %s: readelf %lu FDEs, %lu rows (+%lu empty FDEs); table %u FDEs, %u raw rows, "
	       "%u rows after merging with %u gap markers; plt %u signal %u end %u unsupported %u\n",
	       libc, rc.fdes, rc.rows, rc.empty_fdes, t->stats.fdes, t->stats.raw_rows,
	       t->stats.rows, t->stats.gaps, t->stats.plt_rows, t->stats.signal_rows,
	       t->stats.end_rows, t->stats.unsupported_rows);
	CHECK(rc.fdes > 1000, "readelf saw %lu FDEs", rc.fdes);
	CHECK(t->stats.fdes == rc.fdes, "FDEs %u vs readelf %lu", t->stats.fdes, rc.fdes);
	CHECK(t->stats.raw_rows * 1000UL >= expect * 995 && t->stats.raw_rows * 1000UL <= expect * 1005,
	      "raw rows %u vs readelf %lu", t->stats.raw_rows, expect);
	CHECK(t->stats.fdes_bad == 0, "%u bad FDEs", t->stats.fdes_bad);
	CHECK(t->stats.plt_rows >= 1, "no PLT row");
	CHECK(t->stats.signal_rows >= 1, "no signal row (__restore_rt)");
	CHECK(t->stats.end_rows >= 1, "no end-of-stack row (clone3)");
	CHECK(t->stats.unsupported_rows <= 16, "%u unsupported rows", t->stats.unsupported_rows);
	CHECK(t->stats.rows < t->stats.raw_rows + t->stats.gaps, "merging merged nothing");
	cfi_table_free(t);
}

/* The bounded search against a linear scan, on every row boundary. */
static void test_lookup(void)
{
	const struct cfi_row *row, *want;
	struct cfi_table *t;
	char libc[400];
	uint64_t vaddr;
	uint32_t i, j, bad = 0, steps = 0;
	int64_t idx;
	const int64_t deltas[] = { -1, 0, 1 };

	if (test_libc_path(libc, sizeof(libc)) || cfi_table_build(libc, &t))
		return;
	for (i = 0; i < t->nr_rows; i++) {
		for (j = 0; j < 3; j++) {
			vaddr = t->base + t->rows[i].pc + deltas[j];
			want = NULL;
			for (uint32_t k = 0; k < t->nr_rows && t->base + t->rows[k].pc <= vaddr; k++)
				want = &t->rows[k];
			row = cfi_table_lookup(t, vaddr);
			bad += row != want;
		}
		if (i > 2000)	/* the linear scan is quadratic: a prefix is enough */
			break;
	}
	CHECK(bad == 0, "%u lookups disagree with the linear scan", bad);
	CHECK(cfi_table_lookup(t, t->base - 1) == NULL, "lookup before the first row");
	row = cfi_table_lookup(t, t->base + t->rows[t->nr_rows - 1].pc + 100);
	CHECK(row && CFI_ROW_CFA_RULE(row) == CFI_CFA_NONE, "past the end is not a gap marker");
	for (i = 1; i < t->nr_rows; i++) {
		CHECK(t->rows[i].pc > t->rows[i - 1].pc, "rows not sorted at %u", i);
		if (t->rows[i].pc <= t->rows[i - 1].pc)
			break;
	}
	idx = cfi_rows_search(t->rows, t->nr_rows, t->rows[t->nr_rows / 3].pc, &steps);
	CHECK(idx == t->nr_rows / 3, "search found %lld", (long long)idx);
	CHECK(steps <= 15 && steps >= 14, "%u steps for %u rows", steps, t->nr_rows);
	cfi_table_free(t);
}

static void test_cache(void)
{
	struct cfi_cache *cache = cfi_cache_new();
	const struct cfi_table *a, *b;
	char libc[400];
	int fd1, fd2;

	if (!cache || test_libc_path(libc, sizeof(libc)))
		return;
	fd1 = open(libc, O_RDONLY);
	fd2 = open("/proc/self/exe", O_RDONLY);
	a = cfi_cache_get(cache, fd1, libc);
	b = cfi_cache_get(cache, fd2, NULL);
	CHECK(a && b && a != b, "two files, two tables");
	CHECK(cfi_cache_get(cache, fd1, NULL) == a, "second get of libc built again");
	CHECK(cfi_cache_builds(cache) == 2, "%u builds", cfi_cache_builds(cache));
	CHECK(cfi_cache_bytes(cache) > 100000, "%zu bytes", cfi_cache_bytes(cache));
	close(fd1);
	close(fd2);
	cfi_cache_free(cache);
}

/* A binary built with -fno-asynchronous-unwind-tables -g: its own code has
 * only .debug_frame; or (split) none at all, its .debug_frame being in the
 * file its .gnu_debuglink names. */
static void test_debug_frame(const char *path, bool split)
{
	struct test_syms syms;
	const struct cfi_row *row;
	struct cfi_table *t;
	uint64_t start, end;
	int err = cfi_table_build(path, &t);

	CHECK(!err, "build %s: %d", path, err);
	if (err)
		return;
	CHECK(split ? t->stats.from_debug_file : t->stats.from_debug_frame,
	      "%s: .debug_frame not used", path);
	CHECK(!test_syms_load(path, &syms), "symbols of %s", path);
	CHECK(test_syms_find(&syms, "level_b", &start, &end), "no level_b");
	row = cfi_table_lookup(t, start);
	CHECK(row && CFI_ROW_CFA_RULE(row) == CFI_CFA_RSP && CFI_ROW_CFA_OFFSET(row) == 8,
	      "level_b entry row: rule %d offset %lld", row ? CFI_ROW_CFA_RULE(row) : -1,
	      row ? (long long)CFI_ROW_CFA_OFFSET(row) : 0);
	printf("%s: %u FDEs, %u rows\n", split ? "debug file" : "debug_frame binary",
	       t->stats.fdes, t->stats.rows);
	test_syms_free(&syms);
	cfi_table_free(t);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Build time (median of 5, warm page cache) and table size. */
static void test_figures(void)
{
	const char *paths[] = { "", "/usr/bin/python3.11",
				"/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/bin/bash",
				"/usr/bin/node" };
	char libc[400];
	double ms[5];
	size_t i, r;

	if (!test_libc_path(libc, sizeof(libc)))
		paths[0] = libc;
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct cfi_table *t = NULL;

		if (access(paths[i], R_OK))
			continue;
		for (r = 0; r < 5; r++) {
			double t0 = now_ms();

			cfi_table_free(t);
			t = NULL;
			CHECK(!cfi_table_build(paths[i], &t), "build %s", paths[i]);
			ms[r] = now_ms() - t0;
			if (!t)
				return;
		}
		qsort(ms, 5, sizeof(ms[0]), cmp_double);
		printf("figures %s: %.2f ms (median of 5), %u FDEs, %u raw rows, %u rows "
		       "(%u gaps), %zu bytes (%zu row bytes), unsupported %u\n",
		       paths[i], ms[2], t->stats.fdes, t->stats.raw_rows, t->stats.rows,
		       t->stats.gaps, cfi_table_size(t), t->nr_rows * sizeof(struct cfi_row),
		       t->stats.unsupported_rows);
		CHECK(ms[2] < 1000, "%s took %.1f ms", paths[i], ms[2]);
		CHECK(t->stats.rows > 10000, "%s: only %u rows", paths[i], t->stats.rows);
		cfi_table_free(t);
	}
}

/* Our own mappings: libc's bias maps a libc function into its row, and the
 * [vdso] gets a table read out of memory. (Not read(): sanitizers wrap it.) */
static void test_self_maps(void)
{
	uint64_t libc_fn = (uint64_t)(uintptr_t)&gnu_get_libc_version;
	struct cfi_cache *cache = cfi_cache_new();
	struct cfi_proc_maps pm;
	const struct cfi_map *m;
	const struct cfi_row *row;
	bool vdso = false;
	size_t i;
	int err;

	err = cfi_proc_maps_load(getpid(), cache, &pm);
	CHECK(!err, "own maps: %d", err);
	if (err)
		return;
	m = cfi_proc_find(&pm, libc_fn);
	CHECK(m && m->table && strstr(m->path, "/libc.so"), "libc function not in a libc mapping");
	if (m && m->table) {
		row = cfi_table_lookup(m->table, libc_fn - m->bias);
		CHECK(row && CFI_ROW_CFA_RULE(row) == CFI_CFA_RSP && CFI_ROW_CFA_OFFSET(row) == 8,
		      "libc function entry row: rule %d offset %lld", row ? CFI_ROW_CFA_RULE(row) : -1,
		      row ? (long long)CFI_ROW_CFA_OFFSET(row) : 0);
	}
	for (i = 0; i < pm.nr; i++) {
		if (strcmp(pm.maps[i].path, "[vdso]"))
			continue;
		vdso = true;
		CHECK(pm.maps[i].table && pm.maps[i].table->stats.fdes >= 4 &&
		      pm.maps[i].table->stats.unsupported_rows == 0,
		      "vdso table: %u FDEs", pm.maps[i].table ? pm.maps[i].table->stats.fdes : 0);
		if (pm.maps[i].table)
			printf("vdso: %u FDEs, %u rows\n", pm.maps[i].table->stats.fdes,
			       pm.maps[i].table->stats.rows);
	}
	CHECK(vdso, "no [vdso] mapping");
	cfi_proc_maps_free(&pm);
	cfi_cache_free(cache);
}

int test_unwind_synthetic(void);
int test_sigframe(void);

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "tables";

	if (!strcmp(mode, "tables")) {
		test_libc_vs_readelf();
		test_lookup();
		test_cache();
		test_self_maps();
		if (argc > 2)
			test_debug_frame(argv[2], false);
		if (argc > 3)
			test_debug_frame(argv[3], true);
	} else if (!strcmp(mode, "synthetic")) {
		test_unwind_synthetic();
	} else if (!strcmp(mode, "sigframe")) {
		test_sigframe();
	} else if (!strcmp(mode, "figures")) {
		test_figures();
	} else if (!strcmp(mode, "live") && argc > 2) {
		test_unwind_live(argv[2]);
	} else if (!strcmp(mode, "real") && argc > 4) {
		test_unwind_real(argv + 4, (uint32_t)atoi(argv[2]), atoi(argv[3]));
	} else if (!strcmp(mode, "bpf") && argc > 2) {
		test_bpf_walk(argv[2]);
	} else {
		fprintf(stderr, "usage: %s tables [debug_frame_binary [split_binary]] | synthetic | sigframe"
			" | figures | live TARGET | bpf TARGET | real MIN_FRAMES MIN_THREADS COMMAND...\n",
			argv[0]);
		return 2;
	}
	printf("%s: %d failure(s)\n", mode, test_failures);
	return test_failures ? 1 : 0;
}
