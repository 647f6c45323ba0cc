/*
 * store-pg-lock: the stack locks of the PostgreSQL backend (backend.h:
 * lock_claim, lock_get, lock_renew, lock_delete, lock_find, lock_break).
 *
 * Why it looks the way it does:
 * - A lock is a session advisory lock (pg_try_advisory_lock) on a 64-bit
 *   key derived from the schema and the stack, so different stacks never
 *   wait for each other and a schema's locks never meet another's. The
 *   server releases it when the session ends, however it ends: a killed
 *   process, a lost host (TCP keepalives), pg_terminate_backend. Nothing
 *   depends on a pid or a host name, so any host takes over a dead
 *   holder's lock at once.
 * - Beside it, a row in locks names the holder for the exit-3 message and
 *   for force-unlock, with the advisory key and the holder's session pid:
 *   a row whose session no longer holds that key is a dead holder's,
 *   and the next lock owner overwrites it. Only the owner of the advisory
 *   lock writes the row (force-unlock deletes it).
 * - A lock taken by this handle is remembered in be->held. When the
 *   connection is lost (store-pg.c: pg_session_lost) it is marked lost:
 *   renew then fails with SF_ENOTFOUND and get finds no lock of ours,
 *   which is how a run learns that it must stop. It is never re-taken
 *   behind the run's back by a reconnect.
 * - force-unlock (lock_break) reads the row FOR UPDATE, ends the holder's
 *   session only when that very session still holds the key (a new
 *   holder that took over meanwhile has another pid), deletes the row and
 *   waits a little for the session to go, so that the lock is free when
 *   force-unlock returns. A role that may not end the session (it needs
 *   to be the holder's role or have pg_signal_backend) still deletes the
 *   row: the holder's next check (every second in an apply) finds it gone
 *   and stops, and its session lock goes with its process.
 */
#include "common/base.h"

#include <libpq-fe.h>

#include "common/error.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "state/backend.h"
#include "state/store-pg.h"
#include "state/store.h"

/* How often, and how far apart, a claim looks again when the advisory
 * lock is held but its holder has not written its row yet (or just
 * deleted it, releasing). */
#define CLAIM_TRIES   50
#define CLAIM_WAIT_MS 10
/* How long force-unlock waits for an ended session to let go. */
#define BREAK_WAIT_TRIES 50
#define BREAK_WAIT_MS    100

/*
 * The lock columns in the order of store_rows_lock, then whether the
 * holder's session holds the key, then that session's pid.
 */
#define LOCK_SELECT                                                        \
	"SELECT l.id, l.stack, l.holder, l.pid, l.host, l.acquired_ms, "   \
	"l.lease_until_ms, EXISTS (SELECT 1 FROM pg_locks p "              \
	"WHERE p.locktype = 'advisory' AND p.database = (SELECT oid FROM " \
	"pg_database WHERE datname = current_database()) "                 \
	"AND p.classid = ((l.lock_key >> 32) & 4294967295)::oid "          \
	"AND p.objid = (l.lock_key & 4294967295)::oid "                    \
	"AND p.objsubid = 1 AND p.pid = l.session_pid AND p.granted), "    \
	"l.session_pid FROM locks l "

int64_t
pg_lock_key(const struct store_be *be, const char *prefix, const char *what)
{
	char hex[SF_SHA256_HEX_LEN + 1], *in;
	uint64_t v = 0;
	int64_t key;
	int i;

	in = xasprintf("sandform %s\n%s\n%s", prefix, be->schema, what);
	sha256_hex(in, strlen(in), hex);
	free(in);
	for (i = 0; i < 16; i++)
		v = v << 4 | (uint64_t)(hex[i] <= '9' ? hex[i] - '0'
		                                      : hex[i] - 'a' + 10);
	memcpy(&key, &v, sizeof(key));
	return key;
}

/* ---- the locks this handle took -------------------------------------- */

static struct pg_held *
held_by(struct store_be *be, const char *stack, const char *id)
{
	size_t i;

	for (i = 0; i < be->nheld; i++)
		if ((stack && strcmp(be->held[i].stack, stack) == 0) ||
		    (id && strcmp(be->held[i].id, id) == 0))
			return &be->held[i];
	return NULL;
}

static void
held_add(struct store_be *be, const struct store_lock_holder *mine, int64_t key)
{
	struct pg_held *h;

	if (be->nheld == be->capheld) {
		be->capheld = be->capheld ? be->capheld * 2 : 4;
		be->held =
		        xreallocarray(be->held, be->capheld, sizeof(*be->held));
	}
	h = &be->held[be->nheld++];
	memset(h, 0, sizeof(*h));
	snprintf(h->id, sizeof(h->id), "%s", mine->id);
	snprintf(h->stack, sizeof(h->stack), "%s", mine->stack);
	h->key = key;
}

