/*
 * server: daytona-emulator's HTTP server — the /api routes and the
 * /_emulator test hooks on libmicrohttpd, with authentication, Daytona's
 * error bodies, rate-limit buckets and fault injection (see internal.h for
 * the modules behind it).
 *
 * The server borrows the db (the caller frees it after server_free()) and
 * owns everything else it allocates.
 */
#ifndef SF_EMULATOR_SERVER_H
#define SF_EMULATOR_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "emulator/db.h"

#define EMU_API_VERSION      "0.190.0"     /* the Daytona API it answers as */
#define EMU_BODY_MAX         (1024 * 1024) /* 413 above this (body-parser limit) */
#define EMU_REQUEST_LOG_MAX  100000        /* oldest entries are dropped */
#define EMU_THREADS_DEFAULT  4
#define EMU_CONNECTION_LIMIT 4096
#define EMU_TICK_MS          5 /* how often transitions and waiters are checked */
#define EMU_MAX_SEED_COUNT   1000000

/* The rate-limit buckets of Daytona's throttler. */
enum rl_bucket {
	RL_CREATE,
	RL_LIFECYCLE,
	RL_OTHER,
	RL__COUNT,
	RL_NONE = -1,
};

struct rate_limit {
	int limit; /* 0: bucket disabled */
	int64_t window_ms;
};

struct server_opts {
	struct sockaddr_storage addr;
	int threads;
	int64_t max_wait_ms;
	int64_t latency_ms;
	double fail_rate, drop_rate, throttle_rate;
	double error_rate; /* create/start/build transitions ending in error */
	uint64_t seed;
	bool resize_disabled;
	bool fault_after; /* faults replace the answer after the change */
	struct rate_limit rl[RL__COUNT];
	const char *default_snapshot;
	int quota_cpu, quota_memory, quota_disk; /* org totals; 0 = none */
};

struct server;

/* server_new: listen and serve; SF_ENET (message set) when the address
 * cannot be bound. */
int server_new(const struct server_opts *opts, struct emu_db *db,
               struct server **out);
int server_port(const struct server *srv);
/* server_free: stop accepting, answer suspended requests, stop, free. */
void server_free(struct server *srv);

#endif
