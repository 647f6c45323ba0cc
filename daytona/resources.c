/*
 * resources: the organization's calls besides sandboxes (client.h):
 * platform secrets' names, the server's configuration, volumes and
 * snapshots. Each is one call through the machinery of client.c (call.h):
 * reads are safe to repeat, creates and deletes are not.
 */
#include "common/base.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/jsonutil.h"
#include "common/xalloc.h"
#include "daytona/call.h"
#include "daytona/client.h"
#include "daytona/reply.h"

/*
 * get_json: GET path and parse its 2xx body into *out, which must be an
 * array (want_array) or an object; else "expected WHAT" with the answer.
 */
static int
get_json(struct dt_client *c, const char *path, int want_array,
         const char *what, cJSON **out, struct dt_result *res)
{
	struct dt_http_response resp = DT_HTTP_RESPONSE_INIT;
	struct dt_call k;
	int rc;

	*out = NULL;
	dt_call_init(&k, "GET", DT_BUCKET_AUTHENTICATED, 1);
	buf_addstr(&k.path, path);
	if ((rc = dt_call_run(c, &k, &resp, res)) < 0)
		goto out;
	*out = dt_call_parse(&resp);
	if (want_array ? !cJSON_IsArray(*out) : !cJSON_IsObject(*out)) {
		cJSON_Delete(*out);
		*out = NULL;
		rc = dt_reply_unexpected("GET", path, &resp, what);
	}
out:
	dt_http_response_clear(&resp);
	dt_call_clear(&k);
	return rc;
}

int
dt_secret_names(struct dt_client *c, struct strmap *out, struct dt_result *res)
{
	const cJSON *it, *n;
	cJSON *j;
	int rc;

	if ((rc = get_json(c, "/secret", 1, "an array of secrets", &j, res)) <
	    0)
		return rc;
	cJSON_ArrayForEach(it, j)
	{
		n = cJSON_GetObjectItemCaseSensitive(it, "name");
		if (cJSON_IsString(n) && n->valuestring[0])
			strmap_set(out, n->valuestring, "");
	}
	cJSON_Delete(j);
	return 0;
}

int
dt_get_config(struct dt_client *c, struct dt_server_config *out,
              struct dt_result *res)
{
	const cJSON *v;
	cJSON *j;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = get_json(c, "/config", 0, "a configuration object", &j,
	                   res)) < 0)
		return rc;
	v = cJSON_GetObjectItemCaseSensitive(j, "defaultSnapshot");
	if (cJSON_IsString(v) && v->valuestring && *v->valuestring)
		out->default_snapshot = xstrdup(v->valuestring);
	v = cJSON_GetObjectItemCaseSensitive(j, "maxAutoArchiveInterval");
	if (cJSON_IsNumber(v) && v->valuedouble > 0 && v->valuedouble < 1e9)
		out->max_auto_archive_interval = (int)v->valuedouble;
	cJSON_Delete(j);
	return 0;
}

/* ---- volumes and snapshots ---------------------------------------------- */

void
dt_res_free(struct dt_res *r)
{
	if (r == NULL)
		return;
	free(r->id);
	free(r->name);
	free(r->state);
	free(r->error_reason);
	free(r->image_name);
	free(r);
}

void
dt_res_list_free(struct dt_res **v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++)
		dt_res_free(v[i]);
	free(v);
}

static int
res_int(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1e9
	               ? (int)v->valuedouble
	               : 0;
}

/* res_from: a VolumeDto or SnapshotDto, or NULL without an id and name. */
static struct dt_res *
res_from(const cJSON *o)
{
	struct dt_res *r;

	if (!cJSON_IsObject(o))
		return NULL;
	r = xcalloc(1, sizeof(*r));
	r->id = json_strdup(o, "id");
	r->name = json_strdup(o, "name");
	r->state = json_strdup(o, "state");
	r->error_reason = json_strdup(o, "errorReason");
	r->image_name = json_strdup(o, "imageName");
	r->cpu = res_int(o, "cpu");
	r->gpu = res_int(o, "gpu");
	r->mem = res_int(o, "mem");
	r->disk = res_int(o, "disk");
	r->general =
	        cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "general"));
	if (r->id == NULL || r->name == NULL) {
		dt_res_free(r);
		return NULL;
	}
	return r;
}

/* res_call: one call whose 2xx body is a DTO (out != NULL: required). */
static int
res_call(struct dt_client *c, struct dt_call *k, struct dt_res **out,
         struct dt_result *res, const char *what)
{
	struct dt_http_response resp = DT_HTTP_RESPONSE_INIT;
	cJSON *j = NULL;
	int rc;

