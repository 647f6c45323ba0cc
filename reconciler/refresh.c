/*
 * refresh: one label-filtered walk, then only the GETs a list item cannot
 * answer (see refresh.h). With 10,000 up-to-date sandboxes that is 50 list
 * pages and nothing else, which is what keeps a plan cheap for large
 * stacks and kind to the rate limits.
 *
 * Observations are written back only when they changed (compared as the
 * printed JSON of the list item, printed without a cJSON tree into one
 * reused buffer), in one transaction, so an unchanged stack costs no
 * SQLite writes, and takes no lock.
 */
#include "common/base.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/nameix.h"
#include "common/workpool.h"
#include "common/xalloc.h"
#include "reconciler/refresh.h"
#include "reconciler/resources.h"

static const char *
nz(const char *s)
{
	return s ? s : "";
}

static cJSON *
parse_json(const char *s)
{
	return s ? cJSON_Parse(s) : NULL;
}

/* What sandbox_records keeps of the recorded observations (the bulk of a
 * record: ~800 bytes of JSON each). */
enum obs_keep {
	OBS_ALL,     /* every text (a plan without refresh reads them) */
	OBS_NETWORK, /* the texts of sandboxes whose spec declares network
	                settings (recorded_network reads them); of the others
	                only a hash, enough to tell whether one changed */
	OBS_NONE,    /* none */
};

static uint64_t text_hash(const char *s);
static int cmp_spec_key(const void *key, const void *elem);

struct rec_load {
	struct store_record_list *l;
	size_t alloc;
	enum obs_keep keep;
	const struct refresh_opts *o; /* OBS_NETWORK: its specs */
	struct nameix net;            /* the specs declaring network settings */
	size_t nnet;
	uint64_t *hash; /* OBS_NETWORK: per record, the hash of a text let
	                   go (0: kept, or none) */
	/* with src: the plan records, built as the records are read (they
	 * own the name, id and spec hash the store records point to); the
	 * applied texts are not kept, only their hashes (0: none), and the
	 * plan records read them from src when needed. NULL: neither. */
	const struct plan_applied_src *src;
	struct plan_record *pr;
	uint64_t *applied_hash;
};

static const char *
spec_name(const void *ctx, size_t i)
{
	return ((const struct spec *)ctx)[i].name;
}

/* net_specs: index the specs that declare network settings (usually
 * none: then no record is looked up at all). */
static void
net_specs(struct rec_load *L)
{
	const struct refresh_opts *o = L->o;
	size_t i;

	for (i = 0; i < o->nspecs; i++)
		if (o->specs[i].has_network) {
			if (L->nnet++ == 0)
				nameix_init(&L->net, spec_name, o->specs, 16);
			nameix_add(&L->net, i);
		}
}

/* spec_has_network: whether name's spec declares network settings. */
static int
spec_has_network(const struct rec_load *L, const char *name)
{
	return L->nnet > 0 && nameix_find(&L->net, name) >= 0;
}

/* The statuses a record can have: a record points at one of these instead
 * of a copy of its own (100,000 records are 100,000 allocations less). */
static const char *const statuses[] = {
	STORE_STATUS_ACTIVE,
	STORE_STATUS_PENDING_CREATE,
	STORE_STATUS_ADOPTED,
	STORE_STATUS_IMPORTED,
};

static const char *
shared_status(const char *s)
{
	size_t i;

	for (i = 0; s != NULL && i < sizeof(statuses) / sizeof(*statuses); i++)
		if (strcmp(s, statuses[i]) == 0)
			return statuses[i];
	return NULL;
}

/* records_free: store_record_list_free() for a list of load_record's,
 * whose stack (the run's) and known statuses are not copies, nor, with
 * plan records (owned 1), the name, id and spec hash. */
static void
records_free(struct store_record_list *l, const char *stack, int owned)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (owned)
			l->v[i].name = l->v[i].sandbox_id = l->v[i].spec_hash =
			        NULL;
		if (l->v[i].stack == stack)
			l->v[i].stack = NULL;
		if (shared_status(l->v[i].status) == l->v[i].status)
			l->v[i].status = NULL;
	}
	store_record_list_free(l);
}

/* fill_record: what a plan record reads from the store record's JSON. */
static void
fill_record(const struct store_record *r, struct plan_record *out)
{
	cJSON *j;

	out->imported =
	        r->status && strcmp(r->status, STORE_STATUS_IMPORTED) == 0;
	if (r->labels_json != NULL &&
	    strmap_scan_json(r->labels_json, strlen(r->labels_json),
	                     &out->owned_labels) == 0) {
		out->labels_ok = 1; /* the usual text, read without a tree */
	} else if ((j = parse_json(r->labels_json)) != NULL) {
		if (strmap_from_json(j, "labels", &out->owned_labels) < 0)
			log_debug("%s: ignoring malformed labels_json",
			          r->name);
		else
			out->labels_ok = 1;
		cJSON_Delete(j);
	}
}

