/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A small read-only HTTP server on libmicrohttpd: GET only, one handler
 * that fills a reply. libmicrohttpd parses the requests and enforces the
 * limits (header sizes, connection count, idle timeouts), so a misbehaving
 * client gets a 4xx or is dropped, never more than its own connection.
 */
#ifndef WAITPROF_HTTP_SERVER_H
#define WAITPROF_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>

struct http_request;

struct http_reply {
	unsigned int status;
	const char *content_type;
	char *body;		/* malloc'd; the server frees it */
	size_t len;
	bool gzip;		/* body is gzip-compressed (Content-Encoding unset) */
};

/* The query argument NAME of the request, or NULL. */
const char *http_request_arg(struct http_request *req, const char *name);

/* Called from the server's thread for every GET; fills r. */
typedef void (*http_handler_fn)(void *ctx, const char *path, struct http_request *req,
				struct http_reply *r);

struct http_server;

/* Listens on "ADDR:PORT" (IPv4 or [IPv6]:PORT). 0 or -errno. */
int http_server_start(struct http_server **out, const char *listen, http_handler_fn fn,
		      void *ctx);
/* The port listened on (useful with port 0). */
unsigned int http_server_port(const struct http_server *s);
void http_server_stop(struct http_server *s);
/* Sets r to a text/plain reply with a copy of msg. */
void http_reply_text(struct http_reply *r, unsigned int status, const char *msg);

#endif
