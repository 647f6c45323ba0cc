/*
 * resources: volumes, snapshots and secrets of an organization (0.218
 * client: src/api/volumes-api.js, snapshots-api.js, secret-api.js).
 * States are derived from real time when read, never stored.
 */
#include "common/base.h"

#include <ctype.h>

#include "common/hash.h"
#include "common/timeutil.h"
#include "common/validate.h"
#include "common/xalloc.h"
#include "emulator/api.h"
#include "emulator/body.h"
#include "emulator/internal.h"
#include "emulator/resources.h"

struct emu_volume {
	char id[37], org_id[37];
	char *name;
	int64_t created_at;         /* emulated ms */
	int64_t t_create, t_delete; /* monotonic ms; t_delete 0 = none */
};

struct emu_snapshot {
	char id[37], org_id[37];
	char *name, *image;
	int cpu, gpu, mem, disk;
	enum sb_class sclass;
	bool fail, inactive;
	bool fail_run; /* its Dockerfile has "RUN false" */
	int64_t created_at;
	int64_t t_create, t_delete;
};

struct emu_secret {
	char id[37], org_id[37];
	char *name, *description;
	int64_t created_at, updated_at;
};

static struct emu_res *
res_of(struct route_call *c)
{
	return &c->srv->res;
}

static const struct emudb_opts *
dur(struct route_call *c)
{
	return emudb_opts_of(c->srv->db);
}

static void
add_iso(struct buf *b, const char *key, int64_t ms)
{
	char iso[SF_ISO8601_LEN + 1];

	time_format_iso(ms, iso);
	buf_addf(b, ",\"%s\":\"%s\"", key, iso);
}

/*
 * --state: each resource is written when it changes. Its transition times
 * are monotonic, so they are kept as wall-clock times and turned back on
 * load: a transition in flight at a restart ends when it would have.
 */
static int64_t
mono_to_wall(int64_t t)
{
	return t ? time_now_ms() - time_mono_ms() + t : 0;
}

static int64_t
wall_to_mono(int64_t t)
{
	int64_t m = t ? t - time_now_ms() + time_mono_ms() : 0;

	return t && m == 0 ? 1 : m; /* 0 means "none" */
}

static void
res_put(struct emu_res *res, const char *kind, const char *id,
        const char *org_id, struct buf *b)
{
	if (res->db)
		emudb_res_put(res->db, kind, id, org_id, buf_cstr(b));
	buf_free(b);
}

static void
res_drop(struct emu_res *res, const char *id)
{
	if (res->db)
		emudb_res_delete(res->db, id);
}

static void
add_times(struct buf *b, int64_t created_at, int64_t t_create, int64_t t_delete)
{
	buf_addf(b, ",\"createdAt\":%lld,\"tCreate\":%lld,\"tDelete\":%lld",
	         (long long)created_at, (long long)mono_to_wall(t_create),
	         (long long)mono_to_wall(t_delete));
}

static int64_t
json_ms(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

static char *
json_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? xstrdup(v->valuestring) : NULL;
}

/* copy a 36-character id; false when it is not one */
static bool
json_id(const cJSON *o, const char *key, char out[37])
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsString(v) || strlen(v->valuestring) != 36)
		return false;
	memcpy(out, v->valuestring, 37);
	return true;
}

/* --- volumes ---------------------------------------------------------- */

static void
vol_save(struct emu_res *res, const struct emu_volume *v)
{
	struct buf b = BUF_INIT;

	buf_addf(&b, "{\"id\":\"%s\",\"name\":", v->id);
	buf_add_json_string(&b, v->name);
	add_times(&b, v->created_at, v->t_create, v->t_delete);
	buf_addch(&b, '}');
	res_put(res, "volume", v->id, v->org_id, &b);
}

