/*
 * client: the Daytona sandbox API client (daytona-api.md §1-§4, §10-§12).
 *
 *	struct dt_config cfg = DT_CONFIG_INIT;
 *	struct dt_client *c = NULL;
 *	struct dt_result r = DT_RESULT_INIT;
 *
 *	if (dt_config_from_env(&cfg, api_key_file, NULL) < 0 ||
 *	    dt_client_new(&cfg, &c) < 0)
 *		goto out;			// sf_error_last() says why
 *	if (dt_get(c, "browser-agent", &r) == 0)
 *		use(r.sandbox);			// r.status is the HTTP status
 *	dt_result_clear(&r);
 *	dt_client_free(c);
 *	dt_config_clear(&cfg);
 *
 * Every route returns 0 or a negative SF_E* code, and records the message
 * once with sf_error_set(), keeping the API's own text:
 *	404 -> SF_ENOTFOUND, 409 -> SF_ECONFLICT (SF_EEXISTS when the message
 *	says "already exists"), 400/422 -> SF_EINVALID, 401/403 -> SF_EAUTH,
 *	429 (after retries) -> SF_ERATELIMIT, 5xx, connect failure, timeout,
 *	dropped connection -> SF_ENET; other 4xx -> SF_ERROR.
 * e.g. "daytona: 409 Sandbox with name x already exists". A 401 adds
 * where to look: "; check DAYTONA_API_KEY (or --api-key-file) and
 * DAYTONA_API_URL (<the base URL>)". Any 2xx is success.
 *
 * Retries (daytona-api.md §11): 429 is retried on every route, because the
 * server's throttler refuses the request before any handler runs. 5xx and
 * connection failures are retried only on calls that are safe to repeat:
 * every GET, PUT labels and secrets, POST public/autostop/autopause/
 * autoarchive/autodelete/ttl/network-settings (they set absolute values; a
 * repeated ttl re-anchors it by the seconds between) and POST start (a
 * no-op on a started sandbox; a repeat during the transition answers 409,
 * which the caller handles). create, delete, stop, archive, pause,
 * recover and resize are
 * never repeated after a 5xx or a lost connection: the caller must look the
 * sandbox up (by name) and decide. Backoff is capped exponential with
 * jitter; Retry-After-<bucket> (or plain Retry-After) is honoured. Each
 * throttler bucket keeps a budget from X-RateLimit-Remaining-<bucket> and
 * X-RateLimit-Reset-<bucket>: when few requests remain in the window the
 * client spreads the rest over the window instead of running into 429.
 *
 * Threads: one dt_client may be used by several threads at once (each call
 * uses its own HTTP handle; rate-limit state and counters sit behind a
 * mutex). sf_error_last() is per thread.
 *
 * Secrets: the API key is copied into the client, sent only in the
 * Authorization header, wiped on dt_client_free(), and never appears in a
 * message or a log line (also not at -vv, which logs method, URL, status
 * and duration). A server or proxy that echoes the key back cannot put it
 * there either: every response body and transport error is cleaned as it
 * arrives, "Bearer <key>" and the key itself (when at least
 * DT_REDACT_MIN_KEY_LEN long) replaced with DT_REDACTED, before any
 * message, sandbox or log line is made from it. When the base URL is plain
 * http:// to a host that is not loopback (localhost, 127.0.0.0/8, ::1),
 * the client warns once on stderr, just before the key is first sent.
 *
 * Ownership: everything a dt_* function returns through a pointer belongs to
 * the caller and is released with the matching _free or _clear function.
 * Input structs (dt_config, dt_create, dt_list_query, dt_network, strmap
 * passed as input) are borrowed for the duration of the call only.
 * dt_sandbox_to_json() returns a new cJSON tree the caller frees with
 * cJSON_Delete(); adding it to another tree transfers it.
 */
#ifndef SF_DAYTONA_CLIENT_H
#define SF_DAYTONA_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "common/cancel.h"
#include "common/strmap.h"

/* ---- limits ------------------------------------------------------------ */

