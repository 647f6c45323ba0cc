/*
 * resources: refresh and apply of declared volumes and snapshots
 * (reconciler/resources.h).
 */
#include "common/base.h"

#include "common/buf.h"
#include "common/error.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/workpool.h"
#include "common/xalloc.h"

#include "reconciler/labels.h"
#include "reconciler/refresh.h"
#include "reconciler/resources.h"

int
res_is_record(const char *name)
{
	enum res_kind k;
	const char *n;

	return res_key_parse(name, &k, &n) == 0;
}

void
res_observed_clear(struct res_observed *o)
{
	size_t i;

	for (i = 0; i < o->nrecords; i++)
		plan_res_record_clear(&o->records[i]);
	free(o->records);
	free(o->live);
	dt_res_list_free(o->owned, o->nowned);
	for (i = 0; i < o->nusers; i++)
		free(o->users[i]);
	free(o->users);
	for (i = 0; i < o->ngone; i++)
		free(o->gone[i]);
	free(o->gone);
	strmap_clear(&o->looked);
	memset(o, 0, sizeof(*o));
}

static void
add_live(struct res_observed *o, enum res_kind k, struct dt_res *r)
{
	struct plan_res_live *l;

	o->owned = xreallocarray(o->owned, o->nowned + 1, sizeof(*o->owned));
	o->owned[o->nowned++] = r;
	o->live = xreallocarray(o->live, o->nlive + 1, sizeof(*o->live));
	l = &o->live[o->nlive++];
	memset(l, 0, sizeof(*l));
	l->kind = k;
	l->name = r->name;
	l->id = r->id;
	l->state = r->state;
	l->error_reason = r->error_reason;
}

static struct plan_res_live *
live_of(struct res_observed *o, enum res_kind k, const char *key)
{
	size_t i;

	for (i = 0; i < o->nlive; i++)
		if (o->live[i].kind == k && (!strcmp(o->live[i].name, key) ||
		                             !strcmp(o->live[i].id, key)))
			return &o->live[i];
	return NULL;
}

static int
load_records(struct store *st, const char *stack, struct res_observed *o)
{
	struct store_record_list l = { NULL, 0 };
	size_t i;
	int rc;

	/* only the resources' records ("<kind>NAME"), not the sandboxes' */
	if ((rc = store_record_list_prefix(st, stack, "<", &l)) < 0)
		return rc;
	for (i = 0; i < l.n; i++) {
		struct plan_res_record *r;
		enum res_kind k;
		const char *name;
		cJSON *j;

		if (res_key_parse(l.v[i].name, &k, &name) < 0)
			continue;
		o->records = xreallocarray(o->records, o->nrecords + 1,
		                           sizeof(*o->records));
		r = &o->records[o->nrecords++];
		memset(r, 0, sizeof(*r));
		r->kind = k;
		r->name = xstrdup(name);
		r->id = xstrdup_or_null(l.v[i].sandbox_id);
		j = l.v[i].applied_json ? cJSON_Parse(l.v[i].applied_json)
		                        : NULL;
		if (j) {
			r->applied = xcalloc(1, sizeof(*r->applied));
			if (res_from_json(j, r->applied) < 0) {
				free(r->applied);
				r->applied = NULL;
			}
			cJSON_Delete(j);
		}
	}
	store_record_list_free(&l);
	return 0;
}

/* a snapshot name to look up, once */
static void
want(struct strmap *names, const char *n)
{
	if (n && *n)
		strmap_set(names, n, "");
}

static int
lookup_snapshots(struct dt_client *c, const struct strmap *names,
                 struct res_observed *o)
{
	size_t i;
	int rc;

	for (i = 0; i < names->n; i++) {
		struct dt_res *r = NULL;

		if (live_of(o, RES_SNAPSHOT, names->v[i].key) ||
		    strmap_get(&o->looked, names->v[i].key))
			continue;
		strmap_set(&o->looked, names->v[i].key, "");
		o->requests++;
		rc = dt_snapshot_get(c, names->v[i].key, &r);
		if (rc == SF_ENOTFOUND) {
			sf_error_clear();
			continue;
		}
		if (rc < 0)
			return rc;
		add_live(o, RES_SNAPSHOT, r);
	}
	return 0;
}