/* load_record: copy one of the store's records (see rec_load). */
static int
load_record(void *arg, const struct store_record *r)
{
	struct rec_load *L = arg;
	struct store_record *d;
	size_t n = L->l->n;

	if (res_is_record(r->name))
		return 0;
	if (n == L->alloc) {
		L->alloc = L->alloc ? 2 * L->alloc : 256;
		L->l->v = xreallocarray(L->l->v, L->alloc, sizeof(*L->l->v));
		if (L->src) {
			L->pr = xreallocarray(L->pr, L->alloc, sizeof(*L->pr));
			L->applied_hash =
			        xreallocarray(L->applied_hash, L->alloc,
			                      sizeof(*L->applied_hash));
		}
		if (L->keep == OBS_NETWORK)
			L->hash = xreallocarray(L->hash, L->alloc,
			                        sizeof(*L->hash));
	}
	d = &L->l->v[n];
	*d = *r;
	/* the store reads this stack's records only */
	d->stack = r->stack && strcmp(r->stack, L->o->stack) == 0
	                   ? L->o->stack
	                   : xstrdup_or_null(r->stack);
	if (L->src && r->name) {
		/* name, id and spec hash in one allocation, the plan
		 * record's (plan_record.strings_block) */
		size_t nn = strlen(r->name) + 1,
		       ni = r->sandbox_id ? strlen(r->sandbox_id) + 1 : 0,
		       nh = r->spec_hash ? strlen(r->spec_hash) + 1 : 0;
		char *blk = xmalloc(nn + ni + nh);

		d->name = memcpy(blk, r->name, nn);
		d->sandbox_id = ni ? memcpy(blk + nn, r->sandbox_id, ni) : NULL;
		d->spec_hash =
		        nh ? memcpy(blk + nn + ni, r->spec_hash, nh) : NULL;
	} else {
		d->name = xstrdup_or_null(r->name);
		d->sandbox_id = xstrdup_or_null(r->sandbox_id);
		d->spec_hash = xstrdup_or_null(r->spec_hash);
	}
	d->labels_json = NULL;
	/* 100,000 applied specs are 30 MB of text: a plan reads the few it
	 * needs again (plan_record_applied) */
	d->applied_json = L->src ? NULL : xstrdup_or_null(r->applied_json);
	d->status = shared_status(r->status);
	if (d->status == NULL)
		d->status = xstrdup_or_null(r->status);
	d->observed_json = NULL;
	if (L->src) {
		struct plan_record *pr = &L->pr[n];

		memset(pr, 0, sizeof(*pr));
		pr->name = (char *)d->name;
		pr->id = (char *)d->sandbox_id;
		pr->spec_hash = (char *)d->spec_hash;
		pr->strings_block = d->name != NULL;
		fill_record(r, pr);
		pr->applied_src = r->applied_json ? L->src : NULL;
		L->applied_hash[n] =
		        r->applied_json ? text_hash(r->applied_json) : 0;
	}
	/* a refresh writes labels back from the plan record's owned_labels;
	 * the text is kept only when it could not be read (as it was), or
	 * for a plan without refresh. Not copying it keeps 100,000 holes out
	 * of the heap. */
	if (L->src == NULL || L->keep == OBS_ALL || !L->pr[n].labels_ok)
		d->labels_json = xstrdup_or_null(r->labels_json);
	if (L->keep == OBS_NETWORK)
		L->hash[n] = 0;
	if (r->observed_json != NULL &&
	    (L->keep == OBS_ALL ||
	     (L->keep == OBS_NETWORK && spec_has_network(L, r->name))))
		d->observed_json = xstrdup(r->observed_json);
	else if (r->observed_json != NULL && L->keep == OBS_NETWORK)
		L->hash[n] = text_hash(r->observed_json);
	L->l->n++;
	return 0;
}

/* What sandbox_records makes for a refresh besides the records. */
struct rec_plan {
	struct plan_record *pr; /* the plan records, one per record */
	uint64_t *applied_hash; /* the hash of each applied text (0: none) */
	const struct plan_applied_src *src; /* where pr reads them */
};

/*
 * sandbox_records: the stack's records less those of its declared volumes
 * and snapshots ("<volume>NAME", reconciler/resources.h), read one at a
 * time so that the observations let go are never all held at once. With
 * OBS_NETWORK, *hash_out (the caller's) gets the hashes.
 */
static int
sandbox_records(struct store *st, const struct refresh_opts *o,
                enum obs_keep keep, struct store_record_list *l,
                uint64_t **hash_out, struct rec_plan *rp)
{
	struct rec_load L;
	size_t i;
	int rc;

	memset(&L, 0, sizeof(L));
	L.l = l;
	L.keep = keep;
	L.o = o;
	L.src = rp ? rp->src : NULL;
	l->v = NULL;
	l->n = 0;
	if (keep == OBS_NETWORK)
		net_specs(&L);
	rc = store_record_each(st, o->stack, load_record, &L);
	if (L.nnet > 0)
		nameix_free(&L.net);
	if (rc < 0) {
		for (i = 0; L.pr && i < l->n; i++)
			plan_record_clear(&L.pr[i]);
		free(L.pr);
		free(L.applied_hash);
		records_free(l, o->stack, L.pr != NULL);
		free(L.hash);
		return rc;
	}
	/* the arrays' doubling slack is megabytes at 100,000 */
	if (l->n > 0 && l->n < L.alloc) {
		l->v = xreallocarray(l->v, l->n, sizeof(*l->v));
		if (L.pr) {
			L.pr = xreallocarray(L.pr, l->n, sizeof(*L.pr));
			L.applied_hash = xreallocarray(L.applied_hash, l->n,
			                               sizeof(*L.applied_hash));
		}
	}
	if (rp) {
		rp->pr = L.pr ? L.pr : xcalloc(1, sizeof(*L.pr));
		rp->applied_hash =
		        L.applied_hash ? L.applied_hash
		                       : xcalloc(1, sizeof(*L.applied_hash));
	}
	if (keep == OBS_NETWORK) {
		if (L.hash == NULL)
			L.hash = xcalloc(1, sizeof(*L.hash));
		*hash_out = L.hash;
	}
	return 0;
}

void
refresh_result_clear(struct refresh_result *r)
{
	size_t i;

	for (i = 0; i < r->nobserved; i++)
		dt_sandbox_free(r->observed[i]);
	free(r->observed);
	for (i = 0; i < r->nrecords; i++)
		plan_record_clear(&r->records[i]);
	free(r->records);
	for (i = 0; i < r->nforeign; i++)
		dt_sandbox_free(r->foreign[i]);
	free(r->foreign);
	free(r->spec_obs);
	free(r->spec_rec);
	free(r->rec_obs);
	strmap_clear(&r->unmanaged);
	strmap_clear(&r->secret_names);
	if (r->applied_src) {
		free(r->applied_src->stack);
		free(r->applied_src);
	}
	memset(r, 0, sizeof(*r));
}

/* ---- the walk ------------------------------------------------------------ */

struct walk {
	struct refresh_result *res;
	size_t alloc;
	/* the printed observation, for the store: NULL until it is needed
	 * (printed from observed[] by flags[] when compared or recorded) */
	char **json;
	unsigned char *flags; /* DT_PRINT_* of each observation */
	/* per record: the hash of its recorded observation when the text
	 * itself was let go after loading (0: the text is kept, or none) */
	uint64_t *obs_hash;
	uint64_t *applied_hash; /* per record: of its applied text (0: none) */
	struct nameix ix;       /* observed[] by name */
};