#define DT_DEFAULT_URL        "https://app.daytona.io/api"
#define DT_CONNECT_TIMEOUT_MS 10000L
/* Above the server's 30 s wait on create/start/recover. */
#define DT_REQUEST_TIMEOUT_MS 90000L
/* One call, all its attempts and waits included, gives up after this. */
#define DT_CALL_TIMEOUT_MS 300000L
/* A wait at least this long is said on stderr (when no hook shows it). */
#define DT_WAIT_NOTICE_MS 2000
/* Largest response body accepted (a list page of 200 is well under 1 MiB). */
#define DT_MAX_BODY         (16u * 1024u * 1024u)
#define DT_MAX_API_KEY_FILE 4096
/* Retries after the first attempt. */
#define DT_MAX_RETRIES     5
#define DT_BACKOFF_BASE_MS 200L
#define DT_BACKOFF_MAX_MS  20000L
/* Retry-After values above this are capped (a server may ask for hours). */
#define DT_RETRY_AFTER_MAX_MS 120000L
/* Budget: below this share of the window's limit (or DT_BUDGET_RESERVE_MIN
 * remaining when the limit is unknown) requests are spread over the rest of
 * the window. */
#define DT_BUDGET_RESERVE_PERCENT 20
#define DT_BUDGET_RESERVE_MIN     5
/* a caller waiting for a window's end while requests are in flight looks
 * again this often: their answers may show the window has room */
#define DT_BUDGET_RECHECK_MS 200
/* Long waits (Retry-After, budget) are slept in slices of this, so that
 * dt_client_cancel() takes effect quickly. */
#define DT_WAIT_SLICE_MS 100
/* What the API key is replaced with in any text a server sends back. */
#define DT_REDACTED "***"
/* The bare key is redacted from server text only when at least this long
 * ("Bearer <key>" always is); shorter strings match ordinary words. */
#define DT_REDACT_MIN_KEY_LEN 8
/* A page size for dt_list_all() when the query gives none. */
#define DT_LIST_LIMIT_MAX 200
/*
 * dt_list_all() stops a walk that cannot be a real organization's, in
 * constant memory: more pages than this (a million sandboxes at the
 * maximum page size), a cursor it was given before (a loop, however
 * long), a sandbox id it returned before (pages that repeat), or a page
 * with more items than asked for.
 */
#define DT_LIST_MAX_PAGES 5000

/* Labels and env are common/strmap.h maps (sorted by key, keys unique). */

/* ---- the Sandbox -------------------------------------------------------- */

/* The 22 states of daytona-api.md §5.1; DT_STATE_NONE = absent or a value
 * this client does not know (the raw string is kept). Also used for
 * desiredState (destroyed, started, stopped, archived, paused). */
enum dt_state {
	DT_STATE_NONE = 0,
	DT_STATE_CREATING,
	DT_STATE_RESTORING,
	DT_STATE_DESTROYED,
	DT_STATE_DESTROYING,
	DT_STATE_STARTED,
	DT_STATE_STOPPED,
	DT_STATE_STARTING,
	DT_STATE_STOPPING,
	DT_STATE_ERROR,
	DT_STATE_BUILD_FAILED,
	DT_STATE_PENDING_BUILD,
	DT_STATE_BUILDING_SNAPSHOT,
	DT_STATE_UNKNOWN,
	DT_STATE_PULLING_SNAPSHOT,
	DT_STATE_ARCHIVED,
	DT_STATE_ARCHIVING,
	DT_STATE_RESIZING,
	DT_STATE_SNAPSHOTTING,
	DT_STATE_FORKING,
	DT_STATE_PAUSING,
	DT_STATE_PAUSED,
	DT_STATE_RESUMING,
	DT_STATE_COUNT
};

/* dt_state_parse: NULL or unknown -> DT_STATE_NONE. */
enum dt_state dt_state_parse(const char *s);
/* dt_state_name: the API spelling ("build_failed"); "" for NONE. */
const char *dt_state_name(enum dt_state s);
/* started, stopped, archived, destroyed, paused */
int dt_state_is_stable(enum dt_state s);
/* error, build_failed */
int dt_state_is_error(enum dt_state s);
/* neither stable nor error nor NONE */
int dt_state_is_transitional(enum dt_state s);

