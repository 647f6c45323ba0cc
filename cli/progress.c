/*
 * progress: the renderers of a run. The live TTY region is redrawn from a
 * model the events keep (one entry per action of the plan), so the core
 * never knows a terminal exists; finished sandboxes become permanent lines
 * above the region. What is printed (and its colours) is what sandform
 * always printed: the e2e tests and scripts read it.
 */
#include "common/base.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "cli/ndjson.h"
#include "cli/progress.h"

enum pj_state { PJ_ACTIVE = 0, PJ_DONE, PJ_FAILED, PJ_LEFT };

struct progress_job {
	char *name;
	enum plan_kind kind;
	int seen; /* any event: t0 is set */
	int started;
	enum pj_state st;
	int printed; /* TTY: the final line is out */
	char *what;
	char *error;
	int unwaited;
	int64_t t0; /* monotonic start of the job */
};

void
progress_init(struct progress *pg, enum progress_mode mode, FILE *out,
              int color, const char *cmd)
{
	memset(pg, 0, sizeof(*pg));
	pg->mode = mode;
	pg->out = out;
	pg->color = color;
	pg->cmd = cmd;
}

void
progress_free(struct progress *pg)
{
	size_t i;

	for (i = 0; i < pg->njobs; i++) {
		free(pg->jobs[i].name);
		free(pg->jobs[i].what);
		free(pg->jobs[i].error);
	}
	free(pg->jobs);
	pg->jobs = NULL;
	pg->njobs = 0;
}

static const char *
col(const struct progress *pg, const char *code)
{
	return pg->color ? code : "";
}

/* job: the model entry of ev's action (grown to ev->total). */
static struct progress_job *
job(struct progress *pg, const struct apply_event *ev)
{
	struct progress_job *j;
	size_t n = ev->total > ev->index ? ev->total : ev->index + 1;

	if (n > pg->njobs) {
		pg->jobs = xreallocarray(pg->jobs, n, sizeof(*pg->jobs));
		memset(pg->jobs + pg->njobs, 0,
		       (n - pg->njobs) * sizeof(*pg->jobs));
		pg->njobs = n;
	}
	j = &pg->jobs[ev->index];
	if (!j->seen) {
		j->seen = 1;
		j->name = xstrdup(ev->action->name);
		j->kind = ev->action->kind;
		j->t0 = time_mono_ms() - ev->elapsed_ms;
	}
	return j;
}

static void
set_str(char **dst, const char *s)
{
	free(*dst);
	*dst = s ? xstrdup(s) : NULL;
}

/* model: what a job event changes in the TTY model. */
static void
model(struct progress *pg, const struct apply_event *ev)
{
	struct progress_job *j = job(pg, ev);

	switch (ev->kind) {
	case APPLY_EV_STARTED:
		j->started = 1;
		j->t0 = time_mono_ms() - ev->elapsed_ms;
		set_str(&j->what, ev->step);
		break;
	case APPLY_EV_STEP:
	case APPLY_EV_WAITING:
		set_str(&j->what, ev->step);
		break;
	case APPLY_EV_DONE:
		j->st = PJ_DONE;
		j->unwaited = ev->unwaited;
		set_str(&j->what, "done");
		break;
	case APPLY_EV_FAILED:
		j->st = PJ_FAILED;
		set_str(&j->error, ev->message);
		break;
	case APPLY_EV_LEFT:
		j->st = PJ_LEFT;
		j->started = ev->started;
		if (ev->step)
			set_str(&j->what, ev->step);
		break;
	default:
		break;
	}
}

/* final_line: a finished job's permanent line. */
static void
final_line(struct progress *pg, struct buf *b, const struct progress_job *j,
           int64_t now)
{
	double secs = (double)(now - j->t0) / 1000.0;

	if (j->st == PJ_DONE)
		buf_addf(b, "  %s%-6s%s %s (%.1fs)%s%s\n", col(pg, "\033[32m"),
		         "ok", col(pg, "\033[0m"), j->name, secs,
		         j->unwaited ? "; " : "",
		         j->unwaited ? APPLY_UNWAITED_NOTE : "");
	else if (j->st == PJ_FAILED)
		buf_addf(b, "  %s%-6s%s %s: %s\n", col(pg, "\033[31m"),
		         "failed", col(pg, "\033[0m"), j->name,
		         j->error ? j->error : "");
	else if (!j->started)
		buf_addf(b, "  %s%-6s%s %s (not started)\n",
		         col(pg, "\033[33m"), "left", col(pg, "\033[0m"),
		         j->name);
	else
		buf_addf(b, "  %s%-6s%s %s (in flight, at: %s)\n",
		         col(pg, "\033[33m"), "left", col(pg, "\033[0m"),
		         j->name, j->what ? j->what : "?");
}

