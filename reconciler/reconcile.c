/*
 * reconcile: one pipeline for every command that looks at a stack, so
 * plan, apply and destroy cannot drift apart (they once assembled it three
 * times, and destroy's preventDestroy rule diverged from the planner's).
 *
 * The order is that of the commands before: sources, state, spec hashes
 * (they need the state's key), client; then per cycle the run record, the
 * lock, recovery, refresh, plan. The figures of a cycle (time, requests)
 * start before the lock is taken, so a summary covers recovery and refresh
 * as well as the apply.
 */
#include "common/base.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "manifests/manifest.h"
#include "manifests/source.h"
#include "reconciler/refresh.h"
#include "reconciler/resources.h"
#include "reconciler/reconcile.h"
#include "manifests/secret.h"
#include "manifests/spec.h"
#include "manifests/spechash.h"
#include "reconciler/create.h"
#include "reconciler/labels.h"
#include "reconciler/planout.h"

/* The slice of a lock wait between looks at the cancel token. */
#define RECONCILE_LOCK_SLICE_MS 1000

struct reconcile {
	struct reconcile_opts o;
	struct store *store;
	struct dt_client *client;
	struct manifest_set *set;
	struct spec *specs; /* sorted by name, nspecs of them */
	size_t nspecs;
	/* the plans that borrow specs (plan_input.specs_refs): the specs
	 * are freed or replaced only when there is none */
	int specs_refs;
	int64_t t0_ms;         /* the cycle's start (monotonic) */
	struct dt_stats http0; /* the client's counters then */
	int64_t run_id;        /* the cycle's run record, 0: none */
	int run_open;          /* not finished yet */
	struct store_lock_holder lock;
	int locked;
	struct store_lock_holder holder; /* who held it (SF_ELOCKED) */
	int have_holder;
	size_t recovered;
	int cycles;
	/* where secretFile references may be read: the manifest roots and
	 * the operator's secret directories (manifests/secret.h) */
	struct secret_policy secrets;
	/* the revision the sources last loaded whole at (enforced), and the
	 * one a later load failed at (NULL: none, or the same) */
	char *good_rev;
	char *failed_rev;
	/* the declared volumes and snapshots the last plan saw */
	struct res_observed res;
};

/* source_rev: the revision the sources read last (loaded whole or not):
 * the first source that has one, or NULL. */
static const char *
source_rev(const struct reconcile *r)
{
	const char *rev;
	size_t i;

	for (i = 0; !r->o.no_sources && i < r->o.nsources; i++)
		if ((rev = source_revision(r->o.sources[i])) != NULL)
			return rev;
	return NULL;
}

/* note_load: after a load of the sources (rc), which revision is
 * enforced and which failed. */
static void
note_load(struct reconcile *r, int rc)
{
	const char *rev = source_rev(r);

	free(r->failed_rev);
	r->failed_rev = NULL;
	if (rc == 0) {
		free(r->good_rev);
		r->good_rev = rev ? xstrdup(rev) : NULL;
	} else if (rev != NULL &&
	           (r->good_rev == NULL || strcmp(rev, r->good_rev) != 0)) {
		r->failed_rev = xstrdup(rev);
	}
}

char *
reconcile_api_url(void)
{
	const char *v = getenv("DAYTONA_API_URL");
	char *u = xstrdup(v && *v ? v : DT_DEFAULT_URL);
	size_t n = strlen(u);

	while (n > 0 && u[n - 1] == '/')
		u[--n] = '\0';
	return u;
}

static void
emit(struct reconcile *r, enum apply_event_kind kind,
     const struct store_lock_holder *holder, int64_t wait_ms)
{
	struct apply_event ev;

	if (r->o.on_event == NULL)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	ev.command = r->o.command;
	ev.stack = r->o.stack;
	ev.time_ms = time_now_ms();
	ev.elapsed_ms = time_mono_ms() - r->t0_ms;
	ev.holder = holder;
	ev.wait_ms = wait_ms;
	ev.recovered = r->recovered;
	r->o.on_event(r->o.event_arg, &ev);
}

static int
stopping(const struct reconcile *r)
{
	return sf_cancel_level(r->o.cancel) >= SF_CANCEL_STOP;
}

/* ---- sources ------------------------------------------------------------ */

/* specs_let_go: r's specs are about to be freed or replaced; a plan that
 * still borrowed them would read freed memory (a watch cycle must free
 * its plan before it loads again). */
static void
specs_let_go(const struct reconcile *r)
{
	if (r->specs_refs != 0) {
		log_error("internal error: %d plan%s still borrow%s the specs",
		          r->specs_refs, r->specs_refs == 1 ? "" : "s",
		          r->specs_refs == 1 ? "s" : "");
		abort();
	}
}

static void
specs_free(struct spec *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		spec_clear(&v[i]);
	free(v);
}

/* hash_specs: every spec's hash with the state's key, secret references
 * resolved for hashing only. */
static int
hash_specs(struct reconcile *r, struct spec *v, size_t n)
{
	struct spec_hasher *h;
	size_t i;
	int rc = 0;

	/* destroy reads manifests for preventDestroy only: no hash, so a
	 * secret it cannot resolve does not stand in its way */
	if (r->o.mode == RECONCILE_DESTROY || n == 0)
		return 0;
	/* one hasher for the run: the digest and the keyed HMAC are set up
	 * once, not per spec (issue 13) */
	h = spec_hasher_new(store_hmac_key(r->store), STORE_HMAC_KEY_LEN);
	for (i = 0; i < n; i++) {
		/* a plan works without the production secrets (it says which
		 * it could not compare); apply needs them */
		rc = spec_hasher_run(h, &v[i], secret_resolve, &r->secrets,
		                     r->o.mode == RECONCILE_PLAN);
		if (rc < 0) {
			char *msg = xstrdup(sf_error_last());

			sf_error_set(rc, "%s: %s", v[i].name, msg);
			free(msg);
			break;
		}
	}
	spec_hasher_free(h);
	return rc < 0 ? rc : 0;
}

