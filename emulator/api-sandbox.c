/*
 * api-sandbox: GET /config and the routes of one sandbox.
 *
 * routes.c has found the sandbox (c->sb) and answered 404 for the others.
 * Actions check their preconditions with sb_check() in the service's
 * order (daytona-api.md §13) and then hand the transition to the db;
 * metadata routes change the sandbox in place and work in any live state.
 */
#include "common/base.h"

#include <inttypes.h>

#include "common/hash.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "emulator/api.h"
#include "emulator/body.h"
#include "emulator/internal.h"
#include "emulator/jsnum.h"

void
api_config(struct route_call *c)
{
	const struct server_opts *op = &c->srv->opts;
	struct buf *b = &c->r->body;

	c->r->status = 200;
	buf_addstr(b, "{\"version\":\"" EMU_API_VERSION "\","
	              "\"defaultSnapshot\":");
	buf_add_json_string(b, op->default_snapshot);
	buf_addf(b,
	         ",\"maxAutoArchiveInterval\":%d,\"maintananceMode\":false,"
	         "\"environment\":\"emulator\",\"linkedAccountsEnabled\":false,"
	         "\"proxyToolboxUrl\":\"" EMU_TOOLBOX_PROXY_URL "\","
	         "\"proxyTemplateUrl\":\"https://{{PORT}}-{{sandboxId}}."
	         "proxy.app.daytona.io\",\"dashboardUrl\":\"\","
	         "\"announcements\":{},\"rateLimit\":{",
	         EMU_MAX_AUTO_ARCHIVE);
	for (int i = 0; i < RL__COUNT; i++) {
		if (i)
			buf_addch(b, ',');
		buf_addf(b, "\"%s\":", faults_bucket_header(i));
		if (op->rl[i].limit > 0)
			buf_addf(b, "{\"ttl\":%" PRId64 ",\"limit\":%d}",
			         op->rl[i].window_ms / 1000, op->rl[i].limit);
		else
			buf_addstr(b, "null");
	}
	buf_addstr(b, "}}");
}

void
api_wait_started(struct route_call *c, struct sandbox *sb, int status)
{
	struct server *srv = c->srv;
	struct req *q = c->q;

	if (srv->opts.max_wait_ms <= 0 || sb->state == ST_STARTED ||
	    srv->stopping) {
		route_sandbox(c, status, sb);
		return;
	}
	memcpy(q->wait_id, sb->id, sizeof(sb->id));
	q->wait_ok_status = status;
	c->r->status = -1;
	server_suspend(srv, q, W_STARTED,
	               time_mono_ms() + srv->opts.max_wait_ms);
}

void
api_wait_over(struct route_call *c)
{
	struct req *q = c->q;
	struct sandbox *sb = emudb_find_any(c->srv->db, q->wait_id);

	q->wait = W_NONE;
	if (!sb)
		route_errorf(c, 404, "Sandbox with ID or name %s not found",
		             q->wait_id);
	else if (sb_errored(sb))
		route_errorf(c, 400, "Sandbox failed to start: %s",
		             sb->error_reason ? sb->error_reason
		                              : "unknown error");
	else
		route_sandbox(c, q->wait_ok_status, sb);
}

/* check act's preconditions; false with the answer set */
static bool
allowed(struct route_call *c, enum sb_action act)
{
	const char *msg;
	int rc = sb_check(c->sb, act, &msg);

	if (rc != 0)
		route_error(c, rc, msg);
	return rc == 0;
}

#define MSG_STOP_PAUSE                                                  \
	"At most one of autoStopInterval and autoPauseInterval may be " \
	"non-zero"

void
api_get(struct route_call *c)
{
	route_sandbox(c, 200, c->sb);
}

void
api_delete(struct route_call *c)
{
	if (!allowed(c, ACT_DELETE))
		return;
	emudb_delete(c->srv->db, c->sb);
	route_sandbox(c, 200, c->sb);
}

void
api_start(struct route_call *c)
{
	struct sandbox *sb = c->sb;
	const char *msg;
	int rc = sb_check(sb, ACT_START, &msg);

	if (rc == 1) { /* already started: a no-op */
		route_sandbox(c, 200, sb);
		return;
	}
	if (rc) {
		route_error(c, rc, msg);
		return;
	}
	if (api_check_quota(c, sb) < 0)
		return;
	sb->will_fail = faults_draw_error(&c->srv->faults);
	emudb_start(c->srv->db, sb);
	if (sb->state == ST_ARCHIVED || sb->state == ST_RESTORING)
		route_sandbox(c, 200, sb);
	else
		api_wait_started(c, sb, 200);
}

