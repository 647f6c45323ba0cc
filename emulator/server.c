/*
 * server: the daemon's lifetime and the requests that wait.
 *
 * A waiting request (injected latency, or create/start/recover waiting for
 * `started`) is suspended in libmicrohttpd and parked in srv->waiters; the
 * ticker thread advances the db's clocks every EMU_TICK_MS and resumes the
 * requests whose wait is over. Lock order: the db lock is never held while
 * calling into libmicrohttpd, except http_suspend() from the request's own
 * handler, which is what keeps a resume from overtaking its suspend.
 */
#include "common/base.h"

#include <pthread.h>

#include "common/error.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "emulator/internal.h"

static void
waiter_add(struct server *srv, struct req *q)
{
	if (srv->n_waiters == srv->cap_waiters) {
		srv->cap_waiters = srv->cap_waiters ? srv->cap_waiters * 2 : 16;
		srv->waiters =
		        xreallocarray(srv->waiters, (size_t)srv->cap_waiters,
		                      sizeof(*srv->waiters));
	}
	q->wait_pos = srv->n_waiters;
	srv->waiters[srv->n_waiters++] = q;
	if (srv->n_waiters > srv->max_waiters)
		srv->max_waiters = srv->n_waiters;
}

static void
waiter_del(struct server *srv, struct req *q)
{
	int i = q->wait_pos;

	if (i < 0)
		return;
	srv->waiters[i] = srv->waiters[--srv->n_waiters];
	srv->waiters[i]->wait_pos = i;
	q->wait_pos = -1;
}

void
server_suspend(struct server *srv, struct req *q, enum req_wait kind,
               int64_t until)
{
	q->wait = kind;
	q->wait_until = until;
	q->resumed = false;
	waiter_add(srv, q);
	http_suspend(q);
}

static bool
wait_over(struct server *srv, struct req *q, int64_t mono)
{
	struct sandbox *sb;

	if (srv->stopping || mono >= q->wait_until)
		return true;
	if (q->wait != W_STARTED)
		return false;
	sb = emudb_find_any(srv->db, q->wait_id);
	return !sb || sb->state == ST_STARTED || sb_errored(sb) ||
	       sb->desired == DS_DESTROYED;
}

static void *
ticker_main(void *arg)
{
	struct server *srv = arg;
	struct req **ready = NULL;
	int cap = 0;

	for (;;) {
		int n = 0;
		int64_t mono;
		bool stop = srv->stopping;

		emudb_lock(srv->db);
		emudb_tick(srv->db, false);
		mono = time_mono_ms();
		for (int i = 0; i < srv->n_waiters;) {
			struct req *q = srv->waiters[i];

			if (!wait_over(srv, q, mono)) {
				i++;
				continue;
			}
			waiter_del(srv, q);
			q->resumed = true;
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				ready = xreallocarray(ready, (size_t)cap,
				                      sizeof(*ready));
			}
			ready[n++] = q;
		}
		emudb_unlock(srv->db);
		for (int i = 0; i < n; i++)
			http_resume(ready[i]);
		if (stop)
			break;
		time_sleep_ms(EMU_TICK_MS);
	}
	free(ready);
	return NULL;
}

int
server_new(const struct server_opts *opts, struct emu_db *db,
           struct server **out)
{
	struct server *srv = xcalloc(1, sizeof(*srv));
	int rc;

	srv->opts = *opts;
	srv->db = db;
	srv->loopback = http_addr_is_loopback(&opts->addr);
	faults_init(&srv->faults, &srv->opts);
	emudb_lock(db);
	rc = res_load(&srv->res, db);
	emudb_unlock(db);
	if (rc < 0) {
		server_free(srv);
		return rc;
	}
	if ((rc = http_start(srv)) < 0) {
		server_free(srv);
		return rc;
	}
	if (pthread_create(&srv->ticker, NULL, ticker_main, srv) != 0) {
		server_free(srv);
		return sf_error_set(SF_ERROR, "cannot start the ticker thread");
	}
	srv->ticker_running = true;
	*out = srv;
	return 0;
}

int
server_port(const struct server *srv)
{
	return srv->port;
}

/*
 * The ticker resumed every waiter on its way out, but a request on a
 * kept-alive connection may have suspended since: resume until none is
 * left (no new ones wait while stopping), then let them answer.
 */
static void
resume_all(struct server *srv)
{
	for (int i = 0; i < 200; i++) {
		struct req **v = NULL;
		int n;

		emudb_lock(srv->db);
		n = srv->n_waiters;
		if (n) {
			v = xreallocarray(NULL, (size_t)n, sizeof(*v));
			for (int k = 0; k < n; k++) {
				v[k] = srv->waiters[k];
				v[k]->wait_pos = -1;
				v[k]->resumed = true;
			}
			srv->n_waiters = 0;
		}
		emudb_unlock(srv->db);
		for (int k = 0; k < n; k++)
			http_resume(v[k]);
		free(v);
		if (n == 0 && i > 0)
			break;
		time_sleep_ms(10);
	}
}

void
server_free(struct server *srv)
{
	if (!srv)
		return;
	http_quiesce(srv);
	srv->stopping = 1;
	if (srv->ticker_running)
		pthread_join(srv->ticker, NULL);
	if (srv->d)
		resume_all(srv);
	http_stop(srv);
	reqlog_free(&srv->log);
	res_free(&srv->res);
	free(srv->waiters);
	faults_free(&srv->faults);
	free(srv);
}
