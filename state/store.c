/*
 * store: the SQLite state. See store.h for the contract.
 *
 * Why it looks the way it does:
 * - The file is created by us with open(O_CREAT|O_EXCL, 0600) and fchmod()
 *   before SQLite sees it, so the mode does not depend on the umask; SQLite
 *   gives its -wal and -shm files the mode of the database file.
 * - WAL with synchronous=NORMAL: a commit is in the WAL (written, not
 *   fsynced) when sqlite3_step() returns, which survives a killed process;
 *   readers never block the writer, so `sandform state list` can run beside
 *   an apply.
 * - Every multi-statement write and every read-then-write (migrations, the
 *   HMAC key, the lock) runs in BEGIN IMMEDIATE, which takes the write lock
 *   up front: two processes cannot both read "free" and both insert.
 * - Statements are prepared once per handle (lazily) and reused; a bulk put
 *   of 10,000 records is one transaction of 10,000 steps of one statement.
 * - Migrations: migrations[v] turns schema v-1 into schema v. To add v2,
 *   append its SQL to the array, bump STORE_SCHEMA_VERSION in store.h, and
 *   add the v1 schema as a fixture in tests/unit/test_store.c (the test
 *   migrates every fixture and compares the result with a fresh database).
 */
#include "common/base.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/fileutil.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
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
                       STORE_SCHEMA_VERSION + 1,
               "one migration per schema version");

/* ---- prepared statements --------------------------------------------- */

enum stmt_id {
	ST_REC_PUT,
	ST_REC_GET,
	ST_REC_FIND_ID,
	ST_REC_LIST,
	ST_REC_DEL,
	ST_REC_DEL_STACK,
	ST_RUN_BEGIN,
	ST_RUN_FINISH,
	ST_RUN_LIST,
	ST_J_INTENT,
	ST_J_SENT,
	ST_J_DONE,
	ST_J_FAILED,
	ST_J_OPEN,
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
	ST_COUNT
};

#define REC_COLS                                                          \
	"stack, name, sandbox_id, spec_hash, labels, observed, applied, " \
	"status, created_ms, updated_ms"
#define RUN_COLS                                                          \
	"id, command, stack, source, git_commit, pid, host, started_ms, " \
	"finished_ms, outcome, counts"
#define J_COLS                                                         \
	"id, run_id, stack, name, action, sandbox_id, detail, state, " \
	"result_sandbox_id, message, created_ms, updated_ms"
#define LOCK_COLS "id, stack, holder, pid, host, acquired_ms, lease_until_ms"

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
	[ST_REC_DEL] = "DELETE FROM records WHERE stack = ?1 AND name = ?2",
	[ST_REC_DEL_STACK] = "DELETE FROM records WHERE stack = ?1",
	[ST_RUN_BEGIN] = "INSERT INTO runs (command, stack, source, "
	                 "git_commit, pid, host, started_ms) "
	                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[ST_RUN_FINISH] = "UPDATE runs SET outcome = ?2, counts = ?3, "
	                  "finished_ms = ?4 WHERE id = ?1",
	[ST_RUN_LIST] = "SELECT " RUN_COLS " FROM runs "
	                "WHERE ?1 IS NULL OR stack = ?1 "
	                "ORDER BY id DESC LIMIT ?2",
	[ST_J_INTENT] = "INSERT INTO journal (run_id, stack, name, action, "
	                "sandbox_id, detail, state, created_ms, updated_ms) "
	                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'intent', ?7, ?7)",
	[ST_J_SENT] = "UPDATE journal SET state = 'sent', updated_ms = ?2 "
	              "WHERE id = ?1 AND state = 'intent'",
	[ST_J_DONE] = "UPDATE journal SET state = 'done', "
	              "result_sandbox_id = ?3, updated_ms = ?2 "
	              "WHERE id = ?1 AND state IN ('intent', 'sent')",
	[ST_J_FAILED] = "UPDATE journal SET state = 'failed', message = ?3, "
	                "updated_ms = ?2 "
	                "WHERE id = ?1 AND state IN ('intent', 'sent')",
	[ST_J_OPEN] = "SELECT " J_COLS " FROM journal WHERE stack = ?1 "
	              "AND state IN ('intent', 'sent') ORDER BY id",
	[ST_J_GET] = "SELECT " J_COLS " FROM journal WHERE id = ?1",
	[ST_DRIFT_ADD] = "INSERT INTO drift (run_id, stack, name, category, "
	                 "field, old_value, new_value, observed_ms) "
	                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[ST_DRIFT_LIST] = "SELECT run_id, stack, name, category, field, "
	                  "old_value, new_value, observed_ms FROM drift "
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
};

struct store {
	sqlite3 *db;
	char *path;
	unsigned char key[STORE_HMAC_KEY_LEN];
	pthread_mutex_t mu;
	sqlite3_stmt *stmt[ST_COUNT];
};

/* ---- helpers --------------------------------------------------------- */

/* db_error: record SQLite's message for a failed step, with the file. */
static int
db_error(struct store *s, int rc, const char *what)
{
	int code = SF_EIO;

	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		code = SF_EINVALID;
	return sf_error_set(code, "%s: %s: %s", s->path, what,
	                    sqlite3_errmsg(s->db));
}

static int
db_exec(struct store *s, const char *sql, const char *what)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		return db_error(s, rc, what);
	return 0;
}

static int
tx_begin(struct store *s)
{
	return db_exec(s, "BEGIN IMMEDIATE", "begin transaction");
}

static int
tx_commit(struct store *s)
{
	return db_exec(s, "COMMIT", "commit");
}

