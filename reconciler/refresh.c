/*
 * refresh: one label-filtered walk, then only the GETs a list item cannot
 * answer (see refresh.h). With 10,000 up-to-date sandboxes that is 50 list
 * pages and nothing else, which is what keeps a plan cheap for large
 * stacks and kind to the rate limits.
 *
 * Observations are written back only when they changed (compared as the
 * printed JSON of the list item), in one transaction, so an unchanged
 * stack costs no SQLite writes.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/error.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "reconciler/refresh.h"

#include "common/banned.h"

static char *
dupn(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

void
refresh_observed_from_dt(const struct dt_sandbox *sb, struct plan_observed *o)
{
	size_t i;

	memset(o, 0, sizeof(*o));
	o->id = dupn(sb->id);
	o->name = dupn(sb->name);
	o->state = dupn(sb->state_raw);
	o->desired_state = dupn(sb->desired_state_raw);
	for (i = 0; i < sb->labels.n; i++)
		spec_labels_set(&o->labels, sb->labels.items[i].key,
		                sb->labels.items[i].value
		                        ? sb->labels.items[i].value
		                        : "");
	o->public_ = sb->is_public;
	o->cpu = sb->cpu;
	o->memory = sb->memory;
	o->disk = sb->disk;
	o->gpu = sb->gpu;
	o->snapshot = dupn(sb->snapshot);
	o->target = dupn(sb->target);
	o->user = dupn(sb->user);
	o->auto_stop = sb->auto_stop_interval;
	o->auto_archive = sb->auto_archive_interval;
	o->auto_delete = sb->auto_delete_interval;
	o->recoverable = sb->recoverable;
	o->error_reason = dupn(sb->error_reason);
	o->created_at = dupn(sb->created_at);
	o->updated_at = dupn(sb->updated_at);
	if (sb->is_full) {
		o->has_network = 1;
		o->network.has_block_all = 1;
		o->network.block_all = sb->network_block_all;
		o->network.allow_list = xstrdup(
		        sb->network_allow_list ? sb->network_allow_list : "");
		o->network.domain_allow_list = xstrdup(
		        sb->domain_allow_list ? sb->domain_allow_list : "");
	}
}

static cJSON *
parse_json(const char *s)
{
	return s ? cJSON_Parse(s) : NULL;
}

void
refresh_record_from_store(const struct store_record *r, struct plan_record *out)
{
	cJSON *j;

	memset(out, 0, sizeof(*out));
	out->name = xstrdup(r->name);
	out->id = dupn(r->sandbox_id);
	out->spec_hash = dupn(r->spec_hash);
	out->imported =
	        r->status && strcmp(r->status, STORE_STATUS_IMPORTED) == 0;
	if ((j = parse_json(r->labels_json)) != NULL) {
		if (spec_labels_from_json(j, &out->owned_labels) < 0)
			log_debug("%s: ignoring malformed labels_json",
			          r->name);
		cJSON_Delete(j);
	}
	if ((j = parse_json(r->applied_json)) != NULL) {
		out->applied = spec_from_json(j);
		if (out->applied == NULL)
			log_debug("%s: ignoring malformed applied_json",
			          r->name);
		cJSON_Delete(j);
	}
	if (out->applied && out->applied->has_network) {
		out->has_network = 1;
		spec_network_copy(&out->network, &out->applied->network);
	}
}

void
refresh_result_clear(struct refresh_result *r)
{
	size_t i;

	for (i = 0; i < r->nobserved; i++)
		plan_observed_clear(&r->observed[i]);
	free(r->observed);
	for (i = 0; i < r->nrecords; i++)
		plan_record_clear(&r->records[i]);
	free(r->records);
	for (i = 0; i < r->nforeign; i++)
		plan_observed_clear(&r->foreign[i]);
	free(r->foreign);
	spec_labels_free(&r->unmanaged);
	memset(r, 0, sizeof(*r));
}

/* ---- the walk ------------------------------------------------------------ */

struct name_ix;

struct walk {
	struct refresh_result *res;
	size_t alloc;
	/* the printed list item of each observation, for the store */
	char **json;
	struct name_ix *ix; /* sorted by name over the first nix */
	size_t nix;
};