/* the state now; NULL when gone */
static const char *
vol_state(const struct emu_volume *v, const struct emudb_opts *op)
{
	int64_t now = time_mono_ms();

	if (v->t_delete)
		return now >= v->t_delete + op->delete_ms ? NULL
		                                          : "pending_delete";
	return now >= v->t_create + op->create_ms ? "ready" : "pending_create";
}

static void
vol_json(struct buf *b, const struct emu_volume *v, const char *state)
{
	buf_addf(b, "{\"id\":\"%s\",\"name\":", v->id);
	buf_add_json_string(b, v->name);
	buf_addf(b, ",\"organizationId\":\"%s\",\"state\":\"%s\"", v->org_id,
	         state);
	add_iso(b, "createdAt", v->created_at);
	add_iso(b, "updatedAt", v->created_at);
	buf_addstr(b, ",\"lastUsedAt\":null,\"errorReason\":null}");
}

/* drop volumes whose deletion finished */
static void
vol_purge(struct emu_res *res, const struct emudb_opts *op)
{
	for (int i = 0; i < res->n_vols;) {
		struct emu_volume *v = res->vols[i];

		if (vol_state(v, op)) {
			i++;
			continue;
		}
		res_drop(res, v->id);
		free(v->name);
		free(v);
		res->vols[i] = res->vols[--res->n_vols];
	}
}

static struct emu_volume *
vol_find(struct emu_res *res, const char *org, const char *key, bool by_id,
         bool by_name)
{
	for (int i = 0; i < res->n_vols; i++) {
		struct emu_volume *v = res->vols[i];

		if (strcmp(v->org_id, org) != 0)
			continue;
		if ((by_id && strcmp(v->id, key) == 0) ||
		    (by_name && strcmp(v->name, key) == 0))
			return v;
	}
	return NULL;
}

int
res_volume_resolve(struct emu_res *res, const char *org_id, const char *key,
                   char out[37], char *buf, size_t bufsz)
{
	struct emu_volume *v = vol_find(res, org_id, key, true, true);

	if (!v || v->t_delete) {
		snprintf(buf, bufsz, "Volume with ID or name %s not found",
		         key);
		return -1;
	}
	memcpy(out, v->id, 37);
	return 0;
}

void
api_volume_create(struct route_call *c)
{
	const cJSON *n = body_field(c->body, "name");
	const char *org = emudb_org_id(c->o);
	struct emu_res *res = res_of(c);
	struct emu_volume *v;

	vol_purge(res, dur(c));
	if (!cJSON_IsString(n) || !n->valuestring[0]) {
		route_error(c, 400, "name must be a string");
		return;
	}
	if (vol_find(res, org, n->valuestring, false, true)) {
		route_errorf(c, 400, "Volume with name %s already exists",
		             n->valuestring);
		return;
	}
	v = xcalloc(1, sizeof(*v));
	uuid_v4(v->id);
	memcpy(v->org_id, org, 37);
	v->name = xstrdup(n->valuestring);
	v->created_at = emudb_now(c->srv->db);
	v->t_create = time_mono_ms();
	res->vols = xreallocarray(res->vols, (size_t)res->n_vols + 1,
	                          sizeof(*res->vols));
	res->vols[res->n_vols++] = v;
	vol_save(res, v);
	c->r->status = 200;
	vol_json(&c->r->body, v, vol_state(v, dur(c)));
}

void
api_volume_list(struct route_call *c)
{
	struct emu_res *res = res_of(c);
	const char *org = emudb_org_id(c->o);
	bool first = true;

	vol_purge(res, dur(c));
	c->r->status = 200;
	buf_addch(&c->r->body, '[');
	for (int i = res->n_vols - 1; i >= 0; i--) {
		if (strcmp(res->vols[i]->org_id, org) != 0)
			continue;
		if (!first)
			buf_addch(&c->r->body, ',');
		first = false;
		vol_json(&c->r->body, res->vols[i],
		         vol_state(res->vols[i], dur(c)));
	}
	buf_addch(&c->r->body, ']');
}

