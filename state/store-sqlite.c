/*
 * store-sqlite: the SQLite backend of the state (backend.h): one file,
 * default ./.sandform/state.db. The policy is in store.c; this file keeps
 * the schema, its migrations, the SQL, and the file.
 *
 * Why it looks the way it does:
 * - The file is checked, or created with mode 0600 whatever the umask, by
 *   statefile.c before SQLite sees it (no links, a directory nobody else
 *   can write in); SQLite gives its -wal and -shm files the mode of the
 *   database file.
 * - WAL with synchronous=NORMAL: a commit is in the WAL (written, not
 *   fsynced) when sqlite3_step() returns, which survives a killed process;
 *   readers never block the writer, so `sandform state list` can run beside
 *   an apply.
 * - Every multi-statement write and every read-then-write (migrations, the
 *   HMAC key, the lock swap) runs in BEGIN IMMEDIATE, which takes the write
 *   lock up front: two processes cannot both read "free" and both insert.
 * - Statements are prepared once per handle (lazily) and reused; a bulk put
 *   of 10,000 records is one transaction of 10,000 steps of one statement.
 * - The CHECK constraints repeat what store.c checks (valid JSON, journal
 *   states): a second line of defence, and the schema documents itself.
 * - Migrations: migrations[v] turns schema v-1 into schema v. To add one,
 *   append its SQL to the array, bump STORE_SQLITE_SCHEMA_VERSION in
 *   backend.h, and add the schema as the previous version wrote it as a
 *   fixture in tests/unit/test_store_sqlite.c (the test migrates every
 *   fixture and compares the result with a fresh database).
 */
#include "common/base.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include "common/error.h"
#include "common/log.h"
#include "common/strmap.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "state/backend.h"
#include "state/statefile.h"
#include "state/store-sqlite.h"
#include "state/store.h"

/* ---- schema ---------------------------------------------------------- */

static const char *const migrations[] = {
	/* [0]: the empty file; nothing to do. */
	NULL,
	/* [1]: the first schema. */
	"CREATE TABLE meta (\n"
	"  key TEXT PRIMARY KEY,\n"
	"  value BLOB NOT NULL\n"
	");\n"
	"CREATE TABLE records (\n"
	"  stack TEXT NOT NULL,\n"
	"  name TEXT NOT NULL,\n"
	"  sandbox_id TEXT,\n"
	"  spec_hash TEXT,\n"
	"  labels TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(labels)),\n"
	"  observed TEXT CHECK (observed IS NULL OR json_valid(observed)),\n"
	"  applied TEXT CHECK (applied IS NULL OR json_valid(applied)),\n"
	"  status TEXT NOT NULL DEFAULT 'active',\n"
	"  created_ms INTEGER NOT NULL,\n"
	"  updated_ms INTEGER NOT NULL,\n"
	"  PRIMARY KEY (stack, name)\n"
	");\n"
	"CREATE INDEX records_sandbox_id ON records (sandbox_id);\n"
	"CREATE TABLE runs (\n"
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
	"  command TEXT NOT NULL,\n"
	"  stack TEXT NOT NULL,\n"
	"  source TEXT,\n"
	"  git_commit TEXT,\n"
	"  pid INTEGER NOT NULL,\n"
	"  host TEXT NOT NULL,\n"
	"  started_ms INTEGER NOT NULL,\n"
	"  finished_ms INTEGER,\n"
	"  outcome TEXT,\n"
	"  counts TEXT CHECK (counts IS NULL OR json_valid(counts))\n"
	");\n"
	"CREATE INDEX runs_stack ON runs (stack, id);\n"
	"CREATE TABLE journal (\n"
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
	"  run_id INTEGER REFERENCES runs (id) ON DELETE SET NULL,\n"
	"  stack TEXT NOT NULL,\n"
	"  name TEXT NOT NULL,\n"
	"  action TEXT NOT NULL,\n"
	"  sandbox_id TEXT,\n"
	"  detail TEXT CHECK (detail IS NULL OR json_valid(detail)),\n"
	"  state TEXT NOT NULL\n"
	"    CHECK (state IN ('intent', 'sent', 'done', 'failed')),\n"
	"  result_sandbox_id TEXT,\n"
	"  message TEXT,\n"
	"  created_ms INTEGER NOT NULL,\n"
	"  updated_ms INTEGER NOT NULL\n"
	");\n"
	"CREATE INDEX journal_open ON journal (stack, state);\n"
	"CREATE TABLE drift (\n"
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
	"  run_id INTEGER REFERENCES runs (id) ON DELETE CASCADE,\n"
	"  stack TEXT NOT NULL,\n"
	"  name TEXT NOT NULL,\n"
	"  category TEXT NOT NULL,\n"
	"  field TEXT,\n"
	"  old_value TEXT,\n"
	"  new_value TEXT,\n"
	"  observed_ms INTEGER NOT NULL\n"
	");\n"
	"CREATE INDEX drift_run ON drift (run_id);\n"
	"CREATE TABLE locks (\n"
	"  stack TEXT PRIMARY KEY,\n"
	"  id TEXT NOT NULL UNIQUE,\n"
	"  holder TEXT NOT NULL,\n"
	"  pid INTEGER NOT NULL,\n"
	"  host TEXT NOT NULL,\n"
	"  acquired_ms INTEGER NOT NULL,\n"
	"  renewed_ms INTEGER NOT NULL,\n"
	"  lease_until_ms INTEGER NOT NULL\n"
	");\n",
	/*
	 * [2]: meta becomes a table of named settings with the time each was
	 * last set (store_meta_set); the HMAC key row is kept as it was.
	 */
	"CREATE TABLE meta_v2 (\n"
	"  key TEXT PRIMARY KEY,\n"
	"  value TEXT NOT NULL,\n"
	"  updated TEXT\n"
	");\n"
	"INSERT INTO meta_v2 (key, value) SELECT key, value FROM meta;\n"
	"DROP TABLE meta;\n"
	"ALTER TABLE meta_v2 RENAME TO meta;\n",
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) ==
                       STORE_SQLITE_SCHEMA_VERSION + 1,
               "one migration per schema version");

