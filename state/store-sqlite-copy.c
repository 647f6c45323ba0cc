/*
 * store-sqlite-copy: copying a stack out of and into an SQLite state, for
 * store_migrate (backend.h: stacks, dump, load, key_set).
 *
 * Why it looks the way it does:
 * - The load is one BEGIN IMMEDIATE transaction: a copy that fails half
 *   way leaves the target as it was.
 * - Ids are kept only when none of them is taken: runs and journal
 *   entries are listed by id, so renumbering some and not others could
 *   reorder them. Renumbered rows are inserted in their order and take
 *   AUTOINCREMENT's next ids, which keeps the order.
 * - Statements are prepared for the call (a copy is rare); each table's
 *   rows go through one statement.
 */
#include "common/base.h"

#include <sqlite3.h>

#include "common/error.h"
#include "common/xalloc.h"
#include "state/backend.h"
#include "state/store-sqlite.h"
#include "state/store.h"

/* prep: a statement for this call (finalize it). */
static int
prep(struct store_be *be, const char *sql, sqlite3_stmt **out)
{
	int rc = sqlite3_prepare_v2(store_sqlite_db(be), sql, -1, out, NULL);

	if (rc != SQLITE_OK) {
		*out = NULL;
		return store_sqlite_error(be, rc, "prepare");
	}
	return 0;
}

int
store_sqlite_stacks(struct store_be *be, struct strmap *out)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = prep(
	        be,
	        "SELECT stack FROM records UNION SELECT stack FROM runs "
	        "UNION SELECT stack FROM journal UNION SELECT stack FROM drift",
	        &st);
	if (rc < 0)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		strmap_set(out, (const char *)sqlite3_column_text(st, 0), "");
	rc = rc == SQLITE_DONE ? 0 : store_sqlite_error(be, rc, "list stacks");
	sqlite3_finalize(st);
	return rc;
}

/* read_stack: the rows of one table of the stack into a new array. */
static int
read_stack(struct store_be *be, const char *sql, const char *stack,
           const struct store_row_kind *k, void **v, size_t *n)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = prep(be, sql, &st)) < 0)
		return rc;
	store_sqlite_bind_text(st, 1, stack);
	rc = store_sqlite_rows(be, st, k, "read the stack", v, n);
	sqlite3_finalize(st);
	return rc;
}

int
store_sqlite_dump(struct store_be *be, const char *stack,
                  struct store_dump *out)
{
	void *v;
	int rc;

	rc = read_stack(be,
	                "SELECT stack, name, sandbox_id, spec_hash, labels, "
	                "observed, applied, status, created_ms, updated_ms "
	                "FROM records WHERE stack = ?1 ORDER BY name",
	                stack, &store_rows_record, &v, &out->records.n);
	out->records.v = v;
	if (rc < 0)
		return rc;
	rc = read_stack(be,
	                "SELECT id, command, stack, source, git_commit, pid, "
	                "host, started_ms, finished_ms, outcome, counts "
	                "FROM runs WHERE stack = ?1 ORDER BY id",
	                stack, &store_rows_run, &v, &out->runs.n);
	out->runs.v = v;
	if (rc < 0)
		return rc;
	rc = read_stack(be,
	                "SELECT id, run_id, stack, name, action, sandbox_id, "
	                "detail, state, result_sandbox_id, message, "
	                "created_ms, updated_ms FROM journal "
	                "WHERE stack = ?1 ORDER BY id",
	                stack, &store_rows_journal, &v, &out->journal.n);
	out->journal.v = v;
	if (rc < 0)
		return rc;
	rc = read_stack(be,
	                "SELECT run_id, stack, name, category, field, "
	                "old_value, new_value, observed_ms FROM drift "
	                "WHERE stack = ?1 ORDER BY id",
	                stack, &store_rows_drift, &v, &out->drift.n);
	out->drift.v = v;
	return rc;
}

/* any_taken: 1 when the id of one of the n rows (of size bytes, the id
 * first) answers sql, else 0. */
