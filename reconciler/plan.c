/*
 * plan: the diff between the desired set and what Daytona shows.
 *
 * The rules follow docs/manifest.md's mutability column and DESIGN.md §5:
 *
 * - An omitted field is not managed: it never produces a difference, so a
 *   sandbox just created from a manifest (with the server's defaults and
 *   normalisation) plans empty.
 * - Create-only fields the list returns (snapshot, user, target, gpu) are
 *   compared directly; the ones it does not return (image, env, volumes) by
 *   the segments of the sandform.dev/spec label. Either forces a replace,
 *   as does an error that is not recoverable and a disk shrink.
 * - cpu/memory changes are a resize (hot when both only grow; a decrease or
 *   any disk growth needs a stopped sandbox, so the steps stop it and start
 *   it again afterwards if it was running or should run).
 * - labels, public, the three intervals and network are updates, one call
 *   each; labels are merged three-way (labels_merge).
 * - state: started is enforced; stopped accepts archived (archiving is the
 *   platform's auto-archive, configured with autoArchiveInterval); archived
 *   is enforced; omitted accepts any stable state.
 * - A transitional state is judged by where the sandbox is heading
 *   (desiredState) and the steps wait for it to settle first.
 *
 * Every reason carries a category and an origin: the manifests changed it
 * (it differs from the spec last applied) or it changed outside sandform
 * (the manifests ask what was last applied). This file builds the plan and
 * the actions for whole sandboxes; plan-diff.c diffs an existing one.
 */
#include "common/base.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

#include <cjson/cJSON.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/intern.h"
#include "common/log.h"
#include "common/nameix.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "daytona/client.h"
#include "manifests/stack.h"
#include "reconciler/plan-build.h"
#include "state/store.h"

static const char *const kind_names[PLAN_KIND_COUNT] = {
	"create", "replace", "delete", "recover", "resize",
	"update", "start",   "stop",   "archive", "pause",
};

static const char *const step_names[STEP_KIND_COUNT] = {
	"create",      "delete",      "wait_gone", "wait_stable", "start",
	"stop",        "archive",     "recover",   "resize",      "set_labels",
	"set_setting", "set_network", "pause",     "set_ttl",     "set_secrets",
};

/* "set_" and each setting's route, made once from the client's table. */
static char setting_ops[DT_SET_COUNT][40];
static pthread_once_t setting_ops_once = PTHREAD_ONCE_INIT;

static void
setting_ops_init(void)
{
	int i;

	for (i = 0; i < DT_SET_COUNT; i++)
		snprintf(setting_ops[i], sizeof(setting_ops[i]), "set_%s",
		         dt_settings[i].route);
}