static void
vol_answer(struct route_call *c, bool by_name)
{
	struct emu_res *res = res_of(c);
	struct emu_volume *v;

	vol_purge(res, dur(c));
	v = vol_find(res, emudb_org_id(c->o), c->param[0], !by_name, by_name);
	if (!v) {
		route_errorf(c, 404,
		             by_name ? "Volume with name %s not found"
		                     : "Volume with ID %s not found",
		             c->param[0]);
		return;
	}
	c->r->status = 200;
	vol_json(&c->r->body, v, vol_state(v, dur(c)));
}

void
api_volume_get(struct route_call *c)
{
	vol_answer(c, false);
}

void
api_volume_by_name(struct route_call *c)
{
	vol_answer(c, true);
}

void
api_volume_delete(struct route_call *c)
{
	struct emu_res *res = res_of(c);
	struct emu_volume *v;

	vol_purge(res, dur(c));
	v = vol_find(res, emudb_org_id(c->o), c->param[0], true, false);
	if (!v) {
		route_errorf(c, 404, "Volume with ID %s not found",
		             c->param[0]);
		return;
	}
	if (strcmp(vol_state(v, dur(c)), "ready") != 0) {
		route_error(c, 400,
		            "Volume must be in 'ready' state in order to be "
		            "deleted");
		return;
	}
	v->t_delete = time_mono_ms();
	vol_save(res, v);
	c->r->status = 200;
}

/* --- snapshots -------------------------------------------------------- */

static const char *
snap_state(const struct emu_snapshot *s, const struct emudb_opts *op)
{
	int64_t now = time_mono_ms(), age = now - s->t_create;

	if (s->t_delete)
		return now >= s->t_delete + op->delete_ms ? NULL : "removing";
	if (age < op->build_ms / 2)
		return "pending";
	if (age < op->build_ms)
		return "building";
	if (s->fail)
		return "error";
	return s->inactive ? "inactive" : "active";
}

static void
snap_json(struct buf *b, const struct emu_snapshot *s, const char *state)
{
	buf_addf(b,
	         "{\"id\":\"%s\",\"organizationId\":\"%s\",\"general\":false"
	         ",\"name\":",
	         s->id, s->org_id);
	buf_add_json_string(b, s->name);
	buf_addstr(b, ",\"imageName\":");
	buf_add_json_string(b, s->image);
	buf_addf(b,
	         ",\"state\":\"%s\",\"size\":null,\"entrypoint\":null"
	         ",\"cpu\":%d,\"gpu\":%d,\"mem\":%d,\"disk\":%d,"
	         "\"errorReason\":",
	         state, s->cpu, s->gpu, s->mem, s->disk);
	if (strcmp(state, "error") == 0 && s->fail_run)
		buf_addstr(b, "\"Failed to build snapshot: The command "
		              "'/bin/sh -c false' returned a non-zero code: "
		              "1\"");
	else if (strcmp(state, "error") == 0)
		buf_addstr(b, "\"Failed to build snapshot: emulated build "
		              "failure\"");
	else
		buf_addstr(b, "null");
	add_iso(b, "createdAt", s->created_at);
	add_iso(b, "updatedAt", s->created_at);
	buf_addf(b,
	         ",\"lastUsedAt\":null,\"regionIds\":[\"us\"]"
	         ",\"sourceSandboxId\":null,\"sandboxClass\":\"%s\"}",
	         sb_class_name(s->sclass));
}

