/*
 * apply: the executor that runs a plan against Daytona (DESIGN.md §6).
 *
 * apply_run() turns every action of a plan into a job that runs the
 * action's steps in order. Jobs run in parallel: a pool of worker threads
 * (--parallelism, the bound on API calls in flight) makes the calls, and
 * one poller thread watches every job that waits for a state, with one
 * label-filtered list walk per tick for all of them (a GET only for a
 * sandbox the list does not show). The client paces each throttler bucket.
 *
 * Crash safety: before every mutating call a journal intent is committed
 * to the store, and it is completed after; a created sandbox is recorded
 * as soon as its id is known. apply_recover() resolves the entries a killed
 * run left open, by looking the sandboxes up by name (creates) or id, so
 * the next plan sees no duplicate, no untracked sandbox and no lost record.
 *
 * Create is idempotent by name: after a timeout, a dropped connection, a
 * 5xx or a 409, the sandbox is looked up by name and adopted when its
 * labels say it is this stack's and has this spec; a foreign one fails the
 * job. A create answered "failed to start" left a sandbox behind: it is
 * recorded and reported, not created again.
 *
 * Secrets: apply_run() resolves every secret the plan's creates need
 * before its first API call; a missing one fails the run with nothing
 * changed. Values live only in the create bodies and are wiped after.
 *
 * A job that stopped its sandbox itself (a resize that needs it stopped)
 * and then fails starts it back before reporting the failure. A resize
 * answered 404 (resize disabled for the organization) is remembered in
 * the state, so the next plan replaces instead.
 *
 * Signals: apply_request_stop() (async-signal-safe) makes the run start no
 * new call; calls in flight finish and are recorded, and apply_run()
 * returns with the unfinished jobs counted as left ("not started", or "in
 * flight" with the step they stopped at). A job whose calls were all made
 * and that only had waits left counts as done ("not waited for").
 *
 * Ownership: apply_run() borrows the plan, client and store; nothing it
 * returns needs freeing. The output stream is written under a lock by the
 * workers; nothing secret is ever written to it.
 */
#ifndef SF_RECONCILER_APPLY_H
#define SF_RECONCILER_APPLY_H

#include <stdint.h>
#include <stdio.h>

#include "daytona/client.h"
#include "reconciler/plan.h"
#include "manifests/secret.h"
#include "manifests/spec.h"
#include "manifests/spechash.h"
#include "reconciler/create.h"
#include "reconciler/labels.h"
#include "state/store.h"

#define APPLY_DEFAULT_PARALLELISM 16
#define APPLY_MAX_PARALLELISM     256
#define APPLY_DEFAULT_TIMEOUT_MS  (10 * 60 * 1000)
/* Poll interval of the waiter: starts at MIN, grows to MAX while nothing
 * changes, back to MIN when a job starts waiting. */
#define APPLY_POLL_MIN_MS 250
#define APPLY_POLL_MAX_MS 2000
/* Below this many waiting jobs per list page, GET them one by one. */
#define APPLY_LIST_PAGE 200
/* Attempts of one create before giving up (a 429 or lost connection with
 * the name still free). */
#define APPLY_CREATE_ATTEMPTS 6
/* Times a call refused with 409 (transition in flight) is tried again after
 * waiting for the sandbox to settle. */
#define APPLY_CONFLICT_RETRIES 6
/* Other retries of a lifecycle call after a lost connection. */
#define APPLY_CALL_ATTEMPTS 4
/* Backoff between those attempts. */
#define APPLY_RETRY_BASE_MS 300
#define APPLY_RETRY_MAX_MS  5000
/* Sandboxes shown at once in the live TTY progress. */
#define APPLY_TTY_LINES 20
#define APPLY_RENDER_MS 200
/* The stack lock is renewed this often while a run lives. */
#define APPLY_LOCK_RENEW_MS (STORE_LOCK_LEASE_MS / 4)
/* Said of a job done when a stop request skipped its last waits. */
#define APPLY_UNWAITED_NOTE "calls made; not waited for (stop requested)"

enum apply_output {
	APPLY_OUT_QUIET = 0, /* nothing but errors */
	APPLY_OUT_LINES,     /* one line per event (not a TTY) */
	APPLY_OUT_TTY,       /* live lines per sandbox, redrawn */
	APPLY_OUT_JSON,      /* one JSON event per line */
};

struct apply_opts {
	const char *stack;
	int parallelism;    /* 0: APPLY_DEFAULT_PARALLELISM */
	int64_t timeout_ms; /* per sandbox wait; 0: APPLY_DEFAULT_TIMEOUT_MS */
	int64_t poll_min_ms, poll_max_ms; /* 0: the defaults above */
	int64_t run_id;                   /* journal entries name it; 0 none */
	const char *lock_id;              /* renewed while running; NULL none */
	enum apply_output output;
	FILE *out;         /* events; NULL: stdout */
	int color;         /* ANSI colour in TTY/lines output */
	secret_fn resolve; /* secret resolver for create bodies */
	void *resolve_arg;
	const char *command; /* "apply" or "destroy", for messages */
	/* The API base URL, remembered in the state (under
	 * STORE_META_RESIZE_UNAVAILABLE) when a resize answers 404; NULL:
	 * not remembered. */
	const char *api_url;
};

struct apply_stats {
	size_t total;    /* actions */
	size_t done;     /* converged */
	size_t failed;   /* failed (message printed) */
	size_t left;     /* not finished because of a stop request */
	size_t unwaited; /* of done: calls made, the last wait skipped by a
	                  * stop request */
	int64_t elapsed_ms;
	struct dt_stats http; /* the client's counters during the run */
};

/*
 * apply_run: execute every action of p. Returns 0 when the run took place
 * (look at st->failed and st->left for the outcome), or a negative SF_E*
 * code when it could not start (a missing secret: nothing was called).
 */
int apply_run(const struct plan *p, struct dt_client *c, struct store *s,
              const struct apply_opts *o, struct apply_stats *st);

/*
 * apply_recover: resolve the stack's journal entries left open by a run
 * that died. Creates are looked up by name: ours (stack label and the spec
 * the journal names) is recorded, else the entry is closed as not created.
 * Deletes are looked up by id: gone forgets the record. Other calls are
 * closed (the next plan sees the live state). *resolved (may be NULL) gets
 * the number of entries closed. Fails only on a store or API error.
 */
int apply_recover(struct dt_client *c, struct store *s, const char *stack,
                  int64_t run_id, size_t *resolved);

/*
 * apply_check_fresh: for a saved plan, compare every action's fingerprint
 * with the live sandbox (GET by id; creates: the name must be free).
 * Returns 0, or SF_ECONFLICT with a message naming the first sandbox that
 * changed since the plan was made.
 */
int apply_check_fresh(const struct plan *p, struct dt_client *c);

/* apply_request_stop: stop starting calls (async-signal-safe). */
void apply_request_stop(void);
int apply_stop_requested(void);
/* apply_reset_stop: clear the request (tests run several applies). */
void apply_reset_stop(void);

/* apply_detail_json: the journal detail of a create (no secret; exposed
 * for tests): {"spec": hash, "labels": owned labels, "desired": spec}. */
char *apply_detail_json(const struct plan_action *a);

#endif