static void
held_remove(struct store_be *be, struct pg_held *h)
{
	size_t i = (size_t)(h - be->held);

	memmove(h, h + 1, (be->nheld - i - 1) * sizeof(*h));
	be->nheld--;
}

static int
connected(const struct store_be *be)
{
	return be->conn != NULL && PQstatus(be->conn) == CONNECTION_OK;
}

/* unlock: let go of this session's advisory lock of h and forget h. */
static void
unlock_held(struct store_be *be, struct pg_held *h)
{
	char kbuf[PG_I64_LEN];
	const char *arg = pg_i64(kbuf, h->key);

	if (!h->lost && connected(be) &&
	    pg_cmd(be, "SELECT pg_advisory_unlock($1)", 1, &arg,
	           "release lock") < 0)
		log_debug("%s", sf_error_last());
	held_remove(be, h);
}

int
pg_lock_lost(struct store_be *be, const char *stack)
{
	struct pg_held *h = held_by(be, stack, NULL);

	if (h == NULL || !h->lost)
		return 0;
	return sf_error_set(SF_EIO,
	                    "%s: the lock of stack '%s' was lost with its "
	                    "database session: no new calls are journaled "
	                    "under it",
	                    be->shown, stack);
}

/* ---- reading the row ------------------------------------------------- */

/*
 * The columns of store_rows_lock only, for the holder itself: its session
 * holds the key (or its connection would have failed), and pg_locks is
 * not free to read; an apply checks its lock before every call.
 */
#define LOCK_SELECT_OWN                                                  \
	"SELECT l.id, l.stack, l.holder, l.pid, l.host, l.acquired_ms, " \
	"l.lease_until_ms FROM locks l WHERE l.stack = $1"

/*
 * read_lock: the row matching cond ("l.stack = $1" or "l.id = $1") into
 * *out with out->connected, and the holder's session pid into *session
 * (may be NULL); 1, or 0 when none.
 */
static int
read_lock(struct store_be *be, const char *cond, const char *arg,
          const char *tail, struct store_lock_holder *out, int *session)
{
	char *sql = xasprintf(LOCK_SELECT "WHERE %s%s", cond, tail);
	PGresult *res;
	int rc = pg_exec(be, sql, 1, &arg, "read lock", &res);

	free(sql);
	if (rc < 0)
		return rc;
	memset(out, 0, sizeof(*out));
	if (PQntuples(res) > 0) {
		pg_row_fill(res, 0, &store_rows_lock, out);
		out->connected = strcmp(PQgetvalue(res, 0, 7), "t") == 0;
		if (session != NULL)
			*session = (int)pg_get_i64(res, 0, 8);
		rc = 1;
	}
	PQclear(res);
	return rc;
}

int
pg_lock_get(struct store_be *be, const char *stack,
            struct store_lock_holder *out)
{
	struct pg_held *h = held_by(be, stack, NULL);
	PGresult *res;
	int rc;

	/* a lock of ours that went with its session: no need to ask */
	if (h != NULL && h->lost && !connected(be))
		return 0;
	if (h != NULL && !h->lost) {
		rc = pg_exec(be, LOCK_SELECT_OWN, 1, &stack, "read lock", &res);
		if (rc == 0 && PQntuples(res) > 0) {
			pg_row_fill(res, 0, &store_rows_lock, out);
			out->connected = strcmp(out->id, h->id) == 0;
			rc = 1;
		}
		PQclear(res);
		/* (h may have been found lost by this very call) */
	} else {
		rc = read_lock(be, "l.stack = $1", stack, "", out, NULL);
	}
	if (h == NULL || !h->lost)
		return rc;
	/* ours is gone; what the row says is a stale copy of it */
	if (rc < 0 || (rc == 1 && strcmp(out->id, h->id) == 0)) {
		memset(out, 0, sizeof(*out));
		return sf_error_set(SF_ENOTFOUND,
		                    "lock %s of stack '%s' was lost with its "
		                    "database session",
		                    h->id, h->stack);
	}
	return rc;
}

int
pg_lock_find(struct store_be *be, const char *lock_id,
             struct store_lock_holder *out)
{
	return read_lock(be, "l.id = $1", lock_id, "", out, NULL);
}

/* ---- taking, renewing, releasing ------------------------------------- */

