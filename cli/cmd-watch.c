/*
 * sandform watch [PATH... | --git URL ... | STACK-FILE...] [--interval D]
 *                [--jitter P]
 *                [--once] [--detect-only] [--ignore RULE]...
 *                [--metrics-file FILE] [--stack NAME] [-v]
 *
 * The scheduled corrector for one stack (the stack file's, or --stack with
 * PATHs or --git): every interval (with a random jitter of +-P%, default
 * 10) one cycle: read the sources again (a git source fetches; a ref that
 * did not move costs one round trip), plan, and apply what the plan says,
 * or with --detect-only only report it. A revision that fails to fetch,
 * verify or load is not applied: the last good one keeps being enforced and
 * the failure is reported. Deletes obey prune and the mass-delete guard,
 * with no override. An error backs off exponentially (from 1 s, capped at
 * the interval). The stack lock is held for a cycle only.
 *
 * Stack files as operands give one watcher several stacks, each with its
 * own schedule, backoff, last good revision, run and metrics labels; their
 * cycles run one at a time (concurrency 1), the one due first next. The
 * per-stack lists applycli makes live in each stack's apply_cli_keep.
 *
 * --once runs one cycle of each stack and exits (1 if any failed, else 2
 * if any left changes, else 0): 0 converged (or nothing to do), 2 drift
 * or changes left (detect-only), 1 an error; for cron, systemd timers and
 * CI schedules. Without it the loop runs until SIGTERM or SIGINT (calls in
 * flight finish and are recorded; exit 0); SIGHUP reads the stack files
 * again and starts a cycle of each stack at once (a file that does not
 * load keeps the configuration read before, said and counted).
 * --metrics-file FILE is rewritten atomically after every cycle in the
 * Prometheus text format (node_exporter's textfile collector); --listen
 * ADDR:PORT serves the same as /metrics, with /healthz and /readyz
 * (cli/watch-http.h). Under systemd (Type=notify, $NOTIFY_SOCKET) it says
 * READY=1 when it starts, STATUS= after each cycle, WATCHDOG=1 at half
 * $WATCHDOG_USEC and STOPPING=1 at the end (cli/sdnotify.h).
 */
#include "common/base.h"

#include <pthread.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <curl/curl.h>

#include "common/error.h"
#include "common/exitcodes.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "cli/applycli.h"
#include "cli/commands.h"
#include "cli/gitcli.h"
#include "cli/progress.h"
#include "cli/sdnotify.h"
#include "cli/watch-http.h"
#include "cli/watch-notify.h"
#include "manifests/stack.h"
#include "cli/watch-metrics.h"
#include "reconciler/plan.h"
#include "reconciler/reconcile.h"

int cmd_watch(struct sf_ctx *ctx, struct cli_args *args);

static const char *watch_interval;
static long long watch_jitter = 10;
static int watch_once, watch_detect;
static const char *watch_metrics_file;
static const char *watch_listen;

const struct cli_opt cmd_watch_opts[] = {
	{ CLI_STRING, "interval", 0, "DURATION",
	  "time between cycles (default 5m)", &watch_interval, 0, 0 },
	{ CLI_INT, "jitter", 0, "PERCENT",
	  "spread each interval by up to this share (default 10)",
	  &watch_jitter, 0, 50 },
	{ CLI_FLAG, "once", 0, NULL,
	  "run one cycle and exit (0 converged, 2 changes left, 1 error)",
	  &watch_once, 0, 0 },
	{ CLI_FLAG, "detect-only", 0, NULL, "plan and report, never apply",
	  &watch_detect, 0, 0 },
	{ CLI_STRING, "metrics-file", 0, "FILE",
	  "rewrite FILE after every cycle (Prometheus text format)",
	  &watch_metrics_file, 0, 0 },
	{ CLI_STRING, "listen", 0, "ADDR:PORT",
	  "serve /metrics, /healthz and /readyz over HTTP (e.g. :9090)",
	  &watch_listen, 0, 0 },
	APPLY_OPT_IGNORE,
	APPLY_OPT_SECRET_DIR,
	SF_OPTS_GIT,
	SF_OPT_JSON,
	SF_OPT_STACK,
	SF_OPT_STATE,
	SF_OPTS_API,
	SF_OPT_VERBOSE,
	CLI_OPT_END,
};

