/*
 * backend: the seam between the store's policy (store.c) and the storage
 * that keeps the state (store-sqlite.c, store-pg.c). Private to state/
 * and its tests: callers use store.h only.
 *
 * A backend is a table of functions. store_open() gives a path that looks
 * like a URL ("SCHEME://...") to the backend that lists SCHEME, and any
 * other path to the backend without schemes (the file backend, SQLite).
 * Adding a backend is one new file defining a struct store_backend, its
 * declaration below, and one entry in store_backends[] (store.c).
 *
 * What the store does before a backend sees a call: argument checks
 * (required strings, valid JSON), the env-value scrubbing, every time and
 * default filled in (now, pid, host), and serialisation: a backend handle
 * is only ever used by one thread at a time (the store's mutex). What a
 * backend must do: keep what it is given, atomically where a function says
 * so, visible to every other handle on the same state (other processes
 * included) once the function has returned, and refuse nothing the store
 * has checked. Messages: the store words "not found" (lookups return 1
 * found / 0 none); a backend words its own failures with its detail (file,
 * library message) and returns SF_EIO (or SF_EINVALID for a state it
 * cannot use, such as a newer schema).
 *
 * Locks come in two kinds. A backend whose locks are rows only (SQLite)
 * leaves lock_claim and lock_break NULL: the store then decides when a
 * holder is stale (lease expired, or its process gone from this host) and
 * swaps the row. A backend with sessions (PostgreSQL) sets them: a lock is
 * held by the database session that took it, so only the backend can tell
 * whether its holder lives, and the lease is then informational.
 *
 * Ownership: strings and structs passed in are borrowed for the call.
 * Structs a backend returns belong to the caller, which frees them with
 * store.h's *_free() / *_clear() / *_list_free(): so their string members
 * are allocated with malloc() (xstrdup()). The members of each struct, in
 * the order a backend's queries return them, are described by the
 * store_rows_* tables below, shared by every backend and by the free
 * functions, so a member added to a struct cannot be read and forgotten.
 */
#ifndef SF_STATE_BACKEND_H
#define SF_STATE_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "common/strmap.h"
#include "state/store.h"

/* One open connection of a backend; each backend defines its own. */
struct store_be;

/*
 * struct store_dump: a stack's state but its lock: records by name, runs,
 * journal entries and drift observations each by id.
 */
struct store_dump {
	struct store_record_list records;
	struct store_run_list runs;
	struct store_journal_list journal;
	struct store_drift_list drift;
};

/* clang-format off */
struct store_backend {
	const char *name;            /* "sqlite", shown by state info */
	const char *const *schemes;  /* URL schemes served; NULL: file paths */

	/*
	 * exists: 1 when there is a state at path, 0 when there is none (and
	 * nothing is created). open: open or create the state at path,
	 * bringing its schema up to date; close is NULL-safe.
	 * schema_version: the version now in use.
	 */
	int (*exists)(const char *path);
	int (*open)(const char *path, struct store_be **out);
	void (*close)(struct store_be *be);
	int (*schema_version)(struct store_be *be);

	/*
	 * key_init: the state's HMAC key (len bytes) into out: the stored
	 * one, or fresh, stored now when there is none. Atomic: processes
	 * creating one state at once all get the key that was stored. A
	 * stored key of another length is SF_EINVALID.
	 */
	int (*key_init)(struct store_be *be, const unsigned char *fresh,
	                unsigned char *out, size_t len);

	/* records; put: insert or replace n records, all or none */
	int (*record_put)(struct store_be *be, const struct store_record *v,
	                  size_t n, int64_t now_ms);
	int (*record_get)(struct store_be *be, const char *stack,
	                  const char *name, struct store_record **out);
	int (*record_find_id)(struct store_be *be, const char *sandbox_id,
	                      struct store_record **out);
	/* names in [from, to) when both are set, every name when NULL */
	int (*record_list)(struct store_be *be, const char *stack,
	                   const char *from, const char *to,
	                   struct store_record_list *out);
	/* optional: without it store_record_each lists, then calls */
	int (*record_each)(struct store_be *be, const char *stack,
	                   store_record_fn fn, void *arg);
	int (*record_delete)(struct store_be *be, const char *stack,
	                     const char *name);
	int (*record_delete_stack)(struct store_be *be, const char *stack);

