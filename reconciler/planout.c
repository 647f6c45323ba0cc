/*
 * planout: the plan as people and programs read it.
 *
 * The JSON document carries everything apply needs (steps, the desired
 * spec with secret references only, the observed fingerprint), so a saved
 * plan is simply the --json document written to a file; plan_from_json
 * reads it back field by field and plan_to_json of the result gives the
 * same bytes. docs/plan-format.md describes it.
 */
#include "common/base.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/buf.h"
#include "common/hash.h"
#include "common/error.h"
#include "common/escape.h"
#include "common/fileutil.h"
#include "common/jsonutil.h"
#include "common/redact.h"
#include "common/xalloc.h"
#include "reconciler/plan-build.h"
#include "reconciler/planout.h"

/* ---- to JSON ------------------------------------------------------------ */

static void
add_opt_str(cJSON *o, const char *k, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, k, v);
}

/* observed_to_json: the sandbox as the API showed it (never env). */
static cJSON *
observed_to_json(const struct dt_sandbox *o)
{
	cJSON *j = dt_sandbox_to_json(o);

	cJSON_DeleteItemFromObjectCaseSensitive(j, "env");
	return j;
}

static cJSON *
step_to_json(const struct plan_step *st)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddStringToObject(j, "op", plan_step_name(st));
	switch (st->kind) {
	case STEP_SET_SETTING:
		cJSON_AddNumberToObject(j, "value", (double)st->value);
		break;
	case STEP_RESIZE:
		if (st->has_cpu)
			cJSON_AddNumberToObject(j, "cpu", (double)st->cpu);
		if (st->has_memory)
			cJSON_AddNumberToObject(j, "memory",
			                        (double)st->memory);
		if (st->has_disk)
			cJSON_AddNumberToObject(j, "disk", (double)st->disk);
		break;
	case STEP_CREATE:
	case STEP_SET_LABELS:
		cJSON_AddItemToObject(j, "labels", strmap_to_json(&st->labels));
		break;
	case STEP_SET_NETWORK:
		cJSON_AddItemToObject(j, "network",
		                      spec_network_to_json(&st->network));
		break;
	case STEP_SET_TTL:
		cJSON_AddNumberToObject(j, "value", (double)st->value);
		break;
	case STEP_SET_SECRETS:
		cJSON_AddItemToObject(j, "secrets",
		                      strmap_to_json(&st->labels));
		break;
	default:
		break;
	}
	return j;
}

static cJSON *
action_to_json(const struct plan_action *a)
{
	cJSON *j = cJSON_CreateObject(), *arr, *r;
	size_t i;

	cJSON_AddStringToObject(j, "name", a->name);
	cJSON_AddStringToObject(j, "action", plan_kind_name(a->kind));
	json_add_string_or_null(j, "sandbox_id", a->sandbox_id);
	cJSON_AddStringToObject(j, "source", a->source ? a->source : "");
	arr = cJSON_AddArrayToObject(j, "reasons");
	for (i = 0; i < a->nreasons; i++) {
		r = cJSON_CreateObject();
		cJSON_AddStringToObject(r, "field", a->reasons[i].field);
		json_add_string_or_null(r, "old", a->reasons[i].old);
		json_add_string_or_null(r, "new", a->reasons[i].new_);
		cJSON_AddBoolToObject(r, "forces_replace",
		                      a->reasons[i].forces_replace);
		add_opt_str(r, "note", a->reasons[i].note);
		cJSON_AddStringToObject(
		        r, "category",
		        plan_category_name(a->reasons[i].category));
		cJSON_AddStringToObject(r, "origin",
		                        plan_origin_name(a->reasons[i].origin));
		cJSON_AddItemToArray(arr, r);
	}
	cJSON_AddStringToObject(j, "fingerprint",
	                        a->fingerprint ? a->fingerprint : "");
	arr = cJSON_AddArrayToObject(j, "steps");
	for (i = 0; i < a->nsteps; i++)
		cJSON_AddItemToArray(arr, step_to_json(&a->steps[i]));
	if (a->desired)
		cJSON_AddItemToObject(j, "desired", spec_to_json(a->desired));
	else
		cJSON_AddNullToObject(j, "desired");
	if (a->observed)
		cJSON_AddItemToObject(j, "observed",
		                      observed_to_json(a->observed));
	else
		cJSON_AddNullToObject(j, "observed");
	cJSON_AddItemToObject(j, "owned_labels",
	                      strmap_to_json(&a->owned_labels));
	return j;
}

/* keys_to_json: "A,B" as ["A","B"]. */
static cJSON *
keys_to_json(const char *keys)
{
	cJSON *a = cJSON_CreateArray();
	const char *p = keys;

	while (p && *p) {
		size_t n = strcspn(p, ",");
		char *k = xstrndup(p, n);

		cJSON_AddItemToArray(a, cJSON_CreateString(k));
		free(k);
		p += n + (p[n] == ',');
	}
	return a;
}