/* push_observed: take sb; the store's text of it is printed when needed. */
static void
push_observed(struct walk *w, struct dt_sandbox *sb)
{
	struct refresh_result *r = w->res;

	if (r->nobserved == w->alloc) {
		w->alloc = w->alloc ? 2 * w->alloc : 256;
		r->observed = xreallocarray(r->observed, w->alloc,
		                            sizeof(*r->observed));
		w->json = xreallocarray(w->json, w->alloc, sizeof(*w->json));
		w->flags = xreallocarray(w->flags, w->alloc, sizeof(*w->flags));
	}
	r->observed[r->nobserved] = sb;
	nameix_add(&w->ix, r->nobserved);
	w->json[r->nobserved] = NULL;
	/* a full sandbox (from a GET) carries env values, secrets among
	 * them: the state never stores them */
	w->flags[r->nobserved] = DT_PRINT_NO_ENV;
	r->nobserved++;
}

/* text_hash: a 64-bit hash of s, 8 bytes a step; never 0. Only tells
 * whether a recorded observation changed: a collision (2^-64) would skip
 * one write that the next change makes anyway. */
static uint64_t
text_hash(const char *s)
{
	uint64_t h = hash_words(0x9e3779b97f4a7c15ULL, s, strlen(s));

	return h ? h : 1;
}

/* print_obs: the store's text of observation k into b (reset first). */
static const char *
print_obs(const struct walk *w, size_t k, struct buf *b)
{
	buf_reset(b);
	dt_sandbox_print(w->res->observed[k], w->flags[k], b);
	return buf_cstr(b);
}

/* keep_json: print observation k now, before it changes (a full GET's
 * create-only fields are for the plan, not the recorded list item). */
static void
keep_json(struct walk *w, size_t k)
{
	struct buf b = BUF_INIT;

	if (w->json[k] != NULL)
		return;
	print_obs(w, k, &b);
	w->json[k] = buf_detach(&b, NULL);
}

static int
walk_cb(void *arg, struct dt_sandbox *sb)
{
	struct walk *w = arg;

	if (sb->name == NULL || sb->id == NULL) {
		dt_sandbox_free(sb);
		return 0;
	}
	push_observed(w, sb);
	return 0;
}

/* observed_name: an observation's name, for the walk's index. */
static const char *
observed_name(const void *ctx, size_t i)
{
	return ((const struct walk *)ctx)->res->observed[i]->name;
}

/* find_observed: the index of name in observed[], or -1 (names are
 * unique in an organization; a repeat keeps the first). */
static long
find_observed(const struct walk *w, const char *name)
{
	return nameix_find(&w->ix, name);
}

static const char *record_name(const void *ctx, size_t i);

/* records_sorted: the records are in strictly increasing name order (as
 * the store reads them; a rebuild from labels may not be) */
static int
records_sorted(const struct refresh_result *out)
{
	size_t i;

	for (i = 1; i < out->nrecords; i++)
		if (strcmp(out->records[i - 1].name, out->records[i].name) >= 0)
			return 0;
	return 1;
}

/* join_records: spec_rec, each spec's record: a merge of the two sorted
 * lists, or an index when the records are not in order */
static void
join_records(struct refresh_result *out, const struct refresh_opts *o)
{
	struct nameix byname;
	size_t i, j = 0;

	if (records_sorted(out)) {
		for (i = 0; i < o->nspecs; i++) {
			int c = 1;

			while (j < out->nrecords &&
			       (c = strcmp(out->records[j].name,
			                   o->specs[i].name)) < 0)
				j++;
			out->spec_rec[i] =
			        j < out->nrecords && c == 0 ? (int32_t)j : -1;
		}
		return;
	}
	nameix_init(&byname, record_name, out, out->nrecords);
	for (i = 0; i < out->nrecords; i++)
		nameix_add(&byname, i);
	for (i = 0; i < o->nspecs; i++)
		out->spec_rec[i] =
		        (int32_t)nameix_find(&byname, o->specs[i].name);
	nameix_free(&byname);
}

/* join_observed: the result's joins (after the walk, after a rebuild of
 * the records, and again when more was found): each is looked up once,
 * where three steps of the refresh and the plan asked the indexes. */
static void
join_observed(struct walk *w, const struct refresh_opts *o)
{
	struct refresh_result *out = w->res;
	size_t i;

	out->rec_obs = xreallocarray(out->rec_obs, out->nrecords + 1,
	                             sizeof(*out->rec_obs));
	for (i = 0; i < out->nrecords; i++)
		out->rec_obs[i] =
		        (int32_t)find_observed(w, out->records[i].name);
	out->spec_obs = xreallocarray(out->spec_obs, o->nspecs + 1,
	                              sizeof(*out->spec_obs));
	out->spec_rec = xreallocarray(out->spec_rec, o->nspecs + 1,
	                              sizeof(*out->spec_rec));
	for (i = 0; i < o->nspecs; i++)
		out->spec_obs[i] = (int32_t)find_observed(w, o->specs[i].name);
	join_records(out, o);
	out->joined_specs = o->specs;
	out->njoined_specs = o->nspecs;
}

/* A sandbox is gone for us when it is destroyed or being destroyed. */
static int
is_gone(const struct dt_sandbox *sb)
{
	return sb->state == DT_STATE_DESTROYED ||
	       sb->state == DT_STATE_DESTROYING ||
	       sb->desired_state == DT_STATE_DESTROYED;
}

/* The org walk / GETs for what the stack walk did not answer. */
struct id_ix {
	const char *id;
	size_t i;  /* index in out->records */
	int found; /* the sandbox exists (whoever it belongs to now) */
};

struct org_walk {
	struct walk *w;
	const struct refresh_opts *o;
	struct refresh_result *out;
	struct id_ix *recs; /* records to find, sorted by id for the walk */
	size_t nrecs;
	const struct spec **names; /* desired names to find, sorted */
	size_t nnames;
	struct strmap *unmanaged; /* NULL: not asked */
};

static int
cmp_id(const void *a, const void *b)
{
	return strcmp(((const struct id_ix *)a)->id,
	              ((const struct id_ix *)b)->id);
}

/*
 * observation: a copy of sb for the result. env values are kept only where
 * the plan needs them: a sandbox without sandform's spec label (imported),
 * whose create-only fields a full GET shows.
 */
static struct dt_sandbox *
observation(const struct dt_sandbox *sb)
{
	struct dt_sandbox *d = dt_sandbox_dup(sb);

	if (strmap_get(&d->labels, LABEL_SPEC) != NULL) {
		strmap_clear(&d->env);
		d->present &= ~(unsigned)DT_HAS_ENV;
	}
	return d;
}

/* A recorded sandbox found by id: ours when it still has the name and no
 * other stack's label (an imported one has no label yet). */
