/*
 * apply: run a plan's actions as jobs through one scheduler.
 *
 * Each action becomes a job with a cursor on its steps. A job is in one of
 * a few places at a time: the ready queue (its next step is a call), a
 * worker (the call is in flight), the waiting set (a WAIT step, or a delay
 * before a retry), or finished. Workers take jobs from the ready queue, so
 * at most --parallelism calls are in flight; waiting costs no worker (the
 * poller of apply-wait.c has it). A step's call is in apply-steps.c.
 *
 * Failures are per job: a job that fails records why and the others go on.
 * Only the run's cancel token (a signal, or the stack lock lost) ends the
 * run early, and then only after the calls in flight have returned and
 * been recorded.
 *
 * Nothing is printed: every change of a job is an event (apply.h) emitted
 * with the scheduler's lock held, so the consumer sees them in order and
 * one at a time; the main thread adds a TICK every APPLY_TICK_MS for live
 * redraws, and the Daytona client's waits (retries, rate limits) come in
 * through its hooks.
 */
#include "common/base.h"

#include <errno.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "reconciler/apply-int.h"

/* The job a worker thread is running a step of (client wait events). */
static _Thread_local struct job *cur_job;

int
apply_stopping(const struct sched *s)
{
	return sf_cancel_level(s->cancel) >= SF_CANCEL_STOP;
}

/* ---- events ------------------------------------------------------------- */

static void
ev_init(const struct sched *s, struct apply_event *ev,
        enum apply_event_kind kind)
{
	memset(ev, 0, sizeof(*ev));
	ev->kind = kind;
	ev->command = s->o->command;
	ev->stack = s->o->stack;
	ev->time_ms = time_now_ms();
	ev->total = s->njobs;
	ev->finished = s->nfinished;
}

/* apply_emit: a job's event (j may be NULL); with s->mu held. */
void
apply_emit(struct sched *s, enum apply_event_kind kind, const struct job *j,
           const char *step, const char *message)
{
	struct apply_event ev;

	if (s->o->on_event == NULL)
		return;
	ev_init(s, &ev, kind);
	if (j) {
		ev.index = j->idx;
		ev.action = j->act;
		ev.sandbox_id = j->id;
		ev.elapsed_ms = time_mono_ms() - j->t0;
		ev.started = j->started;
		ev.unwaited = j->unwaited;
	} else {
		ev.elapsed_ms = time_mono_ms() - s->t0;
	}
	ev.step = step;
	ev.message = message;
	s->o->on_event(s->o->event_arg, &ev);
}

/* on_client_wait: the client is about to sleep (dt_hooks.on_wait); called
 * without s->mu from a worker (cur_job set) or the poller. */