int
plan_to_json_shown(const struct plan *p, char **out)
{
	cJSON *j = NULL, *a, *d, *v;
	char *doc = NULL, *shown;
	int rc;

	if ((rc = plan_to_json(p, &doc)) < 0)
		return rc;
	if ((j = cJSON_Parse(doc)) == NULL) {
		free(doc);
		return sf_error_set(SF_ERROR, "plan: cannot re-read its JSON");
	}
	cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(j, "actions"))
	{
		d = cJSON_GetObjectItemCaseSensitive(a, "desired");
		v = cJSON_GetObjectItemCaseSensitive(d, "outboundProxyUrl");
		if (!cJSON_IsString(v))
			continue;
		shown = redact_url_userinfo(v->valuestring);
		cJSON_ReplaceItemInObjectCaseSensitive(
		        d, "outboundProxyUrl", cJSON_CreateString(shown));
		free(shown);
	}
	free(doc);
	*out = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return *out ? 0 : sf_error_set(SF_ERROR, "plan: out of memory");
}

/* keys_from_json: {name: [keys]} into name -> "A,B". */
static void
keys_from_json(const cJSON *o, struct strmap *out)
{
	const cJSON *it, *k;

	cJSON_ArrayForEach(it, o)
	{
		struct buf b = BUF_INIT;

		cJSON_ArrayForEach(k, it)
		{
			if (cJSON_IsString(k))
				buf_addf(&b, "%s%s", b.len ? "," : "",
				         k->valuestring);
		}
		if (it->string && b.len)
			strmap_set(out, it->string, buf_cstr(&b));
		buf_free(&b);
	}
}

/* doc_json: the document, its actions left out unless with_actions */
static int doc_json(const struct plan *p, int with_actions, char **out);

int
plan_to_json(const struct plan *p, char **out)
{
	return doc_json(p, 1, out);
}

/* shown_action: one action's JSON as shown (redacted), unformatted */
static char *
shown_action(const struct plan_action *a)
{
	cJSON *j = action_to_json(a), *d, *v;
	char *shown, *s;

	d = cJSON_GetObjectItemCaseSensitive(j, "desired");
	v = cJSON_GetObjectItemCaseSensitive(d, "outboundProxyUrl");
	if (cJSON_IsString(v)) {
		shown = redact_url_userinfo(v->valuestring);
		cJSON_ReplaceItemInObjectCaseSensitive(
		        d, "outboundProxyUrl", cJSON_CreateString(shown));
		free(shown);
	}
	s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return s;
}

int
plan_write_json_shown(FILE *fp, const struct plan *p)
{
	static const char key[] = "\"actions\":[";
	char *doc = NULL, *at, *s;
	size_t i;
	int rc;

	/* the document without its actions, then each action printed and
	 * freed in turn: a plan of 10,000 actions is never whole in memory
	 * as JSON (a string value's quotes are escaped, so the first
	 * '"actions":[' is the key) */
	if ((rc = doc_json(p, 0, &doc)) < 0)
		return rc;
	at = strstr(doc, key);
	if (at == NULL) {
		free(doc);
		return sf_error_set(SF_ERROR, "plan: no actions in its JSON");
	}
	at += sizeof(key) - 1;
	fwrite(doc, 1, (size_t)(at - doc), fp);
	for (i = 0; i < p->nactions; i++) {
		if ((s = shown_action(&p->actions[i])) == NULL) {
			free(doc);
			return sf_error_set(SF_ERROR, "plan: out of memory");
		}
		if (i > 0)
			fputc(',', fp);
		fputs(s, fp);
		cJSON_free(s);
	}
	fputs(at, fp);
	free(doc);
	return ferror(fp) ? sf_error_set(SF_EIO, "plan: cannot write JSON") : 0;
}

