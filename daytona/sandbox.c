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
#include <pthread.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/hash.h"
#include "common/intern.h"
#include "common/jsonscan.h"
#include "common/jsonutil.h"
#include "common/redact.h"
#include "common/strmap.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "daytona/call.h"
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

/* val_str: *out = copy of a string member v, NULL when absent or null. */
static int
val_str(const cJSON *v, const char *field, char **out)
{
	*out = NULL;
	if (v == NULL || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v) || v->valuestring == NULL)
		return bad_type(field, "a string");
	*out = xstrdup(v->valuestring);
	return 0;
}

static int
get_str(const cJSON *obj, const char *field, char **out)
{
	return val_str(cJSON_GetObjectItemCaseSensitive(obj, field), field,
	               out);
}

/* get_proxy_url: outboundProxyUrl with any credentials masked as they
 * arrive, so that neither the state nor a plan can keep them. */
static int
val_proxy_url(const cJSON *v, char **out)
{
	char *raw;
	int rc;

	if ((rc = val_str(v, "outboundProxyUrl", &raw)) < 0 || raw == NULL)
		return rc;
	*out = redact_url_userinfo(raw);
	explicit_bzero(raw, strlen(raw));
	free(raw);
	return 0;
}

/* val_int: integers (fractions truncated), clamped to int. */
static int
val_int(const cJSON *v, const char *field, int *out, unsigned *present,
        unsigned bit)
{
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
val_bool(const cJSON *v, const char *field, int *out, unsigned *present,
         unsigned bit)
{
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
val_map(const cJSON *v, const char *field, struct strmap *out,
        unsigned *present, unsigned bit)
{
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
val_volumes(const cJSON *v, struct dt_sandbox *sb)
{
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
val_build_info(const cJSON *v, struct dt_sandbox *sb)
{
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

/*
 * The fields of a Sandbox, sorted by key for the reader: one pass over the
 * object's members finds each in the table (find_field, a hash), where a
 * lookup per field would walk the members again for each of the
 * thirty-odd fields. A repeated key counts once (the first, as cJSON's
 * lookup did).
 */
enum field_kind {
	F_STR,
	F_SHARED, /* a string most sandboxes repeat: interned (below) */
	F_INT,
	F_BOOL,
	F_MAP,
	F_TIME,
	F_PROXY,
	F_VOLUMES,
	F_BUILD_INFO,
};

struct field {
	const char *key;
	enum field_kind kind;
	size_t off;    /* the member (char * or int) */
	size_t ms_off; /* F_TIME: the parsed int64_t member */
	unsigned bit;  /* the present bit, or 0 */
};

static const struct field fields[] = {
	{ "autoArchiveInterval", F_INT, SB_OFF(auto_archive_interval), 0,
	  DT_HAS_AUTO_ARCHIVE },
	{ "autoDeleteInterval", F_INT, SB_OFF(auto_delete_interval), 0,
	  DT_HAS_AUTO_DELETE },
	{ "autoDestroyAt", F_STR, SB_OFF(auto_destroy_at), 0, 0 },
	{ "autoPauseInterval", F_INT, SB_OFF(auto_pause_interval), 0,
	  DT_HAS_AUTO_PAUSE },
	{ "autoStopInterval", F_INT, SB_OFF(auto_stop_interval), 0,
	  DT_HAS_AUTO_STOP },
	{ "buildInfo", F_BUILD_INFO, 0, 0, 0 },
	{ "cpu", F_INT, SB_OFF(cpu), 0, DT_HAS_CPU },
	{ "createdAt", F_TIME, SB_OFF(created_at), SB_OFF(created_at_ms), 0 },
	{ "desiredState", F_SHARED, SB_OFF(desired_state_raw), 0, 0 },
	{ "disk", F_INT, SB_OFF(disk), 0, DT_HAS_DISK },
	{ "domainAllowList", F_STR, SB_OFF(domain_allow_list), 0, 0 },
	{ "env", F_MAP, SB_OFF(env), 0, DT_HAS_ENV },
	{ "errorReason", F_STR, SB_OFF(error_reason), 0, 0 },
	{ "gpu", F_INT, SB_OFF(gpu), 0, DT_HAS_GPU },
	{ "gpuType", F_SHARED, SB_OFF(gpu_type), 0, 0 },
	{ "id", F_STR, SB_OFF(id), 0, 0 },
	{ "kvm", F_BOOL, SB_OFF(kvm), 0, DT_HAS_KVM },
	{ "labels", F_MAP, SB_OFF(labels), 0, 0 },
	{ "lastActivityAt", F_TIME, SB_OFF(last_activity_at),
	  SB_OFF(last_activity_at_ms), 0 },
	{ "memory", F_INT, SB_OFF(memory), 0, DT_HAS_MEMORY },
	{ "name", F_STR, SB_OFF(name), 0, 0 },
	{ "networkAllowList", F_STR, SB_OFF(network_allow_list), 0, 0 },
	{ "networkBlockAll", F_BOOL, SB_OFF(network_block_all), 0,
	  DT_HAS_NETWORK_BLOCK_ALL },
	{ "organizationId", F_SHARED, SB_OFF(organization_id), 0, 0 },
	{ "outboundProxyUrl", F_PROXY, SB_OFF(outbound_proxy_url), 0, 0 },
	{ "public", F_BOOL, SB_OFF(is_public), 0, DT_HAS_PUBLIC },
	{ "recoverable", F_BOOL, SB_OFF(recoverable), 0, DT_HAS_RECOVERABLE },
	{ "sandboxClass", F_SHARED, SB_OFF(sandbox_class), 0, 0 },
	{ "snapshot", F_SHARED, SB_OFF(snapshot), 0, 0 },
	{ "spot", F_BOOL, SB_OFF(spot), 0, DT_HAS_SPOT },
	{ "state", F_SHARED, SB_OFF(state_raw), 0, 0 },
	{ "target", F_SHARED, SB_OFF(target), 0, 0 },
	{ "updatedAt", F_TIME, SB_OFF(updated_at), SB_OFF(updated_at_ms), 0 },
	{ "user", F_SHARED, SB_OFF(user), 0, 0 },
	{ "volumes", F_VOLUMES, 0, 0, 0 },
};

#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

/* The table's rows by key hash (open addressing): a list of 100,000
 * sandboxes looks up three million keys, and a binary search of strcmp
 * calls was a tenth of a big plan's refresh. */
#define FIELD_SLOTS 128 /* a power of two, over three times NFIELDS */
static unsigned char field_slot[FIELD_SLOTS]; /* row + 1, 0: empty */
static unsigned char field_len[NFIELDS];      /* strlen of each key */
static pthread_once_t field_once = PTHREAD_ONCE_INIT;

static void
field_index(void)
{
	size_t k, i;

	for (k = 0; k < NFIELDS; k++) {
		field_len[k] = (unsigned char)strlen(fields[k].key);
		for (i = hash_fnv1a(fields[k].key) & (FIELD_SLOTS - 1);
		     field_slot[i] != 0; i = (i + 1) & (FIELD_SLOTS - 1))
			;
		field_slot[i] = (unsigned char)(k + 1);
	}
}

/* find_field: the row of key, or NULL. */
static const struct field *
find_field(const char *key)
{
	size_t i;

	pthread_once(&field_once, field_index);
	for (i = hash_fnv1a(key) & (FIELD_SLOTS - 1); field_slot[i] != 0;
	     i = (i + 1) & (FIELD_SLOTS - 1))
		if (strcmp(fields[field_slot[i] - 1].key, key) == 0)
			return &fields[field_slot[i] - 1];
	return NULL;
}

/* tmp_str: the char * member of sb that row f describes. */
#define tmp_str(sb, f) (*(char **)((char *)(sb) + (f)->off))

/* one_field: member v of a sandbox object into sb by the table row f. */
static int
one_field(const struct field *f, const cJSON *v, struct dt_sandbox *sb)
{
	char *base = (char *)sb;

	switch (f->kind) {
	case F_STR:
	case F_SHARED:
	case F_TIME:
		break; /* inline: dt_sandbox_from_json copies them */
	case F_PROXY:
		return val_proxy_url(v, (char **)(base + f->off));
	case F_INT:
		return val_int(v, f->key, (int *)(base + f->off), &sb->present,
		               f->bit);
	case F_BOOL:
		return val_bool(v, f->key, (int *)(base + f->off), &sb->present,
		                f->bit);
	case F_MAP:
		return val_map(v, f->key, (struct strmap *)(base + f->off),
		               &sb->present, f->bit);
	case F_VOLUMES:
		return val_volumes(v, sb);
	case F_BUILD_INFO:
		return val_build_info(v, sb);
	}
	return 0;
}

/*
 * Interned strings: the organization, snapshot, user, region, state and
 * class of a listed sandbox are the same for most of a stack (100,000
 * sandboxes repeat them ~90 bytes each). dt_sandbox_from_json points such
 * a member at the shared copy (common/intern.h) instead of copying it;
 * free_str knows those by their address.
 */

/* is_inline: s lies in sb's own allocation (dt_sandbox_from_json). */
static int
is_inline(const struct dt_sandbox *sb, const char *s)
{
	const char *from = (const char *)(sb + 1);

	return sb->inline_len > 0 && s >= from && s < from + sb->inline_len;
}

static void
free_str(const struct dt_sandbox *sb, char *s)
{
	if (s != NULL && !is_inline(sb, s) && !intern_owns(s))
		free(s);
}

void
dt_sandbox_set_str(struct dt_sandbox *sb, char **member, const char *value)
{
	char *old = *member;

	*member = xstrdup_or_null(value);
	free_str(sb, old);
}

/* inline_kind: the plain strings dt_sandbox_from_json keeps inline. */
static int
inline_kind(enum field_kind k)
{
	return k == F_STR || k == F_SHARED || k == F_TIME;
}

/* members_clear: free what sb's members hold (not sb itself). */
static void
members_clear(struct dt_sandbox *sb)
{
	size_t i;

	free_str(sb, sb->id);
	free_str(sb, sb->name);
	free_str(sb, sb->organization_id);
	free_str(sb, sb->target);
	free_str(sb, sb->snapshot);
	free_str(sb, sb->user);
	strmap_clear(&sb->env);
	strmap_clear(&sb->labels);
	free_str(sb, sb->network_allow_list);
	free_str(sb, sb->domain_allow_list);
	free_str(sb, sb->gpu_type);
	free_str(sb, sb->sandbox_class);
	free_str(sb, sb->outbound_proxy_url);
	free_str(sb, sb->auto_destroy_at);
	free_str(sb, sb->state_raw);
	free_str(sb, sb->desired_state_raw);
	free_str(sb, sb->error_reason);
	for (i = 0; i < sb->n_volumes; i++) {
		free(sb->volumes[i].volume_id);
		free(sb->volumes[i].mount_path);
		free(sb->volumes[i].subpath);
	}
	free(sb->volumes);
	free_str(sb, sb->dockerfile_content);
	free_str(sb, sb->snapshot_ref);
	free_str(sb, sb->created_at);
	free_str(sb, sb->updated_at);
	free_str(sb, sb->last_activity_at);
}

/*
 * A sandbox being read, by either reader (a cJSON tree, or the scanner of
 * a list page below): its members, and the plain strings to copy inline
 * once their total size is known.
 */
struct builder {
	struct dt_sandbox tmp;
	uint64_t seen;            /* bit k: row k met */
	uint64_t has_str;         /* bit k: str[k] and len[k] are set */
	const char *str[NFIELDS]; /* the plain strings, read in place */
	size_t len[NFIELDS];
	size_t total;
};

_Static_assert(NFIELDS <= 64, "a builder's bit masks hold every field");

/* builder_init: only tmp and the masks are cleared (a memset of the
 * arrays was 4% of a big plan). */
static void
builder_init(struct builder *b, int is_full)
{
	memset(&b->tmp, 0, sizeof(b->tmp));
	b->seen = b->has_str = 0;
	b->total = 0;
	b->tmp.is_full = is_full ? 1 : 0;
}

/* builder_first: 1 the first time row f is met (a repeated key counts
 * once, the first), else 0. */
static int
builder_first(struct builder *b, const struct field *f)
{
	uint64_t bit = (uint64_t)1 << (f - fields);

	if (b->seen & bit)
		return 0;
	b->seen |= bit;
	return 1;
}

/* builder_str: the plain string of row f (an inline kind), len bytes with
 * no NUL among them, kept by s until builder_finish. */
static void
builder_str(struct builder *b, const struct field *f, const char *s, size_t len)
{
	size_t k = (size_t)(f - fields);

	if (f->kind == F_SHARED &&
	    (tmp_str(&b->tmp, f) = (char *)intern_str(s, len)) != NULL)
		return; /* no inline copy */
	b->str[k] = s;
	b->len[k] = len;
	b->has_str |= (uint64_t)1 << k;
	b->total += len + 1;
}

/* builder_finish: the sandbox, or an error (b's members freed). */
static int
builder_finish(struct builder *b, struct dt_sandbox **out)
{
	struct dt_sandbox *sb;
	size_t k;
	char *p;

	if (b->total > UINT_MAX) {
		members_clear(&b->tmp);
		return sf_error_set(SF_EINVALID, "daytona: sandbox too large");
	}
	sb = xmalloc(sizeof(*sb) + b->total);
	*sb = b->tmp;
	sb->inline_len = (unsigned)b->total;
	p = (char *)(sb + 1);
	for (k = 0; k < NFIELDS; k++) {
		char **m = (char **)((char *)sb + fields[k].off);

		if (!(b->has_str & ((uint64_t)1 << k)))
			continue;
		*m = memcpy(p, b->str[k], b->len[k]);
		p[b->len[k]] = '\0';
		p += b->len[k] + 1;
		if (fields[k].kind == F_TIME &&
		    time_parse_iso(
		            *m, (int64_t *)((char *)sb + fields[k].ms_off)) < 0)
			*(int64_t *)((char *)sb + fields[k].ms_off) = 0;
	}
	sb->state = dt_state_parse(sb->state_raw);
	sb->desired_state = dt_state_parse(sb->desired_state_raw);
	*out = sb;
	return 0;
}

int
dt_sandbox_from_json(const cJSON *obj, int is_full, struct dt_sandbox **out)
{
	struct builder b;
	const cJSON *e;
	int rc = 0;

	*out = NULL;
	if (!cJSON_IsObject(obj))
		return sf_error_set(SF_EINVALID,
		                    "daytona: expected a sandbox object");
	builder_init(&b, is_full);
	for (e = obj->child; e != NULL; e = e->next) {
		const struct field *f;

		if (e->string == NULL || (f = find_field(e->string)) == NULL)
			continue; /* a field this client does not use */
		if (!builder_first(&b, f))
			continue;
		if (inline_kind(f->kind)) {
			if (cJSON_IsNull(e))
				continue;
			if (!cJSON_IsString(e) || e->valuestring == NULL) {
				rc = bad_type(f->key, "a string");
				goto fail;
			}
			builder_str(&b, f, e->valuestring,
			            strlen(e->valuestring));
			continue;
		}
		if ((rc = one_field(f, e, &b.tmp)) < 0)
			goto fail;
	}
	return builder_finish(&b, out);
fail:
	members_clear(&b.tmp);
	return rc;
}

/* ---- a list page, read without a tree ------------------------------------ */

/*
 * A page of the list is the one big document sandform reads: cJSON built
 * ~60 nodes per sandbox for dt_sandbox_from_json to copy out of (a fifth
 * of a big plan's CPU). The scanner (common/jsonscan.h) reads the page in
 * one pass into the same builder. It reads a strict subset of JSON and
 * gives up (1) on anything else: escapes it does not decode, a label
 * value that is not a string, a field of the wrong type, a page of
 * another shape; the caller then reads the page with cJSON as before, so
 * that every answer, error or not, is still cJSON's.
 */

/* scan_find_field: the row of the key of n bytes, or NULL. */
static const struct field *
scan_find_field(const char *key, size_t n)
{
	size_t i;

	pthread_once(&field_once, field_index);
	for (i = hash_fnv1a_n(key, n) & (FIELD_SLOTS - 1); field_slot[i] != 0;
	     i = (i + 1) & (FIELD_SLOTS - 1)) {
		size_t k = field_slot[i] - 1u;

		if (field_len[k] == n && memcmp(fields[k].key, key, n) == 0)
			return &fields[k];
	}
	return NULL;
}

/* scan_map: an object of string values into the map of row f. */
static int
scan_map(struct jscan *s, const struct field *f, struct dt_sandbox *sb)
{
	struct strmap *m = (struct strmap *)((char *)sb + f->off);
	const char *keys[STRMAP_SET_ALL_MAX], *vals[STRMAP_SET_ALL_MAX];
	const char *k, *v;
	size_t kn, vn, n = 0, mark = s->scratch_used;
	int more, rc = 1;

	if (jscan_expect(s, '{') < 0)
		return 1;
	sb->present |= f->bit;
	if (jscan_peek(s) == '}')
		return jscan_expect(s, '}') < 0 ? 1 : 0;
	do {
		if (jscan_string_z(s, &k, &kn) < 0 || jscan_expect(s, ':') < 0)
			goto out;
		if (jscan_peek(s) == 'n') {
			if (jscan_literal(s) != JSCAN_NULL)
				goto out;
			continue;
		}
		if (jscan_string_z(s, &v, &vn) < 0)
			goto out; /* not a string: cJSON prints it */
		if (n == STRMAP_SET_ALL_MAX) { /* many: the rest one by one */
			strmap_set_all(m, keys, vals, n);
			n = 0;
			mark = s->scratch_used;
		}
		keys[n] = k;
		vals[n++] = v;
	} while ((more = jscan_more(s, '}')) == 1);
	rc = more < 0 ? 1 : 0;
out:
	if (rc == 0)
		strmap_set_all(m, keys, vals, n);
	s->scratch_used = mark;
	return rc;
}

/* scan_tree: a rare member (volumes, buildInfo, the proxy URL) through a
 * cJSON tree of its value alone. */
static int
scan_tree(struct jscan *s, const struct field *f, struct dt_sandbox *sb)
{
	const char *from;
	cJSON *v;
	int rc;

	if (jscan_skip(s, &from) < 0 ||
	    (v = cJSON_ParseWithLength(from, (size_t)(s->p - from))) == NULL)
		return 1;
	rc = one_field(f, v, sb);
	cJSON_Delete(v);
	return rc < 0 ? 1 : 0;
}

/*
 * What one item of a page tells about the next: the items repeat their
 * keys in one order, after[k] being the row that followed row k in the
 * last item (after[NFIELDS]: the first row; +1, 0: none yet), tried
 * before the table's hash; and most of a stack shares its organization,
 * snapshot, state, ...: shared[k] is the interned text row k had last.
 */
struct page_memo {
	unsigned char after[NFIELDS + 1];
	const char *shared[NFIELDS];
};

/* shared_again: the value of row f, len bytes at str, is the text the
 * row had in the last item: point at that (no lookup in the pool) */
static int
shared_again(const struct page_memo *pm, const struct field *f, const char *str,
             size_t n, struct builder *b)
{
	const char *last = pm->shared[f - fields];

	if (last == NULL || strncmp(last, str, n) != 0 || last[n] != '\0')
		return 0;
	tmp_str(&b->tmp, f) = (char *)last;
	return 1;
}

/* scan_value: the value of row f into b; 1 to give up. */
static int
scan_value(struct jscan *s, struct page_memo *pm, const struct field *f,
           struct builder *b)
{
	cJSON v;
	const char *str;
	size_t n;
	int c = jscan_peek(s), lit;

	if (c == 'n') /* null: as absent, whatever the kind */
		return jscan_literal(s) == JSCAN_NULL ? 0 : 1;
	memset(&v, 0, sizeof(v));
	switch (f->kind) {
	case F_SHARED:
		if (jscan_string(s, &str, &n) < 0)
			return 1;
		if (shared_again(pm, f, str, n, b))
			return 0;
		builder_str(b, f, str, n);
		if (!(b->has_str & ((uint64_t)1 << (f - fields))))
			pm->shared[f - fields] = tmp_str(&b->tmp, f);
		return 0;
	case F_STR:
	case F_TIME:
		if (jscan_string(s, &str, &n) < 0)
			return 1;
		builder_str(b, f, str, n);
		return 0;
	case F_INT:
		v.type = cJSON_Number;
		if (jscan_int(s, &v.valuedouble) < 0)
			return 1;
		break;
	case F_BOOL:
		if ((lit = jscan_literal(s)) < 0 || lit == JSCAN_NULL)
			return 1;
		v.type = lit ? cJSON_True : cJSON_False;
		break;
	case F_MAP:
		return scan_map(s, f, &b->tmp);
	case F_PROXY:
	case F_VOLUMES:
	case F_BUILD_INFO:
		return scan_tree(s, f, &b->tmp);
	}
	return one_field(f, &v, &b->tmp) < 0 ? 1 : 0;
}

/* next_field: the row of the key of n bytes, prev the row before it in
 * this item (NFIELDS at its start). */
static const struct field *
next_field(struct page_memo *ko, size_t prev, const char *key, size_t n)
{
	size_t k = ko->after[prev];
	const struct field *f;

	if (k != 0 && field_len[k - 1] == n &&
	    memcmp(fields[k - 1].key, key, n) == 0)
		return &fields[k - 1];
	if ((f = scan_find_field(key, n)) != NULL)
		ko->after[prev] = (unsigned char)(f - fields + 1);
	return f;
}

/* scan_item: one sandbox object of the list; 1 to give up. */
static int
scan_item(struct jscan *s, struct page_memo *ko, struct dt_sandbox **out)
{
	size_t prev = NFIELDS;
	struct builder b;
	const struct field *f;
	const char *key;
	size_t n;
	int more = 0;

	builder_init(&b, 0);
	jscan_scratch_reset(s);
	if (jscan_expect(s, '{') < 0)
		return 1;
	if (jscan_peek(s) == '}')
		s->p++;
	else
		do {
			if (jscan_string(s, &key, &n) < 0 ||
			    jscan_expect(s, ':') < 0)
				goto fail;
			f = next_field(ko, prev, key, n);
			if (f != NULL)
				prev = (size_t)(f - fields);
			if (f == NULL || !builder_first(&b, f)) {
				if (jscan_skip(s, NULL) < 0)
					goto fail;
			} else if (scan_value(s, ko, f, &b) != 0) {
				goto fail;
			}
		} while ((more = jscan_more(s, '}')) == 1);
	if (more < 0)
		goto fail;
	return builder_finish(&b, out) < 0 ? 1 : 0;
fail:
	members_clear(&b.tmp);
	return 1;
}

/* scan_items: the items array into out->items */
static int
scan_items(struct jscan *s, struct dt_page *out)
{
	struct page_memo ko;
	struct dt_sandbox *sb;
	int more;

	memset(&ko, 0, sizeof(ko));
	if (jscan_expect(s, '[') < 0)
		return 1;
	if (jscan_peek(s) == ']')
		return jscan_expect(s, ']') < 0 ? 1 : 0;
	do {
		if (scan_item(s, &ko, &sb) != 0)
			return 1;
		dt_sandbox_list_add(&out->items, sb);
	} while ((more = jscan_more(s, ']')) == 1);
	return more < 0 ? 1 : 0;
}

int
dt_page_scan(const char *body, size_t len, struct dt_page *out)
{
	struct jscan s;
	char *scratch = xmalloc(len + 1);
	const char *key, *cur;
	size_t n, cn;
	int more, items = 0, cursor = 0, rc = 1;

	jscan_init(&s, body, len, scratch, len + 1);
	if (jscan_expect(&s, '{') < 0 || jscan_peek(&s) == '}')
		goto out;
	do {
		if (jscan_string(&s, &key, &n) < 0 || jscan_expect(&s, ':') < 0)
			goto out;
		if (n == 5 && memcmp(key, "items", 5) == 0 && !items++) {
			if (scan_items(&s, out) != 0)
				goto out;
		} else if (n == 10 && memcmp(key, "nextCursor", 10) == 0 &&
		           !cursor++ && jscan_peek(&s) == '"') {
			jscan_scratch_reset(&s);
			if (jscan_string(&s, &cur, &cn) < 0)
				goto out;
			if (cn > 0)
				out->next_cursor = xstrndup(cur, cn);
		} else if (jscan_skip(&s, NULL) < 0) {
			goto out;
		}
	} while ((more = jscan_more(&s, '}')) == 1);
	/* what follows the object is not read (as cJSON) */
	rc = more < 0 || !items ? 1 : 0;
out:
	free(scratch);
	if (rc != 0)
		dt_page_clear(out);
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

/* ---- sandbox → JSON text, without a tree --------------------------------- */

/* pr_str: a JSON string as cJSON_PrintUnformatted writes it. */
static void
pr_str(struct buf *b, const char *s)
{
	json_put_string(b, s);
}

/* pr_int: v in decimal, as "%d" writes it, without a printf (an
 * observation has a dozen numbers, and 100,000 observations are printed
 * for each plan of a big stack). */
static void
pr_int(struct buf *b, int v)
{
	char tmp[16], *p = tmp + sizeof(tmp);
	unsigned u = v < 0 ? 0u - (unsigned)v : (unsigned)v;

	do
		*--p = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		*--p = '-';
	buf_add(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

/* pr_key: the separator and "key": for a field name of this file (a
 * plain identifier: nothing to escape), in one append */
/* The printers of a field are inlined into dt_sandbox_print: a literal
 * key's length and copy are then constants (100,000 observations are
 * printed for each plan of a big stack). */
#define PR_INLINE inline __attribute__((always_inline))

static PR_INLINE void
pr_key(struct buf *b, int *n, const char *key)
{
	char tmp[64];
	size_t len = strlen(key), at = 0;

	if (len > sizeof(tmp) - 4) {
		if ((*n)++)
			buf_addch(b, ',');
		pr_str(b, key);
		buf_addch(b, ':');
		return;
	}
	if ((*n)++)
		tmp[at++] = ',';
	tmp[at++] = '"';
	memcpy(tmp + at, key, len);
	at += len;
	tmp[at++] = '"';
	tmp[at++] = ':';
	buf_add(b, tmp, at);
}

static PR_INLINE void
pr_kstr(struct buf *b, int *n, const char *key, const char *s)
{
	if (s == NULL)
		return;
	pr_key(b, n, key);
	pr_str(b, s);
}

static PR_INLINE void
pr_kint(struct buf *b, int *n, const char *key, int v, unsigned present,
        unsigned bit)
{
	if (!(present & bit))
		return;
	pr_key(b, n, key);
	pr_int(b, v);
}

static PR_INLINE void
pr_kbool(struct buf *b, int *n, const char *key, int v, unsigned present,
         unsigned bit)
{
	if (!(present & bit))
		return;
	pr_key(b, n, key);
	buf_addstr(b, v ? "true" : "false");
}

static void
pr_kmap(struct buf *b, int *n, const char *key, const struct strmap *m)
{
	size_t i;
	int k = 0;

	pr_key(b, n, key);
	buf_addch(b, '{');
	for (i = 0; i < m->n; i++) {
		/* keys of labels and env are data: escaped as values */
		if (k++)
			buf_addch(b, ',');
		pr_str(b, m->v[i].key);
		buf_addch(b, ':');
		pr_str(b, m->v[i].value);
	}
	buf_addch(b, '}');
}

static const char *
nz(const char *s)
{
	return s ? s : "";
}

void
dt_sandbox_print(const struct dt_sandbox *sb, unsigned flags, struct buf *b)
{
	unsigned p = sb->present;
	int n = 0, net_last = (flags & DT_PRINT_NETWORK_LAST) &&
	                      (p & DT_HAS_NETWORK_BLOCK_ALL);
	size_t i;

	buf_addch(b, '{');
	pr_kstr(b, &n, "id", sb->id);
	pr_kstr(b, &n, "name", sb->name);
	pr_kstr(b, &n, "organizationId", sb->organization_id);
	pr_kstr(b, &n, "target", sb->target);
	pr_kstr(b, &n, "snapshot", sb->snapshot);
	pr_kstr(b, &n, "user", sb->user);
	if ((p & DT_HAS_ENV) && !(flags & DT_PRINT_NO_ENV))
		pr_kmap(b, &n, "env", &sb->env);
	pr_kmap(b, &n, "labels", &sb->labels);
	for (i = 0; i < DT_SET_COUNT; i++) {
		const struct dt_setting_info *si = &dt_settings[i];
		int v = *(const int *)((const char *)sb + si->off);

		if (si->is_bool)
			pr_kbool(b, &n, si->key, v, p, si->present);
		else
			pr_kint(b, &n, si->key, v, p, si->present);
	}
	if (!net_last) {
		pr_kbool(b, &n, "networkBlockAll", sb->network_block_all, p,
		         DT_HAS_NETWORK_BLOCK_ALL);
		pr_kstr(b, &n, "networkAllowList", sb->network_allow_list);
		pr_kstr(b, &n, "domainAllowList", sb->domain_allow_list);
	}
	pr_kint(b, &n, "cpu", sb->cpu, p, DT_HAS_CPU);
	pr_kint(b, &n, "gpu", sb->gpu, p, DT_HAS_GPU);
	pr_kint(b, &n, "memory", sb->memory, p, DT_HAS_MEMORY);
	pr_kint(b, &n, "disk", sb->disk, p, DT_HAS_DISK);
	pr_kstr(b, &n, "gpuType", sb->gpu_type);
	pr_kstr(b, &n, "sandboxClass", sb->sandbox_class);
	pr_kbool(b, &n, "spot", sb->spot, p, DT_HAS_SPOT);
	pr_kbool(b, &n, "kvm", sb->kvm, p, DT_HAS_KVM);
	pr_kstr(b, &n, "outboundProxyUrl", sb->outbound_proxy_url);
	pr_kstr(b, &n, "autoDestroyAt", sb->auto_destroy_at);
	pr_kstr(b, &n, "state", sb->state_raw);
	pr_kstr(b, &n, "desiredState", sb->desired_state_raw);
	pr_kstr(b, &n, "errorReason", sb->error_reason);
	pr_kbool(b, &n, "recoverable", sb->recoverable, p, DT_HAS_RECOVERABLE);
	if (p & DT_HAS_VOLUMES) {
		pr_key(b, &n, "volumes");
		buf_addch(b, '[');
		for (i = 0; i < sb->n_volumes; i++) {
			int k = 0;

			buf_addstr(b, i ? ",{" : "{");
			pr_kstr(b, &k, "volumeId", sb->volumes[i].volume_id);
			pr_kstr(b, &k, "mountPath", sb->volumes[i].mount_path);
			pr_kstr(b, &k, "subpath", sb->volumes[i].subpath);
			buf_addch(b, '}');
		}
		buf_addch(b, ']');
	}
	if (p & DT_HAS_BUILD_INFO) {
		int k = 0;

		pr_key(b, &n, "buildInfo");
		buf_addch(b, '{');
		pr_kstr(b, &k, "dockerfileContent", sb->dockerfile_content);
		pr_kstr(b, &k, "snapshotRef", sb->snapshot_ref);
		buf_addch(b, '}');
	}
	pr_kstr(b, &n, "createdAt", sb->created_at);
	pr_kstr(b, &n, "updatedAt", sb->updated_at);
	pr_kstr(b, &n, "lastActivityAt", sb->last_activity_at);
	if (net_last) {
		pr_kbool(b, &n, "networkBlockAll", sb->network_block_all, p,
		         DT_HAS_NETWORK_BLOCK_ALL);
		pr_kstr(b, &n, "networkAllowList", nz(sb->network_allow_list));
		pr_kstr(b, &n, "domainAllowList", nz(sb->domain_allow_list));
	}
	buf_addch(b, '}');
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
	d->inline_len = 0; /* every string is copied on its own */
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
	if (sb == NULL)
		return;
	members_clear(sb);
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
