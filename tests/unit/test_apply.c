/*
 * Unit tests for reconciler/apply.c against the client's fake transport
 * and a temporary store: create idempotency (409, lost answers, "failed to
 * start", foreign names), the journal around every call, records, deletes,
 * crash recovery of open journal entries, secrets resolved before the
 * first call, a failed resize starting back the sandbox it stopped (and a
 * 404 remembered in the state), and a stop request during a final wait.
 */
#include "common/base.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pthread.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/cancel.h"
#include "common/error.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "daytona/client.h"
#include "daytona/transport-fake.h"
#include "reconciler/apply-int.h"
#include "reconciler/apply.h"
#include "reconciler/plan.h"
#include "manifests/secret.h"
#include "manifests/spec.h"
#include "manifests/spechash.h"
#include "reconciler/create.h"
#include "reconciler/labels.h"
#include "state/store.h"

#define STACK "default"
#define HASH  "v1.11111111.22222222.33222222"
#define URL   "http://fake.test/api"

struct fx {
	char dir[64];
	char path[128];
	struct store *st;
	struct dt_fake *f;
	struct dt_client *c;
	struct sf_cancel tok;
	struct buf events; /* one line per event: "KIND NAME: TEXT" */
};

static int
setup(void **state)
{
	struct fx *x = xcalloc(1, sizeof(*x));
	struct dt_config cfg = DT_CONFIG_INIT;

	snprintf(x->dir, sizeof(x->dir), "/tmp/sf-apply-XXXXXX");
	assert_non_null(mkdtemp(x->dir));
	snprintf(x->path, sizeof(x->path), "%s/state.db", x->dir);
	assert_int_equal(store_open(x->path, &x->st), 0);
	x->f = dt_fake_new();
	cfg.api_key = "k";
	cfg.base_url = URL;
	cfg.transport = dt_fake_transport(x->f);
	cfg.clock = dt_fake_clock(x->f);
	cfg.max_retries = -1;
	assert_int_equal(dt_client_new(&cfg, &x->c), 0);
	*state = x;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *x = *state;
	char cmd[256];

	dt_client_free(x->c);
	dt_fake_free(x->f);
	store_close(x->st);
	buf_free(&x->events);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", x->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", x->dir);
	free(x);
	return 0;
}

/* A sandbox body as the API returns it. */
static char *
sandbox_json(const char *id, const char *name, const char *state,
             const char *stack, const char *err)
{
	return xasprintf(
	        "{\"id\":\"%s\",\"name\":\"%s\",\"state\":\"%s\","
	        "\"desiredState\":\"%s\",\"snapshot\":\"daytona-small\","
	        "\"labels\":{\"sandform.dev/stack\":\"%s\","
	        "\"sandform.dev/spec\":\"%s\"},\"errorReason\":%s%s%s,"
	        "\"updatedAt\":\"2026-01-01T00:00:00.000Z\"}",
	        id, name, state,
	        strcmp(state, "error") == 0 ? "started" : state, stack, HASH,
	        err ? "\"" : "", err ? err : "null", err ? "\"" : "");
}

static void
push_sb(struct dt_fake *f, int status, const char *id, const char *name,
        const char *state, const char *stack, const char *err)
{
	char *b = sandbox_json(id, name, state, stack, err);

	dt_fake_push(f, status, NULL, b);
	free(b);
}

static void
push_error(struct dt_fake *f, int status, const char *msg)
{
	char *b = xasprintf("{\"statusCode\":%d,\"error\":\"x\","
	                    "\"message\":\"%s\"}",
	                    status, msg);

	dt_fake_push(f, status, NULL, b);
	free(b);
}

static struct spec *
mkspec(const char *name, const char *secret_env)
{
	struct spec *s = xcalloc(1, sizeof(*s));

	s->name = xstrdup(name);
	s->snapshot = xstrdup("daytona-small");
	s->state = SPEC_STATE_STARTED;
	snprintf(s->hash, sizeof(s->hash), "%s", HASH);
	if (secret_env) {
		s->env = xcalloc(1, sizeof(*s->env));
		s->env[0].key = xstrdup("TOKEN");
		s->env[0].kind = SPEC_ENV_SECRET_ENV;
		s->env[0].value = xstrdup(secret_env);
		s->nenv = 1;
	}
	return s;
}

