/*
 * apply-recover: what apply does before and around a run: resolving the
 * journal entries a killed run left open (by looking the sandboxes up, by
 * name for creates and by id for deletes) and checking that a saved plan
 * still matches what is live.
 */
#include "common/base.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/error.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "reconciler/apply-int.h"

/* ---- recovery ----------------------------------------------------------- */

/* recover_create: an open create: is the sandbox there, and ours? */
static int
recover_create(struct dt_client *c, struct store *s, const char *stack,
               const struct store_journal_entry *e)
{
	struct dt_result r = DT_RESULT_INIT;
	struct store_record rec;
	cJSON *d = NULL, *jspec, *jlabels, *jdesired;
	char *lj = NULL, *oj = NULL, *aj = NULL;
	cJSON *tmp;
	const char *hash = NULL;
	int rc, found;

	if (e->detail_json)
		d = cJSON_Parse(e->detail_json);
	jspec = d ? cJSON_GetObjectItemCaseSensitive(d, "spec") : NULL;
	jlabels = d ? cJSON_GetObjectItemCaseSensitive(d, "labels") : NULL;
	jdesired = d ? cJSON_GetObjectItemCaseSensitive(d, "desired") : NULL;
	if (cJSON_IsString(jspec))
		hash = jspec->valuestring;
	found = apply_lookup_name(c, e->name, &r);
	if (found < 0) {
		rc = SF_ENET;
		goto out;
	}
	if (found == 0 || !apply_sb_is_ours(r.sandbox, stack, hash)) {
		rc = store_journal_failed(s, e->id,
		                          found ? "not created: the name "
		                                  "belongs to another sandbox"
		                                : "not created (resolved by "
		                                  "a later run)");
		goto out;
	}
	memset(&rec, 0, sizeof(rec));
	rec.stack = stack;
	rec.name = e->name;
	rec.sandbox_id = r.sandbox->id;
	rec.spec_hash = hash;
	if (jlabels) {
		lj = cJSON_PrintUnformatted(jlabels);
		rec.labels_json = lj;
	}
	if (jdesired) {
		aj = cJSON_PrintUnformatted(jdesired);
		rec.applied_json = aj;
	}
	tmp = dt_sandbox_to_json(r.sandbox);
	oj = cJSON_PrintUnformatted(tmp);
	cJSON_Delete(tmp);
	rec.observed_json = oj;
	rec.status = STORE_STATUS_ACTIVE;
	rc = store_record_put(s, &rec);
	if (rc == 0)
		rc = store_journal_done(s, e->id, r.sandbox->id);
	log_info("recovered %s (%s) created by an interrupted run", e->name,
	         r.sandbox->id);
out:
	cJSON_free(lj);
	cJSON_free(oj);
	cJSON_free(aj);
	cJSON_Delete(d);
	dt_result_clear(&r);
	return rc;
}

static int
recover_delete(struct dt_client *c, struct store *s, const char *stack,
               const struct store_journal_entry *e)
{
	struct dt_result r = DT_RESULT_INIT;
	struct store_record *rec = NULL;
	int rc, gone;

	rc = dt_get(c, e->sandbox_id, &r);
	if (rc < 0 && rc != SF_ENOTFOUND)
		goto out;
	gone = rc == SF_ENOTFOUND ||
	       (r.sandbox && (r.sandbox->state == DT_STATE_DESTROYED ||
	                      r.sandbox->desired_state == DT_STATE_DESTROYED));
	if (gone && store_record_get(s, stack, e->name, &rec) == 0 &&
	    rec->sandbox_id && strcmp(rec->sandbox_id, e->sandbox_id) == 0)
		store_record_delete(s, stack, e->name);
	rc = gone ? store_journal_done(s, e->id, NULL)
	          : store_journal_failed(s, e->id,
	                                 "not deleted (resolved by a later "
	                                 "run)");
out:
	store_record_free(rec);
	dt_result_clear(&r);
	return rc;
}

int
apply_recover(struct dt_client *c, struct store *s, const char *stack,
              int64_t run_id, size_t *resolved)
{
	struct store_journal_list l = { NULL, 0 };
	size_t i, n = 0;
	int rc;

	(void)run_id;
	if (resolved)
		*resolved = 0;
	rc = store_journal_open(s, stack, &l);
	if (rc < 0)
		return rc;
	for (i = 0; i < l.n; i++) {
		const struct store_journal_entry *e = &l.v[i];

		log_debug("open journal entry %lld: %s %s", (long long)e->id,
		          e->action, e->name);
		if (strcmp(e->action, "create") == 0)
			rc = recover_create(c, s, stack, e);
		else if (strcmp(e->action, "delete") == 0 && e->sandbox_id)
			rc = recover_delete(c, s, stack, e);
		else
			rc = store_journal_failed(s, e->id,
			                          "interrupted; the next plan "
			                          "sees the live state");
		if (rc < 0)
			goto out;
		n++;
	}
	rc = 0;
out:
	if (resolved)
		*resolved = n;
	store_journal_list_free(&l);
	return rc;
}

