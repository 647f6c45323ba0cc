/*
 * http: libmicrohttpd for daytona-emulator.
 *
 * Every request gets a struct req from the URI-log callback (which also
 * hands us the raw URI, query string included, before libmicrohttpd
 * decodes it) and loses it in the completion callback. The access handler
 * collects the body (refusing to keep more than EMU_BODY_MAX: the request
 * is still read, then answered 413), then hands the request to
 * routes_answer(). An answer of status -1 means the request was suspended:
 * libmicrohttpd calls the access handler again once it is resumed.
 */
#include "common/base.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <strings.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <microhttpd.h>

#include "common/error.h"
#include "common/log.h"
#include "common/strnum.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "emulator/internal.h"
#include "emulator/routes.h"
#include "emulator/utf8.h"

#define LISTEN_BACKLOG     1024u
#define CONNECTION_TIMEOUT 120u /* seconds of silence before a close */

/* --- answers ---------------------------------------------------------- */

void
http_header(struct resp *r, const char *name, const char *value)
{
	buf_add(&r->headers, name, strlen(name) + 1);
	buf_add(&r->headers, value, strlen(value) + 1);
}

const char *
http_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 409:
		return "Conflict";
	case 413:
		return "Payload Too Large";
	case 422:
		return "Unprocessable Entity";
	case 429:
		return "Too Many Requests";
	case 503:
		return "Service Unavailable";
	default:
		return "Internal Server Error";
	}
}

/* the error body of the global exception filter (daytona-api.md §2.1) */
void
http_error(struct resp *r, const char *path, int status, const char *msg)
{
	char iso[SF_ISO8601_LEN + 1];

	time_format_iso(time_now_ms(), iso);
	r->status = status;
	buf_reset(&r->body);
	buf_addstr(&r->body, "{\"path\":");
	buf_add_json_string(&r->body, path);
	buf_addf(&r->body,
	         ",\"timestamp\":\"%s\",\"statusCode\":%d,\"error\":\"%s\","
	         "\"message\":",
	         iso, status, http_reason(status));
	buf_add_json_string(&r->body, msg);
	buf_addch(&r->body, '}');
}

/* --- paths and queries ------------------------------------------------ */

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

char *
http_percent_decode(const char *s, size_t len, bool plus)
{
	char *out = xmalloc(len + 1), *o = out;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%') {
			int h, l;

			if (i + 2 >= len)
				goto bad;
			h = hexval((unsigned char)s[i + 1]);
			l = hexval((unsigned char)s[i + 2]);
			if (h < 0 || l < 0)
				goto bad;
			*o++ = (char)(h * 16 + l);
			i += 2;
		} else if (plus && s[i] == '+') {
			*o++ = ' ';
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

/*
 * qs's decoding of one key or value: '+' is a space, then
 * decodeURIComponent(); when that throws (a malformed escape, or bytes
 * that are no UTF-8) qs keeps the text with only its '+' replaced.
 */
static char *
qs_decode(const char *s, size_t len)
{
	char *v = http_percent_decode(s, len, true);

	if (v && utf8_valid(v, strlen(v)))
		return v;
	free(v);
	v = xstrndup(s, len);
	for (char *p = v; *p; p++)
		if (*p == '+')
			*p = ' ';
	return v;
}

void
http_query_parse(const char *query, struct http_query *out)
{
	const char *p = query;

	memset(out, 0, sizeof(*out));
	while (*p) {
		const char *amp = strchr(p, '&');
		size_t n = amp ? (size_t)(amp - p) : strlen(p);
		const char *eq = memchr(p, '=', n);

		if (n > 0) {
			size_t kn = eq ? (size_t)(eq - p) : n;
			size_t vn = eq ? n - kn - 1 : 0;

			out->v = xreallocarray(out->v, (size_t)out->n + 1,
			                       sizeof(*out->v));
			out->v[out->n].key = qs_decode(p, kn);
			out->v[out->n].value =
			        eq ? qs_decode(eq + 1, vn) : xstrdup("");
			out->n++;
		}
		if (!amp)
			break;
		p = amp + 1;
	}
}

const char *
http_query_get(const struct http_query *p, const char *key)
{
	for (int i = 0; i < p->n; i++)
		if (strcmp(p->v[i].key, key) == 0)
			return p->v[i].value;
	return NULL;
}

void
http_query_free(struct http_query *p)
{
	for (int i = 0; i < p->n; i++) {
		free(p->v[i].key);
		free(p->v[i].value);
	}
	free(p->v);
	memset(p, 0, sizeof(*p));
}

int
http_path_parse(const char *path, struct http_path *s)
{
	const char *p = path;

	memset(s, 0, sizeof(*s));
	if (*p == '/')
		p++;
	while (*p) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		if (s->n == HTTP_PATH_SEGS_MAX)
			goto bad;
		s->v[s->n] = http_percent_decode(p, n, false);
		if (!s->v[s->n])
			goto bad;
		/* decodeURIComponent() throws on bytes that are no UTF-8 */
		if (!utf8_valid(s->v[s->n], strlen(s->v[s->n]))) {
			free(s->v[s->n]);
			goto bad;
		}
		s->n++;
		if (!e)
			break;
		p = e + 1;
		if (*p == '\0')
			break; /* trailing slash, as Express allows */
	}
	return 0;
bad:
	http_path_free(s);
	return -1;
}

