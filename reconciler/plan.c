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
 *   each; labels are merged three-way (spec_merge_labels).
 * - state: started is enforced; stopped accepts archived (archiving is the
 *   platform's auto-archive, configured with autoArchiveInterval); archived
 *   is enforced; omitted accepts any stable state.
 * - A transitional state is judged by where the sandbox is heading
 *   (desiredState) and the steps wait for it to settle first.
 */
#include "common/base.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "daytona/client.h"
#include "reconciler/plan.h"

static const char *const kind_names[PLAN_KIND_COUNT] = {
	"create", "replace", "delete", "recover", "resize",
	"update", "start",   "stop",   "archive",
};

static const char *const step_names[STEP_KIND_COUNT] = {
	"create",          "delete",         "wait_gone",   "wait_stable",
	"start",           "stop",           "archive",     "recover",
	"resize",          "set_labels",     "set_public",  "set_autostop",
	"set_autoarchive", "set_autodelete", "set_network",
};

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
plan_step_name(enum plan_step_kind k)
{
	return (unsigned)k < STEP_KIND_COUNT ? step_names[k] : "?";
}

int
plan_step_parse(const char *s, enum plan_step_kind *out)
{
	int i = name_parse(step_names, STEP_KIND_COUNT, s);

	if (i < 0)
		return -1;
	*out = (enum plan_step_kind)i;
	return 0;
}

int
plan_has_changes(const struct plan *p)
{
	return p && p->nactions > 0;
}

/* ---- observed and records ---------------------------------------------- */

void
plan_observed_clear(struct plan_observed *o)
{
	if (o == NULL)
		return;
	free(o->id);
	free(o->name);
	free(o->state);
	free(o->desired_state);
	strmap_clear(&o->labels);
	free(o->snapshot);
	free(o->target);
	free(o->user);
	free(o->error_reason);
	free(o->created_at);
	free(o->updated_at);
	spec_network_clear(&o->network);
	strmap_clear(&o->createonly);
	memset(o, 0, sizeof(*o));
}

void
plan_observed_free(struct plan_observed *o)
{
	plan_observed_clear(o);
	free(o);
}

struct plan_observed *
plan_observed_dup(const struct plan_observed *o)
{
	struct plan_observed *d;

	if (o == NULL)
		return NULL;
	d = xcalloc(1, sizeof(*d));
	*d = *o;
	d->id = xstrdup_or_null(o->id);
	d->name = xstrdup_or_null(o->name);
	d->state = xstrdup_or_null(o->state);
	d->desired_state = xstrdup_or_null(o->desired_state);
	strmap_copy(&d->labels, &o->labels);
	d->snapshot = xstrdup_or_null(o->snapshot);
	d->target = xstrdup_or_null(o->target);
	d->user = xstrdup_or_null(o->user);
	d->error_reason = xstrdup_or_null(o->error_reason);
	d->created_at = xstrdup_or_null(o->created_at);
	d->updated_at = xstrdup_or_null(o->updated_at);
	spec_network_copy(&d->network, &o->network);
	memset(&d->createonly, 0, sizeof(d->createonly));
	strmap_copy(&d->createonly, &o->createonly);
	return d;
}

void
plan_record_clear(struct plan_record *r)
{
	if (r == NULL)
		return;
	free(r->name);
	free(r->id);
	free(r->spec_hash);
	strmap_clear(&r->owned_labels);
	spec_network_clear(&r->network);
	spec_free(r->applied);
	memset(r, 0, sizeof(*r));
}

char *
plan_fingerprint(const struct plan_observed *o)
{
	const char *spec = strmap_get(&o->labels, SPEC_LABEL_SPEC);

	return xasprintf("%s|%s|%s", o->state ? o->state : "",
	                 o->updated_at ? o->updated_at : "", spec ? spec : "");
}

/* ---- the plan ------------------------------------------------------------ */

static void
step_clear(struct plan_step *st)
{
	strmap_clear(&st->labels);
	spec_network_clear(&st->network);
}

void
plan_free(struct plan *p)
{
	size_t i, j;

	if (p == NULL)
		return;
	for (i = 0; i < p->nactions; i++) {
		struct plan_action *a = &p->actions[i];

		free(a->name);
		free(a->sandbox_id);
		free(a->source);
		for (j = 0; j < a->nreasons; j++) {
			free(a->reasons[j].field);
			free(a->reasons[j].old);
			free(a->reasons[j].new_);
			free(a->reasons[j].note);
		}
		free(a->reasons);
		for (j = 0; j < a->nsteps; j++)
			step_clear(&a->steps[j]);
		spec_free(a->desired);
		plan_observed_free(a->observed);
		free(a->fingerprint);
		strmap_clear(&a->owned_labels);
	}
	free(p->actions);
	for (i = 0; i < p->nerrors; i++) {
		free(p->errors[i].name);
		free(p->errors[i].message);
	}
	free(p->errors);
	strmap_clear(&p->unmanaged);
	free(p->format_version);
	free(p->stack);
	free(p->created_at);
	free(p);
}

/* ---- building ------------------------------------------------------------ */

struct builder {
	const struct plan_input *in;
	struct plan *p;
	long long max_archive;
	/* name-sorted views of the inputs */
	const struct plan_observed **obs;
	const struct plan_record **recs;
	const struct plan_observed **foreign;
	size_t nfound_ours; /* stack sandboxes that are ours */
	size_t alloc_actions;
};

static int
cmp_obs(const void *a, const void *b)
{
	const struct plan_observed *x = *(const struct plan_observed *const *)a;
	const struct plan_observed *y = *(const struct plan_observed *const *)b;

	return strcmp(x->name, y->name);
}

static int
cmp_rec(const void *a, const void *b)
{
	const struct plan_record *x = *(const struct plan_record *const *)a;
	const struct plan_record *y = *(const struct plan_record *const *)b;

	return strcmp(x->name, y->name);
}

/* bsearch keys: the name looked for against an element's name */
static int
key_obs(const void *key, const void *elem)
{
	return strcmp(key, (*(const struct plan_observed *const *)elem)->name);
}

static int
key_rec(const void *key, const void *elem)
{
	return strcmp(key, (*(const struct plan_record *const *)elem)->name);
}

static int
key_spec(const void *key, const void *elem)
{
	return strcmp(key, ((const struct spec *)elem)->name);
}

/* names are unique in an organization, so at most one matches */
static const struct plan_observed *
find_obs(const struct plan_observed **v, size_t n, const char *name)
{
	const struct plan_observed *const *hit =
	        n ? bsearch(name, v, n, sizeof(*v), key_obs) : NULL;

	return hit ? *hit : NULL;
}

static const struct plan_record *
find_rec(const struct plan_record **v, size_t n, const char *name)
{
	const struct plan_record *const *hit =
	        n ? bsearch(name, v, n, sizeof(*v), key_rec) : NULL;

	return hit ? *hit : NULL;
}

/* specs are sorted by name (plan_build checks) */
static const struct spec *
find_spec(const struct plan_input *in, const char *name)
{
	return in->nspecs ? bsearch(name, in->specs, in->nspecs,
	                            sizeof(*in->specs), key_spec)
	                  : NULL;
}

/* ours: the state and the live labels agree (DESIGN.md §4). */
static int
is_ours(const struct builder *b, const struct plan_observed *o)
{
	const struct plan_record *r =
	        find_rec(b->recs, b->in->nrecords, o->name);

	if (r == NULL)
		return 0;
	return r->id == NULL || o->id == NULL || strcmp(r->id, o->id) == 0;
}

static void add_error(struct builder *b, const char *name, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void
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

static struct plan_action *
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

static void
add_reason(struct plan_action *a, const char *field, const char *old,
           const char *new_, int forces)
{
	struct plan_reason *r;

	a->reasons =
	        xreallocarray(a->reasons, a->nreasons + 1, sizeof(*a->reasons));
	r = &a->reasons[a->nreasons++];
	r->field = xstrdup(field);
	r->old = xstrdup_or_null(old);
	r->new_ = xstrdup_or_null(new_);
	r->forces_replace = forces;
	r->note = NULL;
}

static void
add_reason_num(struct plan_action *a, const char *field, long long old,
               long long new_)
{
	char o[32], n[32];

	snprintf(o, sizeof(o), "%lld", old);
	snprintf(n, sizeof(n), "%lld", new_);
	add_reason(a, field, o, n, 0);
}

static struct plan_step *
add_step(struct plan_action *a, enum plan_step_kind kind)
{
	struct plan_step *st;

	if (a->nsteps >= PLAN_MAX_STEPS)
		abort(); /* the rules below never plan that many */
	st = &a->steps[a->nsteps++];
	memset(st, 0, sizeof(*st));
	st->kind = kind;
	return st;
}

static char *
source_of(const struct spec *s)
{
	if (s->file && s->line > 0)
		return xasprintf("%s:%d", s->file, s->line);
	return xstrdup(s->file ? s->file : "-");
}

/* The displayed state the sandbox is in or heading to, for the diff. */
static enum dt_state
effective_state(const struct plan_observed *o, int *transitional)
{
	enum dt_state cur = dt_state_parse(o->state);
	enum dt_state want = dt_state_parse(o->desired_state);

	*transitional = dt_state_is_transitional(cur);
	if (!*transitional)
		return cur;
	if (cur == DT_STATE_RESTORING)
		return DT_STATE_STARTED;
	if (dt_state_is_stable(want) && want != DT_STATE_DESTROYED)
		return want;
	/* creating, building, resizing, ...: heading back to started
	 * or to its previous state; judged after the wait by apply */
	switch (cur) {
	case DT_STATE_STOPPING:
	case DT_STATE_ARCHIVING:
		return DT_STATE_STOPPED;
	default:
		return DT_STATE_STARTED;
	}
}

/* Steps that move a sandbox in state cur to final; returns the new cur. */
static enum dt_state
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

static enum dt_state
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
	default:
		return orig;
	}
}

