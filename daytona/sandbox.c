/*
 * sandbox: the typed Sandbox of daytona-api.md §3, its states (§5.1), the
 * key/value maps used for labels and env, and the JSON mapping.
 *
 * The server sends optional fields either absent (a fresh entity) or null
 * (a row loaded from Postgres), so every reader here treats both the same.
 * Label and env values are not validated by the server; a non-string value
 * is kept as its JSON text rather than refusing the whole sandbox.
 */
#include "common/base.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/redact.h"
#include "common/strmap.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "daytona/client.h"

/* ---- states ------------------------------------------------------------ */

static const char *const state_names[DT_STATE_COUNT] = {
	[DT_STATE_NONE] = "",
	[DT_STATE_CREATING] = "creating",
	[DT_STATE_RESTORING] = "restoring",
	[DT_STATE_DESTROYED] = "destroyed",
	[DT_STATE_DESTROYING] = "destroying",
	[DT_STATE_STARTED] = "started",
	[DT_STATE_STOPPED] = "stopped",
	[DT_STATE_STARTING] = "starting",
	[DT_STATE_STOPPING] = "stopping",
	[DT_STATE_ERROR] = "error",
	[DT_STATE_BUILD_FAILED] = "build_failed",
	[DT_STATE_PENDING_BUILD] = "pending_build",
	[DT_STATE_BUILDING_SNAPSHOT] = "building_snapshot",
	[DT_STATE_UNKNOWN] = "unknown",
	[DT_STATE_PULLING_SNAPSHOT] = "pulling_snapshot",
	[DT_STATE_ARCHIVED] = "archived",
	[DT_STATE_ARCHIVING] = "archiving",
	[DT_STATE_RESIZING] = "resizing",
	[DT_STATE_SNAPSHOTTING] = "snapshotting",
	[DT_STATE_FORKING] = "forking",
	[DT_STATE_PAUSING] = "pausing",
	[DT_STATE_PAUSED] = "paused",
	[DT_STATE_RESUMING] = "resuming",
};

enum dt_state
dt_state_parse(const char *s)
{
	int i;

	if (s == NULL)
		return DT_STATE_NONE;
	for (i = 1; i < DT_STATE_COUNT; i++) {
		if (strcmp(s, state_names[i]) == 0)
			return (enum dt_state)i;
	}
	return DT_STATE_NONE;
}

const char *
dt_state_name(enum dt_state s)
{
	if ((int)s < 0 || s >= DT_STATE_COUNT)
		return "";
	return state_names[s];
}

int
dt_state_is_stable(enum dt_state s)
{
	return s == DT_STATE_STARTED || s == DT_STATE_STOPPED ||
	       s == DT_STATE_ARCHIVED || s == DT_STATE_DESTROYED ||
	       s == DT_STATE_PAUSED;
}

int
dt_state_is_error(enum dt_state s)
{
	return s == DT_STATE_ERROR || s == DT_STATE_BUILD_FAILED;
}

int
dt_state_is_transitional(enum dt_state s)
{
	return s != DT_STATE_NONE && s < DT_STATE_COUNT &&
	       !dt_state_is_stable(s) && !dt_state_is_error(s);
}

/* ---- settings ------------------------------------------------------------ */

#define SB_OFF(m) offsetof(struct dt_sandbox, m)

const struct dt_setting_info dt_settings[DT_SET_COUNT] = {
	[DT_SET_PUBLIC] = { DT_SET_PUBLIC, "public", "public", 1,
	                    SB_OFF(is_public), DT_HAS_PUBLIC },
	[DT_SET_AUTO_STOP] = { DT_SET_AUTO_STOP, "autoStopInterval", "autostop",
	                       0, SB_OFF(auto_stop_interval),
	                       DT_HAS_AUTO_STOP },
	[DT_SET_AUTO_ARCHIVE] = { DT_SET_AUTO_ARCHIVE, "autoArchiveInterval",
	                          "autoarchive", 0,
	                          SB_OFF(auto_archive_interval),
	                          DT_HAS_AUTO_ARCHIVE },
	[DT_SET_AUTO_DELETE] = { DT_SET_AUTO_DELETE, "autoDeleteInterval",
	                         "autodelete", 0, SB_OFF(auto_delete_interval),
	                         DT_HAS_AUTO_DELETE },
	[DT_SET_AUTO_PAUSE] = { DT_SET_AUTO_PAUSE, "autoPauseInterval",
	                        "autopause", 0, SB_OFF(auto_pause_interval),
	                        DT_HAS_AUTO_PAUSE },
};

