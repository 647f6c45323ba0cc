/*
 * store: the state's policy over a backend. See store.h for the contract
 * and backend.h for the seam.
 *
 * Why it looks the way it does:
 * - Everything a backend would otherwise repeat lives here, so that a
 *   backend is storage only: argument checks and JSON validation (the
 *   messages then read the same whatever keeps the state), the env-value
 *   scrubbing, the defaults (now, pid, host), and the wording of lookups
 *   that find nothing.
 * - One mutex per handle serialises the backend calls: a backend needs no
 *   thread safety of its own, and the threads of a parallel apply share
 *   one handle.
 * - The lock of a row-only backend (SQLite) is a compare-and-swap: read
 *   the holder, decide here whether it may be replaced (its process is
 *   gone from this host, or its lease expired), then have the backend swap
 *   only if the holder is still the one that was read. Two processes that
 *   both read "free" cannot both win; the loser reads again, finds the
 *   winner alive and names it. A backend with sessions (PostgreSQL)
 *   claims instead: whether a holder lives is its session's business, not
 *   a pid on some host, so no host-local rule is applied to it here.
 * - The handle keeps the location with its password for the backend, and
 *   shows only store_redact() of it (store_path, messages, the log).
 * - The HMAC key is drawn here and offered to the backend, which keeps the
 *   first key stored, so processes creating one state at once agree.
 */
#include "common/base.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "common/error.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/strmap.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "state/backend.h"
#include "state/location.h"
#include "state/store.h"

/* Every backend of this build; a new one adds its line here. */
static const struct store_backend *const store_backends[] = {
	&store_backend_sqlite,
	&store_backend_pg,
};

#define N_BACKENDS (sizeof(store_backends) / sizeof(store_backends[0]))

/* How often store_lock_acquire() re-reads a lock that changed under it. */
#define LOCK_SWAP_TRIES 100

/* The setting name of the HMAC key, reserved: never read or written. */
#define META_KEY_HMAC "hmac_key"

/* Room for "pid N on 'HOST' since TIME (INFO, lock ID)". */
#define HOLDER_DESC_MAX \
	(STORE_LOCK_HOST_MAX + STORE_LOCK_INFO_MAX + STORE_LOCK_ID_LEN + 128)

struct store {
	const struct store_backend *ops;
	struct store_be *be;
	char *path;     /* shown: without the password */
	char *location; /* as given, for the backend only */
	unsigned char key[STORE_HMAC_KEY_LEN];
	pthread_mutex_t mu;
};

/* ---- the members of the returned structs ----------------------------- */

