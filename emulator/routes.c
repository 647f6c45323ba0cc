/*
 * routes: the route table and the order of the checks.
 *
 * routes_answer() answers in the order the real NestJS server does:
 * injected latency and faults first (they model the network and the load
 * balancer), then body-parser errors (413, malformed JSON), routing (404),
 * authentication (401), throttling (429), the sandbox access guard (404)
 * and last the handler: validation (400) and the service rules. The test
 * hooks share the body parsing and then leave the API's path: they are
 * never faulted, throttled or counted.
 *
 * Requests that must wait — injected latency, and create/start/recover
 * waiting for `started` — are suspended rather than blocking a pool
 * thread; each resume runs routes_answer() again, which picks up where
 * the request left off (q->wait, q->latency_done).
 */
#include "common/base.h"

#include <stdarg.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "emulator/api.h"
#include "emulator/body.h"
#include "emulator/hooks.h"
#include "emulator/internal.h"
#include "emulator/routes.h"

/* The /api routes, tried in order: the first match answers. */
static const struct route api_routes[] = {
	{ "GET", "/config", RL_NONE, api_config, RF_PUBLIC },
	{ "GET", "/sandbox", RL_OTHER, api_list, 0 },
	{ "POST", "/sandbox", RL_CREATE, api_create, 0 },
	{ "GET", "/sandbox/{id}", RL_OTHER, api_get, RF_SANDBOX },
	{ "DELETE", "/sandbox/{id}", RL_LIFECYCLE, api_delete, RF_SANDBOX },
	{ "POST", "/sandbox/{id}/start", RL_LIFECYCLE, api_start, RF_SANDBOX },
	{ "POST", "/sandbox/{id}/stop", RL_LIFECYCLE, api_stop, RF_SANDBOX },
	{ "POST", "/sandbox/{id}/archive", RL_LIFECYCLE, api_archive,
	  RF_SANDBOX },
	{ "POST", "/sandbox/{id}/recover", RL_LIFECYCLE, api_recover,
	  RF_SANDBOX },
	{ "POST", "/sandbox/{id}/pause", RL_LIFECYCLE, api_pause, RF_SANDBOX },
	{ "POST", "/sandbox/{id}/resize", RL_LIFECYCLE, api_resize,
	  RF_SANDBOX | RF_RESIZE },
	{ "PUT", "/sandbox/{id}/labels", RL_OTHER, api_labels, RF_SANDBOX },
	{ "POST", "/sandbox/{id}/public/{isPublic}", RL_OTHER, api_public,
	  RF_SANDBOX },
	{ "POST", "/sandbox/{id}/autostop/{interval}", RL_OTHER, api_autostop,
	  RF_SANDBOX },
	{ "POST", "/sandbox/{id}/autoarchive/{interval}", RL_OTHER,
	  api_autoarchive, RF_SANDBOX },
	{ "POST", "/sandbox/{id}/autodelete/{interval}", RL_OTHER,
	  api_autodelete, RF_SANDBOX },
	{ "POST", "/sandbox/{id}/autopause/{interval}", RL_OTHER, api_autopause,
	  RF_SANDBOX },
	{ "POST", "/sandbox/{id}/ttl/{ttlMinutes}", RL_OTHER, api_ttl,
	  RF_SANDBOX },
	{ "PUT", "/sandbox/{id}/secrets", RL_OTHER, api_secrets, RF_SANDBOX },
	{ "POST", "/sandbox/{id}/network-settings", RL_OTHER, api_network,
	  RF_SANDBOX },
	{ "POST", "/sandbox/{id}/backup", RL_OTHER, api_backup, RF_SANDBOX },
	{ "POST", "/sandbox/{id}/last-activity", RL_OTHER, api_activity,
	  RF_SANDBOX | RF_ID_ONLY },
	{ "GET", "/sandbox/{id}/build-logs-url", RL_OTHER, api_build_logs,
	  RF_SANDBOX },
	{ "POST", "/sandbox/{id}/snapshot", RL_OTHER, api_snapshot,
	  RF_SANDBOX },
	{ "POST", "/sandbox/{id}/fork", RL_CREATE, api_fork, RF_SANDBOX },
	{ "GET", "/sandbox/{id}/ports/{port}/preview-url", RL_OTHER,
	  api_preview, RF_SANDBOX },
	{ "POST", "/volumes", RL_OTHER, api_volume_create, 0 },
	{ "GET", "/volumes", RL_OTHER, api_volume_list, 0 },
	{ "GET", "/volumes/by-name/{name}", RL_OTHER, api_volume_by_name, 0 },
	{ "GET", "/volumes/{id}", RL_OTHER, api_volume_get, 0 },
	{ "DELETE", "/volumes/{id}", RL_OTHER, api_volume_delete, 0 },
	{ "POST", "/snapshots", RL_OTHER, api_snapshots_create, 0 },
	{ "GET", "/snapshots", RL_OTHER, api_snapshots_list, 0 },
	{ "GET", "/snapshots/{id}", RL_OTHER, api_snapshots_get, 0 },
	{ "DELETE", "/snapshots/{id}", RL_OTHER, api_snapshots_delete, 0 },
	{ "POST", "/snapshots/{id}/activate", RL_OTHER, api_snapshots_activate,
	  0 },
	{ "POST", "/snapshots/{id}/deactivate", RL_OTHER,
	  api_snapshots_deactivate, 0 },
	{ "POST", "/secret", RL_OTHER, api_secret_create, 0 },
	{ "GET", "/secret", RL_OTHER, api_secret_list, 0 },
	{ "GET", "/secret/{id}", RL_OTHER, api_secret_get, 0 },
	{ "PATCH", "/secret/{id}", RL_OTHER, api_secret_update, 0 },
	{ "DELETE", "/secret/{id}", RL_OTHER, api_secret_delete, 0 },
};