struct dt_volume {
	char *volume_id;
	char *mount_path;
	char *subpath; /* NULL when absent */
};

/* Bits of dt_sandbox.present: which optional scalars the server sent (a
 * field that is absent or null reads as 0 and its bit is clear). */
enum dt_present {
	DT_HAS_PUBLIC = 1 << 0,
	DT_HAS_NETWORK_BLOCK_ALL = 1 << 1,
	DT_HAS_CPU = 1 << 2,
	DT_HAS_GPU = 1 << 3,
	DT_HAS_MEMORY = 1 << 4,
	DT_HAS_DISK = 1 << 5,
	DT_HAS_RECOVERABLE = 1 << 6,
	DT_HAS_AUTO_STOP = 1 << 7,
	DT_HAS_AUTO_ARCHIVE = 1 << 8,
	DT_HAS_AUTO_DELETE = 1 << 9,
	DT_HAS_ENV = 1 << 10,
	DT_HAS_VOLUMES = 1 << 11,
	DT_HAS_BUILD_INFO = 1 << 12,
	DT_HAS_AUTO_PAUSE = 1 << 13,
	DT_HAS_SPOT = 1 << 14,
	DT_HAS_KVM = 1 << 15,
};

/* Strings are NULL when absent or null. */
struct dt_sandbox {
	char *id;
	char *name;
	char *organization_id;
	char *target;
	char *snapshot; /* NULL for image (buildInfo) sandboxes */
	char *user;
	struct strmap env;    /* full DTO only (is_full) */
	struct strmap labels; /* always */
	int is_public;
	int network_block_all;      /* full DTO only */
	char *network_allow_list;   /* full DTO only; comma list */
	char *domain_allow_list;    /* full DTO only; comma list */
	int cpu, gpu, memory, disk; /* memory and disk in GiB */
	char *gpu_type;
	char *sandbox_class;
	char *state_raw; /* as sent, e.g. "pending_build" */
	char *desired_state_raw;
	enum dt_state state;
	enum dt_state desired_state;
	char *error_reason;
	int recoverable;
	int auto_stop_interval; /* minutes */
	int auto_archive_interval;
	int auto_delete_interval;
	int auto_pause_interval;   /* 0.218: classes that can pause */
	int spot;                  /* 0.218: a spot GPU sandbox */
	char *outbound_proxy_url;  /* 0.218, full DTO only */
	char *auto_destroy_at;     /* 0.218: when ttlMinutes destroys it */
	struct dt_volume *volumes; /* full DTO only */
	size_t n_volumes;
	char *dockerfile_content; /* buildInfo.dockerfileContent (full only) */
	char *snapshot_ref;       /* buildInfo.snapshotRef (full only) */
	char *created_at;         /* ISO-8601 as sent */
	char *updated_at;
	char *last_activity_at;
	int64_t created_at_ms; /* parsed; 0 when absent or unparsable */
	int64_t updated_at_ms;
	int64_t last_activity_at_ms;
	unsigned present; /* enum dt_present bits */
	int is_full;      /* 1: from a full Sandbox DTO, 0: a list item */
	int kvm;          /* 0.218, full DTO only: /dev/kvm exposed */
	/* (members ordered without padding: 100,000 of these are held) */
	/* dt_sandbox_from_json puts the plain string members (not env,
	 * labels, volumes, buildInfo, the proxy URL) in the sandbox's own
	 * allocation, inline_len bytes after the struct: one allocation
	 * instead of a dozen per sandbox. Such a member is never freed or
	 * overwritten directly: change it with dt_sandbox_set_str(). */
	unsigned inline_len;
};

/*
 * dt_sandbox_from_json: build a sandbox from a Sandbox or SandboxListItem
 * object. is_full says which (list items lack env, network, volumes,
 * buildInfo). Tolerates null and absent fields everywhere and unknown
 * extra fields; fails with SF_EINVALID only when obj is not an object or a
 * known field has the wrong JSON type.
 */
int dt_sandbox_from_json(const cJSON *obj, int is_full,
                         struct dt_sandbox **out);
