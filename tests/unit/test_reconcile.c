/*
 * Unit tests for reconciler/reconcile.c: the one pipeline (sources, state,
 * lock, recovery, refresh, plan, apply) against a small in-memory Daytona
 * (the fake transport with a handler) and a temporary state: manifest
 * errors come back as diagnostics before any state exists, apply then
 * destroy through the same handle type, the lock policies (held, waited
 * for, a stop request ending the wait, busy while planning), and a run
 * that loses its lock mid-way stopping before its next call.
 */
#include "common/base.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "common/buf.h"
#include "common/cancel.h"
#include "common/error.h"
#include "common/xalloc.h"
#include "daytona/transport-fake.h"
#include "reconciler/reconcile.h"
#include "state/store.h"

#define MAXSB 16

/* One sandbox of the in-memory Daytona. */
struct sb {
	char id[16];
	char name[64];
	char *labels; /* JSON object text */
	int gone;
};

struct fx {
	char dir[64];
	char state[128];
	char mdir[128];
	struct dt_fake *f;
	struct sb sbs[MAXSB];
	int nsb;
	int creates;
	int drop_lock_on_create; /* force-release the lock at that create */
	struct buf events;       /* "KIND NAME" lines */
	int kinds[APPLY_EV_KIND_COUNT];
};

static char *
sb_json(const struct sb *s)
{
	return xasprintf("{\"id\":\"%s\",\"name\":\"%s\",\"state\":\"started\","
	                 "\"desiredState\":\"started\",\"snapshot\":"
	                 "\"daytona-small\",\"labels\":%s,\"cpu\":1,"
	                 "\"memory\":1,\"disk\":3,\"autoStopInterval\":0,"
	                 "\"updatedAt\":\"2026-01-01T00:00:00.000Z\"}",
	                 s->id, s->name, s->labels);
}

static struct sb *
sb_find(struct fx *x, const char *key)
{
	int i;

	for (i = 0; i < x->nsb; i++)
		if (!x->sbs[i].gone && (strcmp(x->sbs[i].id, key) == 0 ||
		                        strcmp(x->sbs[i].name, key) == 0))
			return &x->sbs[i];
	return NULL;
}

static void
reply(struct dt_http_response *resp, int status, char *body)
{
	resp->status = status;
	buf_addstr(&resp->body, body ? body : "{}");
	free(body);
}

static void
drop_lock(struct fx *x)
{
	struct store *st = NULL;
	struct store_lock_holder h;

	assert_int_equal(store_open(x->state, &st), 0);
	assert_int_equal(store_lock_get(st, "default", &h), 0);
	assert_int_equal(store_lock_force_release(st, h.id, NULL), 0);
	store_close(st);
}

static void
create(struct fx *x, const struct dt_fake_req *req,
       struct dt_http_response *resp)
{
	cJSON *j = cJSON_Parse(req->body), *l;
	struct sb *s = &x->sbs[x->nsb++];
	char *txt;

	assert_non_null(j);
	if (x->drop_lock_on_create && ++x->creates == x->drop_lock_on_create)
		drop_lock(x);
	snprintf(s->id, sizeof(s->id), "id-%d", x->nsb);
	snprintf(s->name, sizeof(s->name), "%s",
	         cJSON_GetObjectItem(j, "name")->valuestring);
	l = cJSON_GetObjectItem(j, "labels");
	txt = cJSON_PrintUnformatted(l);
	s->labels = xstrdup(txt);
	cJSON_free(txt);
	cJSON_Delete(j);
	reply(resp, 200, sb_json(s));
}

/* serve: the routes refresh, apply and destroy use. */
static int
serve(void *arg, const struct dt_fake_req *req, struct dt_http_response *resp)
{
	struct fx *x = arg;
	const char *p = req->path + strlen("/api");
	struct buf b = BUF_INIT;
	struct sb *s;
	int i, n = 0;

	if (strcmp(req->method, "GET") == 0 &&
	    (strncmp(p, "/sandbox?", 9) == 0 || strcmp(p, "/sandbox") == 0)) {
		buf_addstr(&b, "{\"items\":[");
		for (i = 0; i < x->nsb; i++) {
			char *one;

			if (x->sbs[i].gone)
				continue;
			one = sb_json(&x->sbs[i]);
			buf_addf(&b, "%s%s", n++ ? "," : "", one);
			free(one);
		}
		buf_addstr(&b, "],\"nextCursor\":null}");
		reply(resp, 200, buf_detach(&b, NULL));
		return 0;
	}
	if (strcmp(req->method, "POST") == 0 && strcmp(p, "/sandbox") == 0) {
		create(x, req, resp);
		return 0;
	}
	if (strncmp(p, "/sandbox/", 9) == 0 &&
	    (s = sb_find(x, p + 9)) != NULL) {
		if (strcmp(req->method, "DELETE") == 0)
			s->gone = 1;
		reply(resp, 200, sb_json(s));
		return 0;
	}
	reply(resp, 404,
	      xstrdup("{\"statusCode\":404,\"message\":\"not found\"}"));
	return 0;
}

