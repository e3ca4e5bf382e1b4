// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of src/analysis/stack_names.c on a recording built in memory:
 * how each frame reads (inline chains, module+offset, unknown addresses),
 * the recorder's own kernel frames left out, missing stacks, the joined
 * stack every writer keys by, and the one escaping rule for names.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check.h"
#include "rec_build.h"
#include "stack_names.h"

int test_failures;

#define PID		42
#define USER_STACK	10
#define KERN_STACK	20
#define TRACING_ONLY	21	/* a kernel stack of the recorder's frames only */
#define DEEP_STACK	30
#define UNKNOWN_STACK	99	/* never recorded */

static const char *const five_frames[] = { "i1", "i2", "i3", "i4", "f" };

static struct recording *build(void)
{
	static const char *const inline_chain[] = { "inner_inl", "outer_fn" };
	struct recording *rec = rec_new_or_die();
	__u64 deep[MAX_STACK_DEPTH];
	unsigned int i;

	/* User stack, innermost first: an inline chain, a frame without a
	 * name (module+offset), an address nothing covers, and one whose
	 * symbol lookup found nothing at all (no frames). */
	ADD_STACK(rec, USER_STACK, 0, 0x1000, 0x2000, 0x3000, 0x4000);
	add_symbol_frames(rec, PID, 0x1000, APP_PATH, 0x1000, 2, inline_chain);
	add_symbol_frames(rec, PID, 0x2000, "/usr/lib/libfoo.so", 0x2a, 1,
			  (const char *const[]){ NULL });
	add_symbol_frames(rec, PID, 0x4000, APP_PATH, 0, 0, NULL);
	/* The same address in another process: must not be taken for PID's. */
	add_symbol(rec, PID + 1, 0x3000, "other_process_fn", APP_PATH);

	/* Kernel stack: the recorder's frames innermost, then the scheduler;
	 * a bpf_ name further out is the kernel's own and stays. Kernel
	 * symbols are under pid 0, whatever the stack's process. */
	ADD_STACK(rec, KERN_STACK, STACK_KERNEL, 0xff01, 0xff02, 0xff03, 0xff04, 0xff05);
	add_symbol(rec, 0, 0xff01, "bpf_prog_6deef7357e7b4530_sched_switch", "[kernel]");
	add_symbol(rec, 0, 0xff02, "__traceiter_sched_switch", "[kernel]");
	add_symbol(rec, 0, 0xff03, "schedule", "[kernel]");
	add_symbol(rec, 0, 0xff04, "bpf_seq_read", "[kernel]");
	add_symbol(rec, 0, 0xff05, "do_nanosleep", "[kernel]");
	add_symbol(rec, PID, 0xff03, "user_symbol_at_kernel_addr", APP_PATH);
	ADD_STACK(rec, TRACING_ONLY, STACK_KERNEL, 0xff01, 0xff02);

	/* 127 addresses of 5 frames each: more than NAMED_FRAMES_MAX. */
	for (i = 0; i < MAX_STACK_DEPTH; i++)
		deep[i] = 0x5000;
	MUST(rec_add_stack(rec, DEEP_STACK, 0, MAX_STACK_DEPTH, deep));
	add_symbol_frames(rec, PID, 0x5000, APP_PATH, 0x5000, 5, five_frames);
	rec_finish(rec);
	return rec;
}

static void test_user_frames(const struct recording *rec, struct named_stack *ns)
{
	static const struct {
		const char *name;
		enum frame_kind kind;
		__u64 addr;
		bool sym;
	} want[] = {
		{ "inner_inl", FRAME_INLINED, 0x1000, true },
		{ "outer_fn", FRAME_USER, 0x1000, true },
		{ "libfoo.so+0x2a", FRAME_USER, 0x2000, true },
		{ "[unknown 0x3000]", FRAME_USER, 0x3000, false },
		{ "[unknown 0x4000]", FRAME_USER, 0x4000, false },
	};
	unsigned int i;

	stack_names(rec, USER_STACK, PID, ns);
	CHECK(!ns->missing, "a recorded stack is not missing");
	CHECK_U64(ns->nr, 5);
	for (i = 0; i < ns->nr && i < 5; i++) {
		CHECK_STR(ns->frames[i].name, want[i].name);
		CHECK(ns->frames[i].kind == want[i].kind, "frame %u kind %d, want %d", i,
		      ns->frames[i].kind, want[i].kind);
		CHECK_U64(ns->frames[i].addr, want[i].addr);
		CHECK(!!ns->frames[i].sym == want[i].sym, "frame %u: symbol %s", i,
		      want[i].sym ? "kept" : "absent");
	}
	if (ns->nr >= 3) {
		CHECK_STR(frame_suffix(&ns->frames[0], false), "_[i]");
		CHECK_STR(frame_suffix(&ns->frames[1], false), "");
		CHECK_STR(frame_suffix(&ns->frames[1], true), "_[k]");
		CHECK_STR(ns->frames[2].sym->module, "/usr/lib/libfoo.so");
	}
}