/* A plan of one action; the plan owns everything. */
static struct plan *
mkplan(const char *name, enum plan_kind kind, const char *id,
       const enum plan_step_kind *steps, size_t nsteps, const char *secret)
{
	struct plan *p = xcalloc(1, sizeof(*p));
	struct plan_action *a;
	size_t i;

	p->format_version = xstrdup(PLAN_FORMAT_VERSION);
	p->stack = xstrdup(STACK);
	p->created_at = xstrdup("2026-01-01T00:00:00.000Z");
	p->actions = xcalloc(1, sizeof(*p->actions));
	p->nactions = 1;
	a = &p->actions[0];
	a->name = xstrdup(name);
	a->kind = kind;
	a->sandbox_id = id ? xstrdup(id) : NULL;
	a->source = xstrdup("test");
	a->steps = xcalloc(nsteps ? nsteps : 1, sizeof(*a->steps));
	a->asteps = nsteps;
	for (i = 0; i < nsteps; i++)
		a->steps[i].kind = steps[i];
	a->nsteps = nsteps;
	if (kind != PLAN_DELETE) {
		a->desired = mkspec(name, secret);
		labels_owned(a->desired, STACK, &a->owned_labels);
	}
	a->fingerprint = xstrdup("");
	return p;
}

static const enum plan_step_kind create_steps[] = { STEP_CREATE,
	                                            STEP_WAIT_STABLE };

/* on_event: every event as a line of x->events (job events only). */
static void
on_event(void *arg, const struct apply_event *ev)
{
	static const char *const kinds[APPLY_EV_KIND_COUNT] = {
		[APPLY_EV_STARTED] = "started",
		[APPLY_EV_STEP] = "step",
		[APPLY_EV_WAITING] = "waiting",
		[APPLY_EV_DONE] = "done",
		[APPLY_EV_FAILED] = "failed",
		[APPLY_EV_LEFT] = "left",
		[APPLY_EV_RETRY] = "retry",
		[APPLY_EV_RATE_LIMITED] = "limited",
		[APPLY_EV_LOCK_LOST] = "lock-lost",
	};
	struct fx *x = arg;

	if (kinds[ev->kind] == NULL)
		return;
	if (ev->kind == APPLY_EV_RATE_LIMITED || ev->kind == APPLY_EV_RETRY) {
		buf_addf(&x->events, "%s %s: bucket %d, %lld ms\n",
		         kinds[ev->kind], ev->action ? ev->action->name : "-",
		         (int)ev->bucket, (long long)ev->wait_ms);
		return;
	}
	buf_addf(&x->events, "%s %s: %s%s%s\n", kinds[ev->kind],
	         ev->action ? ev->action->name : "-", ev->step ? ev->step : "",
	         ev->step && ev->message ? " " : "",
	         ev->message ? ev->message : "");
}

/* opts_init: the options of a unit run: one call at a time, fast polls. */
static void
opts_init(struct fx *x, struct apply_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->stack = STACK;
	o->parallelism = 1;
	o->timeout_ms = 5000;
	o->poll_min_ms = 10;
	o->poll_max_ms = 20;
	o->cancel = &x->tok;
	o->resolve = secret_resolve;
	o->api_url = URL;
}

static void
run(struct fx *x, const struct plan *p, struct apply_stats *st)
{
	struct apply_opts o;

	opts_init(x, &o);
	o.on_event = on_event;
	o.event_arg = x;
	assert_int_equal(apply_run(p, x->c, x->st, &o, st), 0);
}

/* run_text: run() with the events (one a line) returned, owned. */
static char *
run_text(struct fx *x, const struct plan *p, struct apply_stats *st)
{
	buf_reset(&x->events);
	run(x, p, st);
	return xstrdup(buf_cstr(&x->events));
}

static size_t
n_open(struct fx *x)
{
	struct store_journal_list l = { NULL, 0 };
	size_t n;

	assert_int_equal(store_journal_open(x->st, STACK, &l), 0);
	n = l.n;
	store_journal_list_free(&l);
	return n;
}

static size_t
n_method(struct fx *x, const char *method, const char *path)
{
	size_t i, n = 0;

	for (i = 0; i < dt_fake_n_requests(x->f); i++) {
		const struct dt_fake_req *r = dt_fake_request(x->f, i);

		if (strcmp(r->method, method) == 0 &&
		    strcmp(r->path, path) == 0)
			n++;
	}
	return n;
}