static int
doc_json(const struct plan *p, int with_actions, char **out)
{
	cJSON *j = cJSON_CreateObject(), *arr, *o;
	size_t i;
	int k;
	char *s;

	cJSON_AddStringToObject(j, "format_version", p->format_version);
	cJSON_AddStringToObject(j, "stack", p->stack);
	cJSON_AddStringToObject(j, "created_at",
	                        p->created_at ? p->created_at : "");
	cJSON_AddBoolToObject(j, "refreshed", p->refreshed);
	cJSON_AddNumberToObject(j, "managed", (double)p->managed);
	arr = cJSON_AddArrayToObject(j, "actions");
	for (i = 0; with_actions && i < p->nactions; i++)
		cJSON_AddItemToArray(arr, action_to_json(&p->actions[i]));
	o = cJSON_AddObjectToObject(j, "summary");
	cJSON_AddNumberToObject(o, "create", (double)p->summary.create);
	cJSON_AddNumberToObject(o, "update", (double)p->summary.update);
	cJSON_AddNumberToObject(o, "replace", (double)p->summary.replace);
	cJSON_AddNumberToObject(o, "delete", (double)p->summary.delete_);
	cJSON_AddNumberToObject(o, "other", (double)p->summary.other);
	o = cJSON_AddObjectToObject(o, "by_action");
	for (k = 0; k < PLAN_KIND_COUNT; k++)
		cJSON_AddNumberToObject(o, plan_kind_name((enum plan_kind)k),
		                        (double)p->summary.by_kind[k]);
	arr = cJSON_AddArrayToObject(j, "errors");
	for (i = 0; i < p->nerrors; i++) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", p->errors[i].name);
		cJSON_AddStringToObject(o, "message", p->errors[i].message);
		cJSON_AddItemToArray(arr, o);
	}
	cJSON_AddBoolToObject(j, "mass_delete_refused", p->mass_delete_refused);
	cJSON_AddNumberToObject(j, "secrets_incomparable",
	                        (double)p->secrets_incomparable);
	/* secrets not available to the plan: name -> [keys] */
	o = cJSON_AddObjectToObject(j, "secrets_not_compared");
	for (i = 0; i < p->not_compared.n; i++)
		cJSON_AddItemToObject(o, p->not_compared.v[i].key,
		                      keys_to_json(p->not_compared.v[i].value));
	cJSON_AddNumberToObject(j, "kept", (double)p->kept);
	plan_res_to_json(p, j);
	if (p->targets.n) {
		arr = cJSON_AddArrayToObject(j, "targets");
		for (i = 0; i < p->targets.n; i++)
			cJSON_AddItemToArray(
			        arr, cJSON_CreateString(p->targets.v[i].key));
	}
	if (p->has_unmanaged) {
		arr = cJSON_AddArrayToObject(j, "unmanaged");
		for (i = 0; i < p->unmanaged.n; i++) {
			o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "name",
			                        p->unmanaged.v[i].key);
			cJSON_AddStringToObject(o, "id",
			                        p->unmanaged.v[i].value);
			cJSON_AddItemToArray(arr, o);
		}
	}
	s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	if (s == NULL)
		return sf_error_set(SF_ERROR, "plan: cannot print JSON");
	*out = xstrdup(s);
	cJSON_free(s);
	return 0;
}

/* ---- from JSON ---------------------------------------------------------- */

static long long
jnum(const cJSON *o, const char *k, int *has)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (has)
		*has = cJSON_IsNumber(v);
	return cJSON_IsNumber(v) ? (long long)v->valuedouble : 0;
}

static int
jbool(const cJSON *o, const char *k)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, k));
}

static int
observed_from_json(const cJSON *j, struct dt_sandbox **out)
{
	int rc = dt_sandbox_from_json(j, 0, out);

	if (rc < 0) {
		char *why = xstrdup(sf_error_last());

		rc = sf_error_set(SF_EINVALID, "plan: observed: %s", why);
		free(why);
		return rc;
	}
	strmap_clear(&(*out)->env);
	(*out)->present &= ~(unsigned)DT_HAS_ENV;
	return 0;
}

static int
step_from_json(const cJSON *j, struct plan_step *st)
{
	char *op = json_strdup(j, "op");
	const cJSON *v;
	int rc = 0, has;

	memset(st, 0, sizeof(*st));
	if (op == NULL || plan_step_parse(op, st) < 0) {
		rc = sf_error_set(SF_EINVALID, "plan: unknown step '%s'",
		                  op ? op : "(none)");
		goto out;
	}
	st->value = jnum(j, "value", NULL);
	st->cpu = (int)jnum(j, "cpu", &has);
	st->has_cpu = (unsigned char)has;
	st->memory = (int)jnum(j, "memory", &has);
	st->has_memory = (unsigned char)has;
	st->disk = (int)jnum(j, "disk", &has);
	st->has_disk = (unsigned char)has;
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "labels")) != NULL &&
	    (rc = strmap_from_json(v, "labels", &st->labels)) < 0)
		goto out;
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "secrets")) != NULL &&
	    (rc = strmap_from_json(v, "secrets", &st->labels)) < 0)
		goto out;
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "network")) != NULL)
		rc = spec_network_from_json(v, &st->network);
out:
	free(op);
	return rc;
}