static int
take_record_hit(struct org_walk *ow, const struct plan_record *r,
                const struct dt_sandbox *sb)
{
	const char *stack = strmap_get(&sb->labels, LABEL_STACK);

	if (is_gone(sb) || sb->name == NULL || strcmp(sb->name, r->name) ||
	    (stack && strcmp(stack, ow->o->stack)))
		return 0;
	/* imported: a GET shows the create-only fields too (env) */
	push_observed(ow->w, observation(sb));
	return 1;
}

/* A desired name held by a sandbox the stack walk did not return: the
 * list lagging (our label) or someone else's. */
static void
take_name_hit(struct org_walk *ow, const struct dt_sandbox *sb)
{
	const char *stack = strmap_get(&sb->labels, LABEL_STACK);
	struct refresh_result *out = ow->out;
	struct dt_sandbox *ob;

	if (is_gone(sb))
		return;
	ob = observation(sb);
	if (stack && strcmp(stack, ow->o->stack) == 0) {
		push_observed(ow->w, ob);
		return;
	}
	/* someone else's: only its name, id and labels matter */
	strmap_clear(&ob->env);
	ob->present &= ~(unsigned)DT_HAS_ENV;
	out->foreign = xreallocarray(out->foreign, out->nforeign + 1,
	                             sizeof(*out->foreign));
	out->foreign[out->nforeign++] = ob;
}

static int
cmp_spec_key(const void *key, const void *elem)
{
	return strcmp(key, ((const struct spec *)elem)->name);
}

static int
cmp_spec_name(const void *key, const void *elem)
{
	return strcmp(key, (*(const struct spec *const *)elem)->name);
}

static int
org_cb(void *arg, struct dt_sandbox *sb)
{
	struct org_walk *ow = arg;
	struct id_ix key, *hit = NULL;

	if (sb->name == NULL || sb->id == NULL)
		goto out;
	if (ow->unmanaged && strmap_get(&sb->labels, LABEL_STACK) == NULL)
		strmap_set(ow->unmanaged, sb->name, sb->id);
	key.id = sb->id;
	key.i = 0;
	if (ow->nrecs)
		hit = bsearch(&key, ow->recs, ow->nrecs, sizeof(*ow->recs),
		              cmp_id);
	if (hit)
		hit->found = 1;
	if (hit && take_record_hit(ow, &ow->out->records[hit->i], sb))
		goto out;
	if (ow->nnames && bsearch(sb->name, ow->names, ow->nnames,
	                          sizeof(*ow->names), cmp_spec_name))
		take_name_hit(ow, sb);
out:
	dt_sandbox_free(sb);
	return 0;
}

/* ---- GETs, several at a time -------------------------------------------- */

/* One GET of a sandbox by id or name. */
struct get_job {
	const char *key; /* id or name */
	int rc;          /* 0, SF_ENOTFOUND, or another failure */
	char *msg;       /* the failure's message (rc < 0, not 404) */
	struct dt_result res;
};

/* The GETs of one batch, shared by the workpool's threads. */
struct get_batch {
	struct dt_client *c;
	struct get_job *jobs;
};

static void
get_one(void *arg, size_t i)
{
	struct get_batch *b = arg;
	struct get_job *j = &b->jobs[i];

	j->rc = dt_get(b->c, j->key, &j->res);
	if (j->rc < 0 && j->rc != SF_ENOTFOUND)
		j->msg = xstrdup(sf_error_last()); /* thread-local */
}

/* refresh_parallel: the single GETs in flight at once: REFRESH_GET_PARALLEL,
 * or the run's parallelism (the calls, and so the connections, a run may
 * have in flight) when lower. */
size_t
refresh_parallel(int parallelism)
{
	return parallelism > 0 && parallelism < REFRESH_GET_PARALLEL
	               ? (size_t)parallelism
	               : REFRESH_GET_PARALLEL;
}

/*
 * get_all: GET every job's key, refresh_parallel() at a time (the client
 * is safe to share; its rate limiter paces them). Each job gets its own
 * rc; the first failure other than 404 is returned with its message.
 * *gets counts the requests.
 */
static int
get_all(struct dt_client *c, const struct refresh_opts *o, struct get_job *jobs,
        size_t n, size_t *gets)
{
	struct get_batch b = { c, jobs };
	size_t i;

	*gets += n;
	workpool_run(n, refresh_parallel(o->parallelism), get_one, &b);
	for (i = 0; i < n; i++)
		if (jobs[i].rc < 0 && jobs[i].rc != SF_ENOTFOUND)
			return sf_error_set(jobs[i].rc, "%s", jobs[i].msg);
	return 0;
}

static void
get_jobs_free(struct get_job *jobs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(jobs[i].msg);
		dt_result_clear(&jobs[i].res);
	}
	free(jobs);
}

/*
 * get_records: GET by id every record the walks did not find. A list
 * (eventually consistent on Daytona) is never evidence that a sandbox is
 * gone; only a 404 for its id is.
 */
static int
get_records(struct dt_client *c, struct org_walk *ow, size_t *gets)
{
	struct get_job *jobs = xcalloc(ow->nrecs + 1, sizeof(*jobs));
	size_t *at = xcalloc(ow->nrecs + 1, sizeof(*at));
	size_t n = 0, i;
	int rc;

	for (i = 0; i < ow->nrecs; i++)
		if (!ow->recs[i].found) {
			jobs[n].key = ow->recs[i].id;
			at[n++] = i;
		}
	rc = get_all(c, ow->o, jobs, n, gets);
	for (i = 0; rc == 0 && i < n; i++) {
		struct id_ix *x = &ow->recs[at[i]];

		if (jobs[i].rc == SF_ENOTFOUND)
			continue;
		x->found = 1;
		take_record_hit(ow, &ow->out->records[x->i],
		                jobs[i].res.sandbox);
	}
	get_jobs_free(jobs, n);
	free(at);
	return rc;
}

/* get_names: GET by name every desired name still unanswered. */
static int
get_names(struct dt_client *c, struct org_walk *ow, size_t *gets)
{
	struct get_job *jobs = xcalloc(ow->nnames + 1, sizeof(*jobs));
	size_t n = 0, i;
	int rc;

	for (i = 0; i < ow->nnames; i++)
		/* a record hit may have answered it */
		if (find_observed(ow->w, ow->names[i]->name) < 0)
			jobs[n++].key = ow->names[i]->name;
	rc = get_all(c, ow->o, jobs, n, gets);
	for (i = 0; rc == 0 && i < n; i++) {
		const struct dt_sandbox *sb = jobs[i].res.sandbox;

		/* GET also matches an id; only the exact name */
		if (jobs[i].rc == 0 && sb->name &&
		    strcmp(sb->name, jobs[i].key) == 0)
			take_name_hit(ow, sb);
	}
	get_jobs_free(jobs, n);
	return rc;
}