/* The steps of a (re)create: create, wait, then the declared state. */
static void
create_steps(struct builder *b, struct plan_action *a, const struct spec *s)
{
	struct plan_step *st = add_step(a, STEP_CREATE);

	spec_merge_labels(s, b->in->stack, NULL, NULL, &st->labels);
	add_step(a, STEP_WAIT_STABLE);
	if (s->state == SPEC_STATE_STOPPED || s->state == SPEC_STATE_ARCHIVED)
		lifecycle_steps(a, DT_STATE_STARTED,
		                spec_final(s, DT_STATE_STARTED));
	spec_owned_labels(s, b->in->stack, &a->owned_labels);
}

static long long
want_resource(const struct spec *s, long long v, long long image_default)
{
	/* image builds: the server uses value || default */
	if (s->image && v == 0)
		return image_default;
	return v;
}

static int
str_differs(const char *want, const char *have)
{
	return want && have && strcmp(want, have) != 0;
}

static const char *
nz(const char *s)
{
	return s ? s : "";
}

static const char *
env_shown(const struct spec_env *e)
{
	return e->kind == SPEC_ENV_PLAIN ? e->value : "(sensitive)";
}

static const struct spec_env *
env_find(const struct spec *s, const char *key)
{
	size_t i;

	for (i = 0; i < s->nenv; i++)
		if (strcmp(s->env[i].key, key) == 0)
			return &s->env[i];
	return NULL;
}