static void
tx_rollback(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

static int
stmt_get(struct store *s, enum stmt_id id, sqlite3_stmt **out)
{
	int rc;

	if (s->stmt[id] == NULL) {
		rc = sqlite3_prepare_v3(s->db, stmt_sql[id], -1,
		                        SQLITE_PREPARE_PERSISTENT, &s->stmt[id],
		                        NULL);
		if (rc != SQLITE_OK)
			return db_error(s, rc, "prepare");
	}
	*out = s->stmt[id];
	return 0;
}

static void
stmt_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

static void
bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

static void
bind_id(sqlite3_stmt *st, int i, int64_t id)
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
static int
step_write(struct store *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	stmt_done(st);
	if (rc != SQLITE_DONE)
		return db_error(s, rc, what);
	return 0;
}

/*
 * Rows to structs. Each table's struct is described once, as the list of
 * its members in the order of the SELECT's columns; one fill and one clear
 * serve every table, so a column added to a struct cannot be read and
 * then forgotten by its free function.
 */
enum col_type {
	COL_STR,   /* const char *, a copy owned by the struct (NULL: null) */
	COL_I64,   /* int64_t */
	COL_LONG,  /* long */
	COL_CHARS, /* char[size], truncated */
	COL_JSTATE /* enum store_journal_state, stored as its name */
};

struct col {
	enum col_type type;
	size_t off, size;
};

/* clang-format off */
#define COL(type, st, m) { (type), offsetof(st, m), sizeof(((st *)0)->m) }
/* clang-format on */

struct row_kind {
	size_t size; /* of the struct */
	const struct col *cols;
	size_t n_cols;
};

/* clang-format off */
#define ROW_KIND(st, c) { sizeof(st), (c), sizeof(c) / sizeof(*(c)) }
/* clang-format on */

static enum store_journal_state journal_state_parse(const char *v);

/* row_fill: the current row of st into a zeroed struct. */
static void
row_fill(sqlite3_stmt *st, const struct row_kind *k, void *row)
{
	const struct col *c;
	char *p;
	int i;

	memset(row, 0, k->size);
	for (i = 0; i < (int)k->n_cols; i++) {
		c = &k->cols[i];
		p = (char *)row + c->off;
		switch (c->type) {
		case COL_STR:
			*(const char **)p = col_str(st, i);
			break;
		case COL_I64:
			*(int64_t *)p = sqlite3_column_int64(st, i);
			break;
		case COL_LONG:
			*(long *)p = (long)sqlite3_column_int64(st, i);
			break;
		case COL_CHARS:
			col_copy(st, i, p, c->size);
			break;
		case COL_JSTATE:
			*(enum store_journal_state *)p = journal_state_parse(
			        (const char *)sqlite3_column_text(st, i));
			break;
		}
	}
}

/* row_clear: free the string members and zero the struct. */
static void
row_clear(const struct row_kind *k, void *row)
{
	size_t i;

	for (i = 0; i < k->n_cols; i++)
		if (k->cols[i].type == COL_STR)
			free((void *)*(const char **)((char *)row +
			                              k->cols[i].off));
	memset(row, 0, k->size);
}

/*
 * row_step: step a bound lookup once and reset it; 1 with *row filled when
 * there was a row, 0 when there was none.
 */
static int
row_step(struct store *s, sqlite3_stmt *st, const struct row_kind *k, void *row,
         const char *what)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW) {
		row_fill(st, k, row);
		rc = 1;
	} else if (rc == SQLITE_DONE) {
		rc = 0;
	} else {
		rc = db_error(s, rc, what);
	}
	stmt_done(st);
	return rc;
}

/* row_get: row_step into a new struct (*out, the caller's) when found. */
static int
row_get(struct store *s, sqlite3_stmt *st, const struct row_kind *k,
        const char *what, void **out)
{
	void *row = xcalloc(1, k->size);
	int rc = row_step(s, st, k, row, what);

	if (rc == 1)
		*out = row;
	else
		free(row);
	return rc;
}

static void
rows_free(const struct row_kind *k, void *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		row_clear(k, (char *)v + i * k->size);
	free(v);
}

/*
 * rows_read: every row of a bound query into a new array (*v_out, *n_out;
 * empty on failure) and reset the statement.
 */
static int
rows_read(struct store *s, sqlite3_stmt *st, const struct row_kind *k,
          const char *what, void **v_out, size_t *n_out)
{
	size_t n = 0, cap = 0;
	char *v = NULL;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			v = xreallocarray(v, cap, k->size);
		}
		row_fill(st, k, v + n++ * k->size);
	}
	rc = rc == SQLITE_DONE ? 0 : db_error(s, rc, what);
	stmt_done(st);
	if (rc < 0) {
		rows_free(k, v, n);
		v = NULL;
		n = 0;
	}
	*v_out = v;
	*n_out = n;
	return rc;
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

/* ---- open, migrate, close -------------------------------------------- */

/*
 * create_file: make sure path exists with mode 0600 before SQLite opens it.
 * A new file gets STORE_FILE_MODE whatever the umask; an existing one that
 * others can read is tightened, with a warning.
 */
static int
create_file(const char *path)
{
	struct stat st;
	char *dir = NULL, *slash;
	int fd = -1, rc = 0;

	dir = xstrdup(path);
	slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		if (stat(dir, &st) < 0 &&
		    (rc = file_mkdir_p(dir, STORE_DIR_MODE)) < 0)
			goto out;
	}
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, STORE_FILE_MODE);
	if (fd >= 0) {
		if (fchmod(fd, STORE_FILE_MODE) < 0) {
			rc = sf_error_set(SF_EIO, "%s: %s", path,
			                  strerror(errno));
			goto out;
		}
		log_debug("created state file '%s'", path);
		goto out;
	}
	if (errno != EEXIST) {
		rc = sf_error_set(SF_EIO, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (stat(path, &st) < 0) {
		rc = sf_error_set(SF_EIO, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = sf_error_set(SF_EINVALID, "%s: not a regular file", path);
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		log_warn("%s: state file was readable by others (mode %03o); "
		         "setting 0600",
		         path, (unsigned)(st.st_mode & 0777));
		if (chmod(path, STORE_FILE_MODE) < 0) {
			rc = sf_error_set(SF_EIO, "%s: %s", path,
			                  strerror(errno));
			goto out;
		}
	}
out:
	if (fd >= 0)
		close(fd);
	free(dir);
	return rc;
}

/* pragma_row: run a PRAGMA that answers one row; finalize *out after. */
static int
pragma_row(struct store *s, const char *sql, const char *what,
           sqlite3_stmt **out)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return db_error(s, rc, what);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		rc = db_error(s, rc, what);
		sqlite3_finalize(st);
		return rc;
	}
	*out = st;
	return 0;
}

