// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The HTTP server (http_server.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_server.h"
#include "util.h"

#if MHD_VERSION < 0x00097002
typedef int MHD_RESULT;
#else
typedef enum MHD_Result MHD_RESULT;
#endif

/* Bounds against misbehaving scrapers: a request's headers must fit in
 * CONN_MEMORY (else 431), an idle connection is closed after
 * CONN_TIMEOUT_S, and at most MAX_CONNS are open at once. */
#define CONN_MEMORY	(32 * 1024)
#define CONN_TIMEOUT_S	10
#define MAX_CONNS	64

struct http_server {
	struct MHD_Daemon *daemon;
	http_handler_fn fn;
	void *ctx;
	unsigned int port;
};

struct http_request {
	struct MHD_Connection *conn;
};

const char *http_request_arg(struct http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

void http_reply_text(struct http_reply *r, unsigned int status, const char *msg)
{
	free(r->body);
	r->status = status;
	r->content_type = "text/plain; charset=utf-8";
	r->body = strdup(msg);
	r->len = r->body ? strlen(r->body) : 0;
	r->gzip = false;
}

static MHD_RESULT send_reply(struct MHD_Connection *conn, struct http_reply *r)
{
	struct MHD_Response *resp;
	MHD_RESULT ret;

	resp = MHD_create_response_from_buffer(r->len, r->body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(r->body);
		return MHD_NO;
	}
	if (r->content_type)
		MHD_add_response_header(resp, "Content-Type", r->content_type);
	ret = MHD_queue_response(conn, r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static MHD_RESULT on_request(void *cls, struct MHD_Connection *conn, const char *url,
			     const char *method, const char *version, const char *upload_data,
			     size_t *upload_size, void **state)
{
	static int first_call;
	struct http_server *s = cls;
	struct http_request req = { conn };
	struct http_reply r = { 0 };

	(void)version;
	(void)upload_data;
	/* The first call only announces the headers: reply on the second,
	 * after any body was read (and ignored). */
	if (!*state) {
		*state = &first_call;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0;
		return MHD_YES;
	}
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		http_reply_text(&r, 405, "only GET\n");
	else
		s->fn(s->ctx, url, &req, &r);
	if (!r.body && !r.status)
		http_reply_text(&r, 500, "no reply\n");
	return send_reply(conn, &r);
}

/* "127.0.0.1:9465", "[::1]:9465", ":9465" (all IPv4 addresses). */
static int parse_listen(const char *listen, struct sockaddr_storage *ss, bool *v6)
{
	char host[128];
	const char *colon = strrchr(listen, ':');
	uint64_t port;
	size_t hlen;

	if (!colon || !parse_u64(colon + 1, &port) || port > 65535)
		return -EINVAL;
	hlen = colon - listen;
	if (hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, listen, hlen);
	host[hlen] = '\0';
	memset(ss, 0, sizeof(*ss));
	*v6 = host[0] == '[';
	if (*v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		if (hlen < 2 || host[hlen - 1] != ']')
			return -EINVAL;
		host[hlen - 1] = '\0';
		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		return inet_pton(AF_INET6, host + 1, &a->sin6_addr) == 1 ? 0 : -EINVAL;
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ss;

	a->sin_family = AF_INET;
	a->sin_port = htons(port);
	if (!hlen)
		return 0;
	return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : -EINVAL;
}

int http_server_start(struct http_server **out, const char *listen, http_handler_fn fn,
		      void *ctx)
{
	struct http_server *s = calloc(1, sizeof(*s));
	const union MHD_DaemonInfo *info;
	struct sockaddr_storage ss;
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	bool v6;
	int err;

	if (!s)
		return -ENOMEM;
	err = parse_listen(listen, &ss, &v6);
	if (err) {
		free(s);
		return err;
	}
	if (v6)
		flags |= MHD_USE_IPv6;
	s->fn = fn;
	s->ctx = ctx;
	s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
				     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
				     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)CONN_TIMEOUT_S,
				     MHD_OPTION_CONNECTION_LIMIT, (unsigned int)MAX_CONNS,
				     MHD_OPTION_END);
	if (!s->daemon) {
		err = errno ? -errno : -EADDRINUSE;
		free(s);
		return err;
	}
	info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : 0;
	*out = s;
	return 0;
}

unsigned int http_server_port(const struct http_server *s)
{
	return s->port;
}

void http_server_stop(struct http_server *s)
{
	if (!s)
		return;
	MHD_stop_daemon(s->daemon);
	free(s);
}
