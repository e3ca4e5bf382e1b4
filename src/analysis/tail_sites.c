// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Wait sites named as reasons (tail_sites.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recording.h"
#include "stack_names.h"
#include "tail_sites.h"
#include "util.h"

/* The syscall a kernel frame is the entry of, or NULL. */
static const char *syscall_of(const char *name)
{
	static const char *const prefixes[] = { "__x64_sys_", "__ia32_sys_", "__do_sys_",
						"__se_sys_", "ksys_" };
	size_t i, n;

	for (i = 0; name && i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		n = strlen(prefixes[i]);
		if (!strncmp(name, prefixes[i], n) && name[n])
			return name + n;
	}
	return NULL;
}

/* The scheduler's own frames, above whatever put the thread to sleep. */
static bool sched_frame(const char *name)
{
	return strstr(name, "schedule") || !strncmp(name, "__cond_resched", 14) ||
	       !strncmp(name, "preempt_", 8) || !strncmp(name, "finish_task_switch", 18);
}

/* The syscall the thread blocked in, else the innermost kernel function
 * that is not the scheduler's. */
static void kernel_reason(struct tail_namer *n, __u64 kern_id, char *buf, size_t len)
{
	const char *first = NULL, *sys;
	unsigned int i;

	stack_names(n->rec, kern_id, 0, n->ns);
	for (i = 0; i < n->ns->nr; i++) {
		const char *name = n->ns->frames[i].name;

		if (!name)
			continue;
		sys = syscall_of(name);
		if (sys) {
			snprintf(buf, len, "%s", sys);
			return;
		}
		if (!first && !sched_frame(name))
			first = name;
	}
	snprintf(buf, len, "%s", first ? first : kern_id ? "kernel" : "[no kernel stack]");
}

/* The innermost frame outside the C library: the application's. */
static const char *app_frame(struct tail_namer *n, __u64 user_id, __u32 pid)
{
	unsigned int i;

	stack_names(n->rec, user_id, pid, n->ns);
	for (i = 0; i < n->ns->nr; i++)
		if (!frame_in_libc(&n->ns->frames[i]) && n->ns->frames[i].name)
			return n->ns->frames[i].name;
	return NULL;
}

static void name_site(struct tail_namer *n, struct tail_site *s)
{
	const struct rec_lock_name *ln = NULL;
	char what[TAIL_REASON_LEN / 2];
	const char *app;

	if (s->futex_addr)
		ln = rec_find_lock_name(n->rec, s->pid, s->futex_addr);
	if (ln && ln->offset)
		snprintf(s->lock, sizeof(s->lock), "%s+0x%llx", ln->name,
			 (unsigned long long)ln->offset);
	else if (ln)
		snprintf(s->lock, sizeof(s->lock), "%s", ln->name);
	if (ln) {
		snprintf(s->reason, sizeof(s->reason), "%s", s->lock);
		return;
	}
	if (s->futex_addr)
		snprintf(what, sizeof(what), "futex 0x%llx", (unsigned long long)s->futex_addr);
	else
		kernel_reason(n, s->kern_stack_id, what, sizeof(what));
	app = app_frame(n, s->user_stack_id, s->pid);
	if (app)
		snprintf(s->reason, sizeof(s->reason), "%s in %s", what, app);
	else
		snprintf(s->reason, sizeof(s->reason), "%s", what);
}

const struct tail_site *tail_site_of(struct tail_namer *n, __u32 pid, __u64 user_stack_id,
				     __u64 kern_stack_id, __u64 futex_addr)
{
	struct tail_site *s;
	size_t i;

	for (i = 0; i < n->nr_sites; i++) {
		s = &n->sites[i];
		if (s->pid == pid && s->user_stack_id == user_stack_id &&
		    s->kern_stack_id == kern_stack_id && s->futex_addr == futex_addr)
			return s;
	}
	s = ARRAY_PUSH(n->sites, n->nr_sites);
	if (!s)
		return NULL;
	memset(s, 0, sizeof(*s));
	s->pid = pid;
	s->user_stack_id = user_stack_id;
	s->kern_stack_id = kern_stack_id;
	s->futex_addr = futex_addr;
	name_site(n, s);
	return s;
}

int tail_namer_init(struct tail_namer *n, const struct recording *rec)
{
	memset(n, 0, sizeof(*n));
	n->rec = rec;
	n->ns = malloc(sizeof(*n->ns));
	return n->ns ? 0 : -ENOMEM;
}

void tail_namer_free(struct tail_namer *n)
{
	free(n->sites);
	free(n->ns);
	n->sites = NULL;
	n->ns = NULL;
}

