/*
 * apply-wait: the poller. It looks at all waiting jobs each tick, in the
 * way that costs the fewest requests:
 *  - a GET for each one, when they are few;
 *  - a walk of the stack's recent changes: the label-filtered list with
 *    lastEventAfter at the oldest answer to a waiting job's call (every
 *    state change bumps lastActivityAt, so a transition that ended since
 *    is on it): a page or two however large the stack. What it does not
 *    show has not moved and keeps waiting, without a request, for up to
 *    APPLY_UNSEEN_GET_MS, then gets a GET (the list is eventually
 *    consistent);
 *  - a walk of the whole stack's list, when many jobs wait without such an
 *    answer (e.g. a 409 retry).
 * Sandboxes a list cannot show (unlabelled, imported) and deletions (a
 * list never shows the gone) are looked at with a GET in a walk of
 * recent changes. Waiting costs no worker.
 */
#include "common/base.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "reconciler/apply-int.h"

static int64_t
opt_timeout(const struct sched *s)
{
	return s->o->timeout_ms > 0 ? s->o->timeout_ms
	                            : APPLY_DEFAULT_TIMEOUT_MS;
}

/*
 * judge: is j's wait over, given what is seen (sb; NULL = not found)?
 * Returns 1 over (go on), 0 keep waiting, -1 failed (j->error set).
 */
int
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

int
apply_cmp_sb_id(const void *a, const void *b)
{
	const struct dt_sandbox *x = *(const struct dt_sandbox *const *)a;
	const struct dt_sandbox *y = *(const struct dt_sandbox *const *)b;

	return strcmp(x->id ? x->id : "", y->id ? y->id : "");
}

const struct dt_sandbox *
apply_seen_find(const struct dt_sandbox_list *l, const char *id)
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

/* How a tick looks: what its list walk (if any) can tell. */
enum walk {
	WALK_NONE = 0, /* GETs only */
	WALK_ALL,      /* the whole stack's list */
	WALK_RECENT,   /* the stack's changes since the oldest anchor */
};

/* recent_ok: may j be looked for in a walk of recent changes? It has an
 * anchor, carries our stack label (the walk is label-filtered), and does
 * not wait to be gone (a list never shows the gone). */
static int
recent_ok(const struct sched *s, const struct job *j)
{
	return j->anchor_ms > 0 && j->id && j->wait != W_GONE && j->last &&
	       apply_sb_is_ours(j->last, s->o->stack, NULL);
}

/*
 * look: what is seen of waiting job j: from the list walk l when it shows
 * it (or, after a whole walk, for a sandbox that carried our label, when
 * its absence means gone), else a GET; after a walk of recent changes, a
 * job it may show and did not has not moved: no GET, unless none was seen
 * of it for APPLY_UNSEEN_GET_MS. 1 with *sb set (NULL: gone; *got owns a
 * GET's answer), 0 when nothing could be learnt.
 */
static int
look(struct sched *s, struct job *j, const struct dt_sandbox_list *l,
     enum walk walk, const struct dt_sandbox **sb, struct dt_sandbox **got)
{
	struct dt_result r = DT_RESULT_INIT;
	int rc, have = 0;
	int64_t now = time_mono_ms(), since;

	*sb = NULL;
	*got = NULL;
	if (walk != WALK_NONE && j->id) {
		*sb = apply_seen_find(l, j->id);
		/* absence from a full label walk means gone for a sandbox
		 * that carried our label when it went */
		if (*sb || (walk == WALK_ALL && j->wait == W_GONE && j->last &&
		            apply_sb_is_ours(j->last, s->o->stack, NULL)))
			have = 1;
		since = j->looked_ms > j->wait_t0 ? j->looked_ms : j->wait_t0;
		if (!have && walk == WALK_RECENT && recent_ok(s, j) &&
		    now - since < APPLY_UNSEEN_GET_MS)
			return 0; /* not moved since its call */
	}
	if (!have && j->id) {
		rc = dt_get(s->client, j->id, &r);
		if (rc == 0 && r.sandbox) {
			*got = r.sandbox;
			r.sandbox = NULL;
			*sb = *got;
			have = 1;
		} else if (rc == SF_ENOTFOUND) {
			*sb = NULL;
			have = 1;
		} else {
			log_debug("%s: poll: %s", j->act->name, apply_errmsg());
		}
		dt_result_clear(&r);
	}
	if (have)
		j->looked_ms = now;
	return have;
}