/* ---- prepared statements --------------------------------------------- */

enum stmt_id {
	ST_REC_PUT,
	ST_REC_GET,
	ST_REC_FIND_ID,
	ST_REC_LIST,
	ST_REC_LIST_RANGE,
	ST_REC_DEL,
	ST_REC_DEL_STACK,
	ST_RUN_ADD,
	ST_RUN_FINISH,
	ST_RUN_LIST,
	ST_J_ADD,
	ST_J_DONE,
	ST_J_FAILED,
	ST_J_OPEN,
	ST_J_LIST,
	ST_J_GET,
	ST_DRIFT_ADD,
	ST_DRIFT_LIST,
	ST_LOCK_GET,
	ST_LOCK_GET_ID,
	ST_LOCK_DEL_STACK,
	ST_LOCK_INSERT,
	ST_LOCK_RENEW,
	ST_LOCK_DEL_ID,
	ST_META_SET,
	ST_META_GET,
	ST_META_LIST,
	ST_COUNTS,
	ST_COUNT
};

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
#define LOCK_COLS "id, stack, holder, pid, host, acquired_ms, lease_until_ms"
/* The open journal states: "sent" was allowed by the schema, never used. */
#define J_OPEN "('intent', 'sent')"

static const char *const stmt_sql[ST_COUNT] = {
	[ST_REC_PUT] =
	        "INSERT INTO records (" REC_COLS ") "
	        "VALUES (?1, ?2, ?3, ?4, coalesce(?5, '{}'), ?6, ?7, "
	        "coalesce(?8, 'active'), ?9, ?9) "
	        "ON CONFLICT (stack, name) DO UPDATE SET "
	        "sandbox_id = excluded.sandbox_id, "
	        "spec_hash = excluded.spec_hash, labels = excluded.labels, "
	        "observed = excluded.observed, applied = excluded.applied, "
	        "status = excluded.status, updated_ms = excluded.updated_ms",
	[ST_REC_GET] = "SELECT " REC_COLS " FROM records "
	               "WHERE stack = ?1 AND name = ?2",
	[ST_REC_FIND_ID] = "SELECT " REC_COLS " FROM records "
	                   "WHERE sandbox_id = ?1 ORDER BY stack, name "
	                   "LIMIT 1",
	[ST_REC_LIST] = "SELECT " REC_COLS " FROM records WHERE stack = ?1 "
	                "ORDER BY name",
	[ST_REC_LIST_RANGE] = "SELECT " REC_COLS " FROM records "
	                      "WHERE stack = ?1 AND name >= ?2 AND name < ?3 "
	                      "ORDER BY name",
	[ST_REC_DEL] = "DELETE FROM records WHERE stack = ?1 AND name = ?2",
	[ST_REC_DEL_STACK] = "DELETE FROM records WHERE stack = ?1",
	[ST_RUN_ADD] = "INSERT INTO runs (command, stack, source, "
	               "git_commit, pid, host, started_ms) "
	               "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[ST_RUN_FINISH] = "UPDATE runs SET outcome = ?2, counts = ?3, "
	                  "finished_ms = ?4 WHERE id = ?1",
	[ST_RUN_LIST] = "SELECT " RUN_COLS " FROM runs "
	                "WHERE ?1 IS NULL OR stack = ?1 "
	                "ORDER BY id DESC LIMIT ?2",
	[ST_J_ADD] = "INSERT INTO journal (run_id, stack, name, action, "
	             "sandbox_id, detail, state, created_ms, updated_ms) "
	             "VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'intent', ?7, ?8)",
	[ST_J_DONE] = "UPDATE journal SET state = 'done', "
	              "result_sandbox_id = ?3, updated_ms = ?2 "
	              "WHERE id = ?1 AND state IN " J_OPEN,
	[ST_J_FAILED] = "UPDATE journal SET state = 'failed', message = ?3, "
	                "updated_ms = ?2 "
	                "WHERE id = ?1 AND state IN " J_OPEN,
	[ST_J_OPEN] = "SELECT " J_COLS " FROM journal WHERE stack = ?1 "
	              "AND state IN " J_OPEN " ORDER BY id",
	[ST_J_LIST] = "SELECT " J_COLS " FROM journal WHERE stack = ?1 "
	              "ORDER BY id",
	[ST_J_GET] = "SELECT " J_COLS " FROM journal WHERE id = ?1",
	[ST_DRIFT_ADD] = "INSERT INTO drift (" DRIFT_COLS ") "
	                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[ST_DRIFT_LIST] = "SELECT " DRIFT_COLS " FROM drift "
	                  "WHERE run_id = ?1 ORDER BY id",
	[ST_LOCK_GET] = "SELECT " LOCK_COLS " FROM locks WHERE stack = ?1",
	[ST_LOCK_GET_ID] = "SELECT " LOCK_COLS " FROM locks WHERE id = ?1",
	[ST_LOCK_DEL_STACK] = "DELETE FROM locks WHERE stack = ?1",
	[ST_LOCK_INSERT] = "INSERT INTO locks (id, stack, holder, pid, host, "
	                   "acquired_ms, renewed_ms, lease_until_ms) "
	                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7)",
	[ST_LOCK_RENEW] = "UPDATE locks SET renewed_ms = ?2, "
	                  "lease_until_ms = ?3 WHERE id = ?1",
	[ST_LOCK_DEL_ID] = "DELETE FROM locks WHERE id = ?1",
	[ST_META_SET] = "INSERT INTO meta (key, value, updated) "
	                "VALUES (?1, ?2, ?3) ON CONFLICT (key) DO UPDATE SET "
	                "value = excluded.value, updated = excluded.updated",
	[ST_META_GET] = "SELECT value FROM meta WHERE key = ?1",
	[ST_META_LIST] = "SELECT key, value FROM meta "
	                 "WHERE key <> 'hmac_key' ORDER BY key",
	[ST_COUNTS] = "SELECT "
	              "(SELECT count(*) FROM records WHERE stack = ?1), "
	              "(SELECT count(*) FROM runs WHERE stack = ?1), "
	              "(SELECT count(*) FROM journal WHERE stack = ?1), "
	              "(SELECT count(*) FROM journal WHERE stack = ?1 "
	              "AND state IN " J_OPEN "), "
	              "(SELECT count(*) FROM drift WHERE stack = ?1)",
};

