/*
 * reply: masking and describing the answers the client did not want. See
 * reply.h. Everything here reads a response that dt_reply_redact() has
 * already cleaned, so no message made from it can carry the key or a
 * secret; server text is escaped (common/escape.h) where it is quoted.
 */
#include "common/base.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/escape.h"
#include "common/redact.h"
#include "common/xalloc.h"
#include "daytona/client.h"
#include "daytona/reply.h"

/*
 * redact: replace every occurrence of needle (nlen > DT_REDACTED's length)
 * in s[0..len) with DT_REDACTED, in place; returns the new length.
 */
static size_t
redact(char *s, size_t len, const char *needle, size_t nlen)
{
	static const size_t rlen = sizeof(DT_REDACTED) - 1;
	size_t i = 0, o = 0;
	char *hit;

	/* memmem finds each occurrence; the text between moves as a block
	 * (a list page of megabytes has none, and costs one search) */
	while (nlen > 0 && i < len &&
	       (hit = memmem(s + i, len - i, needle, nlen)) != NULL) {
		size_t at = (size_t)(hit - s);

		if (o != i)
			memmove(s + o, s + i, at - i);
		o += at - i;
		memcpy(s + o, DT_REDACTED, rlen);
		o += rlen;
		i = at + nlen;
	}
	if (o == i)
		return len;
	memmove(s + o, s + i, len - i);
	return o + (len - i);
}

/* redact_all: the bearer header value, the key and the run's secrets. */
static size_t
redact_all(char *s, size_t n, const char *bearer, const char *key)
{
	size_t klen = strlen(key);

	/* the bearer value holds the key: a text without the key has
	 * neither (one search of a list page instead of two) */
	if (klen >= DT_REDACT_MIN_KEY_LEN && strstr(bearer, key) != NULL &&
	    memmem(s, n, key, klen) == NULL)
		return redact_text(s, n);
	n = redact(s, n, bearer, strlen(bearer));
	if (klen >= DT_REDACT_MIN_KEY_LEN)
		n = redact(s, n, key, klen);
	return redact_text(s, n);
}

void
dt_reply_redact(struct dt_http_response *resp, const char *bearer,
                const char *key)
{
	struct buf *b = &resp->body;
	size_t n;

	if (b->data != NULL && b->len > 0) {
		n = redact_all(b->data, b->len, bearer, key);
		if (n != b->len)
			buf_truncate(b, n);
	}
	n = strnlen(resp->error, sizeof(resp->error));
	n = redact_all(resp->error, n, bearer, key);
	resp->error[n < sizeof(resp->error) ? n : sizeof(resp->error) - 1] =
	        '\0';
}

const char *
dt_reply_failure(enum dt_http_failure f)
{
	switch (f) {
	case DT_HTTP_CONNECT:
		return "cannot connect";
	case DT_HTTP_TIMEOUT:
		return "timed out";
	case DT_HTTP_DROPPED:
		return "connection dropped";
	case DT_HTTP_TOO_LARGE:
		return "response too large";
	case DT_HTTP_TLS:
		return "TLS failed";
	default:
		return "request failed";
	}
}

void
dt_reply_describe(struct buf *b, const struct dt_http_response *resp,
                  int with_status)
{
	const char *type = dt_http_response_header(resp, "Content-Type");
	size_t n = resp->body.len;
	char *quote, *esc;

	if (with_status)
		buf_addf(b, "%d, ", resp->status);
	if (type != NULL && *type) {
		esc = esc_text(type);
		buf_addf(b, "Content-Type %s, ", esc);
		free(esc);
	} else {
		buf_addstr(b, "no Content-Type, ");
	}
	if (n == 0) {
		buf_addstr(b, "empty body");
		return;
	}
	quote = xstrndup(buf_cstr(&resp->body),
	                 n > DT_REPLY_QUOTE ? DT_REPLY_QUOTE : n);
	esc = esc_text(quote);
	buf_addf(b, "%zu byte%s: '%s'%s", n, n == 1 ? "" : "s", esc,
	         n > DT_REPLY_QUOTE ? "..." : "");
	free(esc);
	free(quote);
}

int
dt_reply_unexpected(const char *method, const char *path,
                    const struct dt_http_response *resp, const char *what)
{
	struct buf b = BUF_INIT;
	int rc;

	dt_reply_describe(&b, resp, 1);
	rc = sf_error_set(SF_EINVALID,
	                  "daytona: %s %s: the response is not %s (got %s)",
	                  method, path, what, buf_cstr(&b));
	buf_free(&b);
	return rc;
}

/* api_path: the base URL's path ends in /api (or /api/). */
static int
api_path(const char *url)
{
	size_t n = strlen(url);

	if (n > 0 && url[n - 1] == '/')
		n--;
	return n >= 4 && strncmp(url + n - 4, "/api", 4) == 0;
}