static int
action_from_json(const cJSON *j, struct plan_action *a)
{
	const cJSON *arr, *it, *v;
	char *kind = NULL;
	int rc = 0;

	if (!cJSON_IsObject(j))
		return sf_error_set(SF_EINVALID, "plan: action: not an object");
	a->name = json_strdup(j, "name");
	kind = json_strdup(j, "action");
	if (a->name == NULL || kind == NULL ||
	    plan_kind_parse(kind, &a->kind) < 0) {
		rc = sf_error_set(SF_EINVALID, "plan: action without a name "
		                               "or with an unknown kind");
		goto out;
	}
	a->sandbox_id = json_strdup(j, "sandbox_id");
	a->source = json_strdup(j, "source");
	arr = cJSON_GetObjectItemCaseSensitive(j, "reasons");
	if (cJSON_IsArray(arr) && cJSON_GetArraySize(arr) > 0) {
		a->reasons = xcalloc((size_t)cJSON_GetArraySize(arr),
		                     sizeof(*a->reasons));
		cJSON_ArrayForEach(it, arr)
		{
			struct plan_reason *r = &a->reasons[a->nreasons++];

			r->field = json_strdup(it, "field");
			r->old = json_strdup(it, "old");
			r->new_ = json_strdup(it, "new");
			r->forces_replace = jbool(it, "forces_replace");
			r->note = json_strdup(it, "note");
			/* absent in plans of sandform 0.1 */
			if (plan_category_parse(
			            cJSON_GetStringValue(
			                    cJSON_GetObjectItemCaseSensitive(
			                            it, "category")),
			            &r->category) < 0)
				r->category = PLAN_CAT_SPEC;
			if (plan_origin_parse(
			            cJSON_GetStringValue(
			                    cJSON_GetObjectItemCaseSensitive(
			                            it, "origin")),
			            &r->origin) < 0)
				r->origin = PLAN_ORIGIN_UNKNOWN;
			if (r->field == NULL) {
				rc = sf_error_set(SF_EINVALID,
				                  "plan: %s: reason without "
				                  "a field",
				                  a->name);
				goto out;
			}
		}
	}
	a->fingerprint = json_strdup(j, "fingerprint");
	arr = cJSON_GetObjectItemCaseSensitive(j, "steps");
	if (cJSON_GetArraySize(arr) > PLAN_MAX_STEPS) {
		rc = sf_error_set(SF_EINVALID, "plan: %s: too many steps",
		                  a->name);
		goto out;
	}
	a->asteps = (size_t)cJSON_GetArraySize(arr);
	a->steps = xcalloc(a->asteps ? a->asteps : 1, sizeof(*a->steps));
	cJSON_ArrayForEach(it, arr)
	{
		if ((rc = step_from_json(it, &a->steps[a->nsteps])) < 0) {
			/* the failed step may hold allocations */
			a->nsteps++;
			goto out;
		}
		a->nsteps++;
	}
	v = cJSON_GetObjectItemCaseSensitive(j, "desired");
	if (cJSON_IsObject(v) && spec_from_json(v, &a->desired) < 0) {
		char *why = xstrdup(sf_error_last());

		rc = sf_error_set(SF_EINVALID, "plan: %s: %s", a->name, why);
		free(why);
		goto out;
	}
	v = cJSON_GetObjectItemCaseSensitive(j, "observed");
	if (cJSON_IsObject(v)) {
		if ((rc = observed_from_json(v, &a->observed)) < 0)
			goto out;
	}
	rc = strmap_from_json(
	        cJSON_GetObjectItemCaseSensitive(j, "owned_labels"),
	        "owned_labels", &a->owned_labels);
out:
	free(kind);
	return rc;
}