const struct dt_setting_info *
dt_setting_by_key(const char *key)
{
	int i;

	for (i = 0; key && i < DT_SET_COUNT; i++)
		if (strcmp(dt_settings[i].key, key) == 0)
			return &dt_settings[i];
	return NULL;
}

const struct dt_setting_info *
dt_setting_by_route(const char *route)
{
	int i;

	for (i = 0; route && i < DT_SET_COUNT; i++)
		if (strcmp(dt_settings[i].route, route) == 0)
			return &dt_settings[i];
	return NULL;
}

int
dt_sandbox_setting(const struct dt_sandbox *sb, enum dt_setting s, int *value)
{
	const struct dt_setting_info *si;

	if ((unsigned)s >= DT_SET_COUNT)
		return -1;
	si = &dt_settings[s];
	*value = *(const int *)((const char *)sb + si->off);
	return (sb->present & si->present) ? 0 : -1;
}

/* ---- JSON → sandbox ---------------------------------------------------- */

static int
bad_type(const char *field, const char *want)
{
	return sf_error_set(SF_EINVALID,
	                    "daytona: sandbox field '%s': expected %s", field,
	                    want);
}

/* get_str: *out = copy of a string field, NULL when absent or null. */
static int
get_str(const cJSON *obj, const char *field, char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);

	*out = NULL;
	if (v == NULL || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v) || v->valuestring == NULL)
		return bad_type(field, "a string");
	*out = xstrdup(v->valuestring);
	return 0;
}

/* get_proxy_url: outboundProxyUrl with any credentials masked as they
 * arrive, so that neither the state nor a plan can keep them. */
static int
get_proxy_url(const cJSON *obj, char **out)
{
	char *raw;
	int rc;

	if ((rc = get_str(obj, "outboundProxyUrl", &raw)) < 0 || raw == NULL)
		return rc;
	*out = redact_url_userinfo(raw);
	explicit_bzero(raw, strlen(raw));
	free(raw);
	return 0;
}

/* get_int: integers (fractions truncated), clamped to int. */
static int
get_int(const cJSON *obj, const char *field, int *out, unsigned *present,
        unsigned bit)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);
	double d;

	*out = 0;
	if (v == NULL || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsNumber(v))
		return bad_type(field, "a number");
	d = v->valuedouble;
	if (isnan(d))
		return bad_type(field, "a number");
	if (d > INT_MAX)
		d = INT_MAX;
	if (d < INT_MIN)
		d = INT_MIN;
	*out = (int)d;
	*present |= bit;
	return 0;
}

static int
get_bool(const cJSON *obj, const char *field, int *out, unsigned *present,
         unsigned bit)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);

	*out = 0;
	if (v == NULL || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsBool(v))
		return bad_type(field, "a boolean");
	*out = cJSON_IsTrue(v) ? 1 : 0;
	*present |= bit;
	return 0;
}

static int
get_map(const cJSON *obj, const char *field, struct strmap *out,
        unsigned *present, unsigned bit)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);
	const cJSON *e;

	if (v == NULL || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsObject(v))
		return bad_type(field, "an object");
	cJSON_ArrayForEach(e, v)
	{
		if (e->string == NULL)
			continue;
		if (cJSON_IsString(e) && e->valuestring != NULL) {
			strmap_set(out, e->string, e->valuestring);
		} else if (!cJSON_IsNull(e)) {
			char *text = cJSON_PrintUnformatted(e);

			if (text == NULL)
				return bad_type(field, "an object");
			strmap_set(out, e->string, text);
			cJSON_free(text);
		}
	}
	*present |= bit;
	return 0;
}

static int
get_time(const cJSON *obj, const char *field, char **out, int64_t *ms)
{
	int rc = get_str(obj, field, out);

	*ms = 0;
	if (rc == 0 && *out != NULL && time_parse_iso(*out, ms) < 0)
		*ms = 0;
	return rc;
}

static int
get_volumes(const cJSON *obj, struct dt_sandbox *sb)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "volumes");
	const cJSON *e;
	int n, rc;

	if (v == NULL || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsArray(v))
		return bad_type("volumes", "an array");
	n = cJSON_GetArraySize(v);
	sb->volumes = xcalloc(n > 0 ? (size_t)n : 1, sizeof(*sb->volumes));
	sb->present |= DT_HAS_VOLUMES;
	cJSON_ArrayForEach(e, v)
	{
		struct dt_volume *vol = &sb->volumes[sb->n_volumes];

		if (!cJSON_IsObject(e))
			return bad_type("volumes", "an array of objects");
		sb->n_volumes++;
		if ((rc = get_str(e, "volumeId", &vol->volume_id)) < 0 ||
		    (rc = get_str(e, "mountPath", &vol->mount_path)) < 0 ||
		    (rc = get_str(e, "subpath", &vol->subpath)) < 0)
			return rc;
	}
	return 0;
}