/* try_lock: pg_try_advisory_lock(key): 1 taken, 0 held elsewhere. */
static int
try_lock(struct store_be *be, int64_t key)
{
	char kbuf[PG_I64_LEN];
	const char *arg = pg_i64(kbuf, key);
	PGresult *res;
	int rc = pg_exec(be, "SELECT pg_try_advisory_lock($1)", 1, &arg,
	                 "take lock", &res);

	if (rc < 0)
		return rc;
	rc = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return rc;
}

/* write_row: the row naming mine (this session holds the key). */
static int
write_row(struct store_be *be, const struct store_lock_holder *mine,
          int64_t key)
{
	char pid[PG_I64_LEN], since[PG_I64_LEN], lease[PG_I64_LEN],
	        kbuf[PG_I64_LEN];
	const char *vals[8] = { mine->id,
		                mine->stack,
		                mine->info,
		                pg_i64(pid, mine->pid),
		                mine->host,
		                pg_i64(since, mine->since_ms),
		                pg_i64(lease, mine->lease_until_ms),
		                pg_i64(kbuf, key) };
	int rc = pg_cmd(be,
	                "INSERT INTO locks (id, stack, holder, pid, host, "
	                "acquired_ms, renewed_ms, lease_until_ms, lock_key, "
	                "session_pid) VALUES ($1, $2, $3, $4, $5, $6, $6, $7, "
	                "$8, pg_backend_pid()) ON CONFLICT (stack) DO UPDATE "
	                "SET id = excluded.id, holder = excluded.holder, "
	                "pid = excluded.pid, host = excluded.host, "
	                "acquired_ms = excluded.acquired_ms, "
	                "renewed_ms = excluded.renewed_ms, "
	                "lease_until_ms = excluded.lease_until_ms, "
	                "lock_key = excluded.lock_key, "
	                "session_pid = excluded.session_pid",
	                8, vals, "take lock");

	return rc < 0 ? rc : 0;
}

/*
 * claim_key: take the advisory lock, or find who has it: 1 taken; 0 held
 * (*cur: the holder, an empty id when it has not named itself within
 * CLAIM_TRIES looks).
 */
static int
claim_key(struct store_be *be, const char *stack, int64_t key,
          struct store_lock_holder *cur)
{
	int rc, tries;

	for (tries = 0;; tries++) {
		if ((rc = try_lock(be, key)) != 0)
			return rc;
		rc = read_lock(be, "l.stack = $1", stack, "", cur, NULL);
		if (rc == 1 && cur->connected)
			return 0;
		if (rc < 0)
			return rc;
		/* no row, or the row of a session that is gone: the holder
		 * is between taking the key and writing its row, or between
		 * deleting it and letting go: look again shortly */
		if (tries >= CLAIM_TRIES) {
			memset(cur, 0, sizeof(*cur));
			return 0;
		}
		time_sleep_ms(CLAIM_WAIT_MS);
	}
}

int
pg_lock_claim(struct store_be *be, const struct store_lock_holder *mine,
              struct store_lock_holder *cur)
{
	struct pg_held *h = held_by(be, mine->stack, NULL);
	int64_t key = pg_lock_key(be, "lock", mine->stack);
	int rc;

	memset(cur, 0, sizeof(*cur));
	if (h != NULL && !h->lost) {
		/* this handle holds it: a second acquire is refused */
		rc = read_lock(be, "l.stack = $1", mine->stack, "", cur, NULL);
		if (rc != 0)
			return rc < 0 ? rc : 0;
		/* its row was deleted (force-unlock): start afresh */
		unlock_held(be, h);
	} else if (h != NULL) {
		held_remove(be, h);
	}
	if ((rc = claim_key(be, mine->stack, key, cur)) <= 0)
		return rc;
	/* the key is ours: whatever row is there is a dead holder's */
	rc = read_lock(be, "l.stack = $1", mine->stack, "", cur, NULL);
	if (rc == 0)
		memset(cur, 0, sizeof(*cur));
	if (rc >= 0)
		rc = write_row(be, mine, key);
	held_add(be, mine, key);
	if (rc < 0) {
		unlock_held(be, &be->held[be->nheld - 1]);
		return rc;
	}
	return 1;
}