/* env reasons from the last applied spec: for SPEC_SEG_ENV keys added,
 * removed, plain values and secret references changed; for
 * SPEC_SEG_SECRETS the secrets whose reference stayed (one of their
 * values changed; which one cannot be told). */
static void
env_reasons(struct plan_action *a, const struct spec *old, const struct spec *s,
            int seg)
{
	size_t i;

	for (i = 0; i < old->nenv; i++) {
		const struct spec_env *oe = &old->env[i];
		const struct spec_env *ne = env_find(s, oe->key);
		int same_ref = ne && ne->kind == oe->kind &&
		               strcmp(ne->value, oe->value) == 0;
		char *f = xasprintf("spec.env.%s", oe->key);

		if (seg == SPEC_SEG_SECRETS) {
			if (same_ref && oe->kind != SPEC_ENV_PLAIN)
				add_reason(a, f, "(sensitive)", "(sensitive)",
				           1);
		} else if (ne == NULL) {
			add_reason(a, f, env_shown(oe), NULL, 1);
		} else if (!same_ref) {
			add_reason(a, f, env_shown(oe), env_shown(ne), 1);
		}
		free(f);
	}
	for (i = 0; seg == SPEC_SEG_ENV && i < s->nenv; i++) {
		char *f;

		if (env_find(old, s->env[i].key))
			continue;
		f = xasprintf("spec.env.%s", s->env[i].key);
		add_reason(a, f, NULL, env_shown(&s->env[i]), 1);
		free(f);
	}
}

static char *
volumes_str(const struct spec *s)
{
	struct buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < s->nvolumes; i++)
		buf_addf(&b, "%s%s:%s%s%s", i ? "," : "", s->volumes[i].volume,
		         s->volumes[i].mount_path,
		         s->volumes[i].subpath ? ":" : "",
		         nz(s->volumes[i].subpath));
	return buf_detach(&b, NULL);
}

/* Describe a changed hash group: old and new values when the state has
 * the last applied spec and it matches the live label, else the hashes. */
static void
segment_reason(struct plan_action *a, const struct spec *s,
               const struct plan_record *r, const char *live, int seg)
{
	char oh[SPEC_HASH_SEG_HEX + 1], nh[SPEC_HASH_SEG_HEX + 1];
	char ah[SPEC_HASH_SEG_HEX + 1];
	const struct spec *old = r ? r->applied : NULL;
	size_t before = a->nreasons;
	char *o, *n;

	spec_hash_segment(live, seg, oh);
	spec_hash_segment(s->hash, seg, nh);
	if (old &&
	    (spec_hash_segment(old->hash, seg, ah) < 0 || strcmp(ah, oh) != 0))
		old = NULL;
	switch (seg) {
	case SPEC_SEG_IMAGE:
		if (old) {
			add_reason(a, "spec.image", old->image, s->image, 1);
			return;
		}
		break;
	case SPEC_SEG_ENV:
	case SPEC_SEG_SECRETS:
		if (old)
			env_reasons(a, old, s, seg);
		if (a->nreasons > before)
			return;
		if (seg == SPEC_SEG_SECRETS) {
			add_reason(a, "spec.env", "(sensitive)", "(sensitive)",
			           1);
			return;
		}
		break;
	case SPEC_SEG_VOLUMES:
		if (old) {
			o = volumes_str(old);
			n = volumes_str(s);
			add_reason(a, "spec.volumes", o, n, 1);
			free(o);
			free(n);
			return;
		}
		break;
	default:
		return;
	}
	o = xasprintf("(hash %s)", oh);
	n = xasprintf("(hash %s)", nh);
	add_reason(a,
	           seg == SPEC_SEG_IMAGE ? "spec.image"
	           : seg == SPEC_SEG_ENV ? "spec.env"
	                                 : "spec.volumes",
	           o, n, 1);
	free(o);
	free(n);
}

/* The network settings known for a sandbox, or NULL. */
static const struct spec_network *
known_network(const struct plan_observed *o, const struct plan_record *r)
{
	if (o->has_network)
		return &o->network;
	if (r && r->applied && r->applied->has_network)
		return &r->applied->network;
	if (r && r->has_network)
		return &r->network;
	return NULL;
}

