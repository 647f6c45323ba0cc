/*
 * client: requests, retries, rate-limit budgets and error mapping for the
 * Daytona sandbox API, and the sandbox routes. The interface and the
 * retry policy are described in client.h; this file says why. The other
 * routes (secrets, config, volumes, snapshots) are in resources.c, which
 * reaches the call machinery through call.h.
 *
 * One call is a small loop: wait for the bucket's budget, send, read the
 * rate-limit headers, then either return or wait and go round again. Only
 * the loop decides about retries, from two facts: was there a response
 * (and which status), and is the route safe to repeat. A 429 is always
 * repeated because the throttler guard answers before any handler runs, so
 * nothing happened on the server. A 5xx or a lost connection may hide a
 * request that did its work, so those are repeated only where doing it
 * twice is harmless.
 *
 * The budget per bucket remembers the last X-RateLimit-Remaining/-Reset
 * seen. While plenty remains, requests go straight out. When the remainder
 * falls under DT_BUDGET_RESERVE_PERCENT of the limit, each request takes
 * the next slot of an even spread of the remainder over what is left of
 * the window; at zero everyone waits for the reset. Parallel responses can
 * arrive out of order, so within one window the lower remainder wins.
 * After a 429 the whole bucket is blocked until its Retry-After passes, so
 * other threads do not keep hammering it either.
 */
#include "common/base.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/hash.h"
#include "common/jsonutil.h"
#include "common/log.h"
#include "common/strnum.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "daytona/call.h"
#include "daytona/client.h"
#include "daytona/config.h"
#include "daytona/reply.h"
#include "daytona/transport.h"

struct bucket {
	/* the fewest requests left the server has said in this window (it
	 * counted them when it answered); -1: unknown */
	long long remaining;
	/* requests taken (budget_wait) and not yet answered: the server may
	 * not have counted them yet, so only remaining - inflight is sure */
	long long inflight;
	long long limit;  /* -1: unknown */
	int64_t reset_at; /* clock ms when the window resets; 0 unknown */
	/* when the window we count in began: answers to requests sent before
	 * it count in an older window and are not read */
	int64_t window_start;
	int64_t blocked_until;
	int64_t next_slot;
	long long demand; /* calls the run still wants; -1: unknown */
};

struct dt_client {
	char *base_url; /* no trailing '/' */
	char *api_key;
	char *auth_header;
	char *ua_header;
	char *org_header; /* NULL: not sent */
	char *target;
	long connect_ms;
	long timeout_ms;
	long call_ms; /* one call's whole time */
	char *ca_file, *ca_dir;
	int max_retries;
	long backoff_base;
	long backoff_max;
	struct dt_transport tp;
	struct dt_clock clock;
	pthread_mutex_t mu; /* buckets and stats */
	struct bucket buckets[DT_BUCKET_COUNT];
	struct dt_stats stats;
	volatile sig_atomic_t cancelled; /* dt_client_cancel() */
	struct dt_hooks hooks;           /* dt_client_set_hooks() */
	dt_count_fn count;               /* dt_client_set_counter() */
	void *count_arg;
	/* the host of a plain http:// URL that is not loopback, until the
	 * warning about sending the key there has been given; else NULL */
	char *plain_http_host;
};

/* ---- clocks ------------------------------------------------------------ */

/* stopping: dt_client_cancel() or the run's token says send no more. */
static int
stopping(const struct dt_client *c)
{
	return c->cancelled ||
	       sf_cancel_level(c->hooks.cancel) >= SF_CANCEL_STOP;
}

static int64_t
real_now(void *ctx)
{
	return time_mono_ms();
}

/* real_sleep: ctx is the client; sleep in slices so that
 * dt_client_cancel() cuts a long Retry-After or budget wait short. */
static void
real_sleep(void *ctx, int64_t ms)
{
	struct dt_client *c = ctx;
	int64_t slice;

	while (ms > 0 && !stopping(c)) {
		slice = ms < DT_WAIT_SLICE_MS ? ms : DT_WAIT_SLICE_MS;
		time_sleep_ms(slice);
		ms -= slice;
	}
}

static int64_t
now_ms(struct dt_client *c)
{
	return c->clock.now_ms(c->clock.ctx);
}

static void
wait_ms(struct dt_client *c, int64_t ms)
{
	if (ms <= 0 || stopping(c))
		return;
	c->clock.sleep_ms(c->clock.ctx, ms);
	pthread_mutex_lock(&c->mu);
	c->stats.waited_ms += ms;
	pthread_mutex_unlock(&c->mu);
}

void
dt_client_cancel(struct dt_client *c)
{
	c->cancelled = 1;
}

void
dt_client_set_hooks(struct dt_client *c, const struct dt_hooks *h)
{
	if (h != NULL)
		c->hooks = *h;
	else
		memset(&c->hooks, 0, sizeof(c->hooks));
}

void
dt_client_set_counter(struct dt_client *c, dt_count_fn fn, void *arg)
{
	c->count = fn;
	c->count_arg = arg;
}

void
dt_client_set_demand(struct dt_client *c, enum dt_bucket b, long long n)
{
	if ((int)b < 0 || b >= DT_BUCKET_COUNT)
		return;
	pthread_mutex_lock(&c->mu);
	c->buckets[b].demand = n < 0 ? -1 : n;
	pthread_mutex_unlock(&c->mu);
}