	/* runs; add: run is complete (pid, host, started_ms set) */
	int (*run_add)(struct store_be *be, const struct store_run *run,
	               int64_t *id_out);
	int (*run_finish)(struct store_be *be, int64_t id, const char *outcome,
	                  const char *counts_json, int64_t finished_ms);
	int (*run_list)(struct store_be *be, const char *stack, size_t limit,
	                struct store_run_list *out);

	/*
	 * journal; add: e is an intent with its times set. finish: move an
	 * open entry (intent; or "sent", which the SQLite schema allows and
	 * nothing writes) to DONE with arg as the result id, or to FAILED
	 * with arg as the message; 0 when no open entry has that id.
	 */
	int (*journal_add)(struct store_be *be,
	                   const struct store_journal_entry *e,
	                   int64_t *id_out);
	int (*journal_finish)(struct store_be *be, int64_t id,
	                      enum store_journal_state to, const char *arg,
	                      int64_t now_ms);
	int (*journal_get)(struct store_be *be, int64_t id,
	                   struct store_journal_entry **out);
	int (*journal_list)(struct store_be *be, const char *stack,
	                    int open_only, struct store_journal_list *out);

	/* drift observations */
	int (*drift_add)(struct store_be *be, const struct store_drift *d);
	int (*drift_list)(struct store_be *be, int64_t run_id,
	                  struct store_drift_list *out);

	/*
	 * named settings. get: 1 with *out (malloc()ed), 0 when absent.
	 * list: name to value into out; the store drops the reserved name
	 * of the key, should a backend keep the key among its settings.
	 */
	int (*meta_set)(struct store_be *be, const char *key,
	                const char *value, int64_t now_ms);
	int (*meta_get)(struct store_be *be, const char *key, char **out);
	int (*meta_list)(struct store_be *be, struct strmap *out);

	/* housekeeping: as store_prune() and store_counts(), one transaction */
	int (*prune)(struct store_be *be, int64_t before_ms, size_t *removed);
	int (*counts)(struct store_be *be, const char *stack,
	              struct store_counts *out);

	/*
	 * locks: at most one per stack, ids unique. swap: atomically, when
	 * the stack's lock is the one with id old_id (NULL: when the stack
	 * has none), replace it with mine and return 1; otherwise change
	 * nothing and return 0. renew and delete return 0 when no lock has
	 * the id; delete fills *out (may be NULL) with what it removed.
	 */
	int (*lock_get)(struct store_be *be, const char *stack,
	                struct store_lock_holder *out);
	int (*lock_swap)(struct store_be *be, const char *stack,
	                 const char *old_id,
	                 const struct store_lock_holder *mine);
	int (*lock_renew)(struct store_be *be, const char *lock_id,
	                  int64_t now_ms, int64_t lease_until_ms);
	int (*lock_delete)(struct store_be *be, const char *lock_id,
	                   struct store_lock_holder *out);
	/*
	 * lock_find: the lock with that id into *out (1), 0 when none; sets
	 * out->connected when its holder's database session is connected.
	 */
	int (*lock_find)(struct store_be *be, const char *lock_id,
	                 struct store_lock_holder *out);

	/*
	 * Session locks (NULL for row-only backends). lock_claim: take the
	 * stack's lock for mine unless a live session holds it: 1 when taken
	 * (*cur: the row of a dead holder that was replaced, or an empty id
	 * when there was none), 0 when held (*cur: the holder; an empty id
	 * when the holder has not written its row yet). A handle that holds
	 * the lock already gets 0 with its own row. lock_break: force-release
	 * the lock with that id: delete its row and end its holder's session
	 * when that is still connected; as lock_delete, with out->connected
	 * set when another session was connected and was ended.
	 */
	int (*lock_claim)(struct store_be *be,
	                  const struct store_lock_holder *mine,
	                  struct store_lock_holder *cur);
	int (*lock_break)(struct store_be *be, const char *lock_id,
	                  struct store_lock_holder *out);

