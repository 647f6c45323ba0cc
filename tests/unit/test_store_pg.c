/*
 * The PostgreSQL backend's own promises, beyond the contract every
 * backend passes (test_store_contract.c).
 *
 * Without a server: locations shown without their password (user part,
 * password= parameters, odd spellings), the schema= parameter taken out
 * of the URL, URLs refused before connecting, and no password in the
 * message of a connection that fails.
 *
 * With the server SF_TEST_PG_URL names (tests/unit/store-pg-server.sh
 * starts one; without it these are skipped): the schema and its
 * schema_migrations, a schema newer than this build refused, the default
 * schema, a lock whose session is ended (renew and get say so, another
 * handle takes it over at once, the handle keeps working), force-release
 * ending a live holder's session, kill -9 of a holder, copying a stack
 * between SQLite and PostgreSQL both ways with its ids, times and key,
 * and no password in any message.
 */
#include "common/base.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libpq-fe.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "state/location.h"
#include "state/store.h"
#include "tests/unit/test_store.h"

/* ---- fixtures -------------------------------------------------------- */

static int
setup(void **state)
{
	*state = tctx_new();
	return 0;
}

static int
teardown(void **state)
{
	tctx_free(*state);
	return 0;
}

static const char *
server(void)
{
	const char *url = getenv("SF_TEST_PG_URL");

	return url != NULL && *url != '\0' ? url : NULL;
}

/* need_server: skip without one; a URL of a new schema called name. */
static char *
need_server(const char *name)
{
	static unsigned n;
	const char *url = server();

	if (url == NULL)
		skip();
	return xasprintf("%s%sschema=p%ld_%u_%s", url,
	                 strchr(url, '?') ? "&" : "?", (long)getpid(), n++,
	                 name);
}

/* sql: run sql on a connection of its own to url's database; the first
 * value of the first row (malloc()ed), or NULL. */
static char *
sql(const char *url, const char *q)
{
	char *rest = NULL, *schema = NULL, *out = NULL;
	PGresult *res;
	PGconn *c;

	assert_int_equal(location_take_param(url, "schema", &rest, &schema), 0);
	c = PQconnectdb(rest);
	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("connect: %s", PQerrorMessage(c));
	res = PQexec(c, q);
	if (PQresultStatus(res) != PGRES_TUPLES_OK &&
	    PQresultStatus(res) != PGRES_COMMAND_OK)
		fail_msg("%s: %s", q, PQresultErrorMessage(res));
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0)
		out = xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	PQfinish(c);
	free(rest);
	free(schema);
	return out;
}

/* ---- locations ------------------------------------------------------- */

static void
redacts(const char *in, const char *want)
{
	char *got = store_redact(in);

	assert_string_equal(got, want);
	free(got);
}

static void
test_redact(void **state)
{
	(void)state;
	/* nothing to hide */
	redacts("./.sandform/state.db", "./.sandform/state.db");
	redacts("/a:b@c/state.db", "/a:b@c/state.db"); /* a file path */
	redacts("postgresql://u@h:5432/db?sslmode=verify-full",
	        "postgresql://u@h:5432/db?sslmode=verify-full");
	redacts("postgresql://h/db", "postgresql://h/db");
	redacts("postgresql://[::1]:5432/db", "postgresql://[::1]:5432/db");
	/* the user's password */
	redacts("postgresql://u:s3cret@h:5432/db?sslmode=require",
	        "postgresql://u@h:5432/db?sslmode=require");
	redacts("postgres://u:@h/db", "postgres://u@h/db");
	redacts("postgresql://:s3cret@h/db", "postgresql://@h/db");
	/* a password with what libpq would misread: all of it goes */
	redacts("postgresql://u:p@ss/w?rd@h/db", "postgresql://u@h/db");
	redacts("postgresql://u:a?b=c@h/db?x=1", "postgresql://u@h/db?x=1");
	redacts("postgresql://u:pa%40ss@[::1]:5/db",
	        "postgresql://u@[::1]:5/db");
	/* password parameters, however spelled */
	redacts("postgresql://h/db?password=s3cret", "postgresql://h/db");
	redacts("postgresql://h/db?sslmode=require&password=s3cret&schema=x",
	        "postgresql://h/db?sslmode=require&schema=x");
	redacts("postgresql://h/db?PassWord=s3cret&a=1",
	        "postgresql://h/db?a=1");
	redacts("postgresql://h/db?pass%77ord=s3cret", "postgresql://h/db");
	redacts("postgresql://h/db?password", "postgresql://h/db");
	/* both, and no control characters shown */
	redacts("postgresql://u:x@h/db?password=y&&z=\n1",
	        "postgresql://u@h/db?z=?1");
	assert_true(store_is_url("postgresql://h/db"));
	assert_true(store_is_url("postgres://h/db"));
	assert_false(store_is_url("./postgresql.db"));
	assert_false(store_is_url("postgresql:/h"));
}

