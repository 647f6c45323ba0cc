/*
 * store: sandform's state (DESIGN.md §4, §7a).
 *
 * One state per working directory (default ./.sandform/state.db) holds,
 * per stack: the records of managed sandboxes, the runs, the journal of
 * mutating API calls, drift observations and the stack lock; and, for the
 * whole state, named settings (store_meta_*). This module is the policy:
 * argument checks, the secret safety net, the HMAC key, the lock rules
 * (stale holders, leases, waiting) and the messages. The storage is a
 * backend chosen by store_open() from the location (state/backend.h):
 * SQLite (state/store-sqlite.c) for a file path, PostgreSQL
 * (state/store-pg.c) for a postgresql:// or postgres:// URL.
 *
 * SQLite: one file, mode 0600 (STORE_FILE_MODE) in a directory sandform
 * creates with 0700, in WAL mode with synchronous=NORMAL, its schema
 * migrated step by step with PRAGMA user_version. The file must not be a
 * symbolic link, and its directory must be owned by the user (or root)
 * and not writable by group or others unless sticky (store_open).
 *
 * PostgreSQL: the tables live in their own schema of the database
 * (default "sandform", or the URL's schema= parameter), created and
 * migrated by versioned migrations (a schema_migrations table) under a
 * transaction-scoped advisory lock, so processes starting at once agree.
 * One state is one database and schema; many stacks share it. The
 * password comes from PGPASSWORD, a passfile or the URL (libpq reads
 * them); every message shows the location through store_redact(). Stack
 * locks are session advisory locks: see "the per-stack lock" below.

 * Durability: every write function has committed when it returns, so what
 * it wrote survives a crash of the process (kill -9) at any later point;
 * with SQLite the last commits may be lost on a power failure or OS crash
 * (they are then rebuilt from the live labels, DESIGN.md §4); PostgreSQL
 * keeps them as its server is configured to.
 *
 * Secrets: nothing secret is ever stored. Env values are stored only as
 * keyed hashes (HMAC-SHA-256 under store_hmac_key(), a random 32-byte key
 * created with the state); the API key never reaches the store. As a
 * safety net, the string values of a top-level "env" object in a record's
 * observed_json or a journal entry's detail_json are replaced by
 * STORE_ENV_HASH_PREFIX and their keyed hash before they are written.
 *
 * Ownership: a struct store is opened with store_open() and freed with
 * store_close() (NULL-safe). Input strings are copied; the store keeps no
 * pointer to them. The string members of records, runs, journal entries and
 * drift observations are const so that callers can fill them from literals
 * when passing them in (the store only reads them); when the store returns
 * them, the caller owns every string member and frees them all with the
 * matching *_free() / *_clear() function (NULL-safe). Lists are arrays of
 * structs in a *_list with a count, freed with the *_list_free() function.
 *
 * Threads: one handle may be used from several threads; calls are serialised
 * by a mutex inside the handle (a PostgreSQL handle is one connection).
 * After fork() the child must open its own handle. Several processes may
 * use one state at the same time; SQLite writers wait up to
 * STORE_BUSY_TIMEOUT_MS for each other.
 *
 * Errors: functions return 0 or a negative SF_E* code with the message set
 * by sf_error_set(): SF_ENOTFOUND (no such record, entry, run or lock),
 * SF_ELOCKED (lock held by another run), SF_EINVALID (bad argument, invalid
 * JSON, a journal entry already finished, a state of a newer schema, an
 * unsafe state path), SF_EIO (file or database failure, a lost database
 * connection; the message carries the backend's detail, e.g.
 * sqlite3_errmsg() and the system error, or libpq's message),
 * SF_EEXISTS and SF_ECONFLICT (store_migrate).
 */
#ifndef SF_STATE_STORE_H
#define SF_STATE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "common/strmap.h"

/* How long a writer waits for another process's transaction. */
#define STORE_BUSY_TIMEOUT_MS 10000
/* Size of the per-state HMAC key for env values. */
#define STORE_HMAC_KEY_LEN 32
/* Mode of a new state file and of the directories store_open() creates. */
#define STORE_FILE_MODE 0600
#define STORE_DIR_MODE  0700
/* Longest lock holder description and host name kept in a lock. */
#define STORE_LOCK_INFO_MAX 255
#define STORE_LOCK_HOST_MAX 255
/* A lock id: a UUID v4 (36 characters). */
#define STORE_LOCK_ID_LEN 36
/* Default lease of a stack lock; the holder renews it well before. */
#define STORE_LOCK_LEASE_MS (5 * 60 * 1000)
/* How often store_lock_acquire_wait() tries again. */
#define STORE_LOCK_POLL_MS 250