/* The org walk for outside users. */
struct users_walk {
	struct dt_client *c;
	const char *stack;
	struct res_observed *o;
	struct strmap *users; /* "<kind>NAME" key of a candidate -> list */
	int volumes;          /* a volume is a candidate: GET outsiders */
	int rc;
	/* the outsiders to GET for their volumes (list items carry none) */
	struct outsider *out;
	size_t nout, aout;
};

/* One sandbox outside the stack, GET for its volumes. */
struct outsider {
	char *id, *name;
	struct dt_sandbox *got; /* NULL: gone meanwhile, or failed */
};

/* One outsider's GET (a workpool job). */
static void
get_outsider(void *arg, size_t i)
{
	struct users_walk *w = arg;
	struct dt_result res = DT_RESULT_INIT;

	if (dt_get(w->c, w->out[i].id, &res) == 0 && res.sandbox) {
		w->out[i].got = res.sandbox;
		res.sandbox = NULL;
	} else {
		sf_error_clear(); /* gone meanwhile */
	}
	dt_result_clear(&res);
}

static void
add_user(struct strmap *users, enum res_kind k, const char *name,
         const char *sandbox)
{
	char *key = res_key(k, name);
	const char *was = strmap_get(users, key);

	if (was != NULL) {
		char *v = *was ? xasprintf("%s,%s", was, sandbox)
		               : xstrdup(sandbox);

		strmap_set(users, key, v);
		free(v);
	}
	free(key);
}

static int
users_cb(void *arg, struct dt_sandbox *sb)
{
	struct users_walk *w = arg;
	const char *stack = strmap_get(&sb->labels, LABEL_STACK);
	struct plan_res_live *l;

	if ((stack && !strcmp(stack, w->stack)) || sb->name == NULL ||
	    sb->state == DT_STATE_DESTROYED ||
	    sb->state == DT_STATE_DESTROYING) {
		dt_sandbox_free(sb);
		return 0;
	}
	if (sb->snapshot && (l = live_of(w->o, RES_SNAPSHOT, sb->snapshot)))
		add_user(w->users, RES_SNAPSHOT, l->name, sb->name);
	if (w->volumes && sb->id) {
		if (w->nout == w->aout) {
			w->aout = w->aout ? 2 * w->aout : 16;
			w->out =
			        xreallocarray(w->out, w->aout, sizeof(*w->out));
		}
		w->out[w->nout].id = xstrdup(sb->id);
		w->out[w->nout].name = xstrdup(sb->name);
		w->out[w->nout++].got = NULL;
	}
	dt_sandbox_free(sb);
	return 0;
}

static int
find_users(struct dt_client *c, const char *stack, struct strmap *cands,
           int volumes, int parallelism, struct res_observed *o)
{
	struct users_walk w;
	struct dt_list_query q;
	size_t i, pages = 0;
	int rc;

	memset(&w, 0, sizeof(w));
	w.c = c;
	w.stack = stack;
	w.o = o;
	w.users = cands;
	w.volumes = volumes;
	memset(&q, 0, sizeof(q));
	q.sort = "createdAt";
	q.order = "asc";
	rc = dt_list_all(c, &q, users_cb, &w, &pages);
	o->requests += pages;
	/* the volumes of the outsiders: a GET each, in parallel */
	if (rc == 0 && w.nout > 0) {
		workpool_run(w.nout, refresh_parallel(parallelism),
		             get_outsider, &w);
		o->requests += w.nout;
	}
	for (i = 0; i < w.nout; i++) {
		const struct dt_sandbox *got = w.out[i].got;
		struct plan_res_live *l;
		size_t j;

		for (j = 0; got && j < got->n_volumes; j++) {
			l = live_of(o, RES_VOLUME, got->volumes[j].volume_id);
			if (l)
				add_user(cands, RES_VOLUME, l->name,
				         w.out[i].name);
		}
		dt_sandbox_free(w.out[i].got);
		free(w.out[i].id);
		free(w.out[i].name);
	}
	free(w.out);
	if (rc < 0)
		return rc;
	for (i = 0; i < cands->n; i++) {
		enum res_kind k;
		const char *name;
		struct plan_res_live *l;

		if (!*cands->v[i].value ||
		    res_key_parse(cands->v[i].key, &k, &name) < 0 ||
		    (l = live_of(o, k, name)) == NULL)
			continue;
		o->users = xreallocarray(o->users, o->nusers + 1,
		                         sizeof(*o->users));
		o->users[o->nusers] = xstrdup(cands->v[i].value);
		l->used_outside = o->users[o->nusers++];
	}
	return 0;
}