static void test_kernel_frames(const struct recording *rec, struct named_stack *ns)
{
	static const char *const want[] = { "schedule", "bpf_seq_read", "do_nanosleep" };
	unsigned int i;

	/* The process id does not matter for a kernel stack. */
	stack_names(rec, KERN_STACK, PID, ns);
	CHECK_U64(ns->nr, 3);
	for (i = 0; i < ns->nr && i < 3; i++) {
		CHECK_STR(ns->frames[i].name, want[i]);
		CHECK(ns->frames[i].kind == FRAME_KERNEL, "frame %u is a kernel frame", i);
	}
	stack_names(rec, TRACING_ONLY, 0, ns);
	CHECK(ns->nr == 0 && !ns->missing, "only the recorder's frames: nothing left, not missing");
}

static void test_missing(const struct recording *rec, struct named_stack *ns)
{
	stack_names(rec, UNKNOWN_STACK, PID, ns);
	CHECK(ns->nr == 0 && ns->missing, "an id the recording lacks is missing");
	stack_names(rec, 0, PID, ns);
	CHECK(ns->nr == 0 && !ns->missing, "id 0 (no stack) is empty, not missing");
}

static void test_deep(const struct recording *rec, struct named_stack *ns)
{
	stack_names(rec, DEEP_STACK, PID, ns);
	CHECK_U64(ns->nr, NAMED_FRAMES_MAX);
	/* Frames are kept innermost first until the room runs out. */
	CHECK_STR(ns->frames[NAMED_FRAMES_MAX - 1].name,
		  five_frames[(NAMED_FRAMES_MAX - 1) % 5]);
}

static void check_join(const struct recording *rec, struct named_stack *ns, __u64 user,
		       __u64 kern, const char *want)
{
	char *buf = NULL;
	size_t cap = 0;
	int len = stack_names_join(rec, user, kern, PID, ns, &buf, &cap);

	CHECK(len >= 0 && (size_t)len == strlen(want), "length %d, want %zu", len, strlen(want));
	CHECK_STR(buf, want);
	free(buf);
}

static void test_join(const struct recording *rec, struct named_stack *ns)
{
	char *buf = NULL;
	size_t cap = 0;
	int len;

	check_join(rec, ns, USER_STACK, KERN_STACK,
		   "[unknown 0x4000];[unknown 0x3000];libfoo.so+0x2a;outer_fn;inner_inl_[i];"
		   "do_nanosleep_[k];bpf_seq_read_[k];schedule_[k]");
	check_join(rec, ns, 0, KERN_STACK, "do_nanosleep_[k];bpf_seq_read_[k];schedule_[k]");
	check_join(rec, ns, UNKNOWN_STACK, KERN_STACK,
		   "[missing user stack];do_nanosleep_[k];bpf_seq_read_[k];schedule_[k]");
	check_join(rec, ns, USER_STACK, UNKNOWN_STACK,
		   "[unknown 0x4000];[unknown 0x3000];libfoo.so+0x2a;outer_fn;inner_inl_[i];"
		   "[missing kernel stack]");
	check_join(rec, ns, UNKNOWN_STACK, 0, "[missing user stack]");
	check_join(rec, ns, 0, 0, "");

	/* The buffer is reused: a shorter stack after a longer one. */
	len = stack_names_join(rec, USER_STACK, KERN_STACK, PID, ns, &buf, &cap);
	CHECK(len > 0 && cap > (size_t)len, "first join %d in %zu bytes", len, cap);
	len = stack_names_join(rec, 0, TRACING_ONLY, PID, ns, &buf, &cap);
	CHECK(len == 0 && buf && !buf[0], "then an empty one: %d '%s'", len, buf ? buf : "(null)");
	free(buf);
}

/* A name with the frame separator in it cannot split a joined stack. */
static void test_join_escapes(void)
{
	struct recording *rec = rec_new_or_die();
	struct named_stack *ns = malloc(sizeof(*ns));
	char *buf = NULL;
	size_t cap = 0;

	if (!ns)
		exit(2);
	ADD_STACK(rec, 1, 0, 0x10, 0x20);
	add_symbol(rec, 7, 0x10, "operator;(a\\b)", APP_PATH);
	add_symbol(rec, 7, 0x20, "main\x01", APP_PATH);
	rec_finish(rec);
	CHECK(stack_names_join(rec, 1, 0, 7, ns, &buf, &cap) > 0, "joined");
	CHECK_STR(buf, "main\\x01;operator\\x3b(a\\x5cb)");
	free(buf);
	free(ns);
	rec_free(rec);
}

