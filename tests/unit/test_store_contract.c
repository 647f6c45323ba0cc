/*
 * The store's contract: what store.h promises whatever backend keeps the
 * state. Every test here runs against each target in targets[]: SQLite,
 * and PostgreSQL when SF_TEST_PG_URL names a server (its fresh() names a
 * new schema; without it every test of that target is skipped, and
 * tests/unit/store-pg-server.sh starts a server and runs this program
 * with "postgresql" to run that target alone): records, runs, the
 * journal, drift, settings, prune, counts, the HMAC key and the env-value
 * scrubbing, the lock (stale takeover, leases, waiting, races between
 * processes) and two handles on one state. Where the backends differ by
 * design (a lock past its lease: taken over with SQLite, kept while its
 * session lives with PostgreSQL), the test says which target does what.
 * Nothing here looks at how a backend stores things; that is
 * test_store_sqlite.c's and test_store_pg.c's job.
 */
#include "common/base.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.h"
#include "common/hash.h"
#include "common/strmap.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "state/store.h"
#include "tests/unit/test_store.h"

/* ---- targets --------------------------------------------------------- */

struct store_target {
	const char *name;
	/*
	 * fresh: the location (path or URL) of a new, empty state called
	 * name for one test, malloc()ed; dir is the test's own temporary
	 * directory. NULL skips the test (e.g. no server to run it against).
	 */
	char *(*fresh)(const char *dir, const char *name);
	/* sessions: locks live with database sessions, not leases */
	int sessions;
};

static char *
sqlite_fresh(const char *dir, const char *name)
{
	return xasprintf("%s/%s.db", dir, name);
}

/* pg_fresh: a new schema of the server SF_TEST_PG_URL names. */
static char *
pg_fresh(const char *dir, const char *name)
{
	static unsigned n;
	const char *url = getenv("SF_TEST_PG_URL");

	(void)dir;
	if (url == NULL || *url == '\0')
		return NULL;
	return xasprintf("%s%sschema=c%ld_%u_%s", url,
	                 strchr(url, '?') ? "&" : "?", (long)getpid(), n++,
	                 name);
}

static const struct store_target targets[] = {
	{ "sqlite", sqlite_fresh, 0 },
	{ "postgresql", pg_fresh, 1 },
};

/* The target of the group being run. */
static const struct store_target *target;

static int
setup(void **state)
{
	struct tctx *t = tctx_new();

	t->path = target->fresh(t->dir, "state");
	*state = t;
	if (t->path == NULL)
		skip();
	return 0;
}

static int
teardown(void **state)
{
	tctx_free(*state);
	return 0;
}

/* keyed: the keyed hash of value under the state's key. */
static void
keyed(struct store *s, const char *value, char out[SF_SHA256_HEX_LEN + 1])
{
	hmac_sha256_hex(store_hmac_key(s), STORE_HMAC_KEY_LEN, value,
	                strlen(value), out);
}

/* ---- open, key, settings --------------------------------------------- */

static void
test_open_policy(void **state)
{
	struct tctx *t = *state;
	struct store *s = (struct store *)1;

	assert_int_equal(store_open("", &s), SF_EINVALID);
	assert_null(s);
	s = (struct store *)1;
	assert_int_equal(store_open(NULL, &s), SF_EINVALID);
	assert_null(s);
	/* an unknown URL scheme names the scheme, never the rest */
	assert_int_equal(store_open("nosuch://user:pw@host/db", &s),
	                 SF_EINVALID);
	assert_null(s);
	assert_non_null(strstr(sf_error_last(), "'nosuch://'"));
	assert_null(strstr(sf_error_last(), "pw@host"));
	assert_true(store_exists("nosuch://x") < 0);
	/* exists creates nothing; open creates */
	assert_int_equal(store_exists(t->path), 0);
	assert_int_equal(store_exists(t->path), 0);
	s = open_ok(t->path);
	assert_int_equal(store_exists(t->path), 1);
	assert_string_equal(store_path(s), t->path);
	assert_string_equal(store_backend_name(s), target->name);
	assert_true(store_schema_version(s) > 0);
	store_close(s);
	store_close(NULL);
}

