/*
 * watch-metrics: what `sandform watch` counts about its cycles, and its
 * Prometheus text rendering (the --metrics-file, written atomically):
 *
 *	sandform_reconcile_total{stack,result}          counter
 *	sandform_reconcile_duration_seconds{stack}      histogram
 *	sandform_drift_sandboxes{stack,category}        gauge
 *	sandform_sandboxes{stack,state}                 gauge (managed)
 *	sandform_pending_changes{stack}                 gauge
 *	sandform_last_success_timestamp_seconds{stack}  gauge
 *	sandform_source_revision_info{stack,revision}   gauge (1)
 *	sandform_source_failures_total{stack}           counter
 *	sandform_config_last_reload_successful{stack}   gauge (1, 0)
 *	sandform_config_reload_failures_total{stack}    counter
 *	sandform_api_requests_total{bucket,code}        counter (the process)
 */
#ifndef SF_CLI_WATCH_METRICS_H
#define SF_CLI_WATCH_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "daytona/client.h"
#include "reconciler/plan.h"

enum watch_result {
	WATCH_CONVERGED = 0, /* nothing to do */
	WATCH_APPLIED,       /* changes applied */
	WATCH_DETECTED,      /* changes found, not applied (detect-only) */
	WATCH_FAILED,        /* an error */
	WATCH_LOCKED,        /* another run held the stack */
	WATCH_RESULT_COUNT
};

/* "converged", "applied", "detected", "failed", "locked" */
const char *watch_result_name(enum watch_result r);

/* Upper bounds (seconds) of the duration histogram's buckets. */
#define WATCH_BUCKETS 8

struct watch_metrics {
	char *stack;
	uint64_t total[WATCH_RESULT_COUNT];
	uint64_t le[WATCH_BUCKETS + 1]; /* cumulative at write; +Inf last */
	double sum_s;
	uint64_t count;
	/* the last cycle */
	size_t drift;                        /* out-of-band sandboxes */
	size_t drift_by_cat[PLAN_CAT_COUNT]; /* sandboxes per category */
	size_t managed, changes;
	size_t by_state[DT_STATE_COUNT]; /* managed, by Daytona's state */
	int64_t last_success_s;          /* 0: never */
	char *revision;
	uint64_t source_failures;
	int reload_ok;            /* the last SIGHUP reload worked (or none) */
	uint64_t reload_failures; /* SIGHUP reloads that kept the old file */
	/* for /healthz and /readyz */
	int ready;            /* a cycle converged or applied */
	int64_t last_tick_ms; /* monotonic: the loop last moved */
	int64_t interval_ms;
};

/* The distinct (bucket, status) pairs counted; more go to code "other". */
#define WATCH_API_PAIRS 64

/* The Daytona API requests of the whole process, by rate-limit bucket
 * and HTTP status (0: no answer). Zero it to start. */
struct watch_api {
	struct watch_api_pair {
		int bucket, code;
		uint64_t n;
	} v[WATCH_API_PAIRS]; /* sorted by bucket, then code */
	size_t n;
	uint64_t other[DT_BUCKET_COUNT];
};

/* watch_api_count: one request of bucket answered code (the caller holds
 * the lock the readers take). */
void watch_api_count(struct watch_api *a, enum dt_bucket bucket, int code);

void watch_metrics_init(struct watch_metrics *m, const char *stack);
void watch_metrics_free(struct watch_metrics *m);
/* watch_metrics_plan: the drift and sizes of the cycle's plan. */
void watch_metrics_plan(struct watch_metrics *m, const struct plan *p);
/* watch_metrics_source: whether the cycle's sources loaded. */
void watch_metrics_source(struct watch_metrics *m, int ok);
/* watch_metrics_cycle: count a cycle's result and duration. */
void watch_metrics_cycle(struct watch_metrics *m, enum watch_result res,
                         int64_t ms, const char *revision);
/* watch_metrics_render: the text format of the n stacks' metrics (one
 * HELP/TYPE per family, a line per stack) and of api (NULL: none),
 * appended to b. */
void watch_metrics_render(const struct watch_metrics *const *ms, size_t n,
                          const struct watch_api *api, struct buf *b);
/* watch_metrics_write: the text format, atomically to path; 0 or < 0. */
int watch_metrics_write(const struct watch_metrics *const *ms, size_t n,
                        const struct watch_api *api, const char *path);

#endif