/* The first backoff after an error; it doubles up to the interval. */
#define WATCH_BACKOFF_MS 1000
#define WATCH_DEFAULT_MS (5 * 60 * 1000)

static volatile sig_atomic_t hup_seen;

static void
on_hup(int sig)
{
	(void)sig;
	hup_seen = 1;
}

/* One stack the watcher reconciles: its own schedule, backoff, run,
 * metrics and last good revision. */
struct watch {
	struct watcher *wr;
	struct sf_ctx ctx;      /* the command's, with this stack's file */
	struct stack_spec *own; /* the stack file read for an operand */
	char *own_state;        /* its state: resolved */
	struct apply_cli_keep *keep;
	struct reconcile *r;
	struct watch_metrics m; /* under wr->mu, read by the HTTP thread */
	int64_t interval_ms;
	int64_t backoff_ms;
	int64_t due_ms; /* monotonic: the next cycle */
	unsigned long cycle;
	const struct stack_watch *sw; /* the stack file's watch:, or NULL */
	bool detect;                  /* --detect-only or mode: detect */
	bool suspended;               /* suspend: true: never runs */
	bool fresh;         /* the run was just opened: its sources are read */
	bool source_failed; /* this cycle's sources failed */
	char *good_rev;     /* the revision last loaded whole */
	enum watch_result prev, last;
};

/* The watcher: its stacks, run one cycle at a time (concurrency 1), each
 * when its own schedule says. */
struct watcher {
	struct sf_ctx *ctx;
	struct sf_cancel *tok;
	struct progress pg;
	struct source *git;    /* --git, for a single stack */
	struct cli_args *args; /* the operands a stack's run reads */
	pthread_mutex_t mu;    /* every m, read by the HTTP thread */
	int64_t watchdog_ms, last_ping_ms;
	struct watch_api api; /* every stack's API requests */
	struct watch **v;
	const struct watch_metrics **ms; /* v[i]->m of the running stacks */
	size_t n, nms;
};

/* event: tell the stack file's hooks. */
static void
event(struct watch *w, enum stack_event kind, const char *message)
{
	struct watch_event ev;

	if (w->sw == NULL || w->sw->nnotify == 0)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	ev.stack = w->ctx.stack;
	ev.revision = w->good_rev;
	ev.cycle = w->cycle;
	ev.drift = w->m.drift;
	ev.changes = w->m.changes;
	ev.message = message;
	watch_notify(w->sw->notify, w->sw->nnotify, &ev);
}

/* act: apply p when there is something to do and the mode allows it;
 * the cycle's result. */
static enum watch_result
act(struct watch *w, const struct plan *p)
{
	const struct stack_window *win;
	struct apply_stats st;
	int rc;

	if (!plan_has_changes(p)) {
		reconcile_nothing(w->r);
		return WATCH_CONVERGED;
	}
	win = stack_in_window(w->sw, time_now_ms() / 1000);
	if (w->detect || win) {
		if (win)
			printf("watch: in the deny window of %s:%d:%d: "
			       "detection only\n",
			       w->ctx.stack_file, win->line, win->column);
		reconcile_finish(w->r, "drift", NULL);
		return WATCH_DETECTED;
	}
	rc = reconcile_apply(w->r, p, &st);
	if (rc < 0) {
		apply_cli_fail("watch", rc);
		return WATCH_FAILED;
	}
	if (st.failed || st.left || st.lock_lost)
		return WATCH_FAILED;
	return WATCH_APPLIED;
}

/* load_sources: read the sources again (from the second cycle on); a
 * failure keeps the last good revision. 1 when they loaded. */
