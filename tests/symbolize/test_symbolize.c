// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of the symbolizer on ELF files the build made (fixture.c in
 * several shapes: full, stripped, stripped with a debuglink, stripped with a
 * build-id debug file) and on live and exited processes.
 *
 * usage: test_symbolize FIXTURE_DIR
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "internal.h"

int test_failures;
static const char *dir;

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = s ? strlen(s) : 0, m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

static char *fixture_path(const char *name)
{
	static char paths[8][4096];
	static int next;
	char *buf = paths[next++ % 8];

	snprintf(buf, 4096, "%s/%s", dir, name);
	return buf;
}

/* A symbol's value read straight from a .symtab, independent of the code
 * under test's alias and size rules. */
static uint64_t symtab_value(const char *path, const char *want)
{
	struct elf_file *file;
	Elf_Scn *scn = NULL;
	uint64_t value = 0;

	if (elf_file_open_path(path, &file))
		return 0;
	while (!value && (scn = elf_nextscn(file->elf, scn)) != NULL) {
		GElf_Shdr shdr;
		Elf_Data *data;
		size_t i;

		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_SYMTAB)
			continue;
		data = elf_getdata(scn, NULL);
		for (i = 1; i < shdr.sh_size / shdr.sh_entsize; i++) {
			GElf_Sym sym;
			const char *name;

			if (!gelf_getsym(data, i, &sym))
				break;
			name = elf_strptr(file->elf, shdr.sh_link, sym.st_name);
			if (name && !strcmp(name, want) && sym.st_shndx != SHN_UNDEF) {
				value = sym.st_value;
				break;
			}
		}
	}
	elf_file_close(file);
	return value;
}

/* The name of the real (outermost, not inlined) function at addr. */
static const char *elf_name(const char *path, const char *debug_dir, uint64_t addr,
			    struct sym_result *res, struct symbolizer **keep)
{
	struct symbolizer_opts opts = { .lines = true, .inlines = true, .demangle = true,
					.debug_dir = debug_dir };
	struct symbolizer *sym = symbolizer_new(&opts);

	*keep = sym;
	if (sym_elf(sym, path, addr, res) || !res->nr)
		return NULL;
	return res->frames[res->nr - 1].name;
}

static void test_elf_shapes(void)
{
	uint64_t outer = symtab_value(fixture_path("fixture"), "fixture_outer");
	struct symbolizer *sym;
	struct sym_result res;
	const char *name;
	char label[256];

	CHECK(outer != 0, "fixture_outer not in the fixture's symtab");
	/* Full binary: symbol, file and line. */
	name = elf_name(fixture_path("fixture"), "/nonexistent", outer + 1, &res, &sym);
	CHECK_STR(name, "fixture_outer");
	CHECK(res.nr && ends_with(res.frames[0].file, "fixture.c") && res.frames[0].line > 0,
	      "no file:line for fixture_outer");
	symbolizer_free(sym);

	/* Stripped, no debug file: no name, and never a wrong one. */
	name = elf_name(fixture_path("fixture_stripped"), "/nonexistent", outer + 1, &res, &sym);
	CHECK(name == NULL, "stripped binary named %s", name);
	CHECK(res.nr == 1, "stripped: %zu frames", res.nr);
	if (res.nr) {
		sym_frame_label(&res.frames[0], label, sizeof(label));
		CHECK(!strncmp(label, "fixture_stripped+0x", 19), "label %s", label);
	}
	symbolizer_free(sym);

	/* Stripped with a .gnu_debuglink to a file beside it (no build-id:
	 * the CRC is what matches). */
	outer = symtab_value(fixture_path("fixture_dl.debug"), "fixture_outer");
	name = elf_name(fixture_path("fixture_dl"), "/nonexistent", outer + 1, &res, &sym);
	CHECK_STR(name, "fixture_outer");
	CHECK(res.nr && ends_with(res.frames[0].file, "fixture.c"), "debuglink: no file");
	symbolizer_free(sym);
}

