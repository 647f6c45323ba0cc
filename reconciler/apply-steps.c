/*
 * apply-steps: one step of a job, run by a worker without the scheduler's
 * lock: the API call, the journal around it, and what an uncertain answer
 * means.
 *
 * Every mutating call is bracketed by the journal: intent (committed)
 * before, done or failed after. Before each one the run checks that it is
 * not stopping and still holds the stack's lock. A create's id is recorded
 * the moment it is known, so a kill -9 anywhere leaves either an open
 * intent (resolved by apply_recover() through a lookup by name) or a
 * record. A call cut short by the run's cancel token after it was sent
 * keeps its intent open: its outcome is unknown.
 *
 * Create is idempotent by name: after a timeout, a dropped connection, a
 * 5xx or a 409 the sandbox is looked up by name and adopted when its
 * labels say it is this stack's with this spec; a foreign one fails the
 * job.
 */
#include "common/base.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/error.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "reconciler/apply-int.h"

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
int
apply_sb_is_ours(const struct dt_sandbox *sb, const char *stack,
                 const char *spec)
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
int
apply_put_record(struct store *st, const char *stack,
                 const struct plan_action *a, const char *id,
                 const struct dt_sandbox *sb)
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

/* anchor: j's anchor from the answer sb to one of its calls (apply-int.h) */
static void
anchor(struct job *j, const struct dt_sandbox *sb)
{
	if (sb == NULL)
		return;
	j->anchor_ms = sb->updated_at_ms > sb->last_activity_at_ms
	                       ? sb->updated_at_ms
	                       : sb->last_activity_at_ms;
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

/*
 * may_call: 1 when j may make its next mutating call: the run is not
 * stopping and (checked now, one query) still holds the stack's lock.
 */
static int
may_call(struct sched *s)
{
	return !apply_stopping(s) && apply_lock_check(s) && !apply_stopping(s);
}

/*
 * interrupted: a call ended with SF_EINTR (the run is stopping). Sent
 * (r->attempts > 0, e.g. aborted in flight): the outcome is unknown and
 * the intent stays open for the next run's recovery. Not sent: closed.
 */
static enum step_out
interrupted(struct sched *s, int64_t jid, int fresh, const struct dt_result *r)
{
	if (r->attempts == 0 && fresh)
		store_journal_failed(s->store, jid,
		                     "not sent: the run is stopping");
	return S_STOPPED;
}

/* journal helpers: a failing store is a failing job */
static int
jr_intent(struct sched *s, struct job *j, const char *action,
          const char *detail, int64_t *id)
{
	return store_journal_intent(s->store, s->o->run_id, s->o->stack,
	                            j->act->name, action, j->id, detail, id);
}

const char *
apply_errmsg(void)
{
	const char *m = sf_error_last();

	return *m ? m : "unknown error";
}

/*
 * lookup_name: GET the sandbox by name after an uncertain create.
 * Returns 1 found (r->sandbox set), 0 not found, -1 error.
 */
int
apply_lookup_name(struct dt_client *c, const char *name, struct dt_result *r)
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

/* adopt: the created sandbox is in r: record it, close the intent. */
static void
adopt(struct sched *s, struct job *j, int64_t jid, struct dt_result *r)
{
	anchor(j, r->sandbox);
	set_last(j, r);
	free(j->id);
	j->id = xstrdup(j->last->id);
	/* record first: a crash between the two leaves an open intent
	 * (resolved by name), never an untracked sandbox */
	apply_put_record(s->store, s->o->stack, j->act, j->id, j->last);
	store_journal_done(s->store, jid, j->id);
	j->pending_jid = 0;
}

/*
 * create_uncertain: a create answered with a timeout, a dropped
 * connection, a 5xx, a 409, a 429 or "failed to start" (why). Is the
 * sandbox there under our name?
 */
static enum step_out
create_uncertain(struct sched *s, struct job *j, int64_t jid, const char *why)
{
	struct dt_result r = DT_RESULT_INIT;
	const char *hash = j->act->desired->hash;
	int failed_start = strstr(why, "failed to start") != NULL;
	enum step_out out;
	int found;

	found = apply_lookup_name(s->client, j->act->name, &r);
	if (found < 0) {
		/* unknown outcome: the intent stays open, for the next
		 * attempt or the next run's recovery */
		if (apply_stopping(s))
			out = S_STOPPED;
		else if (++j->attempts >= APPLY_CREATE_ATTEMPTS)
			out = fail_with(j, "create: %s; lookup by name: %s",
			                why, apply_errmsg());
		else
			out = S_RETRY_LATER;
	} else if (found == 1 &&
	           apply_sb_is_ours(r.sandbox, s->o->stack, hash)) {
		adopt(s, j, jid, &r);
		log_debug("%s: adopted %s after: %s", j->act->name, j->id, why);
		if (failed_start || dt_state_is_error(j->last->state))
			out = fail_with(j,
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
		out = fail_with(j,
		                "the name is taken by sandbox %s, which this "
		                "stack did not create (labels differ); not "
		                "touching it",
		                r.sandbox->id ? r.sandbox->id : "?");
	} else {
		/* not there: the create did not happen */
		store_journal_failed(s->store, jid, why);
		j->pending_jid = 0;
		if (++j->attempts >= APPLY_CREATE_ATTEMPTS)
			out = fail_with(j, "create: %s (after %d attempts)",
			                why, j->attempts);
		else
			out = S_RETRY_LATER;
	}
	dt_result_clear(&r);
	return out;
}

static enum step_out
step_create(struct sched *s, struct job *j)
{
	struct dt_result r = DT_RESULT_INIT;
	int64_t jid = 0;
	char *detail = NULL, *why = NULL;
	enum step_out out = S_FAIL;
	int rc, fresh = 0;

	if (!may_call(s))
		return S_STOPPED;
	/* An intent left open by an attempt whose outcome could not be
	 * learnt is reused: it still says what is being created. */
	detail = apply_detail_json(j->act);
	if (j->pending_jid)
		jid = j->pending_jid;
	else if (jr_intent(s, j, "create", detail, &jid) < 0) {
		out = fail_with(j, "journal: %s", apply_errmsg());
		goto out;
	} else
		fresh = 1;
	j->pending_jid = jid;
	rc = dt_create(s->client, &j->create->body.req, &r);
	if (rc == 0 && r.sandbox && r.sandbox->id) {
		adopt(s, j, jid, &r);
		j->expect = E_STARTED;
		/* created: nothing sends the body again */
		apply_create_free(j);
		out = S_NEXT;
		goto out;
	}
	if (rc == SF_EINTR) {
		out = interrupted(s, jid, fresh, &r);
		if (r.attempts == 0 && fresh)
			j->pending_jid = 0;
		goto out;
	}
	if (rc == 0) {
		/* 2xx without a sandbox: find it by name below */
		sf_error_set(SF_ERROR, "daytona: create answered without a "
		                       "sandbox");
		rc = SF_ERROR;
	}
	if ((rc == SF_EINVALID &&
	     strstr(apply_errmsg(), "failed to start") == NULL) ||
	    rc == SF_EAUTH) {
		/* validation or auth: nothing was created */
		store_journal_failed(s->store, jid, apply_errmsg());
		j->pending_jid = 0;
		out = fail_with(j, "create: %s", apply_errmsg());
		goto out;
	}
	why = xstrdup(apply_errmsg());
	out = create_uncertain(s, j, jid, why);
out:
	dt_result_clear(&r);
	free(detail);
	free(why);
	return out;
}

/*
 * remember_resize_unavailable: a resize answered 404 for an existing
 * sandbox: the organization has resize disabled. The state keeps the API
 * URL under STORE_META_RESIZE_UNAVAILABLE, and plan turns the next resize
 * into a replacement.
 */
static int
remember_resize_unavailable(struct sched *s)
{
	if (s->o->api_url == NULL)
		return 0;
	return store_meta_set(s->store, STORE_META_RESIZE_UNAVAILABLE,
	                      s->o->api_url);
}

/*
 * pause_checked: POST pause, unless the sandbox is known to be of a class
 * that cannot pause (a new sandbox's class is known only once it exists):
 * then the manifest's state: paused is refused here, with the class.
 */
static int
pause_checked(struct sched *s, struct job *j, struct dt_result *r)
{
	const char *cls = j->last ? j->last->sandbox_class : NULL;

	if (spec_class_can_pause(cls) == 0)
		return sf_error_set(SF_EINVALID,
		                    "state: paused: sandbox class '%s' cannot "
		                    "pause (expected a linux-vm, android or "
		                    "windows sandbox)",
		                    cls);
	return dt_pause(s->client, j->id, r);
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
	case STEP_PAUSE:
		rc = pause_checked(s, j, r);
		break;
	case STEP_SET_TTL:
		rc = dt_set_ttl(s->client, j->id, (int)st->value, r);
		break;
	case STEP_SET_SECRETS:
		rc = dt_set_secrets(s->client, j->id, &st->labels, r);
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
	case STEP_SET_SETTING:
		rc = dt_set_setting(s->client, j->id, st->setting,
		                    (int)st->value, r);
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
		                  plan_step_name(st));
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
	case STEP_PAUSE:
		yes = ds == DT_STATE_PAUSED || st == DT_STATE_PAUSED;
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
		log_debug("%s: forgetting the record: %s", j->act->name,
		          apply_errmsg());
	store_record_free(rec);
}

/* call_action_name: the journal's name of a call ("public", "autostop",
 * the route of a setting). */
static const char *
call_action_name(const struct plan_step *st)
{
	switch (st->kind) {
	case STEP_SET_LABELS:
		return "labels";
	case STEP_SET_SETTING:
		return (unsigned)st->setting < DT_SET_COUNT
		               ? dt_settings[st->setting].route
		               : "setting";
	case STEP_SET_NETWORK:
		return "network";
	case STEP_SET_TTL:
		return "ttl";
	case STEP_SET_SECRETS:
		return "secrets";
	default:
		return plan_step_name(st);
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
		out = fail_with(j, "%s: no sandbox id", plan_step_name(st));
		goto out;
	}
	if (!may_call(s))
		return S_STOPPED;
	detail = st->kind == STEP_DELETE
	                 ? NULL
	                 : xasprintf("{\"value\":%lld}", st->value);
	if (jr_intent(s, j, call_action_name(st), detail, &jid) < 0) {
		out = fail_with(j, "journal: %s", apply_errmsg());
		goto out;
	}
	rc = do_call(s, j, st, &r);
	if (rc == 0) {
		anchor(j, r.sandbox);
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
	if (rc == SF_EINTR) {
		out = interrupted(s, jid, 1, &r);
		goto out;
	}
	store_journal_failed(s->store, jid, apply_errmsg());
	if (rc == SF_ENOTFOUND && st->kind == STEP_DELETE) {
		forget_record(s, j);
		out = S_NEXT; /* already gone */
		goto out;
	}
	if (rc == SF_ENOTFOUND && st->kind == STEP_RESIZE && r.status == 404) {
		eff = took_effect(s, j, STEP_START); /* does it exist? */
		if (eff >= 0 && j->last && remember_resize_unavailable(s) < 0) {
			out = fail_with(j,
			                "resize is not available for this "
			                "organization (404); remembering it "
			                "failed: %s",
			                apply_errmsg());
			goto out;
		}
		if (eff >= 0 && j->last) {
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
			                plan_step_name(st), apply_errmsg(),
			                j->conflicts);
			goto out;
		}
		out = S_RETRY_SETTLE;
		goto out;
	}
	if (rc == SF_ENET || rc == SF_ERATELIMIT ||
	    (rc == SF_EINVALID &&
	     (st->kind == STEP_STOP || st->kind == STEP_ARCHIVE))) {
		char *why = xstrdup(apply_errmsg());

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
			out = fail_with(j, "%s: %s", plan_step_name(st), why);
		}
		free(why);
		goto out;
	}
	out = fail_with(j, "%s: %s", plan_step_name(st), apply_errmsg());
out:
	dt_result_clear(&r);
	free(detail);
	return out;
}

int
apply_create_build(const struct sched *s, struct job *j)
{
	struct job_create *c = xcalloc(1, sizeof(*c));
	int rc;

	labels_merge(j->act->desired, s->o->stack, NULL, NULL, &c->labels);
	rc = create_body_build(j->act->desired, &c->labels, s->o->resolve,
	                       s->o->resolve_arg, &c->body);
	if (rc < 0) {
		strmap_clear(&c->labels);
		free(c);
		return rc;
	}
	j->create = c;
	return 0;
}

void
apply_create_free(struct job *j)
{
	if (j->create == NULL)
		return;
	create_body_clear(&j->create->body);
	strmap_clear(&j->create->labels);
	free(j->create);
	j->create = NULL;
}

/* apply_run_step: one step of j by a worker (no lock held). */
enum step_out
apply_run_step(struct sched *s, struct job *j)
{
	const struct plan_step *st = &j->act->steps[j->step];

	switch (st->kind) {
	case STEP_CREATE:
		if (j->act->desired == NULL)
			return fail_with(j, "create: no desired spec");
		if (j->create == NULL && apply_create_build(s, j) < 0)
			return fail_with(j, "create: %s", apply_errmsg());
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