/* referenced: a desired sandbox names k name (or its id) */
static int
referenced(const struct spec *specs, size_t nspecs, enum res_kind k,
           const char *name, const char *id)
{
	size_t i, j;

	for (i = 0; i < nspecs; i++) {
		const struct spec *s = &specs[i];

		if (k == RES_SNAPSHOT && s->snapshot &&
		    (!strcmp(s->snapshot, name) ||
		     (id && !strcmp(s->snapshot, id))))
			return 1;
		for (j = 0; k == RES_VOLUME && j < s->nvolumes; j++)
			if (!strcmp(s->volumes[j].volume, name) ||
			    (id && !strcmp(s->volumes[j].volume, id)))
				return 1;
	}
	return 0;
}

static int
may_replace(const struct plan_res_record *r, const struct res_spec *want,
            const struct plan_res_live *l)
{
	if (r->kind != RES_SNAPSHOT || want == NULL)
		return 0;
	if (l->state &&
	    (!strcmp(l->state, "error") || !strcmp(l->state, "build_failed")))
		return 1;
	return r->applied && strcmp(r->applied->hash, want->hash) != 0;
}

int
res_refresh(struct dt_client *c, struct store *st, const char *stack,
            const struct manifest_set *set, const struct spec *specs,
            size_t nspecs, int refresh, int destroy, int parallelism,
            struct res_observed *out)
{
	struct strmap snaps = STRMAP_INIT, cands = STRMAP_INIT;
	struct dt_res **vols = NULL;
	size_t i, nvols = 0;
	int rc, need_vols = 0, vol_cand = 0;

	memset(out, 0, sizeof(*out));
	if ((rc = load_records(st, stack, out)) < 0)
		return rc;
	if (!refresh || c == NULL)
		return 0;
	for (i = 0; set && i < set->n_resources; i++) {
		need_vols |= set->resources[i].kind == RES_VOLUME;
		if (set->resources[i].kind == RES_SNAPSHOT)
			want(&snaps, set->resources[i].name);
	}
	for (i = 0; i < out->nrecords; i++) {
		need_vols |= out->records[i].kind == RES_VOLUME;
		if (out->records[i].kind == RES_SNAPSHOT)
			want(&snaps, out->records[i].name);
	}
	/* what the sandboxes reference is looked up after a first plan
	 * (res_lookup_refs): only what a create needs */
	if (need_vols) {
		out->have_volumes = 1;
		out->requests++;
		if ((rc = dt_volume_list(c, &vols, &nvols)) < 0)
			goto out;
		for (i = 0; i < nvols; i++) {
			add_live(out, RES_VOLUME, vols[i]);
			vols[i] = NULL;
		}
	}
	if ((rc = lookup_snapshots(c, &snaps, out)) < 0)
		goto out;
	out->known = 1;
	/* the candidates for a delete or a replace: records the manifests
	 * no longer declare (destroy: all), and declared snapshots */
	for (i = 0; i < out->nrecords; i++) {
		const struct plan_res_record *r = &out->records[i];
		int declared = !destroy && manifest_set_find_resource(
		                                   set, r->kind, r->name);
		char *key;

		if (live_of(out, r->kind, r->name) == NULL) {
			if (!declared) {
				out->gone =
				        xreallocarray(out->gone, out->ngone + 1,
				                      sizeof(*out->gone));
				out->gone[out->ngone++] =
				        res_key(r->kind, r->name);
			}
			continue;
		}
		/* a declared one is a candidate only when the plan may
		 * replace it: a snapshot in error, or whose create-only
		 * fields changed since applied */
		if (declared && !may_replace(r,
		                             manifest_set_find_resource(
		                                     set, r->kind, r->name),
		                             live_of(out, r->kind, r->name)))
			continue;
		/* no longer declared but still referenced by a sandbox of
		 * the stack: kept (plan-res.c), its users not needed */
		if (!declared && !destroy &&
		    referenced(specs, nspecs, r->kind, r->name,
		               live_of(out, r->kind, r->name)->id))
			continue;
		key = res_key(r->kind, r->name);
		strmap_set(&cands, key, "");
		free(key);
		vol_cand |= r->kind == RES_VOLUME;
	}
	if (cands.n > 0)
		rc = find_users(c, stack, &cands, vol_cand, parallelism, out);
out:
	dt_res_list_free(vols, nvols);
	strmap_clear(&snaps);
	strmap_clear(&cands);
	return rc;
}

