/*
 * hooks: the /_emulator/ test hooks of daytona-emulator (not part of
 * Daytona; see docs/daytona-emulator.1) — reset, out-of-band changes to a
 * sandbox, the emulated clock, seeding — and the request log and counters
 * that GET /_emulator/requests and /_emulator/counters report.
 *
 * The hooks are handlers of routes.c's table and run with the db lock
 * held; so does every reqlog function. The log owns its lines.
 */
#ifndef SF_EMULATOR_HOOKS_H
#define SF_EMULATOR_HOOKS_H

#include <stdbool.h>
#include <stdint.h>

#include "emulator/routes.h"

#define REQLOG_ROUTES_MAX 64 /* /api routes that can be counted */

enum reqlog_method { M_GET, M_POST, M_PUT, M_DELETE, M_OTHER, M__COUNT };

/* The request log: one JSON line per /api request, and counters. */
struct reqlog {
	char **lines; /* oldest first, at most EMU_REQUEST_LOG_MAX */
	int n, cap;
	uint64_t total;
	uint64_t routes[REQLOG_ROUTES_MAX + 1]; /* [0] no route, [1 + i] the
	                                           i-th of routes_api() */
	uint64_t methods[M__COUNT];
};

/* reqlog_add: log q, answered with status (0: dropped), and count it. */
void reqlog_add(struct reqlog *l, const struct req *q, const char *method,
                int status);
void reqlog_free(struct reqlog *l);

route_fn hook_reset;
route_fn hook_sandbox_get;
route_fn hook_sandbox_set;
route_fn hook_clock_advance;
route_fn hook_requests;
route_fn hook_requests_clear;
route_fn hook_counters;
route_fn hook_seed;
route_fn hook_build_logs;

#endif