static void
snap_save(struct emu_res *res, const struct emu_snapshot *s)
{
	struct buf b = BUF_INIT;

	buf_addf(&b, "{\"id\":\"%s\",\"name\":", s->id);
	buf_add_json_string(&b, s->name);
	buf_addstr(&b, ",\"image\":");
	buf_add_json_string(&b, s->image);
	buf_addf(&b,
	         ",\"cpu\":%d,\"gpu\":%d,\"mem\":%d,\"disk\":%d,"
	         "\"sandboxClass\":\"%s\",\"fail\":%s,\"inactive\":%s",
	         s->cpu, s->gpu, s->mem, s->disk, sb_class_name(s->sclass),
	         s->fail ? "true" : "false", s->inactive ? "true" : "false");
	add_times(&b, s->created_at, s->t_create, s->t_delete);
	buf_addch(&b, '}');
	res_put(res, "snapshot", s->id, s->org_id, &b);
}

static void
snap_purge(struct emu_res *res, const struct emudb_opts *op)
{
	for (int i = 0; i < res->n_snaps;) {
		struct emu_snapshot *s = res->snaps[i];

		if (snap_state(s, op)) {
			i++;
			continue;
		}
		res_drop(res, s->id);
		free(s->name);
		free(s->image);
		free(s);
		memmove(&res->snaps[i], &res->snaps[i + 1],
		        (size_t)(--res->n_snaps - i) * sizeof(*res->snaps));
	}
}

static struct emu_snapshot *
snap_find(struct emu_res *res, const char *org, const char *key)
{
	for (int i = 0; i < res->n_snaps; i++) {
		struct emu_snapshot *s = res->snaps[i];

		if (strcmp(s->org_id, org) == 0 &&
		    (strcmp(s->id, key) == 0 || strcmp(s->name, key) == 0))
			return s;
	}
	return NULL;
}

int
res_snapshot_resolve(struct emu_res *res, const struct emudb_opts *op,
                     const char *org_id, const char *key, struct res_snap *out,
                     char *buf, size_t bufsz)
{
	struct emu_snapshot *s = snap_find(res, org_id, key);
	const char *st;

	if (!s)
		return 1;
	st = snap_state(s, op);
	if (!st || strcmp(st, "active") != 0) {
		snprintf(buf, bufsz, "Snapshot %s is %s", key,
		         st ? st : "removing");
		return -1;
	}
	out->name = s->name;
	out->cpu = s->cpu;
	out->mem = s->mem;
	out->disk = s->disk;
	out->cls = s->sclass;
	return 0;
}

/* CreateSnapshot (create-snapshot.d.ts): name, imageName or buildInfo */
static const char *
snap_read(const cJSON *body, struct emu_snapshot *s)
{
	struct body_errs e = BODY_ERRS_INIT;
	const char *name = body_string(body, "name", &e);
	const char *image = body_string(body, "imageName", &e);
	const char *cls = body_string(body, "sandboxClass", &e);
	const cJSON *bi = body_field(body, "buildInfo");
	bool set;
	int cl = cls ? sb_class_parse(cls) : SC_CONTAINER;

	s->cpu = body_int(body, "cpu", 1, &set, &e);
	s->cpu = set ? s->cpu : EMU_DEFAULT_CPU;
	s->gpu = body_int(body, "gpu", 0, &set, &e);
	s->gpu = set ? s->gpu : 0;
	s->mem = body_int(body, "memory", 1, &set, &e);
	s->mem = set ? s->mem : EMU_DEFAULT_MEMORY;
	s->disk = body_int(body, "disk", 1, &set, &e);
	s->disk = set ? s->disk : EMU_DEFAULT_DISK;
	body_errs_free(&e);
	if (!name || !*name)
		return "name must be a string";
	if (cl < 0)
		return "sandboxClass must be one of the following values: "
		       "linux-vm, container, android, windows";
	if ((!image || !*image) && !cJSON_IsObject(bi))
		return "Must specify either an image name or build info";
	s->name = xstrdup(name);
	s->image = xstrdup(image && *image ? image : "");
	/* a build whose Dockerfile runs `false` fails, as a real build of
	 * it would: the way to see a snapshot end in error on purpose */
	if (cJSON_IsObject(bi)) {
		const cJSON *df = body_field(bi, "dockerfileContent");

		s->fail_run = cJSON_IsString(df) && df->valuestring &&
		              strstr(df->valuestring, "RUN false") != NULL;
		s->fail = s->fail_run;
	}
	s->sclass = (enum sb_class)cl;
	return NULL;
}