int
pg_lock_renew(struct store_be *be, const char *lock_id, int64_t now_ms,
              int64_t lease_until_ms)
{
	struct pg_held *h = held_by(be, NULL, lock_id);
	char now[PG_I64_LEN], until[PG_I64_LEN];
	const char *vals[3] = { lock_id, pg_i64(now, now_ms),
		                pg_i64(until, lease_until_ms) };
	int rc;

	if (h == NULL)
		return 0;
	rc = h->lost ? 0
	             : pg_cmd(be,
	                      "UPDATE locks SET renewed_ms = $2, "
	                      "lease_until_ms = $3 WHERE id = $1 "
	                      "AND session_pid = pg_backend_pid()",
	                      3, vals, "renew lock");
	if (h->lost) /* before, or noticed just now */
		return sf_error_set(SF_ENOTFOUND,
		                    "lock %s of stack '%s' was lost with its "
		                    "database session",
		                    h->id, h->stack);
	if (rc == 0) /* the row is gone: force-unlocked */
		unlock_held(be, h);
	return rc < 0 ? rc : rc > 0;
}

int
pg_lock_delete(struct store_be *be, const char *lock_id,
               struct store_lock_holder *out)
{
	struct pg_held *h = held_by(be, NULL, lock_id);
	struct store_lock_holder row;
	PGresult *res;
	int rc;

	rc = pg_exec(be,
	             "DELETE FROM locks WHERE id = $1 RETURNING id, stack, "
	             "holder, pid, host, acquired_ms, lease_until_ms",
	             1, &lock_id, "release lock", &res);
	if (h != NULL) /* its row first, then the key: see claim_key */
		unlock_held(be, h);
	if (rc < 0)
		return rc;
	rc = PQntuples(res) > 0;
	if (rc) {
		pg_row_fill(res, 0, &store_rows_lock, &row);
		if (out != NULL)
			*out = row;
	}
	PQclear(res);
	return rc;
}

/* end_session: pg_terminate_backend(pid) inside the transaction; a
 * refusal (privileges) is logged, not fatal. 1 when it was ended. */
static int
end_session(struct store_be *be, int pid, const char *stack)
{
	char pbuf[PG_I64_LEN];
	const char *arg = pg_i64(pbuf, pid);
	char *msg;
	int rc;

	if ((rc = pg_cmd(be, "SAVEPOINT sf_end", 0, NULL, "force-unlock")) < 0)
		return rc;
	rc = pg_cmd(be, "SELECT pg_terminate_backend($1)", 1, &arg,
	            "end the holder's session");
	if (rc >= 0)
		return 1;
	if (!connected(be))
		return rc;
	msg = xstrdup(sf_error_last());
	rc = pg_cmd(be, "ROLLBACK TO SAVEPOINT sf_end", 0, NULL,
	            "force-unlock");
	log_warn("cannot end the database session of the holder of stack "
	         "'%s' (%s): its lock row is deleted, so the run stops at "
	         "its next lock check and its session lock goes with it",
	         stack, msg);
	free(msg);
	return rc < 0 ? rc : 0;
}

/* wait_gone: until session pid no longer holds key (or a while passed). */
static void
wait_gone(struct store_be *be, int pid, int64_t key)
{
	char pbuf[PG_I64_LEN], kbuf[PG_I64_LEN];
	const char *vals[2] = { pg_i64(pbuf, pid), pg_i64(kbuf, key) };
	int i, rc;

	for (i = 0; i < BREAK_WAIT_TRIES; i++) {
		rc = pg_cmd(
		        be,
		        "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' "
		        "AND pid = $1 AND classid = (($2::bigint >> 32) & "
		        "4294967295)::oid AND objid = ($2::bigint & "
		        "4294967295)::oid AND objsubid = 1 AND granted",
		        2, vals, "wait for the session");
		if (rc <= 0)
			return;
		time_sleep_ms(BREAK_WAIT_MS);
	}
	log_warn("the ended session %d still holds its lock", pid);
}

int
pg_lock_break(struct store_be *be, const char *lock_id,
              struct store_lock_holder *out)
{
	struct pg_held *h;
	int session = 0, ended = 0, rc;
	int64_t key = 0;

	if ((rc = pg_begin(be)) < 0)
		return rc;
	rc = read_lock(be, "l.id = $1", lock_id, " FOR UPDATE OF l", out,
	               &session);
	if (rc <= 0)
		return pg_end(be, rc);
	key = pg_lock_key(be, "lock", out->stack);
	if (out->connected && session != PQbackendPID(be->conn))
		ended = rc = end_session(be, session, out->stack);
	if (rc >= 0)
		rc = pg_cmd(be, "DELETE FROM locks WHERE id = $1", 1, &lock_id,
		            "force-unlock");
	if ((rc = pg_end(be, rc < 0 ? rc : 1)) < 0)
		return rc;
	out->connected = ended > 0; /* it was ended, by us */
	if ((h = held_by(be, NULL, lock_id)) != NULL)
		unlock_held(be, h);
	if (ended > 0)
		wait_gone(be, session, key);
	return 1;
}
