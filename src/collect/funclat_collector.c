// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "bpf_env.h"
#include "cfi_table.h"
#include "funclat.skel.h"
#include "funclat_collector.h"
#include "offcpu_collector.h"
#include "unwind_loader.h"
#include "util.h"

#define CALIB_TARGET FUNCLAT_MAX_TARGETS

/* Not in the uapi headers libbpf 1.1 and Debian 12 ship: kernel 6.13. */
#define ATTACH_UPROBE_SESSION 57
#define CMD_LINK_CREATE 28

/* BPF_LINK_CREATE's attr for uprobe_multi, as the kernel lays it out. */
struct link_create_uprobe_multi {
	__u32 prog_fd;
	__u32 target_fd;
	__u32 attach_type;
	__u32 flags;
	__u64 path;
	__u64 offsets;
	__u64 ref_ctr_offsets;
	__u64 cookies;
	__u32 cnt;
	__u32 multi_flags;
	__u32 pid;
	__u32 pad;
};

struct funclat_collector {
	struct funclat_bpf *skel;
	struct ring_buffer *notify_rb;
	funclat_notify_fn on_notify;
	void *ctx;
	struct bpf_link **links;
	size_t nr_links;
	int *session_fds;	/* uprobe session links, by raw syscall */
	size_t nr_session_fds;
	bool syscalls;
	bool session;
	bool cfi;
};

static int on_ring(void *ctx, void *data, size_t size)
{
	struct funclat_collector *c = ctx;

	if (size >= sizeof(struct proc_notify) && c->on_notify)
		c->on_notify(c->ctx, data);
	return 0;
}

static void set_rodata(struct funclat_bpf *skel, const struct funclat_opts *o)
{
	BPF_COMMON_RODATA(skel->rodata, o->target->filter_pids, o->target->min_ns, 0);
	skel->rodata->follow_forks = o->target->follow_forks;
	skel->rodata->capture_stacks = !o->no_stacks;
	skel->data->sample_every = o->sample_every > 1 ? o->sample_every : 1;
}

#define DEFAULT_UNWIND_ROWS (1u << 20)	/* 8 MiB of kernel memory */

/* A helper usable from both kinds of program that walk stacks: uprobes
 * (kprobe type) and the raw syscall tracepoints. */
static bool has_helper(int func_id)
{
	return libbpf_probe_bpf_helper(BPF_PROG_TYPE_KPROBE, func_id, NULL) == 1 &&
	       bpf_env_has_helper(func_id);
}

/* As record chooses: CFI needs bpf_loop; exact stack bounds need
 * bpf_find_vma and task storage, else frame pointers and CFI reads stay
 * within 8 MiB of the stack pointer. */
static void choose_unwinder(struct funclat_collector *c, const struct funclat_opts *o)
{
	struct funclat_bpf *skel = c->skel;
	bool bounds = bpf_env_has_task_storage() && has_helper(BPF_FUNC_task_storage_get) &&
		      has_helper(BPF_FUNC_find_vma);

	c->cfi = !o->unwind_fp && !o->no_stacks && has_helper(BPF_FUNC_loop);
	skel->rodata->unwind_cfi = c->cfi;
	skel->rodata->find_stack_vma = bounds && !o->no_stacks;
	bpf_map__set_max_entries(skel->maps.cfi_rows,
				 c->cfi ? (o->unwind_rows ? o->unwind_rows : DEFAULT_UNWIND_ROWS) : 1);
	if (!bpf_env_has_task_storage())
		bpf_map__set_autocreate(skel->maps.stack_bounds_map, false);
}

bool funclat_unwinds_cfi(const struct funclat_collector *c)
{
	return c->cfi;
}

struct bpf_map *funclat_map(const struct funclat_collector *c, const char *name)
{
	return bpf_object__find_map_by_name(c->skel->obj, name);
}

/* Uprobe sessions (one program for entry and return, the return probe
 * only for calls whose entry asks for it): the kfunc and the attach type
 * in the kernel's BTF. */
