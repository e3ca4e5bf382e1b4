// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Prometheus metrics of waitprof agent (prom_metrics.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"
#include "lock_agg.h"
#include "lock_verdict.h"
#include "offcpu_agg.h"
#include "prom_metrics.h"
#include "stack_names.h"

/* Histogram bounds in seconds: 1-2-5 steps from 1 us to 100 s. */
#define PROM_NR_LE	25
#define OTHER		"other"

struct lock_series {
	char *lock, *kind, *comm;
	__u64 le_count[PROM_NR_LE + 1];	/* per bound, +Inf last (not cumulative) */
	__u64 count;
	__u64 sum_ns;
	int bimodal;			/* the verdict of the last window with waits */
};

struct comm_series {
	char comm[TASK_COMM_LEN];
	__u64 blocked_ns;
	__u64 runqueue_ns;
};

struct health {
	char *name;
	__u64 value;
};

struct prom_metrics {
	unsigned int max_locks, max_comms;
	struct lock_series *locks;	/* the last one may be "other" */
	size_t nr_locks;
	struct comm_series *comms;
	size_t nr_comms;
	struct health *health;
	size_t nr_health;
	__u64 windows;
	__u64 le_ns[PROM_NR_LE];
};

struct prom_metrics *prom_metrics_new(unsigned int max_locks, unsigned int max_comms)
{
	struct prom_metrics *m = calloc(1, sizeof(*m));
	static const unsigned int steps[3] = { 1, 2, 5 };
	unsigned long long decade = 1000;	/* 1 us */
	int i;

	if (!m)
		return NULL;
	m->max_locks = max_locks ? max_locks : 1;
	m->max_comms = max_comms ? max_comms : 1;
	for (i = 0; i < PROM_NR_LE; i++) {
		m->le_ns[i] = decade * steps[i % 3];
		if (i % 3 == 2)
			decade *= 10;
	}
	return m;
}

void prom_metrics_free(struct prom_metrics *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->nr_locks; i++) {
		free(m->locks[i].lock);
		free(m->locks[i].kind);
		free(m->locks[i].comm);
	}
	for (i = 0; i < m->nr_health; i++)
		free(m->health[i].name);
	free(m->locks);
	free(m->comms);
	free(m->health);
	free(m);
}

static struct lock_series *find_lock(struct prom_metrics *m, const char *lock,
				     const char *kind, const char *comm)
{
	size_t i;

	for (i = 0; i < m->nr_locks; i++) {
		struct lock_series *s = &m->locks[i];

		if (!strcmp(s->lock, lock) && !strcmp(s->kind, kind) && !strcmp(s->comm, comm))
			return s;
	}
	return NULL;
}

static struct lock_series *add_lock(struct prom_metrics *m, const char *lock, const char *kind,
				    const char *comm)
{
	struct lock_series *arr = realloc(m->locks, (m->nr_locks + 1) * sizeof(*arr)), *s;

	if (!arr)
		return NULL;
	m->locks = arr;
	s = &arr[m->nr_locks];
	memset(s, 0, sizeof(*s));
	s->lock = strdup(lock);
	s->kind = strdup(kind);
	s->comm = strdup(comm);
	if (!s->lock || !s->kind || !s->comm) {
		free(s->lock);
		free(s->kind);
		free(s->comm);
		return NULL;
	}
	m->nr_locks++;
	return s;
}

/* The series of a lock: its own while there is room (one slot is kept for
 * "other"), else "other". */
static struct lock_series *lock_series_for(struct prom_metrics *m, const char *lock,
					   const char *kind, const char *comm)
{
	struct lock_series *s = find_lock(m, lock, kind, comm);

	if (s)
		return s;
	if (m->nr_locks + 1 < m->max_locks || m->max_locks == 1)
		return m->max_locks == 1 ? NULL : add_lock(m, lock, kind, comm);
	s = find_lock(m, OTHER, OTHER, OTHER);
	return s ? s : add_lock(m, OTHER, OTHER, OTHER);
}

static void add_lock_entry(struct prom_metrics *m, struct lock_series *s,
			   const struct lock_entry *e)
{
	unsigned int b, le;

	for (b = 0; b < HIST_NR_BUCKETS; b++) {
		unsigned long long upper = hist_bucket_upper(b);

		if (!e->hist_count[b])
			continue;
		for (le = 0; le < PROM_NR_LE && m->le_ns[le] < upper; le++)
			;
		s->le_count[le] += e->hist_count[b];
		s->count += e->hist_count[b];
		s->sum_ns += e->hist_sum_ns[b];
	}
}

