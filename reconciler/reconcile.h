/*
 * reconcile: the one pipeline of plan, apply and destroy (and, next, drift
 * and watch): load sources -> open state -> lock -> refresh -> plan, and
 * for apply and destroy the run of the plan.
 *
 *	struct reconcile_opts o = RECONCILE_OPTS_INIT;
 *	struct diag_list diags = DIAG_LIST_INIT;
 *	struct reconcile *r = NULL;
 *	struct plan *p = NULL;
 *
 *	o.command = "apply"; o.mode = RECONCILE_APPLY; o.stack = ...;
 *	rc = reconcile_open(&o, &diags, &r);	// sources, state, client
 *	print(&diags);				// warnings even on success
 *	if (rc < 0 || (rc = reconcile_begin(r)) < 0 ||	// lock, recovery
 *	    (rc = reconcile_plan(r, &p)) < 0)	// refresh, diff
 *		goto out;			// sf_error_last() says why
 *	... show p, ask ...
 *	rc = reconcile_apply(r, p, &stats);	// events, SUMMARY
 *	out:
 *	reconcile_close(r);			// releases the lock
 *
 * The core never prints and never reads argv: failures are negative SF_E*
 * codes with sf_error_last() set once where they happened, manifest
 * problems come back as a struct diag_list, and everything a person
 * watches (lock waits, recovery, per-sandbox progress, the summary) is an
 * event (struct apply_event, reconciler/apply.h) through o.on_event.
 *
 * Cycles: a handle can run several cycles, as watch will (one handle per
 * stack): reconcile_load() again to re-read the sources, then
 * reconcile_begin() -> reconcile_plan() -> [reconcile_apply()] ->
 * reconcile_end() each time; reconcile_end() finishes the run record and
 * releases the lock, so the lock is held only while a cycle applies.
 * drift will be a RECONCILE_PLAN handle that records its findings.
 *
 * Ownership: the handle owns the state, the client, the loaded manifests
 * and specs and the lock; reconcile_close() releases all (NULL-safe). The
 * options' strings and arrays, the token and the diag_list are borrowed
 * and must outlive the handle. Plans returned are the caller's
 * (plan_free()), and their actions borrow the handle's specs (no copy per
 * create): free a plan before reconcile_load() or reconcile_close(),
 * which abort when a plan still borrows the specs they let go of.
 */
#ifndef SF_RECONCILER_RECONCILE_H
#define SF_RECONCILER_RECONCILE_H

#include <stddef.h>
#include <stdint.h>

#include "common/cancel.h"
#include "daytona/client.h"
#include "manifests/diag.h"
#include "manifests/source.h"
#include "reconciler/apply.h"
#include "reconciler/plan.h"
#include "state/store.h"

enum reconcile_mode {
	RECONCILE_PLAN = 0, /* read-only: refresh and plan (plan, drift) */
	RECONCILE_APPLY,    /* converge the stack to the sources */
	RECONCILE_DESTROY,  /* delete every sandbox of the stack */
};

enum reconcile_lock {
	RECONCILE_LOCK_NONE = 0, /* never take the stack's lock */
	/* take it only while refresh records what it saw; when another run
	 * holds it, plan anyway without recording (APPLY_EV_LOCK_BUSY) */
	RECONCILE_LOCK_RECORD,
	/* take it in reconcile_begin() (waiting up to lock_timeout_ms) and
	 * hold it until reconcile_end() */
	RECONCILE_LOCK_HOLD,
};

struct reconcile_opts {
	const char *command; /* "plan", "apply", "destroy": run record, lock
	                      * holder, events */
	enum reconcile_mode mode;
	const char *stack;
	const char *state_path;
	/* The sources: manifest paths ("-" is stdin; none: "."), unless
	 * no_sources (a saved plan; destroy without PATH). */
	const char *const *paths;
	size_t npaths;
	int no_sources;
	/* Sources instead of paths (a git source; the stack file's list),
	 * loaded in order into one set each cycle; borrowed. A git source
	 * gives the run record its source (the URL without credentials)
	 * and git_commit. Their roots never widen the secret policy:
	 * manifests from a repository are not trusted with local files. */
	struct source *const *sources;
	size_t nsources;
	/* more directories secretFile references may read from
	 * (--secret-dir); the roots of the paths always may */
	const char *const *secret_dirs;
	size_t nsecret_dirs;
	const char *api_key_file; /* NULL: $DAYTONA_API_KEY */
	const char *ca_file;      /* NULL: $SSL_CERT_FILE, else the system's */
	int refresh;              /* 0: recorded state only, no API client */
	int show_unmanaged;
	int allow_mass_delete;
	int mass_delete; /* the guard's percent; 0: the default */
	int no_prune;    /* removed manifests keep their sandboxes */
	/* --ignore and the stack file's ignore: differences neither
	 * planned nor corrected (plan_ignore() of plan.h) */
	const char *const *ignore;
	size_t nignore;
	/* --target: only these names; --replace: replace these */
	const char *const *targets;
	size_t ntargets;
	const char *const *replace;
	size_t nreplace;
	enum reconcile_lock lock;
	int64_t lock_timeout_ms; /* LOCK_HOLD: wait this long (0: one try) */
	/* RECONCILE_DESTROY: names to delete despite preventDestroy */
	const char *const *force_destroy;
	size_t nforce;
	const char *source; /* the run record's source; NULL: none */
	/* applying: calls in flight (0: APPLY_DEFAULT_PARALLELISM) and the
	 * wait per sandbox (0: APPLY_DEFAULT_TIMEOUT_MS); any run: no one API
	 * call, its retries included, takes longer than timeout_ms (nor
	 * DT_CALL_TIMEOUT_MS) */
	int parallelism;
	int64_t timeout_ms;
	struct sf_cancel *cancel; /* the run's token; NULL: none */
	apply_event_fn on_event;  /* NULL: no events */
	void *event_arg;
	/* every HTTP exchange's bucket and status (daytona/client.h
	 * dt_count_fn; NULL: not counted) */
	dt_count_fn on_request;
	void *request_arg;
	/* the client's transport and clock (unit tests); NULL: libcurl and
	 * real time */
	const struct dt_transport *transport;
	const struct dt_clock *clock;
};

