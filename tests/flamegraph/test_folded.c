// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests of the folded parser, the escapers and the profile model. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "folded.h"
#include "json.h"
#include "profile.h"
#include "stacks.h"
#include "svg.h"

int test_failures;

static int parse_text(struct fg_tree *t, const char *text, enum fg_column col)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int err = fg_parse_file(t, f, "test", col);

	fclose(f);
	return err;
}

/* Finds the node at the end of path "a;b;c" (NULL-free names only). */
static uint32_t find(const struct fg_tree *t, const char *path)
{
	uint32_t node = 0;
	char *copy = strdup(path), *save = NULL, *name;

	for (name = strtok_r(copy, ";", &save); name; name = strtok_r(NULL, ";", &save)) {
		uint32_t c;

		for (c = t->nodes[node].first_child; c != FG_NONE; c = t->nodes[c].next_sibling)
			if (!strcmp(fg_name(t, c), name))
				break;
		node = c;
		if (node == FG_NONE)
			break;
	}
	free(copy);
	return node;
}

static void test_basic_and_prefix_cache(void)
{
	struct fg_tree t;

	fg_tree_init(&t, NULL);
	CHECK(!parse_text(&t, "a;b;c 10\na;b;d 20\na;b 5\r\nx;b;c 1\na;b;c 2\n\n", FG_CURRENT));
	CHECK_U64(t.nr_bad, 0);
	CHECK_U64(t.nr_stacks, 5);
	CHECK_U64(t.nodes[0].total, 38);
	CHECK_U64(t.nodes[find(&t, "a;b;c")].self, 12);
	CHECK_U64(t.nodes[find(&t, "a;b")].self, 5);
	CHECK_U64(t.nodes[find(&t, "a;b")].total, 37);
	CHECK_U64(t.nodes[find(&t, "x;b;c")].total, 1);
	CHECK_U64(t.nodes[find(&t, "a;b;d")].depth, 3);
	CHECK_U64(t.nr_nodes, 1 + 4 + 3);
	CHECK(!t.differential);
	fg_tree_free(&t);
}

static void test_malformed_counted(void)
{
	struct fg_tree t;

	fg_tree_init(&t, NULL);
	parse_text(&t, "ok 1\nnovalue\nf 1.5\ng -3\n 7\nh 99999999999999999999999\ni 2\n", FG_CURRENT);
	CHECK_U64(t.nr_bad, 5);
	CHECK_U64(t.bad[0].lineno, 2);
	CHECK(!strcmp(t.bad[1].reason, "fractional value"));
	CHECK_U64(t.bad[1].lineno, 3);
	CHECK_U64(t.bad[2].lineno, 4);
	CHECK(!strcmp(t.bad[3].reason, "empty stack"));
	CHECK(!strcmp(t.bad[4].reason, "value too large"));
	CHECK_U64(t.bad[4].lineno, 6);
	CHECK_U64(t.nodes[0].total, 3);
	fg_tree_free(&t);
}

static void test_differential(void)
{
	struct fg_tree t;

	fg_tree_init(&t, NULL);
	parse_text(&t, "a;b 10 30\na;c 5 0\n", FG_CURRENT);
	CHECK(t.differential);
	CHECK_U64(t.nodes[find(&t, "a;b")].total, 30);
	CHECK_U64(fg_base_total(&t, find(&t, "a;b")), 10);
	CHECK_U64(fg_base_total(&t, 0), 15);
	CHECK_U64(t.nodes[0].total, 30);
	fg_tree_free(&t);

	/* --diff BASE CURRENT: two single-column inputs. */
	fg_tree_init(&t, NULL);
	parse_text(&t, "a;b 4\n", FG_BASE);
	parse_text(&t, "a;b 6\na;z 1\n", FG_CURRENT);
	CHECK_U64(fg_base_total(&t, find(&t, "a;b")), 4);
	CHECK_U64(t.nodes[find(&t, "a;b")].total, 6);
	CHECK_U64(fg_base_total(&t, find(&t, "a;z")), 0);
	fg_tree_free(&t);
}

static void test_reverse(void)
{
	struct fg_parse_opts o = { .reverse = true };
	struct fg_tree t;

	fg_tree_init(&t, &o);
	parse_text(&t, "a;b;c 3\na;d;c 4\n", FG_CURRENT);
	CHECK_U64(t.nodes[find(&t, "c")].total, 7);
	CHECK_U64(t.nodes[find(&t, "c;b;a")].total, 3);
	fg_tree_free(&t);
}