static void
test_meta(void **state)
{
	struct tctx *t = *state;
	struct store *s = open_ok(t->path);
	unsigned char key[STORE_HMAC_KEY_LEN];
	char *v = (char *)1, *long_name, *long_value;
	struct strmap all = STRMAP_INIT;

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

	/* list: every setting, never the key */
	assert_int_equal(store_meta_list(s, &all), 0);
	assert_int_equal(all.n, 4);
	assert_string_equal(strmap_get(&all, "resize_unavailable"), "other");
	assert_string_equal(strmap_get(&all, "empty"), "");
	assert_non_null(strmap_get(&all, "big"));
	assert_null(strmap_get(&all, "hmac_key"));
	strmap_clear(&all);
	store_close(s);

	/* it persists; the key is unchanged */
	s = open_ok(t->path);
	assert_memory_equal(store_hmac_key(s), key, sizeof(key));
	assert_int_equal(store_meta_get(s, "resize_unavailable", &v), 0);
	assert_string_equal(v, "other");
	free(v);
	assert_int_equal(store_meta_list(s, &all), 0);
	assert_int_equal(all.n, 4);
	strmap_clear(&all);
	store_close(s);
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
	keyed(s, "hunter2", h1);
	store_close(s);

	s = open_ok(t->path);
	assert_memory_equal(store_hmac_key(s), key, sizeof(key));
	keyed(s, "hunter2", h2);
	assert_string_equal(h1, h2);
	keyed(s, "hunter3", h2);
	assert_string_not_equal(h1, h2);
	store_close(s);

	/* keyed: another state hashes differently, and not as plain SHA-256 */
	other = target->fresh(t->dir, "other");
	s = open_ok(other);
	assert_memory_not_equal(store_hmac_key(s), key, sizeof(key));
	keyed(s, "hunter2", h3);
	assert_string_not_equal(h1, h3);
	store_close(s);
	sha256_hex("hunter2", 7, plain);
	assert_string_not_equal(h1, plain);
	free(other);
}

static void
test_no_secrets(void **state)
{
	struct tctx *t = *state;
	struct store *s = open_ok(t->path);
	struct store_record r = rec("default", "web", "sb-1");
	struct store_record *got = NULL;
	struct store_journal_entry *e = NULL;
	char hex[SF_SHA256_HEX_LEN + 1], *want;
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
	keyed(s, "hunter2-secret", hex);
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

struct each_seen {
	int n;
	char last[32];
	int stop_at; /* stop (SF_ECONFLICT) at this record; 0: never */
};

static int
each_rec(void *arg, const struct store_record *r)
{
	struct each_seen *e = arg;

	assert_true(strcmp(e->last, r->name) < 0);
	snprintf(e->last, sizeof(e->last), "%s", r->name);
	if (++e->n == e->stop_at)
		return SF_ECONFLICT;
	return 0;
}

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

	/* one at a time: sorted, and a negative return stops the walk */
	{
		struct each_seen e = { 0, "", 0 };

		assert_int_equal(store_record_each(s, "default", each_rec, &e),
		                 0);
		assert_int_equal(e.n, 2);
		assert_string_equal(e.last, "bravo");
		e.n = 0;
		e.last[0] = '\0';
		e.stop_at = 1;
		assert_int_equal(store_record_each(s, "default", each_rec, &e),
		                 SF_ECONFLICT);
		assert_int_equal(e.n, 1);
	}

	/* by a name prefix: only those names, still sorted */
	b = rec("default", "<volume>v1", NULL);
	assert_int_equal(store_record_put(s, &b), 0);
	b = rec("default", "<snapshot>s1", NULL);
	assert_int_equal(store_record_put(s, &b), 0);
	b = rec("default", "=after", NULL);
	assert_int_equal(store_record_put(s, &b), 0);
	assert_int_equal(store_record_list_prefix(s, "default", "<", &l), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].name, "<snapshot>s1");
	assert_string_equal(l.v[1].name, "<volume>v1");
	store_record_list_free(&l);
	assert_int_equal(store_record_list_prefix(s, "default", "al", &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].name, "alpha");
	store_record_list_free(&l);
	assert_int_equal(store_record_list_prefix(s, "other", "<", &l), 0);
	assert_int_equal(l.n, 0);
	store_record_list_free(&l);
	assert_int_equal(store_record_delete(s, "default", "<volume>v1"), 0);
	assert_int_equal(store_record_delete(s, "default", "<snapshot>s1"), 0);
	assert_int_equal(store_record_delete(s, "default", "=after"), 0);
	b = rec("default", "alpha", "id-a");

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

	assert_int_equal(store_journal_get(s, j1, &e), 0);
	assert_int_equal(e->state, STORE_JOURNAL_INTENT);
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
	assert_int_equal(store_journal_failed(s, j2, "again"), SF_EINVALID);
	assert_non_null(strstr(sf_error_last(), "already failed, not failed"));
	assert_int_equal(store_journal_done(s, 12345, NULL), SF_ENOTFOUND);
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

	/* open: only this stack's open entries */
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
		assert_int_equal(l.v[i].state, STORE_JOURNAL_INTENT);
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

