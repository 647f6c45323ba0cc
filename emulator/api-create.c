/*
 * api-create: POST /sandbox.
 *
 * A create is checked in three rounds, as the server checks it: the DTO's
 * validators (every type message of the body at once, joined), then the
 * controller's rules (snapshot vs buildInfo, resources, GPU), then the
 * service's (snapshot lookup, per-sandbox maxima, region, network lists,
 * volumes, name taken). The first failing round answers; its message is
 * the server's.
 */
#include "common/base.h"

#include "common/hash.h"
#include "common/validate.h"
#include "common/xalloc.h"
#include "emulator/api.h"
#include "emulator/body.h"
#include "emulator/internal.h"

#define QUOTA_UPGRADE_TEXT                                                  \
	"To increase concurrency limits, upgrade your organization's Tier " \
	"by visiting https://app.daytona.io/dashboard/limits."

static const struct {
	const char *name, *id;
	int cpu, memory, disk;
	enum sb_class sclass;
} snapshots[] = {
	{ "daytona-small", "3f0c1b7e-1a2b-4c3d-8e4f-000000000001", 1, 1, 3,
	  SC_CONTAINER },
	{ "daytona-medium", "3f0c1b7e-1a2b-4c3d-8e4f-000000000002", 2, 4, 8,
	  SC_CONTAINER },
	{ "daytona-large", "3f0c1b7e-1a2b-4c3d-8e4f-000000000003", 4, 8, 10,
	  SC_CONTAINER },
	/* the emulator's own: a linux-vm class snapshot (pause, kvm) */
	{ "daytona-vm", "3f0c1b7e-1a2b-4c3d-8e4f-000000000004", 2, 4, 10,
	  SC_LINUX_VM },
};

enum sb_class
api_snapshot_class(const char *name)
{
	for (size_t i = 0; i < sizeof(snapshots) / sizeof(snapshots[0]); i++)
		if (strcmp(name, snapshots[i].name) == 0)
			return snapshots[i].sclass;
	return SC_CONTAINER;
}

const char *
api_snapshot_general_id(const char *key)
{
	for (size_t i = 0; i < sizeof(snapshots) / sizeof(snapshots[0]); i++)
		if (strcmp(key, snapshots[i].name) == 0 ||
		    strcmp(key, snapshots[i].id) == 0)
			return snapshots[i].id;
	return NULL;
}

int
api_snapshot_lookup(const char *key, const char **name, int *cpu, int *memory,
                    int *disk)
{
	for (size_t i = 0; i < sizeof(snapshots) / sizeof(snapshots[0]); i++) {
		if (strcmp(key, snapshots[i].name) == 0 ||
		    strcmp(key, snapshots[i].id) == 0) {
			*name = snapshots[i].name;
			*cpu = snapshots[i].cpu;
			*memory = snapshots[i].memory;
			*disk = snapshots[i].disk;
			return 0;
		}
	}
	return -1;
}

int
api_check_quota(struct route_call *c, const struct sandbox *sb)
{
	const struct server_opts *op = &c->srv->opts;
	int cpu, mem, disk;

	if (!op->quota_cpu && !op->quota_memory && !op->quota_disk)
		return 0;
	emudb_org_usage(c->srv->db, c->o, sb, &cpu, &mem, &disk);
	if (op->quota_cpu && cpu + sb->cpu > op->quota_cpu) {
		route_errorf(c, 400,
		             "Total CPU limit exceeded. Maximum allowed: %d.\n"
		             "%s",
		             op->quota_cpu, QUOTA_UPGRADE_TEXT);
		return -1;
	}
	if (op->quota_memory && mem + sb->memory > op->quota_memory) {
		route_errorf(c, 400,
		             "Total memory limit exceeded. Maximum allowed: "
		             "%dGiB.\n%s",
		             op->quota_memory, QUOTA_UPGRADE_TEXT);
		return -1;
	}
	if (op->quota_disk && disk + sb->disk > op->quota_disk) {
		route_errorf(c, 400,
		             "Total disk limit exceeded. Maximum allowed: "
		             "%dGiB.\n%s Consider archiving stopped sandboxes "
		             "to free up disk space.",
		             op->quota_disk, QUOTA_UPGRADE_TEXT);
		return -1;
	}
	return 0;
}