int
res_lookup_refs(struct dt_client *c, const struct plan *p,
                struct res_observed *o)
{
	struct strmap snaps = STRMAP_INIT;
	struct dt_res **vols = NULL;
	size_t i, j, nvols = 0;
	int rc = 0, need_vols = 0, refs = 0;

	if (!o->known || c == NULL)
		return 0;
	for (i = 0; i < p->nactions; i++) {
		const struct plan_action *a = &p->actions[i];
		const struct spec *s = a->desired;

		if (s == NULL ||
		    (a->kind != PLAN_CREATE && a->kind != PLAN_REPLACE))
			continue;
		refs |= s->snapshot != NULL || s->nvolumes > 0;
		if (s->snapshot && !live_of(o, RES_SNAPSHOT, s->snapshot) &&
		    !strmap_get(&o->looked, s->snapshot))
			want(&snaps, s->snapshot);
		for (j = 0; j < s->nvolumes; j++)
			need_vols |=
			        !live_of(o, RES_VOLUME, s->volumes[j].volume);
	}
	/* the volume list was not fetched yet (nothing declared): once */
	if (need_vols && !o->have_volumes) {
		o->have_volumes = 1;
		o->requests++;
		if ((rc = dt_volume_list(c, &vols, &nvols)) < 0)
			goto out;
		for (i = 0; i < nvols; i++) {
			add_live(o, RES_VOLUME, vols[i]);
			vols[i] = NULL;
		}
	}
	if ((rc = lookup_snapshots(c, &snaps, o)) < 0)
		goto out;
	/* the first plan did not check references: a second one does
	 * when there is any to check */
	rc = refs;
out:
	dt_res_list_free(vols, nvols);
	strmap_clear(&snaps);
	return rc;
}

/*
 * res_check_fresh: a saved plan's volume and snapshot steps against
 * Daytona now (one GET each): one to create must still be missing, one to
 * replace or delete must still be there under the id the plan saw, and
 * its record must still be the stack's.
 */
int
res_check_fresh(struct dt_client *c, const struct plan *p,
                const struct strmap *records)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < p->nresources && rc == 0; i++) {
		const struct plan_resource *r = &p->resources[i];
		const char *word = res_kind_word(r->kind);
		struct dt_res *live = NULL;
		char *key;

		if (r->op == PLAN_RES_KEEP)
			continue;
		rc = r->kind == RES_VOLUME ? dt_volume_get(c, r->name, &live)
		                           : dt_snapshot_get(c, r->name, &live);
		if (rc == SF_ENOTFOUND) {
			sf_error_clear();
			rc = 0;
		}
		if (rc < 0)
			break;
		key = res_key(r->kind, r->name);
		if (r->op == PLAN_RES_CREATE && live != NULL)
			rc = sf_error_set(
			        SF_ECONFLICT,
			        "saved plan is stale: %s '%s' exists "
			        "now (id %s); run sandform plan again",
			        word, r->name, live->id);
		else if (r->op != PLAN_RES_CREATE && r->id && live == NULL)
			rc = sf_error_set(
			        SF_ECONFLICT,
			        "saved plan is stale: %s '%s' (%s) no "
			        "longer exists; run sandform plan again",
			        word, r->name, r->id);
		else if (r->op != PLAN_RES_CREATE && r->id &&
		         strcmp(live->id, r->id) != 0)
			rc = sf_error_set(
			        SF_ECONFLICT,
			        "saved plan is stale: %s '%s' changed "
			        "since the plan was made (id %s, now "
			        "%s); run sandform plan again",
			        word, r->name, r->id, live->id);
		else if (r->op != PLAN_RES_CREATE && r->id &&
		         strmap_get(records, key) == NULL)
			rc = sf_error_set(
			        SF_EINVALID,
			        "the saved plan touches %s '%s' (%s), "
			        "which stack '%s' does not own (no "
			        "record of it); nothing was changed",
			        word, r->name, r->id, p->stack);
		free(key);
		dt_res_free(live);
	}
	return rc;
}