void
http_path_free(struct http_path *s)
{
	for (int i = 0; i < s->n; i++)
		free(s->v[i]);
	s->n = 0;
}

bool
http_addr_is_loopback(const struct sockaddr_storage *a)
{
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *a4 = (const struct sockaddr_in *)a;

		return (ntohl(a4->sin_addr.s_addr) >> 24) == 127;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)a;
		const uint8_t *b = a6->sin6_addr.s6_addr;

		if (IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr))
			return true;
		return IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr) && b[12] == 127;
	}
	return false;
}

/* --- request headers -------------------------------------------------- */

bool
http_is_json(const struct req *q)
{
	const char *ct = MHD_lookup_connection_value(q->con, MHD_HEADER_KIND,
	                                             "Content-Type");

	return ct && strcasestr(ct, "json");
}

const char *
http_bearer(const struct req *q)
{
	const char *h = MHD_lookup_connection_value(q->con, MHD_HEADER_KIND,
	                                            "Authorization");

	if (!h)
		return NULL;
	while (*h == ' ')
		h++;
	if (strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	h += 7;
	while (*h == ' ')
		h++;
	return *h ? h : NULL;
}

/* --- libmicrohttpd callbacks ------------------------------------------ */

static enum MHD_Result
send_resp(struct req *q)
{
	struct resp *r = &q->r;
	struct MHD_Response *mr;
	size_t len;
	char *data = buf_detach(&r->body, &len);
	bool has_ct = false;
	enum MHD_Result ret;

	mr = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
	if (!mr) {
		free(data);
		return MHD_NO;
	}
	for (size_t off = 0; off < r->headers.len;) {
		const char *name = r->headers.data + off;
		const char *value = name + strlen(name) + 1;

		if (strcasecmp(name, "Content-Type") == 0)
			has_ct = true;
		MHD_add_response_header(mr, name, value);
		off = (size_t)(value - r->headers.data) + strlen(value) + 1;
	}
	if (!has_ct && len)
		MHD_add_response_header(mr, "Content-Type",
		                        "application/json; charset=utf-8");
	MHD_add_response_header(mr, "X-Daytona-Api-Version", EMU_API_VERSION);
	ret = MHD_queue_response(q->con, (unsigned)r->status, mr);
	MHD_destroy_response(mr);
	return ret;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *con, const char *url,
           const char *method, const char *version, const char *upload,
           size_t *upload_size, void **ctx)
{
	struct req *q = *ctx;

	(void)cls;
	(void)url;
	(void)version;
	if (!q)
		return MHD_NO;
	if (!q->started) {
		const char *cl = MHD_lookup_connection_value(
		        con, MHD_HEADER_KIND, "Content-Length");
		long long n;
		const char *err;

		q->started = true;
		q->con = con;
		if (cl && strnum_parse(cl, 0, INT64_MAX, &n, &err) == 0 &&
		    n > EMU_BODY_MAX)
			q->too_big = true;
		return MHD_YES;
	}
	if (*upload_size) {
		if (!q->too_big && buf_add(&q->body, upload, *upload_size) < 0)
			q->too_big = true;
		*upload_size = 0;
		return MHD_YES;
	}
	if (q->r.status == -1 && !q->resumed)
		return MHD_YES; /* spurious call while suspended */
	q->r.status = 0;
	routes_answer(q, method);
	if (q->r.drop)
		return MHD_NO;
	if (q->r.status == -1)
		return MHD_YES;
	return send_resp(q);
}

static void *
on_uri(void *cls, const char *uri, struct MHD_Connection *con)
{
	struct req *q = xcalloc(1, sizeof(*q));
	const char *qm = strchr(uri, '?');

	q->srv = cls;
	q->con = con;
	q->uri = xstrdup(uri);
	q->path = qm ? xstrndup(uri, (size_t)(qm - uri)) : xstrdup(uri);
	q->query = xstrdup(qm ? qm + 1 : "");
	buf_init_max(&q->body, EMU_BODY_MAX);
	q->wait_pos = -1;
	q->bucket = RL_NONE;
	return q;
}

static void
on_completed(void *cls, struct MHD_Connection *con, void **ctx,
             enum MHD_RequestTerminationCode toe)
{
	struct req *q = *ctx;

	(void)cls;
	(void)con;
	(void)toe;
	if (!q)
		return;
	free(q->uri);
	free(q->path);
	free(q->query);
	buf_free(&q->body);
	buf_free(&q->r.body);
	buf_free(&q->r.headers);
	free(q);
	*ctx = NULL;
}

/*
 * mhd_log: libmicrohttpd's own messages go to the debug log: on a busy
 * port it would say "Failed to bind to port 0" (the port it was handed
 * beside MHD_OPTION_SOCK_ADDR) before our message naming the real one.
 */
static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char *m = xvasprintf(fmt, ap);
	size_t n = strlen(m);

	(void)cls;
	while (n > 0 && m[n - 1] == '\n')
		m[--n] = '\0';
	log_debug("libmicrohttpd: %s", m);
	free(m);
}