static void
test_take_param(void **state)
{
	char *rest, *v;

	(void)state;
	assert_int_equal(location_take_param("postgresql://h/db?schema=abc&"
	                                     "sslmode=require",
	                                     "schema", &rest, &v),
	                 0);
	assert_string_equal(rest, "postgresql://h/db?sslmode=require");
	assert_string_equal(v, "abc");
	free(rest);
	free(v);
	assert_int_equal(location_take_param("postgresql://h/db?a=1&sch%65ma="
	                                     "x%5Fy&b=2&schema=z",
	                                     "schema", &rest, &v),
	                 0);
	assert_string_equal(rest, "postgresql://h/db?a=1&b=2");
	assert_string_equal(v, "z"); /* the last one wins */
	free(rest);
	free(v);
	assert_int_equal(location_take_param("postgresql://u:p?schema=q@h/db",
	                                     "schema", &rest, &v),
	                 0);
	assert_null(v); /* a password is not a query */
	assert_string_equal(rest, "postgresql://u:p?schema=q@h/db");
	free(rest);
	assert_int_equal(location_take_param("postgresql://h/db?schema=%zz",
	                                     "schema", &rest, &v),
	                 SF_EINVALID);
	assert_null(rest);
	assert_null(v);
	assert_int_equal(location_take_param("postgresql://h/db?schema=%00",
	                                     "schema", &rest, &v),
	                 SF_EINVALID);
}

/* Refused before any connection, and nothing secret in the message. */
static void
test_refused_urls(void **state)
{
	static const char *const bad_schema[] = {
		"postgresql://u@127.0.0.1:1/db?schema=Upper",
		"postgresql://u@127.0.0.1:1/db?schema=pg_catalog",
		"postgresql://u@127.0.0.1:1/db?schema=1abc",
		"postgresql://u@127.0.0.1:1/db?schema=a%22b",
		"postgresql://u@127.0.0.1:1/db?schema=",
	};
	struct store *s = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_schema) / sizeof(*bad_schema); i++) {
		assert_int_equal(store_open(bad_schema[i], &s), SF_EINVALID);
		assert_null(s);
		assert_non_null(strstr(sf_error_last(), "schema"));
	}
	assert_int_equal(store_open("postgresql://u:pa/ss@127.0.0.1:1/db", &s),
	                 SF_EINVALID);
	assert_null(strstr(sf_error_last(), "pa/ss"));
	assert_non_null(strstr(sf_error_last(), "percent-encode"));
	/* a server that is not there: the message names it, not the
	 * password, given in the URL or as a parameter */
	assert_int_equal(store_open("postgresql://u:hunter2@127.0.0.1:1/db?"
	                            "connect_timeout=2&password=hunter3",
	                            &s),
	                 SF_EIO);
	assert_non_null(
	        strstr(sf_error_last(), "postgresql://u@127.0.0.1:1/db"));
	assert_non_null(strstr(sf_error_last(), "cannot connect"));
	assert_null(strstr(sf_error_last(), "hunter"));
	assert_true(store_exists("postgresql://u:hunter2@127.0.0.1:1/db") < 0);
	assert_null(strstr(sf_error_last(), "hunter"));
}

