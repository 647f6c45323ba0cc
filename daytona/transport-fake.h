/*
 * transport-fake: an in-memory dt_transport and dt_clock for unit tests.
 *
 *	struct dt_fake *f = dt_fake_new();
 *	struct dt_config cfg = DT_CONFIG_INIT;
 *	cfg.api_key = "k";
 *	cfg.base_url = "http://fake/api";
 *	cfg.transport = dt_fake_transport(f);
 *	cfg.clock = dt_fake_clock(f);		// sleeps advance a fake clock
 *	dt_fake_push(f, 200, NULL, "{\"id\":\"x\"}");
 *	... calls ...
 *	assert(strcmp(dt_fake_request(f, 0)->method, "GET") == 0);
 *	dt_fake_free(f);
 *
 * Responses are served in the order they were pushed; when the queue is
 * empty the handler (if set) answers, else the exchange fails with
 * DT_HTTP_CONNECT "fake: no scripted response". Every request is recorded.
 * Safe to use from several threads (one mutex). Everything returned points
 * into the fake and lives until dt_fake_free().
 */
#ifndef SF_DAYTONA_TRANSPORT_FAKE_H
#define SF_DAYTONA_TRANSPORT_FAKE_H

#include <stddef.h>
#include <stdint.h>

#include "daytona/client.h"
#include "daytona/transport.h"

struct dt_fake;

/* A recorded request. */
struct dt_fake_req {
	char *method;
	char *url;           /* full URL as sent */
	char *path;          /* everything after scheme://host[:port], e.g.
	                        "/api/sandbox/x/stop?force=true" */
	char *headers;       /* all request headers, "Name: value\n" each */
	char *body;          /* "" when none */
	int64_t at_ms;       /* fake clock when sent */
	long timeout_ms;     /* the request's own time limit */
	const char *ca_file; /* the CAs it trusts (the client's string) */
};

/* A dynamic responder: fill resp (status, headers, body) or set
 * resp->failure; return 0, or SF_ENET to report a failure. */
typedef int (*dt_fake_handler)(void *arg, const struct dt_fake_req *req,
                               struct dt_http_response *resp);

struct dt_fake *dt_fake_new(void);
void dt_fake_free(struct dt_fake *f);
const struct dt_transport *dt_fake_transport(struct dt_fake *f);
const struct dt_clock *dt_fake_clock(struct dt_fake *f);

/* dt_fake_push: queue a response. headers: NULL or "Name: value" lines
 * separated by '\n'; body: NULL for none. */
void dt_fake_push(struct dt_fake *f, int status, const char *headers,
                  const char *body);
/* dt_fake_push_failure: queue a failed exchange (no response). */
void dt_fake_push_failure(struct dt_fake *f, enum dt_http_failure failure,
                          const char *error);
void dt_fake_set_handler(struct dt_fake *f, dt_fake_handler fn, void *arg);

size_t dt_fake_n_requests(struct dt_fake *f);
const struct dt_fake_req *dt_fake_request(struct dt_fake *f, size_t i);
/* dt_fake_pending: scripted responses not yet served. */
size_t dt_fake_pending(struct dt_fake *f);

/* The fake clock: starts at 1000000 ms; sleeps advance it. */
int64_t dt_fake_now(struct dt_fake *f);
void dt_fake_advance(struct dt_fake *f, int64_t ms);
size_t dt_fake_n_sleeps(struct dt_fake *f);
int64_t dt_fake_sleep(struct dt_fake *f, size_t i);
int64_t dt_fake_slept_total(struct dt_fake *f);

#endif