/* dt_sandbox_to_json: the API's field names; round-trips through
 * dt_sandbox_from_json(). Absent fields stay absent. */
cJSON *dt_sandbox_to_json(const struct dt_sandbox *sb);
/*
 * dt_sandbox_print: append to b the text cJSON_PrintUnformatted() gives for
 * dt_sandbox_to_json(sb), without building the tree. Flags:
 * DT_PRINT_NO_ENV leaves env out (what the state keeps);
 * DT_PRINT_NETWORK_LAST puts the network settings, when known, last and
 * as strings ("" for none), as the state records them.
 */
enum { DT_PRINT_NO_ENV = 1, DT_PRINT_NETWORK_LAST = 2 };
struct buf;
void dt_sandbox_print(const struct dt_sandbox *sb, unsigned flags,
                      struct buf *b);
struct dt_sandbox *dt_sandbox_dup(const struct dt_sandbox *sb);
void dt_sandbox_free(struct dt_sandbox *sb);
/* dt_sandbox_set_str: *member (a char * member of sb) becomes a copy of
 * value (NULL: none), the old value freed unless it is inline. */
void dt_sandbox_set_str(struct dt_sandbox *sb, char **member,
                        const char *value);

/*
 * The settings Daytona changes in place with one call each,
 * POST /sandbox/{id}/ROUTE/{value}: a table, so a new one is a row (and
 * its member in struct dt_sandbox) and every caller follows. key is the
 * API's field name, which is also the manifest's (manifests/spec.c).
 */
enum dt_setting {
	DT_SET_PUBLIC = 0,
	DT_SET_AUTO_STOP,
	DT_SET_AUTO_ARCHIVE,
	DT_SET_AUTO_DELETE,
	DT_SET_AUTO_PAUSE, /* 0.218 */
	DT_SET_COUNT
};

struct dt_setting_info {
	enum dt_setting id;
	const char *key;   /* "autoStopInterval" */
	const char *route; /* "autostop" */
	int is_bool;       /* true/false in the route and the body */
	size_t off;        /* offsetof(struct dt_sandbox, its int member) */
	unsigned present;  /* its enum dt_present bit */
};

extern const struct dt_setting_info dt_settings[DT_SET_COUNT];

/* dt_setting_by_key / _by_route: the row, or NULL. */
const struct dt_setting_info *dt_setting_by_key(const char *key);
const struct dt_setting_info *dt_setting_by_route(const char *route);
/* dt_sandbox_setting: the live value of s in sb; 0, or -1 when the server
 * did not send it. */
int dt_sandbox_setting(const struct dt_sandbox *sb, enum dt_setting s,
                       int *value);

/* A growable array of owned sandboxes. */
struct dt_sandbox_list {
	struct dt_sandbox **items;
	size_t n;
	size_t alloc;
};

#define DT_SANDBOX_LIST_INIT \
	{                    \
		NULL, 0, 0   \
	}

/* dt_sandbox_list_add: append sb; the list takes ownership. */
void dt_sandbox_list_add(struct dt_sandbox_list *l, struct dt_sandbox *sb);
/* dt_sandbox_list_free: free every item and the array; l itself is the
 * caller's and is left empty (NULL-safe). */
void dt_sandbox_list_free(struct dt_sandbox_list *l);

/* ---- results ------------------------------------------------------------ */

/* Filled by every route when non-NULL. Initialise with DT_RESULT_INIT,
 * release with dt_result_clear(). */
struct dt_result {
	int status;   /* HTTP status of the last attempt; 0: no response */
	int attempts; /* requests sent for this call */
	/* The Sandbox of a 2xx body (routes that return one), else NULL.
	 * Owned by the result; take it with `sb = r.sandbox; r.sandbox =
	 * NULL;`. */
	struct dt_sandbox *sandbox;
};

#define DT_RESULT_INIT     \
	{                  \
		0, 0, NULL \
	}

void dt_result_clear(struct dt_result *r);

/* ---- configuration and the client -------------------------------------- */

struct dt_http_request;
struct dt_http_response;

