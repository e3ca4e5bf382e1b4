// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Per-interval exports of record --events: CSV one interval a row, and
 * Chrome trace-event JSON (Perfetto UI, chrome://tracing): a track per
 * thread with its blocked and runnable spans, thread and process names, and
 * a flow arrow from each waker to the thread it woke.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "csv_write.h"
#include "json.h"
#include "report_csv.h"

static const char *state_name(__u8 state)
{
	switch (state) {
	case OFFCPU_INTERRUPTIBLE: return "S";
	case OFFCPU_UNINTERRUPTIBLE: return "D";
	case OFFCPU_PREEMPTED: return "R";
	default: return "?";
	}
}

/* The innermost named frame: what the thread was doing when it left. */
struct frame_cache {
	struct named_stack *ns;
	struct {
		__u32 pid;
		__u64 user_id, kern_id;
		char name[96];
		bool valid;
	} slot[1024];
};

static const char *innermost_function(struct frame_cache *fc, const struct recording *rec,
				      const struct offcpu_event *ev)
{
	unsigned int h = (unsigned int)((ev->user_stack_id * 31 + ev->kern_stack_id) ^
					ev->tgid) % 1024;
	__typeof__(fc->slot[0]) *s = &fc->slot[h];

	if (s->valid && s->pid == ev->tgid && s->user_id == ev->user_stack_id &&
	    s->kern_id == ev->kern_stack_id)
		return s->name;
	s->valid = true;
	s->pid = ev->tgid;
	s->user_id = ev->user_stack_id;
	s->kern_id = ev->kern_stack_id;
	stack_names(rec, ev->user_stack_id, ev->tgid, fc->ns);
	if (!fc->ns->nr)
		stack_names(rec, ev->kern_stack_id, 0, fc->ns);
	snprintf(s->name, sizeof(s->name), "%s", fc->ns->nr ? fc->ns->frames[0].name : "");
	return s->name;
}

static const char *const event_columns[] = {
	"off_ts_ns", "pid", "tid", "comm", "state", "total_ns", "blocked_ns", "runqueue_ns",
	"waker_tid", "user_stack_id", "kern_stack_id", "function", NULL,
};

int report_events_csv(FILE *out, const struct recording *rec)
{
	struct frame_cache *fc = calloc(1, sizeof(*fc));
	struct csv_writer w;
	size_t i;

	if (!fc || !(fc->ns = malloc(sizeof(*fc->ns)))) {
		free(fc);
		return -ENOMEM;
	}
	csv_writer_init(&w, out);
	csv_header(&w, event_columns);
	for (i = 0; i < rec->nr_events; i++) {
		const struct offcpu_event *ev = &rec->events[i];

		csv_field_u64(&w, ev->off_ts);
		csv_field_u64(&w, ev->tgid);
		csv_field_u64(&w, ev->tid);
		csv_field_len(&w, ev->comm, strnlen(ev->comm, TASK_COMM_LEN));
		csv_field(&w, state_name(ev->state));
		csv_field_u64(&w, ev->total_ns);
		csv_field_u64(&w, ev->blocked_ns);
		csv_field_u64(&w, ev->total_ns - ev->blocked_ns);
		csv_field_u64(&w, ev->waker_tid);
		csv_field_u64(&w, ev->user_stack_id);
		csv_field_u64(&w, ev->kern_stack_id);
		csv_field(&w, innermost_function(fc, rec, ev));
		csv_end_row(&w);
	}
	free(fc->ns);
	free(fc);
	return 0;
}

/* ---- Chrome trace ---- */

struct thread_ref {
	__u32 tid, tgid;
	const char *comm;	/* in the events array */
};

static int cmp_thread_ref(const void *a, const void *b)
{
	const struct thread_ref *x = a, *y = b;

	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

/* Unique threads of the events, sorted by tid (last comm seen wins). */
static struct thread_ref *collect_threads(const struct recording *rec, size_t *nr)
{
	struct thread_ref *t = malloc((rec->nr_events ? rec->nr_events : 1) * sizeof(*t));
	size_t i, n = 0;

	if (!t)
		return NULL;
	for (i = 0; i < rec->nr_events; i++) {
		t[i].tid = rec->events[i].tid;
		t[i].tgid = rec->events[i].tgid;
		t[i].comm = rec->events[i].comm;
	}
	if (rec->nr_events)
		qsort(t, rec->nr_events, sizeof(*t), cmp_thread_ref);
	for (i = 0; i < rec->nr_events; i++) {
		if (n && t[n - 1].tid == t[i].tid)
			t[n - 1] = t[i];
		else
			t[n++] = t[i];
	}
	*nr = n;
	return t;
}

static const struct thread_ref *find_thread(const struct thread_ref *t, size_t nr, __u32 tid)
{
	struct thread_ref key = { .tid = tid };

	return nr ? bsearch(&key, t, nr, sizeof(key), cmp_thread_ref) : NULL;
}

static void write_ts(FILE *out, const char *key, __u64 ns)
{
	fprintf(out, ",\"%s\":%llu.%03llu", key, (unsigned long long)(ns / 1000),
		(unsigned long long)(ns % 1000));
}

static void write_metadata(FILE *out, const struct recording *rec,
			   const struct thread_ref *t, size_t nr, bool *first)
{
	__u32 last_pid = 0;
	size_t i;

	for (i = 0; i < nr; i++) {
		fprintf(out, "%s{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%u,\"tid\":%u,"
			"\"args\":{\"name\":", *first ? "" : ",\n", t[i].tgid, t[i].tid);
		json_write_string_len(out, t[i].comm, strnlen(t[i].comm, TASK_COMM_LEN));
		fputs("}}", out);
		*first = false;
	}
	for (i = 0; i < rec->nr_procs; i++) {
		const struct rec_process *p = &rec->procs[i];

		if ((__u32)p->pid == last_pid)
			continue;
		last_pid = p->pid;
		fprintf(out, ",\n{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":%d,\"tid\":%d,"
			"\"args\":{\"name\":", p->pid, p->pid);
		json_write_string(out, p->exe && p->exe[0] ? p->exe : p->comm);
		fputs("}}", out);
	}
}

static void write_span(FILE *out, const char *cat, const char *name, const struct offcpu_event *ev,
		       __u64 start, __u64 dur)
{
	fprintf(out, ",\n{\"ph\":\"X\",\"cat\":\"%s\",\"name\":", cat);
	json_write_string(out, name);
	fprintf(out, ",\"pid\":%u,\"tid\":%u", ev->tgid, ev->tid);
	write_ts(out, "ts", start);
	write_ts(out, "dur", dur);
	fprintf(out, ",\"args\":{\"state\":\"%s\",\"waker_tid\":%u}}", state_name(ev->state),
		ev->waker_tid);
}

/* A zero-length slice on the waker's track, where the arrow starts. */
static void write_wake_flow(FILE *out, const struct offcpu_event *ev, __u64 wake,
			    const struct thread_ref *waker, __u64 flow_id)
{
	__u32 wpid = waker ? waker->tgid : ev->waker_tid;

	fprintf(out, ",\n{\"ph\":\"X\",\"cat\":\"wakeup\",\"name\":\"wakes %u\",\"pid\":%u,"
		"\"tid\":%u", ev->tid, wpid, ev->waker_tid);
	write_ts(out, "ts", wake);
	fputs(",\"dur\":0}", out);
	fprintf(out, ",\n{\"ph\":\"s\",\"cat\":\"wakeup\",\"name\":\"wakeup\",\"id\":%llu,"
		"\"pid\":%u,\"tid\":%u", (unsigned long long)flow_id, wpid, ev->waker_tid);
	write_ts(out, "ts", wake);
	fprintf(out, "}");
	fprintf(out, ",\n{\"ph\":\"f\",\"bp\":\"e\",\"cat\":\"wakeup\",\"name\":\"wakeup\","
		"\"id\":%llu,\"pid\":%u,\"tid\":%u", (unsigned long long)flow_id, ev->tgid,
		ev->tid);
	write_ts(out, "ts", wake);
	fprintf(out, "}");
}

static void write_event(FILE *out, struct frame_cache *fc, const struct recording *rec,
			const struct offcpu_event *ev, __u64 base, const struct thread_ref *t,
			size_t nr, __u64 *flow_id)
{
	__u64 start = ev->off_ts - base, wake = start + ev->blocked_ns;
	const char *fn = innermost_function(fc, rec, ev);
	char name[128];

	if (ev->state == OFFCPU_PREEMPTED) {
		write_span(out, "runnable", "preempted", ev, start, ev->total_ns);
		return;
	}
	snprintf(name, sizeof(name), "blocked %s%s%s", state_name(ev->state), fn[0] ? ": " : "",
		 fn);
	write_span(out, "blocked", name, ev, start, ev->blocked_ns);
	if (ev->total_ns > ev->blocked_ns)
		write_span(out, "runnable", "runnable", ev, wake, ev->total_ns - ev->blocked_ns);
	if (ev->waker_tid)
		write_wake_flow(out, ev, wake, find_thread(t, nr, ev->waker_tid), ++*flow_id);
}

int report_chrome_trace(FILE *out, const struct recording *rec)
{
	struct frame_cache *fc = calloc(1, sizeof(*fc));
	struct thread_ref *threads = NULL;
	__u64 base = ~0ULL, flow_id = 0;
	bool first = true;
	size_t nr = 0, i;

	if (!fc || !(fc->ns = malloc(sizeof(*fc->ns))) ||
	    !(threads = collect_threads(rec, &nr))) {
		if (fc)
			free(fc->ns);
		free(fc);
		return -ENOMEM;
	}
	for (i = 0; i < rec->nr_events; i++)
		if (rec->events[i].off_ts < base)
			base = rec->events[i].off_ts;
	fputs("{\"displayTimeUnit\":\"ns\",\"otherData\":{\"clock\":\"CLOCK_MONOTONIC\","
	      "\"base_ns\":", out);
	fprintf(out, "%llu},\n\"traceEvents\":[\n", (unsigned long long)(rec->nr_events ? base : 0));
	write_metadata(out, rec, threads, nr, &first);
	if (first)	/* no threads: keep the array well-formed */
		fputs("{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":0,\"tid\":0,"
		      "\"args\":{\"name\":\"no events\"}}", out);
	for (i = 0; i < rec->nr_events; i++)
		write_event(out, fc, rec, &rec->events[i], base, threads, nr, &flow_id);
	fputs("\n]}\n", out);
	free(threads);
	free(fc->ns);
	free(fc);
	return 0;
}