static int
load_sources(struct watch *w)
{
	struct diag_list diags = DIAG_LIST_INIT;
	int rc;

	if (!w->fresh) {
		rc = reconcile_load(w->r, &diags);
		diag_list_print(stderr, &diags);
		diag_list_free(&diags);
		if (rc < 0) {
			const char *bad = reconcile_failed_revision(w->r);

			/* the last good revision keeps being enforced */
			fprintf(stderr,
			        "sandform watch: stack '%s': the sources "
			        "failed%s%s (%s); enforcing the last good "
			        "revision %s\n",
			        w->ctx.stack, bad ? " at revision " : "",
			        bad ? bad : "", sf_error_last(),
			        w->good_rev ? w->good_rev
			                    : "(the manifests read before)");
			w->source_failed = true;
			return 0;
		}
	}
	w->fresh = false;
	free(w->good_rev);
	w->good_rev = reconcile_revision(w->r)
	                      ? xstrdup(reconcile_revision(w->r))
	                      : NULL;
	return 1;
}

/* one_cycle: read the sources, plan, act; the result. */
static enum watch_result
one_cycle(struct watch *w)
{
	struct plan *p = NULL;
	enum watch_result res;
	int rc, source_ok = load_sources(w);

	pthread_mutex_lock(&w->wr->mu);
	watch_metrics_source(&w->m, source_ok);
	pthread_mutex_unlock(&w->wr->mu);
	if ((rc = apply_cli_begin(w->r, "watch", w->ctx.stack)) != SF_EXIT_OK) {
		reconcile_end(w->r);
		return rc == SF_EXIT_LOCKED ? WATCH_LOCKED : WATCH_FAILED;
	}
	if ((rc = reconcile_plan(w->r, &p)) < 0) {
		apply_cli_fail("watch", rc);
		reconcile_end(w->r);
		return WATCH_FAILED;
	}
	apply_cli_plan_errors("watch", p, 1);
	pthread_mutex_lock(&w->wr->mu);
	watch_metrics_plan(&w->m, p);
	pthread_mutex_unlock(&w->wr->mu);
	res = p->nerrors ? WATCH_FAILED : act(w, p);
	reconcile_end(w->r);
	plan_free(p);
	return res;
}

/* tick: the loop is alive: for /healthz, and systemd's watchdog. */
static void
tick(struct watcher *wr)
{
	int64_t now = time_mono_ms();
	size_t i;

	pthread_mutex_lock(&wr->mu);
	for (i = 0; i < wr->n; i++)
		wr->v[i]->m.last_tick_ms = now;
	pthread_mutex_unlock(&wr->mu);
	if (wr->watchdog_ms > 0 && now - wr->last_ping_ms >= wr->watchdog_ms) {
		sd_notify_msg("WATCHDOG=1");
		wr->last_ping_ms = now;
	}
}

/* pause_until: sleep in slices until the monotonic time end; early on a
 * stop request or SIGHUP (then 1). */
static int
pause_until(struct watcher *wr, int64_t end)
{
	int hup;

	while (time_mono_ms() < end && !hup_seen &&
	       sf_cancel_level(wr->tok) == SF_CANCEL_NONE) {
		tick(wr);
		time_sleep_ms(end - time_mono_ms() < 100 ? end - time_mono_ms()
		                                         : 100);
	}
	hup = hup_seen != 0;
	if (hup)
		log_warn("SIGHUP: reloading the stack files, then a cycle "
		         "of each stack now");
	hup_seen = 0;
	return hup;
}

/* next_wait: the interval with jitter, or the backoff after an error. */
static int64_t
next_wait(struct watch *w, enum watch_result res)
{
	uint32_t rnd = 0;
	int64_t span, base = w->interval_ms;

	if (res == WATCH_FAILED || res == WATCH_LOCKED) {
		w->backoff_ms =
		        w->backoff_ms ? w->backoff_ms * 2 : WATCH_BACKOFF_MS;
		if (w->backoff_ms > w->interval_ms)
			w->backoff_ms = w->interval_ms;
		return w->backoff_ms;
	}
	w->backoff_ms = 0;
	span = base * watch_jitter / 100;
	if (span <= 0)
		return base;
	if (random_bytes(&rnd, sizeof(rnd)) < 0)
		rnd = (uint32_t)time_mono_ms();
	return base - span + (int64_t)(rnd % (uint32_t)(2 * span + 1));
}

