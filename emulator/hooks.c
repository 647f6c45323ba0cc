/*
 * hooks: the test hooks and the request log.
 *
 * The hooks change the emulator the way the real world changes Daytona
 * behind a client's back (a runner fails, someone stops a sandbox in the
 * dashboard, time passes), so end-to-end tests can stage drift and
 * failures. They bypass the API's validation on purpose, but not the db:
 * every change goes through its bookkeeping (indexes, timers, persistence).
 */
#include "common/base.h"

#include <inttypes.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "emulator/api.h"
#include "emulator/body.h"
#include "emulator/hooks.h"
#include "emulator/internal.h"

static const char *const method_names[M__COUNT] = { "GET", "POST", "PUT",
	                                            "DELETE", "OTHER" };

/* --- the request log -------------------------------------------------- */

static int
method_index(const char *m)
{
	for (int i = 0; i < M_OTHER; i++)
		if (strcmp(m, method_names[i]) == 0)
			return i;
	return M_OTHER;
}

void
reqlog_add(struct reqlog *l, const struct req *q, const char *method,
           int status)
{
	struct buf b = BUF_INIT;
	const char *bucket = faults_bucket_name(q->bucket);

	l->total++;
	l->routes[routes_index(q->route) + 1]++;
	l->methods[method_index(method)]++;
	buf_addstr(&b, "{\"method\":");
	buf_add_json_string(&b, method);
	buf_addstr(&b, ",\"path\":");
	buf_add_json_string(&b, q->path);
	buf_addstr(&b, ",\"query\":");
	buf_add_json_string(&b, q->query);
	buf_addf(&b, ",\"status\":%d,\"bucket\":", status);
	if (bucket)
		buf_addf(&b, "\"%s\"}", bucket);
	else
		buf_addstr(&b, "null}");
	if (l->n == EMU_REQUEST_LOG_MAX) {
		/* drop the oldest tenth at once: amortised O(1) per request */
		int drop = EMU_REQUEST_LOG_MAX / 10;

		for (int i = 0; i < drop; i++)
			free(l->lines[i]);
		memmove(l->lines, l->lines + drop,
		        (size_t)(l->n - drop) * sizeof(*l->lines));
		l->n -= drop;
	}
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 256;
		l->lines = xreallocarray(l->lines, (size_t)l->cap,
		                         sizeof(*l->lines));
	}
	l->lines[l->n++] = buf_detach(&b, NULL);
}

/* forget the lines, and the counters too when counters */
static void
reqlog_reset(struct reqlog *l, bool counters)
{
	for (int i = 0; i < l->n; i++)
		free(l->lines[i]);
	l->n = 0;
	if (counters) {
		l->total = 0;
		memset(l->routes, 0, sizeof(l->routes));
		memset(l->methods, 0, sizeof(l->methods));
	}
}

void
reqlog_free(struct reqlog *l)
{
	reqlog_reset(l, true);
	free(l->lines);
	l->lines = NULL;
	l->cap = 0;
}

/* --- hooks ------------------------------------------------------------ */

void
hook_reset(struct route_call *c)
{
	struct server *srv = c->srv;

	emudb_reset(srv->db);
	res_reset(&srv->res);
	reqlog_reset(&srv->log, true);
	srv->connections = 0;
	srv->max_waiters = 0;
	faults_reset(&srv->faults);
	c->r->status = 200;
	buf_addstr(&c->r->body, "{\"reset\":true}");
}

/* the sandbox a hook names (any organization), or NULL with a 404 */
static struct sandbox *
hook_find(struct route_call *c)
{
	struct sandbox *sb = emudb_find_any(c->srv->db, c->param[0]);

	if (!sb)
		route_errorf(c, 404, "Sandbox with ID or name %s not found",
		             c->param[0]);
	return sb;
}