static void
assert_record(struct fx *x, const char *name, const char *id)
{
	struct store_record *r = NULL;

	assert_int_equal(store_record_get(x->st, STACK, name, &r), 0);
	assert_string_equal(r->sandbox_id, id);
	assert_string_equal(r->spec_hash, HASH);
	assert_non_null(strstr(r->labels_json, "sandform.dev/stack"));
	store_record_free(r);
}

/* A plain create: one POST, the record, the journal closed. */
static void
test_create_records(void **state)
{
	struct fx *x = *state;
	struct plan *p =
	        mkplan("web", PLAN_CREATE, NULL, create_steps, 2, NULL);
	struct apply_stats st;

	push_sb(x->f, 200, "id-1", "web", "started", STACK, NULL);
	run(x, p, &st);
	assert_int_equal(st.done, 1);
	assert_int_equal(st.failed, 0);
	assert_int_equal(dt_fake_n_requests(x->f), 1);
	/* the body carries the stack and spec labels */
	assert_non_null(strstr(dt_fake_request(x->f, 0)->body,
	                       "\"sandform.dev/spec\":\"" HASH "\""));
	assert_record(x, "web", "id-1");
	assert_int_equal(n_open(x), 0);
	plan_free(p);
}

/* 409 "already exists" with our labels: adopted, not created again. */
static void
test_create_409_adopts_ours(void **state)
{
	struct fx *x = *state;
	struct plan *p =
	        mkplan("web", PLAN_CREATE, NULL, create_steps, 2, NULL);
	struct apply_stats st;

	push_error(x->f, 409, "Sandbox with name web already exists");
	push_sb(x->f, 200, "id-7", "web", "started", STACK, NULL);
	run(x, p, &st);
	assert_int_equal(st.done, 1);
	assert_int_equal(n_method(x, "POST", "/api/sandbox"), 1);
	assert_int_equal(n_method(x, "GET", "/api/sandbox/web"), 1);
	assert_record(x, "web", "id-7");
	assert_int_equal(n_open(x), 0);
	plan_free(p);
}

/* 409 and the name belongs to someone else: fail, touch nothing. */
static void
test_create_409_foreign_fails(void **state)
{
	struct fx *x = *state;
	struct plan *p =
	        mkplan("web", PLAN_CREATE, NULL, create_steps, 2, NULL);
	struct store_record *r = NULL;
	struct apply_stats st;

	push_error(x->f, 409, "Sandbox with name web already exists");
	push_sb(x->f, 200, "id-9", "web", "started", "other-stack", NULL);
	run(x, p, &st);
	assert_int_equal(st.done, 0);
	assert_int_equal(st.failed, 1);
	assert_int_equal(store_record_get(x->st, STACK, "web", &r),
	                 SF_ENOTFOUND);
	assert_int_equal(dt_fake_n_requests(x->f), 2);
	assert_int_equal(n_open(x), 0);
	plan_free(p);
}

/* A lost answer and no sandbox under the name: created again. */
static void
test_create_dropped_then_retried(void **state)
{
	struct fx *x = *state;
	struct plan *p =
	        mkplan("web", PLAN_CREATE, NULL, create_steps, 2, NULL);
	struct apply_stats st;

	dt_fake_push_failure(x->f, DT_HTTP_DROPPED, "connection reset");
	push_error(x->f, 404, "Sandbox with ID or name web not found");
	push_sb(x->f, 200, "id-2", "web", "started", STACK, NULL);
	run(x, p, &st);
	assert_int_equal(st.done, 1);
	assert_int_equal(n_method(x, "POST", "/api/sandbox"), 2);
	assert_record(x, "web", "id-2");
	assert_int_equal(n_open(x), 0);
	plan_free(p);
}

/* A lost answer but the create happened: adopted, one POST only. */
static void
test_create_dropped_but_created(void **state)
{
	struct fx *x = *state;
	struct plan *p =
	        mkplan("web", PLAN_CREATE, NULL, create_steps, 2, NULL);
	struct apply_stats st;

	dt_fake_push_failure(x->f, DT_HTTP_TIMEOUT, "timed out");
	push_sb(x->f, 200, "id-3", "web", "creating", STACK, NULL);
	/* the poller's look: started now */
	push_sb(x->f, 200, "id-3", "web", "started", STACK, NULL);
	run(x, p, &st);
	assert_int_equal(st.done, 1);
	assert_int_equal(n_method(x, "POST", "/api/sandbox"), 1);
	assert_record(x, "web", "id-3");
	plan_free(p);
}

