/*
 * transport: one HTTP exchange, behind the small vtable struct dt_transport
 * of daytona/client.h. dt_transport_curl() is the production transport
 * (libcurl); daytona/transport-fake.h is the in-memory one for tests.
 *
 * The client owns requests and responses: it builds a dt_http_request,
 * zero-initialises a dt_http_response with DT_HTTP_RESPONSE_INIT, calls
 * send(), and releases the response with dt_http_response_clear(). A
 * transport fills the response with dt_http_response_add_header() and
 * buf_add() on resp->body (whose cap, resp->body.max, the client sets).
 */
#ifndef SF_DAYTONA_TRANSPORT_H
#define SF_DAYTONA_TRANSPORT_H

#include <stddef.h>

#include "common/buf.h"
#include "common/cancel.h"
#include "daytona/client.h"

/* CURL_ERROR_SIZE */
#define DT_HTTP_ERROR_MAX 256
/* Idle connections kept for reuse, shared by all threads: above the most
 * calls in flight (apply's --parallelism is at most 256). */
#define DT_MAX_CONNECTS 264L
/* libcurl's receive buffer of a call (CURLOPT_BUFFERSIZE; its default is
 * 16 KiB): one per call in flight, 512 KiB of an apply at --parallelism
 * 32. A body is copied out of it as it comes, so a smaller one costs only
 * more reads of a big list page. */
#define DT_HTTP_RECV_BUFFER 4096L
/* ... and of a list page, fetched one at a time: 4 KiB was a recv() and a
 * poll() per 4 KiB, 47,000 system calls for a plan of 100,000 */
#define DT_HTTP_RECV_BUFFER_PAGE (64L * 1024)
/* Response headers kept; extra ones are dropped. */
#define DT_HTTP_MAX_HEADERS 128

struct dt_http_request {
	const char *method; /* "GET", "POST", "PUT", "DELETE" */
	const char *url;    /* absolute; carries no secret */
	/* "Name: value" lines, including Authorization (never log these) */
	const char *const *headers;
	size_t n_headers;
	const char *body; /* NULL: no body */
	size_t body_len;
	long connect_timeout_ms;
	long timeout_ms;
	size_t max_body; /* response body cap */
	/* the receive buffer (CURLOPT_BUFFERSIZE); 0: DT_HTTP_RECV_BUFFER */
	long recv_buffer;
	/* CAs to trust instead of the system's: a PEM bundle and/or a
	 * hashed directory (openssl rehash); NULL: the default */
	const char *ca_file;
	const char *ca_dir;
	/* NULL, or a token whose SF_CANCEL_ABORT aborts the exchange in
	 * flight (a transport that cannot abort may ignore it) */
	const struct sf_cancel *cancel;
};

/* Why no response arrived. */
enum dt_http_failure {
	DT_HTTP_OK = 0,    /* a response arrived */
	DT_HTTP_CONNECT,   /* could not connect / resolve */
	DT_HTTP_TIMEOUT,   /* connect or request timeout */
	DT_HTTP_DROPPED,   /* connection closed mid-exchange, bad response */
	DT_HTTP_TOO_LARGE, /* body passed max_body */
	DT_HTTP_TLS,       /* TLS handshake or certificate verification */
	DT_HTTP_OTHER,
};

struct dt_http_header {
	char *name;
	char *value;
};

struct dt_http_response {
	int status; /* 0 when no response */
	struct dt_http_header *headers;
	size_t n_headers;
	struct buf body;
	enum dt_http_failure failure;
	char error[DT_HTTP_ERROR_MAX]; /* detail of a failure, "" otherwise */
};

#define DT_HTTP_RESPONSE_INIT                     \
	{                                         \
		0, NULL, 0, BUF_INIT, DT_HTTP_OK, \
		{                                 \
			0                         \
		}                                 \
	}

/* dt_http_response_add_header: copy one header (name as sent). */
void dt_http_response_add_header(struct dt_http_response *r, const char *name,
                                 const char *value);
/* dt_http_response_header: the last value of name (case-insensitive). */
const char *dt_http_response_header(const struct dt_http_response *r,
                                    const char *name);
/* dt_http_response_clear: free contents and reset (body cap is kept). */
void dt_http_response_clear(struct dt_http_response *r);

/* dt_transport_curl: the libcurl transport (static, shareable between
 * threads; TLS verification always on). */
const struct dt_transport *dt_transport_curl(void);

/* dt_url_escape: append s to b percent-encoded (RFC 3986 unreserved kept). */
void dt_url_escape(struct buf *b, const char *s);

#endif