/* report: a line per cycle on stdout (a JSON object with --json). */
static void
report(struct watch *w, enum watch_result res, int64_t ms)
{
	const char *rev = w->good_rev;
	/* the revision this cycle's load failed at, not enforced */
	const char *bad =
	        w->source_failed ? reconcile_failed_revision(w->r) : NULL;

	if (w->ctx.json)
		printf("{\"cycle\":%lu,\"stack\":\"%s\",\"result\":\"%s\","
		       "\"revision\":%s%s%s,\"failed_revision\":%s%s%s,"
		       "\"drift\":%zu,\"changes\":%zu,\"duration_ms\":%lld}\n",
		       w->cycle, w->ctx.stack, watch_result_name(res),
		       rev ? "\"" : "", rev ? rev : "null", rev ? "\"" : "",
		       bad ? "\"" : "", bad ? bad : "null", bad ? "\"" : "",
		       w->m.drift, w->m.changes, (long long)ms);
	else
		printf("watch: cycle %lu of stack '%s'%s%s%s%s%s: %s (%zu "
		       "drifted, %zu change%s; %.1fs)\n",
		       w->cycle, w->ctx.stack, rev ? " at " : "",
		       rev ? rev : "", bad ? " (" : "", bad ? bad : "",
		       bad ? " failed to load)" : "", watch_result_name(res),
		       w->m.drift, w->m.changes, w->m.changes == 1 ? "" : "s",
		       (double)ms / 1000.0);
	fflush(stdout);
}

/* start_http: --listen, its port said on stderr (for port 0). */
static int
start_http(struct watcher *wr, struct watch_http **http)
{
	int port = 0;

	if (watch_http_start(watch_listen, wr->ms, wr->nms, &wr->api, &wr->mu,
	                     &port, http) < 0) {
		fprintf(stderr, "sandform watch: %s\n", sf_error_last());
		return SF_EXIT_ERROR;
	}
	fprintf(stderr,
	        "sandform watch: serving /metrics, /healthz and "
	        "/readyz on port %d\n",
	        port);
	return SF_EXIT_OK;
}

/* source_failed_event: the hooks hear which revision failed (the event's
 * revision is the good one, still enforced). */
static void
source_failed_event(struct watch *w)
{
	const char *bad = reconcile_failed_revision(w->r);
	char *msg;

	if (bad == NULL) {
		event(w, STACK_EVENT_SOURCE_FAILED,
		      "the sources failed to load; the last good revision is "
		      "enforced");
		return;
	}
	msg = xasprintf("revision %s failed to load; the last good revision "
	                "is enforced",
	                bad);
	event(w, STACK_EVENT_SOURCE_FAILED, msg);
	free(msg);
}

/* events: what a cycle's result tells the hooks. */
static void
cycle_events(struct watch *w, enum watch_result res)
{
	char msg[160];

	if (w->source_failed)
		source_failed_event(w);
	if (w->m.drift > 0) {
		snprintf(msg, sizeof(msg),
		         "%zu sandbox%s changed outside sandform", w->m.drift,
		         w->m.drift == 1 ? "" : "es");
		event(w, STACK_EVENT_DRIFT_DETECTED, msg);
		if (res == WATCH_APPLIED)
			event(w, STACK_EVENT_DRIFT_CORRECTED, msg);
	}
	if (res == WATCH_FAILED)
		event(w, STACK_EVENT_APPLY_FAILED, "the cycle failed");
	if ((res == WATCH_CONVERGED || res == WATCH_APPLIED) &&
	    w->prev == WATCH_FAILED)
		event(w, STACK_EVENT_RECOVERED, "the cycle succeeded again");
	w->prev = res;
	w->source_failed = false;
}