/* The lookup after a lost answer fails too: the same intent stays open
 * and is reused by the next attempt, which finds the sandbox (409). */
static void
test_create_unknown_outcome_keeps_intent(void **state)
{
	struct fx *x = *state;
	struct plan *p =
	        mkplan("web", PLAN_CREATE, NULL, create_steps, 2, NULL);
	struct store_journal_entry *e = NULL;
	struct apply_stats st;

	dt_fake_push_failure(x->f, DT_HTTP_DROPPED, "connection reset");
	push_error(x->f, 503, "Service is currently under maintenance");
	push_error(x->f, 409, "Sandbox with name web already exists");
	push_sb(x->f, 200, "id-10", "web", "started", STACK, NULL);
	run(x, p, &st);
	assert_int_equal(st.done, 1);
	assert_int_equal(n_method(x, "POST", "/api/sandbox"), 2);
	assert_record(x, "web", "id-10");
	/* one journal entry for both attempts, done with the id */
	assert_int_equal(store_journal_get(x->st, 1, &e), 0);
	assert_int_equal(e->state, STORE_JOURNAL_DONE);
	assert_string_equal(e->result_sandbox_id, "id-10");
	store_journal_entry_free(e);
	e = NULL;
	assert_int_equal(store_journal_get(x->st, 2, &e), SF_ENOTFOUND);
	plan_free(p);
}

/* 400 "failed to start" left a sandbox: recorded, reported, not redone. */
static void
test_create_failed_to_start_recorded(void **state)
{
	struct fx *x = *state;
	struct plan *p =
	        mkplan("web", PLAN_CREATE, NULL, create_steps, 2, NULL);
	struct apply_stats st;

	push_error(x->f, 400, "Sandbox failed to start: image pull failed");
	push_sb(x->f, 200, "id-4", "web", "error", STACK, "image pull failed");
	run(x, p, &st);
	assert_int_equal(st.failed, 1);
	assert_int_equal(n_method(x, "POST", "/api/sandbox"), 1);
	assert_record(x, "web", "id-4");
	assert_int_equal(n_open(x), 0);
	plan_free(p);
}

/* A validation 400: nothing exists, nothing to look up. */
static void
test_create_invalid_fails(void **state)
{
	struct fx *x = *state;
	struct plan *p =
	        mkplan("web", PLAN_CREATE, NULL, create_steps, 2, NULL);
	struct apply_stats st;

	push_error(x->f, 400,
	           "Cannot specify Sandbox resources when using "
	           "a snapshot");
	run(x, p, &st);
	assert_int_equal(st.failed, 1);
	assert_int_equal(dt_fake_n_requests(x->f), 1);
	assert_int_equal(n_open(x), 0);
	plan_free(p);
}

/* A missing secret: apply_run fails before any request. */
static void
test_missing_secret_no_calls(void **state)
{
	struct fx *x = *state;
	struct plan *p = mkplan("web", PLAN_CREATE, NULL, create_steps, 2,
	                        "SF_UNIT_NO_SUCH_SECRET_VAR");
	struct apply_opts o;
	struct apply_stats st;

	unsetenv("SF_UNIT_NO_SUCH_SECRET_VAR");
	memset(&o, 0, sizeof(o));
	o.stack = STACK;
	o.resolve = secret_resolve;
	assert_true(apply_run(p, x->c, x->st, &o, &st) < 0);
	assert_non_null(strstr(sf_error_last(), "SF_UNIT_NO_SUCH_SECRET_VAR"));
	assert_int_equal(dt_fake_n_requests(x->f), 0);
	plan_free(p);
}

/* The secret value goes into the body only, not the journal. */
static void
test_secret_in_body_only(void **state)
{
	struct fx *x = *state;
	struct plan *p = mkplan("web", PLAN_CREATE, NULL, create_steps, 2,
	                        "SF_UNIT_SECRET_VAR");
	struct store_journal_entry *e = NULL;
	struct apply_stats st;

	setenv("SF_UNIT_SECRET_VAR", "v3ry-s3cret", 1);
	push_sb(x->f, 200, "id-5", "web", "started", STACK, NULL);
	run(x, p, &st);
	assert_int_equal(st.done, 1);
	assert_non_null(strstr(dt_fake_request(x->f, 0)->body, "v3ry-s3cret"));
	assert_int_equal(store_journal_get(x->st, 1, &e), 0);
	assert_null(strstr(e->detail_json, "v3ry-s3cret"));
	store_journal_entry_free(e);
	plan_free(p);
}

