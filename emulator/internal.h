/*
 * internal: what the modules of daytona-emulator's server share — one
 * struct server per daemon and one struct req per HTTP request. The
 * modules below include it; main.c does not (it sees server.h, db.h and
 * faults.h's bucket names).
 *
 *	http.c      libmicrohttpd, requests and answers, paths and queries
 *	routes.c    the route table and the order checks run in
 *	api-*.c     one handler per /api route
 *	hooks.c     the /_emulator/ test hooks and the request log
 *	faults.c    rate-limit windows and injected faults
 *	body.c      JSON request bodies and their typed fields
 *	jsnum.c     numbers in paths and queries, read as JavaScript does
 *	utf8.c      UTF-8 as Node.js decodes it
 *	server.c    the daemon's lifetime, the ticker, waiting requests
 *
 * Locking: fields marked "db lock" are used with the db's mutex held
 * (emudb_lock()); the rest is set before the daemon starts, or belongs to
 * the one request a pool thread is handling.
 */
#ifndef SF_EMULATOR_INTERNAL_H
#define SF_EMULATOR_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "emulator/db.h"
#include "emulator/faults.h"
#include "emulator/hooks.h"
#include "emulator/http.h"
#include "emulator/resources.h"
#include "emulator/server.h"

struct MHD_Connection;
struct MHD_Daemon;
struct route;

/* Why a request is suspended (see server_suspend()). */
enum req_wait {
	W_NONE,
	W_LATENCY, /* --latency-ms */
	W_STARTED, /* create/start/recover waiting for `started` */
};

struct req {
	struct server *srv;
	struct MHD_Connection *con;
	char *uri;   /* raw, as sent (the error body's "path") */
	char *path;  /* raw path part of uri */
	char *query; /* raw query ("" when none) */
	struct buf body;
	bool started; /* the headers were seen */
	bool too_big; /* the body passed EMU_BODY_MAX */
	struct resp r;

	/* What the server keeps across suspensions of this request. */
	bool latency_done;
	bool resumed; /* the ticker resumed it (db lock) */
	enum req_wait wait;
	int64_t wait_until; /* monotonic ms */
	char wait_id[37];   /* W_STARTED: the sandbox waited for */
	int wait_ok_status;
	int wait_pos;              /* index in srv->waiters, or -1 */
	const struct route *route; /* NULL: no route (or a hook) */
	int bucket;                /* enum rl_bucket of the route */
	int fault;                 /* drawn: 0 none, FAULT_DROP, or a 5xx */
};

struct server {
	struct server_opts opts;
	struct emu_db *db;
	struct MHD_Daemon *d;
	int port;
	bool loopback; /* bound to 127.0.0.0/8 or ::1: hooks need no key */
	pthread_t ticker;
	bool ticker_running;
	_Atomic int stopping;
	/* db lock */
	struct req **waiters;
	int n_waiters, cap_waiters;
	/* the most requests waiting at once (latency, create waits) since
	 * start or the last reset or DELETE /_emulator/requests
	 * (GET /_emulator/counters: "maxWaiting") */
	int max_waiters;
	struct faults faults;
	struct reqlog log;
	struct emu_res res; /* volumes, snapshots, secrets (resources.c) */
	/* TCP connections accepted since start or the last counters reset
	 * (GET /_emulator/counters: "connections") */
	_Atomic uint64_t connections;
};

/*
 * server_suspend: park q until the ticker finds its wait over (time
 * passed, or for W_STARTED the sandbox started, failed or went away) and
 * resumes it; routes_answer() then runs again for q. Call with the db lock
 * held, from the request's own handler.
 */
void server_suspend(struct server *srv, struct req *q, enum req_wait kind,
                    int64_t until);

#endif