void
api_snapshots_create(struct route_call *c)
{
	struct emu_res *res = res_of(c);
	struct emu_snapshot *s = xcalloc(1, sizeof(*s));
	const char *msg = snap_read(c->body, s);
	const char *org = emudb_org_id(c->o);
	const char *bn;
	int x;

	snap_purge(res, dur(c));
	if (!msg && (snap_find(res, org, s->name) ||
	             api_snapshot_lookup(s->name, &bn, &x, &x, &x) == 0))
		msg = "Snapshot with this name already exists";
	if (msg) {
		route_error(c, msg[0] == 'S' ? 409 : 400, msg);
		free(s->name);
		free(s->image);
		free(s);
		return;
	}
	uuid_v4(s->id);
	memcpy(s->org_id, org, 37);
	s->created_at = emudb_now(c->srv->db);
	s->t_create = time_mono_ms();
	s->fail = faults_draw_error(&c->srv->faults) || s->fail;
	res->snaps = xreallocarray(res->snaps, (size_t)res->n_snaps + 1,
	                           sizeof(*res->snaps));
	res->snaps[res->n_snaps++] = s;
	snap_save(res, s);
	c->r->status = 200;
	snap_json(&c->r->body, s, snap_state(s, dur(c)));
}

void
api_snapshots_list(struct route_call *c)
{
	struct emu_res *res = res_of(c);
	const char *org = emudb_org_id(c->o);
	int n = 0;

	snap_purge(res, dur(c));
	c->r->status = 200;
	buf_addstr(&c->r->body, "{\"items\":[");
	for (int i = res->n_snaps - 1; i >= 0; i--) {
		if (strcmp(res->snaps[i]->org_id, org) != 0)
			continue;
		if (n++)
			buf_addch(&c->r->body, ',');
		snap_json(&c->r->body, res->snaps[i],
		          snap_state(res->snaps[i], dur(c)));
	}
	buf_addf(&c->r->body, "],\"total\":%d,\"page\":1,\"totalPages\":1}", n);
}

/* the {id} snapshot (id or name), or NULL with a 404 answered */
static struct emu_snapshot *
snap_param(struct route_call *c)
{
	struct emu_res *res = res_of(c);
	struct emu_snapshot *s;

	snap_purge(res, dur(c));
	s = snap_find(res, emudb_org_id(c->o), c->param[0]);
	if (!s)
		route_errorf(c, 404, "Snapshot with ID or name %s not found",
		             c->param[0]);
	return s;
}

/* general_json: a server snapshot (general: true, always active), as
 * GET /snapshots/{id} answers for it on Daytona */
static void
general_json(struct route_call *c, const char *id)
{
	const char *name;
	int cpu, mem, disk;

	api_snapshot_lookup(id, &name, &cpu, &mem, &disk);
	c->r->status = 200;
	buf_addf(&c->r->body,
	         "{\"id\":\"%s\",\"general\":true,\"name\":\"%s\","
	         "\"imageName\":\"daytonaio/sandbox:0.218\","
	         "\"state\":\"active\",\"size\":null,\"entrypoint\":null,"
	         "\"cpu\":%d,\"gpu\":0,\"mem\":%d,\"disk\":%d,"
	         "\"errorReason\":null,"
	         "\"createdAt\":\"2025-01-01T00:00:00.000Z\","
	         "\"updatedAt\":\"2025-01-01T00:00:00.000Z\","
	         "\"lastUsedAt\":null,\"regionIds\":[\"us\",\"eu\"],"
	         "\"sourceSandboxId\":null,\"sandboxClass\":\"%s\"}",
	         id, name, cpu, mem, disk,
	         sb_class_name(api_snapshot_class(name)));
}