_Static_assert(sizeof(api_routes) / sizeof(api_routes[0]) <= REQLOG_ROUTES_MAX,
               "the request log counts at most REQLOG_ROUTES_MAX routes");

/* The /_emulator routes (docs/daytona-emulator.1, TEST HOOKS). */
static const struct route hook_routes[] = {
	{ "POST", "/reset", RL_NONE, hook_reset, 0 },
	{ "POST", "/sandbox/{id}", RL_NONE, hook_sandbox_set, 0 },
	{ "GET", "/sandbox/{id}", RL_NONE, hook_sandbox_get, 0 },
	{ "POST", "/clock/advance", RL_NONE, hook_clock_advance, 0 },
	{ "GET", "/requests", RL_NONE, hook_requests, 0 },
	{ "DELETE", "/requests", RL_NONE, hook_requests_clear, 0 },
	{ "GET", "/counters", RL_NONE, hook_counters, 0 },
	{ "POST", "/seed", RL_NONE, hook_seed, 0 },
	{ "GET", "/build-logs/{id}", RL_NONE, hook_build_logs, 0 },
};

#define N_API   (int)(sizeof(api_routes) / sizeof(api_routes[0]))
#define N_HOOKS (int)(sizeof(hook_routes) / sizeof(hook_routes[0]))

const struct route *
routes_api(int *n)
{
	*n = N_API;
	return api_routes;
}

int
routes_index(const struct route *rt)
{
	return rt ? (int)(rt - api_routes) : -1;
}

/* --- answers of handlers ---------------------------------------------- */

void
route_error(struct route_call *c, int status, const char *msg)
{
	http_error(c->r, c->q->uri, status, msg);
}

void
route_errorf(struct route_call *c, int status, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	http_error(c->r, c->q->uri, status, msg);
	free(msg);
}

void
route_sandbox(struct route_call *c, int status, const struct sandbox *sb)
{
	c->r->status = status;
	buf_reset(&c->r->body);
	sandbox_to_json(sb, SBJ_FULL, &c->r->body);
}

/* --- matching --------------------------------------------------------- */