/* on_connection: count each connection a client opens. */
static void
on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
              enum MHD_ConnectionNotificationCode code)
{
	struct server *srv = cls;

	(void)conn;
	(void)socket_context;
	if (code == MHD_CONNECTION_NOTIFY_STARTED)
		srv->connections++;
}

/* --- the daemon ------------------------------------------------------- */

int
http_start(struct server *srv)
{
	const struct server_opts *o = &srv->opts;
	const union MHD_DaemonInfo *info;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	                 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	unsigned threads =
	        (unsigned)(o->threads > 0 ? o->threads : EMU_THREADS_DEFAULT);

	if (o->addr.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	srv->d = MHD_start_daemon(
	        flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_SOCK_ADDR,
	        (const struct sockaddr *)&o->addr, MHD_OPTION_THREAD_POOL_SIZE,
	        threads, MHD_OPTION_CONNECTION_LIMIT,
	        (unsigned)EMU_CONNECTION_LIMIT, MHD_OPTION_LISTEN_BACKLOG_SIZE,
	        LISTEN_BACKLOG, MHD_OPTION_CONNECTION_TIMEOUT,
	        CONNECTION_TIMEOUT, MHD_OPTION_URI_LOG_CALLBACK, on_uri, srv,
	        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
	        MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv,
	        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, srv, MHD_OPTION_END);
	if (!srv->d)
		return sf_error_set(SF_ENET, "cannot listen: %s",
		                    strerror(errno ? errno : EADDRINUSE));
	info = MHD_get_daemon_info(srv->d, MHD_DAEMON_INFO_BIND_PORT);
	srv->port = info ? info->port : 0;
	return 0;
}

void
http_quiesce(struct server *srv)
{
	if (srv->d)
		MHD_quiesce_daemon(srv->d);
}

void
http_stop(struct server *srv)
{
	if (srv->d)
		MHD_stop_daemon(srv->d);
	srv->d = NULL;
}

void
http_suspend(struct req *q)
{
	MHD_suspend_connection(q->con);
}

void
http_resume(struct req *q)
{
	MHD_resume_connection(q->con);
}
