/*
 * transport: response helpers, URL escaping and the libcurl transport.
 *
 * Every exchange gets its own easy handle, so any number of threads can
 * send at once; a curl share handle (behind mutexes) lets them reuse
 * connections, DNS answers and TLS sessions. TLS peer and host
 * verification stay on whatever the caller does (a request may name the
 * CA bundle or directory to trust instead of the system's); redirects are not
 * followed (they would carry the Authorization header elsewhere); only
 * http and https are allowed. The body is capped by the request's
 * max_body: a bigger answer aborts the transfer and reports
 * DT_HTTP_TOO_LARGE.
 */
#include "common/base.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "common/error.h"
#include "common/xalloc.h"
#include "daytona/transport.h"

/* ---- responses --------------------------------------------------------- */

void
dt_http_response_add_header(struct dt_http_response *r, const char *name,
                            const char *value)
{
	if (r->n_headers >= DT_HTTP_MAX_HEADERS)
		return;
	r->headers = xreallocarray(r->headers, r->n_headers + 1,
	                           sizeof(*r->headers));
	r->headers[r->n_headers].name = xstrdup(name);
	r->headers[r->n_headers].value = xstrdup(value);
	r->n_headers++;
}

const char *
dt_http_response_header(const struct dt_http_response *r, const char *name)
{
	size_t i;

	for (i = r->n_headers; i > 0; i--) {
		if (strcasecmp(r->headers[i - 1].name, name) == 0)
			return r->headers[i - 1].value;
	}
	return NULL;
}

static void
clear_headers(struct dt_http_response *r)
{
	size_t i;

	for (i = 0; i < r->n_headers; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	free(r->headers);
	r->headers = NULL;
	r->n_headers = 0;
}

void
dt_http_response_clear(struct dt_http_response *r)
{
	size_t max = r->body.max;

	clear_headers(r);
	buf_free(&r->body);
	buf_init_max(&r->body, max);
	r->status = 0;
	r->failure = DT_HTTP_OK;
	r->error[0] = '\0';
}

void
dt_url_escape(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || c == '-' || c == '.' || c == '_' ||
		    c == '~') {
			buf_addch(b, (char)c);
		} else {
			buf_addch(b, '%');
			buf_addch(b, hex[c >> 4]);
			buf_addch(b, hex[c & 15]);
		}
	}
}

/* ---- libcurl ----------------------------------------------------------- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLSH *curl_share;
static pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
static int curl_init_failed;

static void
share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *arg)
{
	if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
		pthread_mutex_lock(&share_locks[data]);
}

static void
share_unlock(CURL *h, curl_lock_data data, void *arg)
{
	if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
		pthread_mutex_unlock(&share_locks[data]);
}

static void
curl_setup(void)
{
	int i;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		curl_init_failed = 1;
		return;
	}
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&share_locks[i], NULL);
	curl_share = curl_share_init();
	if (curl_share == NULL)
		return;
	curl_share_setopt(curl_share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(curl_share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(curl_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(curl_share, CURLSHOPT_SHARE,
	                  CURL_LOCK_DATA_SSL_SESSION);
	curl_share_setopt(curl_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
}

struct xfer {
	struct dt_http_response *resp;
	int too_large;
	CURL *h;
};

static size_t
on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * nmemb;
	curl_off_t cl = -1;

	/* the whole body at once when its length is known: a list page
	 * grown by doubling was a dozen reallocs and copies. Only within a
	 * cap (a server's Content-Length is no reason to allocate more) */
	if (x->resp->body.len == 0 && x->resp->body.max > 0 &&
	    curl_easy_getinfo(x->h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) ==
	            CURLE_OK &&
	    cl > 0 && (uint64_t)cl < SIZE_MAX)
		(void)buf_reserve(&x->resp->body, (size_t)cl);

	if (buf_add(&x->resp->body, data, len) < 0) {
		x->too_large = 1;
		return 0; /* aborts the transfer */
	}
	return len;
}

static size_t
on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * nmemb, n;
	char *line, *colon, *v, *end;

	/* A new status line (100 Continue, then the real one): start over. */
	if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		clear_headers(x->resp);
		return len;
	}
	line = xstrndup(data, len);
	colon = strchr(line, ':');
	if (colon != NULL && colon != line) {
		*colon = '\0';
		v = colon + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		n = strlen(v);
		end = v + n;
		while (end > v && (end[-1] == '\r' || end[-1] == '\n' ||
		                   end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		dt_http_response_add_header(x->resp, line, v);
	}
	free(line);
	return len;
}

/* on_progress: a non-zero return aborts the transfer (ABORT requested). */
static int
on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
            curl_off_t ulnow)
{
	const struct sf_cancel *tok = arg;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return sf_cancel_level(tok) >= SF_CANCEL_ABORT;
}

