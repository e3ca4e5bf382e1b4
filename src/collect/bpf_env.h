/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What the running kernel offers, probed before anything is loaded. */
#ifndef WAITPROF_BPF_ENV_H
#define WAITPROF_BPF_ENV_H

#include <stdbool.h>
#include <unistd.h>

/* Routes libbpf's messages through waitprof's verbosity. */
void bpf_env_init(int verbose);
/* 0 when BPF can be used here, else prints one line saying why and what to
 * do, and returns a negative errno. */
int bpf_env_check(void);
bool bpf_env_has_tp_btf(const char *tracepoint);
bool bpf_env_has_task_storage(void);
/* Whether the running kernel's struct TYPE has MEMBER, by its BTF. */
bool bpf_env_kernel_has_member(const char *type, const char *member);
/* A BPF helper (enum bpf_func_id) usable from tracing programs. */
bool bpf_env_has_helper(int func_id);
/* The ids of tracefs events of one category ("syscalls": "sys_enter_futex",
 * ...) for perf_event_open(PERF_TYPE_TRACEPOINT): ids[i] is the id or a
 * negative errno. When no tracefs is mounted, mounts one for the lookup
 * and unmounts it at once: an attached event needs only its id. Returns
 * how many were found. */
int bpf_env_tracepoint_ids(const char *category, const char *const *events, int *ids, int n);
/* One line for a failed skeleton load. */
void bpf_env_explain_load_error(const char *what, int err);

/* The knobs every BPF object has (bpf/common.bpf.h), set alike in its
 * skeleton's rodata between open and load: never trace the recorder, the
 * process filter, -m and -M. */
#define BPF_COMMON_RODATA(rodata, filter_pids, min_ns, max_ns)	do {	\
	(rodata)->self_tgid = getpid();					\
	(rodata)->filter_tgid = (filter_pids);				\
	(rodata)->min_duration_ns = (min_ns);				\
	(rodata)->max_duration_ns = (max_ns) ? (max_ns) : ~0ULL;	\
} while (0)

#endif
