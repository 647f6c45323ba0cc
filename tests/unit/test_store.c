/*
 * Unit tests for state/store: file creation and modes, migrations from every
 * earlier schema, the HMAC key, records (CRUD and bulk), runs, the journal,
 * drift, and the stack lock across processes.
 */
#include "common/base.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.h"
#include "common/hash.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "state/store.h"

/* ---- fixtures of earlier schemas ------------------------------------- */

/*
 * Every schema sandform ever wrote, with a little data in it. Keep this
 * list growing: each is migrated to the current schema and must then equal
 * a fresh database and still hold its data.
 *
 * The SQL below repeats migrations[1] and [2] of store.c on purpose: they
 * are frozen copies of the schemas as v1 and v2 wrote them, not a second
 * definition. Do not share them with store.c or "fix" them when the schema
 * changes; a later migration must turn exactly these into the current
 * schema.
 */
struct schema_fixture {
	int version;
	const char *sql;
};

/* the schema v1 wrote (store.c migrations[1] as v1 had it) */
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

/* the step v1 -> v2 (store.c migrations[2] as v2 had it) */
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
                       STORE_SCHEMA_VERSION + 1,
               "a fixture for every schema version");

/* ---- helpers --------------------------------------------------------- */

struct tctx {
	char dir[64];
	char *path;
};

static int
rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int
setup(void **state)
{
	struct tctx *t = xcalloc(1, sizeof(*t));
	const char *tmp = getenv("TMPDIR");

	snprintf(t->dir, sizeof(t->dir), "%s/sf-store-XXXXXX",
	         tmp && strlen(tmp) < 40 ? tmp : "/tmp");
	assert_non_null(mkdtemp(t->dir));
	t->path = xasprintf("%s/sub/dir/state.db", t->dir);
	*state = t;
	return 0;
}

