/*
 * server: HTTP for daytona-emulator.
 *
 * Every request gets a struct req from the URI-log callback (which also
 * hands us the raw URI, query string included, before libmicrohttpd
 * decodes it) and loses it in the completion callback. The access handler
 * collects the body (capped at 1 MiB), then answers in the order the real
 * NestJS server does: body-parser errors (413, malformed JSON), routing
 * (404), authentication (401), throttling (429), the sandbox access guard
 * (404), validation (400) and the service rules.
 *
 * Requests that must wait — injected latency, and create/start/recover
 * waiting for `started` like the server's 30 s wait — are suspended rather
 * than blocking a pool thread; the ticker thread advances the db's
 * clocks every EMU_TICK_MS and resumes the requests whose wait is over.
 * Lock order: the db lock is never held while calling into
 * libmicrohttpd, except MHD_suspend_connection() from the handler, which
 * is what keeps a resume from overtaking its suspend.
 */
#include "common/base.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/strnum.h"
#include "common/timeutil.h"
#include "common/validate.h"
#include "common/xalloc.h"
#include "emulator/htab.h"
#include "emulator/server.h"

#define API_VERSION "0.190.0"

/* --- snapshots -------------------------------------------------------- */

static const struct {
	const char *name, *id;
	int cpu, memory, disk;
} snapshots[] = {
	{ "daytona-small", "3f0c1b7e-1a2b-4c3d-8e4f-000000000001", 1, 1, 3 },
	{ "daytona-medium", "3f0c1b7e-1a2b-4c3d-8e4f-000000000002", 2, 4, 8 },
	{ "daytona-large", "3f0c1b7e-1a2b-4c3d-8e4f-000000000003", 4, 8, 10 },
};

int
emu_snapshot_lookup(const char *key, const char **name, int *cpu, int *memory,
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

/* --- routes ----------------------------------------------------------- */

enum route {
	R_NONE,
	R_CONFIG,
	R_LIST,
	R_PAGINATED,
	R_CREATE,
	R_GET,
	R_DELETE,
	R_START,
	R_STOP,
	R_ARCHIVE,
	R_RECOVER,
	R_PAUSE,
	R_RESIZE,
	R_LABELS,
	R_PUBLIC,
	R_AUTOSTOP,
	R_AUTOARCHIVE,
	R_AUTODELETE,
	R_NETWORK,
	R_BACKUP,
	R_ACTIVITY,
	R_BUILD_LOGS,
	R_SNAPSHOT,
	R_FORK,
	R_PREVIEW,
	R__COUNT
};

static const struct {
	const char *name;
	int bucket;
} routes[R__COUNT] = {
	[R_NONE] = { "unknown", RL_NONE },
	[R_CONFIG] = { "GET /config", RL_NONE },
	[R_LIST] = { "GET /sandbox", RL_OTHER },
	[R_PAGINATED] = { "GET /sandbox/paginated", RL_OTHER },
	[R_CREATE] = { "POST /sandbox", RL_CREATE },
	[R_GET] = { "GET /sandbox/{id}", RL_OTHER },
	[R_DELETE] = { "DELETE /sandbox/{id}", RL_LIFECYCLE },
	[R_START] = { "POST /sandbox/{id}/start", RL_LIFECYCLE },
	[R_STOP] = { "POST /sandbox/{id}/stop", RL_LIFECYCLE },
	[R_ARCHIVE] = { "POST /sandbox/{id}/archive", RL_LIFECYCLE },
	[R_RECOVER] = { "POST /sandbox/{id}/recover", RL_LIFECYCLE },
	[R_PAUSE] = { "POST /sandbox/{id}/pause", RL_LIFECYCLE },
	[R_RESIZE] = { "POST /sandbox/{id}/resize", RL_LIFECYCLE },
	[R_LABELS] = { "PUT /sandbox/{id}/labels", RL_OTHER },
	[R_PUBLIC] = { "POST /sandbox/{id}/public/{isPublic}", RL_OTHER },
	[R_AUTOSTOP] = { "POST /sandbox/{id}/autostop/{interval}", RL_OTHER },
	[R_AUTOARCHIVE] = { "POST /sandbox/{id}/autoarchive/{interval}",
	                    RL_OTHER },
	[R_AUTODELETE] = { "POST /sandbox/{id}/autodelete/{interval}",
	                   RL_OTHER },
	[R_NETWORK] = { "POST /sandbox/{id}/network-settings", RL_OTHER },
	[R_BACKUP] = { "POST /sandbox/{id}/backup", RL_OTHER },
	[R_ACTIVITY] = { "POST /sandbox/{id}/last-activity", RL_OTHER },
	[R_BUILD_LOGS] = { "GET /sandbox/{id}/build-logs-url", RL_OTHER },
	[R_SNAPSHOT] = { "POST /sandbox/{id}/snapshot", RL_OTHER },
	[R_FORK] = { "POST /sandbox/{id}/fork", RL_CREATE },
	[R_PREVIEW] = { "GET /sandbox/{id}/ports/{port}/preview-url",
	                RL_OTHER },
};

static const char *const bucket_names[RL__COUNT] = { "sandbox-create",
	                                             "sandbox-lifecycle",
	                                             "authenticated" };
static const char *const bucket_short[RL__COUNT] = { "create", "lifecycle",
	                                             "other" };

enum { M_GET, M_POST, M_PUT, M_DELETE, M_OTHER, M__COUNT };
static const char *const method_names[M__COUNT] = { "GET", "POST", "PUT",
	                                            "DELETE", "OTHER" };

/* --- per-request state ------------------------------------------------ */

/* a response under construction */
struct resp {
	int status;
	struct buf body;
	struct buf headers; /* "Name\0Value\0" pairs */
	bool drop;          /* close the connection without answering */
};

enum wait_kind { W_NONE, W_LATENCY, W_STARTED };

struct req {
	struct server *srv;
	struct MHD_Connection *con;
	char *uri;   /* raw, as sent */
	char *path;  /* raw path part of uri */
	char *query; /* raw query ("" when none) */
	struct buf body;
	bool started;
	bool too_big;
	bool latency_done;
	enum wait_kind wait;
	int64_t wait_until; /* monotonic ms */
	char wait_id[37];
	int wait_ok_status;
	bool resumed;
	int wait_pos; /* index in srv->waiters, or -1 */
	enum route route;
	int bucket;
	int fault; /* drawn fault: 0 none, -1 drop, else a 5xx status */
	struct resp *r;
};

struct rl_state {
	int64_t window_start[RL__COUNT];
	int count[RL__COUNT];
};

struct server {
	struct server_opts opts;
	struct emu_db *db;
	struct MHD_Daemon *d;
	int port;
	bool loopback; /* bound to 127.0.0.0/8 or ::1: hooks need no key */
	pthread_t ticker;
	bool ticker_running;
	_Atomic int stopping;
	/* the following are guarded by the db lock */
	struct req **waiters;
	int n_waiters, cap_waiters;
	uint64_t rng;
	char **log;
	int n_log, cap_log;
	uint64_t counts[R__COUNT];
	uint64_t methods[M__COUNT];
	uint64_t total;
	struct htab *rl; /* org id -> struct rl_state */
};

static void
resp_header(struct resp *r, const char *name, const char *value)
{
	buf_add(&r->headers, name, strlen(name) + 1);
	buf_add(&r->headers, value, strlen(value) + 1);
}

static const char *
reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 409:
		return "Conflict";
	case 413:
		return "Payload Too Large";
	case 422:
		return "Unprocessable Entity";
	case 429:
		return "Too Many Requests";
	case 503:
		return "Service Unavailable";
	default:
		return "Internal Server Error";
	}
}

/* the error body of the global exception filter (daytona-api.md §2.1) */
static void
resp_error(struct resp *r, const struct req *q, int status, const char *msg)
{
	char iso[SF_ISO8601_LEN + 1];

	time_format_iso(time_now_ms(), iso);
	r->status = status;
	buf_reset(&r->body);
	buf_addstr(&r->body, "{\"path\":");
	buf_add_json_string(&r->body, q->uri);
	buf_addf(&r->body,
	         ",\"timestamp\":\"%s\",\"statusCode\":%d,\"error\":\"%s\","
	         "\"message\":",
	         iso, status, reason(status));
	buf_add_json_string(&r->body, msg);
	buf_addch(&r->body, '}');
}