/* What a scrubbed env value starts with (then 64 hex digits). */
#define STORE_ENV_HASH_PREFIX "hmac-sha256:"

/* Record statuses used by sandform (the store accepts any short string). */
#define STORE_STATUS_ACTIVE         "active"
#define STORE_STATUS_PENDING_CREATE "pending-create"
#define STORE_STATUS_ADOPTED        "adopted"
#define STORE_STATUS_IMPORTED       "imported"

struct store;

/*
 * store_is_url: 1 when path is a URL ("SCHEME://..."), not a file path.
 * store_redact: path without its password (a URL's user password and any
 * password= parameter), for messages and output; a file path unchanged.
 * The caller frees it.
 */
int store_is_url(const char *path);
char *store_redact(const char *path);

/*
 * store_open: open or create the state at path. A URL
 * "postgresql://[USER@]HOST[:PORT]/DB[?PARAM=VALUE&...]" (or postgres://)
 * is a PostgreSQL state: libpq takes the URL and its parameters (sslmode,
 * sslrootcert, connect_timeout, ...; see docs/state-backends.md) but
 * schema=NAME (lowercase letters, digits, '_'; default "sandform"), which
 * names the schema; the schema and its tables are created when missing. A
 * URL of another scheme is refused naming only the scheme; anything else
 * is an SQLite file. A new file is created with mode 0600 whatever the umask,
 * its missing parent directories with 0700; an existing file readable by
 * others is tightened to 0600 with a warning. Refused (SF_EINVALID): a
 * path that is a symbolic link or not a regular file (nor may its -wal,
 * -shm or -journal side files be), a file or directory owned by another
 * user than the current one or root, a directory writable by group or
 * others without the sticky bit, and a file of a newer schema than this
 * build knows. A directory sandform cannot write to is an error naming it
 * and the cause (SF_EIO). Older schemas are migrated (each step in its own
 * transaction), and a new state gets its HMAC key.
 */
int store_open(const char *path, struct store **out);
/*
 * store_exists: 1 when a state exists at path, 0 when not (nothing is
 * created; reading commands then show an empty state), or a negative code
 * (an unknown URL scheme, a path that cannot be examined, a database that
 * cannot be reached). For PostgreSQL, a state exists when its schema has
 * its schema_migrations table.
 */
int store_exists(const char *path);
void store_close(struct store *s);
/* store_path: the location opened, without its password (store_redact). */
const char *store_path(const struct store *s);
/* store_backend_name: "sqlite" or "postgresql". */
const char *store_backend_name(const struct store *s);
/* store_schema_version: the backend's schema version in use. */
int store_schema_version(const struct store *s);

/* store_hmac_key: the state's key (STORE_HMAC_KEY_LEN bytes). */
const unsigned char *store_hmac_key(const struct store *s);

/* ---- records of managed sandboxes ------------------------------------ */

struct store_record {
	const char *stack;      /* required */
	const char *name;       /* required; the Daytona sandbox name */
	const char *sandbox_id; /* NULL before the create answered */
	const char *spec_hash;  /* the sandform.dev/spec label value, or NULL */
	const char *labels_json;   /* JSON object: the labels sandform owns;
	                              NULL={} */
	const char *observed_json; /* last observed list item (JSON), or NULL */
	const char *applied_json;  /* desired settings last applied (JSON), or
	                              NULL */
	const char *status;        /* STORE_STATUS_*; NULL = "active" */
	int64_t created_ms;        /* set by the store on first insert */
	int64_t updated_ms;        /* set by the store on every put */
};

struct store_record_list {
	struct store_record *v;
	size_t n;
};

/*
 * store_record_put: insert or replace the record (stack, name). Every field
 * is replaced except created_ms, which keeps the time of the first insert.
 * The record is not modified (the store's times are visible on the next
 * get).
 */
int store_record_put(struct store *s, const struct store_record *r);
/* store_record_put_many: n puts in one transaction (all or none). */
int store_record_put_many(struct store *s, const struct store_record *r,
                          size_t n);
/* store_record_get: SF_ENOTFOUND when the stack has no such name. */
int store_record_get(struct store *s, const char *stack, const char *name,
                     struct store_record **out);