/* GET: the stored form, raw state included, changing nothing */
void
hook_sandbox_get(struct route_call *c)
{
	struct sandbox *sb = hook_find(c);

	if (!sb)
		return;
	c->r->status = 200;
	sandbox_to_json(sb, SBJ_PERSIST, &c->r->body);
}

/* the state and desired state of a change; -1 each when not given */
static void
read_states(const cJSON *body, int *state, int *desired, struct body_errs *e)
{
	const cJSON *v = body_field(body, "state");

	*state = *desired = -1;
	if (v && (!cJSON_IsString(v) ||
	          (*state = sb_state_parse(v->valuestring)) < 0))
		body_err(e, "state must be a sandbox state");
	v = body_field(body, "desiredState");
	if (v && (!cJSON_IsString(v) ||
	          (*desired = sb_desired_parse(v->valuestring)) < 0))
		body_err(e, "desiredState must be a desired state");
	v = body_field(body, "labels");
	if (v && !cJSON_IsObject(v))
		body_err(e, "labels must be an object");
}

/* the other fields of a change, each when given */
static void
set_fields(const cJSON *body, struct sandbox *sb, struct body_errs *e)
{
	const cJSON *v;
	bool set;
	int n;

	if (body_field(body, "labels")) {
		kvmap_clear(&sb->labels);
		body_map(body, "labels", &sb->labels, e);
	}
	n = body_int(body, "cpu", 0, &set, e);
	if (set)
		sb->cpu = n;
	n = body_int(body, "memory", 0, &set, e);
	if (set)
		sb->memory = n;
	n = body_int(body, "disk", 0, &set, e);
	if (set)
		sb->disk = n;
	n = body_int(body, "autoStopInterval", 0, &set, e);
	if (set)
		sb->auto_stop = n;
	if ((n = body_bool(body, "public", e)) >= 0)
		sb->public_ = n;
	if ((n = body_bool(body, "recoverable", e)) >= 0)
		sb->recoverable = n;
	v = body_field(body, "errorReason");
	if (cJSON_IsString(v)) {
		free(sb->error_reason);
		sb->error_reason = xstrdup(v->valuestring);
	}
}

/* POST: an out-of-band change, as a runner or the dashboard makes */
void
hook_sandbox_set(struct route_call *c)
{
	struct body_errs e = BODY_ERRS_INIT;
	struct sandbox *sb = hook_find(c);
	int state, desired;

	if (!sb)
		return;
	read_states(c->body, &state, &desired, &e);
	if (e.b.len) {
		route_error(c, 400, e.b.data);
		goto out;
	}
	if (state >= 0) {
		emudb_set_state(c->srv->db, sb, (enum sb_state)state, desired);
	} else if (desired >= 0) {
		sb->desired = (enum sb_desired)desired;
		emudb_touch(c->srv->db, sb);
	}
	set_fields(c->body, sb, &e);
	if (e.b.len) {
		route_error(c, 400, e.b.data);
		goto out;
	}
	emudb_touch(c->srv->db, sb);
	route_sandbox(c, 200, sb);
out:
	body_errs_free(&e);
}

void
hook_clock_advance(struct route_call *c)
{
	const cJSON *ms = body_field(c->body, "ms");
	struct emu_db *db = c->srv->db;
	char iso[SF_ISO8601_LEN + 1];

	if (!cJSON_IsNumber(ms) || ms->valuedouble < 0) {
		route_error(c, 400, "ms must be a non-negative number");
		return;
	}
	emudb_advance(db, (int64_t)ms->valuedouble);
	emudb_tick(db, true);
	time_format_iso(emudb_now(db), iso);
	c->r->status = 200;
	buf_addf(&c->r->body, "{\"now\":\"%s\"}", iso);
}

void
hook_requests(struct route_call *c)
{
	const struct reqlog *l = &c->srv->log;

	c->r->status = 200;
	http_header(c->r, "Content-Type", "application/x-ndjson");
	for (int i = 0; i < l->n; i++) {
		buf_addstr(&c->r->body, l->lines[i]);
		buf_addch(&c->r->body, '\n');
	}
}