void
api_stop(struct route_call *c)
{
	if (!allowed(c, ACT_STOP))
		return;
	emudb_stop(c->srv->db, c->sb);
	route_sandbox(c, 200, c->sb);
}

void
api_archive(struct route_call *c)
{
	if (!allowed(c, ACT_ARCHIVE))
		return;
	emudb_archive(c->srv->db, c->sb);
	route_sandbox(c, 200, c->sb);
}

void
api_recover(struct route_call *c)
{
	const char *skip = http_query_get(c->qp, "skipStart");
	bool skip_start = skip && strcmp(skip, "true") == 0;

	if (!allowed(c, ACT_RECOVER))
		return;
	c->sb->will_fail = !skip_start && faults_draw_error(&c->srv->faults);
	emudb_recover(c->srv->db, c->sb, skip_start);
	if (skip_start)
		route_sandbox(c, 200, c->sb);
	else
		api_wait_started(c, c->sb, 200);
}

void
api_pause(struct route_call *c)
{
	if (!allowed(c, ACT_PAUSE))
		return;
	emudb_pause(c->srv->db, c->sb);
	route_sandbox(c, 200, c->sb);
}

/*
 * the service's resize rules after the preconditions, in v0.190.0's
 * order (sandbox.service.ts resize()); NULL when fine
 */
static const char *
resize_rule(const struct sandbox *sb, int cpu, int mem, int disk,
            bool disk_given)
{
	/* a disk in the body needs a stopped sandbox, changed or not */
	if (disk_given && sb->state != ST_STOPPED)
		return "Disk resize can only be performed on a stopped sandbox";
	if (sb->state == ST_STARTED && cpu < sb->cpu)
		return "Sandbox must be in stopped state to decrease the "
		       "number "
		       "of CPU cores";
	if (sb->state == ST_STARTED && mem < sb->memory)
		return "Sandbox must be in stopped state to decrease memory";
	if (disk < sb->disk)
		return "Sandbox disk size cannot be decreased";
	if (cpu == sb->cpu && mem == sb->memory && disk == sb->disk)
		return "No resource changes specified - sandbox is already at "
		       "the desired configuration";
	return NULL;
}

void
api_resize(struct route_call *c)
{
	struct body_errs e = BODY_ERRS_INIT;
	struct sandbox *sb = c->sb;
	bool cs, ms, ds;
	int cpu = body_int(c->body, "cpu", 1, &cs, &e);
	int mem = body_int(c->body, "memory", 1, &ms, &e);
	int disk = body_int(c->body, "disk", 1, &ds, &e);
	const char *msg;

	if (e.b.len) {
		route_error(c, 400, e.b.data);
		goto out;
	}
	if (!allowed(c, ACT_RESIZE))
		goto out;
	cpu = cs ? cpu : sb->cpu;
	mem = ms ? mem : sb->memory;
	disk = ds ? disk : sb->disk;
	if (!cs && !ms && !ds)
		msg = "No resource changes specified - sandbox is already at "
		      "the desired configuration";
	else
		msg = resize_rule(sb, cpu, mem, disk, ds);
	if (msg) {
		route_error(c, 400, msg);
		goto out;
	}
	if (api_check_maxima(c, cpu, mem, disk) < 0)
		goto out;
	emudb_resize(c->srv->db, sb, cpu, mem, disk);
	route_sandbox(c, 200, sb);
out:
	body_errs_free(&e);
}

void
api_labels(struct route_call *c)
{
	const cJSON *l = body_field(c->body, "labels"), *it;

	if (!cJSON_IsObject(l)) {
		route_error(c, 400, "labels must be an object");
		return;
	}
	cJSON_ArrayForEach(it, l)
	{
		if (!cJSON_IsString(it)) {
			route_error(c, 400,
			            "labels must be an object of strings");
			return;
		}
	}
	kvmap_clear(&c->sb->labels);
	cJSON_ArrayForEach(it, l)
	{
		kvmap_set(&c->sb->labels, it->string, it->valuestring);
	}
	emudb_touch(c->srv->db, c->sb);
	route_sandbox(c, 200, c->sb);
}