	if (out)
		*out = NULL;
	if ((rc = dt_call_run(c, k, &resp, res)) < 0 || out == NULL)
		goto out;
	j = dt_call_parse(&resp);
	if ((*out = res_from(j)) == NULL)
		rc = dt_reply_unexpected(k->method, buf_cstr(&k->path), &resp,
		                         what);
out:
	cJSON_Delete(j);
	dt_http_response_clear(&resp);
	dt_call_clear(k);
	return rc;
}

int
dt_volume_list(struct dt_client *c, struct dt_res ***out, size_t *n)
{
	const cJSON *it;
	cJSON *j;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = get_json(c, "/volumes", 1, "a list of volumes", &j, NULL)) <
	    0)
		return rc;
	*out = xcalloc((size_t)cJSON_GetArraySize(j) + 1, sizeof(**out));
	cJSON_ArrayForEach(it, j)
	{
		struct dt_res *r = res_from(it);

		if (r)
			(*out)[(*n)++] = r;
	}
	cJSON_Delete(j);
	return 0;
}

/* res_by_id: GET (into *out) or DELETE base + the escaped id. */
static int
res_by_id(struct dt_client *c, const char *method, const char *base,
          const char *id, struct dt_res **out, struct dt_result *res,
          const char *what)
{
	struct dt_call k;

	if (out != NULL)
		*out = NULL;
	if (id == NULL || *id == '\0')
		return sf_error_set(SF_EINVALID, "daytona: empty %s id", base);
	dt_call_init(&k, method, DT_BUCKET_AUTHENTICATED,
	             strcmp(method, "GET") == 0);
	buf_addstr(&k.path, base);
	dt_url_escape(&k.path, id);
	return res_call(c, &k, out, res, what);
}

int
dt_volume_get(struct dt_client *c, const char *name, struct dt_res **out)
{
	return res_by_id(c, "GET", "/volumes/by-name/", name, out, NULL,
	                 "a volume");
}

int
dt_volume_create(struct dt_client *c, const char *name, struct dt_res **out,
                 struct dt_result *res)
{
	cJSON *j = cJSON_CreateObject();
	struct dt_call k;

	dt_call_init(&k, "POST", DT_BUCKET_AUTHENTICATED, 0);
	buf_addstr(&k.path, "/volumes");
	dt_json_add_str(j, "name", name);
	if (dt_call_body(&k, j) < 0) {
		dt_call_clear(&k);
		return SF_ERROR;
	}
	return res_call(c, &k, out, res, "a volume");
}

int
dt_volume_delete(struct dt_client *c, const char *id, struct dt_result *res)
{
	return res_by_id(c, "DELETE", "/volumes/", id, NULL, res, "");
}

int
dt_snapshot_get(struct dt_client *c, const char *id_or_name,
                struct dt_res **out)
{
	return res_by_id(c, "GET", "/snapshots/", id_or_name, out, NULL,
	                 "a snapshot");
}

int
dt_snapshot_create(struct dt_client *c, const struct dt_snapshot_create *r,
                   struct dt_res **out, struct dt_result *res)
{
	cJSON *j = cJSON_CreateObject();
	struct dt_call k;

	dt_call_init(&k, "POST", DT_BUCKET_AUTHENTICATED, 0);
	buf_addstr(&k.path, "/snapshots");
	dt_json_add_str(j, "name", r->name);
	dt_json_add_str(j, "imageName", r->image_name);
	if (r->dockerfile) {
		cJSON *bi = cJSON_AddObjectToObject(j, "buildInfo");

		dt_json_add_str(bi, "dockerfileContent", r->dockerfile);
	}
	if (r->cpu > 0)
		cJSON_AddNumberToObject(j, "cpu", r->cpu);
	if (r->gpu > 0)
		cJSON_AddNumberToObject(j, "gpu", r->gpu);
	if (r->memory > 0)
		cJSON_AddNumberToObject(j, "memory", r->memory);
	if (r->disk > 0)
		cJSON_AddNumberToObject(j, "disk", r->disk);
	dt_json_add_str(j, "regionId", r->region_id);
	dt_json_add_str(j, "sandboxClass", r->sandbox_class);
	if (dt_call_body(&k, j) < 0) {
		dt_call_clear(&k);
		return SF_ERROR;
	}
	return res_call(c, &k, out, res, "a snapshot");
}

int
dt_snapshot_delete(struct dt_client *c, const char *id, struct dt_result *res)
{
	return res_by_id(c, "DELETE", "/snapshots/", id, NULL, res, "");
}