/* ---- apply --------------------------------------------------------------- */

static void
event(const struct res_apply *a, enum apply_event_kind kind, size_t index,
      const struct plan_action *act, const char *id, int64_t t0,
      const char *step, const char *message)
{
	struct apply_event ev;

	if (a->on_event == NULL)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	ev.command = a->command;
	ev.stack = a->stack;
	ev.time_ms = time_now_ms();
	ev.index = index;
	ev.action = act;
	ev.sandbox_id = id;
	ev.elapsed_ms = time_mono_ms() - t0;
	ev.step = step;
	ev.started = 1;
	ev.message = message;
	a->on_event(a->event_arg, &ev);
}

static int
stopping(const struct res_apply *a)
{
	return sf_cancel_level(a->cancel) >= SF_CANCEL_STOP;
}

static int
get_live(const struct res_apply *a, enum res_kind k, const char *name,
         struct dt_res **out)
{
	return k == RES_VOLUME ? dt_volume_get(a->client, name, out)
	                       : dt_snapshot_get(a->client, name, out);
}

/*
 * wait_for: poll name until it is ready (volume) / active (snapshot), or,
 * with gone, until it no longer exists. 0, or a negative code with the
 * error set (a snapshot in error: its errorReason).
 */
static int
wait_for(const struct res_apply *a, enum res_kind k, const char *name, int gone,
         char **id_out)
{
	int64_t limit =
	        a->timeout_ms > 0 ? a->timeout_ms : APPLY_DEFAULT_TIMEOUT_MS;
	int64_t end = time_mono_ms() + limit;
	const char *word = res_kind_word(k);

	for (;;) {
		struct dt_res *r = NULL;
		int rc = get_live(a, k, name, &r);

		if (rc == SF_ENOTFOUND) {
			sf_error_clear();
			if (gone)
				return 0;
			return sf_error_set(SF_ENOTFOUND,
			                    "%s '%s' disappeared while "
			                    "waiting for it",
			                    word, name);
		}
		if (rc < 0)
			return rc;
		if (!gone && r->state &&
		    (!strcmp(r->state, "error") ||
		     !strcmp(r->state, "build_failed"))) {
			rc = sf_error_set(
			        SF_ERROR, "%s '%s' is in state %s: %s", word,
			        name, r->state,
			        r->error_reason ? r->error_reason
			                        : "(no reason given)");
			dt_res_free(r);
			return rc;
		}
		if (!gone && r->state &&
		    !strcmp(r->state, k == RES_VOLUME ? "ready" : "active")) {
			if (id_out) {
				free(*id_out);
				*id_out = xstrdup(r->id);
			}
			dt_res_free(r);
			return 0;
		}
		dt_res_free(r);
		if (stopping(a))
			return sf_error_set(SF_EINTR,
			                    "%s '%s': stop requested while "
			                    "waiting",
			                    word, name);
		if (time_mono_ms() >= end)
			return sf_error_set(SF_ERROR,
			                    "%s '%s': not %s after %lld s",
			                    word, name,
			                    gone              ? "gone"
			                    : k == RES_VOLUME ? "ready"
			                                      : "active",
			                    (long long)(limit / 1000));
		time_sleep_ms(RES_POLL_MS);
	}
}

