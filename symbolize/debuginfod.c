// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Debug files from debuginfod servers, the way the ecosystem gets them
 * (gdb, perf, eu-stack): through elfutils' libdebuginfod, only when the user
 * set DEBUGINFOD_URLS, with its cache ($DEBUGINFOD_CACHE_PATH, else
 * ~/.cache/debuginfod_client) and its time-outs ($DEBUGINFOD_TIMEOUT).
 * Never used by default: without the variable no request leaves the host.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#ifdef HAVE_DEBUGINFOD
#include <elfutils/debuginfod.h>

static pthread_mutex_t client_lock = PTHREAD_MUTEX_INITIALIZER;
static debuginfod_client *client;
static bool client_tried;

static void end_client(void)
{
	if (client)
		debuginfod_end(client);
	client = NULL;
}

int debuginfod_fetch(const uint8_t *build_id, size_t len, char **path)
{
	const char *urls = getenv("DEBUGINFOD_URLS");
	int fd = -ENOSYS;

	*path = NULL;
	if (!urls || !*urls || !len)
		return -ENOSYS;
	/* One client for the process: it is not thread-safe, so calls queue. */
	pthread_mutex_lock(&client_lock);
	if (!client_tried) {
		client_tried = true;
		client = debuginfod_begin();
		if (client)
			atexit(end_client);
	}
	if (client)
		fd = debuginfod_find_debuginfo(client, build_id, (int)len, path);
	pthread_mutex_unlock(&client_lock);
	return fd;
}
#else
int debuginfod_fetch(const uint8_t *build_id, size_t len, char **path)
{
	(void)build_id;
	(void)len;
	*path = NULL;
	return -ENOSYS;
}
#endif