static void resp_errorf(struct resp *r, const struct req *q, int status,
                        const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static void
resp_errorf(struct resp *r, const struct req *q, int status, const char *fmt,
            ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	resp_error(r, q, status, msg);
	free(msg);
}

static void
resp_sandbox(struct resp *r, int status, const struct sandbox *sb)
{
	r->status = status;
	buf_reset(&r->body);
	sandbox_to_json(sb, SBJ_FULL, &r->body);
}

/* --- URI handling ----------------------------------------------------- */

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

char *
emu_percent_decode(const char *s, size_t len, bool plus)
{
	char *out = xmalloc(len + 1), *o = out;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%') {
			int h, l;

			if (i + 2 >= len)
				goto bad;
			h = hexval((unsigned char)s[i + 1]);
			l = hexval((unsigned char)s[i + 2]);
			if (h < 0 || l < 0)
				goto bad;
			*o++ = (char)(h * 16 + l);
			i += 2;
		} else if (plus && s[i] == '+') {
			*o++ = ' ';
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

struct qparam {
	char *key, *value;
};

struct qparams {
	struct qparam *v;
	int n;
};

static void
qparams_free(struct qparams *p)
{
	for (int i = 0; i < p->n; i++) {
		free(p->v[i].key);
		free(p->v[i].value);
	}
	free(p->v);
}

static int
qparams_parse(const char *query, struct qparams *out)
{
	const char *p = query;

	memset(out, 0, sizeof(*out));
	while (*p) {
		const char *amp = strchr(p, '&');
		size_t n = amp ? (size_t)(amp - p) : strlen(p);
		const char *eq = memchr(p, '=', n);
		char *k, *v;

		if (n > 0) {
			size_t kn = eq ? (size_t)(eq - p) : n;

			/* like qs: a malformed escape stays as it is */
			k = emu_percent_decode(p, kn, true);
			if (!k)
				k = xstrndup(p, kn);
			v = eq ? emu_percent_decode(
			                 eq + 1, n - (size_t)(eq - p) - 1, true)
			       : xstrdup("");
			if (!v)
				v = xstrndup(eq + 1, n - (size_t)(eq - p) - 1);
			out->v = xreallocarray(out->v, (size_t)out->n + 1,
			                       sizeof(*out->v));
			out->v[out->n].key = k;
			out->v[out->n].value = v;
			out->n++;
		}
		if (!amp)
			break;
		p = amp + 1;
	}
	return 0;
}

static const char *
qparam_get(const struct qparams *p, const char *key)
{
	for (int i = 0; i < p->n; i++)
		if (strcmp(p->v[i].key, key) == 0)
			return p->v[i].value;
	return NULL;
}

/* path segments after the leading '/', percent-decoded */
struct segs {
	char *v[8];
	int n;
};

static int
segs_parse(const char *path, struct segs *s)
{
	const char *p = path;

	memset(s, 0, sizeof(*s));
	if (*p == '/')
		p++;
	while (*p) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		if (s->n == 8)
			return -1;
		s->v[s->n] = emu_percent_decode(p, n, false);
		if (!s->v[s->n])
			return -1;
		s->n++;
		if (!e)
			break;
		p = e + 1;
		if (*p == '\0')
			break; /* trailing slash, as Express allows */
	}
	return 0;
}

static void
segs_free(struct segs *s)
{
	for (int i = 0; i < s->n; i++)
		free(s->v[i]);
}

/* --- JSON helpers ----------------------------------------------------- */

/*
 * emu_json_find_nul: where the first "\u0000" escape is. A backslash can
 * only occur inside a string in valid JSON, so stepping over every escape
 * pair finds exactly the escaped NULs ("\\u0000" is a backslash and text).
 */
long
emu_json_find_nul(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		if (s[i] != '\\') {
			i++;
			continue;
		}
		if (i + 5 < len && s[i + 1] == 'u' &&
		    memcmp(s + i + 2, "0000", 4) == 0)
			return (long)i;
		i += 2;
	}
	return -1;
}

/* has_marker: does any key or string under j contain the byte c? */
static bool
has_marker(const cJSON *j, char c)
{
	const cJSON *k;

	if (j->string && strchr(j->string, c))
		return true;
	if (cJSON_IsString(j) && j->valuestring && strchr(j->valuestring, c))
		return true;
	for (k = j->child; k; k = k->next)
		if (has_marker(k, c))
			return true;
	return false;
}

/*
 * emu_json_nul_message: the 400 message for a body with an escaped NUL.
 * cJSON keeps C strings, so parsed as is the value would be cut short at
 * the NUL (a name "a\u0000b" would become "a"), while Daytona keeps it and
 * refuses it: a name through IsSafeDisplayString (a control character),
 * anything else when Postgres refuses NUL in text. So the body is parsed
 * with each NUL escape turned into U+0001 to find the field it is in.
 * Caller frees.
 */
char *
emu_json_nul_message(const char *s, size_t len)
{
	char *copy = xmalloc(len + 1), *msg = NULL;
	const cJSON *name, *k;
	cJSON *j;
	const char *m;
	long at;

	memcpy(copy, s, len);
	copy[len] = '\0';
	while ((at = emu_json_find_nul(copy, len)) >= 0)
		copy[at + 5] = '1';
	j = cJSON_ParseWithLength(copy, len);
	name = cJSON_GetObjectItemCaseSensitive(j, "name");
	if (cJSON_IsString(name) && strchr(name->valuestring, '\001') &&
	    emu_valid_name(name->valuestring, &m) < 0) {
		msg = xstrdup(m);
		goto out;
	}
	for (k = j ? j->child : NULL; k; k = k->next) {
		if (!has_marker(k, '\001'))
			continue;
		msg = k->string ? xasprintf("%s must not contain control "
		                            "characters",
		                            k->string)
		                : NULL;
		break;
	}
	if (!msg)
		msg = xstrdup("request body must not contain NUL characters");
out:
	cJSON_Delete(j);
	free(copy);
	return msg;
}

struct errs {
	struct buf b;
};

static void
err_add(struct errs *e, const char *msg)
{
	if (e->b.len)
		buf_addstr(&e->b, ", ");
	buf_addstr(&e->b, msg);
}

static const cJSON *
field(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsNull(v) ? NULL : v;
}

static const char *
opt_string(const cJSON *obj, const char *key, struct errs *e)
{
	const cJSON *v = field(obj, key);
	char *m;

	if (!v)
		return NULL;
	if (cJSON_IsString(v))
		return v->valuestring;
	m = xasprintf("%s must be a string", key);
	err_add(e, m);
	free(m);
	return NULL;
}

static int
opt_bool(const cJSON *obj, const char *key, struct errs *e)
{
	const cJSON *v = field(obj, key);
	char *m;

	if (!v)
		return -1;
	if (cJSON_IsBool(v))
		return cJSON_IsTrue(v);
	m = xasprintf("%s must be a boolean value", key);
	err_add(e, m);
	free(m);
	return -1;
}

/* integer field; *set tells whether it was present and valid */
static int
opt_int(const cJSON *obj, const char *key, double min, bool *set,
        struct errs *e)
{
	const cJSON *v = field(obj, key);
	char *m = NULL;

	*set = false;
	if (!v)
		return 0;
	if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
	    fabs(v->valuedouble) > 2147483647.0)
		m = xasprintf("%s must be an integer number", key);
	else if (v->valuedouble < min)
		m = xasprintf("%s must not be less than %g", key, min);
	if (m) {
		err_add(e, m);
		free(m);
		return 0;
	}
	*set = true;
	return (int)v->valuedouble;
}

static int
opt_map(const cJSON *obj, const char *key, struct kvmap *out, struct errs *e)
{
	const cJSON *v = field(obj, key), *it;
	char *m;

	if (!v)
		return 0;
	if (!cJSON_IsObject(v))
		goto bad;
	cJSON_ArrayForEach(it, v)
	{
		if (!cJSON_IsString(it))
			goto bad;
		kvmap_set(out, it->string, it->valuestring);
	}
	return 1;
bad:
	m = xasprintf("%s must be an object of strings", key);
	err_add(e, m);
	free(m);
	return -1;
}

/* --- rate limits and faults ------------------------------------------- */