/* counting_resolve: secret_resolve, counting the calls and the requests
 * made before the first one. */
struct counting {
	struct fx *x;
	int calls;
	size_t requests_at_first;
};

static int
counting_resolve(void *arg, const struct spec_env *e, char **value)
{
	struct counting *c = arg;

	if (c->calls++ == 0)
		c->requests_at_first = dt_fake_n_requests(c->x->f);
	return secret_resolve(NULL, e, value);
}

/* A body with a secret is built before any call and resolved once, also
 * when its create is sent twice (a dropped connection, then a retry). */
static void
test_secret_resolved_once_before_calls(void **state)
{
	struct fx *x = *state;
	struct plan *p = mkplan("web", PLAN_CREATE, NULL, create_steps, 2,
	                        "SF_UNIT_SECRET_VAR");
	struct counting c = { x, 0, 99 };
	struct apply_opts o;
	struct apply_stats st;

	setenv("SF_UNIT_SECRET_VAR", "v3ry-s3cret", 1);
	dt_fake_push_failure(x->f, DT_HTTP_DROPPED, "connection reset");
	push_error(x->f, 404, "Sandbox with ID or name web not found");
	push_sb(x->f, 200, "id-6", "web", "started", STACK, NULL);
	opts_init(x, &o);
	o.resolve = counting_resolve;
	o.resolve_arg = &c;
	assert_int_equal(apply_run(p, x->c, x->st, &o, &st), 0);
	assert_int_equal(st.done, 1);
	assert_int_equal(c.calls, 1);
	assert_int_equal(c.requests_at_first, 0);
	assert_int_equal(n_method(x, "POST", "/api/sandbox"), 2);
	assert_non_null(strstr(
	        dt_fake_request(x->f, dt_fake_n_requests(x->f) - 1)->body,
	        "v3ry-s3cret"));
	plan_free(p);
}

/* The scheduler keeps one struct job an action for the whole run, so
 * 10,000 creates hold 10,000 of them (issue 13): a create body (about
 * 250 bytes, and its labels) is built when the step needs it and hangs
 * off the job by a pointer, never inside it. */
static void
test_job_is_small(void **state)
{
	struct fx *x = *state;
	struct plan *p =
	        mkplan("web", PLAN_CREATE, NULL, create_steps, 2, NULL);
	struct sched s;
	struct apply_opts o;
	struct job j;

	(void)x;
	assert_true(sizeof(struct job) <= 152);
	memset(&o, 0, sizeof(o));
	o.stack = STACK;
	memset(&s, 0, sizeof(s));
	s.o = &o;
	memset(&j, 0, sizeof(j));
	j.act = &p->actions[0];
	assert_int_equal(apply_create_build(&s, &j), 0);
	assert_non_null(j.create);
	assert_string_equal(j.create->body.req.name, "web");
	assert_non_null(
	        strmap_get(j.create->body.req.labels, "sandform.dev/stack"));
	apply_create_free(&j);
	assert_null(j.create);
	apply_create_free(&j); /* twice is fine */
	plan_free(p);
}

/* A delete: record forgotten when accepted, waits until gone. */
static void
test_delete_forgets_and_waits(void **state)
{
	static const enum plan_step_kind steps[] = { STEP_DELETE,
		                                     STEP_WAIT_GONE };
	struct fx *x = *state;
	struct plan *p = mkplan("old", PLAN_DELETE, "id-8", steps, 2, NULL);
	struct store_record rec, *r = NULL;
	struct apply_stats st;

	memset(&rec, 0, sizeof(rec));
	rec.stack = STACK;
	rec.name = "old";
	rec.sandbox_id = "id-8";
	assert_int_equal(store_record_put(x->st, &rec), 0);
	push_sb(x->f, 200, "id-8", "DESTROYED_old_1", "destroying", STACK,
	        NULL);
	push_error(x->f, 404, "Sandbox with ID or name id-8 not found");
	run(x, p, &st);
	assert_int_equal(st.done, 1);
	assert_int_equal(n_method(x, "DELETE", "/api/sandbox/id-8"), 1);
	assert_int_equal(store_record_get(x->st, STACK, "old", &r),
	                 SF_ENOTFOUND);
	assert_int_equal(n_open(x), 0);
	plan_free(p);
}