/*
 * allow_secrets: the secret policy of the run: the root of every path
 * source and every --secret-dir. A secretFile elsewhere is refused.
 */
static int
allow_secrets(struct reconcile *r)
{
	size_t i;
	int rc;

	secret_policy_clear(&r->secrets);
	for (i = 0; !r->o.no_sources && !r->o.nsources &&
	            i < (r->o.npaths ? r->o.npaths : 1);
	     i++)
		if ((rc = secret_policy_allow(
		             &r->secrets, r->o.npaths ? r->o.paths[i] : ".")) <
		            0 &&
		    rc != SF_EIO)
			return rc; /* a missing path: the loader says so */
	for (i = 0; i < r->o.nsecret_dirs; i++)
		if ((rc = secret_policy_allow(&r->secrets,
		                              r->o.secret_dirs[i])) < 0)
			return rc;
	return 0;
}

/* load_sources: o.sources into one set (manifest_load() for paths). */
static int
load_sources(struct reconcile *r, struct manifest_set **set,
             struct diag_list *diags)
{
	struct manifest_loader *L = manifest_loader_new(diags);
	size_t i;
	int rc;

	for (i = 0; i < r->o.nsources; i++)
		if ((rc = source_load(r->o.sources[i], L)) < 0) {
			manifest_loader_free(L);
			return rc;
		}
	return manifest_loader_finish(L, set);
}

/* load_specs: the sources into a manifest set; the specs are taken out of
 * it (the set keeps the file names). */
static int
load_specs(struct reconcile *r, struct diag_list *diags,
           struct manifest_set **set, struct spec **specs, size_t *n)
{
	int rc;

	*set = NULL;
	*specs = NULL;
	*n = 0;
	if (r->o.no_sources)
		return 0;
	if (r->o.nsources) {
		rc = load_sources(r, set, diags);
		if (rc < 0 && (rc != SF_EINVALID || diags->n_errors == 0))
			return rc; /* a fetch or verification: said */
	} else {
		rc = manifest_load(r->o.paths, r->o.npaths, set, diags);
	}
	if (rc < 0)
		return sf_error_set(rc, "%zu error%s in the manifests",
		                    diags->n_errors,
		                    diags->n_errors == 1 ? "" : "s");
	*n = (*set)->n_sandboxes;
	*specs = (*set)->sandboxes;
	(*set)->sandboxes = NULL;
	(*set)->n_sandboxes = (*set)->cap_sandboxes = 0;
	log_debug("%zu sandboxes in the manifests", *n);
	return 0;
}

int
reconcile_load(struct reconcile *r, struct diag_list *diags)
{
	struct manifest_set *set = NULL;
	struct spec *specs = NULL;
	size_t n = 0;
	int rc;

	if ((rc = load_specs(r, diags, &set, &specs, &n)) < 0 ||
	    (rc = hash_specs(r, specs, n)) < 0) {
		specs_free(specs, n);
		manifest_set_free(set);
		note_load(r, rc);
		return rc;
	}
	note_load(r, 0);
	specs_let_go(r);
	specs_free(r->specs, r->nspecs);
	manifest_set_free(r->set);
	r->set = set;
	r->specs = specs;
	r->nspecs = n;
	return 0;
}

int
reconcile_open(const struct reconcile_opts *o, struct diag_list *diags,
               struct reconcile **out)
{
	struct reconcile *r = xcalloc(1, sizeof(*r));
	struct dt_config cfg = DT_CONFIG_INIT;
	int rc;

	*out = NULL;
	r->o = *o;
	r->t0_ms = time_mono_ms();
	/* the order the commands always had: a manifest error is reported
	 * before a state or key problem */
	if ((rc = load_specs(r, diags, &r->set, &r->specs, &r->nspecs)) < 0 ||
	    (rc = allow_secrets(r)) < 0 ||
	    (rc = store_open(o->state_path, &r->store)) < 0 ||
	    (rc = hash_specs(r, r->specs, r->nspecs)) < 0)
		goto fail;
	note_load(r, 0);
	if (o->refresh || o->mode != RECONCILE_PLAN) {
		cfg.transport = o->transport;
		cfg.clock = o->clock;
		if (o->timeout_ms > 0 && o->timeout_ms < DT_CALL_TIMEOUT_MS)
			cfg.call_timeout_ms = (long)o->timeout_ms;
		if ((rc = dt_config_from_env(&cfg, o->api_key_file,
		                             o->ca_file)) < 0 ||
		    (rc = dt_client_new(&cfg, &r->client)) < 0) {
			dt_config_clear(&cfg);
			goto fail;
		}
		dt_config_clear(&cfg);
		dt_client_set_counter(r->client, o->on_request, o->request_arg);
	}
	*out = r;
	return 0;
fail:
	reconcile_close(r);
	return rc;
}

/* ---- a cycle ------------------------------------------------------------ */

/* take_lock: LOCK_HOLD: one try, then (said) wait in slices that a stop
 * request on the token cuts short. */