static uint64_t
rng_next(struct server *srv)
{
	/* splitmix64: deterministic from --seed */
	uint64_t z = (srv->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double
rng_unit(struct server *srv)
{
	return (double)(rng_next(srv) >> 11) / 9007199254740992.0;
}

#define QUOTA_UPGRADE_TEXT                                                  \
	"To increase concurrency limits, upgrade your organization's Tier " \
	"by visiting https://app.daytona.io/dashboard/limits."

/*
 * The organization quota (--quota), checked by create and start like the
 * service does: sb would run with its cpu/memory/disk on top of what the
 * other sandboxes hold. 0, or 400 with r set.
 */
static int
check_quota(struct server *srv, struct org *o, const struct sandbox *sb,
            const struct req *q, struct resp *r)
{
	int cpu, mem, disk;

	if (!srv->opts.quota_cpu && !srv->opts.quota_memory &&
	    !srv->opts.quota_disk)
		return 0;
	emudb_org_usage(srv->db, o, sb, &cpu, &mem, &disk);
	if (srv->opts.quota_cpu && cpu + sb->cpu > srv->opts.quota_cpu) {
		resp_errorf(r, q, 400,
		            "Total CPU limit exceeded. Maximum allowed: %d.\n"
		            "%s",
		            srv->opts.quota_cpu, QUOTA_UPGRADE_TEXT);
		return -1;
	}
	if (srv->opts.quota_memory &&
	    mem + sb->memory > srv->opts.quota_memory) {
		resp_errorf(r, q, 400,
		            "Total memory limit exceeded. Maximum allowed: "
		            "%dGiB.\n%s",
		            srv->opts.quota_memory, QUOTA_UPGRADE_TEXT);
		return -1;
	}
	if (srv->opts.quota_disk && disk + sb->disk > srv->opts.quota_disk) {
		resp_errorf(r, q, 400,
		            "Total disk limit exceeded. Maximum allowed: "
		            "%dGiB.\n%s Consider archiving stopped sandboxes "
		            "to free up disk space.",
		            srv->opts.quota_disk, QUOTA_UPGRADE_TEXT);
		return -1;
	}
	return 0;
}

/* --error-rate: does the transition this request starts fail? */
static bool
draw_error(struct server *srv)
{
	return srv->opts.error_rate > 0 && rng_unit(srv) < srv->opts.error_rate;
}

/* count the request in its bucket; true when it is over the limit */
static bool
throttle(struct server *srv, struct org *o, int bucket, struct resp *r)
{
	const struct rate_limit *rl;
	struct rl_state *s;
	int64_t now = time_mono_ms(), reset_ms;
	char v[32];
	char *h;
	bool over;

	if (bucket < 0 || srv->opts.rl[bucket].limit <= 0)
		return false;
	rl = &srv->opts.rl[bucket];
	s = htab_get(srv->rl, emudb_org_id(o));
	if (!s) {
		s = xcalloc(1, sizeof(*s));
		htab_put(srv->rl, emudb_org_id(o), s);
	}
	if (s->count[bucket] == 0 ||
	    now - s->window_start[bucket] >= rl->window_ms) {
		s->window_start[bucket] = now;
		s->count[bucket] = 0;
	}
	over = s->count[bucket] >= rl->limit;
	if (!over)
		s->count[bucket]++;
	reset_ms = s->window_start[bucket] + rl->window_ms - now;
	h = xasprintf("X-RateLimit-Limit-%s", bucket_names[bucket]);
	snprintf(v, sizeof(v), "%d", rl->limit);
	resp_header(r, h, v);
	free(h);
	h = xasprintf("X-RateLimit-Remaining-%s", bucket_names[bucket]);
	snprintf(v, sizeof(v), "%d", rl->limit - s->count[bucket]);
	resp_header(r, h, v);
	free(h);
	h = xasprintf("X-RateLimit-Reset-%s", bucket_names[bucket]);
	snprintf(v, sizeof(v), "%" PRId64, (reset_ms + 999) / 1000);
	resp_header(r, h, v);
	free(h);
	if (over) {
		h = xasprintf("Retry-After-%s", bucket_names[bucket]);
		resp_header(r, h, v);
		free(h);
	}
	return over;
}

/* --- waiting ---------------------------------------------------------- */

static void
waiter_add(struct server *srv, struct req *q)
{
	if (srv->n_waiters == srv->cap_waiters) {
		srv->cap_waiters = srv->cap_waiters ? srv->cap_waiters * 2 : 16;
		srv->waiters =
		        xreallocarray(srv->waiters, (size_t)srv->cap_waiters,
		                      sizeof(*srv->waiters));
	}
	q->wait_pos = srv->n_waiters;
	srv->waiters[srv->n_waiters++] = q;
}

static void
waiter_del(struct server *srv, struct req *q)
{
	int i = q->wait_pos;

	if (i < 0)
		return;
	srv->waiters[i] = srv->waiters[--srv->n_waiters];
	srv->waiters[i]->wait_pos = i;
	q->wait_pos = -1;
}

/* suspend q until the ticker resumes it; call with the db lock held */
static void
suspend(struct server *srv, struct req *q, enum wait_kind kind, int64_t until)
{
	q->wait = kind;
	q->wait_until = until;
	q->resumed = false;
	waiter_add(srv, q);
	MHD_suspend_connection(q->con);
}

static bool
wait_over(struct server *srv, struct req *q, int64_t mono)
{
	struct sandbox *sb;

	if (srv->stopping || mono >= q->wait_until)
		return true;
	if (q->wait != W_STARTED)
		return false;
	sb = emudb_find_any(srv->db, q->wait_id);
	return !sb || sb->state == ST_STARTED || sb_errored(sb) ||
	       sb->desired == DS_DESTROYED;
}

static void *
ticker_main(void *arg)
{
	struct server *srv = arg;
	struct req **ready = NULL;
	int cap = 0;

	for (;;) {
		int n = 0;
		int64_t mono;
		bool stop = srv->stopping;

		emudb_lock(srv->db);
		emudb_tick(srv->db, false);
		mono = time_mono_ms();
		for (int i = 0; i < srv->n_waiters;) {
			struct req *q = srv->waiters[i];

			if (!wait_over(srv, q, mono)) {
				i++;
				continue;
			}
			waiter_del(srv, q);
			q->resumed = true;
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				ready = xreallocarray(ready, (size_t)cap,
				                      sizeof(*ready));
			}
			ready[n++] = q;
		}
		emudb_unlock(srv->db);
		for (int i = 0; i < n; i++)
			MHD_resume_connection(ready[i]->con);
		if (stop)
			break;
		time_sleep_ms(EMU_TICK_MS);
	}
	free(ready);
	return NULL;
}

/* --- request log ------------------------------------------------------ */

static void
log_request(struct server *srv, const struct req *q, const char *method,
            int status, int bucket)
{
	struct buf b = BUF_INIT;

	buf_addstr(&b, "{\"method\":");
	buf_add_json_string(&b, method);
	buf_addstr(&b, ",\"path\":");
	buf_add_json_string(&b, q->path);
	buf_addstr(&b, ",\"query\":");
	buf_add_json_string(&b, q->query);
	buf_addf(&b, ",\"status\":%d,\"bucket\":", status);
	if (bucket >= 0)
		buf_addf(&b, "\"%s\"}", bucket_short[bucket]);
	else
		buf_addstr(&b, "null}");
	if (srv->n_log == EMU_REQUEST_LOG_MAX) {
		/* drop the oldest tenth at once: amortised O(1) per request */
		int drop = EMU_REQUEST_LOG_MAX / 10;

		for (int i = 0; i < drop; i++)
			free(srv->log[i]);
		memmove(srv->log, srv->log + drop,
		        (size_t)(srv->n_log - drop) * sizeof(*srv->log));
		srv->n_log -= drop;
	}
	if (srv->n_log == srv->cap_log) {
		srv->cap_log = srv->cap_log ? srv->cap_log * 2 : 256;
		srv->log = xreallocarray(srv->log, (size_t)srv->cap_log,
		                         sizeof(*srv->log));
	}
	srv->log[srv->n_log++] = buf_detach(&b, NULL);
}

static void
log_clear(struct server *srv)
{
	for (int i = 0; i < srv->n_log; i++)
		free(srv->log[i]);
	srv->n_log = 0;
}

/* --- create ----------------------------------------------------------- */

static void
volume_uuid(const char *org_id, const char *name, char out[37])
{
	char h[SF_SHA256_HEX_LEN + 1];
	char *s = xasprintf("volume:%s:%s", org_id, name);

	sha256_hex(s, strlen(s), h);
	free(s);
	snprintf(out, 37, "%.8s-%.4s-4%.3s-a%.3s-%.12s", h, h + 8, h + 13,
	         h + 17, h + 20);
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

/* The per-sandbox maxima of create, checked cpu, memory, disk. 0, or 400. */
static int
check_maxima(const struct sandbox *sb, const struct req *q, struct resp *r)
{
	const struct {
		const char *what, *unit;
		int value, max;
	} res[] = {
		{ "CPU", "", sb->cpu, EMU_MAX_CPU },
		{ "Memory", "GB", sb->memory, EMU_MAX_MEMORY },
		{ "Disk", "GB", sb->disk, EMU_MAX_DISK },
	};

	for (size_t i = 0; i < sizeof(res) / sizeof(res[0]); i++)
		if (res[i].value > res[i].max) {
			resp_errorf(
			        r, q, 400,
			        "%s request %d%s exceeds maximum allowed per "
			        "sandbox (%d%s).\nPlease contact support to "
			        "increase your limits.",
			        res[i].what, res[i].value, res[i].unit,
			        res[i].max, res[i].unit);
			return -1;
		}
	return 0;
}

/*
 * build_sandbox: validate a CreateSandbox body and fill a new sandbox.
 * Returns NULL with r set to the error answer.
 */
static struct sandbox *
build_sandbox(struct server *srv, struct org *o, const cJSON *body,
              const struct req *q, struct resp *r)
{
	struct errs e = { BUF_INIT };
	struct sandbox *sb = sandbox_new();
	const char *name, *snap, *user, *target, *nal, *dal, *msg;
	const cJSON *bi, *vols, *gt, *it;
	bool cpu_set, gpu_set, mem_set, disk_set, as_set, aa_set, ad_set;
	int cpu, gpu, mem, disk, as, aa, ad, b;

	uuid_v4(sb->id);
	name = opt_string(body, "name", &e);
	if (name && emu_valid_name(name, &msg) < 0)
		err_add(&e, msg);
	snap = opt_string(body, "snapshot", &e);
	user = opt_string(body, "user", &e);
	target = opt_string(body, "target", &e);
	opt_map(body, "env", &sb->env, &e);
	opt_map(body, "labels", &sb->labels, &e);
	b = opt_bool(body, "public", &e);
	sb->public_ = b == 1;
	b = opt_bool(body, "networkBlockAll", &e);
	sb->network_block_all = b == 1;
	nal = opt_string(body, "networkAllowList", &e);
	dal = opt_string(body, "domainAllowList", &e);
	cpu = opt_int(body, "cpu", 0, &cpu_set, &e);
	gpu = opt_int(body, "gpu", 0, &gpu_set, &e);
	mem = opt_int(body, "memory", 0, &mem_set, &e);
	disk = opt_int(body, "disk", 0, &disk_set, &e);
	as = opt_int(body, "autoStopInterval", 0, &as_set, &e);
	aa = opt_int(body, "autoArchiveInterval", 0, &aa_set, &e);
	ad = opt_int(body, "autoDeleteInterval", -2147483647.0, &ad_set, &e);
	if (gpu_set && gpu > 1)
		err_add(&e, "gpu must not be greater than 1");
	gt = field(body, "gpuType");
	if (gt) {
		bool ok = true;

		if (cJSON_IsString(gt)) {
			ok = strcmp(gt->valuestring, "H100") == 0 ||
			     strcmp(gt->valuestring, "RTX-PRO-6000") == 0;
			if (ok)
				sb->gpu_type = xstrdup(gt->valuestring);
		} else if (cJSON_IsArray(gt)) {
			cJSON_ArrayForEach(it, gt)
			{
				if (!cJSON_IsString(it) ||
				    (strcmp(it->valuestring, "H100") != 0 &&
				     strcmp(it->valuestring, "RTX-PRO-6000") !=
				             0))
					ok = false;
				else if (!sb->gpu_type)
					sb->gpu_type = xstrdup(it->valuestring);
			}
		} else {
			ok = false;
		}
		if (!ok)
			err_add(&e, "gpuType must be one of the following "
			            "values: H100, RTX-PRO-6000");
	}
	vols = field(body, "volumes");
	if (vols && !cJSON_IsArray(vols))
		err_add(&e, "volumes must be an array");
	bi = field(body, "buildInfo");
	if (bi) {
		const cJSON *df = field(bi, "dockerfileContent");
		const cJSON *ch = field(bi, "contextHashes");

		if (!cJSON_IsObject(bi)) {
			err_add(&e, "buildInfo must be an object");
		} else if (!cJSON_IsString(df) || !df->valuestring[0]) {
			err_add(&e, "buildInfo.dockerfileContent should not be "
			            "empty");
		} else {
			sb->dockerfile = xstrdup(df->valuestring);
		}
		if (ch && !cJSON_IsArray(ch))
			err_add(&e, "buildInfo.contextHashes must be an array");
		cJSON_ArrayForEach(it, ch)
		{
			if (!cJSON_IsString(it)) {
				err_add(&e, "each value in buildInfo."
				            "contextHashes must be a string");
				break;
			}
			sandbox_add_context_hash(sb, it->valuestring);
		}
	}
	if (e.b.len) {
		resp_error(r, q, 400, e.b.data);
		goto fail;
	}

	/* controller rules */
	if (bi && snap && *snap) {
		resp_error(r, q, 400,
		           "Cannot specify a snapshot when using a build info "
		           "entry");
		goto fail;
	}
	if (bi && field(body, "linkedSandbox")) {
		resp_error(r, q, 400,
		           "Cannot specify a linked sandbox when using a build "
		           "info entry");
		goto fail;
	}
	if (!bi && (cpu || gpu || mem || disk)) {
		resp_error(r, q, 400,
		           "Cannot specify Sandbox resources when using a "
		           "snapshot");
		goto fail;
	}
	if (!bi && sb->gpu_type) {
		resp_error(r, q, 400,
		           "Cannot specify a GPU type when using a snapshot");
		goto fail;
	}
	if (gpu > 0 && !(ad_set && ad == 0)) {
		resp_error(r, q, 400,
		           "GPU sandboxes must be ephemeral - set "
		           "autoDeleteInterval to 0");
		goto fail;
	}

	/* service */
	if (bi) {
		sb->cpu = cpu ? cpu : EMU_DEFAULT_CPU;
		sb->memory = mem ? mem : EMU_DEFAULT_MEMORY;
		sb->disk = disk ? disk : EMU_DEFAULT_DISK;
		sb->gpu = gpu;
		sb->snapshot_ref =
		        snapshot_ref(sb->dockerfile, sb->context_hashes,
		                     sb->n_context_hashes);
		sb->state = ST_PENDING_BUILD;
	} else {
		const char *sname;
		const char *want =
		        snap && *snap ? snap : srv->opts.default_snapshot;

		if (emu_snapshot_lookup(want, &sname, &sb->cpu, &sb->memory,
		                        &sb->disk) < 0) {
			resp_errorf(r, q, 400,
			            "Snapshot %s not found. Did you add it "
			            "through the Daytona Dashboard?",
			            want);
			goto fail;
		}
		sb->snapshot = xstrdup(sname);
	}
	if (check_maxima(sb, q, r) < 0)
		goto fail;
	if (target && *target && strcmp(target, "us") != 0 &&
	    strcmp(target, "eu") != 0) {
		resp_error(r, q, 404, "Region not found");
		goto fail;
	}
	sb->target = xstrdup(target && *target ? target : EMU_DEFAULT_REGION);
	sb->user = xstrdup(user && *user ? user : EMU_DEFAULT_USER);
	if (nal && emu_valid_network_list(nal, &msg) < 0) {
		resp_error(r, q, 400, msg);
		goto fail;
	}
	if (dal && emu_valid_domain_list(dal, &msg) < 0) {
		resp_error(r, q, 400, msg);
		goto fail;
	}
	if (nal && *nal) {
		sb->network_allow_list = xstrdup(nal);
		sb->network_block_all = false;
	}
	if (dal && *dal)
		sb->domain_allow_list = xstrdup(dal);
	cJSON_ArrayForEach(it, vols)
	{
		const char *vid = opt_string(it, "volumeId", &e);
		const char *mp = opt_string(it, "mountPath", &e);
		const char *sp = opt_string(it, "subpath", &e);
		char uuid[37];

		if (!cJSON_IsObject(it) || !vid || !mp || e.b.len) {
			resp_error(r, q, 400,
			           "each volume needs a volumeId and a "
			           "mountPath string");
			goto fail;
		}
		if (emu_valid_mount_path(mp, &msg) < 0 ||
		    (sp && emu_valid_subpath(sp, &msg) < 0)) {
			resp_error(r, q, 400, msg);
			goto fail;
		}
		if (validate_uuid(vid))
			memcpy(uuid, vid, 37);
		else
			volume_uuid(emudb_org_id(o), vid, uuid);
		sandbox_add_volume(sb, uuid, mp, sp);
	}
	if (as_set)
		sb->auto_stop = as;
	if (aa_set)
		sb->auto_archive = aa == 0 || aa > EMU_MAX_AUTO_ARCHIVE
		                           ? EMU_MAX_AUTO_ARCHIVE
		                           : aa;
	if (ad_set)
		sb->auto_delete = ad;
	sb->name = xstrdup(name && *name ? name : sb->id);
	if (emudb_name_taken(srv->db, o, sb->name)) {
		resp_errorf(r, q, 409, "Sandbox with name %s already exists",
		            sb->name);
		goto fail;
	}
	buf_free(&e.b);
	return sb;
fail:
	buf_free(&e.b);
	sandbox_free(sb);
	return NULL;
}

/* --- list query ------------------------------------------------------- */

/* a decimal query or path parameter in [min, max]; 0 or -1 */
static int
parse_int_param(const char *v, int min, int max, int *out)
{
	long long n;
	const char *err;

	if (strnum_parse(v, min, max, &n, &err) < 0)
		return -1;
	*out = (int)n;
	return 0;
}

static int
parse_bool_param(const char *v)
{
	if (strcmp(v, "true") == 0)
		return 1;
	if (strcmp(v, "false") == 0)
		return 0;
	return -1;
}

/* fill lq from the query; 0, or -1 with r set */
static int
parse_list_query(const struct qparams *p, bool paginated,
                 struct emudb_query *lq, const struct req *q, struct resp *r)
{
	static const char *const sorts[] = { "lastActivityAt", "createdAt",
		                             "name",           "cpu",
		                             "memoryGib",      "diskGib" };
	static const char *const classes[] = { "container", "linux-vm",
		                               "android", "windows" };
	bool class_filter = false, class_match = false;

	if (paginated) {
		lq->page = 1;
		lq->sort = SORT_CREATED;
	}
	for (int i = 0; i < p->n; i++) {
		const char *k = p->v[i].key, *v = p->v[i].value;
		int *ip = NULL;
		int64_t *tp = NULL;

		if (strcmp(k, "limit") == 0) {
			if (parse_int_param(v, INT32_MIN, INT32_MAX,
			                    &lq->limit) < 0) {
				resp_error(r, q, 400,
				           "limit must be an integer number");
				return -1;
			}
			if (lq->limit < 1) {
				resp_error(r, q, 400,
				           "limit must not be less than 1");
				return -1;
			}
			if (lq->limit > EMU_LIST_LIMIT_MAX) {
				resp_error(r, q, 400,
				           "limit must not be greater than "
				           "200");
				return -1;
			}
		} else if (paginated && strcmp(k, "page") == 0) {
			if (parse_int_param(v, 1, INT32_MAX, &lq->page) < 0) {
				resp_error(r, q, 400,
				           "page must not be less than 1");
				return -1;
			}
		} else if (!paginated && strcmp(k, "cursor") == 0) {
			lq->cursor = *v ? v : NULL; /* "" is no cursor */
		} else if (strcmp(k, "id") == 0) {
			lq->id_prefix = v;
		} else if (strcmp(k, "name") == 0) {
			lq->name_prefix = v;
		} else if (strcmp(k, "labels") == 0) {
			cJSON *j = cJSON_Parse(v), *it;
			bool ok = cJSON_IsObject(j);
			cJSON *src = ok ? j : NULL;

			cJSON_ArrayForEach(it, src)
			{
				if (cJSON_IsString(it)) {
					kvmap_set(&lq->labels, it->string,
					          it->valuestring);
				} else {
					char *s = cJSON_PrintUnformatted(it);

					kvmap_set(&lq->labels, it->string,
					          s ? s : "");
					free(s);
				}
			}
			cJSON_Delete(j);
			if (!ok) {
				resp_error(r, q, 400,
				           "Invalid labels JSON format");
				return -1;
			}
			lq->has_labels = true;
		} else if (strcmp(k, "includeErroredDeleted") == 0) {
			int b = parse_bool_param(v);

			if (b < 0) {
				resp_error(r, q, 400,
				           "includeErroredDeleted must be a "
				           "boolean value");
				return -1;
			}
			lq->include_errored_deleted = b;
		} else if (strcmp(k, "states") == 0 ||
		           strcmp(k, "states[]") == 0) {
			int s = sb_state_parse(v);

			if (s < 0 || s == ST_DESTROYED) {
				resp_error(r, q, 400,
				           "each value in states must be one "
				           "of the following values: "
				           "creating, restoring, destroying, "
				           "started, stopped, starting, "
				           "stopping, error, build_failed, "
				           "pending_build, building_snapshot, "
				           "unknown, pulling_snapshot, "
				           "archived, archiving, resizing, "
				           "snapshotting, forking, pausing, "
				           "paused, resuming");
				return -1;
			}
			lq->states |= 1u << s;
		} else if (strcmp(k, "snapshots") == 0 ||
		           strcmp(k, "snapshots[]") == 0) {
			lq->snapshots = xreallocarray(
			        lq->snapshots, (size_t)lq->n_snapshots + 1,
			        sizeof(char *));
			lq->snapshots[lq->n_snapshots++] = xstrdup(v);
		} else if (strcmp(k, "regionIds") == 0 ||
		           strcmp(k, "regionIds[]") == 0) {
			lq->regions = xreallocarray(lq->regions,
			                            (size_t)lq->n_regions + 1,
			                            sizeof(char *));
			lq->regions[lq->n_regions++] = xstrdup(v);
		} else if (strcmp(k, "sandboxClasses") == 0 ||
		           strcmp(k, "sandboxClasses[]") == 0) {
			bool ok = false;

			for (int c = 0; c < 4; c++)
				ok = ok || strcmp(v, classes[c]) == 0;
			if (!ok) {
				resp_error(r, q, 400,
				           "each value in sandboxClasses must "
				           "be one of the following values: "
				           "container, linux-vm, android, "
				           "windows");
				return -1;
			}
			class_filter = true;
			class_match =
			        class_match || strcmp(v, "container") == 0;
		} else if ((strcmp(k, "minCpu") == 0 && (ip = &lq->min_cpu)) ||
		           (strcmp(k, "maxCpu") == 0 && (ip = &lq->max_cpu)) ||
		           (strcmp(k, "minMemoryGiB") == 0 &&
		            (ip = &lq->min_mem)) ||
		           (strcmp(k, "maxMemoryGiB") == 0 &&
		            (ip = &lq->max_mem)) ||
		           (strcmp(k, "minDiskGiB") == 0 &&
		            (ip = &lq->min_disk)) ||
		           (strcmp(k, "maxDiskGiB") == 0 &&
		            (ip = &lq->max_disk))) {
			if (parse_int_param(v, 1, INT32_MAX, ip) < 0) {
				resp_errorf(r, q, 400,
				            "%s must not be less than 1", k);
				return -1;
			}
		} else if (strcmp(k, "isPublic") == 0 ||
		           strcmp(k, "isRecoverable") == 0) {
			int b = parse_bool_param(v);

			if (b < 0) {
				resp_errorf(r, q, 400,
				            "%s must be a boolean value", k);
				return -1;
			}
			if (k[2] == 'P')
				lq->is_public = b;
			else
				lq->is_recoverable = b;
		} else if ((strcmp(k, "createdAtAfter") == 0 &&
		            (tp = &lq->created_after)) ||
		           (strcmp(k, "createdAtBefore") == 0 &&
		            (tp = &lq->created_before)) ||
		           (strcmp(k, "lastEventAfter") == 0 &&
		            (tp = &lq->activity_after)) ||
		           (strcmp(k, "lastEventBefore") == 0 &&
		            (tp = &lq->activity_before))) {
			if (time_parse_iso(v, tp) < 0) {
				resp_errorf(r, q, 400,
				            "%s must be a valid ISO 8601 date "
				            "string",
				            k);
				return -1;
			}
		} else if (strcmp(k, "sort") == 0) {
			int s = -1;

			for (int j = 0; j < 6; j++)
				if (strcmp(v, sorts[j]) == 0)
					s = j;
			if (s < 0) {
				resp_error(r, q, 400,
				           "sort must be one of the following "
				           "values: name, cpu, memoryGib, "
				           "diskGib, lastActivityAt, "
				           "createdAt");
				return -1;
			}
			lq->sort = (enum list_sort)s;
		} else if (strcmp(k, "order") == 0) {
			if (strcmp(v, "asc") == 0) {
				lq->desc = false;
			} else if (strcmp(v, "desc") == 0) {
				lq->desc = true;
			} else {
				resp_error(r, q, 400,
				           "order must be one of the following "
				           "values: asc, desc");
				return -1;
			}
		}
		/* unknown parameters are ignored, as without a whitelist */
	}
	lq->no_class_match = class_filter && !class_match;
	return 0;
}

/* --- the API ---------------------------------------------------------- */

static enum route
route_of(const char *method, const struct segs *s, const char **id)
{
	bool get = strcmp(method, "GET") == 0, post = !strcmp(method, "POST");
	const char *a;

	*id = NULL;
	if (s->n < 2 || strcmp(s->v[0], "api") != 0)
		return R_NONE;
	if (s->n == 2 && strcmp(s->v[1], "config") == 0)
		return get ? R_CONFIG : R_NONE;
	if (strcmp(s->v[1], "sandbox") != 0)
		return R_NONE;
	if (s->n == 2)
		return get ? R_LIST : post ? R_CREATE : R_NONE;
	*id = s->v[2];
	if (s->n == 3) {
		if (get && strcmp(s->v[2], "paginated") == 0)
			return R_PAGINATED;
		if (get)
			return R_GET;
		return strcmp(method, "DELETE") == 0 ? R_DELETE : R_NONE;
	}
	a = s->v[3];
	if (s->n == 4) {
		if (get)
			return strcmp(a, "build-logs-url") == 0 ? R_BUILD_LOGS
			                                        : R_NONE;
		if (strcmp(method, "PUT") == 0)
			return strcmp(a, "labels") == 0 ? R_LABELS : R_NONE;
		if (!post)
			return R_NONE;
		if (strcmp(a, "start") == 0)
			return R_START;
		if (strcmp(a, "stop") == 0)
			return R_STOP;
		if (strcmp(a, "archive") == 0)
			return R_ARCHIVE;
		if (strcmp(a, "recover") == 0)
			return R_RECOVER;
		if (strcmp(a, "pause") == 0)
			return R_PAUSE;
		if (strcmp(a, "resize") == 0)
			return R_RESIZE;
		if (strcmp(a, "network-settings") == 0)
			return R_NETWORK;
		if (strcmp(a, "backup") == 0)
			return R_BACKUP;
		if (strcmp(a, "last-activity") == 0)
			return R_ACTIVITY;
		if (strcmp(a, "snapshot") == 0)
			return R_SNAPSHOT;
		if (strcmp(a, "fork") == 0)
			return R_FORK;
		return R_NONE;
	}
	if (s->n == 6 && get && strcmp(a, "ports") == 0 &&
	    strcmp(s->v[5], "preview-url") == 0)
		return R_PREVIEW;
	if (s->n == 5 && post) {
		if (strcmp(a, "public") == 0)
			return R_PUBLIC;
		if (strcmp(a, "autostop") == 0)
			return R_AUTOSTOP;
		if (strcmp(a, "autoarchive") == 0)
			return R_AUTOARCHIVE;
		if (strcmp(a, "autodelete") == 0)
			return R_AUTODELETE;
	}
	return R_NONE;
}

static int
method_index(const char *m)
{
	for (int i = 0; i < M_OTHER; i++)
		if (strcmp(m, method_names[i]) == 0)
			return i;
	return M_OTHER;
}

/* start waiting for `started` (create/start/recover), or answer now */
static void
wait_or_answer(struct server *srv, struct req *q, struct resp *r,
               struct sandbox *sb, int status)
{
	if (srv->opts.max_wait_ms <= 0 || sb->state == ST_STARTED ||
	    srv->stopping) {
		resp_sandbox(r, status, sb);
		return;
	}
	memcpy(q->wait_id, sb->id, sizeof(sb->id));
	q->wait_ok_status = status;
	r->status = -1; /* suspended */
	suspend(srv, q, W_STARTED, time_mono_ms() + srv->opts.max_wait_ms);
}

static void
handle_api(struct server *srv, struct req *q, enum route rt, const char *id,
           const char *param, cJSON *body, struct org *o,
           const struct qparams *qp, struct resp *r)
{
	struct emu_db *db = srv->db;
	struct sandbox *sb = NULL;
	const char *msg;
	struct errs e = { BUF_INIT };
	int c;

	if (rt == R_LIST || rt == R_PAGINATED) {
		struct emudb_query lq;

		emudb_query_init(&lq);
		if (parse_list_query(qp, rt == R_PAGINATED, &lq, q, r) == 0) {
			r->status = 200;
			if (emudb_list(db, o, &lq, &r->body) < 0)
				resp_errorf(r, q, 400,
				            "Invalid cursor provided: %s",
				            lq.cursor);
		}
		emudb_query_clear(&lq);
		return;
	}
	if (rt == R_CREATE) {
		sb = build_sandbox(srv, o, body, q, r);
		if (!sb)
			return;
		if (check_quota(srv, o, sb, q, r) < 0) {
			sandbox_free(sb);
			return;
		}
		sb->will_fail = draw_error(srv);
		emudb_insert(db, o, sb, false);
		if (sb->state == ST_PENDING_BUILD)
			resp_sandbox(r, 200, sb);
		else
			wait_or_answer(srv, q, r, sb, 200);
		return;
	}
	if (rt == R_RESIZE && srv->opts.resize_disabled) {
		resp_error(r, q, 404, "Not Found");
		return;
	}
	sb = emudb_find(db, o, id);
	if (rt == R_ACTIVITY && sb && strcmp(sb->id, id) != 0)
		sb = NULL; /* this route takes an id only */
	if (!sb) {
		resp_errorf(r, q, 404, "Sandbox with ID or name %s not found",
		            id);
		return;
	}
	switch (rt) {
	case R_GET:
		resp_sandbox(r, 200, sb);
		break;
	case R_DELETE:
		if ((c = sb_check(sb, ACT_DELETE, &msg)) != 0) {
			resp_error(r, q, c, msg);
			break;
		}
		emudb_delete(db, sb);
		resp_sandbox(r, 200, sb);
		break;
	case R_START:
		c = sb_check(sb, ACT_START, &msg);
		if (c == 1) {
			resp_sandbox(r, 200, sb);
			break;
		}
		if (c) {
			resp_error(r, q, c, msg);
			break;
		}
		if (check_quota(srv, o, sb, q, r) < 0)
			break;
		sb->will_fail = draw_error(srv);
		emudb_start(db, sb);
		if (sb->state == ST_ARCHIVED || sb->state == ST_RESTORING)
			resp_sandbox(r, 200, sb);
		else
			wait_or_answer(srv, q, r, sb, 200);
		break;
	case R_STOP:
	case R_ARCHIVE:
		c = sb_check(sb, rt == R_STOP ? ACT_STOP : ACT_ARCHIVE, &msg);
		if (c) {
			resp_error(r, q, c, msg);
			break;
		}
		if (rt == R_STOP)
			emudb_stop(db, sb);
		else
			emudb_archive(db, sb);
		resp_sandbox(r, 200, sb);
		break;
	case R_RECOVER: {
		const char *skip = qparam_get(qp, "skipStart");
		bool skip_start = skip && strcmp(skip, "true") == 0;

		if ((c = sb_check(sb, ACT_RECOVER, &msg)) != 0) {
			resp_error(r, q, c, msg);
			break;
		}
		sb->will_fail = !skip_start && draw_error(srv);
		emudb_recover(db, sb, skip_start);
		if (skip_start)
			resp_sandbox(r, 200, sb);
		else
			wait_or_answer(srv, q, r, sb, 200);
		break;
	}
	case R_PAUSE:
		resp_error(r, q, 422,
		           "Pausing is not supported for this "
		           "sandbox");
		break;
	case R_RESIZE: {
		bool cs, ms, ds;
		int cpu = opt_int(body, "cpu", 1, &cs, &e);
		int mem = opt_int(body, "memory", 1, &ms, &e);
		int disk = opt_int(body, "disk", 1, &ds, &e);

		if (e.b.len) {
			resp_error(r, q, 400, e.b.data);
			break;
		}
		if ((c = sb_check(sb, ACT_RESIZE, &msg)) != 0) {
			resp_error(r, q, c, msg);
			break;
		}
		if (!cs)
			cpu = sb->cpu;
		if (!ms)
			mem = sb->memory;
		if (!ds)
			disk = sb->disk;
		if (cpu == sb->cpu && mem == sb->memory && disk == sb->disk) {
			resp_error(r, q, 400,
			           "No resource changes specified - sandbox is "
			           "already at the desired configuration");
			break;
		}
		if (disk != sb->disk && sb->state != ST_STOPPED) {
			resp_error(r, q, 400,
			           "Disk resize can only be performed on a "
			           "stopped sandbox");
			break;
		}
		if (disk < sb->disk) {
			resp_error(r, q, 400,
			           "Sandbox disk size cannot be decreased");
			break;
		}
		if (sb->state == ST_STARTED &&
		    (cpu < sb->cpu || mem < sb->memory)) {
			resp_error(r, q, 400,
			           "Sandbox CPU and memory can only be "
			           "increased while the sandbox is running");
			break;
		}
		if (cpu > EMU_MAX_CPU || mem > EMU_MAX_MEMORY ||
		    disk > EMU_MAX_DISK) {
			resp_errorf(r, q, 400,
			            "Resource request exceeds maximum allowed "
			            "per sandbox (%d CPU, %dGB memory, %dGB "
			            "disk).\nPlease contact support to "
			            "increase your limits.",
			            EMU_MAX_CPU, EMU_MAX_MEMORY, EMU_MAX_DISK);
			break;
		}
		emudb_resize(db, sb, cpu, mem, disk);
		resp_sandbox(r, 200, sb);
		break;
	}
	case R_LABELS: {
		const cJSON *l = field(body, "labels"), *it;

		if (!cJSON_IsObject(l)) {
			resp_error(r, q, 400, "labels must be an object");
			break;
		}
		cJSON_ArrayForEach(it, l)
		{
			if (!cJSON_IsString(it)) {
				resp_error(r, q, 400,
				           "labels must be an object of "
				           "strings");
				goto out;
			}
		}
		kvmap_clear(&sb->labels);
		cJSON_ArrayForEach(it, l)
		{
			kvmap_set(&sb->labels, it->string, it->valuestring);
		}
		emudb_touch(db, sb);
		resp_sandbox(r, 200, sb);
		break;
	}
	case R_PUBLIC:
		sb->public_ = strcmp(param, "true") == 0;
		emudb_touch(db, sb);
		resp_sandbox(r, 201, sb);
		break;
	case R_AUTOSTOP:
	case R_AUTOARCHIVE:
	case R_AUTODELETE: {
		int n;

		/* "+value" coercion into an int column */
		if (parse_int_param(param, INT32_MIN, INT32_MAX, &n) < 0) {
			resp_error(r, q, 500, "An unexpected error occurred.");
			break;
		}
		if (rt == R_AUTOSTOP) {
			if (n < 0) {
				resp_error(r, q, 400,
				           "Auto-stop interval must be "
				           "non-negative");
				break;
			}
			sb->auto_stop = n;
		} else if (rt == R_AUTOARCHIVE) {
			if (n < 0) {
				resp_error(r, q, 400,
				           "Auto-archive interval must be "
				           "non-negative");
				break;
			}
			sb->auto_archive = n == 0 || n > EMU_MAX_AUTO_ARCHIVE
			                           ? EMU_MAX_AUTO_ARCHIVE
			                           : n;
		} else {
			if (sb->gpu > 0) {
				resp_error(r, q, 400,
				           "GPU sandboxes must be ephemeral - "
				           "the auto-delete interval cannot be "
				           "changed");
				break;
			}
			sb->auto_delete = n;
		}
		emudb_touch(db, sb);
		resp_sandbox(r, 201, sb);
		break;
	}
	case R_NETWORK: {
		int block = opt_bool(body, "networkBlockAll", &e);
		const char *nal = opt_string(body, "networkAllowList", &e);
		const char *dal = opt_string(body, "domainAllowList", &e);

		if (e.b.len) {
			resp_error(r, q, 400, e.b.data);
			break;
		}
		if (block < 0 && !nal && !dal) {
			resp_error(r, q, 400,
			           "At least one of networkBlockAll, "
			           "networkAllowList or domainAllowList must "
			           "be provided");
			break;
		}
		if ((nal && emu_valid_network_list(nal, &msg) < 0) ||
		    (dal && emu_valid_domain_list(dal, &msg) < 0)) {
			resp_error(r, q, 400, msg);
			break;
		}
		if (block == 1) {
			sb->network_block_all = true;
			free(sb->network_allow_list);
			sb->network_allow_list = NULL;
		} else if (block == 0 && !nal) {
			sb->network_block_all = false;
			free(sb->network_allow_list);
			sb->network_allow_list = NULL;
		}
		if (nal) {
			free(sb->network_allow_list);
			sb->network_allow_list = *nal ? xstrdup(nal) : NULL;
			if (*nal)
				sb->network_block_all = false;
		}
		if (dal) {
			free(sb->domain_allow_list);
			sb->domain_allow_list = *dal ? xstrdup(dal) : NULL;
		}
		emudb_touch(db, sb);
		resp_sandbox(r, 200, sb);
		break;
	}
	case R_BACKUP:
		if (sb->auto_delete == 0) {
			resp_error(r, q, 400,
			           "Ephemeral sandboxes cannot be backed up");
			break;
		}
		resp_sandbox(r, 201, sb);
		break;
	case R_ACTIVITY:
		sb->last_activity_at = emudb_now(db);
		emudb_touch(db, sb);
		r->status = 201;
		break;
	case R_FORK:
		resp_error(r, q, 422,
		           "Forking is not supported for this sandbox");
		break;
	case R_SNAPSHOT: {
		const cJSON *n = field(body, "name");

		if (!cJSON_IsString(n) || !n->valuestring[0]) {
			resp_error(r, q, 400, "name must be a string");
			break;
		}
		if (sb->state != ST_STARTED && sb->state != ST_STOPPED) {
			resp_error(r, q, 400,
			           "Sandbox must be started or stopped to "
			           "create a snapshot");
			break;
		}
		if (sb_pending(sb)) {
			resp_error(r, q, 409,
			           "Sandbox state change in progress");
			break;
		}
		emudb_snapshot(db, sb);
		resp_sandbox(r, 200, sb);
		break;
	}
	case R_PREVIEW: {
		long long port;
		const char *err;
		char tok[SF_SHA256_HEX_LEN + 1];

		if (strnum_parse(param, 1, 65535, &port, &err) < 0) {
			resp_error(r, q, 400, "Invalid port");
			break;
		}
		sha256_hex(sb->id, strlen(sb->id), tok);
		tok[32] = '\0';
		r->status = 200;
		buf_addf(&r->body,
		         "{\"sandboxId\":\"%s\",\"url\":\"https://%lld-%s."
		         "proxy.app.daytona.io\",\"token\":\"%s\"}",
		         sb->id, port, sb->id, tok);
		break;
	}
	case R_BUILD_LOGS:
		r->status = 200;
		buf_addf(&r->body,
		         "{\"url\":\"http://127.0.0.1:%d/_emulator/"
		         "build-logs/%s\"}",
		         srv->port, sb->id);
		break;
	default:
		resp_error(r, q, 500, "An unexpected error occurred.");
		break;
	}
out:
	buf_free(&e.b);
}

/* --- test hooks ------------------------------------------------------- */

static void
hook_sandbox(struct server *srv, struct req *q, const char *key,
             const cJSON *body, struct resp *r)
{
	struct emu_db *db = srv->db;
	struct sandbox *sb = emudb_find_any(db, key);
	const cJSON *v;
	struct errs e = { BUF_INIT };
	int state = -1, desired = -1;
	bool set;
	int n;

	if (!sb) {
		resp_errorf(r, q, 404, "Sandbox with ID or name %s not found",
		            key);
		return;
	}
	v = field(body, "state");
	if (v && (!cJSON_IsString(v) ||
	          (state = sb_state_parse(v->valuestring)) < 0))
		err_add(&e, "state must be a sandbox state");
	v = field(body, "desiredState");
	if (v && (!cJSON_IsString(v) ||
	          (desired = sb_desired_parse(v->valuestring)) < 0))
		err_add(&e, "desiredState must be a desired state");
	v = field(body, "labels");
	if (v && !cJSON_IsObject(v))
		err_add(&e, "labels must be an object");
	if (e.b.len) {
		resp_error(r, q, 400, e.b.data);
		goto out;
	}
	if (state >= 0) {
		emudb_set_state(db, sb, (enum sb_state)state, desired);
	} else if (desired >= 0) {
		sb->desired = (enum sb_desired)desired;
		emudb_touch(db, sb);
	}
	if (field(body, "labels")) {
		kvmap_clear(&sb->labels);
		opt_map(body, "labels", &sb->labels, &e);
	}
	n = opt_int(body, "cpu", 0, &set, &e);
	if (set)
		sb->cpu = n;
	n = opt_int(body, "memory", 0, &set, &e);
	if (set)
		sb->memory = n;
	n = opt_int(body, "disk", 0, &set, &e);
	if (set)
		sb->disk = n;
	n = opt_int(body, "autoStopInterval", 0, &set, &e);
	if (set)
		sb->auto_stop = n;
	if ((n = opt_bool(body, "public", &e)) >= 0)
		sb->public_ = n;
	if ((n = opt_bool(body, "recoverable", &e)) >= 0)
		sb->recoverable = n;
	v = field(body, "errorReason");
	if (cJSON_IsString(v)) {
		free(sb->error_reason);
		sb->error_reason = xstrdup(v->valuestring);
	}
	if (e.b.len) {
		resp_error(r, q, 400, e.b.data);
		goto out;
	}
	emudb_touch(db, sb);
	resp_sandbox(r, 200, sb);
out:
	buf_free(&e.b);
}

static void
hook_seed(struct server *srv, struct req *q, struct org *o, const cJSON *body,
          struct resp *r)
{
	const cJSON *cnt = field(body, "count");
	const cJSON *pfx = field(body, "namePrefix");
	const cJSON *tmpl = field(body, "create");
	cJSON *create = tmpl ? cJSON_Duplicate(tmpl, 1) : cJSON_CreateObject();
	const char *prefix = cJSON_IsString(pfx) ? pfx->valuestring : "sb-";
	int count, made = 0;

	if (!cJSON_IsNumber(cnt) || cnt->valuedouble < 0 ||
	    cnt->valuedouble > EMU_MAX_SEED_COUNT || !cJSON_IsObject(create)) {
		resp_error(r, q, 400,
		           "seed needs a count (0..1000000) and an optional "
		           "create object");
		goto out;
	}
	count = (int)cnt->valuedouble;
	/* all or nothing: a taken name is found before anything is made */
	for (int i = 0; i < count; i++) {
		char *name = xasprintf("%s%05d", prefix, i);
		bool taken = emudb_name_taken(srv->db, o, name);

		if (taken)
			resp_errorf(r, q, 409,
			            "Sandbox with name %s already exists",
			            name);
		free(name);
		if (taken)
			goto out;
	}
	for (int i = 0; i < count; i++) {
		char *name = xasprintf("%s%05d", prefix, i);
		struct sandbox *sb;

		cJSON_DeleteItemFromObjectCaseSensitive(create, "name");
		cJSON_AddStringToObject(create, "name", name);
		free(name);
		sb = build_sandbox(srv, o, create, q, r);
		if (!sb)
			goto out;
		emudb_insert(srv->db, o, sb, true);
		made++;
	}
	r->status = 200;
	buf_addf(&r->body, "{\"created\":%d}", made);
out:
	cJSON_Delete(create);
}

static void
hook_counters(struct server *srv, struct resp *r)
{
	bool first = true;

	r->status = 200;
	buf_addf(&r->body, "{\"total\":%" PRIu64 ",\"routes\":{", srv->total);
	for (int i = 0; i < R__COUNT; i++) {
		if (!srv->counts[i])
			continue;
		buf_addf(&r->body, "%s\"%s\":%" PRIu64, first ? "" : ",",
		         routes[i].name, srv->counts[i]);
		first = false;
	}
	buf_addstr(&r->body, "},\"methods\":{");
	first = true;
	for (int i = 0; i < M__COUNT; i++) {
		if (!srv->methods[i])
			continue;
		buf_addf(&r->body, "%s\"%s\":%" PRIu64, first ? "" : ",",
		         method_names[i], srv->methods[i]);
		first = false;
	}
	buf_addstr(&r->body, "}}");
}

static void
handle_hook(struct server *srv, struct req *q, const char *method,
            const struct segs *s, cJSON *body, struct org *o, struct resp *r)
{
	bool post = strcmp(method, "POST") == 0;
	const char *what = s->n >= 2 ? s->v[1] : "";

	if (s->n == 2 && post && strcmp(what, "reset") == 0) {
		emudb_reset(srv->db);
		log_clear(srv);
		memset(srv->counts, 0, sizeof(srv->counts));
		memset(srv->methods, 0, sizeof(srv->methods));
		srv->total = 0;
		htab_free_values(srv->rl, free);
		srv->rl = htab_new();
		r->status = 200;
		buf_addstr(&r->body, "{\"reset\":true}");
	} else if (s->n == 3 && post && strcmp(what, "sandbox") == 0) {
		hook_sandbox(srv, q, s->v[2], body, r);
	} else if (s->n == 3 && strcmp(method, "GET") == 0 &&
	           strcmp(what, "sandbox") == 0) {
		/* the stored form, raw state included, changing nothing */
		struct sandbox *sb = emudb_find_any(srv->db, s->v[2]);

		if (!sb) {
			resp_errorf(r, q, 404,
			            "Sandbox with ID or name %s not found",
			            s->v[2]);
			return;
		}
		r->status = 200;
		sandbox_to_json(sb, SBJ_PERSIST, &r->body);
	} else if (s->n == 3 && post && strcmp(what, "clock") == 0 &&
	           strcmp(s->v[2], "advance") == 0) {
		const cJSON *ms = field(body, "ms");
		char iso[SF_ISO8601_LEN + 1];

		if (!cJSON_IsNumber(ms) || ms->valuedouble < 0) {
			resp_error(r, q, 400,
			           "ms must be a non-negative number");
			return;
		}
		emudb_advance(srv->db, (int64_t)ms->valuedouble);
		emudb_tick(srv->db, true);
		time_format_iso(emudb_now(srv->db), iso);
		r->status = 200;
		buf_addf(&r->body, "{\"now\":\"%s\"}", iso);
	} else if (s->n == 2 && strcmp(what, "requests") == 0 &&
	           (strcmp(method, "GET") == 0 ||
	            strcmp(method, "DELETE") == 0)) {
		r->status = 200;
		if (method[0] == 'D') {
			log_clear(srv);
			return;
		}
		resp_header(r, "Content-Type", "application/x-ndjson");
		for (int i = 0; i < srv->n_log; i++) {
			buf_addstr(&r->body, srv->log[i]);
			buf_addch(&r->body, '\n');
		}
	} else if (s->n == 2 && strcmp(what, "counters") == 0 &&
	           strcmp(method, "GET") == 0) {
		hook_counters(srv, r);
	} else if (s->n == 2 && post && strcmp(what, "seed") == 0) {
		if (!o) {
			resp_error(r, q, 400, "no organization to seed");
			return;
		}
		hook_seed(srv, q, o, body, r);
	} else if (s->n == 3 && strcmp(what, "build-logs") == 0 &&
	           strcmp(method, "GET") == 0) {
		r->status = 200;
		resp_header(r, "Content-Type", "text/plain");
		buf_addstr(&r->body, "daytona-emulator: build finished\n");
	} else {
		resp_errorf(r, q, 404, "Cannot %s %s", method, q->path);
	}
}

/* --- libmicrohttpd glue ----------------------------------------------- */

static struct org *
auth_org(struct server *srv, struct MHD_Connection *con)
{
	const char *h = MHD_lookup_connection_value(con, MHD_HEADER_KIND,
	                                            "Authorization");

	if (!h)
		return NULL;
	while (*h == ' ')
		h++;
	if (strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	h += 7;
	while (*h == ' ')
		h++;
	if (!*h)
		return NULL;
	return emudb_org_by_key(srv->db, h);
}

static void
config_json(struct server *srv, struct resp *r)
{
	r->status = 200;
	buf_addstr(&r->body, "{\"version\":\"" API_VERSION "\","
	                     "\"defaultSnapshot\":");
	buf_add_json_string(&r->body, srv->opts.default_snapshot);
	buf_addf(&r->body,
	         ",\"maxAutoArchiveInterval\":%d,\"maintananceMode\":false,"
	         "\"environment\":\"emulator\",\"linkedAccountsEnabled\":false,"
	         "\"proxyToolboxUrl\":\"" EMU_TOOLBOX_PROXY_URL "\","
	         "\"proxyTemplateUrl\":\"https://{{PORT}}-{{sandboxId}}."
	         "proxy.app.daytona.io\",\"dashboardUrl\":\"\","
	         "\"announcements\":{},\"rateLimit\":{",
	         EMU_MAX_AUTO_ARCHIVE);
	for (int i = 0; i < RL__COUNT; i++) {
		if (i)
			buf_addch(&r->body, ',');
		buf_addf(&r->body, "\"%s\":", bucket_names[i]);
		if (srv->opts.rl[i].limit > 0)
			buf_addf(&r->body, "{\"ttl\":%" PRId64 ",\"limit\":%d}",
			         srv->opts.rl[i].window_ms / 1000,
			         srv->opts.rl[i].limit);
		else
			buf_addstr(&r->body, "null");
	}
	buf_addstr(&r->body, "}}");
}

static bool
is_json(struct MHD_Connection *con)
{
	const char *ct = MHD_lookup_connection_value(con, MHD_HEADER_KIND,
	                                             "Content-Type");

	return ct && strcasestr(ct, "json");
}

static void
finish_log(struct server *srv, struct req *q, const char *method, int status)
{
	log_debug("%s %s%s%s -> %d", method, q->path, q->query[0] ? "?" : "",
	          q->query, status);
	srv->total++;
	srv->counts[q->route]++;
	srv->methods[method_index(method)]++;
	log_request(srv, q, method, status, q->bucket);
}

/* replace the answer by the fault drawn for q, if any */
static void
apply_fault(struct req *q)
{
	if (q->fault == -1)
		q->r->drop = true;
	else if (q->fault)
		resp_error(q->r, q, q->fault,
		           q->fault == 500 ? "An unexpected error occurred."
		                           : reason(q->fault));
}

/* answer q; r->status -1 means suspended, r->drop means close */
static void
process(struct server *srv, struct req *q, const char *method)
{
	struct resp *r = q->r;
	struct segs s;
	cJSON *body = NULL;
	struct qparams qp = { NULL, 0 };
	struct org *o;
	const char *id = NULL;
	bool hook = strncmp(q->path, "/_emulator/", 11) == 0;
	/* HEAD is routed as GET, as Express does; libmicrohttpd drops the body
	 */
	const char *as = strcmp(method, "HEAD") == 0 ? "GET" : method;

	if (segs_parse(q->path, &s) < 0 || qparams_parse(q->query, &qp) < 0) {
		segs_free(&s);
		s.n = 0;
	}
	emudb_lock(srv->db);
	if (q->resumed && q->wait == W_STARTED) {
		struct sandbox *sb = emudb_find_any(srv->db, q->wait_id);

		q->wait = W_NONE;
		if (!sb)
			resp_errorf(r, q, 404,
			            "Sandbox with ID or name %s not found",
			            q->wait_id);
		else if (sb_errored(sb))
			resp_errorf(r, q, 400, "Sandbox failed to start: %s",
			            sb->error_reason ? sb->error_reason
			                             : "unknown error");
		else
			resp_sandbox(r, q->wait_ok_status, sb);
		apply_fault(q);
		finish_log(srv, q, method, r->drop ? 0 : r->status);
		goto out;
	}
	if (q->resumed && q->wait == W_LATENCY) {
		q->wait = W_NONE;
		q->latency_done = true;
	}
	q->resumed = false;
	if (!hook) {
		/* known before any fault, so a faulted request keeps its bucket
		 */
		q->route = route_of(as, &s, &id);
		q->bucket = routes[q->route].bucket;
		if (!q->latency_done && srv->opts.latency_ms > 0 &&
		    !srv->stopping) {
			r->status = -1;
			suspend(srv, q, W_LATENCY,
			        time_mono_ms() + srv->opts.latency_ms);
			goto out;
		}
		if (srv->opts.drop_rate > 0 &&
		    rng_unit(srv) < srv->opts.drop_rate) {
			q->fault = -1;
		} else if (srv->opts.fail_rate > 0 &&
		           rng_unit(srv) < srv->opts.fail_rate) {
			static const int codes[] = { 500, 502, 503 };

			q->fault = codes[rng_next(srv) % 3];
		}
		if (q->fault && !srv->opts.fault_after) {
			apply_fault(q);
			finish_log(srv, q, method, r->drop ? 0 : r->status);
			goto out;
		}
	}
	if (q->too_big) {
		resp_error(r, q, 413, "request entity too large");
		goto logged;
	}
	/*
	 * The API ignores a body that is not declared JSON, as NestJS does;
	 * the hooks are not Daytona and take JSON whatever the Content-Type
	 * (curl -d sends x-www-form-urlencoded).
	 */
	if (q->body.len && (hook || is_json(q->con))) {
		body = cJSON_ParseWithLength(q->body.data, q->body.len);
		if (!cJSON_IsObject(body) && !cJSON_IsArray(body)) {
			r->status = 400;
			buf_reset(&r->body);
			buf_addstr(&r->body,
			           "{\"message\":\"Invalid JSON in request "
			           "body\",\"error\":\"Bad Request\","
			           "\"statusCode\":400}");
			goto logged;
		}
		if (emu_json_find_nul(q->body.data, q->body.len) >= 0) {
			char *m =
			        emu_json_nul_message(q->body.data, q->body.len);

			resp_error(r, q, 400, m);
			free(m);
			goto logged;
		}
	}
	if (!cJSON_IsObject(body)) {
		cJSON_Delete(body);
		body = cJSON_CreateObject();
	}
	o = auth_org(srv, q->con);
	if (hook && !o && !srv->loopback) {
		/* reachable from the network: hooks need a key too */
		resp_error(r, q, 401, "Invalid credentials");
		goto logged;
	}
	if (hook) {
		handle_hook(srv, q, as, &s, body,
		            o ? o : emudb_org_first(srv->db), r);
		goto out;
	}
	if (q->route == R_NONE) {
		resp_errorf(r, q, 404, "Cannot %s %s", method,
		            q->uri); /* originalUrl */
		goto logged;
	}
	if (q->route == R_CONFIG) {
		config_json(srv, r);
		goto logged;
	}
	if (!o) {
		resp_error(r, q, 401, "Invalid credentials");
		goto logged;
	}
	if (throttle(srv, o, q->bucket, r)) {
		resp_error(r, q, 429, "ThrottlerException: Too Many Requests");
		goto logged;
	}
	if (srv->opts.throttle_rate > 0 && q->bucket >= 0 &&
	    rng_unit(srv) < srv->opts.throttle_rate) {
		/* an injected 429, shaped like the throttler's */
		char *h = xasprintf("Retry-After-%s", bucket_names[q->bucket]);

		resp_header(r, h, "1");
		free(h);
		resp_error(r, q, 429, "ThrottlerException: Too Many Requests");
		goto logged;
	}
	handle_api(srv, q, q->route, id, s.n >= 5 ? s.v[4] : NULL, body, o, &qp,
	           r);
	if (r->status == -1)
		goto out;
logged:
	apply_fault(q);
	finish_log(srv, q, method, r->drop ? 0 : r->status);
out:
	emudb_unlock(srv->db);
	cJSON_Delete(body);
	qparams_free(&qp);
	segs_free(&s);
}

static enum MHD_Result
send_resp(struct req *q)
{
	struct resp *r = q->r;
	struct MHD_Response *mr;
	size_t len;
	char *data = buf_detach(&r->body, &len);
	bool has_ct = false;
	enum MHD_Result ret;

	mr = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
	if (!mr) {
		free(data);
		return MHD_NO;
	}
	for (size_t off = 0; off < r->headers.len;) {
		const char *name = r->headers.data + off;
		const char *value = name + strlen(name) + 1;

		if (strcasecmp(name, "Content-Type") == 0)
			has_ct = true;
		MHD_add_response_header(mr, name, value);
		off = (size_t)(value - r->headers.data) + strlen(value) + 1;
	}
	if (!has_ct && len)
		MHD_add_response_header(mr, "Content-Type",
		                        "application/json; charset=utf-8");
	MHD_add_response_header(mr, "X-Daytona-Api-Version", API_VERSION);
	ret = MHD_queue_response(q->con, (unsigned)r->status, mr);
	MHD_destroy_response(mr);
	return ret;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *con, const char *url,
           const char *method, const char *version, const char *upload,
           size_t *upload_size, void **ctx)
{
	struct server *srv = cls;
	struct req *q = *ctx;

	(void)url;
	(void)version;
	if (!q)
		return MHD_NO;
	if (!q->started) {
		const char *cl = MHD_lookup_connection_value(
		        con, MHD_HEADER_KIND, "Content-Length");
		long long n;
		const char *err;

		q->started = true;
		q->con = con;
		if (cl && strnum_parse(cl, 0, INT64_MAX, &n, &err) == 0 &&
		    n > EMU_BODY_MAX)
			q->too_big = true;
		return MHD_YES;
	}
	if (*upload_size) {
		if (!q->too_big && buf_add(&q->body, upload, *upload_size) < 0)
			q->too_big = true;
		*upload_size = 0;
		return MHD_YES;
	}
	if (q->r->status == -1 && !q->resumed)
		return MHD_YES; /* spurious call while suspended */
	q->r->status = 0;
	process(srv, q, method);
	if (q->r->drop)
		return MHD_NO;
	if (q->r->status == -1)
		return MHD_YES;
	return send_resp(q);
}

static void *
on_uri(void *cls, const char *uri, struct MHD_Connection *con)
{
	struct req *q = xcalloc(1, sizeof(*q));
	const char *qm = strchr(uri, '?');

	q->srv = cls;
	q->con = con;
	q->uri = xstrdup(uri);
	q->path = qm ? xstrndup(uri, (size_t)(qm - uri)) : xstrdup(uri);
	q->query = xstrdup(qm ? qm + 1 : "");
	buf_init_max(&q->body, EMU_BODY_MAX);
	q->wait_pos = -1;
	q->bucket = RL_NONE;
	q->r = xcalloc(1, sizeof(*q->r));
	return q;
}

static void
on_completed(void *cls, struct MHD_Connection *con, void **ctx,
             enum MHD_RequestTerminationCode toe)
{
	struct req *q = *ctx;

	(void)cls;
	(void)con;
	(void)toe;
	if (!q)
		return;
	free(q->uri);
	free(q->path);
	free(q->query);
	buf_free(&q->body);
	buf_free(&q->r->body);
	buf_free(&q->r->headers);
	free(q->r);
	free(q);
	*ctx = NULL;
}

/*
 * mhd_log: libmicrohttpd's own messages go to the debug log: on a busy
 * port it would say "Failed to bind to port 0" (the port it was handed
 * beside MHD_OPTION_SOCK_ADDR) before our message naming the real one.
 */
static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char *m = xvasprintf(fmt, ap);
	size_t n = strlen(m);

	(void)cls;
	while (n > 0 && m[n - 1] == '\n')
		m[--n] = '\0';
	log_debug("libmicrohttpd: %s", m);
	free(m);
}

bool
emu_addr_is_loopback(const struct sockaddr_storage *a)
{
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *a4 = (const struct sockaddr_in *)a;

		return (ntohl(a4->sin_addr.s_addr) >> 24) == 127;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)a;
		const uint8_t *b = a6->sin6_addr.s6_addr;

		if (IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr))
			return true;
		return IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr) && b[12] == 127;
	}
	return false;
}