static bool kernel_has_uprobe_session(void)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	const struct btf_type *t;
	const struct btf_enum *e;
	bool found = false;
	int id, i;

	if (!vmlinux)
		return false;
	id = btf__find_by_name_kind(vmlinux, "bpf_attach_type", BTF_KIND_ENUM);
	if (id > 0 && btf__find_by_name_kind(vmlinux, "bpf_session_is_return", BTF_KIND_FUNC) > 0) {
		t = btf__type_by_id(vmlinux, id);
		e = btf_enum(t);
		for (i = 0; i < btf_vlen(t) && !found; i++, e++)
			found = !strcmp(btf__name_by_offset(vmlinux, e->name_off),
					"BPF_TRACE_UPROBE_SESSION") && e->val == ATTACH_UPROBE_SESSION;
	}
	btf__free(vmlinux);
	return found;
}

static void choose_programs(struct funclat_collector *c, const struct funclat_opts *o)
{
	struct funclat_bpf *skel = c->skel;

	c->session = !o->no_session && kernel_has_uprobe_session();
	bpf_program__set_autoload(skel->progs.funclat_entry, !c->session);
	bpf_program__set_autoload(skel->progs.funclat_return, !c->session);
	bpf_program__set_autoload(skel->progs.funclat_session, c->session);
	if (c->session)
		bpf_program__set_expected_attach_type(skel->progs.funclat_session,
						      ATTACH_UPROBE_SESSION);
	bpf_program__set_autoload(skel->progs.funclat_sys_enter, o->syscalls);
	bpf_program__set_autoload(skel->progs.funclat_sys_exit, o->syscalls);
}

bool funclat_uses_session(const struct funclat_collector *c)
{
	return c->session;
}

int funclat_open(struct funclat_collector **out, const struct funclat_opts *o,
		 funclat_notify_fn on_notify, void *ctx)
{
	struct funclat_collector *c;
	int err;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->on_notify = on_notify;
	c->ctx = ctx;
	c->syscalls = o->syscalls;
	c->skel = funclat_bpf__open();
	if (!c->skel) {
		err = -errno;
		err_msg("cannot open the funclat BPF object: %s", strerror(-err));
		goto fail;
	}
	set_rodata(c->skel, o);
	choose_programs(c, o);
	bpf_map__set_max_entries(c->skel->maps.stacks, o->stack_entries ? o->stack_entries : 16384);
	if (o->stack_hist_entries)
		bpf_map__set_max_entries(c->skel->maps.stack_hist, o->stack_hist_entries);
	choose_unwinder(c, o);
	err = funclat_bpf__load(c->skel);
	if (err) {
		bpf_env_explain_load_error("funclat", err);
		goto fail;
	}
	c->notify_rb = ring_buffer__new(bpf_map__fd(c->skel->maps.proc_notifies), on_ring, c, NULL);
	if (!c->notify_rb) {
		err = -errno;
		err_msg("cannot open the notification ring buffer: %s", strerror(-err));
		goto fail;
	}
	/* Process bookkeeping: fork, exec and exit. */
	err = -ENOENT;
	c->skel->links.funclat_fork = bpf_program__attach(c->skel->progs.funclat_fork);
	c->skel->links.funclat_exec = bpf_program__attach(c->skel->progs.funclat_exec);
	c->skel->links.funclat_exit = bpf_program__attach(c->skel->progs.funclat_exit);
	if (!c->skel->links.funclat_fork || !c->skel->links.funclat_exec ||
	    !c->skel->links.funclat_exit) {
		err = -errno;
		err_msg("cannot attach to the process tracepoints: %s", strerror(-err));
		goto fail;
	}
	*out = c;
	return 0;
fail:
	funclat_destroy(c);
	return err;
}

static int push_link(struct funclat_collector *c, struct bpf_link *link)
{
	void *p = realloc(c->links, (c->nr_links + 1) * sizeof(*c->links));

	if (!p) {
		bpf_link__destroy(link);
		return -ENOMEM;
	}
	c->links = p;
	c->links[c->nr_links++] = link;
	return 0;
}