/* close_later: close the handle arg after 300 ms (a holder going away). */
static void *
close_later(void *arg)
{
	time_sleep_ms(300);
	store_close(arg);
	return NULL;
}

static void
test_lock_lease_expiry(void **state)
{
	struct tctx *t = *state;
	struct store *a = open_ok(t->path), *b = open_ok(t->path);
	struct store_lock_holder first, second;
	pthread_t closer;

	assert_int_equal(store_lock_acquire(a, "default", "apply", 1, &first),
	                 0);
	time_sleep_ms(5);
	if (target->sessions) {
		/* the lease is over but the holder's session lives: it keeps
		 * the lock, and the message says how to end it */
		assert_int_equal(
		        store_lock_acquire(b, "default", "apply", 0, &second),
		        SF_ELOCKED);
		assert_string_equal(second.id, first.id);
		assert_non_null(strstr(sf_error_last(), "lease ran out"));
		assert_non_null(strstr(sf_error_last(), "force-unlock"));
		assert_int_equal(store_lock_renew(a, first.id, 0), 0);
		/* its session ends: taken over at once */
		store_close(a);
		a = open_ok(t->path);
	}
	/* SQLite: the holder (this process) is alive, but its lease is over */
	assert_int_equal(store_lock_acquire_wait(b, "default", "apply", 0, 5000,
	                                         &second),
	                 0);
	assert_int_equal(second.took_over, 1);
	assert_string_not_equal(second.id, first.id);
	assert_int_equal(store_lock_renew(a, first.id, 0), SF_ENOTFOUND);
	assert_int_equal(store_lock_release(b, second.id), 0);

	/* a waiter gets the lock once the holder's lease runs out (SQLite),
	 * or once its session ends (PostgreSQL: closed while b waits) */
	assert_int_equal(store_lock_acquire(a, "default", "apply", 400, &first),
	                 0);
	if (target->sessions)
		assert_int_equal(pthread_create(&closer, NULL, close_later, a),
		                 0);
	assert_int_equal(store_lock_acquire_wait(b, "default", "apply", 0, 5000,
	                                         &second),
	                 0);
	assert_int_equal(second.took_over, 1);
	if (target->sessions)
		assert_int_equal(pthread_join(closer, NULL), 0);
	else
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

	/* (the server may take a moment to see the session end) */
	assert_int_equal(
	        store_lock_acquire_wait(s, "default", "parent", 0, 5000, &h),
	        0);
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

/* ---- listings and counts --------------------------------------------- */

static void
test_journal_list(void **state)
{
	struct tctx *t = *state;
	struct store *s = open_ok(t->path);
	struct store_journal_list l;
	int64_t j1, j2, j3, j4;

	assert_int_equal(store_journal_list(s, "default", &l), 0);
	assert_int_equal(l.n, 0);
	store_journal_list_free(&l);
	assert_int_equal(store_journal_intent(s, 0, "default", "a", "create",
	                                      NULL, NULL, &j1),
	                 0);
	assert_int_equal(store_journal_intent(s, 0, "default", "b", "delete",
	                                      "id-b", NULL, &j2),
	                 0);
	assert_int_equal(store_journal_intent(s, 0, "default", "c", "stop",
	                                      "id-c", NULL, &j3),
	                 0);
	assert_int_equal(store_journal_intent(s, 0, "other", "d", "stop",
	                                      "id-d", NULL, &j4),
	                 0);
	assert_int_equal(store_journal_done(s, j1, "id-a"), 0);
	assert_int_equal(store_journal_failed(s, j3, "busy"), 0);

	/* every entry of the stack, open or finished, by id */
	assert_int_equal(store_journal_list(s, "default", &l), 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.v[0].id, j1);
	assert_int_equal(l.v[0].state, STORE_JOURNAL_DONE);
	assert_string_equal(l.v[0].result_sandbox_id, "id-a");
	assert_int_equal(l.v[1].id, j2);
	assert_int_equal(l.v[1].state, STORE_JOURNAL_INTENT);
	assert_int_equal(l.v[2].id, j3);
	assert_string_equal(l.v[2].message, "busy");
	store_journal_list_free(&l);
	assert_int_equal(store_journal_open(s, "default", &l), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].id, j2);
	store_journal_list_free(&l);
	store_journal_list_free(NULL);
	store_close(s);
}