/* The fields of a CreateSandbox body that are not stored as they are. */
struct create {
	const char *name, *snap, *user, *target, *nal, *dal, *proxy;
	const cJSON *bi, *vols;
	bool cpu_set, gpu_set, mem_set, disk_set, as_set, aa_set, ad_set;
	bool ap_set, ttl_set;
	int cpu, gpu, mem, disk, as, aa, ad, ap, ttl;
};

/* gpuType: one type or an ordered preference list; the first is assigned */
static void
read_gpu_type(const cJSON *gt, struct sandbox *sb, struct body_errs *e)
{
	const cJSON *it;
	bool ok = true;

	if (cJSON_IsString(gt)) {
		ok = emu_is_gpu_type(gt->valuestring);
		if (ok)
			sandbox_add_gpu_type(sb, gt->valuestring);
	} else if (cJSON_IsArray(gt)) {
		cJSON_ArrayForEach(it, gt)
		{
			if (!cJSON_IsString(it) ||
			    !emu_is_gpu_type(it->valuestring))
				ok = false;
			else
				sandbox_add_gpu_type(sb, it->valuestring);
		}
	} else {
		ok = false;
	}
	if (!ok)
		body_err(e,
		         "each value in gpuType must be one of the following "
		         "values: H100, H200, B300, RTX-PRO-6000, RTX-4090, "
		         "RTX-5090, MI355X");
}

/* secrets: [{ENV: secretName}, ...] */
static void
read_secrets(const cJSON *v, struct sandbox *sb, struct body_errs *e)
{
	const cJSON *it, *kv;
	bool ok = cJSON_IsArray(v);

	cJSON_ArrayForEach(it, (ok ? v : NULL))
	{
		ok = ok && cJSON_IsObject(it);
		cJSON_ArrayForEach(kv, (ok ? it : NULL))
		{
			ok = ok && cJSON_IsString(kv) && kv->string[0] &&
			     kv->valuestring[0];
		}
	}
	if (!ok) {
		body_err(e, "secrets must be an array of objects mapping an "
		            "environment variable to a secret name");
		return;
	}
	cJSON_ArrayForEach(it, v)
	{
		cJSON_ArrayForEach(kv, it)
		{
			kvmap_set(&sb->secrets, kv->string, kv->valuestring);
		}
	}
}

int
api_check_secrets(struct route_call *c, struct org *o,
                  const struct kvmap *secrets)
{
	struct buf msg = BUF_INIT;

	for (int i = 0; i < secrets->n; i++)
		if (res_secret_check(&c->srv->res, emudb_org_id(o),
		                     secrets->items[i].value, &msg) < 0) {
			route_error(c, 400, buf_cstr(&msg));
			buf_free(&msg);
			return -1;
		}
	return 0;
}

/* outboundProxyUrl: an http or https URL with a host */
static bool
valid_proxy_url(const char *u)
{
	const char *h = NULL;

	if (strncmp(u, "http://", 7) == 0)
		h = u + 7;
	else if (strncmp(u, "https://", 8) == 0)
		h = u + 8;
	if (!h)
		return false;
	if (strchr(h, '@')) /* user:password@ */
		h = strrchr(h, '@') + 1;
	if (!*h || *h == '/' || *h == ':')
		return false;
	for (const char *p = u; *p; p++)
		if ((unsigned char)*p <= ' ')
			return false;
	return true;
}

/* the fields of the 0.218 API (create-sandbox.d.ts) */
static void
read_new_fields(const cJSON *body, struct sandbox *sb, struct create *f,
                struct body_errs *e)
{
	const cJSON *v;

	f->proxy = body_string(body, "outboundProxyUrl", e);
	if (f->proxy && !valid_proxy_url(f->proxy))
		body_err(e, "outboundProxyUrl must be a URL address");
	sb->spot = body_bool(body, "spot", e) == 1;
	f->ap = body_int(body, "autoPauseInterval", 0, &f->ap_set, e);
	f->ttl = body_int(body, "ttlMinutes", 0, &f->ttl_set, e);
	v = body_field(body, "secrets");
	if (v)
		read_secrets(v, sb, e);
	sb->kvm = body_bool(body, "kvm", e) == 1;
}

