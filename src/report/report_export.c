// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Exports of a recording through the flamegraph/ library. The SVG is drawn
 * from the very folded text --format folded prints, so the two can never
 * disagree; pprof and speedscope are built from the aggregates themselves,
 * so they keep what folded text loses: exact nanoseconds, counts, file and
 * line, modules and build-ids.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "folded.h"
#include "lock_agg.h"
#include "profile.h"
#include "stacks.h"
#include "report_export.h"
#include "report_locks.h"
#include "stack_names.h"
#include "svg.h"
#include "symbolize.h"
#include "util.h"

int report_folded(FILE *out, const struct recording *rec, const struct report_opts *o)
{
	if (o->view == REPORT_VIEW_LOCKS)
		return report_locks_folded(out, rec);
	if (o->view == REPORT_VIEW_OFFWAKE)
		return report_offwake_folded(out, rec);
	return report_offcpu_folded(out, rec, o);
}

/* The view's folded stacks, as --format folded writes them, in a temporary
 * file rewound for reading. */
static int fold_view(const struct recording *rec, const struct report_opts *o, FILE **folded)
{
	FILE *tmp = tmpfile();
	int err;

	if (!tmp)
		return -errno;
	err = report_folded(tmp, rec, o);
	if (!err && (fflush(tmp) || fseek(tmp, 0, SEEK_SET)))
		err = -EIO;
	if (err) {
		fclose(tmp);
		return err;
	}
	*folded = tmp;
	return 0;
}

/* The view's folded stacks in a tree (for the profile exports). */
static int fold_into_tree(const struct recording *rec, const struct report_opts *o,
			  struct fg_tree *tree)
{
	struct fg_parse_opts popts = {};
	FILE *tmp;
	int err;

	err = fold_view(rec, o, &tmp);
	if (err)
		return err;
	err = fg_tree_init(tree, &popts);
	if (!err) {
		err = fg_parse_file(tree, tmp, "recording", FG_CURRENT);
		if (err)
			fg_tree_free(tree);
		else
			fg_tree_finish(tree);
	}
	fclose(tmp);
	return err;
}

static const char *view_title(const struct report_opts *o)
{
	if (o->view == REPORT_VIEW_LOCKS)
		return "Lock waits";
	if (o->view == REPORT_VIEW_OFFWAKE)
		return "Off-wake chains";
	return o->wait == WAIT_BLOCKED ? "Off-CPU time (blocked)" :
	       o->wait == WAIT_RUNQUEUE ? "Off-CPU time (run queue)" : "Off-CPU time";
}

int report_svg(FILE *out, const struct recording *rec, const struct report_opts *o)
{
	const char *cmd = rec_get_meta(rec, "command_line");
	struct fg_svg_opts sopts;
	struct fg_stacks stacks;
	char title[256];
	FILE *folded;
	int err;

	/* Drawn by the same engine as 'waitprof flamegraph' (flamegraph/stacks.h). */
	err = fold_view(rec, o, &folded);
	if (err)
		return err;
	fg_stacks_init(&stacks, NULL);
	err = fg_stacks_read(&stacks, folded, "recording", FG_CURRENT);
	fclose(folded);
	if (err) {
		fg_stacks_free(&stacks);
		return err;
	}
	snprintf(title, sizeof(title), "%s%s%.200s", view_title(o), cmd ? ": " : "",
		 cmd ? cmd : "");
	fg_svg_opts_default(&sopts);
	sopts.title = title;
	sopts.subtitle = rec_get_meta(rec, "hostname");
	sopts.countname = "us";
	if (o->view == REPORT_VIEW_LOCKS)
		sopts.palette = FG_PALETTE_HOT;
	err = fg_stacks_render_svg(out, &stacks, &sopts);
	fg_stacks_free(&stacks);
	return err;
}

int report_svg_mem(const struct recording *rec, const struct report_opts *o, char **svg,
		   size_t *len)
{
	FILE *mem = open_memstream(svg, len);
	int err;

	if (!mem)
		return -errno;
	err = report_svg(mem, rec, o);
	if (fclose(mem) && !err)
		err = -EIO;
	if (err) {
		free(*svg);
		*svg = NULL;
	}
	return err;
}

/* Collects the frames of one sample, outermost first. */
struct sample_builder {
	struct profile *prof;
	const struct recording *rec;
	struct named_stack *ns;
	uint32_t ids[NAMED_FRAMES_MAX * 2 + 4];
	size_t depth;
	int err;
};

