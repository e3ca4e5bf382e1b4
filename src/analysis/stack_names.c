// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Recorded stacks as names, and the one rule for writing a name as text. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <string.h>

#include "buf.h"
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

/*
 * Whether addr may be code of process pid. A frame-pointer walk through
 * code built without frame pointers reads whatever rbp points at: a
 * "return address" that is no code (a nanosleep's 200,000,000 ns read off
 * the stack) ends the stack. Not code: inside a known mapping that is not
 * executable, or below every mapping. An address in no known mapping above
 * them may be code mapped after the maps were read: kept.
 */
static bool executable(const struct recording *rec, __u32 pid, __u64 addr)
{
	const struct rec_process *p = rec_find_process(rec, pid);
	const struct proc_map *m;

	if (!p || !p->maps || !p->maps->nr)
		return true;
	m = proc_maps_find(p->maps, addr);
	if (m)
		return m->perms[2] == 'x';
	return addr >= p->maps->maps[0].start;
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
	for (; i < st->nr; i++) {
		if (i > 0 && !kernel && (st->flags & STACK_FP) && !executable(rec, pid, st->ips[i]))
			break;
		add_address(rec, ns, kernel ? 0 : pid, st->ips[i], kernel);
	}
}

const char *frame_suffix(const struct named_frame *f, bool kernel)
{
	if (kernel)
		return FRAME_SUFFIX_KERNEL;
	return f->kind == FRAME_INLINED ? FRAME_SUFFIX_INLINED : "";
}

static int append(char **buf, size_t *cap, size_t *len, const char *s, size_t n)
{
	char *grown;

	if (*len + n + 1 > *cap) {
		size_t want = (*len + n + 1) * 2;

		grown = realloc(*buf, want);
		if (!grown)
			return -ENOMEM;
		*buf = grown;
		*cap = want;
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
	return 0;
}

/* A frame's name as folded lines write it, so a ';' in a name cannot
 * split the joined stack. */
static int append_name(const char *name, const char *sfx, char **buf, size_t *cap, size_t *len)
{
	struct wbuf nb = {};
	int err;

	name_wbuf(&nb, name, strlen(name), NAME_FOLDED);
	err = nb.oom ? -ENOMEM : append(buf, cap, len, (const char *)nb.data, nb.len);
	wbuf_free(&nb);
	return err ? err : append(buf, cap, len, sfx, strlen(sfx));
}

static int append_stack(const struct named_stack *ns, bool kernel, const char *missing,
			char **buf, size_t *cap, size_t *len)
{
	int i, err = 0;

	if (ns->missing) {
		if (*len)
			err = append(buf, cap, len, ";", 1);
		return err ? err : append(buf, cap, len, missing, strlen(missing));
	}
	for (i = (int)ns->nr - 1; i >= 0 && !err; i--) {
		const struct named_frame *f = &ns->frames[i];
		const char *sfx = frame_suffix(f, kernel);

		if (*len)
			err = append(buf, cap, len, ";", 1);
		if (!err)
			err = append_name(f->name, sfx, buf, cap, len);
	}
	return err;
}

int stack_names_join(const struct recording *rec, __u64 user_id, __u64 kern_id,
		     __u32 pid, struct named_stack *ns, char **buf, size_t *cap)
{
	size_t len = 0;
	int err;

	err = append(buf, cap, &len, "", 0);
	stack_names(rec, user_id, pid, ns);
	if (!err)
		err = append_stack(ns, false, "[missing user stack]", buf, cap, &len);
	stack_names(rec, kern_id, 0, ns);
	if (!err)
		err = append_stack(ns, true, "[missing kernel stack]", buf, cap, &len);
	return err ? err : (int)len;
}

bool frame_in_libc(const struct named_frame *f)
{
	const char *m = f->sym ? f->sym->module : NULL;

	return !m || strstr(m, "/libc.so") || strstr(m, "/libc-") || strstr(m, "/libpthread");
}

#define GO_IDLE_FRAMES	4	/* innermost frames looked at */

bool stack_is_go_runtime_idle(const struct named_stack *ns)
{
	/* Prefixes: runtime.futex covers futexsleep and futexwakeup (a thread
	 * preempted while waking a parked one is the scheduler at work too). */
	static const char *const idle[] = {
		"runtime.futex", "runtime.notesleep", "runtime.notetsleep",
		"runtime.notewakeup", "runtime.usleep",
	};
	unsigned int i, j;

	for (i = 0; i < ns->nr && i < GO_IDLE_FRAMES; i++) {
		for (j = 0; j < sizeof(idle) / sizeof(idle[0]); j++)
			if (!strncmp(ns->frames[i].name, idle[j], strlen(idle[j])))
				return true;
	}
	return false;
}

bool stack_is_go(const struct named_stack *ns)
{
	unsigned int i;

	for (i = 0; i < ns->nr; i++)
		if (!strncmp(ns->frames[i].name, "runtime.", 8))
			return true;
	return false;
}

static bool name_byte_escaped(unsigned char c, enum name_format fmt)
{
	if (c < 0x20 || c == 0x7f)
		return true;
	return fmt == NAME_FOLDED && (c == ';' || c == '\\');
}

/* Writes c as fmt writes it into out (4 bytes at most); returns the length. */
static size_t name_byte(char *out, unsigned char c, enum name_format fmt)
{
	static const char hex[] = "0123456789abcdef";

	if (!name_byte_escaped(c, fmt)) {
		out[0] = (char)c;
		return 1;
	}
	out[0] = '\\';
	out[1] = 'x';
	out[2] = hex[c >> 4];
	out[3] = hex[c & 15];
	return 4;
}

const char *name_escape(char *buf, size_t size, const char *name, enum name_format fmt)
{
	size_t used = 0, n;
	char one[4];

	if (!size)
		return buf;
	for (; name && *name; name++) {
		n = name_byte(one, (unsigned char)*name, fmt);
		if (used + n >= size)
			break;
		memcpy(buf + used, one, n);
		used += n;
	}
	buf[used] = '\0';
	return buf;
}

void name_fput(FILE *out, const char *name, enum name_format fmt)
{
	char one[4];

	for (; name && *name; name++)
		fwrite(one, 1, name_byte(one, (unsigned char)*name, fmt), out);
}

void name_wbuf(struct wbuf *b, const char *name, size_t len, enum name_format fmt)
{
	char one[4];
	size_t i;

	for (i = 0; name && i < len && name[i]; i++)
		wbuf_put(b, one, name_byte(one, (unsigned char)name[i], fmt));
}

static ssize_t text_stream_write(void *cookie, const char *data, size_t len)
{
	FILE *out = cookie;
	char one[4];
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)data[i];

		if (c == '\n' || c == '\t')
			fputc(c, out);
		else
			fwrite(one, 1, name_byte(one, c, NAME_TEXT), out);
	}
	return ferror(out) ? -1 : (ssize_t)len;
}

static int text_stream_close(void *cookie)
{
	return fflush(cookie) ? -1 : 0;
}

FILE *name_text_stream(FILE *out)
{
	cookie_io_functions_t io = {
		.write = text_stream_write,
		.close = text_stream_close,
	};

	return fopencookie(out, "w", io);
}
