/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What waitprof agent serves: the last windows (a ring) and the metrics
 * summed over all windows, shared between the recording thread, which adds
 * windows, and the HTTP server's thread, which reads them.
 */
#ifndef WAITPROF_AGENT_SERVE_H
#define WAITPROF_AGENT_SERVE_H

#include <pthread.h>

#include "http_server.h"
#include "prom_metrics.h"
#include "recording.h"

#define AGENT_MAX_KEEP	1024

struct agent_serve {
	pthread_mutex_t lock;
	struct prom_metrics *metrics;
	struct recording *ring[AGENT_MAX_KEEP];	/* oldest first */
	unsigned int nr, keep;
	double window_s;
};

int agent_serve_init(struct agent_serve *s, unsigned int keep, double window_s,
		     unsigned int max_locks, unsigned int max_comms);
void agent_serve_fini(struct agent_serve *s);
/* Takes win (a finished window); frees the oldest beyond keep. 0 or -errno. */
int agent_serve_add(struct agent_serve *s, struct recording *win);
/* The HTTP handler (http_server.h); ctx is the agent_serve. */
void agent_serve_http(void *ctx, const char *path, struct http_request *req,
		      struct http_reply *r);

#endif