/* ---- saved plans -------------------------------------------------------- */

static char *
fingerprint_of(const struct dt_sandbox *sb)
{
	const char *spec = strmap_get(&sb->labels, LABEL_SPEC);

	return xasprintf("%s|%s|%s", sb->state_raw ? sb->state_raw : "",
	                 sb->updated_at ? sb->updated_at : "",
	                 spec ? spec : "");
}

/*
 * owned: the stack owns sb for action a: the name is the plan's and the
 * live stack label is the plan's stack, or the stack's record of that name
 * has this id (a sandbox whose label was removed out of band). A saved plan
 * is sealed; this holds even if its seal were broken.
 */
static int
owned(const struct plan *p, const struct plan_action *a,
      const struct dt_sandbox *sb, const struct strmap *records)
{
	const char *label = strmap_get(&sb->labels, LABEL_STACK);
	const char *rec = strmap_get(records, a->name);

	if (sb->name == NULL || strcmp(sb->name, a->name) != 0)
		return 0;
	return (label && strcmp(label, p->stack) == 0) ||
	       (rec && sb->id && strcmp(rec, sb->id) == 0);
}

int
apply_check_fresh(const struct plan *p, struct dt_client *c,
                  const struct strmap *records)
{
	struct dt_sandbox_list l = DT_SANDBOX_LIST_INIT;
	struct strmap filter = STRMAP_INIT;
	struct dt_list_query q;
	size_t i, k;
	int rc = 0;

	memset(&q, 0, sizeof(q));
	strmap_set(&filter, LABEL_STACK, p->stack);
	q.labels = &filter;
	q.sort = "createdAt";
	q.order = "asc";
	q.limit = APPLY_LIST_PAGE;
	rc = dt_list_all_into(c, &q, &l, NULL);
	if (rc < 0)
		goto out;
	if (l.n > 1)
		qsort(l.items, l.n, sizeof(*l.items), apply_cmp_sb_id);
	for (i = 0; i < p->nactions; i++) {
		const struct plan_action *a = &p->actions[i];
		struct dt_result r = DT_RESULT_INIT;
		const struct dt_sandbox *sb = NULL;
		char *fp;

		if (a->sandbox_id == NULL) {
			/* a create: the name must still be free */
			int found = apply_lookup_name(c, a->name, &r);

			dt_result_clear(&r);
			if (found < 0) {
				rc = SF_ENET;
				goto out;
			}
			for (k = 0; k < a->nsteps; k++)
				if (a->steps[k].kind == STEP_DELETE)
					break;
			if (found == 1 && k == a->nsteps) {
				rc = sf_error_set(SF_ECONFLICT,
				                  "saved plan is stale: '%s' "
				                  "exists now; run sandform "
				                  "plan again",
				                  a->name);
				goto out;
			}
			continue;
		}
		sb = apply_seen_find(&l, a->sandbox_id);
		if (sb == NULL) {
			rc = dt_get(c, a->sandbox_id, &r);
			if (rc == SF_ENOTFOUND) {
				dt_result_clear(&r);
				rc = sf_error_set(SF_ECONFLICT,
				                  "saved plan is stale: '%s' "
				                  "(%s) no longer exists; run "
				                  "sandform plan again",
				                  a->name, a->sandbox_id);
				goto out;
			}
			if (rc < 0) {
				dt_result_clear(&r);
				goto out;
			}
			sb = r.sandbox;
		}
		if (!owned(p, a, sb, records)) {
			rc = sf_error_set(SF_EINVALID,
			                  "the saved plan touches '%s' (%s), "
			                  "which stack '%s' does not own (no "
			                  "label or record of it under that "
			                  "name); nothing was changed",
			                  a->name, a->sandbox_id, p->stack);
			dt_result_clear(&r);
			goto out;
		}
		fp = fingerprint_of(sb);
		if (a->fingerprint && *a->fingerprint &&
		    strcmp(fp, a->fingerprint) != 0) {
			log_debug("%s: fingerprint %s, plan has %s", a->name,
			          fp, a->fingerprint);
			free(fp);
			dt_result_clear(&r);
			rc = sf_error_set(SF_ECONFLICT,
			                  "saved plan is stale: '%s' changed "
			                  "since the plan was made; run "
			                  "sandform plan again",
			                  a->name);
			goto out;
		}
		free(fp);
		dt_result_clear(&r);
	}
	rc = 0;
out:
	strmap_clear(&filter);
	dt_sandbox_list_free(&l);
	return rc;
}