static int
teardown(void **state)
{
	struct tctx *t = *state;

	nftw(t->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(t->path);
	free(t);
	return 0;
}

static struct store *
open_ok(const char *path)
{
	struct store *s = NULL;
	int rc = store_open(path, &s);

	if (rc != 0)
		fail_msg("store_open: %s", sf_error_last());
	return s;
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

static struct store_record
rec(const char *stack, const char *name, const char *id)
{
	struct store_record r;

	memset(&r, 0, sizeof(r));
	r.stack = stack;
	r.name = name;
	r.sandbox_id = id;
	return r;
}

/* begin_run: record a run of command in stack "default"; its id. */
static int64_t
begin_run(struct store *s, const char *command)
{
	struct store_run run;
	int64_t id = 0;

	memset(&run, 0, sizeof(run));
	run.command = command;
	run.stack = "default";
	assert_int_equal(store_run_begin(s, &run, &id), 0);
	return id;
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
	assert_int_equal(strtol(v, NULL, 10), STORE_SCHEMA_VERSION);
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

	assert_int_equal(store_open("", &s), SF_EINVALID);
	assert_null(s);
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

static void
test_meta(void **state)
{
	struct tctx *t = *state;
	struct store *s = open_ok(t->path);
	unsigned char key[STORE_HMAC_KEY_LEN];
	char *v = (char *)1, *long_name, *long_value, *updated;
	sqlite3 *db;

	memcpy(key, store_hmac_key(s), sizeof(key));
	/* absent: 0 and NULL */
	assert_int_equal(store_meta_get(s, "resize_unavailable", &v), 0);
	assert_null(v);
	assert_int_equal(store_meta_set(s, STORE_META_RESIZE_UNAVAILABLE,
	                                "http://127.0.0.1:3000/api"),
	                 0);
	assert_int_equal(store_meta_get(s, "resize_unavailable", &v), 0);
	assert_string_equal(v, "http://127.0.0.1:3000/api");
	free(v);
	/* set again replaces */
	assert_int_equal(store_meta_set(s, "resize_unavailable", "other"), 0);
	assert_int_equal(store_meta_get(s, "resize_unavailable", &v), 0);
	assert_string_equal(v, "other");
	free(v);
	assert_int_equal(store_meta_set(s, "empty", ""), 0);
	assert_int_equal(store_meta_get(s, "empty", &v), 0);
	assert_string_equal(v, "");
	free(v);

	/* the key row is not reachable by name, neither read nor written */
	assert_int_equal(store_meta_get(s, "hmac_key", &v), SF_EINVALID);
	assert_null(v);
	assert_non_null(strstr(sf_error_last(), "reserved"));
	assert_int_equal(store_meta_set(s, "hmac_key", "x"), SF_EINVALID);
	/* bad names and values */
	assert_int_equal(store_meta_set(s, "", "x"), SF_EINVALID);
	assert_int_equal(store_meta_set(s, NULL, "x"), SF_EINVALID);
	assert_int_equal(store_meta_set(s, "k", NULL), SF_EINVALID);
	long_name = xcalloc(1, STORE_META_KEY_MAX + 2);
	memset(long_name, 'k', STORE_META_KEY_MAX + 1);
	assert_int_equal(store_meta_set(s, long_name, "x"), SF_EINVALID);
	long_name[STORE_META_KEY_MAX] = '\0';
	assert_int_equal(store_meta_set(s, long_name, "x"), 0);
	free(long_name);
	long_value = xcalloc(1, STORE_META_VALUE_MAX + 2);
	memset(long_value, 'v', STORE_META_VALUE_MAX + 1);
	assert_int_equal(store_meta_set(s, "big", long_value), SF_EINVALID);
	long_value[STORE_META_VALUE_MAX] = '\0';
	assert_int_equal(store_meta_set(s, "big", long_value), 0);
	free(long_value);
	store_close(s);

	/* it persists; the key is unchanged; the time of the set is kept */
	s = open_ok(t->path);
	assert_memory_equal(store_hmac_key(s), key, sizeof(key));
	assert_int_equal(store_meta_get(s, "resize_unavailable", &v), 0);
	assert_string_equal(v, "other");
	free(v);
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

static void
test_hmac_key(void **state)
{
	struct tctx *t = *state;
	char h1[SF_SHA256_HEX_LEN + 1], h2[SF_SHA256_HEX_LEN + 1];
	char h3[SF_SHA256_HEX_LEN + 1], plain[SF_SHA256_HEX_LEN + 1];
	unsigned char key[STORE_HMAC_KEY_LEN], zero[STORE_HMAC_KEY_LEN];
	struct store *s;
	char *other;

	s = open_ok(t->path);
	memcpy(key, store_hmac_key(s), sizeof(key));
	memset(zero, 0, sizeof(zero));
	assert_memory_not_equal(key, zero, sizeof(key));
	store_secret_hash(s, "hunter2", h1);
	store_close(s);

	s = open_ok(t->path);
	assert_memory_equal(store_hmac_key(s), key, sizeof(key));
	store_secret_hash(s, "hunter2", h2);
	assert_string_equal(h1, h2);
	store_secret_hash(s, "hunter3", h2);
	assert_string_not_equal(h1, h2);
	store_close(s);

	/* keyed: another state hashes differently, and not as plain SHA-256 */
	other = xasprintf("%s/other.db", t->dir);
	s = open_ok(other);
	assert_memory_not_equal(store_hmac_key(s), key, sizeof(key));
	store_secret_hash(s, "hunter2", h3);
	assert_string_not_equal(h1, h3);
	store_close(s);
	sha256_hex("hunter2", 7, plain);
	assert_string_not_equal(h1, plain);
	free(other);
}

/* file_has: whether the file's bytes contain needle. */
static int
file_has(const char *path, const char *needle)
{
	FILE *fp = fopen(path, "rb");
	size_t n = strlen(needle), len = 0, cap = 0;
	char *data = NULL, chunk[4096];
	size_t got;
	int found = 0;

	if (fp == NULL)
		return 0;
	while ((got = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
		if (len + got > cap) {
			cap = (len + got) * 2;
			data = xrealloc(data, cap);
		}
		memcpy(data + len, chunk, got);
		len += got;
	}
	fclose(fp);
	for (got = 0; got + n <= len && !found; got++)
		found = memcmp(data + got, needle, n) == 0;
	free(data);
	return found;
}

/* env values in stored JSON are replaced by keyed hashes */
static void
test_no_secrets(void **state)
{
	struct tctx *t = *state;
	struct store *s = open_ok(t->path);
	struct store_record r = rec("default", "web", "sb-1");
	struct store_record *got = NULL;
	struct store_journal_entry *e = NULL;
	char hex[SF_SHA256_HEX_LEN + 1], *want, *wal;
	int64_t id;

	r.observed_json = "{\"id\":\"sb-1\",\"env\":{\"PASSWORD\":"
	                  "\"hunter2-secret\",\"N\":\"1\"},\"cpu\":2}";
	assert_int_equal(store_record_put(s, &r), 0);
	assert_int_equal(store_journal_intent(s, 0, "default", "web", "create",
	                                      NULL,
	                                      "{\"env\":{\"TOKEN\":"
	                                      "\"tok-secret-value\"}}",
	                                      &id),
	                 0);
	assert_int_equal(store_record_get(s, "default", "web", &got), 0);
	assert_null(strstr(got->observed_json, "hunter2-secret"));
	store_secret_hash(s, "hunter2-secret", hex);
	want = xasprintf("\"PASSWORD\":\"%s%s\"", STORE_ENV_HASH_PREFIX, hex);
	assert_non_null(strstr(got->observed_json, want));
	assert_non_null(strstr(got->observed_json, "\"cpu\":2"));
	free(want);
	/* storing it again does not hash the hash */
	r.observed_json = got->observed_json;
	assert_int_equal(store_record_put(s, &r), 0);
	store_record_free(got);
	assert_int_equal(store_record_get(s, "default", "web", &got), 0);
	want = xasprintf("%s%s", STORE_ENV_HASH_PREFIX, hex);
	assert_non_null(strstr(got->observed_json, want));
	free(want);
	store_record_free(got);
	assert_int_equal(store_journal_get(s, id, &e), 0);
	assert_null(strstr(e->detail_json, "tok-secret-value"));
	assert_non_null(strstr(e->detail_json, STORE_ENV_HASH_PREFIX));
	store_journal_entry_free(e);
	store_close(s);

	/* nor anywhere in the files */
	wal = xasprintf("%s-wal", t->path);
	assert_false(file_has(t->path, "hunter2-secret"));
	assert_false(file_has(wal, "hunter2-secret"));
	assert_false(file_has(t->path, "tok-secret-value"));
	assert_false(file_has(wal, "tok-secret-value"));
	assert_true(file_has(t->path, "sb-1") || file_has(wal, "sb-1"));
	free(wal);
}

#define OPENERS 6

/* Processes creating one new state at once all get the same key. */
static void
test_concurrent_create(void **state)
{
	struct tctx *t = *state;
	unsigned char keys[OPENERS][STORE_HMAC_KEY_LEN];
	int res[2], go[2], status, i;
	pid_t pids[OPENERS];
	struct store *s;

	assert_int_equal(pipe(res), 0);
	assert_int_equal(pipe(go), 0);
	for (i = 0; i < OPENERS; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct store *cs = NULL;
			char c;

			close(res[0]);
			close(go[1]);
			if (read(go[0], &c, 1) != 0)
				_exit(3);
			if (store_open(t->path, &cs) < 0) {
				fprintf(stderr, "child: %s\n", sf_error_last());
				_exit(2);
			}
			if (write(res[1], store_hmac_key(cs),
			          STORE_HMAC_KEY_LEN) != STORE_HMAC_KEY_LEN)
				_exit(4);
			store_close(cs);
			_exit(0);
		}
	}
	close(res[1]);
	close(go[0]);
	close(go[1]);
	for (i = 0; i < OPENERS; i++) {
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	for (i = 0; i < OPENERS; i++)
		assert_int_equal(read(res[0], keys[i], STORE_HMAC_KEY_LEN),
		                 STORE_HMAC_KEY_LEN);
	close(res[0]);
	s = open_ok(t->path);
	for (i = 0; i < OPENERS; i++)
		assert_memory_equal(keys[i], store_hmac_key(s),
		                    STORE_HMAC_KEY_LEN);
	store_close(s);
}

/* ---- records --------------------------------------------------------- */

static void
test_records_crud(void **state)
{
	struct tctx *t = *state;
	struct store *s = open_ok(t->path);
	struct store_record a = rec("default", "bravo", "id-b");
	struct store_record b = rec("default", "alpha", "id-a");
	struct store_record c = rec("other", "alpha", "id-c");
	struct store_record *got = NULL;
	struct store_record_list l;
	int64_t created;

	a.spec_hash = "h1";
	a.labels_json = "{\"team\":\"x\"}";
	a.observed_json = "{\"state\":\"started\"}";
	a.applied_json = "{\"public\":true}";
	a.status = STORE_STATUS_PENDING_CREATE;
	assert_int_equal(store_record_put(s, &a), 0);
	assert_int_equal(store_record_put(s, &b), 0);
	assert_int_equal(store_record_put(s, &c), 0);

	assert_int_equal(store_record_get(s, "default", "bravo", &got), 0);
	assert_string_equal(got->stack, "default");
	assert_string_equal(got->sandbox_id, "id-b");
	assert_string_equal(got->spec_hash, "h1");
	assert_string_equal(got->labels_json, "{\"team\":\"x\"}");
	assert_string_equal(got->observed_json, "{\"state\":\"started\"}");
	assert_string_equal(got->applied_json, "{\"public\":true}");
	assert_string_equal(got->status, "pending-create");
	assert_true(got->created_ms > 0);
	assert_true(got->updated_ms >= got->created_ms);
	created = got->created_ms;
	store_record_free(got);

	/* defaults: no labels = {}, no status = active, NULLs stay NULL */
	assert_int_equal(store_record_get(s, "default", "alpha", &got), 0);
	assert_string_equal(got->labels_json, "{}");
	assert_string_equal(got->status, "active");
	assert_null(got->spec_hash);
	assert_null(got->observed_json);
	store_record_free(got);

	/* upsert replaces the fields and keeps created */
	time_sleep_ms(3);
	a.status = STORE_STATUS_ACTIVE;
	a.spec_hash = NULL;
	a.sandbox_id = "id-b2";
	assert_int_equal(store_record_put(s, &a), 0);
	assert_int_equal(store_record_get(s, "default", "bravo", &got), 0);
	assert_string_equal(got->sandbox_id, "id-b2");
	assert_string_equal(got->status, "active");
	assert_null(got->spec_hash);
	assert_int_equal(got->created_ms, created);
	assert_true(got->updated_ms > created);
	store_record_free(got);

	/* list: sorted by name, per stack */
	assert_int_equal(store_record_list(s, "default", &l), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].name, "alpha");
	assert_string_equal(l.v[1].name, "bravo");
	store_record_list_free(&l);
	assert_int_equal(store_record_list(s, "nothing", &l), 0);
	assert_int_equal(l.n, 0);
	store_record_list_free(&l);

	/* find by sandbox id, in any stack */
	assert_int_equal(store_record_find_id(s, "id-c", &got), 0);
	assert_string_equal(got->stack, "other");
	store_record_free(got);
	assert_int_equal(store_record_find_id(s, "id-zzz", &got), SF_ENOTFOUND);
	assert_null(got);

	/* delete */
	assert_int_equal(store_record_delete(s, "default", "alpha"), 0);
	assert_int_equal(store_record_delete(s, "default", "alpha"),
	                 SF_ENOTFOUND);
	assert_int_equal(store_record_get(s, "default", "alpha", &got),
	                 SF_ENOTFOUND);
	assert_non_null(strstr(sf_error_last(), "'alpha'"));
	assert_int_equal(store_record_get(s, "other", "alpha", &got), 0);
	store_record_free(got);
	assert_int_equal(store_record_delete_stack(s, "other"), 0);
	assert_int_equal(store_record_list(s, "other", &l), 0);
	assert_int_equal(l.n, 0);
	store_record_list_free(&l);

	/* bad input */
	b.labels_json = "{not json";
	assert_int_equal(store_record_put(s, &b), SF_EINVALID);
	b = rec("default", "", NULL);
	assert_int_equal(store_record_put(s, &b), SF_EINVALID);
	b = rec(NULL, "x", NULL);
	assert_int_equal(store_record_put(s, &b), SF_EINVALID);
	store_record_free(NULL);
	store_record_list_free(NULL);
	store_close(s);
}

#define BULK_N 10000

static void
test_records_bulk(void **state)
{
	struct tctx *t = *state;
	struct store *s = open_ok(t->path);
	struct store_record *v = xcalloc(BULK_N, sizeof(*v));
	struct store_record_list l;
	char **names = xcalloc(BULK_N, sizeof(*names));
	const char *obs = "{\"id\":\"x\",\"state\":\"started\",\"cpu\":2,"
	                  "\"labels\":{\"sandform.dev/stack\":\"default\"}}";
	int64_t t0, t1;
	size_t i;

	for (i = 0; i < BULK_N; i++) {
		names[i] = xasprintf("sb-%05zu", BULK_N - 1 - i);
		v[i] = rec("default", names[i], names[i]);
		v[i].observed_json = obs;
	}
	t0 = time_mono_ms();
	assert_int_equal(store_record_put_many(s, v, BULK_N), 0);
	t1 = time_mono_ms();
	print_message("bulk put of %d records: %lld ms\n", BULK_N,
	              (long long)(t1 - t0));
	assert_int_equal(store_record_list(s, "default", &l), 0);
	t0 = time_mono_ms();
	print_message("list of %d records: %lld ms\n", BULK_N,
	              (long long)(t0 - t1));
	assert_int_equal(l.n, BULK_N);
	assert_string_equal(l.v[0].name, "sb-00000");
	assert_string_equal(l.v[BULK_N - 1].name, "sb-09999");
	assert_string_equal(l.v[5].observed_json, obs);
	store_record_list_free(&l);

	/* all or nothing: one bad record leaves the earlier ones untouched */
	for (i = 0; i < 10; i++)
		v[i].status = "changed";
	v[5].applied_json = "not json";
	assert_int_equal(store_record_put_many(s, v, 10), SF_EINVALID);
	assert_non_null(strstr(sf_error_last(), names[5]));
	assert_int_equal(store_record_list(s, "default", &l), 0);
	for (i = 0; i < l.n; i++)
		assert_string_equal(l.v[i].status, "active");
	store_record_list_free(&l);
	assert_int_equal(store_record_put_many(s, v, 0), 0);

	for (i = 0; i < BULK_N; i++)
		free(names[i]);
	free(names);
	free(v);
	store_close(s);
}

/* ---- runs, journal, drift -------------------------------------------- */

static void
test_runs(void **state)
{
	struct tctx *t = *state;
	struct store *s = open_ok(t->path);
	struct store_run run;
	struct store_run_list l;
	int64_t id1, id2, id3;

	memset(&run, 0, sizeof(run));
	run.command = "plan";
	run.stack = "default";
	run.source = "examples/";
	assert_int_equal(store_run_begin(s, &run, &id1), 0);
	run.command = "apply";
	run.git_commit = "0123abcd";
	assert_int_equal(store_run_begin(s, &run, &id2), 0);
	run.stack = "other";
	assert_int_equal(store_run_begin(s, &run, &id3), 0);
	assert_true(id1 < id2 && id2 < id3);
	assert_int_equal(store_run_finish(s, id1, "ok", "{\"create\":0}"), 0);
	assert_int_equal(store_run_finish(s, 9999, "ok", NULL), SF_ENOTFOUND);
	assert_int_equal(store_run_finish(s, id2, "failed", "nope"),
	                 SF_EINVALID);

	assert_int_equal(store_run_list(s, "default", 0, &l), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.v[0].id, id2); /* newest first */
	assert_string_equal(l.v[0].command, "apply");
	assert_string_equal(l.v[0].git_commit, "0123abcd");
	assert_null(l.v[0].outcome);
	assert_int_equal(l.v[0].finished_ms, 0);
	assert_int_equal(l.v[0].pid, (long)getpid());
	assert_true(strlen(l.v[0].host) > 0);
	assert_int_equal(l.v[1].id, id1);
	assert_string_equal(l.v[1].outcome, "ok");
	assert_string_equal(l.v[1].counts_json, "{\"create\":0}");
	assert_string_equal(l.v[1].source, "examples/");
	assert_true(l.v[1].finished_ms >= l.v[1].started_ms);
	store_run_list_free(&l);
	assert_int_equal(store_run_list(s, NULL, 2, &l), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.v[0].id, id3);
	store_run_list_free(&l);

	run.command = NULL;
	assert_int_equal(store_run_begin(s, &run, &id1), SF_EINVALID);
	store_close(s);
}

static void
test_journal(void **state)
{
	struct tctx *t = *state;
	struct store *s = open_ok(t->path);
	struct store_journal_list l;
	struct store_journal_entry *e = NULL;
	int64_t run_id = begin_run(s, "apply"), j1, j2, j3, j4;

	assert_int_equal(store_journal_intent(s, run_id, "default", "a",
	                                      "create", NULL,
	                                      "{\"image\":\"x\"}", &j1),
	                 0);
	assert_int_equal(store_journal_intent(s, run_id, "default", "b",
	                                      "delete", "id-b", NULL, &j2),
	                 0);
	assert_int_equal(store_journal_intent(s, 0, "default", "c", "start",
	                                      "id-c", NULL, &j3),
	                 0);
	assert_int_equal(store_journal_intent(s, run_id, "other", "d", "create",
	                                      NULL, NULL, &j4),
	                 0);

	assert_int_equal(store_journal_sent(s, j1), 0);
	assert_int_equal(store_journal_get(s, j1, &e), 0);
	assert_int_equal(e->state, STORE_JOURNAL_SENT);
	assert_string_equal(e->action, "create");
	assert_string_equal(e->detail_json, "{\"image\":\"x\"}");
	assert_int_equal(e->run_id, run_id);
	assert_null(e->sandbox_id);
	store_journal_entry_free(e);
	assert_int_equal(store_journal_done(s, j1, "id-a"), 0);
	assert_int_equal(store_journal_failed(s, j2, "sandbox is busy"), 0);

	/* finished entries cannot move again; unknown ids are not found */
	assert_int_equal(store_journal_done(s, j1, "id-a"), SF_EINVALID);
	assert_non_null(strstr(sf_error_last(), "already done"));
	assert_int_equal(store_journal_sent(s, j2), SF_EINVALID);
	assert_int_equal(store_journal_failed(s, 12345, "x"), SF_ENOTFOUND);
	assert_int_equal(store_journal_get(s, 12345, &e), SF_ENOTFOUND);
	assert_int_equal(
	        store_journal_intent(s, 0, "default", "x", "", NULL, NULL, &j4),
	        SF_EINVALID);

	assert_int_equal(store_journal_get(s, j1, &e), 0);
	assert_int_equal(e->state, STORE_JOURNAL_DONE);
	assert_string_equal(e->result_sandbox_id, "id-a");
	assert_true(e->updated_ms >= e->created_ms);
	store_journal_entry_free(e);
	assert_int_equal(store_journal_get(s, j2, &e), 0);
	assert_int_equal(e->state, STORE_JOURNAL_FAILED);
	assert_string_equal(e->message, "sandbox is busy");
	store_journal_entry_free(e);

	/* open: only this stack's intent/sent entries */
	assert_int_equal(store_journal_open(s, "default", &l), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].id, j3);
	assert_int_equal(l.v[0].run_id, 0);
	assert_string_equal(l.v[0].sandbox_id, "id-c");
	assert_string_equal(store_journal_state_name(l.v[0].state), "intent");
	store_journal_list_free(&l);
	assert_string_equal(store_journal_state_name(STORE_JOURNAL_FAILED),
	                    "failed");
	store_journal_entry_free(NULL);
	store_close(s);
}

/* An intent committed by a process killed right after is still there. */
static void
test_journal_survives_kill(void **state)
{
	struct tctx *t = *state;
	struct store *s = open_ok(t->path);
	struct store_journal_list l;
	int status;
	pid_t pid;

	store_close(s);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct store *c = NULL;
		int64_t id;

		if (store_open(t->path, &c) < 0 ||
		    store_journal_intent(c, 0, "default", "victim", "create",
		                         NULL, NULL, &id) < 0)
			_exit(2);
		raise(SIGKILL);
		_exit(3);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	s = open_ok(t->path);
	assert_int_equal(store_journal_open(s, "default", &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].name, "victim");
	store_journal_list_free(&l);
	store_close(s);
}

#define THREADS    4
#define PER_THREAD 200

static void *
journal_worker(void *arg)
{
	struct store *s = arg;
	char name[32];
	int64_t id;
	int i;

	for (i = 0; i < PER_THREAD; i++) {
		snprintf(name, sizeof(name), "t%p-%d", (void *)&id, i);
		if (store_journal_intent(s, 0, "default", name, "create", NULL,
		                         NULL, &id) < 0 ||
		    store_journal_sent(s, id) < 0 ||
		    (i % 2 == 0 && store_journal_done(s, id, name) < 0))
			return (void *)1;
	}
	return NULL;
}

/* One handle shared by the threads of a parallel apply. */
static void
test_journal_threads(void **state)
{
	struct tctx *t = *state;
	struct store *s = open_ok(t->path);
	struct store_journal_list l;
	pthread_t th[THREADS];
	void *ret;
	int i;

	for (i = 0; i < THREADS; i++)
		assert_int_equal(
		        pthread_create(&th[i], NULL, journal_worker, s), 0);
	for (i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(th[i], &ret), 0);
		assert_null(ret);
	}
	assert_int_equal(store_journal_open(s, "default", &l), 0);
	assert_int_equal(l.n, THREADS * PER_THREAD / 2);
	for (i = 0; i < (int)l.n; i++)
		assert_int_equal(l.v[i].state, STORE_JOURNAL_SENT);
	store_journal_list_free(&l);
	store_close(s);
}

static void
test_drift(void **state)
{
	struct tctx *t = *state;
	struct store *s = open_ok(t->path);
	struct store_drift_list l;
	int64_t run_id = begin_run(s, "drift");

	assert_int_equal(store_drift_add(s, run_id, "default", "a", "state",
	                                 "state", "started", "stopped"),
	                 0);
	assert_int_equal(store_drift_add(s, run_id, "default", "b", "missing",
	                                 NULL, NULL, NULL),
	                 0);
	assert_int_equal(store_drift_add(s, run_id, "default", "b", "", NULL,
	                                 NULL, NULL),
	                 SF_EINVALID);
	assert_int_equal(store_drift_list(s, run_id, &l), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].name, "a");
	assert_string_equal(l.v[0].field, "state");
	assert_string_equal(l.v[0].old_value, "started");
	assert_string_equal(l.v[0].new_value, "stopped");
	assert_string_equal(l.v[1].category, "missing");
	assert_null(l.v[1].field);
	store_drift_list_free(&l);
	assert_int_equal(store_drift_list(s, run_id + 1, &l), 0);
	assert_int_equal(l.n, 0);
	store_drift_list_free(&l);
	store_close(s);
}

static void
test_prune(void **state)
{
	struct tctx *t = *state;
	struct store *s = open_ok(t->path);
	struct store_journal_list jl;
	struct store_drift_list dl;
	struct store_run_list rl;
	int64_t old_run = begin_run(s, "watch"), new_run, j1, j2, cut;
	size_t removed = 99;

	assert_int_equal(store_drift_add(s, old_run, "default", "a", "state",
	                                 "state", "started", "stopped"),
	                 0);
	assert_int_equal(store_journal_intent(s, old_run, "default", "a",
	                                      "start", "id-a", NULL, &j1),
	                 0);
	assert_int_equal(store_journal_intent(s, old_run, "default", "b",
	                                      "start", "id-b", NULL, &j2),
	                 0);
	assert_int_equal(store_journal_done(s, j1, "id-a"), 0);
	assert_int_equal(store_run_finish(s, old_run, "ok", NULL), 0);
	time_sleep_ms(3);
	cut = time_now_ms();
	time_sleep_ms(3);
	new_run = begin_run(s, "watch");

	assert_int_equal(store_prune(s, cut, &removed), 0);
	/* the done entry, the finished run and its drift row */
	assert_int_equal(removed, 3);
	assert_int_equal(store_run_list(s, NULL, 0, &rl), 0);
	assert_int_equal(rl.n, 1);
	assert_int_equal(rl.v[0].id, new_run);
	store_run_list_free(&rl);
	assert_int_equal(store_drift_list(s, old_run, &dl), 0);
	assert_int_equal(dl.n, 0);
	store_drift_list_free(&dl);
	/* the open entry stays (its run is gone) */
	assert_int_equal(store_journal_open(s, "default", &jl), 0);
	assert_int_equal(jl.n, 1);
	assert_int_equal(jl.v[0].id, j2);
	assert_int_equal(jl.v[0].run_id, 0);
	store_journal_list_free(&jl);
	assert_int_equal(store_prune(s, 0, NULL), 0);
	store_close(s);
}

/* ---- the lock -------------------------------------------------------- */

static void
test_lock_basic(void **state)
{
	struct tctx *t = *state;
	struct store *a = open_ok(t->path), *b = open_ok(t->path);
	struct store_lock_holder mine, other, got;
	int64_t lease, t0;

	assert_int_equal(store_lock_get(a, "default", &got), SF_ENOTFOUND);
	assert_int_equal(
	        store_lock_acquire(a, "default", "apply", 60000, &mine), 0);
	assert_int_equal(strlen(mine.id), STORE_LOCK_ID_LEN);
	assert_int_equal(mine.pid, (long)getpid());
	assert_string_equal(mine.info, "apply");
	assert_int_equal(mine.took_over, 0);

	/* a live holder (this very process) wins against a second handle */
	assert_int_equal(store_lock_acquire(b, "default", "plan", 0, &other),
	                 SF_ELOCKED);
	assert_string_equal(other.id, mine.id);
	assert_int_equal(other.pid, (long)getpid());
	assert_string_equal(other.host, mine.host);
	assert_int_equal(other.since_ms, mine.since_ms);
	assert_non_null(strstr(sf_error_last(), "is locked by pid"));
	/* another stack is independent */
	assert_int_equal(store_lock_acquire(b, "other", "plan", 0, &other), 0);
	assert_int_equal(store_lock_release(b, other.id), 0);

	/* waiting: gives up after the timeout, naming the holder */
	t0 = time_mono_ms();
	assert_int_equal(
	        store_lock_acquire_wait(b, "default", "plan", 0, 300, &other),
	        SF_ELOCKED);
	assert_true(time_mono_ms() - t0 >= 300);
	assert_string_equal(other.id, mine.id);

	/* renew moves the lease */
	lease = mine.lease_until_ms;
	time_sleep_ms(3);
	assert_int_equal(store_lock_renew(a, mine.id, 120000), 0);
	assert_int_equal(store_lock_get(b, "default", &got), 0);
	assert_true(got.lease_until_ms > lease);
	assert_string_equal(got.id, mine.id);

	/* release; then releasing or renewing again says it is gone */
	assert_int_equal(store_lock_release(a, mine.id), 0);
	assert_int_equal(store_lock_release(a, mine.id), SF_ENOTFOUND);
	assert_int_equal(store_lock_renew(a, mine.id, 0), SF_ENOTFOUND);
	assert_int_equal(store_lock_acquire(b, "default", "plan", 0, &other),
	                 0);
	assert_int_equal(other.took_over, 0);

	/* force release by id, reporting the holder */
	assert_int_equal(store_lock_force_release(a, other.id, &got), 0);
	assert_string_equal(got.info, "plan");
	assert_int_equal(store_lock_force_release(a, other.id, NULL),
	                 SF_ENOTFOUND);
	assert_int_equal(store_lock_get(a, "default", &got), SF_ENOTFOUND);
	assert_int_equal(store_lock_acquire(a, "", "x", 0, &got), SF_EINVALID);
	store_close(a);
	store_close(b);
}

static void
test_lock_lease_expiry(void **state)
{
	struct tctx *t = *state;
	struct store *a = open_ok(t->path), *b = open_ok(t->path);
	struct store_lock_holder first, second;

	assert_int_equal(store_lock_acquire(a, "default", "apply", 1, &first),
	                 0);
	time_sleep_ms(5);
	/* the holder (this process) is alive, but its lease is over */
	assert_int_equal(store_lock_acquire(b, "default", "apply", 0, &second),
	                 0);
	assert_int_equal(second.took_over, 1);
	assert_string_not_equal(second.id, first.id);
	assert_int_equal(store_lock_renew(a, first.id, 0), SF_ENOTFOUND);
	assert_int_equal(store_lock_release(b, second.id), 0);

	/* a waiter gets the lock once the holder's lease runs out */
	assert_int_equal(store_lock_acquire(a, "default", "apply", 400, &first),
	                 0);
	assert_int_equal(store_lock_acquire_wait(b, "default", "apply", 0, 5000,
	                                         &second),
	                 0);
	assert_int_equal(second.took_over, 1);
	store_close(a);
	store_close(b);
}

/*
 * A child takes the lock and holds it while the parent tries (contention
 * across processes, the holder named), then dies without releasing: the
 * parent takes the lock over because the pid is gone.
 */
static void
test_lock_cross_process(void **state)
{
	struct tctx *t = *state;
	struct store_lock_holder h;
	struct store *s;
	int up[2], down[2], status;
	char c;
	pid_t pid;

	s = open_ok(t->path);
	assert_int_equal(pipe(up), 0);
	assert_int_equal(pipe(down), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct store *cs = NULL;
		struct store_lock_holder ch;

		close(up[0]);
		close(down[1]);
		if (store_open(t->path, &cs) < 0 ||
		    store_lock_acquire(cs, "default", "child", 600000, &ch) < 0)
			_exit(2);
		if (write(up[1], "k", 1) != 1)
			_exit(3);
		if (read(down[0], &c, 1) != 1)
			_exit(4);
		_exit(0); /* dies holding the lock */
	}
	close(up[1]);
	close(down[0]);
	assert_int_equal(read(up[0], &c, 1), 1);
	assert_int_equal(store_lock_acquire(s, "default", "parent", 0, &h),
	                 SF_ELOCKED);
	assert_int_equal(h.pid, (long)pid);
	assert_string_equal(h.info, "child");
	assert_int_equal(write(down[1], "x", 1), 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(up[0]);
	close(down[1]);

	assert_int_equal(store_lock_acquire(s, "default", "parent", 0, &h), 0);
	assert_int_equal(h.took_over, 1);
	assert_int_equal(h.pid, (long)getpid());
	assert_int_equal(store_lock_release(s, h.id), 0);
	store_close(s);
}

#define RACERS 6

/*
 * Several processes acquire at once: exactly one wins. Every racer stays
 * alive until all have tried, so no lock is stale during the race.
 */
static void
test_lock_race(void **state)
{
	struct tctx *t = *state;
	struct store *s = open_ok(t->path);
	pid_t pids[RACERS];
	int go[2], res[2], done[2], status, winners = 0, losers = 0, i;
	char c;

	store_close(s);
	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(res), 0);
	assert_int_equal(pipe(done), 0);
	for (i = 0; i < RACERS; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct store *cs = NULL;
			struct store_lock_holder ch;
			int rc;

			close(go[1]);
			close(res[0]);
			close(done[1]);
			if (store_open(t->path, &cs) < 0)
				_exit(2);
			if (read(go[0], &c, 1) != 0) /* wait for close */
				_exit(3);
			rc = store_lock_acquire(cs, "default", "racer", 600000,
			                        &ch);
			c = rc == 0 ? 'w' : rc == SF_ELOCKED ? 'l' : 'e';
			if (write(res[1], &c, 1) != 1)
				_exit(4);
			if (read(done[0], &c, 1) <
			    0) /* until the parent says */
				_exit(5);
			_exit(0);
		}
	}
	close(go[0]);
	close(res[1]);
	close(done[0]);
	close(go[1]); /* all children go */
	for (i = 0; i < RACERS; i++) {
		assert_int_equal(read(res[0], &c, 1), 1);
		if (c == 'w')
			winners++;
		else if (c == 'l')
			losers++;
	}
	close(done[1]);
	close(res[0]);
	for (i = 0; i < RACERS; i++) {
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	assert_int_equal(winners, 1);
	assert_int_equal(losers, RACERS - 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_modes, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_open_pragmas, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_open_errors, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_meta, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrations, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_hmac_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_secrets, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_create, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_records_crud, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_records_bulk, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_runs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_survives_kill,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_threads, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_drift, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_basic, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_lock_lease_expiry, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_lock_cross_process, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_lock_race, setup,
		                                teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