/* clang-format off */
#define COL(type, st, m) \
	{ STORE_COL_##type, offsetof(st, m), sizeof(((st *)0)->m) }
#define ROW_KIND(st, c) { sizeof(st), (c), sizeof(c) / sizeof(*(c)) }
/* clang-format on */

static const struct store_col record_cols[] = {
	COL(STR, struct store_record, stack),
	COL(STR, struct store_record, name),
	COL(STR, struct store_record, sandbox_id),
	COL(STR, struct store_record, spec_hash),
	COL(STR, struct store_record, labels_json),
	COL(STR, struct store_record, observed_json),
	COL(STR, struct store_record, applied_json),
	COL(STR, struct store_record, status),
	COL(I64, struct store_record, created_ms),
	COL(I64, struct store_record, updated_ms),
};
const struct store_row_kind store_rows_record =
        ROW_KIND(struct store_record, record_cols);

static const struct store_col run_cols[] = {
	COL(I64, struct store_run, id),
	COL(STR, struct store_run, command),
	COL(STR, struct store_run, stack),
	COL(STR, struct store_run, source),
	COL(STR, struct store_run, git_commit),
	COL(LONG, struct store_run, pid),
	COL(STR, struct store_run, host),
	COL(I64, struct store_run, started_ms),
	COL(I64, struct store_run, finished_ms),
	COL(STR, struct store_run, outcome),
	COL(STR, struct store_run, counts_json),
};
const struct store_row_kind store_rows_run =
        ROW_KIND(struct store_run, run_cols);

static const struct store_col journal_cols[] = {
	COL(I64, struct store_journal_entry, id),
	COL(I64, struct store_journal_entry, run_id),
	COL(STR, struct store_journal_entry, stack),
	COL(STR, struct store_journal_entry, name),
	COL(STR, struct store_journal_entry, action),
	COL(STR, struct store_journal_entry, sandbox_id),
	COL(STR, struct store_journal_entry, detail_json),
	COL(JSTATE, struct store_journal_entry, state),
	COL(STR, struct store_journal_entry, result_sandbox_id),
	COL(STR, struct store_journal_entry, message),
	COL(I64, struct store_journal_entry, created_ms),
	COL(I64, struct store_journal_entry, updated_ms),
};
const struct store_row_kind store_rows_journal =
        ROW_KIND(struct store_journal_entry, journal_cols);

static const struct store_col drift_cols[] = {
	COL(I64, struct store_drift, run_id),
	COL(STR, struct store_drift, stack),
	COL(STR, struct store_drift, name),
	COL(STR, struct store_drift, category),
	COL(STR, struct store_drift, field),
	COL(STR, struct store_drift, old_value),
	COL(STR, struct store_drift, new_value),
	COL(I64, struct store_drift, observed_ms),
};
const struct store_row_kind store_rows_drift =
        ROW_KIND(struct store_drift, drift_cols);

static const struct store_col lock_cols[] = {
	COL(CHARS, struct store_lock_holder, id),
	COL(CHARS, struct store_lock_holder, stack),
	COL(CHARS, struct store_lock_holder, info),
	COL(LONG, struct store_lock_holder, pid),
	COL(CHARS, struct store_lock_holder, host),
	COL(I64, struct store_lock_holder, since_ms),
	COL(I64, struct store_lock_holder, lease_until_ms),
};
const struct store_row_kind store_rows_lock =
        ROW_KIND(struct store_lock_holder, lock_cols);

void
store_row_clear(const struct store_row_kind *k, void *row)
{
	size_t i;

	for (i = 0; i < k->n_cols; i++)
		if (k->cols[i].type == STORE_COL_STR)
			free((void *)*(const char **)((char *)row +
			                              k->cols[i].off));
	memset(row, 0, k->size);
}

void
store_rows_free(const struct store_row_kind *k, void *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		store_row_clear(k, (char *)v + i * k->size);
	free(v);
}

/* ---- helpers --------------------------------------------------------- */

static void
lock_handle(struct store *s)
{
	pthread_mutex_lock(&s->mu);
}

static void
unlock_handle(struct store *s)
{
	pthread_mutex_unlock(&s->mu);
}

static bool
empty(const char *v)
{
	return v == NULL || *v == '\0';
}

static void
this_host(char *out, size_t size)
{
	if (gethostname(out, size) < 0)
		snprintf(out, size, "localhost");
	out[size - 1] = '\0';
}

/* json_ok: NULL or a whole valid JSON text. */
static bool
json_ok(const char *json)
{
	cJSON *doc;

	if (json == NULL)
		return true;
	doc = cJSON_ParseWithOpts(json, NULL, 1);
	cJSON_Delete(doc);
	return doc != NULL;
}

/*
 * scrub_env: defence in depth against secrets in stored JSON. Daytona
 * returns env values (GET, create), and a caller might store such an item
 * as observed_json or a request as a journal detail: the string values of a
 * top-level "env" object are replaced by STORE_ENV_HASH_PREFIX and their
 * keyed hash. Returns a new string, or NULL when json needs no change
 * (the common case: list items carry no env, and a quick scan says so).
 */
static char *
scrub_env(const struct store *s, const char *json)
{
	char hex[SF_SHA256_HEX_LEN + 1], *v;
	cJSON *doc = NULL, *env, *it;
	char *out = NULL;
	int changed = 0;

	if (json == NULL || strstr(json, "\"env\"") == NULL)
		return NULL;
	doc = cJSON_Parse(json);
	env = cJSON_GetObjectItemCaseSensitive(doc, "env");
	if (!cJSON_IsObject(env))
		goto out;
	cJSON_ArrayForEach(it, env)
	{
		if (!cJSON_IsString(it) ||
		    strncmp(it->valuestring, STORE_ENV_HASH_PREFIX,
		            strlen(STORE_ENV_HASH_PREFIX)) == 0)
			continue;
		hmac_sha256_hex(s->key, sizeof(s->key), it->valuestring,
		                strlen(it->valuestring), hex);
		v = xasprintf("%s%s", STORE_ENV_HASH_PREFIX, hex);
		cJSON_SetValuestring(it, v);
		free(v);
		changed = 1;
	}
	if (changed)
		out = cJSON_PrintUnformatted(doc);
out:
	cJSON_Delete(doc);
	return out;
}

/* ---- open, close ----------------------------------------------------- */

int
store_is_url(const char *path)
{
	return location_scheme_len(path) > 0;
}

char *
store_redact(const char *path)
{
	return location_redact(path);
}

static int
serves(const struct store_backend *b, const char *scheme, size_t len)
{
	const char *const *sc;

	if (len == 0)
		return b->schemes == NULL;
	for (sc = b->schemes; sc != NULL && *sc != NULL; sc++)
		if (strlen(*sc) == len && strncmp(*sc, scheme, len) == 0)
			return 1;
	return 0;
}

/*
 * pick_backend: the backend for path. A URL names only its scheme in the
 * message: the rest may hold a password.
 */
static int
pick_backend(const char *path, const struct store_backend **out)
{
	size_t len = location_scheme_len(path), i;

	for (i = 0; i < N_BACKENDS; i++) {
		if (serves(store_backends[i], path, len)) {
			*out = store_backends[i];
			return 0;
		}
	}
	if (len == 0)
		return sf_error_set(SF_EINVALID,
		                    "state: this build has no file backend");
	return sf_error_set(SF_EINVALID,
	                    "state: no state backend for '%.*s://' URLs in "
	                    "this build (a file path is an SQLite state)",
	                    (int)len, path);
}

int
store_exists(const char *path)
{
	const struct store_backend *ops = NULL;
	int rc;

	if (empty(path))
		return sf_error_set(SF_EINVALID, "state: empty path");
	if ((rc = pick_backend(path, &ops)) < 0)
		return rc;
	return ops->exists(path);
}

int
store_open(const char *path, struct store **out)
{
	const struct store_backend *ops = NULL;
	unsigned char fresh[STORE_HMAC_KEY_LEN];
	struct store *s = NULL;
	int rc;

	*out = NULL;
	if (empty(path))
		return sf_error_set(SF_EINVALID, "state: empty path");
	if ((rc = pick_backend(path, &ops)) < 0)
		return rc;
	s = xcalloc(1, sizeof(*s));
	s->ops = ops;
	s->path = location_redact(path);
	s->location = xstrdup(path);
	pthread_mutex_init(&s->mu, NULL);
	if ((rc = ops->open(path, &s->be)) < 0)
		goto out;
	if (random_bytes(fresh, sizeof(fresh)) < 0) {
		rc = sf_error_set(SF_EIO, "%s: no random bytes for the key",
		                  s->path);
		goto out;
	}
	rc = ops->key_init(s->be, fresh, s->key, sizeof(s->key));
	if (rc < 0)
		goto out;
	log_debug("opened %s state '%s' (schema %d)", ops->name, s->path,
	          ops->schema_version(s->be));
	*out = s;
	s = NULL;
out:
	wipe(fresh, sizeof(fresh));
	store_close(s);
	return rc;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	s->ops->close(s->be);
	pthread_mutex_destroy(&s->mu);
	wipe(s->key, sizeof(s->key));
	free(s->path);
	if (s->location != NULL)
		free_secret(s->location);
	free(s);
}

const char *
store_path(const struct store *s)
{
	return s->path;
}

const char *
store_location(const struct store *s)
{
	return s->location;
}

const char *
store_backend_name(const struct store *s)
{
	return s->ops->name;
}

int
store_schema_version(const struct store *s)
{
	return s->ops->schema_version(s->be);
}

const unsigned char *
store_hmac_key(const struct store *s)
{
	return s->key;
}

/* ---- records --------------------------------------------------------- */

static int
record_check(const struct store_record *r)
{
	const char *bad = NULL;

	if (empty(r->stack) || empty(r->name))
		return sf_error_set(SF_EINVALID,
		                    "state: a record needs a stack and a name");
	if (!json_ok(r->labels_json))
		bad = "labels";
	else if (!json_ok(r->observed_json))
		bad = "observed";
	else if (!json_ok(r->applied_json))
		bad = "applied";
	if (bad != NULL)
		return sf_error_set(SF_EINVALID,
		                    "state: record '%s': %s is not valid JSON",
		                    r->name, bad);
	return 0;
}

int
store_record_put(struct store *s, const struct store_record *r)
{
	return store_record_put_many(s, r, 1);
}

int
store_record_put_many(struct store *s, const struct store_record *r, size_t n)
{
	struct store_record *v = NULL;
	char **scrubbed = NULL;
	size_t i;
	int rc = 0;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if ((rc = record_check(&r[i])) < 0)
			return rc;
	v = xcalloc(n, sizeof(*v));
	scrubbed = xcalloc(n, sizeof(*scrubbed));
	for (i = 0; i < n; i++) {
		v[i] = r[i];
		scrubbed[i] = scrub_env(s, r[i].observed_json);
		if (scrubbed[i] != NULL)
			v[i].observed_json = scrubbed[i];
	}
	lock_handle(s);
	rc = s->ops->record_put(s->be, v, n, time_now_ms());
	unlock_handle(s);
	for (i = 0; i < n; i++)
		free(scrubbed[i]);
	free(scrubbed);
	free(v);
	return rc;
}

int
store_record_get(struct store *s, const char *stack, const char *name,
                 struct store_record **out)
{
	int rc;

	*out = NULL;
	lock_handle(s);
	rc = s->ops->record_get(s->be, stack, name, out);
	unlock_handle(s);
	if (rc == 0)
		return sf_error_set(SF_ENOTFOUND,
		                    "no record of '%s' in stack '%s'", name,
		                    stack);
	return rc < 0 ? rc : 0;
}

int
store_record_find_id(struct store *s, const char *sandbox_id,
                     struct store_record **out)
{
	int rc;

	*out = NULL;
	lock_handle(s);
	rc = s->ops->record_find_id(s->be, sandbox_id, out);
	unlock_handle(s);
	if (rc == 0)
		return sf_error_set(SF_ENOTFOUND,
		                    "no record of sandbox id '%s'", sandbox_id);
	return rc < 0 ? rc : 0;
}

int
store_record_list(struct store *s, const char *stack,
                  struct store_record_list *out)
{
	int rc;

	out->v = NULL;
	out->n = 0;
	lock_handle(s);
	rc = s->ops->record_list(s->be, stack, NULL, NULL, out);
	unlock_handle(s);
	return rc;
}

int
store_record_each(struct store *s, const char *stack, store_record_fn fn,
                  void *arg)
{
	struct store_record_list l = { NULL, 0 };
	size_t i;
	int rc;

	lock_handle(s);
	if (s->ops->record_each != NULL) {
		rc = s->ops->record_each(s->be, stack, fn, arg);
		unlock_handle(s);
		return rc;
	}
	rc = s->ops->record_list(s->be, stack, NULL, NULL, &l);
	unlock_handle(s);
	for (i = 0; rc == 0 && i < l.n; i++)
		if ((rc = fn(arg, &l.v[i])) > 0)
			rc = 0;
	store_record_list_free(&l);
	return rc;
}

int
store_record_list_prefix(struct store *s, const char *stack, const char *prefix,
                         struct store_record_list *out)
{
	size_t n = strlen(prefix);
	char *to;
	int rc;

	out->v = NULL;
	out->n = 0;
	/* [prefix, prefix with its last byte one higher): names compare as
	 * bytes in both backends */
	if (n == 0 || (unsigned char)prefix[n - 1] == 0xff)
		return store_record_list(s, stack, out);
	to = xstrdup(prefix);
	to[n - 1] = (char)((unsigned char)to[n - 1] + 1);
	lock_handle(s);
	rc = s->ops->record_list(s->be, stack, prefix, to, out);
	unlock_handle(s);
	free(to);
	return rc;
}

int
store_record_delete(struct store *s, const char *stack, const char *name)
{
	int rc;

	lock_handle(s);
	rc = s->ops->record_delete(s->be, stack, name);
	unlock_handle(s);
	if (rc == 0)
		return sf_error_set(SF_ENOTFOUND,
		                    "no record of '%s' in stack '%s'", name,
		                    stack);
	return rc < 0 ? rc : 0;
}

int
store_record_delete_stack(struct store *s, const char *stack)
{
	int rc;

	lock_handle(s);
	rc = s->ops->record_delete_stack(s->be, stack);
	unlock_handle(s);
	return rc;
}

void
store_record_clear(struct store_record *r)
{
	if (r != NULL)
		store_row_clear(&store_rows_record, r);
}

void
store_record_free(struct store_record *r)
{
	store_record_clear(r);
	free(r);
}

void
store_record_list_free(struct store_record_list *l)
{
	if (l == NULL)
		return;
	store_rows_free(&store_rows_record, l->v, l->n);
	l->v = NULL;
	l->n = 0;
}

/* ---- runs ------------------------------------------------------------ */

int
store_run_begin(struct store *s, const struct store_run *run, int64_t *id_out)
{
	char host[STORE_LOCK_HOST_MAX + 1];
	struct store_run r;
	int rc;

	if (empty(run->command) || empty(run->stack))
		return sf_error_set(SF_EINVALID,
		                    "state: a run needs a command and a stack");
	r = *run;
	r.id = 0;
	if (r.pid == 0)
		r.pid = (long)getpid();
	if (r.host == NULL) {
		this_host(host, sizeof(host));
		r.host = host;
	}
	if (r.started_ms == 0)
		r.started_ms = time_now_ms();
	r.finished_ms = 0;
	r.outcome = NULL;
	r.counts_json = NULL;
	lock_handle(s);
	rc = s->ops->run_add(s->be, &r, id_out);
	unlock_handle(s);
	return rc;
}

int
store_run_finish(struct store *s, int64_t id, const char *outcome,
                 const char *counts_json)
{
	int rc;

	if (empty(outcome))
		return sf_error_set(SF_EINVALID, "state: a run needs an "
		                                 "outcome");
	if (!json_ok(counts_json))
		return sf_error_set(SF_EINVALID,
		                    "state: run %lld: counts is not valid JSON",
		                    (long long)id);
	lock_handle(s);
	rc = s->ops->run_finish(s->be, id, outcome, counts_json, time_now_ms());
	unlock_handle(s);
	if (rc == 0)
		return sf_error_set(SF_ENOTFOUND, "no run %lld", (long long)id);
	return rc < 0 ? rc : 0;
}

int
store_run_list(struct store *s, const char *stack, size_t limit,
               struct store_run_list *out)
{
	int rc;

	out->v = NULL;
	out->n = 0;
	lock_handle(s);
	rc = s->ops->run_list(s->be, stack, limit, out);
	unlock_handle(s);
	return rc;
}

void
store_run_clear(struct store_run *r)
{
	if (r != NULL)
		store_row_clear(&store_rows_run, r);
}

void
store_run_list_free(struct store_run_list *l)
{
	if (l == NULL)
		return;
	store_rows_free(&store_rows_run, l->v, l->n);
	l->v = NULL;
	l->n = 0;
}

/* ---- journal --------------------------------------------------------- */

static const char *const journal_states[] = {
	[STORE_JOURNAL_INTENT] = "intent",
	[STORE_JOURNAL_DONE] = "done",
	[STORE_JOURNAL_FAILED] = "failed",
};

#define N_JOURNAL_STATES (sizeof(journal_states) / sizeof(*journal_states))

const char *
store_journal_state_name(enum store_journal_state state)
{
	if ((unsigned)state >= N_JOURNAL_STATES)
		return "unknown";
	return journal_states[state];
}

enum store_journal_state
store_journal_state_parse(const char *name)
{
	size_t i;

	for (i = 0; i < N_JOURNAL_STATES; i++)
		if (name != NULL && strcmp(name, journal_states[i]) == 0)
			return (enum store_journal_state)i;
	return STORE_JOURNAL_INTENT;
}

int
store_journal_intent(struct store *s, int64_t run_id, const char *stack,
                     const char *name, const char *action,
                     const char *sandbox_id, const char *detail_json,
                     int64_t *id_out)
{
	struct store_journal_entry e;
	char *detail = NULL;
	int rc;

	if (empty(stack) || empty(name) || empty(action))
		return sf_error_set(SF_EINVALID,
		                    "state: a journal entry needs a stack, a "
		                    "name and an action");
	if (!json_ok(detail_json))
		return sf_error_set(SF_EINVALID,
		                    "state: journal entry for '%s': detail is "
		                    "not valid JSON",
		                    name);
	detail = scrub_env(s, detail_json);
	memset(&e, 0, sizeof(e));
	e.run_id = run_id > 0 ? run_id : 0;
	e.stack = stack;
	e.name = name;
	e.action = action;
	e.sandbox_id = sandbox_id;
	e.detail_json = detail ? detail : detail_json;
	e.state = STORE_JOURNAL_INTENT;
	e.created_ms = e.updated_ms = time_now_ms();
	lock_handle(s);
	rc = s->ops->journal_add(s->be, &e, id_out);
	unlock_handle(s);
	free(detail);
	return rc;
}

/*
 * journal_move: finish an open entry; when none moved, say whether the
 * entry is missing or already finished.
 */
static int
journal_move(struct store *s, int64_t id, enum store_journal_state to,
             const char *arg)
{
	struct store_journal_entry *e = NULL;
	int rc;

	lock_handle(s);
	rc = s->ops->journal_finish(s->be, id, to, arg, time_now_ms());
	if (rc == 0) {
		rc = s->ops->journal_get(s->be, id, &e);
		if (rc == 0)
			rc = sf_error_set(SF_ENOTFOUND, "no journal entry %lld",
			                  (long long)id);
		else if (rc > 0)
			rc = sf_error_set(SF_EINVALID,
			                  "journal entry %lld is already %s, "
			                  "not %s",
			                  (long long)id,
			                  store_journal_state_name(e->state),
			                  store_journal_state_name(to));
	}
	unlock_handle(s);
	store_journal_entry_free(e);
	return rc < 0 ? rc : 0;
}

int
store_journal_done(struct store *s, int64_t id, const char *result_sandbox_id)
{
	return journal_move(s, id, STORE_JOURNAL_DONE, result_sandbox_id);
}

int
store_journal_failed(struct store *s, int64_t id, const char *message)
{
	return journal_move(s, id, STORE_JOURNAL_FAILED,
	                    message ? message : "");
}

static int
journal_list(struct store *s, const char *stack, int open_only,
             struct store_journal_list *out)
{
	int rc;

	out->v = NULL;
	out->n = 0;
	lock_handle(s);
	rc = s->ops->journal_list(s->be, stack, open_only, out);
	unlock_handle(s);
	return rc;
}

int
store_journal_open(struct store *s, const char *stack,
                   struct store_journal_list *out)
{
	return journal_list(s, stack, 1, out);
}

int
store_journal_list(struct store *s, const char *stack,
                   struct store_journal_list *out)
{
	return journal_list(s, stack, 0, out);
}

int
store_journal_get(struct store *s, int64_t id, struct store_journal_entry **out)
{
	int rc;

	*out = NULL;
	lock_handle(s);
	rc = s->ops->journal_get(s->be, id, out);
	unlock_handle(s);
	if (rc == 0)
		return sf_error_set(SF_ENOTFOUND, "no journal entry %lld",
		                    (long long)id);
	return rc < 0 ? rc : 0;
}

void
store_journal_entry_free(struct store_journal_entry *e)
{
	if (e == NULL)
		return;
	store_row_clear(&store_rows_journal, e);
	free(e);
}

void
store_journal_list_free(struct store_journal_list *l)
{
	if (l == NULL)
		return;
	store_rows_free(&store_rows_journal, l->v, l->n);
	l->v = NULL;
	l->n = 0;
}

/* ---- drift ----------------------------------------------------------- */

int
store_drift_add(struct store *s, int64_t run_id, const char *stack,
                const char *name, const char *category, const char *field,
                const char *old_value, const char *new_value)
{
	struct store_drift d;
	int rc;

	if (empty(stack) || empty(name) || empty(category))
		return sf_error_set(SF_EINVALID,
		                    "state: a drift observation needs a "
		                    "stack, a name and a category");
	d.run_id = run_id > 0 ? run_id : 0;
	d.stack = stack;
	d.name = name;
	d.category = category;
	d.field = field;
	d.old_value = old_value;
	d.new_value = new_value;
	d.observed_ms = time_now_ms();
	lock_handle(s);
	rc = s->ops->drift_add(s->be, &d);
	unlock_handle(s);
	return rc;
}

int
store_drift_list(struct store *s, int64_t run_id, struct store_drift_list *out)
{
	int rc;

	out->v = NULL;
	out->n = 0;
	lock_handle(s);
	rc = s->ops->drift_list(s->be, run_id, out);
	unlock_handle(s);
	return rc;
}

void
store_drift_list_free(struct store_drift_list *l)
{
	if (l == NULL)
		return;
	store_rows_free(&store_rows_drift, l->v, l->n);
	l->v = NULL;
	l->n = 0;
}

/* ---- named settings -------------------------------------------------- */

static int
meta_key_check(const char *key)
{
	if (empty(key) || strlen(key) > STORE_META_KEY_MAX)
		return sf_error_set(SF_EINVALID,
		                    "state: a setting name must have 1 to %d "
		                    "characters",
		                    STORE_META_KEY_MAX);
	if (strcmp(key, META_KEY_HMAC) == 0)
		return sf_error_set(SF_EINVALID,
		                    "state: setting '%s' is reserved", key);
	return 0;
}

int
store_meta_set(struct store *s, const char *key, const char *value)
{
	int rc;

	if ((rc = meta_key_check(key)) < 0)
		return rc;
	if (value == NULL || strlen(value) > STORE_META_VALUE_MAX)
		return sf_error_set(SF_EINVALID,
		                    "state: setting '%s': the value must be a "
		                    "string of at most %d bytes",
		                    key, STORE_META_VALUE_MAX);
	lock_handle(s);
	rc = s->ops->meta_set(s->be, key, value, time_now_ms());
	unlock_handle(s);
	return rc;
}

int
store_meta_get(struct store *s, const char *key, char **value_out)
{
	int rc;

	*value_out = NULL;
	if ((rc = meta_key_check(key)) < 0)
		return rc;
	lock_handle(s);
	rc = s->ops->meta_get(s->be, key, value_out);
	unlock_handle(s);
	return rc < 0 ? rc : 0;
}

int
store_meta_list(struct store *s, struct strmap *out)
{
	int rc;

	strmap_clear(out);
	lock_handle(s);
	rc = s->ops->meta_list(s->be, out);
	unlock_handle(s);
	if (rc < 0) {
		strmap_clear(out);
		return rc;
	}
	(void)strmap_del(out, META_KEY_HMAC);
	return 0;
}

/* ---- housekeeping ---------------------------------------------------- */

int
store_prune(struct store *s, int64_t before_ms, size_t *removed_out)
{
	size_t removed = 0;
	int rc;

	lock_handle(s);
	rc = s->ops->prune(s->be, before_ms, &removed);
	unlock_handle(s);
	if (rc < 0)
		return rc;
	log_debug("pruned %zu rows older than %lld", removed,
	          (long long)before_ms);
	if (removed_out != NULL)
		*removed_out = removed;
	return 0;
}

int
store_counts(struct store *s, const char *stack, struct store_counts *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	lock_handle(s);
	rc = s->ops->counts(s->be, stack, out);
	unlock_handle(s);
	return rc;
}

/* ---- the lock -------------------------------------------------------- */

/*
 * lock_stale: why the holder may be replaced, or NULL when it may not. A
 * process is known gone only on its own host; elsewhere only the lease
 * tells.
 */
static const char *
lock_stale(const struct store_lock_holder *h, const char *host, int64_t now)
{
	if (now >= h->lease_until_ms)
		return "its lease expired";
	if (strcmp(h->host, host) == 0 && h->pid > 0 &&
	    kill((pid_t)h->pid, 0) < 0 && errno == ESRCH)
		return "its process no longer exists";
	return NULL;
}

static void
format_holder(const struct store_lock_holder *h, char *out, size_t size)
{
	char since[SF_ISO8601_LEN + 1];

	time_format_iso(h->since_ms, since);
	snprintf(out, size, "pid %ld on '%s' since %s (%s, lock %s)", h->pid,
	         h->host, since, h->info, h->id);
}

/*
 * lock_claim: lock_take for a backend with sessions: the backend takes the
 * lock unless a live session holds it; the lease only words the message.
 */
static int
lock_claim(struct store *s, struct store_lock_holder *mine,
           struct store_lock_holder *cur, int64_t now)
{
	char desc[HOLDER_DESC_MAX], until[SF_ISO8601_LEN + 1];
	int rc;

	if ((rc = s->ops->lock_claim(s->be, mine, cur)) < 0)
		return rc;
	if (rc == 0 && cur->id[0] == '\0')
		return sf_error_set(
		        SF_ELOCKED,
		        "stack '%s' is locked by a database session "
		        "that has not named itself yet",
		        mine->stack);
	if (rc == 0) {
		format_holder(cur, desc, sizeof(desc));
		if (now < cur->lease_until_ms)
			return sf_error_set(SF_ELOCKED,
			                    "stack '%s' is locked by %s",
			                    mine->stack, desc);
		time_format_iso(cur->lease_until_ms, until);
		return sf_error_set(SF_ELOCKED,
		                    "stack '%s' is locked by %s; its lease "
		                    "ran out at %s but its database session is "
		                    "still connected (a stuck run? 'sandform "
		                    "force-unlock %s' ends it)",
		                    mine->stack, desc, until, cur->id);
	}
	mine->took_over = cur->id[0] != '\0';
	if (mine->took_over) {
		format_holder(cur, desc, sizeof(desc));
		log_warn("taking over the lock of stack '%s' from %s: its "
		         "database session ended",
		         mine->stack, desc);
	}
	return 1;
}

/*
 * lock_take: one round of store_lock_acquire under the handle's mutex: 1
 * when mine was swapped in, 0 when the lock changed between the read and
 * the swap (read again), or a negative code (SF_ELOCKED: *cur holds it).
 */
static int
lock_take(struct store *s, struct store_lock_holder *mine, int64_t lease_ms,
          struct store_lock_holder *cur)
{
	char desc[HOLDER_DESC_MAX];
	const char *why = NULL;
	int64_t now;
	int rc;

	if (s->ops->lock_claim != NULL) {
		now = time_now_ms();
		mine->since_ms = now;
		mine->lease_until_ms = now + lease_ms;
		return lock_claim(s, mine, cur, now);
	}
	if ((rc = s->ops->lock_get(s->be, mine->stack, cur)) < 0)
		return rc;
	now = time_now_ms();
	if (rc == 1) {
		format_holder(cur, desc, sizeof(desc));
		why = lock_stale(cur, mine->host, now);
		if (why == NULL)
			return sf_error_set(SF_ELOCKED,
			                    "stack '%s' is locked by %s",
			                    mine->stack, desc);
	}
	mine->since_ms = now;
	mine->lease_until_ms = now + lease_ms;
	mine->took_over = why != NULL;
	rc = s->ops->lock_swap(s->be, mine->stack, why ? cur->id : NULL, mine);
	if (rc == 1 && why != NULL)
		log_warn("taking over the lock of stack '%s' from %s: %s",
		         mine->stack, desc, why);
	return rc;
}

int
store_lock_acquire(struct store *s, const char *stack, const char *holder_info,
                   int64_t lease_ms, struct store_lock_holder *current_out)
{
	struct store_lock_holder cur, mine;
	int rc = 0, tries;

	if (empty(stack))
		return sf_error_set(SF_EINVALID, "state: a lock needs a stack");
	if (strlen(stack) > STORE_LOCK_INFO_MAX)
		return sf_error_set(SF_EINVALID,
		                    "state: a stack name has at most %d bytes",
		                    STORE_LOCK_INFO_MAX);
	if (lease_ms <= 0)
		lease_ms = STORE_LOCK_LEASE_MS;
	memset(&mine, 0, sizeof(mine));
	uuid_v4(mine.id);
	snprintf(mine.stack, sizeof(mine.stack), "%s", stack);
	snprintf(mine.info, sizeof(mine.info), "%s",
	         holder_info ? holder_info : "");
	this_host(mine.host, sizeof(mine.host));
	mine.pid = (long)getpid();

	lock_handle(s);
	for (tries = 0; tries < LOCK_SWAP_TRIES; tries++) {
		memset(&cur, 0, sizeof(cur));
		if ((rc = lock_take(s, &mine, lease_ms, &cur)) != 0)
			break;
		log_debug("the lock of stack '%s' changed while taking it; "
		          "reading it again",
		          stack);
	}
	unlock_handle(s);
	if (rc == 0)
		return sf_error_set(SF_EIO,
		                    "stack '%s': the lock changed hands %d "
		                    "times while taking it",
		                    stack, LOCK_SWAP_TRIES);
	if (rc == SF_ELOCKED && current_out != NULL)
		*current_out = cur;
	if (rc < 0)
		return rc;
	log_debug("locked stack '%s' (lock %s)", stack, mine.id);
	if (current_out != NULL)
		*current_out = mine;
	return 0;
}

int
store_lock_acquire_wait(struct store *s, const char *stack,
                        const char *holder_info, int64_t lease_ms,
                        int64_t timeout_ms,
                        struct store_lock_holder *current_out)
{
	int64_t deadline = time_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	int64_t left;
	int rc;

	for (;;) {
		rc = store_lock_acquire(s, stack, holder_info, lease_ms,
		                        current_out);
		if (rc != SF_ELOCKED)
			return rc;
		left = deadline - time_mono_ms();
		if (left <= 0)
			return rc;
		log_debug("stack '%s' is locked; waiting", stack);
		time_sleep_ms(left < STORE_LOCK_POLL_MS ? left
		                                        : STORE_LOCK_POLL_MS);
	}
}

int
store_lock_renew(struct store *s, const char *lock_id, int64_t lease_ms)
{
	int64_t now = time_now_ms();
	int rc;

	if (lease_ms <= 0)
		lease_ms = STORE_LOCK_LEASE_MS;
	lock_handle(s);
	rc = s->ops->lock_renew(s->be, lock_id, now, now + lease_ms);
	unlock_handle(s);
	if (rc == 0)
		return sf_error_set(SF_ENOTFOUND, "lock %s is no longer held",
		                    lock_id);
	return rc < 0 ? rc : 0;
}

/*
 * lock_delete: remove the lock with that id, reporting what it was; force
 * also ends its holder's session where the backend has sessions.
 */
static int
lock_delete(struct store *s, const char *lock_id, int force,
            struct store_lock_holder *h)
{
	int rc;

	memset(h, 0, sizeof(*h));
	lock_handle(s);
	if (force && s->ops->lock_break != NULL)
		rc = s->ops->lock_break(s->be, lock_id, h);
	else
		rc = s->ops->lock_delete(s->be, lock_id, h);
	unlock_handle(s);
	if (rc == 0)
		return sf_error_set(SF_ENOTFOUND, "no lock with id '%s'",
		                    lock_id);
	return rc < 0 ? rc : 0;
}

int
store_lock_release(struct store *s, const char *lock_id)
{
	struct store_lock_holder h;
	int rc = lock_delete(s, lock_id, 0, &h);

	if (rc == 0)
		log_debug("released the lock of stack '%s' (lock %s)", h.stack,
		          h.id);
	return rc;
}

int
store_lock_force_release(struct store *s, const char *lock_id,
                         struct store_lock_holder *holder_out)
{
	struct store_lock_holder h;
	char desc[HOLDER_DESC_MAX];
	int rc = lock_delete(s, lock_id, 1, &h);

	if (rc < 0)
		return rc;
	format_holder(&h, desc, sizeof(desc));
	log_warn("force-released the lock of stack '%s' held by %s%s", h.stack,
	         desc,
	         h.connected ? "; its database session was still connected "
	                       "and was ended"
	                     : "");
	if (holder_out != NULL)
		*holder_out = h;
	return 0;
}

int
store_lock_get(struct store *s, const char *stack,
               struct store_lock_holder *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	lock_handle(s);
	rc = s->ops->lock_get(s->be, stack, out);
	unlock_handle(s);
	if (rc == 0)
		return sf_error_set(SF_ENOTFOUND, "stack '%s' is not locked",
		                    stack);
	return rc < 0 ? rc : 0;
}

int
store_lock_find(struct store *s, const char *lock_id,
                struct store_lock_holder *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if (empty(lock_id))
		return sf_error_set(SF_EINVALID, "state: a lock id is needed");
	lock_handle(s);
	rc = s->ops->lock_find(s->be, lock_id, out);
	unlock_handle(s);
	if (rc == 0)
		return sf_error_set(SF_ENOTFOUND, "no lock with id '%s'",
		                    lock_id);
	return rc < 0 ? rc : 0;
}

/* ---- what migrate.c uses ---------------------------------------------- */

int
store_stacks(struct store *s, struct strmap *out)
{
	int rc;

	strmap_clear(out);
	lock_handle(s);
	rc = s->ops->stacks(s->be, out);
	unlock_handle(s);
	if (rc < 0)
		strmap_clear(out);
	return rc;
}

int
store_dump(struct store *s, const char *stack, struct store_dump *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	lock_handle(s);
	rc = s->ops->dump(s->be, stack, out);
	unlock_handle(s);
	if (rc < 0)
		store_dump_free(out);
	return rc;
}

int
store_load(struct store *s, const char *stack, struct store_dump *d,
           int replace)
{
	int rc;

	lock_handle(s);
	rc = s->ops->load(s->be, stack, d, replace);
	unlock_handle(s);
	return rc;
}

int
store_key_replace(struct store *s, const unsigned char *key)
{
	int rc;

	lock_handle(s);
	rc = s->ops->key_set(s->be, key, sizeof(s->key));
	if (rc == 0)
		memcpy(s->key, key, sizeof(s->key));
	unlock_handle(s);
	return rc;
}

int64_t *
store_dump_run_ids(const struct store_dump *d)
{
	int64_t *ids;
	size_t i;

	if (d->runs.n == 0)
		return NULL;
	ids = xcalloc(d->runs.n, sizeof(*ids));
	for (i = 0; i < d->runs.n; i++)
		ids[i] = d->runs.v[i].id;
	return ids;
}

/* map_run: the new id of the run whose old id was id (old: ascending). */
static int64_t
map_run(const struct store_dump *d, const int64_t *old, int64_t id)
{
	size_t lo = 0, hi = d->runs.n, mid;

	while (id > 0 && lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (old[mid] == id)
			return d->runs.v[mid].id;
		if (old[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

void
store_dump_map_runs(struct store_dump *d, const int64_t *old)
{
	size_t i;

	for (i = 0; i < d->journal.n; i++)
		d->journal.v[i].run_id =
		        map_run(d, old, d->journal.v[i].run_id);
	for (i = 0; i < d->drift.n; i++)
		d->drift.v[i].run_id = map_run(d, old, d->drift.v[i].run_id);
}

void
store_dump_free(struct store_dump *d)
{
	if (d == NULL)
		return;
	store_record_list_free(&d->records);
	store_run_list_free(&d->runs);
	store_journal_list_free(&d->journal);
	store_drift_list_free(&d->drift);
}