static void test_name_escape(void)
{
	static const struct {
		const char *in;
		enum name_format fmt;
		size_t size;
		const char *out;
	} cases[] = {
		{ "a;b\\c\x01\x7f\n", NAME_TEXT, 64, "a;b\\c\\x01\\x7f\\x0a" },
		{ "a;b\\c\x01\x7f\n", NAME_FOLDED, 64, "a\\x3bb\\x5cc\\x01\\x7f\\x0a" },
		{ "na\xc3\xafve <&> \"q\"", NAME_FOLDED, 64, "na\xc3\xafve <&> \"q\"" },
		/* Never half an escape: what does not fit whole is left out. */
		{ "ab\x01" "cd", NAME_TEXT, 6, "ab" },
		{ "ab\x01" "cd", NAME_TEXT, 7, "ab\\x01" },
		{ "ab\x01" "cd", NAME_TEXT, 8, "ab\\x01c" },
		{ "abc", NAME_TEXT, 1, "" },
		{ NULL, NAME_TEXT, 8, "" },
	};
	char buf[64], *mem = NULL;
	size_t i, len = 0;
	FILE *f;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(buf, 'X', sizeof(buf));
		CHECK(name_escape(buf, cases[i].size, cases[i].in, cases[i].fmt) == buf,
		      "returns buf");
		CHECK_STR(buf, cases[i].out);
	}
	buf[0] = 'X';
	name_escape(buf, 0, "abc", NAME_TEXT);
	CHECK(buf[0] == 'X', "size 0 writes nothing");

	/* name_fput and name_wbuf write what name_escape writes. */
	f = open_memstream(&mem, &len);
	if (!f)
		exit(2);
	name_fput(f, cases[1].in, NAME_FOLDED);
	fclose(f);
	CHECK_STR(mem, cases[1].out);
	free(mem);
	{
		struct wbuf b = {};

		name_wbuf(&b, "x;y\x02zz", 4, NAME_FOLDED);
		name_wbuf(&b, "q\0r", 3, NAME_FOLDED);
		wbuf_put(&b, "", 1);
		CHECK(!b.oom && !strcmp((const char *)b.data, "x\\x3by\\x02q"),
		      "wbuf: '%s'", (const char *)b.data);
		wbuf_free(&b);
	}
}

/* The net under a whole text report: controls escaped, lines kept. */
static void test_text_stream(void)
{
	char *mem = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&mem, &len), *f;

	if (!out || !(f = name_text_stream(out)))
		exit(2);
	fprintf(f, "thread \x1b[31mRED\x1b[0m;x\n\tnext\r\n");
	fclose(f);
	fclose(out);
	CHECK_STR(mem, "thread \\x1b[31mRED\\x1b[0m;x\n\tnext\\x0d\n");
	free(mem);
}

static void test_frame_in_libc(void)
{
	struct rec_frame libc = { .module = LIBC_PATH }, old = { .module = "/lib/libc-2.31.so" };
	struct rec_frame pthread = { .module = "/lib/x86_64-linux-gnu/libpthread.so.0" };
	struct rec_frame app = { .module = APP_PATH }, liblibc = { .module = "/opt/mylibc.so" };
	struct named_frame f = {};

	CHECK(frame_in_libc(&f), "a frame with no symbol may be libc's");
	f.sym = &libc;
	CHECK(frame_in_libc(&f), "libc.so.6");
	f.sym = &old;
	CHECK(frame_in_libc(&f), "libc-2.31.so");
	f.sym = &pthread;
	CHECK(frame_in_libc(&f), "libpthread");
	f.sym = &app;
	CHECK(!frame_in_libc(&f), "the application is not libc");
	f.sym = &liblibc;
	CHECK(!frame_in_libc(&f), "mylibc.so is not libc");
}

static void set_names(struct named_stack *ns, const char *const *names, unsigned int nr)
{
	unsigned int i;

	memset(ns, 0, sizeof(*ns));
	for (i = 0; i < nr; i++)
		ns->frames[i].name = names[i];
	ns->nr = nr;
}

static void test_go(struct named_stack *ns)
{
	static const char *const idle[] = { "runtime.futex", "runtime.futexsleep", "main.main" };
	static const char *const deep[] = { "a", "b", "c", "d", "runtime.notesleep" };
	static const char *const mutex[] = { "runtime.lock2", "sync.(*Mutex).Lock", "main.work" };
	static const char *const c[] = { "pthread_cond_wait", "main" };

	set_names(ns, idle, 3);
	CHECK(stack_is_go_runtime_idle(ns) && stack_is_go(ns), "futexsleep: Go, idle");
	set_names(ns, deep, 5);
	CHECK(!stack_is_go_runtime_idle(ns), "idle frame past the 4 innermost does not count");
	CHECK(stack_is_go(ns), "but the stack is Go's");
	set_names(ns, mutex, 3);
	CHECK(!stack_is_go_runtime_idle(ns) && stack_is_go(ns), "a Go lock wait is not idle");
	set_names(ns, c, 2);
	CHECK(!stack_is_go_runtime_idle(ns) && !stack_is_go(ns), "C is not Go");
}

int main(void)
{
	struct recording *rec = build();
	struct named_stack *ns = malloc(sizeof(*ns));

	if (!ns)
		return 2;
	test_user_frames(rec, ns);
	test_kernel_frames(rec, ns);
	test_missing(rec, ns);
	test_deep(rec, ns);
	test_join(rec, ns);
	test_join_escapes();
	test_name_escape();
	test_text_stream();
	test_frame_in_libc();
	test_go(ns);
	free(ns);
	rec_free(rec);
	return check_summary("stack name tests");
}