struct store_be {
	sqlite3 *db;
	char *path;
	int version;
	sqlite3_stmt *stmt[ST_COUNT];
};

/* ---- helpers --------------------------------------------------------- */

sqlite3 *
store_sqlite_db(struct store_be *be)
{
	return be->db;
}

/*
 * db_error: record SQLite's message for a failure, with the file. When
 * the failure was the system's (cannot open, I/O), its errno says why.
 */
int
store_sqlite_error(struct store_be *be, int rc, const char *what)
{
	int code = SF_EIO, sys = sqlite3_system_errno(be->db);
	int prim = rc & 0xff;

	if (prim == SQLITE_CONSTRAINT)
		code = SF_EINVALID;
	if ((prim == SQLITE_CANTOPEN || prim == SQLITE_IOERR) && sys != 0)
		return sf_error_set(code, "%s: %s: %s (%s)", be->path, what,
		                    sqlite3_errmsg(be->db), strerror(sys));
	return sf_error_set(code, "%s: %s: %s", be->path, what,
	                    sqlite3_errmsg(be->db));
}

static int
db_exec(struct store_be *be, const char *sql, const char *what)
{
	int rc = sqlite3_exec(be->db, sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		return store_sqlite_error(be, rc, what);
	return 0;
}

int
store_sqlite_begin(struct store_be *be)
{
	return db_exec(be, "BEGIN IMMEDIATE", "begin transaction");
}

static int
tx_commit(struct store_be *be)
{
	return db_exec(be, "COMMIT", "commit");
}

static void
tx_rollback(struct store_be *be)
{
	if (!sqlite3_get_autocommit(be->db))
		(void)sqlite3_exec(be->db, "ROLLBACK", NULL, NULL, NULL);
}

/* tx_end: commit when rc says all went well, else roll back; rc or the
 * commit's failure. */
int
store_sqlite_end(struct store_be *be, int rc)
{
	int crc;

	if (rc >= 0) {
		if ((crc = tx_commit(be)) == 0)
			return rc;
		rc = crc;
	}
	tx_rollback(be);
	return rc;
}

static int
stmt_get(struct store_be *be, enum stmt_id id, sqlite3_stmt **out)
{
	int rc;

	*out = NULL; /* -O2 cannot see that the error below is negative */
	if (be->stmt[id] == NULL) {
		rc = sqlite3_prepare_v3(be->db, stmt_sql[id], -1,
		                        SQLITE_PREPARE_PERSISTENT,
		                        &be->stmt[id], NULL);
		if (rc != SQLITE_OK)
			return store_sqlite_error(be, rc, "prepare");
	}
	*out = be->stmt[id];
	return 0;
}

static void
stmt_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

void
store_sqlite_bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

void
store_sqlite_bind_id(sqlite3_stmt *st, int i, int64_t id)
{
	if (id <= 0)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_int64(st, i, id);
}

static char *
col_str(sqlite3_stmt *st, int i)
{
	const unsigned char *v = sqlite3_column_text(st, i);

	return v ? xstrdup((const char *)v) : NULL;
}

static void
col_copy(sqlite3_stmt *st, int i, char *dst, size_t size)
{
	const unsigned char *v = sqlite3_column_text(st, i);

	snprintf(dst, size, "%s", v ? (const char *)v : "");
}

/* step_write: run a write statement to completion and reset it. */
int
store_sqlite_step(struct store_be *be, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	stmt_done(st);
	if (rc != SQLITE_DONE)
		return store_sqlite_error(be, rc, what);
	return 0;
}

/* step_changes: step_write, then 1 when it changed a row, 0 when none. */
static int
step_changes(struct store_be *be, sqlite3_stmt *st, const char *what)
{
	int rc = store_sqlite_step(be, st, what);

	return rc < 0 ? rc : sqlite3_changes(be->db) > 0;
}

/*
 * row_fill: the current row of st into a zeroed struct of kind k; with
 * borrow, its strings are SQLite's, valid until the next step or reset.
 */
static void
row_fill(sqlite3_stmt *st, const struct store_row_kind *k, void *row,
         int borrow)
{
	const struct store_col *c;
	char *p;
	int i;

	memset(row, 0, k->size);
	for (i = 0; i < (int)k->n_cols; i++) {
		c = &k->cols[i];
		p = (char *)row + c->off;
		switch (c->type) {
		case STORE_COL_STR:
			*(const char **)p =
			        borrow ? (const char *)sqlite3_column_text(st,
			                                                   i)
			               : col_str(st, i);
			break;
		case STORE_COL_I64:
			*(int64_t *)p = sqlite3_column_int64(st, i);
			break;
		case STORE_COL_LONG:
			*(long *)p = (long)sqlite3_column_int64(st, i);
			break;
		case STORE_COL_CHARS:
			col_copy(st, i, p, c->size);
			break;
		case STORE_COL_JSTATE:
			*(enum store_journal_state *)p =
			        store_journal_state_parse(
			                (const char *)sqlite3_column_text(st,
			                                                  i));
			break;
		}
	}
}

/*
 * row_step: step a bound lookup once and reset it; 1 with *row filled when
 * there was a row, 0 when there was none.
 */
static int
row_step(struct store_be *be, sqlite3_stmt *st, const struct store_row_kind *k,
         void *row, const char *what)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW) {
		row_fill(st, k, row, 0);
		rc = 1;
	} else if (rc == SQLITE_DONE) {
		rc = 0;
	} else {
		rc = store_sqlite_error(be, rc, what);
	}
	stmt_done(st);
	return rc;
}