	/*
	 * Copying a stack between states (store_migrate, migrate.c).
	 * stacks: the name of every stack with records, runs, journal
	 * entries or drift (keys of out; values ""). dump: everything the
	 * stack has but its lock, in the order of struct store_dump. load:
	 * write a dump into the stack in one transaction (replace: first
	 * delete what the stack has), keeping the times, the run and journal
	 * ids when none of them is taken in this state (else new ids in the
	 * same order), and updating d's ids and run ids to those stored.
	 * key_set: replace the state's HMAC key.
	 */
	int (*stacks)(struct store_be *be, struct strmap *out);
	int (*dump)(struct store_be *be, const char *stack,
	            struct store_dump *out);
	int (*load)(struct store_be *be, const char *stack,
	            struct store_dump *d, int replace);
	int (*key_set)(struct store_be *be, const unsigned char *key,
	               size_t len);
};
/* clang-format on */

/* The backends this build has (store.c lists them in store_backends[]). */
extern const struct store_backend store_backend_sqlite;
extern const struct store_backend store_backend_pg;

/* The schema version store-sqlite.c writes; older files are migrated. */
#define STORE_SQLITE_SCHEMA_VERSION 2
/* The schema version store-pg.c writes (schema_migrations). */
#define STORE_PG_SCHEMA_VERSION 1

/* ---- the members of the returned structs, in query order ------------- */

enum store_col_type {
	STORE_COL_STR,   /* const char *, malloc()ed (NULL: null) */
	STORE_COL_I64,   /* int64_t */
	STORE_COL_LONG,  /* long */
	STORE_COL_CHARS, /* char[size], truncated */
	STORE_COL_JSTATE /* enum store_journal_state, stored as its name */
};

struct store_col {
	enum store_col_type type;
	size_t off, size;
};

struct store_row_kind {
	size_t size; /* of the struct */
	const struct store_col *cols;
	size_t n_cols;
};

/* struct store_record: stack, name, sandbox_id, spec_hash, labels,
 * observed, applied, status, created_ms, updated_ms */
extern const struct store_row_kind store_rows_record;
/* struct store_run: id, command, stack, source, git_commit, pid, host,
 * started_ms, finished_ms, outcome, counts */
extern const struct store_row_kind store_rows_run;
/* struct store_journal_entry: id, run_id, stack, name, action,
 * sandbox_id, detail, state, result_sandbox_id, message, created_ms,
 * updated_ms */
extern const struct store_row_kind store_rows_journal;
/* struct store_drift: run_id, stack, name, category, field, old_value,
 * new_value, observed_ms */
extern const struct store_row_kind store_rows_drift;
/* struct store_lock_holder: id, stack, info, pid, host, since_ms,
 * lease_until_ms */
extern const struct store_row_kind store_rows_lock;

/* store_row_clear: free the string members of row and zero it. */
void store_row_clear(const struct store_row_kind *k, void *row);
/* store_rows_free: store_row_clear every row of an array, then the array. */
void store_rows_free(const struct store_row_kind *k, void *v, size_t n);

/* ---- what state/'s own modules share (migrate.c) --------------------- */

/*
 * Through the store's mutex, as every call: the backend's stacks, dump and
 * load; store_key_replace sets the state's key (stored and in the handle).
 */
int store_stacks(struct store *s, struct strmap *out);
int store_dump(struct store *s, const char *stack, struct store_dump *out);
int store_load(struct store *s, const char *stack, struct store_dump *d,
               int replace);
int store_key_replace(struct store *s, const unsigned char *key);
/*
 * For a backend's load: store_dump_run_ids: the run ids of d in order
 * (malloc()ed; NULL when none); after the runs were stored with new ids,
 * store_dump_map_runs: turn the run ids of d's journal entries and drift
 * observations from those old ids into the new ones (0 when a run is not
 * among d's runs).
 */
int64_t *store_dump_run_ids(const struct store_dump *d);
void store_dump_map_runs(struct store_dump *d, const int64_t *old);
/* store_dump_free: frees every list of d (NULL-safe) and zeroes it. */
void store_dump_free(struct store_dump *d);
/* store_location: the location the store was opened with, password and
 * all: for the backend only, never for a message. */
const char *store_location(const struct store *s);

/* store_journal_state_parse: a stored state name; "sent" (allowed by the
 * SQLite schema, never written) and unknown names read as
 * STORE_JOURNAL_INTENT, i.e. open. */
enum store_journal_state store_journal_state_parse(const char *name);

#endif