/* store_record_find_id: the record holding sandbox_id, in any stack. */
int store_record_find_id(struct store *s, const char *sandbox_id,
                         struct store_record **out);
/* store_record_list: the stack's records sorted by name. */
int store_record_list(struct store *s, const char *stack,
                      struct store_record_list *out);
/* store_record_list_prefix: those of them whose names start with prefix
 * (a byte-wise prefix). */
int store_record_list_prefix(struct store *s, const char *stack,
                             const char *prefix, struct store_record_list *out);
/*
 * store_record_each: fn for each of the stack's records, sorted by name,
 * without a list of them all: the record and its strings are the store's
 * and last only until fn returns (copy what you keep); fn must not call
 * the store. A negative return from fn stops the walk and is returned.
 */
typedef int (*store_record_fn)(void *arg, const struct store_record *r);
int store_record_each(struct store *s, const char *stack, store_record_fn fn,
                      void *arg);
/* store_record_delete: SF_ENOTFOUND when there was no such record. */
int store_record_delete(struct store *s, const char *stack, const char *name);
/* store_record_delete_stack: forget every record of the stack. */
int store_record_delete_stack(struct store *s, const char *stack);
/* store_record_free: frees the members and r itself. */
void store_record_free(struct store_record *r);
/* store_record_clear: frees the members only (for records in arrays). */
void store_record_clear(struct store_record *r);
void store_record_list_free(struct store_record_list *l);

/* ---- runs ------------------------------------------------------------ */

struct store_run {
	int64_t id;
	const char *command;    /* "plan", "apply", "destroy", ... (required) */
	const char *stack;      /* required */
	const char *source;     /* manifest paths or git URL, or NULL */
	const char *git_commit; /* resolved commit SHA, or NULL */
	long pid;               /* 0 at begin: this process */
	const char *host;       /* NULL at begin: this host */
	int64_t started_ms;     /* 0 at begin: now */
	int64_t finished_ms;    /* 0 while running */
	const char *outcome;    /* NULL while running; "ok", "failed", ... */
	const char *counts_json; /* JSON object of counts, or NULL */
};

struct store_run_list {
	struct store_run *v;
	size_t n;
};

/* store_run_begin: record a run (id is ignored) and return its id. */
int store_run_begin(struct store *s, const struct store_run *run,
                    int64_t *id_out);
/* store_run_finish: set outcome, counts (JSON or NULL) and finish time. */
int store_run_finish(struct store *s, int64_t id, const char *outcome,
                     const char *counts_json);
/*
 * store_run_list: the runs of stack (NULL: every stack), newest first, at
 * most limit of them (0: all).
 */
int store_run_list(struct store *s, const char *stack, size_t limit,
                   struct store_run_list *out);
void store_run_clear(struct store_run *r);
void store_run_list_free(struct store_run_list *l);

/* ---- journal of mutating API calls ----------------------------------- */

/*
 * An entry is written as "intent" and committed BEFORE the API call, and
 * ends "done" (with the resulting sandbox id) or "failed" (with the
 * message). Entries still open (intent) at the start of a run were left by
 * a crashed run: the next run resolves them from what Daytona shows, then
 * marks them. (The schema also allows "sent", which no version of sandform
 * ever wrote; an entry in that state reads as intent, i.e. open.)
 */
enum store_journal_state {
	STORE_JOURNAL_INTENT = 0,
	STORE_JOURNAL_DONE,
	STORE_JOURNAL_FAILED,
};

struct store_journal_entry {
	int64_t id;
	int64_t run_id; /* 0: none */
	const char *stack;
	const char *name;
	const char *action;     /* "create", "delete", "start", ... */
	const char *sandbox_id; /* the target, NULL for a create */
	const char *
	        detail_json; /* what the call was to do (no secrets), or NULL */
	enum store_journal_state state;
	const char *result_sandbox_id; /* set by done, or NULL */
	const char *message;           /* set by failed, or NULL */
	int64_t created_ms;
	int64_t updated_ms;
};

struct store_journal_list {
	struct store_journal_entry *v;
	size_t n;
};

/* run_id 0 records no run; sandbox_id and detail_json may be NULL. */
int store_journal_intent(struct store *s, int64_t run_id, const char *stack,
                         const char *name, const char *action,
                         const char *sandbox_id, const char *detail_json,
                         int64_t *id_out);