/* row_get: row_step into a new struct (*out, the caller's) when found. */
static int
row_get(struct store_be *be, sqlite3_stmt *st, const struct store_row_kind *k,
        const char *what, void **out)
{
	void *row = xcalloc(1, k->size);
	int rc = row_step(be, st, k, row, what);

	if (rc == 1)
		*out = row;
	else
		free(row);
	return rc;
}

/*
 * rows_read: every row of a bound query into a new array (*v_out, *n_out;
 * empty on failure) and reset the statement.
 */
int
store_sqlite_rows(struct store_be *be, sqlite3_stmt *st,
                  const struct store_row_kind *k, const char *what,
                  void **v_out, size_t *n_out)
{
	size_t n = 0, cap = 0;
	char *v = NULL;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			v = xreallocarray(v, cap, k->size);
		}
		row_fill(st, k, v + n++ * k->size, 0);
	}
	rc = rc == SQLITE_DONE ? 0 : store_sqlite_error(be, rc, what);
	stmt_done(st);
	if (rc < 0) {
		store_rows_free(k, v, n);
		v = NULL;
		n = 0;
	}
	*v_out = v;
	*n_out = n;
	return rc;
}

/* list_by: rows_read of a statement that takes one text (?1, may be NULL). */
static int
list_by(struct store_be *be, enum stmt_id id, const char *arg,
        const struct store_row_kind *k, const char *what, void **v_out,
        size_t *n_out)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = stmt_get(be, id, &st)) < 0)
		return rc;
	store_sqlite_bind_text(st, 1, arg);
	return store_sqlite_rows(be, st, k, what, v_out, n_out);
}

/* ---- the file, migrations, open and close ---------------------------- */

/* pragma_row: run a PRAGMA that answers one row; finalize *out after. */
static int
pragma_row(struct store_be *be, const char *sql, const char *what,
           sqlite3_stmt **out)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(be->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return store_sqlite_error(be, rc, what);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		rc = store_sqlite_error(be, rc, what);
		sqlite3_finalize(st);
		return rc;
	}
	*out = st;
	return 0;
}

static int
user_version(struct store_be *be, int *out)
{
	sqlite3_stmt *st;
	int rc;

	rc = pragma_row(be, "PRAGMA user_version", "read schema version", &st);
	if (rc < 0)
		return rc;
	*out = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return 0;
}

/* migrate: one transaction per step, re-reading the version inside it. */
static int
migrate(struct store_be *be)
{
	char sql[64];
	int v, rc;

	for (;;) {
		if ((rc = store_sqlite_begin(be)) < 0)
			return rc;
		if ((rc = user_version(be, &v)) < 0)
			goto fail;
		if (v == STORE_SQLITE_SCHEMA_VERSION) {
			be->version = v;
			return tx_commit(be);
		}
		if (v < 0 || v > STORE_SQLITE_SCHEMA_VERSION) {
			rc = sf_error_set(SF_EINVALID,
			                  "%s: schema version %d is newer than "
			                  "this sandform supports (%d)",
			                  be->path, v,
			                  STORE_SQLITE_SCHEMA_VERSION);
			goto fail;
		}
		log_debug("%s: migrating schema %d to %d", be->path, v, v + 1);
		if ((rc = db_exec(be, migrations[v + 1], "migrate schema")) < 0)
			goto fail;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if ((rc = db_exec(be, sql, "migrate schema")) < 0)
			goto fail;
		if ((rc = tx_commit(be)) < 0)
			goto fail;
	}
fail:
	tx_rollback(be);
	return rc;
}