static int
user_version(struct store *s, int *out)
{
	sqlite3_stmt *st;
	int rc;

	rc = pragma_row(s, "PRAGMA user_version", "read schema version", &st);
	if (rc < 0)
		return rc;
	*out = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return 0;
}

/* migrate: one transaction per step, re-reading the version inside it. */
static int
migrate(struct store *s)
{
	char sql[64];
	int v, rc;

	for (;;) {
		if ((rc = tx_begin(s)) < 0)
			return rc;
		if ((rc = user_version(s, &v)) < 0)
			goto fail;
		if (v == STORE_SCHEMA_VERSION)
			return tx_commit(s);
		if (v < 0 || v > STORE_SCHEMA_VERSION) {
			rc = sf_error_set(SF_EINVALID,
			                  "%s: schema version %d is newer than "
			                  "this sandform supports (%d)",
			                  s->path, v, STORE_SCHEMA_VERSION);
			goto fail;
		}
		log_debug("%s: migrating schema %d to %d", s->path, v, v + 1);
		if ((rc = db_exec(s, migrations[v + 1], "migrate schema")) < 0)
			goto fail;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if ((rc = db_exec(s, sql, "migrate schema")) < 0)
			goto fail;
		if ((rc = tx_commit(s)) < 0)
			goto fail;
	}
fail:
	tx_rollback(s);
	return rc;
}

/* load_key: read the state's HMAC key, creating it in a new state. */
static int
load_key(struct store *s)
{
	sqlite3_stmt *st = NULL;
	int rc, step;

	if ((rc = tx_begin(s)) < 0)
		return rc;
	rc = sqlite3_prepare_v2(s->db,
	                        "SELECT value FROM meta WHERE key = 'hmac_key'",
	                        -1, &st, NULL);
	if (rc != SQLITE_OK) {
		rc = db_error(s, rc, "read key");
		goto out;
	}
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		if (sqlite3_column_bytes(st, 0) != STORE_HMAC_KEY_LEN) {
			rc = sf_error_set(SF_EINVALID,
			                  "%s: the state's key is damaged",
			                  s->path);
			goto out;
		}
		memcpy(s->key, sqlite3_column_blob(st, 0), STORE_HMAC_KEY_LEN);
		rc = 0;
		goto out;
	}
	if (step != SQLITE_DONE) {
		rc = db_error(s, step, "read key");
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (random_bytes(s->key, sizeof(s->key)) < 0) {
		rc = sf_error_set(SF_EIO, "%s: no random bytes for the key",
		                  s->path);
		goto out;
	}
	rc = sqlite3_prepare_v2(
	        s->db, "INSERT INTO meta (key, value) VALUES ('hmac_key', ?1)",
	        -1, &st, NULL);
	if (rc != SQLITE_OK) {
		rc = db_error(s, rc, "store key");
		goto out;
	}
	sqlite3_bind_blob(st, 1, s->key, sizeof(s->key), SQLITE_STATIC);
	step = sqlite3_step(st);
	rc = step == SQLITE_DONE ? 0 : db_error(s, step, "store key");
out:
	sqlite3_finalize(st);
	if (rc == 0)
		return tx_commit(s);
	tx_rollback(s);
	return rc;
}

static int
set_wal(struct store *s)
{
	sqlite3_stmt *st;
	const unsigned char *mode;
	int rc;

	rc = pragma_row(s, "PRAGMA journal_mode = WAL", "enable WAL", &st);
	if (rc < 0)
		return rc;
	mode = sqlite3_column_text(st, 0);
	if (mode == NULL || strcmp((const char *)mode, "wal") != 0) {
		rc = sf_error_set(SF_EIO, "%s: cannot enable WAL (mode '%s')",
		                  s->path, mode ? (const char *)mode : "");
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/*
 * init_lock: serialise opening among processes. Turning a new file into a
 * WAL database is not covered by SQLite's busy handler: two processes
 * creating one state at once could see "database is locked" or a disk I/O
 * error. An advisory flock() on the state's directory (never on the
 * database file, whose POSIX locks belong to SQLite) is held from before
 * SQLite opens the file until the schema and key are in place.
 */
static int
init_lock(const char *path, int *fd_out)
{
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	int64_t deadline = time_mono_ms() + STORE_BUSY_TIMEOUT_MS;
	int fd, rc = 0;

	if (slash == dir)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		rc = sf_error_set(SF_EIO, "%s: %s", slash ? dir : ".",
		                  strerror(errno));
		goto out;
	}
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			rc = sf_error_set(SF_EIO, "%s: lock: %s", path,
			                  strerror(errno));
			goto out;
		}
		if (time_mono_ms() > deadline) {
			rc = sf_error_set(SF_EIO,
			                  "%s: timed out waiting for another "
			                  "process opening the state",
			                  path);
			goto out;
		}
		time_sleep_ms(5);
	}
	*fd_out = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	free(dir);
	return rc;
}