/* The build-id layout: DEBUGDIR/.build-id/xx/yyyy.debug, made here. */
static void test_build_id_dir(void)
{
	char debug_dir[] = "/tmp/symbolize-debug-XXXXXX", path[4096], cmd[8192];
	uint64_t outer = symtab_value(fixture_path("fixture"), "fixture_outer");
	struct elf_file *file;
	struct symbolizer *sym;
	struct sym_result res;
	const char *name;

	if (!mkdtemp(debug_dir) || elf_file_open_path(fixture_path("fixture_stripped"), &file)) {
		CHECK(0, "setup");
		return;
	}
	CHECK(file->build_id_len == 20, "fixture has no build-id");
	debuginfo_build_id_path(debug_dir, file->build_id, file->build_id_len, path,
				sizeof(path));
	elf_file_close(file);
	if (snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname %s)\" && cp %s %s", path,
		     fixture_path("fixture.debug"), path) >= (int)sizeof(cmd))
		cmd[0] = '\0';
	CHECK(system(cmd) == 0, "%s", cmd);

	name = elf_name(fixture_path("fixture_stripped"), debug_dir, outer + 1, &res, &sym);
	CHECK_STR(name, "fixture_outer");
	CHECK(res.nr && res.frames[0].line > 0, "build-id debug file: no line");
	symbolizer_free(sym);

	snprintf(cmd, sizeof(cmd), "rm -rf %s", debug_dir);
	CHECK(system(cmd) == 0, "%s", cmd);
}

static void test_cxx(void)
{
	const char *mangled = "_ZN11waitprof_ns6WidgetIiE4spinEi";
	uint64_t spin = symtab_value(fixture_path("fixture_cxx"), mangled);
	struct symbolizer_opts opts = { .lines = true, .inlines = true };
	struct symbolizer *sym;
	struct sym_result res;
	const char *name;
	char *rust;

	CHECK(spin != 0, "no %s in fixture_cxx", mangled);
	name = elf_name(fixture_path("fixture_cxx"), "/nonexistent", spin + 1, &res, &sym);
	CHECK_STR(name, "waitprof_ns::Widget<int>::spin(int)");
	symbolizer_free(sym);

	sym = symbolizer_new(&opts);	/* demangle off */
	CHECK(!sym_elf(sym, fixture_path("fixture_cxx"), spin + 1, &res) && res.nr, "cxx");
	if (res.nr)
		CHECK_STR(res.frames[0].name, mangled);
	symbolizer_free(sym);

	rust = demangle("_ZN4core3fmt5write17h0123456789abcdefE");
	CHECK_STR(rust, "core::fmt::write");
	free(rust);
	CHECK(demangle("main") == NULL, "demangled a C name");
}

/* glibc's start_thread: in the debug file's .symtab only. Without the debug
 * file no symbol covers it: the name must be NULL, not a neighbour's. */
static void test_start_thread(void)
{
	const char *libc = "/lib/x86_64-linux-gnu/libc.so.6";
	struct elf_file *file, *debug;
	struct symbolizer *sym;
	struct sym_result res;
	const char *name;
	uint64_t addr;

	if (elf_file_open_path(libc, &file)) {
		printf("skip start_thread: no %s\n", libc);
		return;
	}
	debug = debuginfo_find(file, "/usr/lib/debug", -1);
	elf_file_close(file);
	CHECK(debug != NULL, "no libc debug file (install libc6-dbg)");
	if (!debug)
		return;
	addr = symtab_value(debug->path, "start_thread");
	elf_file_close(debug);
	CHECK(addr != 0, "no start_thread in libc's debug symtab");

	name = elf_name(libc, "/usr/lib/debug", addr + 16, &res, &sym);
	CHECK_STR(name, "start_thread");
	CHECK(res.nr && res.frames[0].symbol && !strcmp(res.frames[0].symbol, "start_thread"),
	      "symbol field");
	symbolizer_free(sym);

	struct symbolizer_opts opts = { .debug_dir = "/nonexistent" };	/* symbols only */

	sym = symbolizer_new(&opts);
	CHECK(!sym_elf(sym, libc, addr + 16, &res) && res.nr == 1, "dynsym only");
	if (res.nr)
		CHECK(res.frames[0].name == NULL, "start_thread named %s without debug info",
		      res.frames[0].name);
	symbolizer_free(sym);
}