static int
set_wal(struct store_be *be)
{
	sqlite3_stmt *st;
	const unsigned char *mode;
	int rc;

	rc = pragma_row(be, "PRAGMA journal_mode = WAL", "enable WAL", &st);
	if (rc < 0)
		return rc;
	mode = sqlite3_column_text(st, 0);
	if (mode == NULL || strcmp((const char *)mode, "wal") != 0) {
		rc = sf_error_set(SF_EIO, "%s: cannot enable WAL (mode '%s')",
		                  be->path, mode ? (const char *)mode : "");
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/*
 * The side files SQLite makes beside the database: it writes through them
 * as through the file itself, so they get the same checks (statefile.h).
 */
static const char *const side_files[] = { "-wal", "-shm", "-journal", NULL };

static int
sqlite_exists(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0)
		return 1;
	if (errno == ENOENT)
		return 0;
	return sf_error_set(SF_EIO, "%s: %s", path, strerror(errno));
}

static void
sqlite_close(struct store_be *be)
{
	size_t i;

	if (be == NULL)
		return;
	for (i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(be->stmt[i]);
	sqlite3_close(be->db);
	free(be->path);
	free(be);
}

/*
 * sqlite_open: the file is checked (or created) by statefile_open(), which
 * also serialises opening among processes: turning a new file into a WAL
 * database is not covered by SQLite's busy handler, and two processes
 * creating one state at once could see "database is locked" or a disk
 * I/O error. The flock is held until the schema is in place.
 */
static int
sqlite_open(const char *path, struct store_be **out)
{
	struct statefile f;
	struct store_be *be = NULL;
	char pragmas[128];
	int rc;

	*out = NULL;
	rc = statefile_open(path, side_files, STORE_BUSY_TIMEOUT_MS, &f);
	if (rc < 0)
		goto out;
	be = xcalloc(1, sizeof(*be));
	be->path = xstrdup(path);
	rc = sqlite3_open_v2(f.real, &be->db,
	                     SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
	                             SQLITE_OPEN_NOFOLLOW,
	                     NULL);
	if (rc != SQLITE_OK) {
		if (be->db == NULL) {
			rc = sf_error_set(SF_EIO, "%s: cannot open database",
			                  path);
			goto out;
		}
		rc = store_sqlite_error(be, rc, "open");
		goto out;
	}
	sqlite3_extended_result_codes(be->db, 1);
	sqlite3_busy_timeout(be->db, STORE_BUSY_TIMEOUT_MS);
	if ((rc = set_wal(be)) < 0)
		goto out;
	/* SQLite has the file and its side files open: are they ours? */
	if ((rc = statefile_verify(&f, path)) < 0)
		goto out;
	snprintf(pragmas, sizeof(pragmas),
	         "PRAGMA synchronous = NORMAL;"
	         "PRAGMA foreign_keys = ON;"
	         "PRAGMA cache_size = -%d;",
	         STORE_SQLITE_CACHE_KIB);
	if ((rc = db_exec(be, pragmas, "configure")) < 0)
		goto out;
	if ((rc = migrate(be)) < 0)
		goto out;
	*out = be;
	be = NULL;
out:
	sqlite_close(be);
	statefile_close(&f); /* releases the flock */
	return rc;
}

static int
sqlite_schema_version(struct store_be *be)
{
	return be->version;
}

/* sqlite_key_init: the key row of meta, inserted when absent. */
static int
sqlite_key_init(struct store_be *be, const unsigned char *fresh,
                unsigned char *out, size_t len)
{
	sqlite3_stmt *st = NULL;
	int rc, step;

	if ((rc = store_sqlite_begin(be)) < 0)
		return rc;
	rc = sqlite3_prepare_v2(be->db,
	                        "SELECT value FROM meta WHERE key = 'hmac_key'",
	                        -1, &st, NULL);
	if (rc != SQLITE_OK) {
		rc = store_sqlite_error(be, rc, "read key");
		goto out;
	}
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		if ((size_t)sqlite3_column_bytes(st, 0) != len) {
			rc = sf_error_set(SF_EINVALID,
			                  "%s: the state's key is damaged",
			                  be->path);
			goto out;
		}
		memcpy(out, sqlite3_column_blob(st, 0), len);
		rc = 0;
		goto out;
	}
	if (step != SQLITE_DONE) {
		rc = store_sqlite_error(be, step, "read key");
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	rc = sqlite3_prepare_v2(
	        be->db, "INSERT INTO meta (key, value) VALUES ('hmac_key', ?1)",
	        -1, &st, NULL);
	if (rc != SQLITE_OK) {
		rc = store_sqlite_error(be, rc, "store key");
		goto out;
	}
	sqlite3_bind_blob(st, 1, fresh, (int)len, SQLITE_STATIC);
	step = sqlite3_step(st);
	rc = step == SQLITE_DONE ? 0
	                         : store_sqlite_error(be, step, "store key");
	if (rc == 0)
		memcpy(out, fresh, len);
out:
	sqlite3_finalize(st);
	return store_sqlite_end(be, rc);
}

/* ---- records --------------------------------------------------------- */

static int
record_put_one(struct store_be *be, const struct store_record *r, int64_t now)
{
	sqlite3_stmt *st;
	char *what;
	int rc;

	if ((rc = stmt_get(be, ST_REC_PUT, &st)) < 0)
		return rc;
	store_sqlite_bind_text(st, 1, r->stack);
	store_sqlite_bind_text(st, 2, r->name);
	store_sqlite_bind_text(st, 3, r->sandbox_id);
	store_sqlite_bind_text(st, 4, r->spec_hash);
	store_sqlite_bind_text(st, 5, r->labels_json);
	store_sqlite_bind_text(st, 6, r->observed_json);
	store_sqlite_bind_text(st, 7, r->applied_json);
	store_sqlite_bind_text(st, 8, r->status);
	sqlite3_bind_int64(st, 9, now);
	rc = sqlite3_step(st);
	stmt_done(st);
	if (rc == SQLITE_DONE)
		return 0;
	what = xasprintf("record '%s'", r->name);
	rc = store_sqlite_error(be, rc, what);
	free(what);
	return rc;
}

static int
sqlite_record_put(struct store_be *be, const struct store_record *v, size_t n,
                  int64_t now_ms)
{
	size_t i;
	int rc;

	if (n == 1)
		return record_put_one(be, v, now_ms);
	if ((rc = store_sqlite_begin(be)) < 0)
		return rc;
	for (i = 0; i < n && rc == 0; i++)
		rc = record_put_one(be, &v[i], now_ms);
	return store_sqlite_end(be, rc);
}

static int
sqlite_record_get(struct store_be *be, const char *stack, const char *name,
                  struct store_record **out)
{
	sqlite3_stmt *st;
	void *row = NULL;
	int rc;

	if ((rc = stmt_get(be, ST_REC_GET, &st)) < 0)
		return rc;
	store_sqlite_bind_text(st, 1, stack);
	store_sqlite_bind_text(st, 2, name);
	rc = row_get(be, st, &store_rows_record, "read record", &row);
	*out = row;
	return rc;
}

static int
sqlite_record_find_id(struct store_be *be, const char *sandbox_id,
                      struct store_record **out)
{
	sqlite3_stmt *st;
	void *row = NULL;
	int rc;

	if ((rc = stmt_get(be, ST_REC_FIND_ID, &st)) < 0)
		return rc;
	store_sqlite_bind_text(st, 1, sandbox_id);
	rc = row_get(be, st, &store_rows_record, "read record", &row);
	*out = row;
	return rc;
}

static int
sqlite_record_list(struct store_be *be, const char *stack, const char *from,
                   const char *to, struct store_record_list *out)
{
	sqlite3_stmt *st;
	void *v = NULL;
	int rc;

	if (from == NULL || to == NULL) {
		rc = list_by(be, ST_REC_LIST, stack, &store_rows_record,
		             "list records", &v, &out->n);
		out->v = v;
		return rc;
	}
	if ((rc = stmt_get(be, ST_REC_LIST_RANGE, &st)) < 0)
		return rc;
	store_sqlite_bind_text(st, 1, stack);
	store_sqlite_bind_text(st, 2, from);
	store_sqlite_bind_text(st, 3, to);
	rc = store_sqlite_rows(be, st, &store_rows_record, "list records", &v,
	                       &out->n);
	out->v = v;
	return rc;
}

static int
sqlite_record_each(struct store_be *be, const char *stack, store_record_fn fn,
                   void *arg)
{
	struct store_record r;
	sqlite3_stmt *st;
	int rc;

	if ((rc = stmt_get(be, ST_REC_LIST, &st)) < 0)
		return rc;
	store_sqlite_bind_text(st, 1, stack);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		row_fill(st, &store_rows_record, &r, 1);
		if ((rc = fn(arg, &r)) < 0) {
			stmt_done(st);
			return rc;
		}
	}
	rc = rc == SQLITE_DONE ? 0 : store_sqlite_error(be, rc, "list records");
	stmt_done(st);
	return rc;
}

static int
sqlite_record_delete(struct store_be *be, const char *stack, const char *name)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = stmt_get(be, ST_REC_DEL, &st)) < 0)
		return rc;
	store_sqlite_bind_text(st, 1, stack);
	store_sqlite_bind_text(st, 2, name);
	return step_changes(be, st, "delete record");
}