void
dt_client_get_hooks(struct dt_client *c, struct dt_hooks *out)
{
	*out = c->hooks;
}

/* notify_wait: tell the run's hook about a sleep before it starts. */
static void
notify_wait(struct dt_client *c, enum dt_bucket b, enum dt_wait_reason why,
            int64_t ms)
{
	if (ms > 0 && c->hooks.on_wait != NULL && !stopping(c))
		c->hooks.on_wait(c->hooks.arg, b, why, ms);
}

/* warn_plain_http: once per client, before the key first leaves. */
static void
warn_plain_http(struct dt_client *c)
{
	char *host;

	pthread_mutex_lock(&c->mu);
	host = c->plain_http_host;
	c->plain_http_host = NULL;
	pthread_mutex_unlock(&c->mu);
	if (host == NULL)
		return;
	log_warn("sending the daytona api key over plain http to '%s' "
	         "(DAYTONA_API_URL): anyone on the way can read it; use an "
	         "https:// url",
	         host);
	free(host);
}

static int
has_line_break(const char *s)
{
	return s != NULL && strpbrk(s, "\r\n") != NULL;
}

int
dt_client_new(const struct dt_config *cfg, struct dt_client **out)
{
	struct dt_client *c;
	const char *url = cfg->base_url ? cfg->base_url : DT_DEFAULT_URL;
	size_t n;
	int i;

	*out = NULL;
	json_arena_init(); /* cJSON's hooks, before any thread */
	if (cfg->api_key == NULL || *cfg->api_key == '\0')
		return sf_error_set(SF_EAUTH, "no daytona api key: set "
		                              "DAYTONA_API_KEY or use "
		                              "--api-key-file");
	if (has_line_break(cfg->api_key))
		return sf_error_set(SF_EINVALID,
		                    "the daytona api key contains a line "
		                    "break");
	if (has_line_break(cfg->organization_id) || has_line_break(url) ||
	    has_line_break(cfg->version))
		return sf_error_set(SF_EINVALID,
		                    "daytona: configuration value contains a "
		                    "line break");
	if (!dt_url_ok(url))
		return sf_error_set(SF_EINVALID,
		                    "daytona: '%s' is not an http:// or "
		                    "https:// url",
		                    url);
	c = xcalloc(1, sizeof(*c));
	c->base_url = xstrdup(url);
	n = strlen(c->base_url);
	while (n > 0 && c->base_url[n - 1] == '/')
		c->base_url[--n] = '\0';
	c->plain_http_host = dt_plain_http_remote(c->base_url);
	c->api_key = xstrdup(cfg->api_key);
	c->auth_header = xasprintf("Authorization: Bearer %s", c->api_key);
	c->ua_header = xasprintf("User-Agent: sandform/%s",
	                         cfg->version ? cfg->version : PACKAGE_VERSION);
	if (cfg->organization_id != NULL && *cfg->organization_id)
		c->org_header = xasprintf("X-Daytona-Organization-ID: %s",
		                          cfg->organization_id);
	if (cfg->target != NULL && *cfg->target)
		c->target = xstrdup(cfg->target);
	c->connect_ms = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms
	                                            : DT_CONNECT_TIMEOUT_MS;
	c->timeout_ms = cfg->request_timeout_ms > 0 ? cfg->request_timeout_ms
	                                            : DT_REQUEST_TIMEOUT_MS;
	c->call_ms = cfg->call_timeout_ms > 0 ? cfg->call_timeout_ms
	                                      : DT_CALL_TIMEOUT_MS;
	c->ca_file = cfg->ca_file ? xstrdup(cfg->ca_file) : NULL;
	c->ca_dir = cfg->ca_dir ? xstrdup(cfg->ca_dir) : NULL;
	c->max_retries = cfg->max_retries == 0  ? DT_MAX_RETRIES
	                 : cfg->max_retries < 0 ? 0
	                                        : cfg->max_retries;
	c->backoff_base = cfg->backoff_base_ms > 0 ? cfg->backoff_base_ms
	                                           : DT_BACKOFF_BASE_MS;
	c->backoff_max = cfg->backoff_max_ms > 0 ? cfg->backoff_max_ms
	                                         : DT_BACKOFF_MAX_MS;
	c->tp = cfg->transport ? *cfg->transport : *dt_transport_curl();
	if (cfg->clock != NULL) {
		c->clock = *cfg->clock;
	} else {
		c->clock.now_ms = real_now;
		c->clock.sleep_ms = real_sleep;
		c->clock.ctx = c;
	}
	pthread_mutex_init(&c->mu, NULL);
	for (i = 0; i < DT_BUCKET_COUNT; i++) {
		c->buckets[i].remaining = -1;
		c->buckets[i].limit = -1;
		c->buckets[i].demand = -1;
	}
	*out = c;
	return 0;
}

