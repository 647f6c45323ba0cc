/*
 * apply: run a plan's actions as jobs through one scheduler.
 *
 * Each action becomes a job with a cursor on its steps. A job is in one of
 * a few places at a time: the ready queue (its next step is a call), a
 * worker (the call is in flight), the waiting set (a WAIT step, or a delay
 * before a retry), or finished. Workers take jobs from the ready queue, so
 * at most --parallelism calls are in flight; waiting costs no worker. The
 * poller looks at all waiting jobs each tick: with few of them it GETs each
 * one, with many it walks the stack's label-filtered list once and GETs only
 * the ones the list did not show (the list is eventually consistent and
 * does not carry unlabelled, imported sandboxes).
 *
 * Every mutating call is bracketed by the journal: intent (committed)
 * before, done or failed after. A create's id is recorded the moment it is
 * known, so a kill -9 anywhere leaves either an open intent (resolved by
 * apply_recover() through a lookup by name) or a record.
 *
 * Failures are per job: a job that fails records why and the others go on.
 * Only a stop request (SIGINT/SIGTERM) ends the run early, and then only
 * after the calls in flight have returned and been recorded.
 */
#include "common/base.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "reconciler/apply.h"

#ifdef SF_UNITTEST
#define SF_STATIC
#else
#define SF_STATIC static
#endif

static volatile sig_atomic_t stop_flag;

void
apply_request_stop(void)
{
	stop_flag = 1;
}

int
apply_stop_requested(void)
{
	return stop_flag != 0;
}

void
apply_reset_stop(void)
{
	stop_flag = 0;
}

/* ---- jobs --------------------------------------------------------------- */

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

struct job {
	size_t idx;
	const struct plan_action *act;
	char *id; /* the sandbox the steps act on (a replace changes it) */
	size_t step;
	enum job_state st;
	enum wait_kind wait;
	enum expect expect;
	int64_t t0;         /* monotonic start */
	int64_t wait_t0;    /* when the current wait began */
	int64_t not_before; /* J_DELAY: monotonic time to become ready */
	int conflicts;      /* 409 retries of the current step */
	int attempts;       /* attempts of the current step */
	int started;        /* the start event was emitted */
	int printed;        /* TTY: the final line was printed */
	char *error;
	const char *what;        /* current step, for progress */
	struct dt_sandbox *last; /* last seen (owned) */
	struct create_body create;
	struct strmap create_labels;
	int has_create;
	int64_t pending_jid; /* a create intent whose outcome is unknown */
	int stopped_self;    /* a STEP_STOP of this job took effect */
	int compensating;    /* failed: running the action's start back */
	size_t comp_end;     /* compensation ends before this step */
	char *cause;         /* the failure the compensation follows */
	int unwaited; /* done when a stop request skipped its last waits */
};

struct sched {
	const struct plan *plan;
	struct dt_client *client;
	struct store *store;
	const struct apply_opts *o;
	FILE *out;
	struct job *jobs;
	size_t njobs;
	size_t *queue; /* ring of ready job indexes */
	size_t qhead, qlen;
	size_t nfinished;
	size_t nwaiting; /* J_WAITING + J_DELAY */
	int quit;        /* workers and poller exit */
	pthread_mutex_t mu;
	pthread_cond_t cv_work; /* ready queue or quit */
	pthread_cond_t cv_main; /* a job finished or changed */
	pthread_mutex_t out_mu;
	int64_t t0;
	int64_t poll_ms;
	size_t tty_lines; /* lines of the live region on screen */
	size_t est_pages; /* pages of the last list walk */
};

static int64_t
opt_timeout(const struct sched *s)
{
	return s->o->timeout_ms > 0 ? s->o->timeout_ms
	                            : APPLY_DEFAULT_TIMEOUT_MS;
}

/* ---- output ------------------------------------------------------------- */

static void
emit_json(struct sched *s, const char *event, const struct job *j,
          const char *key, const char *val)
{
	struct buf b = BUF_INIT;
	char ts[SF_ISO8601_LEN + 1];

	time_format_iso(time_now_ms(), ts);
	buf_addstr(&b, "{\"event\":");
	buf_add_json_string(&b, event);
	buf_addstr(&b, ",\"time\":");
	buf_add_json_string(&b, ts);
	if (j) {
		buf_addstr(&b, ",\"name\":");
		buf_add_json_string(&b, j->act->name);
		buf_addstr(&b, ",\"action\":");
		buf_add_json_string(&b, plan_kind_name(j->act->kind));
		if (j->id) {
			buf_addstr(&b, ",\"sandbox_id\":");
			buf_add_json_string(&b, j->id);
		}
		buf_addf(&b, ",\"elapsed_ms\":%lld",
		         (long long)(time_mono_ms() - j->t0));
	}
	if (key) {
		buf_addch(&b, ',');
		buf_add_json_string(&b, key);
		buf_addch(&b, ':');
		buf_add_json_string(&b, val ? val : "");
	}
	buf_addstr(&b, "}\n");
	fputs(buf_cstr(&b), s->out);
	fflush(s->out);
	buf_free(&b);
}

static const char *
col(const struct sched *s, const char *code)
{
	return s->o->color ? code : "";
}

/* event: a job's progress; called with s->mu held (jobs are stable). */
static void
job_event(struct sched *s, struct job *j, const char *event, const char *detail)
{
	double secs = (double)(time_mono_ms() - j->t0) / 1000.0;

	if (s->o->output == APPLY_OUT_QUIET)
		return;
	pthread_mutex_lock(&s->out_mu);
	if (s->o->output == APPLY_OUT_JSON) {
		if (strcmp(event, "progress") == 0)
			emit_json(s, event, j, "step", detail);
		else if (strcmp(event, "error") == 0)
			emit_json(s, event, j, "message", detail);
		else if (strcmp(event, "done") == 0 && detail)
			emit_json(s, event, j, "note", detail);
		else
			emit_json(s, event, j, NULL, NULL);
	} else if (s->o->output == APPLY_OUT_LINES) {
		if (strcmp(event, "done") == 0)
			fprintf(s->out, "%s: %s %s%s%s (%.1fs)%s%s\n",
			        j->act->name, plan_kind_name(j->act->kind),
			        col(s, "\033[32m"), "done", col(s, "\033[0m"),
			        secs, detail ? "; " : "", detail ? detail : "");
		else if (strcmp(event, "error") == 0)
			fprintf(s->out, "%s: %s %sfailed%s (%.1fs): %s\n",
			        j->act->name, plan_kind_name(j->act->kind),
			        col(s, "\033[31m"), col(s, "\033[0m"), secs,
			        detail ? detail : "");
		else if (strcmp(event, "start") == 0)
			fprintf(s->out, "%s: %s...\n", j->act->name,
			        plan_kind_name(j->act->kind));
		fflush(s->out);
	}
	/* APPLY_OUT_TTY: the renderer draws from the job fields. */
	pthread_mutex_unlock(&s->out_mu);
}

