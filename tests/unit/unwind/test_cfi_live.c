// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Ground truth: cfi_target (built -O2 -fomit-frame-pointer) blocks three
 * threads in read() through known call chains; we stop each with ptrace,
 * unwind it with the reference walker over /proc/PID/mem, and require the
 * full chain, in order, to the outermost frame.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cfi_table.h"
#include "test_cfi.h"
#include "test_syms.h"

#define MAX_FRAMES	64

int mem_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct mem_reader *m = ctx;

	if (addr < m->lo || addr + len > m->hi)
		m->violations++;
	return pread(m->fd, buf, len, (off_t)addr) == (ssize_t)len ? 0 : -EFAULT;
}

struct sym_cache {
	char path[256];
	struct test_syms syms;
};

static const struct test_syms *syms_for(struct sym_cache *sc, size_t nr, const char *path)
{
	size_t i;

	for (i = 0; i < nr && sc[i].path[0]; i++)
		if (!strcmp(sc[i].path, path))
			return &sc[i].syms;
	if (i == nr || test_syms_load(path, &sc[i].syms))
		return NULL;
	snprintf(sc[i].path, sizeof(sc[i].path), "%s", path);
	return &sc[i].syms;
}

struct frame_name {
	const struct test_syms *syms;
	uint64_t vaddr;
};

/* Each expected name ("a|b"; a leading '@' marks a libc-internal name,
 * checked only when libc's debug symbols are installed) must name the
 * frame at the same position. */
static void check_chain(const char *what, const struct frame_name *frames, uint32_t nr,
			const char *const *expect, uint32_t nr_expect, bool libc_debug)
{
	uint32_t i;

	CHECK(nr == nr_expect, "%s: %u frames, expected %u", what, nr, nr_expect);
	for (i = 0; i < nr_expect && i < nr; i++) {
		const char *names = expect[i];

		if (names[0] == '@') {
			if (!libc_debug)
				continue;
			names++;
		}
		CHECK(frames[i].syms && test_syms_is(frames[i].syms, names, frames[i].vaddr),
		      "%s: frame %u is %s, expected %s", what, i,
		      frames[i].syms ? test_syms_name(frames[i].syms, frames[i].vaddr) : "?", names);
	}
}

pid_t spawn_target(const char *target, int *report_fd)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid == 0) {
		if (dup2(p[1], 3) != 3)
			_exit(127);
		execl(target, target, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	*report_fd = p[0];
	return pid;
}

/* "M tid" / "T tid" / "S tid" lines, one per thread, within 10 s. */
int read_reports(int fd, pid_t tids[NR_THREADS])
{
	char buf[256];
	size_t len = 0;
	struct pollfd pfd = { fd, POLLIN, 0 };
	char *line, *save = NULL;
	int got = 0;

	while (len < sizeof(buf) - 1) {
		ssize_t n;
		int lines = 0;

		for (size_t i = 0; i < len; i++)
			lines += buf[i] == '\n';
		if (lines == NR_THREADS)
			break;
		if (poll(&pfd, 1, 10000) <= 0)
			return -ETIMEDOUT;
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			return -EIO;
		len += (size_t)n;
	}
	buf[len] = '\0';
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		int idx = line[0] == 'M' ? 0 : line[0] == 'T' ? 1 : line[0] == 'S' ? 2 : -1;

		if (idx >= 0) {
			tids[idx] = (pid_t)atoi(line + 2);
			got++;
		}
	}
	return got == NR_THREADS ? 0 : -EINVAL;
}

/* Waits until the thread sits in read(2) (syscall 0). */
bool wait_in_read(pid_t pid, pid_t tid)
{
	char path[64], buf[64];
	int i, fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", pid, tid);
	for (i = 0; i < 500; i++) {
		fd = open(path, O_RDONLY);
		n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
		if (fd >= 0)
			close(fd);
		if (n > 2 && !strncmp(buf, "0 ", 2))
			return true;
		usleep(10000);
	}
	return false;
}

int stop_thread(pid_t tid, struct user_regs_struct *regs)
{
	int status;

	if (ptrace(PTRACE_SEIZE, tid, 0, 0) || ptrace(PTRACE_INTERRUPT, tid, 0, 0))
		return -errno;
	if (waitpid(tid, &status, __WALL) != tid || !WIFSTOPPED(status))
		return -ECHILD;
	return ptrace(PTRACE_GETREGS, tid, 0, regs) ? -errno : 0;
}

static const char *const expect_main[] = {
	"read|__libc_read|__read", "level_c", "level_b", "level_a", "main",
	"@__libc_start_call_main", "@__libc_start_main_impl|__libc_start_main", "_start",
};
static const char *const expect_thread[] = {
	"read|__libc_read|__read", "level_c", "level_b", "level_a", "thread_main",
	"@start_thread", "@__clone3",
};
static const char *const expect_signal[] = {
	"read|__libc_read|__read", "sig_block", "sig_handler", "@__restore_rt", "spin_c",
	"spin_b", "spin_a", "spin_thread", "@start_thread", "@__clone3",
};

