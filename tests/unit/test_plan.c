/*
 * Unit tests for reconciler/plan, spec, planout and refresh: one case per
 * row of the mutability table (docs/manifest.md), the three-way label
 * merge, server normalisation, state policy, preventDestroy, the
 * mass-delete guard, ownership, the JSON round trip, and the refresh walk
 * against the client's fake transport and a temporary store.
 */
#include "common/base.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/fileutil.h"
#include "common/xalloc.h"
#include "daytona/transport-fake.h"
#include "reconciler/plan.h"
#include "reconciler/planout.h"
#include "reconciler/refresh.h"
#include "manifests/secret.h"
#include "manifests/spec.h"
#include "manifests/spechash.h"
#include "reconciler/create.h"
#include "reconciler/labels.h"
#include "state/store.h"

#define STACK "default"
static const unsigned char key[32] = "0123456789abcdef0123456789abcdef";

/* ---- fixtures ------------------------------------------------------------ */

/* A spec as a manifest would give it: snapshot sandbox, a label. */
static void
base_spec(struct spec *s, const char *name)
{
	memset(s, 0, sizeof(*s));
	s->name = xstrdup(name);
	s->file = xstrdup("sb.yaml");
	spec_pos_set(s, SPEC_F_DOCUMENT, 3, 0);
	strmap_set(&s->labels, "team", "agents");
	s->snapshot = xstrdup("daytona-small");
}

static void
hash(struct spec *s)
{
	assert_int_equal(spec_hash(s, key, sizeof(key), NULL, NULL), 0);
}

/* The sandbox Daytona shows right after creating s (server defaults,
 * the SDK's language label added by someone else). */
/* set_state: the raw and parsed states of a fixture observation. */
static void
set_state(struct dt_sandbox *o, const char *st, const char *want)
{
	free(o->state_raw);
	free(o->desired_state_raw);
	o->state_raw = xstrdup(st);
	o->desired_state_raw = want ? xstrdup(want) : NULL;
	o->state = dt_state_parse(st);
	o->desired_state = dt_state_parse(want);
}

/* set_str: replace a string member of a fixture. */
static void
set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = v ? xstrdup(v) : NULL;
}

/* The sandbox Daytona shows right after creating s (server defaults,
 * the SDK's language label added by someone else). */
static void
observed_for(struct dt_sandbox *o, const struct spec *s, const char *id)
{
	struct strmap l = STRMAP_INIT;

	memset(o, 0, sizeof(*o));
	o->id = xstrdup(id);
	o->name = xstrdup(s->name);
	set_state(o, "started", "started");
	labels_merge(s, STACK, NULL, NULL, &l);
	o->labels = l;
	strmap_set(&o->labels, "code-toolbox-language", "python");
	o->is_public = s->has_public ? s->public_ : 0;
	o->cpu = s->has_cpu ? s->cpu : 1;
	o->memory = s->has_memory ? s->memory : 1;
	o->disk = s->has_disk ? s->disk : 3;
	o->snapshot = s->snapshot ? xstrdup(s->snapshot) : NULL;
	o->target = xstrdup("us");
	o->user = xstrdup("daytona");
	o->auto_stop_interval = s->has_auto_stop ? s->auto_stop : 15;
	o->auto_archive_interval =
	        s->has_auto_archive
	                ? spec_normalize_auto_archive(s->auto_archive, 0)
	                : 10080;
	o->auto_delete_interval = s->has_auto_delete ? s->auto_delete : -1;
	o->created_at = xstrdup("2026-01-01T00:00:00.000Z");
	o->updated_at = xstrdup("2026-01-01T00:00:00.000Z");
	o->present = DT_HAS_PUBLIC | DT_HAS_CPU | DT_HAS_GPU | DT_HAS_MEMORY |
	             DT_HAS_DISK | DT_HAS_AUTO_STOP | DT_HAS_AUTO_ARCHIVE |
	             DT_HAS_AUTO_DELETE;
}

/* dt_sandbox_clear: free a fixture's members (the struct is the test's). */
static void
observed_clear(struct dt_sandbox *o)
{
	struct dt_sandbox *heap = xcalloc(1, sizeof(*heap));

	*heap = *o;
	dt_sandbox_free(heap);
	memset(o, 0, sizeof(*o));
}

/* known_net: give a fixture observation known network settings. */
static void
known_net(struct dt_sandbox *o, int block_all, const char *allow,
          const char *domains)
{
	o->present |= DT_HAS_NETWORK_BLOCK_ALL;
	o->network_block_all = block_all;
	set_str(&o->network_allow_list, allow);
	set_str(&o->domain_allow_list, domains);
}

static void
record_for(struct plan_record *r, const struct spec *s, const char *id)
{
	memset(r, 0, sizeof(*r));
	r->name = xstrdup(s->name);
	r->id = xstrdup(id);
	r->spec_hash = xstrdup(s->hash);
	labels_owned(s, STACK, &r->owned_labels);
}

/* One desired sandbox, its observation and record. */
struct one {
	struct spec s;
	struct dt_sandbox o;
	struct dt_sandbox *op; /* &o, for plan_input */
	struct plan_record r;
	struct plan *p;
	const struct strmap *secret_names; /* plan_input's; NULL: unknown */
};

static void
one_setup(struct one *t, const char *name)
{
	memset(t, 0, sizeof(*t));
	base_spec(&t->s, name);
	hash(&t->s);
	observed_for(&t->o, &t->s, "id-1");
	record_for(&t->r, &t->s, "id-1");
}

static int
one_plan(struct one *t)
{
	struct plan_input in;

	memset(&in, 0, sizeof(in));
	in.stack = STACK;
	in.specs = &t->s;
	in.nspecs = 1;
	t->op = &t->o;
	in.observed = &t->op;
	in.nobserved = 1;
	in.records = &t->r;
	in.nrecords = 1;
	in.refreshed = 1;
	in.secret_names = t->secret_names;
	plan_free(t->p);
	t->p = NULL;
	return plan_build(&in, &t->p);
}

static void
one_free(struct one *t)
{
	spec_clear(&t->s);
	observed_clear(&t->o);
	plan_record_clear(&t->r);
	plan_free(t->p);
}

static const struct plan_reason *
reason(const struct plan_action *a, const char *field)
{
	size_t i;

	for (i = 0; i < a->nreasons; i++)
		if (strcmp(a->reasons[i].field, field) == 0)
			return &a->reasons[i];
	return NULL;
}

/* The step kinds of an action as a string: "stop,wait_stable,...". */
static char *
steps(const struct plan_action *a)
{
	char buf[512] = "";
	size_t i, off = 0;

	for (i = 0; i < a->nsteps; i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s",
		                        i ? "," : "",
		                        plan_step_name(&a->steps[i]));
	return xstrdup(buf);
}

static void
assert_steps(const struct plan_action *a, const char *want)
{
	char *got = steps(a);

	assert_string_equal(got, want);
	free(got);
}

/* ---- typed reasons: category and origin -------------------------------- */

/*
 * The origin of a reason compares the manifests with the spec last
 * applied: the same request with a different live value is a change made
 * outside sandform; a new request is the manifests'; without a record of
 * what was applied nobody can tell.
 */
static void
test_reason_categories_and_origins(void **state)
{
	struct one t;
	const struct plan_reason *r;

	(void)state;
	one_setup(&t, "web");
	t.s.has_auto_stop = 1;
	t.s.auto_stop = 0;
	t.s.has_public = 1;
	t.s.public_ = 0;
	strmap_set(&t.s.labels, "team", "agents");
	hash(&t.s);
	observed_clear(&t.o);
	observed_for(&t.o, &t.s, "id-1");
	plan_record_clear(&t.r);
	record_for(&t.r, &t.s, "id-1");
	t.r.applied = spec_dup(&t.s);

	/* out of band: someone made it public and changed autoStop */
	t.o.is_public = 1;
	t.o.auto_stop_interval = 30;
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->nactions, 1);
	r = reason(&t.p->actions[0], "spec.public");
	assert_int_equal(r->category, PLAN_CAT_SETTINGS);
	assert_int_equal(r->origin, PLAN_ORIGIN_OUT_OF_BAND);
	r = reason(&t.p->actions[0], "spec.autoStopInterval");
	assert_int_equal(r->category, PLAN_CAT_SETTINGS);
	assert_int_equal(r->origin, PLAN_ORIGIN_OUT_OF_BAND);

	/* the manifest now asks for another autoStop: its own change */
	t.s.auto_stop = 60;
	assert_int_equal(one_plan(&t), 0);
	r = reason(&t.p->actions[0], "spec.autoStopInterval");
	assert_int_equal(r->origin, PLAN_ORIGIN_MANIFEST);
	assert_int_equal(reason(&t.p->actions[0], "spec.public")->origin,
	                 PLAN_ORIGIN_OUT_OF_BAND);

	/* labels: an out-of-band edit of a declared one */
	t.s.auto_stop = 0;
	t.o.is_public = 0;
	t.o.auto_stop_interval = 0;
	strmap_set(&t.o.labels, "team", "other");
	assert_int_equal(one_plan(&t), 0);
	r = reason(&t.p->actions[0], "labels.team");
	assert_int_equal(r->category, PLAN_CAT_LABELS);
	assert_int_equal(r->origin, PLAN_ORIGIN_OUT_OF_BAND);

	/* state: stopped outside sandform while the manifest says started */
	strmap_set(&t.o.labels, "team", "agents");
	t.s.state = SPEC_STATE_STARTED;
	spec_free(t.r.applied);
	t.r.applied = spec_dup(&t.s);
	set_state(&t.o, "stopped", "stopped");
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->actions[0].kind, PLAN_START);
	r = reason(&t.p->actions[0], "spec.state");
	assert_int_equal(r->category, PLAN_CAT_STATE);
	assert_int_equal(r->origin, PLAN_ORIGIN_OUT_OF_BAND);

	/* nothing applied is known (an imported or rebuilt record) */
	spec_free(t.r.applied);
	t.r.applied = NULL;
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(reason(&t.p->actions[0], "spec.state")->origin,
	                 PLAN_ORIGIN_UNKNOWN);
	one_free(&t);
}

static void
test_reason_missing_and_removed(void **state)
{
	struct one t;
	struct plan_input in;
	const struct plan_reason *r;
	struct dt_sandbox *none[1];

	(void)state;
	one_setup(&t, "web");
	/* new in the manifests */
	memset(&in, 0, sizeof(in));
	in.stack = STACK;
	in.specs = &t.s;
	in.nspecs = 1;
	in.observed = none;
	assert_int_equal(plan_build(&in, &t.p), 0);
	r = reason(&t.p->actions[0], "sandbox");
	assert_int_equal(r->category, PLAN_CAT_MISSING);
	assert_int_equal(r->origin, PLAN_ORIGIN_MANIFEST);
	plan_free(t.p);
	/* deleted outside sandform: the state has its id */
	in.records = &t.r;
	in.nrecords = 1;
	assert_int_equal(plan_build(&in, &t.p), 0);
	r = reason(&t.p->actions[0], "sandbox");
	assert_int_equal(r->category, PLAN_CAT_MISSING);
	assert_int_equal(r->origin, PLAN_ORIGIN_OUT_OF_BAND);
	plan_free(t.p);
	/* removed from the manifests */
	t.op = &t.o;
	in.observed = &t.op;
	in.nobserved = 1;
	in.nspecs = 0;
	in.allow_mass_delete = 1;
	assert_int_equal(plan_build(&in, &t.p), 0);
	assert_int_equal(t.p->actions[0].kind, PLAN_DELETE);
	r = reason(&t.p->actions[0], "sandbox");
	assert_int_equal(r->category, PLAN_CAT_REMOVED);
	assert_int_equal(r->origin, PLAN_ORIGIN_MANIFEST);
	one_free(&t);
}

/* Categories and origins survive the JSON document; 0.1 plans read. */
static void
test_reason_json(void **state)
{
	static const char old[] =
	        "{\"format_version\":\"1\",\"stack\":\"default\","
	        "\"actions\":[{\"name\":\"a\",\"action\":\"update\","
	        "\"sandbox_id\":\"i\",\"source\":\"x:1\",\"reasons\":[{"
	        "\"field\":\"spec.public\",\"old\":\"false\",\"new\":"
	        "\"true\",\"forces_replace\":false}],\"fingerprint\":\"\","
	        "\"steps\":[{\"op\":\"set_public\",\"value\":1}],"
	        "\"desired\":null,\"observed\":null,\"owned_labels\":{}}]}";
	struct one t;
	struct plan *back = NULL;
	char *json = NULL;

	(void)state;
	one_setup(&t, "web");
	t.o.is_public = 1;
	t.s.has_public = 1;
	t.r.applied = spec_dup(&t.s);
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(plan_to_json(t.p, &json), 0);
	assert_non_null(strstr(json, "\"category\":\"settings\""));
	assert_non_null(strstr(json, "\"origin\":\"out-of-band\""));
	assert_int_equal(plan_from_json(json, strlen(json), &back), 0);
	assert_int_equal(back->actions[0].reasons[0].category,
	                 PLAN_CAT_SETTINGS);
	assert_int_equal(back->actions[0].reasons[0].origin,
	                 PLAN_ORIGIN_OUT_OF_BAND);
	plan_free(back);
	back = NULL;
	assert_int_equal(plan_from_json(old, strlen(old), &back), 0);
	assert_int_equal(back->actions[0].reasons[0].origin,
	                 PLAN_ORIGIN_UNKNOWN);
	plan_free(back);
	free(json);
	one_free(&t);
}

/* spec_field_equal: scalars with their has flags, groups, lists. */
static void
test_spec_field_equal(void **state)
{
	struct spec a, *b;

	(void)state;
	base_spec(&a, "x");
	b = spec_dup(&a);
	assert_true(spec_field_equal(&a, b, SPEC_F_RESOURCES));
	b->has_cpu = 1;
	b->cpu = 1;
	assert_false(spec_field_equal(&a, b, SPEC_F_CPU));
	assert_false(spec_field_equal(&a, b, SPEC_F_RESOURCES));
	assert_true(spec_field_equal(&a, b, SPEC_F_MEMORY));
	a.has_cpu = 1;
	a.cpu = 1;
	assert_true(spec_field_equal(&a, b, SPEC_F_RESOURCES));
	b->has_network = 1;
	b->network.allow_list = xstrdup("10.0.0.0/8");
	assert_false(spec_field_equal(&a, b, SPEC_F_ALLOW_LIST));
	assert_true(spec_field_equal(&a, b, SPEC_F_BLOCK_ALL));
	assert_false(spec_field_equal(&a, b, SPEC_F_NETWORK));
	strmap_set(&b->labels, "k", "v");
	assert_false(spec_field_equal(&a, b, SPEC_F_LABELS));
	assert_true(spec_field_equal(&a, b, SPEC_F_IMAGE));
	spec_free(b);
	spec_clear(&a);
}

/* ---- no difference ------------------------------------------------------ */

static void
test_fresh_sandbox_has_no_diff(void **state)
{
	struct one t;

	(void)state;
	one_setup(&t, "web");
	/* declared values the server normalises */
	t.s.has_auto_archive = 1;
	t.s.auto_archive = 0; /* 0 -> max */
	t.s.has_auto_stop = 1;
	t.s.auto_stop = 0;
	t.s.has_auto_delete = 1;
	t.s.auto_delete = -5; /* any negative disables */
	t.s.has_public = 1;
	t.s.public_ = 0;
	observed_clear(&t.o);
	observed_for(&t.o, &t.s, "id-1");
	t.o.auto_archive_interval = SPEC_DEFAULT_MAX_AUTO_ARCHIVE;
	t.o.auto_delete_interval = -1;
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->nactions, 0);
	assert_int_equal(t.p->nerrors, 0);
	assert_int_equal(plan_has_changes(t.p), 0);
	one_free(&t);
}

static void
test_omitted_fields_are_not_managed(void **state)
{
	struct one t;

	(void)state;
	one_setup(&t, "web");
	/* everything drifted, nothing declared */
	t.o.is_public = 1;
	t.o.auto_stop_interval = 60;
	t.o.auto_archive_interval = 60;
	t.o.auto_delete_interval = 10;
	t.o.cpu = 4;
	set_str(&t.o.user, "root");
	set_state(&t.o, "archived", "archived");
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->nactions, 0);
	one_free(&t);
}

/* ---- mutable fields: updates ---------------------------------------- */

static void
test_labels_three_way_merge(void **state)
{
	struct one t;
	const struct plan_action *a;
	const struct strmap *l;

	(void)state;
	one_setup(&t, "web");
	/* sandform set "old" before; the manifest dropped it and changed
	 * team; someone else added "owner" */
	strmap_set(&t.o.labels, "old", "x");
	strmap_set(&t.r.owned_labels, "old", "x");
	strmap_set(&t.o.labels, "owner", "bob");
	strmap_set(&t.s.labels, "team", "infra");
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->nactions, 1);
	a = &t.p->actions[0];
	assert_int_equal(a->kind, PLAN_UPDATE);
	assert_steps(a, "set_labels");
	l = &a->steps[0].labels;
	assert_string_equal(strmap_get(l, "team"), "infra");
	assert_null(strmap_get(l, "old"));
	assert_string_equal(strmap_get(l, "owner"), "bob");
	assert_string_equal(strmap_get(l, "code-toolbox-language"), "python");
	assert_string_equal(strmap_get(l, LABEL_STACK), STACK);
	assert_string_equal(strmap_get(l, LABEL_SPEC), t.s.hash);
	assert_non_null(reason(a, "labels.team"));
	assert_string_equal(reason(a, "labels.team")->old, "agents");
	assert_string_equal(reason(a, "labels.team")->new_, "infra");
	assert_null(reason(a, "labels.old")->new_);
	assert_null(reason(a, "labels.owner"));
	assert_string_equal(a->source, "sb.yaml:3");
	one_free(&t);
}

