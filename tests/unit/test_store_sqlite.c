/*
 * The SQLite backend's own promises, beyond the contract every backend
 * passes (test_store_contract.c): the file and its modes, WAL and the
 * pragmas, the schema migrated from every version sandform ever wrote,
 * damaged and foreign files, old journal rows, that no secret reaches the
 * bytes of the files, and the path rules of statefile.c: no symbolic link
 * as the file or a side file, a directory nobody else can write in, files
 * of the user or root, a clear message for a directory it cannot write.
 */
#include "common/base.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <grp.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.h"
#include "common/hash.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "state/backend.h"
#include "state/statefile.h"
#include "state/store.h"
#include "tests/unit/test_store.h"

/* ---- fixtures of earlier schemas ------------------------------------- */

/*
 * Every schema sandform ever wrote, with a little data in it. Keep this
 * list growing: each is migrated to the current schema and must then equal
 * a fresh database and still hold its data.
 *
 * The SQL below repeats migrations[1] and [2] of store-sqlite.c on purpose:
 * they are frozen copies of the schemas as v1 and v2 wrote them, not a second
 * definition. Do not share them with store.c or "fix" them when the schema
 * changes; a later migration must turn exactly these into the current
 * schema.
 */
struct schema_fixture {
	int version;
	const char *sql;
};

/* the schema v1 wrote (store-sqlite.c migrations[1] as v1 had it) */
#define V1_SCHEMA                                                             \
	"CREATE TABLE meta (\n"                                               \
	"  key TEXT PRIMARY KEY,\n"                                           \
	"  value BLOB NOT NULL\n"                                             \
	");\n"                                                                \
	"CREATE TABLE records (\n"                                            \
	"  stack TEXT NOT NULL,\n"                                            \
	"  name TEXT NOT NULL,\n"                                             \
	"  sandbox_id TEXT,\n"                                                \
	"  spec_hash TEXT,\n"                                                 \
	"  labels TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(labels)),\n"   \
	"  observed TEXT CHECK (observed IS NULL OR json_valid(observed)),\n" \
	"  applied TEXT CHECK (applied IS NULL OR json_valid(applied)),\n"    \
	"  status TEXT NOT NULL DEFAULT 'active',\n"                          \
	"  created_ms INTEGER NOT NULL,\n"                                    \
	"  updated_ms INTEGER NOT NULL,\n"                                    \
	"  PRIMARY KEY (stack, name)\n"                                       \
	");\n"                                                                \
	"CREATE INDEX records_sandbox_id ON records (sandbox_id);\n"          \
	"CREATE TABLE runs (\n"                                               \
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"                           \
	"  command TEXT NOT NULL,\n"                                          \
	"  stack TEXT NOT NULL,\n"                                            \
	"  source TEXT,\n"                                                    \
	"  git_commit TEXT,\n"                                                \
	"  pid INTEGER NOT NULL,\n"                                           \
	"  host TEXT NOT NULL,\n"                                             \
	"  started_ms INTEGER NOT NULL,\n"                                    \
	"  finished_ms INTEGER,\n"                                            \
	"  outcome TEXT,\n"                                                   \
	"  counts TEXT CHECK (counts IS NULL OR json_valid(counts))\n"        \
	");\n"                                                                \
	"CREATE INDEX runs_stack ON runs (stack, id);\n"                      \
	"CREATE TABLE journal (\n"                                            \
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"                           \
	"  run_id INTEGER REFERENCES runs (id) ON DELETE SET NULL,\n"         \
	"  stack TEXT NOT NULL,\n"                                            \
	"  name TEXT NOT NULL,\n"                                             \
	"  action TEXT NOT NULL,\n"                                           \
	"  sandbox_id TEXT,\n"                                                \
	"  detail TEXT CHECK (detail IS NULL OR json_valid(detail)),\n"       \
	"  state TEXT NOT NULL\n"                                             \
	"    CHECK (state IN ('intent', 'sent', 'done', 'failed')),\n"        \
	"  result_sandbox_id TEXT,\n"                                         \
	"  message TEXT,\n"                                                   \
	"  created_ms INTEGER NOT NULL,\n"                                    \
	"  updated_ms INTEGER NOT NULL\n"                                     \
	");\n"                                                                \
	"CREATE INDEX journal_open ON journal (stack, state);\n"              \
	"CREATE TABLE drift (\n"                                              \
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"                           \
	"  run_id INTEGER REFERENCES runs (id) ON DELETE CASCADE,\n"          \
	"  stack TEXT NOT NULL,\n"                                            \
	"  name TEXT NOT NULL,\n"                                             \
	"  category TEXT NOT NULL,\n"                                         \
	"  field TEXT,\n"                                                     \
	"  old_value TEXT,\n"                                                 \
	"  new_value TEXT,\n"                                                 \
	"  observed_ms INTEGER NOT NULL\n"                                    \
	");\n"                                                                \
	"CREATE INDEX drift_run ON drift (run_id);\n"                         \
	"CREATE TABLE locks (\n"                                              \
	"  stack TEXT PRIMARY KEY,\n"                                         \
	"  id TEXT NOT NULL UNIQUE,\n"                                        \
	"  holder TEXT NOT NULL,\n"                                           \
	"  pid INTEGER NOT NULL,\n"                                           \
	"  host TEXT NOT NULL,\n"                                             \
	"  acquired_ms INTEGER NOT NULL,\n"                                   \
	"  renewed_ms INTEGER NOT NULL,\n"                                    \
	"  lease_until_ms INTEGER NOT NULL\n"                                 \
	");\n"