/* stack_cycle: one cycle of w, counted, reported and scheduled. */
static void
stack_cycle(struct watch *w)
{
	struct watcher *wr = w->wr;
	char status[200];
	int64_t t0, ms;
	enum watch_result res;

	w->cycle++;
	tick(wr);
	t0 = time_mono_ms();
	res = one_cycle(w);
	ms = time_mono_ms() - t0;
	tick(wr);
	pthread_mutex_lock(&wr->mu);
	watch_metrics_cycle(&w->m, res, ms, w->good_rev);
	pthread_mutex_unlock(&wr->mu);
	snprintf(status, sizeof(status), "STATUS=%s%s%scycle %lu: %s",
	         wr->nms > 1 ? "stack " : "", wr->nms > 1 ? w->ctx.stack : "",
	         wr->nms > 1 ? ": " : "", w->cycle, watch_result_name(res));
	sd_notify_msg(status);
	if (watch_metrics_file && watch_metrics_write(wr->ms, wr->nms, &wr->api,
	                                              watch_metrics_file) < 0)
		fprintf(stderr, "sandform watch: --metrics-file: %s\n",
		        sf_error_last());
	report(w, res, ms);
	cycle_events(w, res);
	w->last = res;
	w->due_ms = time_mono_ms() + next_wait(w, res);
}

/* next_due: the running stack whose cycle is due first, or NULL. */
static struct watch *
next_due(struct watcher *wr)
{
	struct watch *best = NULL;
	size_t i;

	for (i = 0; i < wr->n; i++)
		if (!wr->v[i]->suspended &&
		    (best == NULL || wr->v[i]->due_ms < best->due_ms))
			best = wr->v[i];
	return best;
}

/* once_status: --once's exit status over every stack: 1 when any failed,
 * else 2 when any left drift, else 0. */
static int
once_status(const struct watcher *wr)
{
	int rc = SF_EXIT_OK;
	size_t i;

	for (i = 0; i < wr->n; i++) {
		enum watch_result res = wr->v[i]->last;

		if (wr->v[i]->suspended)
			continue;
		if (res == WATCH_FAILED || res == WATCH_LOCKED)
			return SF_EXIT_ERROR;
		if (res == WATCH_DETECTED)
			rc = SF_EXIT_CHANGES;
	}
	return rc;
}

static int stack_settings(struct watch *w);
static int stack_open(struct watch *w);

/* reload_failed: the old configuration stays; say why, and count it. */
static void
reload_failed(struct watch *w, const char *why)
{
	fprintf(stderr,
	        "sandform watch: SIGHUP: %s: %s; keeping the configuration "
	        "read before\n",
	        w->ctx.stack_file, why);
	pthread_mutex_lock(&w->wr->mu);
	w->m.reload_ok = 0;
	w->m.reload_failures++;
	pthread_mutex_unlock(&w->wr->mu);
}

/* reload_commit: w takes nw's stack file, settings and run. */
static void
reload_commit(struct watch *w, struct watch *nw)
{
	reconcile_close(w->r);
	apply_cli_keep_free(w->keep);
	stack_spec_free(w->own);
	pthread_mutex_lock(&nw->wr->mu); /* w->m is read by the HTTP thread */
	*w = *nw;
	w->m.reload_ok = 1;
	w->m.interval_ms = w->interval_ms;
	if (w->suspended)
		w->m.ready = 1;
	pthread_mutex_unlock(&w->wr->mu);
	printf("watch: stack '%s': %s reloaded (interval %.1fs, %s%s)\n",
	       w->ctx.stack, w->ctx.stack_file, (double)w->interval_ms / 1000.0,
	       w->detect ? "detect" : "apply",
	       w->suspended ? ", suspended" : "");
	fflush(stdout);
}

/*
 * reload: SIGHUP: read w's stack file again (interval, mode, suspend,
 * deny windows, notify, ignore, sources) and open a run with it; a file
 * that does not load, renames the stack or whose run does not open
 * leaves the old configuration in place. The state is not reloaded.
 */