/* One uprobe session link: entry and return of one function. */
static int attach_session(struct funclat_collector *c, __u32 target, int pid, const char *path,
			  uint64_t offset, int *fd_out)
{
	__u64 offsets[1] = { offset }, cookies[1] = { target };
	struct link_create_uprobe_multi attr = {
		.prog_fd = bpf_program__fd(c->skel->progs.funclat_session),
		.attach_type = ATTACH_UPROBE_SESSION,
		.path = (__u64)(uintptr_t)path,
		.offsets = (__u64)(uintptr_t)offsets,
		.cookies = (__u64)(uintptr_t)cookies,
		.cnt = 1,
		.pid = pid > 0 ? pid : 0,
	};
	int fd = syscall(__NR_bpf, CMD_LINK_CREATE, &attr, sizeof(attr));
	int *p;

	if (fd < 0)
		return -errno;
	if (fd_out) {
		*fd_out = fd;
		return 0;
	}
	p = realloc(c->session_fds, (c->nr_session_fds + 1) * sizeof(*p));
	if (!p) {
		close(fd);
		return -ENOMEM;
	}
	c->session_fds = p;
	c->session_fds[c->nr_session_fds++] = fd;
	return 0;
}

static int attach_one(struct funclat_collector *c, __u32 target, int pid, const char *path,
		      uint64_t offset, bool ret, struct bpf_link **out)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo, .retprobe = ret, .bpf_cookie = target);
	struct bpf_program *prog = ret ? c->skel->progs.funclat_return : c->skel->progs.funclat_entry;
	struct bpf_link *link;

	link = bpf_program__attach_uprobe_opts(prog, pid, path, offset, &uo);
	if (!link)
		return -errno;
	if (out) {
		*out = link;
		return 0;
	}
	return push_link(c, link);
}

int funclat_attach_uprobe(struct funclat_collector *c, __u32 target, int pid,
			  const char *path, uint64_t offset)
{
	int err;

	if (target >= FUNCLAT_MAX_TARGETS)
		return -E2BIG;
	if (c->session)
		return attach_session(c, target, pid, path, offset, NULL);
	/* The return probe first: an entry without its return would leave a
	 * frame on the thread's stack until the next return cleans it. */
	err = attach_one(c, target, pid, path, offset, true, NULL);
	if (!err)
		err = attach_one(c, target, pid, path, offset, false, NULL);
	return err;
}

int funclat_add_syscall(struct funclat_collector *c, __u32 target, int nr)
{
	__u32 key = nr, val = target + 1;

	if (nr < 0 || nr >= FUNCLAT_MAX_SYSCALLS || target >= FUNCLAT_MAX_TARGETS)
		return -EINVAL;
	return bpf_map__update_elem(c->skel->maps.syscall_targets, &key, sizeof(key), &val,
				    sizeof(val), BPF_ANY);
}

int funclat_attach_syscalls(struct funclat_collector *c)
{
	struct funclat_bpf *skel = c->skel;

	if (!c->syscalls)
		return 0;
	skel->links.funclat_sys_exit = bpf_program__attach(skel->progs.funclat_sys_exit);
	if (skel->links.funclat_sys_exit)
		skel->links.funclat_sys_enter = bpf_program__attach(skel->progs.funclat_sys_enter);
	if (!skel->links.funclat_sys_enter) {
		err_msg("cannot attach to the raw sys_enter/sys_exit tracepoints: %s",
			strerror(errno));
		return -errno;
	}
	return 0;
}

int funclat_trace_tgid(struct funclat_collector *c, int tgid)
{
	__u32 key = tgid;
	__u8 one = 1;

	return bpf_map__update_elem(c->skel->maps.traced_tgids, &key, sizeof(key), &one,
				    sizeof(one), BPF_ANY);
}