/* after a lost state the live label still says which keys were ours */
static void
test_labels_merge_without_state(void **state)
{
	struct spec s;
	struct strmap live = { NULL, 0 }, out = { NULL, 0 };

	(void)state;
	base_spec(&s, "web");
	strmap_set(&s.labels, "old", "x");
	hash(&s);
	labels_merge(&s, STACK, NULL, NULL, &live);
	assert_string_equal(strmap_get(&live, LABEL_OWNED),
	                    "[\"old\",\"team\"]");
	strmap_set(&live, "owner", "bob");
	strmap_del(&s.labels, "old");
	labels_merge(&s, STACK, &live, NULL, &out);
	assert_null(strmap_get(&out, "old"));
	assert_string_equal(strmap_get(&out, "owner"), "bob");
	assert_string_equal(strmap_get(&out, LABEL_OWNED), "[\"team\"]");
	strmap_clear(&out);
	/* no declared labels: no list label, and the old list is gone */
	strmap_del(&s.labels, "team");
	labels_merge(&s, STACK, &live, NULL, &out);
	assert_null(strmap_get(&out, LABEL_OWNED));
	assert_null(strmap_get(&out, "team"));
	assert_string_equal(strmap_get(&out, "owner"), "bob");
	strmap_clear(&out);
	strmap_clear(&live);
	spec_clear(&s);
}

/* labels_merge_is_live: whenever it says the merge is the live map, the
 * merge is; and it says so for every case it can tell without parsing
 * (the live key list absent or the one owned now). Thousands of draws of
 * declared labels, live labels and previously owned keys. */
static void
test_labels_merge_is_live(void **state)
{
	static const char *const keys[] = {
		"team",
		"env",
		"owner",
		LABEL_STACK,
		LABEL_SPEC,
		LABEL_OWNED,
		LABEL_PREVENT_DESTROY,
		LABEL_PREFIX "other",
	};
	static const char *const vals[] = { "a", "b" };
	uint32_t rnd = 12345;
	size_t iter, i, yes = 0, k = sizeof(keys) / sizeof(*keys);

	(void)state;
	for (iter = 0; iter < 4000; iter++) {
		struct spec sp;
		struct strmap live = STRMAP_INIT, prev = STRMAP_INIT,
		              out = STRMAP_INIT, owned = STRMAP_INIT;
		const char *lv, *ov;
		int is;

#define NEXT() (rnd = rnd * 1103515245u + 12345u, (rnd >> 16) & 0x7fff)
		base_spec(&sp, "web");
		strmap_clear(&sp.labels);
		/* user keys, and now and then one of sandform's (which a
		 * manifest may not declare, but the two must still agree) */
		for (i = 0; i < k; i++)
			if (NEXT() % (i < 3 ? 2 : 16) == 0)
				strmap_set(&sp.labels, keys[i],
				           vals[NEXT() % 2]);
		sp.prevent_destroy = NEXT() % 4 == 0;
		hash(&sp);
		/* live: often exactly what a merge gives, then disturbed */
		if (NEXT() % 2)
			labels_merge(&sp, STACK, NULL, NULL, &live);
		for (i = 0; i < k; i++)
			if (NEXT() % 6 == 0) {
				if (NEXT() % 2)
					strmap_del(&live, keys[i]);
				else
					strmap_set(&live, keys[i],
					           vals[NEXT() % 2]);
			}
		for (i = 0; i < 3; i++)
			if (NEXT() % 3 == 0)
				strmap_set(&prev, keys[i], "");
		labels_merge(&sp, STACK, &live, &prev, &out);
		is = labels_merge_is_live(&sp, STACK, &live, &prev);
		labels_owned(&sp, STACK, &owned);
		lv = strmap_get(&live, LABEL_OWNED);
		ov = strmap_get(&owned, LABEL_OWNED);
		if (is)
			assert_true(strmap_equal(&out, &live));
		if (lv == NULL || (ov && strcmp(lv, ov) == 0))
			assert_int_equal(is, strmap_equal(&out, &live));
		yes += is;
		strmap_clear(&owned);
		strmap_clear(&out);
		strmap_clear(&prev);
		strmap_clear(&live);
		spec_clear(&sp);
#undef NEXT
	}
	assert_true(yes > 100); /* the shortcut is taken */
}

static void
test_update_public_and_intervals(void **state)
{
	struct one t;
	const struct plan_action *a;

	(void)state;
	one_setup(&t, "web");
	t.s.has_public = 1;
	t.s.public_ = 1;
	t.s.has_auto_stop = 1;
	t.s.auto_stop = 0;
	t.s.has_auto_archive = 1;
	t.s.auto_archive = 99999; /* clamped to the max */
	t.s.has_auto_delete = 1;
	t.s.auto_delete = 120;
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->nactions, 1);
	a = &t.p->actions[0];
	assert_int_equal(a->kind, PLAN_UPDATE);
	assert_steps(a, "set_public,set_autostop,set_autoarchive,"
	                "set_autodelete");
	assert_int_equal(a->steps[0].value, 1);
	assert_int_equal(a->steps[1].value, 0);
	assert_string_equal(reason(a, "spec.autoArchiveInterval")->new_,
	                    "43200");
	assert_string_equal(reason(a, "spec.autoStopInterval")->old, "15");
	assert_int_equal(t.p->summary.update, 1);
	/* the server then shows the clamped value: no diff */
	t.o.is_public = 1;
	t.o.auto_stop_interval = 0;
	t.o.auto_archive_interval = 43200;
	t.o.auto_delete_interval = 120;
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->nactions, 0);
	one_free(&t);
}

static void
test_update_network(void **state)
{
	struct one t;
	const struct plan_action *a;

	(void)state;
	one_setup(&t, "web");
	t.s.has_network = 1;
	t.s.network.has_block_all = 1;
	t.s.network.block_all = 0;
	t.s.network.allow_list = xstrdup("10.0.0.0/8");
	/* nothing known: set it */
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->nactions, 1);
	a = &t.p->actions[0];
	assert_steps(a, "set_network");
	assert_string_equal(a->steps[0].network.allow_list, "10.0.0.0/8");
	/* the state remembers what was applied: equal, no diff */
	t.r.applied = spec_dup(&t.s);
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->nactions, 0);
	/* a GET showed something else (out of band) */
	known_net(&t.o, 1, "", NULL);
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->nactions, 1);
	/* only the changed settings, each named (r45 B19) */
	assert_int_equal(t.p->actions[0].nreasons, 2);
	assert_string_equal(
	        reason(&t.p->actions[0], "spec.network.blockAll")->old, "true");
	assert_string_equal(
	        reason(&t.p->actions[0], "spec.network.allowList")->new_,
	        "10.0.0.0/8");
	assert_null(reason(&t.p->actions[0], "spec.network"));
	one_free(&t);
}

/* ---- resources: resize ---------------------------------------------- */

static void
image_spec(struct one *t)
{
	free(t->s.snapshot);
	t->s.snapshot = NULL;
	t->s.image = xstrdup("python:3.12");
	t->s.has_cpu = t->s.has_memory = t->s.has_disk = 1;
	t->s.cpu = 2;
	t->s.memory = 4;
	t->s.disk = 5;
	hash(&t->s);
	observed_clear(&t->o);
	observed_for(&t->o, &t->s, "id-1");
	plan_record_clear(&t->r);
	record_for(&t->r, &t->s, "id-1");
}

static void
test_resize_hot_increase(void **state)
{
	struct one t;
	const struct plan_action *a;

	(void)state;
	one_setup(&t, "web");
	image_spec(&t);
	t.s.cpu = 4;
	t.s.memory = 8;
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->nactions, 1);
	a = &t.p->actions[0];
	assert_int_equal(a->kind, PLAN_RESIZE);
	assert_steps(a, "resize,wait_stable");
	assert_true(a->steps[0].has_cpu && a->steps[0].cpu == 4);
	assert_true(a->steps[0].has_memory && a->steps[0].memory == 8);
	assert_false(a->steps[0].has_disk);
	assert_int_equal(t.p->summary.other, 1);
	one_free(&t);
}

static void
test_resize_decrease_needs_stop(void **state)
{
	struct one t;

	(void)state;
	one_setup(&t, "web");
	image_spec(&t);
	t.s.memory = 2;
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->nactions, 1);
	assert_steps(&t.p->actions[0],
	             "stop,wait_stable,resize,wait_stable,start,wait_stable");
	/* already stopped and no state declared: stays stopped */
	set_state(&t.o, "stopped", "stopped");
	assert_int_equal(one_plan(&t), 0);
	assert_steps(&t.p->actions[0], "resize,wait_stable");
	one_free(&t);
}

static void
test_disk_grow_and_shrink(void **state)
{
	struct one t;
	const struct plan_action *a;

	(void)state;
	one_setup(&t, "web");
	image_spec(&t);
	t.s.disk = 10;
	assert_int_equal(one_plan(&t), 0);
	a = &t.p->actions[0];
	assert_int_equal(a->kind, PLAN_RESIZE);
	assert_steps(a,
	             "stop,wait_stable,resize,wait_stable,start,wait_stable");
	assert_true(a->steps[2].has_disk && a->steps[2].disk == 10);
	/* shrinking a disk cannot be done in place */
	t.s.disk = 3;
	assert_int_equal(one_plan(&t), 0);
	a = &t.p->actions[0];
	assert_int_equal(a->kind, PLAN_REPLACE);
	assert_true(reason(a, "spec.resources.disk")->forces_replace);
	one_free(&t);
}

/* ---- create-only fields: replace ---------------------------------------- */

static void
test_replace_image_env_volumes(void **state)
{
	struct one t;
	const struct plan_action *a;

	(void)state;
	one_setup(&t, "web");
	image_spec(&t);
	t.r.applied = spec_dup(&t.s);
	free(t.s.image);
	t.s.image = xstrdup("python:3.13");
	hash(&t.s);
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->nactions, 1);
	a = &t.p->actions[0];
	assert_int_equal(a->kind, PLAN_REPLACE);
	assert_true(reason(a, "spec.image")->forces_replace);
	assert_string_equal(reason(a, "spec.image")->old, "python:3.12");
	assert_string_equal(reason(a, "spec.image")->new_, "python:3.13");
	assert_steps(a, "delete,wait_gone,create,wait_stable");
	assert_int_equal(t.p->summary.replace, 1);

	/* env: a secret changed value; without the applied spec the hash
	 * groups are named, never values */
	free(t.s.image);
	t.s.image = xstrdup("python:3.12");
	spec_free(t.r.applied);
	t.r.applied = NULL;
	t.s.env = xcalloc(1, sizeof(*t.s.env));
	t.s.nenv = 1;
	t.s.env[0].key = xstrdup("TOKEN");
	t.s.env[0].kind = SPEC_ENV_PLAIN;
	t.s.env[0].value = xstrdup("v2");
	hash(&t.s);
	assert_int_equal(one_plan(&t), 0);
	a = &t.p->actions[0];
	assert_int_equal(a->kind, PLAN_REPLACE);
	assert_non_null(reason(a, "spec.env"));
	assert_null(reason(a, "spec.image"));
	assert_non_null(strstr(reason(a, "spec.env")->old, "(hash "));

	/* volumes */
	one_free(&t);
	one_setup(&t, "web");
	t.s.volumes = xcalloc(1, sizeof(*t.s.volumes));
	t.s.nvolumes = 1;
	t.s.volumes[0].volume = xstrdup("data");
	t.s.volumes[0].mount_path = xstrdup("/data");
	hash(&t.s);
	assert_int_equal(one_plan(&t), 0);
	assert_non_null(reason(&t.p->actions[0], "spec.volumes"));
	one_free(&t);
}

static void
test_replace_list_fields(void **state)
{
	struct one t;
	const struct plan_action *a;

	(void)state;
	one_setup(&t, "web");
	free(t.s.snapshot);
	t.s.snapshot = xstrdup("daytona-large");
	t.s.user = xstrdup("root");
	t.s.target = xstrdup("eu");
	assert_int_equal(one_plan(&t), 0);
	a = &t.p->actions[0];
	assert_int_equal(a->kind, PLAN_REPLACE);
	assert_true(reason(a, "spec.snapshot")->forces_replace);
	assert_string_equal(reason(a, "spec.user")->old, "daytona");
	assert_string_equal(reason(a, "spec.target")->new_, "eu");
	one_free(&t);

	one_setup(&t, "gpu");
	t.s.has_gpu = 1;
	t.s.gpu = 1;
	t.s.state = SPEC_STATE_STOPPED;
	assert_int_equal(one_plan(&t), 0);
	a = &t.p->actions[0];
	assert_int_equal(a->kind, PLAN_REPLACE);
	assert_true(reason(a, "spec.resources.gpu")->forces_replace);
	/* the declared state follows the new create */
	assert_steps(a, "delete,wait_gone,create,wait_stable,stop,"
	                "wait_stable");
	one_free(&t);
}

static void
test_prevent_destroy_refuses_replace(void **state)
{
	struct one t;

	(void)state;
	one_setup(&t, "db");
	t.s.prevent_destroy = 1;
	t.s.user = xstrdup("root");
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->nactions, 0);
	assert_int_equal(t.p->nerrors, 1);
	assert_non_null(strstr(t.p->errors[0].message, "preventDestroy"));
	assert_non_null(strstr(t.p->errors[0].message, "spec.user"));
	one_free(&t);
}

/* The manifest alone decides while it is present: preventDestroy turned
 * off together with a create-only change replaces, although the live
 * label and the last applied spec still say true. */
static void
test_prevent_destroy_lifted_by_manifest(void **state)
{
	struct one t;

	(void)state;
	one_setup(&t, "db");
	t.s.prevent_destroy = 1;
	t.r.applied = spec_dup(&t.s);
	strmap_set(&t.o.labels, LABEL_PREVENT_DESTROY, "true");
	t.s.prevent_destroy = 0;
	free(t.s.snapshot);
	t.s.snapshot = xstrdup("daytona-medium");
	hash(&t.s);
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->nerrors, 0);
	assert_int_equal(t.p->nactions, 1);
	assert_int_equal(t.p->actions[0].kind, PLAN_REPLACE);
	one_free(&t);
}

/* ---- run state -------------------------------------------------------- */

static void
test_state_policy(void **state)
{
	struct one t;

	(void)state;
	one_setup(&t, "web");
	t.s.state = SPEC_STATE_STARTED;
	set_state(&t.o, "stopped", "stopped");
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->actions[0].kind, PLAN_START);
	assert_steps(&t.p->actions[0], "start,wait_stable");
	assert_string_equal(reason(&t.p->actions[0], "spec.state")->old,
	                    "stopped");

	set_state(&t.o, "archived", "archived");
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->actions[0].kind, PLAN_START);

	t.s.state = SPEC_STATE_STOPPED;
	set_state(&t.o, "started", "started");
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->actions[0].kind, PLAN_STOP);
	assert_steps(&t.p->actions[0], "stop,wait_stable");
	/* stopped accepts archived (the platform's auto-archive) */
	set_state(&t.o, "archived", "archived");
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->nactions, 0);

	t.s.state = SPEC_STATE_ARCHIVED;
	set_state(&t.o, "started", "started");
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->actions[0].kind, PLAN_ARCHIVE);
	assert_steps(&t.p->actions[0], "stop,wait_stable,archive,wait_stable");

	/* a paused (VM) sandbox: start resumes it, stop stops it */
	t.s.state = SPEC_STATE_STARTED;
	set_state(&t.o, "paused", "paused");
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->actions[0].kind, PLAN_START);
	t.s.state = SPEC_STATE_STOPPED;
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->actions[0].kind, PLAN_STOP);

	/* omitted state: stopped or archived by the platform is no drift */
	t.s.state = SPEC_STATE_ANY;
	set_state(&t.o, "stopped", "stopped");
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->nactions, 0);

	/* transitional: judged by where it heads, after a wait */
	t.s.state = SPEC_STATE_STARTED;
	set_state(&t.o, "stopping", "stopped");
	assert_int_equal(one_plan(&t), 0);
	assert_steps(&t.p->actions[0], "wait_stable,start,wait_stable");
	set_state(&t.o, "starting", "started");
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->nactions, 0);
	one_free(&t);
}

static void
test_error_recover_or_replace(void **state)
{
	struct one t;

	(void)state;
	one_setup(&t, "web");
	set_state(&t.o, "error", "started");
	t.o.recoverable = 1;
	set_str(&t.o.error_reason, "Timeout while starting sandbox");
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->actions[0].kind, PLAN_RECOVER);
	assert_steps(&t.p->actions[0], "recover,wait_stable");
	t.o.recoverable = 0;
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->actions[0].kind, PLAN_REPLACE);
	assert_true(reason(&t.p->actions[0], "state")->forces_replace);
	set_state(&t.o, "build_failed", "started");
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->actions[0].kind, PLAN_REPLACE);
	one_free(&t);
}