/* name_parse: the index of s in names[0..n), or -1. */
static int
name_parse(const char *const *names, int n, const char *s)
{
	int i;

	for (i = 0; s && i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

const char *
plan_kind_name(enum plan_kind k)
{
	return (unsigned)k < PLAN_KIND_COUNT ? kind_names[k] : "?";
}

int
plan_kind_parse(const char *s, enum plan_kind *out)
{
	int i = name_parse(kind_names, PLAN_KIND_COUNT, s);

	if (i < 0)
		return -1;
	*out = (enum plan_kind)i;
	return 0;
}

const char *
plan_step_name(const struct plan_step *st)
{
	if (st->kind == STEP_SET_SETTING) {
		pthread_once(&setting_ops_once, setting_ops_init);
		return (unsigned)st->setting < DT_SET_COUNT
		               ? setting_ops[st->setting]
		               : "?";
	}
	return (unsigned)st->kind < STEP_KIND_COUNT ? step_names[st->kind]
	                                            : "?";
}

int
plan_step_parse(const char *s, struct plan_step *out)
{
	const struct dt_setting_info *si;
	int i;

	if (s && strncmp(s, "set_", 4) == 0 &&
	    (si = dt_setting_by_route(s + 4)) != NULL) {
		out->kind = STEP_SET_SETTING;
		out->setting = si->id;
		return 0;
	}
	i = name_parse(step_names, STEP_KIND_COUNT, s);
	if (i < 0 || i == STEP_SET_SETTING)
		return -1;
	out->kind = (enum plan_step_kind)i;
	return 0;
}

int
plan_has_changes(const struct plan *p)
{
	return p && (p->nactions > 0 || plan_res_changes(p));
}

static const char *const category_names[PLAN_CAT_COUNT] = {
	"missing",  "removed", "spec",  "labels",    "resources",
	"settings", "network", "state", "unmanaged",
};

static const char *const origin_names[PLAN_ORIGIN_COUNT] = {
	"manifest",
	"out-of-band",
	"unknown",
};

const char *
plan_category_name(enum plan_category c)
{
	return (unsigned)c < PLAN_CAT_COUNT ? category_names[c] : "?";
}

int
plan_category_parse(const char *s, enum plan_category *out)
{
	int i = name_parse(category_names, PLAN_CAT_COUNT, s);

	if (i < 0)
		return -1;
	*out = (enum plan_category)i;
	return 0;
}

const char *
plan_origin_name(enum plan_origin o)
{
	return (unsigned)o < PLAN_ORIGIN_COUNT ? origin_names[o] : "?";
}

int
plan_origin_parse(const char *s, enum plan_origin *out)
{
	int i = name_parse(origin_names, PLAN_ORIGIN_COUNT, s);

	if (i < 0)
		return -1;
	*out = (enum plan_origin)i;
	return 0;
}

const char *
nz(const char *s)
{
	return s ? s : "";
}

/* ---- observed and records ---------------------------------------------- */

struct dt_sandbox *
plan_observed_dup(const struct dt_sandbox *sb)
{
	struct dt_sandbox *d;

	if (sb == NULL)
		return NULL;
	d = dt_sandbox_dup(sb);
	/* env values may be secrets: a plan (and a saved plan) never
	 * holds them */
	strmap_clear(&d->env);
	d->present &= ~(unsigned)DT_HAS_ENV;
	return d;
}

int
plan_record_applied(const struct plan_record *r, const struct spec **out)
{
	struct plan_record *w = (struct plan_record *)r; /* the cache */
	struct store_record *sr = NULL;
	cJSON *j;
	int rc;

	*out = NULL;
	if (r == NULL)
		return 0;
	if (r->applied != NULL || r->applied_src == NULL) {
		*out = r->applied;
		return 0;
	}
	rc = store_record_get(r->applied_src->store, r->applied_src->stack,
	                      r->name, &sr);
	if (rc == SF_ENOTFOUND) {
		w->applied_src = NULL; /* forgotten since: none */
		return 0;
	}
	if (rc < 0)
		return rc;
	w->applied_src = NULL;
	if (sr->applied_json && (j = cJSON_Parse(sr->applied_json)) != NULL) {
		if (spec_from_json(j, &w->applied) < 0)
			log_debug("%s: ignoring malformed applied_json: %s",
			          r->name, sf_error_last());
		cJSON_Delete(j);
	}
	store_record_free(sr);
	*out = r->applied;
	return 0;
}

void
plan_record_clear(struct plan_record *r)
{
	if (r == NULL)
		return;
	free(r->name);
	if (!r->strings_block) {
		free(r->id);
		free(r->spec_hash);
	}
	strmap_clear(&r->owned_labels);
	spec_free(r->applied);
	memset(r, 0, sizeof(*r));
}

char *
plan_fingerprint(const struct dt_sandbox *o)
{
	const char *spec = strmap_get(&o->labels, LABEL_SPEC);

	return xasprintf("%s|%s|%s", nz(o->state_raw), nz(o->updated_at),
	                 nz(spec));
}

/* ---- the plan ------------------------------------------------------------ */

void
step_clear(struct plan_step *st)
{
	strmap_clear(&st->labels);
	spec_network_clear(&st->network);
}

/* ---- building ------------------------------------------------------------ */

static int
cmp_obs(const void *a, const void *b)
{
	const struct dt_sandbox *x = *(const struct dt_sandbox *const *)a;
	const struct dt_sandbox *y = *(const struct dt_sandbox *const *)b;

	return strcmp(x->name, y->name);
}

static int
cmp_rec(const void *a, const void *b)
{
	const struct plan_record *x = *(const struct plan_record *const *)a;
	const struct plan_record *y = *(const struct plan_record *const *)b;

	return strcmp(x->name, y->name);
}

/* The builder's indexes by name (common/nameix.h) read these. */
static const char *
obs_name(const void *ctx, size_t i)
{
	return ((const struct dt_sandbox *const *)ctx)[i]->name;
}

static const char *
rec_name(const void *ctx, size_t i)
{
	return ((const struct plan_record *const *)ctx)[i]->name;
}

/* sort_by_name: qsort, unless already sorted (records are read in name
 * order, and a list in creation order often is): a sort of 100,000 names
 * is 1.7 million strcmp calls, each a cache miss or two. The same order
 * either way: glibc's qsort keeps equal names in place here. */
static void
sort_by_name(void *base, size_t n, size_t size,
             int (*cmp)(const void *, const void *))
{
	const char *v = base;
	size_t i;

	for (i = 1; i < n; i++)
		if (cmp(v + (i - 1) * size, v + i * size) > 0) {
			qsort(base, n, size, cmp);
			return;
		}
}

/*
 * The indexes by name, made on first use. A name met twice gives the
 * first listed observation, the first record in name order (records are
 * unique by name), the one spec (specs are).
 */
struct plan_ix {
	struct nameix obs, rec, spec;
	const struct plan_record **recs; /* by name, rec's array */
	unsigned made;                   /* IX_* bits */
};

enum { IX_OBS = 1, IX_REC = 2, IX_SPEC = 4 };

static const struct nameix *
ix_obs(const struct builder *b)
{
	struct plan_ix *x = b->ix;
	size_t i;

	if (!(x->made & IX_OBS)) {
		nameix_init(&x->obs, obs_name, b->obs, b->in->nobserved);
		for (i = 0; i < b->in->nobserved; i++)
			nameix_add(&x->obs, i);
		x->made |= IX_OBS;
	}
	return &x->obs;
}

static const struct nameix *
ix_rec(const struct builder *b)
{
	const struct plan_input *in = b->in;
	struct plan_ix *x = b->ix;
	size_t i;

	if (!(x->made & IX_REC)) {
		x->recs = xcalloc(in->nrecords + 1, sizeof(*x->recs));
		for (i = 0; i < in->nrecords; i++)
			x->recs[i] = &in->records[i];
		sort_by_name(x->recs, in->nrecords, sizeof(*x->recs), cmp_rec);
		nameix_init(&x->rec, rec_name, x->recs, in->nrecords);
		for (i = 0; i < in->nrecords; i++)
			nameix_add(&x->rec, i);
		x->made |= IX_REC;
	}
	return &x->rec;
}

static const char *
spec_name(const void *ctx, size_t i)
{
	return ((const struct spec *)ctx)[i].name;
}

static const struct nameix *
ix_spec(const struct builder *b)
{
	struct plan_ix *x = b->ix;
	size_t i;

	if (!(x->made & IX_SPEC)) {
		nameix_init(&x->spec, spec_name, b->in->specs, b->in->nspecs);
		for (i = 0; i < b->in->nspecs; i++)
			nameix_add(&x->spec, i);
		x->made |= IX_SPEC;
	}
	return &x->spec;
}

static void
ix_free(struct plan_ix *x)
{
	if (x->made & IX_OBS)
		nameix_free(&x->obs);
	if (x->made & IX_REC) {
		nameix_free(&x->rec);
		free(x->recs);
	}
	if (x->made & IX_SPEC)
		nameix_free(&x->spec);
	free(x);
}

static const struct dt_sandbox *
find_obs(const struct builder *b, const char *name)
{
	long i = nameix_find(ix_obs(b), name);

	return i >= 0 ? b->obs[i] : NULL;
}

static const struct dt_sandbox *
find_foreign(const struct builder *b, const char *name)
{
	long i = nameix_find(&b->foreign_ix, name);

	return i >= 0 ? b->foreign[i] : NULL;
}

static const struct plan_record *
find_rec(const struct builder *b, const char *name)
{
	long i = nameix_find(ix_rec(b), name);

	return i >= 0 ? b->ix->recs[i] : NULL;
}

static const struct spec *
find_spec(const struct builder *b, const char *name)
{
	long i = nameix_find(ix_spec(b), name);

	return i >= 0 ? &b->in->specs[i] : NULL;
}

/* first_of_name: observation i is the first listed of its name */
static int
first_of_name(const struct builder *b, size_t i)
{
	return nameix_find(ix_obs(b), b->obs[i]->name) == (long)i;
}

/* A few observations gathered to be handled in name order. */
struct obs_list {
	const struct dt_sandbox **v;
	size_t n, alloc;
};

static void
to_name_order(struct obs_list *l, const struct dt_sandbox *o)
{
	if (l->n == l->alloc) {
		l->alloc = l->alloc ? 2 * l->alloc : 16;
		l->v = xreallocarray(l->v, l->alloc, sizeof(*l->v));
	}
	l->v[l->n++] = o;
}

/* ours: the state and the live labels agree (DESIGN.md §4). */
static int
rec_is_ours(const struct plan_record *r, const struct dt_sandbox *o)
{
	if (r == NULL)
		return 0;
	return r->id == NULL || o->id == NULL || strcmp(r->id, o->id) == 0;
}

static int
is_ours(const struct builder *b, const struct dt_sandbox *o)
{
	return rec_is_ours(find_rec(b, o->name), o);
}

/* obs_is_ours: is_ours() of observation k, by the joins when given (an
 * observation no record joins is looked up: a second listing) */
static int
obs_is_ours(const struct builder *b, size_t k)
{
	if (b->obs_rec != NULL && b->obs_rec[k] >= 0)
		return rec_is_ours(&b->in->records[b->obs_rec[k]], b->obs[k]);
	return is_ours(b, b->obs[k]);
}

static int targeted(const struct builder *b, const char *name);

/*
 * deletable: observation k is the stack's, the first listed of its name,
 * targeted, and no spec names it. With the joins, one the refresh joined
 * to a record is the first listed of its name, and one no record joins
 * is not the stack's or not the first: no lookup either way.
 */
static int
deletable(const struct builder *b, size_t k)
{
	const struct dt_sandbox *o = b->obs[k];

	if (b->obs_rec != NULL)
		return !b->obs_spec[k] && b->obs_rec[k] >= 0 &&
		       obs_is_ours(b, k) && targeted(b, o->name);
	return !find_spec(b, o->name) && is_ours(b, o) &&
	       targeted(b, o->name) && first_of_name(b, k);
}

void
add_error(struct builder *b, const char *name, const char *fmt, ...)
{
	struct plan *p = b->p;
	va_list ap;

	p->errors =
	        xreallocarray(p->errors, p->nerrors + 1, sizeof(*p->errors));
	p->errors[p->nerrors].name = xstrdup(name);
	va_start(ap, fmt);
	p->errors[p->nerrors].message = xvasprintf(fmt, ap);
	va_end(ap);
	p->nerrors++;
}

struct plan_action *
new_action(struct builder *b, const char *name, enum plan_kind kind)
{
	struct plan *p = b->p;
	struct plan_action *a;

	if (p->nactions == b->alloc_actions) {
		b->alloc_actions = b->alloc_actions ? 2 * b->alloc_actions : 16;
		p->actions = xreallocarray(p->actions, b->alloc_actions,
		                           sizeof(*p->actions));
	}
	a = &p->actions[p->nactions++];
	memset(a, 0, sizeof(*a));
	a->name = xstrdup(name);
	a->kind = kind;
	return a;
}

void
action_clear(struct plan_action *a)
{
	size_t j;

	if (!a->desired_borrowed || a->name != a->desired->name)
		free(a->name);
	free(a->sandbox_id);
	free(a->source);
	for (j = 0; j < a->nreasons; j++)
		reason_clear(&a->reasons[j]);
	free(a->reasons);
	for (j = 0; j < a->nsteps; j++)
		step_clear(&a->steps[j]);
	free(a->steps);
	if (!a->desired_borrowed)
		spec_free(a->desired);
	dt_sandbox_free(a->observed);
	intern_free(a->fingerprint);
	strmap_clear(&a->owned_labels);
	memset(a, 0, sizeof(*a));
}

void
plan_free(struct plan *p)
{
	size_t i;

	if (p == NULL)
		return;
	if (p->specs_refs != NULL && --*p->specs_refs < 0)
		abort(); /* freed twice */
	free(p->seal_mac);
	for (i = 0; i < p->nactions; i++)
		action_clear(&p->actions[i]);
	free(p->actions);
	for (i = 0; i < p->nerrors; i++) {
		free(p->errors[i].name);
		free(p->errors[i].message);
	}
	free(p->errors);
	for (i = 0; i < p->nresources; i++)
		plan_resource_clear(&p->resources[i]);
	free(p->resources);
	strmap_clear(&p->unmanaged);
	strmap_clear(&p->not_compared);
	strmap_clear(&p->targets);
	free(p->format_version);
	free(p->stack);
	free(p->created_at);
	free(p);
}

void
set_desired(struct builder *b, struct plan_action *a, const struct spec *s)
{
	if (b->in->specs_refs == NULL) {
		a->desired = spec_dup(s);
		return;
	}
	/* borrowed: the plan never changes a desired spec (the cast only
	 * lets the action's member stay non-const for the plans that own
	 * theirs) */
	a->desired = (struct spec *)s;
	a->desired_borrowed = 1;
	/* and its name is the spec's (the same text) */
	if (a->name != NULL && strcmp(a->name, s->name) == 0) {
		free(a->name);
		a->name = s->name;
	}
}

void
drop_last_action(struct builder *b)
{
	action_clear(&b->p->actions[--b->p->nactions]);
}

struct plan_reason *
add_reason(struct plan_action *a, enum plan_category cat,
           enum plan_origin origin, const char *field, const char *old,
           const char *new_, int forces)
{
	struct plan_reason *r;

	a->reasons =
	        xreallocarray(a->reasons, a->nreasons + 1, sizeof(*a->reasons));
	r = &a->reasons[a->nreasons++];
	/* the field names are few: one shared copy of each */
	r->field = intern_dup(field);
	r->old = xstrdup_or_null(old);
	r->new_ = xstrdup_or_null(new_);
	r->forces_replace = forces;
	r->new_borrowed = 0;
	r->note = NULL;
	r->category = cat;
	r->origin = origin;
	return r;
}

struct plan_reason *
add_reason_word(struct plan_action *a, enum plan_category cat,
                enum plan_origin origin, const char *field, const char *old,
                const char *new_)
{
	struct plan_reason *r =
	        add_reason(a, cat, origin, field, NULL, NULL, 0);

	r->old = intern_dup(old);
	r->new_ = intern_dup(new_);
	return r;
}

void
reason_clear(struct plan_reason *r)
{
	intern_free(r->field);
	intern_free(r->old);
	if (!r->new_borrowed)
		intern_free(r->new_);
	intern_free(r->note);
}

struct plan_reason *
add_reason_num(struct plan_action *a, enum plan_category cat,
               enum plan_origin origin, const char *field, long long old,
               long long new_)
{
	char o[32], n[32];

	snprintf(o, sizeof(o), "%lld", old);
	snprintf(n, sizeof(n), "%lld", new_);
	return add_reason(a, cat, origin, field, o, n, 0);
}

struct plan_step *
add_step(struct plan_action *a, enum plan_step_kind kind)
{
	struct plan_step *st;

	if (a->nsteps >= PLAN_MAX_STEPS)
		abort(); /* the rules never plan that many */
	if (a->nsteps == a->asteps) {
		/* most actions have one or two steps: no room for sixteen
		 * in each of a hundred thousand */
		a->asteps = a->asteps ? 2 * a->asteps : 2;
		a->steps =
		        xreallocarray(a->steps, a->asteps, sizeof(*a->steps));
	}
	st = &a->steps[a->nsteps++];
	memset(st, 0, sizeof(*st));
	st->kind = kind;
	return st;
}

char *
source_of(const struct spec *s)
{
	if (s->file && spec_line(s) > 0)
		return spec_source(s);
	return xstrdup(s->file ? s->file : "-");
}

enum dt_state
lifecycle_steps(struct plan_action *a, enum dt_state cur, enum dt_state final)
{
	switch (final) {
	case DT_STATE_STARTED:
		/* start also resumes a paused (VM) sandbox */
		if (cur == DT_STATE_STOPPED || cur == DT_STATE_ARCHIVED ||
		    cur == DT_STATE_PAUSED) {
			add_step(a, STEP_START);
			add_step(a, STEP_WAIT_STABLE);
			return DT_STATE_STARTED;
		}
		break;
	case DT_STATE_STOPPED:
		if (cur == DT_STATE_STARTED || cur == DT_STATE_PAUSED) {
			add_step(a, STEP_STOP);
			add_step(a, STEP_WAIT_STABLE);
			return DT_STATE_STOPPED;
		}
		break;
	case DT_STATE_PAUSED:
		if (cur == DT_STATE_STOPPED || cur == DT_STATE_ARCHIVED) {
			add_step(a, STEP_START);
			add_step(a, STEP_WAIT_STABLE);
			cur = DT_STATE_STARTED;
		}
		if (cur == DT_STATE_STARTED) {
			add_step(a, STEP_PAUSE);
			add_step(a, STEP_WAIT_STABLE);
			return DT_STATE_PAUSED;
		}
		break;
	case DT_STATE_ARCHIVED:
		if (cur == DT_STATE_STARTED || cur == DT_STATE_PAUSED) {
			add_step(a, STEP_STOP);
			add_step(a, STEP_WAIT_STABLE);
			cur = DT_STATE_STOPPED;
		}
		if (cur == DT_STATE_STOPPED) {
			add_step(a, STEP_ARCHIVE);
			add_step(a, STEP_WAIT_STABLE);
			return DT_STATE_ARCHIVED;
		}
		break;
	default:
		break;
	}
	return cur;
}

enum dt_state
spec_final(const struct spec *s, enum dt_state orig)
{
	switch (s->state) {
	case SPEC_STATE_STARTED:
		return DT_STATE_STARTED;
	case SPEC_STATE_STOPPED:
		/* archived is stopped too: see the rules above */
		return orig == DT_STATE_ARCHIVED ? DT_STATE_ARCHIVED
		                                 : DT_STATE_STOPPED;
	case SPEC_STATE_ARCHIVED:
		return DT_STATE_ARCHIVED;
	case SPEC_STATE_PAUSED:
		return DT_STATE_PAUSED;
	default:
		return orig;
	}
}

void
create_steps(struct builder *b, struct plan_action *a, const struct spec *s)
{
	struct plan_step *st = add_step(a, STEP_CREATE);

	labels_merge(s, b->in->stack, NULL, NULL, &st->labels);
	add_step(a, STEP_WAIT_STABLE);
	if (s->state == SPEC_STATE_STOPPED || s->state == SPEC_STATE_ARCHIVED ||
	    s->state == SPEC_STATE_PAUSED)
		lifecycle_steps(a, DT_STATE_STARTED,
		                spec_final(s, DT_STATE_STARTED));
	labels_owned(s, b->in->stack, &a->owned_labels);
}

/*
 * Whether lifecycle.preventDestroy protects a sandbox. While its manifest
 * is present (s != NULL) the manifest alone decides, as the current
 * configuration does in Terraform: turning the flag off and changing a
 * create-only field in the same commit replaces it (the stale label would
 * otherwise refuse the plan, and a refused plan never removes the label).
 * A sandbox removed from the manifests falls back to its live label and
 * the last applied spec.
 */
int
prevent_destroy_of(const struct spec *s, const struct dt_sandbox *o,
                   const struct plan_record *r)
{
	const char *v =
	        o ? strmap_get(&o->labels, LABEL_PREVENT_DESTROY) : NULL;
	const struct spec *applied;

	if (s)
		return s->prevent_destroy;
	if (v && strcmp(v, "true") == 0)
		return 1;
	if (plan_record_applied(r, &applied) < 0) {
		/* unknown: protected, as a guard must fail closed */
		log_warn("%s: the last applied spec cannot be read (%s); "
		         "kept as if lifecycle.preventDestroy were set",
		         r->name, sf_error_last());
		return 1;
	}
	return applied && applied->prevent_destroy;
}

/*
 * plan_create: a desired sandbox that does not exist. Its reasons list
 * what it is created from; the origin says whether it is new in the
 * manifests or was deleted outside sandform (the state has its id).
 */
static void
plan_create(struct builder *b, const struct spec *s,
            const struct plan_record *r)
{
	struct plan_action *a = new_action(b, s->name, PLAN_CREATE);
	enum plan_origin origin =
	        r && r->id ? PLAN_ORIGIN_OUT_OF_BAND : PLAN_ORIGIN_MANIFEST;

	a->source = source_of(s);
	if (r && r->id)
		add_reason(a, PLAN_CAT_MISSING, origin, "sandbox", r->id,
		           "(created again: gone)", 0);
	else if (b->in->specs_refs != NULL) {
		/* the name of the spec the action borrows (set_desired) */
		struct plan_reason *rs = add_reason(a, PLAN_CAT_MISSING, origin,
		                                    "sandbox", NULL, NULL, 0);

		rs->new_ = s->name;
		rs->new_borrowed = 1;
	} else
		add_reason(a, PLAN_CAT_MISSING, origin, "sandbox", NULL,
		           s->name, 0);
	/* the image, snapshot and state are the same text for many
	 * creates: shared copies */
	if (s->image)
		add_reason_word(a, PLAN_CAT_MISSING, origin, "spec.image", NULL,
		                s->image);
	if (s->snapshot)
		add_reason_word(a, PLAN_CAT_MISSING, origin, "spec.snapshot",
		                NULL, s->snapshot);
	if (s->state != SPEC_STATE_ANY)
		add_reason_word(a, PLAN_CAT_MISSING, origin, "spec.state", NULL,
		                spec_state_name(s->state));
	create_steps(b, a, s);
	set_desired(b, a, s);
	a->fingerprint = intern_dup(""); /* the same for every create */
}

static void
plan_delete(struct builder *b, const struct dt_sandbox *o,
            const struct plan_record *r)
{
	struct plan_action *a;

	if (prevent_destroy_of(NULL, o, r)) {
		add_error(b, o->name,
		          "refusing to delete '%s' (removed from manifests): "
		          "lifecycle.preventDestroy is set",
		          o->name);
		return;
	}
	a = new_action(b, o->name, PLAN_DELETE);
	a->sandbox_id = xstrdup_or_null(o->id);
	a->source = xstrdup("removed from manifests");
	add_reason(a, PLAN_CAT_REMOVED, PLAN_ORIGIN_MANIFEST, "sandbox", o->id,
	           NULL, 0);
	if (dt_state_is_transitional(o->state))
		add_step(a, STEP_WAIT_STABLE);
	add_step(a, STEP_DELETE);
	add_step(a, STEP_WAIT_GONE);
	a->observed = plan_observed_dup(o);
	a->fingerprint = plan_fingerprint(o);
}

/* The other sandform stack whose label o carries, or NULL. */
static const char *
other_stack(const struct dt_sandbox *o, const char *stack)
{
	const char *v = strmap_get(&o->labels, LABEL_STACK);

	return v && *v && strcmp(v, stack) != 0 ? v : NULL;
}

static int
cmp_action(const void *x, const void *y)
{
	const struct plan_action *a = x, *b = y;

	return strcmp(a->name, b->name);
}

/* targeted: the name is in the plan's scope (--target; none: all). */
static int
targeted(const struct builder *b, const char *name)
{
	return b->p->targets.n == 0 || strmap_get(&b->p->targets, name);
}

/* note_unresolved: the secrets of s the plan could not compare. */
static void
note_unresolved(struct builder *b, const struct spec *s)
{
	struct buf keys = BUF_INIT;
	size_t i;

	for (i = 0; i < s->nenv; i++)
		if (s->env[i].unresolved)
			buf_addf(&keys, "%s%s", keys.len ? "," : "",
			         s->env[i].key);
	if (keys.len)
		strmap_set(&b->p->not_compared, s->name, buf_cstr(&keys));
	buf_free(&keys);
}

/*
 * missing_secrets: each platform secret of s that the organization does
 * not have (GET /secret) is a plan error at its manifest position; 1
 * when there is one. Not checked when the names are not known.
 */
char *
plan_missing_secret(const struct spec *s, const char *env, const char *name)
{
	const char *at = strmap_get(&s->secret_pos, env);
	char *src, *msg;

	if (s->file && at)
		src = xasprintf("%s:%s", s->file, at);
	else
		src = source_of(s);
	msg = xasprintf("%s: spec.secrets.%s: the organization has no secret "
	                "'%s' (expected the name of one of its secrets, "
	                "created in the Daytona dashboard or with POST "
	                "/secret)",
	                src, env, name);
	free(src);
	return msg;
}

static int
missing_secrets(struct builder *b, const struct spec *s)
{
	const struct strmap *have = b->in->secret_names;
	int n = 0;

	if (!have)
		return 0;
	for (size_t i = 0; i < s->secrets.n; i++) {
		const char *env = s->secrets.v[i].key;
		const char *name = s->secrets.v[i].value;
		char *msg;

		if (strmap_get(have, name))
			continue;
		msg = plan_missing_secret(s, env, name);
		add_error(b, s->name, "%s", msg);
		free(msg);
		n++;
	}
	return n > 0;
}

/* plan_spec: the action (or the error) for desired sandbox i. */
static void
plan_spec(struct builder *b, size_t i)
{
	const struct plan_input *in = b->in;
	const struct spec *s = &in->specs[i];
	const struct dt_sandbox *o;
	const struct plan_record *r;
	const struct dt_sandbox *f = find_foreign(b, s->name);

	if (b->obs_rec != NULL) { /* the refresh's joins */
		o = in->spec_obs[i] >= 0 ? in->observed[in->spec_obs[i]] : NULL;
		r = in->spec_rec[i] >= 0 ? &in->records[in->spec_rec[i]] : NULL;
	} else {
		o = find_obs(b, s->name);
		r = find_rec(b, s->name);
	}

	if (!targeted(b, s->name))
		return;
	if (missing_secrets(b, s))
		return;
	if (s->nunresolved)
		note_unresolved(b, s);
	if (o && rec_is_ours(r, o)) { /* r: o's record (the same name) */
		diff_existing(b, s, o, r);
	} else if (o && in->locked_by) {
		add_error(b, s->name,
		          "'%s' (id %s) carries the label %s=%s but is not in "
		          "the state: probably being created by the running "
		          "%s; plan again when it has finished",
		          s->name, nz(o->id), LABEL_STACK, in->stack,
		          in->locked_by);
	} else if (o) {
		add_error(b, s->name,
		          "'%s' (id %s) carries the label %s=%s but is not in "
		          "the state; adopt it with 'sandform state import %s "
		          "%s'",
		          s->name, nz(o->id), LABEL_STACK, in->stack, s->name,
		          nz(o->id));
	} else if (f && other_stack(f, in->stack)) {
		/* importing it would steal it from that stack */
		add_error(b, s->name,
		          "a sandbox named '%s' (id %s) belongs to sandform "
		          "stack '%s'; choose another name (or remove it from "
		          "stack '%s' first)",
		          s->name, nz(f->id), other_stack(f, in->stack),
		          other_stack(f, in->stack));
	} else if (f) {
		add_error(b, s->name,
		          "a sandbox named '%s' (id %s) already exists in the "
		          "organization and is not managed by stack '%s'; "
		          "adopt it with 'sandform state import %s %s' or "
		          "choose another name",
		          s->name, nz(f->id), in->stack, s->name, nz(f->id));
	} else {
		plan_create(b, s, r);
	}
}

/* mass_delete_guard: refuse more than half (or all) of the stack. */
static void
mass_delete_guard(struct builder *b)
{
	struct plan *p = b->p;
	size_t i, ndelete = 0, nres, nres_delete = 0, nours;

	/* 0: the default; a negative value stands for 0% */
	int pct = b->in->mass_delete == 0  ? STACK_MASS_DELETE_DEFAULT
	          : b->in->mass_delete < 0 ? 0
	                                   : b->in->mass_delete;

	for (i = 0; i < p->nactions; i++)
		if (p->actions[i].kind == PLAN_DELETE)
			ndelete++;
	/* the stack's volumes and snapshots count with its sandboxes: of
	 * the ones found live, those the plan deletes */
	nres = plan_res_found(b->in);
	for (i = 0; i < p->nresources; i++)
		if (p->resources[i].op == PLAN_RES_DELETE)
			nres_delete++;
	ndelete += nres_delete;
	nours = b->nfound_ours + nres;
	if (ndelete == 0 || b->in->allow_mass_delete ||
	    !(ndelete * 100 > (size_t)pct * nours ||
	      (ndelete == nours && pct < 100)))
		return;
	p->mass_delete_refused = 1;
	/* the likeliest cause first: another project's sandboxes under
	 * this stack's name, then a wrong path; only then the override */
	add_error(b, "*",
	          "refusing to delete %zu of the %zu sandboxes%s of stack "
	          "'%s' (more than %d%%): if they belong to another project, "
	          "give this project a stack of its own (--stack NAME, or "
	          "'sandform init'); if the manifest path is wrong, fix it; "
	          "only to really delete them, --allow-mass-delete",
	          ndelete, nours, nres ? ", volumes and snapshots" : "",
	          b->in->stack, pct);
}

void
plan_summarize(struct plan *p)
{
	size_t i;

	memset(&p->summary, 0, sizeof(p->summary));

	if (p->nactions > 1)
		qsort(p->actions, p->nactions, sizeof(*p->actions), cmp_action);
	for (i = 0; i < p->nactions; i++) {
		enum plan_kind k = p->actions[i].kind;

		p->summary.by_kind[k]++;
		switch (k) {
		case PLAN_CREATE:
			p->summary.create++;
			break;
		case PLAN_UPDATE:
			p->summary.update++;
			break;
		case PLAN_REPLACE:
			p->summary.replace++;
			break;
		case PLAN_DELETE:
			p->summary.delete_++;
			break;
		default:
			p->summary.other++;
		}
	}
	/* declared volumes and snapshots count with the sandboxes */
	for (i = 0; i < p->nresources; i++) {
		switch (p->resources[i].op) {
		case PLAN_RES_CREATE:
			p->summary.create++;
			break;
		case PLAN_RES_REPLACE:
			p->summary.replace++;
			break;
		case PLAN_RES_DELETE:
			p->summary.delete_++;
			break;
		default:
			break;
		}
	}
}

/* builder_init: check the input and make the name-sorted views. */
static int
builder_init(struct builder *b, const struct plan_input *in)
{
	struct plan *p;
	char now[SF_ISO8601_LEN + 1];
	size_t i;

	memset(b, 0, sizeof(*b));
	for (i = 1; i < in->nspecs; i++)
		if (strcmp(in->specs[i - 1].name, in->specs[i].name) >= 0)
			return sf_error_set(
			        SF_EINVALID,
			        "plan: desired set not sorted or has "
			        "duplicate '%s'",
			        in->specs[i].name);
	for (i = 0; i < in->nobserved; i++)
		if (in->observed[i]->name == NULL)
			return sf_error_set(SF_EINVALID,
			                    "plan: observed sandbox without a "
			                    "name");
	b->p = p = xcalloc(1, sizeof(*p));
	p->format_version = xstrdup(PLAN_FORMAT_VERSION);
	p->stack = xstrdup(in->stack);
	time_format_iso(time_now_ms(), now);
	p->created_at = xstrdup(now);
	p->refreshed = in->refreshed;
	if (in->specs_refs != NULL) {
		p->specs_refs = in->specs_refs;
		++*p->specs_refs;
	}
	b->in = in;
	for (i = 0; i < in->ntargets; i++)
		strmap_set(&p->targets, in->targets[i], "");
	b->max_archive = in->max_auto_archive > 0
	                         ? (int)in->max_auto_archive
	                         : SPEC_DEFAULT_MAX_AUTO_ARCHIVE;
	b->obs = in->observed;
	b->ix = xcalloc(1, sizeof(*b->ix));
	b->foreign = xcalloc(in->nforeign + 1, sizeof(*b->foreign));
	for (i = 0; i < in->nforeign; i++)
		b->foreign[i] = in->foreign[i];
	sort_by_name(b->foreign, in->nforeign, sizeof(*b->foreign), cmp_obs);
	nameix_init(&b->foreign_ix, obs_name, b->foreign, in->nforeign);
	for (i = 0; i < in->nforeign; i++)
		nameix_add(&b->foreign_ix, i);
	if (in->rec_obs != NULL && in->spec_obs != NULL &&
	    in->spec_rec != NULL) {
		/* the joins turned around: observation -> record, spec */
		b->obs_rec = xmalloc((in->nobserved + 1) * sizeof(*b->obs_rec));
		b->obs_spec = xcalloc(in->nobserved + 1, 1);
		for (i = 0; i < in->nobserved; i++)
			b->obs_rec[i] = -1;
		for (i = 0; i < in->nrecords; i++)
			if (in->rec_obs[i] >= 0 &&
			    b->obs_rec[in->rec_obs[i]] < 0)
				b->obs_rec[in->rec_obs[i]] = (int32_t)i;
		for (i = 0; i < in->nspecs; i++)
			if (in->spec_obs[i] >= 0)
				b->obs_spec[in->spec_obs[i]] = 1;
	}
	for (i = 0; i < in->nobserved; i++)
		if (obs_is_ours(b, i)) {
			b->nfound_ours++;
			if ((unsigned)b->obs[i]->state < DT_STATE_COUNT)
				p->managed_by_state[b->obs[i]->state]++;
		}
	p->managed = b->nfound_ours;
	return 0;
}

static void
builder_done(struct builder *b, struct plan **out)
{
	/* the actions array grew by doubling: give back what is unused
	 * (up to half of it; a plan of 10,000 creates held 1.8 MiB for
	 * 1.1 MiB of actions) */
	if (b->p->nactions > 0 && b->p->nactions < b->alloc_actions) {
		b->p->actions = xreallocarray(b->p->actions, b->p->nactions,
		                              sizeof(*b->p->actions));
		b->alloc_actions = b->p->nactions;
	}
	*out = b->p;
	free(b->foreign);
	nameix_free(&b->foreign_ix);
	ix_free(b->ix);
	free(b->obs_rec);
	free(b->obs_spec);
}

/*
 * check_targets: a --target that names nothing of the stack (no manifest
 * when with_specs, no sandbox of the stack, no record) is a typo: an error,
 * rather than a plan that silently does nothing.
 */
static void
check_targets(struct builder *b, bool with_specs)
{
	const struct plan_input *in = b->in;
	const struct dt_sandbox *o;
	enum res_kind rk;
	const char *rn;
	size_t i;

	for (i = 0; i < in->ntargets; i++) {
		const char *t = in->targets[i];

		o = find_obs(b, t);
		if ((with_specs && find_spec(b, t)) || (o && is_ours(b, o)) ||
		    find_rec(b, t) || plan_res_target_known(in, t, with_specs))
			continue;
		if (res_key_parse(t, &rk, &rn) == 0)
			add_error(b, t,
			          "--target %s: stack '%s' has no %s%s of "
			          "that name",
			          t, in->stack,
			          with_specs ? "declared or " : "",
			          rk == RES_VOLUME ? "recorded volume"
			                           : "recorded snapshot");
		else
			add_error(b, t,
			          "--target %s: stack '%s' has no %ssandbox of "
			          "that name",
			          t, in->stack,
			          with_specs ? "manifest or " : "");
	}
}

/*
 * untargeted_users: a snapshot replace also replaces the stack's
 * sandboxes built from it; one left out by --target would stay on the
 * removed snapshot, so the plan is refused naming it.
 */
static void
untargeted_users(struct builder *b)
{
	const struct plan_input *in = b->in;
	size_t i;

	for (i = 0; b->p->targets.n > 0 && i < in->nspecs; i++) {
		const struct spec *s = &in->specs[i];
		const struct dt_sandbox *o = find_obs(b, s->name);

		if (targeted(b, s->name) || o == NULL || !is_ours(b, o) ||
		    !plan_res_replacing(b->p, RES_SNAPSHOT, s->snapshot))
			continue;
		add_error(b, s->name,
		          "snapshot %s is replaced, and with it sandbox '%s' "
		          "built from it: add --target %s",
		          s->snapshot, s->name, s->name);
	}
}

int
plan_build(const struct plan_input *in, struct plan **out)
{
	struct builder b;
	struct obs_list gone = { NULL, 0, 0 };
	size_t i;
	int rc;

	*out = NULL;
	if ((rc = builder_init(&b, in)) < 0)
		return rc;
	plan_resources_declared(&b);
	for (i = 0; i < in->nspecs; i++)
		plan_spec(&b, i);
	for (i = 0; i < in->nobserved; i++) {
		const struct dt_sandbox *o = b.obs[i];

		/* a second sandbox of the same name cannot exist, but an
		 * observation may be listed twice (walk + GET): once */
		if (!deletable(&b, i))
			continue;
		if (in->no_prune)
			b.p->kept++;
		else
			to_name_order(&gone, o);
	}
	sort_by_name(gone.v, gone.n, sizeof(*gone.v), cmp_obs);
	for (i = 0; i < gone.n; i++)
		plan_delete(&b, gone.v[i], find_rec(&b, gone.v[i]->name));
	free(gone.v);
	for (i = 0; i < in->nreplace; i++)
		if (find_spec(&b, in->replace[i]) == NULL ||
		    find_obs(&b, in->replace[i]) == NULL)
			add_error(&b, in->replace[i],
			          "--replace %s: stack '%s' has no sandbox of "
			          "that name in the manifests",
			          in->replace[i], in->stack);
	untargeted_users(&b);
	plan_resources(&b);
	check_targets(&b, true);
	mass_delete_guard(&b);
	plan_summarize(b.p);
	builder_done(&b, out);
	return 0;
}

/*
 * plan_build_destroy: the builder's own rules (is_ours, prevent_destroy_of)
 * so that destroy and plan never disagree on which sandbox is the stack's
 * or protected. A --force-destroy name is checked against the records, not
 * the observations: a name the state does not know is a typo even when a
 * sandbox of that name exists.
 */
static int
forced_name(const char *const *force, size_t nforce, const char *name)
{
	size_t i;

	for (i = 0; i < nforce; i++)
		if (strcmp(force[i], name) == 0)
			return 1;
	return 0;
}

static void
destroy_action(struct builder *b, const struct dt_sandbox *o)
{
	struct plan_action *a = new_action(b, o->name, PLAN_DELETE);

	a->sandbox_id = xstrdup_or_null(o->id);
	a->source = xstrdup("destroy");
	add_reason(a, PLAN_CAT_REMOVED, PLAN_ORIGIN_MANIFEST, "sandbox", o->id,
	           NULL, 0);
	if (o->id) {
		if (dt_state_is_transitional(o->state))
			add_step(a, STEP_WAIT_STABLE);
		add_step(a, STEP_DELETE);
		add_step(a, STEP_WAIT_GONE);
	}
	a->observed = plan_observed_dup(o);
	a->fingerprint = plan_fingerprint(o);
}

int
plan_build_destroy(const struct plan_input *in, const char *const *force,
                   size_t nforce, struct plan **out)
{
	struct builder b;
	struct obs_list gone = { NULL, 0, 0 };
	struct plan *p;
	size_t i;
	int rc;

	*out = NULL;
	if ((rc = builder_init(&b, in)) < 0)
		return rc;
	p = b.p;
	p->managed = in->nrecords;
	for (i = 0; i < in->nobserved; i++) {
		const struct dt_sandbox *o = b.obs[i];

		/* listed twice (walk + GET): one delete */
		if (!is_ours(&b, o) || !targeted(&b, o->name) ||
		    !first_of_name(&b, i))
			continue;
		to_name_order(&gone, b.obs[i]);
	}
	sort_by_name(gone.v, gone.n, sizeof(*gone.v), cmp_obs);
	for (i = 0; i < gone.n; i++) {
		const struct dt_sandbox *o = gone.v[i];

		if (o->state == DT_STATE_DESTROYED ||
		    o->state == DT_STATE_DESTROYING)
			continue;
		if (prevent_destroy_of(find_spec(&b, o->name), o,
		                       find_rec(&b, o->name)) &&
		    !forced_name(force, nforce, o->name)) {
			add_error(&b, o->name,
			          "refusing to destroy '%s': "
			          "lifecycle.preventDestroy is set (name it "
			          "with --force-destroy %s)",
			          o->name, o->name);
			continue;
		}
		destroy_action(&b, o);
	}
	free(gone.v);
	/* a --force-destroy that names nothing of the stack is a typo */
	for (i = 0; i < nforce; i++)
		if (find_rec(&b, force[i]) == NULL &&
		    !plan_res_recorded(in, force[i]))
			add_error(&b, force[i],
			          "--force-destroy %s: stack '%s' has no "
			          "sandbox of that name",
			          force[i], in->stack);
	plan_resources_destroy(&b, force, nforce);
	check_targets(&b, false);
	plan_summarize(p);
	builder_done(&b, out);
	return 0;
}