/* The calibration target: never inlined, never folded away. */
__attribute__((noinline, used)) int funclat_calib_dummy(int x)
{
	__asm__ volatile("" : "+r"(x) : : "memory");
	return x + 1;
}

/* Our own text mapping of addr: path and file offset. */
static int self_file_offset(uint64_t addr, char *path, size_t len, uint64_t *off)
{
	unsigned long long start, end, pgoff;
	char line[4096], perms[8], file[4096];
	FILE *f = fopen("/proc/self/maps", "re");
	int err = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		file[0] = 0;
		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %4095s", &start, &end, perms, &pgoff,
			   file) < 4)
			continue;
		if (addr < start || addr >= end || file[0] != '/')
			continue;
		snprintf(path, len, "%s", file);
		*off = addr - start + pgoff;
		err = 0;
		break;
	}
	fclose(f);
	return err;
}

static double time_calls(int (*volatile fn)(int), unsigned int n)
{
	uint64_t t0 = now_ns();
	unsigned int i;
	int x = 0;

	for (i = 0; i < n; i++)
		x = fn(x);
	return (double)(now_ns() - t0) + (x < 0 ? 1 : 0);
}

int funclat_measure_cost(struct funclat_collector *c, unsigned int n, double *per_call_ns)
{
	struct bpf_link *ret_link = NULL, *entry_link = NULL;
	int session_fd = -1;
	double plain, probed, best_plain = 1e300, best_probed = 1e300;
	char path[4096];
	uint64_t off = 0;
	int err, round;

	err = self_file_offset((uint64_t)(uintptr_t)funclat_calib_dummy, path, sizeof(path), &off);
	if (err)
		return err;
	for (round = 0; round < 3; round++) {
		plain = time_calls(funclat_calib_dummy, n);
		if (plain < best_plain)
			best_plain = plain;
	}
	if (c->session)
		err = attach_session(c, CALIB_TARGET, getpid(), path, off, &session_fd);
	else
		err = attach_one(c, CALIB_TARGET, getpid(), path, off, true, &ret_link);
	if (!err && !c->session)
		err = attach_one(c, CALIB_TARGET, getpid(), path, off, false, &entry_link);
	if (!err) {
		/* Best of three: the cost of a hit, not of the VM's noise. */
		for (round = 0; round < 3; round++) {
			probed = time_calls(funclat_calib_dummy, n);
			if (probed < best_probed)
				best_probed = probed;
		}
	}
	bpf_link__destroy(entry_link);
	bpf_link__destroy(ret_link);
	if (session_fd >= 0)
		close(session_fd);
	if (err)
		return err;
	*per_call_ns = (best_probed - best_plain) / n;
	return 0;
}

double funclat_empty_call_ns(struct funclat_collector *c)
{
	__u64 counts[HIST_NR_BUCKETS], sums[HIST_NR_BUCKETS], max_ns, total = 0, cum = 0;
	unsigned int i;

	if (funclat_read_hist(c, CALIB_TARGET, counts, sums, &max_ns))
		return -1;
	for (i = 0; i < HIST_NR_BUCKETS; i++)
		total += counts[i];
	/* The median bucket's mean: what an empty function measures. */
	for (i = 0; i < HIST_NR_BUCKETS && total; i++) {
		cum += counts[i];
		if (cum * 2 >= total)
			return counts[i] ? (double)sums[i] / (double)counts[i] : -1;
	}
	return -1;
}

void funclat_set_sample(struct funclat_collector *c, uint32_t every)
{
	c->skel->data->sample_every = every > 1 ? every : 1;
}

uint32_t funclat_sample(const struct funclat_collector *c)
{
	return c->skel->data->sample_every;
}

int funclat_poll(struct funclat_collector *c, int timeout_ms)
{
	int n = ring_buffer__poll(c->notify_rb, timeout_ms);

	return n == -EINTR ? 0 : n;
}