#define RECONCILE_OPTS_INIT      \
	{                        \
		.command = NULL, \
	}

struct reconcile;

/*
 * reconcile_open: load the sources (their diagnostics, warnings too, are
 * added to *diags; errors fail with SF_EINVALID "N errors in the
 * manifests"), open (or create) the state, hash the specs with its key
 * (secret references resolved for hashing only; a missing one fails
 * naming the sandbox and the reference), and make the API client when
 * refresh is on or the mode changes things.
 */
int reconcile_open(const struct reconcile_opts *o, struct diag_list *diags,
                   struct reconcile **out);
/*
 * reconcile_load: (re)read the sources and rebuild the hashed specs (a
 * watch cycle); reconcile_open() calls it. On failure the previous specs
 * are kept.
 */
int reconcile_load(struct reconcile *r, struct diag_list *diags);
/*
 * reconcile_begin: start a cycle: record the run; with LOCK_HOLD take the
 * lock (APPLY_EV_LOCK_WAIT before waiting, APPLY_EV_LOCK_TAKEN_OVER for a
 * stale one; SF_ELOCKED when still held, reconcile_holder() names the
 * holder; a stop request on the token ends the wait); in APPLY and
 * DESTROY mode resolve what an interrupted run left in the journal
 * (APPLY_EV_RECOVERED when anything was).
 */
int reconcile_begin(struct reconcile *r);
/*
 * reconcile_plan: refresh the stack and diff: plan_build() (PLAN, APPLY)
 * or plan_build_destroy() (DESTROY). Per-name problems are plan errors,
 * not failures. Caller frees *out.
 */
int reconcile_plan(struct reconcile *r, struct plan **out);
/* reconcile_save_plan: write p to path as a saved plan sealed with the
 * state's key (planout_save). */
int reconcile_save_plan(struct reconcile *r, const struct plan *p,
                        const char *path);
/* reconcile_check_saved: a saved plan (planout_load) must carry this
 * state's seal (SF_EINVALID: edited or made elsewhere), touch only
 * sandboxes the stack owns (SF_EINVALID) and still match what is live
 * (apply_check_fresh): SF_ECONFLICT naming the sandbox. */
int reconcile_check_saved(struct reconcile *r, const struct plan *p);
/*
 * reconcile_apply: run p (which must have changes) with the run's token,
 * events and lock. First the lock is renewed: lost while a person read
 * the plan, it fails with SF_ELOCKED and nothing is changed. A run that
 * could not start (a missing secret) fails with nothing changed. Else 0:
 * *st holds the whole cycle's figures (recovery, refresh and apply), an
 * APPLY_EV_SUMMARY was emitted and the run record finished; look at
 * st->failed, st->left and st->lock_lost. DESTROY: when everything was
 * deleted the stack's records are forgotten, but those of volumes and
 * snapshots kept for a sandbox outside the stack, and with --target those
 * not targeted (a failure to is returned).
 */
int reconcile_apply(struct reconcile *r, const struct plan *p,
                    struct apply_stats *st);
/*
 * reconcile_nothing: the plan has no changes: emit a SUMMARY of zero
 * actions (executed 0; recovery and the whole cycle's requests counted),
 * finish the run record "ok"; DESTROY: forget the stack's records as
 * reconcile_apply() does.
 */
void reconcile_nothing(struct reconcile *r);
/* reconcile_finish: finish the cycle's run record with outcome and counts
 * (JSON or NULL), unless already finished. */
void reconcile_finish(struct reconcile *r, const char *outcome,
                      const char *counts_json);
/* reconcile_end: end a cycle: finish the run record ("failed" when
 * nothing else was said) and release the lock if held (a failure is
 * logged). */
void reconcile_end(struct reconcile *r);
void reconcile_close(struct reconcile *r);

/* The lock's holder after SF_ELOCKED from reconcile_begin(), or NULL. */
const struct store_lock_holder *reconcile_holder(const struct reconcile *r);
/* Interrupted actions reconcile_begin() resolved in this cycle. */
size_t reconcile_recovered(const struct reconcile *r);
/* reconcile_revision: the revision the sources last loaded whole at
 * ("main@sha1:<hex>", the first source that has one), or NULL: the one
 * enforced, and the one the run record names. */
const char *reconcile_revision(const struct reconcile *r);
/* reconcile_failed_revision: the revision the last reconcile_load()
 * failed at when it differs from reconcile_revision(), else NULL; the run
 * record's counts name it as "failed_revision". */
const char *reconcile_failed_revision(const struct reconcile *r);
/* The state, for what a command does beyond the pipeline. */
struct store *reconcile_store(struct reconcile *r);
/* reconcile_not_counted: ms of the cycle spent waiting for a person (the
 * confirmation prompt) are left out of its elapsed time. */
void reconcile_not_counted(struct reconcile *r, int64_t ms);
/* The cycle's run record (0: none), e.g. for drift's observations. */
int64_t reconcile_run_id(const struct reconcile *r);

/*
 * reconcile_api_url: the API base URL the client talks to
 * (DAYTONA_API_URL, else Daytona's) without trailing '/', the key of facts
 * the state remembers per API such as STORE_META_RESIZE_UNAVAILABLE
 * (caller frees).
 */
char *reconcile_api_url(void);

#endif
