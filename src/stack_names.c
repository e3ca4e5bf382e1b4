// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdio.h>
#include <string.h>

#include "stack_names.h"

static const char *basename_of(const char *path)
{
	const char *slash = path ? strrchr(path, '/') : NULL;

	return slash ? slash + 1 : path;
}

/* Frames the recorder itself adds above the scheduler in a kernel stack. */
static bool is_tracing_frame(const char *name)
{
	return name && (!strncmp(name, "bpf_", 4) || !strncmp(name, "__bpf_", 6) ||
			!strncmp(name, "__traceiter_", 12) || !strncmp(name, "__probestub_", 12) ||
			!strncmp(name, "trace_call_bpf", 14));
}

static void push(struct named_stack *ns, const char *name, enum frame_kind kind,
		 const struct rec_frame *sym, __u64 addr)
{
	struct named_frame *f;

	if (ns->nr >= NAMED_FRAMES_MAX)
		return;
	f = &ns->frames[ns->nr++];
	f->name = name;
	f->kind = kind;
	f->sym = sym;
	f->addr = addr;
}

static const char *synth_name(struct named_stack *ns, const struct rec_frame *f, __u64 addr)
{
	char *buf = ns->names[ns->nr < NAMED_FRAMES_MAX ? ns->nr : 0];

	if (f && f->module && f->module[0])
		snprintf(buf, sizeof(ns->names[0]), "%s+0x%llx", basename_of(f->module),
			 (unsigned long long)f->offset);
	else
		snprintf(buf, sizeof(ns->names[0]), "[unknown 0x%llx]", (unsigned long long)addr);
	return buf;
}

static void add_address(const struct recording *rec, struct named_stack *ns, __u32 pid,
			__u64 addr, bool kernel)
{
	const struct rec_symbol *sym = rec_find_symbol(rec, pid, addr);
	__u32 i;

	if (!sym || !sym->nr_frames) {
		push(ns, synth_name(ns, NULL, addr), kernel ? FRAME_KERNEL : FRAME_USER, NULL, addr);
		return;
	}
	for (i = 0; i < sym->nr_frames; i++) {
		const struct rec_frame *f = &sym->frames[i];
		enum frame_kind kind = kernel ? FRAME_KERNEL :
				       f->inlined ? FRAME_INLINED : FRAME_USER;

		push(ns, f->name ? f->name : synth_name(ns, f, addr), kind, f, addr);
	}
}

void stack_names(const struct recording *rec, __u64 stack_id, __u32 pid,
		 struct named_stack *ns)
{
	const struct rec_stack *st = rec_find_stack(rec, stack_id);
	bool kernel;
	__u32 i = 0;

	ns->nr = 0;
	ns->missing = stack_id && !st;
	if (!st)
		return;
	kernel = st->flags & STACK_KERNEL;
	if (kernel) {
		/* Skip the recorder's frames, innermost first. */
		for (; i < st->nr; i++) {
			const struct rec_symbol *sym = rec_find_symbol(rec, 0, st->ips[i]);

			if (!sym || !sym->nr_frames || !is_tracing_frame(sym->frames[0].name))
				break;
		}
	}
	for (; i < st->nr; i++)
		add_address(rec, ns, kernel ? 0 : pid, st->ips[i], kernel);
}

bool frame_in_libc(const struct named_frame *f)
{
	const char *m = f->sym ? f->sym->module : NULL;

	return !m || strstr(m, "/libc.so") || strstr(m, "/libc-") || strstr(m, "/libpthread");
}