void
hook_requests_clear(struct route_call *c)
{
	reqlog_reset(&c->srv->log, false);
	c->srv->max_waiters = 0;
	c->r->status = 200;
}

void
hook_counters(struct route_call *c)
{
	const struct reqlog *l = &c->srv->log;
	struct buf *b = &c->r->body;
	const struct route *api;
	bool first = true;
	int n;

	api = routes_api(&n);
	c->r->status = 200;
	buf_addf(b,
	         "{\"total\":%" PRIu64 ",\"connections\":%" PRIu64
	         ",\"maxWaiting\":%d,\"routes\":{",
	         l->total, (uint64_t)c->srv->connections, c->srv->max_waiters);
	for (int i = 0; i <= n; i++) {
		if (!l->routes[i])
			continue;
		if (i == 0)
			buf_addstr(b, "\"unknown\":");
		else
			buf_addf(b, "%s\"%s %s\":", first ? "" : ",",
			         api[i - 1].method, api[i - 1].pattern);
		buf_addf(b, "%" PRIu64, l->routes[i]);
		first = false;
	}
	buf_addstr(b, "},\"methods\":{");
	first = true;
	for (int i = 0; i < M__COUNT; i++) {
		if (!l->methods[i])
			continue;
		buf_addf(b, "%s\"%s\":%" PRIu64, first ? "" : ",",
		         method_names[i], l->methods[i]);
		first = false;
	}
	buf_addstr(b, "}}");
}

/*
 * seed: count sandboxes prefix00000... made from one create body, started
 * at once. All or nothing: a taken name is found before anything is made.
 */
void
hook_seed(struct route_call *c)
{
	const cJSON *cnt = body_field(c->body, "count");
	const cJSON *pfx = body_field(c->body, "namePrefix");
	const cJSON *tmpl = body_field(c->body, "create");
	cJSON *create = tmpl ? cJSON_Duplicate(tmpl, 1) : cJSON_CreateObject();
	const char *prefix = cJSON_IsString(pfx) ? pfx->valuestring : "sb-";
	int count, made = 0;

	if (!c->o) {
		route_error(c, 400, "no organization to seed");
		goto out;
	}
	if (!cJSON_IsNumber(cnt) || cnt->valuedouble < 0 ||
	    cnt->valuedouble > EMU_MAX_SEED_COUNT || !cJSON_IsObject(create)) {
		route_error(c, 400,
		            "seed needs a count (0..1000000) and an optional "
		            "create object");
		goto out;
	}
	count = (int)cnt->valuedouble;
	for (int i = 0; i < count; i++) {
		char *name = xasprintf("%s%05d", prefix, i);
		bool taken = emudb_name_taken(c->srv->db, c->o, name);

		if (taken)
			route_errorf(c, 409,
			             "Sandbox with name %s already exists",
			             name);
		free(name);
		if (taken)
			goto out;
	}
	for (int i = 0; i < count; i++) {
		char *name = xasprintf("%s%05d", prefix, i);
		struct sandbox *sb;

		cJSON_DeleteItemFromObjectCaseSensitive(create, "name");
		cJSON_AddStringToObject(create, "name", name);
		free(name);
		sb = api_build_sandbox(c, c->o, create);
		if (!sb)
			goto out;
		emudb_insert(c->srv->db, c->o, sb, true);
		made++;
	}
	c->r->status = 200;
	buf_addf(&c->r->body, "{\"created\":%d}", made);
out:
	cJSON_Delete(create);
}

/* where GET /api/sandbox/{id}/build-logs-url points */
void
hook_build_logs(struct route_call *c)
{
	c->r->status = 200;
	http_header(c->r, "Content-Type", "text/plain");
	buf_addstr(&c->r->body, "daytona-emulator: build finished\n");
}