void
dt_client_free(struct dt_client *c)
{
	if (c == NULL)
		return;
	free_secret(c->api_key);
	free_secret(c->auth_header);
	free(c->base_url);
	free(c->ua_header);
	free(c->org_header);
	free(c->target);
	free(c->plain_http_host);
	free(c->ca_file);
	free(c->ca_dir);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

void
dt_client_stats(struct dt_client *c, struct dt_stats *out)
{
	pthread_mutex_lock(&c->mu);
	*out = c->stats;
	pthread_mutex_unlock(&c->mu);
}

const char *
dt_bucket_name(enum dt_bucket b)
{
	switch (b) {
	case DT_BUCKET_CREATE:
		return "sandbox-create";
	case DT_BUCKET_LIFECYCLE:
		return "sandbox-lifecycle";
	default:
		return "authenticated";
	}
}

/* ---- backoff and budgets ----------------------------------------------- */

int64_t
dt_backoff_ms(int retry, long base_ms, long max_ms)
{
	int64_t d = base_ms > 0 ? base_ms : 1;
	uint32_t r;
	int i;

	for (i = 1; i < retry && d < max_ms; i++)
		d *= 2;
	if (d > max_ms)
		d = max_ms;
	if (random_bytes(&r, sizeof(r)) < 0)
		r = (uint32_t)time_mono_ms();
	/* "equal jitter": half fixed, half random */
	return d - d / 2 + (int64_t)(r % (uint32_t)(d / 2 + 1));
}

/*
 * budget_wait: take a slot in bucket b, sleeping as the budget says. The
 * slot is the caller's until budget_done() gives it back.
 *
 * What is sure to be left is the server's last count less the requests in
 * flight (it may not have counted them yet): parallel callers never send
 * more than that into a window, so the window's end brings no 429s.
 */
static void
budget_wait(struct dt_client *c, enum dt_bucket b)
{
	struct bucket *bk = &c->buckets[b];
	int64_t now, until, tell;
	long long reserve, avail;
	int paced, blocked, take, told = 0;

again:
	until = 0;
	paced = blocked = 0;
	take = 1;
	pthread_mutex_lock(&c->mu);
	now = now_ms(c);
	if (bk->reset_at != 0 && bk->reset_at <= now &&
	    bk->blocked_until <= now) {
		/* the window is over (our reset time is never before the
		 * server's: its Reset is rounded up); the next response
		 * tells the new one */
		bk->window_start = bk->reset_at;
		bk->remaining = -1;
		bk->reset_at = 0;
		bk->next_slot = 0;
	}
	avail = bk->remaining - bk->inflight; /* sure to be left, when known */
	if (bk->blocked_until > now) {
		until = bk->blocked_until;
		blocked = 1;
	} else if (bk->remaining >= 0 && bk->reset_at > now) {
		reserve = bk->limit > 0
		                  ? bk->limit * DT_BUDGET_RESERVE_PERCENT / 100
		                  : DT_BUDGET_RESERVE_MIN;
		if (reserve < 1)
			reserve = 1;
		if (avail <= 0) {
			until = bk->reset_at;
			paced = 1;
			/* requests in flight may have been counted already:
			 * their answers can show more left, so look again soon
			 * (without holding a slot) rather than sleep out a
			 * window that still has room */
			if (bk->inflight > 0 &&
			    until - now > DT_BUDGET_RECHECK_MS) {
				until = now + DT_BUDGET_RECHECK_MS;
				take = 0;
			}
		} else if (avail <= reserve && bk->demand < 0) {
			/* how much more is wanted is not known: spread the
			 * window's last requests over the rest of it (a run
			 * that knows sends what is left at once: spreading
			 * would not end it sooner, and a slot the spread leaves
			 * unused costs a whole window) */
			int64_t slot =
			        bk->next_slot > now ? bk->next_slot : now;
			int64_t left =
			        bk->reset_at > slot ? bk->reset_at - slot : 0;

			bk->next_slot = slot + left / avail;
			until = slot;
			paced = slot > now;
		}
	}
	if (take) {
		bk->inflight++;
		if (paced || told)
			c->stats.paced++;
		if (bk->demand > 0)
			bk->demand--;
	}
	/* the wait is told once: until the window's end when looking again
	 * meanwhile */
	tell = until - now;
	if (!take)
		tell = bk->reset_at - now;
	pthread_mutex_unlock(&c->mu);
	if (until <= now)
		return;
	if (!told) {
		told = 1;
		log_debug("waiting %lld ms for the '%s' rate-limit budget",
		          (long long)tell, dt_bucket_name(b));
		if (tell >= DT_WAIT_NOTICE_MS && c->hooks.on_wait == NULL)
			log_warn("waiting %lld s for Daytona's '%s' rate limit "
			         "(%s)",
			         (long long)((tell + 999) / 1000),
			         dt_bucket_name(b),
			         blocked ? "the server answered 429"
			                 : "few requests left in this window");
		notify_wait(c, b,
		            blocked ? DT_WAIT_RATE_LIMITED : DT_WAIT_BUDGET,
		            tell);
	}
	wait_ms(c, until - now);
	if (!take) {
		if (!stopping(c))
			goto again;
		/* do_call gives the slot back and stops */
		pthread_mutex_lock(&c->mu);
		bk->inflight++;
		pthread_mutex_unlock(&c->mu);
	}
}

/* budget_release: give back a slot that was not used (nothing sent). */
static void
budget_release(struct dt_client *c, enum dt_bucket b)
{
	pthread_mutex_lock(&c->mu);
	if (c->buckets[b].inflight > 0)
		c->buckets[b].inflight--;
	pthread_mutex_unlock(&c->mu);
}

static int
header_num(const struct dt_http_response *r, const char *prefix,
           const char *suffix, long long *out)
{
	char name[96];
	const char *v;
	const char *err;

	if (suffix != NULL)
		snprintf(name, sizeof(name), "%s-%s", prefix, suffix);
	else
		snprintf(name, sizeof(name), "%s", prefix);
	v = dt_http_response_header(r, name);
	if (v == NULL)
		return -1;
	while (*v == ' ')
		v++;
	return strnum_parse(v, 0, 1000000000LL, out, &err);
}

/*
 * budget_done: give back the slot budget_wait() took in bucket route, and
 * remember the rate-limit headers of its response (NULL: none came) to
 * the request sent at sent_at (client clock). The
 * unsuffixed headers count for the route's own bucket. An answer without
 * the bucket's count (or none at all) is taken to have used one.
 */
static void
budget_done(struct dt_client *c, enum dt_bucket route, int64_t sent_at,
            const struct dt_http_response *r)
{
	struct bucket *own = &c->buckets[route];
	bool counted = false;
	int64_t now;
	int i;

	pthread_mutex_lock(&c->mu);
	if (own->inflight > 0)
		own->inflight--;
	now = now_ms(c);
	for (i = 0; r != NULL && i < DT_BUCKET_COUNT; i++) {
		const char *sfx = dt_bucket_name((enum dt_bucket)i);
		struct bucket *bk = &c->buckets[i];
		long long rem, reset, limit;
		int64_t reset_at;

		if (header_num(r, "X-RateLimit-Remaining", sfx, &rem) < 0 &&
		    (i != (int)route ||
		     header_num(r, "X-RateLimit-Remaining", NULL, &rem) < 0))
			continue;
		if (header_num(r, "X-RateLimit-Reset", sfx, &reset) < 0 &&
		    header_num(r, "X-RateLimit-Reset", NULL, &reset) < 0)
			reset = 60;
		if (header_num(r, "X-RateLimit-Limit", sfx, &limit) < 0 &&
		    header_num(r, "X-RateLimit-Limit", NULL, &limit) < 0)
			limit = -1;
		reset_at = now + reset * 1000;
		if (sent_at < bk->window_start)
			continue;
		/* a request sent before the window we know ends was counted
		 * in it, however late its answer came (its Reset then says
		 * a later time than it is): the lower count stands */
		if (bk->reset_at != 0 && bk->remaining >= 0 &&
		    sent_at < bk->reset_at) {
			if (rem < bk->remaining)
				bk->remaining = rem;
		} else {
			/* a new window, which began when the one we knew ended:
			 * answers to requests sent before are not read (callers
			 * that slept out the old window send without passing
			 * the reset in budget_wait) */
			if (bk->reset_at != 0 && sent_at >= bk->reset_at)
				bk->window_start = bk->reset_at;
			bk->remaining = rem;
			bk->reset_at = reset_at;
			bk->next_slot = 0;
		}
		bk->limit = limit;
		counted |= bk == own;
	}
	if (!counted && own->remaining > 0)
		own->remaining--;
	pthread_mutex_unlock(&c->mu);
}

/* retry_after_ms: Retry-After-<bucket> or Retry-After, -1 when absent. */
static int64_t
retry_after_ms(const struct dt_http_response *r, enum dt_bucket b)
{
	long long s;

	if (header_num(r, "Retry-After", dt_bucket_name(b), &s) < 0 &&
	    header_num(r, "Retry-After", NULL, &s) < 0)
		return -1;
	if (s * 1000 > DT_RETRY_AFTER_MAX_MS)
		return DT_RETRY_AFTER_MAX_MS;
	return s * 1000;
}

static void
block_bucket(struct dt_client *c, enum dt_bucket b, int64_t until)
{
	pthread_mutex_lock(&c->mu);
	if (c->buckets[b].blocked_until < until)
		c->buckets[b].blocked_until = until;
	pthread_mutex_unlock(&c->mu);
}

/* ---- one call ---------------------------------------------------------- */

/* call_request: the request of a call: its headers (hdrs has room for 6),
 * the client's timeouts and CAs. */
static void
call_request(const struct dt_client *c, const struct dt_call *call,
             const char *url, const char **hdrs, struct dt_http_request *req)
{
	size_t nh = 0;

	hdrs[nh++] = c->auth_header;
	hdrs[nh++] = c->ua_header;
	hdrs[nh++] = "X-Daytona-Source: sandform";
	hdrs[nh++] = "Accept: application/json";
	if (call->body != NULL)
		hdrs[nh++] = "Content-Type: application/json";
	if (c->org_header != NULL)
		hdrs[nh++] = c->org_header;
	memset(req, 0, sizeof(*req));
	req->method = call->method;
	req->url = url;
	req->headers = hdrs;
	req->n_headers = nh;
	req->body = call->body;
	req->body_len = call->body ? strlen(call->body) : 0;
	req->connect_timeout_ms = c->connect_ms;
	req->timeout_ms = c->timeout_ms;
	req->max_body = DT_MAX_BODY;
	req->recv_buffer = call->page ? DT_HTTP_RECV_BUFFER_PAGE : 0;
	req->cancel = c->hooks.cancel;
	req->ca_file = c->ca_file;
	req->ca_dir = c->ca_dir;
}

/* count_attempt: the client's counters after one exchange. */
static void
count_attempt(struct dt_client *c, int attempt, int sent, int status)
{
	pthread_mutex_lock(&c->mu);
	c->stats.requests++;
	if (attempt > 0)
		c->stats.retries++;
	if (sent < 0)
		c->stats.net_failures++;
	else if (status == 429)
		c->stats.throttled++;
	else if (status >= 500)
		c->stats.server_errors++;
	pthread_mutex_unlock(&c->mu);
}

/* retryable: whether the policy repeats this outcome (see the top). */
static int
retryable(const struct dt_call *call, int sent,
          const struct dt_http_response *resp)
{
	if (sent < 0)
		return call->retry_safe && resp->failure != DT_HTTP_TOO_LARGE &&
		       resp->failure != DT_HTTP_TLS;
	if (resp->status == 429)
		return 1;
	if (resp->status >= 500)
		return call->retry_safe;
	return 0;
}

/*
 * give_up: the error of a call that may not wait (wait ms, 0: none) past
 * its deadline: the last attempt's failure and why there is no other.
 */
static int
give_up(const struct dt_client *c, const struct dt_call *call,
        const struct dt_http_response *resp, int attempts, int64_t wait)
{
	int code = dt_reply_error(c->base_url, call->method,
	                          buf_cstr(&call->path), resp, attempts);
	char *last = xstrdup(sf_error_last());

	if (wait > 0)
		sf_error_set(code,
		             "%s; not retried: waiting %lld s more would pass "
		             "the call's time limit of %ld s",
		             last, (long long)((wait + 999) / 1000),
		             (c->call_ms + 999) / 1000);
	else
		sf_error_set(code,
		             "%s; gave up: the call's time limit of %ld s "
		             "has passed",
		             last, (c->call_ms + 999) / 1000);
	free(last);
	return code;
}

/* retry_notice: say a long wait before a retry on stderr, when no run's
 * hook shows it (a plan has none). */
static void
retry_notice(const struct dt_client *c, const struct dt_call *call, int sent,
             const struct dt_http_response *resp, int64_t ms)
{
	if (ms < DT_WAIT_NOTICE_MS || c->hooks.on_wait != NULL)
		return;
	if (sent < 0)
		log_warn("waiting %lld s to retry %s %s: %s",
		         (long long)((ms + 999) / 1000), call->method,
		         buf_cstr(&call->path),
		         dt_reply_failure(resp->failure));
	else
		log_warn("waiting %lld s to retry %s %s: the server answered "
		         "%d",
		         (long long)((ms + 999) / 1000), call->method,
		         buf_cstr(&call->path), resp->status);
}

/*
 * next_wait: after a failed attempt that will be repeated, how long to
 * sleep before the next: the answer's Retry-After, else the backoff. (A
 * 429's Retry-After blocks the bucket instead; budget_wait() sleeps it.)
 */
static int64_t
next_wait(struct dt_client *c, const struct dt_call *call, int sent,
          const struct dt_http_response *resp, int attempt)
{
	int64_t wait;

	/* a 503 (maintenance) may say when to come back, too */
	if (sent == 0 && (wait = retry_after_ms(resp, call->bucket)) >= 0)
		return wait;
	return dt_backoff_ms(attempt + 1, c->backoff_base, c->backoff_max);
}

/* send_once: one exchange, its key masked out of the answer and counted;
 * 0 when a response arrived, else < 0 (resp->failure says why). */
static int
send_once(struct dt_client *c, const struct dt_call *call,
          struct dt_http_request *req, struct dt_http_response *resp,
          int attempt)
{
	int64_t t0 = time_mono_ms(), sent_at = now_ms(c);
	int sent;

	warn_plain_http(c);
	dt_http_response_clear(resp);
	buf_init_max(&resp->body, DT_MAX_BODY);
	sent = c->tp.send(c->tp.ctx, req, resp);
	if (sent < 0 && resp->failure == DT_HTTP_OK)
		resp->failure = DT_HTTP_OTHER;
	if (sent < 0)
		resp->status = 0;
	dt_reply_redact(resp, c->auth_header + strlen("Authorization: "),
	                c->api_key);
	log_debug("%s %s -> %d%s%s (%lld ms, attempt %d)", call->method,
	          buf_cstr(&call->path), resp->status, sent < 0 ? " " : "",
	          sent < 0 ? dt_reply_failure(resp->failure) : "",
	          (long long)(time_mono_ms() - t0), attempt + 1);
	count_attempt(c, attempt, sent, resp->status);
	if (c->count != NULL)
		c->count(c->count_arg, call->bucket,
		         sent < 0 ? 0 : resp->status);
	budget_done(c, call->bucket, sent_at, sent == 0 ? resp : NULL);
	return sent;
}

/*
 * do_call: send the call, retrying per the policy within the call's time
 * limit, and leave the last response in resp. Returns 0 on a 2xx, else the
 * mapped error (message set).
 */
int
dt_call_run(struct dt_client *c, struct dt_call *call,
            struct dt_http_response *resp, struct dt_result *res)
{
	const char *hdrs[6];
	struct dt_http_request req;
	char *url = xasprintf("%s%s", c->base_url, buf_cstr(&call->path));
	int64_t deadline = now_ms(c) + c->call_ms, left, wait;
	int attempt, sent, rc = SF_ERROR;

	call_request(c, call, url, hdrs, &req);
	for (attempt = 0;; attempt++) {
		budget_wait(c, call->bucket);
		if (stopping(c)) {
			budget_release(c, call->bucket);
			rc = sf_error_set(SF_EINTR,
			                  "daytona: %s %s: interrupted",
			                  call->method, buf_cstr(&call->path));
			goto out;
		}
		if ((left = deadline - now_ms(c)) <= 0 && attempt > 0) {
			budget_release(c, call->bucket);
			rc = give_up(c, call, resp, attempt, 0);
			goto out;
		}
		if (left > 0 && left < c->timeout_ms)
			req.timeout_ms = (long)left;
		sent = send_once(c, call, &req, resp, attempt);
		if (sent < 0 &&
		    sf_cancel_level(c->hooks.cancel) >= SF_CANCEL_ABORT) {
			/* aborted in flight: whether it took effect is
			 * unknown; the caller's journal keeps the entry */
			if (res != NULL) {
				res->status = 0;
				res->attempts = attempt + 1;
			}
			rc = sf_error_set(SF_EINTR,
			                  "daytona: %s %s: aborted in flight",
			                  call->method, buf_cstr(&call->path));
			goto out;
		}
		if (res != NULL) {
			res->status = resp->status;
			res->attempts = attempt + 1;
		}
		if (sent == 0 && resp->status >= 200 && resp->status < 300) {
			rc = 0;
			goto out;
		}
		/* A 429 blocks the bucket for every caller, retrying or not;
		 * the retry then waits in budget_wait() until the block ends.
		 */
		wait = sent == 0 && resp->status == 429
		               ? retry_after_ms(resp, call->bucket)
		               : -1;
		if (wait >= 0)
			block_bucket(c, call->bucket, now_ms(c) + wait);
		if (!retryable(call, sent, resp) || attempt >= c->max_retries)
			break;
		if (wait < 0)
			wait = next_wait(c, call, sent, resp, attempt);
		if ((left = deadline - now_ms(c)) <= wait) {
			rc = give_up(c, call, resp, attempt + 1,
			             left > 0 ? wait : 0);
			goto out;
		}
		if (sent == 0 && resp->status == 429 &&
		    retry_after_ms(resp, call->bucket) >= 0)
			continue; /* budget_wait() sleeps the block */
		retry_notice(c, call, sent, resp, wait);
		notify_wait(c, call->bucket,
		            sent == 0 && resp->status == 429
		                    ? DT_WAIT_RATE_LIMITED
		                    : DT_WAIT_RETRY,
		            wait);
		wait_ms(c, wait);
	}
	rc = dt_reply_error(c->base_url, call->method, buf_cstr(&call->path),
	                    resp, attempt + 1);
out:
	free(url);
	return rc;
}

/* ---- routes ------------------------------------------------------------ */

void
dt_call_init(struct dt_call *k, const char *method, enum dt_bucket bucket,
             int retry_safe)
{
	memset(k, 0, sizeof(*k));
	k->method = method;
	k->bucket = bucket;
	k->retry_safe = retry_safe;
}

void
dt_call_clear(struct dt_call *k)
{
	buf_free(&k->path);
	free(k->body);
	k->body = NULL;
}

/* sandbox_path: "/sandbox/<id>" plus a suffix; 0 or SF_EINVALID. */
static int
sandbox_path(struct dt_call *k, const char *id, const char *suffix)
{
	if (id == NULL || *id == '\0')
		return sf_error_set(SF_EINVALID,
		                    "daytona: empty sandbox id or name");
	buf_addstr(&k->path, "/sandbox/");
	dt_url_escape(&k->path, id);
	if (suffix != NULL)
		buf_addstr(&k->path, suffix);
	return 0;
}

/* set_body: the call takes the JSON text of j; j is deleted. */
int
dt_call_body(struct dt_call *k, cJSON *j)
{
	char *s = cJSON_PrintUnformatted(j);

	cJSON_Delete(j);
	if (s == NULL)
		return sf_error_set(SF_ERROR, "daytona: cannot encode request");
	k->body = xstrdup(s);
	cJSON_free(s);
	return 0;
}

cJSON *
dt_call_parse(const struct dt_http_response *resp)
{
	if (resp->body.len == 0)
		return NULL;
	return cJSON_ParseWithLength(buf_cstr(&resp->body), resp->body.len);
}

/*
 * sandbox_call: run a route that answers with a Sandbox. When required
 * (GET), a body that is not a sandbox is an error; for actions the call
 * succeeded whatever the body, and res->sandbox is left NULL when it is
 * not a sandbox with an id (e.g. PUT labels answering only {labels}).
 */
static int
sandbox_call(struct dt_client *c, struct dt_call *k, struct dt_result *res,
             int required)
{
	struct dt_http_response resp = DT_HTTP_RESPONSE_INIT;
	struct dt_sandbox *sb = NULL;
	cJSON *j = NULL;
	int rc;

	if (res != NULL) {
		dt_sandbox_free(res->sandbox);
		res->sandbox = NULL;
	}
	if ((rc = dt_call_run(c, k, &resp, res)) < 0)
		goto out;
	if (res == NULL && !required)
		goto out;
	j = dt_call_parse(&resp);
	if (j == NULL || dt_sandbox_from_json(j, 1, &sb) < 0 ||
	    sb->id == NULL) {
		dt_sandbox_free(sb);
		sb = NULL;
		if (required) {
			rc = dt_reply_unexpected(k->method, buf_cstr(&k->path),
			                         &resp, "a sandbox");
			goto out;
		}
		sf_error_clear();
	}
	if (res != NULL) {
		res->sandbox = sb;
		sb = NULL;
	}
out:
	dt_sandbox_free(sb);
	cJSON_Delete(j);
	dt_http_response_clear(&resp);
	dt_call_clear(k);
	return rc;
}

int
dt_get(struct dt_client *c, const char *id, struct dt_result *res)
{
	struct dt_call k;

	dt_call_init(&k, "GET", DT_BUCKET_AUTHENTICATED, 1);
	if (sandbox_path(&k, id, NULL) < 0) {
		dt_call_clear(&k);
		return SF_EINVALID;
	}
	return sandbox_call(c, &k, res, 1);
}

void
dt_json_add_str(cJSON *o, const char *field, const char *s)
{
	if (s != NULL)
		cJSON_AddStringToObject(o, field, s);
}

/* secrets_json: [{ENV: name}, ...] (update-sandbox-secrets.ts). */
static cJSON *
secrets_json(const struct strmap *m)
{
	cJSON *a = cJSON_CreateArray(), *o;
	size_t i;

	for (i = 0; m && i < m->n; i++) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, m->v[i].key, m->v[i].value);
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

/* create_0218: the fields of the 0.218 CreateSandbox (create-sandbox.ts). */
static void
create_0218(cJSON *j, const struct dt_create *r)
{
	cJSON *a;
	size_t i;

	if (r->has_ttl)
		cJSON_AddNumberToObject(j, "ttlMinutes", r->ttl_minutes);
	if (r->spot)
		cJSON_AddTrueToObject(j, "spot");
	if (r->kvm)
		cJSON_AddTrueToObject(j, "kvm");
	dt_json_add_str(j, "outboundProxyUrl", r->outbound_proxy_url);
	if (r->n_gpu_types > 0) {
		a = cJSON_AddArrayToObject(j, "gpuType");
		for (i = 0; i < r->n_gpu_types; i++)
			cJSON_AddItemToArray(
			        a, cJSON_CreateString(r->gpu_types[i]));
	}
	if (r->secrets != NULL && r->secrets->n > 0)
		cJSON_AddItemToObject(j, "secrets", secrets_json(r->secrets));
}

int
dt_create(struct dt_client *c, const struct dt_create *r, struct dt_result *res)
{
	cJSON *j = cJSON_CreateObject();
	struct dt_call k;
	const char *target = r->target ? r->target : c->target;
	size_t i;

	dt_call_init(&k, "POST", DT_BUCKET_CREATE, 0);
	buf_addstr(&k.path, "/sandbox");
	dt_json_add_str(j, "name", r->name);
	if (r->dockerfile != NULL || r->image != NULL) {
		cJSON *bi = cJSON_AddObjectToObject(j, "buildInfo");

		if (r->dockerfile != NULL) {
			dt_json_add_str(bi, "dockerfileContent", r->dockerfile);
		} else {
			char *df = xasprintf("FROM %s\n", r->image);

			dt_json_add_str(bi, "dockerfileContent", df);
			free(df);
		}
	} else {
		dt_json_add_str(j, "snapshot", r->snapshot);
	}
	dt_json_add_str(j, "user", r->user);
	if (r->env != NULL)
		cJSON_AddItemToObject(j, "env", strmap_to_json(r->env));
	if (r->labels != NULL)
		cJSON_AddItemToObject(j, "labels", strmap_to_json(r->labels));
	for (i = 0; i < DT_SET_COUNT; i++) {
		if (!r->has_setting[i])
			continue;
		if (dt_settings[i].is_bool)
			cJSON_AddBoolToObject(j, dt_settings[i].key,
			                      r->setting[i]);
		else
			cJSON_AddNumberToObject(j, dt_settings[i].key,
			                        r->setting[i]);
	}
	if (r->has_network_block_all)
		cJSON_AddBoolToObject(j, "networkBlockAll",
		                      r->network_block_all);
	dt_json_add_str(j, "networkAllowList", r->network_allow_list);
	dt_json_add_str(j, "domainAllowList", r->domain_allow_list);
	dt_json_add_str(j, "target", target);
	if (r->cpu > 0)
		cJSON_AddNumberToObject(j, "cpu", r->cpu);
	if (r->gpu > 0)
		cJSON_AddNumberToObject(j, "gpu", r->gpu);
	if (r->memory > 0)
		cJSON_AddNumberToObject(j, "memory", r->memory);
	if (r->disk > 0)
		cJSON_AddNumberToObject(j, "disk", r->disk);
	if (r->n_volumes > 0) {
		cJSON *arr = cJSON_AddArrayToObject(j, "volumes");

		for (i = 0; i < r->n_volumes; i++) {
			cJSON *v = cJSON_CreateObject();

			dt_json_add_str(v, "volumeId", r->volumes[i].volume_id);
			dt_json_add_str(v, "mountPath",
			                r->volumes[i].mount_path);
			dt_json_add_str(v, "subpath", r->volumes[i].subpath);
			cJSON_AddItemToArray(arr, v);
		}
	}
	create_0218(j, r);
	if (dt_call_body(&k, j) < 0) {
		dt_call_clear(&k);
		return SF_ERROR;
	}
	return sandbox_call(c, &k, res, 0);
}

/*
 * action: a POST/PUT/DELETE on /sandbox/<id><suffix>, sending body (NULL:
 * none) as JSON. body is deleted in every case.
 */
static int
action(struct dt_client *c, const char *method, const char *id,
       const char *suffix, enum dt_bucket bucket, int retry_safe, cJSON *body,
       struct dt_result *res)
{
	struct dt_call k;

	dt_call_init(&k, method, bucket, retry_safe);
	if (sandbox_path(&k, id, suffix) < 0) {
		cJSON_Delete(body);
		dt_call_clear(&k);
		return SF_EINVALID;
	}
	if (body != NULL && dt_call_body(&k, body) < 0) {
		dt_call_clear(&k);
		return SF_ERROR;
	}
	return sandbox_call(c, &k, res, 0);
}

int
dt_start(struct dt_client *c, const char *id, struct dt_result *res)
{
	return action(c, "POST", id, "/start", DT_BUCKET_LIFECYCLE, 1, NULL,
	              res);
}

int
dt_stop(struct dt_client *c, const char *id, int force, struct dt_result *res)
{
	return action(c, "POST", id, force ? "/stop?force=true" : "/stop",
	              DT_BUCKET_LIFECYCLE, 0, NULL, res);
}

int
dt_archive(struct dt_client *c, const char *id, struct dt_result *res)
{
	return action(c, "POST", id, "/archive", DT_BUCKET_LIFECYCLE, 0, NULL,
	              res);
}

int
dt_delete(struct dt_client *c, const char *id, struct dt_result *res)
{
	return action(c, "DELETE", id, NULL, DT_BUCKET_LIFECYCLE, 0, NULL, res);
}

int
dt_recover(struct dt_client *c, const char *id, struct dt_result *res)
{
	return action(c, "POST", id, "/recover", DT_BUCKET_LIFECYCLE, 0, NULL,
	              res);
}

int
dt_resize(struct dt_client *c, const char *id, int cpu, int memory, int disk,
          struct dt_result *res)
{
	cJSON *j;

	if (cpu <= 0 && memory <= 0 && disk <= 0)
		return sf_error_set(SF_EINVALID,
		                    "daytona: resize of '%s' without a "
		                    "resource",
		                    id ? id : "");
	j = cJSON_CreateObject();
	if (cpu > 0)
		cJSON_AddNumberToObject(j, "cpu", cpu);
	if (memory > 0)
		cJSON_AddNumberToObject(j, "memory", memory);
	if (disk > 0)
		cJSON_AddNumberToObject(j, "disk", disk);
	return action(c, "POST", id, "/resize", DT_BUCKET_LIFECYCLE, 0, j, res);
}

int
dt_set_labels(struct dt_client *c, const char *id, const struct strmap *labels,
              struct dt_result *res)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddItemToObject(j, "labels", strmap_to_json(labels));
	return action(c, "PUT", id, "/labels", DT_BUCKET_AUTHENTICATED, 1, j,
	              res);
}