static int
sqlite_record_delete_stack(struct store_be *be, const char *stack)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = stmt_get(be, ST_REC_DEL_STACK, &st)) < 0)
		return rc;
	store_sqlite_bind_text(st, 1, stack);
	return store_sqlite_step(be, st, "delete records");
}

/* ---- runs ------------------------------------------------------------ */

static int
sqlite_run_add(struct store_be *be, const struct store_run *run,
               int64_t *id_out)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = stmt_get(be, ST_RUN_ADD, &st)) < 0)
		return rc;
	store_sqlite_bind_text(st, 1, run->command);
	store_sqlite_bind_text(st, 2, run->stack);
	store_sqlite_bind_text(st, 3, run->source);
	store_sqlite_bind_text(st, 4, run->git_commit);
	sqlite3_bind_int64(st, 5, run->pid);
	store_sqlite_bind_text(st, 6, run->host);
	sqlite3_bind_int64(st, 7, run->started_ms);
	if ((rc = store_sqlite_step(be, st, "record run")) < 0)
		return rc;
	*id_out = sqlite3_last_insert_rowid(be->db);
	return 0;
}

static int
sqlite_run_finish(struct store_be *be, int64_t id, const char *outcome,
                  const char *counts_json, int64_t finished_ms)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = stmt_get(be, ST_RUN_FINISH, &st)) < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	store_sqlite_bind_text(st, 2, outcome);
	store_sqlite_bind_text(st, 3, counts_json);
	sqlite3_bind_int64(st, 4, finished_ms);
	return step_changes(be, st, "finish run");
}

static int
sqlite_run_list(struct store_be *be, const char *stack, size_t limit,
                struct store_run_list *out)
{
	sqlite3_stmt *st;
	void *v = NULL;
	int rc;

	if ((rc = stmt_get(be, ST_RUN_LIST, &st)) < 0)
		return rc;
	store_sqlite_bind_text(st, 1, stack);
	sqlite3_bind_int64(st, 2, limit ? (sqlite3_int64)limit : -1);
	rc = store_sqlite_rows(be, st, &store_rows_run, "list runs", &v,
	                       &out->n);
	out->v = v;
	return rc;
}

/* ---- journal --------------------------------------------------------- */

static int
sqlite_journal_add(struct store_be *be, const struct store_journal_entry *e,
                   int64_t *id_out)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = stmt_get(be, ST_J_ADD, &st)) < 0)
		return rc;
	store_sqlite_bind_id(st, 1, e->run_id);
	store_sqlite_bind_text(st, 2, e->stack);
	store_sqlite_bind_text(st, 3, e->name);
	store_sqlite_bind_text(st, 4, e->action);
	store_sqlite_bind_text(st, 5, e->sandbox_id);
	store_sqlite_bind_text(st, 6, e->detail_json);
	sqlite3_bind_int64(st, 7, e->created_ms);
	sqlite3_bind_int64(st, 8, e->updated_ms);
	if ((rc = store_sqlite_step(be, st, "journal intent")) < 0)
		return rc;
	*id_out = sqlite3_last_insert_rowid(be->db);
	return 0;
}

static int
sqlite_journal_finish(struct store_be *be, int64_t id,
                      enum store_journal_state to, const char *arg,
                      int64_t now_ms)
{
	sqlite3_stmt *st;
	int rc;

	if (to != STORE_JOURNAL_DONE && to != STORE_JOURNAL_FAILED)
		return sf_error_set(SF_EINVALID,
		                    "state: a journal entry ends done or "
		                    "failed");
	rc = stmt_get(be, to == STORE_JOURNAL_DONE ? ST_J_DONE : ST_J_FAILED,
	              &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, now_ms);
	store_sqlite_bind_text(st, 3, arg);
	return step_changes(be, st, "journal update");
}