/* ---- full GETs: network settings and unlabelled create-only fields ---- */

/* copy_network: the network settings of from onto ob (now known). */
static void
copy_network(struct dt_sandbox *ob, const struct dt_sandbox *from)
{
	ob->network_block_all = from->network_block_all;
	dt_sandbox_set_str(ob, &ob->network_allow_list,
	                   nz(from->network_allow_list));
	dt_sandbox_set_str(ob, &ob->domain_allow_list,
	                   nz(from->domain_allow_list));
	ob->present |= DT_HAS_NETWORK_BLOCK_ALL;
}

/*
 * recorded_network: the network settings of the record's last observation
 * onto ob when it is the same version of the sandbox (updatedAt) as the
 * list item. Returns 1 when they were recorded, 0 when not; *same says
 * whether the versions matched at all.
 */
static int
recorded_network(const char *observed_json, struct dt_sandbox *ob, int *same)
{
	cJSON *j = parse_json(observed_json);
	const cJSON *u, *b;
	struct dt_sandbox *sb = NULL;
	int ok = 0;

	*same = 0;
	if (j == NULL || ob->updated_at == NULL)
		goto out;
	u = cJSON_GetObjectItemCaseSensitive(j, "updatedAt");
	if (!cJSON_IsString(u) || strcmp(u->valuestring, ob->updated_at) != 0)
		goto out;
	*same = 1;
	b = cJSON_GetObjectItemCaseSensitive(j, "networkBlockAll");
	if (!cJSON_IsBool(b) || dt_sandbox_from_json(j, 1, &sb) < 0)
		goto out;
	copy_network(ob, sb);
	ok = 1;
out:
	dt_sandbox_free(sb);
	cJSON_Delete(j);
	return ok;
}

/* copy_createonly: the env and volumes of a full sandbox onto the list
 * item ob, for the plan to compare (a sandbox without our spec label). */
static void
copy_createonly(struct dt_sandbox *ob, const struct dt_sandbox *full)
{
	struct dt_sandbox *d = dt_sandbox_dup(full);
	size_t i;

	for (i = 0; i < ob->n_volumes; i++) {
		free(ob->volumes[i].volume_id);
		free(ob->volumes[i].mount_path);
		free(ob->volumes[i].subpath);
	}
	free(ob->volumes);
	strmap_clear(&ob->env);
	ob->env = d->env;
	memset(&d->env, 0, sizeof(d->env));
	ob->volumes = d->volumes;
	ob->n_volumes = d->n_volumes;
	d->volumes = NULL;
	d->n_volumes = 0;
	ob->present |= full->present & (DT_HAS_ENV | DT_HAS_VOLUMES);
	/* the image (buildInfo's FROM line), kvm and the proxy (0.218) */
	dt_sandbox_set_str(ob, &ob->dockerfile_content, d->dockerfile_content);
	dt_sandbox_set_str(ob, &ob->outbound_proxy_url, d->outbound_proxy_url);
	ob->kvm = full->kvm;
	ob->present |= full->present & (DT_HAS_BUILD_INFO | DT_HAS_KVM);
	dt_sandbox_free(d);
}

/* record_name: a plan record's name, for an index. */
static const char *
record_name(const void *ctx, size_t i)
{
	return ((const struct refresh_result *)ctx)->records[i].name;
}

/* What a full GET is for. */
enum {
	FULL_NETWORK = 1,    /* the network settings may have changed */
	FULL_CREATEONLY = 2, /* no spec label: check env and volumes */
};

/*
 * full_gets: GET (in parallel) the desired sandboxes of the stack whose
 * network settings are declared and not known for this version of the
 * sandbox (its updatedAt differs from the recorded observation's, which
 * is how an out-of-band change shows in a list item), and those without
 * sandform's spec label (imported), whose create-only fields only a full
 * GET shows. An unchanged stack sends none.
 */
static int
full_gets(struct dt_client *c, const struct refresh_opts *o, struct walk *w,
          const struct store_record_list *recs, size_t *gets)
{
	struct refresh_result *out = w->res;
	/* the GETs, grown to need: an unchanged stack sends none, and a
	 * job per spec would be megabytes at 100,000 */
	struct get_job *jobs = NULL;
	size_t *at = NULL;
	int *why = NULL;
	size_t n = 0, alloc = 0, i, j;
	int rc;

	for (i = 0; i < o->nspecs; i++) {
		const struct spec *s = &o->specs[i];
		const struct plan_record *r = NULL;
		const struct store_record *sr = NULL;
		long hit;
		struct dt_sandbox *ob;
		const struct spec *applied = NULL;
		int same = 0, need = 0;
		long k;

		if ((k = out->spec_obs[i]) < 0)
			continue;
		ob = out->observed[k];
		hit = out->spec_rec[i];
		r = hit >= 0 ? &out->records[hit] : NULL;
		/* records are in the order loaded, unless rebuilt */
		j = r ? (size_t)(r - out->records) : 0;
		if (r && !out->rebuilt)
			sr = &recs->v[j];
		if (r == NULL || (r->id && strcmp(r->id, ob->id) != 0))
			continue; /* not ours: the plan reports it */
		if (s->has_network &&
		    !(ob->present & DT_HAS_NETWORK_BLOCK_ALL) &&
		    !(sr && recorded_network(sr->observed_json, ob, &same)) &&
		    !(same && plan_record_applied(r, &applied) == 0 &&
		      applied && applied->has_network))
			need |= FULL_NETWORK; /* changed, or never seen */
		if (strmap_get(&ob->labels, LABEL_SPEC) == NULL &&
		    !(ob->present & DT_HAS_ENV) &&
		    (s->nenv || s->nvolumes || s->image || s->has_kvm ||
		     s->outbound_proxy_url))
			need |= FULL_CREATEONLY;
		/* the stored observation: the list item plus the network
		 * settings known for it, so a later plan of the same version
		 * needs no GET (a flag: they may be known only below) */
		w->flags[k] |= DT_PRINT_NETWORK_LAST;
		if (need) {
			if (n == alloc) {
				alloc = alloc ? 2 * alloc : 16;
				jobs = xreallocarray(jobs, alloc,
				                     sizeof(*jobs));
				at = xreallocarray(at, alloc, sizeof(*at));
				why = xreallocarray(why, alloc, sizeof(*why));
			}
			memset(&jobs[n], 0, sizeof(jobs[n]));
			jobs[n].key = ob->id;
			why[n] = need;
			at[n++] = (size_t)k;
		}
	}
	rc = get_all(c, o, jobs, n, gets);
	for (i = 0; rc == 0 && i < n; i++) {
		struct dt_sandbox *ob = out->observed[at[i]];
		const struct dt_sandbox *sb = jobs[i].res.sandbox;

		if (jobs[i].rc == SF_ENOTFOUND || !sb->is_full)
			continue; /* deleted since the walk: apply will see */
		if (why[i] & FULL_NETWORK) {
			log_debug("%s: updatedAt %s differs from the recorded "
			          "observation: network settings read",
			          ob->name, nz(ob->updated_at));
			copy_network(ob, sb);
		}
		if (why[i] & FULL_CREATEONLY) {
			keep_json(w, at[i]);
			copy_createonly(ob, sb);
		}
	}
	get_jobs_free(jobs, n);
	free(at);
	free(why);
	return rc;
}