static void
read_build_info(const cJSON *bi, struct sandbox *sb, struct body_errs *e)
{
	const cJSON *df = body_field(bi, "dockerfileContent");
	const cJSON *ch = body_field(bi, "contextHashes");
	const cJSON *it;

	if (!cJSON_IsObject(bi))
		body_err(e, "buildInfo must be an object");
	else if (!cJSON_IsString(df) || !df->valuestring[0])
		body_err(e, "buildInfo.dockerfileContent should not be empty");
	else
		sb->dockerfile = xstrdup(df->valuestring);
	if (ch && !cJSON_IsArray(ch))
		body_err(e, "buildInfo.contextHashes must be an array");
	cJSON_ArrayForEach(it, ch)
	{
		if (!cJSON_IsString(it)) {
			body_err(e, "each value in buildInfo.contextHashes "
			            "must be a string");
			break;
		}
		sandbox_add_context_hash(sb, it->valuestring);
	}
}

/* the DTO's validators, in the order of its fields */
static void
read_fields(const cJSON *body, struct sandbox *sb, struct create *f,
            struct body_errs *e)
{
	const char *msg;
	const cJSON *gt;

	f->name = body_string(body, "name", e);
	if (f->name && emu_valid_name(f->name, &msg) < 0)
		body_err(e, msg);
	f->snap = body_string(body, "snapshot", e);
	f->user = body_string(body, "user", e);
	f->target = body_string(body, "target", e);
	body_map(body, "env", &sb->env, e);
	body_map(body, "labels", &sb->labels, e);
	sb->public_ = body_bool(body, "public", e) == 1;
	sb->network_block_all = body_bool(body, "networkBlockAll", e) == 1;
	f->nal = body_string(body, "networkAllowList", e);
	f->dal = body_string(body, "domainAllowList", e);
	f->cpu = body_int(body, "cpu", 0, &f->cpu_set, e);
	f->gpu = body_int(body, "gpu", 0, &f->gpu_set, e);
	f->mem = body_int(body, "memory", 0, &f->mem_set, e);
	f->disk = body_int(body, "disk", 0, &f->disk_set, e);
	read_new_fields(body, sb, f, e);
	f->as = body_int(body, "autoStopInterval", 0, &f->as_set, e);
	f->aa = body_int(body, "autoArchiveInterval", 0, &f->aa_set, e);
	f->ad = body_int(body, "autoDeleteInterval", -2147483647.0, &f->ad_set,
	                 e);
	if (f->gpu_set && f->gpu > 1)
		body_err(e, "gpu must not be greater than 1");
	gt = body_field(body, "gpuType");
	if (gt)
		read_gpu_type(gt, sb, e);
	f->vols = body_field(body, "volumes");
	if (f->vols && !cJSON_IsArray(f->vols))
		body_err(e, "volumes must be an array");
	f->bi = body_field(body, "buildInfo");
	if (f->bi)
		read_build_info(f->bi, sb, e);
}