static int
sqlite_journal_get(struct store_be *be, int64_t id,
                   struct store_journal_entry **out)
{
	sqlite3_stmt *st;
	void *row = NULL;
	int rc;

	if ((rc = stmt_get(be, ST_J_GET, &st)) < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	rc = row_get(be, st, &store_rows_journal, "read journal", &row);
	*out = row;
	return rc;
}

static int
sqlite_journal_list(struct store_be *be, const char *stack, int open_only,
                    struct store_journal_list *out)
{
	void *v = NULL;
	int rc = list_by(be, open_only ? ST_J_OPEN : ST_J_LIST, stack,
	                 &store_rows_journal, "list journal", &v, &out->n);

	out->v = v;
	return rc;
}

/* ---- drift ----------------------------------------------------------- */

static int
sqlite_drift_add(struct store_be *be, const struct store_drift *d)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = stmt_get(be, ST_DRIFT_ADD, &st)) < 0)
		return rc;
	store_sqlite_bind_id(st, 1, d->run_id);
	store_sqlite_bind_text(st, 2, d->stack);
	store_sqlite_bind_text(st, 3, d->name);
	store_sqlite_bind_text(st, 4, d->category);
	store_sqlite_bind_text(st, 5, d->field);
	store_sqlite_bind_text(st, 6, d->old_value);
	store_sqlite_bind_text(st, 7, d->new_value);
	sqlite3_bind_int64(st, 8, d->observed_ms);
	return store_sqlite_step(be, st, "record drift");
}

static int
sqlite_drift_list(struct store_be *be, int64_t run_id,
                  struct store_drift_list *out)
{
	sqlite3_stmt *st;
	void *v = NULL;
	int rc;

	if ((rc = stmt_get(be, ST_DRIFT_LIST, &st)) < 0)
		return rc;
	sqlite3_bind_int64(st, 1, run_id);
	rc = store_sqlite_rows(be, st, &store_rows_drift, "list drift", &v,
	                       &out->n);
	out->v = v;
	return rc;
}

/* ---- named settings -------------------------------------------------- */

static int
sqlite_meta_set(struct store_be *be, const char *key, const char *value,
                int64_t now_ms)
{
	char now[SF_ISO8601_LEN + 1];
	sqlite3_stmt *st;
	int rc;

	if ((rc = stmt_get(be, ST_META_SET, &st)) < 0)
		return rc;
	time_format_iso(now_ms, now);
	store_sqlite_bind_text(st, 1, key);
	store_sqlite_bind_text(st, 2, value);
	store_sqlite_bind_text(st, 3, now);
	return store_sqlite_step(be, st, "write setting");
}

static int
sqlite_meta_get(struct store_be *be, const char *key, char **out)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = stmt_get(be, ST_META_GET, &st)) < 0)
		return rc;
	store_sqlite_bind_text(st, 1, key);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = col_str(st, 0);
		rc = 1;
	} else if (rc == SQLITE_DONE) {
		rc = 0;
	} else {
		rc = store_sqlite_error(be, rc, "read setting");
	}
	stmt_done(st);
	return rc;
}

static int
sqlite_meta_list(struct store_be *be, struct strmap *out)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = stmt_get(be, ST_META_LIST, &st)) < 0)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		strmap_set(out, (const char *)sqlite3_column_text(st, 0),
		           (const char *)sqlite3_column_text(st, 1));
	rc = rc == SQLITE_DONE ? 0
	                       : store_sqlite_error(be, rc, "list settings");
	stmt_done(st);
	return rc;
}

/* ---- housekeeping ---------------------------------------------------- */

static int
sqlite_prune(struct store_be *be, int64_t before_ms, size_t *removed)
{
	static const char *const sql[] = {
		"DELETE FROM journal WHERE state IN ('done', 'failed') "
		"AND updated_ms < ?1",
		"DELETE FROM drift WHERE run_id IN (SELECT id FROM runs "
		"WHERE finished_ms IS NOT NULL AND finished_ms < ?1) "
		"OR (run_id IS NULL AND observed_ms < ?1)",
		"DELETE FROM runs WHERE finished_ms IS NOT NULL "
		"AND finished_ms < ?1",
	};
	sqlite3_stmt *st = NULL;
	size_t i;
	int rc;

	*removed = 0;
	if ((rc = store_sqlite_begin(be)) < 0)
		return rc;
	for (i = 0; i < sizeof(sql) / sizeof(sql[0]) && rc == 0; i++) {
		rc = sqlite3_prepare_v2(be->db, sql[i], -1, &st, NULL);
		if (rc != SQLITE_OK) {
			rc = store_sqlite_error(be, rc, "prune");
			break;
		}
		sqlite3_bind_int64(st, 1, before_ms);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE) {
			rc = store_sqlite_error(be, rc, "prune");
			break;
		}
		rc = 0;
		*removed += (size_t)sqlite3_changes(be->db);
	}
	return store_sqlite_end(be, rc);
}

static int
sqlite_counts(struct store_be *be, const char *stack, struct store_counts *out)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = stmt_get(be, ST_COUNTS, &st)) < 0)
		return rc;
	store_sqlite_bind_text(st, 1, stack);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->records = (size_t)sqlite3_column_int64(st, 0);
		out->runs = (size_t)sqlite3_column_int64(st, 1);
		out->journal = (size_t)sqlite3_column_int64(st, 2);
		out->journal_open = (size_t)sqlite3_column_int64(st, 3);
		out->drift = (size_t)sqlite3_column_int64(st, 4);
		rc = 0;
	} else {
		rc = store_sqlite_error(be, rc, "count");
	}
	stmt_done(st);
	return rc;
}