/* plan_from_cjson: the plan of a parsed document j (not freed). */
static int
plan_from_cjson(const cJSON *j, struct plan **out)
{
	const cJSON *arr, *it, *sum, *by;
	struct plan *p = NULL;
	int rc = 0, k;

	*out = NULL;
	if (!cJSON_IsObject(j)) {
		rc = sf_error_set(SF_EINVALID, "plan: not a JSON document");
		goto out;
	}
	p = xcalloc(1, sizeof(*p));
	p->format_version = json_strdup(j, "format_version");
	if (p->format_version == NULL ||
	    strcmp(p->format_version, PLAN_FORMAT_VERSION) != 0) {
		rc = sf_error_set(SF_EINVALID,
		                  "plan: format_version %s is not supported "
		                  "(this sandform writes %s)",
		                  p->format_version ? p->format_version
		                                    : "(none)",
		                  PLAN_FORMAT_VERSION);
		goto out;
	}
	p->stack = json_strdup(j, "stack");
	if (p->stack == NULL) {
		rc = sf_error_set(SF_EINVALID, "plan: no stack");
		goto out;
	}
	p->created_at = json_strdup(j, "created_at");
	p->refreshed = jbool(j, "refreshed");
	p->managed = (size_t)jnum(j, "managed", NULL);
	arr = cJSON_GetObjectItemCaseSensitive(j, "actions");
	if (!cJSON_IsArray(arr)) {
		rc = sf_error_set(SF_EINVALID, "plan: no actions array");
		goto out;
	}
	p->actions = xcalloc((size_t)cJSON_GetArraySize(arr) + 1,
	                     sizeof(*p->actions));
	cJSON_ArrayForEach(it, arr)
	{
		p->nactions++;
		if ((rc = action_from_json(it, &p->actions[p->nactions - 1])) <
		    0)
			goto out;
	}
	sum = cJSON_GetObjectItemCaseSensitive(j, "summary");
	p->summary.create = (size_t)jnum(sum, "create", NULL);
	p->summary.update = (size_t)jnum(sum, "update", NULL);
	p->summary.replace = (size_t)jnum(sum, "replace", NULL);
	p->summary.delete_ = (size_t)jnum(sum, "delete", NULL);
	p->summary.other = (size_t)jnum(sum, "other", NULL);
	by = cJSON_GetObjectItemCaseSensitive(sum, "by_action");
	for (k = 0; k < PLAN_KIND_COUNT; k++)
		p->summary.by_kind[k] = (size_t)jnum(
		        by, plan_kind_name((enum plan_kind)k), NULL);
	arr = cJSON_GetObjectItemCaseSensitive(j, "errors");
	if (cJSON_GetArraySize(arr) > 0)
		p->errors = xcalloc((size_t)cJSON_GetArraySize(arr),
		                    sizeof(*p->errors));
	cJSON_ArrayForEach(it, arr)
	{
		p->errors[p->nerrors].name = json_strdup(it, "name");
		p->errors[p->nerrors].message = json_strdup(it, "message");
		if (p->errors[p->nerrors].name == NULL)
			p->errors[p->nerrors].name = xstrdup("");
		if (p->errors[p->nerrors].message == NULL)
			p->errors[p->nerrors].message = xstrdup("");
		p->nerrors++;
	}
	p->mass_delete_refused = jbool(j, "mass_delete_refused");
	p->secrets_incomparable = (size_t)jnum(j, "secrets_incomparable", NULL);
	p->kept = (size_t)jnum(j, "kept", NULL);
	if ((rc = plan_res_from_json(j, p)) < 0)
		goto out;
	keys_from_json(
	        cJSON_GetObjectItemCaseSensitive(j, "secrets_not_compared"),
	        &p->not_compared);
	arr = cJSON_GetObjectItemCaseSensitive(j, "targets");
	cJSON_ArrayForEach(it, arr)
	{
		if (cJSON_IsString(it))
			strmap_set(&p->targets, it->valuestring, "");
	}
	arr = cJSON_GetObjectItemCaseSensitive(j, "unmanaged");
	if (cJSON_IsArray(arr)) {
		p->has_unmanaged = 1;
		cJSON_ArrayForEach(it, arr)
		{
			char *n = json_strdup(it, "name"),
			     *id = json_strdup(it, "id");

			if (n && id) /* keep the order as written */
				strmap_push(&p->unmanaged, n, id);
			free(n);
			free(id);
		}
	}
	*out = p;
	p = NULL;
out:
	plan_free(p);
	return rc;
}

int
plan_from_json(const char *json, size_t len, struct plan **out)
{
	cJSON *j = cJSON_ParseWithLength(json, len);
	int rc = plan_from_cjson(j, out);

	cJSON_Delete(j);
	return rc;
}

/* ---- files ----------------------------------------------------------------
 */

/*
 * The seal of a saved plan: "integrity": {"algorithm": PLANOUT_SEAL_ALG,
 * "mac": HMAC-SHA-256 under the state's key of the hex SHA-256 of the
 * document without "integrity", printed unformatted}. cJSON prints what it
 * parsed back to the same bytes, so the digest of a loaded document is the
 * digest of the one written. Only the state that made the plan can make a
 * seal it accepts: an edited plan (a delete pointed at someone else's
 * sandbox) is refused as a whole.
 */
#define PLANOUT_SEAL_ALG "hmac-sha256"

/* seal_digest: the hex SHA-256 of j printed unformatted (j without its
 * "integrity"). */
static int
seal_digest(const cJSON *j, char out[SF_SHA256_HEX_LEN + 1])
{
	char *text = cJSON_PrintUnformatted(j);

	if (text == NULL)
		return sf_error_set(SF_ERROR, "plan: out of memory");
	sha256_hex(text, strlen(text), out);
	free(text);
	return 0;
}

void
planout_seal_mac(const unsigned char *key, size_t keylen, const char *digest,
                 char out[SF_SHA256_HEX_LEN + 1])
{
	hmac_sha256_hex(key, keylen, digest, strlen(digest), out);
}

int
planout_save(const struct plan *p, const char *path, const unsigned char *key,
             size_t keylen)
{
	char digest[SF_SHA256_HEX_LEN + 1], mac[SF_SHA256_HEX_LEN + 1];
	char *s = NULL;
	cJSON *j = NULL, *o;
	int rc;

	if ((rc = plan_to_json(p, &s)) < 0)
		return rc;
	j = cJSON_Parse(s);
	free(s);
	s = NULL;
	if (j == NULL || (rc = seal_digest(j, digest)) < 0) {
		rc = rc < 0 ? rc
		            : sf_error_set(SF_ERROR, "plan: out of memory");
		goto out;
	}
	planout_seal_mac(key, keylen, digest, mac);
	o = cJSON_AddObjectToObject(j, "integrity");
	cJSON_AddStringToObject(o, "algorithm", PLANOUT_SEAL_ALG);
	cJSON_AddStringToObject(o, "mac", mac);
	if ((s = cJSON_PrintUnformatted(j)) == NULL) {
		rc = sf_error_set(SF_ERROR, "plan: out of memory");
		goto out;
	}
	rc = file_write_atomic(path, s, strlen(s), PLANOUT_FILE_MODE);
out:
	free(s);
	cJSON_Delete(j);
	return rc;
}