static void
on_event(void *arg, const struct apply_event *ev)
{
	struct fx *x = arg;

	x->kinds[ev->kind]++;
	buf_addf(&x->events, "%d %s\n", (int)ev->kind,
	         ev->action ? ev->action->name : "-");
}

static void
write_manifest(struct fx *x, const char *name, const char *extra)
{
	char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s.yaml", x->mdir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp,
	        "apiVersion: sandform.dev/v1\nkind: Sandbox\nmetadata:\n"
	        "  name: %s\nspec:\n  snapshot: daytona-small\n"
	        "  autoStopInterval: 0\n%s",
	        name, extra ? extra : "");
	fclose(fp);
}

static int
setup(void **state)
{
	struct fx *x = xcalloc(1, sizeof(*x));

	snprintf(x->dir, sizeof(x->dir), "/tmp/sf-reconcile-XXXXXX");
	assert_non_null(mkdtemp(x->dir));
	snprintf(x->state, sizeof(x->state), "%s/state.db", x->dir);
	snprintf(x->mdir, sizeof(x->mdir), "%s/m", x->dir);
	assert_int_equal(mkdir(x->mdir, 0700), 0);
	x->f = dt_fake_new();
	dt_fake_set_handler(x->f, serve, x);
	setenv("DAYTONA_API_KEY", "test-key", 1);
	setenv("DAYTONA_API_URL", "http://127.0.0.1:9/api", 1);
	*state = x;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *x = *state;
	char cmd[256];
	int i;

	for (i = 0; i < x->nsb; i++)
		free(x->sbs[i].labels);
	dt_fake_free(x->f);
	buf_free(&x->events);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", x->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", x->dir);
	free(x);
	return 0;
}

static void
opts(struct fx *x, struct reconcile_opts *o, const char *cmd,
     enum reconcile_mode mode)
{
	static const char *paths[1];

	memset(o, 0, sizeof(*o));
	paths[0] = x->mdir;
	o->command = cmd;
	o->mode = mode;
	o->stack = "default";
	o->state_path = x->state;
	o->paths = paths;
	o->npaths = 1;
	o->refresh = 1;
	o->lock = mode == RECONCILE_PLAN ? RECONCILE_LOCK_RECORD
	                                 : RECONCILE_LOCK_HOLD;
	o->parallelism = 1;
	o->timeout_ms = 5000;
	o->on_event = on_event;
	o->event_arg = x;
	o->transport = dt_fake_transport(x->f);
	o->clock = dt_fake_clock(x->f);
}

/* A manifest error: diagnostics back, no state made, no request sent. */
static void
test_manifest_errors(void **state)
{
	struct fx *x = *state;
	struct reconcile_opts o;
	struct diag_list diags = DIAG_LIST_INIT;
	struct reconcile *r = NULL;

	write_manifest(x, "web", "  bogus: 1\n");
	opts(x, &o, "plan", RECONCILE_PLAN);
	assert_true(reconcile_open(&o, &diags, &r) < 0);
	assert_null(r);
	assert_true(diags.n_errors >= 1);
	assert_non_null(strstr(sf_error_last(), "in the manifests"));
	assert_int_equal(access(x->state, F_OK), -1);
	assert_int_equal(dt_fake_n_requests(x->f), 0);
	diag_list_free(&diags);
}

/* apply creates both, events in order, the lock held only in the cycle;
 * destroy deletes all but the protected one unless forced. */
static void
test_apply_then_destroy(void **state)
{
	struct fx *x = *state;
	struct reconcile_opts o;
	struct diag_list diags = DIAG_LIST_INIT;
	struct reconcile *r = NULL;
	struct plan *p = NULL;
	struct apply_stats st;
	struct store_lock_holder h;
	const char *const force[] = { "keep" };

	write_manifest(x, "web", NULL);
	write_manifest(x, "keep", "  lifecycle: {preventDestroy: true}\n");
	opts(x, &o, "apply", RECONCILE_APPLY);
	assert_int_equal(reconcile_open(&o, &diags, &r), 0);
	assert_int_equal(reconcile_begin(r), 0);
	assert_int_equal(store_lock_get(reconcile_store(r), "default", &h), 0);
	assert_string_equal(h.info, "apply");
	assert_int_equal(reconcile_plan(r, &p), 0);
	assert_int_equal(p->summary.create, 2);
	assert_int_equal(reconcile_apply(r, p, &st), 0);
	assert_int_equal(st.done, 2);
	assert_int_equal(st.failed + st.left, 0);
	assert_int_equal(x->kinds[APPLY_EV_STARTED], 2);
	assert_int_equal(x->kinds[APPLY_EV_DONE], 2);
	assert_int_equal(x->kinds[APPLY_EV_SUMMARY], 1);
	assert_int_equal(x->kinds[APPLY_EV_END], 1);
	reconcile_end(r);
	assert_int_equal(store_lock_get(reconcile_store(r), "default", &h),
	                 SF_ENOTFOUND);
	plan_free(p);
	p = NULL;
	reconcile_close(r);
	r = NULL;

	/* destroy without manifests: keep is protected by its label */
	opts(x, &o, "destroy", RECONCILE_DESTROY);
	o.no_sources = 1;
	assert_int_equal(reconcile_open(&o, &diags, &r), 0);
	assert_int_equal(reconcile_begin(r), 0);
	assert_int_equal(reconcile_plan(r, &p), 0);
	assert_int_equal(p->nactions, 1);
	assert_string_equal(p->actions[0].name, "web");
	assert_int_equal(p->nerrors, 1);
	assert_string_equal(p->errors[0].name, "keep");
	plan_free(p);
	p = NULL;
	reconcile_close(r);
	r = NULL;

	o.force_destroy = force;
	o.nforce = 1;
	assert_int_equal(reconcile_open(&o, &diags, &r), 0);
	assert_int_equal(reconcile_begin(r), 0);
	assert_int_equal(reconcile_plan(r, &p), 0);
	assert_int_equal(p->nactions, 2);
	assert_int_equal(p->nerrors, 0);
	assert_int_equal(reconcile_apply(r, p, &st), 0);
	assert_int_equal(st.done, 2);
	assert_null(sb_find(x, "web"));
	assert_null(sb_find(x, "keep"));
	plan_free(p);
	reconcile_close(r);
	diag_list_free(&diags);
}

