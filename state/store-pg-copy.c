/*
 * store-pg-copy: copying a stack out of and into a PostgreSQL state, for
 * store_migrate (backend.h: stacks, dump, load; key_set is in store-pg.c
 * beside the key's other SQL).
 *
 * Why it looks the way it does:
 * - The load is one transaction, and each table one statement over
 *   json_to_recordset() (a stack of 10,000 records is one round trip).
 * - Ids are kept only when none of them is taken, so that the order by id
 *   of runs and journal entries survives; otherwise each gets a fresh id
 *   from its table's sequence, drawn in order. Rows given explicit ids
 *   leave the sequence behind: it is moved past them (never back).
 */
#include "common/base.h"

#include <libpq-fe.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/xalloc.h"
#include "state/backend.h"
#include "state/store-pg.h"
#include "state/store.h"

int
pg_stacks(struct store_be *be, struct strmap *out)
{
	PGresult *res;
	int i, rc = pg_exec(be,
	                    "SELECT stack FROM records UNION SELECT stack "
	                    "FROM runs UNION SELECT stack FROM journal UNION "
	                    "SELECT stack FROM drift",
	                    0, NULL, "list stacks", &res);

	if (rc < 0)
		return rc;
	for (i = 0; i < PQntuples(res); i++)
		strmap_set(out, PQgetvalue(res, i, 0), "");
	PQclear(res);
	return 0;
}

/* read_stack: every row of the stack from sql ($1: the stack). */
static int
read_stack(struct store_be *be, const char *sql, const char *stack,
           const struct store_row_kind *k, void **v, size_t *n)
{
	PGresult *res;
	int rc = pg_exec(be, sql, 1, &stack, "read the stack", &res);

	*v = NULL;
	*n = 0;
	if (rc < 0)
		return rc;
	pg_rows(res, k, v, n);
	PQclear(res);
	return 0;
}

int
pg_dump(struct store_be *be, const char *stack, struct store_dump *out)
{
	void *v;
	int rc;

	rc = read_stack(be,
	                "SELECT " REC_COLS " FROM records WHERE stack = $1 "
	                "ORDER BY name COLLATE \"C\"",
	                stack, &store_rows_record, &v, &out->records.n);
	out->records.v = v;
	if (rc < 0)
		return rc;
	rc = read_stack(be,
	                "SELECT " RUN_COLS " FROM runs WHERE stack = $1 "
	                "ORDER BY id",
	                stack, &store_rows_run, &v, &out->runs.n);
	out->runs.v = v;
	if (rc < 0)
		return rc;
	rc = read_stack(be,
	                "SELECT " J_COLS " FROM journal WHERE stack = $1 "
	                "ORDER BY id",
	                stack, &store_rows_journal, &v, &out->journal.n);
	out->journal.v = v;
	if (rc < 0)
		return rc;
	rc = read_stack(be,
	                "SELECT " DRIFT_COLS " FROM drift WHERE stack = $1 "
	                "ORDER BY id",
	                stack, &store_rows_drift, &v, &out->drift.n);
	out->drift.v = v;
	return rc;
}

/* ids_array: the ids (the first int64_t of each row) as an array literal. */
static char *
ids_array(const void *rows, size_t size, size_t n)
{
	struct buf b = BUF_INIT;
	size_t i;

	buf_addch(&b, '{');
	for (i = 0; i < n; i++)
		buf_addf(&b, "%s%lld", i ? "," : "",
		         (long long)*(const int64_t *)((const char *)rows +
		                                       i * size));
	buf_addch(&b, '}');
	return buf_detach(&b, NULL);
}

/*
 * place_ids: when one of the rows' ids is taken in table, give every row
 * (id first, of size bytes) a fresh id from the table's sequence, in
 * order. The table name is one of ours, never input.
 */
static int
place_ids(struct store_be *be, const char *table, void *rows, size_t size,
          size_t n)
{
	char *ids, *sql, nbuf[PG_I64_LEN];
	const char *arg;
	PGresult *res;
	size_t i;
	int rc;

	if (n == 0)
		return 0;
	ids = ids_array(rows, size, n);
	sql = xasprintf("SELECT EXISTS (SELECT 1 FROM %s WHERE id = "
	                "ANY($1::bigint[]))",
	                table);
	rc = pg_exec(be, sql, 1, (const char *const *)&ids, "copy", &res);
	free(sql);
	free(ids);
	if (rc < 0)
		return rc;
	rc = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (rc == 0)
		return 0;
	arg = pg_i64(nbuf, (int64_t)n);
	sql = xasprintf("SELECT nextval('%s_id_seq') "
	                "FROM generate_series(1, $1::bigint) ORDER BY 1",
	                table);
	rc = pg_exec(be, sql, 1, &arg, "copy", &res);
	free(sql);
	if (rc < 0)
		return rc;
	for (i = 0; i < n; i++)
		*(int64_t *)((char *)rows + i * size) =
		        pg_get_i64(res, (int)i, 0);
	PQclear(res);
	return 0;
}