/* the step v1 -> v2 (store-sqlite.c migrations[2] as v2 had it) */
#define V2_STEP                                                           \
	"CREATE TABLE meta_v2 (\n"                                        \
	"  key TEXT PRIMARY KEY,\n"                                       \
	"  value TEXT NOT NULL,\n"                                        \
	"  updated TEXT\n"                                                \
	");\n"                                                            \
	"INSERT INTO meta_v2 (key, value) SELECT key, value FROM meta;\n" \
	"DROP TABLE meta;\n"                                              \
	"ALTER TABLE meta_v2 RENAME TO meta;\n"

/* data as v1 wrote it */
#define V1_DATA                                                           \
	"INSERT INTO records VALUES ('default', 'fixture', 'sb-1', "      \
	"'abc', '{\"team\":\"a\"}', NULL, NULL, 'active', 1000, 2000);\n" \
	"INSERT INTO runs VALUES (1, 'apply', 'default', 'examples/', "   \
	"NULL, 42, 'h', 1000, 2000, 'ok', '{\"create\":1}');\n"           \
	"INSERT INTO meta VALUES ('hmac_key', "                           \
	"x'000102030405060708090a0b0c0d0e0f"                              \
	"101112131415161718191a1b1c1d1e1f');\n"

static const struct schema_fixture fixtures[] = {
	{ 0, "" },
	{ 1, V1_SCHEMA V1_DATA "PRAGMA user_version = 1;\n" },
	{ 2, V1_SCHEMA V1_DATA V2_STEP
	  "INSERT INTO meta VALUES ('resize_unavailable', "
	  "'http://127.0.0.1:1/api', '2026-01-01T00:00:00.000Z');\n"
	  "PRAGMA user_version = 2;\n" },
};

#define N_FIXTURES (sizeof(fixtures) / sizeof(fixtures[0]))

_Static_assert(sizeof(fixtures) / sizeof(fixtures[0]) ==
                       STORE_SQLITE_SCHEMA_VERSION + 1,
               "a fixture for every schema version");
/* ---- helpers --------------------------------------------------------- */

static int
setup(void **state)
{
	struct tctx *t = tctx_new();

	t->path = xasprintf("%s/sub/dir/state.db", t->dir);
	*state = t;
	return 0;
}

static int
teardown(void **state)
{
	tctx_free(*state);
	return 0;
}

static char *
sql_text(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	char *r = NULL;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		r = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return r;
}

/* schema_of: the whole schema of a file as one string. */
static char *
schema_of(const char *path)
{
	sqlite3 *db;
	char *r;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	r = sql_text(db, "SELECT group_concat(type || ' ' || name || ': ' || "
	                 "coalesce(sql, ''), char(10)) FROM "
	                 "(SELECT * FROM sqlite_master ORDER BY name)");
	sqlite3_close(db);
	return r;
}

/* sql_exec: run sql on the file at path with the sqlite3 library. */
static void
sql_exec(const char *path, const char *sql)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_close(db);
}