/*
 * The transport (STYLE.md §22). send() performs one HTTP exchange. It
 * returns 0 when a response arrived (whatever its status), or SF_ENET with
 * resp->failure and resp->error set when the connection failed, timed out
 * or was dropped, or the body passed req->max_body. See daytona/transport.h.
 */
struct dt_transport {
	int (*send)(void *ctx, const struct dt_http_request *req,
	            struct dt_http_response *resp);
	void *ctx;
};

/* Time source for backoff and budgets; NULL in dt_config = the real
 * monotonic clock and nanosleep. The fake transport provides a fake one. */
struct dt_clock {
	int64_t (*now_ms)(void *ctx);
	void (*sleep_ms)(void *ctx, int64_t ms);
	void *ctx;
};

/*
 * Client settings. dt_client_new() copies what it needs; the config may be
 * freed right after. Strings are borrowed unless `owned` is set (by
 * dt_config_from_env), in which case dt_config_clear() frees them and wipes
 * the key.
 */
struct dt_config {
	const char *base_url;        /* NULL: DT_DEFAULT_URL; ".../api" */
	const char *api_key;         /* required */
	const char *target;          /* default `target` on create; NULL none */
	const char *organization_id; /* X-Daytona-Organization-ID; NULL none */
	const char *version;         /* User-Agent sandform/VERSION; NULL:
	                                PACKAGE_VERSION */
	long connect_timeout_ms;     /* 0: DT_CONNECT_TIMEOUT_MS */
	long request_timeout_ms;     /* 0: DT_REQUEST_TIMEOUT_MS */
	int max_retries;             /* 0: DT_MAX_RETRIES; < 0: no retries */
	long backoff_base_ms;        /* 0: DT_BACKOFF_BASE_MS */
	long backoff_max_ms;         /* 0: DT_BACKOFF_MAX_MS */
	const struct dt_transport *transport; /* NULL: libcurl */
	const struct dt_clock *clock;         /* NULL: real time */
	int owned;
	/* CAs to trust instead of the system's (PEM bundle, hashed
	 * directory); NULL: the system's. TLS is verified either way. */
	const char *ca_file;
	const char *ca_dir;
	/* give up on one call (all its attempts and waits) after this;
	 * 0: DT_CALL_TIMEOUT_MS */
	long call_timeout_ms;
};

#define DT_CONFIG_INIT                                                      \
	{                                                                   \
		NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, 0, \
		        NULL, NULL, 0                                       \
	}

/*
 * dt_config_from_env: fill cfg from the environment: the key from
 * api_key_file when not NULL (trailing whitespace stripped; a warning on
 * stderr when the file is readable by group or others) else
 * DAYTONA_API_KEY; DAYTONA_API_URL, DAYTONA_TARGET, DAYTONA_ORGANIZATION_ID;
 * the CAs from ca_file when not NULL, else SSL_CERT_FILE, and SSL_CERT_DIR
 * (each must be readable). Fails with SF_EAUTH when there is no key,
 * SF_EINVALID for an empty key file or a URL that is not http:// or
 * https://, SF_EIO when a file cannot be read. Other fields of cfg are left
 * as they are.
 */
int dt_config_from_env(struct dt_config *cfg, const char *api_key_file,
                       const char *ca_file);
/* dt_config_clear: free owned strings (wiping the key); NULL-safe. */
void dt_config_clear(struct dt_config *cfg);

struct dt_client;

int dt_client_new(const struct dt_config *cfg, struct dt_client **out);
void dt_client_free(struct dt_client *c);
/*
 * dt_client_cancel: stop waiting and sending. Calls in flight finish their
 * current HTTP exchange; every later attempt, retry or call fails at once
 * with SF_EINTR. Async-signal-safe (it sets one sig_atomic_t flag).
 */
void dt_client_cancel(struct dt_client *c);

/* Counters since dt_client_new, for benchmarks and run summaries. */
struct dt_stats {
	uint64_t requests;  /* HTTP exchanges attempted */
	uint64_t retries;   /* of which repeats */
	uint64_t throttled; /* 429 answers */
	uint64_t net_failures;
	uint64_t server_errors; /* 5xx answers */
	uint64_t paced;         /* requests delayed by the budget */
	int64_t waited_ms;      /* total backoff and pacing sleep */
};