static int add_locks(struct prom_metrics *m, const struct recording *win)
{
	struct named_stack *ns = malloc(sizeof(*ns));
	struct lock_agg agg = { 0 };
	double dur = recording_duration_s(win);
	char name[256];
	size_t i;
	int err;

	if (!ns)
		return -ENOMEM;
	err = lock_aggregate(win, &agg);
	for (i = 0; i < agg.nr && !err; i++) {
		const struct lock_entry *e = &agg.entries[i];
		struct lock_verdict v;
		struct lock_series *s;

		if (!e->contentions)
			continue;
		lock_display_name(e, name, sizeof(name));
		s = lock_series_for(m, name, lock_kind_name(e->kind), e->comm);
		if (!s) {
			err = -ENOMEM;
			break;
		}
		add_lock_entry(m, s, e);
		if (strcmp(s->lock, OTHER)) {
			lock_verdict_judge(win, e, NULL, dur, ns, &v);
			s->bimodal = v.judgement == LOCK_BIMODAL || v.judgement == LOCK_SLOW_HOLDER;
		}
	}
	lock_agg_free(&agg);
	free(ns);
	return err;
}

static struct comm_series *comm_series_for(struct prom_metrics *m, const char *comm)
{
	struct comm_series *arr;
	const char *name = comm;
	size_t i;

	for (;;) {
		for (i = 0; i < m->nr_comms; i++)
			if (!strcmp(m->comms[i].comm, name))
				return &m->comms[i];
		if (name == comm && m->nr_comms + 1 >= m->max_comms)
			name = OTHER;	/* full: look for, or make, "other" */
		else
			break;
	}
	arr = realloc(m->comms, (m->nr_comms + 1) * sizeof(*arr));
	if (!arr)
		return NULL;
	m->comms = arr;
	memset(&arr[m->nr_comms], 0, sizeof(*arr));
	snprintf(arr[m->nr_comms].comm, sizeof(arr->comm), "%s", name);
	return &arr[m->nr_comms++];
}

/* Thread names in order of off-CPU time, so the largest get series first. */
static int add_offcpu(struct prom_metrics *m, const struct recording *win)
{
	struct offcpu_agg agg = { 0 };
	size_t i;
	int err;

	err = offcpu_aggregate(win, WAIT_ALL, &agg);
	for (i = 0; i < agg.nr && !err; i++) {
		const struct offcpu_entry *e = &agg.entries[i];
		struct comm_series *s = comm_series_for(m, e->comm);

		if (!s) {
			err = -ENOMEM;
			break;
		}
		s->blocked_ns += e->blocked_ns;
		s->runqueue_ns += e->total_ns - e->blocked_ns;
	}
	offcpu_agg_free(&agg);
	return err;
}

static bool is_health_counter(const char *name)
{
	return strstr(name, "dropped") || strstr(name, "lost") || strstr(name, "missing");
}

/* Health counters are the collectors' totals since start: the last wins. */
static int add_health(struct prom_metrics *m, const struct recording *win)
{
	size_t i, j;

	for (i = 0; i < win->nr_counters; i++) {
		const struct rec_counter *c = &win->counters[i];
		struct health *arr;

		if (!is_health_counter(c->name))
			continue;
		for (j = 0; j < m->nr_health && strcmp(m->health[j].name, c->name); j++)
			;
		if (j < m->nr_health) {
			m->health[j].value = c->value;
			continue;
		}
		arr = realloc(m->health, (m->nr_health + 1) * sizeof(*arr));
		if (!arr)
			return -ENOMEM;
		m->health = arr;
		arr[j].name = strdup(c->name);
		if (!arr[j].name)
			return -ENOMEM;
		arr[j].value = c->value;
		m->nr_health++;
	}
	return 0;
}

int prom_metrics_add_window(struct prom_metrics *m, const struct recording *win)
{
	int err = add_offcpu(m, win);

	if (!err)
		err = add_locks(m, win);
	if (!err)
		err = add_health(m, win);
	m->windows++;
	return err;
}

void prom_label_value(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", out);
		else if (*s == '"')
			fputs("\\\"", out);
		else if (*s == '\n')
			fputs("\\n", out);
		else
			fputc(*s, out);
	}
	fputc('"', out);
}