/* ---- create, delete, guards, ownership ------------------------------- */

static void
test_create(void **state)
{
	struct spec s;
	struct plan_input in;
	struct plan *p = NULL;
	const struct plan_action *a;

	(void)state;
	base_spec(&s, "new");
	s.state = SPEC_STATE_ARCHIVED;
	hash(&s);
	memset(&in, 0, sizeof(in));
	in.stack = STACK;
	in.specs = &s;
	in.nspecs = 1;
	assert_int_equal(plan_build(&in, &p), 0);
	assert_int_equal(p->nactions, 1);
	a = &p->actions[0];
	assert_int_equal(a->kind, PLAN_CREATE);
	assert_null(a->sandbox_id);
	assert_steps(a, "create,wait_stable,stop,wait_stable,archive,"
	                "wait_stable");
	assert_string_equal(strmap_get(&a->steps[0].labels, LABEL_STACK),
	                    STACK);
	assert_string_equal(strmap_get(&a->owned_labels, "team"), "agents");
	assert_int_equal(p->summary.create, 1);
	plan_free(p);
	spec_clear(&s);
}

/*
 * specs_refs: the actions borrow the input's specs instead of copying one
 * per create (issue 13), and the plan counts itself until plan_free; the
 * plan is the same otherwise (its JSON too), and a create's repeated words
 * are shared copies.
 */
static void
test_plan_borrows_specs(void **state)
{
	struct spec s[2];
	struct plan_input in;
	struct plan *p = NULL, *q = NULL;
	char *pj = NULL, *qj = NULL, *pc, *qc;
	int refs = 0;
	size_t i;

	(void)state;
	/* a create holds two steps for the whole run */
	assert_true(sizeof(struct plan_step) <= 80);
	base_spec(&s[0], "a-new");
	base_spec(&s[1], "b-new");
	for (i = 0; i < 2; i++)
		hash(&s[i]);
	memset(&in, 0, sizeof(in));
	in.stack = STACK;
	in.specs = s;
	in.nspecs = 2;
	assert_int_equal(plan_build(&in, &q), 0); /* copies */
	in.specs_refs = &refs;
	assert_int_equal(plan_build(&in, &p), 0);
	assert_int_equal(refs, 1);
	assert_int_equal(p->nactions, 2);
	for (i = 0; i < 2; i++) {
		assert_ptr_equal(p->actions[i].desired, &s[i]);
		assert_true(p->actions[i].desired_borrowed);
		assert_ptr_equal(p->actions[i].name, s[i].name);
		assert_ptr_equal(reason(&p->actions[i], "sandbox")->new_,
		                 s[i].name);
		assert_ptr_not_equal(q->actions[i].desired, &s[i]);
		assert_false(q->actions[i].desired_borrowed);
	}
	/* "spec.snapshot: daytona-small" is one text for every create */
	assert_ptr_equal(reason(&p->actions[0], "spec.snapshot")->new_,
	                 reason(&p->actions[1], "spec.snapshot")->new_);
	assert_int_equal(plan_to_json(p, &pj), 0);
	assert_int_equal(plan_to_json(q, &qj), 0);
	/* the same document but for the time it was made */
	pc = strstr(pj, "\"actions\"");
	qc = strstr(qj, "\"actions\"");
	assert_non_null(pc);
	assert_non_null(qc);
	assert_string_equal(pc, qc);
	free(pj);
	free(qj);
	plan_free(p);
	assert_int_equal(refs, 0);
	plan_free(q);
	for (i = 0; i < 2; i++)
		spec_clear(&s[i]);
}

/* n managed sandboxes s0..s{n-1}; the first keep of them stay desired */
static struct plan *
stack_plan(size_t n, size_t keep, int allow, const char *pd_name)
{
	struct spec *specs = xcalloc(n, sizeof(*specs));
	struct dt_sandbox *obs = xcalloc(n, sizeof(*obs));
	struct dt_sandbox **op = xcalloc(n, sizeof(*op));
	struct plan_record *recs = xcalloc(n, sizeof(*recs));
	struct plan_input in;
	struct plan *p = NULL;
	size_t i;
	char name[32], id[32];

	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "s%zu", i);
		snprintf(id, sizeof(id), "id-%zu", i);
		base_spec(&specs[i], name);
		specs[i].prevent_destroy =
		        pd_name && strcmp(pd_name, name) == 0;
		hash(&specs[i]);
		observed_for(&obs[i], &specs[i], id);
		if (specs[i].prevent_destroy)
			strmap_set(&obs[i].labels, LABEL_PREVENT_DESTROY,
			           "true");
		record_for(&recs[i], &specs[i], id);
		op[i] = &obs[i];
	}
	memset(&in, 0, sizeof(in));
	in.stack = STACK;
	in.specs = specs;
	in.nspecs = keep;
	in.observed = op;
	in.nobserved = n;
	in.records = recs;
	in.nrecords = n;
	in.allow_mass_delete = allow;
	assert_int_equal(plan_build(&in, &p), 0);
	for (i = 0; i < n; i++) {
		spec_clear(&specs[i]);
		observed_clear(&obs[i]);
		plan_record_clear(&recs[i]);
	}
	free(specs);
	free(obs);
	free(op);
	free(recs);
	return p;
}

static void
test_delete_and_mass_delete_guard(void **state)
{
	struct plan *p;

	(void)state;
	/* 1 of 3: fine */
	p = stack_plan(3, 2, 0, NULL);
	assert_int_equal(p->nactions, 1);
	assert_int_equal(p->actions[0].kind, PLAN_DELETE);
	assert_string_equal(p->actions[0].source, "removed from manifests");
	assert_steps(&p->actions[0], "delete,wait_gone");
	assert_int_equal(p->nerrors, 0);
	assert_int_equal(p->managed, 3);
	plan_free(p);
	/* 2 of 3: more than half */
	p = stack_plan(3, 1, 0, NULL);
	assert_int_equal(p->mass_delete_refused, 1);
	assert_int_equal(p->nerrors, 1);
	plan_free(p);
	p = stack_plan(3, 1, 1, NULL);
	assert_int_equal(p->mass_delete_refused, 0);
	assert_int_equal(p->summary.delete_, 2);
	plan_free(p);
	/* all of them (an empty checkout), even a single one */
	p = stack_plan(1, 0, 0, NULL);
	assert_int_equal(p->mass_delete_refused, 1);
	plan_free(p);
	/* 2 of 4: exactly half is allowed */
	p = stack_plan(4, 2, 0, NULL);
	assert_int_equal(p->mass_delete_refused, 0);
	assert_int_equal(p->summary.delete_, 2);
	plan_free(p);
	/* preventDestroy survives the removal of its manifest (label) */
	p = stack_plan(4, 3, 0, "s3");
	assert_int_equal(p->nactions, 0);
	assert_int_equal(p->nerrors, 1);
	assert_non_null(strstr(p->errors[0].message, "preventDestroy"));
	plan_free(p);
}

/* Observations come in the list's order (creation), not by name, and one
 * may be listed twice (walk + GET): deletes and refusals are still one a
 * sandbox, in name order. */
static void
test_delete_order(void **state)
{
	enum { N = 4 };
	static const size_t listed[] = { 3, 1, 2, 0, 1 };
	enum { L = sizeof(listed) / sizeof(listed[0]) };
	struct spec s[N];
	struct dt_sandbox o[N], *op[L];
	struct plan_record r[N];
	struct plan_input in;
	struct plan *p = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < N; i++) {
		char name[8], id[16];

		snprintf(name, sizeof(name), "s%zu", i);
		snprintf(id, sizeof(id), "id-%zu", i);
		base_spec(&s[i], name);
		hash(&s[i]);
		observed_for(&o[i], &s[i], id);
		strmap_set(&o[i].labels, LABEL_PREVENT_DESTROY, "true");
		record_for(&r[i], &s[i], id);
	}
	for (i = 0; i < L; i++)
		op[i] = &o[listed[i]];
	memset(&in, 0, sizeof(in));
	in.stack = STACK;
	in.observed = op;
	in.nobserved = L;
	in.records = r;
	in.nrecords = N;
	in.refreshed = 1;
	/* destroy: every one refused, once, in name order */
	assert_int_equal(plan_build_destroy(&in, NULL, 0, &p), 0);
	assert_int_equal(p->nactions, 0);
	assert_int_equal(p->nerrors, N);
	for (i = 0; i < N; i++) {
		char want[8];

		snprintf(want, sizeof(want), "s%zu", i);
		assert_string_equal(p->errors[i].name, want);
	}
	plan_free(p);
	/* removed from the manifests (labels lifted): one delete each */
	for (i = 0; i < N; i++)
		strmap_del(&o[i].labels, LABEL_PREVENT_DESTROY);
	in.allow_mass_delete = 1;
	assert_int_equal(plan_build(&in, &p), 0);
	assert_int_equal(p->nerrors, 0);
	assert_int_equal(p->nactions, N);
	assert_int_equal(p->summary.delete_, N);
	for (i = 0; i < N; i++)
		assert_int_equal(p->actions[i].kind, PLAN_DELETE);
	plan_free(p);
	for (i = 0; i < N; i++) {
		spec_clear(&s[i]);
		observed_clear(&o[i]);
		plan_record_clear(&r[i]);
	}
}

/* plan_text: what a plan says, for comparing two of them */
static void
plan_text(const struct plan *p, struct buf *b)
{
	size_t i, j;

	buf_addf(b, "managed=%zu kept=%zu refused=%d nactions=%zu\n",
	         p->managed, p->kept, p->mass_delete_refused, p->nactions);
	for (i = 0; i < DT_STATE_COUNT; i++)
		buf_addf(b, "%zu,", p->managed_by_state[i]);
	for (i = 0; i < p->nactions; i++) {
		const struct plan_action *a = &p->actions[i];

		buf_addf(b, "\n%s %d %s %s:", a->name, (int)a->kind,
		         a->sandbox_id ? a->sandbox_id : "-",
		         a->source ? a->source : "-");
		for (j = 0; j < a->nsteps; j++)
			buf_addf(b, " %d", (int)a->steps[j].kind);
		for (j = 0; j < a->nreasons; j++)
			buf_addf(b, " [%s]", a->reasons[j].field);
	}
	for (i = 0; i < p->nerrors; i++)
		buf_addf(b, "\nerror %s: %s", p->errors[i].name,
		         p->errors[i].message);
}

/*
 * The refresh's joins (plan_input.spec_obs, ...) give the plan the same
 * actions and errors as its own lookups: random stacks whose list has
 * repeats, sandboxes without records, records of other ids, missing
 * observations, specs added and removed, targets.
 */
static void
test_joins_same_plan(void **state)
{
	enum { NAMES = 8, MAXOBS = 12 };
	uint32_t rnd = 99;
	size_t iter, joined = 0;

	(void)state;
	for (iter = 0; iter < 600; iter++) {
		struct spec all[NAMES], specs[NAMES];
		struct dt_sandbox o[MAXOBS], *op[MAXOBS];
		struct plan_record r[NAMES];
		int32_t spec_obs[NAMES], spec_rec[NAMES], rec_obs[NAMES];
		const char *targets[1];
		struct plan_input in;
		struct plan *p1 = NULL, *p2 = NULL;
		struct buf b1 = BUF_INIT, b2 = BUF_INIT;
		size_t i, j, ns = 0, nr = 0, no = 0;
		char name[8], id[16];

#define NEXT() (rnd = rnd * 1103515245u + 12345u, (rnd >> 16) & 0x7fff)
		for (i = 0; i < NAMES; i++) {
			snprintf(name, sizeof(name), "n%zu", i);
			base_spec(&all[i], name);
			all[i].prevent_destroy = NEXT() % 8 == 0;
			if (NEXT() % 4 == 0)
				all[i].cpu = 2, all[i].has_cpu = true;
			hash(&all[i]);
		}
		for (i = 0; i < NAMES; i++)
			if (NEXT() % 3 != 0)
				specs[ns++] = all[i]; /* borrowed */
		for (i = 0; i < NAMES; i++)
			if (NEXT() % 3 != 0) {
				snprintf(id, sizeof(id), "id-%zu", i);
				record_for(&r[nr], &all[i], id);
				if (NEXT() % 8 == 0)
					set_str(&r[nr].id, "id-other");
				nr++;
			}
		while (no < MAXOBS && NEXT() % 6 != 0) {
			i = NEXT() % NAMES;
			snprintf(id, sizeof(id), "id-%zu", i);
			observed_for(&o[no], &all[i], id);
			if (NEXT() % 5 == 0)
				set_state(&o[no], "stopped", "stopped");
			no++;
		}
		/* shuffle the list (creation order is not name order) */
		for (i = 0; i < no; i++)
			op[i] = &o[i];
		for (i = no; i > 1; i--) {
			struct dt_sandbox *t;

			j = NEXT() % i;
			t = op[i - 1];
			op[i - 1] = op[j];
			op[j] = t;
		}
		/* the joins, as the refresh makes them: the first listed */
		for (i = 0; i < ns; i++) {
			spec_obs[i] = spec_rec[i] = -1;
			for (j = no; j-- > 0;)
				if (strcmp(op[j]->name, specs[i].name) == 0)
					spec_obs[i] = (int32_t)j;
			for (j = 0; j < nr && spec_rec[i] < 0; j++)
				if (strcmp(r[j].name, specs[i].name) == 0)
					spec_rec[i] = (int32_t)j;
		}
		for (i = 0; i < nr; i++) {
			rec_obs[i] = -1;
			for (j = no; j-- > 0;)
				if (strcmp(op[j]->name, r[i].name) == 0)
					rec_obs[i] = (int32_t)j;
		}
		memset(&in, 0, sizeof(in));
		in.stack = STACK;
		in.specs = specs;
		in.nspecs = ns;
		in.observed = op;
		in.nobserved = no;
		in.records = r;
		in.nrecords = nr;
		in.refreshed = 1;
		in.allow_mass_delete = NEXT() % 2;
		in.no_prune = NEXT() % 6 == 0;
		if (NEXT() % 5 == 0) {
			targets[0] = "n3";
			in.targets = targets;
			in.ntargets = 1;
		}
		assert_int_equal(plan_build(&in, &p1), 0);
		in.spec_obs = spec_obs;
		in.spec_rec = spec_rec;
		in.rec_obs = rec_obs;
		assert_int_equal(plan_build(&in, &p2), 0);
		plan_text(p1, &b1);
		plan_text(p2, &b2);
		/* created_at may differ by a second: not compared */
		assert_string_equal(buf_cstr(&b1), buf_cstr(&b2));
		joined += p2->nactions + p2->nerrors;
		buf_free(&b1);
		buf_free(&b2);
		plan_free(p1);
		plan_free(p2);
		for (i = 0; i < no; i++)
			observed_clear(&o[i]);
		for (i = 0; i < nr; i++)
			plan_record_clear(&r[i]);
		for (i = 0; i < NAMES; i++)
			spec_clear(&all[i]);
#undef NEXT
	}
	assert_true(joined > 600); /* the plans were not all empty */
}

static void
test_ownership(void **state)
{
	struct one t;

	(void)state;
	/* a foreign sandbox holds the name */
	one_setup(&t, "web");
	{
		struct plan_input in;

		memset(&in, 0, sizeof(in));
		in.stack = STACK;
		in.specs = &t.s;
		in.nspecs = 1;
		t.op = &t.o;
		in.foreign = &t.op;
		in.nforeign = 1;
		assert_int_equal(plan_build(&in, &t.p), 0);
		assert_int_equal(t.p->nactions, 0);
		assert_int_equal(t.p->nerrors, 1);
		assert_non_null(strstr(t.p->errors[0].message,
		                       "sandform state import web id-1"));
		plan_free(t.p);
		t.p = NULL;
	}
	/* labelled for the stack but the state has another id: not ours,
	 * and not deleted when undesired */
	free(t.r.id);
	t.r.id = xstrdup("id-other");
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->nactions, 0);
	assert_int_equal(t.p->nerrors, 1);
	one_free(&t);

	/* imported: no labels yet, adopted with an update */
	one_setup(&t, "web");
	strmap_clear(&t.o.labels);
	strmap_set(&t.o.labels, "someone", "else");
	t.r.imported = 1;
	strmap_clear(&t.r.owned_labels);
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->nactions, 1);
	assert_int_equal(t.p->actions[0].kind, PLAN_UPDATE);
	assert_string_equal(
	        strmap_get(&t.p->actions[0].steps[0].labels, "someone"),
	        "else");
	assert_non_null(reason(&t.p->actions[0], "labels." LABEL_STACK));
	one_free(&t);
}

/* A name held by another sandform stack: no import advice (it would
 * steal the sandbox); a labelled sandbox missing from the state while a
 * run holds the lock is probably being created by it. */
