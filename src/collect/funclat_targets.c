// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elf_lookup.h"
#include "funclat_targets.h"
#include "util.h"

#define UNISTD_64 "/usr/include/x86_64-linux-gnu/asm/unistd_64.h"

/* The common calls, for machines without kernel headers. */
static const struct { const char *name; int nr; } builtin_syscalls[] = {
	{ "read", 0 }, { "write", 1 }, { "open", 2 }, { "close", 3 }, { "stat", 4 },
	{ "fstat", 5 }, { "poll", 7 }, { "lseek", 8 }, { "mmap", 9 }, { "munmap", 11 },
	{ "pread64", 17 }, { "pwrite64", 18 }, { "readv", 19 }, { "writev", 20 },
	{ "sched_yield", 24 }, { "madvise", 28 }, { "nanosleep", 35 }, { "getpid", 39 },
	{ "sendfile", 40 }, { "connect", 42 }, { "accept", 43 }, { "sendto", 44 },
	{ "recvfrom", 45 }, { "sendmsg", 46 }, { "recvmsg", 47 }, { "fsync", 74 },
	{ "fdatasync", 75 }, { "getppid", 110 }, { "futex", 202 }, { "epoll_wait", 232 },
	{ "clock_nanosleep", 230 }, { "openat", 257 }, { "ppoll", 271 }, { "accept4", 288 },
	{ "epoll_pwait", 281 }, { "io_uring_enter", 426 }, { "futex_wait", 455 },
};

/* Number of name from the kernel headers, or the built-in table. With a
 * glob, calls fn for every match instead; returns the count. */
static int syscalls_matching(const char *pattern, void (*fn)(void *, const char *, int),
			     void *ctx)
{
	char line[256], name[128];
	int nr, found = 0;
	size_t i;
	FILE *f = fopen(UNISTD_64, "re");

	if (f) {
		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, "#define __NR_%127s %d", name, &nr) != 2)
				continue;
			if (fnmatch(pattern, name, 0))
				continue;
			found++;
			if (fn)
				fn(ctx, name, nr);
		}
		fclose(f);
		return found;
	}
	for (i = 0; i < ARRAY_LEN(builtin_syscalls); i++) {
		if (fnmatch(pattern, builtin_syscalls[i].name, 0))
			continue;
		found++;
		if (fn)
			fn(ctx, builtin_syscalls[i].name, builtin_syscalls[i].nr);
	}
	return found;
}

static void keep_nr(void *ctx, const char *name, int nr)
{
	*(int *)ctx = nr;
}

int funclat_syscall_nr(const char *name)
{
	int nr = -1;

	if (elf_is_glob(name) || syscalls_matching(name, keep_nr, &nr) != 1)
		return -1;
	return nr;
}

/* What serves instead of a kernel function, on a kernel without kprobes. */
static const struct { const char *func; const char *instead; } kernel_alternatives[] = {
	{ "vfs_read", "syscall:read" }, { "ksys_read", "syscall:read" },
	{ "vfs_write", "syscall:write" }, { "ksys_write", "syscall:write" },
	{ "do_sys_open", "syscall:openat" }, { "do_sys_openat2", "syscall:openat" },
	{ "vfs_fsync", "syscall:fsync or syscall:fdatasync" },
	{ "vfs_fsync_range", "syscall:fsync or syscall:fdatasync" },
	{ "do_futex", "syscall:futex" }, { "futex_wait", "syscall:futex" },
	{ "do_nanosleep", "syscall:clock_nanosleep" },
	{ "hrtimer_nanosleep", "syscall:clock_nanosleep" },
	{ "tcp_sendmsg", "syscall:sendto or syscall:sendmsg" },
	{ "tcp_recvmsg", "syscall:recvfrom or syscall:recvmsg" },
	{ "do_epoll_wait", "syscall:epoll_wait" },
	{ "schedule", "the sched:sched_switch tracepoint ('waitprof record')" },
	{ "mutex_lock", "the lock:contention_begin/end tracepoints ('waitprof record')" },
	{ "down_read", "the lock:contention_begin/end tracepoints ('waitprof record')" },
	{ "down_write", "the lock:contention_begin/end tracepoints ('waitprof record')" },
};

static int refuse_kernel_function(const char *spec)
{
	const char *func = strchr(spec, ':') ? strchr(spec, ':') + 1 : spec;
	bool have_kprobes = !access("/sys/bus/event_source/devices/kprobe", F_OK);
	const char *why = have_kprobes ? "waitprof funclat does not time kernel functions" :
			  "timing a kernel function needs kprobes or fentry, which this kernel lacks";
	size_t i;

	if (!strncmp(func, "__x64_sys_", 10) || !strncmp(func, "__se_sys_", 9) ||
	    !strncmp(func, "__do_sys_", 9)) {
		err_msg("'%s' is a kernel function: %s; use syscall:%s", spec, why,
			strstr(func, "sys_") + 4);
		return -EOPNOTSUPP;
	}
	for (i = 0; i < ARRAY_LEN(kernel_alternatives); i++) {
		if (!strcmp(func, kernel_alternatives[i].func)) {
			err_msg("'%s' is a kernel function: %s; use %s", spec, why,
				kernel_alternatives[i].instead);
			return -EOPNOTSUPP;
		}
	}
	err_msg("'%s' is a kernel function: %s; use syscall:NAME for the syscall it serves, "
		"or 'waitprof record' (sched_switch and lock tracepoints)", spec, why);
	return -EOPNOTSUPP;
}