static int
put_record(const struct res_apply *a, const struct plan_resource *r,
           const char *id)
{
	struct store_record rec;
	char *key = res_key(r->kind, r->name), *applied = NULL;
	cJSON *j;
	int rc;

	memset(&rec, 0, sizeof(rec));
	rec.stack = a->stack;
	rec.name = key;
	rec.sandbox_id = id;
	if (r->desired) {
		j = res_to_json(r->desired);
		applied = cJSON_PrintUnformatted(j);
		cJSON_Delete(j);
		rec.spec_hash = r->desired->hash[0] ? r->desired->hash : NULL;
	}
	rec.applied_json = applied;
	rec.status = id ? STORE_STATUS_ACTIVE : STORE_STATUS_PENDING_CREATE;
	rc = store_record_put(a->store, &rec);
	cJSON_free(applied);
	free(key);
	return rc;
}

static int
forget(const struct res_apply *a, enum res_kind k, const char *name)
{
	char *key = res_key(k, name);
	int rc = store_record_delete(a->store, a->stack, key);

	free(key);
	return rc == SF_ENOTFOUND ? 0 : rc;
}

static int
remove_live(const struct res_apply *a, const struct plan_resource *r)
{
	struct dt_result res = DT_RESULT_INIT;
	int rc, tries;

	for (tries = 0;; tries++) {
		rc = r->kind == RES_VOLUME
		             ? dt_volume_delete(a->client, r->id, &res)
		             : dt_snapshot_delete(a->client, r->id, &res);
		/* a volume still settling (pending_create): wait and try
		 * again */
		if (rc == SF_EINVALID && res.status == 400 &&
		    r->kind == RES_VOLUME && tries < 40 && !stopping(a)) {
			sf_error_clear();
			time_sleep_ms(RES_POLL_MS);
			continue;
		}
		break;
	}
	dt_result_clear(&res);
	if (rc == SF_ENOTFOUND) {
		sf_error_clear();
		rc = 0;
	}
	if (rc == 0)
		rc = wait_for(a, r->kind, r->name, 1, NULL);
	return rc;
}

static int
create_live(const struct res_apply *a, const struct plan_resource *r)
{
	const struct res_spec *d = r->desired;
	struct dt_result res = DT_RESULT_INIT;
	struct dt_res *got = NULL;
	char *id = NULL;
	int rc;

	/* the intent: a crash from here on leaves a record to find */
	if ((rc = put_record(a, r, NULL)) < 0)
		return rc;
	if (r->kind == RES_VOLUME) {
		rc = dt_volume_create(a->client, r->name, &got, &res);
	} else {
		struct dt_snapshot_create sc;

		memset(&sc, 0, sizeof(sc));
		sc.name = d->name;
		sc.image_name = d->image;
		sc.dockerfile = d->dockerfile;
		sc.cpu = d->cpu;
		sc.memory = d->memory;
		sc.disk = d->disk;
		sc.gpu = d->gpu;
		sc.region_id = d->region;
		sc.sandbox_class = d->sandbox_class;
		rc = dt_snapshot_create(a->client, &sc, &got, &res);
	}
	/* already there (a run that died after its call, or a retried
	 * call): the name is unique in the organization and the record says
	 * it is ours */
	if (rc < 0 &&
	    (res.status == 409 || res.status == 400 || rc == SF_ENET)) {
		char *msg = xstrdup(sf_error_last());

		if (get_live(a, r->kind, r->name, &got) == 0) {
			log_debug("%s %s exists after create (%s): adopted",
			          res_kind_word(r->kind), r->name, msg);
			rc = 0;
		} else {
			sf_error_set(rc, "%s", msg);
		}
		free(msg);
	}
	dt_result_clear(&res);
	if (rc < 0)
		goto out;
	id = xstrdup(got->id);
	if ((rc = put_record(a, r, id)) < 0)
		goto out;
	rc = wait_for(a, r->kind, r->name, 0, &id);
out:
	dt_res_free(got);
	free(id);
	return rc;
}

static void
fake_action(struct plan_action *act, const struct plan_resource *r,
            enum plan_kind kind)
{
	memset(act, 0, sizeof(*act));
	act->name = xasprintf("%s/%s", res_kind_word(r->kind), r->name);
	act->kind = kind;
}