/* settle: judge what was seen of j; with s->mu held. */
static void
settle(struct sched *s, struct job *j, int have, const struct dt_sandbox *sb,
       struct dt_sandbox **got)
{
	int verdict = have ? apply_judge(j, sb) : 0;

	if (have && sb) {
		dt_sandbox_free(j->last);
		j->last = *got ? *got : dt_sandbox_dup(sb);
		*got = NULL;
	}
	if (verdict == 0 && time_mono_ms() - j->wait_t0 > opt_timeout(s)) {
		free(j->error);
		j->error = xasprintf(
		        "timed out after %lld%s waiting (state %s)",
		        (long long)(opt_timeout(s) % 1000
		                            ? opt_timeout(s)
		                            : opt_timeout(s) / 1000),
		        opt_timeout(s) % 1000 ? "ms" : "s",
		        j->last ? dt_state_name(j->last->state) : "?");
		verdict = -1;
	}
	if (verdict == 0)
		return;
	s->nwaiting--;
	if (verdict < 0)
		apply_job_failed(s, j);
	else if (j->act->steps[j->step].kind == STEP_WAIT_STABLE ||
	         j->act->steps[j->step].kind == STEP_WAIT_GONE)
		apply_advance(s, j, S_NEXT);
	else
		apply_push_front(s, j); /* a 409 retry: the same call again */
	s->poll_ms = 0;
}

/* The ids the list walk of a poll looks for, sorted; what it keeps. */
struct want {
	const char **ids;
	size_t n;
	struct dt_sandbox_list *keep;
};

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* keep_wanted: a walk's callback: only the waiting jobs' sandboxes are
 * kept (a walk of a large stack holds a page at a time, not the stack). */
static int
keep_wanted(void *arg, struct dt_sandbox *sb)
{
	struct want *w = arg;

	if (sb->id && w->n &&
	    bsearch(&sb->id, w->ids, w->n, sizeof(*w->ids), cmp_str)) {
		dt_sandbox_list_add(w->keep, sb);
		return 0;
	}
	dt_sandbox_free(sb);
	return 0;
}

/*
 * choose: how this tick looks at the nwait jobs (idx into s->jobs), by
 * the requests each way costs: a GET each; the whole list (the plan's
 * count of pages, then the last walk's) and a GET for what it cannot
 * show; the recent changes (the last such walk's pages, at least one)
 * and a GET for what they cannot show. With s->mu held; *after is the
 * oldest anchor of the jobs a walk of recent changes may show.
 */
static enum walk
choose(const struct sched *s, const size_t *idx, size_t nwait, int64_t *after)
{
	size_t i, nrecent = 0, whole, recent, gets = nwait;

	*after = 0;
	for (i = 0; i < nwait; i++) {
		const struct job *j = &s->jobs[idx[i]];

		if (!recent_ok(s, j))
			continue;
		nrecent++;
		if (*after == 0 || j->anchor_ms < *after)
			*after = j->anchor_ms;
	}
	whole = s->est_pages ? s->est_pages : 1;
	recent = s->est_recent
	                 ? s->est_recent
	                 : (nrecent + APPLY_LIST_PAGE - 1) / APPLY_LIST_PAGE;
	if (recent == 0)
		recent = 1;
	recent += nwait - nrecent;
	if (nrecent > 0 && recent < gets && recent <= whole)
		return WALK_RECENT;
	/* as before walks of recent changes: more than two waiting and
	 * more than a whole walk's pages */
	if (nwait > 2 && nwait > whole)
		return WALK_ALL;
	return WALK_NONE;
}