struct child {
	pid_t pid;
	FILE *out;
	int in_fd;
	uint64_t outer, inlined_pc, mutex, bss, data, big_bss;
};

static int spawn_fixture(const char *path, struct child *c)
{
	int to_child[2], from_child[2];
	char key[32];
	unsigned long long value;

	if (pipe(to_child) || pipe(from_child))
		return -1;
	c->pid = fork();
	if (c->pid == 0) {
		dup2(to_child[0], 0);
		dup2(from_child[1], 1);
		close(to_child[1]);
		close(from_child[0]);
		execl(path, path, (char *)NULL);
		_exit(127);
	}
	close(to_child[0]);
	close(from_child[1]);
	c->in_fd = to_child[1];
	c->out = fdopen(from_child[0], "r");
	while (fscanf(c->out, "%31s %llx", key, &value) == 2) {
		if (!strcmp(key, "outer"))
			c->outer = value;
		else if (!strcmp(key, "inlined_pc"))
			c->inlined_pc = value;
		else if (!strcmp(key, "mutex"))
			c->mutex = value;
		else if (!strcmp(key, "bss"))
			c->bss = value;
		else if (!strcmp(key, "data"))
			c->data = value;
		else if (!strcmp(key, "big_bss")) {
			c->big_bss = value;
			break;
		}
	}
	return c->big_bss ? 0 : -1;
}

static void reap(struct child *c)
{
	int status;

	close(c->in_fd);
	fclose(c->out);
	waitpid(c->pid, &status, 0);
}

static void check_process_frames(struct symbolizer *sym, struct proc_maps *maps,
				 const struct child *c, const char *when)
{
	struct sym_result res;
	const char *name;
	uint64_t offset;

	CHECK(!sym_user(sym, maps, c->outer + 1, &res) && res.nr >= 1, "%s: outer", when);
	if (res.nr) {
		CHECK_STR(res.frames[res.nr - 1].name, "fixture_outer");
		CHECK_STR(res.frames[0].symbol, "fixture_outer");
	}
	CHECK(!sym_user(sym, maps, c->inlined_pc, &res) && res.nr == 2, "%s: inline chain has %zu",
	      when, res.nr);
	if (res.nr == 2) {
		CHECK_STR(res.frames[0].name, "fixture_inlined");
		CHECK(res.frames[0].inlined && !res.frames[1].inlined, "%s: inlined flags", when);
		CHECK_STR(res.frames[1].name, "fixture_outer");
		CHECK(ends_with(res.frames[1].file, "fixture.c") && res.frames[1].line > 0,
		      "%s: call site", when);
	}
	sym_data(sym, maps, c->mutex, &name, &offset);
	CHECK_STR(name, "fixture_mutex");
	sym_data(sym, maps, c->bss, &name, &offset);
	CHECK_STR(name, "fixture_bss_counter");
	sym_data(sym, maps, c->data, &name, &offset);
	CHECK_STR(name, "fixture_data_value");
	sym_data(sym, maps, c->big_bss, &name, &offset);
	CHECK_STR(name, "fixture_big_bss");
	CHECK(offset == 4096 * 3, "%s: big_bss offset %" PRIu64, when, offset);
}

static void check_vdso(struct symbolizer *sym, struct proc_maps *maps)
{
	const struct proc_map *vdso = NULL;
	struct sym_result res;
	uint64_t addr;
	int named = 0;
	size_t i;

	for (i = 0; i < maps->nr; i++) {
		if (!strcmp(maps->maps[i].path, "[vdso]"))
			vdso = &maps->maps[i];
	}
	CHECK(vdso != NULL, "no [vdso] mapping");
	if (!vdso)
		return;
	for (addr = vdso->start; addr < vdso->end; addr += 16) {
		if (sym_user(sym, maps, addr, &res) || !res.nr)
			continue;
		CHECK_STR(res.frames[0].module, "[vdso]");
		if (res.frames[0].name && strstr(res.frames[0].name, "gettime"))
			named++;
	}
	CHECK(named > 0, "no clock_gettime-like symbol found in the vdso");
}