static int
any_taken(struct store_be *be, const char *sql, const void *rows, size_t size,
          size_t n)
{
	sqlite3_stmt *st = NULL;
	size_t i;
	int rc = 0;

	if (n == 0 || (rc = prep(be, sql, &st)) < 0)
		return rc;
	for (i = 0; i < n && rc == 0; i++) {
		sqlite3_bind_int64(
		        st, 1,
		        *(const int64_t *)((const char *)rows + i * size));
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			rc = 1;
		else if (rc == SQLITE_DONE)
			rc = 0;
		else
			rc = store_sqlite_error(be, rc, "read ids");
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return rc;
}

static int
clear_stack(struct store_be *be, const char *stack)
{
	static const char *const sql[] = {
		"DELETE FROM drift WHERE stack = ?1",
		"DELETE FROM journal WHERE stack = ?1",
		"DELETE FROM runs WHERE stack = ?1",
		"DELETE FROM records WHERE stack = ?1",
	};
	sqlite3_stmt *st = NULL;
	size_t i;
	int rc = 0;

	for (i = 0; i < sizeof(sql) / sizeof(*sql) && rc == 0; i++) {
		if ((rc = prep(be, sql[i], &st)) < 0)
			break;
		store_sqlite_bind_text(st, 1, stack);
		rc = store_sqlite_step(be, st, "clear the stack");
		sqlite3_finalize(st);
	}
	return rc;
}

static void
bind_opt_i64(sqlite3_stmt *st, int i, int64_t v)
{
	if (v == 0)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_int64(st, i, v);
}

/* load_runs: insert the runs, keeping ids when keep, and set their ids. */
static int
load_runs(struct store_be *be, struct store_run_list *l, int keep)
{
	sqlite3_stmt *st = NULL;
	struct store_run *r;
	size_t i;
	int rc;

	rc = prep(be,
	          "INSERT INTO runs (id, command, stack, source, git_commit, "
	          "pid, host, started_ms, finished_ms, outcome, counts) "
	          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
	          &st);
	for (i = 0; rc == 0 && i < l->n; i++) {
		r = &l->v[i];
		store_sqlite_bind_id(st, 1, keep ? r->id : 0);
		store_sqlite_bind_text(st, 2, r->command);
		store_sqlite_bind_text(st, 3, r->stack);
		store_sqlite_bind_text(st, 4, r->source);
		store_sqlite_bind_text(st, 5, r->git_commit);
		sqlite3_bind_int64(st, 6, r->pid);
		store_sqlite_bind_text(st, 7, r->host);
		sqlite3_bind_int64(st, 8, r->started_ms);
		bind_opt_i64(st, 9, r->finished_ms);
		store_sqlite_bind_text(st, 10, r->outcome);
		store_sqlite_bind_text(st, 11, r->counts_json);
		rc = store_sqlite_step(be, st, "copy run");
		r->id = sqlite3_last_insert_rowid(store_sqlite_db(be));
	}
	sqlite3_finalize(st);
	return rc;
}

/* load_journal: insert the entries (run ids already mapped). */
static int
load_journal(struct store_be *be, struct store_journal_list *l, int keep)
{
	struct store_journal_entry *e;
	sqlite3_stmt *st = NULL;
	size_t i;
	int rc;

	rc = prep(be,
	          "INSERT INTO journal (id, run_id, stack, name, action, "
	          "sandbox_id, detail, state, result_sandbox_id, message, "
	          "created_ms, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
	          "?7, ?8, ?9, ?10, ?11, ?12)",
	          &st);
	for (i = 0; rc == 0 && i < l->n; i++) {
		e = &l->v[i];
		store_sqlite_bind_id(st, 1, keep ? e->id : 0);
		store_sqlite_bind_id(st, 2, e->run_id);
		store_sqlite_bind_text(st, 3, e->stack);
		store_sqlite_bind_text(st, 4, e->name);
		store_sqlite_bind_text(st, 5, e->action);
		store_sqlite_bind_text(st, 6, e->sandbox_id);
		store_sqlite_bind_text(st, 7, e->detail_json);
		store_sqlite_bind_text(st, 8,
		                       store_journal_state_name(e->state));
		store_sqlite_bind_text(st, 9, e->result_sandbox_id);
		store_sqlite_bind_text(st, 10, e->message);
		sqlite3_bind_int64(st, 11, e->created_ms);
		sqlite3_bind_int64(st, 12, e->updated_ms);
		rc = store_sqlite_step(be, st, "copy journal entry");
		e->id = sqlite3_last_insert_rowid(store_sqlite_db(be));
	}
	sqlite3_finalize(st);
	return rc;
}

static int
load_drift(struct store_be *be, const struct store_drift_list *l)
{
	const struct store_drift *d;
	sqlite3_stmt *st = NULL;
	size_t i;
	int rc;

	rc = prep(be,
	          "INSERT INTO drift (run_id, stack, name, category, field, "
	          "old_value, new_value, observed_ms) VALUES (?1, ?2, ?3, ?4, "
	          "?5, ?6, ?7, ?8)",
	          &st);
	for (i = 0; rc == 0 && i < l->n; i++) {
		d = &l->v[i];
		store_sqlite_bind_id(st, 1, d->run_id);
		store_sqlite_bind_text(st, 2, d->stack);
		store_sqlite_bind_text(st, 3, d->name);
		store_sqlite_bind_text(st, 4, d->category);
		store_sqlite_bind_text(st, 5, d->field);
		store_sqlite_bind_text(st, 6, d->old_value);
		store_sqlite_bind_text(st, 7, d->new_value);
		sqlite3_bind_int64(st, 8, d->observed_ms);
		rc = store_sqlite_step(be, st, "copy drift");
	}
	sqlite3_finalize(st);
	return rc;
}

static int
load_records(struct store_be *be, const struct store_record_list *l)
{
	const struct store_record *r;
	sqlite3_stmt *st = NULL;
	size_t i;
	int rc;

	rc = prep(be,
	          "INSERT INTO records (stack, name, sandbox_id, spec_hash, "
	          "labels, observed, applied, status, created_ms, updated_ms) "
	          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	          &st);
	for (i = 0; rc == 0 && i < l->n; i++) {
		r = &l->v[i];
		store_sqlite_bind_text(st, 1, r->stack);
		store_sqlite_bind_text(st, 2, r->name);
		store_sqlite_bind_text(st, 3, r->sandbox_id);
		store_sqlite_bind_text(st, 4, r->spec_hash);
		store_sqlite_bind_text(st, 5, r->labels_json);
		store_sqlite_bind_text(st, 6, r->observed_json);
		store_sqlite_bind_text(st, 7, r->applied_json);
		store_sqlite_bind_text(st, 8, r->status);
		sqlite3_bind_int64(st, 9, r->created_ms);
		sqlite3_bind_int64(st, 10, r->updated_ms);
		rc = store_sqlite_step(be, st, "copy record");
	}
	sqlite3_finalize(st);
	return rc;
}

int
store_sqlite_load(struct store_be *be, const char *stack, struct store_dump *d,
                  int replace)
{
	int64_t *old = NULL;
	int taken_runs, taken_journal, rc;

	if ((rc = store_sqlite_begin(be)) < 0)
		return rc;
	if (replace && (rc = clear_stack(be, stack)) < 0)
		goto out;
	/* the id is the first member of both structs */
	taken_runs = rc = any_taken(be, "SELECT 1 FROM runs WHERE id = ?1",
	                            d->runs.v, sizeof(*d->runs.v), d->runs.n);
	if (rc < 0)
		goto out;
	taken_journal = rc =
	        any_taken(be, "SELECT 1 FROM journal WHERE id = ?1",
	                  d->journal.v, sizeof(*d->journal.v), d->journal.n);
	if (rc < 0)
		goto out;
	old = store_dump_run_ids(d);
	if ((rc = load_runs(be, &d->runs, !taken_runs)) < 0)
		goto out;
	store_dump_map_runs(d, old);
	if ((rc = load_journal(be, &d->journal, !taken_journal)) < 0 ||
	    (rc = load_drift(be, &d->drift)) < 0 ||
	    (rc = load_records(be, &d->records)) < 0)
		goto out;
out:
	free(old);
	return store_sqlite_end(be, rc);
}

int
store_sqlite_key_set(struct store_be *be, const unsigned char *key, size_t len)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = prep(be,
	          "INSERT INTO meta (key, value) VALUES ('hmac_key', ?1) "
	          "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
	          &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_blob(st, 1, key, (int)len, SQLITE_STATIC);
	rc = store_sqlite_step(be, st, "store key");
	sqlite3_finalize(st);
	return rc;
}