/* from_recorded: --refresh=false: the last observations the records hold. */
static void
from_recorded(struct walk *w, const struct store_record_list *recs)
{
	size_t i;

	for (i = 0; i < recs->n; i++) {
		struct dt_sandbox *sb = NULL;
		cJSON *j = parse_json(recs->v[i].observed_json);

		if (j && dt_sandbox_from_json(j, 0, &sb) == 0 && sb->name &&
		    sb->id) {
			push_observed(w, sb);
			sb = NULL;
		}
		dt_sandbox_free(sb);
		cJSON_Delete(j);
	}
}

/* rebuild_records: a lost or empty state: the records from the labels. */
static void
rebuild_records(const struct refresh_opts *o, struct refresh_result *out)
{
	size_t i, k;

	out->rebuilt = 1;
	out->records = xreallocarray(out->records, out->nobserved + 1,
	                             sizeof(*out->records));
	for (i = 0; i < out->nobserved; i++) {
		const struct dt_sandbox *ob = out->observed[i];
		struct plan_record *r = &out->records[out->nrecords++];

		memset(r, 0, sizeof(*r));
		r->name = xstrdup(ob->name);
		r->id = xstrdup(ob->id);
		r->spec_hash =
		        xstrdup_or_null(strmap_get(&ob->labels, LABEL_SPEC));
		/* only sandform's own labels are known to be ours */
		for (k = 0; k < ob->labels.n; k++)
			if (strncmp(ob->labels.v[k].key, LABEL_PREFIX,
			            strlen(LABEL_PREFIX)) == 0)
				strmap_set(&r->owned_labels,
				           ob->labels.v[k].key,
				           ob->labels.v[k].value);
	}
	log_warn("state of stack '%s' rebuilt from the labels of %zu live "
	         "sandboxes",
	         o->stack, out->nrecords);
}

/*
 * unanswered: what the stack walk did not answer: recorded sandboxes it
 * did not return (gone, or imported and not labelled yet) and desired
 * names it did not return (free, or held by someone else). A few are GETs;
 * many are one walk of the whole organization. *gone gets the indexes
 * (into out->records) of the records whose id answered 404.
 */
static int
unanswered(struct dt_client *c, const struct refresh_opts *o, struct walk *w,
           size_t **gone, size_t *ngone)
{
	struct refresh_result *out = w->res;
	struct org_walk ow;
	struct dt_list_query q;
	size_t nrec = 0, nname = 0, arec = 0, aname = 0, i;
	int rc;

	memset(&ow, 0, sizeof(ow));
	ow.w = w;
	ow.o = o;
	ow.out = out;
	/* grown to need: usually nothing is unanswered, and these arrays
	 * were the peak of a big plan's memory */
	for (i = 0; i < out->nrecords; i++)
		if (out->records[i].id && out->rec_obs[i] < 0) {
			if (nrec == arec) {
				arec = arec ? 2 * arec : 16;
				ow.recs = xreallocarray(ow.recs, arec,
				                        sizeof(*ow.recs));
			}
			memset(&ow.recs[nrec], 0, sizeof(*ow.recs));
			ow.recs[nrec].id = out->records[i].id;
			ow.recs[nrec++].i = i;
		}
	for (i = 0; i < o->nspecs; i++)
		if (out->spec_obs[i] < 0 &&
		    (i == 0 ||
		     strcmp(o->specs[i - 1].name, o->specs[i].name))) {
			if (nname == aname) {
				aname = aname ? 2 * aname : 16;
				ow.names = xreallocarray(ow.names, aname,
				                         sizeof(*ow.names));
			}
			ow.names[nname++] = &o->specs[i];
		}
	ow.nrecs = nrec;
	ow.nnames = nname;
	if (nrec > 0)
		qsort(ow.recs, nrec, sizeof(*ow.recs), cmp_id);
	if (nname > REFRESH_GET_MAX || o->show_unmanaged) {
		size_t pages = 0;

		if (o->show_unmanaged)
			ow.unmanaged = &out->unmanaged;
		memset(&q, 0, sizeof(q));
		q.sort = "createdAt";
		q.order = "asc";
		q.limit = REFRESH_PAGE_LIMIT;
		rc = dt_list_all(c, &q, org_cb, &ow, &pages);
		out->pages += pages;
		out->has_unmanaged = o->show_unmanaged;
		log_debug("organization walk: %zu pages for %zu records and "
		          "%zu names",
		          pages, nrec, nname);
		/* what it did not return is not gone: ask by id */
		if (rc == 0)
			rc = get_records(c, &ow, &out->gets);
	} else if ((rc = get_records(c, &ow, &out->gets)) == 0) {
		rc = get_names(c, &ow, &out->gets);
	}
	*gone = xcalloc(nrec + 1, sizeof(**gone));
	for (i = 0; rc == 0 && i < nrec; i++)
		if (!ow.recs[i].found) {
			log_debug("%s: sandbox %s is gone (404)",
			          out->records[ow.recs[i].i].name,
			          ow.recs[i].id);
			(*gone)[(*ngone)++] = ow.recs[i].i;
		}
	free(ow.recs);
	free(ow.names);
	return rc;
}

/* server_archive_max: the server's archive maximum, asked only when a
 * spec needs it. */
static void
server_archive_max(struct dt_client *c, const struct refresh_opts *o,
                   struct refresh_result *out)
{
	struct dt_server_config sc = { NULL, 0 };
	size_t i;

