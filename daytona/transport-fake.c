/*
 * transport-fake: a scripted, recording dt_transport with a fake clock.
 *
 * Scripted responses come first (FIFO), then the handler. The clock only
 * moves when someone sleeps on it or calls dt_fake_advance(), so backoff
 * and budget tests are exact and take no real time.
 */
#include "common/base.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/xalloc.h"
#include "daytona/transport-fake.h"

struct scripted {
	int status;
	char *headers;
	char *body;
	enum dt_http_failure failure;
	char *error;
};

struct dt_fake {
	pthread_mutex_t mu;
	struct dt_transport tp;
	struct dt_clock clock;
	struct scripted *queue;
	size_t n_queue, head;
	struct dt_fake_req **reqs;
	size_t n_reqs;
	int64_t *sleeps;
	size_t n_sleeps;
	int64_t now;
	int64_t slept;
	dt_fake_handler handler;
	void *handler_arg;
};

static void
add_headers(struct dt_http_response *resp, const char *text)
{
	char *copy, *line, *next, *colon, *v;

	if (text == NULL)
		return;
	copy = xstrdup(text);
	for (line = copy; line != NULL && *line; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		colon = strchr(line, ':');
		if (colon == NULL)
			continue;
		*colon = '\0';
		v = colon + 1;
		while (*v == ' ')
			v++;
		dt_http_response_add_header(resp, line, v);
	}
	free(copy);
}

static const char *
url_path(const char *url)
{
	const char *p = strstr(url, "://");

	if (p == NULL)
		return url;
	p = strchr(p + 3, '/');
	return p ? p : "/";
}

static int
fake_send(void *ctx, const struct dt_http_request *req,
          struct dt_http_response *resp)
{
	struct dt_fake *f = ctx;
	struct dt_fake_req *r = xcalloc(1, sizeof(*r));
	struct buf h = BUF_INIT;
	struct scripted *s = NULL;
	dt_fake_handler fn;
	void *arg;
	size_t i;
	int rc = 0;

	r->method = xstrdup(req->method);
	r->url = xstrdup(req->url);
	r->path = xstrdup(url_path(req->url));
	for (i = 0; i < req->n_headers; i++) {
		buf_addstr(&h, req->headers[i]);
		buf_addch(&h, '\n');
	}
	r->headers = buf_detach(&h, NULL);
	r->body = req->body ? xstrndup(req->body, req->body_len) : xstrdup("");

	pthread_mutex_lock(&f->mu);
	r->at_ms = f->now;
	r->timeout_ms = req->timeout_ms;
	r->ca_file = req->ca_file;
	f->reqs = xreallocarray(f->reqs, f->n_reqs + 1, sizeof(*f->reqs));
	f->reqs[f->n_reqs++] = r;
	if (f->head < f->n_queue)
		s = &f->queue[f->head++];
	fn = f->handler;
	arg = f->handler_arg;
	pthread_mutex_unlock(&f->mu);

	resp->status = 0;
	resp->failure = DT_HTTP_OK;
	resp->error[0] = '\0';
	if (s != NULL) {
		if (s->failure != DT_HTTP_OK) {
			resp->failure = s->failure;
			snprintf(resp->error, sizeof(resp->error), "%s",
			         s->error ? s->error : "");
			return SF_ENET;
		}
		resp->status = s->status;
		add_headers(resp, s->headers);
		if (s->body != NULL && buf_addstr(&resp->body, s->body) < 0) {
			resp->status = 0;
			resp->failure = DT_HTTP_TOO_LARGE;
			snprintf(resp->error, sizeof(resp->error),
			         "response body too large");
			return SF_ENET;
		}
		return 0;
	}
	if (fn != NULL) {
		rc = fn(arg, r, resp);
		if (rc < 0 && resp->failure == DT_HTTP_OK)
			resp->failure = DT_HTTP_OTHER;
		return rc < 0 ? SF_ENET : 0;
	}
	resp->failure = DT_HTTP_CONNECT;
	snprintf(resp->error, sizeof(resp->error),
	         "fake: no scripted response");
	return SF_ENET;
}

static int64_t
fake_now(void *ctx)
{
	return dt_fake_now(ctx);
}

static void
fake_sleep(void *ctx, int64_t ms)
{
	struct dt_fake *f = ctx;

	pthread_mutex_lock(&f->mu);
	f->sleeps =
	        xreallocarray(f->sleeps, f->n_sleeps + 1, sizeof(*f->sleeps));
	f->sleeps[f->n_sleeps++] = ms;
	f->now += ms;
	f->slept += ms;
	pthread_mutex_unlock(&f->mu);
}