/* tty_render: redraw the live region; called with s->mu held. */
static void
tty_render(struct sched *s, int final)
{
	struct buf b = BUF_INIT;
	size_t i, shown = 0, active = 0;
	int64_t now = time_mono_ms();

	if (s->o->output != APPLY_OUT_TTY)
		return;
	pthread_mutex_lock(&s->out_mu);
	/* Move to the top of the region and clear it. */
	if (s->tty_lines > 0)
		buf_addf(&b, "\033[%zuA", s->tty_lines);
	buf_addstr(&b, "\r\033[J");
	/* Finished jobs become permanent lines above the region. */
	for (i = 0; i < s->njobs; i++) {
		struct job *j = &s->jobs[i];
		double secs;

		if (j->printed || (j->st != J_DONE && j->st != J_FAILED &&
		                   !(final && j->st == J_LEFT)))
			continue;
		secs = (double)(now - j->t0) / 1000.0;
		if (j->st == J_DONE)
			buf_addf(&b, "  %s%-6s%s %s (%.1fs)%s%s\n",
			         col(s, "\033[32m"), "ok", col(s, "\033[0m"),
			         j->act->name, secs, j->unwaited ? "; " : "",
			         j->unwaited ? APPLY_UNWAITED_NOTE : "");
		else if (j->st == J_FAILED)
			buf_addf(&b, "  %s%-6s%s %s: %s\n", col(s, "\033[31m"),
			         "failed", col(s, "\033[0m"), j->act->name,
			         j->error ? j->error : "");
		else if (!j->started)
			buf_addf(&b, "  %s%-6s%s %s (not started)\n",
			         col(s, "\033[33m"), "left", col(s, "\033[0m"),
			         j->act->name);
		else
			buf_addf(&b, "  %s%-6s%s %s (in flight, at: %s)\n",
			         col(s, "\033[33m"), "left", col(s, "\033[0m"),
			         j->act->name, j->what ? j->what : "?");
		j->printed = 1;
	}
	s->tty_lines = 0;
	if (!final) {
		for (i = 0; i < s->njobs; i++) {
			struct job *j = &s->jobs[i];

			if (!j->started || j->st == J_DONE ||
			    j->st == J_FAILED || j->st == J_LEFT)
				continue;
			active++;
			if (shown >= APPLY_TTY_LINES)
				continue;
			buf_addf(&b, "  %-6s %s: %s (%.0fs)\n",
			         plan_kind_name(j->act->kind), j->act->name,
			         j->what ? j->what : "queued",
			         (double)(now - j->t0) / 1000.0);
			shown++;
		}
		if (active > shown) {
			buf_addf(&b, "  ... and %zu more\n", active - shown);
			shown++;
		}
		buf_addf(&b, "  [%zu/%zu finished, %.0fs]\n", s->nfinished,
		         s->njobs, (double)(now - s->t0) / 1000.0);
		s->tty_lines = shown + 1;
	}
	fputs(buf_cstr(&b), s->out);
	fflush(s->out);
	pthread_mutex_unlock(&s->out_mu);
	buf_free(&b);
}

/* ---- helpers ------------------------------------------------------------ */

static void
kvs_from_labels(struct strmap *dst, const struct strmap *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		strmap_set(dst, l->v[i].key, l->v[i].value);
}

static char *
labels_json(const struct strmap *l)
{
	cJSON *j = strmap_to_json(l);
	char *txt = cJSON_PrintUnformatted(j);
	char *r = xstrdup(txt ? txt : "{}");

	cJSON_free(txt);
	cJSON_Delete(j);
	return r;
}

char *
apply_detail_json(const struct plan_action *a)
{
	cJSON *j = cJSON_CreateObject();
	char *txt, *r;

	if (a->desired) {
		cJSON_AddStringToObject(j, "spec", a->desired->hash);
		cJSON_AddItemToObject(j, "desired", spec_to_json(a->desired));
	}
	cJSON_AddItemToObject(j, "labels", strmap_to_json(&a->owned_labels));
	txt = cJSON_PrintUnformatted(j);
	r = xstrdup(txt ? txt : "{}");
	cJSON_free(txt);
	cJSON_Delete(j);
	return r;
}

/* sb_is_ours: the live labels name this stack (and this spec if given). */
static int
sb_is_ours(const struct dt_sandbox *sb, const char *stack, const char *spec)
{
	const char *v = strmap_get(&sb->labels, LABEL_STACK);

	if (v == NULL || strcmp(v, stack) != 0)
		return 0;
	if (spec && *spec) {
		v = strmap_get(&sb->labels, LABEL_SPEC);
		if (v == NULL || strcmp(v, spec) != 0)
			return 0;
	}
	return 1;
}

/*
 * put_record: write the state's record for a job's sandbox. sb is what was
 * last seen of it (may be NULL).
 */
static int
put_record(struct store *st, const char *stack, const struct plan_action *a,
           const char *id, const struct dt_sandbox *sb)
{
	struct store_record r;
	char *lj = NULL, *oj = NULL, *aj = NULL;
	cJSON *tmp;
	int rc;

	memset(&r, 0, sizeof(r));
	r.stack = stack;
	r.name = a->name;
	r.sandbox_id = id;
	r.spec_hash = a->desired ? a->desired->hash : NULL;
	lj = labels_json(&a->owned_labels);
	r.labels_json = lj;
	if (sb) {
		tmp = dt_sandbox_to_json(sb);
		oj = cJSON_PrintUnformatted(tmp);
		cJSON_Delete(tmp);
		r.observed_json = oj;
	}
	if (a->desired) {
		tmp = spec_to_json(a->desired);
		aj = cJSON_PrintUnformatted(tmp);
		cJSON_Delete(tmp);
		r.applied_json = aj;
	}
	r.status = STORE_STATUS_ACTIVE;
	rc = store_record_put(st, &r);
	free(lj);
	cJSON_free(oj);
	cJSON_free(aj);
	return rc;
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

/* push_front: a job already under way goes before the ones not started,
 * so started work (a replace's create after its delete) finishes first. */
static void
push_front(struct sched *s, struct job *j)
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
	job_event(s, j, "error", j->error);
}

/* outcome of one step, decided by a worker without the lock */
enum step_out {
	S_NEXT = 0,     /* step done, go on */
	S_WAIT,         /* wait (j->wait), then go on */
	S_RETRY_SETTLE, /* 409: wait until settled, then this step again */
	S_RETRY_LATER,  /* try this step again after a delay */
	S_FAIL,         /* j->error set */
};