/* live_region: the active jobs, rate-limit waits and the footer. */
static size_t
live_region(struct progress *pg, struct buf *b, const struct apply_event *ev,
            int64_t now)
{
	static const char *const bucket[DT_BUCKET_COUNT] = { "api", "create",
		                                             "lifecycle" };
	size_t i, shown = 0, active = 0;

	for (i = 0; i < pg->njobs; i++) {
		struct progress_job *j = &pg->jobs[i];

		if (!j->started || j->st != PJ_ACTIVE)
			continue;
		active++;
		if (shown >= PROGRESS_TTY_LINES)
			continue;
		buf_addf(b, "  %-6s %s: %s (%.0fs)\n", plan_kind_name(j->kind),
		         j->name, j->what ? j->what : "queued",
		         (double)(now - j->t0) / 1000.0);
		shown++;
	}
	if (active > shown) {
		buf_addf(b, "  ... and %zu more\n", active - shown);
		shown++;
	}
	for (i = 0; i < DT_BUCKET_COUNT; i++)
		if (pg->limited_until[i] > now) {
			buf_addf(b, "  rate limited: %s, next in %llds\n",
			         bucket[i],
			         (long long)(pg->limited_until[i] - now + 999) /
			                 1000);
			shown++;
		}
	buf_addf(b, "  [%zu/%zu finished, %.0fs]\n", ev->finished, ev->total,
	         (double)ev->elapsed_ms / 1000.0);
	return shown + 1;
}

/* tty_render: redraw the live region (final: leave none). */
static void
tty_render(struct progress *pg, const struct apply_event *ev, int final)
{
	struct buf b = BUF_INIT;
	int64_t now = time_mono_ms();
	size_t i;

	/* Move to the top of the region and clear it. */
	if (pg->tty_lines > 0)
		buf_addf(&b, "\033[%zuA", pg->tty_lines);
	buf_addstr(&b, "\r\033[J");
	/* Finished jobs become permanent lines above the region. */
	for (i = 0; i < pg->njobs; i++) {
		struct progress_job *j = &pg->jobs[i];

		if (!j->seen || j->printed || j->st == PJ_ACTIVE ||
		    (j->st == PJ_LEFT && !final))
			continue;
		final_line(pg, &b, j, now);
		j->printed = 1;
	}
	pg->tty_lines = final ? 0 : live_region(pg, &b, ev, now);
	fputs(buf_cstr(&b), pg->out);
	fflush(pg->out);
	buf_free(&b);
}

/* lines: the non-TTY output, one line per start, end and left job. */
static void
lines(struct progress *pg, const struct apply_event *ev)
{
	const char *name = ev->action->name;
	const char *kind = plan_kind_name(ev->action->kind);
	double secs = (double)ev->elapsed_ms / 1000.0;

	switch (ev->kind) {
	case APPLY_EV_STARTED:
		fprintf(pg->out, "%s: %s...\n", name, kind);
		break;
	case APPLY_EV_DONE:
		fprintf(pg->out, "%s: %s %s%s%s (%.1fs)%s%s\n", name, kind,
		        col(pg, "\033[32m"), "done", col(pg, "\033[0m"), secs,
		        ev->message ? "; " : "",
		        ev->message ? ev->message : "");
		break;
	case APPLY_EV_FAILED:
		fprintf(pg->out, "%s: %s %sfailed%s (%.1fs): %s\n", name, kind,
		        col(pg, "\033[31m"), col(pg, "\033[0m"), secs,
		        ev->message ? ev->message : "");
		break;
	case APPLY_EV_LEFT:
		if (!ev->started)
			fprintf(pg->out, "%s: %s %sleft%s (not started)\n",
			        name, kind, col(pg, "\033[33m"),
			        col(pg, "\033[0m"));
		else
			fprintf(pg->out,
			        "%s: %s %sleft%s (in flight, at: %s)\n", name,
			        kind, col(pg, "\033[33m"), col(pg, "\033[0m"),
			        ev->step ? ev->step : "?");
		break;
	default:
		return;
	}
	fflush(pg->out);
}

/* wait_line: without a terminal, a long wait of a call is said as it
 * starts (the terminal's live region shows it instead). */
static void
wait_line(struct progress *pg, const struct apply_event *ev)
{
	long long secs = (long long)((ev->wait_ms + 999) / 1000);

	if (pg->mode != PROGRESS_LINES || ev->wait_ms < DT_WAIT_NOTICE_MS)
		return;
	if (ev->kind == APPLY_EV_RATE_LIMITED)
		fprintf(pg->out, "%s: waiting %llds: rate limited (%s)\n",
		        ev->action ? ev->action->name : "refresh", secs,
		        dt_bucket_name(ev->bucket));
	else
		fprintf(pg->out, "%s: waiting %llds to retry (%s)\n",
		        ev->action ? ev->action->name : "refresh", secs,
		        ev->step ? ev->step : "a failed call");
	fflush(pg->out);
}