/* ---- with a server ----------------------------------------------------- */

static void
test_schema(void **state)
{
	char *url = need_server("schema"), *q, *v;
	struct store *s;

	(void)state;
	s = open_ok(url);
	assert_string_equal(store_backend_name(s), "postgresql");
	assert_int_equal(store_schema_version(s), 1);
	store_close(s);
	q = xasprintf("SELECT string_agg(version::text, ',' ORDER BY version) "
	              "FROM %s.schema_migrations",
	              strstr(url, "schema=") + 7);
	v = sql(url, q);
	assert_string_equal(v, "1");
	free(v);
	free(q);
	/* a schema of a newer sandform is refused, naming it */
	q = xasprintf("INSERT INTO %s.schema_migrations "
	              "VALUES (99, 0, 'future')",
	              strstr(url, "schema=") + 7);
	free(sql(url, q));
	free(q);
	assert_int_equal(store_open(url, &s), SF_EINVALID);
	assert_non_null(strstr(sf_error_last(), "version 99"));
	assert_non_null(strstr(sf_error_last(), "newer"));
	free(url);
}

/* No schema= : the schema "sandform"; exists() creates nothing. */
static void
test_default_schema(void **state)
{
	char *v;
	struct store *s;

	(void)state;
	if (server() == NULL)
		skip();
	s = open_ok(server());
	store_close(s);
	assert_int_equal(store_exists(server()), 1);
	v = sql(server(), "SELECT count(*) FROM sandform.schema_migrations");
	assert_string_equal(v, "1");
	free(v);
	v = sql(server(), "SELECT to_regclass('nosuch.schema_migrations') "
	                  "IS NULL");
	assert_string_equal(v, "t");
	free(v);
}

/* end_sessions: pg_terminate_backend of every session holding a lock in
 * url's schema (as an administrator, or a failing server, would). */
static void
end_sessions(const char *url, const char *schema)
{
	char *q = xasprintf("SELECT count(pg_terminate_backend(session_pid)) "
	                    "FROM %s.locks",
	                    schema);

	free(sql(url, q));
	free(q);
}

static void
test_session_lost(void **state)
{
	char *url = need_server("lost");
	const char *schema = strstr(url, "schema=") + 7;
	struct store *a, *b;
	struct store_lock_holder mine, got;
	struct store_record_list l;
	int64_t j;

	(void)state;
	a = open_ok(url);
	b = open_ok(url);
	assert_int_equal(store_lock_acquire(a, "web", "apply", 0, &mine), 0);
	assert_int_equal(store_lock_renew(a, mine.id, 0), 0);
	end_sessions(url, schema);
	/* the holder learns it: renew and get say the lock is gone */
	assert_int_equal(store_lock_renew(a, mine.id, 0), SF_ENOTFOUND);
	assert_non_null(strstr(sf_error_last(), "lost with its database"));
	assert_int_equal(store_lock_get(a, "web", &got), SF_ENOTFOUND);
	assert_int_equal(store_lock_renew(a, mine.id, 0), SF_ENOTFOUND);
	/* and journals no new call under it, even with the database back */
	assert_int_equal(store_journal_intent(a, 0, "web", "x", "create", NULL,
	                                      NULL, &j),
	                 SF_EIO);
	assert_non_null(strstr(sf_error_last(), "no new calls"));
	assert_int_equal(store_journal_intent(a, 0, "api", "x", "create", NULL,
	                                      NULL, &j),
	                 0);
	/* another handle takes it over at once */
	assert_int_equal(store_lock_acquire(b, "web", "apply", 0, &got), 0);
	assert_int_equal(got.took_over, 1);
	/* the first handle works again, sees the new holder, and cannot
	 * take the lock back behind its run's back */
	assert_int_equal(store_record_list(a, "web", &l), 0);
	store_record_list_free(&l);
	memset(&mine, 0, sizeof(mine));
	assert_int_equal(store_lock_get(a, "web", &mine), 0);
	assert_string_equal(mine.id, got.id);
	assert_int_equal(store_lock_acquire(a, "web", "apply", 0, &mine),
	                 SF_ELOCKED);
	assert_int_equal(store_lock_release(b, got.id), 0);
	assert_int_equal(store_lock_acquire(a, "web", "apply", 0, &mine), 0);
	assert_int_equal(mine.took_over, 0);
	assert_int_equal(store_journal_intent(a, 0, "web", "x", "create", NULL,
	                                      NULL, &j),
	                 0);
	/* a second acquire by the holding handle is refused too */
	assert_int_equal(store_lock_acquire(a, "web", "apply", 0, &got),
	                 SF_ELOCKED);
	assert_string_equal(got.id, mine.id);
	store_close(a);
	store_close(b);
	free(url);
}

