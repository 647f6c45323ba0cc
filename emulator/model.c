/*
 * model: the sandbox state machine and validators, as the Daytona service
 * code behaves (daytona-api.md §5, §7, §13). Kept free of locks and clocks
 * so that it reads like the tables it implements and unit tests can drive
 * it exhaustively.
 */
#include "common/base.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/timeutil.h"
#include "common/validate.h"
#include "common/jsonutil.h"
#include "common/xalloc.h"
#include "emulator/model.h"

static const char *const state_names[ST__COUNT] = {
	"creating", "restoring",        "destroyed",     "destroying",
	"started",  "stopped",          "starting",      "stopping",
	"error",    "build_failed",     "pending_build", "building_snapshot",
	"unknown",  "pulling_snapshot", "archived",      "archiving",
	"resizing", "snapshotting",     "forking",       "pausing",
	"paused",   "resuming",
};

static const char *const class_names[SC__COUNT] = {
	"container",
	"linux-vm",
	"android",
	"windows",
};

const char *const emu_gpu_types[] = {
	"H100",     "H200",     "B300",   "RTX-PRO-6000",
	"RTX-4090", "RTX-5090", "MI355X",
};
const int emu_n_gpu_types =
        (int)(sizeof(emu_gpu_types) / sizeof(emu_gpu_types[0]));

static const char *const desired_names[DS__COUNT] = {
	"destroyed", "started", "stopped", "resized", "archived", "paused",
};

const char *
sb_state_name(enum sb_state s)
{
	return (unsigned)s < ST__COUNT ? state_names[s] : "unknown";
}

const char *
sb_desired_name(enum sb_desired d)
{
	return (unsigned)d < DS__COUNT ? desired_names[d] : "started";
}