static void add_frame(struct sample_builder *sb, const struct prof_frame *f)
{
	int64_t id;

	if (sb->err || sb->depth >= sizeof(sb->ids) / sizeof(sb->ids[0]))
		return;
	id = prof_add_frame(sb->prof, f);
	if (id < 0)
		sb->err = (int)id;
	else
		sb->ids[sb->depth++] = (uint32_t)id;
}

static void add_label(struct sample_builder *sb, const char *name)
{
	struct prof_frame f = { .function = name };

	add_frame(sb, &f);
}

/* The module and build-id of a user address, from the process's maps. */
static void find_mapping(const struct recording *rec, __u32 pid, __u64 addr,
			 struct prof_frame *f, char *hex, size_t hex_len)
{
	const struct rec_process *p = pid ? rec_find_process(rec, (int)pid) : NULL;
	const struct proc_map *m = p && p->maps ? proc_maps_find(p->maps, addr) : NULL;
	unsigned int i;

	if (!m)
		return;
	if (m->path && m->path[0] && !f->module)
		f->module = m->path;
	if (!m->build_id_len || hex_len < 2u * m->build_id_len + 1)
		return;
	for (i = 0; i < m->build_id_len; i++)
		snprintf(hex + 2 * i, 3, "%02x", m->build_id[i]);
	f->build_id = hex;
}

/* Adds a stack's frames outermost first; pid 0 for a kernel stack. */
static void add_stack(struct sample_builder *sb, __u64 stack_id, __u32 pid, bool kernel,
		      const char *missing)
{
	struct named_stack *ns = sb->ns;
	char hex[2 * SYM_BUILD_ID_MAX + 1];
	int i;

	stack_names(sb->rec, stack_id, pid, ns);
	if (ns->missing) {
		add_label(sb, missing);
		return;
	}
	for (i = (int)ns->nr - 1; i >= 0; i--) {
		const struct named_frame *nf = &ns->frames[i];
		struct prof_frame f = {
			.function = nf->name,
			.inlined = nf->kind == FRAME_INLINED,
			.kind = kernel ? PROF_FRAME_KERNEL : PROF_FRAME_USER,
		};

		if (nf->sym) {
			f.file = nf->sym->file;
			f.line = nf->sym->line;
			f.module = nf->sym->module;
		}
		if (kernel && !f.module)
			f.module = "[kernel.kallsyms]";
		if (!kernel)
			find_mapping(sb->rec, pid, nf->addr, &f, hex, sizeof(hex));
		add_frame(sb, &f);
	}
}

static void finish_sample(struct sample_builder *sb, int64_t count, int64_t ns)
{
	int64_t values[2] = { count, ns };

	if (!sb->err && ns > 0)
		sb->err = prof_add_sample(sb->prof, sb->ids, sb->depth, values);
	sb->depth = 0;
}

/*
 * pprof takes the first mapping for the main binary ("File:" in go tool
 * pprof, the service name in some backends). Mappings are numbered in the
 * order frames are added, and the first stack frames are the C library's
 * thread start: so the recorded executable's frame (its name, its mapping)
 * goes in first. It is in no sample.
 */
static void add_main_mapping(struct sample_builder *sb)
{
	const struct rec_process *p = sb->rec->nr_procs ? &sb->rec->procs[0] : NULL;
	char hex[2 * SYM_BUILD_ID_MAX + 1];
	struct prof_frame f = {};
	size_t i;

	if (!p || !p->exe || !p->exe[0])
		return;
	f.module = p->exe;
	f.function = strrchr(p->exe, '/') ? strrchr(p->exe, '/') + 1 : p->exe;
	for (i = 0; p->maps && i < p->maps->nr; i++) {
		const struct proc_map *m = &p->maps->maps[i];

		if (m->path && !strcmp(m->path, p->exe)) {
			find_mapping(sb->rec, (__u32)p->pid, m->start, &f, hex, sizeof(hex));
			break;
		}
	}
	add_frame(sb, &f);
	sb->depth = 0;
}