void
api_snapshots_get(struct route_call *c)
{
	const char *gid = api_snapshot_general_id(c->param[0]);
	struct emu_snapshot *s;

	if (gid) {
		general_json(c, gid);
		return;
	}
	s = snap_param(c);
	if (!s)
		return;
	c->r->status = 200;
	snap_json(&c->r->body, s, snap_state(s, dur(c)));
}

void
api_snapshots_delete(struct route_call *c)
{
	struct emu_snapshot *s = snap_param(c);

	if (!s)
		return;
	if (!s->t_delete) {
		s->t_delete = time_mono_ms();
		snap_save(res_of(c), s);
	}
	c->r->status = 200;
}

static void
snap_activation(struct route_call *c, bool active)
{
	struct emu_snapshot *s = snap_param(c);
	const char *st;

	if (!s)
		return;
	st = snap_state(s, dur(c));
	if (strcmp(st, active ? "inactive" : "active") != 0) {
		route_errorf(c, 400, "Snapshot %s is %s", s->name, st);
		return;
	}
	s->inactive = !active;
	snap_save(res_of(c), s);
	c->r->status = 200;
	snap_json(&c->r->body, s, snap_state(s, dur(c)));
}

void
api_snapshots_activate(struct route_call *c)
{
	snap_activation(c, true);
}

void
api_snapshots_deactivate(struct route_call *c)
{
	snap_activation(c, false);
}

/* --- secrets ---------------------------------------------------------- */

static void
secret_json(struct buf *b, const struct emu_secret *s)
{
	buf_addf(b, "{\"id\":\"%s\",\"name\":", s->id);
	buf_add_json_string(b, s->name);
	buf_addstr(b, ",\"description\":");
	buf_add_json_string(b, s->description ? s->description : "");
	/* the value never: an opaque placeholder stands for it */
	buf_addf(b, ",\"placeholder\":\"dtn_secret_%.8s\",\"hosts\":[]", s->id);
	add_iso(b, "createdAt", s->created_at);
	add_iso(b, "updatedAt", s->updated_at);
	buf_addch(b, '}');
}

/* what is kept of a secret: never its value, which the emulator drops */
static void
secret_save(struct emu_res *res, const struct emu_secret *s)
{
	struct buf b = BUF_INIT;

	buf_addf(&b, "{\"id\":\"%s\",\"name\":", s->id);
	buf_add_json_string(&b, s->name);
	if (s->description) {
		buf_addstr(&b, ",\"description\":");
		buf_add_json_string(&b, s->description);
	}
	buf_addf(&b, ",\"createdAt\":%lld,\"updatedAt\":%lld}",
	         (long long)s->created_at, (long long)s->updated_at);
	res_put(res, "secret", s->id, s->org_id, &b);
}

static struct emu_secret *
secret_find(struct emu_res *res, const char *org, const char *key)
{
	for (int i = 0; i < res->n_secrets; i++) {
		struct emu_secret *s = res->secrets[i];

		if (strcmp(s->org_id, org) == 0 &&
		    (strcmp(s->id, key) == 0 || strcmp(s->name, key) == 0))
			return s;
	}
	return NULL;
}

/* the SDK's secret name pattern (common/validate.c) */
bool
res_secret_name_ok(const char *n)
{
	return validate_secret_name(n);
}

int
res_secret_check(struct emu_res *res, const char *org_id, const char *name,
                 struct buf *msg)
{
	for (int i = 0; i < res->n_secrets; i++)
		if (strcmp(res->secrets[i]->org_id, org_id) == 0 &&
		    strcmp(res->secrets[i]->name, name) == 0)
			return 0;
	buf_addf(msg, "Secret with name %s not found", name);
	return -1;
}