static void
push_observed(struct walk *w, struct plan_observed *o, char *json)
{
	struct refresh_result *r = w->res;

	if (r->nobserved == w->alloc) {
		w->alloc = w->alloc ? 2 * w->alloc : 256;
		r->observed = xreallocarray(r->observed, w->alloc,
		                            sizeof(*r->observed));
		w->json = xreallocarray(w->json, w->alloc, sizeof(*w->json));
	}
	r->observed[r->nobserved] = *o;
	w->json[r->nobserved] = json;
	r->nobserved++;
}

static char *
print_item(const struct dt_sandbox *sb)
{
	cJSON *j = dt_sandbox_to_json(sb);
	char *s, *out;

	/* a full sandbox (from a GET) carries env values, secrets among
	 * them: the state never stores them */
	cJSON_DeleteItemFromObjectCaseSensitive(j, "env");
	s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	if (s == NULL)
		return NULL;
	out = xstrdup(s);
	cJSON_free(s);
	return out;
}

static int
walk_cb(void *arg, struct dt_sandbox *sb)
{
	struct walk *w = arg;
	struct plan_observed o;

	if (sb->name == NULL || sb->id == NULL) {
		dt_sandbox_free(sb);
		return 0;
	}
	refresh_observed_from_dt(sb, &o);
	push_observed(w, &o, print_item(sb));
	dt_sandbox_free(sb);
	return 0;
}

/* Name index of the walk's observations (names are unique in an org). */
struct name_ix {
	const char *name;
	size_t i;
};

static int
cmp_ix(const void *a, const void *b)
{
	return strcmp(((const struct name_ix *)a)->name,
	              ((const struct name_ix *)b)->name);
}

static void
index_build(struct walk *w)
{
	size_t i;

	free(w->ix);
	w->ix = xcalloc(w->res->nobserved + 1, sizeof(*w->ix));
	for (i = 0; i < w->res->nobserved; i++) {
		w->ix[i].name = w->res->observed[i].name;
		w->ix[i].i = i;
	}
	qsort(w->ix, w->res->nobserved, sizeof(*w->ix), cmp_ix);
	w->nix = w->res->nobserved;
}

/* find_observed: the index of name, or -1; later additions are scanned. */
static long
find_observed(const struct walk *w, const char *name)
{
	struct name_ix key = { name, 0 }, *hit;
	size_t i;

	hit = w->nix ? bsearch(&key, w->ix, w->nix, sizeof(*w->ix), cmp_ix)
	             : NULL;
	if (hit)
		return (long)hit->i;
	for (i = w->nix; i < w->res->nobserved; i++)
		if (strcmp(w->res->observed[i].name, name) == 0)
			return (long)i;
	return -1;
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
	struct spec_labels *unmanaged; /* NULL: not asked */
};

static int
cmp_id(const void *a, const void *b)
{
	return strcmp(((const struct id_ix *)a)->id,
	              ((const struct id_ix *)b)->id);
}

/* A recorded sandbox found by id: ours when it still has the name and no
 * other stack's label (an imported one has no label yet). */
static int
take_record_hit(struct org_walk *ow, const struct plan_record *r,
                const struct dt_sandbox *sb)
{
	const char *stack = dt_kvs_get(&sb->labels, SPEC_LABEL_STACK);
	struct plan_observed ob;

	if (is_gone(sb) || sb->name == NULL || strcmp(sb->name, r->name) ||
	    (stack && strcmp(stack, ow->o->stack)))
		return 0;
	refresh_observed_from_dt(sb, &ob);
	push_observed(ow->w, &ob, print_item(sb));
	return 1;
}

/* A desired name held by a sandbox the stack walk did not return: the
 * list lagging (our label) or someone else's. */