/* ---- open, modes, migrations, key ------------------------------------ */

static void
test_open_modes(void **state)
{
	struct tctx *t = *state;
	struct store *s;
	struct store_record r = rec("default", "a", "id-a");
	struct stat st;
	char *p, *wal;
	mode_t old = umask(0);

	s = open_ok(t->path);
	umask(old);
	assert_string_equal(store_path(s), t->path);
	assert_int_equal(stat(t->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	p = xasprintf("%s/sub", t->dir);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	free(p);
	p = xasprintf("%s/sub/dir", t->dir);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	free(p);
	/* the WAL created by a write gets the file's mode too */
	old = umask(0);
	assert_int_equal(store_record_put(s, &r), 0);
	umask(old);
	wal = xasprintf("%s-wal", t->path);
	assert_int_equal(stat(wal, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	free(wal);
	store_close(s);
	store_close(NULL);

	/* a loose existing file is tightened */
	assert_int_equal(chmod(t->path, 0644), 0);
	s = open_ok(t->path);
	assert_int_equal(stat(t->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	store_close(s);
}

static void
test_open_pragmas(void **state)
{
	struct tctx *t = *state;
	struct store *s = open_ok(t->path);
	sqlite3 *db;
	char *v;

	store_close(s);
	assert_int_equal(sqlite3_open(t->path, &db), SQLITE_OK);
	v = sql_text(db, "PRAGMA journal_mode");
	assert_string_equal(v, "wal");
	free(v);
	v = sql_text(db, "PRAGMA user_version");
	assert_int_equal(strtol(v, NULL, 10), STORE_SQLITE_SCHEMA_VERSION);
	free(v);
	sqlite3_close(db);
}

static void
test_open_errors(void **state)
{
	struct tctx *t = *state;
	struct store *s = (struct store *)1;
	sqlite3 *db;
	FILE *fp;
	char *p;
	int i;

	/* a directory is not a state file */
	assert_int_equal(store_open(t->dir, &s), SF_EINVALID);
	/* garbage is not a database */
	p = xasprintf("%s/junk.db", t->dir);
	fp = fopen(p, "w");
	assert_non_null(fp);
	for (i = 0; i < 100; i++)
		fputs("this is not an SQLite database\n", fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(store_open(p, &s), SF_EIO);
	assert_non_null(strstr(sf_error_last(), "junk.db"));
	assert_null(s);
	free(p);
	/* a newer schema is refused, not damaged */
	p = xasprintf("%s/new.db", t->dir);
	assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
	assert_int_equal(
	        sqlite3_exec(db, "PRAGMA user_version = 999", NULL, NULL, NULL),
	        SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_open(p, &s), SF_EINVALID);
	assert_non_null(strstr(sf_error_last(), "newer"));
	free(p);
}

static void
test_migrations(void **state)
{
	struct tctx *t = *state;
	struct store_record *r = NULL;
	struct store_run_list runs;
	struct store *s;
	char *fresh, *migrated, *p, *v;
	sqlite3 *db;
	size_t i;

	s = open_ok(t->path);
	store_close(s);
	fresh = schema_of(t->path);
	assert_non_null(strstr(fresh, "table records"));

	for (i = 0; i < N_FIXTURES; i++) {
		p = xasprintf("%s/v%d.db", t->dir, fixtures[i].version);
		assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
		if (sqlite3_exec(db, fixtures[i].sql, NULL, NULL, NULL) !=
		    SQLITE_OK)
			fail_msg("fixture v%d: %s", fixtures[i].version,
			         sqlite3_errmsg(db));
		sqlite3_close(db);
		assert_int_equal(chmod(p, 0600), 0);

		s = open_ok(p);
		store_close(s);
		migrated = schema_of(p);
		if (strcmp(fresh, migrated) != 0)
			fail_msg("v%d migrated differs:\n%s\n---\n%s",
			         fixtures[i].version, migrated, fresh);
		free(migrated);

		/* the fixture's data survived every step */
		s = open_ok(p);
		if (fixtures[i].version >= 1) {
			assert_int_equal(
			        store_record_get(s, "default", "fixture", &r),
			        0);
			assert_string_equal(r->sandbox_id, "sb-1");
			assert_string_equal(r->labels_json, "{\"team\":\"a\"}");
			assert_int_equal(r->created_ms, 1000);
			store_record_free(r);
			assert_int_equal(store_run_list(s, NULL, 0, &runs), 0);
			assert_int_equal(runs.n, 1);
			assert_string_equal(runs.v[0].outcome, "ok");
			store_run_list_free(&runs);
			assert_int_equal(store_hmac_key(s)[31], 0x1f);
		}
		if (fixtures[i].version >= 2) {
			assert_int_equal(
			        store_meta_get(s, "resize_unavailable", &v), 0);
			assert_string_equal(v, "http://127.0.0.1:1/api");
			free(v);
		}
		/* settings work on every migrated file, the key untouched */
		assert_int_equal(store_meta_set(s, "m", "1"), 0);
		assert_int_equal(store_meta_get(s, "m", &v), 0);
		assert_string_equal(v, "1");
		free(v);
		if (fixtures[i].version >= 1)
			assert_int_equal(store_hmac_key(s)[31], 0x1f);
		store_close(s);
		free(p);
	}
	free(fresh);
}

/* The time of a setting is kept beside it, in ISO-8601 UTC. */
static void
test_meta_updated(void **state)
{
	struct tctx *t = *state;
	struct store *s = open_ok(t->path);
	char *updated;
	sqlite3 *db;

	assert_int_equal(store_meta_set(s, "resize_unavailable", "u"), 0);
	store_close(s);
	assert_int_equal(sqlite3_open(t->path, &db), SQLITE_OK);
	updated = sql_text(db, "SELECT updated FROM meta "
	                       "WHERE key = 'resize_unavailable'");
	assert_non_null(updated);
	assert_int_equal(strlen(updated), SF_ISO8601_LEN);
	assert_int_equal(updated[strlen(updated) - 1], 'Z');
	free(updated);
	sqlite3_close(db);
}

/* Neither the file nor its WAL ever holds an env value. */
static void
test_no_secrets_in_files(void **state)
{
	struct tctx *t = *state;
	struct store *s = open_ok(t->path);
	struct store_record r = rec("default", "web", "sb-1");
	char *wal;
	int64_t id;

	r.observed_json = "{\"id\":\"sb-1\",\"env\":{\"PASSWORD\":"
	                  "\"hunter2-secret\"}}";
	assert_int_equal(store_record_put(s, &r), 0);
	assert_int_equal(store_journal_intent(s, 0, "default", "web", "create",
	                                      NULL,
	                                      "{\"env\":{\"TOKEN\":"
	                                      "\"tok-secret-value\"}}",
	                                      &id),
	                 0);
	wal = xasprintf("%s-wal", t->path);
	/* while open (the WAL holds the commits), and after close */
	assert_false(file_has(t->path, "hunter2-secret"));
	assert_false(file_has(wal, "hunter2-secret"));
	assert_false(file_has(wal, "tok-secret-value"));
	assert_true(file_has(t->path, "sb-1") || file_has(wal, "sb-1"));
	store_close(s);
	assert_false(file_has(t->path, "hunter2-secret"));
	assert_false(file_has(wal, "hunter2-secret"));
	assert_false(file_has(t->path, "tok-secret-value"));
	assert_false(file_has(wal, "tok-secret-value"));
	free(wal);
}

/*
 * The schema allows a journal state "sent" that nothing writes any more:
 * such a row reads as open (intent), is listed as open, and can be
 * finished like any intent.
 */
static void
test_journal_sent_rows(void **state)
{
	struct tctx *t = *state;
	struct store *s = open_ok(t->path);
	struct store_journal_entry *e = NULL;
	struct store_journal_list l;
	struct store_counts c;

	store_close(s);
	sql_exec(t->path,
	         "INSERT INTO journal (run_id, stack, name, action, state, "
	         "created_ms, updated_ms) VALUES "
	         "(NULL, 'default', 'a', 'create', 'sent', 1, 1), "
	         "(NULL, 'default', 'b', 'delete', 'sent', 2, 2)");
	s = open_ok(t->path);
	assert_int_equal(store_journal_open(s, "default", &l), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.v[0].state, STORE_JOURNAL_INTENT);
	assert_string_equal(store_journal_state_name(l.v[0].state), "intent");
	store_journal_list_free(&l);
	assert_int_equal(store_counts(s, "default", &c), 0);
	assert_int_equal(c.journal_open, 2);
	assert_int_equal(store_journal_done(s, 1, "id-a"), 0);
	assert_int_equal(store_journal_failed(s, 2, "gone"), 0);
	assert_int_equal(store_journal_get(s, 2, &e), 0);
	assert_int_equal(e->state, STORE_JOURNAL_FAILED);
	store_journal_entry_free(e);
	assert_int_equal(store_journal_open(s, "default", &l), 0);
	assert_int_equal(l.n, 0);
	store_journal_list_free(&l);
	/* and an unknown state name reads as open too, never as finished */
	assert_int_equal(store_journal_state_parse("frobbed"),
	                 STORE_JOURNAL_INTENT);
	assert_int_equal(store_journal_state_parse(NULL), STORE_JOURNAL_INTENT);
	store_close(s);
}

/* The CHECK constraints stand behind store.c's own checks. */
static void
test_constraints(void **state)
{
	struct tctx *t = *state;
	struct store *s = open_ok(t->path);
	sqlite3 *db;

	store_close(s);
	assert_int_equal(sqlite3_open(t->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
	                              "INSERT INTO records (stack, name, "
	                              "labels, created_ms, updated_ms) "
	                              "VALUES ('d', 'x', '{bad', 1, 1)",
	                              NULL, NULL, NULL),
	                 SQLITE_CONSTRAINT);
	assert_int_equal(sqlite3_exec(db,
	                              "INSERT INTO journal (stack, name, "
	                              "action, state, created_ms, "
	                              "updated_ms) VALUES ('d', 'x', 'create', "
	                              "'bogus', 1, 1)",
	                              NULL, NULL, NULL),
	                 SQLITE_CONSTRAINT);
	sqlite3_close(db);
}

/* ---- the path: links, owners, modes ---------------------------------- */

/* state_dir: make the state's directory (t->dir/sub/dir) with mode. */
static char *
state_dir(struct tctx *t, mode_t mode)
{
	char *sub = xasprintf("%s/sub", t->dir);
	char *dir = xasprintf("%s/sub/dir", t->dir);

	(void)mkdir(sub, 0700);
	(void)mkdir(dir, 0700);
	assert_int_equal(chmod(dir, mode), 0);
	free(sub);
	return dir;
}

/* refused: store_open(path) fails with code, its message holding want. */
static void
refused(const char *path, int code, const char *want)
{
	struct store *s = (struct store *)1;

	assert_int_equal(store_open(path, &s), code);
	assert_null(s);
	if (strstr(sf_error_last(), want) == NULL)
		fail_msg("'%s' lacks '%s'", sf_error_last(), want);
}

/*
 * A state file that is a symbolic link is refused: neither its target's
 * mode nor its tables change (before, sandform chmodded the target and
 * wrote its schema into it), and a dangling link creates nothing.
 */
static void
test_symlink_refused(void **state)
{
	struct tctx *t = *state;
	char *dir = state_dir(t, 0700);
	char *target = xasprintf("%s/other-project.db", t->dir);
	char *before, *after;
	struct stat st;

	sql_exec(target, "CREATE TABLE mine (x)");
	assert_int_equal(chmod(target, 0644), 0);
	before = schema_of(target);
	assert_int_equal(symlink(target, t->path), 0);
	refused(t->path, SF_EINVALID, "state.db: the state file is a symbolic");
	assert_non_null(strstr(sf_error_last(), target));
	assert_int_equal(stat(target, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	after = schema_of(target);
	assert_string_equal(before, after);
	free(before);
	free(after);
	/* reading commands see a state there, and are refused the same */
	assert_int_equal(store_exists(t->path), 1);

	/* a dangling link: nothing is created where it points */
	assert_int_equal(unlink(target), 0);
	refused(t->path, SF_EINVALID, "symbolic link");
	assert_int_equal(stat(target, &st), -1);
	assert_int_equal(errno, ENOENT);
	free(target);
	free(dir);
}

/* A side file (-wal, -shm, -journal) that is a link is refused too. */
static void
test_symlinked_side_files(void **state)
{
	static const char *const sides[] = { "-wal", "-shm", "-journal" };
	struct tctx *t = *state;
	char *victim = xasprintf("%s/victim", t->dir), *side;
	struct stat st;
	size_t i;
	FILE *fp;

	store_close(open_ok(t->path));
	fp = fopen(victim, "w");
	assert_non_null(fp);
	fputs("victim\n", fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(victim, 0644), 0);
	for (i = 0; i < sizeof(sides) / sizeof(sides[0]); i++) {
		side = xasprintf("%s%s", t->path, sides[i]);
		(void)unlink(side);
		assert_int_equal(symlink(victim, side), 0);
		refused(t->path, SF_EINVALID, sides[i]);
		assert_non_null(strstr(sf_error_last(), "symbolic link"));
		assert_int_equal(stat(victim, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0644);
		assert_int_equal(st.st_size, 7);
		assert_int_equal(unlink(side), 0);
		store_close(open_ok(t->path));
		free(side);
	}
	free(victim);
}

/*
 * The state's directory must not be writable by group or others unless
 * sticky; a directory reached through a link is checked where it leads.
 */
static void
test_dir_modes(void **state)
{
	static const mode_t loose[] = { 0770, 0730, 0707, 0757 };
	struct tctx *t = *state;
	char *dir = state_dir(t, 0700);
	char *link = xasprintf("%s/link", t->dir);
	char *via = xasprintf("%s/state.db", link);
	struct stat st;
	size_t i;

	for (i = 0; i < sizeof(loose) / sizeof(loose[0]); i++) {
		assert_int_equal(chmod(dir, loose[i]), 0);
		refused(t->path, SF_EINVALID, "writable by group or others");
		assert_non_null(strstr(sf_error_last(), dir));
		assert_int_equal(stat(t->path, &st), -1); /* nothing made */
	}
	assert_int_equal(chmod(dir, 01777), 0); /* sticky, as /tmp */
	store_close(open_ok(t->path));
	assert_int_equal(chmod(dir, 0755), 0);
	store_close(open_ok(t->path));
	assert_int_equal(symlink(dir, link), 0);
	store_close(open_ok(via));
	assert_int_equal(chmod(dir, 0777), 0);
	refused(via, SF_EINVALID, "writable by group or others");
	free(via);
	free(link);
	free(dir);
}

/*
 * Directory, file and side files must belong to the user or root. Only
 * root can give files away, so only root runs this.
 */
static void
test_owners(void **state)
{
	struct tctx *t = *state;
	char *dir = state_dir(t, 0700), *wal;
	int fd;

	if (geteuid() != 0)
		skip();
	store_close(open_ok(t->path));
	assert_int_equal(chown(dir, 65534, 65534), 0);
	refused(t->path, SF_EINVALID, "owned by uid 65534");
	assert_int_equal(chown(dir, 0, 0), 0);
	assert_int_equal(chown(t->path, 65534, 65534), 0);
	refused(t->path, SF_EINVALID, "the state file is owned by uid 65534");
	assert_int_equal(chown(t->path, 0, 0), 0);
	wal = xasprintf("%s-wal", t->path);
	fd = open(wal, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(fchown(fd, 65534, 65534), 0);
	close(fd);
	refused(t->path, SF_EINVALID,
	        "state.db-wal: the state's side file "
	        "is owned by uid 65534");
	assert_int_equal(unlink(wal), 0);
	store_close(open_ok(t->path));
	free(wal);
	free(dir);
}

/*
 * A directory sandform cannot write in: the message names the directory
 * and the cause (before: "enable WAL: unable to open database file"). As
 * root, whom permissions do not stop, a child drops to nobody first.
 */
static void
test_readonly_dir(void **state)
{
	struct tctx *t = *state;
	char *dir = state_dir(t, 0700), *sub = xasprintf("%s/sub", t->dir);
	char msg[1024];
	int pfd[2], status, rc;
	ssize_t n;
	pid_t pid;

	store_close(open_ok(t->path));
	if (geteuid() == 0) {
		assert_int_equal(chmod(t->dir, 0755), 0);
		assert_int_equal(chmod(sub, 0755), 0);
		assert_int_equal(chown(dir, 65534, 65534), 0);
		assert_int_equal(chown(t->path, 65534, 65534), 0);
	}
	assert_int_equal(chmod(dir, 0500), 0);
	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct store *s = NULL;

		close(pfd[0]);
		if (geteuid() == 0 && (setgroups(0, NULL) < 0 ||
		                       setgid(65534) < 0 || setuid(65534) < 0))
			_exit(2);
		rc = store_open(t->path, &s);
		snprintf(msg, sizeof(msg), "%d %s", rc, sf_error_last());
		if (write(pfd[1], msg, strlen(msg)) < 0)
			_exit(3);
		_exit(0);
	}
	close(pfd[1]);
	n = read(pfd[0], msg, sizeof(msg) - 1);
	close(pfd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_true(n > 0);
	msg[n] = '\0';
	assert_int_equal(strtol(msg, NULL, 10), SF_EIO);
	if (strstr(msg, dir) == NULL ||
	    strstr(msg, "cannot write in the directory") == NULL ||
	    strstr(msg, strerror(EACCES)) == NULL)
		fail_msg("unexpected message: %s", msg);
	assert_int_equal(chmod(dir, 0700), 0);
	free(sub);
	free(dir);
}

/*
 * lock_held: whether another process holds a POSIX lock that conflicts
 * with a write lock on len bytes at start of the file: a child asks, so
 * that the answer covers this process's locks.
 */
static int
lock_held(const char *file, off_t start, off_t len)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct flock fl;
		int fd = open(file, O_RDWR);

		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_WRLCK;
		fl.l_whence = SEEK_SET;
		fl.l_start = start;
		fl.l_len = len;
		if (fd < 0 || fcntl(fd, F_GETLK, &fl) < 0)
			_exit(2);
		_exit(fl.l_type == F_UNLCK ? 1 : 0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) < 2);
	return WEXITSTATUS(status) == 0;
}

/*
 * Opening a second handle in a process must leave the first one's SQLite
 * locks alone: closing any descriptor of a file drops all of a process's
 * POSIX locks on it, so the path checks must never open an existing file
 * (when they did, a concurrent process ran WAL recovery under a live
 * writer). While a handle is open, SQLite read-locks the -shm's DMS byte
 * (128): others then know the WAL index is in use.
 */
static void
test_second_handle_keeps_locks(void **state)
{
	struct tctx *t = *state;
	struct store_record r = rec("default", "web", "sb-1");
	struct store *a = open_ok(t->path), *b;
	char *shm = xasprintf("%s-shm", t->path);

	assert_int_equal(store_record_put(a, &r), 0);
	assert_true(lock_held(shm, 128, 1));
	b = open_ok(t->path);
	assert_true(lock_held(shm, 128, 1));
	assert_int_equal(store_record_put(b, &r), 0);
	store_close(b);
	assert_true(lock_held(shm, 128, 1));
	assert_int_equal(store_record_put(a, &r), 0);
	store_close(a);
	assert_false(lock_held(t->path, 0, 0));
	free(shm);
}

/* A file replaced between the checks and SQLite's open is refused. */
static void
test_replaced_while_opening(void **state)
{
	struct tctx *t = *state;
	static const char *const sides[] = { "-wal", NULL };
	char *other = xasprintf("%s/other.db", t->dir);
	struct statefile f;
	FILE *fp;

	store_close(open_ok(t->path));
	assert_int_equal(statefile_open(t->path, sides, 1000, &f), 0);
	assert_int_equal(statefile_verify(&f, t->path), 0);
	fp = fopen(other, "w");
	assert_non_null(fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(rename(other, t->path), 0);
	assert_int_equal(statefile_verify(&f, t->path), SF_EINVALID);
	assert_non_null(strstr(sf_error_last(), "replaced"));
	statefile_close(&f);
	statefile_close(&f);
	free(other);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		/* clang-format off */
		T(test_open_modes),
		T(test_open_pragmas),
		T(test_open_errors),
		T(test_migrations),
		T(test_meta_updated),
		T(test_no_secrets_in_files),
		T(test_journal_sent_rows),
		T(test_constraints),
		T(test_symlink_refused),
		T(test_symlinked_side_files),
		T(test_dir_modes),
		T(test_owners),
		T(test_readonly_dir),
		T(test_replaced_while_opening),
		T(test_second_handle_keeps_locks),
		/* clang-format on */
	};

	return cmocka_run_group_tests_name("sqlite", tests, NULL, NULL);
}