static int
take_lock(struct reconcile *r)
{
	struct store_lock_holder h;
	int64_t deadline, left;
	int rc;

	memset(&h, 0, sizeof(h));
	rc = store_lock_acquire_wait(r->store, r->o.stack, r->o.command, 0, 0,
	                             &h);
	if (rc == SF_ELOCKED && r->o.lock_timeout_ms > 0 && !stopping(r)) {
		emit(r, APPLY_EV_LOCK_WAIT, &h, r->o.lock_timeout_ms);
		deadline = time_mono_ms() + r->o.lock_timeout_ms;
		while (rc == SF_ELOCKED && !stopping(r) &&
		       (left = deadline - time_mono_ms()) > 0)
			rc = store_lock_acquire_wait(
			        r->store, r->o.stack, r->o.command, 0,
			        left < RECONCILE_LOCK_SLICE_MS
			                ? left
			                : RECONCILE_LOCK_SLICE_MS,
			        &h);
	}
	if (rc == SF_ELOCKED) {
		r->holder = h;
		r->have_holder = 1;
		return sf_error_set(SF_ELOCKED,
		                    "stack '%s' is locked by another run",
		                    r->o.stack);
	}
	if (rc < 0)
		return rc;
	r->lock = h;
	r->locked = 1;
	if (h.took_over)
		emit(r, APPLY_EV_LOCK_TAKEN_OVER, &h, 0);
	return 0;
}

static void
run_begin(struct reconcile *r)
{
	struct store_run run;
	size_t i;

	memset(&run, 0, sizeof(run));
	run.command = r->o.command;
	run.stack = r->o.stack;
	run.source = r->o.source;
	for (i = 0; i < r->o.nsources && !r->o.no_sources; i++)
		if (source_revision(r->o.sources[i]) != NULL) {
			run.source = r->o.sources[i]->name;
			break;
		}
	/* the revision enforced: after a failed load, the last good one */
	if (r->good_rev != NULL)
		run.git_commit = source_revision_commit(r->good_rev);
	if (store_run_begin(r->store, &run, &r->run_id) < 0) {
		log_debug("cannot record the run: %s", sf_error_last());
		r->run_id = 0;
	}
	r->run_open = r->run_id > 0;
}

int
reconcile_begin(struct reconcile *r)
{
	int rc;

	if (r->cycles++ > 0)
		r->t0_ms = time_mono_ms();
	r->have_holder = 0;
	r->recovered = 0;
	if (r->client)
		dt_client_stats(r->client, &r->http0);
	if (r->o.lock == RECONCILE_LOCK_HOLD && (rc = take_lock(r)) < 0)
		return rc;
	run_begin(r);
	if (r->o.mode == RECONCILE_PLAN || r->client == NULL)
		return 0;
	if ((rc = apply_recover(r->client, r->store, r->o.stack, r->run_id,
	                        &r->recovered)) < 0) {
		char *msg = xstrdup(sf_error_last());

		sf_error_set(rc, "resolving an interrupted run: %s", msg);
		free(msg);
		reconcile_finish(r, "failed", NULL);
		return rc;
	}
	if (r->recovered)
		emit(r, APPLY_EV_RECOVERED, NULL, 0);
	return 0;
}

/* resize_unavailable: the state remembers that a resize answered 404 at
 * this API (the plan then replaces instead). */
static int
resize_unavailable(struct reconcile *r)
{
	char *v = NULL, *url;
	int hit;

	if (store_meta_get(r->store, STORE_META_RESIZE_UNAVAILABLE, &v) < 0) {
		log_debug("reading %s: %s", STORE_META_RESIZE_UNAVAILABLE,
		          sf_error_last());
		return 0;
	}
	if (v == NULL)
		return 0;
	url = reconcile_api_url();
	hit = strcmp(v, url) == 0;
	if (hit)
		log_debug("resize answered 404 at %s before: resources "
		          "force a replace",
		          url);
	free(url);
	free(v);
	return hit;
}

/* diff: the plan of what refresh saw (rr). */
static int
diff(struct reconcile *r, const struct refresh_result *rr,
     const char *locked_by, struct plan **out)
{
	struct plan_input in;
	int rc;

	memset(&in, 0, sizeof(in));
	in.stack = r->o.stack;
	in.specs = r->specs;
	in.nspecs = r->nspecs;
	/* the plan's actions borrow r's specs (not a copy per create):
	 * plan_free() before reconcile_load() or reconcile_close() */
	in.specs_refs = &r->specs_refs;
	in.observed = rr->observed;
	in.nobserved = rr->nobserved;
	in.records = rr->records;
	in.nrecords = rr->nrecords;
	/* the refresh's joins, when made for these specs (destroy refreshes
	 * without them) */
	if (rr->spec_obs != NULL && rr->joined_specs == r->specs &&
	    rr->njoined_specs == r->nspecs) {
		in.spec_obs = rr->spec_obs;
		in.spec_rec = rr->spec_rec;
		in.rec_obs = rr->rec_obs;
	}
	in.foreign = rr->foreign;
	in.nforeign = rr->nforeign;
	in.max_auto_archive = rr->max_auto_archive;
	in.secret_names = rr->has_secret_names ? &rr->secret_names : NULL;
	in.resize_unavailable = resize_unavailable(r);
	in.allow_mass_delete = r->o.allow_mass_delete;
	in.mass_delete = r->o.mass_delete;
	in.no_prune = r->o.no_prune;
	in.targets = r->o.targets;
	in.ntargets = r->o.ntargets;
	in.replace = r->o.replace;
	in.nreplace = r->o.nreplace;
	in.refreshed = r->o.refresh;
	in.locked_by = locked_by;
	if (r->set && r->o.mode != RECONCILE_DESTROY) {
		in.resources = r->set->resources;
		in.nresources = r->set->n_resources;
	}
	in.res_records = r->res.records;
	in.nres_records = r->res.nrecords;
	in.res_live = r->res.live;
	in.nres_live = r->res.nlive;
	in.res_known = r->res.known;
	in.res_refs_checked = r->res.refs_checked;
	if (r->o.mode == RECONCILE_DESTROY)
		rc = plan_build_destroy(&in, r->o.force_destroy, r->o.nforce,
		                        out);
	else if ((rc = plan_build(&in, out)) == 0)
		plan_ignore(*out, r->o.ignore, r->o.nignore);
	if (rc == 0 && rr->has_unmanaged) {
		(*out)->has_unmanaged = 1;
		strmap_copy(&(*out)->unmanaged, &rr->unmanaged);
	}
	return rc;
}