static void test_huge_and_deep(void)
{
	size_t name_len = 1 << 20, depth = 100000, i;
	char *line = malloc(name_len + 2 * depth + 32);
	struct fg_tree t;
	char *p = line;

	memset(p, 'n', name_len);
	p += name_len;
	for (i = 0; i < depth; i++) {
		*p++ = ';';
		*p++ = "\xff\xfe"[i & 1];	/* invalid UTF-8 */
	}
	strcpy(p, " 5");
	fg_tree_init(&t, NULL);
	CHECK(fg_parse_line(&t, line, strlen(line), "big", 1, FG_CURRENT) == 0);
	fg_tree_finish(&t);
	CHECK_U64(t.max_depth, depth + 1);
	CHECK_U64(t.nodes[0].total, 5);
	CHECK_U64(fg_name_len(&t, 1), name_len);
	fg_tree_free(&t);
	free(line);
}

static char *capture(void (*fn)(FILE *, const void *), const void *arg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	fn(f, arg);
	fclose(f);
	return buf;
}

static void json_of(FILE *f, const void *s)
{
	json_write_string(f, s);
}

static void xml_of(FILE *f, const void *s)
{
	fg_xml_write(f, s, strlen(s), 0);
}

static void test_escapers(void)
{
	struct {
		const char *in, *json, *xml;
	} cases[] = {
		{ "a\"b\\c", "\"a\\\"b\\\\c\"", "a&quot;b\\c" },
		{ "</script>", "\"<\\/script>\"", "&lt;/script&gt;" },
		{ "x\x01y\n", "\"x\\u0001y\\n\"", "x y " },
		{ "\xff" "ok\xc3\xa9", "\"\\ufffdok\xc3\xa9\"", "\xef\xbf\xbdok\xc3\xa9" },
		{ "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
		{ "]]>&'", "\"]]>&'\"", "]]&gt;&amp;&apos;" },
		{ "\xe2\x80\xa8", "\"\\u2028\"", "\xe2\x80\xa8" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *j = capture(json_of, cases[i].in), *x = capture(xml_of, cases[i].in);

		if (strcmp(j, cases[i].json))
			fprintf(stderr, "json case %zu: got %s\n", i, j);
		if (strcmp(x, cases[i].xml))
			fprintf(stderr, "xml case %zu: got %s\n", i, x);
		CHECK(!strcmp(j, cases[i].json));
		CHECK(!strcmp(x, cases[i].xml));
		free(j);
		free(x);
	}
	{
		char *null_json = capture(json_of, NULL);

		CHECK(!strcmp(null_json, "null"));
		free(null_json);
	}
}

static void test_profile_from_folded(void)
{
	struct profile p;
	struct fg_tree t;

	fg_tree_init(&t, NULL);
	parse_text(&t, "th;main;read;schedule_[k] 3\nth;main;inl_[i] 2\nth;main;read;schedule_[k] 1\n",
		   FG_CURRENT);
	CHECK(!prof_from_folded(&p, &t, NULL, "us"));
	CHECK_U64(p.nr_types, 1);
	CHECK(!strcmp(p.types[0].type, "off_cpu") && !strcmp(p.types[0].unit, "nanoseconds"));
	CHECK_U64(p.nr_samples, 2);
	CHECK_U64(prof_total(&p, 0), 6000);
	CHECK_U64(p.nr_frames, 5);
	CHECK(p.frames[3].kind == PROF_FRAME_KERNEL && !strcmp(p.frames[3].function, "schedule"));
	CHECK(p.frames[4].inlined && !strcmp(p.frames[4].function, "inl"));
	prof_free(&p);

	CHECK(!prof_from_folded(&p, &t, "waits", "events"));
	CHECK(!strcmp(p.types[0].type, "waits") && !strcmp(p.types[0].unit, "count"));
	CHECK_U64(prof_total(&p, 0), 6);
	prof_free(&p);
	fg_tree_free(&t);
}

static void test_profile_frames_interned(void)
{
	struct prof_frame f = { .function = "f", .file = "a.c", .line = 3, .module = "/bin/x",
				.build_id = "abcd" };
	struct prof_frame g = f;
	struct profile p;
	uint32_t stack[2];
	int64_t values[2] = { 1, 1000 };

	prof_init(&p);
	CHECK(prof_add_type(&p, "contentions", "count") == 0);
	CHECK(prof_add_type(&p, "delay", "nanoseconds") == 1);
	CHECK_U64(p.default_type, 1);
	stack[0] = (uint32_t)prof_add_frame(&p, &f);
	g.line = 4;
	stack[1] = (uint32_t)prof_add_frame(&p, &g);
	CHECK(stack[0] != stack[1]);
	CHECK_U64(prof_add_frame(&p, &f), stack[0]);
	CHECK(!prof_add_sample(&p, stack, 2, values));
	CHECK(!prof_add_sample(&p, stack, 1, values));
	CHECK_U64(prof_total(&p, 1), 2000);
	CHECK_U64(p.sample_start[2] - p.sample_start[1], 1);
	prof_free(&p);
}

static char *svg_of_tree(const char *text, const struct fg_svg_opts *o, size_t *len)
{
	struct fg_tree t;
	char *out = NULL;
	FILE *mem = open_memstream(&out, len);

	fg_tree_init(&t, NULL);
	CHECK(!parse_text(&t, text, FG_CURRENT));
	CHECK(!fg_render_svg(mem, &t, o));
	fclose(mem);
	fg_tree_free(&t);
	return out;
}

/* A file is counted, then read again keeping each stack down to its first
 * frame too narrow to draw, stacks cut alike merged; the graph is the frame
 * tree's, byte for byte. */
static void test_stacks_file_pruned(void)
{
	size_t len = 0, cap = 1 << 20, tree_len, got_len, kept, i;
	char *text = malloc(cap), *want, *got = NULL;
	struct fg_svg_opts o;
	struct fg_drawing d;
	struct fg_stacks s;
	FILE *f = tmpfile(), *mem;

	/* min: 0.1 px of 1180 for 119,000 = 10.08; the c frames are 6 or 7
	 * each, so every cold stack is cut there, and its deep frame dropped. */
	for (i = 0; i < 1000; i++)
		len += snprintf(text + len, cap - len, "t;hot;h%zu;leaf%zu 100\n", i % 10, i);
	for (; i < 20000; i++)
		len += snprintf(text + len, cap - len, "t;cold%zu;c%zu;deep%zu 1\n", i % 4,
				i % 3000, i);
	fwrite(text, 1, len, f);
	rewind(f);
	fg_svg_opts_default(&o);
	want = svg_of_tree(text, &o, &tree_len);
	fg_stacks_init(&s, NULL);
	CHECK(!fg_stacks_read(&s, f, "test", FG_CURRENT));
	fclose(f);	/* the stacks keep their own descriptor */
	CHECK_U64(fg_stacks_count(&s), 20000);
	CHECK_U64(s.readers[0].nr_stacks + s.readers[1].nr_stacks, 0);
	mem = open_memstream(&got, &got_len);
	CHECK(!fg_stacks_render_svg(mem, &s, &o));
	fclose(mem);
	kept = s.readers[0].nr_stacks + s.readers[1].nr_stacks;
	/* 1,000 hot ones and 3,000 cut at c; a c path sharing a counter with a
	 * wide path (a few in a thousand) keeps its deep frame: more, never fewer. */
	CHECK(kept >= 4000 && kept < 4100, "%zu stacks kept of 20000", kept);
	CHECK(s.readers[0].nr_ids + s.readers[1].nr_ids < 3 * 3000 + 4 * 1100, "frames kept");
	CHECK(got_len == tree_len && !memcmp(got, want, tree_len), "differs from the tree's");
	/* Pruned for 0.1 px: a wider minimum can still be drawn, a narrower not. */
	o.minwidth = 5;
	CHECK(!fg_stacks_draw(&s, &o, &d));
	fg_drawing_free(&d);
	o.minwidth = 0.01;
	CHECK(fg_stacks_draw(&s, &o, &d) == -EINVAL);
	fg_drawing_free(&d);
	CHECK(fg_stacks_read(&s, stdin, "late", FG_CURRENT) == -EINVAL);
	fg_stacks_free(&s);
	free(text);
	free(want);
	free(got);
}

int main(void)
{
	test_basic_and_prefix_cache();
	test_malformed_counted();
	test_differential();
	test_reverse();
	test_huge_and_deep();
	test_escapers();
	test_profile_from_folded();
	test_profile_frames_interned();
	test_stacks_file_pruned();
	return check_summary("flamegraph unit tests");
}