/* libc.so.6 for "c", libpq.so.5 for "libpq": bcc's short names. */
static bool lib_matches(const char *path, const char *lib)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	char want[256];
	size_t n;

	if (!strcmp(lib, "c"))
		lib = "libc";
	snprintf(want, sizeof(want), "%s%s", strncmp(lib, "lib", 3) ? "lib" : "", lib);
	n = strlen(want);
	if (strncmp(base, want, n))
		return false;
	/* libc.so.6, libc-2.31.so; not libcrypt.so */
	return !strncmp(base + n, ".so", 3) || (base[n] == '-' && strstr(base + n, ".so"));
}

static int lib_from_maps(int pid, const char *lib, char *out, size_t len)
{
	char path[64], line[4096], file[PATH_MAX - 32];
	FILE *f;
	int err = -ENOENT;

	if (pid > 0)
		snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/maps");
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*s %*s %*s %*s %*s %4000s", file) != 1 || file[0] != '/')
			continue;
		if (!lib_matches(file, lib))
			continue;
		/* Another mount namespace: reach the file through the process. */
		if (pid > 0 && access(file, R_OK))
			snprintf(out, len, "/proc/%d/root%s", pid, file);
		else
			snprintf(out, len, "%s", file);
		err = 0;
		break;
	}
	fclose(f);
	return err;
}

static int lib_from_ldconfig(const char *lib, char *out, size_t len)
{
	char line[4096], *arrow;
	int err = -ENOENT;
	FILE *p;

	p = popen("/sbin/ldconfig -p 2>/dev/null", "re");
	if (!p)
		return -errno;
	while (fgets(line, sizeof(line), p)) {
		arrow = strstr(line, "=> ");
		if (!arrow || err == 0)
			continue;
		arrow += 3;
		arrow[strcspn(arrow, "\n")] = 0;
		if (strstr(line, "x86-64") && lib_matches(arrow, lib)) {
			snprintf(out, len, "%s", arrow);
			err = 0;
		}
	}
	pclose(p);
	return err;
}

static int exe_from_path_env(const char *name, char *out, size_t len)
{
	const char *env = getenv("PATH");
	char dirs[4096], *dir, *save = NULL, cand[PATH_MAX];

	snprintf(dirs, sizeof(dirs), "%s", env ? env : "/usr/bin:/bin");
	for (dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		if (snprintf(cand, sizeof(cand), "%s/%s", dir, name) >= (int)sizeof(cand))
			continue;
		if (!access(cand, X_OK)) {
			snprintf(out, len, "%s", cand);
			return 0;
		}
	}
	return -ENOENT;
}

/* The object LIB names for one process. */
static int resolve_object(const char *lib, int pid, char *out, size_t len)
{
	char real[PATH_MAX];

	if (strchr(lib, '/')) {
		if (!realpath(lib, real))
			return -errno;
		snprintf(out, len, "%s", real);
		return 0;
	}
	if (!lib_from_maps(pid, lib, out, len))
		return 0;
	if (!lib_from_ldconfig(lib, out, len))
		return 0;
	if (!access(lib, R_OK) && realpath(lib, real)) {
		snprintf(out, len, "%s", real);
		return 0;
	}
	return exe_from_path_env(lib, out, len);
}

static struct funclat_target *add_target(struct funclat_plan *plan, const char *lib,
					 const char *func, int nr)
{
	struct funclat_target *t;
	char label[512];

	if (plan->nr_targets >= 256) {
		err_msg("too many targets (at most 256)");
		return NULL;
	}
	t = ARRAY_PUSH(plan->targets, plan->nr_targets);
	if (!t)
		return NULL;
	snprintf(label, sizeof(label), "%s:%s", lib, func);
	t->label = strdup(label);
	t->func = strdup(func);
	t->syscall_nr = nr;
	if (!t->label || !t->func)
		return NULL;
	if (nr >= 0)
		plan->nr_syscalls++;
	return t;
}

static int add_probe(struct funclat_plan *plan, uint32_t target, int pid, const char *path,
		     uint64_t offset)
{
	struct funclat_probe *p = ARRAY_PUSH(plan->probes, plan->nr_probes);

	if (!p)
		return -ENOMEM;
	p->target = target;
	p->pid = pid;
	p->offset = offset;
	p->path = strdup(path);
	return p->path ? 0 : -ENOMEM;
}

struct syscall_add_ctx {
	struct funclat_plan *plan;
	int err;
};

static void add_syscall_cb(void *ctx, const char *name, int nr)
{
	struct syscall_add_ctx *a = ctx;

	if (!a->err && !add_target(a->plan, "syscall", name, nr))
		a->err = -ENOMEM;
}

