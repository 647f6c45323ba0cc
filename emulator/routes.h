/*
 * routes: the route table of daytona-emulator — every /api route and
 * every /_emulator/ test hook as {method, pattern, rate-limit bucket,
 * handler} — and routes_answer(), which takes a request through the
 * checks in the order the real server runs them and calls the handler of
 * the route it matched.
 *
 * A pattern is a path relative to /api (or /_emulator) whose {name}
 * segments match any one segment; the handler finds them, percent-decoded,
 * in param[] in the order they appear. A handler answers through its
 * struct route_call (r), always with the db lock held; it may suspend the
 * request instead (server_suspend(), r->status -1).
 */
#ifndef SF_EMULATOR_ROUTES_H
#define SF_EMULATOR_ROUTES_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "emulator/http.h"

#define ROUTE_PARAMS_MAX 2

struct org;
struct req;
struct sandbox;
struct server;

/* What a handler gets. */
struct route_call {
	struct server *srv;
	struct req *q;
	struct resp *r;
	struct org *o;      /* the caller's organization */
	struct sandbox *sb; /* RF_SANDBOX routes: the {id} sandbox */
	const char *param[ROUTE_PARAMS_MAX]; /* the {...} segments */
	const cJSON *body;                   /* an object ({} without a body) */
	const struct http_query *qp;         /* the query string */
	const char *method;                  /* as routed: HEAD is GET */
};

typedef void route_fn(struct route_call *c);

enum route_flags {
	RF_PUBLIC = 1 << 0,  /* answered before authentication */
	RF_SANDBOX = 1 << 1, /* {id} names a visible sandbox of the caller's
	                        organization, else 404 */
	RF_ID_ONLY = 1 << 2, /* with RF_SANDBOX: by id only, not by name */
	RF_RESIZE = 1 << 3,  /* 404 "Not Found" under --resize-disabled */
};

struct route {
	const char *method;
	const char *pattern;
	int bucket; /* enum rl_bucket, RL_NONE for none */
	route_fn *fn;
	unsigned flags;
};

/*
 * routes_answer: answer q (called by http.c once the body is in, and again
 * after each resume). Sets q->r: an answer, status -1 (suspended) or drop.
 */
void routes_answer(struct req *q, const char *method);

/*
 * routes_api: the /api route table, in the order routes are tried (n set
 * to its length); routes_index: rt's index in it, -1 for NULL. The
 * counters are kept per index.
 */
const struct route *routes_api(int *n);
int routes_index(const struct route *rt);

/* Answers of a handler (path of the error body: the request's URI). */
void route_error(struct route_call *c, int status, const char *msg);
void route_errorf(struct route_call *c, int status, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* route_sandbox: answer sb as GET does, with status. */
void route_sandbox(struct route_call *c, int status, const struct sandbox *sb);

#endif