/* 409 during a transition: wait until settled, then the call again. */
static void
test_conflict_waits_and_retries(void **state)
{
	static const enum plan_step_kind steps[] = { STEP_STOP,
		                                     STEP_WAIT_STABLE };
	struct fx *x = *state;
	struct plan *p = mkplan("web", PLAN_STOP, "id-6", steps, 2, NULL);
	struct apply_stats st;

	p->actions[0].desired->state = SPEC_STATE_STOPPED;
	push_error(x->f, 409, "Sandbox state change in progress");
	push_sb(x->f, 200, "id-6", "web", "started", STACK, NULL);
	push_sb(x->f, 200, "id-6", "web", "stopping", STACK, NULL);
	push_sb(x->f, 200, "id-6", "web", "stopped", STACK, NULL);
	run(x, p, &st);
	assert_int_equal(st.done, 1);
	assert_int_equal(n_method(x, "POST", "/api/sandbox/id-6/stop"), 2);
	plan_free(p);
}

/* Recovery: an open create found under our labels is recorded; one not
 * found is closed; an open delete of a gone sandbox forgets the record. */
static void
test_recover_open_entries(void **state)
{
	struct fx *x = *state;
	struct plan *p =
	        mkplan("web", PLAN_CREATE, NULL, create_steps, 2, NULL);
	struct store_record rec, *r = NULL;
	char *detail = apply_detail_json(&p->actions[0]);
	int64_t id1, id2, id3;
	size_t n;

	assert_int_equal(store_journal_intent(x->st, 0, STACK, "web", "create",
	                                      NULL, detail, &id1),
	                 0);
	assert_int_equal(store_journal_intent(x->st, 0, STACK, "api", "create",
	                                      NULL, detail, &id2),
	                 0);
	memset(&rec, 0, sizeof(rec));
	rec.stack = STACK;
	rec.name = "old";
	rec.sandbox_id = "id-old";
	assert_int_equal(store_record_put(x->st, &rec), 0);
	assert_int_equal(store_journal_intent(x->st, 0, STACK, "old", "delete",
	                                      "id-old", NULL, &id3),
	                 0);
	push_sb(x->f, 200, "id-web", "web", "started", STACK, NULL);
	push_error(x->f, 404, "Sandbox with ID or name api not found");
	push_error(x->f, 404, "Sandbox with ID or name id-old not found");
	assert_int_equal(apply_recover(x->c, x->st, STACK, 0, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(n_open(x), 0);
	assert_int_equal(store_record_get(x->st, STACK, "web", &r), 0);
	assert_string_equal(r->sandbox_id, "id-web");
	assert_non_null(r->applied_json);
	store_record_free(r);
	r = NULL;
	assert_int_equal(store_record_get(x->st, STACK, "api", &r),
	                 SF_ENOTFOUND);
	assert_int_equal(store_record_get(x->st, STACK, "old", &r),
	                 SF_ENOTFOUND);
	free(detail);
	plan_free(p);
}

/* A stop request before the run: nothing is called, all is left. */
static void
test_stop_requested_leaves_all(void **state)
{
	struct fx *x = *state;
	struct plan *p =
	        mkplan("web", PLAN_CREATE, NULL, create_steps, 2, NULL);
	struct apply_stats st;

	sf_cancel_request(&x->tok, SF_CANCEL_STOP);
	run(x, p, &st);
	assert_int_equal(st.left, 1);
	assert_int_equal(dt_fake_n_requests(x->f), 0);
	plan_free(p);
}

/* stop, resize, start back: the plan of a disk grow on a started sandbox */
static const enum plan_step_kind resize_steps[] = {
	STEP_STOP,        STEP_WAIT_STABLE, STEP_RESIZE,
	STEP_WAIT_STABLE, STEP_START,       STEP_WAIT_STABLE,
};

static struct plan *
mkresize(void)
{
	struct plan *p =
	        mkplan("web", PLAN_RESIZE, "id-r", resize_steps, 6, NULL);

	p->actions[0].steps[2].has_disk = 1;
	p->actions[0].steps[2].disk = 10;
	return p;
}

/* A resize refused (400) after the job stopped the sandbox: it is started
 * back, and the failure says so; the record is not rewritten. */
static void
test_resize_failure_starts_back(void **state)
{
	struct fx *x = *state;
	struct plan *p = mkresize();
	struct apply_stats st;
	char *txt;

	push_sb(x->f, 200, "id-r", "web", "stopping", STACK, NULL);
	push_sb(x->f, 200, "id-r", "web", "stopped", STACK, NULL);
	push_error(x->f, 400, "disk cannot exceed 50GB");
	push_sb(x->f, 200, "id-r", "web", "starting", STACK, NULL);
	push_sb(x->f, 200, "id-r", "web", "started", STACK, NULL);
	txt = run_text(x, p, &st);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.done, 0);
	assert_int_equal(n_method(x, "POST", "/api/sandbox/id-r/resize"), 1);
	assert_int_equal(n_method(x, "POST", "/api/sandbox/id-r/start"), 1);
	assert_non_null(strstr(txt, "disk cannot exceed 50GB; started it "
	                            "again"));
	assert_int_equal(n_open(x), 0);
	assert_int_equal(dt_fake_pending(x->f), 0);
	free(txt);
	plan_free(p);
}

/* A resize answered 404 (disabled for the organization): remembered in the
 * state under the API URL, the sandbox started back, the user told that
 * the next plan replaces. */
static void
test_resize_404_remembered_and_started_back(void **state)
{
	struct fx *x = *state;
	struct plan *p = mkresize();
	struct apply_stats st;
	char *txt, *v = NULL;

	push_sb(x->f, 200, "id-r", "web", "stopping", STACK, NULL);
	push_sb(x->f, 200, "id-r", "web", "stopped", STACK, NULL);
	push_error(x->f, 404, "Cannot POST /api/sandbox/id-r/resize");
	push_sb(x->f, 200, "id-r", "web", "stopped", STACK, NULL);
	push_sb(x->f, 200, "id-r", "web", "starting", STACK, NULL);
	push_sb(x->f, 200, "id-r", "web", "started", STACK, NULL);
	assert_int_equal(
	        store_meta_get(x->st, STORE_META_RESIZE_UNAVAILABLE, &v), 0);
	assert_null(v);
	txt = run_text(x, p, &st);
	assert_int_equal(st.failed, 1);
	assert_int_equal(n_method(x, "POST", "/api/sandbox/id-r/start"), 1);
	assert_non_null(strstr(txt, "next plan replaces"));
	assert_non_null(strstr(txt, "started it again"));
	assert_int_equal(
	        store_meta_get(x->st, STORE_META_RESIZE_UNAVAILABLE, &v), 0);
	assert_non_null(v);
	assert_string_equal(v, URL);
	free(v);
	free(txt);
	plan_free(p);
}

/* Starting back fails too: both reasons are reported. */
static void
test_resize_failure_start_back_fails(void **state)
{
	struct fx *x = *state;
	struct plan *p = mkresize();
	struct apply_stats st;
	char *txt;

	push_sb(x->f, 200, "id-r", "web", "stopping", STACK, NULL);
	push_sb(x->f, 200, "id-r", "web", "stopped", STACK, NULL);
	push_error(x->f, 400, "disk cannot exceed 50GB");
	push_error(x->f, 400, "no capacity");
	txt = run_text(x, p, &st);
	assert_int_equal(st.failed, 1);
	assert_non_null(strstr(txt, "disk cannot exceed 50GB; starting it "
	                            "again failed: start: "));
	free(txt);
	plan_free(p);
}

/* A stop request while a created sandbox is only being waited for: its
 * call was made, so it is done ("not waited for"), not left. */
static int
stop_on_get(void *arg, const struct dt_fake_req *req,
            struct dt_http_response *resp)
{
	struct fx *x = arg;
	char *b;

	if (strcmp(req->method, "GET") != 0)
		return SF_ENET;
	sf_cancel_request(&x->tok, SF_CANCEL_STOP);
	b = sandbox_json("id-w", "web", "creating", STACK, NULL);
	resp->status = 200;
	buf_addstr(&resp->body, b);
	free(b);
	return 0;
}

static void
test_stop_during_final_wait_is_done(void **state)
{
	struct fx *x = *state;
	struct plan *p =
	        mkplan("web", PLAN_CREATE, NULL, create_steps, 2, NULL);
	struct apply_stats st;
	char *txt;

	push_sb(x->f, 200, "id-w", "web", "creating", STACK, NULL);
	dt_fake_set_handler(x->f, stop_on_get, x);
	txt = run_text(x, p, &st);
	assert_int_equal(st.done, 1);
	assert_int_equal(st.unwaited, 1);
	assert_int_equal(st.left, 0);
	assert_non_null(strstr(txt, "not waited for"));
	assert_record(x, "web", "id-w");
	free(txt);
	plan_free(p);
}

/* A 429 on create: the client's wait is an event naming the bucket and
 * the Retry-After, then the create goes through. */
static void
test_rate_limit_event(void **state)
{
	struct fx *x = *state;
	struct plan *p =
	        mkplan("web", PLAN_CREATE, NULL, create_steps, 2, NULL);
	struct dt_config cfg = DT_CONFIG_INIT;
	struct dt_client *keep = x->c;
	struct apply_stats st;
	char *txt, *want;

	cfg.api_key = "k";
	cfg.base_url = URL;
	cfg.transport = dt_fake_transport(x->f);
	cfg.clock = dt_fake_clock(x->f);
	assert_int_equal(dt_client_new(&cfg, &x->c), 0);
	push_error(x->f, 429, "Too Many Requests");
	dt_fake_push(x->f, 429, "Retry-After: 2",
	             "{\"statusCode\":429,\"message\":\"slow down\"}");
	push_sb(x->f, 200, "id-w", "web", "started", STACK, NULL);
	txt = run_text(x, p, &st);
	assert_int_equal(st.done, 1);
	want = xasprintf("limited web: bucket %d, 2000 ms", DT_BUCKET_CREATE);
	assert_non_null(strstr(txt, want));
	assert_non_null(strstr(txt, "limited web: bucket "));
	free(want);
	free(txt);
	dt_client_free(x->c);
	x->c = keep;
	plan_free(p);
}

/* abort_later: SF_CANCEL_ABORT on the token after 300 ms. */
static void *
abort_later(void *arg)
{
	struct fx *x = arg;

	usleep(300 * 1000);
	sf_cancel_request(&x->tok, SF_CANCEL_ABORT);
	return NULL;
}

/* ABORT cuts a create in flight (a server that never answers): the run
 * ends at once, the job is left and its journal intent stays open for the
 * next run's recovery (its outcome is unknown). */
static void
test_abort_in_flight(void **state)
{
	struct fx *x = *state;
	struct plan *p =
	        mkplan("web", PLAN_CREATE, NULL, create_steps, 2, NULL);
	struct dt_config cfg = DT_CONFIG_INIT;
	struct dt_client *keep = x->c;
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	struct apply_stats st;
	pthread_t t;
	char url[64];
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int64_t t0;

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 8), 0); /* never accepted, never answered */
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api",
	         ntohs(sa.sin_port));
	cfg.api_key = "k";
	cfg.base_url = url;
	cfg.max_retries = -1;
	assert_int_equal(dt_client_new(&cfg, &x->c), 0);
	assert_int_equal(pthread_create(&t, NULL, abort_later, x), 0);
	t0 = time_mono_ms();
	run(x, p, &st);
	pthread_join(t, NULL);
	assert_true(time_mono_ms() - t0 < 5000);
	assert_int_equal(st.left, 1);
	assert_true(st.stopped);
	assert_int_equal(n_open(x), 1);
	dt_client_free(x->c);
	x->c = keep;
	close(fd);
	plan_free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_records, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_create_409_adopts_ours,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_409_foreign_fails,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(
		        test_create_dropped_then_retried, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_dropped_but_created,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(
		        test_create_unknown_outcome_keeps_intent, setup,
		        teardown),
		cmocka_unit_test_setup_teardown(
		        test_create_failed_to_start_recorded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_invalid_fails,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_secret_no_calls,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_secret_in_body_only, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(
		        test_secret_resolved_once_before_calls, setup,
		        teardown),
		cmocka_unit_test_setup_teardown(test_job_is_small, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_delete_forgets_and_waits,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_conflict_waits_and_retries,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_open_entries,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_requested_leaves_all,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_resize_failure_starts_back,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(
		        test_resize_404_remembered_and_started_back, setup,
		        teardown),
		cmocka_unit_test_setup_teardown(
		        test_resize_failure_start_back_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(
		        test_stop_during_final_wait_is_done, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_limit_event, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_abort_in_flight, setup,
		                                teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