static void
reload(struct watch *w)
{
	struct diag_list diags = DIAG_LIST_INIT;
	struct stack_spec *st = NULL;
	struct watch nw;

	if (w->ctx.stack_file == NULL)
		return;
	if (stack_load(w->ctx.stack_file, &st, &diags) < 0) {
		diag_list_print(stderr, &diags);
		reload_failed(w, diags.n_errors ? "not a valid stack file"
		                                : sf_error_last());
		diag_list_free(&diags);
		return;
	}
	diag_list_print(stderr, &diags);
	diag_list_free(&diags);
	if (w->ctx.stack_from == SF_STACK_FILE &&
	    strcmp(st->name, w->ctx.stack) != 0) {
		stack_spec_free(st);
		reload_failed(w, "the stack's name cannot change");
		return;
	}
	nw = *w;
	nw.own = st;
	nw.ctx.stackfile = st;
	if (w->own != NULL) /* the name was the old file's */
		nw.ctx.stack = st->name;
	nw.keep = apply_cli_keep_new();
	nw.r = NULL;
	if (stack_settings(&nw) != SF_EXIT_OK ||
	    (!nw.suspended && stack_open(&nw) != SF_EXIT_OK)) {
		reconcile_close(nw.r);
		apply_cli_keep_free(nw.keep);
		stack_spec_free(st);
		reload_failed(w, "its settings or sources failed");
		return;
	}
	reload_commit(w, &nw);
}

/* run: cycles until a stop request (or one of each stack with --once);
 * exit status. */
static int
run(struct watcher *wr)
{
	struct watch *w;
	size_t i;

	if (watch_once) {
		for (i = 0; i < wr->n; i++)
			if (!wr->v[i]->suspended &&
			    sf_cancel_level(wr->tok) == SF_CANCEL_NONE)
				stack_cycle(wr->v[i]);
		return once_status(wr);
	}
	while (sf_cancel_level(wr->tok) == SF_CANCEL_NONE) {
		w = next_due(wr); /* NULL: all suspended, until a reload */
		if (w == NULL || w->due_ms > time_mono_ms()) {
			if (pause_until(wr, w ? w->due_ms
			                      : time_mono_ms() + 1000)) {
				for (i = 0; i < wr->n; i++) {
					reload(wr->v[i]);
					wr->v[i]->due_ms = 0;
				}
			}
			continue;
		}
		stack_cycle(w);
	}
	return SF_EXIT_OK;
}

/* stack_settings: w's interval and mode from the flags or its stack
 * file; SF_EXIT_OK or SF_EXIT_ERROR after saying why. */
static int
stack_settings(struct watch *w)
{
	const char *ival = watch_interval;

	w->interval_ms = WATCH_DEFAULT_MS;
	if (ival == NULL && w->ctx.stackfile)
		ival = w->ctx.stackfile->watch.interval;
	if (apply_cli_duration("watch", "interval", ival, "30s, 5m",
	                       &w->interval_ms) != 0)
		return SF_EXIT_ERROR;
	if (w->interval_ms < 100) {
		fprintf(stderr,
		        "sandform watch: --interval: '%s' is shorter "
		        "than 100ms\n",
		        ival);
		return SF_EXIT_ERROR;
	}
	w->sw = w->ctx.stackfile ? &w->ctx.stackfile->watch : NULL;
	w->detect =
	        watch_detect || (w->sw && w->sw->has_detect && w->sw->detect);
	w->suspended = w->sw && w->sw->suspend;
	if (w->suspended)
		printf("watch: stack '%s' is suspended (suspend: true in %s): "
		       "nothing runs\n",
		       w->ctx.stack, w->ctx.stack_file);
	return SF_EXIT_OK;
}

/* count_request: the client's hook (daytona/client.h dt_count_fn), from
 * the threads of an apply. */
static void
count_request(void *arg, enum dt_bucket bucket, int status)
{
	struct watcher *wr = arg;

	pthread_mutex_lock(&wr->mu);
	watch_api_count(&wr->api, bucket, status);
	pthread_mutex_unlock(&wr->mu);
}