/* The brief lock of a plan's recording (RECONCILE_LOCK_RECORD). */
struct brief_lock {
	struct reconcile *r;
	struct store_lock_holder lock;
	char *locked_by; /* who held it, for the plan */
};

static int
brief_take(void *arg)
{
	struct brief_lock *b = arg;
	struct reconcile *r = b->r;
	int rc;

	memset(&b->lock, 0, sizeof(b->lock));
	rc = store_lock_acquire(r->store, r->o.stack, r->o.command, 0,
	                        &b->lock);
	if (rc != SF_ELOCKED)
		return rc < 0 ? rc : 0;
	emit(r, APPLY_EV_LOCK_BUSY, &b->lock, 0);
	b->locked_by = xasprintf("%s (pid %ld on %s)", b->lock.info,
	                         b->lock.pid, b->lock.host);
	return 1;
}

static void
brief_give(void *arg)
{
	struct brief_lock *b = arg;

	if (store_lock_release(b->r->store, b->lock.id) < 0)
		log_debug("releasing the stack lock: %s", sf_error_last());
}

int
reconcile_plan(struct reconcile *r, struct plan **out)
{
	struct refresh_opts ro;
	struct refresh_result rr;
	struct brief_lock brief;
	int rc;

	*out = NULL;
	memset(&brief, 0, sizeof(brief));
	brief.r = r;
	memset(&rr, 0, sizeof(rr));
	memset(&ro, 0, sizeof(ro));
	ro.stack = r->o.stack;
	ro.refresh = r->o.refresh;
	ro.show_unmanaged = r->o.show_unmanaged;
	ro.parallelism = r->o.parallelism;
	/* destroy refreshes the stack only; its specs (optional) add
	 * nothing to look up */
	if (r->o.mode != RECONCILE_DESTROY) {
		ro.specs = r->specs;
		ro.nspecs = r->nspecs;
	}
	/* the requests run unlocked (a hung server never keeps an apply
	 * out); recording takes the stack's lock for a moment, so a plan
	 * never overwrites what a running apply records; a locked stack is
	 * still planned, just not recorded */
	if (r->o.lock == RECONCILE_LOCK_RECORD && r->o.refresh) {
		ro.take = brief_take;
		ro.give = brief_give;
		ro.lock_arg = &brief;
	}
	rc = refresh_run(r->client, r->store, &ro, &rr);
	if (rc < 0)
		goto out;
	log_debug("refresh: %zu observed, %zu records, %zu pages, %zu gets, "
	          "%zu recorded%s",
	          rr.nobserved, rr.nrecords, rr.pages, rr.gets, rr.recorded,
	          rr.rebuilt ? " (state rebuilt from labels)" : "");
	res_observed_clear(&r->res);
	rc = res_refresh(r->client, r->store, r->o.stack,
	                 r->o.mode == RECONCILE_DESTROY ? NULL : r->set,
	                 r->o.mode == RECONCILE_DESTROY ? NULL : r->specs,
	                 r->o.mode == RECONCILE_DESTROY ? 0 : r->nspecs,
	                 r->o.refresh, r->o.mode == RECONCILE_DESTROY,
	                 r->o.parallelism, &r->res);
	if (rc < 0)
		goto out;
	/* first plan with what was seen; what its creates reference and
	 * nobody looked up yet is looked up, and the plan made again with
	 * the references checked */
	if ((rc = diff(r, &rr, brief.locked_by, out)) < 0 || !r->res.known)
		goto out;
	if ((rc = res_lookup_refs(r->client, *out, &r->res)) < 0) {
		plan_free(*out);
		*out = NULL;
		goto out;
	}
	r->res.refs_checked = 1;
	if (rc > 0) {
		plan_free(*out);
		*out = NULL;
		rc = diff(r, &rr, brief.locked_by, out);
	}
out:
	free(brief.locked_by);
	refresh_result_clear(&rr);
	return rc;
}

/*
 * check_seal: the saved plan's integrity MAC (planout_save) under this
 * state's key. Compared in constant time; any difference refuses the plan
 * as a whole.
 */
static int
check_seal(struct reconcile *r, const struct plan *p)
{
	char mac[SF_SHA256_HEX_LEN + 1];
	unsigned char diff = 0;
	size_t i;

	if (p->seal_mac == NULL)
		return sf_error_set(SF_EINVALID,
		                    "the saved plan has no integrity seal "
		                    "(edited, or written by an older "
		                    "sandform); nothing was changed: run "
		                    "sandform plan --out again");
	planout_seal_mac(store_hmac_key(r->store), STORE_HMAC_KEY_LEN,
	                 p->seal_digest, mac);
	if (strlen(p->seal_mac) != SF_SHA256_HEX_LEN)
		diff = 1;
	else
		for (i = 0; i < SF_SHA256_HEX_LEN; i++)
			diff |= (unsigned char)(mac[i] ^ p->seal_mac[i]);
	if (diff)
		return sf_error_set(SF_EINVALID,
		                    "the saved plan failed its integrity "
		                    "check: it was changed after sandform "
		                    "plan --out wrote it, or was made with "
		                    "another state; nothing was changed: run "
		                    "sandform plan --out again");
	return 0;
}