static void
test_force_release(void **state)
{
	char *url = need_server("force");
	struct store *a, *b, *c;
	struct store_lock_holder mine, found, got;
	int i;

	(void)state;
	a = open_ok(url);
	b = open_ok(url);
	assert_int_equal(store_lock_acquire(a, "web", "apply", 0, &mine), 0);
	assert_int_equal(store_lock_find(b, mine.id, &found), 0);
	assert_int_equal(found.connected, 1);
	assert_string_equal(found.stack, "web");
	assert_int_equal(store_lock_find(b, "nosuch", &found), SF_ENOTFOUND);
	assert_int_equal(store_lock_force_release(b, mine.id, &got), 0);
	assert_int_equal(got.connected, 1);
	assert_string_equal(got.id, mine.id);
	/* the holder's session was ended: it knows, and the lock is free
	 * as soon as force-release returns */
	assert_int_equal(store_lock_renew(a, mine.id, 0), SF_ENOTFOUND);
	c = open_ok(url);
	assert_int_equal(store_lock_acquire(c, "web", "apply", 0, &got), 0);
	assert_int_equal(got.took_over, 0);
	/* a holder that is gone: its row is found, not connected (once the
	 * server has ended the session: it may take a moment) */
	store_close(c);
	for (i = 0; i < 100; i++) {
		assert_int_equal(store_lock_find(b, got.id, &found), 0);
		if (!found.connected)
			break;
		time_sleep_ms(50);
	}
	assert_int_equal(found.connected, 0);
	assert_int_equal(store_lock_force_release(b, got.id, &found), 0);
	assert_int_equal(found.connected, 0);
	/* force-releasing one's own lock */
	assert_int_equal(store_lock_acquire(b, "web", "apply", 0, &mine), 0);
	assert_int_equal(store_lock_force_release(b, mine.id, NULL), 0);
	assert_int_equal(store_lock_acquire(b, "web", "apply", 0, &mine), 0);
	assert_int_equal(store_lock_release(b, mine.id), 0);
	store_close(a);
	store_close(b);
	free(url);
}

/* kill -9 of a holding process frees its lock with its session. */
static void
test_holder_killed(void **state)
{
	char *url = need_server("killed");
	struct store_lock_holder h;
	struct store *s;
	int up[2], status;
	pid_t pid;
	char ch;

	(void)state;
	s = open_ok(url);
	assert_int_equal(pipe(up), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct store *cs = NULL;
		struct store_lock_holder mine;

		close(up[0]);
		if (store_open(url, &cs) < 0 ||
		    store_lock_acquire(cs, "web", "child", 0, &mine) < 0 ||
		    write(up[1], "k", 1) != 1)
			_exit(2);
		for (;;)
			pause();
	}
	close(up[1]);
	assert_int_equal(read(up[0], &ch, 1), 1);
	close(up[0]);
	assert_int_equal(store_lock_acquire(s, "web", "parent", 0, &h),
	                 SF_ELOCKED);
	assert_int_equal(h.pid, (long)pid);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(
	        store_lock_acquire_wait(s, "web", "parent", 0, 5000, &h), 0);
	assert_int_equal(h.took_over, 1);
	store_close(s);
	free(url);
}