static int plan_syscall(struct funclat_plan *plan, const char *name)
{
	struct syscall_add_ctx a = { .plan = plan };
	int n = syscalls_matching(name, NULL, NULL);

	if (n <= 0) {
		err_msg("no syscall named '%s' (names as in %s, e.g. syscall:write)", name,
			UNISTD_64);
		return -ENOENT;
	}
	if (n > FUNCLAT_MAX_GLOB) {
		err_msg("'syscall:%s' matches %d syscalls (at most %d)", name, n, FUNCLAT_MAX_GLOB);
		return -E2BIG;
	}
	syscalls_matching(name, add_syscall_cb, &a);
	return a.err;
}

static int explain_no_function(const char *func, const char *path, const struct elf_funcs *fs)
{
	if (fs->nr_ifuncs)
		err_msg("'%s' in %s is an IFUNC resolver (the loader picks an implementation "
			"such as __%s_avx2 at run time): probe the implementations, e.g. "
			"'LIB:__%s_*' (their names need the library's debug file, e.g. libc6-dbg)",
			fs->first_ifunc, path, fs->first_ifunc, fs->first_ifunc);
	else
		err_msg("no function matching '%s' in %s", func, path);
	return -ENOENT;
}

/* One LIB:FUNC spec for every process: the first process defines the
 * function set a glob expands to. */
static int plan_function(struct funclat_plan *plan, const char *lib, const char *func,
			 const int *pids, int nr_pids)
{
	size_t first = plan->nr_targets, i;
	int p, n = nr_pids ? nr_pids : 1, err;
	char path[PATH_MAX];
	struct elf_funcs fs;

	for (p = 0; p < n; p++) {
		int pid = nr_pids ? pids[p] : -1;

		err = resolve_object(lib, pid, path, sizeof(path));
		if (err) {
			err_msg("cannot find '%s'%s%.0d (not mapped%s, not in ldconfig's cache, "
				"not a file)", lib, pid > 0 ? " for process " : "", pid > 0 ? pid : 0,
				pid > 0 ? " by it" : "");
			return err;
		}
		err = elf_find_funcs(path, func, &fs);
		if (err) {
			err_msg("cannot read the symbols of %s: %s", path, strerror(-err));
			return err;
		}
		if (!fs.nr) {
			err = explain_no_function(func, path, &fs);
			elf_funcs_free(&fs);
			return err;
		}
		if (fs.nr > FUNCLAT_MAX_GLOB) {
			err_msg("'%s:%s' matches %zu functions in %s (at most %d: every function "
				"costs two probes); narrow the glob", lib, func, fs.nr, path,
				FUNCLAT_MAX_GLOB);
			elf_funcs_free(&fs);
			return -E2BIG;
		}
		for (i = 0; i < fs.nr && !err; i++) {
			size_t t;

			for (t = first; t < plan->nr_targets; t++)
				if (!strcmp(plan->targets[t].func, fs.funcs[i].name))
					break;
			if (t == plan->nr_targets && p > 0)
				continue;	/* not in the first process's set */
			if (t == plan->nr_targets && !add_target(plan, lib, fs.funcs[i].name, -1))
				err = -ENOMEM;
			if (!err)
				err = add_probe(plan, t, pid, path, fs.funcs[i].offset);
		}
		elf_funcs_free(&fs);
		if (err)
			return err;
	}
	return 0;
}

int funclat_plan_build(struct funclat_plan *plan, char *const *specs, int nr_specs,
		       const int *pids, int nr_pids)
{
	char lib[PATH_MAX];
	const char *colon;
	int i, err = 0;

	memset(plan, 0, sizeof(*plan));
	for (i = 0; i < nr_specs && !err; i++) {
		const char *spec = specs[i];

		colon = strrchr(spec, ':');
		if (!colon || !strncmp(spec, "k:", 2) || !strncmp(spec, "kprobe:", 7) ||
		    !strncmp(spec, "kernel:", 7) || !strncmp(spec, "fentry:", 7) ||
		    !strncmp(spec, "kfunc:", 6)) {
			err = refuse_kernel_function(spec);
			break;
		}
		if (!colon[1] || colon == spec) {
			err_msg("bad target '%s' (LIB:FUNC, PATH:FUNC or syscall:NAME)", spec);
			err = -EINVAL;
			break;
		}
		if (!strncmp(spec, "syscall:", 8) || !strncmp(spec, "sys:", 4)) {
			err = plan_syscall(plan, colon + 1);
			continue;
		}
		snprintf(lib, sizeof(lib), "%.*s", (int)(colon - spec), spec);
		err = plan_function(plan, lib, colon + 1, pids, nr_pids);
	}
	if (err)
		funclat_plan_free(plan);
	return err;
}

void funclat_plan_free(struct funclat_plan *plan)
{
	size_t i;

	for (i = 0; i < plan->nr_targets; i++) {
		free(plan->targets[i].label);
		free(plan->targets[i].func);
	}
	for (i = 0; i < plan->nr_probes; i++)
		free(plan->probes[i].path);
	free(plan->targets);
	free(plan->probes);
	memset(plan, 0, sizeof(*plan));
}