static void unwind_thread(pid_t tid, int idx, const struct user_regs_struct *ur,
			  const struct cfi_proc_maps *pm, const struct cfi_proc *proc,
			  const struct cfi_pool *pool, int mem_fd, struct sym_cache *sc, size_t nr_sc)
{
	static const char *const roles[] = { "main", "thread", "signal" };
	static const char *const *const expects[] = { expect_main, expect_thread, expect_signal };
	static const uint32_t nr_expects[] = { 8, 7, 10 };
	struct cfi_regs regs = { ur->rip, ur->rsp, ur->rbp };
	struct mem_reader mr = { mem_fd, ur->rsp, cfi_proc_stack_end(pm, ur->rsp), 0 };
	struct frame_name names[MAX_FRAMES];
	struct cfi_unwind_result res;
	uint64_t ips[MAX_FRAMES];
	bool exact = true, libc_debug = false;
	struct timespec t0, t1;
	uint32_t n, i;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	n = cfi_unwind_user(&regs, mr.hi, proc, pool->rows, pool->nr, mem_read, &mr, ips,
			    MAX_FRAMES, &res);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%s thread %d: %u frames, stop %s, %u reads, %u search steps, %.1f us\n",
	       roles[idx], tid, n, cfi_stop_name(res.stop), res.reads, res.lookup_steps,
	       ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / 1e3);
	for (i = 0; i < n; i++) {
		const struct cfi_map *m = cfi_proc_find(pm, ips[i]);

		names[i].syms = m ? syms_for(sc, nr_sc, m->path) : NULL;
		names[i].vaddr = m ? ips[i] - m->bias - (exact ? 0 : 1) : 0;
		/* A handler "returns" to the first byte of __restore_rt: no call
		 * precedes it, so pc - 1 is not inside it. */
		if (!exact && names[i].syms &&
		    test_syms_is(names[i].syms, "__restore_rt", names[i].vaddr + 1))
			names[i].vaddr++;
		if (m && strstr(m->path, "/libc.so") && names[i].syms)
			libc_debug |= names[i].syms->from_debug_file;
		printf("  #%-2u %016lx %s (%s)\n", i, ips[i],
		       names[i].syms ? test_syms_name(names[i].syms, names[i].vaddr) : "?",
		       m ? m->path : "?");
		/* After __restore_rt comes the interrupted, exact pc. */
		exact = names[i].syms && test_syms_is(names[i].syms, "__restore_rt", names[i].vaddr);
	}
	CHECK(res.stop == CFI_STOP_END, "%s: stopped by %s", roles[idx], cfi_stop_name(res.stop));
	CHECK(mr.violations == 0, "%s: %u reads outside [rsp, stack end)", roles[idx], mr.violations);
	check_chain(roles[idx], names, n, expects[idx], nr_expects[idx], libc_debug);
}

int test_unwind_live(const char *target)
{
	struct user_regs_struct regs[NR_THREADS];
	struct sym_cache sc[8];
	struct cfi_cache *cache = cfi_cache_new();
	struct cfi_proc_maps pm = { 0 };
	struct cfi_pool pool = { 0 };
	struct cfi_proc *proc = calloc(1, sizeof(*proc));
	pid_t tids[NR_THREADS] = { 0 }, pid;
	int report_fd = -1, mem_fd = -1, stopped = 0, i, err;
	char mem[64];

	memset(sc, 0, sizeof(sc));
	pid = spawn_target(target, &report_fd);
	CHECK(pid > 0, "fork");
	if (pid <= 0 || !cache || !proc)
		return -1;
	err = read_reports(report_fd, tids);
	CHECK(!err, "target did not report its threads: %d", err);
	if (err)
		goto cleanup;
	for (i = 0; i < NR_THREADS; i++)
		CHECK(wait_in_read(pid, tids[i]), "thread %d never blocked in read", tids[i]);
	for (stopped = 0; stopped < NR_THREADS; stopped++) {
		err = stop_thread(tids[stopped], &regs[stopped]);
		CHECK(!err, "ptrace stop of %d: %d", tids[stopped], err);
		if (err)
			goto cleanup;
	}
	err = cfi_proc_maps_load(pid, cache, &pm);
	CHECK(!err, "maps of %d: %d", pid, err);
	if (!err)
		err = cfi_proc_pack(&pm, &pool, proc);
	CHECK(!err, "pack: %d", err);
	snprintf(mem, sizeof(mem), "/proc/%d/mem", pid);
	mem_fd = open(mem, O_RDONLY | O_CLOEXEC);
	CHECK(mem_fd >= 0, "open %s", mem);
	if (err || mem_fd < 0)
		goto cleanup;
	printf("target %d: %u executable mappings, %u rows in the pool (%zu bytes), %u tables built\n",
	       pid, proc->nr, pool.nr, pool.nr * sizeof(struct cfi_row), cfi_cache_builds(cache));
	for (i = 0; i < NR_THREADS; i++)
		unwind_thread(tids[i], i, &regs[i], &pm, proc, &pool, mem_fd, sc, 8);
cleanup:
	for (i = 0; i < stopped; i++)
		ptrace(PTRACE_DETACH, tids[i], 0, 0);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	if (mem_fd >= 0)
		close(mem_fd);
	if (report_fd >= 0)
		close(report_fd);
	for (i = 0; i < 8; i++)
		if (sc[i].path[0])
			test_syms_free(&sc[i].syms);
	cfi_proc_maps_free(&pm);
	cfi_pool_free(&pool);
	cfi_cache_free(cache);
	free(proc);
	return 0;
}

