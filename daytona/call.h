/*
 * call: the one-call machinery of client.c (budgets, retries, error
 * mapping) for the other route files of the client (list.c,
 * resources.c). Private to daytona/ (and its unit tests): nothing else
 * includes this header.
 */
#ifndef SF_DAYTONA_CALL_H
#define SF_DAYTONA_CALL_H

#include <cjson/cJSON.h>

#include "common/buf.h"
#include "daytona/client.h"
#include "daytona/transport.h"

struct dt_call {
	const char *method;
	struct buf path; /* after the base URL: "/sandbox/x?..." */
	char *body;      /* NULL: none */
	enum dt_bucket bucket;
	int retry_safe; /* may repeat after 5xx / lost connection */
	int page;       /* a list page: a bigger receive buffer */
};

/* dt_call_init: an empty call (path and body to be added). */
void dt_call_init(struct dt_call *k, const char *method, enum dt_bucket bucket,
                  int retry_safe);
void dt_call_clear(struct dt_call *k);
/* dt_call_body: the call takes the JSON text of j; j is deleted. */
int dt_call_body(struct dt_call *k, cJSON *j);
/*
 * dt_page_scan: the items and next cursor of a list page's body, read
 * without a JSON tree (sandbox.c). 0, or 1 when the body is not plain
 * JSON of the usual shape: out is then empty and the caller reads the
 * body with cJSON, whose answer is the reference. Never an error.
 */
int dt_page_scan(const char *body, size_t len, struct dt_page *out);
/* dt_call_parse: the response body as JSON, or NULL (empty or not JSON). */
cJSON *dt_call_parse(const struct dt_http_response *resp);
/*
 * dt_call_run: send the call, retrying per the policy within the call's
 * time limit, and leave the last response in resp. Returns 0 on a 2xx,
 * else the mapped error (message set).
 */
int dt_call_run(struct dt_client *c, struct dt_call *k,
                struct dt_http_response *resp, struct dt_result *res);
/* dt_json_add_str: o[field] = s, unless s is NULL. */
void dt_json_add_str(cJSON *o, const char *field, const char *s);

#endif