/* result_sandbox_id may be NULL (e.g. a delete). */
int store_journal_done(struct store *s, int64_t id,
                       const char *result_sandbox_id);
int store_journal_failed(struct store *s, int64_t id, const char *message);
/* store_journal_open: the stack's open (intent) entries, by id. */
int store_journal_open(struct store *s, const char *stack,
                       struct store_journal_list *out);
/* store_journal_list: every entry of the stack, open or finished, by id. */
int store_journal_list(struct store *s, const char *stack,
                       struct store_journal_list *out);
/* store_journal_get: one entry by id. */
int store_journal_get(struct store *s, int64_t id,
                      struct store_journal_entry **out);
const char *store_journal_state_name(enum store_journal_state st);
void store_journal_entry_free(struct store_journal_entry *e);
void store_journal_list_free(struct store_journal_list *l);

/* ---- drift observations ---------------------------------------------- */

/*
 * What exists: store_drift_add() and store_drift_list(), pruned with their
 * runs by store_prune() and counted by store_counts(). No command records
 * drift yet; the `sandform drift` command of a later issue will (DESIGN.md
 * §7). Plan and apply keep what they saw in each record's observed_json.
 */

struct store_drift {
	int64_t run_id;
	const char *stack;
	const char *name;
	const char *
	        category; /* missing, state, labels, resources, settings, ... */
	const char *field; /* NULL when the category says it all */
	const char *old_value;
	const char *new_value;
	int64_t observed_ms;
};

struct store_drift_list {
	struct store_drift *v;
	size_t n;
};

/* Values must not be secrets (use a keyed hash or "(sensitive)"). */
int store_drift_add(struct store *s, int64_t run_id, const char *stack,
                    const char *name, const char *category, const char *field,
                    const char *old_value, const char *new_value);
/* store_drift_list: the observations of one run, in insertion order. */
int store_drift_list(struct store *s, int64_t run_id,
                     struct store_drift_list *out);
void store_drift_list_free(struct store_drift_list *l);

/* ---- named settings -------------------------------------------------- */

/* Longest setting name and value store_meta_set() accepts. */
#define STORE_META_KEY_MAX   128
#define STORE_META_VALUE_MAX 4096

/*
 * Setting "resize_unavailable": the API base URL for which a resize
 * answered 404 (resize disabled for the organisation). Set by apply, read
 * by plan, which then plans a replacement instead of a resize.
 */
#define STORE_META_RESIZE_UNAVAILABLE "resize_unavailable"

/*
 * store_meta_set: set a named setting of the state (not per stack) to a
 * string, recording when (ISO-8601 UTC). Names are 1..STORE_META_KEY_MAX
 * characters; the name "hmac_key" is reserved (SF_EINVALID): the state's
 * key is never read or written through these functions.
 */
int store_meta_set(struct store *s, const char *key, const char *value);
/* store_meta_get: *value_out is an owned string, or NULL when the key is
 * absent (returns 0 then too). */
int store_meta_get(struct store *s, const char *key, char **value_out);
/* store_meta_list: every setting, name to value (the key is not one);
 * out is cleared first and is the caller's (strmap_clear()). */
int store_meta_list(struct store *s, struct strmap *out);

/* ---- housekeeping ---------------------------------------------------- */

/*
 * store_prune: forget history older than before_ms (a wall-clock time):
 * finished runs that ended before it, with their drift observations, and
 * journal entries done or failed before it. Open journal entries, records
 * and locks are never pruned. *removed_out (may be NULL) gets the number of
 * rows removed. For long-running `watch` loops.
 */
int store_prune(struct store *s, int64_t before_ms, size_t *removed_out);

/* What a stack holds (store_counts()); the settings are per state. */
struct store_counts {
	size_t records;
	size_t runs;
	size_t journal;      /* entries, open or finished */
	size_t journal_open; /* entries still open */
	size_t drift;        /* observations */
};

/* store_counts: how many rows the stack has of each kind. */
int store_counts(struct store *s, const char *stack, struct store_counts *out);

/* ---- the per-stack lock ---------------------------------------------- */