void dt_client_stats(struct dt_client *c, struct dt_stats *out);

/* The throttler buckets of daytona-api.md §11. */
enum dt_bucket {
	DT_BUCKET_AUTHENTICATED = 0, /* list, get, labels, public, ... */
	DT_BUCKET_CREATE,            /* create */
	DT_BUCKET_LIFECYCLE, /* delete/start/stop/recover/resize/archive */
	DT_BUCKET_COUNT
};

/* "authenticated", "sandbox-create", "sandbox-lifecycle" */
const char *dt_bucket_name(enum dt_bucket b);

/* Why the client is about to sleep before sending (struct dt_hooks). */
enum dt_wait_reason {
	DT_WAIT_RETRY = 0,    /* backoff (or a 503's Retry-After) */
	DT_WAIT_RATE_LIMITED, /* a 429: the bucket is blocked */
	DT_WAIT_BUDGET,       /* few requests left in the window: pacing */
};

/*
 * Hooks of one run (apply) into the client, set with dt_client_set_hooks()
 * while no other thread uses the client; all fields may be NULL.
 * cancel: SF_CANCEL_STOP ends every backoff, Retry-After and budget sleep
 * at once and sends nothing more (calls fail with SF_EINTR and
 * res->attempts counts only what was sent); SF_CANCEL_ABORT also aborts
 * the exchange in flight (libcurl), which fails with SF_EINTR: its outcome
 * is unknown. on_wait: called, from the calling thread and without any
 * client lock held, before each such sleep with the bucket, the reason and
 * the planned wait.
 */
struct dt_hooks {
	const struct sf_cancel *cancel;
	void (*on_wait)(void *arg, enum dt_bucket bucket,
	                enum dt_wait_reason why, int64_t ms);
	void *arg;
};

/*
 * dt_count_fn: told after every HTTP exchange (retries included) the
 * call's bucket and the HTTP status, 0 when no answer came (a network
 * failure). Called from the calling thread, with no client lock held, from
 * as many threads as calls run in parallel: it must be thread-safe and
 * must not call the client. The library only counts; the caller reports.
 */
typedef void (*dt_count_fn)(void *arg, enum dt_bucket bucket, int status);
/* dt_client_set_counter: set (fn NULL: clear) the counter hook, while no
 * other thread uses the client. It stays across dt_client_set_hooks(). */
void dt_client_set_counter(struct dt_client *c, dt_count_fn fn, void *arg);

/* dt_client_set_hooks: replace the hooks (NULL: none); *h is copied. */
void dt_client_set_hooks(struct dt_client *c, const struct dt_hooks *h);
/* dt_client_get_hooks: the current hooks (to restore them later). */
void dt_client_get_hooks(struct dt_client *c, struct dt_hooks *out);
/*
 * dt_client_set_demand: the run will still send about n calls in bucket b
 * (-1: unknown, the default; each request taken counts one off). With an
 * unknown demand the budget spreads a window's last fifth over the rest of
 * the window; with a known one it sends what the window has left at once
 * and waits for the next window for the rest (spreading would not end the
 * run sooner, and a slot it left unused would cost a whole window).
 */
void dt_client_set_demand(struct dt_client *c, enum dt_bucket b, long long n);

/*
 * dt_backoff_ms: the wait before retry number `retry` (1 = first retry):
 * base * 2^(retry-1) capped at max, with jitter: uniformly in [d/2, d].
 */
int64_t dt_backoff_ms(int retry, long base_ms, long max_ms);

/* ---- routes ------------------------------------------------------------ */