static int
get_build_info(const cJSON *obj, struct dt_sandbox *sb)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "buildInfo");
	int rc;

	if (v == NULL || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsObject(v))
		return bad_type("buildInfo", "an object");
	sb->present |= DT_HAS_BUILD_INFO;
	if ((rc = get_str(v, "dockerfileContent", &sb->dockerfile_content)) < 0)
		return rc;
	return get_str(v, "snapshotRef", &sb->snapshot_ref);
}

/* get_settings: every field of dt_settings[], by its type. */
static int
get_settings(const cJSON *obj, struct dt_sandbox *sb)
{
	int i, rc;

	for (i = 0; i < DT_SET_COUNT; i++) {
		const struct dt_setting_info *si = &dt_settings[i];
		int *dst = (int *)((char *)sb + si->off);

		rc = si->is_bool ? get_bool(obj, si->key, dst, &sb->present,
		                            si->present)
		                 : get_int(obj, si->key, dst, &sb->present,
		                           si->present);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int
dt_sandbox_from_json(const cJSON *obj, int is_full, struct dt_sandbox **out)
{
	struct dt_sandbox *sb = NULL;
	unsigned *p;
	int rc;

	*out = NULL;
	if (!cJSON_IsObject(obj))
		return sf_error_set(SF_EINVALID,
		                    "daytona: expected a sandbox object");
	sb = xcalloc(1, sizeof(*sb));
	p = &sb->present;
	sb->is_full = is_full ? 1 : 0;
	if ((rc = get_str(obj, "id", &sb->id)) < 0 ||
	    (rc = get_str(obj, "name", &sb->name)) < 0 ||
	    (rc = get_str(obj, "organizationId", &sb->organization_id)) < 0 ||
	    (rc = get_str(obj, "target", &sb->target)) < 0 ||
	    (rc = get_str(obj, "snapshot", &sb->snapshot)) < 0 ||
	    (rc = get_str(obj, "user", &sb->user)) < 0 ||
	    (rc = get_map(obj, "env", &sb->env, p, DT_HAS_ENV)) < 0 ||
	    (rc = get_map(obj, "labels", &sb->labels, p, 0)) < 0 ||
	    (rc = get_settings(obj, sb)) < 0 ||
	    (rc = get_bool(obj, "networkBlockAll", &sb->network_block_all, p,
	                   DT_HAS_NETWORK_BLOCK_ALL)) < 0 ||
	    (rc = get_str(obj, "networkAllowList", &sb->network_allow_list)) <
	            0 ||
	    (rc = get_str(obj, "domainAllowList", &sb->domain_allow_list)) <
	            0 ||
	    (rc = get_int(obj, "cpu", &sb->cpu, p, DT_HAS_CPU)) < 0 ||
	    (rc = get_int(obj, "gpu", &sb->gpu, p, DT_HAS_GPU)) < 0 ||
	    (rc = get_int(obj, "memory", &sb->memory, p, DT_HAS_MEMORY)) < 0 ||
	    (rc = get_int(obj, "disk", &sb->disk, p, DT_HAS_DISK)) < 0 ||
	    (rc = get_str(obj, "gpuType", &sb->gpu_type)) < 0 ||
	    (rc = get_str(obj, "sandboxClass", &sb->sandbox_class)) < 0 ||
	    (rc = get_bool(obj, "spot", &sb->spot, p, DT_HAS_SPOT)) < 0 ||
	    (rc = get_bool(obj, "kvm", &sb->kvm, p, DT_HAS_KVM)) < 0 ||
	    (rc = get_proxy_url(obj, &sb->outbound_proxy_url)) < 0 ||
	    (rc = get_str(obj, "autoDestroyAt", &sb->auto_destroy_at)) < 0 ||
	    (rc = get_str(obj, "state", &sb->state_raw)) < 0 ||
	    (rc = get_str(obj, "desiredState", &sb->desired_state_raw)) < 0 ||
	    (rc = get_str(obj, "errorReason", &sb->error_reason)) < 0 ||
	    (rc = get_bool(obj, "recoverable", &sb->recoverable, p,
	                   DT_HAS_RECOVERABLE)) < 0 ||
	    (rc = get_volumes(obj, sb)) < 0 ||
	    (rc = get_build_info(obj, sb)) < 0 ||
	    (rc = get_time(obj, "createdAt", &sb->created_at,
	                   &sb->created_at_ms)) < 0 ||
	    (rc = get_time(obj, "updatedAt", &sb->updated_at,
	                   &sb->updated_at_ms)) < 0 ||
	    (rc = get_time(obj, "lastActivityAt", &sb->last_activity_at,
	                   &sb->last_activity_at_ms)) < 0)
		goto out;
	sb->state = dt_state_parse(sb->state_raw);
	sb->desired_state = dt_state_parse(sb->desired_state_raw);
	*out = sb;
	sb = NULL;
	rc = 0;
out:
	dt_sandbox_free(sb);
	return rc;
}

/* ---- sandbox → JSON ---------------------------------------------------- */

static void
put_str(cJSON *o, const char *field, const char *s)
{
	if (s != NULL)
		cJSON_AddStringToObject(o, field, s);
}

static void
put_int(cJSON *o, const char *field, int v, unsigned present, unsigned bit)
{
	if (present & bit)
		cJSON_AddNumberToObject(o, field, v);
}

static void
put_bool(cJSON *o, const char *field, int v, unsigned present, unsigned bit)
{
	if (present & bit)
		cJSON_AddBoolToObject(o, field, v);
}

cJSON *
dt_sandbox_to_json(const struct dt_sandbox *sb)
{
	unsigned p = sb->present;
	cJSON *o = cJSON_CreateObject();
	size_t i;

	put_str(o, "id", sb->id);
	put_str(o, "name", sb->name);
	put_str(o, "organizationId", sb->organization_id);
	put_str(o, "target", sb->target);
	put_str(o, "snapshot", sb->snapshot);
	put_str(o, "user", sb->user);
	if (p & DT_HAS_ENV)
		cJSON_AddItemToObject(o, "env", strmap_to_json(&sb->env));
	cJSON_AddItemToObject(o, "labels", strmap_to_json(&sb->labels));
	for (i = 0; i < DT_SET_COUNT; i++) {
		const struct dt_setting_info *si = &dt_settings[i];
		int v = *(const int *)((const char *)sb + si->off);

		if (si->is_bool)
			put_bool(o, si->key, v, p, si->present);
		else
			put_int(o, si->key, v, p, si->present);
	}
	put_bool(o, "networkBlockAll", sb->network_block_all, p,
	         DT_HAS_NETWORK_BLOCK_ALL);
	put_str(o, "networkAllowList", sb->network_allow_list);
	put_str(o, "domainAllowList", sb->domain_allow_list);
	put_int(o, "cpu", sb->cpu, p, DT_HAS_CPU);
	put_int(o, "gpu", sb->gpu, p, DT_HAS_GPU);
	put_int(o, "memory", sb->memory, p, DT_HAS_MEMORY);
	put_int(o, "disk", sb->disk, p, DT_HAS_DISK);
	put_str(o, "gpuType", sb->gpu_type);
	put_str(o, "sandboxClass", sb->sandbox_class);
	put_bool(o, "spot", sb->spot, p, DT_HAS_SPOT);
	put_bool(o, "kvm", sb->kvm, p, DT_HAS_KVM);
	put_str(o, "outboundProxyUrl", sb->outbound_proxy_url);
	put_str(o, "autoDestroyAt", sb->auto_destroy_at);
	put_str(o, "state", sb->state_raw);
	put_str(o, "desiredState", sb->desired_state_raw);
	put_str(o, "errorReason", sb->error_reason);
	put_bool(o, "recoverable", sb->recoverable, p, DT_HAS_RECOVERABLE);
	if (p & DT_HAS_VOLUMES) {
		cJSON *arr = cJSON_AddArrayToObject(o, "volumes");

		for (i = 0; i < sb->n_volumes; i++) {
			cJSON *v = cJSON_CreateObject();

			put_str(v, "volumeId", sb->volumes[i].volume_id);
			put_str(v, "mountPath", sb->volumes[i].mount_path);
			put_str(v, "subpath", sb->volumes[i].subpath);
			cJSON_AddItemToArray(arr, v);
		}
	}
	if (p & DT_HAS_BUILD_INFO) {
		cJSON *bi = cJSON_AddObjectToObject(o, "buildInfo");

		put_str(bi, "dockerfileContent", sb->dockerfile_content);
		put_str(bi, "snapshotRef", sb->snapshot_ref);
	}
	put_str(o, "createdAt", sb->created_at);
	put_str(o, "updatedAt", sb->updated_at);
	put_str(o, "lastActivityAt", sb->last_activity_at);
	return o;
}

struct dt_sandbox *
dt_sandbox_dup(const struct dt_sandbox *sb)
{
	struct dt_sandbox *d;
	size_t i;

	if (sb == NULL)
		return NULL;
	d = xmalloc(sizeof(*d));
	*d = *sb;
	d->id = xstrdup_or_null(sb->id);
	d->name = xstrdup_or_null(sb->name);
	d->organization_id = xstrdup_or_null(sb->organization_id);
	d->target = xstrdup_or_null(sb->target);
	d->snapshot = xstrdup_or_null(sb->snapshot);
	d->user = xstrdup_or_null(sb->user);
	d->env.v = NULL;
	d->env.n = 0;
	strmap_copy(&d->env, &sb->env);
	d->labels.v = NULL;
	d->labels.n = 0;
	strmap_copy(&d->labels, &sb->labels);
	d->network_allow_list = xstrdup_or_null(sb->network_allow_list);
	d->domain_allow_list = xstrdup_or_null(sb->domain_allow_list);
	d->gpu_type = xstrdup_or_null(sb->gpu_type);
	d->sandbox_class = xstrdup_or_null(sb->sandbox_class);
	d->outbound_proxy_url = xstrdup_or_null(sb->outbound_proxy_url);
	d->auto_destroy_at = xstrdup_or_null(sb->auto_destroy_at);
	d->state_raw = xstrdup_or_null(sb->state_raw);
	d->desired_state_raw = xstrdup_or_null(sb->desired_state_raw);
	d->error_reason = xstrdup_or_null(sb->error_reason);
	d->volumes = NULL;
	if (sb->volumes != NULL) {
		d->volumes = xcalloc(sb->n_volumes ? sb->n_volumes : 1,
		                     sizeof(*d->volumes));
		for (i = 0; i < sb->n_volumes; i++) {
			d->volumes[i].volume_id =
			        xstrdup_or_null(sb->volumes[i].volume_id);
			d->volumes[i].mount_path =
			        xstrdup_or_null(sb->volumes[i].mount_path);
			d->volumes[i].subpath =
			        xstrdup_or_null(sb->volumes[i].subpath);
		}
	}
	d->dockerfile_content = xstrdup_or_null(sb->dockerfile_content);
	d->snapshot_ref = xstrdup_or_null(sb->snapshot_ref);
	d->created_at = xstrdup_or_null(sb->created_at);
	d->updated_at = xstrdup_or_null(sb->updated_at);
	d->last_activity_at = xstrdup_or_null(sb->last_activity_at);
	return d;
}

void
dt_sandbox_free(struct dt_sandbox *sb)
{
	size_t i;

	if (sb == NULL)
		return;
	free(sb->id);
	free(sb->name);
	free(sb->organization_id);
	free(sb->target);
	free(sb->snapshot);
	free(sb->user);
	strmap_clear(&sb->env);
	strmap_clear(&sb->labels);
	free(sb->network_allow_list);
	free(sb->domain_allow_list);
	free(sb->gpu_type);
	free(sb->sandbox_class);
	free(sb->outbound_proxy_url);
	free(sb->auto_destroy_at);
	free(sb->state_raw);
	free(sb->desired_state_raw);
	free(sb->error_reason);
	for (i = 0; i < sb->n_volumes; i++) {
		free(sb->volumes[i].volume_id);
		free(sb->volumes[i].mount_path);
		free(sb->volumes[i].subpath);
	}
	free(sb->volumes);
	free(sb->dockerfile_content);
	free(sb->snapshot_ref);
	free(sb->created_at);
	free(sb->updated_at);
	free(sb->last_activity_at);
	free(sb);
}

void
dt_sandbox_list_add(struct dt_sandbox_list *l, struct dt_sandbox *sb)
{
	if (l->n == l->alloc) {
		l->alloc = l->alloc ? l->alloc * 2 : 16;
		l->items = xreallocarray(l->items, l->alloc, sizeof(*l->items));
	}
	l->items[l->n++] = sb;
}

void
dt_sandbox_list_free(struct dt_sandbox_list *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		dt_sandbox_free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = l->alloc = 0;
}

void
dt_result_clear(struct dt_result *r)
{
	if (r == NULL)
		return;
	dt_sandbox_free(r->sandbox);
	r->sandbox = NULL;
	r->status = 0;
	r->attempts = 0;
}

void
dt_page_clear(struct dt_page *p)
{
	if (p == NULL)
		return;
	dt_sandbox_list_free(&p->items);
	free(p->next_cursor);
	p->next_cursor = NULL;
}

void
dt_server_config_clear(struct dt_server_config *sc)
{
	if (sc == NULL)
		return;
	free(sc->default_snapshot);
	sc->default_snapshot = NULL;
	sc->max_auto_archive_interval = 0;
}