/* Nothing shows the password, when the URL holds it. */
static void
test_password_never_shown(void **state)
{
	const char *pw = getenv("PGPASSWORD");
	char *url = need_server("pw"), *with, *p;
	struct store *s;
	struct store_lock_holder h;

	(void)state;
	if (pw == NULL || strlen(pw) < 4)
		skip();
	p = strstr(url, "://") + 3;
	with = xasprintf("%.*s%.*s:%s%s", (int)(p - url), url,
	                 (int)(strchr(p, '@') - p), p, pw, strchr(p, '@'));
	unsetenv("PGPASSWORD");
	s = open_ok(with);
	assert_null(strstr(store_path(s), pw));
	assert_string_equal(store_path(s), url);
	assert_int_equal(store_lock_acquire(s, "web", "apply", 0, &h), 0);
	store_close(s);
	/* a wrong password: refused, neither password shown */
	p = xasprintf("%s", with);
	memcpy(strstr(p, pw), "XXXX", 4);
	assert_int_equal(store_open(p, &s), SF_EIO);
	assert_non_null(strstr(sf_error_last(), "password authentication"));
	assert_null(strstr(sf_error_last(), pw));
	assert_null(strstr(sf_error_last(), "XXXX"));
	setenv("PGPASSWORD", pw, 1);
	free(p);
	free(with);
	free(url);
}

/* ---- copying between SQLite and PostgreSQL --------------------------- */

/* fill: a stack with every kind of row, and a setting. */
static void
fill(struct store *s, const char *stack)
{
	struct store_record r[2] = { rec(stack, "web", "id-web"),
		                     rec(stack, "api", NULL) };
	struct store_run run;
	int64_t r1, r2, j;

	r[0].labels_json = "{\"team\":\"a\"}";
	r[0].observed_json = "{\"state\": \"started\",\"cpu\":2}";
	r[0].applied_json = "{\"public\":true}";
	r[0].spec_hash = "h1";
	r[1].status = STORE_STATUS_PENDING_CREATE;
	assert_int_equal(store_record_put_many(s, r, 2), 0);
	memset(&run, 0, sizeof(run));
	run.command = "apply";
	run.stack = stack;
	run.source = "m/";
	run.git_commit = "abc";
	assert_int_equal(store_run_begin(s, &run, &r1), 0);
	assert_int_equal(store_journal_intent(s, r1, stack, "web", "create",
	                                      NULL, "{\"image\":\"x\"}", &j),
	                 0);
	assert_int_equal(store_journal_done(s, j, "id-web"), 0);
	assert_int_equal(store_journal_intent(s, r1, stack, "api", "create",
	                                      NULL, NULL, &j),
	                 0);
	assert_int_equal(store_journal_failed(s, j, "quota"), 0);
	assert_int_equal(store_run_finish(s, r1, "failed", "{\"create\":2}"),
	                 0);
	run.command = "apply";
	run.git_commit = NULL;
	assert_int_equal(store_run_begin(s, &run, &r2), 0);
	assert_int_equal(store_journal_intent(s, r2, stack, "api", "create",
	                                      NULL, NULL, &j),
	                 0); /* left open: a killed run */
	assert_int_equal(store_drift_add(s, r1, stack, "web", "state", "state",
	                                 "started", "stopped"),
	                 0);
	assert_int_equal(store_drift_add(s, 0, stack, "api", "missing", NULL,
	                                 NULL, NULL),
	                 0);
	assert_int_equal(store_meta_set(s, "resize_unavailable", "u"), 0);
}