static void lock_labels(FILE *out, const struct lock_series *s)
{
	fputs("lock=", out);
	prom_label_value(out, s->lock);
	fputs(",kind=", out);
	prom_label_value(out, s->kind);
	fputs(",comm=", out);
	prom_label_value(out, s->comm);
}

static void write_lock_hist(FILE *out, const struct prom_metrics *m, const struct lock_series *s)
{
	__u64 cum = 0;
	int le;

	for (le = 0; le <= PROM_NR_LE; le++) {
		cum += s->le_count[le];
		fputs("waitprof_lock_wait_seconds_bucket{", out);
		lock_labels(out, s);
		if (le < PROM_NR_LE)
			fprintf(out, ",le=\"%g\"} %llu\n", m->le_ns[le] / 1e9, (unsigned long long)cum);
		else
			fprintf(out, ",le=\"+Inf\"} %llu\n", (unsigned long long)cum);
	}
	fputs("waitprof_lock_wait_seconds_sum{", out);
	lock_labels(out, s);
	fprintf(out, "} %.9f\n", s->sum_ns / 1e9);
	fputs("waitprof_lock_wait_seconds_count{", out);
	lock_labels(out, s);
	fprintf(out, "} %llu\n", (unsigned long long)s->count);
}

static void write_offcpu(FILE *out, const struct prom_metrics *m)
{
	size_t i;

	fputs("# HELP waitprof_offcpu_seconds_total Time threads spent off-CPU: blocked "
	      "(switch-out to wakeup) or runqueue (wakeup to switch-in).\n"
	      "# TYPE waitprof_offcpu_seconds_total counter\n", out);
	for (i = 0; i < m->nr_comms; i++) {
		fputs("waitprof_offcpu_seconds_total{comm=", out);
		prom_label_value(out, m->comms[i].comm);
		fprintf(out, ",wait=\"blocked\"} %.9f\n", m->comms[i].blocked_ns / 1e9);
		fputs("waitprof_offcpu_seconds_total{comm=", out);
		prom_label_value(out, m->comms[i].comm);
		fprintf(out, ",wait=\"runqueue\"} %.9f\n", m->comms[i].runqueue_ns / 1e9);
	}
}

static void write_locks(FILE *out, const struct prom_metrics *m)
{
	size_t i;

	fputs("# HELP waitprof_lock_wait_seconds Contended lock waits (the blocked part).\n"
	      "# TYPE waitprof_lock_wait_seconds histogram\n", out);
	for (i = 0; i < m->nr_locks; i++)
		write_lock_hist(out, m, &m->locks[i]);
	fputs("# HELP waitprof_lock_bimodal 1 when the lock's last verdict is bimodal or "
	      "slow-holder (waitprof report's lock verdict).\n"
	      "# TYPE waitprof_lock_bimodal gauge\n", out);
	for (i = 0; i < m->nr_locks; i++) {
		if (!strcmp(m->locks[i].lock, OTHER))
			continue;
		fputs("waitprof_lock_bimodal{", out);
		lock_labels(out, &m->locks[i]);
		fprintf(out, "} %d\n", m->locks[i].bimodal);
	}
}

void prom_metrics_write(FILE *out, const struct prom_metrics *m, double cpu_s)
{
	size_t i;

	write_offcpu(out, m);
	write_locks(out, m);
	fputs("# HELP waitprof_dropped_total What the recorder lost or dropped, by kind "
	      "(the recording's counters).\n# TYPE waitprof_dropped_total counter\n", out);
	for (i = 0; i < m->nr_health; i++) {
		fputs("waitprof_dropped_total{kind=", out);
		prom_label_value(out, m->health[i].name);
		fprintf(out, "} %llu\n", (unsigned long long)m->health[i].value);
	}
	fprintf(out, "# HELP waitprof_recorder_cpu_seconds_total CPU time of the agent itself.\n"
		"# TYPE waitprof_recorder_cpu_seconds_total counter\n"
		"waitprof_recorder_cpu_seconds_total %.6f\n", cpu_s);
	fprintf(out, "# HELP waitprof_windows_total Windows recorded.\n"
		"# TYPE waitprof_windows_total counter\nwaitprof_windows_total %llu\n",
		(unsigned long long)m->windows);
}
