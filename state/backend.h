/*
 * backend: the seam between the store's policy (store.c) and the storage
 * that keeps the state (store-sqlite.c; next store-pg.c). Private to
 * state/ and its tests: callers use store.h only.
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
	int (*record_list)(struct store_be *be, const char *stack,
	                   struct store_record_list *out);
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
};
/* clang-format on */

/* The backends this build has (store.c lists them in store_backends[]). */
extern const struct store_backend store_backend_sqlite;

/* The schema version store-sqlite.c writes; older files are migrated. */
#define STORE_SQLITE_SCHEMA_VERSION 2

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

/* store_journal_state_parse: a stored state name; "sent" (allowed by the
 * SQLite schema, never written) and unknown names read as
 * STORE_JOURNAL_INTENT, i.e. open. */
enum store_journal_state store_journal_state_parse(const char *name);

#endif