/* index of s in names[0..n), or -1 */
static int
name_index(const char *const *names, int n, const char *s)
{
	for (int i = 0; s && i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

int
sb_state_parse(const char *s)
{
	return name_index(state_names, ST__COUNT, s);
}

int
sb_desired_parse(const char *s)
{
	return name_index(desired_names, DS__COUNT, s);
}

const char *
sb_class_name(enum sb_class c)
{
	return (unsigned)c < SC__COUNT ? class_names[c] : "container";
}

int
sb_class_parse(const char *s)
{
	return name_index(class_names, SC__COUNT, s);
}

bool
sb_class_pausable(enum sb_class c)
{
	return c == SC_LINUX_VM;
}

bool
emu_is_gpu_type(const char *s)
{
	return name_index(emu_gpu_types, emu_n_gpu_types, s) >= 0;
}

int
sb_stable_desired(enum sb_state s)
{
	switch (s) {
	case ST_STARTED:
		return DS_STARTED;
	case ST_STOPPED:
		return DS_STOPPED;
	case ST_ARCHIVED:
		return DS_ARCHIVED;
	case ST_DESTROYED:
		return DS_DESTROYED;
	case ST_PAUSED:
		return DS_PAUSED;
	default:
		return -1;
	}
}

bool
sb_errored(const struct sandbox *sb)
{
	return sb->state == ST_ERROR || sb->state == ST_BUILD_FAILED;
}

/* state == desiredState, comparing the enum values by name as the DB does */
static bool
state_matches_desired(const struct sandbox *sb)
{
	return sb_stable_desired(sb->state) == (int)sb->desired;
}

bool
sb_pending(const struct sandbox *sb)
{
	if (sb_errored(sb) || sb->desired == DS_ARCHIVED)
		return false;
	return !state_matches_desired(sb);
}

bool
sb_hidden(const struct sandbox *sb)
{
	if (sb->state == ST_DESTROYED)
		return true;
	return sb_errored(sb) && sb->desired == DS_DESTROYED;
}

enum sb_state
sb_derived_state(const struct sandbox *sb, bool for_list)
{
	switch (sb->state) {
	case ST_STARTED:
		if (sb->desired == DS_PAUSED)
			return ST_PAUSING;
		if (sb->desired == DS_STOPPED)
			return ST_STOPPING;
		if (sb->desired == DS_DESTROYED)
			return ST_DESTROYING;
		break;
	case ST_STOPPED:
		if (sb->desired == DS_STARTED)
			return ST_STARTING;
		if (sb->desired == DS_DESTROYED)
			return ST_DESTROYING;
		if (sb->desired == DS_ARCHIVED)
			return ST_ARCHIVING;
		break;
	case ST_UNKNOWN:
		if (sb->desired == DS_STARTED)
			return ST_CREATING;
		break;
	case ST_ARCHIVED:
		if (sb->desired == DS_STARTED && for_list)
			return ST_RESTORING;
		break;
	case ST_PAUSED:
		if (sb->desired == DS_STARTED)
			return ST_RESUMING;
		if (sb->desired == DS_DESTROYED)
			return ST_DESTROYING;
		break;
	default:
		break;
	}
	return sb->state;
}

static const char MSG_ERRORED[] = "Sandbox is in an errored state";
static const char MSG_IN_PROGRESS[] = "Sandbox state change in progress";

int
sb_check(const struct sandbox *sb, enum sb_action act, const char **msg)
{
	enum sb_state s = sb->state;

	*msg = NULL;
	switch (act) {
	case ACT_START:
		if (s == ST_STARTED && sb->desired == DS_STARTED)
			return 1;
		if (sb_errored(sb)) {
			*msg = MSG_ERRORED;
			return 400;
		}
		if (!state_matches_desired(sb) &&
		    !((s == ST_STOPPED || s == ST_ARCHIVING) &&
		      sb->desired == DS_ARCHIVED)) {
			*msg = MSG_IN_PROGRESS;
			return 409;
		}
		if (s != ST_STOPPED && s != ST_ARCHIVED && s != ST_ARCHIVING &&
		    s != ST_PAUSED) {
			*msg = "Sandbox is not in valid state";
			return 400;
		}
		break;
	case ACT_STOP:
	case ACT_ARCHIVE:
		if (sb_errored(sb)) {
			*msg = MSG_ERRORED;
			return 400;
		}
		if (!state_matches_desired(sb)) {
			*msg = MSG_IN_PROGRESS;
			return 409;
		}
		if (act == ACT_STOP && s != ST_STARTED && s != ST_PAUSED) {
			*msg = "Sandbox is not in a stoppable state";
			return 400;
		}
		if (act == ACT_ARCHIVE && s != ST_STOPPED) {
			*msg = "Sandbox is not stopped";
			return 400;
		}
		if (act == ACT_ARCHIVE && sb->auto_delete == 0) {
			*msg = "Ephemeral sandboxes cannot be archived";
			return 400;
		}
		break;
	case ACT_DELETE:
		if (sb_pending(sb) && s != ST_PENDING_BUILD) {
			*msg = MSG_IN_PROGRESS;
			return 409;
		}
		return 0;
	case ACT_RESIZE:
		if (s != ST_STARTED && s != ST_STOPPED) {
			*msg = "Sandbox must be in started or stopped state to "
			       "resize";
			return 400;
		}
		break;
	case ACT_PAUSE:
		if (!sb_class_pausable(sb->sclass)) {
			*msg = "Pausing is not supported for this sandbox";
			return 422;
		}
		if (sb_errored(sb)) {
			*msg = MSG_ERRORED;
			return 400;
		}
		if (!state_matches_desired(sb)) {
			*msg = MSG_IN_PROGRESS;
			return 409;
		}
		if (s != ST_STARTED) {
			*msg = "Sandbox is not started";
			return 400;
		}
		break;
	case ACT_RECOVER:
		if (!sb->recoverable) {
			*msg = "Sandbox is not in a recoverable state";
			return 400;
		}
		if (s != ST_ERROR) {
			*msg = "Sandbox must be in error state to recover";
			return 400;
		}
		return 0;
	}
	if (sb_pending(sb)) {
		*msg = MSG_IN_PROGRESS;
		return 409;
	}
	return 0;
}

/* --- validation (the rules themselves are common/validate.c) ---------- */

int
emu_valid_name(const char *name, const char **msg)
{
	*msg = NULL;
	if (validate_display_string(name) == 0)
		return 0;
	*msg = "name must not contain HTML tags, URLs, or control characters";
	return -1;
}

/*
 * The allow lists as Daytona v0.190.0 checks them
 * (apps/api/src/sandbox/utils/network-validation.util.ts): the list is
 * split at ',' and each entry trimmed; empty entries are skipped; each
 * entry is checked in turn and the first bad one named; the count (empty
 * entries included) is checked after the entries.
 */

/* JavaScript's parseInt(s, 10): *out, or false for NaN */
static bool
js_parse_int(const char *s, long *out)
{
	long v = 0;
	int sign = 1;

	while (isspace((unsigned char)*s))
		s++;
	if (*s == '+' || *s == '-')
		sign = *s++ == '-' ? -1 : 1;
	if (!isdigit((unsigned char)*s))
		return false;
	for (; isdigit((unsigned char)*s); s++)
		if (v < 1000000) /* far past 32 either way */
			v = v * 10 + (*s - '0');
	*out = sign * v;
	return true;
}

int
emu_valid_network_entry(const char *s, struct buf *msg)
{
	/* network.split('/'): the address, then the prefix up to any '/' */
	size_t alen = strcspn(s, "/");
	char *addr = xstrndup(s, alen);
	char *prefix =
	        s[alen] ? xstrndup(s + alen + 1, strcspn(s + alen + 1, "/"))
	                : NULL;
	long n;
	int rc = -1;

	if (!validate_ipv4(addr))
		buf_addf(msg,
		         "Invalid IP address: \"%s\" in network \"%s\". Must "
		         "be a valid IPv4 address",
		         addr, s);
	else if (!prefix || !*prefix)
		buf_addf(msg,
		         "Invalid network format: \"%s\". Missing CIDR prefix "
		         "length (e.g., /24)",
		         s);
	else if (js_parse_int(prefix, &n) && (n < 0 || n > 32))
		buf_addf(msg,
		         "Invalid CIDR prefix length: %s. Prefix must be "
		         "between 0 and 32",
		         s);
	else
		rc = 0;
	free(addr);
	free(prefix);
	return rc;
}

int
emu_valid_domain_entry(const char *s, struct buf *msg)
{
	if (validate_domain(s))
		return 0;
	buf_addf(msg, "Invalid domain: \"%s\". Must be a valid domain name", s);
	return -1;
}

/* split list at ',', trim, skip empty entries, check each with fn */
static int
valid_list(const char *list, int (*fn)(const char *, struct buf *),
           struct buf *msg, const char *too_many)
{
	char *copy = xstrdup(list), *p = copy;
	int count = 0, rc = 0;

	for (;;) {
		char *comma = strchr(p, ',');
		char *e;

		if (comma)
			*comma = '\0';
		count++;
		while (isspace((unsigned char)*p))
			p++;
		e = p + strlen(p);
		while (e > p && isspace((unsigned char)e[-1]))
			*--e = '\0';
		if (*p && fn(p, msg) < 0) {
			rc = -1;
			goto out;
		}
		if (!comma)
			break;
		p = comma + 1;
	}
	if (count > EMU_NETWORK_LIST_MAX) {
		buf_addstr(msg, too_many);
		rc = -1;
	}
out:
	free(copy);
	return rc;
}

int
emu_valid_network_list(const char *list, struct buf *msg)
{
	return valid_list(list, emu_valid_network_entry, msg,
	                  "Network allow list cannot contain more than 10 "
	                  "networks");
}

int
emu_valid_domain_list(const char *list, struct buf *msg)
{
	return valid_list(list, emu_valid_domain_entry, msg,
	                  "Domain allow list cannot contain more than 10 "
	                  "domains");
}

/* Daytona's messages for the reasons of common/validate.h */
static const char *const mount_path_msgs[VALIDATE_PATH__COUNT] = {
	[VALIDATE_PATH_RELATIVE] = "Volume mount path must be an absolute path",
	[VALIDATE_PATH_ROOT] = "Volume mount path cannot be the root directory",
	[VALIDATE_PATH_SLASHES] =
	        "Volume mount path cannot contain consecutive slashes",
	[VALIDATE_PATH_DOT] =
	        "Volume mount path cannot contain '.' or '..' segments",
};

static const char *const subpath_msgs[VALIDATE_PATH__COUNT] = {
	[VALIDATE_PATH_ABSOLUTE] = "Volume subpath must be a relative path",
	[VALIDATE_PATH_SLASHES] =
	        "Volume subpath cannot contain consecutive slashes",
	[VALIDATE_PATH_DOTDOT] = "Volume subpath cannot contain '..' segments",
};

int
emu_valid_mount_path(const char *path, const char **msg)
{
	enum validate_path why = validate_mount_path(path);

	*msg = mount_path_msgs[why];
	return why == VALIDATE_PATH_OK ? 0 : -1;
}

int
emu_valid_subpath(const char *path, const char **msg)
{
	enum validate_path why = validate_subpath(path);

	*msg = subpath_msgs[why];
	return why == VALIDATE_PATH_OK ? 0 : -1;
}

/* --- kvmap ------------------------------------------------------------ */

void
kvmap_set(struct kvmap *m, const char *key, const char *value)
{
	for (int i = 0; i < m->n; i++) {
		if (strcmp(m->items[i].key, key) == 0) {
			free(m->items[i].value);
			m->items[i].value = xstrdup(value);
			return;
		}
	}
	m->items = xreallocarray(m->items, (size_t)m->n + 1, sizeof(*m->items));
	m->items[m->n].key = xstrdup(key);
	m->items[m->n].value = xstrdup(value);
	m->n++;
}

const char *
kvmap_get(const struct kvmap *m, const char *key)
{
	for (int i = 0; i < m->n; i++)
		if (strcmp(m->items[i].key, key) == 0)
			return m->items[i].value;
	return NULL;
}

void
kvmap_clear(struct kvmap *m)
{
	for (int i = 0; i < m->n; i++) {
		free(m->items[i].key);
		free(m->items[i].value);
	}
	free(m->items);
	m->items = NULL;
	m->n = 0;
}

bool
kvmap_contains(const struct kvmap *hay, const struct kvmap *needle)
{
	for (int i = 0; i < needle->n; i++) {
		const char *v = kvmap_get(hay, needle->items[i].key);

		if (!v || strcmp(v, needle->items[i].value) != 0)
			return false;
	}
	return true;
}

/* --- lifetime and JSON ------------------------------------------------ */

struct sandbox *
sandbox_new(void)
{
	struct sandbox *sb = xcalloc(1, sizeof(*sb));

	sb->auto_stop = EMU_DEFAULT_AUTO_STOP;
	sb->auto_archive = EMU_DEFAULT_AUTO_ARCHIVE;
	sb->auto_delete = EMU_DEFAULT_AUTO_DELETE;
	sb->state = ST_UNKNOWN;
	sb->desired = DS_STARTED;
	sb->list_pos = -1;
	sb->active_pos = -1;
	return sb;
}

void
sandbox_free(struct sandbox *sb)
{
	if (!sb)
		return;
	free(sb->name);
	free(sb->target);
	free(sb->snapshot);
	free(sb->dockerfile);
	for (int i = 0; i < sb->n_context_hashes; i++)
		free(sb->context_hashes[i]);
	free(sb->context_hashes);
	free(sb->snapshot_ref);
	free(sb->user);
	kvmap_clear(&sb->env);
	kvmap_clear(&sb->labels);
	free(sb->network_allow_list);
	free(sb->domain_allow_list);
	free(sb->gpu_type);
	for (int i = 0; i < sb->n_gpu_types; i++)
		free(sb->gpu_types[i]);
	free(sb->gpu_types);
	free(sb->outbound_proxy_url);
	kvmap_clear(&sb->secrets);
	free(sb->error_reason);
	for (int i = 0; i < sb->n_volumes; i++) {
		free(sb->volumes[i].volume_id);
		free(sb->volumes[i].mount_path);
		free(sb->volumes[i].subpath);
	}
	free(sb->volumes);
	free(sb);
}

void
sandbox_add_volume(struct sandbox *sb, const char *volume_id,
                   const char *mount_path, const char *subpath)
{
	struct volume *v;

	sb->volumes = xreallocarray(sb->volumes, (size_t)sb->n_volumes + 1,
	                            sizeof(*sb->volumes));
	v = &sb->volumes[sb->n_volumes++];
	v->volume_id = xstrdup(volume_id);
	v->mount_path = xstrdup(mount_path);
	v->subpath = subpath ? xstrdup(subpath) : NULL;
}

void
sandbox_add_gpu_type(struct sandbox *sb, const char *type)
{
	sb->gpu_types = xreallocarray(
	        sb->gpu_types, (size_t)sb->n_gpu_types + 1, sizeof(char *));
	sb->gpu_types[sb->n_gpu_types++] = xstrdup(type);
	if (!sb->gpu_type)
		sb->gpu_type = xstrdup(type);
}

void
sandbox_add_context_hash(struct sandbox *sb, const char *hash)
{
	sb->context_hashes =
	        xreallocarray(sb->context_hashes,
	                      (size_t)sb->n_context_hashes + 1, sizeof(char *));
	sb->context_hashes[sb->n_context_hashes++] = xstrdup(hash);
}

static void
add_str_or_null(struct buf *out, const char *key, const char *v)
{
	buf_addf(out, ",\"%s\":", key);
	if (v)
		buf_add_json_string(out, v);
	else
		buf_addstr(out, "null");
}

static void
add_time(struct buf *out, const char *key, int64_t ms)
{
	char iso[SF_ISO8601_LEN + 1];

	time_format_iso(ms, iso);
	buf_addf(out, ",\"%s\":\"%s\"", key, iso);
}

static void
add_map(struct buf *out, const char *key, const struct kvmap *m)
{
	buf_addf(out, ",\"%s\":{", key);
	for (int i = 0; i < m->n; i++) {
		if (i)
			buf_addch(out, ',');
		buf_add_json_string(out, m->items[i].key);
		buf_addch(out, ':');
		buf_add_json_string(out, m->items[i].value);
	}
	buf_addch(out, '}');
}

static void
add_volumes(struct buf *out, const struct sandbox *sb)
{
	buf_addstr(out, ",\"volumes\":[");
	for (int i = 0; i < sb->n_volumes; i++) {
		buf_addstr(out, i ? ",{\"volumeId\":" : "{\"volumeId\":");
		buf_add_json_string(out, sb->volumes[i].volume_id);
		buf_addstr(out, ",\"mountPath\":");
		buf_add_json_string(out, sb->volumes[i].mount_path);
		if (sb->volumes[i].subpath) {
			buf_addstr(out, ",\"subpath\":");
			buf_add_json_string(out, sb->volumes[i].subpath);
		}
		buf_addch(out, '}');
	}
	buf_addch(out, ']');
}

static void
add_build_info(struct buf *out, const struct sandbox *sb)
{
	buf_addstr(out, ",\"buildInfo\":{\"dockerfileContent\":");
	buf_add_json_string(out, sb->dockerfile);
	buf_addstr(out, ",\"contextHashes\":[");
	for (int i = 0; i < sb->n_context_hashes; i++) {
		if (i)
			buf_addch(out, ',');
		buf_add_json_string(out, sb->context_hashes[i]);
	}
	buf_addch(out, ']');
	add_time(out, "createdAt", sb->created_at);
	add_time(out, "updatedAt", sb->created_at);
	add_str_or_null(out, "snapshotRef", sb->snapshot_ref);
	buf_addch(out, '}');
}

/* what the API never shows: the raw state, bookkeeping, secrets */
static void
add_persist(struct buf *out, const struct sandbox *sb)
{
	buf_addf(out,
	         ",\"_rawState\":\"%s\",\"_timer\":%d,\"_phase\":%d"
	         ",\"_resizePrev\":%d,\"_resize\":[%d,%d,%d]"
	         ",\"_createdAt\":%lld,\"_updatedAt\":%lld"
	         ",\"_lastActivityAt\":%lld,\"_destroyedAt\":%lld"
	         ",\"ttlMinutes\":%d,\"_autoDestroyAt\":%lld",
	         sb_state_name(sb->state), (int)sb->timer, sb->timer_phase,
	         (int)sb->resize_prev, sb->resize_cpu, sb->resize_memory,
	         sb->resize_disk, (long long)sb->created_at,
	         (long long)sb->updated_at, (long long)sb->last_activity_at,
	         (long long)sb->destroyed_at, sb->ttl_minutes,
	         (long long)sb->auto_destroy_at);
	buf_addstr(out, ",\"secrets\":[");
	for (int i = 0; i < sb->secrets.n; i++) {
		buf_addstr(out, i ? ",{" : "{");
		buf_add_json_string(out, sb->secrets.items[i].key);
		buf_addch(out, ':');
		buf_add_json_string(out, sb->secrets.items[i].value);
		buf_addch(out, '}');
	}
	buf_addstr(out, "],\"_gpuTypes\":[");
	for (int i = 0; i < sb->n_gpu_types; i++) {
		if (i)
			buf_addch(out, ',');
		buf_add_json_string(out, sb->gpu_types[i]);
	}
	buf_addch(out, ']');
}

/* env (full), labels, public and the network settings */
static void
add_settings(struct buf *out, const struct sandbox *sb, bool full)
{
	if (full)
		add_map(out, "env", &sb->env);
	add_map(out, "labels", &sb->labels);
	buf_addf(out, ",\"public\":%s,\"networkBlockAll\":%s",
	         sb->public_ ? "true" : "false",
	         sb->network_block_all ? "true" : "false");
	add_str_or_null(out, "networkAllowList", sb->network_allow_list);
	add_str_or_null(out, "domainAllowList", sb->domain_allow_list);
	if (full && sb->outbound_proxy_url)
		add_str_or_null(out, "outboundProxyUrl",
		                sb->outbound_proxy_url);
}

/* resources, state and the lifecycle intervals */
static void
add_lifecycle(struct buf *out, const struct sandbox *sb, bool for_list)
{
	buf_addf(out, ",\"cpu\":%d,\"gpu\":%d,\"spot\":%s", sb->cpu, sb->gpu,
	         sb->spot ? "true" : "false");
	if (sb->gpu_type)
		add_str_or_null(out, "gpuType", sb->gpu_type);
	buf_addf(out, ",\"memory\":%d,\"disk\":%d", sb->memory, sb->disk);
	buf_addf(out, ",\"state\":\"%s\",\"desiredState\":\"%s\"",
	         sb_state_name(sb_derived_state(sb, for_list)),
	         sb_desired_name(sb->desired));
	add_str_or_null(out, "errorReason", sb->error_reason);
	buf_addf(out,
	         ",\"recoverable\":%s,\"backupState\":\"None\""
	         ",\"autoStopInterval\":%d,\"autoPauseInterval\":%d"
	         ",\"autoArchiveInterval\":%d,\"autoDeleteInterval\":%d",
	         sb->recoverable ? "true" : "false", sb->auto_stop,
	         sb->auto_pause, sb->auto_archive, sb->auto_delete);
	if (sb->auto_destroy_at)
		add_time(out, "autoDestroyAt", sb->auto_destroy_at);
}

void
sandbox_to_json(const struct sandbox *sb, enum sb_json_form form,
                struct buf *out)
{
	bool full = form != SBJ_LIST;

	buf_addf(out,
	         "{\"id\":\"%s\",\"organizationId\":\"%s\",\"name\":", sb->id,
	         sb->org_id);
	buf_add_json_string(out, sb->name);
	add_str_or_null(out, "snapshot", sb->snapshot);
	add_str_or_null(out, "user", sb->user);
	add_settings(out, sb, full);
	add_str_or_null(out, "target", sb->target);
	add_lifecycle(out, sb, form == SBJ_LIST);
	if (full)
		add_volumes(out, sb);
	if (full && sb->dockerfile)
		add_build_info(out, sb);
	add_time(out, "createdAt", sb->created_at);
	add_time(out, "updatedAt", sb->updated_at);
	add_time(out, "lastActivityAt", sb->last_activity_at);
	buf_addf(out, ",\"sandboxClass\":\"%s\"", sb_class_name(sb->sclass));
	add_str_or_null(out, "runnerId",
	                sb->runner_id[0] ? sb->runner_id : NULL);
	buf_addstr(out, ",\"toolboxProxyUrl\":\"" EMU_TOOLBOX_PROXY_URL "\"");
	if (full && sb->linked_id[0])
		buf_addf(out, ",\"linkedSandboxId\":\"%s\"", sb->linked_id);
	if (full)
		buf_addf(out, ",\"kvm\":%s", sb->kvm ? "true" : "false");
	if (form == SBJ_PERSIST)
		add_persist(out, sb);
	buf_addch(out, '}');
}

static long long
get_num(const cJSON *obj, const char *key, long long dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsNumber(v) ? (long long)v->valuedouble : dflt;
}

static void
load_map(const cJSON *obj, const char *key, struct kvmap *m)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key), *it;

	cJSON_ArrayForEach(it, v)
	{
		if (cJSON_IsString(it) && it->string)
			kvmap_set(m, it->string, it->valuestring);
	}
}