/* Are all of pid's threads sleeping (state S)? Fills tids. */
static int sleeping_threads(pid_t pid, pid_t *tids, int max, bool *all_sleeping)
{
	char path[96], stat[256], *paren;
	struct dirent *de;
	int n = 0, fd;
	ssize_t len;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return -errno;
	*all_sleeping = true;
	while ((de = readdir(dir)) && n < max) {
		if (de->d_name[0] == '.')
			continue;
		tids[n] = atoi(de->d_name);
		snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tids[n]);
		fd = open(path, O_RDONLY);
		len = fd >= 0 ? read(fd, stat, sizeof(stat) - 1) : -1;
		if (fd >= 0)
			close(fd);
		stat[len > 0 ? len : 0] = '\0';
		paren = strrchr(stat, ')');
		if (!paren || paren[1] != ' ' || paren[2] != 'S')
			*all_sleeping = false;
		n++;
	}
	closedir(dir);
	return n;
}

/*
 * A program no one here wrote (argv), once it has min_threads threads and
 * all of them sleep in two polls in a row: every thread must unwind to its
 * outermost frame (stop END) with at least min_frames frames and no read
 * outside its stack.
 */
int test_unwind_real(char **argv, uint32_t min_frames, int min_threads)
{
	struct user_regs_struct regs;
	struct cfi_cache *cache = cfi_cache_new();
	struct cfi_proc *proc = calloc(1, sizeof(*proc));
	struct cfi_proc_maps pm = { 0 };
	struct cfi_pool pool = { 0 };
	pid_t tids[64], pid;
	int n = 0, i, tries, mem_fd = -1, stopped = 0, err, settled = 0;
	bool all_sleeping = false;
	char mem[64];

	if (!cache || !proc)
		return -1;
	pid = fork();
	if (pid == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	CHECK(pid > 0, "fork");
	for (tries = 0; pid > 0 && tries < 100 && settled < 2; tries++) {
		usleep(50000);
		n = sleeping_threads(pid, tids, 64, &all_sleeping);
		settled = all_sleeping && n >= min_threads ? settled + 1 : 0;
	}
	CHECK(settled == 2, "%s: %d threads (want %d), not all asleep", argv[0], n, min_threads);
	if (settled != 2)
		goto cleanup;
	for (i = 0; i < n; i++) {
		struct cfi_unwind_result res;
		uint64_t ips[MAX_FRAMES];
		struct mem_reader mr;
		struct cfi_regs r;

		err = stop_thread(tids[i], &regs);
		CHECK(!err, "stop %d: %d", tids[i], err);
		if (err)
			break;
		stopped = i + 1;
		if (!i) {	/* maps and tables once, with the first thread stopped */
			err = cfi_proc_maps_load(pid, cache, &pm) ?: cfi_proc_pack(&pm, &pool, proc);
			snprintf(mem, sizeof(mem), "/proc/%d/mem", pid);
			mem_fd = open(mem, O_RDONLY | O_CLOEXEC);
			CHECK(!err && mem_fd >= 0, "maps/tables of %s: %d", argv[0], err);
			if (err || mem_fd < 0)
				break;
		}
		r = (struct cfi_regs){ regs.rip, regs.rsp, regs.rbp };
		mr = (struct mem_reader){ mem_fd, regs.rsp, cfi_proc_stack_end(&pm, regs.rsp), 0 };
		cfi_unwind_user(&r, mr.hi, proc, pool.rows, pool.nr, mem_read, &mr, ips, MAX_FRAMES,
				&res);
		printf("%s thread %d: %u frames, stop %s, %u reads\n", argv[0], tids[i], res.nr,
		       cfi_stop_name(res.stop), res.reads);
		CHECK(res.stop == CFI_STOP_END && res.nr >= min_frames && !mr.violations,
		      "%s thread %d: %u frames, stop %s, %u reads outside the stack", argv[0],
		      tids[i], res.nr, cfi_stop_name(res.stop), mr.violations);
	}
	printf("%s: %d threads, %u executable mappings, %u rows\n", argv[0], n, proc->nr, pool.nr);
cleanup:
	for (i = 0; i < stopped; i++)
		ptrace(PTRACE_DETACH, tids[i], 0, 0);
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	if (mem_fd >= 0)
		close(mem_fd);
	cfi_proc_maps_free(&pm);
	cfi_pool_free(&pool);
	cfi_cache_free(cache);
	free(proc);
	return 0;
}