static void test_process(void)
{
	struct symbolizer_opts opts = { .lines = true, .inlines = true,
					.debug_dir = "/nonexistent" };
	char copy[] = "/tmp/symbolize-fixture-XXXXXX", cmd[8192];
	struct symbolizer *sym = symbolizer_new(&opts);
	struct proc_maps *maps;
	struct child c = { 0 };
	int fd;

	/* A private copy, so the test can delete it while it runs. */
	fd = mkstemp(copy);
	close(fd);
	snprintf(cmd, sizeof(cmd), "cp %s %s && chmod +x %s", fixture_path("fixture"), copy, copy);
	CHECK(system(cmd) == 0, "%s", cmd);
	if (spawn_fixture(copy, &c)) {
		CHECK(0, "fixture did not start");
		return;
	}
	maps = proc_maps_read(c.pid);
	CHECK(maps && maps->nr > 5, "proc_maps_read");
	if (maps) {
		const struct proc_map *m = proc_maps_find(maps, c.outer);

		CHECK(m && m->build_id_len == 20, "no build-id captured for the fixture");
		check_process_frames(sym, maps, &c, "live");
		check_vdso(sym, maps);
	}
	symbolizer_free(sym);
	proc_maps_free(maps);

	/* Deleted while running: only /proc/PID/map_files can still open it. */
	unlink(copy);
	sym = symbolizer_new(&opts);
	maps = proc_maps_read(c.pid);
	if (maps)
		check_process_frames(sym, maps, &c, "deleted");
	symbolizer_free(sym);
	proc_maps_free(maps);
	reap(&c);

	/* Exited: maps captured while it lived, the file found by path. */
	CHECK(spawn_fixture(fixture_path("fixture"), &c) == 0, "second fixture");
	maps = proc_maps_read(c.pid);
	reap(&c);
	sym = symbolizer_new(&opts);
	if (maps)
		check_process_frames(sym, maps, &c, "exited");
	symbolizer_free(sym);
	proc_maps_free(maps);

	CHECK(proc_maps_read(-5) == NULL, "maps of pid -5");
}

static void test_kallsyms(void)
{
	char path[] = "/tmp/symbolize-kallsyms-XXXXXX";
	struct symbolizer *sym = symbolizer_new(NULL);
	struct sym_result res;
	FILE *f;
	int fd = mkstemp(path);

	f = fdopen(fd, "w");
	fputs("ffffffff81000000 T _text\n"
	      "ffffffff81000100 T func_a\n"
	      "ffffffff81000200 t func_b\n"
	      "ffffffff81000300 D some_data\n"
	      "ffffffff81000400 T _etext\n"
	      "ffffffffc0000000 t mod_fn1\t[mymod]\n"
	      "ffffffffc0000100 t mod_fn2\t[mymod]\n"
	      "ffffffffc0000200 d mod_data\t[mymod]\n"
	      "ffffffffc0001000 t last_fn\t[other]\n", f);
	fclose(f);
	CHECK(sym_kernel_load(sym, path) == 0, "load");
	CHECK(!sym_kernel(sym, 0xffffffff81000150, &res) && res.nr == 1, "func_a");
	if (res.nr) {
		CHECK_STR(res.frames[0].name, "func_a");
		CHECK_STR(res.frames[0].module, "[kernel]");
		CHECK(res.frames[0].offset == 0x150, "kernel offset %" PRIx64, res.frames[0].offset);
	}
	CHECK(!sym_kernel(sym, 0xffffffffc0000180, &res) && res.nr == 1, "mod_fn2");
	if (res.nr) {
		CHECK_STR(res.frames[0].name, "mod_fn2");
		CHECK_STR(res.frames[0].module, "mymod");
	}
	CHECK(!sym_kernel(sym, 0xffffffff81000350, &res) && res.nr == 0, "data is not a function");
	{
		uint64_t off = 0;
		const char *data = sym_kernel_name(sym, 0xffffffff81000358, &off);

		CHECK(data && !strcmp(data, "some_data") && off == 0x58, "kernel variable %s",
		      data ? data : "(null)");
	}
	CHECK(!sym_kernel(sym, 0xffffffffc0001010, &res) && res.nr == 0,
	      "past the last symbol must be ??");
	CHECK(!sym_kernel(sym, 0xffffffff80000000, &res) && res.nr == 0, "below the first");
	unlink(path);
	symbolizer_free(sym);

	/* The real one, when this machine lets us read addresses. */
	sym = symbolizer_new(NULL);
	if (sym_kernel_load(sym, "/proc/kallsyms") == 0) {
		const char *name;
		uint64_t off;
		uint64_t schedule = 0;
		FILE *k = fopen("/proc/kallsyms", "r");
		char line[512], sname[256], type;
		unsigned long long a;

		while (k && fgets(line, sizeof(line), k)) {
			if (sscanf(line, "%llx %c %255s", &a, &type, sname) == 3 &&
			    !strcmp(sname, "schedule")) {
				schedule = a;
				break;
			}
		}
		if (k)
			fclose(k);
		name = sym_kernel_name(sym, schedule + 4, &off);
		CHECK(schedule && name && !strcmp(name, "schedule") && off == 4,
		      "schedule+4 is %s", name ? name : "(null)");
	} else {
		printf("skip real kallsyms: not readable\n");
	}
	symbolizer_free(sym);
}

