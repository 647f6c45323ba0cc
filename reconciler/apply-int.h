/*
 * apply-int: what the files of the executor share (reconciler/apply*.c).
 *
 *	apply.c          the scheduler: jobs, the ready queue, workers,
 *	                 events, the stop and the stack lock's watch
 *	apply-steps.c    one step of a job: the calls and their journal
 *	apply-wait.c     the poller: waits for states, one list walk a tick
 *	apply-recover.c  recovery of an interrupted run, saved-plan freshness
 *
 * Only those files and the executor's unit test (tests/unit/test_apply.c)
 * include it.
 *
 * Locking: struct sched's mu guards the jobs, the queue and the counters;
 * a job's fields belong to the worker running its step while it is
 * J_RUNNING. The store and the client have their own locks. Events are
 * emitted with mu held, so the caller's callback sees them one at a time.
 */
#ifndef SF_RECONCILER_APPLY_INT_H
#define SF_RECONCILER_APPLY_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cancel.h"
#include "daytona/client.h"
#include "reconciler/apply.h"
#include "reconciler/plan.h"
#include "manifests/secret.h"
#include "manifests/spec.h"
#include "manifests/spechash.h"
#include "reconciler/create.h"
#include "reconciler/labels.h"
#include "state/store.h"

enum job_state {
	J_READY = 0, /* next step is a call: in the ready queue */
	J_RUNNING,   /* a worker has it */
	J_WAITING,   /* waiting for a state (the poller has it) */
	J_DELAY,     /* waiting until not_before, then ready again */
	J_DONE,
	J_FAILED,
	J_LEFT, /* not finished: a stop was requested */
};

/* What a wait is for; decided by the call that preceded it. */
enum wait_kind {
	W_SETTLED = 0, /* stable and where it is heading, or errored */
	W_GONE,        /* destroyed or 404 */
};

/* What the previous call expects the settled state to be. */
enum expect {
	E_ANY = 0,
	E_STARTED, /* create, start, recover: error is a failure */
	E_STOPPED, /* stop: gone is fine too (ephemeral) */
	E_ARCHIVED,
};

/* outcome of one step, decided by a worker without the lock */
enum step_out {
	S_NEXT = 0,     /* step done, go on */
	S_WAIT,         /* wait (j->wait), then go on */
	S_RETRY_SETTLE, /* 409: wait until settled, then this step again */
	S_RETRY_LATER,  /* try this step again after a delay */
	S_FAIL,         /* j->error set */
	S_STOPPED,      /* not called, or cut short: the run is stopping */
};

/* a create step's body and the labels it points to (create_body_build) */
struct job_create {
	struct strmap labels;
	struct create_body body;
};

/* One a plan action for the whole run (10,000 of them for 10,000
 * creates): the members are ordered so that there are no holes, and the
 * flags are bytes (test_job_is_small). */
struct job {
	size_t idx;
	const struct plan_action *act;
	char *id; /* the sandbox the steps act on (a replace changes it) */
	size_t step;
	enum job_state st;
	enum wait_kind wait;
	enum expect expect;
	int conflicts;              /* 409 retries of the current step */
	int attempts;               /* attempts of the current step */
	unsigned char started;      /* the start event was emitted */
	unsigned char stopped_self; /* a STEP_STOP of this job took effect */
	unsigned char compensating; /* failed: running its start back */
	/* done when a stop request skipped its last waits */
	unsigned char unwaited;
	int64_t t0;         /* monotonic start */
	int64_t wait_t0;    /* when the current wait began */
	int64_t not_before; /* J_DELAY: monotonic time to become ready */
	char *error;
	const char *what;        /* current step, for progress */
	struct dt_sandbox *last; /* last seen (owned) */
	/* the create call's body while a create step needs it: built when
	 * the step first runs (at the start for a spec with secrets, so
	 * that a missing one fails the run before any call), freed once
	 * the create took effect or the job ended; NULL otherwise. A run
	 * of 10,000 creates holds bodies only for those in flight. */
	struct job_create *create;
	int64_t pending_jid; /* a create intent whose outcome is unknown */
	size_t comp_end;     /* compensation ends before this step */
	char *cause;         /* the failure the compensation follows */
	/* server time (ms) of the answer to this job's last call: every
	 * state change after it shows a later lastActivityAt; 0: none */
	int64_t anchor_ms;
	int64_t looked_ms; /* monotonic: when the poller last learnt of it */
};

struct sched {
	const struct plan *plan;
	struct dt_client *client;
	struct store *store;
	const struct apply_opts *o;
	struct sf_cancel *cancel; /* o->cancel, or own_cancel */
	struct sf_cancel own_cancel;
	struct job *jobs;
	size_t njobs;
	size_t *queue; /* ring of ready job indexes */
	size_t qhead, qlen;
	size_t nfinished;
	size_t nwaiting; /* J_WAITING + J_DELAY */
	int quit;        /* workers and poller exit */
	int lock_lost;   /* the stack lock is no longer ours */
	pthread_mutex_t mu;
	pthread_cond_t cv_work; /* ready queue or quit */
	pthread_cond_t cv_main; /* a job finished or changed */
	int64_t t0;
	int64_t poll_ms;
	size_t est_pages;  /* pages of the last list walk */
	size_t est_recent; /* pages of the last walk of recent changes */
};

/* apply.c */
int apply_stopping(const struct sched *s);
void apply_emit(struct sched *s, enum apply_event_kind kind,
                const struct job *j, const char *step, const char *message);
void apply_push_front(struct sched *s, struct job *j);
void apply_advance(struct sched *s, struct job *j, enum step_out out);
void apply_job_failed(struct sched *s, struct job *j);
/* apply_lock_check: 1 while the run holds its lock (or has none), 0 when
 * it was lost (the run is then stopping); no s->mu held. */
int apply_lock_check(struct sched *s);

/* apply-steps.c */
enum step_out apply_run_step(struct sched *s, struct job *j);
/* apply_create_build: j->create from j->act->desired (secrets resolved
 * with s->o->resolve); 0 or the resolver's error. */
int apply_create_build(const struct sched *s, struct job *j);
/* apply_create_free: j->create wiped and freed (NULL is fine). */
void apply_create_free(struct job *j);
int apply_put_record(struct store *st, const char *stack,
                     const struct plan_action *a, const char *id,
                     const struct dt_sandbox *sb);
int apply_sb_is_ours(const struct dt_sandbox *sb, const char *stack,
                     const char *spec);
int apply_lookup_name(struct dt_client *c, const char *name,
                      struct dt_result *r);
const char *apply_errmsg(void);

/* apply-wait.c */
int apply_judge(struct job *j, const struct dt_sandbox *sb);
void *apply_poller_main(void *arg);
int apply_cmp_sb_id(const void *a, const void *b);
const struct dt_sandbox *apply_seen_find(const struct dt_sandbox_list *l,
                                         const char *id);

#endif