static enum step_out fail_with(struct job *j, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static enum step_out
fail_with(struct job *j, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	free(j->error);
	j->error = xvasprintf(fmt, ap);
	va_end(ap);
	return S_FAIL;
}

static void
set_last(struct job *j, struct dt_result *r)
{
	if (r->sandbox) {
		dt_sandbox_free(j->last);
		j->last = r->sandbox;
		r->sandbox = NULL;
	}
}

/* journal helpers: a failing store is a failing job */
static int
jr_intent(struct sched *s, struct job *j, const char *action,
          const char *detail, int64_t *id)
{
	return store_journal_intent(s->store, s->o->run_id, s->o->stack,
	                            j->act->name, action, j->id, detail, id);
}

static const char *
errmsg(void)
{
	const char *m = sf_error_last();

	return *m ? m : "unknown error";
}

/*
 * lookup_name: GET the sandbox by name after an uncertain create.
 * Returns 1 found (r->sandbox set), 0 not found, -1 error.
 */
static int
lookup_name(struct dt_client *c, const char *name, struct dt_result *r)
{
	int rc;

	dt_result_clear(r);
	rc = dt_get(c, name, r);
	if (rc == 0 && r->sandbox)
		return 1;
	if (rc == SF_ENOTFOUND)
		return 0;
	return -1;
}

static enum step_out
step_create(struct sched *s, struct job *j)
{
	struct dt_result r = DT_RESULT_INIT;
	int64_t jid = 0;
	char *detail = NULL;
	enum step_out out = S_FAIL;
	const char *hash = j->act->desired->hash;
	int rc, found;

	/* An intent left open by an attempt whose outcome could not be
	 * learnt is reused: it still says what is being created. */
	detail = apply_detail_json(j->act);
	if (j->pending_jid)
		jid = j->pending_jid;
	else if (jr_intent(s, j, "create", detail, &jid) < 0) {
		out = fail_with(j, "journal: %s", errmsg());
		goto out;
	}
	j->pending_jid = jid;
	rc = dt_create(s->client, &j->create.req, &r);
	if (rc == 0 && r.sandbox && r.sandbox->id) {
		set_last(j, &r);
		free(j->id);
		j->id = xstrdup(j->last->id);
		/* record first: a crash between the two leaves an open
		 * intent (resolved by name), never an untracked sandbox */
		put_record(s->store, s->o->stack, j->act, j->id, j->last);
		store_journal_done(s->store, jid, j->id);
		j->pending_jid = 0;
		j->expect = E_STARTED;
		out = S_NEXT;
		goto out;
	}
	if (rc == 0) {
		/* 2xx without a sandbox: find it by name below */
		sf_error_set(SF_ERROR, "daytona: create answered without a "
		                       "sandbox");
		rc = SF_ERROR;
	}
	if (rc == SF_EINVALID && strstr(errmsg(), "failed to start") == NULL) {
		/* validation: nothing was created */
		store_journal_failed(s->store, jid, errmsg());
		j->pending_jid = 0;
		out = fail_with(j, "create: %s", errmsg());
		goto out;
	}
	if (rc == SF_EAUTH) {
		store_journal_failed(s->store, jid, errmsg());
		j->pending_jid = 0;
		out = fail_with(j, "create: %s", errmsg());
		goto out;
	}
	{
		/* uncertain: a timeout, a dropped connection, a 5xx, a 409, a
		 * 429 or "failed to start". Is it there under our name? */
		char *why = xstrdup(errmsg());
		int failed_start = strstr(why, "failed to start") != NULL;

		found = lookup_name(s->client, j->act->name, &r);
		if (found < 0) {
			/* unknown outcome: the intent stays open, for the
			 * next attempt or the next run's recovery */
			if (++j->attempts >= APPLY_CREATE_ATTEMPTS)
				out = fail_with(
				        j, "create: %s; lookup by name: %s",
				        why, errmsg());
			else
				out = S_RETRY_LATER;
		} else if (found == 1 &&
		           sb_is_ours(r.sandbox, s->o->stack, hash)) {
			set_last(j, &r);
			free(j->id);
			j->id = xstrdup(j->last->id);
			put_record(s->store, s->o->stack, j->act, j->id,
			           j->last);
			store_journal_done(s->store, jid, j->id);
			j->pending_jid = 0;
			log_debug("%s: adopted %s after: %s", j->act->name,
			          j->id, why);
			if (failed_start || dt_state_is_error(j->last->state))
				out = fail_with(
				        j,
				        "created as %s but it failed to start: "
				        "%s (recorded; not created again)",
				        j->id,
				        j->last->error_reason
				                ? j->last->error_reason
				                : why);
			else {
				j->expect = E_STARTED;
				out = S_NEXT;
			}
		} else if (found == 1) {
			store_journal_failed(s->store, jid,
			                     "name held by a foreign sandbox");
			j->pending_jid = 0;
			out = fail_with(
			        j,
			        "the name is taken by sandbox %s, which "
			        "this stack did not create (labels "
			        "differ); not touching it",
			        r.sandbox->id ? r.sandbox->id : "?");
		} else {
			/* not there: the create did not happen */
			store_journal_failed(s->store, jid, why);
			j->pending_jid = 0;
			if (++j->attempts >= APPLY_CREATE_ATTEMPTS)
				out = fail_with(j,
				                "create: %s (after %d "
				                "attempts)",
				                why, j->attempts);
			else
				out = S_RETRY_LATER;
		}
		free(why);
	}
out:
	dt_result_clear(&r);
	free(detail);
	return out;
}

/*
 * remember_resize_unavailable: a resize answered 404 for an existing
 * sandbox: the organization has resize disabled. The state keeps the API
 * URL under STORE_META_RESIZE_UNAVAILABLE, and plan turns the next resize
 * into a replacement.
 */
static void
remember_resize_unavailable(struct sched *s)
{
	if (s->o->api_url == NULL)
		return;
	if (store_meta_set(s->store, STORE_META_RESIZE_UNAVAILABLE,
	                   s->o->api_url) < 0)
		log_warn("remembering that resize is unavailable: %s",
		         errmsg());
}

/* A lifecycle or settings call on j->id. */
static int
do_call(struct sched *s, struct job *j, const struct plan_step *st,
        struct dt_result *r)
{
	struct strmap kv = STRMAP_INIT;
	struct dt_network net;
	int rc = SF_ERROR;

	switch (st->kind) {
	case STEP_DELETE:
		rc = dt_delete(s->client, j->id, r);
		break;
	case STEP_START:
		rc = dt_start(s->client, j->id, r);
		break;
	case STEP_STOP:
		rc = dt_stop(s->client, j->id, 0, r);
		break;
	case STEP_ARCHIVE:
		rc = dt_archive(s->client, j->id, r);
		break;
	case STEP_RECOVER:
		rc = dt_recover(s->client, j->id, r);
		break;
	case STEP_RESIZE:
		rc = dt_resize(s->client, j->id, st->has_cpu ? (int)st->cpu : 0,
		               st->has_memory ? (int)st->memory : 0,
		               st->has_disk ? (int)st->disk : 0, r);
		break;
	case STEP_SET_LABELS:
		kvs_from_labels(&kv, &st->labels);
		rc = dt_set_labels(s->client, j->id, &kv, r);
		strmap_clear(&kv);
		break;
	case STEP_SET_PUBLIC:
		rc = dt_set_public(s->client, j->id, st->value != 0, r);
		break;
	case STEP_SET_AUTOSTOP:
		rc = dt_set_autostop(s->client, j->id, (int)st->value, r);
		break;
	case STEP_SET_AUTOARCHIVE:
		rc = dt_set_autoarchive(s->client, j->id, (int)st->value, r);
		break;
	case STEP_SET_AUTODELETE:
		rc = dt_set_autodelete(s->client, j->id, (int)st->value, r);
		break;
	case STEP_SET_NETWORK:
		memset(&net, 0, sizeof(net));
		net.has_block_all = st->network.has_block_all;
		net.block_all = st->network.block_all;
		net.allow_list = st->network.allow_list;
		net.domain_allow_list = st->network.domain_allow_list;
		rc = dt_set_network(s->client, j->id, &net, r);
		break;
	default:
		rc = sf_error_set(SF_EINVALID, "apply: step '%s' is not a call",
		                  plan_step_name(st->kind));
		break;
	}
	return rc;
}

/*
 * after_uncertain: a lifecycle call whose answer was lost (or refused in a
 * way that may mean it already happened). Look at the sandbox: has the
 * call taken effect? 1 yes, 0 no, -1 lookup failed. Fills j->last.
 */
static int
took_effect(struct sched *s, struct job *j, enum plan_step_kind k)
{
	struct dt_result r = DT_RESULT_INIT;
	enum dt_state st, ds;
	int rc, yes = 0;

	rc = dt_get(s->client, j->id, &r);
	if (rc == SF_ENOTFOUND) {
		dt_result_clear(&r);
		return k == STEP_DELETE || k == STEP_STOP;
	}
	if (rc < 0 || r.sandbox == NULL) {
		dt_result_clear(&r);
		return -1;
	}
	set_last(j, &r);
	st = j->last->state;
	ds = j->last->desired_state;
	switch (k) {
	case STEP_DELETE:
		yes = ds == DT_STATE_DESTROYED || st == DT_STATE_DESTROYING ||
		      st == DT_STATE_DESTROYED;
		break;
	case STEP_STOP:
		yes = ds == DT_STATE_STOPPED || st == DT_STATE_STOPPED ||
		      ds == DT_STATE_DESTROYED;
		break;
	case STEP_ARCHIVE:
		yes = ds == DT_STATE_ARCHIVED || st == DT_STATE_ARCHIVED;
		break;
	case STEP_START:
	case STEP_RECOVER:
		yes = ds == DT_STATE_STARTED || st == DT_STATE_STARTED;
		break;
	default:
		yes = 0;
		break;
	}
	dt_result_clear(&r);
	return yes;
}

/*
 * forget_record: a delete was accepted: the sandbox is being destroyed
 * under a mangled name and is no longer this stack's, so its record goes
 * now (a crash before this is resolved from the journal).
 */
static void
forget_record(struct sched *s, struct job *j)
{
	struct store_record *rec = NULL;

	if (store_record_get(s->store, s->o->stack, j->act->name, &rec) == 0 &&
	    (rec->sandbox_id == NULL || strcmp(rec->sandbox_id, j->id) == 0) &&
	    store_record_delete(s->store, s->o->stack, j->act->name) < 0)
		log_warn("%s: forgetting the record: %s", j->act->name,
		         errmsg());
	store_record_free(rec);
}

static const char *
call_action_name(enum plan_step_kind k)
{
	switch (k) {
	case STEP_SET_LABELS:
		return "labels";
	case STEP_SET_PUBLIC:
		return "public";
	case STEP_SET_AUTOSTOP:
		return "autostop";
	case STEP_SET_AUTOARCHIVE:
		return "autoarchive";
	case STEP_SET_AUTODELETE:
		return "autodelete";
	case STEP_SET_NETWORK:
		return "network";
	default:
		return plan_step_name(k);
	}
}

static enum expect
expect_of(enum plan_step_kind k)
{
	switch (k) {
	case STEP_START:
	case STEP_RECOVER:
		return E_STARTED;
	case STEP_STOP:
		return E_STOPPED;
	case STEP_ARCHIVE:
		return E_ARCHIVED;
	default:
		return E_ANY;
	}
}

static enum step_out
step_call(struct sched *s, struct job *j, const struct plan_step *st)
{
	struct dt_result r = DT_RESULT_INIT;
	int64_t jid = 0;
	char *detail = NULL;
	enum step_out out = S_FAIL;
	int rc, eff;

	if (j->id == NULL) {
		out = fail_with(j, "%s: no sandbox id",
		                plan_step_name(st->kind));
		goto out;
	}
	detail = st->kind == STEP_DELETE
	                 ? NULL
	                 : xasprintf("{\"value\":%lld}", st->value);
	if (jr_intent(s, j, call_action_name(st->kind), detail, &jid) < 0) {
		out = fail_with(j, "journal: %s", errmsg());
		goto out;
	}
	rc = do_call(s, j, st, &r);
	if (rc == 0) {
		set_last(j, &r);
		if (st->kind == STEP_DELETE)
			forget_record(s, j);
		if (st->kind == STEP_STOP)
			j->stopped_self = 1;
		store_journal_done(s->store, jid, j->id);
		j->expect = expect_of(st->kind);
		out = S_NEXT;
		goto out;
	}
	store_journal_failed(s->store, jid, errmsg());
	if (rc == SF_ENOTFOUND && st->kind == STEP_DELETE) {
		forget_record(s, j);
		out = S_NEXT; /* already gone */
		goto out;
	}
	if (rc == SF_ENOTFOUND && st->kind == STEP_RESIZE && r.status == 404) {
		eff = took_effect(s, j, STEP_START); /* does it exist? */
		if (eff >= 0 && j->last) {
			remember_resize_unavailable(s);
			out = fail_with(
			        j, "resize is not available for this "
			           "organization (404); remembered: the next "
			           "plan replaces the sandbox instead");
			goto out;
		}
	}
	if (rc == SF_ECONFLICT) {
		if (++j->conflicts > APPLY_CONFLICT_RETRIES) {
			out = fail_with(j,
			                "%s: %s (still busy after %d "
			                "tries)",
			                plan_step_name(st->kind), errmsg(),
			                j->conflicts);
			goto out;
		}
		out = S_RETRY_SETTLE;
		goto out;
	}
	if (rc == SF_ENET || rc == SF_ERATELIMIT ||
	    (rc == SF_EINVALID &&
	     (st->kind == STEP_STOP || st->kind == STEP_ARCHIVE))) {
		char *why = xstrdup(errmsg());

		eff = took_effect(s, j, st->kind);
		if (eff == 1) {
			if (st->kind == STEP_DELETE)
				forget_record(s, j);
			if (st->kind == STEP_STOP)
				j->stopped_self = 1;
			j->expect = expect_of(st->kind);
			out = S_NEXT;
		} else if (rc != SF_EINVALID &&
		           ++j->attempts < APPLY_CALL_ATTEMPTS) {
			out = S_RETRY_LATER;
		} else {
			out = fail_with(j, "%s: %s", plan_step_name(st->kind),
			                why);
		}
		free(why);
		goto out;
	}
	out = fail_with(j, "%s: %s", plan_step_name(st->kind), errmsg());
out:
	dt_result_clear(&r);
	free(detail);
	return out;
}

/* run_step: one step of j by a worker (no lock held). */
static enum step_out
run_step(struct sched *s, struct job *j)
{
	const struct plan_step *st = &j->act->steps[j->step];

	switch (st->kind) {
	case STEP_CREATE:
		if (!j->has_create)
			return fail_with(j, "create: no desired spec");
		return step_create(s, j);
	case STEP_WAIT_GONE:
		j->wait = W_GONE;
		return S_WAIT;
	case STEP_WAIT_STABLE:
		j->wait = W_SETTLED;
		return S_WAIT;
	default:
		return step_call(s, j, st);
	}
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
	case STEP_RECOVER:
		return "recovering";
	case STEP_RESIZE:
		return "resizing";
	case STEP_SET_LABELS:
		return "setting labels";
	case STEP_SET_PUBLIC:
		return "setting public";
	case STEP_SET_AUTOSTOP:
		return "setting autoStopInterval";
	case STEP_SET_AUTOARCHIVE:
		return "setting autoArchiveInterval";
	case STEP_SET_AUTODELETE:
		return "setting autoDeleteInterval";
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
		job_event(s, j, "error", j->error);
		return;
	}
	if (a->kind == PLAN_DELETE) {
		rc = store_record_delete(s->store, s->o->stack, a->name);
		if (rc < 0 && rc != SF_ENOTFOUND) {
			job_fail(s, j, "state: %s", errmsg());
			return;
		}
	} else if (j->id) {
		rc = put_record(s->store, s->o->stack, a, j->id, j->last);
		if (rc < 0) {
			job_fail(s, j, "state: %s", errmsg());
			return;
		}
	}
	j->what = "done";
	finish(s, j, J_DONE);
	job_event(s, j, "done", j->unwaited ? APPLY_UNWAITED_NOTE : NULL);
}

