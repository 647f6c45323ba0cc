/*
 * faults: what daytona-emulator does to requests besides answering them —
 * the rate-limit windows of --rate-limit (per organization and bucket,
 * announced in Daytona's X-RateLimit-* headers) and the faults injected
 * by --fail-rate, --drop-rate, --throttle-rate and --error-rate, all drawn
 * from one generator seeded by --seed. (--latency-ms is a wait, see
 * routes.c.)
 *
 * Every function but the bucket names is called with the db lock held, in
 * the order requests are handled, so the same seed and the same sequence
 * of requests give the same faults. A struct faults borrows its options.
 */
#ifndef SF_EMULATOR_FAULTS_H
#define SF_EMULATOR_FAULTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "emulator/server.h"

#define FAULT_DROP (-1) /* close the connection without an answer */

struct resp;

struct faults {
	const struct server_opts *opts;
	uint64_t rng;
	struct htab *windows; /* org id -> its rate-limit windows */
};

void faults_init(struct faults *f, const struct server_opts *opts);
void faults_free(struct faults *f);
/* faults_reset: forget every rate-limit window (the reset hook). */
void faults_reset(struct faults *f);

/* faults_draw: --drop-rate, then --fail-rate: 0, FAULT_DROP, 500, 502 or
 * 503. */
int faults_draw(struct faults *f);
/* faults_draw_error: does the transition a request starts end in error
 * (--error-rate)? */
bool faults_draw_error(struct faults *f);
/* faults_draw_throttle: --throttle-rate for a request in bucket; when it
 * hits, r gets Retry-After-<bucket>: 1 and the caller answers 429. */
bool faults_draw_throttle(struct faults *f, int bucket, struct resp *r);

/*
 * faults_rate_limit: count a request of org_id in bucket, adding the
 * bucket's X-RateLimit-* headers to r; true (with Retry-After-<bucket>)
 * when the window is exhausted and the request must be refused with 429.
 */
bool faults_rate_limit(struct faults *f, const char *org_id, int bucket,
                       struct resp *r);

/* Bucket names: "create" (options, request log), "sandbox-create"
 * (headers, GET /config); faults_bucket_parse() is the inverse of the
 * first, -1 when unknown. */
const char *faults_bucket_name(int bucket);
const char *faults_bucket_header(int bucket);
int faults_bucket_parse(const char *s, size_t len);

#endif