void
api_secret_create(struct route_call *c)
{
	const cJSON *n = body_field(c->body, "name");
	const cJSON *v = body_field(c->body, "value");
	const cJSON *d = body_field(c->body, "description");
	struct emu_res *res = res_of(c);
	const char *org = emudb_org_id(c->o);
	struct emu_secret *s;

	if (!cJSON_IsString(n) || !res_secret_name_ok(n->valuestring)) {
		route_error(
		        c, 400,
		        "name must match /^[a-zA-Z_][a-zA-Z0-9_-]*$/ regular "
		        "expression");
		return;
	}
	if (!cJSON_IsString(v)) {
		route_error(c, 400, "value must be a string");
		return;
	}
	if (secret_find(res, org, n->valuestring)) {
		route_errorf(c, 409, "Secret with name %s already exists",
		             n->valuestring);
		return;
	}
	s = xcalloc(1, sizeof(*s));
	uuid_v4(s->id);
	memcpy(s->org_id, org, 37);
	s->name = xstrdup(n->valuestring);
	s->description = cJSON_IsString(d) ? xstrdup(d->valuestring) : NULL;
	s->created_at = s->updated_at = emudb_now(c->srv->db);
	res->secrets = xreallocarray(res->secrets, (size_t)res->n_secrets + 1,
	                             sizeof(*res->secrets));
	res->secrets[res->n_secrets++] = s;
	secret_save(res, s);
	c->r->status = 201;
	secret_json(&c->r->body, s);
}

void
api_secret_list(struct route_call *c)
{
	struct emu_res *res = res_of(c);
	const char *org = emudb_org_id(c->o);
	int n = 0;

	c->r->status = 200;
	buf_addch(&c->r->body, '[');
	for (int i = 0; i < res->n_secrets; i++) {
		if (strcmp(res->secrets[i]->org_id, org) != 0)
			continue;
		if (n++)
			buf_addch(&c->r->body, ',');
		secret_json(&c->r->body, res->secrets[i]);
	}
	buf_addch(&c->r->body, ']');
}

static struct emu_secret *
secret_param(struct route_call *c)
{
	struct emu_secret *s =
	        secret_find(res_of(c), emudb_org_id(c->o), c->param[0]);

	if (!s)
		route_errorf(c, 404, "Secret with ID %s not found",
		             c->param[0]);
	return s;
}

void
api_secret_get(struct route_call *c)
{
	struct emu_secret *s = secret_param(c);

	if (!s)
		return;
	c->r->status = 200;
	secret_json(&c->r->body, s);
}

void
api_secret_update(struct route_call *c)
{
	struct emu_secret *s = secret_param(c);
	const cJSON *d = body_field(c->body, "description");

	if (!s)
		return;
	if (cJSON_IsString(d)) {
		free(s->description);
		s->description = xstrdup(d->valuestring);
	}
	s->updated_at = emudb_now(c->srv->db);
	secret_save(res_of(c), s);
	c->r->status = 200;
	secret_json(&c->r->body, s);
}

void
api_secret_delete(struct route_call *c)
{
	struct emu_res *res = res_of(c);
	struct emu_secret *s = secret_param(c);

	if (!s)
		return;
	for (int i = 0; i < res->n_secrets; i++)
		if (res->secrets[i] == s)
			res->secrets[i] = res->secrets[--res->n_secrets];
	res_drop(res, s->id);
	free(s->name);
	free(s->description);
	free(s);
	c->r->status = 200;
}

void
res_free(struct emu_res *res)
{
	for (int i = 0; i < res->n_vols; i++) {
		free(res->vols[i]->name);
		free(res->vols[i]);
	}
	for (int i = 0; i < res->n_snaps; i++) {
		free(res->snaps[i]->name);
		free(res->snaps[i]->image);
		free(res->snaps[i]);
	}
	for (int i = 0; i < res->n_secrets; i++) {
		free(res->secrets[i]->name);
		free(res->secrets[i]->description);
		free(res->secrets[i]);
	}
	free(res->vols);
	free(res->snaps);
	free(res->secrets);
	memset(res, 0, sizeof(*res));
}