static void
test_other_stack_and_running_apply(void **state)
{
	struct one t;
	struct plan_input in;

	(void)state;
	one_setup(&t, "e1");
	strmap_set(&t.o.labels, LABEL_STACK, "pp");
	memset(&in, 0, sizeof(in));
	in.stack = STACK;
	in.specs = &t.s;
	in.nspecs = 1;
	t.op = &t.o;
	in.foreign = &t.op;
	in.nforeign = 1;
	assert_int_equal(plan_build(&in, &t.p), 0);
	assert_int_equal(t.p->nerrors, 1);
	assert_string_equal(t.p->errors[0].message,
	                    "a sandbox named 'e1' (id id-1) belongs to "
	                    "sandform stack 'pp'; choose another name (or "
	                    "remove it from stack 'pp' first)");
	assert_null(strstr(t.p->errors[0].message, "import"));
	plan_free(t.p);
	t.p = NULL;

	/* our label, not in the state, a run holds the lock */
	strmap_set(&t.o.labels, LABEL_STACK, STACK);
	memset(&in, 0, sizeof(in));
	in.stack = STACK;
	in.specs = &t.s;
	in.nspecs = 1;
	t.op = &t.o;
	in.observed = &t.op;
	in.nobserved = 1;
	in.locked_by = "apply (pid 42 on ci)";
	assert_int_equal(plan_build(&in, &t.p), 0);
	assert_int_equal(t.p->nerrors, 1);
	assert_non_null(strstr(t.p->errors[0].message,
	                       "probably being created by the running "
	                       "apply (pid 42 on ci)"));
	assert_null(strstr(t.p->errors[0].message, "import"));
	one_free(&t);
}

/* After a resize answered 404 at this API, resources that would be
 * resized force a replace, and the plan says why. */
static void
test_resize_unavailable_is_replace(void **state)
{
	struct one t;
	struct plan_input in;
	struct plan *back = NULL;
	char *json = NULL, *json2 = NULL, *buf = NULL;
	size_t len = 0;
	FILE *fp;

	(void)state;
	one_setup(&t, "n1");
	t.s.has_cpu = 1;
	t.s.cpu = 4;
	hash(&t.s);
	memset(&in, 0, sizeof(in));
	in.stack = STACK;
	in.specs = &t.s;
	in.nspecs = 1;
	t.op = &t.o;
	in.observed = &t.op;
	in.nobserved = 1;
	in.records = &t.r;
	in.nrecords = 1;
	in.refreshed = 1;
	assert_int_equal(plan_build(&in, &t.p), 0);
	assert_int_equal(t.p->actions[0].kind, PLAN_RESIZE);
	plan_free(t.p);
	t.p = NULL;
	in.resize_unavailable = 1;
	assert_int_equal(plan_build(&in, &t.p), 0);
	assert_int_equal(t.p->nactions, 1);
	assert_int_equal(t.p->actions[0].kind, PLAN_REPLACE);
	assert_true(
	        reason(&t.p->actions[0], "spec.resources.cpu")->forces_replace);
	assert_steps(&t.p->actions[0], "delete,wait_gone,create,wait_stable");
	fp = open_memstream(&buf, &len);
	plan_print_human(fp, t.p, 0);
	fclose(fp);
	assert_non_null(strstr(buf, "spec.resources.cpu: 1 -> 4; resize is not "
	                            "available for this organization (forces "
	                            "replacement)\n"));
	free(buf);
	/* the note survives a saved plan */
	assert_int_equal(plan_to_json(t.p, &json), 0);
	assert_int_equal(plan_from_json(json, strlen(json), &back), 0);
	assert_int_equal(plan_to_json(back, &json2), 0);
	assert_string_equal(json, json2);
	assert_string_equal(back->actions[0].reasons[0].note,
	                    PLAN_NOTE_RESIZE_UNAVAILABLE);
	free(json);
	free(json2);
	plan_free(back);
	one_free(&t);
}

/* metadata.name is identity: a new name is a create plus a delete */
static void
test_rename_is_create_and_delete(void **state)
{
	struct spec specs[3];
	struct dt_sandbox obs[3], *op[3];
	struct plan_record recs[3];
	struct plan_input in;
	struct plan *p = NULL;
	const char *names[3] = { "a", "b", "c" };
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		char id[8];

		snprintf(id, sizeof(id), "id-%zu", i);
		base_spec(&specs[i], names[i]);
		hash(&specs[i]);
		observed_for(&obs[i], &specs[i], id);
		op[i] = &obs[i];
		record_for(&recs[i], &specs[i], id);
	}
	free(specs[2].name);
	specs[2].name = xstrdup("c2");
	memset(&in, 0, sizeof(in));
	in.stack = STACK;
	in.specs = specs;
	in.nspecs = 3;
	in.observed = op;
	in.nobserved = 3;
	in.records = recs;
	in.nrecords = 3;
	assert_int_equal(plan_build(&in, &p), 0);
	assert_int_equal(p->nerrors, 0);
	assert_int_equal(p->nactions, 2);
	assert_string_equal(p->actions[0].name, "c");
	assert_int_equal(p->actions[0].kind, PLAN_DELETE);
	assert_string_equal(p->actions[1].name, "c2");
	assert_int_equal(p->actions[1].kind, PLAN_CREATE);
	plan_free(p);
	for (i = 0; i < 3; i++) {
		spec_clear(&specs[i]);
		observed_clear(&obs[i]);
		plan_record_clear(&recs[i]);
	}
}

/* network: each declared field compared on its own */
static void
test_network_fields(void **state)
{
	struct one t;

	(void)state;
	one_setup(&t, "web");
	known_net(&t.o, 0, "10.0.0.0/8", "pypi.org");
	t.s.has_network = 1;
	t.s.network.domain_allow_list = xstrdup("pypi.org");
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->nactions, 0); /* the rest is not declared */
	free(t.s.network.domain_allow_list);
	t.s.network.domain_allow_list = xstrdup("pypi.org,*.github.com");
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->nactions, 1);
	assert_null(t.p->actions[0].steps[0].network.allow_list);
	assert_string_equal(t.p->actions[0].steps[0].network.domain_allow_list,
	                    "pypi.org,*.github.com");
	free(t.s.network.domain_allow_list);
	t.s.network.domain_allow_list = NULL;
	t.s.network.has_block_all = 1;
	t.s.network.block_all = 1;
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->nactions, 1);
	assert_true(t.p->actions[0].steps[0].network.has_block_all &&
	            t.p->actions[0].steps[0].network.block_all);
	/* [] clears: differs from a non-empty list */
	t.s.network.has_block_all = 0;
	t.s.network.allow_list = xstrdup("");
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->nactions, 1);
	one_free(&t);
}

/* ---- JSON ------------------------------------------------------------ */

static void
test_json_round_trip(void **state)
{
	struct one t;
	char *j1 = NULL, *j2 = NULL, *path;
	struct plan *back = NULL;
	char dir[] = "/tmp/sf-plan-XXXXXX";
	unsigned char skey[32] = { 7, 1, 2 };
	char mac[65];

	(void)state;
	one_setup(&t, "web");
	image_spec(&t);
	t.s.env = xcalloc(2, sizeof(*t.s.env));
	t.s.nenv = 2;
	t.s.env[0].key = xstrdup("A");
	t.s.env[0].value = xstrdup("plain");
	t.s.env[1].key = xstrdup("TOKEN");
	t.s.env[1].kind = SPEC_ENV_SECRET_ENV;
	t.s.env[1].value = xstrdup("SF_TEST_TOKEN");
	setenv("SF_TEST_TOKEN", "hunter2-secret", 1);
	assert_int_equal(
	        spec_hash(&t.s, skey, sizeof(skey), secret_resolve, NULL), 0);
	t.s.memory = 2;
	t.s.has_network = 1;
	t.s.network.allow_list = xstrdup("10.0.0.0/8");
	t.s.state = SPEC_STATE_STOPPED;
	strmap_set(&t.s.labels, "new", "label");
	assert_int_equal(one_plan(&t), 0);
	assert_true(t.p->nactions == 1);
	assert_int_equal(plan_to_json(t.p, &j1), 0);
	assert_null(strstr(j1, "hunter2"));
	assert_non_null(strstr(j1, "\"format_version\":\"1\""));
	assert_non_null(strstr(j1, "\"secretEnv\":\"SF_TEST_TOKEN\""));
	assert_int_equal(plan_from_json(j1, strlen(j1), &back), 0);
	assert_int_equal(plan_to_json(back, &j2), 0);
	assert_string_equal(j1, j2);
	plan_free(back);
	back = NULL;

	/* the saved file round-trips too, mode 0600 */
	assert_non_null(mkdtemp(dir));
	path = xasprintf("%s/plan.json", dir);
	assert_int_equal(planout_save(t.p, path, skey, sizeof(skey)), 0);
	assert_int_equal(planout_load(path, &back), 0);
	free(j2);
	assert_int_equal(plan_to_json(back, &j2), 0);
	assert_string_equal(j1, j2);
	/* sealed: the MAC read back is the MAC of what was read, under the
	 * key; another key makes another MAC */
	assert_non_null(back->seal_mac);
	planout_seal_mac(skey, sizeof(skey), back->seal_digest, mac);
	assert_string_equal(mac, back->seal_mac);
	skey[0] ^= 1;
	planout_seal_mac(skey, sizeof(skey), back->seal_digest, mac);
	assert_string_not_equal(mac, back->seal_mac);
	plan_free(back);
	back = NULL;
	/* an edit anywhere changes the digest */
	{
		struct buf b = BUF_INIT;
		char *at, digest[65];

		assert_int_equal(file_read(path, 1 << 20, &b), 0);
		assert_int_equal(planout_load(path, &back), 0);
		memcpy(digest, back->seal_digest, sizeof(digest));
		plan_free(back);
		at = strstr(b.data, "\"stack\":\"");
		assert_non_null(at);
		at[9] = at[9] == 'x' ? 'y' : 'x';
		assert_int_equal(file_write_atomic(path, b.data, b.len, 0600),
		                 0);
		assert_int_equal(planout_load(path, &back), 0);
		assert_string_not_equal(digest, back->seal_digest);
		plan_free(back);
		back = NULL;
		buf_free(&b);
	}
	/* a wrong version is refused */
	assert_int_not_equal(
	        plan_from_json("{\"format_version\":\"9\",\"stack\":\"x\","
	                       "\"actions\":[]}",
	                       50, &back),
	        0);
	assert_null(back);
	unlink(path);
	rmdir(dir);
	free(path);
	free(j1);
	free(j2);
	one_free(&t);
}

/* Text a server sends (a label key or value) reaches the terminal escaped:
 * no control sequence, no bidirectional override (issue 9, item 8). */
static void
test_human_output_escapes_server_text(void **state)
{
	struct one t;
	char *buf = NULL;
	size_t len = 0;
	FILE *fp;

	(void)state;
	one_setup(&t, "web");
	strmap_set(&t.s.labels, "team", "agents");
	hash(&t.s);
	observed_clear(&t.o);
	observed_for(&t.o, &t.s, "id-1");
	strmap_set(&t.o.labels, "team", "\033]0;pwned\007\033[2J");
	strmap_set(&t.o.labels, "evil\xe2\x80\xaekey", "x");
	plan_record_clear(&t.r);
	record_for(&t.r, &t.s, "id-1");
	strmap_set(&t.r.owned_labels, "evil\xe2\x80\xaekey", "x");
	assert_int_equal(one_plan(&t), 0);
	fp = open_memstream(&buf, &len);
	plan_print_human(fp, t.p, 0);
	fclose(fp);
	assert_null(strchr(buf, '\033'));
	assert_null(strchr(buf, '\007'));
	assert_null(strstr(buf, "\xe2\x80\xae"));
	assert_non_null(strstr(buf, "\\u001b]0;pwned\\u0007"));
	assert_non_null(strstr(buf, "labels.evil\\u{202E}key"));
	free(buf);
	one_free(&t);
}

static void
test_human_output(void **state)
{
	struct one t;
	char *buf = NULL;
	size_t len = 0;
	FILE *fp;

	(void)state;
	one_setup(&t, "web");
	t.s.has_public = 1;
	t.s.public_ = 1;
	assert_int_equal(one_plan(&t), 0);
	fp = open_memstream(&buf, &len);
	plan_print_human(fp, t.p, 0);
	fclose(fp);
	assert_non_null(strstr(buf, "  ~ web (update)  sb.yaml:3\n"));
	assert_non_null(strstr(buf, "spec.public: false -> true\n"));
	assert_non_null(strstr(buf, "Plan: 0 to create, 1 to update, 0 to "
	                            "replace, 0 to delete.\n"));
	assert_null(strstr(buf, "\033["));
	free(buf);
	t.o.is_public = 1;
	assert_int_equal(one_plan(&t), 0);
	fp = open_memstream(&buf, &len);
	plan_print_human(fp, t.p, 1);
	fclose(fp);
	assert_string_equal(buf, "No changes.\n");
	free(buf);

	/* a resize that stops the sandbox says so; numbers unquoted, a
	 * string value quoted */
	t.s.has_disk = 1;
	t.s.disk = 10;
	strmap_set(&t.s.labels, "team", "42");
	hash(&t.s);
	assert_int_equal(one_plan(&t), 0);
	fp = open_memstream(&buf, &len);
	plan_print_human(fp, t.p, 0);
	fclose(fp);
	assert_non_null(strstr(buf, " <> web (resize, stops and restarts the "
	                            "sandbox)  sb.yaml:3\n"));
	assert_non_null(strstr(buf, "spec.resources.disk: 3 -> 10\n"));
	assert_non_null(strstr(buf, "labels.team: \"agents\" -> \"42\"\n"));
	free(buf);

	/* a plan with errors never says "No changes." */
	t.s.prevent_destroy = 1;
	free(t.s.snapshot);
	t.s.snapshot = xstrdup("other");
	hash(&t.s);
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->nactions, 0);
	assert_int_equal(t.p->nerrors, 1);
	fp = open_memstream(&buf, &len);
	plan_print_human(fp, t.p, 0);
	fclose(fp);
	assert_null(strstr(buf, "No changes."));
	assert_string_equal(buf, "Plan failed: 1 error (reported on stderr); "
	                         "nothing would be applied.\n");
	free(buf);
	one_free(&t);
}

static void
test_spec_hash_segments(void **state)
{
	struct spec s;
	char a[SPEC_HASH_SEG_HEX + 1], b[SPEC_HASH_SEG_HEX + 1];
	char h1[SPEC_HASH_LEN + 1];

	(void)state;
	base_spec(&s, "x");
	hash(&s);
	assert_int_equal(strlen(s.hash), SPEC_HASH_LEN);
	memcpy(h1, s.hash, sizeof(h1));
	/* labels, resources and the state do not enter the hash */
	strmap_set(&s.labels, "a", "b");
	s.has_cpu = 1;
	s.cpu = 3;
	s.state = SPEC_STATE_STOPPED;
	hash(&s);
	assert_string_equal(s.hash, h1);
	s.image = xstrdup("x");
	hash(&s);
	assert_int_equal(spec_hash_segment(s.hash, SPEC_SEG_IMAGE, a), 0);
	assert_int_equal(spec_hash_segment(h1, SPEC_SEG_IMAGE, b), 0);
	assert_string_not_equal(a, b);
	assert_int_equal(spec_hash_segment(s.hash, SPEC_SEG_ENV, a), 0);
	assert_int_equal(spec_hash_segment(h1, SPEC_SEG_ENV, b), 0);
	assert_string_equal(a, b);
	assert_int_equal(spec_hash_segment(s.hash, SPEC_SEG_VOLUMES, a), 0);
	assert_int_equal(spec_hash_segment(h1, SPEC_SEG_VOLUMES, b), 0);
	assert_string_equal(a, b);
	assert_int_equal(spec_hash_segment("garbage", 0, a), -1);
	/* without secrets the label does not depend on the state's key */
	assert_int_equal(spec_hash(&s, "k2", 2, NULL, NULL), 0);
	memcpy(h1, s.hash, sizeof(h1));
	hash(&s);
	assert_string_equal(s.hash, h1);
	spec_clear(&s);
}

static int
fake_secret(void *arg, const struct spec_env *e, char **value)
{
	(void)e;
	*value = xstrdup(arg);
	return 0;
}

/* secret values: compared under the same state key only */
static void
test_secret_key_fingerprint(void **state)
{
	static const unsigned char other_key[32] =
	        "another key, another state file";
	struct one t;
	char live[SPEC_HASH_LEN + 1], v1[] = "v1", v2[] = "v2";

	(void)state;
	one_setup(&t, "web");
	t.s.env = xcalloc(1, sizeof(*t.s.env));
	t.s.nenv = 1;
	t.s.env[0].key = xstrdup("TOKEN");
	t.s.env[0].kind = SPEC_ENV_SECRET_ENV;
	t.s.env[0].value = xstrdup("TOKEN_VAR");
	/* the sandbox was made under another key with the same value */
	assert_int_equal(
	        spec_hash(&t.s, other_key, sizeof(other_key), fake_secret, v1),
	        0);
	memcpy(live, t.s.hash, sizeof(live));
	strmap_set(&t.o.labels, LABEL_SPEC, live);
	assert_int_equal(spec_hash(&t.s, key, sizeof(key), fake_secret, v1), 0);
	assert_string_not_equal(live, t.s.hash);
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->nactions, 0);
	assert_int_equal(t.p->secrets_incomparable, 1);
	/* same key, other value: a replace that never shows the value */
	assert_int_equal(spec_hash(&t.s, key, sizeof(key), fake_secret, v1), 0);
	strmap_set(&t.o.labels, LABEL_SPEC, t.s.hash);
	t.r.applied = spec_dup(&t.s);
	assert_int_equal(spec_hash(&t.s, key, sizeof(key), fake_secret, v2), 0);
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->nactions, 1);
	assert_int_equal(t.p->actions[0].kind, PLAN_REPLACE);
	assert_string_equal(reason(&t.p->actions[0], "spec.env.TOKEN")->old,
	                    "(sensitive)");
	assert_int_equal(t.p->secrets_incomparable, 0);
	/* a changed reference is named without any value */
	free(t.s.env[0].value);
	t.s.env[0].value = xstrdup("OTHER_VAR");
	assert_int_equal(spec_hash(&t.s, key, sizeof(key), fake_secret, v2), 0);
	assert_int_equal(one_plan(&t), 0);
	assert_string_equal(reason(&t.p->actions[0], "spec.env.TOKEN")->new_,
	                    "(sensitive)");
	one_free(&t);
}