void
res_skip_event(const struct res_apply *a, const struct plan_action *act,
               size_t index, const char *why)
{
	char *msg = xasprintf("not run: needs %s", why);
	int64_t t0 = time_mono_ms();

	event(a, APPLY_EV_STARTED, index, act, act->sandbox_id, t0,
	      plan_kind_name(act->kind), NULL);
	event(a, APPLY_EV_FAILED, index, act, act->sandbox_id, t0, NULL, msg);
	free(msg);
}

static int
run_one(const struct res_apply *a, const struct plan_resource *r, size_t index,
        struct apply_stats *st)
{
	static const enum plan_kind kinds[PLAN_RES_OP_COUNT] = {
		PLAN_CREATE, PLAN_REPLACE, PLAN_DELETE, PLAN_CREATE
	};
	struct plan_action act;
	int64_t t0 = time_mono_ms();
	int rc = 0;

	if (stopping(a)) {
		st->left++;
		return SF_EINTR;
	}
	fake_action(&act, r, kinds[r->op]);
	st->total++;
	event(a, APPLY_EV_STARTED, index, &act, r->id, t0,
	      plan_res_op_name(r->op), NULL);
	if (r->op == PLAN_RES_REPLACE || r->op == PLAN_RES_DELETE) {
		if (r->id)
			rc = remove_live(a, r);
		if (rc == 0 && r->op == PLAN_RES_DELETE)
			rc = forget(a, r->kind, r->name);
	}
	if (rc == 0 && (r->op == PLAN_RES_CREATE || r->op == PLAN_RES_REPLACE))
		rc = create_live(a, r);
	if (rc < 0) {
		st->failed++;
		event(a, APPLY_EV_FAILED, index, &act, r->id, t0, NULL,
		      sf_error_last());
	} else {
		st->done++;
		event(a, APPLY_EV_DONE, index, &act, r->id, t0, NULL, NULL);
	}
	free(act.name);
	return rc;
}

const char *
res_needs_failed(const struct spec *s, const struct strmap *failed)
{
	char *key;
	const char *hit = NULL;
	size_t i;

	if (s == NULL || failed->n == 0)
		return NULL;
	if (s->snapshot) {
		key = res_key(RES_SNAPSHOT, s->snapshot);
		if (strmap_get(failed, key))
			hit = strmap_get(failed, key);
		free(key);
	}
	for (i = 0; hit == NULL && i < s->nvolumes; i++) {
		key = res_key(RES_VOLUME, s->volumes[i].volume);
		hit = strmap_get(failed, key);
		free(key);
	}
	return hit;
}

/* skip_failed: r is already failed (a replaced snapshot whose old
 * sandboxes were not all deleted): not run, said so; 1 when skipped. */
static int
skip_failed(const struct res_apply *a, const struct plan_resource *r,
            size_t index, struct apply_stats *st, const struct strmap *failed)
{
	char *key = res_key(r->kind, r->name);
	const char *why = strmap_get(failed, key);
	struct plan_action act;
	int64_t t0 = time_mono_ms();

	free(key);
	if (why == NULL)
		return 0;
	fake_action(&act, r, PLAN_REPLACE);
	st->total++;
	st->failed++;
	event(a, APPLY_EV_STARTED, index, &act, r->id, t0,
	      plan_res_op_name(r->op), NULL);
	event(a, APPLY_EV_FAILED, index, &act, r->id, t0, NULL, why);
	free(act.name);
	return 1;
}

int
res_apply_before(const struct res_apply *a, const struct plan *p,
                 struct apply_stats *st, struct strmap *failed)
{
	size_t i;
	int rc = 0, one;

	/* volumes first (kind order), then snapshots */
	for (i = 0; i < p->nresources; i++) {
		const struct plan_resource *r = &p->resources[i];

		if (r->op != PLAN_RES_CREATE && r->op != PLAN_RES_REPLACE)
			continue;
		if (skip_failed(a, r, a->index0 + i, st, failed)) {
			if (rc == 0)
				rc = SF_ERROR;
			continue;
		}
		if ((one = run_one(a, r, a->index0 + i, st)) < 0) {
			char *key = res_key(r->kind, r->name);
			char *what = xasprintf("%s '%s' failed",
			                       res_kind_word(r->kind), r->name);

			strmap_set(failed, key, what);
			free(what);
			free(key);
			if (rc == 0)
				rc = one;
		}
	}
	return rc;
}