int
server_new(const struct server_opts *opts, struct emu_db *db,
           struct server **out)
{
	struct server *srv = xcalloc(1, sizeof(*srv));
	const union MHD_DaemonInfo *info;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	                 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;

	srv->opts = *opts;
	srv->db = db;
	srv->loopback = emu_addr_is_loopback(&opts->addr);
	srv->rng = opts->seed;
	srv->rl = htab_new();
	if (opts->addr.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	srv->d = MHD_start_daemon(
	        flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_SOCK_ADDR,
	        (const struct sockaddr *)&opts->addr,
	        MHD_OPTION_THREAD_POOL_SIZE,
	        (unsigned)(opts->threads > 0 ? opts->threads
	                                     : EMU_THREADS_DEFAULT),
	        MHD_OPTION_CONNECTION_LIMIT, (unsigned)EMU_CONNECTION_LIMIT,
	        MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
	        MHD_OPTION_CONNECTION_TIMEOUT, 120u,
	        MHD_OPTION_URI_LOG_CALLBACK, on_uri, srv,
	        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
	        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, srv, MHD_OPTION_END);
	if (!srv->d) {
		htab_free(srv->rl);
		free(srv);
		return sf_error_set(SF_ENET, "cannot listen: %s",
		                    strerror(errno ? errno : EADDRINUSE));
	}
	info = MHD_get_daemon_info(srv->d, MHD_DAEMON_INFO_BIND_PORT);
	srv->port = info ? info->port : 0;
	if (pthread_create(&srv->ticker, NULL, ticker_main, srv) != 0) {
		server_free(srv);
		return sf_error_set(SF_ERROR, "cannot start the ticker thread");
	}
	srv->ticker_running = true;
	*out = srv;
	return 0;
}

int
server_port(const struct server *srv)
{
	return srv->port;
}

void
server_free(struct server *srv)
{
	if (!srv)
		return;
	if (srv->d)
		MHD_quiesce_daemon(srv->d);
	srv->stopping = 1;
	if (srv->ticker_running)
		pthread_join(srv->ticker, NULL);
	/*
	 * The ticker resumed every waiter on its way out, but a request on a
	 * kept-alive connection may have suspended since: resume until none
	 * is left (no new ones start while stopping), then let them answer.
	 */
	for (int i = 0; i < 200; i++) {
		struct req **v = NULL;
		int n;

		emudb_lock(srv->db);
		n = srv->n_waiters;
		if (n) {
			v = xreallocarray(NULL, (size_t)n, sizeof(*v));
			for (int k = 0; k < n; k++) {
				v[k] = srv->waiters[k];
				v[k]->wait_pos = -1;
				v[k]->resumed = true;
			}
			srv->n_waiters = 0;
		}
		emudb_unlock(srv->db);
		for (int k = 0; k < n; k++)
			MHD_resume_connection(v[k]->con);
		free(v);
		if (n == 0 && i > 0)
			break;
		time_sleep_ms(10);
	}
	if (srv->d)
		MHD_stop_daemon(srv->d);
	log_clear(srv);
	free(srv->log);
	free(srv->waiters);
	htab_free_values(srv->rl, free);
	free(srv);
}
