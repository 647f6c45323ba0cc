/*
 * workpool: n jobs on up to max threads, the caller's among them, for a
 * batch of blocking calls (single GETs) that may run side by side:
 *
 *	workpool_run(n, max, job, arg);  // job(arg, i) once for each i < n
 *
 * Jobs are handed out in order and workpool_run() returns when all are
 * done. A thread that cannot be started leaves its share to the others
 * (with none, the caller runs them all). max is at most WORKPOOL_MAX; the
 * caller keeps it within the run's parallelism, which bounds the calls
 * (and so the connections) in flight.
 */
#ifndef SF_COMMON_WORKPOOL_H
#define SF_COMMON_WORKPOOL_H

#include <stddef.h>

#define WORKPOOL_MAX 64

void workpool_run(size_t n, size_t max, void (*job)(void *arg, size_t i),
                  void *arg);

#endif