struct dt_fake *
dt_fake_new(void)
{
	struct dt_fake *f = xcalloc(1, sizeof(*f));

	pthread_mutex_init(&f->mu, NULL);
	f->tp.send = fake_send;
	f->tp.ctx = f;
	f->clock.now_ms = fake_now;
	f->clock.sleep_ms = fake_sleep;
	f->clock.ctx = f;
	f->now = 1000000;
	return f;
}

void
dt_fake_free(struct dt_fake *f)
{
	size_t i;

	if (f == NULL)
		return;
	for (i = 0; i < f->n_queue; i++) {
		free(f->queue[i].headers);
		free(f->queue[i].body);
		free(f->queue[i].error);
	}
	free(f->queue);
	for (i = 0; i < f->n_reqs; i++) {
		free(f->reqs[i]->method);
		free(f->reqs[i]->url);
		free(f->reqs[i]->path);
		free(f->reqs[i]->headers);
		free(f->reqs[i]->body);
		free(f->reqs[i]);
	}
	free(f->reqs);
	free(f->sleeps);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

const struct dt_transport *
dt_fake_transport(struct dt_fake *f)
{
	return &f->tp;
}

const struct dt_clock *
dt_fake_clock(struct dt_fake *f)
{
	return &f->clock;
}

static void
push(struct dt_fake *f, struct scripted s)
{
	pthread_mutex_lock(&f->mu);
	f->queue = xreallocarray(f->queue, f->n_queue + 1, sizeof(*f->queue));
	f->queue[f->n_queue++] = s;
	pthread_mutex_unlock(&f->mu);
}

void
dt_fake_push(struct dt_fake *f, int status, const char *headers,
             const char *body)
{
	struct scripted s = { status, headers ? xstrdup(headers) : NULL,
		              body ? xstrdup(body) : NULL, DT_HTTP_OK, NULL };

	push(f, s);
}

void
dt_fake_push_failure(struct dt_fake *f, enum dt_http_failure failure,
                     const char *error)
{
	struct scripted s = { 0, NULL, NULL, failure,
		              xstrdup(error ? error : "") };

	if (s.failure == DT_HTTP_OK)
		s.failure = DT_HTTP_OTHER;
	push(f, s);
}

void
dt_fake_set_handler(struct dt_fake *f, dt_fake_handler fn, void *arg)
{
	pthread_mutex_lock(&f->mu);
	f->handler = fn;
	f->handler_arg = arg;
	pthread_mutex_unlock(&f->mu);
}

size_t
dt_fake_n_requests(struct dt_fake *f)
{
	size_t n;

	pthread_mutex_lock(&f->mu);
	n = f->n_reqs;
	pthread_mutex_unlock(&f->mu);
	return n;
}

const struct dt_fake_req *
dt_fake_request(struct dt_fake *f, size_t i)
{
	const struct dt_fake_req *r = NULL;

	pthread_mutex_lock(&f->mu);
	if (i < f->n_reqs)
		r = f->reqs[i];
	pthread_mutex_unlock(&f->mu);
	return r;
}

size_t
dt_fake_pending(struct dt_fake *f)
{
	size_t n;

	pthread_mutex_lock(&f->mu);
	n = f->n_queue - f->head;
	pthread_mutex_unlock(&f->mu);
	return n;
}

int64_t
dt_fake_now(struct dt_fake *f)
{
	int64_t now;

	pthread_mutex_lock(&f->mu);
	now = f->now;
	pthread_mutex_unlock(&f->mu);
	return now;
}

void
dt_fake_advance(struct dt_fake *f, int64_t ms)
{
	pthread_mutex_lock(&f->mu);
	f->now += ms;
	pthread_mutex_unlock(&f->mu);
}

size_t
dt_fake_n_sleeps(struct dt_fake *f)
{
	size_t n;

	pthread_mutex_lock(&f->mu);
	n = f->n_sleeps;
	pthread_mutex_unlock(&f->mu);
	return n;
}

int64_t
dt_fake_sleep(struct dt_fake *f, size_t i)
{
	int64_t v = -1;

	pthread_mutex_lock(&f->mu);
	if (i < f->n_sleeps)
		v = f->sleeps[i];
	pthread_mutex_unlock(&f->mu);
	return v;
}

int64_t
dt_fake_slept_total(struct dt_fake *f)
{
	int64_t v;

	pthread_mutex_lock(&f->mu);
	v = f->slept;
	pthread_mutex_unlock(&f->mu);
	return v;
}