/* stack_open: w's run (sources, state, client) and metrics. */
static int
stack_open(struct watch *w)
{
	struct watcher *wr = w->wr;
	struct reconcile_opts o;
	int rc = SF_EXIT_ERROR;

	apply_cli_keep_use(w->keep);
	apply_cli_opts(&w->ctx, "watch",
	               w->detect ? RECONCILE_PLAN : RECONCILE_APPLY, &wr->pg,
	               &o);
	if (apply_cli_sources(&w->ctx, wr->args, &o) < 0) {
		fprintf(stderr, "sandform watch: %s\n", sf_error_last());
		goto out;
	}
	if (wr->git) {
		o.sources = &wr->git;
		o.nsources = 1;
		o.source = wr->git->name;
	}
	/* no override of the mass-delete guard in a loop */
	o.allow_mass_delete = 0;
	o.lock = w->detect ? RECONCILE_LOCK_RECORD : RECONCILE_LOCK_HOLD;
	o.parallelism = apply_cli_parallelism(&w->ctx, 0);
	o.cancel = wr->tok;
	o.on_request = count_request;
	o.request_arg = wr;
	if (apply_cli_open(&o, &w->r) != SF_EXIT_OK)
		goto out;
	w->fresh = true;
	rc = SF_EXIT_OK;
out:
	apply_cli_keep_use(NULL);
	return rc;
}

/* is_stack_file: 1 when path is a regular file named sandform.yaml (or
 * .yml) or whose kind is Stack. */
static int
is_stack_file(const char *path)
{
	const char *base = strrchr(path, '/');
	struct stat sb;
	char buf[4096];
	size_t n;
	FILE *f;

	if (stat(path, &sb) < 0 || !S_ISREG(sb.st_mode))
		return 0;
	base = base ? base + 1 : path;
	if (strcmp(base, "sandform.yaml") == 0 ||
	    strcmp(base, "sandform.yml") == 0)
		return 1;
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strncmp(buf, "kind: Stack", 11) == 0 ||
	       strstr(buf, "\nkind: Stack") != NULL;
}

/* watch_add: a stack for the watcher: the command's own (file NULL) or
 * the stack file at file. SF_EXIT_OK or SF_EXIT_ERROR after saying why. */
static int
watch_add(struct watcher *wr, const char *file)
{
	struct diag_list diags = DIAG_LIST_INIT;
	struct watch *w = xcalloc(1, sizeof(*w));
	size_t i;

	w->wr = wr;
	w->ctx = *wr->ctx;
	w->keep = apply_cli_keep_new();
	w->prev = w->last = WATCH_CONVERGED;
	wr->v = xreallocarray(wr->v, wr->n + 1, sizeof(*wr->v));
	wr->v[wr->n++] = w;
	if (file == NULL)
		return SF_EXIT_OK;
	if (stack_load(file, &w->own, &diags) < 0) {
		diag_list_print(stderr, &diags);
		fprintf(stderr, "sandform watch: %s: %s\n", file,
		        diags.n_errors ? "not a valid stack file"
		                       : sf_error_last());
		diag_list_free(&diags);
		return SF_EXIT_ERROR;
	}
	diag_list_print(stderr, &diags);
	diag_list_free(&diags);
	w->ctx.stack_file = file;
	w->ctx.stackfile = w->own;
	w->ctx.stack = w->own->name;
	w->ctx.stack_from = SF_STACK_FILE;
	if (w->own->state &&
	    (wr->ctx->state_from == NULL ||
	     strcmp(wr->ctx->state_from, "the stack file's state") == 0)) {
		w->own_state = stack_path(w->own, w->own->state);
		w->ctx.state_path = w->own_state;
	}
	for (i = 0; i + 1 < wr->n; i++)
		if (strcmp(wr->v[i]->ctx.stack, w->ctx.stack) == 0) {
			fprintf(stderr,
			        "sandform watch: %s: stack '%s' is named "
			        "twice (also by %s)\n",
			        file, w->ctx.stack, wr->v[i]->ctx.stack_file);
			return SF_EXIT_ERROR;
		}
	return SF_EXIT_OK;
}