int
reconcile_check_saved(struct reconcile *r, const struct plan *p)
{
	struct store_record_list l = { NULL, 0 };
	struct strmap records = STRMAP_INIT;
	size_t i;
	int rc;

	/* its secret files: under the roots of the manifests planned (and
	 * the --secret-dir ones) */
	for (i = 0; i < p->nactions; i++)
		if (p->actions[i].desired && p->actions[i].desired->file)
			(void)secret_policy_allow(&r->secrets,
			                          p->actions[i].desired->file);
	if ((rc = check_seal(r, p)) < 0)
		return rc;
	if ((rc = store_record_list(r->store, p->stack, &l)) < 0)
		return rc;
	for (i = 0; i < l.n; i++)
		if (l.v[i].sandbox_id)
			strmap_set(&records, l.v[i].name, l.v[i].sandbox_id);
	store_record_list_free(&l);
	rc = apply_check_fresh(p, r->client, &records);
	if (rc == 0)
		rc = res_check_fresh(r->client, p, &records);
	strmap_clear(&records);
	return rc;
}

int
reconcile_save_plan(struct reconcile *r, const struct plan *p, const char *path)
{
	return planout_save(p, path, store_hmac_key(r->store),
	                    STORE_HMAC_KEY_LEN);
}

/* whole_cycle: the figures of a cycle: time since t0, the client's
 * counters since http0 (recovery and refresh included). */
static void
whole_cycle(struct reconcile *r, struct apply_stats *st)
{
	struct dt_stats now;

	st->elapsed_ms = time_mono_ms() - r->t0_ms;
	if (r->client == NULL)
		return;
	dt_client_stats(r->client, &now);
	st->http.requests = now.requests - r->http0.requests;
	st->http.retries = now.retries - r->http0.retries;
	st->http.throttled = now.throttled - r->http0.throttled;
}

static void
summary(struct reconcile *r, const struct apply_stats *st, int executed)
{
	struct apply_event ev;

	if (r->o.on_event == NULL)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.kind = APPLY_EV_SUMMARY;
	ev.command = r->o.command;
	ev.stack = r->o.stack;
	ev.time_ms = time_now_ms();
	ev.elapsed_ms = st->elapsed_ms;
	ev.stats = st;
	ev.total = st->total;
	ev.finished = st->done + st->failed;
	ev.recovered = r->recovered;
	ev.interrupted = st->stopped;
	ev.executed = executed;
	r->o.on_event(r->o.event_arg, &ev);
}

/*
 * Sandboxes on a snapshot being replaced. The new snapshot has the old
 * one's name, so the old one must be gone before it is made, and the old
 * sandboxes before that (Daytona's removeSnapshot does not check for users:
 * they would be left on a removed image). So their deletes run first
 * (delete_first), then the snapshot's replace, then their creates.
 */

/* first_events: the events of the deletes run first, under indices of
 * their own (after the actions and the resources), no END (the run's own
 * comes later); the outcome of each, by its index in the plan. */
struct first_events {
	apply_event_fn fn;
	void *arg;
	size_t offset;
	const size_t *map;      /* index in the first run -> in the plan */
	unsigned char *outcome; /* by index in the plan: FIRST_* */
};

enum { FIRST_NONE = 0, FIRST_DONE, FIRST_FAILED, FIRST_LEFT };

static void
first_event(void *arg, const struct apply_event *ev)
{
	struct first_events *f = arg;
	struct apply_event e;

	if (ev->kind == APPLY_EV_END)
		return;
	if (ev->action && ev->kind == APPLY_EV_DONE)
		f->outcome[f->map[ev->index]] = FIRST_DONE;
	else if (ev->action && ev->kind == APPLY_EV_FAILED)
		f->outcome[f->map[ev->index]] = FIRST_FAILED;
	else if (ev->action && ev->kind == APPLY_EV_LEFT)
		f->outcome[f->map[ev->index]] = FIRST_LEFT;
	if (f->fn == NULL)
		return;
	e = *ev;
	if (e.action)
		e.index += f->offset;
	f->fn(f->arg, &e);
}

/* on_replaced: the snapshot (being replaced) the live sandbox of a is
 * built from, or NULL. Only replaces and deletes have one to remove. */
static const char *
on_replaced(const struct plan *p, const struct plan_action *a)
{
	const char *snap = NULL;

	if (a->kind != PLAN_REPLACE && a->kind != PLAN_DELETE)
		return NULL;
	if (a->observed && a->observed->snapshot)
		snap = a->observed->snapshot;
	else if (a->kind == PLAN_REPLACE && a->desired)
		snap = a->desired->snapshot;
	return plan_res_replacing(p, RES_SNAPSHOT, snap) ? snap : NULL;
}

/* delete_at: the index of the step that ends the delete half of a
 * replace (its STEP_WAIT_GONE), or a->nsteps. */
static size_t
delete_at(const struct plan_action *a)
{
	size_t k;

	for (k = 0; k < a->nsteps; k++)
		if (a->steps[k].kind == STEP_WAIT_GONE)
			return k;
	return a->nsteps;
}

/*
 * delete_first: run the delete (half) of each action on a snapshot being
 * replaced; outcome[i] (FIRST_*) says how action i of p ended. A failure
 * marks every snapshot replace as failed (in failed): none is deleted
 * while a sandbox of the stack may still use it, and the creates that
 * need one are not run. The deletes (not the halves, counted with their
 * creates) count into st. 1 when the run was stopped.
 */
