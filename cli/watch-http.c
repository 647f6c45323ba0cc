/*
 * watch-http: see watch-http.h.
 */
#include "common/base.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/strnum.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "cli/watch-http.h"

typedef enum MHD_Result mhd_result;

struct watch_http {
	struct MHD_Daemon *d;
	const struct watch_metrics *const *ms; /* one per stack */
	size_t n;
	const struct watch_api *api;
	pthread_mutex_t *mu;
};

static mhd_result
reply(struct MHD_Connection *conn, unsigned status, const char *type,
      const char *body, size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
	        len, (void *)body, MHD_RESPMEM_MUST_COPY);
	mhd_result rc;

	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", type);
	rc = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return rc;
}

/* health: 503 when the loop has not moved for three intervals (at least a
 * minute: a long apply is still moving). */
static int
healthy(const struct watch_metrics *m)
{
	int64_t span = 3 * (m->interval_ms > 60000 ? m->interval_ms : 60000);

	return time_mono_ms() - m->last_tick_ms <= span;
}

/* all_ready: 1 when every stack has converged or applied once; else the
 * first stack that has not, through *which. */
static int
all_ready(const struct watch_http *h, const char **which)
{
	size_t k;

	for (k = 0; k < h->n; k++)
		if (!h->ms[k]->ready) {
			*which = h->ms[k]->stack;
			return 0;
		}
	return 1;
}

static int
all_healthy(const struct watch_http *h)
{
	size_t k;

	for (k = 0; k < h->n; k++)
		if (!healthy(h->ms[k]))
			return 0;
	return 1;
}

static mhd_result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
           const char *method, const char *version, const char *upload,
           size_t *upload_size, void **ctx)
{
	struct watch_http *h = cls;
	struct buf b = BUF_INIT;
	unsigned status = MHD_HTTP_OK;
	const char *type = "text/plain; charset=utf-8";
	mhd_result rc;

	(void)version;
	(void)upload;
	(void)upload_size;
	(void)ctx;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, type,
		             "method not allowed\n", 19);
	pthread_mutex_lock(h->mu);
	if (strcmp(url, "/metrics") == 0) {
		type = "text/plain; version=0.0.4; charset=utf-8";
		watch_metrics_render(h->ms, h->n, h->api, &b);
	} else if (strcmp(url, "/healthz") == 0) {
		status = all_healthy(h) ? MHD_HTTP_OK
		                        : MHD_HTTP_SERVICE_UNAVAILABLE;
		buf_addstr(&b, status == MHD_HTTP_OK ? "ok\n" : "stalled\n");
	} else if (strcmp(url, "/readyz") == 0) {
		const char *which = "";

		if (all_ready(h, &which)) {
			buf_addstr(&b, "ready\n");
		} else {
			status = MHD_HTTP_SERVICE_UNAVAILABLE;
			buf_addstr(&b, "not ready: no cycle has converged yet");
			if (h->n > 1)
				buf_addf(&b, " (stack '%s')", which);
			buf_addch(&b, '\n');
		}
	} else {
		status = MHD_HTTP_NOT_FOUND;
		buf_addstr(&b, "not found: /metrics, /healthz, /readyz\n");
	}
	pthread_mutex_unlock(h->mu);
	rc = reply(conn, status, type, buf_cstr(&b), b.len);
	buf_free(&b);
	return rc;
}

/* parse_addr: "HOST:PORT", "[V6]:PORT" or ":PORT" into ss. */
static int
parse_addr(const char *addr, struct sockaddr_storage *ss)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	const char *colon = strrchr(addr, ':'), *err;
	char host[64];
	long long port;
	size_t n;

	memset(ss, 0, sizeof(*ss));
	if (colon == NULL || strnum_parse(colon + 1, 0, 65535, &port, &err) < 0)
		goto bad;
	n = (size_t)(colon - addr);
	if (n >= 2 && addr[0] == '[' && addr[n - 1] == ']') {
		addr++;
		n -= 2;
	}
	if (n >= sizeof(host))
		goto bad;
	memcpy(host, addr, n);
	host[n] = '\0';
	if (n == 0 || strcmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		return 0;
	}
bad:
	return sf_error_set(SF_EINVALID,
	                    "--listen: '%s' is not ADDRESS:PORT (e.g. "
	                    "127.0.0.1:9090, [::1]:9090, :9090)",
	                    addr);
}

int
watch_http_start(const char *addr, const struct watch_metrics *const *ms,
                 size_t n, const struct watch_api *api, pthread_mutex_t *mu,
                 int *port_out, struct watch_http **out)
{
	struct sockaddr_storage ss;
	const union MHD_DaemonInfo *info;
	struct watch_http *h;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	int rc;

	*out = NULL;
	if ((rc = parse_addr(addr, &ss)) < 0)
		return rc;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h = xcalloc(1, sizeof(*h));
	h->ms = ms;
	h->n = n;
	h->api = api;
	h->mu = mu;
	h->d = MHD_start_daemon(
	        flags, 0, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR,
	        (const struct sockaddr *)&ss, MHD_OPTION_CONNECTION_TIMEOUT,
	        10u, MHD_OPTION_END);
	if (h->d == NULL) {
		free(h);
		return sf_error_set(SF_ENET, "--listen %s: cannot listen",
		                    addr);
	}
	info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
	*port_out = info ? info->port : 0;
	*out = h;
	return 0;
}

void
watch_http_stop(struct watch_http *h)
{
	if (h == NULL)
		return;
	MHD_stop_daemon(h->d);
	free(h);
}