static char *
network_str(const struct spec_network *n)
{
	if (n == NULL)
		return xstrdup("(unknown)");
	return xasprintf("blockAll=%s allowList=%s domainAllowList=%s",
	                 n->has_block_all ? (n->block_all ? "true" : "false")
	                                  : "-",
	                 n->allow_list ? n->allow_list : "-",
	                 n->domain_allow_list ? n->domain_allow_list : "-");
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
/* One reason per declared network setting that differs (only the
 * changed ones); the whole settings when the live ones are unknown. */
static void
network_reasons(struct plan_action *a, const struct spec_network *want,
                const struct spec_network *have)
{
	if (have == NULL) {
		char *nv = network_str(want);

		add_reason(a, "spec.network", "(unknown)", nv, 0);
		free(nv);
		return;
	}
	if (want->has_block_all &&
	    want->block_all != (have->has_block_all && have->block_all))
		add_reason(a, "spec.network.blockAll",
		           have->has_block_all && have->block_all ? "true"
		                                                  : "false",
		           want->block_all ? "true" : "false", 0);
	if (want->allow_list &&
	    strcmp(want->allow_list, nz(have->allow_list)) != 0)
		add_reason(a, "spec.network.allowList", nz(have->allow_list),
		           want->allow_list, 0);
	if (want->domain_allow_list &&
	    strcmp(want->domain_allow_list, nz(have->domain_allow_list)) != 0)
		add_reason(a, "spec.network.domainAllowList",
		           nz(have->domain_allow_list), want->domain_allow_list,
		           0);
}

static int
prevent_destroy_of(const struct spec *s, const struct plan_observed *o,
                   const struct plan_record *r)
{
	const char *v =
	        o ? strmap_get(&o->labels, SPEC_LABEL_PREVENT_DESTROY) : NULL;

	if (s)
		return s->prevent_destroy;
	if (v && strcmp(v, "true") == 0)
		return 1;
	return r && r->applied && r->applied->prevent_destroy;
}

static int
same_key(const char *live, const char *want)
{
	char x[SPEC_HASH_SEG_HEX + 1], y[SPEC_HASH_SEG_HEX + 1];

	return spec_hash_segment(live, SPEC_SEG_KEY, x) == 0 &&
	       spec_hash_segment(want, SPEC_SEG_KEY, y) == 0 &&
	       strcmp(x, y) == 0;
}

/* A resource change that would be a resize (see diff_existing) when this
 * API answered a resize with 404: a replace, with the reason noted. */
static void
unresizable(struct plan_action *a, const char *field, long long have,
            long long want)
{
	add_reason_num(a, field, have, want);
	a->reasons[a->nreasons - 1].forces_replace = 1;
	a->reasons[a->nreasons - 1].note =
	        xstrdup(PLAN_NOTE_RESIZE_UNAVAILABLE);
}

static void
unresizable_reasons(struct plan_action *a, const struct spec *s,
                    const struct plan_observed *o)
{
	long long want;

	want = want_resource(s, s->cpu, SPEC_IMAGE_DEFAULT_CPU);
	if (s->has_cpu && want != o->cpu)
		unresizable(a, "spec.resources.cpu", o->cpu, want);
	want = want_resource(s, s->memory, SPEC_IMAGE_DEFAULT_MEMORY);
	if (s->has_memory && want != o->memory)
		unresizable(a, "spec.resources.memory", o->memory, want);
	want = want_resource(s, s->disk, SPEC_IMAGE_DEFAULT_DISK);
	if (s->has_disk && want > o->disk)
		unresizable(a, "spec.resources.disk", o->disk, want);
}

/* The create-only differences a full GET found (refresh.c
 * check_createonly): each forces a replace, with the field named. */
static void
createonly_reasons(struct plan_action *a, const struct spec *s,
                   const struct plan_observed *o)
{
	size_t i;

	for (i = 0; i < o->createonly.n; i++) {
		const char *f = o->createonly.v[i].key;
		const char *live = o->createonly.v[i].value;
		const char *old = strcmp(live, PLAN_LIVE_ABSENT) ? live : NULL;

		if (strncmp(f, "spec.env.", 9) == 0) {
			const struct spec_env *e = env_find(s, f + 9);

			add_reason(a, f, old, e ? env_shown(e) : NULL, 1);
		} else if (strcmp(f, "spec.volumes") == 0) {
			char *n = volumes_str(s);

			add_reason(a, f, old, n, 1);
			free(n);
		}
	}
}

/* Create-only differences of an existing sandbox; 1 when replace. */
static int
replace_reasons(struct builder *b, struct plan_action *a, const struct spec *s,
                const struct plan_observed *o, const struct plan_record *r)
{
	enum dt_state cur = dt_state_parse(o->state);
	const char *live = strmap_get(&o->labels, SPEC_LABEL_SPEC);
	char lh[SPEC_HASH_SEG_HEX + 1], dh[SPEC_HASH_SEG_HEX + 1];
	size_t before = a->nreasons;
	int i;

	if (cur == DT_STATE_BUILD_FAILED ||
	    (cur == DT_STATE_ERROR && !o->recoverable)) {
		char *old = xasprintf("%s%s%s", o->state,
		                      o->error_reason ? ": " : "",
		                      nz(o->error_reason));

		add_reason(a, "state", old, "(recreated)", 1);
		free(old);
	}
	/* the label is only comparable when it is one of ours; secret
	 * values only under the same state key */
	if (live && s->hash[0] && spec_hash_segment(live, 0, lh) == 0) {
		for (i = 0; i < SPEC_HASH_SEGMENTS; i++) {
			if (i == SPEC_SEG_KEY)
				continue;
			spec_hash_segment(live, i, lh);
			spec_hash_segment(s->hash, i, dh);
			if (strcmp(lh, dh) == 0)
				continue;
			if (i == SPEC_SEG_SECRETS && !same_key(live, s->hash)) {
				b->p->secrets_incomparable++;
				continue;
			}
			segment_reason(a, s, r, live, i);
		}
	}
	if (str_differs(s->snapshot, o->snapshot))
		add_reason(a, "spec.snapshot", o->snapshot, s->snapshot, 1);
	if (str_differs(s->user, o->user))
		add_reason(a, "spec.user", o->user, s->user, 1);
	if (str_differs(s->target, o->target))
		add_reason(a, "spec.target", o->target, s->target, 1);
	if (s->has_gpu && s->gpu != o->gpu) {
		add_reason_num(a, "spec.resources.gpu", o->gpu, s->gpu);
		a->reasons[a->nreasons - 1].forces_replace = 1;
	}
	if (s->has_disk &&
	    want_resource(s, s->disk, SPEC_IMAGE_DEFAULT_DISK) < o->disk) {
		add_reason_num(
		        a, "spec.resources.disk", o->disk,
		        want_resource(s, s->disk, SPEC_IMAGE_DEFAULT_DISK));
		a->reasons[a->nreasons - 1].forces_replace = 1;
	}
	if (o->createonly_checked)
		createonly_reasons(a, s, o);
	if (b->in->resize_unavailable)
		unresizable_reasons(a, s, o);
	return a->nreasons > before;
}

static void
label_reasons(struct plan_action *a, const struct strmap *have,
              const struct strmap *want)
{
	size_t i;

	for (i = 0; i < have->n; i++) {
		const char *w = strmap_get(want, have->v[i].key);

		if (w == NULL || strcmp(w, have->v[i].value) != 0) {
			char *f = xasprintf("labels.%s", have->v[i].key);

			add_reason(a, f, have->v[i].value, w, 0);
			free(f);
		}
	}
	for (i = 0; i < want->n; i++)
		if (strmap_get(have, want->v[i].key) == NULL) {
			char *f = xasprintf("labels.%s", want->v[i].key);

			add_reason(a, f, NULL, want->v[i].value, 0);
			free(f);
		}
}

static void
diff_existing(struct builder *b, const struct spec *s,
              const struct plan_observed *o, const struct plan_record *r)
{
	struct plan_action *a;
	struct strmap merged = { NULL, 0 };
	enum dt_state orig, cur, final;
	int transitional, recovering, resize = 0, update = 0;
	long long want;
	const struct spec_network *net;
	struct plan_step *st;
	size_t i, lifecycle_from, incomparable_before, nreasons;

	a = new_action(b, s->name, PLAN_UPDATE);
	a->sandbox_id = xstrdup_or_null(o->id);
	a->source = source_of(s);

	incomparable_before = b->p->secrets_incomparable;
	if (replace_reasons(b, a, s, o, r)) {
		if (prevent_destroy_of(s, o, r)) {
			add_error(b, s->name,
			          "refusing to replace '%s' (%s forces it): "
			          "lifecycle.preventDestroy is set",
			          s->name, a->reasons[0].field);
			goto drop;
		}
		a->kind = PLAN_REPLACE;
		if (dt_state_is_transitional(dt_state_parse(o->state)))
			add_step(a, STEP_WAIT_STABLE);
		add_step(a, STEP_DELETE);
		add_step(a, STEP_WAIT_GONE);
		create_steps(b, a, s);
		goto keep;
	}

	orig = effective_state(o, &transitional);
	recovering = orig == DT_STATE_ERROR && o->recoverable;
	if (transitional)
		add_step(a, STEP_WAIT_STABLE);
	cur = orig;
	if (recovering) {
		char *old = xasprintf("error%s%s", o->error_reason ? ": " : "",
		                      nz(o->error_reason));

		add_reason(a, "state", old, "started (recover)", 0);
		free(old);
		add_step(a, STEP_RECOVER);
		add_step(a, STEP_WAIT_STABLE);
		cur = DT_STATE_STARTED;
		orig = DT_STATE_STARTED;
	}

	/* settings: one call each */
	spec_merge_labels(s, b->in->stack, &o->labels,
	                  r ? &r->owned_labels : NULL, &merged);
	/* secrets that cannot be compared: keep the label as it is, or
	 * every plan after a lost state would rewrite it */
	if (incomparable_before != b->p->secrets_incomparable)
		strmap_set(&merged, SPEC_LABEL_SPEC,
		           strmap_get(&o->labels, SPEC_LABEL_SPEC));
	if (!strmap_equal(&merged, &o->labels)) {
		label_reasons(a, &o->labels, &merged);
		st = add_step(a, STEP_SET_LABELS);
		strmap_copy(&st->labels, &merged);
		update = 1;
	}
	if (s->has_public && !s->public_ != !o->public_) {
		add_reason(a, "spec.public", o->public_ ? "true" : "false",
		           s->public_ ? "true" : "false", 0);
		add_step(a, STEP_SET_PUBLIC)->value = s->public_ ? 1 : 0;
		update = 1;
	}
	if (s->has_auto_stop && s->auto_stop != o->auto_stop) {
		add_reason_num(a, "spec.autoStopInterval", o->auto_stop,
		               s->auto_stop);
		add_step(a, STEP_SET_AUTOSTOP)->value = s->auto_stop;
		update = 1;
	}
	if (s->has_auto_archive &&
	    spec_normalize_auto_archive(s->auto_archive, b->max_archive) !=
	            o->auto_archive) {
		add_reason_num(a, "spec.autoArchiveInterval", o->auto_archive,
		               spec_normalize_auto_archive(s->auto_archive,
		                                           b->max_archive));
		add_step(a, STEP_SET_AUTOARCHIVE)->value = s->auto_archive;
		update = 1;
	}
	if (s->has_auto_delete && s->auto_delete != o->auto_delete &&
	    !(s->auto_delete < 0 && o->auto_delete < 0)) {
		add_reason_num(a, "spec.autoDeleteInterval", o->auto_delete,
		               s->auto_delete);
		add_step(a, STEP_SET_AUTODELETE)->value = s->auto_delete;
		update = 1;
	}
	net = known_network(o, r);
	nreasons = a->nreasons;
	if (s->has_network)
		network_reasons(a, &s->network, net);
	if (a->nreasons > nreasons) {
		st = add_step(a, STEP_SET_NETWORK);
		spec_network_copy(&st->network, &s->network);
		update = 1;
	}

	/* resources: a resize */
	st = NULL;
	{
		int needs_stop = 0, has_cpu = 0, has_mem = 0, has_disk = 0;
		long long cpu = 0, mem = 0, disk = 0;

		want = want_resource(s, s->cpu, SPEC_IMAGE_DEFAULT_CPU);
		if (s->has_cpu && want != o->cpu) {
			add_reason_num(a, "spec.resources.cpu", o->cpu, want);
			has_cpu = 1;
			cpu = want;
			needs_stop |= want < o->cpu;
		}
		want = want_resource(s, s->memory, SPEC_IMAGE_DEFAULT_MEMORY);
		if (s->has_memory && want != o->memory) {
			add_reason_num(a, "spec.resources.memory", o->memory,
			               want);
			has_mem = 1;
			mem = want;
			needs_stop |= want < o->memory;
		}
		want = want_resource(s, s->disk, SPEC_IMAGE_DEFAULT_DISK);
		if (s->has_disk && want > o->disk) {
			add_reason_num(a, "spec.resources.disk", o->disk, want);
			has_disk = 1;
			disk = want;
			needs_stop = 1;
		}
		if (has_cpu || has_mem || has_disk) {
			resize = 1;
			/* resize needs started or stopped */
			if (cur == DT_STATE_ARCHIVED)
				cur = lifecycle_steps(a, cur, DT_STATE_STARTED);
			if (needs_stop && cur == DT_STATE_STARTED)
				cur = lifecycle_steps(a, cur, DT_STATE_STOPPED);
			st = add_step(a, STEP_RESIZE);
			st->has_cpu = has_cpu;
			st->cpu = cpu;
			st->has_memory = has_mem;
			st->memory = mem;
			st->has_disk = has_disk;
			st->disk = disk;
			add_step(a, STEP_WAIT_STABLE);
		}
	}

	/* state */
	final = spec_final(s, orig);
	if (s->state != SPEC_STATE_ANY && final != orig) {
		add_reason(a, "spec.state", dt_state_name(orig),
		           dt_state_name(final), 0);
	}
	lifecycle_from = a->nsteps;
	cur = lifecycle_steps(a, cur, final);

	if (recovering)
		a->kind = PLAN_RECOVER;
	else if (resize)
		a->kind = PLAN_RESIZE;
	else if (update)
		a->kind = PLAN_UPDATE;
	else if (a->nsteps > lifecycle_from) {
		switch (a->steps[a->nsteps - 2].kind) {
		case STEP_START:
			a->kind = PLAN_START;
			break;
		case STEP_STOP:
			a->kind = PLAN_STOP;
			break;
		default:
			a->kind = PLAN_ARCHIVE;
		}
	} else {
		goto drop; /* nothing to do (maybe a wait) */
	}
	spec_owned_labels(s, b->in->stack, &a->owned_labels);
keep:
	a->desired = spec_dup(s);
	a->observed = plan_observed_dup(o);
	a->fingerprint = plan_fingerprint(o);
	strmap_clear(&merged);
	return;
drop:
	strmap_clear(&merged);
	b->p->nactions--;
	free(a->name);
	free(a->sandbox_id);
	free(a->source);
	for (i = 0; i < a->nreasons; i++) {
		free(a->reasons[i].field);
		free(a->reasons[i].old);
		free(a->reasons[i].new_);
		free(a->reasons[i].note);
	}
	free(a->reasons);
	for (i = 0; i < a->nsteps; i++)
		step_clear(&a->steps[i]);
	strmap_clear(&a->owned_labels);
	memset(a, 0, sizeof(*a));
}

static void
plan_create(struct builder *b, const struct spec *s,
            const struct plan_record *r)
{
	struct plan_action *a = new_action(b, s->name, PLAN_CREATE);

	a->source = source_of(s);
	if (r && r->id)
		add_reason(a, "sandbox", r->id, "(created again: gone)", 0);
	else
		add_reason(a, "sandbox", NULL, s->name, 0);
	if (s->image)
		add_reason(a, "spec.image", NULL, s->image, 0);
	if (s->snapshot)
		add_reason(a, "spec.snapshot", NULL, s->snapshot, 0);
	if (s->state != SPEC_STATE_ANY)
		add_reason(a, "spec.state", NULL, spec_state_name(s->state), 0);
	create_steps(b, a, s);
	a->desired = spec_dup(s);
	a->fingerprint = xstrdup("");
}

static void
plan_delete(struct builder *b, const struct plan_observed *o,
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
	add_reason(a, "sandbox", o->id, NULL, 0);
	if (dt_state_is_transitional(dt_state_parse(o->state)))
		add_step(a, STEP_WAIT_STABLE);
	add_step(a, STEP_DELETE);
	add_step(a, STEP_WAIT_GONE);
	a->observed = plan_observed_dup(o);
	a->fingerprint = plan_fingerprint(o);
}

/* The other sandform stack whose label o carries, or NULL. */
static const char *
other_stack(const struct plan_observed *o, const char *stack)
{
	const char *v = strmap_get(&o->labels, SPEC_LABEL_STACK);

	return v && *v && strcmp(v, stack) != 0 ? v : NULL;
}

static int
cmp_action(const void *x, const void *y)
{
	const struct plan_action *a = x, *b = y;

	return strcmp(a->name, b->name);
}

int
plan_build(const struct plan_input *in, struct plan **out)
{
	struct builder b;
	struct plan *p = NULL;
	char now[SF_ISO8601_LEN + 1];
	size_t i, ndelete = 0;
	int rc = 0;

	*out = NULL;
	memset(&b, 0, sizeof(b));
	for (i = 1; i < in->nspecs; i++)
		if (strcmp(in->specs[i - 1].name, in->specs[i].name) >= 0)
			return sf_error_set(SF_EINVALID,
			                    "plan: desired set not sorted "
			                    "or has duplicate '%s'",
			                    in->specs[i].name);
	for (i = 0; i < in->nobserved; i++)
		if (in->observed[i].name == NULL)
			return sf_error_set(SF_EINVALID,
			                    "plan: observed sandbox without "
			                    "a name");
	p = xcalloc(1, sizeof(*p));
	p->format_version = xstrdup(PLAN_FORMAT_VERSION);
	p->stack = xstrdup(in->stack);
	time_format_iso(time_now_ms(), now);
	p->created_at = xstrdup(now);
	p->refreshed = in->refreshed;
	b.in = in;
	b.p = p;
	b.max_archive = in->max_auto_archive > 0
	                        ? in->max_auto_archive
	                        : SPEC_DEFAULT_MAX_AUTO_ARCHIVE;
	b.obs = xcalloc(in->nobserved + 1, sizeof(*b.obs));
	for (i = 0; i < in->nobserved; i++)
		b.obs[i] = &in->observed[i];
	qsort(b.obs, in->nobserved, sizeof(*b.obs), cmp_obs);
	b.recs = xcalloc(in->nrecords + 1, sizeof(*b.recs));
	for (i = 0; i < in->nrecords; i++)
		b.recs[i] = &in->records[i];
	qsort(b.recs, in->nrecords, sizeof(*b.recs), cmp_rec);
	b.foreign = xcalloc(in->nforeign + 1, sizeof(*b.foreign));
	for (i = 0; i < in->nforeign; i++)
		b.foreign[i] = &in->foreign[i];
	qsort(b.foreign, in->nforeign, sizeof(*b.foreign), cmp_obs);

	for (i = 0; i < in->nobserved; i++)
		if (is_ours(&b, b.obs[i]))
			b.nfound_ours++;
	p->managed = b.nfound_ours;

	for (i = 0; i < in->nspecs; i++) {
		const struct spec *s = &in->specs[i];
		const struct plan_observed *o =
		        find_obs(b.obs, in->nobserved, s->name);
		const struct plan_record *r =
		        find_rec(b.recs, in->nrecords, s->name);
		const struct plan_observed *f =
		        find_obs(b.foreign, in->nforeign, s->name);

		if (o && is_ours(&b, o)) {
			diff_existing(&b, s, o, r);
		} else if (o && in->locked_by) {
			add_error(&b, s->name,
			          "'%s' (id %s) carries the label %s=%s but "
			          "is not in the state: probably being "
			          "created by the running %s; plan again "
			          "when it has finished",
			          s->name, nz(o->id), SPEC_LABEL_STACK,
			          in->stack, in->locked_by);
		} else if (o) {
			add_error(&b, s->name,
			          "'%s' (id %s) carries the label %s=%s but "
			          "is not in the state; adopt it with "
			          "'sandform state import %s %s'",
			          s->name, nz(o->id), SPEC_LABEL_STACK,
			          in->stack, s->name, nz(o->id));
		} else if (f && other_stack(f, in->stack)) {
			/* importing it would steal it from that stack */
			add_error(&b, s->name,
			          "a sandbox named '%s' (id %s) belongs to "
			          "sandform stack '%s'; choose another name "
			          "(or remove it from stack '%s' first)",
			          s->name, nz(f->id), other_stack(f, in->stack),
			          other_stack(f, in->stack));
		} else if (f) {
			add_error(&b, s->name,
			          "a sandbox named '%s' (id %s) already "
			          "exists in the organization and is not "
			          "managed by stack '%s'; adopt it with "
			          "'sandform state import %s %s' or choose "
			          "another name",
			          s->name, nz(f->id), in->stack, s->name,
			          nz(f->id));
		} else {
			plan_create(&b, s, r);
		}
	}
	for (i = 0; i < in->nobserved; i++) {
		const struct plan_observed *o = b.obs[i];

		if (find_spec(in, o->name) || !is_ours(&b, o))
			continue;
		/* a second sandbox of the same name cannot exist, but an
		 * observation may be listed twice (walk + GET): once */
		if (i > 0 && strcmp(b.obs[i - 1]->name, o->name) == 0)
			continue;
		plan_delete(&b, o, find_rec(b.recs, in->nrecords, o->name));
	}
	for (i = 0; i < p->nactions; i++)
		if (p->actions[i].kind == PLAN_DELETE)
			ndelete++;
	if (ndelete > 0 && !in->allow_mass_delete &&
	    (ndelete * 2 > b.nfound_ours || ndelete == b.nfound_ours)) {
		p->mass_delete_refused = 1;
		add_error(&b, "*",
		          "refusing to delete %zu of the %zu sandboxes of "
		          "stack '%s' (more than half; an empty or wrong "
		          "manifest path?); use --allow-mass-delete if this "
		          "is intended",
		          ndelete, b.nfound_ours, in->stack);
	}
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
	*out = p;
	p = NULL;
	free(b.obs);
	free(b.recs);
	free(b.foreign);
	plan_free(p);
	return rc;
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
destroy_action(struct builder *b, const struct plan_observed *o)
{
	struct plan_action *a = new_action(b, o->name, PLAN_DELETE);

	a->sandbox_id = xstrdup_or_null(o->id);
	a->source = xstrdup("destroy");
	add_reason(a, "sandbox", o->id, NULL, 0);
	if (o->id) {
		if (dt_state_is_transitional(dt_state_parse(o->state)))
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
	struct plan *p;
	char now[SF_ISO8601_LEN + 1];
	size_t i;

	*out = NULL;
	memset(&b, 0, sizeof(b));
	for (i = 1; i < in->nspecs; i++)
		if (strcmp(in->specs[i - 1].name, in->specs[i].name) >= 0)
			return sf_error_set(SF_EINVALID,
			                    "plan: desired set not sorted "
			                    "or has duplicate '%s'",
			                    in->specs[i].name);
	for (i = 0; i < in->nobserved; i++)
		if (in->observed[i].name == NULL)
			return sf_error_set(SF_EINVALID,
			                    "plan: observed sandbox without "
			                    "a name");
	p = xcalloc(1, sizeof(*p));
	p->format_version = xstrdup(PLAN_FORMAT_VERSION);
	p->stack = xstrdup(in->stack);
	time_format_iso(time_now_ms(), now);
	p->created_at = xstrdup(now);
	p->refreshed = in->refreshed;
	p->managed = in->nrecords;
	b.in = in;
	b.p = p;
	b.obs = xcalloc(in->nobserved + 1, sizeof(*b.obs));
	for (i = 0; i < in->nobserved; i++)
		b.obs[i] = &in->observed[i];
	qsort(b.obs, in->nobserved, sizeof(*b.obs), cmp_obs);
	b.recs = xcalloc(in->nrecords + 1, sizeof(*b.recs));
	for (i = 0; i < in->nrecords; i++)
		b.recs[i] = &in->records[i];
	qsort(b.recs, in->nrecords, sizeof(*b.recs), cmp_rec);

	for (i = 0; i < in->nobserved; i++) {
		const struct plan_observed *o = b.obs[i];
		enum dt_state st = dt_state_parse(o->state);

		if (!is_ours(&b, o))
			continue;
		/* listed twice (walk + GET): one delete */
		if (i > 0 && strcmp(b.obs[i - 1]->name, o->name) == 0)
			continue;
		if (st == DT_STATE_DESTROYED || st == DT_STATE_DESTROYING)
			continue;
		if (prevent_destroy_of(
		            find_spec(in, o->name), o,
		            find_rec(b.recs, in->nrecords, o->name)) &&
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
	/* a --force-destroy that names nothing of the stack is a typo */
	for (i = 0; i < nforce; i++)
		if (find_rec(b.recs, in->nrecords, force[i]) == NULL)
			add_error(&b, force[i],
			          "--force-destroy %s: stack '%s' has no "
			          "sandbox of that name",
			          force[i], in->stack);
	if (p->nactions > 1)
		qsort(p->actions, p->nactions, sizeof(*p->actions), cmp_action);
	p->summary.delete_ = p->nactions;
	p->summary.by_kind[PLAN_DELETE] = p->nactions;
	free(b.obs);
	free(b.recs);
	*out = p;
	return 0;
}