/* the fields of the 0.218 API (persisted since issue 14) */
static void
load_new_fields(const cJSON *obj, struct sandbox *sb)
{
	const cJSON *it, *kv;
	char *s;
	int cl;

	sb->spot = cJSON_IsTrue(cJSON_GetObjectItem(obj, "spot"));
	sb->kvm = cJSON_IsTrue(cJSON_GetObjectItem(obj, "kvm"));
	sb->outbound_proxy_url = json_strdup(obj, "outboundProxyUrl");
	s = json_strdup(obj, "linkedSandboxId");
	if (s && strlen(s) == 36)
		memcpy(sb->linked_id, s, 37);
	free(s);
	s = json_strdup(obj, "sandboxClass");
	cl = sb_class_parse(s);
	free(s);
	sb->sclass = cl < 0 ? SC_CONTAINER : (enum sb_class)cl;
	sb->auto_pause = (int)get_num(obj, "autoPauseInterval", 0);
	sb->ttl_minutes = (int)get_num(obj, "ttlMinutes", 0);
	sb->auto_destroy_at = get_num(obj, "_autoDestroyAt", 0);
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(obj, "secrets"))
	{
		cJSON_ArrayForEach(kv, it)
		{
			if (cJSON_IsString(kv) && kv->string)
				kvmap_set(&sb->secrets, kv->string,
				          kv->valuestring);
		}
	}
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(obj, "_gpuTypes"))
	{
		if (cJSON_IsString(it)) {
			sb->gpu_types = xreallocarray(
			        sb->gpu_types, (size_t)sb->n_gpu_types + 1,
			        sizeof(char *));
			sb->gpu_types[sb->n_gpu_types++] =
			        xstrdup(it->valuestring);
		}
	}
}