static void
test_counts(void **state)
{
	struct tctx *t = *state;
	struct store *s = open_ok(t->path);
	struct store_record r[3] = { rec("default", "a", "id-a"),
		                     rec("default", "b", "id-b"),
		                     rec("other", "a", "id-c") };
	struct store_counts c;
	int64_t run_id, j1, j2;

	assert_int_equal(store_counts(s, "default", &c), 0);
	assert_int_equal(c.records + c.runs + c.journal + c.drift, 0);
	assert_int_equal(store_record_put_many(s, r, 3), 0);
	run_id = begin_run(s, "apply");
	assert_int_equal(store_journal_intent(s, run_id, "default", "a",
	                                      "start", "id-a", NULL, &j1),
	                 0);
	assert_int_equal(store_journal_intent(s, run_id, "default", "b",
	                                      "start", "id-b", NULL, &j2),
	                 0);
	assert_int_equal(store_journal_done(s, j1, NULL), 0);
	assert_int_equal(store_drift_add(s, run_id, "default", "a", "state",
	                                 NULL, NULL, NULL),
	                 0);
	assert_int_equal(store_counts(s, "default", &c), 0);
	assert_int_equal(c.records, 2);
	assert_int_equal(c.runs, 1);
	assert_int_equal(c.journal, 2);
	assert_int_equal(c.journal_open, 1);
	assert_int_equal(c.drift, 1);
	assert_int_equal(store_counts(s, "other", &c), 0);
	assert_int_equal(c.records, 1);
	assert_int_equal(c.runs + c.journal + c.journal_open + c.drift, 0);
	store_close(s);
}

/*
 * Two handles on one state (as two processes have): what one writes, the
 * other reads at once, and neither blocks the other for long.
 */