int
dt_set_setting(struct dt_client *c, const char *id, enum dt_setting s,
               int value, struct dt_result *res)
{
	char suffix[64];

	if ((unsigned)s >= DT_SET_COUNT)
		return sf_error_set(SF_EINVALID, "daytona: unknown setting");
	if (dt_settings[s].is_bool)
		snprintf(suffix, sizeof(suffix), "/%s/%s", dt_settings[s].route,
		         value ? "true" : "false");
	else
		snprintf(suffix, sizeof(suffix), "/%s/%d", dt_settings[s].route,
		         value);
	return action(c, "POST", id, suffix, DT_BUCKET_AUTHENTICATED, 1, NULL,
	              res);
}

int
dt_set_ttl(struct dt_client *c, const char *id, int minutes,
           struct dt_result *res)
{
	char suffix[32];

	snprintf(suffix, sizeof(suffix), "/ttl/%d", minutes);
	return action(c, "POST", id, suffix, DT_BUCKET_AUTHENTICATED, 1, NULL,
	              res);
}

int
dt_set_secrets(struct dt_client *c, const char *id,
               const struct strmap *secrets, struct dt_result *res)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddItemToObject(j, "secrets", secrets_json(secrets));
	return action(c, "PUT", id, "/secrets", DT_BUCKET_AUTHENTICATED, 1, j,
	              res);
}

int
dt_pause(struct dt_client *c, const char *id, struct dt_result *res)
{
	return action(c, "POST", id, "/pause", DT_BUCKET_LIFECYCLE, 0, NULL,
	              res);
}

int
dt_set_network(struct dt_client *c, const char *id,
               const struct dt_network *net, struct dt_result *res)
{
	cJSON *j;

	if (net == NULL || (!net->has_block_all && net->allow_list == NULL &&
	                    net->domain_allow_list == NULL))
		return sf_error_set(SF_EINVALID,
		                    "daytona: network settings of '%s' "
		                    "without a field",
		                    id ? id : "");
	j = cJSON_CreateObject();
	if (net->has_block_all)
		cJSON_AddBoolToObject(j, "networkBlockAll", net->block_all);
	dt_json_add_str(j, "networkAllowList", net->allow_list);
	dt_json_add_str(j, "domainAllowList", net->domain_allow_list);
	return action(c, "POST", id, "/network-settings",
	              DT_BUCKET_AUTHENTICATED, 1, j, res);
}