struct sandbox *
sandbox_from_persist(const struct cJSON *obj)
{
	struct sandbox *sb = sandbox_new();
	char *s;
	const cJSON *v, *it;
	int st;

	s = json_strdup(obj, "id");
	if (!s || strlen(s) != 36)
		goto bad;
	memcpy(sb->id, s, 37);
	free(s);
	s = json_strdup(obj, "organizationId");
	if (!s || strlen(s) != 36)
		goto bad;
	memcpy(sb->org_id, s, 37);
	free(s);
	s = NULL;
	sb->name = json_strdup(obj, "name");
	if (!sb->name)
		goto bad;
	sb->snapshot = json_strdup(obj, "snapshot");
	sb->user = json_strdup(obj, "user");
	sb->target = json_strdup(obj, "target");
	load_map(obj, "env", &sb->env);
	load_map(obj, "labels", &sb->labels);
	sb->public_ = cJSON_IsTrue(cJSON_GetObjectItem(obj, "public"));
	sb->network_block_all =
	        cJSON_IsTrue(cJSON_GetObjectItem(obj, "networkBlockAll"));
	sb->network_allow_list = json_strdup(obj, "networkAllowList");
	sb->domain_allow_list = json_strdup(obj, "domainAllowList");
	sb->cpu = (int)get_num(obj, "cpu", 1);
	sb->gpu = (int)get_num(obj, "gpu", 0);
	sb->memory = (int)get_num(obj, "memory", 1);
	sb->disk = (int)get_num(obj, "disk", 3);
	sb->gpu_type = json_strdup(obj, "gpuType");
	load_new_fields(obj, sb);
	s = json_strdup(obj, "_rawState");
	st = sb_state_parse(s);
	free(s);
	s = NULL;
	if (st < 0)
		goto bad;
	sb->state = (enum sb_state)st;
	s = json_strdup(obj, "desiredState");
	st = sb_desired_parse(s);
	free(s);
	s = NULL;
	if (st < 0)
		goto bad;
	sb->desired = (enum sb_desired)st;
	sb->error_reason = json_strdup(obj, "errorReason");
	sb->recoverable = cJSON_IsTrue(cJSON_GetObjectItem(obj, "recoverable"));
	sb->auto_stop = (int)get_num(obj, "autoStopInterval", 15);
	sb->auto_archive = (int)get_num(obj, "autoArchiveInterval", 10080);
	sb->auto_delete = (int)get_num(obj, "autoDeleteInterval", -1);
	v = cJSON_GetObjectItemCaseSensitive(obj, "volumes");
	cJSON_ArrayForEach(it, v)
	{
		const char *id = cJSON_GetStringValue(
		        cJSON_GetObjectItemCaseSensitive(it, "volumeId"));
		const char *mp = cJSON_GetStringValue(
		        cJSON_GetObjectItemCaseSensitive(it, "mountPath"));

		sandbox_add_volume(
		        sb, id ? id : "", mp ? mp : "/",
		        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
		                it, "subpath")));
	}
	v = cJSON_GetObjectItemCaseSensitive(obj, "buildInfo");
	if (cJSON_IsObject(v)) {
		const cJSON *h = cJSON_GetObjectItem(v, "contextHashes");

		sb->dockerfile = json_strdup(v, "dockerfileContent");
		sb->snapshot_ref = json_strdup(v, "snapshotRef");
		cJSON_ArrayForEach(it, h)
		{
			if (cJSON_IsString(it))
				sandbox_add_context_hash(sb, it->valuestring);
		}
	}
	s = json_strdup(obj, "runnerId");
	if (s && strlen(s) == 36)
		memcpy(sb->runner_id, s, 37);
	free(s);
	s = NULL;
	sb->timer = (enum sb_timer)get_num(obj, "_timer", 0);
	sb->timer_phase = (int)get_num(obj, "_phase", 0);
	sb->resize_prev = (enum sb_state)get_num(obj, "_resizePrev", 0);
	v = cJSON_GetObjectItem(obj, "_resize");
	if (cJSON_GetArraySize(v) == 3) {
		sb->resize_cpu = cJSON_GetArrayItem(v, 0)->valueint;
		sb->resize_memory = cJSON_GetArrayItem(v, 1)->valueint;
		sb->resize_disk = cJSON_GetArrayItem(v, 2)->valueint;
	}
	sb->created_at = get_num(obj, "_createdAt", 0);
	sb->updated_at = get_num(obj, "_updatedAt", 0);
	sb->last_activity_at = get_num(obj, "_lastActivityAt", 0);
	sb->destroyed_at = get_num(obj, "_destroyedAt", 0);
	if (!sb->user)
		sb->user = xstrdup(EMU_DEFAULT_USER);
	if (!sb->target)
		sb->target = xstrdup(EMU_DEFAULT_REGION);
	return sb;
bad:
	free(s);
	sandbox_free(sb);
	return NULL;
}