int
store_open(const char *path, struct store **out)
{
	struct store *s = NULL;
	int rc, lockfd = -1;

	*out = NULL;
	if (empty(path))
		return sf_error_set(SF_EINVALID, "state: empty path");
	if ((rc = create_file(path)) < 0)
		return rc;
	if ((rc = init_lock(path, &lockfd)) < 0)
		return rc;
	s = xcalloc(1, sizeof(*s));
	s->path = xstrdup(path);
	pthread_mutex_init(&s->mu, NULL);
	rc = sqlite3_open_v2(path, &s->db,
	                     SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		if (s->db == NULL) {
			rc = sf_error_set(SF_EIO, "%s: cannot open database",
			                  path);
			goto out;
		}
		rc = db_error(s, rc, "open");
		goto out;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
	if ((rc = set_wal(s)) < 0)
		goto out;
	if ((rc = db_exec(s,
	                  "PRAGMA synchronous = NORMAL;"
	                  "PRAGMA foreign_keys = ON;",
	                  "configure")) < 0)
		goto out;
	if ((rc = migrate(s)) < 0)
		goto out;
	if ((rc = load_key(s)) < 0)
		goto out;
	*out = s;
	s = NULL;
out:
	store_close(s);
	close(lockfd); /* releases the flock */
	return rc;
}

void
store_close(struct store *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(s->stmt[i]);
	sqlite3_close(s->db);
	pthread_mutex_destroy(&s->mu);
	explicit_bzero(s->key, sizeof(s->key));
	free(s->path);
	free(s);
}

const char *
store_path(const struct store *s)
{
	return s->path;
}

const unsigned char *
store_hmac_key(const struct store *s)
{
	return s->key;
}

void
store_secret_hash(const struct store *s, const char *value,
                  char out_hex[SF_SHA256_HEX_LEN + 1])
{
	hmac_sha256_hex(s->key, sizeof(s->key), value, strlen(value), out_hex);
}

/* ---- records --------------------------------------------------------- */

static const struct col record_cols[] = {
	COL(COL_STR, struct store_record, stack),
	COL(COL_STR, struct store_record, name),
	COL(COL_STR, struct store_record, sandbox_id),
	COL(COL_STR, struct store_record, spec_hash),
	COL(COL_STR, struct store_record, labels_json),
	COL(COL_STR, struct store_record, observed_json),
	COL(COL_STR, struct store_record, applied_json),
	COL(COL_STR, struct store_record, status),
	COL(COL_I64, struct store_record, created_ms),
	COL(COL_I64, struct store_record, updated_ms),
};
static const struct row_kind record_rows =
        ROW_KIND(struct store_record, record_cols);

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
		store_secret_hash(s, it->valuestring, hex);
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

/* list_stack: rows_read of a list statement that takes the stack as ?1. */
static int
list_stack(struct store *s, enum stmt_id id, const struct row_kind *k,
           const char *stack, const char *what, void **v_out, size_t *n_out)
{
	sqlite3_stmt *st;
	int rc;

	*v_out = NULL;
	*n_out = 0;
	pthread_mutex_lock(&s->mu);
	if ((rc = stmt_get(s, id, &st)) == 0) {
		bind_text(st, 1, stack);
		rc = rows_read(s, st, k, what, v_out, n_out);
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/*
 * bind_json: bind a JSON column through scrub_env(); returns the scrubbed
 * copy the statement points to (free it after the step), or NULL.
 */
static char *
bind_json(struct store *s, sqlite3_stmt *st, int i, const char *json)
{
	char *scrubbed = scrub_env(s, json);

	bind_text(st, i, scrubbed ? scrubbed : json);
	return scrubbed;
}

static int
record_put_locked(struct store *s, const struct store_record *r, int64_t now)
{
	char *observed, *what;
	sqlite3_stmt *st;
	int rc;

	if (empty(r->stack) || empty(r->name))
		return sf_error_set(SF_EINVALID,
		                    "state: a record needs a stack and a name");
	if ((rc = stmt_get(s, ST_REC_PUT, &st)) < 0)
		return rc;
	bind_text(st, 1, r->stack);
	bind_text(st, 2, r->name);
	bind_text(st, 3, r->sandbox_id);
	bind_text(st, 4, r->spec_hash);
	bind_text(st, 5, r->labels_json);
	observed = bind_json(s, st, 6, r->observed_json);
	bind_text(st, 7, r->applied_json);
	bind_text(st, 8, r->status);
	sqlite3_bind_int64(st, 9, now);
	rc = sqlite3_step(st);
	stmt_done(st);
	free(observed);
	if (rc == SQLITE_DONE)
		return 0;
	what = xasprintf("record '%s'", r->name);
	rc = db_error(s, rc, what);
	free(what);
	return rc;
}

int
store_record_put(struct store *s, const struct store_record *r)
{
	int rc;

	pthread_mutex_lock(&s->mu);
	rc = record_put_locked(s, r, time_now_ms());
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int
store_record_put_many(struct store *s, const struct store_record *r, size_t n)
{
	int64_t now = time_now_ms();
	size_t i;
	int rc;

	pthread_mutex_lock(&s->mu);
	if ((rc = tx_begin(s)) < 0)
		goto out;
	for (i = 0; i < n; i++)
		if ((rc = record_put_locked(s, &r[i], now)) < 0)
			goto out;
	rc = tx_commit(s);
out:
	if (rc < 0)
		tx_rollback(s);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int
store_record_get(struct store *s, const char *stack, const char *name,
                 struct store_record **out)
{
	void *row = NULL;
	sqlite3_stmt *st;
	int rc;

	pthread_mutex_lock(&s->mu);
	if ((rc = stmt_get(s, ST_REC_GET, &st)) < 0)
		goto out;
	bind_text(st, 1, stack);
	bind_text(st, 2, name);
	if ((rc = row_get(s, st, &record_rows, "read record", &row)) == 0)
		rc = sf_error_set(SF_ENOTFOUND,
		                  "no record of '%s' in stack '%s'", name,
		                  stack);
out:
	pthread_mutex_unlock(&s->mu);
	*out = row;
	return rc < 0 ? rc : 0;
}

int
store_record_find_id(struct store *s, const char *sandbox_id,
                     struct store_record **out)
{
	void *row = NULL;
	sqlite3_stmt *st;
	int rc;

	pthread_mutex_lock(&s->mu);
	if ((rc = stmt_get(s, ST_REC_FIND_ID, &st)) < 0)
		goto out;
	bind_text(st, 1, sandbox_id);
	if ((rc = row_get(s, st, &record_rows, "read record", &row)) == 0)
		rc = sf_error_set(SF_ENOTFOUND, "no record of sandbox id '%s'",
		                  sandbox_id);
out:
	pthread_mutex_unlock(&s->mu);
	*out = row;
	return rc < 0 ? rc : 0;
}

int
store_record_list(struct store *s, const char *stack,
                  struct store_record_list *out)
{
	void *v;
	size_t n;
	int rc = list_stack(s, ST_REC_LIST, &record_rows, stack, "list records",
	                    &v, &n);

	out->v = v;
	out->n = n;
	return rc;
}

int
store_record_delete(struct store *s, const char *stack, const char *name)
{
	sqlite3_stmt *st;
	int rc;

	pthread_mutex_lock(&s->mu);
	if ((rc = stmt_get(s, ST_REC_DEL, &st)) < 0)
		goto out;
	bind_text(st, 1, stack);
	bind_text(st, 2, name);
	if ((rc = step_write(s, st, "delete record")) < 0)
		goto out;
	if (sqlite3_changes(s->db) == 0)
		rc = sf_error_set(SF_ENOTFOUND,
		                  "no record of '%s' in stack '%s'", name,
		                  stack);
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int
store_record_delete_stack(struct store *s, const char *stack)
{
	sqlite3_stmt *st;
	int rc;

	pthread_mutex_lock(&s->mu);
	if ((rc = stmt_get(s, ST_REC_DEL_STACK, &st)) < 0)
		goto out;
	bind_text(st, 1, stack);
	rc = step_write(s, st, "delete records");
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

void
store_record_clear(struct store_record *r)
{
	if (r != NULL)
		row_clear(&record_rows, r);
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
	rows_free(&record_rows, l->v, l->n);
	l->v = NULL;
	l->n = 0;
}

/* ---- runs ------------------------------------------------------------ */

static const struct col run_cols[] = {
	COL(COL_I64, struct store_run, id),
	COL(COL_STR, struct store_run, command),
	COL(COL_STR, struct store_run, stack),
	COL(COL_STR, struct store_run, source),
	COL(COL_STR, struct store_run, git_commit),
	COL(COL_LONG, struct store_run, pid),
	COL(COL_STR, struct store_run, host),
	COL(COL_I64, struct store_run, started_ms),
	COL(COL_I64, struct store_run, finished_ms),
	COL(COL_STR, struct store_run, outcome),
	COL(COL_STR, struct store_run, counts_json),
};
static const struct row_kind run_rows = ROW_KIND(struct store_run, run_cols);

int
store_run_begin(struct store *s, const struct store_run *run, int64_t *id_out)
{
	char host[STORE_LOCK_HOST_MAX + 1];
	sqlite3_stmt *st;
	int rc;

	if (empty(run->command) || empty(run->stack))
		return sf_error_set(SF_EINVALID,
		                    "state: a run needs a command and a stack");
	if (run->host == NULL)
		this_host(host, sizeof(host));
	pthread_mutex_lock(&s->mu);
	if ((rc = stmt_get(s, ST_RUN_BEGIN, &st)) < 0)
		goto out;
	bind_text(st, 1, run->command);
	bind_text(st, 2, run->stack);
	bind_text(st, 3, run->source);
	bind_text(st, 4, run->git_commit);
	sqlite3_bind_int64(st, 5, run->pid ? run->pid : (long)getpid());
	bind_text(st, 6, run->host ? run->host : host);
	sqlite3_bind_int64(st, 7,
	                   run->started_ms ? run->started_ms : time_now_ms());
	if ((rc = step_write(s, st, "record run")) < 0)
		goto out;
	*id_out = sqlite3_last_insert_rowid(s->db);
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int
store_run_finish(struct store *s, int64_t id, const char *outcome,
                 const char *counts_json)
{
	sqlite3_stmt *st;
	int rc;

	if (empty(outcome))
		return sf_error_set(SF_EINVALID, "state: a run needs an "
		                                 "outcome");
	pthread_mutex_lock(&s->mu);
	if ((rc = stmt_get(s, ST_RUN_FINISH, &st)) < 0)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	bind_text(st, 2, outcome);
	bind_text(st, 3, counts_json);
	sqlite3_bind_int64(st, 4, time_now_ms());
	if ((rc = step_write(s, st, "finish run")) < 0)
		goto out;
	if (sqlite3_changes(s->db) == 0)
		rc = sf_error_set(SF_ENOTFOUND, "no run %lld", (long long)id);
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int
store_run_list(struct store *s, const char *stack, size_t limit,
               struct store_run_list *out)
{
	void *v = NULL;
	size_t n = 0;
	sqlite3_stmt *st;
	int rc;

	pthread_mutex_lock(&s->mu);
	if ((rc = stmt_get(s, ST_RUN_LIST, &st)) < 0)
		goto out;
	bind_text(st, 1, stack);
	sqlite3_bind_int64(st, 2, limit ? (sqlite3_int64)limit : -1);
	rc = rows_read(s, st, &run_rows, "list runs", &v, &n);
out:
	pthread_mutex_unlock(&s->mu);
	out->v = v;
	out->n = n;
	return rc;
}

void
store_run_clear(struct store_run *r)
{
	if (r != NULL)
		row_clear(&run_rows, r);
}

void
store_run_list_free(struct store_run_list *l)
{
	if (l == NULL)
		return;
	rows_free(&run_rows, l->v, l->n);
	l->v = NULL;
	l->n = 0;
}

/* ---- journal --------------------------------------------------------- */

static const char *const journal_states[] = {
	[STORE_JOURNAL_INTENT] = "intent",
	[STORE_JOURNAL_SENT] = "sent",
	[STORE_JOURNAL_DONE] = "done",
	[STORE_JOURNAL_FAILED] = "failed",
};

const char *
store_journal_state_name(enum store_journal_state state)
{
	if ((unsigned)state >= sizeof(journal_states) / sizeof(*journal_states))
		return "unknown";
	return journal_states[state];
}

static enum store_journal_state
journal_state_parse(const char *v)
{
	size_t i;

	for (i = 0; i < sizeof(journal_states) / sizeof(*journal_states); i++)
		if (v != NULL && strcmp(v, journal_states[i]) == 0)
			return (enum store_journal_state)i;
	return STORE_JOURNAL_INTENT;
}

static const struct col journal_cols[] = {
	COL(COL_I64, struct store_journal_entry, id),
	COL(COL_I64, struct store_journal_entry, run_id),
	COL(COL_STR, struct store_journal_entry, stack),
	COL(COL_STR, struct store_journal_entry, name),
	COL(COL_STR, struct store_journal_entry, action),
	COL(COL_STR, struct store_journal_entry, sandbox_id),
	COL(COL_STR, struct store_journal_entry, detail_json),
	COL(COL_JSTATE, struct store_journal_entry, state),
	COL(COL_STR, struct store_journal_entry, result_sandbox_id),
	COL(COL_STR, struct store_journal_entry, message),
	COL(COL_I64, struct store_journal_entry, created_ms),
	COL(COL_I64, struct store_journal_entry, updated_ms),
};
static const struct row_kind journal_rows =
        ROW_KIND(struct store_journal_entry, journal_cols);

/* journal_get_locked: one entry by id; SF_ENOTFOUND when there is none. */
static int
journal_get_locked(struct store *s, int64_t id,
                   struct store_journal_entry **out)
{
	void *row = NULL;
	sqlite3_stmt *st;
	int rc;

	if ((rc = stmt_get(s, ST_J_GET, &st)) < 0)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = row_get(s, st, &journal_rows, "read journal", &row)) == 0)
		rc = sf_error_set(SF_ENOTFOUND, "no journal entry %lld",
		                  (long long)id);
out:
	*out = row;
	return rc < 0 ? rc : 0;
}

int
store_journal_intent(struct store *s, int64_t run_id, const char *stack,
                     const char *name, const char *action,
                     const char *sandbox_id, const char *detail_json,
                     int64_t *id_out)
{
	char *detail = NULL;
	sqlite3_stmt *st;
	int rc;

	if (empty(stack) || empty(name) || empty(action))
		return sf_error_set(SF_EINVALID,
		                    "state: a journal entry needs a stack, a "
		                    "name and an action");
	pthread_mutex_lock(&s->mu);
	if ((rc = stmt_get(s, ST_J_INTENT, &st)) < 0)
		goto out;
	bind_id(st, 1, run_id);
	bind_text(st, 2, stack);
	bind_text(st, 3, name);
	bind_text(st, 4, action);
	bind_text(st, 5, sandbox_id);
	detail = bind_json(s, st, 6, detail_json);
	sqlite3_bind_int64(st, 7, time_now_ms());
	if ((rc = step_write(s, st, "journal intent")) < 0)
		goto out;
	*id_out = sqlite3_last_insert_rowid(s->db);
out:
	pthread_mutex_unlock(&s->mu);
	free(detail);
	return rc;
}

/*
 * journal_move: run one of the state-changing updates; when it changed
 * nothing, say whether the entry is missing or already finished.
 */
static int
journal_move(struct store *s, enum stmt_id which, int64_t id, const char *arg,
             const char *to)
{
	struct store_journal_entry *e = NULL;
	sqlite3_stmt *st;
	int rc;

	pthread_mutex_lock(&s->mu);
	if ((rc = stmt_get(s, which, &st)) < 0)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, time_now_ms());
	if (which != ST_J_SENT)
		bind_text(st, 3, arg);
	if ((rc = step_write(s, st, "journal update")) < 0)
		goto out;
	if (sqlite3_changes(s->db) > 0)
		goto out;
	if ((rc = journal_get_locked(s, id, &e)) < 0)
		goto out;
	rc = sf_error_set(
	        SF_EINVALID, "journal entry %lld is already %s, not %s",
	        (long long)id, store_journal_state_name(e->state), to);
out:
	pthread_mutex_unlock(&s->mu);
	store_journal_entry_free(e);
	return rc;
}

int
store_journal_sent(struct store *s, int64_t id)
{
	return journal_move(s, ST_J_SENT, id, NULL, "sent");
}

int
store_journal_done(struct store *s, int64_t id, const char *result_sandbox_id)
{
	return journal_move(s, ST_J_DONE, id, result_sandbox_id, "done");
}

int
store_journal_failed(struct store *s, int64_t id, const char *message)
{
	return journal_move(s, ST_J_FAILED, id, message ? message : "",
	                    "failed");
}

int
store_journal_open(struct store *s, const char *stack,
                   struct store_journal_list *out)
{
	void *v;
	size_t n;
	int rc = list_stack(s, ST_J_OPEN, &journal_rows, stack, "list journal",
	                    &v, &n);

	out->v = v;
	out->n = n;
	return rc;
}

int
store_journal_get(struct store *s, int64_t id, struct store_journal_entry **out)
{
	int rc;

	pthread_mutex_lock(&s->mu);
	rc = journal_get_locked(s, id, out);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

void
store_journal_entry_free(struct store_journal_entry *e)
{
	if (e == NULL)
		return;
	row_clear(&journal_rows, e);
	free(e);
}

void
store_journal_list_free(struct store_journal_list *l)
{
	if (l == NULL)
		return;
	rows_free(&journal_rows, l->v, l->n);
	l->v = NULL;
	l->n = 0;
}

/* ---- drift ----------------------------------------------------------- */

static const struct col drift_cols[] = {
	COL(COL_I64, struct store_drift, run_id),
	COL(COL_STR, struct store_drift, stack),
	COL(COL_STR, struct store_drift, name),
	COL(COL_STR, struct store_drift, category),
	COL(COL_STR, struct store_drift, field),
	COL(COL_STR, struct store_drift, old_value),
	COL(COL_STR, struct store_drift, new_value),
	COL(COL_I64, struct store_drift, observed_ms),
};
static const struct row_kind drift_rows =
        ROW_KIND(struct store_drift, drift_cols);

int
store_drift_add(struct store *s, int64_t run_id, const char *stack,
                const char *name, const char *category, const char *field,
                const char *old_value, const char *new_value)
{
	sqlite3_stmt *st;
	int rc;

	if (empty(stack) || empty(name) || empty(category))
		return sf_error_set(SF_EINVALID,
		                    "state: a drift observation needs a "
		                    "stack, a name and a category");
	pthread_mutex_lock(&s->mu);
	if ((rc = stmt_get(s, ST_DRIFT_ADD, &st)) < 0)
		goto out;
	bind_id(st, 1, run_id);
	bind_text(st, 2, stack);
	bind_text(st, 3, name);
	bind_text(st, 4, category);
	bind_text(st, 5, field);
	bind_text(st, 6, old_value);
	bind_text(st, 7, new_value);
	sqlite3_bind_int64(st, 8, time_now_ms());
	rc = step_write(s, st, "record drift");
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int
store_drift_list(struct store *s, int64_t run_id, struct store_drift_list *out)
{
	void *v = NULL;
	size_t n = 0;
	sqlite3_stmt *st;
	int rc;

	pthread_mutex_lock(&s->mu);
	if ((rc = stmt_get(s, ST_DRIFT_LIST, &st)) < 0)
		goto out;
	sqlite3_bind_int64(st, 1, run_id);
	rc = rows_read(s, st, &drift_rows, "list drift", &v, &n);
out:
	pthread_mutex_unlock(&s->mu);
	out->v = v;
	out->n = n;
	return rc;
}

void
store_drift_list_free(struct store_drift_list *l)
{
	if (l == NULL)
		return;
	rows_free(&drift_rows, l->v, l->n);
	l->v = NULL;
	l->n = 0;
}

/* ---- named settings -------------------------------------------------- */

/* The meta row that holds the HMAC key; never read or written by name. */
#define META_KEY_HMAC "hmac_key"

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
	char now[SF_ISO8601_LEN + 1];
	sqlite3_stmt *st;
	int rc;

	if ((rc = meta_key_check(key)) < 0)
		return rc;
	if (value == NULL || strlen(value) > STORE_META_VALUE_MAX)
		return sf_error_set(SF_EINVALID,
		                    "state: setting '%s': the value must be a "
		                    "string of at most %d bytes",
		                    key, STORE_META_VALUE_MAX);
	time_format_iso(time_now_ms(), now);
	pthread_mutex_lock(&s->mu);
	if ((rc = stmt_get(s, ST_META_SET, &st)) < 0)
		goto out;
	bind_text(st, 1, key);
	bind_text(st, 2, value);
	bind_text(st, 3, now);
	rc = step_write(s, st, "write setting");
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int
store_meta_get(struct store *s, const char *key, char **value_out)
{
	sqlite3_stmt *st;
	int rc, step;

	*value_out = NULL;
	if ((rc = meta_key_check(key)) < 0)
		return rc;
	pthread_mutex_lock(&s->mu);
	if ((rc = stmt_get(s, ST_META_GET, &st)) < 0)
		goto out;
	bind_text(st, 1, key);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		*value_out = col_str(st, 0);
	else if (step != SQLITE_DONE)
		rc = db_error(s, step, "read setting");
	stmt_done(st);
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* ---- housekeeping ---------------------------------------------------- */

int
store_prune(struct store *s, int64_t before_ms, size_t *removed_out)
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
	size_t removed = 0, i;
	int rc;

	pthread_mutex_lock(&s->mu);
	if ((rc = tx_begin(s)) < 0)
		goto out;
	for (i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		rc = sqlite3_prepare_v2(s->db, sql[i], -1, &st, NULL);
		if (rc != SQLITE_OK) {
			rc = db_error(s, rc, "prune");
			goto out;
		}
		sqlite3_bind_int64(st, 1, before_ms);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
		st = NULL;
		if (rc != SQLITE_DONE) {
			rc = db_error(s, rc, "prune");
			goto out;
		}
		removed += (size_t)sqlite3_changes(s->db);
	}
	if ((rc = tx_commit(s)) < 0)
		goto out;
	log_debug("pruned %zu rows older than %lld", removed,
	          (long long)before_ms);
	if (removed_out != NULL)
		*removed_out = removed;
out:
	if (rc < 0)
		tx_rollback(s);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* ---- the lock -------------------------------------------------------- */

/* Room for "pid N on 'HOST' since TIME (INFO, lock ID)". */
#define HOLDER_DESC_MAX \
	(STORE_LOCK_HOST_MAX + STORE_LOCK_INFO_MAX + STORE_LOCK_ID_LEN + 128)

static const struct col lock_cols[] = {
	COL(COL_CHARS, struct store_lock_holder, id),
	COL(COL_CHARS, struct store_lock_holder, stack),
	COL(COL_CHARS, struct store_lock_holder, info),
	COL(COL_LONG, struct store_lock_holder, pid),
	COL(COL_CHARS, struct store_lock_holder, host),
	COL(COL_I64, struct store_lock_holder, since_ms),
	COL(COL_I64, struct store_lock_holder, lease_until_ms),
};
static const struct row_kind lock_rows =
        ROW_KIND(struct store_lock_holder, lock_cols);

/* lock_read: the lock selected by a bound statement; 1 found, 0 none. */
static int
lock_read(struct store *s, sqlite3_stmt *st, struct store_lock_holder *h)
{
	return row_step(s, st, &lock_rows, h, "read lock");
}

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

int
store_lock_acquire(struct store *s, const char *stack, const char *holder_info,
                   int64_t lease_ms, struct store_lock_holder *current_out)
{
	struct store_lock_holder cur, mine;
	char desc[HOLDER_DESC_MAX];
	const char *why;
	sqlite3_stmt *st;
	int64_t now;
	int rc, found;

	if (empty(stack))
		return sf_error_set(SF_EINVALID, "state: a lock needs a stack");
	if (lease_ms <= 0)
		lease_ms = STORE_LOCK_LEASE_MS;
	memset(&mine, 0, sizeof(mine));
	uuid_v4(mine.id);
	snprintf(mine.stack, sizeof(mine.stack), "%s", stack);
	snprintf(mine.info, sizeof(mine.info), "%s",
	         holder_info ? holder_info : "");
	this_host(mine.host, sizeof(mine.host));
	mine.pid = (long)getpid();

	pthread_mutex_lock(&s->mu);
	if ((rc = tx_begin(s)) < 0)
		goto out;
	now = time_now_ms();
	if ((rc = stmt_get(s, ST_LOCK_GET, &st)) < 0)
		goto out;
	bind_text(st, 1, stack);
	if ((found = rc = lock_read(s, st, &cur)) < 0)
		goto out;
	if (found) {
		why = lock_stale(&cur, mine.host, now);
		format_holder(&cur, desc, sizeof(desc));
		if (why == NULL) {
			if (current_out != NULL)
				*current_out = cur;
			rc = sf_error_set(SF_ELOCKED,
			                  "stack '%s' is locked by %s", stack,
			                  desc);
			goto out;
		}
		log_warn("taking over the lock of stack '%s' from %s: %s",
		         stack, desc, why);
		mine.took_over = 1;
		if ((rc = stmt_get(s, ST_LOCK_DEL_STACK, &st)) < 0)
			goto out;
		bind_text(st, 1, stack);
		if ((rc = step_write(s, st, "take over lock")) < 0)
			goto out;
	}
	mine.since_ms = now;
	mine.lease_until_ms = now + lease_ms;
	if ((rc = stmt_get(s, ST_LOCK_INSERT, &st)) < 0)
		goto out;
	bind_text(st, 1, mine.id);
	bind_text(st, 2, stack);
	bind_text(st, 3, mine.info);
	sqlite3_bind_int64(st, 4, mine.pid);
	bind_text(st, 5, mine.host);
	sqlite3_bind_int64(st, 6, mine.since_ms);
	sqlite3_bind_int64(st, 7, mine.lease_until_ms);
	if ((rc = step_write(s, st, "take lock")) < 0)
		goto out;
	if ((rc = tx_commit(s)) < 0)
		goto out;
	log_debug("locked stack '%s' (lock %s)", stack, mine.id);
	if (current_out != NULL)
		*current_out = mine;
out:
	if (rc < 0)
		tx_rollback(s);
	pthread_mutex_unlock(&s->mu);
	return rc;
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
	sqlite3_stmt *st;
	int64_t now = time_now_ms();
	int rc;

	if (lease_ms <= 0)
		lease_ms = STORE_LOCK_LEASE_MS;
	pthread_mutex_lock(&s->mu);
	if ((rc = stmt_get(s, ST_LOCK_RENEW, &st)) < 0)
		goto out;
	bind_text(st, 1, lock_id);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int64(st, 3, now + lease_ms);
	if ((rc = step_write(s, st, "renew lock")) < 0)
		goto out;
	if (sqlite3_changes(s->db) == 0)
		rc = sf_error_set(SF_ENOTFOUND, "lock %s is no longer held",
		                  lock_id);
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* lock_delete: remove the lock with that id, reporting what it was. */
static int
lock_delete(struct store *s, const char *lock_id,
            struct store_lock_holder *holder_out)
{
	struct store_lock_holder h;
	sqlite3_stmt *st;
	int rc;

	pthread_mutex_lock(&s->mu);
	if ((rc = tx_begin(s)) < 0)
		goto out;
	if ((rc = stmt_get(s, ST_LOCK_GET_ID, &st)) < 0)
		goto out;
	bind_text(st, 1, lock_id);
	if ((rc = lock_read(s, st, &h)) < 0)
		goto out;
	if (rc == 0) {
		rc = sf_error_set(SF_ENOTFOUND, "no lock with id '%s'",
		                  lock_id);
		goto out;
	}
	if ((rc = stmt_get(s, ST_LOCK_DEL_ID, &st)) < 0)
		goto out;
	bind_text(st, 1, lock_id);
	if ((rc = step_write(s, st, "release lock")) < 0)
		goto out;
	if ((rc = tx_commit(s)) < 0)
		goto out;
	if (holder_out != NULL)
		*holder_out = h;
out:
	if (rc < 0)
		tx_rollback(s);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int
store_lock_release(struct store *s, const char *lock_id)
{
	struct store_lock_holder h;
	int rc = lock_delete(s, lock_id, &h);

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
	int rc = lock_delete(s, lock_id, &h);

	if (rc < 0)
		return rc;
	format_holder(&h, desc, sizeof(desc));
	log_warn("force-released the lock of stack '%s' held by %s", h.stack,
	         desc);
	if (holder_out != NULL)
		*holder_out = h;
	return 0;
}

int
store_lock_get(struct store *s, const char *stack,
               struct store_lock_holder *out)
{
	sqlite3_stmt *st;
	int rc;

	pthread_mutex_lock(&s->mu);
	if ((rc = stmt_get(s, ST_LOCK_GET, &st)) < 0)
		goto out;
	bind_text(st, 1, stack);
	if ((rc = lock_read(s, st, out)) == 0)
		rc = sf_error_set(SF_ENOTFOUND, "stack '%s' is not locked",
		                  stack);
	else if (rc == 1)
		rc = 0;
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}