static void enter_step(struct sched *s, struct job *j);
SF_STATIC int apply_judge(struct job *j, const struct dt_sandbox *sb);

/*
 * start_back_step: the step that starts the sandbox again after j stopped
 * it itself (a resize that needs the sandbox stopped: stop, resize, start
 * back), or j->act->nsteps when there is none to run.
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
 * job_failed: j->error says why a step failed; with s->mu held. A job
 * that stopped its sandbox for a step that then failed first starts it
 * back (the action's own start step and its wait), so a failed resize
 * does not leave a running sandbox down; the failure is reported when
 * that is done (job_complete) or has failed too.
 */
static void
job_failed(struct sched *s, struct job *j)
{
	size_t k = start_back_step(j);
	char *msg;

	if (k < j->act->nsteps && !apply_stop_requested()) {
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
	job_event(s, j, "error", j->error);
}

/* advance: after a step's outcome; with s->mu held. */
static void
advance(struct sched *s, struct job *j, enum step_out out)
{
	int64_t now = time_mono_ms();

	switch (out) {
	case S_FAIL:
		job_failed(s, j);
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
 * stop_job: a stop was requested and j is not in a call; with s->mu held.
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
			job_event(s, j, "progress", j->what);
		if (apply_stop_requested()) {
			stop_job(s, j);
			return;
		}
		if (k != STEP_WAIT_STABLE && k != STEP_WAIT_GONE)
			break;
		j->wait = k == STEP_WAIT_GONE ? W_GONE : W_SETTLED;
		if (j->last == NULL || apply_judge(j, j->last) != 1) {
			if (!j->started) {
				j->started = 1;
				j->t0 = time_mono_ms();
				job_event(s, j, "start", NULL);
			}
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
		push_front(s, j);
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
		if (apply_stop_requested()) {
			finish(s, j, J_LEFT);
			continue;
		}
		if (!j->started) {
			j->started = 1;
			j->t0 = time_mono_ms();
			job_event(s, j, "start", NULL);
		}
		j->st = J_RUNNING;
		j->what = step_label(&j->act->steps[j->step], j->expect);
		pthread_mutex_unlock(&s->mu);
		out = run_step(s, j);
		pthread_mutex_lock(&s->mu);
		advance(s, j, out);
		pthread_cond_broadcast(&s->cv_main);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* ---- the poller --------------------------------------------------------- */

/*
 * judge: is j's wait over, given what is seen (sb; NULL = not found)?
 * Returns 1 over (go on), 0 keep waiting, -1 failed (j->error set).
 */
SF_STATIC int
apply_judge(struct job *j, const struct dt_sandbox *sb)
{
	enum dt_state st, ds;

	if (j->wait == W_GONE)
		return sb == NULL || sb->state == DT_STATE_DESTROYED;
	if (sb == NULL) {
		if (j->expect == E_STOPPED)
			return 1; /* an ephemeral sandbox is deleted by stop */
		free(j->error);
		j->error = xasprintf("sandbox %s disappeared while waiting",
		                     j->id ? j->id : "?");
		return -1;
	}
	st = sb->state;
	ds = sb->desired_state;
	if (dt_state_is_error(st)) {
		if (j->expect == E_ANY &&
		    j->act->steps[j->step].kind == STEP_WAIT_STABLE &&
		    j->step + 1 < j->act->nsteps &&
		    (j->act->steps[j->step + 1].kind == STEP_DELETE ||
		     j->act->steps[j->step + 1].kind == STEP_RECOVER))
			return 1; /* settled in error: delete or recover next */
		free(j->error);
		j->error = xasprintf("sandbox %s is in state %s: %s",
		                     sb->id ? sb->id : "?", dt_state_name(st),
		                     sb->error_reason ? sb->error_reason
		                                      : "no reason given");
		return -1;
	}
	if (st == DT_STATE_DESTROYED || st == DT_STATE_DESTROYING) {
		if (j->expect == E_STOPPED)
			return 1;
		free(j->error);
		j->error = xasprintf("sandbox %s is being deleted",
		                     sb->id ? sb->id : "?");
		return -1;
	}
	if (!dt_state_is_stable(st))
		return 0;
	if (ds != DT_STATE_NONE && ds != st)
		return 0; /* e.g. archived with desiredState started */
	switch (j->expect) {
	case E_STARTED:
		if (st != DT_STATE_STARTED) {
			free(j->error);
			j->error = xasprintf("sandbox settled in state %s, "
			                     "expected started",
			                     dt_state_name(st));
			return -1;
		}
		return 1;
	case E_STOPPED:
		return st == DT_STATE_STOPPED || st == DT_STATE_ARCHIVED ? 1
		                                                         : 0;
	case E_ARCHIVED:
		return st == DT_STATE_ARCHIVED ? 1 : 0;
	default:
		return 1;
	}
}

static int
cmp_sb_id(const void *a, const void *b)
{
	const struct dt_sandbox *x = *(const struct dt_sandbox *const *)a;
	const struct dt_sandbox *y = *(const struct dt_sandbox *const *)b;

	return strcmp(x->id ? x->id : "", y->id ? y->id : "");
}

static const struct dt_sandbox *
seen_find(const struct dt_sandbox_list *l, const char *id)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(l->items[mid]->id ? l->items[mid]->id : "", id);

		if (c == 0)
			return l->items[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* poll_once: one tick over the waiting jobs. */
static void
poll_once(struct sched *s)
{
	struct dt_sandbox_list l = DT_SANDBOX_LIST_INIT;
	struct strmap filter = STRMAP_INIT;
	struct dt_list_query q;
	size_t i, nwait = 0, pages = 0, *idx = NULL;
	int use_list = 0, listed = 0;
	int64_t now = time_mono_ms();

	pthread_mutex_lock(&s->mu);
	idx = xreallocarray(NULL, s->njobs ? s->njobs : 1, sizeof(*idx));
	for (i = 0; i < s->njobs; i++) {
		struct job *j = &s->jobs[i];

		if (j->st == J_DELAY && now >= j->not_before) {
			s->nwaiting--;
			push_front(s, j);
		} else if (j->st == J_WAITING) {
			idx[nwait++] = i;
		}
	}
	/* list when it costs fewer requests than a GET per waiting job */
	use_list = nwait > 2 && nwait > (s->est_pages ? s->est_pages : 1);
	pthread_mutex_unlock(&s->mu);
	if (nwait == 0 || apply_stop_requested())
		goto out;

	if (use_list) {
		memset(&q, 0, sizeof(q));
		strmap_set(&filter, LABEL_STACK, s->o->stack);
		q.labels = &filter;
		q.sort = "createdAt";
		q.order = "asc";
		q.limit = APPLY_LIST_PAGE;
		if (dt_list_all_into(s->client, &q, &l, &pages) == 0) {
			listed = 1;
			s->est_pages = pages;
			if (l.n > 1)
				qsort(l.items, l.n, sizeof(*l.items),
				      cmp_sb_id);
		} else {
			log_debug("list walk failed: %s", errmsg());
		}
	}
	for (i = 0; i < nwait; i++) {
		struct job *j = &s->jobs[idx[i]];
		struct dt_result r = DT_RESULT_INIT;
		const struct dt_sandbox *sb = NULL;
		struct dt_sandbox *got = NULL;
		int verdict, have = 0, rc;

		if (apply_stop_requested())
			break;
		if (listed && j->id) {
			sb = seen_find(&l, j->id);
			/* absence from a full label walk means gone for a
			 * sandbox that carried our label when it went */
			if (sb || (j->wait == W_GONE && j->last &&
			           sb_is_ours(j->last, s->o->stack, NULL)))
				have = 1;
		}
		if (!have && j->id) {
			rc = dt_get(s->client, j->id, &r);
			if (rc == 0 && r.sandbox) {
				got = r.sandbox;
				r.sandbox = NULL;
				sb = got;
				have = 1;
			} else if (rc == SF_ENOTFOUND) {
				sb = NULL;
				have = 1;
			} else {
				log_debug("%s: poll: %s", j->act->name,
				          errmsg());
			}
			dt_result_clear(&r);
		}
		pthread_mutex_lock(&s->mu);
		if (j->st != J_WAITING) {
			pthread_mutex_unlock(&s->mu);
			dt_sandbox_free(got);
			continue;
		}
		verdict = have ? apply_judge(j, sb) : 0;
		if (have && sb) {
			dt_sandbox_free(j->last);
			j->last = got ? got : dt_sandbox_dup(sb);
			got = NULL;
		}
		if (verdict == 0 &&
		    time_mono_ms() - j->wait_t0 > opt_timeout(s)) {
			free(j->error);
			j->error = xasprintf(
			        "timed out after %llds waiting (state %s)",
			        (long long)(opt_timeout(s) / 1000),
			        j->last ? dt_state_name(j->last->state) : "?");
			verdict = -1;
		}
		if (verdict != 0) {
			s->nwaiting--;
			if (verdict < 0) {
				job_failed(s, j);
			} else if (j->act->steps[j->step].kind ==
			                   STEP_WAIT_STABLE ||
			           j->act->steps[j->step].kind ==
			                   STEP_WAIT_GONE) {
				advance(s, j, S_NEXT);
			} else {
				/* a 409 retry: the same call again */
				push_front(s, j);
			}
			s->poll_ms = 0;
		}
		pthread_cond_broadcast(&s->cv_main);
		pthread_mutex_unlock(&s->mu);
		dt_sandbox_free(got);
	}
out:
	free(idx);
	strmap_clear(&filter);
	dt_sandbox_list_free(&l);
}

/*
 * poller_main: one tick per interval over every waiting job. The interval
 * starts at poll_min and grows by half each tick up to poll_max; a job that
 * starts waiting brings the next tick forward, but never closer than
 * poll_min to the previous one (so a burst of new waiters costs one tick).
 */
static void *
poller_main(void *arg)
{
	struct sched *s = arg;
	int64_t min =
	        s->o->poll_min_ms > 0 ? s->o->poll_min_ms : APPLY_POLL_MIN_MS;
	int64_t max =
	        s->o->poll_max_ms > 0 ? s->o->poll_max_ms : APPLY_POLL_MAX_MS;
	int64_t last_renew = time_mono_ms(), last_poll = 0, interval, due, now;
	struct timespec ts;

	if (max < min)
		max = min;
	interval = min;
	pthread_mutex_lock(&s->mu);
	s->poll_ms = min;
	for (;;) {
		if (s->quit)
			break;
		now = time_mono_ms();
		if (s->poll_ms == 0)
			interval = min; /* nudged: a new waiter */
		due = last_poll + interval;
		if (s->nwaiting == 0 || now < due) {
			int64_t wait = s->nwaiting == 0 ? max : due - now;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += wait / 1000;
			ts.tv_nsec += (long)(wait % 1000) * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&s->cv_main, &s->mu, &ts);
			if (!s->quit && s->o->lock_id &&
			    time_mono_ms() - last_renew > APPLY_LOCK_RENEW_MS) {
				pthread_mutex_unlock(&s->mu);
				if (store_lock_renew(s->store, s->o->lock_id,
				                     0) < 0)
					log_warn("lock renewal failed: %s",
					         errmsg());
				pthread_mutex_lock(&s->mu);
				last_renew = time_mono_ms();
			}
			continue;
		}
		if (apply_stop_requested()) {
			last_poll = now;
			continue;
		}
		s->poll_ms = interval;
		pthread_mutex_unlock(&s->mu);
		poll_once(s);
		pthread_mutex_lock(&s->mu);
		last_poll = time_mono_ms();
		/* back off while nothing moves */
		if (s->poll_ms != 0) {
			interval = interval * 3 / 2;
			if (interval > max)
				interval = max;
		}
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* left_note: say what a stop request left of a job (not on a TTY, where
 * the final render did). */
static void
left_note(struct sched *s, struct job *j)
{
	const char *at = j->what ? j->what : "?";

	if (s->o->output == APPLY_OUT_JSON)
		emit_json(s, "left", j, "step",
		          j->started ? at : "not started");
	else if (s->o->output == APPLY_OUT_LINES && !j->started)
		fprintf(s->out, "%s: %s %sleft%s (not started)\n", j->act->name,
		        plan_kind_name(j->act->kind), col(s, "\033[33m"),
		        col(s, "\033[0m"));
	else if (s->o->output == APPLY_OUT_LINES)
		fprintf(s->out, "%s: %s %sleft%s (in flight, at: %s)\n",
		        j->act->name, plan_kind_name(j->act->kind),
		        col(s, "\033[33m"), col(s, "\033[0m"), at);
}

/* ---- apply_run ---------------------------------------------------------- */

/*
 * prepare: build the create bodies, resolving secrets. Nothing is called
 * yet; a missing secret fails the whole run.
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
		labels_merge(a->desired, s->o->stack, NULL, NULL,
		             &j->create_labels);
		rc = create_body_build(a->desired, &j->create_labels,
		                       s->o->resolve, s->o->resolve_arg,
		                       &j->create);
		if (rc < 0)
			return rc;
		j->has_create = 1;
	}
	return 0;
}

int
apply_run(const struct plan *p, struct dt_client *c, struct store *st,
          const struct apply_opts *o, struct apply_stats *stats)
{
	struct sched s;
	pthread_t *workers = NULL, poller;
	int nworkers = 0, poller_up = 0, rc = 0, i;
	size_t k;
	struct dt_stats before, after;
	struct timespec ts;

	memset(&s, 0, sizeof(s));
	memset(stats, 0, sizeof(*stats));
	s.plan = p;
	s.client = c;
	s.store = st;
	s.o = o;
	s.out = o->out ? o->out : stdout;
	s.njobs = p->nactions;
	s.t0 = time_mono_ms();
	pthread_mutex_init(&s.mu, NULL);
	pthread_mutex_init(&s.out_mu, NULL);
	pthread_cond_init(&s.cv_work, NULL);
	pthread_cond_init(&s.cv_main, NULL);
	stats->total = p->nactions;
	dt_client_stats(c, &before);
	if (s.njobs == 0)
		goto out;
	s.jobs = xcalloc(s.njobs, sizeof(*s.jobs));
	s.queue = xcalloc(s.njobs, sizeof(*s.queue));
	for (k = 0; k < s.njobs; k++) {
		struct job *j = &s.jobs[k];

		j->idx = k;
		j->act = &p->actions[k];
		j->id = p->actions[k].sandbox_id
		                ? xstrdup(p->actions[k].sandbox_id)
		                : NULL;
		j->t0 = s.t0;
	}
	rc = prepare(&s);
	if (rc < 0)
		goto out;
	pthread_mutex_lock(&s.mu);
	for (k = 0; k < s.njobs; k++) {
		if (s.jobs[k].act->nsteps == 0)
			s.jobs[k].started = 1;
		enter_step(&s, &s.jobs[k]);
	}
	pthread_mutex_unlock(&s.mu);

	nworkers =
	        o->parallelism > 0 ? o->parallelism : APPLY_DEFAULT_PARALLELISM;
	if (nworkers > APPLY_MAX_PARALLELISM)
		nworkers = APPLY_MAX_PARALLELISM;
	if ((size_t)nworkers > s.njobs)
		nworkers = (int)s.njobs;
	workers = xcalloc((size_t)nworkers, sizeof(*workers));
	for (i = 0; i < nworkers; i++)
		if (pthread_create(&workers[i], NULL, worker_main, &s) != 0)
			break;
	nworkers = i;
	if (pthread_create(&poller, NULL, poller_main, &s) == 0)
		poller_up = 1;
	if (nworkers == 0 || !poller_up) {
		apply_request_stop();
		log_error("cannot start threads: %s", strerror(errno));
	}

	/* Wait for the end; redraw the live lines meanwhile. */
	pthread_mutex_lock(&s.mu);
	while (s.nfinished < s.njobs) {
		if (apply_stop_requested()) {
			/* nothing new starts: queued jobs are left now,
			 * waiting ones too; running ones finish their call */
			while (s.qlen > 0) {
				struct job *j = &s.jobs[s.queue[s.qhead]];

				s.qhead = (s.qhead + 1) % s.njobs;
				s.qlen--;
				finish(&s, j, J_LEFT);
			}
			for (k = 0; k < s.njobs; k++)
				if (s.jobs[k].st == J_WAITING ||
				    s.jobs[k].st == J_DELAY) {
					s.nwaiting--;
					if (s.jobs[k].st == J_WAITING)
						stop_job(&s, &s.jobs[k]);
					else
						finish(&s, &s.jobs[k], J_LEFT);
				}
			if (s.nfinished >= s.njobs)
				break;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += APPLY_RENDER_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&s.cv_main, &s.mu, &ts);
		tty_render(&s, 0);
	}
	s.quit = 1;
	pthread_cond_broadcast(&s.cv_work);
	pthread_cond_broadcast(&s.cv_main);
	pthread_mutex_unlock(&s.mu);
	for (i = 0; i < nworkers; i++)
		pthread_join(workers[i], NULL);
	if (poller_up)
		pthread_join(poller, NULL);
	pthread_mutex_lock(&s.mu);
	tty_render(&s, 1);
	pthread_mutex_unlock(&s.mu);

	for (k = 0; k < s.njobs; k++) {
		switch (s.jobs[k].st) {
		case J_DONE:
			stats->done++;
			if (s.jobs[k].unwaited)
				stats->unwaited++;
			break;
		case J_FAILED:
			stats->failed++;
			break;
		default:
			stats->left++;
			left_note(&s, &s.jobs[k]);
			break;
		}
	}
out:
	dt_client_stats(c, &after);
	stats->elapsed_ms = time_mono_ms() - s.t0;
	stats->http = after;
	stats->http.requests -= before.requests;
	stats->http.retries -= before.retries;
	stats->http.throttled -= before.throttled;
	stats->http.net_failures -= before.net_failures;
	stats->http.server_errors -= before.server_errors;
	stats->http.paced -= before.paced;
	stats->http.waited_ms -= before.waited_ms;
	for (k = 0; k < s.njobs && s.jobs; k++) {
		struct job *j = &s.jobs[k];

		if (j->has_create)
			create_body_clear(&j->create);
		strmap_clear(&j->create_labels);
		dt_sandbox_free(j->last);
		free(j->id);
		free(j->error);
		free(j->cause);
	}
	free(s.jobs);
	free(s.queue);
	free(workers);
	pthread_cond_destroy(&s.cv_work);
	pthread_cond_destroy(&s.cv_main);
	pthread_mutex_destroy(&s.mu);
	pthread_mutex_destroy(&s.out_mu);
	return rc;
}

/* ---- recovery ----------------------------------------------------------- */

/* recover_create: an open create: is the sandbox there, and ours? */
static int
recover_create(struct dt_client *c, struct store *s, const char *stack,
               const struct store_journal_entry *e)
{
	struct dt_result r = DT_RESULT_INIT;
	struct store_record rec;
	cJSON *d = NULL, *jspec, *jlabels, *jdesired;
	char *lj = NULL, *oj = NULL, *aj = NULL;
	cJSON *tmp;
	const char *hash = NULL;
	int rc, found;

	if (e->detail_json)
		d = cJSON_Parse(e->detail_json);
	jspec = d ? cJSON_GetObjectItemCaseSensitive(d, "spec") : NULL;
	jlabels = d ? cJSON_GetObjectItemCaseSensitive(d, "labels") : NULL;
	jdesired = d ? cJSON_GetObjectItemCaseSensitive(d, "desired") : NULL;
	if (cJSON_IsString(jspec))
		hash = jspec->valuestring;
	found = lookup_name(c, e->name, &r);
	if (found < 0) {
		rc = SF_ENET;
		goto out;
	}
	if (found == 0 || !sb_is_ours(r.sandbox, stack, hash)) {
		rc = store_journal_failed(s, e->id,
		                          found ? "not created: the name "
		                                  "belongs to another sandbox"
		                                : "not created (resolved by "
		                                  "a later run)");
		goto out;
	}
	memset(&rec, 0, sizeof(rec));
	rec.stack = stack;
	rec.name = e->name;
	rec.sandbox_id = r.sandbox->id;
	rec.spec_hash = hash;
	if (jlabels) {
		lj = cJSON_PrintUnformatted(jlabels);
		rec.labels_json = lj;
	}
	if (jdesired) {
		aj = cJSON_PrintUnformatted(jdesired);
		rec.applied_json = aj;
	}
	tmp = dt_sandbox_to_json(r.sandbox);
	oj = cJSON_PrintUnformatted(tmp);
	cJSON_Delete(tmp);
	rec.observed_json = oj;
	rec.status = STORE_STATUS_ACTIVE;
	rc = store_record_put(s, &rec);
	if (rc == 0)
		rc = store_journal_done(s, e->id, r.sandbox->id);
	log_info("recovered %s (%s) created by an interrupted run", e->name,
	         r.sandbox->id);
out:
	cJSON_free(lj);
	cJSON_free(oj);
	cJSON_free(aj);
	cJSON_Delete(d);
	dt_result_clear(&r);
	return rc;
}

static int
recover_delete(struct dt_client *c, struct store *s, const char *stack,
               const struct store_journal_entry *e)
{
	struct dt_result r = DT_RESULT_INIT;
	struct store_record *rec = NULL;
	int rc, gone;

	rc = dt_get(c, e->sandbox_id, &r);
	if (rc < 0 && rc != SF_ENOTFOUND)
		goto out;
	gone = rc == SF_ENOTFOUND ||
	       (r.sandbox && (r.sandbox->state == DT_STATE_DESTROYED ||
	                      r.sandbox->desired_state == DT_STATE_DESTROYED));
	if (gone && store_record_get(s, stack, e->name, &rec) == 0 &&
	    rec->sandbox_id && strcmp(rec->sandbox_id, e->sandbox_id) == 0)
		store_record_delete(s, stack, e->name);
	rc = gone ? store_journal_done(s, e->id, NULL)
	          : store_journal_failed(s, e->id,
	                                 "not deleted (resolved by a later "
	                                 "run)");
out:
	store_record_free(rec);
	dt_result_clear(&r);
	return rc;
}

int
apply_recover(struct dt_client *c, struct store *s, const char *stack,
              int64_t run_id, size_t *resolved)
{
	struct store_journal_list l = { NULL, 0 };
	size_t i, n = 0;
	int rc;

	(void)run_id;
	if (resolved)
		*resolved = 0;
	rc = store_journal_open(s, stack, &l);
	if (rc < 0)
		return rc;
	for (i = 0; i < l.n; i++) {
		const struct store_journal_entry *e = &l.v[i];

		log_debug("open journal entry %lld: %s %s", (long long)e->id,
		          e->action, e->name);
		if (strcmp(e->action, "create") == 0)
			rc = recover_create(c, s, stack, e);
		else if (strcmp(e->action, "delete") == 0 && e->sandbox_id)
			rc = recover_delete(c, s, stack, e);
		else
			rc = store_journal_failed(s, e->id,
			                          "interrupted; the next plan "
			                          "sees the live state");
		if (rc < 0)
			goto out;
		n++;
	}
	rc = 0;
out:
	if (resolved)
		*resolved = n;
	store_journal_list_free(&l);
	return rc;
}

/* ---- saved plans -------------------------------------------------------- */

static char *
fingerprint_of(const struct dt_sandbox *sb)
{
	const char *spec = strmap_get(&sb->labels, LABEL_SPEC);

	return xasprintf("%s|%s|%s", sb->state_raw ? sb->state_raw : "",
	                 sb->updated_at ? sb->updated_at : "",
	                 spec ? spec : "");
}

int
apply_check_fresh(const struct plan *p, struct dt_client *c)
{
	struct dt_sandbox_list l = DT_SANDBOX_LIST_INIT;
	struct strmap filter = STRMAP_INIT;
	struct dt_list_query q;
	size_t i, k;
	int rc = 0;

	memset(&q, 0, sizeof(q));
	strmap_set(&filter, LABEL_STACK, p->stack);
	q.labels = &filter;
	q.sort = "createdAt";
	q.order = "asc";
	q.limit = APPLY_LIST_PAGE;
	rc = dt_list_all_into(c, &q, &l, NULL);
	if (rc < 0)
		goto out;
	if (l.n > 1)
		qsort(l.items, l.n, sizeof(*l.items), cmp_sb_id);
	for (i = 0; i < p->nactions; i++) {
		const struct plan_action *a = &p->actions[i];
		struct dt_result r = DT_RESULT_INIT;
		const struct dt_sandbox *sb = NULL;
		char *fp;

		if (a->sandbox_id == NULL) {
			/* a create: the name must still be free */
			int found = lookup_name(c, a->name, &r);

			dt_result_clear(&r);
			if (found < 0) {
				rc = SF_ENET;
				goto out;
			}
			for (k = 0; k < a->nsteps; k++)
				if (a->steps[k].kind == STEP_DELETE)
					break;
			if (found == 1 && k == a->nsteps) {
				rc = sf_error_set(SF_ECONFLICT,
				                  "saved plan is stale: '%s' "
				                  "exists now; run sandform "
				                  "plan again",
				                  a->name);
				goto out;
			}
			continue;
		}
		sb = seen_find(&l, a->sandbox_id);
		if (sb == NULL) {
			rc = dt_get(c, a->sandbox_id, &r);
			if (rc == SF_ENOTFOUND) {
				dt_result_clear(&r);
				rc = sf_error_set(SF_ECONFLICT,
				                  "saved plan is stale: '%s' "
				                  "(%s) no longer exists; run "
				                  "sandform plan again",
				                  a->name, a->sandbox_id);
				goto out;
			}
			if (rc < 0) {
				dt_result_clear(&r);
				goto out;
			}
			sb = r.sandbox;
		}
		fp = fingerprint_of(sb);
		if (a->fingerprint && *a->fingerprint &&
		    strcmp(fp, a->fingerprint) != 0) {
			log_debug("%s: fingerprint %s, plan has %s", a->name,
			          fp, a->fingerprint);
			free(fp);
			dt_result_clear(&r);
			rc = sf_error_set(SF_ECONFLICT,
			                  "saved plan is stale: '%s' changed "
			                  "since the plan was made; run "
			                  "sandform plan again",
			                  a->name);
			goto out;
		}
		free(fp);
		dt_result_clear(&r);
	}
	rc = 0;
out:
	strmap_clear(&filter);
	dt_sandbox_list_free(&l);
	return rc;
}