static enum dt_http_failure
classify(CURLcode rc, int too_large)
{
	switch (rc) {
	case CURLE_OK:
		return DT_HTTP_OK;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
		return DT_HTTP_CONNECT;
	case CURLE_OPERATION_TIMEDOUT:
		return DT_HTTP_TIMEOUT;
	case CURLE_WRITE_ERROR:
		return too_large ? DT_HTTP_TOO_LARGE : DT_HTTP_OTHER;
	case CURLE_FILESIZE_EXCEEDED:
		return DT_HTTP_TOO_LARGE;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
		return DT_HTTP_TLS;
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_WEIRD_SERVER_REPLY:
		return DT_HTTP_DROPPED;
	default:
		return DT_HTTP_OTHER;
	}
}

static int
curl_send(void *ctx, const struct dt_http_request *req,
          struct dt_http_response *resp)
{
	char errbuf[CURL_ERROR_SIZE];
	struct curl_slist *hdrs = NULL, *tmp;
	struct xfer x = { resp, 0, NULL };
	CURL *h = NULL;
	CURLcode crc;
	long status = 0;
	size_t i;
	int rc = SF_ENET;

	pthread_once(&curl_once, curl_setup);
	resp->status = 0;
	resp->failure = DT_HTTP_OTHER;
	resp->error[0] = '\0';
	buf_init_max(&resp->body, req->max_body);
	if (curl_init_failed || (h = curl_easy_init()) == NULL) {
		snprintf(resp->error, sizeof(resp->error),
		         "cannot initialise libcurl");
		goto out;
	}
	x.h = h;
	errbuf[0] = '\0';
	for (i = 0; i < req->n_headers; i++) {
		tmp = curl_slist_append(hdrs, req->headers[i]);
		if (tmp == NULL)
			goto nomem;
		hdrs = tmp;
	}
	/* No "Expect: 100-continue" round trip for bodies. */
	if ((tmp = curl_slist_append(hdrs, "Expect:")) == NULL)
		goto nomem;
	hdrs = tmp;
	curl_easy_setopt(h, CURLOPT_URL, req->url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, req->connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, req->timeout_ms);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	if (req->ca_file != NULL)
		curl_easy_setopt(h, CURLOPT_CAINFO, req->ca_file);
	if (req->ca_dir != NULL)
		curl_easy_setopt(h, CURLOPT_CAPATH, req->ca_dir);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(h, CURLOPT_PROTOCOLS,
	                 (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(h, CURLOPT_BUFFERSIZE,
	                 req->recv_buffer > 0 ? req->recv_buffer
	                                      : DT_HTTP_RECV_BUFFER);
	/* a Content-Length above the limit fails before any byte of it */
	if (req->max_body > 0)
		curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
		                 (curl_off_t)req->max_body);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
	if (curl_share != NULL)
		curl_easy_setopt(h, CURLOPT_SHARE, curl_share);
	/* keep a connection per call in flight: each transfer's own cache
	 * limit (libcurl's default, 5 here) would close the shared cache's
	 * extra connections, a new connect (and TLS handshake) per call */
	curl_easy_setopt(h, CURLOPT_MAXCONNECTS, DT_MAX_CONNECTS);
	if (req->cancel != NULL) {
		curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(h, CURLOPT_XFERINFODATA, (void *)req->cancel);
		curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	}
	if (strcmp(req->method, "GET") != 0) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
		if (req->body != NULL || strcmp(req->method, "POST") == 0) {
			curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE,
			                 (long)(req->body ? req->body_len : 0));
			curl_easy_setopt(h, CURLOPT_POSTFIELDS,
			                 req->body ? req->body : "");
		}
	}
	crc = curl_easy_perform(h);
	resp->failure = classify(crc, x.too_large);
	if (crc != CURLE_OK) {
		if (x.too_large)
			snprintf(resp->error, sizeof(resp->error),
			         "response body larger than %zu bytes",
			         req->max_body);
		else
			snprintf(resp->error, sizeof(resp->error), "%s",
			         errbuf[0] ? errbuf : curl_easy_strerror(crc));
		resp->status = 0;
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	resp->status = (int)status;
	rc = 0;
	goto out;
nomem:
	snprintf(resp->error, sizeof(resp->error), "out of memory");
out:
	curl_slist_free_all(hdrs);
	if (h != NULL)
		curl_easy_cleanup(h);
	return rc;
}

static const struct dt_transport curl_transport = { curl_send, NULL };

const struct dt_transport *
dt_transport_curl(void)
{
	return &curl_transport;
}
