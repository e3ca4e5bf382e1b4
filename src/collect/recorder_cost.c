// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The recorder's own cost (recorder_cost.h). BPF statistics are turned on
 * with BPF_ENABLE_STATS rather than by writing kernel.bpf_stats_enabled:
 * the kernel keeps them on while our fd is open and turns them off when it
 * closes, so a recorder killed by SIGKILL cannot leave them on (they cost
 * two clock reads per program run, every run, system-wide), and the sysctl
 * is never changed.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "recorder_cost.h"
#include "util.h"

#define MAX_COST_PROGS 64

struct prog_stats {
	char name[64];		/* the full name: the kernel keeps 15 bytes */
	int fd;
	__u64 start_cnt, start_ns, end_cnt, end_ns;
};

/* System-wide IPI counts from /proc/interrupts: every process's, not ours. */
struct ipi_counts {
	__u64 tlb, calls;
	bool found;
};

struct recorder_cost {
	int stats_fd;			/* BPF_ENABLE_STATS, or -1 */
	bool stats_enabled;		/* ... for this recording */
	bool stats_were_on;		/* kernel.bpf_stats_enabled was 1 */
	struct prog_stats progs[MAX_COST_PROGS];
	int nr_progs;
	struct rusage start_ru, stop_ru;
	struct ipi_counts start_ipi, stop_ipi;
};

static bool sysctl_stats_on(void)
{
	FILE *f = fopen("/proc/sys/kernel/bpf_stats_enabled", "re");
	int v = 0;

	if (!f)
		return false;
	if (fscanf(f, "%d", &v) != 1)
		v = 0;
	fclose(f);
	return v != 0;
}

struct recorder_cost *recorder_cost_new(bool enable_bpf_stats)
{
	struct recorder_cost *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->stats_fd = -1;
	c->stats_were_on = sysctl_stats_on();
	if (enable_bpf_stats && !c->stats_were_on) {
		c->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
		c->stats_enabled = c->stats_fd >= 0;
		if (c->stats_fd < 0)
			err_msg("warning: cannot turn BPF statistics on: %s (BPF run times not measured)",
				strerror(errno));
	}
	return c;
}

void recorder_cost_add_object(struct recorder_cost *c, struct bpf_object *obj)
{
	struct bpf_program *prog;

	if (!c || !obj)
		return;
	bpf_object__for_each_program(prog, obj) {
		struct prog_stats *p;
		int fd = bpf_program__fd(prog);

		if (fd < 0 || c->nr_progs == MAX_COST_PROGS)
			continue;
		p = &c->progs[c->nr_progs++];
		p->fd = fd;
		snprintf(p->name, sizeof(p->name), "%s", bpf_program__name(prog));
	}
}

static void read_prog(int fd, __u64 *cnt, __u64 *ns)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	*cnt = *ns = 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return;
	*cnt = info.run_cnt;
	*ns = info.run_time_ns;
}

/* Sums the per-CPU columns of a "TLB:" or "CAL:" line. */
static __u64 sum_columns(const char *s)
{
	__u64 sum = 0;
	char *end;

	for (;;) {
		unsigned long long v = strtoull(s, &end, 10);

		if (end == s)
			return sum;
		sum += v;
		s = end;
	}
}

static void read_ipis(struct ipi_counts *ipi)
{
	char line[4096], *p;
	FILE *f = fopen("/proc/interrupts", "re");

	memset(ipi, 0, sizeof(*ipi));
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		p = line + strspn(line, " ");
		if (!strncmp(p, "TLB:", 4)) {
			ipi->tlb = sum_columns(p + 4);
			ipi->found = true;
		} else if (!strncmp(p, "CAL:", 4)) {
			ipi->calls = sum_columns(p + 4);
		}
	}
	fclose(f);
}

void recorder_cost_start(struct recorder_cost *c)
{
	int i;

	if (!c)
		return;
	getrusage(RUSAGE_SELF, &c->start_ru);
	read_ipis(&c->start_ipi);
	for (i = 0; i < c->nr_progs; i++)
		read_prog(c->progs[i].fd, &c->progs[i].start_cnt, &c->progs[i].start_ns);
}

void recorder_cost_stop(struct recorder_cost *c)
{
	int i;

	if (!c)
		return;
	getrusage(RUSAGE_SELF, &c->stop_ru);
	read_ipis(&c->stop_ipi);
	for (i = 0; i < c->nr_progs; i++)
		read_prog(c->progs[i].fd, &c->progs[i].end_cnt, &c->progs[i].end_ns);
	/* Off again now: they tax every BPF program on the system. */
	if (c->stats_fd >= 0)
		close(c->stats_fd);
	c->stats_fd = -1;
}

static __u64 tv_us(const struct timeval *tv)
{
	return (__u64)tv->tv_sec * 1000000 + (__u64)tv->tv_usec;
}

static __u64 cpu_us(const struct rusage *ru)
{
	return tv_us(&ru->ru_utime) + tv_us(&ru->ru_stime);
}

static int write_progs(const struct recorder_cost *c, struct recording *rec)
{
	char name[96];
	int i, err = 0;

	for (i = 0; i < c->nr_progs && !err; i++) {
		const struct prog_stats *p = &c->progs[i];

		snprintf(name, sizeof(name), BPF_RUN_COUNT_PREFIX "%s", p->name);
		err = rec_add_counter(rec, name, p->end_cnt - p->start_cnt);
		snprintf(name, sizeof(name), BPF_RUN_NS_PREFIX "%s", p->name);
		if (!err)
			err = rec_add_counter(rec, name, p->end_ns - p->start_ns);
	}
	return err;
}

static const char *stats_state(const struct recorder_cost *c)
{
	if (c->stats_were_on)
		return "already on";
	return c->stats_enabled ? "enabled by --bpf-stats" : "off";
}

int recorder_cost_write(const struct recorder_cost *c, struct recording *rec)
{
	struct rusage now;
	int err;

	if (!c)
		return 0;
	getrusage(RUSAGE_SELF, &now);
	err = rec_add_counter(rec, "recorder_cpu_user_us", tv_us(&now.ru_utime));
	if (!err)
		err = rec_add_counter(rec, "recorder_cpu_sys_us", tv_us(&now.ru_stime));
	if (!err)
		err = rec_add_counter(rec, "recorder_cpu_tracing_us",
				      cpu_us(&c->stop_ru) - cpu_us(&c->start_ru));
	if (!err)
		err = rec_add_counter(rec, "recorder_max_rss_kb", (__u64)now.ru_maxrss);
	if (!err && c->start_ipi.found && c->stop_ipi.found) {
		err = rec_add_counter(rec, "system_ipi_tlb_shootdowns",
				      c->stop_ipi.tlb - c->start_ipi.tlb);
		if (!err)
			err = rec_add_counter(rec, "system_ipi_function_calls",
					      c->stop_ipi.calls - c->start_ipi.calls);
	}
	if (!err)
		err = write_progs(c, rec);
	if (!err)
		err = rec_set_meta(rec, "bpf_stats", stats_state(c));
	return err;
}

void recorder_cost_free(struct recorder_cost *c)
{
	if (!c)
		return;
	if (c->stats_fd >= 0)
		close(c->stats_fd);
	free(c);
}