struct dt_list_query {
	const struct strmap *labels; /* containment filter; NULL: none */
	const char *name_prefix;     /* case-insensitive prefix; NULL: none */
	const enum dt_state *states; /* raw-state filter, n_states of them */
	size_t n_states;
	const char *sort;   /* "createdAt" for a stable walk; NULL: server's */
	const char *order;  /* "asc" / "desc"; NULL: server's */
	int limit;          /* 1..200; 0: server default (dt_list_all: 200) */
	const char *cursor; /* NULL: first page */
	int include_errored_deleted;
	/* lastEventAfter: only sandboxes whose lastActivityAt (bumped by
	 * every state change) is at or after this ISO-8601 time; NULL: all */
	const char *last_event_after;
};

/* One page of a list. Release with dt_page_clear(). */
struct dt_page {
	struct dt_sandbox_list items; /* list items (is_full = 0) */
	char *next_cursor;            /* NULL on the last page */
};

#define DT_PAGE_INIT                       \
	{                                  \
		DT_SANDBOX_LIST_INIT, NULL \
	}

void dt_page_clear(struct dt_page *p);

/* dt_list: GET /sandbox, one page. */
int dt_list(struct dt_client *c, const struct dt_list_query *q,
            struct dt_page *out, struct dt_result *res);

/*
 * dt_list_all: walk every page of q (q->cursor is the start), calling cb
 * with each item; cb owns the item (keep it or dt_sandbox_free it). A
 * non-zero return from cb stops the walk and is returned. *pages (may be
 * NULL) gets the number of pages fetched. A server that never ends the
 * walk (see DT_LIST_MAX_PAGES) fails it with SF_EINVALID and a message
 * saying what it did.
 */
typedef int (*dt_list_cb)(void *arg, struct dt_sandbox *sb);
int dt_list_all(struct dt_client *c, const struct dt_list_query *q,
                dt_list_cb cb, void *arg, size_t *pages);
/* dt_list_all_into: the same, appending to out (left as is on error). */
int dt_list_all_into(struct dt_client *c, const struct dt_list_query *q,
                     struct dt_sandbox_list *out, size_t *pages);

/* The CreateSandbox body. Everything NULL/0 is not sent. */
struct dt_create {
	const char *name;
	const char *snapshot; /* NULL with no image: the server default */
	const char *image; /* sent as buildInfo.dockerfileContent "FROM x\n" */
	const char *dockerfile; /* raw dockerfileContent (overrides image) */
	const char *user;
	const struct strmap *env;
	const struct strmap *labels;
	/* the settings (struct dt_setting_info): sent when has_setting */
	int has_setting[DT_SET_COUNT];
	int setting[DT_SET_COUNT];
	int has_network_block_all, network_block_all;
	const char *network_allow_list; /* comma list */
	const char *domain_allow_list;
	const char *target;         /* NULL: the config's target, else none */
	int cpu, gpu, memory, disk; /* 0: not sent */
	const struct dt_volume *volumes; /* volume_id may be an id or name */
	size_t n_volumes;
	/* 0.218 (@daytona/api-client create-sandbox.ts) */
	int has_ttl, ttl_minutes;
	int spot, kvm; /* 0: not sent */
	const char *outbound_proxy_url;
	const char *const *gpu_types; /* in order of preference */
	size_t n_gpu_types;
	/* platform secrets: env name -> organization secret name, sent as
	 * "secrets": [{ENV: name}, ...] */
	const struct strmap *secrets;
};

/* Network settings; NULL strings are not sent, "" clears a list. */
struct dt_network {
	int has_block_all, block_all;
	const char *allow_list;
	const char *domain_allow_list;
};

struct dt_server_config {
	char *default_snapshot;        /* NULL when absent */
	int max_auto_archive_interval; /* 0 when absent */
};

void dt_server_config_clear(struct dt_server_config *sc);

/* In all routes `id` is a sandbox id or name (URL-encoded by the client). */
int dt_get(struct dt_client *c, const char *id, struct dt_result *res);
int dt_create(struct dt_client *c, const struct dt_create *req,
              struct dt_result *res);
int dt_start(struct dt_client *c, const char *id, struct dt_result *res);
int dt_stop(struct dt_client *c, const char *id, int force,
            struct dt_result *res);