void funclat_detach(struct funclat_collector *c)
{
	size_t i;

	for (i = 0; i < c->nr_links; i++)
		bpf_link__destroy(c->links[i]);
	c->nr_links = 0;
	for (i = 0; i < c->nr_session_fds; i++)
		close(c->session_fds[i]);
	c->nr_session_fds = 0;
	bpf_link__destroy(c->skel->links.funclat_sys_enter);
	bpf_link__destroy(c->skel->links.funclat_sys_exit);
	c->skel->links.funclat_sys_enter = NULL;
	c->skel->links.funclat_sys_exit = NULL;
	if (c->notify_rb)
		ring_buffer__consume(c->notify_rb);
}

uint64_t funclat_entries(struct funclat_collector *c, __u32 target)
{
	struct funclat_target_stats st;
	uint64_t sum = 0;
	__u32 t;

	for (t = 0; t < FUNCLAT_MAX_TARGETS; t++) {
		if (target != FUNCLAT_MAX_TARGETS && t != target)
			continue;
		if (!bpf_map__lookup_elem(c->skel->maps.target_stats, &t, sizeof(t), &st,
					  sizeof(st), 0))
			sum += st.entries;
	}
	return sum;
}

int funclat_read_hist(struct funclat_collector *c, __u32 target, __u64 counts[HIST_NR_BUCKETS],
		      __u64 sums[HIST_NR_BUCKETS], __u64 *max_ns)
{
	int fd = bpf_map__fd(c->skel->maps.target_hist);
	struct funclat_target_stats st = {};
	struct funclat_bucket b;
	__u32 i, key;

	if (target > CALIB_TARGET)
		return -EINVAL;
	for (i = 0; i < HIST_NR_BUCKETS; i++) {
		key = target * HIST_NR_BUCKETS + i;
		if (bpf_map_lookup_elem(fd, &key, &b))
			return -errno;
		counts[i] = b.count;
		sums[i] = b.total_ns;
	}
	bpf_map__lookup_elem(c->skel->maps.target_stats, &target, sizeof(target), &st,
			     sizeof(st), 0);
	*max_ns = st.max_ns;
	return 0;
}

int funclat_for_each_stack(struct funclat_collector *c, funclat_stack_fn fn, void *ctx)
{
	int fd = bpf_map__fd(c->skel->maps.stack_hist), err;
	struct funclat_stack_key key, next;
	struct funclat_stack_val val;
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &val))
			continue;
		err = fn(ctx, &key, &val);
		if (err)
			return err;
	}
	return 0;
}

int funclat_read_stack(struct funclat_collector *c, __u64 id, struct stack_trace *st)
{
	if (bpf_map_lookup_elem(bpf_map__fd(c->skel->maps.stacks), &id, st))
		return -errno;
	if (st->nr > MAX_STACK_DEPTH)
		st->nr = MAX_STACK_DEPTH;
	return 0;
}

void funclat_read_counters(struct funclat_collector *c, __u64 out[FCNT_NR])
{
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(c->skel->maps.counters);
	__u64 *vals;
	__u32 id;
	int i;

	memset(out, 0, sizeof(__u64) * FCNT_NR);
	if (ncpu <= 0)
		return;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return;
	for (id = 0; id < FCNT_NR; id++) {
		if (bpf_map_lookup_elem(fd, &id, vals))
			continue;
		for (i = 0; i < ncpu; i++)
			out[id] += vals[i];
	}
	free(vals);
}

/* The same names record gives these counters, so reports read alike. */
int funclat_drain_unwind_counters(struct funclat_collector *c, struct recording *rec)
{
	return collector_drain_counters(bpf_map__fd(c->skel->maps.unwind_counters), UNW_NR, rec,
					unwind_counter_name);
}

void funclat_destroy(struct funclat_collector *c)
{
	if (!c)
		return;
	if (c->skel)
		funclat_detach(c);
	free(c->links);
	free(c->session_fds);
	ring_buffer__free(c->notify_rb);
	funclat_bpf__destroy(c->skel);
	free(c);
}