/* same: two states hold the same stack, row for row. */
static void
same(struct store *a, struct store *b, const char *stack)
{
	struct store_record_list ra, rb;
	struct store_run_list ua, ub;
	struct store_journal_list ja, jb;
	struct store_drift_list da, db;
	size_t i;

	assert_int_equal(store_record_list(a, stack, &ra), 0);
	assert_int_equal(store_record_list(b, stack, &rb), 0);
	assert_int_equal(ra.n, rb.n);
	for (i = 0; i < ra.n; i++) {
		assert_string_equal(ra.v[i].name, rb.v[i].name);
		assert_string_equal(ra.v[i].labels_json, rb.v[i].labels_json);
		assert_int_equal(ra.v[i].created_ms, rb.v[i].created_ms);
		assert_int_equal(ra.v[i].updated_ms, rb.v[i].updated_ms);
		if (ra.v[i].observed_json)
			assert_string_equal(ra.v[i].observed_json,
			                    rb.v[i].observed_json);
	}
	store_record_list_free(&ra);
	store_record_list_free(&rb);
	assert_int_equal(store_run_list(a, stack, 0, &ua), 0);
	assert_int_equal(store_run_list(b, stack, 0, &ub), 0);
	assert_int_equal(ua.n, ub.n);
	for (i = 0; i < ua.n; i++) {
		assert_int_equal(ua.v[i].id, ub.v[i].id);
		assert_int_equal(ua.v[i].finished_ms, ub.v[i].finished_ms);
		assert_int_equal(ua.v[i].pid, ub.v[i].pid);
		assert_int_equal(store_drift_list(a, ua.v[i].id, &da), 0);
		assert_int_equal(store_drift_list(b, ub.v[i].id, &db), 0);
		assert_int_equal(da.n, db.n);
		store_drift_list_free(&da);
		store_drift_list_free(&db);
	}
	store_run_list_free(&ua);
	store_run_list_free(&ub);
	assert_int_equal(store_journal_list(a, stack, &ja), 0);
	assert_int_equal(store_journal_list(b, stack, &jb), 0);
	assert_int_equal(ja.n, jb.n);
	for (i = 0; i < ja.n; i++) {
		assert_int_equal(ja.v[i].id, jb.v[i].id);
		assert_int_equal(ja.v[i].run_id, jb.v[i].run_id);
		assert_int_equal(ja.v[i].state, jb.v[i].state);
		assert_int_equal(ja.v[i].created_ms, jb.v[i].created_ms);
	}
	store_journal_list_free(&ja);
	store_journal_list_free(&jb);
	assert_memory_equal(store_hmac_key(a), store_hmac_key(b),
	                    STORE_HMAC_KEY_LEN);
}

static void
test_migrate_both_ways(void **state)
{
	struct tctx *t = *state;
	char *url = need_server("copy"), *file2, *v = NULL;
	struct store *lite, *pg, *back;
	struct store_counts c;

	t->path = xasprintf("%s/a.db", t->dir);
	file2 = xasprintf("%s/b.db", t->dir);
	lite = open_ok(t->path);
	fill(lite, "default");
	pg = open_ok(url);
	assert_int_equal(store_migrate(lite, pg, "default", 0, &c), 0);
	assert_int_equal(c.records, 2);
	assert_int_equal(c.runs, 2);
	assert_int_equal(c.journal, 3);
	assert_int_equal(c.journal_open, 1);
	assert_int_equal(c.drift, 2);
	same(lite, pg, "default");
	assert_int_equal(store_meta_get(pg, "resize_unavailable", &v), 0);
	assert_string_equal(v, "u");
	free(v);
	/* and back into a new file */
	back = open_ok(file2);
	assert_int_equal(store_migrate(pg, back, "default", 0, &c), 0);
	same(pg, back, "default");
	same(lite, back, "default");
	/* the stack is there now: refused without replace */
	assert_int_equal(store_migrate(lite, pg, "default", 0, NULL),
	                 SF_EEXISTS);
	assert_int_equal(store_migrate(lite, pg, "default", 1, NULL), 0);
	same(lite, pg, "default");
	store_close(lite);
	store_close(pg);
	store_close(back);
	free(file2);
	free(url);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		/* clang-format off */
		T(test_redact),
		T(test_take_param),
		T(test_refused_urls),
		T(test_schema),
		T(test_default_schema),
		T(test_session_lost),
		T(test_force_release),
		T(test_holder_killed),
		T(test_password_never_shown),
		T(test_migrate_both_ways),
		/* clang-format on */
	};

	return cmocka_run_group_tests_name("postgresql", tests, NULL, NULL);
}