void
api_public(struct route_call *c)
{
	/* the pipe's boolean coercion: exactly "true" is true */
	c->sb->public_ = strcmp(c->param[1], "true") == 0;
	emudb_touch(c->srv->db, c->sb);
	route_sandbox(c, 201, c->sb);
}

/*
 * The three interval routes take {interval} as the server does: "+value"
 * (jsnum_parse(): "1e3" is 1000, "abc" NaN), the service's checks of that
 * number, and then an int column, where anything but an integer in
 * [-2^31, 2^31 - 1] fails (a 500, as Postgres's error becomes one).
 */
static void
interval_set(struct route_call *c, int *field, double n)
{
	if (!jsnum_is_int32(n)) {
		route_error(c, 500, "An unexpected error occurred.");
		return;
	}
	*field = (int)n;
	emudb_touch(c->srv->db, c->sb);
	route_sandbox(c, 201, c->sb);
}

void
api_autostop(struct route_call *c)
{
	double n = jsnum_parse(c->param[1]);

	if (n < 0) { /* NaN is not */
		route_error(c, 400, "Auto-stop interval must be non-negative");
		return;
	}
	if (n > 0 && c->sb->auto_pause > 0) {
		route_error(c, 400, MSG_STOP_PAUSE);
		return;
	}
	interval_set(c, &c->sb->auto_stop, n);
}

void
api_autopause(struct route_call *c)
{
	double n = jsnum_parse(c->param[1]);
	const char *msg = NULL;

	if (n < 0)
		msg = "Auto-pause interval must be non-negative";
	else if (n > 0 && !sb_class_pausable(c->sb->sclass))
		msg = "Auto-pause is not supported for this sandbox class";
	else if (n > 0 && c->sb->auto_delete == 0)
		msg = "Auto-pause is not allowed for ephemeral sandboxes";
	else if (n > 0 && c->sb->auto_stop > 0)
		msg = MSG_STOP_PAUSE;
	if (msg) {
		route_error(c, 400, msg);
		return;
	}
	interval_set(c, &c->sb->auto_pause, n);
}

/* ttl/{n}: re-anchored from now (sandbox-api.d.ts, setTtl); 0 clears */
void
api_ttl(struct route_call *c)
{
	double n = jsnum_parse(c->param[1]);
	struct sandbox *sb = c->sb;

	if (n < 0) {
		route_error(c, 400, "TTL must be non-negative");
		return;
	}
	if (!jsnum_is_int32(n)) {
		route_error(c, 500, "An unexpected error occurred.");
		return;
	}
	sb->ttl_minutes = (int)n;
	sb->auto_destroy_at =
	        n > 0 ? emudb_now(c->srv->db) + (int64_t)n * 60000 : 0;
	emudb_touch(c->srv->db, sb);
	route_sandbox(c, 201, sb);
}

/* PUT secrets {secrets: [{ENV: name}]}: replaces the set ([] detaches) */
void
api_secrets(struct route_call *c)
{
	const cJSON *v = body_field(c->body, "secrets"), *it, *kv;
	struct kvmap set = { 0 };
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
		route_error(c, 400,
		            "secrets must be an array of objects mapping an "
		            "environment variable to a secret name");
		return;
	}
	cJSON_ArrayForEach(it, v)
	{
		cJSON_ArrayForEach(kv, it)
		{
			kvmap_set(&set, kv->string, kv->valuestring);
		}
	}
	if (api_check_secrets(c, c->o, &set) < 0) {
		kvmap_clear(&set);
		return;
	}
	kvmap_clear(&c->sb->secrets);
	c->sb->secrets = set;
	emudb_touch(c->srv->db, c->sb);
	route_sandbox(c, 200, c->sb);
}

void
api_autoarchive(struct route_call *c)
{
	double n = jsnum_parse(c->param[1]);

	if (n < 0) {
		route_error(c, 400,
		            "Auto-archive interval must be non-negative");
		return;
	}
	/* 0 is the maximum, above it Math.min() (which keeps NaN) */
	if (n == 0 || n > EMU_MAX_AUTO_ARCHIVE)
		n = EMU_MAX_AUTO_ARCHIVE;
	interval_set(c, &c->sb->auto_archive, n);
}