static void test_perfmap(void)
{
	const int pid = 4000000;	/* above pid_max's default: never a real one */
	struct proc_map map = { .start = 0x7f0000000000, .end = 0x7f0000100000, .path = "" };
	struct proc_maps maps = { .pid = pid, .nr = 1, .maps = &map };
	struct symbolizer *sym = symbolizer_new(NULL);
	struct sym_result res;
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/perf-%d.map", pid);
	f = fopen(path, "w");
	fputs("7f0000001000 100 jitted_fn\n7f0000002000 20 LazyCompile:*foo bar.js:1\n", f);
	fclose(f);
	CHECK(!sym_user(sym, &maps, 0x7f0000001010, &res) && res.nr == 1, "jit");
	if (res.nr) {
		CHECK_STR(res.frames[0].name, "jitted_fn");
		CHECK_STR(res.frames[0].module, "[jit]");
	}
	CHECK(!sym_user(sym, &maps, 0x7f0000002004, &res) && res.nr == 1, "jit with spaces");
	if (res.nr)
		CHECK_STR(res.frames[0].name, "LazyCompile:*foo bar.js:1");
	CHECK(!sym_user(sym, &maps, 0x7f0000001100, &res) && res.nr == 0, "past a JIT entry");
	unlink(path);
	symbolizer_free(sym);
}

