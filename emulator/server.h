/*
 * server: the HTTP side of daytona-emulator — libmicrohttpd with a thread
 * pool on epoll, routing of the /api routes and the /_emulator test hooks,
 * authentication, error bodies, rate-limit buckets and fault injection.
 *
 * The server borrows the db (the caller frees it after server_free())
 * and owns everything else it allocates.
 */
#ifndef SF_EMULATOR_SERVER_H
#define SF_EMULATOR_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "emulator/db.h"

#define EMU_BODY_MAX         (1024 * 1024) /* 413 above this (body-parser limit) */
#define EMU_REQUEST_LOG_MAX  100000        /* oldest entries are dropped */
#define EMU_THREADS_DEFAULT  4
#define EMU_CONNECTION_LIMIT 4096
#define EMU_TICK_MS          5 /* how often transitions and waiters are checked */
#define EMU_MAX_SEED_COUNT   1000000

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
	socklen_t addr_len;
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

int server_new(const struct server_opts *opts, struct emu_db *db,
               struct server **out);
int server_port(const struct server *srv);
/* server_free: stop accepting, answer suspended requests, stop, free. */
void server_free(struct server *srv);

/* Helpers shared with the unit tests. */
int emu_snapshot_lookup(const char *name_or_id, const char **name, int *cpu,
                        int *memory, int *disk);
/* emu_percent_decode: decode %XX (and '+' as space when plus); NULL when
 * the escape is malformed. Caller frees. */
char *emu_percent_decode(const char *s, size_t len, bool plus);
/* emu_json_find_nul: offset of the first "\u0000" escape in JSON text, or
 * -1. */
long emu_json_find_nul(const char *s, size_t len);
/* emu_json_nul_message: the 400 message for a body with such an escape,
 * naming its field (the name's own message for "name"). Caller frees. */
char *emu_json_nul_message(const char *s, size_t len);
/* emu_addr_is_loopback: 127.0.0.0/8, ::1 or ::ffff:127.x.y.z. */
bool emu_addr_is_loopback(const struct sockaddr_storage *a);

#endif