static void
test_two_handles(void **state)
{
	struct tctx *t = *state;
	struct store *a = open_ok(t->path), *b = open_ok(t->path);
	struct store_record r = rec("default", "web", "id-1");
	struct store_record *got = NULL;
	struct store_journal_list l;
	struct store_run_list runs;
	int64_t run_id, j;
	char *v = NULL;

	/* one state, one key */
	assert_memory_equal(store_hmac_key(a), store_hmac_key(b),
	                    STORE_HMAC_KEY_LEN);
	assert_int_equal(store_record_put(a, &r), 0);
	assert_int_equal(store_record_get(b, "default", "web", &got), 0);
	assert_string_equal(got->sandbox_id, "id-1");
	store_record_free(got);
	assert_int_equal(store_meta_set(b, "resize_unavailable", "u"), 0);
	assert_int_equal(store_meta_get(a, "resize_unavailable", &v), 0);
	assert_string_equal(v, "u");
	free(v);
	run_id = begin_run(a, "apply");
	assert_int_equal(store_journal_intent(a, run_id, "default", "web",
	                                      "stop", "id-1", NULL, &j),
	                 0);
	/* b finishes what a began, as a recovering run does */
	assert_int_equal(store_journal_open(b, "default", &l), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].id, j);
	store_journal_list_free(&l);
	assert_int_equal(store_journal_done(b, j, NULL), 0);
	assert_int_equal(store_journal_done(a, j, NULL), SF_EINVALID);
	assert_int_equal(store_run_finish(b, run_id, "ok", "{}"), 0);
	assert_int_equal(store_run_list(a, "default", 0, &runs), 0);
	assert_int_equal(runs.n, 1);
	assert_string_equal(runs.v[0].outcome, "ok");
	store_run_list_free(&runs);
	assert_int_equal(store_record_delete(b, "default", "web"), 0);
	assert_int_equal(store_record_get(a, "default", "web", &got),
	                 SF_ENOTFOUND);
	store_close(a);
	store_close(b);
}

/* ---- copying a stack ------------------------------------------------- */

/* run_in: record a run of stack; its id. */
static int64_t
run_in(struct store *s, const char *stack)
{
	struct store_run run;
	int64_t id = 0;

	memset(&run, 0, sizeof(run));
	run.command = "apply";
	run.stack = stack;
	assert_int_equal(store_run_begin(s, &run, &id), 0);
	return id;
}

/*
 * store_migrate into another state of the same backend: everything of
 * the stack and the key arrive, ids kept when free and renumbered (with
 * the journal following) when taken; refusals change nothing.
 */