static int
status_code(int status, const char *msg)
{
	if (status == 404)
		return SF_ENOTFOUND;
	if (status == 409)
		return strstr(msg, "already exists") ? SF_EEXISTS
		                                     : SF_ECONFLICT;
	if (status == 400 || status == 422)
		return SF_EINVALID;
	if (status == 401 || status == 403)
		return SF_EAUTH;
	if (status == 429)
		return SF_ERATELIMIT;
	if (status >= 500)
		return SF_ENET;
	return SF_ERROR;
}

/*
 * api_message: the error body's `message` (string, or array joined with
 * ", "), else its `error`, else "(no error message)"; NULL when the body
 * is not a JSON object (the caller describes what came instead).
 */
static char *
api_message(const struct buf *body)
{
	cJSON *j = cJSON_ParseWithLength(buf_cstr(body), body->len);
	const cJSON *m, *e;
	struct buf b = BUF_INIT;

	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return NULL;
	}
	m = cJSON_GetObjectItemCaseSensitive(j, "message");
	if (cJSON_IsString(m) && m->valuestring && *m->valuestring) {
		buf_addstr(&b, m->valuestring);
	} else if (cJSON_IsArray(m)) {
		cJSON_ArrayForEach(e, m)
		{
			if (!cJSON_IsString(e))
				continue;
			if (b.len)
				buf_addstr(&b, ", ");
			buf_addstr(&b, e->valuestring);
		}
	}
	if (b.len == 0) {
		m = cJSON_GetObjectItemCaseSensitive(j, "error");
		buf_addstr(&b, cJSON_IsString(m) && m->valuestring
		                       ? m->valuestring
		                       : "(no error message)");
	}
	cJSON_Delete(j);
	return buf_detach(&b, NULL);
}

/* no_response: the message of an attempt that got no answer. */
static int
no_response(const char *method, const char *path,
            const struct dt_http_response *resp, const char *more)
{
	return sf_error_set(
	        SF_ENET, "daytona: %s %s: %s: %s%s%s", method, path,
	        dt_reply_failure(resp->failure),
	        resp->error[0] ? resp->error : "no detail",
	        resp->failure == DT_HTTP_TLS
	                ? " (TLS is always verified: for a private CA give "
	                  "--ca-file FILE or set SSL_CERT_FILE)"
	                : "",
	        more);
}

/* redirect: a 3xx names its target; following it would send the key. */
static int
redirect(const struct dt_http_response *resp)
{
	const char *to = dt_http_response_header(resp, "Location");
	char *esc = esc_text(to != NULL && *to ? to : "(no Location header)");
	int rc;

	rc = sf_error_set(SF_ERROR,
	                  "daytona: %d redirect to %s: not followed (it would "
	                  "carry the API key); set DAYTONA_API_URL to the "
	                  "address that answers",
	                  resp->status, esc);
	free(esc);
	return rc;
}

int
dt_reply_error(const char *base_url, const char *method, const char *path,
               const struct dt_http_response *resp, int attempts)
{
	char more[32] = "";
	struct buf b = BUF_INIT;
	char *msg;
	int code;

	if (attempts > 1)
		snprintf(more, sizeof(more), " (after %d attempts)", attempts);
	if (resp->status == 0)
		return no_response(method, path, resp, more);
	if (resp->status >= 300 && resp->status < 400)
		return redirect(resp);
	if (resp->body.len == 0) {
		msg = xstrdup("(empty body)");
	} else if ((msg = api_message(&resp->body)) == NULL) {
		buf_addstr(&b, "(not the API's JSON: ");
		dt_reply_describe(&b, resp, 0);
		buf_addch(&b, ')');
		msg = buf_detach(&b, NULL);
	}
	code = status_code(resp->status, msg);
	if (resp->status == 401)
		/* the usual causes: a wrong or expired key, or a key for
		 * another Daytona than the one asked */
		sf_error_set(code,
		             "daytona: 401 %s%s; check DAYTONA_API_KEY (or "
		             "--api-key-file) and DAYTONA_API_URL (%s)",
		             msg, more, base_url);
	else if (resp->status == 404 && !api_path(base_url))
		/* Daytona's API lives under /api: a URL without it finds
		 * nothing at all, which would read as "no such sandbox" */
		sf_error_set(code,
		             "daytona: 404 %s%s; DAYTONA_API_URL (%s) does not "
		             "end in /api, where Daytona's API is (e.g. "
		             "https://app.daytona.io/api)",
		             msg, more, base_url);
	else
		sf_error_set(code, "daytona: %d %s%s", resp->status, msg, more);
	free(msg);
	return code;
}