	for (i = 0; i < o->nspecs; i++)
		if (o->specs[i].has_auto_archive &&
		    (o->specs[i].auto_archive == 0 ||
		     o->specs[i].auto_archive >
		             SPEC_DEFAULT_MAX_AUTO_ARCHIVE / 2))
			break;
	if (i == o->nspecs)
		return;
	if (dt_get_config(c, &sc, NULL) == 0 &&
	    sc.max_auto_archive_interval > 0)
		out->max_auto_archive = sc.max_auto_archive_interval;
	else
		log_debug(
		        "GET /config failed or has no maxAutoArchiveInterval; "
		        "using %d",
		        SPEC_DEFAULT_MAX_AUTO_ARCHIVE);
	dt_server_config_clear(&sc);
}

/* What a refresh writes: the changed observations and the records to
 * forget. Worked out before the lock is taken: an unchanged stack takes
 * neither the lock nor a second read of its records. */
struct changes {
	struct store_record *puts; /* grown to need: most plans have none */
	char **owned;              /* texts puts[] points to, freed with it */
	size_t nputs, nowned, aputs;
	const char **forget; /* names of records to forget */
	size_t nforget;
};

static void
changes_free(struct changes *ch)
{
	size_t i;

	for (i = 0; i < ch->nowned; i++)
		free(ch->owned[i]);
	free(ch->owned);
	free(ch->puts);
	free(ch->forget);
	memset(ch, 0, sizeof(*ch));
}

static const char *
own(struct changes *ch, char *s)
{
	ch->owned[ch->nowned++] = s;
	return s;
}

/* labels_text: the labels as the store keeps them (caller frees). */
static char *
labels_text(const struct strmap *m)
{
	cJSON *lj = strmap_to_json(m);
	char *t = cJSON_PrintUnformatted(lj), *out;

	out = xstrdup(t ? t : "{}");
	cJSON_free(t);
	cJSON_Delete(lj);
	return out;
}

/*
 * server_secrets: the organization secrets' names, asked only when a spec
 * names platform secrets. A server without GET /secret (or any failure)
 * leaves them unknown: the plan then does not check them.
 */
static void
server_secrets(struct dt_client *c, const struct refresh_opts *o,
               struct refresh_result *out)
{
	size_t i;

	for (i = 0; i < o->nspecs; i++)
		if (o->specs[i].secrets.n > 0)
			break;
	if (i == o->nspecs)
		return;
	if (dt_secret_names(c, &out->secret_names, NULL) == 0) {
		out->has_secret_names = 1;
		return;
	}
	log_debug("GET /secret failed (%s); the secrets' names are not "
	          "checked",
	          sf_error_last());
	strmap_clear(&out->secret_names);
}

/*
 * seen_changes: the observations that differ from what the records hold
 * (each printed into one reused buffer and compared, kept only when it
 * differs; a record rebuilt from the labels is written whole), and the
 * records of sandboxes that are gone and no longer desired.
 */
static void
seen_changes(const struct refresh_opts *o, const struct walk *w,
             const struct store_record_list *recs, const size_t *gone,
             size_t ngone, struct changes *ch)
{
	struct refresh_result *out = w->res;
	struct buf b = BUF_INIT;
	size_t i;

	memset(ch, 0, sizeof(*ch));
	ch->forget = xcalloc(ngone + 1, sizeof(*ch->forget));
	for (i = 0; i < out->nrecords; i++) {
		const struct plan_record *r = &out->records[i];
		const struct store_record *sr = NULL;
		struct store_record *p;
		const char *json;
		long k = out->rec_obs[i];

		if (k < 0 ||
		    (r->id != NULL && strcmp(out->observed[k]->id, r->id) != 0))
			continue;
		json = w->json[k] ? w->json[k] : print_obs(w, (size_t)k, &b);
		if (!out->rebuilt)
			sr = &recs->v[i]; /* same order as loaded */
		if (sr && sr->observed_json &&
		    strcmp(sr->observed_json, json) == 0)
			continue;
		if (sr && w->obs_hash && w->obs_hash[i] &&
		    w->obs_hash[i] == text_hash(json))
			continue;
		if (ch->nputs == ch->aputs) {
			ch->aputs = ch->aputs ? 2 * ch->aputs : 16;
			ch->puts = xreallocarray(ch->puts, ch->aputs,
			                         sizeof(*ch->puts));
			/* two texts at most a put */
			ch->owned = xreallocarray(ch->owned, 2 * ch->aputs,
			                          sizeof(*ch->owned));
		}
		p = &ch->puts[ch->nputs++];
		memset(p, 0, sizeof(*p));
		if (sr) {
			*p = *sr;
			if (p->labels_json == NULL && r->labels_ok)
				p->labels_json =
				        own(ch, labels_text(&r->owned_labels));
		} else {
			p->stack = o->stack;
			p->name = r->name;
			p->sandbox_id = r->id;
			p->spec_hash = r->spec_hash;
			p->labels_json = own(ch, labels_text(&r->owned_labels));
			p->status = STORE_STATUS_ACTIVE;
		}
		p->observed_json =
		        w->json[k] ? w->json[k] : own(ch, xstrdup(json));
	}
	buf_free(&b);
	for (i = 0; i < ngone; i++) {
		const char *name = out->records[gone[i]].name;

		if (o->nspecs && bsearch(name, o->specs, o->nspecs,
		                         sizeof(*o->specs), cmp_spec_key))
			continue; /* the plan creates it again */
		ch->forget[ch->nforget++] = name;
	}
}

/* write_changes: the puts in one transaction, then the records to forget. */
static int
write_changes(struct store *st, const struct refresh_opts *o,
              struct refresh_result *out, const struct changes *ch)
{
	size_t i;
	int rc;

	if (ch->nputs > 0 &&
	    (rc = store_record_put_many(st, ch->puts, ch->nputs)) < 0)
		return rc;
	out->recorded = ch->nputs;
	for (i = 0; i < ch->nforget; i++) {
		if ((rc = store_record_delete(st, o->stack, ch->forget[i])) < 0)
			return rc;
		out->forgotten++;
	}
	return 0;
}

static int
same_str(const char *a, const char *b)
{
	return (a == NULL || b == NULL) ? a == b : strcmp(a, b) == 0;
}

/* unchanged: the stack's records are still those read at the start (a run
 * that recorded meanwhile changes a record's time or the list); applied
 * are the hashes of their applied texts. *now gets the records as read
 * now (the caller frees them with records_free), applied texts included. */
