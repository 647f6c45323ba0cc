/*
 * store-pg: what the PostgreSQL backend's files share: store-pg.c (the
 * connection, the schema and its migrations, records, runs, journal,
 * drift, settings), store-pg-lock.c (the stack locks) and store-pg-copy.c
 * (copying a stack in and out, for store_migrate). Private to them.
 *
 * A handle is one libpq connection, used by one thread at a time (the
 * store's mutex). Its session holds the handle's stack locks (session
 * advisory locks), listed in held[]. When the connection is found lost,
 * every lock in held[] is marked lost for good (pg_session_lost); the
 * next call outside a transaction connects again.
 *
 * Errors: pg_exec() and friends record "LOCATION: WHAT: MESSAGE" with the
 * location shown without its password and libpq's message: SF_EINVALID
 * for data the server refused (SQLSTATE classes 22 and 23), SF_EIO for
 * everything else, a lost connection included.
 *
 * Ownership: PGresults are the caller's (PQclear()).
 */
#ifndef SF_STATE_STORE_PG_H
#define SF_STATE_STORE_PG_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/strmap.h"
#include "state/backend.h"
#include "state/store.h"

/* The schema when the URL names none. */
#define PG_DEFAULT_SCHEMA "sandform"
/* The longest schema name PostgreSQL keeps (NAMEDATALEN - 1). */
#define PG_SCHEMA_MAX 63
/* Room for an int64 in decimal, with its sign and NUL. */
#define PG_I64_LEN 24

/* The columns in the order of the store_rows_* tables (backend.h). */
#define REC_COLS                                                          \
	"stack, name, sandbox_id, spec_hash, labels, observed, applied, " \
	"status, created_ms, updated_ms"
#define RUN_COLS                                                          \
	"id, command, stack, source, git_commit, pid, host, started_ms, " \
	"finished_ms, outcome, counts"
#define J_COLS                                                         \
	"id, run_id, stack, name, action, sandbox_id, detail, state, " \
	"result_sandbox_id, message, created_ms, updated_ms"
#define DRIFT_COLS                                                     \
	"run_id, stack, name, category, field, old_value, new_value, " \
	"observed_ms"

/* A stack lock this handle took. */
struct pg_held {
	char id[STORE_LOCK_ID_LEN + 1];
	char stack[STORE_LOCK_INFO_MAX + 1];
	int64_t key; /* its advisory lock key */
	int lost;    /* the session that held it is gone */
};

struct store_be {
	PGconn *conn;   /* NULL after a failed reconnect */
	char *conninfo; /* the URL for libpq (no schema=); may hold a password
	                 */
	char *shown;    /* the location without its password, for messages */
	char *schema;
	int version;
	int in_tx;              /* inside BEGIN ... COMMIT: never reconnect */
	struct strmap prepared; /* SQL text to its prepared statement's name,
	                           for this connection */
	struct pg_held *held;
	size_t nheld, capheld;
};

/* pg_i64: v in decimal in buf (for a text parameter); returns buf. */
const char *pg_i64(char buf[PG_I64_LEN], int64_t v);
/* pg_get_i64: the value at (row, col) as an int64 (0 for NULL). */
int64_t pg_get_i64(const PGresult *res, int row, int col);

/*
 * pg_exec: run sql with n text parameters (NULL: SQL NULL), connecting
 * again first when the connection was lost outside a transaction. Each
 * distinct sql is prepared once per connection and then only executed
 * (sql must not hold input: parameters do). 0 with *res (the caller's),
 * or a negative code with the message set.
 */
int pg_exec(struct store_be *be, const char *sql, int n,
            const char *const *vals, const char *what, PGresult **res);
/* pg_cmd: pg_exec for a statement whose rows are not read: the number of
 * rows it touched (>= 0), or a negative code. */
int pg_cmd(struct store_be *be, const char *sql, int n, const char *const *vals,
           const char *what);
/* pg_begin, pg_end: a transaction; end commits when rc >= 0, else rolls
 * back, and returns rc or the commit's failure. */
int pg_begin(struct store_be *be);
int pg_end(struct store_be *be, int rc);
/* pg_row_fill: row r of res into a zeroed struct of kind k (columns in
 * the kind's order). pg_rows: every row into a new array. */
void pg_row_fill(const PGresult *res, int r, const struct store_row_kind *k,
                 void *row);
void pg_rows(const PGresult *res, const struct store_row_kind *k, void **v,
             size_t *n);
/*
 * pg_json_rows: n rows of kind k as a JSON array of objects with the
 * members "c0", "c1", ... in the kind's order, for json_to_recordset()
 * (strings or null, numbers, journal states by name).
 */
void pg_json_rows(struct buf *b, const struct store_row_kind *k,
                  const void *rows, size_t n);
/* pg_session_lost: the connection is gone: mark every held lock lost
 * and say so once. */
void pg_session_lost(struct store_be *be, const char *why);

/* The lock functions of store-pg-lock.c (backend.h). */
int pg_lock_get(struct store_be *be, const char *stack,
                struct store_lock_holder *out);
int pg_lock_renew(struct store_be *be, const char *lock_id, int64_t now_ms,
                  int64_t lease_until_ms);
int pg_lock_delete(struct store_be *be, const char *lock_id,
                   struct store_lock_holder *out);
int pg_lock_find(struct store_be *be, const char *lock_id,
                 struct store_lock_holder *out);
int pg_lock_claim(struct store_be *be, const struct store_lock_holder *mine,
                  struct store_lock_holder *cur);
int pg_lock_break(struct store_be *be, const char *lock_id,
                  struct store_lock_holder *out);
/*
 * pg_lock_lost: 0, or SF_EIO (message set) when this handle held the
 * stack's lock and lost it with its session: a journal intent for the
 * stack is then refused, so no new call is made without the lock, even
 * when the database is back before the run notices.
 */
int pg_lock_lost(struct store_be *be, const char *stack);
/* pg_lock_key: the advisory lock key of what (a stack, or "" with a
 * distinct prefix for the migrations) in this schema. */
int64_t pg_lock_key(const struct store_be *be, const char *prefix,
                    const char *what);

/* The copy functions of store-pg-copy.c (backend.h). */
int pg_stacks(struct store_be *be, struct strmap *out);
int pg_dump(struct store_be *be, const char *stack, struct store_dump *out);
int pg_load(struct store_be *be, const char *stack, struct store_dump *d,
            int replace);
int pg_key_set(struct store_be *be, const unsigned char *key, size_t len);

#endif