static int profile_offcpu(struct sample_builder *sb, const struct report_opts *o)
{
	struct offcpu_agg agg;
	char comm[TASK_COMM_LEN + 1];
	size_t i;
	int err;

	err = prof_add_type(sb->prof, "samples", "count");
	if (err >= 0)
		err = prof_add_type(sb->prof, "off_cpu", "nanoseconds");
	if (err < 0)
		return err;
	err = offcpu_aggregate(sb->rec, o->wait, &agg);
	if (err)
		return err;
	add_main_mapping(sb);
	for (i = 0; i < agg.nr && !sb->err; i++) {
		const struct offcpu_entry *e = &agg.entries[i];

		snprintf(comm, sizeof(comm), "%.*s", TASK_COMM_LEN, e->comm);
		add_label(sb, comm);
		add_stack(sb, e->user_stack_id, e->tgid, false, "[missing user stack]");
		add_stack(sb, e->kern_stack_id, 0, true, "[missing kernel stack]");
		finish_sample(sb, (int64_t)e->count, (int64_t)offcpu_entry_value(e, o->wait));
	}
	offcpu_agg_free(&agg);
	return sb->err;
}

static int profile_locks(struct sample_builder *sb)
{
	char name[192], label[256];
	struct lock_agg agg;
	size_t i, j;
	int err;

	err = prof_add_type(sb->prof, "contentions", "count");
	if (err >= 0)
		err = prof_add_type(sb->prof, "delay", "nanoseconds");
	if (err < 0)
		return err;
	err = lock_aggregate(sb->rec, &agg);
	if (err)
		return err;
	add_main_mapping(sb);
	for (i = 0; i < agg.nr && !sb->err; i++) {
		const struct lock_entry *e = &agg.entries[i];

		lock_display_name(e, name, sizeof(name));
		snprintf(label, sizeof(label), "%s (%s)", name, lock_kind_name(e->kind));
		for (j = 0; j < e->nr_callsites && !sb->err; j++) {
			add_label(sb, e->comm[0] ? e->comm : "-");
			add_label(sb, label);
			add_stack(sb, e->callsites[j].stack_id, e->kernel ? 0 : e->pid, e->kernel,
				  "[missing stack]");
			finish_sample(sb, (int64_t)e->callsites[j].count,
				      (int64_t)e->callsites[j].total_ns);
		}
	}
	lock_agg_free(&agg);
	return sb->err;
}

/* Off-wake chains (o->view) have no file/line worth keeping: built from
 * the folded text (microseconds, exact as printed). */
static int profile_offwake(struct profile *prof, const struct recording *rec,
			   const struct report_opts *o)
{
	struct fg_tree tree;
	int err;

	prof_free(prof);
	err = fold_into_tree(rec, o, &tree);
	if (err)
		return err;
	err = prof_from_folded(prof, &tree, "off_cpu", "us");
	fg_tree_free(&tree);
	return err;
}

/* record's start_time, "2026-11-23T21:02:35Z", as ns since the epoch (pprof's
 * time_nanos: what Pyroscope and Parca file the profile under); 0 if absent. */
static uint64_t start_time_ns(const struct recording *rec)
{
	const char *s = rec_get_meta(rec, "start_time");
	struct tm tm = {};
	const char *end;
	time_t t;

	if (!s)
		return 0;
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!end || *end)
		return 0;
	t = timegm(&tm);
	return t > 0 ? (uint64_t)t * 1000000000ull : 0;
}

static int build_profile(struct profile *prof, const struct recording *rec,
			 const struct report_opts *o)
{
	struct sample_builder sb = { .prof = prof, .rec = rec };
	const char *dur = rec_get_meta(rec, "duration_ns");
	int err;

	err = prof_init(prof);
	if (err)
		return err;
	if (o->view == REPORT_VIEW_OFFWAKE) {
		err = profile_offwake(prof, rec, o);
		goto out;
	}
	sb.ns = malloc(sizeof(*sb.ns));
	if (!sb.ns) {
		err = -ENOMEM;
		goto out;
	}
	err = o->view == REPORT_VIEW_LOCKS ? profile_locks(&sb) : profile_offcpu(&sb, o);
	free(sb.ns);
out:
	if (!err && dur)
		prof->duration_ns = strtoull(dur, NULL, 10);
	if (!err)
		prof->time_ns = start_time_ns(rec);
	return err;
}

int report_pprof(FILE *out, const struct recording *rec, const struct report_opts *o)
{
	struct profile prof;
	int err;

	err = build_profile(&prof, rec, o);
	if (!err)
		err = prof_write_pprof(out, &prof);
	prof_free(&prof);
	return err;
}

int report_speedscope(FILE *out, const struct recording *rec, const struct report_opts *o)
{
	struct profile prof;
	int err;

	err = build_profile(&prof, rec, o);
	if (!err)
		err = prof_write_speedscope(out, &prof);
	prof_free(&prof);
	return err;
}