/* ---- locks ----------------------------------------------------------- */

static int
lock_read(struct store_be *be, enum stmt_id id, const char *key,
          struct store_lock_holder *out)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = stmt_get(be, id, &st)) < 0)
		return rc;
	store_sqlite_bind_text(st, 1, key);
	return row_step(be, st, &store_rows_lock, out, "read lock");
}

static int
sqlite_lock_get(struct store_be *be, const char *stack,
                struct store_lock_holder *out)
{
	return lock_read(be, ST_LOCK_GET, stack, out);
}

/* lock_insert: delete the stack's lock (if any) and insert mine. */
static int
lock_insert(struct store_be *be, const char *stack,
            const struct store_lock_holder *mine)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = stmt_get(be, ST_LOCK_DEL_STACK, &st)) < 0)
		return rc;
	store_sqlite_bind_text(st, 1, stack);
	if ((rc = store_sqlite_step(be, st, "take over lock")) < 0)
		return rc;
	if ((rc = stmt_get(be, ST_LOCK_INSERT, &st)) < 0)
		return rc;
	store_sqlite_bind_text(st, 1, mine->id);
	store_sqlite_bind_text(st, 2, stack);
	store_sqlite_bind_text(st, 3, mine->info);
	sqlite3_bind_int64(st, 4, mine->pid);
	store_sqlite_bind_text(st, 5, mine->host);
	sqlite3_bind_int64(st, 6, mine->since_ms);
	sqlite3_bind_int64(st, 7, mine->lease_until_ms);
	return store_sqlite_step(be, st, "take lock");
}

static int
sqlite_lock_swap(struct store_be *be, const char *stack, const char *old_id,
                 const struct store_lock_holder *mine)
{
	struct store_lock_holder cur;
	int rc, found;

	if ((rc = store_sqlite_begin(be)) < 0)
		return rc;
	if ((found = rc = lock_read(be, ST_LOCK_GET, stack, &cur)) < 0)
		return store_sqlite_end(be, rc);
	if (old_id == NULL ? found : !found || strcmp(cur.id, old_id) != 0)
		return store_sqlite_end(be, 0);
	if ((rc = lock_insert(be, stack, mine)) < 0)
		return store_sqlite_end(be, rc);
	return store_sqlite_end(be, 1);
}

static int
sqlite_lock_renew(struct store_be *be, const char *lock_id, int64_t now_ms,
                  int64_t lease_until_ms)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = stmt_get(be, ST_LOCK_RENEW, &st)) < 0)
		return rc;
	store_sqlite_bind_text(st, 1, lock_id);
	sqlite3_bind_int64(st, 2, now_ms);
	sqlite3_bind_int64(st, 3, lease_until_ms);
	return step_changes(be, st, "renew lock");
}

static int
sqlite_lock_delete(struct store_be *be, const char *lock_id,
                   struct store_lock_holder *out)
{
	struct store_lock_holder h;
	sqlite3_stmt *st;
	int rc;

	if ((rc = store_sqlite_begin(be)) < 0)
		return rc;
	if ((rc = lock_read(be, ST_LOCK_GET_ID, lock_id, &h)) <= 0)
		return store_sqlite_end(be, rc);
	if ((rc = stmt_get(be, ST_LOCK_DEL_ID, &st)) < 0)
		return store_sqlite_end(be, rc);
	store_sqlite_bind_text(st, 1, lock_id);
	if ((rc = store_sqlite_step(be, st, "release lock")) < 0)
		return store_sqlite_end(be, rc);
	if ((rc = store_sqlite_end(be, 1)) == 1 && out != NULL)
		*out = h;
	return rc;
}

static int
sqlite_lock_find(struct store_be *be, const char *lock_id,
                 struct store_lock_holder *out)
{
	return lock_read(be, ST_LOCK_GET_ID, lock_id, out);
}

/* ---- the table --------------------------------------------------------- */

const struct store_backend store_backend_sqlite = {
	.name = "sqlite",
	.schemes = NULL,
	.exists = sqlite_exists,
	.open = sqlite_open,
	.close = sqlite_close,
	.schema_version = sqlite_schema_version,
	.key_init = sqlite_key_init,
	.record_put = sqlite_record_put,
	.record_get = sqlite_record_get,
	.record_find_id = sqlite_record_find_id,
	.record_list = sqlite_record_list,
	.record_each = sqlite_record_each,
	.record_delete = sqlite_record_delete,
	.record_delete_stack = sqlite_record_delete_stack,
	.run_add = sqlite_run_add,
	.run_finish = sqlite_run_finish,
	.run_list = sqlite_run_list,
	.journal_add = sqlite_journal_add,
	.journal_finish = sqlite_journal_finish,
	.journal_get = sqlite_journal_get,
	.journal_list = sqlite_journal_list,
	.drift_add = sqlite_drift_add,
	.drift_list = sqlite_drift_list,
	.meta_set = sqlite_meta_set,
	.meta_get = sqlite_meta_get,
	.meta_list = sqlite_meta_list,
	.prune = sqlite_prune,
	.counts = sqlite_counts,
	.lock_get = sqlite_lock_get,
	.lock_swap = sqlite_lock_swap,
	.lock_renew = sqlite_lock_renew,
	.lock_delete = sqlite_lock_delete,
	.lock_find = sqlite_lock_find,
	.lock_claim = NULL,
	.lock_break = NULL,
	.stacks = store_sqlite_stacks,
	.dump = store_sqlite_dump,
	.load = store_sqlite_load,
	.key_set = store_sqlite_key_set,
};