static void
take_name_hit(struct org_walk *ow, const struct dt_sandbox *sb)
{
	const char *stack = dt_kvs_get(&sb->labels, SPEC_LABEL_STACK);
	struct refresh_result *out = ow->out;
	struct plan_observed ob;

	if (is_gone(sb))
		return;
	refresh_observed_from_dt(sb, &ob);
	if (stack && strcmp(stack, ow->o->stack) == 0) {
		push_observed(ow->w, &ob, print_item(sb));
		return;
	}
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
	if (ow->unmanaged && dt_kvs_get(&sb->labels, SPEC_LABEL_STACK) == NULL)
		spec_labels_set(ow->unmanaged, sb->name, sb->id);
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

static int
get_each(struct dt_client *c, struct org_walk *ow, size_t *gets)
{
	struct dt_result res = DT_RESULT_INIT;
	size_t i;
	int rc = 0;

	for (i = 0; i < ow->nrecs; i++) {
		const struct plan_record *r = &ow->out->records[ow->recs[i].i];

		(*gets)++;
		rc = dt_get(c, r->id, &res);
		if (rc == SF_ENOTFOUND) {
			rc = 0;
		} else if (rc < 0) {
			goto out;
		} else {
			ow->recs[i].found = 1;
			take_record_hit(ow, r, res.sandbox);
		}
		dt_result_clear(&res);
	}
	for (i = 0; i < ow->nnames; i++) {
		const struct spec *s = ow->names[i];

		/* a record hit above may have answered it */
		if (find_observed(ow->w, s->name) >= 0)
			continue;
		(*gets)++;
		rc = dt_get(c, s->name, &res);
		if (rc == SF_ENOTFOUND) {
			rc = 0;
		} else if (rc < 0) {
			goto out;
		} else if (res.sandbox->name &&
		           strcmp(res.sandbox->name, s->name) == 0) {
			/* GET also matches an id; only the exact name */
			take_name_hit(ow, res.sandbox);
		}
		dt_result_clear(&res);
	}
out:
	dt_result_clear(&res);
	return rc;
}

int
refresh_run(struct dt_client *c, struct store *st, const struct refresh_opts *o,
            struct refresh_result *out)
{
	struct store_record_list recs = { NULL, 0 };
	struct store_record *puts = NULL;
	size_t nputs = 0, i, j;
	struct walk w;
	struct dt_kvs filter = DT_KVS_INIT;
	struct dt_list_query q;
	struct dt_result res = DT_RESULT_INIT;
	char **seen_json = NULL;
	size_t nseen = 0, *gone = NULL, ngone = 0;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	memset(&w, 0, sizeof(w));
	w.res = out;
	if ((rc = store_record_list(st, o->stack, &recs)) < 0)
		goto out;
	out->records = xcalloc(recs.n + 1, sizeof(*out->records));
	for (i = 0; i < recs.n; i++)
		refresh_record_from_store(&recs.v[i], &out->records[i]);
	out->nrecords = recs.n;

	if (!o->refresh) {
		/* the last observations the records hold */
		for (i = 0; i < recs.n; i++) {
			struct dt_sandbox *sb = NULL;
			cJSON *j2 = parse_json(recs.v[i].observed_json);
			struct plan_observed ob;

			if (j2 && dt_sandbox_from_json(j2, 0, &sb) == 0 &&
			    sb->name && sb->id) {
				refresh_observed_from_dt(sb, &ob);
				push_observed(&w, &ob, NULL);
			}
			dt_sandbox_free(sb);
			cJSON_Delete(j2);
		}
		goto out;
	}

	/* 1. one label-filtered, stable walk */
	dt_kvs_set(&filter, SPEC_LABEL_STACK, o->stack);
	memset(&q, 0, sizeof(q));
	q.labels = &filter;
	q.sort = "createdAt";
	q.order = "asc";
	q.limit = REFRESH_PAGE_LIMIT;
	if ((rc = dt_list_all(c, &q, walk_cb, &w, &out->pages)) < 0)
		goto out;
	log_debug("stack '%s': %zu sandboxes in %zu pages", o->stack,
	          out->nobserved, out->pages);
	index_build(&w);

	/* 2. a lost or empty state: rebuild the records from the labels */
	if (recs.n == 0 && out->nobserved > 0) {
		out->rebuilt = 1;
		out->records = xreallocarray(out->records, out->nobserved + 1,
		                             sizeof(*out->records));
		for (i = 0; i < out->nobserved; i++) {
			const struct plan_observed *ob = &out->observed[i];
			struct plan_record *r = &out->records[out->nrecords];
			size_t k;

			memset(r, 0, sizeof(*r));
			r->name = xstrdup(ob->name);
			r->id = xstrdup(ob->id);
			r->spec_hash = dupn(
			        spec_labels_get(&ob->labels, SPEC_LABEL_SPEC));
			/* only sandform's own labels are known to be ours */
			for (k = 0; k < ob->labels.n; k++)
				if (strncmp(ob->labels.v[k].key,
				            SPEC_LABEL_PREFIX,
				            strlen(SPEC_LABEL_PREFIX)) == 0)
					spec_labels_set(&r->owned_labels,
					                ob->labels.v[k].key,
					                ob->labels.v[k].value);
			out->nrecords++;
		}
		log_warn("state of stack '%s' rebuilt from the labels of %zu "
		         "live sandboxes",
		         o->stack, out->nrecords);
	}

	/* 3-4. what the walk did not answer: recorded sandboxes it did not
	 * return (gone, or imported and not labelled yet) and desired names
	 * it did not return (free, or held by someone else). A few are
	 * GETs; many are one walk of the whole organization. */
	{
		struct org_walk ow;
		size_t nrec = 0, nname = 0;

		memset(&ow, 0, sizeof(ow));
		ow.w = &w;
		ow.o = o;
		ow.out = out;
		ow.recs = xcalloc(out->nrecords + 1, sizeof(*ow.recs));
		for (i = 0; i < out->nrecords; i++)
			if (out->records[i].id &&
			    find_observed(&w, out->records[i].name) < 0) {
				ow.recs[nrec].id = out->records[i].id;
				ow.recs[nrec++].i = i;
			}
		ow.names = xcalloc(o->nspecs + 1, sizeof(*ow.names));
		for (i = 0; i < o->nspecs; i++)
			if (find_observed(&w, o->specs[i].name) < 0 &&
			    (i == 0 ||
			     strcmp(o->specs[i - 1].name, o->specs[i].name)))
				ow.names[nname++] = &o->specs[i];
		ow.nrecs = nrec;
		ow.nnames = nname;
		if (nrec + nname > REFRESH_GET_MAX || o->show_unmanaged) {
			size_t pages = 0;

			qsort(ow.recs, nrec, sizeof(*ow.recs), cmp_id);
			if (o->show_unmanaged)
				ow.unmanaged = &out->unmanaged;
			memset(&q, 0, sizeof(q));
			q.sort = "createdAt";
			q.order = "asc";
			q.limit = REFRESH_PAGE_LIMIT;
			rc = dt_list_all(c, &q, org_cb, &ow, &pages);
			out->pages += pages;
			out->has_unmanaged = o->show_unmanaged;
			log_debug("organization walk: %zu pages for %zu "
			          "records and %zu names",
			          pages, nrec, nname);
		} else {
			rc = get_each(c, &ow, &out->gets);
		}
		gone = xcalloc(nrec + 1, sizeof(*gone));
		for (i = 0; rc == 0 && i < nrec; i++)
			if (!ow.recs[i].found) {
				log_debug("%s: sandbox %s is gone",
				          out->records[ow.recs[i].i].name,
				          ow.recs[i].id);
				gone[ngone++] = ow.recs[i].i;
			}
		free(ow.recs);
		free(ow.names);
		if (rc < 0)
			goto out;
		index_build(&w);
	}

	/* 5. network settings nobody knows: GET that sandbox */
	for (i = 0; i < o->nspecs; i++) {
		const struct spec *s = &o->specs[i];
		struct plan_observed *ob;
		const struct plan_record *r = NULL;
		long k;

		if (!s->has_network)
			continue;
		if ((k = find_observed(&w, s->name)) < 0)
			continue;
		ob = &out->observed[k];
		if (ob->has_network)
			continue;
		for (j = 0; j < out->nrecords; j++)
			if (strcmp(out->records[j].name, s->name) == 0)
				r = &out->records[j];
		if (r && r->has_network)
			continue;
		out->gets++;
		if ((rc = dt_get(c, ob->id, &res)) < 0)
			goto out;
		if (res.sandbox->is_full) {
			ob->has_network = 1;
			ob->network.has_block_all = 1;
			ob->network.block_all = res.sandbox->network_block_all;
			ob->network.allow_list = xstrdup(
			        res.sandbox->network_allow_list
			                ? res.sandbox->network_allow_list
			                : "");
			ob->network.domain_allow_list =
			        xstrdup(res.sandbox->domain_allow_list
			                        ? res.sandbox->domain_allow_list
			                        : "");
		}
		dt_result_clear(&res);
	}

	/* 6. the server's archive maximum, only when a spec needs it */
	for (i = 0; i < o->nspecs; i++)
		if (o->specs[i].has_auto_archive &&
		    (o->specs[i].auto_archive == 0 ||
		     o->specs[i].auto_archive >
		             SPEC_DEFAULT_MAX_AUTO_ARCHIVE / 2))
			break;
	if (i < o->nspecs) {
		struct dt_server_config sc = { NULL, 0 };

		if (dt_get_config(c, &sc, NULL) == 0 &&
		    sc.max_auto_archive_interval > 0)
			out->max_auto_archive = sc.max_auto_archive_interval;
		else
			log_debug("GET /config failed or has no "
			          "maxAutoArchiveInterval; using %d",
			          SPEC_DEFAULT_MAX_AUTO_ARCHIVE);
		dt_server_config_clear(&sc);
	}

	/* 8. record what was seen: changed observations, one transaction */
	if (o->no_record)
		goto out;
	puts = xcalloc(out->nrecords + 1, sizeof(*puts));
	nseen = out->nrecords;
	seen_json = xcalloc(nseen + 1, sizeof(*seen_json));
	for (i = 0; i < out->nrecords; i++) {
		const struct plan_record *r = &out->records[i];
		const struct store_record *sr = NULL;
		const char *json = NULL;
		long k = find_observed(&w, r->name);

		if (k >= 0 &&
		    (r->id == NULL || strcmp(out->observed[k].id, r->id) == 0))
			json = w.json[k];
		if (!out->rebuilt)
			sr = &recs.v[i]; /* same order as loaded */
		if (json == NULL)
			continue;
		if (sr && sr->observed_json &&
		    strcmp(sr->observed_json, json) == 0)
			continue;
		if (sr) {
			puts[nputs] = *sr;
		} else {
			cJSON *lj = spec_labels_to_json(&r->owned_labels);

			memset(&puts[nputs], 0, sizeof(puts[nputs]));
			puts[nputs].stack = o->stack;
			puts[nputs].name = r->name;
			puts[nputs].sandbox_id = r->id;
			puts[nputs].spec_hash = r->spec_hash;
			seen_json[nputs] = cJSON_PrintUnformatted(lj);
			puts[nputs].labels_json = seen_json[nputs];
			puts[nputs].status = STORE_STATUS_ACTIVE;
			cJSON_Delete(lj);
		}
		puts[nputs].observed_json = json;
		nputs++;
	}
	if (nputs > 0 && (rc = store_record_put_many(st, puts, nputs)) < 0)
		goto out;
	out->recorded = nputs;
	/* records of sandboxes that are gone and no longer desired: forget */
	for (i = 0; i < ngone; i++) {
		const char *name = out->records[gone[i]].name;

		if (bsearch(name, o->specs, o->nspecs, sizeof(*o->specs),
		            cmp_spec_key))
			continue; /* the plan creates it again */
		if ((rc = store_record_delete(st, o->stack, name)) < 0)
			goto out;
		out->forgotten++;
	}
out:
	if (rc < 0) {
		/* keep the message of the failing call */
		for (i = 0; i < out->nobserved; i++)
			free(w.json ? w.json[i] : NULL);
		free(w.json);
		w.json = NULL;
		refresh_result_clear(out);
	}
	if (w.json) {
		for (i = 0; i < out->nobserved; i++)
			free(w.json[i]);
		free(w.json);
	}
	for (i = 0; i < nseen; i++)
		cJSON_free(seen_json[i]);
	free(seen_json);
	free(gone);
	free(w.ix);
	free(puts);
	dt_result_clear(&res);
	dt_kvs_clear(&filter);
	store_record_list_free(&recs);
	return rc;
}