/* A resolver per key: "A=1,B=2" gives A the value 1, B the value 2. */
static int
keyed_secret(void *arg, const struct spec_env *e, char **value)
{
	const char *p = strstr(arg, e->key);

	if (p == NULL)
		return SF_ENOTFOUND;
	p += strlen(e->key) + 1;
	*value = xstrndup(p, strcspn(p, ","));
	return 0;
}

/* One changed secret among several: only its key is reported (issue 9,
 * item 9); the keyed hashes never show a value. */
static void
test_one_secret_changed(void **state)
{
	struct one t;
	char before[] = "A=one,B=two,C=three", after[] = "A=one,B=TWO,C=three";
	static const char *const keys[] = { "A", "B", "C" };
	char *json = NULL;
	size_t i;

	(void)state;
	one_setup(&t, "web");
	t.s.env = xcalloc(3, sizeof(*t.s.env));
	for (i = 0; i < 3; i++) {
		t.s.env[i].key = xstrdup(keys[i]);
		t.s.env[i].kind = SPEC_ENV_SECRET_ENV;
		t.s.env[i].value = xasprintf("%s_VAR", keys[i]);
	}
	t.s.nenv = 3;
	assert_int_equal(
	        spec_hash(&t.s, key, sizeof(key), keyed_secret, before), 0);
	assert_int_equal(strlen(t.s.env[1].hmac), SPEC_ENV_HMAC_HEX);
	strmap_set(&t.o.labels, LABEL_SPEC, t.s.hash);
	t.r.applied = spec_dup(&t.s);
	assert_int_equal(spec_hash(&t.s, key, sizeof(key), keyed_secret, after),
	                 0);
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->actions[0].kind, PLAN_REPLACE);
	assert_int_equal(t.p->actions[0].nreasons, 1);
	assert_string_equal(t.p->actions[0].reasons[0].field, "spec.env.B");
	/* the plan document carries no value */
	assert_int_equal(plan_to_json(t.p, &json), 0);
	assert_null(strstr(json, "TWO"));
	assert_null(strstr(json, "two"));
	free(json);
	/* an applied spec without per-secret hashes (sandform 0.1): every
	 * secret is named, as before */
	for (i = 0; i < 3; i++)
		t.r.applied->env[i].hmac[0] = '\0';
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->actions[0].nreasons, 3);
	one_free(&t);
}

/* spec_to_create: the create body apply sends */
static void
test_spec_to_create(void **state)
{
	struct spec s;
	struct create_body c;
	struct strmap l = { NULL, 0 };
	char dir[] = "/tmp/sf-secret-XXXXXX", *file;
	struct secret_policy pol = SECRET_POLICY_INIT;
	FILE *fp;
	char h1[SPEC_HASH_LEN + 1];

	(void)state;
	assert_non_null(mkdtemp(dir));
	file = xasprintf("%s/token", dir);
	fp = fopen(file, "w");
	assert_non_null(fp);
	fputs("file-secret\n", fp);
	fclose(fp);
	base_spec(&s, "web");
	free(s.snapshot);
	s.snapshot = NULL;
	s.image = xstrdup("python:3.12");
	s.has_cpu = 1;
	s.cpu = 2;
	s.has_auto_stop = 1;
	s.auto_stop = 0;
	s.env = xcalloc(2, sizeof(*s.env));
	s.nenv = 2;
	s.env[0].key = xstrdup("MODE");
	s.env[0].value = xstrdup("fast");
	s.env[1].key = xstrdup("TOKEN");
	s.env[1].kind = SPEC_ENV_SECRET_FILE;
	s.env[1].value = xstrdup(file);
	assert_int_equal(secret_policy_allow(&pol, dir), 0);
	assert_int_equal(spec_hash(&s, key, sizeof(key), secret_resolve, &pol),
	                 0);
	memcpy(h1, s.hash, sizeof(h1));
	labels_merge(&s, STACK, NULL, NULL, &l);
	assert_int_equal(create_body_build(&s, &l, secret_resolve, &pol, &c),
	                 0);
	assert_string_equal(c.req.name, "web");
	assert_string_equal(c.req.image, "python:3.12");
	assert_null(c.req.snapshot);
	assert_int_equal(c.req.cpu, 2);
	assert_int_equal(c.req.memory, 0); /* not declared: not sent */
	assert_true(c.req.has_setting[DT_SET_AUTO_STOP] &&
	            c.req.setting[DT_SET_AUTO_STOP] == 0);
	assert_false(c.req.has_setting[DT_SET_AUTO_ARCHIVE]);
	assert_false(c.req.has_setting[DT_SET_PUBLIC]);
	assert_string_equal(strmap_get(c.req.env, "TOKEN"), "file-secret");
	assert_string_equal(strmap_get(c.req.labels, LABEL_SPEC), h1);
	create_body_clear(&c);
	/* a changed secret file changes the env segment only */
	fp = fopen(file, "w");
	fputs("other\n", fp);
	fclose(fp);
	assert_int_equal(spec_hash(&s, key, sizeof(key), secret_resolve, &pol),
	                 0);
	assert_memory_equal(s.hash, h1, 11);
	assert_string_not_equal(s.hash, h1);
	/* a missing one fails, naming the file */
	unlink(file);
	assert_true(spec_hash(&s, key, sizeof(key), secret_resolve, &pol) < 0);
	assert_non_null(strstr(sf_error_last(), file));
	rmdir(dir);
	free(file);
	secret_policy_clear(&pol);
	strmap_clear(&l);
	spec_clear(&s);
}

/* ---- refresh against the fake transport ------------------------------ */

static char *
item_json(const char *name, const char *id, const char *spec_label,
          const char *stack)
{
	return xasprintf(
	        "{\"id\":\"%s\",\"name\":\"%s\",\"state\":\"started\","
	        "\"desiredState\":\"started\",\"labels\":{%s%s%s%s%s"
	        "\"code-toolbox-language\":\"python\"},\"public\":false,"
	        "\"cpu\":1,\"memory\":1,\"disk\":3,\"gpu\":0,"
	        "\"snapshot\":\"daytona-small\",\"target\":\"us\","
	        "\"user\":\"daytona\",\"autoStopInterval\":15,"
	        "\"autoArchiveInterval\":10080,\"autoDeleteInterval\":-1,"
	        "\"createdAt\":\"2026-01-01T00:00:00.000Z\","
	        "\"updatedAt\":\"2026-01-01T00:00:00.000Z\"}",
	        id, name, stack ? "\"" LABEL_STACK "\":\"" : "",
	        stack ? stack : "", stack ? "\",\"" LABEL_SPEC "\":\"" : "",
	        stack ? spec_label : "",
	        stack ? "\",\"team\":\"agents\",\"" LABEL_OWNED
	                "\":\"[\\\"team\\\"]\","
	              : "");
}

/* A temporary state file and a client on the fake transport. */
struct rfix {
	char dir[32];
	char *path;
	struct store *st;
	struct dt_fake *f;
	struct dt_client *c;
};

static void
rfix_open(struct rfix *x)
{
	struct dt_config cfg = DT_CONFIG_INIT;

	memset(x, 0, sizeof(*x));
	snprintf(x->dir, sizeof(x->dir), "/tmp/sf-refresh-XXXXXX");
	assert_non_null(mkdtemp(x->dir));
	x->path = xasprintf("%s/state.db", x->dir);
	assert_int_equal(store_open(x->path, &x->st), 0);
	x->f = dt_fake_new();
	cfg.api_key = "k";
	cfg.base_url = "http://fake/api";
	cfg.transport = dt_fake_transport(x->f);
	cfg.clock = dt_fake_clock(x->f);
	assert_int_equal(dt_client_new(&cfg, &x->c), 0);
}

static void
rfix_close(struct rfix *x)
{
	char *cmd = xasprintf("rm -rf '%s'", x->dir);

	dt_client_free(x->c);
	dt_fake_free(x->f);
	store_close(x->st);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(x->path);
}

/* A record's last applied spec is not held by a refresh: the plan reads
 * it from the store when it needs it (here: preventDestroy of a sandbox
 * removed from the manifests), and a refresh that records a new
 * observation writes the applied text back as it was. */
static void
test_refresh_applied_lazy(void **state)
{
	struct rfix x;
	struct refresh_opts ro;
	struct refresh_result rr;
	struct store_record rec, *got = NULL;
	struct plan_input in;
	struct plan *p = NULL;
	const struct spec *applied = NULL;
	struct spec s;
	cJSON *aj;
	char *atext, *item, *body;

	(void)state;
	rfix_open(&x);
	base_spec(&s, "a");
	s.prevent_destroy = 1;
	assert_int_equal(spec_hash(&s, store_hmac_key(x.st), STORE_HMAC_KEY_LEN,
	                           NULL, NULL),
	                 0);
	aj = spec_to_json(&s);
	atext = cJSON_PrintUnformatted(aj);
	memset(&rec, 0, sizeof(rec));
	rec.stack = STACK;
	rec.name = "a";
	rec.sandbox_id = "id-a";
	rec.spec_hash = s.hash;
	rec.labels_json = "{\"team\":\"agents\"}";
	rec.applied_json = atext;
	rec.status = STORE_STATUS_ACTIVE;
	assert_int_equal(store_record_put(x.st, &rec), 0);

	/* the live sandbox has no preventDestroy label: only the applied
	 * spec protects it */
	item = item_json("a", "id-a", s.hash, STACK);
	body = xasprintf("{\"items\":[%s],\"nextCursor\":null}", item);
	dt_fake_push(x.f, 200, NULL, body);
	memset(&ro, 0, sizeof(ro));
	ro.stack = STACK;
	ro.refresh = 1;
	assert_int_equal(refresh_run(x.c, x.st, &ro, &rr), 0);
	assert_int_equal(rr.nrecords, 1);
	assert_int_equal(rr.recorded, 1); /* its first observation */
	assert_null(rr.records[0].applied);
	assert_non_null(rr.records[0].applied_src);
	assert_int_equal(store_record_get(x.st, STACK, "a", &got), 0);
	assert_non_null(got->observed_json);
	assert_non_null(got->applied_json);
	assert_string_equal(got->applied_json, atext);
	store_record_free(got);

	memset(&in, 0, sizeof(in));
	in.stack = STACK;
	in.observed = rr.observed;
	in.nobserved = rr.nobserved;
	in.records = rr.records;
	in.nrecords = rr.nrecords;
	assert_int_equal(plan_build(&in, &p), 0);
	assert_int_equal(p->nactions, 0);
	assert_int_equal(p->nerrors, 1);
	assert_non_null(strstr(p->errors[0].message, "preventDestroy"));
	plan_free(p);
	/* read once, then kept */
	assert_null(rr.records[0].applied_src);
	assert_int_equal(plan_record_applied(&rr.records[0], &applied), 0);
	assert_non_null(applied);
	assert_true(applied->prevent_destroy);
	refresh_result_clear(&rr);

	cJSON_Delete(aj);
	cJSON_free(atext);
	free(item);
	free(body);
	spec_clear(&s);
	rfix_close(&x);
}

static void
test_refresh_walk_and_rebuild(void **state)
{
	struct rfix x;
	struct dt_fake *f;
	struct dt_client *c;
	struct store *st;
	struct refresh_opts ro;
	struct refresh_result rr;
	struct spec specs[2];
	char *i1, *i2, *body;
	struct plan_input in;
	struct plan *p = NULL;
	size_t i;

	(void)state;
	rfix_open(&x);
	f = x.f;
	c = x.c;
	st = x.st;

	base_spec(&specs[0], "a");
	base_spec(&specs[1], "b");
	for (i = 0; i < 2; i++)
		assert_int_equal(spec_hash(&specs[i], store_hmac_key(st),
		                           STORE_HMAC_KEY_LEN, NULL, NULL),
		                 0);
	i1 = item_json("a", "id-a", specs[0].hash, STACK);
	i2 = item_json("b", "id-b", specs[1].hash, STACK);
	body = xasprintf("{\"items\":[%s,%s],\"nextCursor\":null}", i1, i2);

	/* a fresh state: one page, rebuilt records, no GET */
	dt_fake_push(f, 200, NULL, body);
	memset(&ro, 0, sizeof(ro));
	ro.stack = STACK;
	ro.refresh = 1;
	ro.specs = specs;
	ro.nspecs = 2;
	assert_int_equal(refresh_run(c, st, &ro, &rr), 0);
	assert_int_equal(dt_fake_n_requests(f), 1);
	assert_non_null(strstr(dt_fake_request(f, 0)->path, "sort=createdAt"));
	assert_non_null(strstr(dt_fake_request(f, 0)->path, "limit=200"));
	assert_non_null(strstr(dt_fake_request(f, 0)->path, "labels="));
	assert_int_equal(rr.rebuilt, 1);
	assert_int_equal(rr.nrecords, 2);
	assert_int_equal(rr.recorded, 2);
	assert_int_equal(rr.gets, 0);
	memset(&in, 0, sizeof(in));
	in.stack = STACK;
	in.specs = specs;
	in.nspecs = 2;
	in.observed = rr.observed;
	in.nobserved = rr.nobserved;
	in.records = rr.records;
	in.nrecords = rr.nrecords;
	assert_int_equal(plan_build(&in, &p), 0);
	assert_int_equal(p->nactions, 0); /* no duplicates, no diffs */
	plan_free(p);
	refresh_result_clear(&rr);

	/* second run: records exist, nothing changed: nothing written */
	dt_fake_push(f, 200, NULL, body);
	assert_int_equal(refresh_run(c, st, &ro, &rr), 0);
	assert_int_equal(rr.rebuilt, 0);
	assert_int_equal(rr.recorded, 0);
	refresh_result_clear(&rr);

	/* b vanished from the list: GET by id says 404, then the name is
	 * free (404): plan creates it again */
	free(body);
	body = xasprintf("{\"items\":[%s],\"nextCursor\":null}", i1);
	dt_fake_push(f, 200, NULL, body);
	dt_fake_push(f, 404, NULL,
	             "{\"statusCode\":404,\"message\":\"Sandbox with ID or "
	             "name id-b not found\"}");
	dt_fake_push(f, 404, NULL,
	             "{\"statusCode\":404,\"message\":\"Sandbox with ID or "
	             "name b not found\"}");
	i = dt_fake_n_requests(f);
	assert_int_equal(refresh_run(c, st, &ro, &rr), 0);
	assert_int_equal(dt_fake_n_requests(f), i + 3);
	assert_int_equal(rr.gets, 2);
	in.observed = rr.observed;
	in.nobserved = rr.nobserved;
	in.records = rr.records;
	in.nrecords = rr.nrecords;
	assert_int_equal(plan_build(&in, &p), 0);
	assert_int_equal(p->nactions, 1);
	assert_int_equal(p->actions[0].kind, PLAN_CREATE);
	plan_free(p);
	refresh_result_clear(&rr);

	/* every request was a GET */
	for (i = 0; i < dt_fake_n_requests(f); i++)
		assert_string_equal(dt_fake_request(f, i)->method, "GET");

	/* --refresh=false: nothing sent, observations from the records */
	i = dt_fake_n_requests(f);
	ro.refresh = 0;
	assert_int_equal(refresh_run(c, st, &ro, &rr), 0);
	assert_int_equal(dt_fake_n_requests(f), i);
	assert_int_equal(rr.nobserved, 2);
	refresh_result_clear(&rr);

	/* b is gone and no longer desired: its record is forgotten */
	ro.refresh = 1;
	ro.nspecs = 1;
	dt_fake_push(f, 200, NULL, body);
	dt_fake_push(f, 404, NULL,
	             "{\"statusCode\":404,\"message\":\"Sandbox with ID or "
	             "name id-b not found\"}");
	assert_int_equal(refresh_run(c, st, &ro, &rr), 0);
	assert_int_equal(rr.forgotten, 1);
	refresh_result_clear(&rr);
	{
		struct store_record *rec = NULL;

		assert_int_equal(store_record_get(st, STACK, "b", &rec),
		                 SF_ENOTFOUND);
		assert_int_equal(store_record_get(st, STACK, "a", &rec), 0);
		store_record_free(rec);
	}

	free(i1);
	free(i2);
	free(body);
	spec_clear(&specs[0]);
	spec_clear(&specs[1]);
	rfix_close(&x);
}