/*
 * match: do the segments of s from `from` on have the pattern's shape?
 * The segments of its {...} parts go to param[], in order.
 */
static bool
match(const char *pattern, const struct http_path *s, int from,
      const char **param)
{
	const char *p = pattern;
	int i = from, n_param = 0;

	while (*p == '/') {
		const char *e = strchr(++p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		if (i == s->n)
			return false;
		if (*p == '{') {
			if (n_param < ROUTE_PARAMS_MAX)
				param[n_param++] = s->v[i];
		} else if (strncmp(s->v[i], p, n) != 0 || s->v[i][n] != '\0') {
			return false;
		}
		i++;
		p += n;
	}
	return i == s->n;
}

/* the first route of table[0..n) for method and s[from..] */
static const struct route *
find(const struct route *table, int n, const char *method,
     const struct http_path *s, int from, const char **param)
{
	for (int i = 0; i < n; i++)
		if (strcmp(table[i].method, method) == 0 &&
		    match(table[i].pattern, s, from, param))
			return &table[i];
	return NULL;
}

/* --- the order of the checks ------------------------------------------ */

enum step {
	STEP_NEXT,   /* go on */
	STEP_LOGGED, /* answered: log it (and apply a drawn fault) */
	STEP_DONE,   /* answered, suspended, or a hook: nothing more */
};

/* replace the answer by the fault drawn for q, if any */
static void
apply_fault(struct req *q)
{
	if (q->fault == FAULT_DROP)
		q->r.drop = true;
	else if (q->fault)
		http_error(&q->r, q->uri, q->fault,
		           q->fault == 500 ? "An unexpected error occurred."
		                           : http_reason(q->fault));
}

static void
finish_log(struct server *srv, struct req *q, const char *method)
{
	int status = q->r.drop ? 0 : q->r.status;

	log_debug("%s %s%s%s -> %d", method, q->path, q->query[0] ? "?" : "",
	          q->query, status);
	reqlog_add(&srv->log, q, method, status);
}

/*
 * Before the body: a request resumed after waiting, the route (known
 * before any fault, so a faulted request keeps its bucket), latency and
 * the faults drawn for it.
 */
static enum step
before_body(struct route_call *c, const struct http_path *s, bool hook)
{
	struct server *srv = c->srv;
	struct req *q = c->q;

	if (q->resumed && q->wait == W_STARTED) {
		api_wait_over(c);
		return STEP_LOGGED;
	}
	if (q->resumed && q->wait == W_LATENCY) {
		q->wait = W_NONE;
		q->latency_done = true;
	}
	q->resumed = false;
	if (hook)
		return STEP_NEXT;
	q->route = s->n > 0 && strcmp(s->v[0], "api") == 0
	                   ? find(api_routes, N_API, c->method, s, 1, c->param)
	                   : NULL;
	q->bucket = q->route ? q->route->bucket : RL_NONE;
	if (!q->latency_done && srv->opts.latency_ms > 0 && !srv->stopping) {
		c->r->status = -1;
		server_suspend(srv, q, W_LATENCY,
		               time_mono_ms() + srv->opts.latency_ms);
		return STEP_DONE;
	}
	q->fault = faults_draw(&srv->faults);
	if (q->fault && !srv->opts.fault_after)
		return STEP_LOGGED;
	return STEP_NEXT;
}

/* the body as handlers see it: an object, or -1 with the answer set */
static int
read_body(struct route_call *c, bool hook, cJSON **body)
{
	struct req *q = c->q;

	*body = NULL;
	if (q->too_big) {
		route_error(c, 413, "request entity too large");
		return -1;
	}
	/*
	 * The API ignores a body that is not declared JSON, as NestJS does;
	 * the hooks are not Daytona and take JSON whatever the Content-Type
	 * (curl -d sends x-www-form-urlencoded).
	 */
	if (q->body.len && (hook || http_is_json(q)) &&
	    body_parse(q->body.data, q->body.len, q->uri, body, c->r) < 0)
		return -1;
	if (!cJSON_IsObject(*body)) {
		cJSON_Delete(*body);
		*body = cJSON_CreateObject();
	}
	return 0;
}

/* a test hook; STEP_LOGGED only when refused for want of a key */
static enum step
answer_hook(struct route_call *c, const struct http_path *s,
            struct org *key_org)
{
	struct server *srv = c->srv;
	const struct route *rt;

	if (!key_org && !srv->loopback) {
		/* reachable from the network: hooks need a key too */
		route_error(c, 401, "Invalid credentials");
		return STEP_LOGGED;
	}
	c->o = key_org ? key_org : emudb_org_first(srv->db);
	rt = find(hook_routes, N_HOOKS, c->method, s, 1, c->param);
	if (rt)
		rt->fn(c);
	else
		route_errorf(c, 404, "Cannot %s %s", c->method, c->q->path);
	return STEP_DONE;
}

/* an /api request from routing on (method as sent, HEAD included) */
static void
answer_api(struct route_call *c, const char *method)
{
	struct server *srv = c->srv;
	const struct route *rt = c->q->route;
	const char *id = c->param[0];

	if (!rt) {
		route_errorf(c, 404, "Cannot %s %s", method,
		             c->q->uri); /* originalUrl */
		return;
	}
	if (rt->flags & RF_PUBLIC) {
		rt->fn(c);
		return;
	}
	if (!c->o) {
		route_error(c, 401, "Invalid credentials");
		return;
	}
	if (faults_rate_limit(&srv->faults, emudb_org_id(c->o), rt->bucket,
	                      c->r) ||
	    faults_draw_throttle(&srv->faults, rt->bucket, c->r)) {
		route_error(c, 429, "ThrottlerException: Too Many Requests");
		return;
	}
	if ((rt->flags & RF_RESIZE) && srv->opts.resize_disabled) {
		route_error(c, 404, "Not Found");
		return;
	}
	if (rt->flags & RF_SANDBOX) {
		c->sb = emudb_find(srv->db, c->o, id);
		if (c->sb && (rt->flags & RF_ID_ONLY) &&
		    strcmp(c->sb->id, id) != 0)
			c->sb = NULL;
		if (!c->sb) {
			route_errorf(c, 404,
			             "Sandbox with ID or name %s not found",
			             id);
			return;
		}
	}
	rt->fn(c);
}

void
routes_answer(struct req *q, const char *method)
{
	struct server *srv = q->srv;
	struct route_call c;
	struct http_path s;
	struct http_query qp;
	cJSON *body = NULL;
	bool hook = strncmp(q->path, "/_emulator/", 11) == 0;
	const char *key;
	struct org *o;

	memset(&c, 0, sizeof(c));
	c.srv = srv;
	c.q = q;
	c.r = &q->r;
	c.qp = &qp;
	/* HEAD is routed as GET, as Express does; libmicrohttpd drops the
	 * body */
	c.method = strcmp(method, "HEAD") == 0 ? "GET" : method;
	http_path_parse(q->path, &s);
	http_query_parse(q->query, &qp);
	emudb_lock(srv->db);
	switch (before_body(&c, &s, hook)) {
	case STEP_NEXT:
		break;
	case STEP_LOGGED:
		goto logged;
	case STEP_DONE:
		goto out;
	}
	if (read_body(&c, hook, &body) < 0)
		goto logged;
	c.body = body;
	key = http_bearer(q);
	o = key ? emudb_org_by_key(srv->db, key) : NULL;
	if (hook) {
		if (answer_hook(&c, &s, o) == STEP_LOGGED)
			goto logged;
		goto out;
	}
	c.o = o;
	answer_api(&c, method);
	if (c.r->status == -1)
		goto out;
logged:
	apply_fault(q);
	finish_log(srv, q, method);
out:
	emudb_unlock(srv->db);
	cJSON_Delete(body);
	http_query_free(&qp);
	http_path_free(&s);
}
