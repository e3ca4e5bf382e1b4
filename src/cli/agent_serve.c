// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The agent's endpoints (agent_serve.h, docs/AGENT.md). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "agent_serve.h"
#include "rec_merge.h"
#include "report.h"
#include "report_export.h"
#include "util.h"

int agent_serve_init(struct agent_serve *s, unsigned int keep, double window_s,
		     unsigned int max_locks, unsigned int max_comms)
{
	memset(s, 0, sizeof(*s));
	s->keep = keep;
	s->window_s = window_s;
	s->metrics = prom_metrics_new(max_locks, max_comms);
	if (!s->metrics)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	return 0;
}

void agent_serve_fini(struct agent_serve *s)
{
	unsigned int i;

	for (i = 0; i < s->nr; i++)
		rec_free(s->ring[i]);
	prom_metrics_free(s->metrics);
	pthread_mutex_destroy(&s->lock);
}

int agent_serve_add(struct agent_serve *s, struct recording *win)
{
	struct recording *old = NULL;
	int err;

	pthread_mutex_lock(&s->lock);
	err = prom_metrics_add_window(s->metrics, win);
	if (s->nr == s->keep) {
		old = s->ring[0];
		memmove(s->ring, s->ring + 1, (s->nr - 1) * sizeof(s->ring[0]));
		s->nr--;
	}
	s->ring[s->nr++] = win;
	pthread_mutex_unlock(&s->lock);
	rec_free(old);
	return err;
}

static double cpu_seconds(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		return 0;
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* The reply's body from a memory stream; false when out of memory. */
static bool stream_open(FILE **f, char **buf, size_t *len)
{
	*buf = NULL;
	*len = 0;
	*f = open_memstream(buf, len);
	return *f != NULL;
}

static void serve_metrics(struct agent_serve *s, struct http_reply *r)
{
	FILE *f;

	if (!stream_open(&f, &r->body, &r->len)) {
		http_reply_text(r, 500, "out of memory\n");
		return;
	}
	pthread_mutex_lock(&s->lock);
	prom_metrics_write(f, s->metrics, cpu_seconds());
	pthread_mutex_unlock(&s->lock);
	if (fclose(f)) {
		http_reply_text(r, 500, "out of memory\n");
		return;
	}
	r->status = 200;
	r->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

/* ?seconds=N: whole seconds, 1 up to what the ring holds; default one
 * window. 0 and sets *msg when bad. */
static unsigned int windows_for(const struct agent_serve *s, const char *arg, const char **msg)
{
	uint64_t secs;
	double n;

	if (!arg)
		return 1;
	if (!parse_u64(arg, &secs) || !secs || secs > 1000000) {
		*msg = "seconds: a whole number of seconds, 1 or more\n";
		return 0;
	}
	n = ceil((double)secs / s->window_s - 1e-9);
	if (n > s->keep) {
		*msg = "seconds: more than the agent keeps (--keep windows of --window seconds)\n";
		return 0;
	}
	return n < 1 ? 1 : (unsigned int)n;
}

/* The last n windows as one recording (under s->lock). */
static struct recording *merge_last(struct agent_serve *s, unsigned int n)
{
	struct recording *rec = rec_new();
	unsigned int i;

	if (!rec)
		return NULL;
	if (n > s->nr)
		n = s->nr;
	for (i = s->nr - n; i < s->nr; i++) {
		if (rec_merge_into(rec, s->ring[i])) {
			rec_free(rec);
			return NULL;
		}
	}
	rec_finish(rec);
	return rec;
}

static void serve_pprof(struct agent_serve *s, enum report_view view, struct http_request *req,
			struct http_reply *r)
{
	struct report_opts o = { .wait = WAIT_ALL, .view = view };
	const char *msg = NULL;
	unsigned int n = windows_for(s, http_request_arg(req, "seconds"), &msg);
	struct recording *rec;
	FILE *f;
	int err;

	if (!n) {
		http_reply_text(r, 400, msg);
		return;
	}
	pthread_mutex_lock(&s->lock);
	rec = s->nr ? merge_last(s, n) : NULL;
	pthread_mutex_unlock(&s->lock);
	if (!rec) {
		http_reply_text(r, 503, "no window recorded yet (or out of memory)\n");
		return;
	}
	if (!stream_open(&f, &r->body, &r->len)) {
		rec_free(rec);
		http_reply_text(r, 500, "out of memory\n");
		return;
	}
	err = report_pprof(f, rec, &o);
	rec_free(rec);
	if (fclose(f) || err) {
		http_reply_text(r, 500, "cannot write the profile\n");
		return;
	}
	r->status = 200;
	r->content_type = "application/octet-stream";
}

void agent_serve_http(void *ctx, const char *path, struct http_request *req,
		      struct http_reply *r)
{
	struct agent_serve *s = ctx;

	if (!strcmp(path, "/metrics"))
		serve_metrics(s, r);
	else if (!strcmp(path, "/debug/pprof/offcpu"))
		serve_pprof(s, REPORT_VIEW_OFFCPU, req, r);
	else if (!strcmp(path, "/debug/pprof/mutex"))
		serve_pprof(s, REPORT_VIEW_LOCKS, req, r);
	else if (!strcmp(path, "/"))
		http_reply_text(r, 200, "waitprof agent: /metrics, /debug/pprof/offcpu?seconds=N, "
				"/debug/pprof/mutex?seconds=N\n");
	else
		http_reply_text(r, 404, "not found\n");
}