/* Another run holds the lock: refused naming it; waited for (said), a
 * stop request ends the wait; a plan goes on without recording. */
static void
test_lock_policies(void **state)
{
	struct fx *x = *state;
	struct reconcile_opts o;
	struct diag_list diags = DIAG_LIST_INIT;
	struct reconcile *r = NULL;
	struct store *other = NULL;
	struct store_lock_holder held;
	struct sf_cancel tok = SF_CANCEL_INIT;
	struct plan *p = NULL;

	write_manifest(x, "web", NULL);
	assert_int_equal(store_open(x->state, &other), 0);
	assert_int_equal(
	        store_lock_acquire(other, "default", "watch", 0, &held), 0);

	opts(x, &o, "apply", RECONCILE_APPLY);
	assert_int_equal(reconcile_open(&o, &diags, &r), 0);
	assert_int_equal(reconcile_begin(r), SF_ELOCKED);
	assert_non_null(reconcile_holder(r));
	assert_string_equal(reconcile_holder(r)->id, held.id);
	assert_int_equal(x->kinds[APPLY_EV_LOCK_WAIT], 0);
	reconcile_close(r);

	o.lock_timeout_ms = 300;
	assert_int_equal(reconcile_open(&o, &diags, &r), 0);
	assert_int_equal(reconcile_begin(r), SF_ELOCKED);
	assert_int_equal(x->kinds[APPLY_EV_LOCK_WAIT], 1);
	reconcile_close(r);

	/* a stop request: no wait at all */
	o.lock_timeout_ms = 60000;
	o.cancel = &tok;
	sf_cancel_request(&tok, SF_CANCEL_STOP);
	assert_int_equal(reconcile_open(&o, &diags, &r), 0);
	assert_int_equal(reconcile_begin(r), SF_ELOCKED);
	reconcile_close(r);

	/* plan: busy, planned anyway, nothing recorded */
	opts(x, &o, "plan", RECONCILE_PLAN);
	assert_int_equal(reconcile_open(&o, &diags, &r), 0);
	assert_int_equal(reconcile_begin(r), 0);
	assert_int_equal(reconcile_plan(r, &p), 0);
	assert_int_equal(x->kinds[APPLY_EV_LOCK_BUSY], 1);
	assert_int_equal(p->summary.create, 1);
	plan_free(p);
	reconcile_close(r);
	store_close(other);
	diag_list_free(&diags);
}

/* The lock is force-released during the first create: the run notices
 * before its next call, sends nothing more and says so. */
static void
test_lock_lost_stops(void **state)
{
	struct fx *x = *state;
	struct reconcile_opts o;
	struct diag_list diags = DIAG_LIST_INIT;
	struct reconcile *r = NULL;
	struct plan *p = NULL;
	struct apply_stats st;

	write_manifest(x, "a", NULL);
	write_manifest(x, "b", NULL);
	write_manifest(x, "c", NULL);
	x->drop_lock_on_create = 1;
	opts(x, &o, "apply", RECONCILE_APPLY);
	assert_int_equal(reconcile_open(&o, &diags, &r), 0);
	assert_int_equal(reconcile_begin(r), 0);
	assert_int_equal(reconcile_plan(r, &p), 0);
	assert_int_equal(reconcile_apply(r, p, &st), 0);
	assert_true(st.lock_lost);
	assert_true(st.stopped);
	assert_int_equal(x->creates, 1);
	assert_int_equal(st.done + st.left, 3);
	assert_true(st.left >= 2);
	assert_int_equal(x->kinds[APPLY_EV_LOCK_LOST], 1);
	plan_free(p);
	reconcile_close(r);
	diag_list_free(&diags);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_manifest_errors, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_apply_then_destroy, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_lock_policies, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_lock_lost_stops, setup,
		                                teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