static void
watch_free(struct watch *w)
{
	reconcile_close(w->r);
	apply_cli_keep_free(w->keep);
	stack_spec_free(w->own);
	free(w->own_state);
	free(w->good_rev);
	free(w);
}

/* stack_operands: 1 when every operand is a stack file (watch A/sandform.yaml
 * B/sandform.yaml), 0 when they are manifest paths. */
static int
stack_operands(const struct cli_args *args)
{
	int i;

	for (i = 0; i < args->argc; i++)
		if (!is_stack_file(args->argv[i]))
			return 0;
	return args->argc > 0;
}

/* setup: the watcher's stacks, each opened; SF_EXIT_OK or SF_EXIT_ERROR. */
static int
setup(struct watcher *wr, struct cli_args *args)
{
	static struct cli_args none;
	size_t i;
	int multi = stack_operands(args);

	wr->args = multi ? &none : args;
	for (i = 0; multi && i < (size_t)args->argc; i++)
		if (watch_add(wr, args->argv[i]) != SF_EXIT_OK)
			return SF_EXIT_ERROR;
	if (multi && sf_git.url != NULL) {
		fprintf(stderr, "sandform watch: --git cannot be used with "
		                "stack files\n");
		return SF_EXIT_ERROR;
	}
	if (!multi) {
		if (git_cli_source("watch", wr->ctx, args->argc, &wr->git) !=
		    SF_EXIT_OK)
			return SF_EXIT_ERROR;
		if (apply_cli_need_name(wr->ctx, "watch", "watch") !=
		    SF_EXIT_OK)
			return SF_EXIT_ERROR;
		watch_add(wr, NULL);
	}
	for (i = 0; i < wr->n; i++)
		if (stack_settings(wr->v[i]) != SF_EXIT_OK)
			return SF_EXIT_ERROR;
	wr->ms = xcalloc(wr->n, sizeof(*wr->ms));
	for (i = 0; i < wr->n; i++) {
		struct watch *w = wr->v[i];

		if (!w->suspended && stack_open(w) != SF_EXIT_OK)
			return SF_EXIT_ERROR;
		watch_metrics_init(&w->m, w->ctx.stack);
		w->m.interval_ms = w->interval_ms;
		w->m.last_tick_ms = time_mono_ms();
		w->m.ready = w->suspended; /* nothing to wait for */
		wr->ms[wr->nms++] = &w->m;
	}
	return SF_EXIT_OK;
}

static void
on_signals(struct watcher *wr)
{
	struct sigaction sa;

	wr->tok = apply_cli_signals();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_hup;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
}

int
cmd_watch(struct sf_ctx *ctx, struct cli_args *args)
{
	struct watcher wr;
	struct watch_http *http = NULL;
	size_t i;
	int exit_rc = SF_EXIT_ERROR;

	memset(&wr, 0, sizeof(wr));
	pthread_mutex_init(&wr.mu, NULL);
	wr.ctx = ctx;
	progress_init(&wr.pg, ctx->json ? PROGRESS_QUIET : PROGRESS_LINES,
	              stdout, ctx->color, "watch");
	on_signals(&wr);
	curl_global_init(CURL_GLOBAL_DEFAULT); /* before any thread */
	if (setup(&wr, args) != SF_EXIT_OK)
		goto out;
	if (next_due(&wr) == NULL) { /* every stack suspended */
		exit_rc = SF_EXIT_OK;
		goto out;
	}
	if (watch_listen && start_http(&wr, &http) != SF_EXIT_OK)
		goto out;
	wr.watchdog_ms = sd_watchdog_ms();
	sd_notify_msg("READY=1");
	exit_rc = run(&wr);
	sd_notify_msg("STOPPING=1");
	watch_notify_drain(5000);
	watch_http_stop(http);
out:
	for (i = 0; i < wr.n; i++) {
		watch_metrics_free(&wr.v[i]->m);
		watch_free(wr.v[i]);
	}
	free(wr.v);
	free(wr.ms);
	source_free(wr.git);
	progress_free(&wr.pg);
	apply_cli_release();
	pthread_mutex_destroy(&wr.mu);
	return exit_rc;
}