static void
test_refresh_foreign_name(void **state)
{
	struct rfix x;
	struct refresh_opts ro;
	struct refresh_result rr;
	struct spec s;
	char *item;

	(void)state;
	rfix_open(&x);
	base_spec(&s, "taken");
	hash(&s);
	dt_fake_push(x.f, 200, NULL, "{\"items\":[],\"nextCursor\":null}");
	item = item_json("taken", "id-x", NULL, NULL);
	dt_fake_push(x.f, 200, NULL, item);
	memset(&ro, 0, sizeof(ro));
	ro.stack = STACK;
	ro.refresh = 1;
	ro.specs = &s;
	ro.nspecs = 1;
	assert_int_equal(refresh_run(x.c, x.st, &ro, &rr), 0);
	assert_int_equal(rr.nforeign, 1);
	assert_string_equal(rr.foreign[0]->id, "id-x");
	assert_int_equal(rr.nobserved, 0);
	refresh_result_clear(&rr);
	free(item);
	spec_clear(&s);
	rfix_close(&x);
}

/* Many unanswered names: one walk of the organization, not a GET each. */
static void
test_refresh_org_walk_for_many_names(void **state)
{
	struct rfix x;
	struct refresh_opts ro;
	struct refresh_result rr;
	struct spec specs[REFRESH_GET_MAX + 10];
	size_t n = REFRESH_GET_MAX + 10, i;
	char *item, *body, name[16];

	(void)state;
	rfix_open(&x);
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "n%03zu", i);
		base_spec(&specs[i], name);
		hash(&specs[i]);
	}
	dt_fake_push(x.f, 200, NULL, "{\"items\":[],\"nextCursor\":null}");
	item = item_json("n007", "id-x", NULL, NULL);
	body = xasprintf("{\"items\":[%s],\"nextCursor\":null}", item);
	dt_fake_push(x.f, 200, NULL, body);
	memset(&ro, 0, sizeof(ro));
	ro.stack = STACK;
	ro.refresh = 1;
	ro.specs = specs;
	ro.nspecs = n;
	assert_int_equal(refresh_run(x.c, x.st, &ro, &rr), 0);
	assert_int_equal(dt_fake_n_requests(x.f), 2);
	assert_null(strstr(dt_fake_request(x.f, 1)->path, "labels="));
	assert_int_equal(rr.gets, 0);
	assert_int_equal(rr.nforeign, 1);
	assert_string_equal(rr.foreign[0]->name, "n007");
	refresh_result_clear(&rr);
	for (i = 0; i < n; i++)
		spec_clear(&specs[i]);
	free(item);
	free(body);
	rfix_close(&x);
}

/* A lagging list: the label walk and the organization walk return
 * nothing; a GET by id finds the sandbox (labelled for the stack), a GET
 * by name answers 404. */
struct lag {
	int full_network; /* GETs answer with these network settings */
	const char *allow_list;
	const char *updated_at;
	const char *env_json; /* GETs answer with this "env" */
	int unlabelled;       /* GETs answer without sandform's labels */
	int gets;
};

static char *
lag_item(const struct lag *lg, const char *name, const char *id)
{
	char *item = item_json(name, id, "x", lg->unlabelled ? NULL : STACK);
	cJSON *j = cJSON_Parse(item);
	char *s, *out;

	free(item);
	if (lg->updated_at)
		cJSON_ReplaceItemInObject(j, "updatedAt",
		                          cJSON_CreateString(lg->updated_at));
	if (lg->full_network) {
		cJSON_AddBoolToObject(j, "networkBlockAll", 0);
		cJSON_AddStringToObject(j, "networkAllowList", lg->allow_list);
		cJSON_AddStringToObject(j, "domainAllowList", "");
	}
	if (lg->env_json)
		cJSON_AddItemToObject(j, "env", cJSON_Parse(lg->env_json));
	/* the spec label of the walk's items is not comparable here */
	cJSON_DeleteItemFromObject(cJSON_GetObjectItem(j, "labels"),
	                           LABEL_SPEC);
	s = cJSON_PrintUnformatted(j);
	out = xstrdup(s);
	cJSON_free(s);
	cJSON_Delete(j);
	return out;
}

static int
lag_handler(void *arg, const struct dt_fake_req *req,
            struct dt_http_response *resp)
{
	struct lag *lg = arg;
	const char *p = req->path;
	char *item;

	resp->status = 200;
	if (strncmp(p, "/api/sandbox?", 13) == 0 ||
	    strcmp(p, "/api/sandbox") == 0) {
		buf_addstr(&resp->body, "{\"items\":[],\"nextCursor\":null}");
		return 0;
	}
	lg->gets++; /* the fake serialises handler calls */
	if (strncmp(p, "/api/sandbox/id-", 16) == 0) {
		char name[16];

		snprintf(name, sizeof(name), "n%s", p + 16);
		item = lag_item(lg, name, p + 13);
		buf_addstr(&resp->body, item);
		free(item);
		return 0;
	}
	resp->status = 404;
	buf_addstr(&resp->body, "{\"statusCode\":404,\"message\":\"Sandbox "
	                        "not found\"}");
	return 0;
}

static void
put_rec(struct store *st, const char *name, const char *id,
        const char *observed, const char *status)
{
	struct store_record r;

	memset(&r, 0, sizeof(r));
	r.stack = STACK;
	r.name = name;
	r.sandbox_id = id;
	r.observed_json = observed;
	r.status = status;
	assert_int_equal(store_record_put(st, &r), 0);
}

/* r45 A1: more unanswered records and names than REFRESH_GET_MAX, and a
 * list that lags: the organization walk does not return them, yet they
 * are not gone (a GET by id finds each), so nothing is created again
 * and no record is forgotten. */
static void
test_refresh_lagging_list_is_not_gone(void **state)
{
	struct rfix x;
	struct refresh_opts ro;
	struct refresh_result rr;
	struct spec specs[REFRESH_GET_MAX + 10];
	size_t n = REFRESH_GET_MAX + 10, i, lists = 0;
	char name[16], id[16];
	struct lag lg;
	struct plan_input in;
	struct plan *p = NULL;

	(void)state;
	rfix_open(&x);
	memset(&lg, 0, sizeof(lg));
	dt_fake_set_handler(x.f, lag_handler, &lg);
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "n%03zu", i);
		snprintf(id, sizeof(id), "id-%03zu", i);
		base_spec(&specs[i], name);
		hash(&specs[i]);
		put_rec(x.st, name, id, NULL, NULL);
	}
	memset(&ro, 0, sizeof(ro));
	ro.stack = STACK;
	ro.refresh = 1;
	ro.specs = specs;
	ro.nspecs = n;
	assert_int_equal(refresh_run(x.c, x.st, &ro, &rr), 0);
	for (i = 0; i < dt_fake_n_requests(x.f); i++)
		if (strchr(dt_fake_request(x.f, i)->path, '?'))
			lists++;
	assert_int_equal(lists, 2); /* the stack and the organization */
	assert_int_equal(rr.gets, n);
	assert_int_equal(lg.gets, (int)n);
	assert_int_equal(rr.nobserved, n);
	assert_int_equal(rr.forgotten, 0);
	memset(&in, 0, sizeof(in));
	in.stack = STACK;
	in.specs = specs;
	in.nspecs = n;
	in.observed = rr.observed;
	in.nobserved = rr.nobserved;
	in.records = rr.records;
	in.nrecords = rr.nrecords;
	assert_int_equal(plan_build(&in, &p), 0);
	assert_int_equal(p->summary.create, 0);
	assert_int_equal(p->nerrors, 0);
	plan_free(p);
	refresh_result_clear(&rr);

	/* undesired now and still not listed: kept (a 404 would forget) */
	ro.nspecs = 0;
	assert_int_equal(refresh_run(x.c, x.st, &ro, &rr), 0);
	assert_int_equal(rr.forgotten, 0);
	assert_int_equal(rr.nobserved, n);
	refresh_result_clear(&rr);
	for (i = 0; i < n; i++)
		spec_clear(&specs[i]);
	rfix_close(&x);
}

/* r45 A3: declared network settings are read again when the list item's
 * updatedAt differs from the recorded observation's, and only then. */
static void
test_refresh_network_drift(void **state)
{
	struct rfix x;
	struct refresh_opts ro;
	struct refresh_result rr;
	struct spec s;
	char *obs, *item, *body;
	struct lag lg;
	struct plan_input in;
	struct plan *p = NULL;
	const struct plan_reason *rs;

	(void)state;
	rfix_open(&x);
	memset(&lg, 0, sizeof(lg));
	base_spec(&s, "n001");
	s.has_network = 1;
	s.network.allow_list = xstrdup("10.0.0.0/8");
	hash(&s);
	/* recorded after apply: version T1 with the declared settings */
	lg.full_network = 1;
	lg.allow_list = "10.0.0.0/8";
	lg.updated_at = "2026-01-01T00:00:00.000Z";
	obs = lag_item(&lg, "n001", "id-001");
	{
		/* the last applied spec knows the declared settings too */
		struct store_record r;
		cJSON *aj = spec_to_json(&s);
		char *a = cJSON_PrintUnformatted(aj);

		memset(&r, 0, sizeof(r));
		r.stack = STACK;
		r.name = "n001";
		r.sandbox_id = "id-001";
		r.observed_json = obs;
		r.applied_json = a;
		assert_int_equal(store_record_put(x.st, &r), 0);
		cJSON_free(a);
		cJSON_Delete(aj);
	}
	memset(&ro, 0, sizeof(ro));
	ro.stack = STACK;
	ro.refresh = 1;
	ro.specs = &s;
	ro.nspecs = 1;
	memset(&in, 0, sizeof(in));
	in.stack = STACK;
	in.specs = &s;
	in.nspecs = 1;

	/* the list shows T1: no GET, the recorded settings */
	lg.full_network = 0;
	item = lag_item(&lg, "n001", "id-001");
	body = xasprintf("{\"items\":[%s],\"nextCursor\":null}", item);
	dt_fake_push(x.f, 200, NULL, body);
	assert_int_equal(refresh_run(x.c, x.st, &ro, &rr), 0);
	assert_int_equal(rr.gets, 0);
	assert_true((rr.observed[0]->present & DT_HAS_NETWORK_BLOCK_ALL));
	in.observed = rr.observed;
	in.nobserved = rr.nobserved;
	in.records = rr.records;
	in.nrecords = rr.nrecords;
	assert_int_equal(plan_build(&in, &p), 0);
	/* (the walk's item lacks the spec label: a label update only) */
	assert_true(p->nactions == 0 ||
	            (reason(&p->actions[0], "spec.network.allowList") == NULL &&
	             reason(&p->actions[0], "spec.network") == NULL));
	plan_free(p);
	refresh_result_clear(&rr);
	free(item);
	free(body);

	/* opened out of band: T2 in the list, one GET, an update */
	lg.updated_at = "2026-01-02T00:00:00.000Z";
	item = lag_item(&lg, "n001", "id-001");
	body = xasprintf("{\"items\":[%s],\"nextCursor\":null}", item);
	dt_fake_push(x.f, 200, NULL, body);
	lg.full_network = 1;
	lg.allow_list = "0.0.0.0/0";
	free(obs);
	obs = lag_item(&lg, "n001", "id-001");
	dt_fake_push(x.f, 200, NULL, obs);
	assert_int_equal(refresh_run(x.c, x.st, &ro, &rr), 0);
	assert_int_equal(rr.gets, 1);
	in.observed = rr.observed;
	in.nobserved = rr.nobserved;
	in.records = rr.records;
	in.nrecords = rr.nrecords;
	assert_int_equal(plan_build(&in, &p), 0);
	assert_int_equal(p->nactions, 1);
	assert_non_null(rs = reason(&p->actions[0], "spec.network.allowList"));
	assert_string_equal(rs->old, "0.0.0.0/0");
	plan_free(p);
	refresh_result_clear(&rr);

	/* planned again, not applied: no GET, the drift is still shown */
	dt_fake_push(x.f, 200, NULL, body);
	assert_int_equal(refresh_run(x.c, x.st, &ro, &rr), 0);
	assert_int_equal(rr.gets, 0);
	in.observed = rr.observed;
	in.nobserved = rr.nobserved;
	in.records = rr.records;
	in.nrecords = rr.nrecords;
	assert_int_equal(plan_build(&in, &p), 0);
	assert_int_equal(p->nactions, 1);
	assert_non_null(reason(&p->actions[0], "spec.network.allowList"));
	plan_free(p);
	refresh_result_clear(&rr);
	free(item);
	free(body);
	free(obs);
	spec_clear(&s);
	rfix_close(&x);
}

/* r45 A4: an imported sandbox (no spec label): the GET by id shows its
 * env; a value that differs from the manifest forces a replace naming
 * the key, without showing the live value. */
static void
test_refresh_imported_createonly(void **state)
{
	struct rfix x;
	struct refresh_opts ro;
	struct refresh_result rr;
	struct spec s;
	struct lag lg;
	struct plan_input in;
	struct plan *p = NULL;
	const struct plan_reason *rs;

	(void)state;
	rfix_open(&x);
	memset(&lg, 0, sizeof(lg));
	lg.unlabelled = 1;
	lg.env_json = "{\"A\":\"1\",\"B\":\"same\"}";
	dt_fake_set_handler(x.f, lag_handler, &lg);
	base_spec(&s, "n001");
	s.env = xcalloc(2, sizeof(*s.env));
	s.nenv = 2;
	s.env[0].key = xstrdup("A");
	s.env[0].value = xstrdup("2");
	s.env[1].key = xstrdup("B");
	s.env[1].value = xstrdup("same");
	hash(&s);
	put_rec(x.st, "n001", "id-001", NULL, STORE_STATUS_IMPORTED);
	memset(&ro, 0, sizeof(ro));
	ro.stack = STACK;
	ro.refresh = 1;
	ro.specs = &s;
	ro.nspecs = 1;
	assert_int_equal(refresh_run(x.c, x.st, &ro, &rr), 0);
	assert_int_equal(rr.gets, 1); /* the GET by id answers both */
	memset(&in, 0, sizeof(in));
	in.stack = STACK;
	in.specs = &s;
	in.nspecs = 1;
	in.observed = rr.observed;
	in.nobserved = rr.nobserved;
	in.records = rr.records;
	in.nrecords = rr.nrecords;
	assert_int_equal(plan_build(&in, &p), 0);
	assert_int_equal(p->nactions, 1);
	assert_int_equal(p->actions[0].kind, PLAN_REPLACE);
	assert_non_null(rs = reason(&p->actions[0], "spec.env.A"));
	assert_true(rs->forces_replace);
	assert_string_equal(rs->old, PLAN_LIVE_NOT_SHOWN);
	assert_string_equal(rs->new_, "2");
	assert_null(reason(&p->actions[0], "spec.env.B"));
	plan_free(p);
	refresh_result_clear(&rr);

	/* the same env: adopted with an update (labels), no replace */
	free(s.env[0].value);
	s.env[0].value = xstrdup("1");
	hash(&s);
	assert_int_equal(refresh_run(x.c, x.st, &ro, &rr), 0);
	in.observed = rr.observed;
	in.nobserved = rr.nobserved;
	in.records = rr.records;
	in.nrecords = rr.nrecords;
	assert_int_equal(plan_build(&in, &p), 0);
	assert_int_equal(p->nactions, 1);
	assert_int_equal(p->actions[0].kind, PLAN_UPDATE);
	plan_free(p);
	refresh_result_clear(&rr);
	spec_clear(&s);
	rfix_close(&x);
}

/* ---- destroy ------------------------------------------------------------- */

/* plan_error message of name, or NULL */
static const char *
plan_err(const struct plan *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->nerrors; i++)
		if (strcmp(p->errors[i].name, name) == 0)
			return p->errors[i].message;
	return NULL;
}

static const struct plan_action *
plan_act(const struct plan *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->nactions; i++)
		if (strcmp(p->actions[i].name, name) == 0)
			return &p->actions[i];
	return NULL;
}

/*
 * Destroy's plan: one delete per sandbox of the stack, preventDestroy by
 * plan_build's rule (the manifest alone decides when it names the sandbox,
 * else the live label, else the last applied spec), --force-destroy lifts
 * it, a force name that is not the stack's is a typo, transitional ones
 * wait first, a record naming another id and a sandbox being destroyed
 * are left alone.
 */
