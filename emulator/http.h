/*
 * http: daytona-emulator's HTTP layer — libmicrohttpd with a thread pool
 * on epoll, each request as it arrived (raw URI, body capped at
 * EMU_BODY_MAX), the answer under construction, and the parsing of paths
 * and query strings. It knows nothing of Daytona: a complete request goes
 * to routes_answer(), which fills in its struct resp.
 *
 * Strings returned by the parsers are the caller's: http_percent_decode()'s
 * result is freed with free(), a struct http_query or struct http_path with
 * its _free() function.
 */
#ifndef SF_EMULATOR_HTTP_H
#define SF_EMULATOR_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "common/buf.h"

#define HTTP_PATH_SEGS_MAX 8 /* longer paths are no route */

struct server;
struct req;

/* An answer under construction. */
struct resp {
	int status; /* -1: suspended, answered later */
	struct buf body;
	struct buf headers; /* "Name\0Value\0" pairs */
	bool drop;          /* close the connection without answering */
};

/* http_header: add a response header (both strings are copied). */
void http_header(struct resp *r, const char *name, const char *value);
/* http_reason: the reason phrase of status ("Not Found"). */
const char *http_reason(int status);
/*
 * http_error: make r the error body of the server's global exception
 * filter, {path, timestamp, statusCode, error, message}; path is the raw
 * URI.
 */
void http_error(struct resp *r, const char *path, int status, const char *msg);

/* http_percent_decode: decode %XX (and '+' as space when plus); NULL when
 * an escape is malformed. */
char *http_percent_decode(const char *s, size_t len, bool plus);

/*
 * A query string as key/value pairs, in order, decoded as qs does: '+' is
 * a space and %XX escapes are decoded, unless they are malformed or do not
 * decode to UTF-8, in which case they stay as they were.
 */
struct http_query {
	struct http_param {
		char *key, *value;
	} * v;
	int n;
};

void http_query_parse(const char *query, struct http_query *out);
/* http_query_get: the first value of key, or NULL. */
const char *http_query_get(const struct http_query *p, const char *key);
void http_query_free(struct http_query *p);

/* The segments of a path after its leading '/', percent-decoded. */
struct http_path {
	char *v[HTTP_PATH_SEGS_MAX];
	int n;
};

/*
 * http_path_parse: split and decode; a trailing slash is ignored, as
 * Express does. -1 (and an empty path) for a malformed escape, a segment
 * that does not decode to UTF-8, or more than HTTP_PATH_SEGS_MAX segments.
 */
int http_path_parse(const char *path, struct http_path *s);
void http_path_free(struct http_path *s);

/* http_addr_is_loopback: 127.0.0.0/8, ::1 or ::ffff:127.x.y.z. */
bool http_addr_is_loopback(const struct sockaddr_storage *a);

/* What a request carries in its headers. */
bool http_is_json(const struct req *q); /* a JSON Content-Type */
/* http_bearer: the token of "Authorization: Bearer TOKEN", or NULL. */
const char *http_bearer(const struct req *q);

/*
 * http_start: listen on srv->opts.addr with srv->opts.threads threads and
 * set srv->d and srv->port; SF_ENET with the message set when the address
 * cannot be bound. http_quiesce stops accepting; http_stop answers what is
 * left and stops the daemon.
 */
int http_start(struct server *srv);
void http_quiesce(struct server *srv);
void http_stop(struct server *srv);
/* Suspend q (from its handler) or resume it (from any thread). */
void http_suspend(struct req *q);
void http_resume(struct req *q);

#endif
