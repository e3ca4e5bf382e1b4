// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The spec of docs/UNWIND.md in the kernel: load cfi_target's tables into
 * the cfi_rows/cfi_procs maps with record's own loader (src/unwind/
 * unwind_loader.c: rows written through the mmapped array), let the shipped
 * BPF walker (walk_user_cfi of bpf/stacks.bpf.h with bpf/cfi_step.h and
 * bpf/unwind_cfi.bpf.h, called from cfi_walk.bpf.c, which only attaches it
 * to sys_enter) walk each thread when its read() restarts, and require
 * exactly the reference walker's frames and stop reason. Prints cold and
 * warm costs.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cfi_table.h"
#include "cfi_walk_test.h"
#include "symbolize.h"
#include "unwind_loader.h"
#include "test_cfi.h"
#include "cfi_walk.skel.h"

#define ROUNDS	5

static int print_warnings(enum libbpf_print_level level, const char *fmt, va_list args)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, args) : 0;
}

struct reference {
	uint64_t ips[CFI_WALK_MAX_FRAMES];
	struct cfi_unwind_result res;
};

/* As record does: the process's maps, then the loader (rows, then the
 * process entry that points at them). */
static int load_maps(struct cfi_walk_bpf *skel, pid_t pid, struct unwind_loader **loader)
{
	struct proc_maps *maps = proc_maps_read(pid);
	int err;

	*loader = unwind_loader_new(skel->maps.cfi_rows, skel->maps.cfi_procs);
	if (!maps || !*loader) {
		proc_maps_free(maps);
		return -ENOMEM;
	}
	err = unwind_loader_load(*loader, maps);
	proc_maps_free(maps);
	return err;
}

static void compare(pid_t tid, const struct cfi_walk_result *r, const struct reference *ref,
		    int round)
{
	bool same = r->nr == ref->res.nr && r->stop == ref->res.stop &&
		    !memcmp(r->ips, ref->ips, r->nr * sizeof(r->ips[0]));

	CHECK(same, "thread %d round %d: BPF %u frames (%s), reference %u frames (%s)", tid, round,
	      r->nr, cfi_stop_name(r->stop), ref->res.nr, cfi_stop_name(ref->res.stop));
	printf("thread %d round %d: %u frames, stop %s, cold %llu ns, warm %llu ns%s\n",
	       tid, round, r->nr, cfi_stop_name(r->stop),
	       (unsigned long long)r->cold_ns, (unsigned long long)r->warm_ns,
	       same ? "" : " DIFFERENT");
}

int test_bpf_walk(const char *target)
{
	struct user_regs_struct regs[NR_THREADS];
	struct reference ref[NR_THREADS];
	struct cfi_cache *cache = cfi_cache_new();
	struct cfi_proc *proc = calloc(1, sizeof(*proc));
	struct cfi_proc_maps pm = { 0 };
	struct cfi_pool pool = { 0 };
	struct cfi_walk_bpf *skel = NULL;
	struct unwind_loader *loader = NULL;
	pid_t tids[NR_THREADS], pid;
	int report_fd = -1, mem_fd = -1, stopped = 0, i, round, err;
	char mem[64];

	libbpf_set_print(print_warnings);
	pid = spawn_target(target, &report_fd);
	CHECK(pid > 0 && cache && proc, "spawn");
	if (pid <= 0 || !cache || !proc)
		return -1;
	err = read_reports(report_fd, tids);
	CHECK(!err, "target did not report: %d", err);
	if (err)
		goto cleanup;
	for (i = 0; i < NR_THREADS; i++)
		CHECK(wait_in_read(pid, tids[i]), "thread %d never blocked", tids[i]);
	for (stopped = 0; stopped < NR_THREADS; stopped++) {
		err = stop_thread(tids[stopped], &regs[stopped]);
		CHECK(!err, "ptrace stop: %d", err);
		if (err)
			goto cleanup;
	}
	err = cfi_proc_maps_load(pid, cache, &pm) ?: cfi_proc_pack(&pm, &pool, proc);
	snprintf(mem, sizeof(mem), "/proc/%d/mem", pid);
	mem_fd = open(mem, O_RDONLY | O_CLOEXEC);
	CHECK(!err && mem_fd >= 0, "maps/tables: %d", err);
	if (err || mem_fd < 0)
		goto cleanup;
	for (i = 0; i < NR_THREADS; i++) {
		struct cfi_regs r = { regs[i].rip, regs[i].rsp, regs[i].rbp };
		struct mem_reader mr = { mem_fd, regs[i].rsp, cfi_proc_stack_end(&pm, regs[i].rsp), 0 };

		cfi_unwind_user(&r, mr.hi, proc, pool.rows, pool.nr, mem_read, &mr, ref[i].ips,
				CFI_WALK_MAX_FRAMES, &ref[i].res);
		CHECK(ref[i].res.stop == CFI_STOP_END, "reference walk of %d: %s", tids[i],
		      cfi_stop_name(ref[i].res.stop));
	}

	skel = cfi_walk_bpf__open();
	CHECK(skel, "open BPF object");
	if (!skel)
		goto cleanup;
	skel->rodata->target_tgid = (__u32)pid;
	skel->rodata->unwind_cfi = true;
	skel->rodata->find_stack_vma = true;	/* the stack's end as record finds it */
	bpf_map__set_max_entries(skel->maps.cfi_rows, pool.nr);
	err = cfi_walk_bpf__load(skel) ?: load_maps(skel, pid, &loader) ?:
	      cfi_walk_bpf__attach(skel);
	CHECK(!err, "BPF load/maps/attach: %d (needs root and BPF)", err);
	if (err)
		goto cleanup;
	printf("cfi_rows: %u rows (%zu bytes), %u executable mappings\n", pool.nr,
	       pool.nr * sizeof(struct cfi_row), proc->nr);

	/* Release the threads: read() restarts, sys_enter fires, BPF walks. */
	for (round = 0; round < ROUNDS; round++) {
		for (i = 0; i < NR_THREADS; i++) {
			if (round) {
				err = stop_thread(tids[i], &regs[i]);
				CHECK(!err, "ptrace stop: %d", err);
			}
			ptrace(PTRACE_DETACH, tids[i], 0, 0);
		}
		stopped = 0;
		for (i = 0; i < NR_THREADS; i++) {
			struct cfi_walk_result r;
			__u32 tid = (__u32)tids[i];
			int tries;

			CHECK(wait_in_read(pid, tids[i]), "thread %d did not block again", tids[i]);
			for (tries = 0; tries < 100; tries++) {
				err = bpf_map_lookup_and_delete_elem(bpf_map__fd(skel->maps.results),
								     &tid, &r);
				if (!err)
					break;
				usleep(10000);
			}
			CHECK(!err, "thread %d round %d: no BPF walk", tids[i], round);
			if (!err)
				compare(tids[i], &r, &ref[i], round);
		}
	}
cleanup:
	for (i = 0; i < stopped; i++)
		ptrace(PTRACE_DETACH, tids[i], 0, 0);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	unwind_loader_free(loader);
	cfi_walk_bpf__destroy(skel);
	if (mem_fd >= 0)
		close(mem_fd);
	if (report_fd >= 0)
		close(report_fd);
	cfi_proc_maps_free(&pm);
	cfi_pool_free(&pool);
	cfi_cache_free(cache);
	free(proc);
	return 0;
}
