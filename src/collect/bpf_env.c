// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "bpf_env.h"
#include "util.h"

#define VMLINUX_BTF "/sys/kernel/btf/vmlinux"
#define TRACEFS "/sys/kernel/tracing"

static int libbpf_verbosity;

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && libbpf_verbosity < 2)
		return 0;
	if (level == LIBBPF_INFO && libbpf_verbosity < 1)
		return 0;
	if (level == LIBBPF_WARN && libbpf_verbosity < 1)
		return 0;	/* failures are explained in one line by the caller */
	return vfprintf(stderr, fmt, ap);
}

void bpf_env_init(int verbose)
{
	libbpf_verbosity = verbose;
	libbpf_set_print(print_libbpf);
}

static bool has_cap(int cap)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};

	if (syscall(SYS_capget, &hdr, data))
		return false;
	return data[cap / 32].effective & (1u << (cap % 32));
}

int bpf_env_check(void)
{
	if (geteuid() != 0 && !(has_cap(CAP_BPF) && has_cap(CAP_PERFMON)) &&
	    !has_cap(CAP_SYS_ADMIN)) {
		err_msg("recording needs root (or CAP_BPF and CAP_PERFMON): run it with sudo");
		return -EPERM;
	}
	if (access(VMLINUX_BTF, R_OK)) {
		err_msg("this kernel has no BTF (%s is missing): waitprof needs a kernel built "
			"with CONFIG_DEBUG_INFO_BTF=y", VMLINUX_BTF);
		return -ENOENT;
	}
	return 0;
}

bool bpf_env_has_tp_btf(const char *tracepoint)
{
	static struct btf *vmlinux;
	char name[128];

	if (!vmlinux)
		vmlinux = btf__load_vmlinux_btf();
	if (!vmlinux)
		return false;
	snprintf(name, sizeof(name), "btf_trace_%s", tracepoint);
	return btf__find_by_name_kind(vmlinux, name, BTF_KIND_TYPEDEF) > 0;
}

/* Whether the kernel's struct has the member, by its BTF. */
bool bpf_env_kernel_has_member(const char *type, const char *member)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	const struct btf_member *m;
	const struct btf_type *t;
	bool found = false;
	int id, i;

	if (!vmlinux)
		return false;
	id = btf__find_by_name_kind(vmlinux, type, BTF_KIND_STRUCT);
	t = id > 0 ? btf__type_by_id(vmlinux, id) : NULL;
	for (i = 0, m = t ? btf_members(t) : NULL; t && i < btf_vlen(t); i++, m++)
		if (!strcmp(btf__name_by_offset(vmlinux, m->name_off), member))
			found = true;
	btf__free(vmlinux);
	return found;
}

bool bpf_env_has_task_storage(void)
{
	return libbpf_probe_bpf_map_type(BPF_MAP_TYPE_TASK_STORAGE, NULL) == 1;
}

bool bpf_env_has_helper(int func_id)
{
	return libbpf_probe_bpf_helper(BPF_PROG_TYPE_RAW_TRACEPOINT, func_id, NULL) == 1;
}

static int read_event_id(const char *root, const char *category, const char *event)
{
	char path[256];
	int id = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "%s/events/%s/%s/id", root, category, event);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (fscanf(f, "%d", &id) != 1)
		id = -EINVAL;
	fclose(f);
	return id;
}

static int read_event_ids(const char *root, const char *category, const char *const *events,
			  int *ids, int n)
{
	int i, found = 0;

	for (i = 0; i < n; i++) {
		ids[i] = read_event_id(root, category, events[i]);
		found += ids[i] >= 0;
	}
	return found;
}

int bpf_env_tracepoint_ids(const char *category, const char *const *events, int *ids, int n)
{
	static const char *const roots[] = { TRACEFS, "/sys/kernel/debug/tracing" };
	size_t r;
	int i, found, err;

	for (r = 0; r < ARRAY_LEN(roots); r++) {
		/* An events directory means tracefs is there: what it lacks,
		 * the kernel lacks. */
		found = read_event_ids(roots[r], category, events, ids, n);
		if (found || access(r ? "/sys/kernel/debug/tracing/events" :
				    TRACEFS "/events", F_OK) == 0)
			return found;
	}
	if (mount("nodev", TRACEFS, "tracefs", 0, NULL)) {
		err = -errno;
		for (i = 0; i < n; i++)
			ids[i] = err;
		return 0;
	}
	found = read_event_ids(TRACEFS, category, events, ids, n);
	umount2(TRACEFS, MNT_DETACH);
	return found;
}

void bpf_env_explain_load_error(const char *what, int err)
{
	if (err == -EPERM || err == -EACCES)
		err_msg("the kernel refused to load the %s BPF programs (%s): run as root, "
			"and check kernel.unprivileged_bpf_disabled and lockdown", what,
			strerror(-err));
	else
		err_msg("cannot load the %s BPF programs: %s (run with -v for the verifier log)",
			what, strerror(-err));
}