/* poll_once: one tick over the waiting jobs. */
static void
poll_once(struct sched *s)
{
	struct dt_sandbox_list l = DT_SANDBOX_LIST_INIT;
	struct strmap filter = STRMAP_INIT;
	struct dt_list_query q;
	struct want want = { NULL, 0, &l };
	size_t i, nwait = 0, pages = 0, *idx = NULL;
	enum walk walk = WALK_NONE, listed = WALK_NONE;
	int64_t now = time_mono_ms(), after = 0;
	char iso[SF_ISO8601_LEN + 1];

	pthread_mutex_lock(&s->mu);
	idx = xreallocarray(NULL, s->njobs ? s->njobs : 1, sizeof(*idx));
	for (i = 0; i < s->njobs; i++) {
		struct job *j = &s->jobs[i];

		if (j->st == J_DELAY && now >= j->not_before) {
			s->nwaiting--;
			apply_push_front(s, j);
		} else if (j->st == J_WAITING) {
			idx[nwait++] = i;
		}
	}
	walk = nwait ? choose(s, idx, nwait, &after) : WALK_NONE;
	if (walk != WALK_NONE) {
		want.ids = xcalloc(nwait + 1, sizeof(*want.ids));
		for (i = 0; i < nwait; i++)
			if (s->jobs[idx[i]].id)
				want.ids[want.n++] =
				        xstrdup(s->jobs[idx[i]].id);
	}
	pthread_mutex_unlock(&s->mu);
	if (nwait == 0 || apply_stopping(s))
		goto out;

	if (walk != WALK_NONE) {
		qsort(want.ids, want.n, sizeof(*want.ids), cmp_str);
		memset(&q, 0, sizeof(q));
		strmap_set(&filter, LABEL_STACK, s->o->stack);
		q.labels = &filter;
		q.sort = "createdAt";
		q.order = "asc";
		q.limit = APPLY_LIST_PAGE;
		if (walk == WALK_RECENT) {
			/* a second early: lastActivityAt and the anchor
			 * may be written apart on the server */
			time_format_iso(after - 1000, iso);
			q.last_event_after = iso;
		}
		if (dt_list_all(s->client, &q, keep_wanted, &want, &pages) ==
		    0) {
			listed = walk;
			if (walk == WALK_RECENT)
				s->est_recent = pages;
			else
				s->est_pages = pages;
			if (l.n > 1)
				qsort(l.items, l.n, sizeof(*l.items),
				      apply_cmp_sb_id);
		} else {
			log_debug("list walk failed: %s", apply_errmsg());
		}
	}
	for (i = 0; i < nwait && !apply_stopping(s); i++) {
		struct job *j = &s->jobs[idx[i]];
		const struct dt_sandbox *sb = NULL;
		struct dt_sandbox *got = NULL;
		int have = look(s, j, &l, listed, &sb, &got);

		pthread_mutex_lock(&s->mu);
		if (j->st == J_WAITING)
			settle(s, j, have, sb, &got);
		pthread_cond_broadcast(&s->cv_main);
		pthread_mutex_unlock(&s->mu);
		dt_sandbox_free(got);
	}
out:
	for (i = 0; i < want.n; i++)
		free((char *)want.ids[i]);
	free(want.ids);
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
void *
apply_poller_main(void *arg)
{
	struct sched *s = arg;
	int64_t min =
	        s->o->poll_min_ms > 0 ? s->o->poll_min_ms : APPLY_POLL_MIN_MS;
	int64_t max =
	        s->o->poll_max_ms > 0 ? s->o->poll_max_ms : APPLY_POLL_MAX_MS;
	int64_t last_poll = 0, interval, due, now;
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
			continue;
		}
		if (apply_stopping(s)) {
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