static int
unchanged(struct store *st, const struct refresh_opts *o,
          const struct store_record_list *was, const uint64_t *applied,
          struct store_record_list *now)
{
	size_t i;
	int same;

	if (sandbox_records(st, o, OBS_NONE, now, NULL, NULL) < 0)
		return -1;
	same = now->n == was->n;
	for (i = 0; same && i < now->n; i++) {
		const struct store_record *a = &now->v[i], *b = &was->v[i];

		same = strcmp(a->name, b->name) == 0 &&
		       a->updated_ms == b->updated_ms &&
		       same_str(a->sandbox_id, b->sandbox_id) &&
		       same_str(a->spec_hash, b->spec_hash) &&
		       same_str(a->status, b->status) &&
		       (a->applied_json ? text_hash(a->applied_json) : 0) ==
		               (applied ? applied[i] : 0);
	}
	return same;
}

static const char *
list_name(const void *ctx, size_t i)
{
	return ((const struct store_record_list *)ctx)->v[i].name;
}

/* fill_applied: the puts write each record's applied text back as it is
 * in now (the refresh kept only its hash). */
static void
fill_applied(struct changes *ch, const struct store_record_list *now)
{
	struct nameix ix;
	size_t i;
	long k;

	nameix_init(&ix, list_name, now, now->n);
	for (i = 0; i < now->n; i++)
		nameix_add(&ix, i);
	for (i = 0; i < ch->nputs; i++)
		if ((k = nameix_find(&ix, ch->puts[i].name)) >= 0)
			ch->puts[i].applied_json = now->v[k].applied_json;
	nameix_free(&ix);
}

/* record_locked: write what changed under the stack's lock (o->take),
 * unless another run holds it or recorded since the records were read.
 * Nothing changed: the lock is still taken for a moment (a busy one is
 * reported), but the records are not read again and nothing is written. */
static int
record_locked(struct store *st, const struct refresh_opts *o, struct walk *w,
              const struct store_record_list *recs, const size_t *gone,
              size_t ngone)
{
	struct store_record_list now = { NULL, 0 };
	struct changes ch;
	int rc, any;

	seen_changes(o, w, recs, gone, ngone, &ch);
	any = ch.nputs > 0 || ch.nforget > 0;
	if (o->take == NULL) {
		/* the caller holds the lock: the records cannot change */
		rc = any ? sandbox_records(st, o, OBS_NONE, &now, NULL, NULL)
		         : 0;
		if (rc == 0 && any) {
			fill_applied(&ch, &now);
			rc = write_changes(st, o, w->res, &ch);
		}
	} else if ((rc = o->take(o->lock_arg)) != 0) {
		rc = rc > 0 ? 0 : rc;
	} else {
		rc = any ? unchanged(st, o, recs, w->applied_hash, &now) : 0;
		if (rc > 0) {
			fill_applied(&ch, &now);
			rc = write_changes(st, o, w->res, &ch);
		} else if (rc == 0 && any) {
			log_debug("stack '%s': records changed during the "
			          "refresh; not recording what it saw",
			          o->stack);
		}
		o->give(o->lock_arg);
	}
	records_free(&now, o->stack, 0);
	changes_free(&ch);
	return rc;
}

int
refresh_run(struct dt_client *c, struct store *st, const struct refresh_opts *o,
            struct refresh_result *out)
{
	struct store_record_list recs = { NULL, 0 };
	struct strmap filter = STRMAP_INIT;
	struct dt_list_query q;
	struct rec_plan rp;
	struct walk w;
	size_t *gone = NULL, ngone = 0, nobs, i;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	memset(&w, 0, sizeof(w));
	w.res = out;
	nameix_init(&w.ix, observed_name, &w, o->nspecs);
	out->applied_src = xcalloc(1, sizeof(*out->applied_src));
	out->applied_src->store = st;
	out->applied_src->stack = xstrdup(o->stack);
	memset(&rp, 0, sizeof(rp));
	rp.src = out->applied_src;
	if ((rc = sandbox_records(st, o, o->refresh ? OBS_NETWORK : OBS_ALL,
	                          &recs, &w.obs_hash, &rp)) < 0)
		goto out;
	out->records = rp.pr;
	w.applied_hash = rp.applied_hash;
	out->nrecords = recs.n;
	if (!o->refresh) {
		from_recorded(&w, &recs);
		goto out;
	}

	/* 1. one label-filtered, stable walk */
	strmap_set(&filter, LABEL_STACK, o->stack);
	memset(&q, 0, sizeof(q));
	q.labels = &filter;
	q.sort = "createdAt";
	q.order = "asc";
	q.limit = REFRESH_PAGE_LIMIT;
	if ((rc = dt_list_all(c, &q, walk_cb, &w, &out->pages)) < 0)
		goto out;
	log_debug("stack '%s': %zu sandboxes in %zu pages", o->stack,
	          out->nobserved, out->pages);
	/* 2. a lost or empty state: rebuild the records from the labels */
	if (recs.n == 0 && out->nobserved > 0)
		rebuild_records(o, out);
	join_observed(&w, o);
	/* 3. what the walk did not answer */
	nobs = out->nobserved;
	if ((rc = unanswered(c, o, &w, &gone, &ngone)) < 0)
		goto out;
	if (out->nobserved != nobs)
		join_observed(&w, o); /* found by id or by name */
	/* 4. what only a full GET tells: network settings that may have
	 * changed, create-only fields of a sandbox without our spec label */
	if ((rc = full_gets(c, o, &w, &recs, &out->gets)) < 0)
		goto out;
	/* 5. the server's archive maximum, only when a spec needs it */
	server_archive_max(c, o, out);
	/* 6. the organization's secrets, only when a spec names some */
	server_secrets(c, o, out);
	/* 7. record what was seen */
	if (!o->no_record)
		rc = record_locked(st, o, &w, &recs, gone, ngone);
out:
	if (w.json) {
		for (i = 0; i < out->nobserved; i++)
			free(w.json[i]);
		free(w.json);
	}
	free(w.flags);
	free(w.obs_hash);
	free(w.applied_hash);
	if (rc < 0)
		refresh_result_clear(
		        out); /* the failing call's message stays */
	free(gone);
	nameix_free(&w.ix);
	strmap_clear(&filter);
	/* the records' name, id and spec hash are out->records' */
	records_free(&recs, o->stack, 1);
	return rc;
}