static int
delete_first(const struct plan *p, struct dt_client *c, struct store *store,
             const struct apply_opts *ao, struct strmap *failed,
             unsigned char *outcome, struct apply_stats *st)
{
	struct first_events fe;
	struct apply_opts o = *ao;
	struct apply_stats ds;
	struct plan first;
	size_t i, *map;
	int rc = 0, bad = 0;

	first = *p;
	first.resources = NULL;
	first.nresources = 0;
	first.actions = xcalloc(p->nactions + 1, sizeof(*first.actions));
	first.nactions = 0;
	map = xcalloc(p->nactions + 1, sizeof(*map));
	for (i = 0; i < p->nactions; i++) {
		struct plan_action *d;

		if (on_replaced(p, &p->actions[i]) == NULL)
			continue;
		map[first.nactions] = i;
		outcome[i] = FIRST_LEFT;
		d = &first.actions[first.nactions++];
		*d = p->actions[i];
		/* the record goes with the old sandbox: a crash before the
		 * create leaves a missing sandbox, created by the next run */
		d->kind = PLAN_DELETE;
		if (p->actions[i].kind == PLAN_REPLACE)
			d->nsteps = delete_at(d) + 1;
	}
	if (first.nactions == 0)
		goto out;
	memset(&fe, 0, sizeof(fe));
	fe.fn = ao->on_event;
	fe.arg = ao->event_arg;
	fe.offset = p->nactions + 2 * p->nresources;
	fe.map = map;
	fe.outcome = outcome;
	o.on_event = first_event;
	o.event_arg = &fe;
	rc = apply_run(&first, c, store, &o, &ds);
	if (rc < 0)
		goto out;
	for (i = 0; i < first.nactions; i++) {
		const struct plan_action *a = &p->actions[map[i]];

		bad |= outcome[map[i]] != FIRST_DONE;
		if (a->kind != PLAN_DELETE)
			continue;
		st->total++;
		switch (outcome[map[i]]) {
		case FIRST_DONE:
			st->done++;
			break;
		case FIRST_FAILED:
			st->failed++;
			break;
		default:
			st->left++;
		}
	}
	for (i = 0; bad && i < p->nresources; i++) {
		const struct plan_resource *r = &p->resources[i];
		char *key;

		if (r->kind != RES_SNAPSHOT || r->op != PLAN_RES_REPLACE)
			continue;
		key = res_key(r->kind, r->name);
		strmap_set(failed, key,
		           "a sandbox built from the snapshot it replaces was "
		           "not deleted");
		free(key);
	}
	st->lock_lost = ds.lock_lost;
	if (ds.stopped || ds.lock_lost) {
		st->stopped = ds.stopped;
		rc = 1;
	}
out:
	free(first.actions);
	free(map);
	return rc;
}

/* names_secrets: a creates a sandbox, or sets its platform secrets, and
 * its spec names some */
static int
names_secrets(const struct plan_action *a)
{
	size_t k;

	if (a->desired == NULL || a->desired->secrets.n == 0)
		return 0;
	for (k = 0; k < a->nsteps; k++)
		if (a->steps[k].kind == STEP_CREATE ||
		    a->steps[k].kind == STEP_SET_SECRETS)
			return 1;
	return 0;
}

/* secret_env: s takes an env value from sandform's secrets */
static int
secret_env(const struct spec *s)
{
	size_t i;

	for (i = 0; s && i < s->nenv; i++)
		if (s->env[i].kind != SPEC_ENV_PLAIN)
			return 1;
	return 0;
}

/*
 * check_before: what would fail a sandbox's create or secrets call is
 * found before anything is changed (volumes, snapshots, the deletes of a
 * snapshot's users): the platform secrets the plan's creates and secret
 * updates name still exist (one GET /secret: one deleted since the plan,
 * or since a saved plan was written, is refused as plan refuses it), and
 * sandform's own secrets resolve (a body is built and wiped). A server
 * without GET /secret leaves the names unchecked, as plan does.
 */