/* take_seal: detach j's "integrity" into p (seal_mac, seal_digest). */
static int
take_seal(cJSON *j, struct plan *p)
{
	cJSON *seal = cJSON_DetachItemFromObjectCaseSensitive(j, "integrity");
	const cJSON *alg = cJSON_GetObjectItemCaseSensitive(seal, "algorithm");
	const cJSON *mac = cJSON_GetObjectItemCaseSensitive(seal, "mac");
	int rc;

	if (cJSON_IsString(alg) && cJSON_IsString(mac) &&
	    strcmp(alg->valuestring, PLANOUT_SEAL_ALG) == 0)
		p->seal_mac = xstrdup(mac->valuestring);
	cJSON_Delete(seal);
	rc = seal_digest(j, p->seal_digest);
	return rc;
}

int
planout_load(const char *path, struct plan **out)
{
	struct buf b = BUF_INIT;
	cJSON *j = NULL;
	int rc;

	*out = NULL;
	if ((rc = file_read(path, PLAN_FILE_MAX, &b)) < 0)
		goto out;
	j = cJSON_ParseWithLength(buf_cstr(&b), b.len);
	if ((rc = plan_from_cjson(j, out)) < 0) {
		sf_error_set(rc, "%s: %s", path, sf_error_last());
		goto out;
	}
	if ((rc = take_seal(j, *out)) < 0) {
		plan_free(*out);
		*out = NULL;
	}
out:
	cJSON_Delete(j);
	buf_free(&b);
	return rc;
}

/* ---- human ------------------------------------------------------------- */

#define C_RESET  "\033[0m"
#define C_BOLD   "\033[1m"
#define C_RED    "\033[31m"
#define C_GREEN  "\033[32m"
#define C_YELLOW "\033[33m"
#define C_CYAN   "\033[36m"
#define C_DIM    "\033[2m"

static const char *
marker(enum plan_kind k)
{
	switch (k) {
	case PLAN_CREATE:
		return "+";
	case PLAN_UPDATE:
		return "~";
	case PLAN_REPLACE:
		return "-/+";
	case PLAN_DELETE:
		return "-";
	case PLAN_START:
		return ">";
	case PLAN_STOP:
		return "||";
	case PLAN_ARCHIVE:
		return "@";
	case PLAN_PAUSE:
		return "=";
	case PLAN_RESIZE:
		return "<>";
	case PLAN_RECOVER:
		return "!";
	default:
		return "?";
	}
}

static const char *
colour(enum plan_kind k)
{
	switch (k) {
	case PLAN_CREATE:
		return C_GREEN;
	case PLAN_UPDATE:
	case PLAN_RESIZE:
		return C_YELLOW;
	case PLAN_REPLACE:
	case PLAN_DELETE:
		return C_RED;
	default:
		return C_CYAN;
	}
}

/* is_scalar_field: a reason's field whose values are numbers or booleans
 * (the field table says so): printed as they are (2 -> 4); every other
 * value as a JSON string ("python:3.12"). */
static int
is_scalar_field(const char *field)
{
	enum spec_field f = spec_field_by_path(field);

	return f != SPEC_F_COUNT &&
	       (spec_fields[f].type == SPEC_T_INT ||
	        spec_fields[f].type == SPEC_T_BOOL || f == SPEC_F_BLOCK_ALL);
}

/* put: text from a server or a manifest, made safe for a terminal
 * (common/escape.h: no control sequence or reordering reaches it). */
static void
put(FILE *fp, const char *s)
{
	char *e = esc_text(s);

	fputs(e, fp);
	free(e);
}

static void
print_value(FILE *fp, const char *v, int scalar)
{
	if (v == NULL)
		fputs("(none)", fp);
	else if (scalar || v[0] == '(')
		put(fp, v); /* (sensitive), (hash ...) */
	else {
		struct buf b = BUF_INIT;

		buf_add_json_string(&b, v);
		put(fp, buf_cstr(&b));
		buf_free(&b);
	}
}

/* What a resize does to a running sandbox: its steps stop it first (a
 * decrease or a disk growth) and start it again when it should run. */
static const char *
downtime(const struct plan_action *a)
{
	size_t i;
	int stop = 0, start = 0;

	if (a->kind != PLAN_RESIZE)
		return "";
	for (i = 0; i < a->nsteps; i++) {
		if (a->steps[i].kind == STEP_STOP)
			stop = 1;
		else if (a->steps[i].kind == STEP_START && stop)
			start = 1;
	}
	if (stop && start)
		return ", stops and restarts the sandbox";
	return stop ? ", stops the sandbox" : "";
}