static void
test_migrate(void **state)
{
	struct tctx *t = *state;
	struct store *a = open_ok(t->path), *a2 = open_ok(t->path), *b, *c;
	char *bpath = target->fresh(t->dir, "copy");
	char *cpath = target->fresh(t->dir, "third");
	struct store_record r = rec("default", "web", "id-web");
	struct store_journal_list ja, jb;
	struct store_run_list ra, rb;
	struct store_lock_holder h;
	struct store_counts n;
	int64_t run, j;

	run = run_in(a, "default");
	assert_int_equal(store_record_put(a, &r), 0);
	assert_int_equal(store_journal_intent(a, run, "default", "web",
	                                      "create", NULL, NULL, &j),
	                 0);
	assert_int_equal(store_drift_add(a, run, "default", "web", "state",
	                                 "state", "a", "b"),
	                 0);
	b = open_ok(bpath);
	assert_memory_not_equal(store_hmac_key(a), store_hmac_key(b),
	                        STORE_HMAC_KEY_LEN);
	assert_int_equal(store_migrate(a, a2, "default", 0, NULL), SF_EINVALID);
	assert_int_equal(store_migrate(a, b, "default", 0, &n), 0);
	assert_int_equal(n.records + n.runs + n.journal + n.drift, 4);
	assert_int_equal(n.journal_open, 1);
	assert_memory_equal(store_hmac_key(a), store_hmac_key(b),
	                    STORE_HMAC_KEY_LEN);
	assert_int_equal(store_journal_open(b, "default", &jb), 0);
	assert_int_equal(jb.n, 1);
	assert_int_equal(jb.v[0].id, j);
	assert_int_equal(jb.v[0].run_id, run);
	store_journal_list_free(&jb);
	assert_int_equal(store_lock_get(b, "default", &h), SF_ENOTFOUND);

	/* ids taken in the target: renumbered, the journal following */
	run = run_in(a, "other");
	assert_int_equal(store_journal_intent(a, run, "other", "x", "delete",
	                                      "id-x", NULL, &j),
	                 0);
	(void)run_in(b, "zz"); /* takes the id "other"'s run has in a */
	assert_int_equal(store_migrate(a, b, "other", 0, &n), 0);
	assert_int_equal(store_run_list(a, "other", 0, &ra), 0);
	assert_int_equal(store_run_list(b, "other", 0, &rb), 0);
	assert_int_equal(rb.n, 1);
	assert_true(rb.v[0].id != ra.v[0].id);
	assert_int_equal(store_journal_list(a, "other", &ja), 0);
	assert_int_equal(store_journal_list(b, "other", &jb), 0);
	assert_int_equal(jb.n, 1);
	assert_int_equal(jb.v[0].run_id, rb.v[0].id);
	assert_string_equal(jb.v[0].sandbox_id, ja.v[0].sandbox_id);
	store_journal_list_free(&ja);
	store_journal_list_free(&jb);
	store_run_list_free(&ra);
	store_run_list_free(&rb);

	/* refusals: the target holds it; a stack locked on either side */
	assert_int_equal(store_migrate(a, b, "default", 0, NULL), SF_EEXISTS);
	assert_non_null(strstr(sf_error_last(), "already holds"));
	assert_int_equal(store_lock_acquire(a2, "default", "apply", 0, &h), 0);
	assert_int_equal(store_migrate(a, b, "default", 1, NULL), SF_ELOCKED);
	assert_non_null(strstr(sf_error_last(), "source"));
	assert_int_equal(store_lock_release(a2, h.id), 0);
	/* another key and other stacks: nothing copied */
	c = open_ok(cpath);
	r.stack = "mine";
	assert_int_equal(store_record_put(c, &r), 0);
	assert_int_equal(store_migrate(a, c, "default", 0, NULL), SF_ECONFLICT);
	assert_int_equal(store_counts(c, "default", &n), 0);
	assert_int_equal(n.records + n.runs + n.journal + n.drift, 0);
	/* replacing */
	assert_int_equal(store_migrate(a, b, "default", 1, &n), 0);
	assert_int_equal(store_counts(b, "default", &n), 0);
	assert_int_equal(n.records + n.runs + n.journal + n.drift, 4);
	store_close(a);
	store_close(a2);
	store_close(b);
	store_close(c);
	free(bpath);
	free(cpath);
}

/* The contract tests, run once per target. */
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

static const struct CMUnitTest contract[] = {
	T(test_open_policy),
	T(test_meta),
	T(test_hmac_key),
	T(test_no_secrets),
	T(test_concurrent_create),
	T(test_records_crud),
	T(test_records_bulk),
	T(test_runs),
	T(test_journal),
	T(test_journal_survives_kill),
	T(test_journal_threads),
	T(test_journal_list),
	T(test_drift),
	T(test_prune),
	T(test_counts),
	T(test_two_handles),
	T(test_lock_basic),
	T(test_lock_lease_expiry),
	T(test_lock_cross_process),
	T(test_lock_race),
	T(test_migrate),
};

/* main [TARGET]: every target, or the one named. */
int
main(int argc, char **argv)
{
	size_t i;
	int failed = 0;
	char *probe;

	for (i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		if (argc > 1 && strcmp(argv[1], targets[i].name) != 0)
			continue;
		/* a target without its server is not run (cmocka would count
		 * a skip in setup as an error) */
		if ((probe = targets[i].fresh("/nonexistent", "probe")) ==
		    NULL) {
			print_message(
			        "%s: no server to run against (see "
			        "tests/unit/store-pg-server.sh): not run\n",
			        targets[i].name);
			if (argc > 1)
				return 77;
			continue;
		}
		free(probe);
		target = &targets[i];
		failed += cmocka_run_group_tests_name(target->name, contract,
		                                      NULL, NULL);
	}
	return failed;
}