void
res_reset(struct emu_res *res)
{
	struct emu_db *db = res->db;

	for (int i = 0; i < res->n_vols; i++)
		res_drop(res, res->vols[i]->id);
	for (int i = 0; i < res->n_snaps; i++)
		res_drop(res, res->snaps[i]->id);
	for (int i = 0; i < res->n_secrets; i++)
		res_drop(res, res->secrets[i]->id);
	res_free(res);
	res->db = db;
}

#define APPEND(arr, n, x)                                                      \
	do {                                                                   \
		(arr) = xreallocarray((arr), (size_t)(n) + 1, sizeof(*(arr))); \
		(arr)[(n)++] = (x);                                            \
	} while (0)

/* one stored resource back into res (a broken one is skipped) */
static void
res_load_one(void *arg, const char *kind, const char *org_id, const char *body)
{
	struct emu_res *res = arg;
	cJSON *j = cJSON_Parse(body);
	char id[37];

	if (!j || strlen(org_id) != 36 || !json_id(j, "id", id))
		goto out;
	if (strcmp(kind, "volume") == 0) {
		struct emu_volume *v = xcalloc(1, sizeof(*v));

		memcpy(v->id, id, 37);
		memcpy(v->org_id, org_id, 37);
		v->name = json_str(j, "name");
		v->created_at = json_ms(j, "createdAt");
		v->t_create = wall_to_mono(json_ms(j, "tCreate"));
		v->t_delete = wall_to_mono(json_ms(j, "tDelete"));
		if (!v->name) {
			free(v);
			goto out;
		}
		APPEND(res->vols, res->n_vols, v);
	} else if (strcmp(kind, "snapshot") == 0) {
		struct emu_snapshot *s = xcalloc(1, sizeof(*s));
		char *cls = json_str(j, "sandboxClass");
		int cl = cls ? sb_class_parse(cls) : -1;

		free(cls);
		memcpy(s->id, id, 37);
		memcpy(s->org_id, org_id, 37);
		s->name = json_str(j, "name");
		s->image = json_str(j, "image");
		s->cpu = (int)json_ms(j, "cpu");
		s->gpu = (int)json_ms(j, "gpu");
		s->mem = (int)json_ms(j, "mem");
		s->disk = (int)json_ms(j, "disk");
		s->sclass = cl < 0 ? SC_CONTAINER : (enum sb_class)cl;
		s->fail = cJSON_IsTrue(cJSON_GetObjectItem(j, "fail"));
		s->inactive = cJSON_IsTrue(cJSON_GetObjectItem(j, "inactive"));
		s->created_at = json_ms(j, "createdAt");
		s->t_create = wall_to_mono(json_ms(j, "tCreate"));
		s->t_delete = wall_to_mono(json_ms(j, "tDelete"));
		if (!s->name || !s->image) {
			free(s->name);
			free(s->image);
			free(s);
			goto out;
		}
		APPEND(res->snaps, res->n_snaps, s);
	} else if (strcmp(kind, "secret") == 0) {
		struct emu_secret *s = xcalloc(1, sizeof(*s));

		memcpy(s->id, id, 37);
		memcpy(s->org_id, org_id, 37);
		s->name = json_str(j, "name");
		s->description = json_str(j, "description");
		s->created_at = json_ms(j, "createdAt");
		s->updated_at = json_ms(j, "updatedAt");
		if (!s->name) {
			free(s->description);
			free(s);
			goto out;
		}
		APPEND(res->secrets, res->n_secrets, s);
	}
out:
	cJSON_Delete(j);
}

int
res_load(struct emu_res *res, struct emu_db *db)
{
	res->db = db;
	return emudb_res_load(db, res_load_one, res);
}