/*
 * SQLite: a lock is a row. Its holder is stale when its lease expired or
 * when its process no longer exists on this host; a stale lock is taken
 * over by the next acquirer. Other hosts' processes are judged by the
 * lease only.
 *
 * PostgreSQL: a lock is a session advisory lock on a 64-bit key derived
 * from the schema and the stack, held by the handle's database session,
 * plus a row naming the holder (for messages and force-unlock). Only the
 * advisory lock decides: a holder whose session ended (process killed,
 * host lost and detected by TCP keepalives, connection terminated) has
 * released it, and the next acquirer takes the row over at once, from any
 * host; a live session keeps the lock even past its lease (the message
 * then says so: force-unlock ends it). A handle whose connection was lost
 * has lost its locks for good: renew fails (SF_ENOTFOUND) and get finds
 * no lock of its own, so a run notices and stops. The handle reconnects
 * for later calls.
 */

struct store_lock_holder {
	char id[STORE_LOCK_ID_LEN + 1];
	char stack[STORE_LOCK_INFO_MAX + 1];
	char info[STORE_LOCK_INFO_MAX + 1]; /* e.g. "apply" or "watch" */
	char host[STORE_LOCK_HOST_MAX + 1];
	long pid;
	int64_t since_ms;       /* acquired */
	int64_t lease_until_ms; /* expires unless renewed */
	int took_over;          /* acquire: 1 when a stale lock was replaced */
	int connected; /* find: its holder's database session is connected;
	                  force-release: it was, and was ended; SQLite: 0 */
};

/*
 * store_lock_acquire: take the stack's lock for lease_ms (0: the default
 * STORE_LOCK_LEASE_MS). Atomic across processes and handles. A lock
 * whose process no longer exists on this host, or whose lease has expired,
 * is taken over and the takeover is logged. Returns 0 with *current_out
 * describing the new lock (its id is what renew and release take), or
 * SF_ELOCKED with *current_out describing the holder. current_out may be
 * NULL only if the caller does not need the lock id.
 */
int store_lock_acquire(struct store *s, const char *stack,
                       const char *holder_info, int64_t lease_ms,
                       struct store_lock_holder *current_out);
/*
 * store_lock_acquire_wait: store_lock_acquire, retried every
 * STORE_LOCK_POLL_MS until it succeeds or timeout_ms has passed (0: one
 * try), for --lock-timeout. Returns like store_lock_acquire.
 */
int store_lock_acquire_wait(struct store *s, const char *stack,
                            const char *holder_info, int64_t lease_ms,
                            int64_t timeout_ms,
                            struct store_lock_holder *current_out);
/* store_lock_renew: extend the lease; SF_ENOTFOUND if the lock was lost. */
int store_lock_renew(struct store *s, const char *lock_id, int64_t lease_ms);
/* store_lock_release: release our lock; SF_ENOTFOUND if not held. */
int store_lock_release(struct store *s, const char *lock_id);
/*
 * store_lock_force_release: release any lock by id (sandform force-unlock),
 * logging who held it; SF_ENOTFOUND when no lock has that id. holder_out
 * (may be NULL) receives the released lock.
 */
int store_lock_force_release(struct store *s, const char *lock_id,
                             struct store_lock_holder *holder_out);
/* store_lock_get: the stack's current lock, SF_ENOTFOUND when free. */
int store_lock_get(struct store *s, const char *stack,
                   struct store_lock_holder *out);
/*
 * store_lock_find: the lock with that id, any stack (SF_ENOTFOUND when
 * none), with out->connected set when force-releasing it would end a
 * live database session (what force-unlock asks about).
 */
int store_lock_find(struct store *s, const char *lock_id,
                    struct store_lock_holder *out);

/* ---- copying a stack to another state -------------------------------- */

/*
 * store_migrate: copy stack's state from one state to another (any
 * backends), then read the copy back and compare it with the original:
 * records, runs, journal entries (open ones too) and drift observations,
 * with their times; run and journal ids are kept when the target has none
 * of them (else renumbered in order, references following). Settings the
 * target lacks are copied; locks are not. The target gets the source's
 * HMAC key, without which no secret hash would compare: when the target's
 * key differs and it holds other stacks, SF_ECONFLICT (nothing copied).
 * Both stacks are locked while copying (SF_ELOCKED naming the holder when
 * either is locked by a run). A target that already holds the stack is
 * refused (SF_EEXISTS) unless replace, which deletes what it holds there
 * first, in the same transaction as the copy. *copied (may be NULL) gets
 * what was copied.
 */
int store_migrate(struct store *from, struct store *to, const char *stack,
                  int replace, struct store_counts *copied);

#endif