char *
planout_summary(const struct plan *p)
{
	if (p->nerrors)
		return xasprintf("Plan failed: %zu error%s (reported on "
		                 "stderr); nothing would be applied.",
		                 p->nerrors, p->nerrors == 1 ? "" : "s");
	if (!plan_has_changes(p))
		return xstrdup("No changes.");
	{
		/* the four Terraform counts always, then every other kind
		 * that occurs, by name */
		static const enum plan_kind others[] = {
			PLAN_RESIZE, PLAN_RECOVER, PLAN_START,
			PLAN_STOP,   PLAN_ARCHIVE, PLAN_PAUSE,
		};
		struct buf b = BUF_INIT;
		size_t i;

		buf_addf(&b,
		         "Plan: %zu to create, %zu to update, %zu to replace, "
		         "%zu to delete",
		         p->summary.create, p->summary.update,
		         p->summary.replace, p->summary.delete_);
		for (i = 0; i < sizeof(others) / sizeof(others[0]); i++)
			if (p->summary.by_kind[others[i]])
				buf_addf(&b, ", %zu to %s",
				         p->summary.by_kind[others[i]],
				         plan_kind_name(others[i]));
		buf_addch(&b, '.');
		return buf_detach(&b, NULL);
	}
}

/* print_reason: one "      field: old -> new" line of an action. */
static void
print_reason(FILE *fp, const struct plan_action *a, const struct plan_reason *r,
             int color)
{
	const char *off = color ? C_RESET : "";
	int scalar = is_scalar_field(r->field);

	fputs("      ", fp);
	put(fp, r->field);
	fputs(": ", fp);
	if (a->kind == PLAN_CREATE ||
	    (a->kind == PLAN_DELETE && r->new_ == NULL &&
	     strcmp(r->field, "sandbox") == 0)) {
		print_value(fp, a->kind == PLAN_CREATE ? r->new_ : r->old,
		            scalar);
	} else {
		print_value(fp, r->old, scalar);
		fputs(" -> ", fp);
		print_value(fp, r->new_, scalar);
	}
	if (r->note)
		fprintf(fp, "; %s", r->note);
	if (r->forces_replace)
		fprintf(fp, " %s(forces replacement)%s", color ? C_RED : "",
		        off);
	fputc('\n', fp);
}

/* print_attr: the attributes of a create, flattened from the desired
 * spec's JSON: "spec.resources.cpu: 2", secrets "(sensitive)". */
static void
print_attr(FILE *fp, const char *path, const cJSON *v)
{
	const cJSON *it;
	char *p;

	if (cJSON_IsObject(v) &&
	    (cJSON_GetObjectItemCaseSensitive(v, "secretEnv") ||
	     cJSON_GetObjectItemCaseSensitive(v, "secretFile"))) {
		fprintf(fp, "      %s: (sensitive)\n", path);
		return;
	}
	if (cJSON_IsObject(v)) {
		cJSON_ArrayForEach(it, v)
		{
			p = xasprintf("%s.%s", path, it->string);
			print_attr(fp, p, it);
			free(p);
		}
		return;
	}
	fputs("      ", fp);
	put(fp, path);
	fputs(": ", fp);
	p = cJSON_PrintUnformatted(v);
	put(fp, p ? p : "?");
	cJSON_free(p);
	fputc('\n', fp);
}

/* print_create: every attribute a create sends, as written. */
static void
print_create(FILE *fp, const struct plan_action *a)
{
	cJSON *j = spec_to_json(a->desired), *it;
	char *shown = redact_url_userinfo(a->desired->outbound_proxy_url);

	/* credentials in the proxy URL are never printed */
	if (shown)
		cJSON_ReplaceItemInObjectCaseSensitive(
		        j, "outboundProxyUrl", cJSON_CreateString(shown));
	free(shown);
	cJSON_ArrayForEach(it, j)
	{
		char *path;

		if (!strcmp(it->string, "name") ||
		    !strcmp(it->string, "source") ||
		    !strcmp(it->string, "hash") ||
		    (!strcmp(it->string, "labels") && it->child == NULL) ||
		    (!strcmp(it->string, "env") && it->child == NULL))
			continue;
		if (!strcmp(it->string, "lifecycle") &&
		    cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(
		            it, "preventDestroy")))
			continue;
		path = xasprintf("%s.%s",
		                 strcmp(it->string, "labels") ? "spec"
		                                              : "metadata",
		                 it->string);
		print_attr(fp, path, it);
		free(path);
	}
	cJSON_Delete(j);
}

/* print_not_compared: the secrets a plan without them did not compare. */
static void
print_not_compared(FILE *fp, const char *keys)
{
	const char *p = keys;

	while (p && *p) {
		size_t n = strcspn(p, ",");
		char *k = xstrndup(p, n);

		fputs("      spec.env.", fp);
		put(fp, k);
		fputs(": " PLAN_NOT_COMPARED "\n", fp);
		free(k);
		p += n;
		if (*p == ',')
			p++;
	}
}