static int
check_before(struct reconcile *r, const struct plan *p)
{
	struct strmap have = STRMAP_INIT;
	struct buf msg = BUF_INIT;
	size_t i, k, n = 0;
	int rc = 0, need = 0;

	for (i = 0; i < p->nactions && !need; i++)
		need = names_secrets(&p->actions[i]);
	if (need && dt_secret_names(r->client, &have, NULL) < 0) {
		log_debug("GET /secret failed (%s); the secrets' names are "
		          "not checked",
		          sf_error_last());
		sf_error_clear();
		need = 0;
	}
	for (i = 0; need && i < p->nactions; i++) {
		const struct plan_action *a = &p->actions[i];

		if (!names_secrets(a))
			continue;
		for (k = 0; k < a->desired->secrets.n; k++) {
			const char *name = a->desired->secrets.v[k].value;
			char *m;

			if (strmap_get(&have, name))
				continue;
			m = plan_missing_secret(
			        a->desired, a->desired->secrets.v[k].key, name);
			buf_addf(&msg, "%s%s", n++ ? "\n" : "", m);
			free(m);
		}
	}
	strmap_clear(&have);
	if (n > 0) {
		rc = sf_error_set(SF_EINVALID, "%s", buf_cstr(&msg));
		buf_free(&msg);
		return rc;
	}
	buf_free(&msg);
	for (i = 0; i < p->nactions; i++) {
		const struct plan_action *a = &p->actions[i];
		struct strmap labels = STRMAP_INIT;
		struct create_body body;

		for (k = 0; k < a->nsteps; k++)
			if (a->steps[k].kind == STEP_CREATE)
				break;
		if (k == a->nsteps || !secret_env(a->desired))
			continue;
		rc = create_body_build(a->desired, &labels, secret_resolve,
		                       &r->secrets, &body);
		if (rc == 0)
			create_body_clear(&body);
		strmap_clear(&labels);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* run: apply_run with the cycle's token, events and lock. */
static int
run(struct reconcile *r, const struct plan *p, struct apply_stats *st)
{
	struct strmap failed = STRMAP_INIT;
	struct apply_stats rs, pre;
	unsigned char *first = NULL;
	struct res_apply ra;
	struct plan sub;
	size_t i;
	struct apply_opts ao;
	char *url = reconcile_api_url();
	int rc = 0;

	memset(&ao, 0, sizeof(ao));
	ao.stack = p->stack ? p->stack : r->o.stack;
	ao.parallelism = r->o.parallelism;
	ao.timeout_ms = r->o.timeout_ms;
	ao.run_id = r->run_id;
	ao.lock_id = r->locked ? r->lock.id : NULL;
	ao.cancel = r->o.cancel;
	ao.on_event = r->o.on_event;
	ao.event_arg = r->o.event_arg;
	ao.resolve = secret_resolve;
	ao.resolve_arg = &r->secrets;
	ao.command = r->o.command;
	ao.api_url = url;
	memset(&ra, 0, sizeof(ra));
	ra.client = r->client;
	ra.store = r->store;
	ra.stack = ao.stack;
	ra.timeout_ms = r->o.timeout_ms;
	ra.cancel = r->o.cancel;
	ra.on_event = r->o.on_event;
	ra.event_arg = r->o.event_arg;
	ra.command = r->o.command;
	ra.index0 = p->nactions;
	memset(&rs, 0, sizeof(rs));
	memset(&pre, 0, sizeof(pre));
	memset(st, 0, sizeof(*st));
	/* the sandboxes on a snapshot being replaced are deleted first;
	 * then volumes and snapshots; an action that needs one that failed
	 * is not run (it fails too, saying why) */
	if ((rc = check_before(r, p)) < 0)
		goto out;
	(void)res_fix_ids(&ra, &r->res);
	first = xcalloc(p->nactions + 1, sizeof(*first));
	if ((rc = delete_first(p, r->client, r->store, &ao, &failed, first,
	                       &pre)) != 0) {
		if (rc > 0) {
			/* stopped: nothing else is started */
			*st = pre;
			for (i = 0; i < p->nactions; i++)
				if (first[i] == FIRST_NONE ||
				    p->actions[i].kind == PLAN_REPLACE) {
					st->total++;
					st->left++;
				}
			st->total += p->nresources;
			st->left += p->nresources;
			rc = 0;
		}
		goto out;
	}
	(void)res_apply_before(&ra, p, &rs, &failed);
	(void)res_wait_settling(&ra, p, &r->res, &failed);
	/* the usual run: nothing was deleted first and no volume or
	 * snapshot failed, so every action runs as planned: p itself, not
	 * a copy of its actions (1.1 MiB at 10,000 creates) */
	for (i = 0; i < p->nactions; i++)
		if (first[i] != FIRST_NONE || failed.n > 0)
			break;
	if (p->nactions > 0 && i == p->nactions) {
		rc = apply_run(p, r->client, r->store, &ao, st);
		goto ran;
	}
	memset(&sub, 0, sizeof(sub));
	sub = *p;
	sub.actions = xcalloc(p->nactions + 1, sizeof(*sub.actions));
	sub.nactions = 0;
	for (i = 0; i < p->nactions; i++) {
		const char *why =
		        res_needs_failed(p->actions[i].desired, &failed);

		if (first[i] != FIRST_NONE) {
			struct plan_action *d;
			size_t k;

			/* deleted first: a delete is done (counted), a
			 * replace creates, once its delete went through */
			if (p->actions[i].kind == PLAN_DELETE)
				continue;
			if (why == NULL && first[i] != FIRST_DONE)
				why = "its old sandbox deleted first (failed)";
			if (why != NULL) {
				rs.total++;
				rs.failed++;
				res_skip_event(&ra, &p->actions[i],
				               p->nactions + p->nresources + i,
				               why);
				continue;
			}
			d = &sub.actions[sub.nactions++];
			*d = p->actions[i];
			k = delete_at(d) + 1;
			d->steps += k;
			d->nsteps -= k;
			d->sandbox_id = NULL;
			continue;
		}
		if (why == NULL) {
			sub.actions[sub.nactions++] = p->actions[i];
			continue;
		}
		rs.total++;
		rs.failed++;
		res_skip_event(&ra, &p->actions[i],
		               p->nactions + p->nresources + i, why);
	}
	if (sub.nactions > 0)
		rc = apply_run(&sub, r->client, r->store, &ao, st);
	free(sub.actions);
ran:
	if (rc < 0)
		goto out;
	st->total += pre.total;
	st->done += pre.done;
	st->failed += pre.failed;
	st->left += pre.left;
	st->lock_lost |= pre.lock_lost;
	if (!rs.failed && !st->failed && !st->left && !st->stopped)
		(void)res_apply_after(&ra, p, r->res.gone, r->res.ngone, &rs);
	st->total += rs.total;
	st->done += rs.done;
	st->failed += rs.failed;
	st->left += rs.left;
	rc = 0;
out:
	strmap_clear(&failed);
	free(first);
	free(url);
	return rc;
}

/*
 * kept_by_destroy: a record a destroy leaves in the state. A volume or
 * snapshot still used by a sandbox outside the stack is not deleted, and
 * stays the stack's: a later destroy or plan deletes it once the outsider
 * is gone (Terraform keeps what it did not destroy in its state). When the
 * live side was not looked up, every such record is kept. With --target,
 * whatever was not targeted is kept as well.
 */
static int
in_targets(const struct reconcile *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->o.ntargets; i++)
		if (!strcmp(r->o.targets[i], name))
			return 1;
	return 0;
}

static int
kept_by_destroy(const struct reconcile *r, const char *name)
{
	enum res_kind k;
	const char *rn;
	size_t i;

	if (res_key_parse(name, &k, &rn) < 0)
		return r->o.ntargets > 0 && !in_targets(r, name);
	if (!r->res.known)
		return 1;
	if (r->o.ntargets > 0 && !in_targets(r, name))
		return 1;
	for (i = 0; i < r->res.nlive; i++)
		if (r->res.live[i].kind == k &&
		    !strcmp(r->res.live[i].name, rn))
			return r->res.live[i].used_outside != NULL;
	return 0;
}

/* destroy_forget: after a destroy, forget the stack's records but the
 * ones kept_by_destroy() says stay. */
static int
destroy_forget(struct reconcile *r)
{
	struct store_record_list l = { NULL, 0 };
	size_t i;
	int rc;

	if ((rc = store_record_list(r->store, r->o.stack, &l)) < 0)
		return rc;
	for (i = 0; i < l.n && rc == 0; i++) {
		if (kept_by_destroy(r, l.v[i].name))
			continue;
		rc = store_record_delete(r->store, r->o.stack, l.v[i].name);
		if (rc == SF_ENOTFOUND)
			rc = 0;
	}
	store_record_list_free(&l);
	return rc;
}

int
reconcile_apply(struct reconcile *r, const struct plan *p,
                struct apply_stats *st)
{
	char *counts, *msg;
	const char *outcome;
	int rc;

	memset(st, 0, sizeof(*st));
	/* the lease may have run out while a person read the plan */
	if (r->locked && store_lock_renew(r->store, r->lock.id, 0) < 0) {
		msg = xstrdup(sf_error_last());
		r->locked = 0;
		reconcile_finish(r, "failed", NULL);
		rc = sf_error_set(SF_ELOCKED,
		                  "lost the stack lock while waiting for "
		                  "confirmation (%s); nothing was changed",
		                  msg);
		free(msg);
		return rc;
	}
	if ((rc = run(r, p, st)) < 0) {
		/* nothing was called: e.g. a missing secret */
		msg = xstrdup(sf_error_last());
		reconcile_finish(r, "failed", NULL);
		sf_error_set(rc, "%s; nothing was changed", msg);
		free(msg);
		return rc;
	}
	if (st->lock_lost)
		r->locked = 0; /* not ours to release */
	whole_cycle(r, st);
	summary(r, st, 1);
	outcome = st->stopped ? "interrupted" : (st->failed ? "failed" : "ok");
	counts = xasprintf("{\"total\":%zu,\"done\":%zu,\"failed\":%zu,"
	                   "\"left\":%zu,\"recovered\":%zu,\"requests\":%llu}",
	                   st->total, st->done, st->failed, st->left,
	                   r->recovered, (unsigned long long)st->http.requests);
	reconcile_finish(r, outcome, counts);
	free(counts);
	if (r->o.mode == RECONCILE_DESTROY && !st->failed && !st->left)
		return destroy_forget(r);
	return 0;
}

void
reconcile_nothing(struct reconcile *r)
{
	struct apply_stats none;
	char *counts;

	if (r->o.mode == RECONCILE_DESTROY)
		(void)destroy_forget(r);
	memset(&none, 0, sizeof(none));
	whole_cycle(r, &none);
	summary(r, &none, 0);
	counts =
	        xasprintf("{\"total\":0,\"recovered\":%zu,\"requests\":%llu}",
	                  r->recovered, (unsigned long long)none.http.requests);
	reconcile_finish(r, "ok", counts);
	free(counts);
}

/* with_failed_rev: counts_json with "failed_revision" added (caller
 * frees), or NULL when there is none to add. */
static char *
with_failed_rev(const struct reconcile *r, const char *counts_json)
{
	cJSON *j;
	char *out;

	if (r->failed_rev == NULL)
		return NULL;
	j = counts_json ? cJSON_Parse(counts_json) : cJSON_CreateObject();
	if (j == NULL || !cJSON_IsObject(j)) {
		cJSON_Delete(j);
		j = cJSON_CreateObject();
	}
	cJSON_AddStringToObject(j, "failed_revision", r->failed_rev);
	out = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return out;
}

void
reconcile_finish(struct reconcile *r, const char *outcome,
                 const char *counts_json)
{
	char *counts;

	if (!r->run_open)
		return;
	counts = with_failed_rev(r, counts_json);
	store_run_finish(r->store, r->run_id, outcome,
	                 counts ? counts : counts_json);
	free(counts);
	r->run_open = 0;
}

void
reconcile_end(struct reconcile *r)
{
	if (r == NULL)
		return;
	reconcile_finish(r, "failed", NULL);
	if (r->locked && store_lock_release(r->store, r->lock.id) < 0)
		log_debug("releasing the lock: %s", sf_error_last());
	r->locked = 0;
}

void
reconcile_close(struct reconcile *r)
{
	if (r == NULL)
		return;
	if (r->store)
		reconcile_end(r);
	specs_let_go(r);
	specs_free(r->specs, r->nspecs);
	manifest_set_free(r->set);
	res_observed_clear(&r->res);
	secret_policy_clear(&r->secrets);
	dt_client_free(r->client);
	store_close(r->store);
	free(r->good_rev);
	free(r->failed_rev);
	free(r);
}

const struct store_lock_holder *
reconcile_holder(const struct reconcile *r)
{
	return r && r->have_holder ? &r->holder : NULL;
}

size_t
reconcile_recovered(const struct reconcile *r)
{
	return r ? r->recovered : 0;
}

const char *
reconcile_revision(const struct reconcile *r)
{
	return r ? r->good_rev : NULL;
}

const char *
reconcile_failed_revision(const struct reconcile *r)
{
	return r ? r->failed_rev : NULL;
}

struct store *
reconcile_store(struct reconcile *r)
{
	return r ? r->store : NULL;
}

void
reconcile_not_counted(struct reconcile *r, int64_t ms)
{
	if (r != NULL && ms > 0)
		r->t0_ms += ms;
}

int64_t
reconcile_run_id(const struct reconcile *r)
{
	return r ? r->run_id : 0;
}
