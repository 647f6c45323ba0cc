/*
 * ndjson: the --json event stream of apply and destroy, one JSON object a
 * line on stdout (docs/sandform.1 lists the events and their fields):
 * plan, start, progress, done, error, left, summary.
 *
 * The writers take apply's typed events (reconciler/apply.h) and write
 * nothing secret (no event carries a secret). Each line is flushed.
 */
#ifndef SF_CLI_NDJSON_H
#define SF_CLI_NDJSON_H

#include <stdio.h>

#include "reconciler/apply.h"
#include "reconciler/plan.h"

/* ndjson_plan: the plan as one {"event":"plan","plan":{...}} line. */
int ndjson_plan(FILE *fp, const struct plan *p);
/* ndjson_event: a job's event (start, progress, done, error, left); other
 * kinds are not part of the stream and write nothing. */
void ndjson_event(FILE *fp, const struct apply_event *ev);
/* ndjson_summary: the run's summary line (APPLY_EV_SUMMARY). */
void ndjson_summary(FILE *fp, const struct apply_event *ev);

#endif