static void
test_destroy_plan(void **state)
{
	static const char *names[] = { "appl",   "busy",    "foreign",
		                       "gone",   "keep",    "lbl",
		                       "lifted", "nolabel", "web" };
	enum { N = sizeof(names) / sizeof(names[0]) };
	struct spec s[N], man[2];
	struct dt_sandbox o[N + 1], *op[N + 1];
	struct plan_record r[N];
	struct plan_input in;
	struct plan *p = NULL;
	const struct plan_action *a;
	const char *const force1[] = { "lbl", "nosuch", "unrec" };
	const char *const force2[] = { "appl", "keep", "lbl" };
	size_t i;

	(void)state;
	for (i = 0; i < N; i++) {
		char id[32];

		base_spec(&s[i], names[i]);
		hash(&s[i]);
		snprintf(id, sizeof(id), "id-%s", names[i]);
		observed_for(&o[i], &s[i], id);
		record_for(&r[i], &s[i], id);
	}
	/* a sandbox with no record (not the stack's: never deleted) */
	observed_for(&o[N], &s[N - 1], "id-unrec");
	set_str(&o[N].name, "unrec");
	for (i = 0; i <= N; i++)
		op[i] = &o[i];
	/* appl: protected by the spec last applied */
	r[0].applied = spec_dup(&s[0]);
	r[0].applied->prevent_destroy = 1;
	/* busy: stopping */
	set_state(&o[1], "stopping", "stopped");
	/* foreign: the record names another sandbox */
	free(r[2].id);
	r[2].id = xstrdup("id-other");
	/* gone: being destroyed */
	set_state(&o[3], "destroying", "destroyed");
	/* lbl and lifted: the live label says protected */
	strmap_set(&o[5].labels, LABEL_PREVENT_DESTROY, "true");
	strmap_set(&o[6].labels, LABEL_PREVENT_DESTROY, "true");
	/* manifests given: keep protects, lifted turns it off */
	base_spec(&man[0], "keep");
	man[0].prevent_destroy = 1;
	hash(&man[0]);
	base_spec(&man[1], "lifted");
	man[1].prevent_destroy = 0;
	hash(&man[1]);

	memset(&in, 0, sizeof(in));
	in.stack = STACK;
	in.specs = man;
	in.nspecs = 2;
	in.observed = op;
	in.nobserved = N + 1;
	in.records = r;
	in.nrecords = N;
	in.refreshed = 1;

	assert_int_equal(plan_build_destroy(&in, NULL, 0, &p), 0);
	assert_int_equal(p->nerrors, 3);
	assert_non_null(strstr(plan_err(p, "appl"),
	                       "refusing to destroy 'appl': "
	                       "lifecycle.preventDestroy is set (name it "
	                       "with --force-destroy appl)"));
	assert_non_null(plan_err(p, "keep"));
	assert_non_null(plan_err(p, "lbl"));
	/* the manifest alone decides for a sandbox it names */
	assert_null(plan_err(p, "lifted"));
	assert_int_equal(p->nactions, 4);
	assert_int_equal(p->summary.delete_, 4);
	assert_int_equal(p->managed, N);
	assert_string_equal(p->actions[0].name, "busy");
	assert_steps(&p->actions[0], "wait_stable,delete,wait_gone");
	assert_string_equal(p->actions[1].name, "lifted");
	assert_string_equal(p->actions[2].name, "nolabel");
	assert_string_equal(p->actions[3].name, "web");
	a = plan_act(p, "web");
	assert_int_equal(a->kind, PLAN_DELETE);
	assert_string_equal(a->sandbox_id, "id-web");
	assert_string_equal(a->source, "destroy");
	assert_steps(a, "delete,wait_gone");
	assert_non_null(a->observed);
	assert_non_null(a->fingerprint);
	assert_null(plan_act(p, "foreign"));
	assert_null(plan_act(p, "gone"));
	assert_null(plan_act(p, "unrec"));
	plan_free(p);
	p = NULL;

	/* a force name lifts the protection; names the stack lacks are
	 * typos (also one whose sandbox exists without a record) */
	assert_int_equal(plan_build_destroy(&in, force1, 3, &p), 0);
	assert_non_null(plan_act(p, "lbl"));
	assert_null(plan_err(p, "lbl"));
	assert_string_equal(plan_err(p, "nosuch"),
	                    "--force-destroy nosuch: stack 'default' has no "
	                    "sandbox of that name");
	assert_non_null(plan_err(p, "unrec"));
	assert_null(plan_act(p, "unrec"));
	plan_free(p);
	p = NULL;

	/* without manifests: keep is unprotected (no label, nothing
	 * applied), lifted is protected by its label */
	in.nspecs = 0;
	assert_int_equal(plan_build_destroy(&in, force2, 3, &p), 0);
	assert_int_equal(p->nerrors, 1);
	assert_non_null(plan_err(p, "lifted"));
	assert_int_equal(p->nactions, 6);
	plan_free(p);

	for (i = 0; i < N; i++) {
		spec_clear(&s[i]);
		observed_clear(&o[i]);
		plan_record_clear(&r[i]);
	}
	observed_clear(&o[N]);
	spec_clear(&man[0]);
	spec_clear(&man[1]);
}

/* ---- the 0.218 fields (issue 14) ------------------------------------- */

/* one_applied: the record remembers the current spec as last applied. */
static void
one_applied(struct one *t)
{
	spec_free(t->r.applied);
	t->r.applied = spec_dup(&t->s);
}

static void
test_0218_ttl(void **state)
{
	struct one t;
	const struct plan_reason *rs;

	(void)state;
	one_setup(&t, "t");
	t.s.has_ttl = true;
	t.s.ttl = 60;
	hash(&t.s);
	one_applied(&t);
	/* applied and in force: nothing, whatever autoDestroyAt says */
	set_str(&t.o.auto_destroy_at, "2026-01-01T01:00:00.000Z");
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->nactions, 0);
	/* cleared outside sandform: set again */
	set_str(&t.o.auto_destroy_at, NULL);
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->nactions, 1);
	assert_int_equal(t.p->actions[0].kind, PLAN_UPDATE);
	assert_steps(&t.p->actions[0], "set_ttl");
	assert_int_equal(t.p->actions[0].steps[0].value, 60);
	rs = reason(&t.p->actions[0], "spec.ttlMinutes");
	assert_non_null(rs);
	assert_string_equal(rs->old, "0");
	assert_string_equal(rs->new_, "60");
	assert_int_equal(rs->category, PLAN_CAT_SETTINGS);
	assert_int_equal(rs->origin, PLAN_ORIGIN_OUT_OF_BAND);
	/* changed in the manifests: set (re-anchored) */
	set_str(&t.o.auto_destroy_at, "2026-01-01T01:00:00.000Z");
	t.s.ttl = 90;
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->nactions, 1);
	rs = reason(&t.p->actions[0], "spec.ttlMinutes");
	assert_string_equal(rs->old,
	                    "60 (autoDestroyAt 2026-01-01T01:00:00.000Z)");
	assert_int_equal(rs->origin, PLAN_ORIGIN_MANIFEST);
	/* 0 declared, one in force: cleared */
	t.s.ttl = 0;
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->actions[0].steps[0].value, 0);
	/* no applied spec and one in force: left alone */
	t.s.ttl = 90;
	spec_free(t.r.applied);
	t.r.applied = NULL;
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->nactions, 0);
	one_free(&t);
}

static void
test_0218_autopause(void **state)
{
	struct one t;

	(void)state;
	/* autoPause declared alone: autoStop managed as 0, set first */
	one_setup(&t, "p");
	t.s.has_auto_pause = true;
	t.s.auto_pause = 30;
	hash(&t.s);
	set_str(&t.o.sandbox_class, "linux-vm");
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->nactions, 1);
	assert_steps(&t.p->actions[0], "set_autostop,set_autopause");
	assert_int_equal(t.p->actions[0].steps[0].value, 0);
	assert_int_equal(t.p->actions[0].steps[1].value, 30);
	/* converged: nothing */
	t.o.auto_stop_interval = 0;
	t.o.auto_pause_interval = 30;
	t.o.present |= DT_HAS_AUTO_PAUSE;
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->nactions, 0);
	/* back to auto-stop: autoPause to 0 goes first */
	t.s.has_auto_pause = false;
	t.s.has_auto_stop = true;
	t.s.auto_stop = 15;
	assert_int_equal(one_plan(&t), 0);
	assert_steps(&t.p->actions[0], "set_autopause,set_autostop");
	assert_int_equal(t.p->actions[0].steps[0].value, 0);
	assert_int_equal(t.p->actions[0].steps[1].value, 15);
	/* a container cannot pause: a plan error at the field */
	t.s.has_auto_stop = false;
	t.s.has_auto_pause = true;
	spec_pos_set(&t.s, SPEC_F_AUTO_PAUSE, 9, 22);
	set_str(&t.o.sandbox_class, "container");
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->nactions, 0);
	assert_int_equal(t.p->nerrors, 1);
	assert_string_equal(t.p->errors[0].message,
	                    "sb.yaml:9:22: autoPauseInterval: sandbox class "
	                    "'container' cannot pause (expected a linux-vm, "
	                    "android or windows sandbox, or "
	                    "autoPauseInterval: 0)");
	one_free(&t);
}

static void
test_0218_secrets(void **state)
{
	struct one t;
	const struct plan_reason *rs;
	char *json = NULL;
	struct plan *back = NULL;

	(void)state;
	one_setup(&t, "s");
	one_applied(&t); /* applied before secrets existed */
	t.s.has_secrets = true;
	/* none declared, none set by sandform: nothing */
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->nactions, 0);
	strmap_set(&t.s.secrets, "OPENAI_API_KEY", "openai-key");
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->nactions, 1);
	assert_steps(&t.p->actions[0], "set_secrets");
	assert_string_equal(
	        strmap_get(&t.p->actions[0].steps[0].labels, "OPENAI_API_KEY"),
	        "openai-key");
	rs = reason(&t.p->actions[0], "spec.secrets.OPENAI_API_KEY");
	assert_non_null(rs);
	assert_string_equal(rs->old, "(unknown)");
	assert_string_equal(rs->new_, "openai-key");
	/* the step survives a saved plan */
	assert_int_equal(plan_to_json(t.p, &json), 0);
	assert_non_null(strstr(json, "\"op\":\"set_secrets\",\"secrets\":{"
	                             "\"OPENAI_API_KEY\":\"openai-key\"}"));
	assert_int_equal(plan_from_json(json, strlen(json), &back), 0);
	assert_int_equal(back->actions[0].steps[0].kind, STEP_SET_SECRETS);
	assert_string_equal(
	        strmap_get(&back->actions[0].steps[0].labels, "OPENAI_API_KEY"),
	        "openai-key");
	plan_free(back);
	free(json);
	/* applied: nothing; a rename and an addition: one PUT of the set */
	one_applied(&t);
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->nactions, 0);
	strmap_set(&t.s.secrets, "OPENAI_API_KEY", "openai-key-2");
	strmap_set(&t.s.secrets, "HF_TOKEN", "hf");
	assert_int_equal(one_plan(&t), 0);
	assert_steps(&t.p->actions[0], "set_secrets");
	rs = reason(&t.p->actions[0], "spec.secrets.OPENAI_API_KEY");
	assert_string_equal(rs->old, "openai-key");
	assert_string_equal(rs->new_, "openai-key-2");
	assert_int_equal(rs->origin, PLAN_ORIGIN_MANIFEST);
	rs = reason(&t.p->actions[0], "spec.secrets.HF_TOKEN");
	assert_null(rs->old);
	/* all removed: {} detaches them */
	strmap_clear(&t.s.secrets);
	assert_int_equal(one_plan(&t), 0);
	assert_steps(&t.p->actions[0], "set_secrets");
	assert_int_equal(t.p->actions[0].steps[0].labels.n, 0);
	one_free(&t);
}

/* platform secrets the organization lacks: a plan error at their line */
static void
test_0218_secret_names(void **state)
{
	struct one t;
	struct strmap have = { 0 };

	(void)state;
	one_setup(&t, "s");
	one_applied(&t);
	t.s.has_secrets = true;
	free(t.s.file);
	t.s.file = xstrdup("m/s.yaml");
	strmap_set(&t.s.secrets, "A", "have-it");
	strmap_set(&t.s.secrets, "B", "nope");
	strmap_set(&t.s.secret_pos, "B", "9:8");
	/* the names not known (no GET /secret): not checked */
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->nerrors, 0);
	strmap_set(&have, "have-it", "");
	t.secret_names = &have;
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->nerrors, 1);
	assert_int_equal(t.p->nactions, 0);
	assert_string_equal(t.p->errors[0].name, "s");
	assert_string_equal(t.p->errors[0].message,
	                    "m/s.yaml:9:8: spec.secrets.B: the organization "
	                    "has no secret 'nope' (expected the name of one "
	                    "of its secrets, created in the Daytona dashboard "
	                    "or with POST /secret)");
	strmap_set(&have, "nope", "");
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->nerrors, 0);
	assert_int_equal(t.p->nactions, 1);
	strmap_clear(&have);
	one_free(&t);
}

static void
test_0218_paused(void **state)
{
	struct one t;
	struct plan_input in;
	struct plan *p = NULL;

	(void)state;
	one_setup(&t, "vm");
	t.s.state = SPEC_STATE_PAUSED;
	spec_pos_set(&t.s, SPEC_F_STATE, 7, 10);
	set_str(&t.o.sandbox_class, "linux-vm");
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->nactions, 1);
	assert_int_equal(t.p->actions[0].kind, PLAN_PAUSE);
	assert_steps(&t.p->actions[0], "pause,wait_stable");
	assert_string_equal(reason(&t.p->actions[0], "spec.state")->new_,
	                    "paused");
	set_state(&t.o, "stopped", "stopped");
	assert_int_equal(one_plan(&t), 0);
	assert_steps(&t.p->actions[0], "start,wait_stable,pause,wait_stable");
	set_state(&t.o, "paused", "paused");
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->nactions, 0);
	/* started again from paused: start resumes */
	t.s.state = SPEC_STATE_STARTED;
	t.s.has_auto_stop = true;
	t.o.auto_stop_interval = 0;
	t.s.auto_stop = 0;
	assert_int_equal(one_plan(&t), 0);
	assert_steps(&t.p->actions[0], "start,wait_stable");
	/* state omitted: paused is not drift */
	t.s.state = SPEC_STATE_ANY;
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->nactions, 0);
	/* a container class: refused at plan time, at the field */
	t.s.state = SPEC_STATE_PAUSED;
	set_state(&t.o, "started", "started");
	set_str(&t.o.sandbox_class, "container");
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->nactions, 0);
	assert_int_equal(t.p->nerrors, 1);
	assert_string_equal(t.p->errors[0].message,
	                    "sb.yaml:7:10: state: paused: sandbox class "
	                    "'container' cannot pause (expected a linux-vm, "
	                    "android or windows sandbox, or another state)");
	/* an unknown class is left to the API */
	set_str(&t.o.sandbox_class, NULL);
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->nerrors, 0);
	assert_int_equal(t.p->nactions, 1);
	/* a new sandbox: create, then pause */
	memset(&in, 0, sizeof(in));
	in.stack = STACK;
	in.specs = &t.s;
	in.nspecs = 1;
	assert_int_equal(plan_build(&in, &p), 0);
	assert_steps(&p->actions[0], "create,wait_stable,pause,wait_stable");
	plan_free(p);
	one_free(&t);
}

static void
test_0218_replace_fields(void **state)
{
	struct one t;
	const struct plan_reason *rs;
	char before[SPEC_HASH_MAX + 1];

	(void)state;
	one_setup(&t, "g");
	/* spot and gpuType are list fields */
	t.s.has_spot = true;
	t.s.spot = true;
	t.o.present |= DT_HAS_SPOT;
	t.o.spot = 0;
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->actions[0].kind, PLAN_REPLACE);
	rs = reason(&t.p->actions[0], "spec.spot");
	assert_true(rs && rs->forces_replace);
	t.o.spot = 1;
	t.s.gpu_types = xcalloc(3, sizeof(char *));
	t.s.gpu_types[t.s.ngpu_types++] = xstrdup("H100");
	set_str(&t.o.gpu_type, "RTX-4090");
	assert_int_equal(one_plan(&t), 0);
	rs = reason(&t.p->actions[0], "spec.gpuType");
	assert_true(rs && rs->forces_replace);
	assert_string_equal(rs->old, "RTX-4090");
	assert_string_equal(rs->new_, "H100");
	/* the live type is one of those preferred: nothing */
	t.s.gpu_types[t.s.ngpu_types++] = xstrdup("RTX-4090");
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->nactions, 0);

	/* kvm and the proxy enter the image's hash group only when set:
	 * labels written before them stay equal */
	snprintf(before, sizeof(before), "%s", t.s.hash);
	t.s.has_kvm = true;
	t.s.kvm = false;
	hash(&t.s);
	assert_string_equal(before, t.s.hash);
	one_applied(&t);
	t.s.kvm = true;
	t.s.outbound_proxy_url = xstrdup("http://u:pw@proxy:3128");
	hash(&t.s);
	assert_string_not_equal(before, t.s.hash);
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->actions[0].kind, PLAN_REPLACE);
	assert_null(reason(&t.p->actions[0], "spec.image"));
	rs = reason(&t.p->actions[0], "spec.kvm");
	assert_true(rs && rs->forces_replace);
	rs = reason(&t.p->actions[0], "spec.outboundProxyUrl");
	assert_true(rs && rs->forces_replace);
	assert_null(rs->old);
	assert_string_equal(rs->new_, "http://***@proxy:3128");
	one_free(&t);
}

/* a sandbox without the spec label (imported): the image of the live
 * Dockerfile's FROM line is compared, not assumed equal */