static void
on_client_wait(void *arg, enum dt_bucket bucket, enum dt_wait_reason why,
               int64_t ms)
{
	struct sched *s = arg;
	struct apply_event ev;
	struct job *j = cur_job;

	if (s->o->on_event == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	ev_init(s, &ev,
	        why == DT_WAIT_RETRY ? APPLY_EV_RETRY : APPLY_EV_RATE_LIMITED);
	if (j) {
		ev.index = j->idx;
		ev.action = j->act;
		ev.sandbox_id = j->id;
		ev.elapsed_ms = time_mono_ms() - j->t0;
		ev.started = j->started;
		ev.step = j->what;
	}
	ev.bucket = bucket;
	ev.why = why;
	ev.wait_ms = ms;
	s->o->on_event(s->o->event_arg, &ev);
	pthread_mutex_unlock(&s->mu);
}

/* ---- the stack lock ----------------------------------------------------- */

/* lock_lost: the lock is gone (holder: who has it now, or NULL); stop. */
static void
lock_lost(struct sched *s, const struct store_lock_holder *holder)
{
	struct apply_event ev;

	pthread_mutex_lock(&s->mu);
	if (!s->lock_lost) {
		s->lock_lost = 1;
		sf_cancel_request(s->cancel, SF_CANCEL_STOP);
		if (s->o->on_event) {
			ev_init(s, &ev, APPLY_EV_LOCK_LOST);
			ev.holder = holder;
			ev.elapsed_ms = time_mono_ms() - s->t0;
			s->o->on_event(s->o->event_arg, &ev);
		}
		pthread_cond_broadcast(&s->cv_main);
		pthread_cond_broadcast(&s->cv_work);
	}
	pthread_mutex_unlock(&s->mu);
}

int
apply_lock_check(struct sched *s)
{
	struct store_lock_holder h;
	int rc;

	if (s->o->lock_id == NULL)
		return 1;
	if (s->lock_lost)
		return 0;
	memset(&h, 0, sizeof(h));
	rc = store_lock_get(s->store, s->o->stack, &h);
	if (rc == 0 && strcmp(h.id, s->o->lock_id) == 0)
		return 1;
	if (rc < 0 && rc != SF_ENOTFOUND) {
		/* cannot tell: go on; the next check may */
		log_debug("checking the stack lock: %s", apply_errmsg());
		return 1;
	}
	log_debug("the stack lock %s is no longer ours", s->o->lock_id);
	lock_lost(s, rc == 0 ? &h : NULL);
	return 0;
}

/* lock_watch: from the main loop: check the lock every
 * APPLY_LOCK_CHECK_MS, renew it every APPLY_LOCK_RENEW_MS. */
static void
lock_watch(struct sched *s, int64_t *last_check, int64_t *last_renew)
{
	int64_t now = time_mono_ms();

	if (s->o->lock_id == NULL || s->lock_lost)
		return;
	if (now - *last_renew >= APPLY_LOCK_RENEW_MS) {
		*last_renew = now;
		if (store_lock_renew(s->store, s->o->lock_id, 0) ==
		    SF_ENOTFOUND) {
			apply_lock_check(s);
			return;
		}
	}
	if (now - *last_check >= APPLY_LOCK_CHECK_MS) {
		*last_check = now;
		apply_lock_check(s);
	}
}

/* ---- the scheduler ------------------------------------------------------ */

static void
push_ready(struct sched *s, struct job *j)
{
	j->st = J_READY;
	s->queue[(s->qhead + s->qlen) % s->njobs] = j->idx;
	s->qlen++;
	pthread_cond_signal(&s->cv_work);
}

/* apply_push_front: a job already under way goes before the ones not
 * started, so started work (a replace's create after its delete) finishes
 * first. */
void
apply_push_front(struct sched *s, struct job *j)
{
	j->st = J_READY;
	s->qhead = (s->qhead + s->njobs - 1) % s->njobs;
	s->queue[s->qhead] = j->idx;
	s->qlen++;
	pthread_cond_signal(&s->cv_work);
}

static void
finish(struct sched *s, struct job *j, enum job_state st)
{
	j->st = st;
	s->nfinished++;
	if (s->nfinished == s->njobs)
		pthread_cond_broadcast(&s->cv_work);
	pthread_cond_broadcast(&s->cv_main);
}

static void job_fail(struct sched *s, struct job *j, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* job_fail: with s->mu held. */
static void
job_fail(struct sched *s, struct job *j, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	free(j->error);
	j->error = xvasprintf(fmt, ap);
	va_end(ap);
	finish(s, j, J_FAILED);
	apply_emit(s, APPLY_EV_FAILED, j, NULL, j->error);
}

/* "setting" and each setting's API name, made once from the client's
 * table. */
static char setting_labels[DT_SET_COUNT][48];
static pthread_once_t setting_labels_once = PTHREAD_ONCE_INIT;

static void
setting_labels_init(void)
{
	int i;

	for (i = 0; i < DT_SET_COUNT; i++)
		snprintf(setting_labels[i], sizeof(setting_labels[i]),
		         "setting %s", dt_settings[i].key);
}

static const char *
step_label(const struct plan_step *st, enum expect e)
{
	switch (st->kind) {
	case STEP_CREATE:
		return "creating";
	case STEP_DELETE:
		return "deleting";
	case STEP_WAIT_GONE:
		return "waiting until gone";
	case STEP_WAIT_STABLE:
		switch (e) {
		case E_STARTED:
			return "waiting for started";
		case E_STOPPED:
			return "waiting for stopped";
		case E_ARCHIVED:
			return "waiting for archived";
		default:
			return "waiting to settle";
		}
	case STEP_START:
		return "starting";
	case STEP_STOP:
		return "stopping";
	case STEP_ARCHIVE:
		return "archiving";
	case STEP_PAUSE:
		return "pausing";
	case STEP_SET_TTL:
		return "setting ttlMinutes";
	case STEP_SET_SECRETS:
		return "setting secrets";
	case STEP_RECOVER:
		return "recovering";
	case STEP_RESIZE:
		return "resizing";
	case STEP_SET_LABELS:
		return "setting labels";
	case STEP_SET_SETTING:
		pthread_once(&setting_labels_once, setting_labels_init);
		return (unsigned)st->setting < DT_SET_COUNT
		               ? setting_labels[st->setting]
		               : "setting";
	case STEP_SET_NETWORK:
		return "setting network";
	default:
		return "working";
	}
}

/*
 * job_complete: every step ran: record the outcome. With s->mu held; the
 * store has its own lock.
 */
static void
job_complete(struct sched *s, struct job *j)
{
	const struct plan_action *a = j->act;
	int rc;

	if (j->compensating) {
		/* started back after a failure: the change did not happen,
		 * so the record keeps what was applied before */
		free(j->error);
		j->error = xasprintf("%s; started it again", j->cause);
		finish(s, j, J_FAILED);
		apply_emit(s, APPLY_EV_FAILED, j, NULL, j->error);
		return;
	}
	if (a->kind == PLAN_DELETE) {
		rc = store_record_delete(s->store, s->o->stack, a->name);
		if (rc < 0 && rc != SF_ENOTFOUND) {
			job_fail(s, j, "state: %s", apply_errmsg());
			return;
		}
	} else if (j->id) {
		rc = apply_put_record(s->store, s->o->stack, a, j->id, j->last);
		if (rc < 0) {
			job_fail(s, j, "state: %s", apply_errmsg());
			return;
		}
	}
	j->what = "done";
	finish(s, j, J_DONE);
	apply_emit(s, APPLY_EV_DONE, j, NULL,
	           j->unwaited ? APPLY_UNWAITED_NOTE : NULL);
	/* nothing reads a done job's sandbox, create body or id again: a
	 * run of 10,000 creates holds them for those in flight only */
	apply_create_free(j);
	dt_sandbox_free(j->last);
	j->last = NULL;
	free(j->id);
	j->id = NULL;
}

static void enter_step(struct sched *s, struct job *j);

/*
 * start_back_step: the step that starts the sandbox again after j stopped
 * it itself (a resize that needs it stopped: stop, resize, start back), or
 * j->act->nsteps when there is none to run.
 */
static size_t
start_back_step(const struct job *j)
{
	size_t k;

	if (!j->stopped_self || j->compensating || j->id == NULL)
		return j->act->nsteps;
	for (k = j->step + 1; k < j->act->nsteps; k++)
		if (j->act->steps[k].kind == STEP_START)
			return k;
	return j->act->nsteps;
}

/*
 * apply_job_failed: j->error says why a step failed; with s->mu held. A
 * job that stopped its sandbox for a step that then failed first starts it
 * back (the action's own start step and its wait), so a failed resize
 * does not leave a running sandbox down; the failure is reported when that
 * is done (job_complete) or has failed too.
 */
void
apply_job_failed(struct sched *s, struct job *j)
{
	size_t k = start_back_step(j);
	char *msg;

	if (k < j->act->nsteps && !apply_stopping(s)) {
		j->compensating = 1;
		j->cause = j->error ? j->error : xstrdup("failed");
		j->error = NULL;
		j->step = k;
		j->comp_end = k + 1;
		if (k + 1 < j->act->nsteps &&
		    j->act->steps[k + 1].kind == STEP_WAIT_STABLE)
			j->comp_end = k + 2;
		j->attempts = 0;
		j->conflicts = 0;
		log_debug("%s: %s; starting it again", j->act->name, j->cause);
		enter_step(s, j);
		return;
	}
	if (j->compensating) {
		msg = xasprintf("%s; starting it again failed: %s", j->cause,
		                j->error ? j->error : "unknown error");
		free(j->error);
		j->error = msg;
	} else if (j->stopped_self && k < j->act->nsteps) {
		msg = xasprintf("%s; it is left stopped (stop requested)",
		                j->error ? j->error : "failed");
		free(j->error);
		j->error = msg;
	}
	finish(s, j, J_FAILED);
	apply_emit(s, APPLY_EV_FAILED, j, NULL, j->error);
}

/* apply_advance: after a step's outcome; with s->mu held. */
void
apply_advance(struct sched *s, struct job *j, enum step_out out)
{
	int64_t now = time_mono_ms();

	switch (out) {
	case S_FAIL:
		apply_job_failed(s, j);
		return;
	case S_STOPPED:
		finish(s, j, J_LEFT);
		return;
	case S_WAIT:
		j->st = J_WAITING;
		j->wait_t0 = now;
		s->nwaiting++;
		s->poll_ms = 0; /* look soon */
		return;
	case S_RETRY_SETTLE:
		/* wait until settled, then run the same step again: the
		 * poller re-queues without moving the cursor */
		j->st = J_WAITING;
		j->wait = W_SETTLED;
		j->wait_t0 = now;
		j->expect = E_ANY;
		s->nwaiting++;
		return;
	case S_RETRY_LATER: {
		int64_t d = dt_backoff_ms(j->attempts, APPLY_RETRY_BASE_MS,
		                          APPLY_RETRY_MAX_MS);

		j->st = J_DELAY;
		j->not_before = now + d;
		s->nwaiting++;
		return;
	}
	case S_NEXT:
		j->step++;
		j->attempts = 0;
		j->conflicts = 0;
		enter_step(s, j);
		return;
	}
}

/* only_waits_left: every call of j was made; only waits remain. */
static int
only_waits_left(const struct job *j)
{
	size_t k;

	if (!j->started || j->compensating)
		return 0;
	for (k = j->step; k < j->act->nsteps; k++)
		if (j->act->steps[k].kind != STEP_WAIT_STABLE &&
		    j->act->steps[k].kind != STEP_WAIT_GONE)
			return 0;
	return 1;
}

/*
 * stop_job: the run is stopping and j is not in a call; with s->mu held.
 * A job whose calls all went through is done (recorded, "not waited
 * for"); any other is left.
 */
static void
stop_job(struct sched *s, struct job *j)
{
	if (only_waits_left(j)) {
		j->unwaited = 1;
		job_complete(s, j);
		return;
	}
	finish(s, j, J_LEFT);
}

static int
is_wait(enum plan_step_kind k)
{
	return k == STEP_WAIT_STABLE || k == STEP_WAIT_GONE;
}

/* start: j's first step begins; with s->mu held. */
static void
start(struct sched *s, struct job *j)
{
	j->started = 1;
	j->t0 = time_mono_ms();
	apply_emit(s, APPLY_EV_STARTED, j, j->what, NULL);
}

/*
 * enter_step: j's cursor is on a new step; with s->mu held. A wait needs no
 * worker: it goes to the poller, or is over at once when the last answer
 * already shows the state it waits for.
 */
static void
enter_step(struct sched *s, struct job *j)
{
	enum plan_step_kind k;

	for (;;) {
		if (j->step >= j->act->nsteps ||
		    (j->compensating && j->step >= j->comp_end)) {
			job_complete(s, j);
			return;
		}
		k = j->act->steps[j->step].kind;
		j->what = step_label(&j->act->steps[j->step], j->expect);
		if (j->started)
			apply_emit(s,
			           is_wait(k) ? APPLY_EV_WAITING
			                      : APPLY_EV_STEP,
			           j, j->what, NULL);
		if (apply_stopping(s)) {
			stop_job(s, j);
			return;
		}
		if (!is_wait(k))
			break;
		j->wait = k == STEP_WAIT_GONE ? W_GONE : W_SETTLED;
		if (j->last == NULL || apply_judge(j, j->last) != 1) {
			if (!j->started)
				start(s, j);
			j->st = J_WAITING;
			j->wait_t0 = time_mono_ms();
			s->nwaiting++;
			s->poll_ms = 0; /* look soon */
			pthread_cond_broadcast(&s->cv_main);
			return;
		}
		j->step++; /* the last answer shows it: no need to wait */
	}
	if (j->started)
		apply_push_front(s, j);
	else
		push_ready(s, j);
}

static void *
worker_main(void *arg)
{
	struct sched *s = arg;
	struct job *j;
	enum step_out out;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (!s->quit && s->qlen == 0)
			pthread_cond_wait(&s->cv_work, &s->mu);
		if (s->quit)
			break;
		j = &s->jobs[s->queue[s->qhead]];
		s->qhead = (s->qhead + 1) % s->njobs;
		s->qlen--;
		if (apply_stopping(s)) {
			finish(s, j, J_LEFT);
			continue;
		}
		j->st = J_RUNNING;
		j->what = step_label(&j->act->steps[j->step], j->expect);
		if (!j->started)
			start(s, j);
		pthread_mutex_unlock(&s->mu);
		cur_job = j;
		out = apply_run_step(s, j);
		cur_job = NULL;
		pthread_mutex_lock(&s->mu);
		apply_advance(s, j, out);
		pthread_cond_broadcast(&s->cv_main);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* ---- apply_run ---------------------------------------------------------- */

/* has_secret_env: the spec's env has a secret to resolve */
static int
has_secret_env(const struct spec *sp)
{
	size_t i;

	for (i = 0; i < sp->nenv; i++)
		if (sp->env[i].kind != SPEC_ENV_PLAIN)
			return 1;
	return 0;
}

/*
 * prepare: check that every create has a desired spec and build the
 * bodies that resolve secrets. Nothing is called yet; a missing secret
 * fails the whole run. A body without secrets cannot fail to build: it
 * is built by the create step (apply_run_step), so that a run of 10,000
 * creates does not hold 10,000 bodies from the start.
 */
static int
prepare(struct sched *s)
{
	size_t i, k;
	int rc;

	for (i = 0; i < s->njobs; i++) {
		struct job *j = &s->jobs[i];
		const struct plan_action *a = j->act;

		for (k = 0; k < a->nsteps; k++)
			if (a->steps[k].kind == STEP_CREATE)
				break;
		if (k == a->nsteps)
			continue;
		if (a->desired == NULL)
			return sf_error_set(SF_EINVALID,
			                    "%s: create without a desired spec",
			                    a->name);
		if (!has_secret_env(a->desired))
			continue;
		if ((rc = apply_create_build(s, j)) < 0)
			return rc;
	}
	return 0;
}

/* leave_all: the run is stopping: nothing new starts; queued and waiting
 * jobs are left (or done, when only waits remained); with s->mu held. */
static void
leave_all(struct sched *s)
{
	size_t k;

	while (s->qlen > 0) {
		struct job *j = &s->jobs[s->queue[s->qhead]];

		s->qhead = (s->qhead + 1) % s->njobs;
		s->qlen--;
		finish(s, j, J_LEFT);
	}
	for (k = 0; k < s->njobs; k++)
		if (s->jobs[k].st == J_WAITING || s->jobs[k].st == J_DELAY) {
			s->nwaiting--;
			if (s->jobs[k].st == J_WAITING)
				stop_job(s, &s->jobs[k]);
			else
				finish(s, &s->jobs[k], J_LEFT);
		}
}

/* wait_all: until every job has finished: a TICK per wake-up (a change,
 * or APPLY_TICK_MS), the lock watched; with s->mu held. */
static void
wait_all(struct sched *s)
{
	int64_t last_check = time_mono_ms(), last_renew = last_check;
	struct timespec ts;

	while (s->nfinished < s->njobs) {
		if (apply_stopping(s)) {
			leave_all(s);
			if (s->nfinished >= s->njobs)
				break;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += APPLY_TICK_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&s->cv_main, &s->mu, &ts);
		apply_emit(s, APPLY_EV_TICK, NULL, NULL, NULL);
		pthread_mutex_unlock(&s->mu);
		lock_watch(s, &last_check, &last_renew);
		pthread_mutex_lock(&s->mu);
	}
}

/*
 * one_arena: the threads to come allocate from the main malloc arena.
 * glibc gives threads arenas of their own (up to 8 a core), each keeping
 * the pages its threads once used: at --parallelism 32, 15 arenas of ~460
 * KiB, 7 MiB of RSS for workers that mostly wait on the network, more
 * than the jobs of 10,000 creates (issue 13). One lock for all is cheap
 * here: a step is a few dozen allocations around a call that takes
 * milliseconds to seconds.
 */
static void
one_arena(void)
{
#if defined(__GLIBC__) && defined(M_ARENA_MAX)
	(void)mallopt(M_ARENA_MAX, 1);
#endif
}

/* run_threads: start the workers and the poller, wait for every job, stop
 * the threads. */
static void
run_threads(struct sched *s)
{
	pthread_t *workers = NULL, poller;
	int nworkers, poller_up = 0, i;

	nworkers = s->o->parallelism > 0 ? s->o->parallelism
	                                 : APPLY_DEFAULT_PARALLELISM;
	if (nworkers > APPLY_MAX_PARALLELISM)
		nworkers = APPLY_MAX_PARALLELISM;
	if ((size_t)nworkers > s->njobs)
		nworkers = (int)s->njobs;
	workers = xcalloc((size_t)nworkers, sizeof(*workers));
	one_arena();
	for (i = 0; i < nworkers; i++)
		if (pthread_create(&workers[i], NULL, worker_main, s) != 0)
			break;
	nworkers = i;
	if (pthread_create(&poller, NULL, apply_poller_main, s) == 0)
		poller_up = 1;
	if (nworkers == 0 || !poller_up) {
		sf_cancel_request(s->cancel, SF_CANCEL_STOP);
		log_error("cannot start threads: %s", strerror(errno));
	}
	pthread_mutex_lock(&s->mu);
	wait_all(s);
	s->quit = 1;
	pthread_cond_broadcast(&s->cv_work);
	pthread_cond_broadcast(&s->cv_main);
	pthread_mutex_unlock(&s->mu);
	for (i = 0; i < nworkers; i++)
		pthread_join(workers[i], NULL);
	if (poller_up)
		pthread_join(poller, NULL);
	free(workers);
}

/* tally: the outcome per job into stats; LEFT events for those left,
 * then END. */
static void
tally(struct sched *s, struct apply_stats *stats)
{
	size_t k;

	pthread_mutex_lock(&s->mu);
	for (k = 0; k < s->njobs; k++) {
		struct job *j = &s->jobs[k];

		switch (j->st) {
		case J_DONE:
			stats->done++;
			if (j->unwaited)
				stats->unwaited++;
			break;
		case J_FAILED:
			stats->failed++;
			break;
		default:
			stats->left++;
			apply_emit(s, APPLY_EV_LEFT, j,
			           j->started ? (j->what ? j->what : "?")
			                      : NULL,
			           NULL);
			break;
		}
	}
	apply_emit(s, APPLY_EV_END, NULL, NULL, NULL);
	stats->stopped = apply_stopping(s);
	stats->lock_lost = s->lock_lost;
	pthread_mutex_unlock(&s->mu);
}

static void
stats_since(struct dt_client *c, const struct dt_stats *before,
            struct apply_stats *stats)
{
	struct dt_stats after;

	dt_client_stats(c, &after);
	stats->http = after;
	stats->http.requests -= before->requests;
	stats->http.retries -= before->retries;
	stats->http.throttled -= before->throttled;
	stats->http.net_failures -= before->net_failures;
	stats->http.server_errors -= before->server_errors;
	stats->http.paced -= before->paced;
	stats->http.waited_ms -= before->waited_ms;
}

static void
sched_free(struct sched *s)
{
	size_t k;

	for (k = 0; k < s->njobs && s->jobs; k++) {
		struct job *j = &s->jobs[k];

		apply_create_free(j);
		dt_sandbox_free(j->last);
		free(j->id);
		free(j->error);
		free(j->cause);
	}
	free(s->jobs);
	free(s->queue);
	pthread_cond_destroy(&s->cv_work);
	pthread_cond_destroy(&s->cv_main);
	pthread_mutex_destroy(&s->mu);
}

/*
 * set_demand: tell the client how many creates and lifecycle calls the plan
 * will send, so that the rate-limit budget does not pace a last window the
 * rest of the work fits in (dt_client_set_demand()).
 */
static void
set_demand(struct dt_client *c, const struct plan *p)
{
	long long creates = 0, lifecycle = 0;
	size_t i, k;

	for (i = 0; i < p->nactions; i++)
		for (k = 0; k < p->actions[i].nsteps; k++)
			switch (p->actions[i].steps[k].kind) {
			case STEP_CREATE:
				creates++;
				break;
			case STEP_DELETE:
			case STEP_START:
			case STEP_STOP:
			case STEP_ARCHIVE:
			case STEP_PAUSE:
			case STEP_RECOVER:
			case STEP_RESIZE:
				lifecycle++;
				break;
			default:
				break;
			}
	dt_client_set_demand(c, DT_BUCKET_CREATE, creates);
	dt_client_set_demand(c, DT_BUCKET_LIFECYCLE, lifecycle);
}

int
apply_run(const struct plan *p, struct dt_client *c, struct store *st,
          const struct apply_opts *o, struct apply_stats *stats)
{
	struct sched s;
	struct dt_hooks saved, hooks;
	struct dt_stats before;
	size_t k;
	int rc = 0;

	memset(&s, 0, sizeof(s));
	memset(stats, 0, sizeof(*stats));
	s.plan = p;
	s.client = c;
	s.store = st;
	s.o = o;
	s.cancel = o->cancel ? o->cancel : &s.own_cancel;
	s.njobs = p->nactions;
	s.t0 = time_mono_ms();
	pthread_mutex_init(&s.mu, NULL);
	pthread_cond_init(&s.cv_work, NULL);
	pthread_cond_init(&s.cv_main, NULL);
	stats->total = p->nactions;
	dt_client_stats(c, &before);
	dt_client_get_hooks(c, &saved);
	if (s.njobs == 0)
		goto out;
	s.jobs = xcalloc(s.njobs, sizeof(*s.jobs));
	s.queue = xcalloc(s.njobs, sizeof(*s.queue));
	for (k = 0; k < s.njobs; k++) {
		struct job *j = &s.jobs[k];

		j->idx = k;
		j->act = &p->actions[k];
		j->id = xstrdup_or_null(p->actions[k].sandbox_id);
		j->t0 = s.t0;
	}
	if ((rc = prepare(&s)) < 0)
		goto out;
	/* the pages of a label walk of the stack as the plan saw it (plus
	 * what it creates): waiters are polled by GET until they outnumber
	 * them, rather than walking the stack again to learn of a few */
	s.est_pages = (p->managed + p->summary.create + APPLY_LIST_PAGE - 1) /
	              APPLY_LIST_PAGE;
	set_demand(c, p);
	/* the client's waits end on the token and are reported */
	memset(&hooks, 0, sizeof(hooks));
	hooks.cancel = s.cancel;
	hooks.on_wait = on_client_wait;
	hooks.arg = &s;
	dt_client_set_hooks(c, &hooks);
	pthread_mutex_lock(&s.mu);
	for (k = 0; k < s.njobs; k++) {
		if (s.jobs[k].act->nsteps == 0)
			s.jobs[k].started = 1;
		enter_step(&s, &s.jobs[k]);
	}
	pthread_mutex_unlock(&s.mu);
	run_threads(&s);
	tally(&s, stats);
out:
	dt_client_set_hooks(c, &saved);
	dt_client_set_demand(c, DT_BUCKET_CREATE, -1);
	dt_client_set_demand(c, DT_BUCKET_LIFECYCLE, -1);
	stats_since(c, &before, stats);
	stats->elapsed_ms = time_mono_ms() - s.t0;
	sched_free(&s);
	return rc;
}