/* insert_rows: n rows of kind k through sql ($1: their JSON); then, for
 * a table with ids (table not NULL), its sequence past them. */
static int
insert_rows(struct store_be *be, const char *sql, const char *table,
            const struct store_row_kind *k, const void *rows, size_t n)
{
	struct buf json = BUF_INIT;
	const char *arg;
	char *seq;
	int rc;

	if (n == 0)
		return 0;
	pg_json_rows(&json, k, rows, n);
	arg = buf_cstr(&json);
	rc = pg_cmd(be, sql, 1, &arg, "copy");
	buf_free(&json);
	if (rc < 0 || table == NULL)
		return rc < 0 ? rc : 0;
	seq = xasprintf("SELECT setval('%s_id_seq', greatest((SELECT max(id) "
	                "FROM %s), (SELECT last_value FROM %s_id_seq)))",
	                table, table, table);
	rc = pg_cmd(be, seq, 0, NULL, "copy");
	free(seq);
	return rc < 0 ? rc : 0;
}

static int
clear_stack(struct store_be *be, const char *stack)
{
	static const char *const sql[] = {
		"DELETE FROM drift WHERE stack = $1",
		"DELETE FROM journal WHERE stack = $1",
		"DELETE FROM runs WHERE stack = $1",
		"DELETE FROM records WHERE stack = $1",
	};
	size_t i;
	int rc = 0;

	for (i = 0; i < sizeof(sql) / sizeof(*sql) && rc >= 0; i++)
		rc = pg_cmd(be, sql[i], 1, &stack, "clear the stack");
	return rc < 0 ? rc : 0;
}

int
pg_load(struct store_be *be, const char *stack, struct store_dump *d,
        int replace)
{
	int64_t *old = store_dump_run_ids(d);
	int rc;

	if ((rc = pg_begin(be)) < 0)
		goto out;
	if ((replace && (rc = clear_stack(be, stack)) < 0) ||
	    (rc = place_ids(be, "runs", d->runs.v, sizeof(*d->runs.v),
	                    d->runs.n)) < 0 ||
	    (rc = place_ids(be, "journal", d->journal.v, sizeof(*d->journal.v),
	                    d->journal.n)) < 0)
		goto end;
	store_dump_map_runs(d, old);
	rc = insert_rows(be,
	                 "INSERT INTO runs (" RUN_COLS ") SELECT c0, c1, c2, "
	                 "c3, c4, c5, c6, c7, nullif(c8, 0), c9, c10::json "
	                 "FROM json_to_recordset($1::json) AS x(c0 bigint, "
	                 "c1 text, c2 text, c3 text, c4 text, c5 bigint, "
	                 "c6 text, c7 bigint, c8 bigint, c9 text, c10 text)",
	                 "runs", &store_rows_run, d->runs.v, d->runs.n);
	if (rc < 0)
		goto end;
	rc = insert_rows(be,
	                 "INSERT INTO journal (" J_COLS ") SELECT c0, "
	                 "nullif(c1, 0), c2, c3, c4, c5, c6::json, c7, c8, "
	                 "c9, c10, c11 FROM json_to_recordset($1::json) AS "
	                 "x(c0 bigint, c1 bigint, c2 text, c3 text, c4 text, "
	                 "c5 text, c6 text, c7 text, c8 text, c9 text, "
	                 "c10 bigint, c11 bigint)",
	                 "journal", &store_rows_journal, d->journal.v,
	                 d->journal.n);
	if (rc < 0)
		goto end;
	rc = insert_rows(be,
	                 "INSERT INTO drift (" DRIFT_COLS ") SELECT "
	                 "nullif(c0, 0), c1, c2, c3, c4, c5, c6, c7 "
	                 "FROM json_to_recordset($1::json) AS x(c0 bigint, "
	                 "c1 text, c2 text, c3 text, c4 text, c5 text, "
	                 "c6 text, c7 bigint)",
	                 NULL, &store_rows_drift, d->drift.v, d->drift.n);
	if (rc < 0)
		goto end;
	rc = insert_rows(be,
	                 "INSERT INTO records (" REC_COLS ") SELECT c0, c1, "
	                 "c2, c3, coalesce(c4::json, '{}'), c5::json, "
	                 "c6::json, coalesce(c7, 'active'), c8, c9 "
	                 "FROM json_to_recordset($1::json) AS x(c0 text, "
	                 "c1 text, c2 text, c3 text, c4 text, c5 text, "
	                 "c6 text, c7 text, c8 bigint, c9 bigint)",
	                 NULL, &store_rows_record, d->records.v, d->records.n);
end:
	rc = pg_end(be, rc);
out:
	free(old);
	return rc;
}