static void
print_action(FILE *fp, const struct plan *p, const struct plan_action *a,
             int color)
{
	const char *on = color ? colour(a->kind) : "";
	const char *off = color ? C_RESET : "";
	size_t j;

	fprintf(fp, "%s%3s %s", on, marker(a->kind), color ? C_BOLD : "");
	put(fp, a->name);
	fprintf(fp, "%s%s (%s%s)%s  %s", off, on, plan_kind_name(a->kind),
	        downtime(a), off, color ? C_DIM : "");
	put(fp, a->source ? a->source : "");
	/* the live sandbox class (0.218): what pause and kvm depend on */
	if (a->observed && a->observed->sandbox_class) {
		fputs("  [class ", fp);
		put(fp, a->observed->sandbox_class);
		fputc(']', fp);
	}
	fprintf(fp, "%s\n", off);
	for (j = 0; j < a->nreasons; j++) {
		/* a create lists what it sends, below, not its reasons */
		if (a->kind == PLAN_CREATE && j > 0 && a->desired)
			break;
		print_reason(fp, a, &a->reasons[j], color);
	}
	if (a->kind == PLAN_CREATE && a->desired)
		print_create(fp, a);
	print_not_compared(fp, strmap_get(&p->not_compared, a->name));
}

/*
 * print_out_of_band: what changed outside sandform (reasons whose origin is
 * out-of-band), before the actions that put it back, as Terraform shows
 * "Objects have changed outside of Terraform".
 */
static void
print_out_of_band(FILE *fp, const struct plan *p)
{
	size_t i, j, n = 0;

	for (i = 0; i < p->nactions; i++) {
		const struct plan_action *a = &p->actions[i];

		for (j = 0; j < a->nreasons; j++) {
			const struct plan_reason *r = &a->reasons[j];

			if (r->origin != PLAN_ORIGIN_OUT_OF_BAND)
				continue;
			if (n++ == 0)
				fputs("Changed outside sandform (the plan "
				      "below "
				      "puts them back):\n",
				      fp);
			fputs("    ", fp);
			put(fp, a->name);
			fprintf(fp, " (%s) ", plan_category_name(r->category));
			put(fp, r->field);
			fputs(": ", fp);
			if (r->category == PLAN_CAT_MISSING)
				fputs("deleted", fp);
			else
				print_value(fp, r->new_,
				            is_scalar_field(r->field));
			fputs(" -> ", fp);
			if (r->category == PLAN_CAT_MISSING)
				fputs("(created again)", fp);
			else
				print_value(fp, r->old,
				            is_scalar_field(r->field));
			fputc('\n', fp);
		}
	}
	if (n)
		fputc('\n', fp);
}

/* print_notes: the secrets not compared for sandboxes without an action,
 * and the sandboxes prune: false keeps. */
static void
print_notes(FILE *fp, const struct plan *p)
{
	size_t i, j;

	for (i = 0; i < p->not_compared.n; i++) {
		for (j = 0; j < p->nactions; j++)
			if (!strcmp(p->actions[j].name,
			            p->not_compared.v[i].key))
				break;
		if (j < p->nactions)
			continue;
		fputs("    ", fp);
		put(fp, p->not_compared.v[i].key);
		fputs(" (no changes but)\n", fp);
		print_not_compared(fp, p->not_compared.v[i].value);
	}
	if (p->kept)
		fprintf(fp,
		        "note: %zu sandbox%s no longer in the manifests %s "
		        "kept "
		        "(prune: false)\n",
		        p->kept, p->kept == 1 ? "" : "es",
		        p->kept == 1 ? "is" : "are");
}

void
plan_print_human(FILE *fp, const struct plan *p, int color)
{
	char *sum;
	size_t i;

	if (!p->refreshed)
		fprintf(fp, "note: planned from recorded state only "
		            "(--refresh=false)\n\n");
	print_out_of_band(fp, p);
	plan_res_print(fp, p, color);
	for (i = 0; i < p->nactions; i++)
		print_action(fp, p, &p->actions[i], color);
	print_notes(fp, p);
	if (p->has_unmanaged) {
		fprintf(fp,
		        "%sUnmanaged sandboxes in the organization "
		        "(%zu):\n",
		        p->nactions ? "\n" : "", p->unmanaged.n);
		for (i = 0; i < p->unmanaged.n; i++) {
			fputs("    ", fp);
			put(fp, p->unmanaged.v[i].key);
			fputs("  ", fp);
			put(fp, p->unmanaged.v[i].value);
			fputc('\n', fp);
		}
	}
	sum = planout_summary(p);
	fprintf(fp, "%s%s%s%s\n",
	        p->nactions || p->nresources || p->has_unmanaged ? "\n" : "",
	        color && p->nactions ? C_BOLD : "", sum,
	        color && p->nactions ? C_RESET : "");
	free(sum);
}
