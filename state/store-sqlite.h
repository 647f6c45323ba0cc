/*
 * store-sqlite: what the SQLite backend's files share: store-sqlite.c (the
 * schema, the SQL of every call, the file) and store-sqlite-copy.c
 * (copying a stack in and out, for store_migrate). Private to them.
 *
 * The helpers are those of store-sqlite.c, with its conventions: errors
 * are recorded with the file's name and SQLite's message (SF_EIO, or
 * SF_EINVALID for a constraint); begin/end wrap BEGIN IMMEDIATE ... COMMIT
 * (end commits when rc >= 0, else rolls back, and returns rc or the
 * commit's failure).
 */
#ifndef SF_STATE_STORE_SQLITE_H
#define SF_STATE_STORE_SQLITE_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "common/strmap.h"
#include "state/backend.h"

/*
 * The page cache of a connection, in KiB (PRAGMA cache_size = -N). SQLite's
 * default (2,000 KiB) filled up during an apply of a few hundred creates
 * and stayed, 2 MiB of a run's peak memory; the pages it would keep are in
 * the operating system's cache anyway (WAL, one connection), and the
 * records are read with one scan.
 */
#define STORE_SQLITE_CACHE_KIB 256

sqlite3 *store_sqlite_db(struct store_be *be);
int store_sqlite_error(struct store_be *be, int rc, const char *what);
int store_sqlite_begin(struct store_be *be);
int store_sqlite_end(struct store_be *be, int rc);
/* bind NULL for a NULL string, or for an id <= 0 */
void store_sqlite_bind_text(sqlite3_stmt *st, int i, const char *v);
void store_sqlite_bind_id(sqlite3_stmt *st, int i, int64_t id);
/* step: run a write statement to completion and reset it */
int store_sqlite_step(struct store_be *be, sqlite3_stmt *st, const char *what);
/* rows: every row of a bound query into a new array of kind k */
int store_sqlite_rows(struct store_be *be, sqlite3_stmt *st,
                      const struct store_row_kind *k, const char *what,
                      void **v_out, size_t *n_out);

/* The backend functions of store-sqlite-copy.c (backend.h). */
int store_sqlite_stacks(struct store_be *be, struct strmap *out);
int store_sqlite_dump(struct store_be *be, const char *stack,
                      struct store_dump *out);
int store_sqlite_load(struct store_be *be, const char *stack,
                      struct store_dump *d, int replace);
int store_sqlite_key_set(struct store_be *be, const unsigned char *key,
                         size_t len);

#endif
