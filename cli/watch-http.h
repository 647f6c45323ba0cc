/*
 * watch-http: the HTTP endpoints of `sandform watch --listen ADDR:PORT`
 * (libmicrohttpd, its own thread): GET /metrics (the Prometheus text
 * format of watch-metrics.h), /healthz (200 while the loop keeps moving,
 * 503 when it has not for three intervals) and /readyz (200 once a cycle
 * converged or applied, 503 before). Anything else is 404; methods other
 * than GET and HEAD are 405.
 */
#ifndef SF_CLI_WATCH_HTTP_H
#define SF_CLI_WATCH_HTTP_H

#include <pthread.h>

#include "cli/watch-metrics.h"

struct watch_http;

/*
 * watch_http_start: listen on addr ("HOST:PORT", "[V6]:PORT", ":PORT" for
 * 127.0.0.1; port 0 picks one) serving the n stacks' metrics ms (an array that
 * outlives the server) and the API counters api, read under mu. *port_out gets
 * the port. 0, or < 0 with the error set.
 */
int watch_http_start(const char *addr, const struct watch_metrics *const *ms,
                     size_t n, const struct watch_api *api, pthread_mutex_t *mu,
                     int *port_out, struct watch_http **out);
void watch_http_stop(struct watch_http *h);

#endif