/* summary_human: the closing lines of a run that executed a plan. */
static void
summary_human(struct progress *pg, const struct apply_event *ev)
{
	const struct apply_stats *st = ev->stats;
	FILE *fp = pg->out;

	fprintf(fp, "\n%s %s: %zu of %zu done, %zu failed",
	        strcmp(ev->command, "destroy") == 0 ? "Destroy" : "Apply",
	        st->failed || st->left ? "incomplete" : "complete", st->done,
	        st->total, st->failed);
	if (st->left)
		fprintf(fp, ", %zu left", st->left);
	if (ev->recovered)
		fprintf(fp, "; recovered %zu interrupted action%s",
		        ev->recovered, ev->recovered == 1 ? "" : "s");
	fprintf(fp, " in %.1fs (%llu API requests)\n",
	        (double)st->elapsed_ms / 1000.0,
	        (unsigned long long)st->http.requests);
	if (st->unwaited)
		fprintf(fp,
		        "%zu %s made all %s calls; a stop request skipped the "
		        "last wait\n",
		        st->unwaited, st->unwaited == 1 ? "action" : "actions",
		        st->unwaited == 1 ? "its" : "their");
	if (st->left)
		fprintf(fp,
		        "%zu %s left unfinished by the stop request; run "
		        "'sandform %s' again to finish\n",
		        st->left, st->left == 1 ? "action was" : "actions were",
		        ev->command);
	fflush(fp);
}

static void
summary(struct progress *pg, const struct apply_event *ev)
{
	if (pg->mode == PROGRESS_JSON)
		ndjson_summary(pg->out, ev);
	else if (ev->executed)
		summary_human(pg, ev);
	else if (ev->recovered) {
		fprintf(pg->out,
		        "Recovered %zu interrupted action%s in %.1fs (%llu API "
		        "requests); nothing else to do.\n",
		        ev->recovered, ev->recovered == 1 ? "" : "s",
		        (double)ev->stats->elapsed_ms / 1000.0,
		        (unsigned long long)ev->stats->http.requests);
		fflush(pg->out);
	}
}

/* lock_lost: said at once on stderr; the run stops. */
static void
lock_lost(struct progress *pg, const struct apply_event *ev)
{
	const struct store_lock_holder *h = ev->holder;

	if (h)
		fprintf(stderr,
		        "\nsandform %s: lost the stack lock of stack '%s': "
		        "it is now held by pid %ld on %s (%s), lock %s; "
		        "stopping: no new calls; waiting for the calls in "
		        "flight\n",
		        pg->cmd, ev->stack, h->pid, h->host, h->info, h->id);
	else
		fprintf(stderr,
		        "\nsandform %s: lost the stack lock of stack '%s': it "
		        "was released (force-unlock?); stopping: no new "
		        "calls; waiting for the calls in flight\n",
		        pg->cmd, ev->stack);
}

/* around: the events before and around the jobs, on stderr. */
static void
around(struct progress *pg, const struct apply_event *ev)
{
	const struct store_lock_holder *h = ev->holder;

	switch (ev->kind) {
	case APPLY_EV_LOCK_WAIT:
		fprintf(stderr,
		        "sandform %s: stack '%s' is locked by pid %ld on %s; "
		        "waiting up to %s\n",
		        pg->cmd, ev->stack, h->pid, h->host,
		        pg->lock_timeout ? pg->lock_timeout : "?");
		break;
	case APPLY_EV_LOCK_TAKEN_OVER:
		fprintf(stderr,
		        "sandform %s: took over a stale lock of stack "
		        "'%s'\n",
		        pg->cmd, ev->stack);
		break;
	case APPLY_EV_LOCK_BUSY:
		log_warn("stack '%s' is locked by %s (pid %ld on %s); "
		         "planning without recording what is seen",
		         ev->stack, h->info, h->pid, h->host);
		break;
	case APPLY_EV_RECOVERED:
		fprintf(stderr,
		        "sandform %s: recovered %zu interrupted action%s left "
		        "in the journal by an earlier run\n",
		        pg->cmd, ev->recovered, ev->recovered == 1 ? "" : "s");
		break;
	case APPLY_EV_LOCK_LOST:
		lock_lost(pg, ev);
		break;
	default:
		break;
	}
}

void
progress_event(void *arg, const struct apply_event *ev)
{
	struct progress *pg = arg;

	switch (ev->kind) {
	case APPLY_EV_STARTED:
	case APPLY_EV_STEP:
	case APPLY_EV_WAITING:
	case APPLY_EV_DONE:
	case APPLY_EV_FAILED:
	case APPLY_EV_LEFT:
		if (pg->mode == PROGRESS_JSON)
			ndjson_event(pg->out, ev);
		else if (pg->mode == PROGRESS_LINES)
			lines(pg, ev);
		else if (pg->mode == PROGRESS_TTY)
			model(pg, ev);
		break;
	case APPLY_EV_RATE_LIMITED:
		if (ev->bucket < DT_BUCKET_COUNT)
			pg->limited_until[ev->bucket] =
			        time_mono_ms() + ev->wait_ms;
		wait_line(pg, ev);
		break;
	case APPLY_EV_RETRY:
		wait_line(pg, ev);
		break;
	case APPLY_EV_TICK:
		if (pg->mode == PROGRESS_TTY)
			tty_render(pg, ev, 0);
		break;
	case APPLY_EV_END:
		if (pg->mode == PROGRESS_TTY)
			tty_render(pg, ev, 1);
		break;
	case APPLY_EV_SUMMARY:
		summary(pg, ev);
		break;
	default:
		around(pg, ev);
		break;
	}
}