static void
test_0218_imported_image(void **state)
{
	struct one t;
	const struct plan_reason *rs;

	(void)state;
	one_setup(&t, "imp");
	set_str(&t.s.snapshot, NULL);
	t.s.image = xstrdup("python:3.12");
	hash(&t.s);
	set_str(&t.o.snapshot, NULL);
	strmap_del(&t.o.labels, LABEL_SPEC);
	t.o.present |= DT_HAS_ENV | DT_HAS_BUILD_INFO;
	set_str(&t.o.dockerfile_content,
	        "# syntax=docker/dockerfile:1\n"
	        "FROM --platform=linux/amd64 python:3.11 AS base\nRUN true\n");
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->actions[0].kind, PLAN_REPLACE);
	rs = reason(&t.p->actions[0], "spec.image");
	assert_non_null(rs);
	assert_string_equal(rs->old, "python:3.11");
	assert_string_equal(rs->new_, "python:3.12");
	assert_true(rs->forces_replace);
	assert_int_equal(rs->origin, PLAN_ORIGIN_UNKNOWN);
	/* the same image: no replace (the labels are put on) */
	set_str(&t.o.dockerfile_content, "from python:3.12\n");
	assert_int_equal(one_plan(&t), 0);
	assert_int_equal(t.p->actions[0].kind, PLAN_UPDATE);
	assert_null(reason(&t.p->actions[0], "spec.image"));
	/* no FROM line at all */
	set_str(&t.o.dockerfile_content, "RUN true\n");
	assert_int_equal(one_plan(&t), 0);
	assert_string_equal(reason(&t.p->actions[0], "spec.image")->old,
	                    "(no FROM line)");
	one_free(&t);
}

/* ---- declared volumes and snapshots (plan-res.c) ------------------------ */

static void
res_fixture(struct res_spec *r, enum res_kind k, const char *name,
            const char *image)
{
	memset(r, 0, sizeof(*r));
	r->kind = k;
	r->name = xstrdup(name);
	r->file = xstrdup("res.yaml");
	r->line = 4;
	r->col = 1;
	r->image = image ? xstrdup(image) : NULL;
	if (k == RES_SNAPSHOT)
		res_hash(r);
}

static const struct plan_resource *
res_action(const struct plan *p, enum res_kind k, const char *name)
{
	size_t i;

	for (i = 0; i < p->nresources; i++)
		if (p->resources[i].kind == k &&
		    !strcmp(p->resources[i].name, name))
			return &p->resources[i];
	return NULL;
}

static const char *
error_for(const struct plan *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->nerrors; i++)
		if (!strcmp(p->errors[i].name, name))
			return p->errors[i].message;
	return NULL;
}

static void
test_res_create_keep_delete(void **state)
{
	struct res_spec want[2], applied;
	struct plan_res_record recs[2];
	struct plan_res_live live[2];
	struct plan_input in;
	struct plan *p = NULL;
	const struct plan_resource *a;
	char *json = NULL;

	(void)state;
	res_fixture(&want[0], RES_VOLUME, "data", NULL);
	res_fixture(&want[1], RES_SNAPSHOT, "py", "python:3.12");
	memset(&in, 0, sizeof(in));
	in.stack = STACK;
	in.resources = want;
	in.nresources = 2;
	in.res_known = in.res_refs_checked = 1;
	/* nothing live: both created, counted with the sandboxes */
	assert_int_equal(plan_build(&in, &p), 0);
	assert_int_equal(p->nresources, 2);
	assert_int_equal(p->resources[0].kind, RES_VOLUME);
	assert_int_equal(p->resources[0].op, PLAN_RES_CREATE);
	assert_int_equal(p->resources[1].op, PLAN_RES_CREATE);
	assert_int_equal(p->summary.create, 2);
	assert_true(plan_has_changes(p));
	/* the JSON document round-trips them */
	assert_int_equal(plan_to_json(p, &json), 0);
	plan_free(p);
	p = NULL;
	assert_int_equal(plan_from_json(json, strlen(json), &p), 0);
	assert_int_equal(p->nresources, 2);
	assert_string_equal(p->resources[1].desired->image, "python:3.12");
	assert_string_equal(p->resources[1].desired->hash, want[1].hash);
	free(json);
	plan_free(p);
	/* live and recorded as applied: nothing to do */
	memset(live, 0, sizeof(live));
	live[0] = (struct plan_res_live){ RES_VOLUME, "data", "v-1",
		                          "ready",    NULL,   NULL };
	live[1] = (struct plan_res_live){ RES_SNAPSHOT, "py", "s-1",
		                          "active",     NULL, NULL };
	memset(recs, 0, sizeof(recs));
	recs[0].kind = RES_VOLUME;
	recs[0].name = xstrdup("data");
	recs[1].kind = RES_SNAPSHOT;
	recs[1].name = xstrdup("py");
	recs[1].applied = xcalloc(1, sizeof(*recs[1].applied));
	res_copy(recs[1].applied, &want[1]);
	in.res_live = live;
	in.nres_live = 2;
	in.res_records = recs;
	in.nres_records = 2;
	assert_int_equal(plan_build(&in, &p), 0);
	assert_int_equal(p->nresources, 0);
	assert_false(plan_has_changes(p));
	plan_free(p);
	/* a changed image replaces the snapshot, naming the field */
	free(want[1].image);
	want[1].image = xstrdup("python:3.13");
	res_hash(&want[1]);
	assert_int_equal(plan_build(&in, &p), 0);
	a = res_action(p, RES_SNAPSHOT, "py");
	assert_non_null(a);
	assert_int_equal(a->op, PLAN_RES_REPLACE);
	assert_string_equal(a->id, "s-1");
	assert_non_null(
	        strstr(a->reason, "spec.image: python:3.12 -> python:3.13"));
	assert_int_equal(p->summary.replace, 1);
	plan_free(p);
	/* ... unless a sandbox outside the stack uses it */
	live[1].used_outside = "other";
	assert_int_equal(plan_build(&in, &p), 0);
	assert_null(res_action(p, RES_SNAPSHOT, "py"));
	assert_non_null(strstr(error_for(p, "py"), "in use by sandbox other"));
	plan_free(p);
	/* no longer declared: the volume is deleted, the snapshot used
	 * outside the stack kept (not a change) */
	in.nresources = 0;
	assert_int_equal(plan_build(&in, &p), 0);
	a = res_action(p, RES_VOLUME, "data");
	assert_int_equal(a->op, PLAN_RES_DELETE);
	assert_string_equal(a->id, "v-1");
	a = res_action(p, RES_SNAPSHOT, "py");
	assert_int_equal(a->op, PLAN_RES_KEEP);
	assert_non_null(strstr(a->reason, "outside the stack; not deleted"));
	assert_int_equal(p->summary.delete_, 1);
	plan_free(p);
	live[0].used_outside = "other";
	assert_int_equal(plan_build(&in, &p), 0);
	assert_false(plan_has_changes(p));
	assert_int_equal(p->nerrors, 0);
	plan_free(p);
	/* preventDestroy (last applied) refuses the delete */
	live[0].used_outside = NULL;
	live[1].used_outside = NULL;
	recs[1].applied->prevent_destroy = true;
	assert_int_equal(plan_build(&in, &p), 0);
	assert_null(res_action(p, RES_SNAPSHOT, "py"));
	assert_non_null(
	        strstr(error_for(p, "py"), "lifecycle.preventDestroy is set"));
	plan_free(p);
	/* destroy: both (the snapshot only when forced) */
	{
		const char *force[] = { "py" };

		assert_int_equal(plan_build_destroy(&in, force, 1, &p), 0);
		assert_int_equal(p->nerrors, 0);
		assert_int_equal(p->nresources, 2);
		assert_int_equal(p->resources[0].op, PLAN_RES_DELETE);
		assert_int_equal(p->resources[1].op, PLAN_RES_DELETE);
		plan_free(p);
	}
	applied = want[0];
	(void)applied;
	plan_res_record_clear(&recs[0]);
	plan_res_record_clear(&recs[1]);
	res_clear(&want[0]);
	res_clear(&want[1]);
}

/* a sandbox of the stack built from a snapshot being replaced is
 * replaced with it (its own spec unchanged), saying why */
static void
test_res_snapshot_replace_replaces_users(void **state)
{
	struct res_spec want;
	struct plan_res_record rec;
	struct plan_res_live live;
	struct plan_input in;
	struct one t;
	const struct plan_reason *rs;
	char *json = NULL;

	(void)state;
	one_setup(&t, "web");
	set_str(&t.s.snapshot, "py");
	hash(&t.s);
	observed_clear(&t.o);
	observed_for(&t.o, &t.s, "id-1");
	plan_record_clear(&t.r);
	record_for(&t.r, &t.s, "id-1");
	res_fixture(&want, RES_SNAPSHOT, "py", "python:3.12");
	memset(&rec, 0, sizeof(rec));
	rec.kind = RES_SNAPSHOT;
	rec.name = xstrdup("py");
	rec.applied = xcalloc(1, sizeof(*rec.applied));
	res_copy(rec.applied, &want);
	live = (struct plan_res_live){ RES_SNAPSHOT, "py", "s-1",
		                       "active",     NULL, NULL };
	memset(&in, 0, sizeof(in));
	in.stack = STACK;
	in.specs = &t.s;
	in.nspecs = 1;
	t.op = &t.o;
	in.observed = &t.op;
	in.nobserved = 1;
	in.records = &t.r;
	in.nrecords = 1;
	in.refreshed = 1;
	in.resources = &want;
	in.nresources = 1;
	in.res_live = &live;
	in.nres_live = 1;
	in.res_records = &rec;
	in.nres_records = 1;
	in.res_known = in.res_refs_checked = 1;
	/* unchanged: nothing to do */
	assert_int_equal(plan_build(&in, &t.p), 0);
	assert_int_equal(t.p->nactions, 0);
	assert_int_equal(t.p->nresources, 0);
	plan_free(t.p);
	/* a new image: the snapshot and the sandbox are replaced */
	free(want.image);
	want.image = xstrdup("python:3.13");
	res_hash(&want);
	assert_int_equal(plan_build(&in, &t.p), 0);
	assert_int_equal(t.p->nerrors, 0);
	assert_int_equal(t.p->nresources, 1);
	assert_int_equal(t.p->resources[0].op, PLAN_RES_REPLACE);
	assert_non_null(plan_res_replacing(t.p, RES_SNAPSHOT, "py"));
	assert_non_null(plan_res_replacing(t.p, RES_SNAPSHOT, "s-1"));
	assert_null(plan_res_replacing(t.p, RES_SNAPSHOT, "daytona-small"));
	assert_int_equal(t.p->nactions, 1);
	assert_int_equal(t.p->actions[0].kind, PLAN_REPLACE);
	assert_steps(&t.p->actions[0], "delete,wait_gone,create,wait_stable");
	rs = reason(&t.p->actions[0], "spec.snapshot");
	assert_non_null(rs);
	assert_true(rs->forces_replace);
	assert_string_equal(rs->note, "snapshot py is replaced");
	assert_int_equal(t.p->summary.replace, 2);
	/* the saved plan keeps the reason */
	assert_int_equal(plan_to_json(t.p, &json), 0);
	assert_non_null(strstr(json, "snapshot py is replaced"));
	free(json);
	plan_free(t.p);
	/* --target of the snapshot alone leaves the sandbox out: refused */
	{
		const char *only[] = { "<snapshot>py" };

		in.targets = only;
		in.ntargets = 1;
		assert_int_equal(plan_build(&in, &t.p), 0);
		assert_non_null(error_for(t.p, "web"));
		assert_non_null(
		        strstr(error_for(t.p, "web"), "add --target web"));
		plan_free(t.p);
		in.targets = NULL;
		in.ntargets = 0;
	}
	/* preventDestroy on the sandbox refuses the plan */
	t.s.prevent_destroy = 1;
	assert_int_equal(plan_build(&in, &t.p), 0);
	assert_non_null(error_for(t.p, "web"));
	plan_free(t.p);
	t.s.prevent_destroy = 0;
	/* a snapshot not replaced (used outside the stack): neither is the
	 * sandbox */
	live.used_outside = "other";
	assert_int_equal(plan_build(&in, &t.p), 0);
	assert_int_equal(t.p->nactions, 0);
	assert_non_null(error_for(t.p, "py"));
	plan_free(t.p);
	t.p = NULL;
	plan_res_record_clear(&rec);
	res_clear(&want);
	one_free(&t);
}

static void
test_res_references(void **state)
{
	struct res_spec snap;
	struct plan_res_live live[1];
	struct one t;
	struct plan_input in;
	struct plan *p = NULL;

	(void)state;
	base_spec(&t.s, "web");
	set_str(&t.s.snapshot, "missing-snap");
	spec_pos_set(&t.s, SPEC_F_SNAPSHOT, 6, 13);
	t.s.volumes = xcalloc(1, sizeof(*t.s.volumes));
	t.s.volumes[0].volume = xstrdup("ghost");
	t.s.volumes[0].mount_path = xstrdup("/data");
	t.s.nvolumes = 1;
	t.s.has_volumes = true;
	spec_pos_set(&t.s, SPEC_F_VOLUMES, 7, 12);
	hash(&t.s);
	memset(&in, 0, sizeof(in));
	in.stack = STACK;
	in.specs = &t.s;
	in.nspecs = 1;
	in.res_known = in.res_refs_checked = 1;
	assert_int_equal(plan_build(&in, &p), 0);
	assert_int_equal(p->nerrors, 2);
	assert_non_null(strstr(p->errors[0].message,
	                       "sb.yaml:6:13: spec.snapshot: snapshot "
	                       "'missing-snap' neither exists"));
	assert_non_null(strstr(p->errors[1].message,
	                       "sb.yaml:7:12: spec.volumes[0].volume: volume "
	                       "'ghost' neither exists"));
	plan_free(p);
	/* declared, or existing: fine */
	res_fixture(&snap, RES_SNAPSHOT, "missing-snap", "python:3.12");
	in.resources = &snap;
	in.nresources = 1;
	live[0] = (struct plan_res_live){ RES_VOLUME, "ghost", "v-9",
		                          "ready",    NULL,    NULL };
	in.res_live = live;
	in.nres_live = 1;
	assert_int_equal(plan_build(&in, &p), 0);
	assert_int_equal(p->nerrors, 0);
	assert_int_equal(p->nresources, 1);
	plan_free(p);
	/* not looked up (--refresh=false): not checked */
	in.nresources = 0;
	in.nres_live = 0;
	in.res_refs_checked = 0;
	assert_int_equal(plan_build(&in, &p), 0);
	assert_int_equal(p->nerrors, 0);
	plan_free(p);
	res_clear(&snap);
	spec_clear(&t.s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fresh_sandbox_has_no_diff),
		cmocka_unit_test(test_omitted_fields_are_not_managed),
		cmocka_unit_test(test_labels_three_way_merge),
		cmocka_unit_test(test_labels_merge_without_state),
		cmocka_unit_test(test_labels_merge_is_live),
		cmocka_unit_test(test_update_public_and_intervals),
		cmocka_unit_test(test_update_network),
		cmocka_unit_test(test_resize_hot_increase),
		cmocka_unit_test(test_resize_decrease_needs_stop),
		cmocka_unit_test(test_disk_grow_and_shrink),
		cmocka_unit_test(test_replace_image_env_volumes),
		cmocka_unit_test(test_replace_list_fields),
		cmocka_unit_test(test_prevent_destroy_refuses_replace),
		cmocka_unit_test(test_prevent_destroy_lifted_by_manifest),
		cmocka_unit_test(test_state_policy),
		cmocka_unit_test(test_error_recover_or_replace),
		cmocka_unit_test(test_create),
		cmocka_unit_test(test_plan_borrows_specs),
		cmocka_unit_test(test_delete_and_mass_delete_guard),
		cmocka_unit_test(test_delete_order),
		cmocka_unit_test(test_joins_same_plan),
		cmocka_unit_test(test_ownership),
		cmocka_unit_test(test_other_stack_and_running_apply),
		cmocka_unit_test(test_resize_unavailable_is_replace),
		cmocka_unit_test(test_rename_is_create_and_delete),
		cmocka_unit_test(test_reason_categories_and_origins),
		cmocka_unit_test(test_reason_missing_and_removed),
		cmocka_unit_test(test_reason_json),
		cmocka_unit_test(test_spec_field_equal),
		cmocka_unit_test(test_network_fields),
		cmocka_unit_test(test_json_round_trip),
		cmocka_unit_test(test_human_output),
		cmocka_unit_test(test_human_output_escapes_server_text),
		cmocka_unit_test(test_spec_hash_segments),
		cmocka_unit_test(test_spec_to_create),
		cmocka_unit_test(test_secret_key_fingerprint),
		cmocka_unit_test(test_one_secret_changed),
		cmocka_unit_test(test_refresh_walk_and_rebuild),
		cmocka_unit_test(test_refresh_applied_lazy),
		cmocka_unit_test(test_refresh_foreign_name),
		cmocka_unit_test(test_refresh_org_walk_for_many_names),
		cmocka_unit_test(test_refresh_lagging_list_is_not_gone),
		cmocka_unit_test(test_refresh_network_drift),
		cmocka_unit_test(test_refresh_imported_createonly),
		cmocka_unit_test(test_destroy_plan),
		cmocka_unit_test(test_0218_ttl),
		cmocka_unit_test(test_0218_autopause),
		cmocka_unit_test(test_0218_secrets),
		cmocka_unit_test(test_0218_secret_names),
		cmocka_unit_test(test_0218_paused),
		cmocka_unit_test(test_0218_replace_fields),
		cmocka_unit_test(test_0218_imported_image),
		cmocka_unit_test(test_res_create_keep_delete),
		cmocka_unit_test(test_res_references),
		cmocka_unit_test(test_res_snapshot_replace_replaces_users),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
