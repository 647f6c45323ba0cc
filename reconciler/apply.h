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
 * Stopping: a per-run cancel token (common/cancel.h, apply_opts.cancel).
 * At SF_CANCEL_STOP the run starts no new call and ends its waits; calls
 * in flight finish and are recorded, and apply_run() returns with the
 * unfinished jobs counted as left ("not started", or "in flight" with the
 * step they stopped at). A job whose calls were all made and that only
 * had waits left counts as done ("not waited for"). At SF_CANCEL_ABORT
 * the HTTP exchanges in flight are aborted too: such a call's outcome is
 * unknown, so its journal entry stays open for apply_recover().
 *
 * The stack lock: with apply_opts.lock_id the run checks every
 * APPLY_LOCK_CHECK_MS and before each mutating call that the lock is
 * still its own, and renews it every APPLY_LOCK_RENEW_MS. A run that lost
 * it (force-unlocked, or its lease ran out and another run took it) stops
 * as above at once, emits APPLY_EV_LOCK_LOST and sets apply_stats.lock_lost.
 *
 * Events: apply_run() prints nothing. It reports through apply_opts.on_event
 * (struct apply_event: a kind and data, no preformatted text), and so do
 * reconcile.h's steps before it (lock wait, recovery); cli/ renders them
 * (live TTY lines, one line per sandbox, NDJSON).
 *
 * Ownership: apply_run() borrows the plan, client, store and token;
 * nothing it returns needs freeing. Event fields point into the run and
 * are valid only during the callback; nothing secret is ever in them.
 */
#ifndef SF_RECONCILER_APPLY_H
#define SF_RECONCILER_APPLY_H

#include <stdint.h>

#include "common/cancel.h"
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
/* A waiting sandbox that walks of recent changes have not shown for this
 * long is looked at with a GET (the list is eventually consistent). */
#define APPLY_UNSEEN_GET_MS 10000
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
/* A run emits APPLY_EV_TICK (live redraws) at least this often. */
#define APPLY_TICK_MS 200
/* The stack lock is renewed this often while a run lives... */
#define APPLY_LOCK_RENEW_MS (STORE_LOCK_LEASE_MS / 4)
/* ...and checked to be still ours this often (and before each call). */
#define APPLY_LOCK_CHECK_MS 1000
/* Said of a job done when a stop request skipped its last waits. */
#define APPLY_UNWAITED_NOTE "calls made; not waited for (stop requested)"

struct apply_stats {
	size_t total;    /* actions */
	size_t done;     /* converged */
	size_t failed;   /* failed (APPLY_EV_FAILED said why) */
	size_t left;     /* not finished because the run stopped */
	size_t unwaited; /* of done: calls made, the last wait skipped by a
	                  * stop request */
	int stopped;     /* the run was stopped (token, or lost lock) */
	int lock_lost;   /* the stack lock was lost: the run stopped */
	int64_t elapsed_ms;
	struct dt_stats http; /* the client's counters during the run */
};

/* What an apply (and the reconcile steps around it) reports. */
enum apply_event_kind {
	APPLY_EV_STARTED = 0,  /* a job began: index, action, step */
	APPLY_EV_STEP,         /* a started job is at a call step: step */
	APPLY_EV_WAITING,      /* a started job waits for a state: step */
	APPLY_EV_DONE,         /* converged: message is a note or NULL */
	APPLY_EV_FAILED,       /* message says why */
	APPLY_EV_LEFT,         /* after the run, per job left: started, step */
	APPLY_EV_RETRY,        /* the client waits wait_ms before a retry */
	APPLY_EV_RATE_LIMITED, /* the client waits wait_ms for bucket */
	APPLY_EV_TICK,         /* every APPLY_TICK_MS or change: redraw */
	APPLY_EV_END,          /* the jobs are over (after the LEFTs) */
	APPLY_EV_SUMMARY,      /* the whole run: stats, recovered, ... */
	APPLY_EV_RECOVERED,    /* recovery resolved `recovered` entries */
	APPLY_EV_LOCK_WAIT,    /* held by holder; waiting up to wait_ms */
	APPLY_EV_LOCK_TAKEN_OVER, /* a stale lock of the stack was taken */
	APPLY_EV_LOCK_BUSY,       /* plan: held by holder; not recording */
	APPLY_EV_LOCK_LOST,       /* not ours any more (holder: the new one or
	                           * NULL when free); the run stops */
	APPLY_EV_KIND_COUNT
};

struct apply_event {
	enum apply_event_kind kind;
	const char *command; /* "apply", "destroy", "plan" */
	const char *stack;
	int64_t time_ms; /* wall clock */
	/* a job's events (STARTED..LEFT; RETRY and RATE_LIMITED when a job
	 * made the call, else action is NULL) */
	size_t index;                     /* of the action in the plan */
	const struct plan_action *action; /* name, kind */
	const char *sandbox_id;           /* may be NULL */
	int64_t elapsed_ms;               /* since the job (TICK: run) began */
	const char *step;    /* the step's label, e.g. "waiting for started" */
	int started;         /* LEFT: the job had begun */
	const char *message; /* FAILED: why; DONE: a note or NULL */
	int unwaited;        /* DONE: a stop skipped the last wait */
	/* RETRY, RATE_LIMITED */
	enum dt_bucket bucket;
	enum dt_wait_reason why;
	int64_t wait_ms; /* also LOCK_WAIT: how long at most */
	/* TICK */
	size_t finished, total;
	/* SUMMARY: the whole run (recovery, refresh and apply) */
	const struct apply_stats *stats;
	size_t recovered; /* also RECOVERED */
	int interrupted;  /* a stop request (signal or lost lock) */
	int executed;     /* 0: there was nothing to do */
	/* LOCK_* */
	const struct store_lock_holder *holder;
};

typedef void (*apply_event_fn)(void *arg, const struct apply_event *ev);

struct apply_opts {
	const char *stack;
	int parallelism;    /* 0: APPLY_DEFAULT_PARALLELISM */
	int64_t timeout_ms; /* per sandbox wait; 0: APPLY_DEFAULT_TIMEOUT_MS */
	int64_t poll_min_ms, poll_max_ms; /* 0: the defaults above */
	int64_t run_id;                   /* journal entries name it; 0 none */
	const char *lock_id; /* checked and renewed while running; NULL none */
	struct sf_cancel *cancel; /* the run's token; NULL: a private one */
	apply_event_fn on_event;  /* NULL: no events */
	void *event_arg;
	secret_fn resolve; /* secret resolver for create bodies */
	void *resolve_arg;
	const char *command; /* "apply" or "destroy", for events */
	/* The API base URL, remembered in the state (under
	 * STORE_META_RESIZE_UNAVAILABLE) when a resize answers 404; NULL:
	 * not remembered. */
	const char *api_url;
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
 * with the live sandbox (GET by id; creates: the name must be free), and
 * check that the stack owns every sandbox the plan touches: its live
 * stack label names the plan's stack, or records (the stack's records:
 * name -> sandbox id) hold it under the same name and id. Returns 0,
 * SF_ECONFLICT naming the first sandbox that changed since the plan was
 * made, or SF_EINVALID naming one the stack does not own.
 */
int apply_check_fresh(const struct plan *p, struct dt_client *c,
                      const struct strmap *records);

/* apply_detail_json: the journal detail of a create (no secret; exposed
 * for tests): {"spec": hash, "labels": owned labels, "desired": spec}. */
char *apply_detail_json(const struct plan_action *a);

#endif