void
api_autodelete(struct route_call *c)
{
	/* checked before the number is looked at: any value is refused */
	if (c->sb->gpu > 0) {
		route_error(c, 400, "GPU sandboxes must remain ephemeral");
		return;
	}
	interval_set(c, &c->sb->auto_delete, jsnum_parse(c->param[1]));
}

void
api_network(struct route_call *c)
{
	struct body_errs e = BODY_ERRS_INIT;
	struct sandbox *sb = c->sb;
	int block = body_bool(c->body, "networkBlockAll", &e);
	const char *nal = body_string(c->body, "networkAllowList", &e);
	const char *dal = body_string(c->body, "domainAllowList", &e);
	struct buf msg = BUF_INIT;

	if (e.b.len) {
		route_error(c, 400, e.b.data);
		goto out;
	}
	if (block < 0 && !nal && !dal) {
		route_error(c, 400,
		            "At least one of networkBlockAll, networkAllowList "
		            "or domainAllowList must be provided");
		goto out;
	}
	/* domainAllowList first, as v0.190.0's updateNetworkSettings does */
	if ((dal && emu_valid_domain_list(dal, &msg) < 0) ||
	    (nal && emu_valid_network_list(nal, &msg) < 0)) {
		route_error(c, 400, buf_cstr(&msg));
		goto out;
	}
	/* each setting on its own: block-all and an allow list coexist */
	if (block >= 0)
		sb->network_block_all = block == 1;
	if (nal) {
		free(sb->network_allow_list);
		sb->network_allow_list = *nal ? xstrdup(nal) : NULL;
	}
	if (dal) {
		free(sb->domain_allow_list);
		sb->domain_allow_list = *dal ? xstrdup(dal) : NULL;
	}
	emudb_touch(c->srv->db, sb);
	route_sandbox(c, 200, sb);
out:
	buf_free(&msg);
	body_errs_free(&e);
}

void
api_backup(struct route_call *c)
{
	if (c->sb->auto_delete == 0) {
		route_error(c, 400, "Ephemeral sandboxes cannot be backed up");
		return;
	}
	route_sandbox(c, 201, c->sb);
}

void
api_activity(struct route_call *c)
{
	c->sb->last_activity_at = emudb_now(c->srv->db);
	emudb_touch(c->srv->db, c->sb);
	c->r->status = 201;
}

void
api_build_logs(struct route_call *c)
{
	c->r->status = 200;
	buf_addf(&c->r->body,
	         "{\"url\":\"http://127.0.0.1:%d/_emulator/build-logs/%s\"}",
	         c->srv->port, c->sb->id);
}

void
api_snapshot(struct route_call *c)
{
	const cJSON *n = body_field(c->body, "name");
	struct sandbox *sb = c->sb;

	if (!cJSON_IsString(n) || !n->valuestring[0]) {
		route_error(c, 400, "name must be a string");
		return;
	}
	if (sb->state != ST_STARTED && sb->state != ST_STOPPED) {
		route_error(c, 400,
		            "Sandbox must be started or stopped to create a "
		            "snapshot");
		return;
	}
	if (sb_pending(sb)) {
		route_error(c, 409, "Sandbox state change in progress");
		return;
	}
	emudb_snapshot(c->srv->db, sb);
	route_sandbox(c, 200, sb);
}

void
api_fork(struct route_call *c)
{
	route_error(c, 422, "Forking is not supported for this sandbox");
}

/*
 * {port} is "+value" too, and only a number outside [1, 65535] is
 * refused: NaN and fractions pass into the URL as JavaScript prints them.
 */
void
api_preview(struct route_call *c)
{
	const char *id = c->sb->id;
	double port = jsnum_parse(c->param[1]);
	char tok[SF_SHA256_HEX_LEN + 1], num[JSNUM_FORMAT_MAX];

	if (port < 1 || port > 65535) {
		route_error(c, 400, "Invalid port");
		return;
	}
	jsnum_format(port, num);
	sha256_hex(id, strlen(id), tok);
	tok[32] = '\0';
	c->r->status = 200;
	buf_addf(&c->r->body,
	         "{\"sandboxId\":\"%s\",\"url\":\"https://%s-%s.proxy.app."
	         "daytona.io\",\"token\":\"%s\"}",
	         id, num, id, tok);
}