int dt_archive(struct dt_client *c, const char *id, struct dt_result *res);
int dt_delete(struct dt_client *c, const char *id, struct dt_result *res);
int dt_recover(struct dt_client *c, const char *id, struct dt_result *res);
/* dt_resize: 0 = not sent; at least one must be non-zero. */
int dt_resize(struct dt_client *c, const char *id, int cpu, int memory,
              int disk, struct dt_result *res);
/* dt_set_labels: PUT, replaces the whole map. */
int dt_set_labels(struct dt_client *c, const char *id,
                  const struct strmap *labels, struct dt_result *res);
/* dt_set_setting: POST /sandbox/{id}/ROUTE/{value} of the setting s. */
int dt_set_setting(struct dt_client *c, const char *id, enum dt_setting s,
                   int value, struct dt_result *res);
/* dt_set_ttl: POST /sandbox/{id}/ttl/{minutes} (0.218; re-anchored from
 * now, 0 disables). */
int dt_set_ttl(struct dt_client *c, const char *id, int minutes,
               struct dt_result *res);
/* dt_set_secrets: PUT /sandbox/{id}/secrets, replacing the mounted set
 * (env name -> organization secret name; empty detaches all). */
int dt_set_secrets(struct dt_client *c, const char *id,
                   const struct strmap *secrets, struct dt_result *res);
/* dt_pause: POST /sandbox/{id}/pause (classes that can pause; dt_start
 * resumes). */
int dt_pause(struct dt_client *c, const char *id, struct dt_result *res);
int dt_set_network(struct dt_client *c, const char *id,
                   const struct dt_network *net, struct dt_result *res);
/*
 * dt_secret_names: GET /secret (0.218.0 src/api/secret-api.js listSecrets,
 * an array of Secret): the organization secrets' names, as the keys of
 * out (values ""). The values of secrets are never returned by the API.
 */
int dt_secret_names(struct dt_client *c, struct strmap *out,
                    struct dt_result *res);

/* dt_get_config: GET /config. */
int dt_get_config(struct dt_client *c, struct dt_server_config *out,
                  struct dt_result *res);

/* ---- volumes and snapshots (0.218 VolumesApi, SnapshotsApi) ------------- */

/* A VolumeDto or SnapshotDto (volume-dto.d.ts, snapshot-dto.d.ts). */
struct dt_res {
	char *id;
	char *name;
	char *state;        /* as sent: "ready", "active", "error", ... */
	char *error_reason; /* NULL when null */
	char *image_name;   /* snapshots */
	int cpu, gpu, mem, disk;
	int general; /* a snapshot every organization sees */
};

void dt_res_free(struct dt_res *r);
/* dt_res_list: NULL-safe free of n items and the array. */
void dt_res_list_free(struct dt_res **v, size_t n);

/* The CreateSnapshot body (create-snapshot.d.ts). */
struct dt_snapshot_create {
	const char *name;
	const char *image_name;     /* or dockerfile */
	const char *dockerfile;     /* buildInfo.dockerfileContent */
	int cpu, memory, disk, gpu; /* 0: not sent */
	const char *region_id;
	const char *sandbox_class;
};

/*
 * GET /volumes (every volume of the organization), GET
 * /volumes/by-name/{name}, POST /volumes {name}, DELETE /volumes/{id};
 * GET /snapshots/{idOrName}, POST /snapshots, DELETE /snapshots/{id}.
 * A get of something that does not exist is SF_ENOTFOUND with *out NULL.
 * Each fills *out (caller frees) where it returns a DTO.
 */
int dt_volume_list(struct dt_client *c, struct dt_res ***out, size_t *n);
int dt_volume_get(struct dt_client *c, const char *name, struct dt_res **out);
int dt_volume_create(struct dt_client *c, const char *name, struct dt_res **out,
                     struct dt_result *res);
int dt_volume_delete(struct dt_client *c, const char *id,
                     struct dt_result *res);
int dt_snapshot_get(struct dt_client *c, const char *id_or_name,
                    struct dt_res **out);
int dt_snapshot_create(struct dt_client *c, const struct dt_snapshot_create *r,
                       struct dt_res **out, struct dt_result *res);
int dt_snapshot_delete(struct dt_client *c, const char *id,
                       struct dt_result *res);

#endif