/* the controller's rules; 0 or -1 with the answer set */
static int
controller_rules(struct route_call *c, const cJSON *body,
                 const struct create *f, const struct sandbox *sb)
{
	const char *msg = NULL;

	if (f->bi && f->snap && *f->snap)
		msg = "Cannot specify a snapshot when using a build info entry";
	else if (f->bi && body_field(body, "linkedSandbox"))
		msg = "linkedSandbox is not supported with declarative builds. "
		      "Create a sandbox from a snapshot";
	else if (!f->bi && (f->cpu || f->gpu || f->mem || f->disk))
		msg = "Cannot specify Sandbox resources when using a snapshot";
	else if (!f->bi && sb->gpu_type)
		msg = "Cannot specify GPU type when creating sandbox from "
		      "snapshot. GPU type is inherited from snapshot.";
	else if (f->gpu > 0 && !(f->ad_set && f->ad == 0))
		msg = "GPU sandboxes must be ephemeral - set "
		      "autoDeleteInterval "
		      "to 0";
	else if (sb->spot && f->gpu <= 0)
		msg = "Spot is only supported for GPU sandboxes";
	else if (f->as_set && f->ap_set && f->as > 0 && f->ap > 0)
		msg = "At most one of autoStopInterval and autoPauseInterval "
		      "may be non-zero";
	if (!msg)
		return 0;
	route_error(c, 400, msg);
	return -1;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* the snapshotRef of build-info.entity.ts */
static char *
snapshot_ref(const char *dockerfile, char **hashes, int n)
{
	struct buf b = BUF_INIT;
	char **sorted = xcalloc((size_t)n + 1, sizeof(char *));
	char h[SF_SHA256_HEX_LEN + 1];

	if (n > 0) { /* hashes is NULL without contextHashes */
		memcpy(sorted, hashes, (size_t)n * sizeof(char *));
		qsort(sorted, (size_t)n, sizeof(char *), cmp_str);
	}
	buf_addstr(&b, dockerfile);
	for (int i = 0; i < n; i++)
		buf_addstr(&b, sorted[i]);
	sha256_hex(buf_cstr(&b), b.len, h);
	buf_free(&b);
	free(sorted);
	return xasprintf("daytona-%s:daytona", h);
}

int
api_check_maxima(struct route_call *c, int cpu, int memory, int disk)
{
	const struct {
		const char *what, *unit;
		int value, max;
	} res[] = {
		{ "CPU", "", cpu, EMU_MAX_CPU },
		{ "Memory", "GB", memory, EMU_MAX_MEMORY },
		{ "Disk", "GB", disk, EMU_MAX_DISK },
	};

	for (size_t i = 0; i < sizeof(res) / sizeof(res[0]); i++)
		if (res[i].value > res[i].max) {
			route_errorf(
			        c, 400,
			        "%s request %d%s exceeds maximum allowed per "
			        "sandbox (%d%s).\n" EMU_PER_SANDBOX_LIMIT,
			        res[i].what, res[i].value, res[i].unit,
			        res[i].max, res[i].unit);
			return -1;
		}
	return 0;
}

/* a snapshot of the organization (POST /snapshots): active, else 400 */
static int
org_snapshot(struct route_call *c, const char *want, struct sandbox *sb)
{
	struct res_snap rs;
	char msg[512];
	int rc = res_snapshot_resolve(&c->srv->res, emudb_opts_of(c->srv->db),
	                              emudb_org_id(c->o), want, &rs, msg,
	                              sizeof(msg));

	if (rc == 1)
		route_errorf(
		        c, 400,
		        "Snapshot %s not found. Did you add it through the "
		        "Daytona Dashboard?",
		        want);
	else if (rc < 0)
		route_error(c, 400, msg);
	if (rc != 0)
		return -1;
	sb->snapshot = xstrdup(rs.name);
	sb->cpu = rs.cpu;
	sb->memory = rs.mem;
	sb->disk = rs.disk;
	sb->sclass = rs.cls;
	return 0;
}

/* resources from buildInfo or the snapshot, maxima, region and user */
static int
service_resources(struct route_call *c, const struct create *f,
                  struct sandbox *sb)
{
	if (f->bi) {
		sb->cpu = f->cpu ? f->cpu : EMU_DEFAULT_CPU;
		sb->memory = f->mem ? f->mem : EMU_DEFAULT_MEMORY;
		sb->disk = f->disk ? f->disk : EMU_DEFAULT_DISK;
		sb->gpu = f->gpu;
		sb->snapshot_ref =
		        snapshot_ref(sb->dockerfile, sb->context_hashes,
		                     sb->n_context_hashes);
		sb->state = ST_PENDING_BUILD;
	} else {
		const char *sname;
		const char *want = f->snap && *f->snap
		                           ? f->snap
		                           : c->srv->opts.default_snapshot;

		if (api_snapshot_lookup(want, &sname, &sb->cpu, &sb->memory,
		                        &sb->disk) == 0) {
			sb->snapshot = xstrdup(sname);
			sb->sclass = api_snapshot_class(sname);
		} else if (org_snapshot(c, want, sb) < 0) {
			return -1;
		}
	}
	if (api_check_maxima(c, sb->cpu, sb->memory, sb->disk) < 0)
		return -1;
	if (f->target && *f->target && strcmp(f->target, "us") != 0 &&
	    strcmp(f->target, "eu") != 0) {
		route_error(c, 404, "Region not found");
		return -1;
	}
	sb->target = xstrdup(f->target && *f->target ? f->target
	                                             : EMU_DEFAULT_REGION);
	sb->user = xstrdup(f->user && *f->user ? f->user : EMU_DEFAULT_USER);
	return 0;
}

static int
service_network(struct route_call *c, const struct create *f,
                struct sandbox *sb)
{
	struct buf msg = BUF_INIT;

	/* networkAllowList first, as the v0.190.0 create does */
	if ((f->nal && emu_valid_network_list(f->nal, &msg) < 0) ||
	    (f->dal && emu_valid_domain_list(f->dal, &msg) < 0)) {
		route_error(c, 400, buf_cstr(&msg));
		buf_free(&msg);
		return -1;
	}
	if (f->nal && *f->nal) /* kept alongside networkBlockAll */
		sb->network_allow_list = xstrdup(f->nal);
	if (f->dal && *f->dal)
		sb->domain_allow_list = xstrdup(f->dal);
	return 0;
}

/* volumes: a name is stored as a stable UUID of o and the name */
static int
service_volumes(struct route_call *c, struct org *o, const cJSON *vols,
                struct sandbox *sb)
{
	const cJSON *it;
	const char *msg;

	cJSON_ArrayForEach(it, vols)
	{
		struct body_errs e = BODY_ERRS_INIT;
		const char *vid = body_string(it, "volumeId", &e);
		const char *mp = body_string(it, "mountPath", &e);
		const char *sp = body_string(it, "subpath", &e);
		bool bad = !cJSON_IsObject(it) || !vid || !mp || e.b.len;
		char uuid[37], vmsg[512];

		body_errs_free(&e);
		if (bad) {
			route_error(
			        c, 400,
			        "each volume needs a volumeId and a mountPath "
			        "string");
			return -1;
		}
		if (emu_valid_mount_path(mp, &msg) < 0 ||
		    (sp && emu_valid_subpath(sp, &msg) < 0)) {
			route_error(c, 400, msg);
			return -1;
		}
		/* an id or name of a volume of o (POST /volumes) */
		if (res_volume_resolve(&c->srv->res, emudb_org_id(o), vid, uuid,
		                       vmsg, sizeof(vmsg)) < 0) {
			route_error(c, 400, vmsg);
			return -1;
		}
		sandbox_add_volume(sb, uuid, mp, sp);
	}
	return 0;
}

/* the class's rules (kvm, auto-pause) and the lifecycle intervals */
static int
service_class(struct route_call *c, const struct create *f, struct sandbox *sb)
{
	bool pausable = sb_class_pausable(sb->sclass);
	bool ephemeral = f->ad_set && f->ad == 0;
	const char *msg = NULL;

	if (sb->kvm && sb->sclass != SC_LINUX_VM)
		msg = "KVM is only supported for linux-vm sandboxes";
	else if (f->ap > 0 && !pausable)
		msg = "Auto-pause is not supported for this sandbox class";
	else if (f->ap > 0 && ephemeral)
		msg = "Auto-pause is not allowed for ephemeral sandboxes";
	if (msg) {
		route_error(c, 400, msg);
		return -1;
	}
	if (f->as_set)
		sb->auto_stop = f->as;
	if (f->ap_set) {
		sb->auto_pause = f->ap;
		if (f->ap > 0 && !f->as_set)
			sb->auto_stop = 0;
	} else if (pausable && !ephemeral && !f->as_set) {
		sb->auto_pause = EMU_DEFAULT_AUTO_PAUSE;
		sb->auto_stop = 0;
	}
	if (f->aa_set)
		sb->auto_archive = f->aa == 0 || f->aa > EMU_MAX_AUTO_ARCHIVE
		                           ? EMU_MAX_AUTO_ARCHIVE
		                           : f->aa;
	if (f->ad_set)
		sb->auto_delete = f->ad;
	sb->ttl_minutes = f->ttl;
	if (f->proxy && *f->proxy)
		sb->outbound_proxy_url = xstrdup(f->proxy);
	return 0;
}

/*
 * linkedSandbox, as v0.190.0's resolveLinkedSandbox (sandbox.service.ts):
 * the new sandbox ephemeral, the linked one found in the organization
 * (404 otherwise), not itself linked, started or stopped. GPU sandboxes
 * take no part in links (0.218.0 create-sandbox.d.ts; emulator wording).
 */
static int
service_link(struct route_call *c, struct org *o, const cJSON *body,
             const struct create *f, struct sandbox *sb)
{
	const cJSON *l = body_field(body, "linkedSandbox");
	const struct sandbox *t;

	if (!l)
		return 0;
	if (!cJSON_IsString(l) || !l->valuestring[0]) {
		route_error(c, 400, "linkedSandbox must be a string");
		return -1;
	}
	if (!(f->ad_set && f->ad == 0)) {
		route_error(c, 400,
		            "Linked sandboxes must be ephemeral (set "
		            "autoDeleteInterval to 0)");
		return -1;
	}
	t = emudb_find(c->srv->db, o, l->valuestring);
	if (!t) {
		route_errorf(c, 404, "Sandbox with ID or name %s not found",
		             l->valuestring);
		return -1;
	}
	if (t->linked_id[0]) {
		route_errorf(c, 400,
		             "Linked sandbox %s is itself linked to another "
		             "sandbox; chained links are not allowed",
		             t->id);
		return -1;
	}
	if (t->state != ST_STARTED && t->state != ST_STOPPED) {
		route_errorf(
		        c, 400,
		        "Linked sandbox must be in STARTED or STOPPED state "
		        "with an assigned runner (current: %s)",
		        sb_state_name(t->state));
		return -1;
	}
	if (f->gpu > 0 || t->gpu > 0) {
		route_error(c, 400, "GPU sandboxes cannot be linked");
		return -1;
	}
	memcpy(sb->linked_id, t->id, sizeof(sb->linked_id));
	return 0;
}

struct sandbox *
api_build_sandbox(struct route_call *c, struct org *o, const cJSON *body)
{
	struct body_errs e = BODY_ERRS_INIT;
	struct sandbox *sb = sandbox_new();
	struct create f;

	memset(&f, 0, sizeof(f));
	uuid_v4(sb->id);
	read_fields(body, sb, &f, &e);
	if (e.b.len) {
		route_error(c, 400, e.b.data);
		goto fail;
	}
	if (controller_rules(c, body, &f, sb) < 0 ||
	    service_resources(c, &f, sb) < 0 ||
	    service_network(c, &f, sb) < 0 || service_class(c, &f, sb) < 0 ||
	    service_link(c, o, body, &f, sb) < 0 ||
	    service_volumes(c, o, f.vols, sb) < 0 ||
	    api_check_secrets(c, o, &sb->secrets) < 0)
		goto fail;
	sb->name = xstrdup(f.name && *f.name ? f.name : sb->id);
	if (emudb_name_taken(c->srv->db, o, sb->name)) {
		route_errorf(c, 409, "Sandbox with name %s already exists",
		             sb->name);
		goto fail;
	}
	body_errs_free(&e);
	return sb;
fail:
	body_errs_free(&e);
	sandbox_free(sb);
	return NULL;
}

void
api_create(struct route_call *c)
{
	struct sandbox *sb = api_build_sandbox(c, c->o, c->body);

	if (!sb)
		return;
	if (api_check_quota(c, sb) < 0) {
		sandbox_free(sb);
		return;
	}
	sb->will_fail = faults_draw_error(&c->srv->faults);
	emudb_insert(c->srv->db, c->o, sb, false);
	if (sb->state == ST_PENDING_BUILD)
		route_sandbox(c, 200, sb);
	else
		api_wait_started(c, sb, 200);
}