int
res_fix_ids(const struct res_apply *a, const struct res_observed *o)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < o->nrecords; i++) {
		const struct plan_res_record *r = &o->records[i];
		const struct plan_res_live *l = NULL;
		struct store_record *rec = NULL;
		char *key;
		size_t j;

		for (j = 0; j < o->nlive; j++)
			if (o->live[j].kind == r->kind &&
			    !strcmp(o->live[j].name, r->name))
				l = &o->live[j];
		if (l == NULL || (r->id && !strcmp(r->id, l->id)))
			continue;
		key = res_key(r->kind, r->name);
		if (store_record_get(a->store, a->stack, key, &rec) == 0) {
			const char *old_id = rec->sandbox_id;
			const char *old_status = rec->status;

			rec->sandbox_id = l->id;
			if (rec->status &&
			    !strcmp(rec->status, STORE_STATUS_PENDING_CREATE))
				rec->status = STORE_STATUS_ACTIVE;
			rc = store_record_put(a->store, rec);
			/* the record owns its own strings again */
			rec->sandbox_id = old_id;
			rec->status = old_status;
		}
		store_record_free(rec);
		free(key);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* settling: a live one still on its way to ready / active */
static int
settling(const struct plan_res_live *l)
{
	static const char *const states[] = {
		"pending_create", "creating", "pending",
		"building",       "pulling",  "snapshotting"
	};
	size_t i;

	for (i = 0; l->state && i < sizeof(states) / sizeof(states[0]); i++)
		if (!strcmp(l->state, states[i]))
			return 1;
	return 0;
}

int
res_wait_settling(const struct res_apply *a, const struct plan *p,
                  const struct res_observed *o, struct strmap *failed)
{
	size_t i, j, k;
	int rc = 0;

	for (i = 0; i < o->nlive; i++) {
		const struct plan_res_live *l = &o->live[i];
		int needed = 0;
		char *key;

		if (!settling(l))
			continue;
		for (j = 0; !needed && j < p->nactions; j++) {
			const struct spec *s = p->actions[j].desired;

			if (s == NULL || (p->actions[j].kind != PLAN_CREATE &&
			                  p->actions[j].kind != PLAN_REPLACE))
				continue;
			if (l->kind == RES_SNAPSHOT && s->snapshot)
				needed = !strcmp(s->snapshot, l->name) ||
				         !strcmp(s->snapshot, l->id);
			for (k = 0; l->kind == RES_VOLUME && k < s->nvolumes;
			     k++)
				needed |= !strcmp(s->volumes[k].volume,
				                  l->name) ||
				          !strcmp(s->volumes[k].volume, l->id);
		}
		if (!needed)
			continue;
		log_debug("%s %s is %s: waiting before the sandboxes that "
		          "need it",
		          res_kind_word(l->kind), l->name, l->state);
		if (wait_for(a, l->kind, l->name, 0, NULL) == 0)
			continue;
		key = res_key(l->kind, l->name);
		strmap_set(failed, key, sf_error_last());
		free(key);
		rc = SF_ERROR;
	}
	return rc;
}

int
res_apply_after(const struct res_apply *a, const struct plan *p,
                char *const *gone, size_t ngone, struct apply_stats *st)
{
	size_t i;
	int rc = 0, one;

	for (i = 0; i < p->nresources; i++) {
		const struct plan_resource *r = &p->resources[i];

		if (r->op != PLAN_RES_DELETE)
			continue;
		if ((one = run_one(a, r, a->index0 + i, st)) < 0 && rc == 0)
			rc = one;
	}
	for (i = 0; i < ngone; i++) {
		enum res_kind k;
		const char *name;

		if (res_key_parse(gone[i], &k, &name) == 0 &&
		    (one = forget(a, k, name)) < 0 && rc == 0)
			rc = one;
	}
	return rc;
}