static void test_open_in_root(void)
{
	char root[] = "/tmp/symbolize-root-XXXXXX", cmd[8192];
	int root_fd, fd;

	if (!mkdtemp(root))
		return;
	/* An absolute symlink must resolve inside the root, not to the host's. */
	snprintf(cmd, sizeof(cmd), "ln -s /etc/hostname %s/escape && ln -s ../../../../etc/hostname %s/up",
		 root, root);
	CHECK(system(cmd) == 0, "%s", cmd);
	root_fd = open(root, O_PATH | O_DIRECTORY);
	fd = open_in_root(root_fd, "/escape");
	CHECK(fd < 0, "absolute symlink escaped the root");
	if (fd >= 0)
		close(fd);
	fd = open_in_root(root_fd, "/up");
	CHECK(fd < 0, "relative symlink escaped the root");
	if (fd >= 0)
		close(fd);
	close(root_fd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	CHECK(system(cmd) == 0, "%s", cmd);
}

/* A mapping made after maps were read replaces what it overlaps, splits what
 * holds it, keeps the rest, and leaves the maps sorted. */
static void test_maps_insert(void)
{
	struct proc_maps *maps = calloc(1, sizeof(*maps));
	struct proc_map m = { .start = 0x1000, .end = 0x9000, .pgoff = 0, .path = "/lib/a" };
	static const uint64_t want[][3] = {	/* start, end, pgoff */
		{ 0x1000, 0x3000, 0 }, { 0x3000, 0x4000, 0x100 }, { 0x4000, 0x9000, 0x3000 },
		{ 0xa000, 0xc000, 0 }, { 0xc000, 0xd000, 0x200 }, { 0xd000, 0xf000, 0x1200 },
	};
	size_t i;

	if (!maps)
		return;
	CHECK(!proc_maps_insert(maps, &m), "insert into empty maps");
	m = (struct proc_map){ .start = 0xa000, .end = 0xe000, .path = "[vdso]" };
	CHECK(!proc_maps_insert(maps, &m), "insert after");
	/* Splits /lib/a in two, keeping the right part's file offset. */
	m = (struct proc_map){ .start = 0x3000, .end = 0x4000, .pgoff = 0x100, .path = "/lib/b" };
	CHECK(!proc_maps_insert(maps, &m), "insert inside");
	/* Overlaps the end of [vdso], then its own start is mapped again. */
	m = (struct proc_map){ .start = 0xc000, .end = 0xf000, .pgoff = 0x200, .path = "/lib/c" };
	CHECK(!proc_maps_insert(maps, &m), "insert over an end");
	m = (struct proc_map){ .start = 0xc000, .end = 0xd000, .pgoff = 0x200, .path = "/lib/c" };
	CHECK(!proc_maps_insert(maps, &m), "insert over a start");
	CHECK(maps->nr == 6, "%zu entries, want 6", maps->nr);
	for (i = 0; i < maps->nr && i < 6; i++)
		CHECK(maps->maps[i].start == want[i][0] && maps->maps[i].end == want[i][1] &&
		      maps->maps[i].pgoff == want[i][2],
		      "entry %zu: %" PRIx64 "-%" PRIx64 " @%" PRIx64, i, maps->maps[i].start,
		      maps->maps[i].end, maps->maps[i].pgoff);
	if (maps->nr == 6) {
		CHECK_STR(maps->maps[0].path, "/lib/a");
		CHECK_STR(maps->maps[1].path, "/lib/b");
		CHECK_STR(maps->maps[2].path, "/lib/a");
		CHECK_STR(maps->maps[3].path, "[vdso]");
		CHECK_STR(maps->maps[4].path, "/lib/c");
		CHECK_STR(maps->maps[5].path, "/lib/c");
		CHECK(!proc_maps_find(maps, 0xf000), "nothing past the last mapping");
	}
	proc_maps_free(maps);
}

/* A mapping of a process that is gone: its file is found at its path here,
 * if it is the same inode, and read once for the whole cache. */
static void test_identify(void)
{
	struct proc_map m = { .start = 0x1000, .end = 0x2000, .path = fixture_path("fixture") };
	struct file_ids *ids = file_ids_new();
	struct file_ids_stats st;
	struct stat sb;
	int gone = 999999999;	/* above pid_max */

	if (!ids || stat(m.path, &sb)) {
		CHECK(0, "setup");
		file_ids_free(ids);
		return;
	}
	m.inode = sb.st_ino;
	proc_map_identify(gone, &m, ids);
	CHECK(m.build_id_len == 20, "build-id of a gone process's mapping: %u bytes",
	      m.build_id_len);
	m.build_id_len = 0;
	proc_map_identify(gone, &m, ids);
	CHECK(m.build_id_len == 20, "second lookup");
	m.build_id_len = 0;
	m.inode = sb.st_ino + 1;	/* another file is at that path now */
	proc_map_identify(gone, &m, ids);
	CHECK(m.build_id_len == 0, "a file with another inode must not name the mapping");
	file_ids_get_stats(ids, &st);
	CHECK(st.lookups == 3 && st.files_read == 1, "%" PRIu64 " lookups, %" PRIu64 " reads",
	      st.lookups, st.files_read);
	file_ids_free(ids);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s FIXTURE_DIR\n", argv[0]);
		return 2;
	}
	dir = argv[1];
	signal(SIGPIPE, SIG_IGN);
	test_elf_shapes();
	test_build_id_dir();
	test_cxx();
	test_start_thread();
	test_process();
	test_kallsyms();
	test_perfmap();
	test_open_in_root();
	test_maps_insert();
	test_identify();
	if (test_failures) {
		fprintf(stderr, "%d check(s) failed\n", test_failures);
		return 1;
	}
	printf("all symbolizer checks passed\n");
	return 0;
}
