/*
 * sandform watch [PATH... | --git URL ...] [--interval D] [--jitter P]
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
 * --once runs one cycle and exits: 0 converged (or nothing to do), 2 drift
 * or changes left (detect-only), 1 an error; for cron, systemd timers and
 * CI schedules. Without it the loop runs until SIGTERM or SIGINT (calls in
 * flight finish and are recorded; exit 0); SIGHUP starts a cycle at once.
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

struct watch {
	struct sf_ctx *ctx;
	struct reconcile *r;
	struct sf_cancel *tok;
	struct watch_metrics m;
	pthread_mutex_t mu; /* m, read by the HTTP thread */
	int64_t watchdog_ms, last_ping_ms;
	int64_t interval_ms;
	int64_t backoff_ms;
	unsigned long cycle;
	const struct stack_watch *sw; /* the stack file's watch:, or NULL */
	bool detect;                  /* --detect-only or mode: detect */
	bool source_failed;           /* this cycle's sources failed */
	char *good_rev;               /* the revision last loaded whole */
	enum watch_result prev;
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
	ev.stack = w->ctx->stack;
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
			       w->ctx->stack_file, win->line, win->column);
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

/* one_cycle: read the sources, plan, act; the result. */
static enum watch_result
one_cycle(struct watch *w)
{
	struct diag_list diags = DIAG_LIST_INIT;
	struct plan *p = NULL;
	enum watch_result res;
	int rc, source_ok = 1;

	if (w->cycle > 1) {
		rc = reconcile_load(w->r, &diags);
		diag_list_print(stderr, &diags);
		if (rc < 0) {
			/* the last good revision keeps being enforced */
			fprintf(stderr,
			        "sandform watch: the sources failed (%s); "
			        "enforcing the last good revision %s\n",
			        sf_error_last(),
			        w->good_rev ? w->good_rev
			                    : "(the manifests read before)");
			source_ok = 0;
			w->source_failed = true;
		}
	}
	if (source_ok) {
		free(w->good_rev);
		w->good_rev = reconcile_revision(w->r)
		                      ? xstrdup(reconcile_revision(w->r))
		                      : NULL;
	}
	diag_list_free(&diags);
	pthread_mutex_lock(&w->mu);
	watch_metrics_source(&w->m, source_ok);
	pthread_mutex_unlock(&w->mu);
	if ((rc = apply_cli_begin(w->r, "watch", w->ctx->stack)) !=
	    SF_EXIT_OK) {
		reconcile_end(w->r);
		return rc == SF_EXIT_LOCKED ? WATCH_LOCKED : WATCH_FAILED;
	}
	if ((rc = reconcile_plan(w->r, &p)) < 0) {
		apply_cli_fail("watch", rc);
		reconcile_end(w->r);
		return WATCH_FAILED;
	}
	apply_cli_plan_errors("watch", p, 1);
	pthread_mutex_lock(&w->mu);
	watch_metrics_plan(&w->m, p);
	pthread_mutex_unlock(&w->mu);
	res = p->nerrors ? WATCH_FAILED : act(w, p);
	reconcile_end(w->r);
	plan_free(p);
	return res;
}

/* tick: the loop is alive: for /healthz, and systemd's watchdog. */
static void
tick(struct watch *w)
{
	int64_t now = time_mono_ms();

	pthread_mutex_lock(&w->mu);
	w->m.last_tick_ms = now;
	pthread_mutex_unlock(&w->mu);
	if (w->watchdog_ms > 0 && now - w->last_ping_ms >= w->watchdog_ms) {
		sd_notify_msg("WATCHDOG=1");
		w->last_ping_ms = now;
	}
}

/* pause: sleep ms in slices; early on a stop request or SIGHUP. */
static void
pause_ms(struct watch *w, int64_t ms)
{
	int64_t end = time_mono_ms() + ms;

	while (time_mono_ms() < end && !hup_seen &&
	       sf_cancel_level(w->tok) == SF_CANCEL_NONE) {
		tick(w);
		time_sleep_ms(100);
	}
	if (hup_seen)
		log_warn("SIGHUP: starting a cycle now");
	hup_seen = 0;
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

	if (w->ctx->json)
		printf("{\"cycle\":%lu,\"stack\":\"%s\",\"result\":\"%s\","
		       "\"revision\":%s%s%s,\"drift\":%zu,\"changes\":%zu,"
		       "\"duration_ms\":%lld}\n",
		       w->cycle, w->ctx->stack, watch_result_name(res),
		       rev ? "\"" : "", rev ? rev : "null", rev ? "\"" : "",
		       w->m.drift, w->m.changes, (long long)ms);
	else
		printf("watch: cycle %lu of stack '%s'%s%s: %s (%zu drifted, "
		       "%zu change%s; %.1fs)\n",
		       w->cycle, w->ctx->stack, rev ? " at " : "",
		       rev ? rev : "", watch_result_name(res), w->m.drift,
		       w->m.changes, w->m.changes == 1 ? "" : "s",
		       (double)ms / 1000.0);
	fflush(stdout);
}

/* start_http: --listen, its port said on stderr (for port 0). */
static int
start_http(struct watch *w, struct watch_http **http)
{
	int port = 0;

	if (watch_http_start(watch_listen, &w->m, &w->mu, &port, http) < 0) {
		fprintf(stderr, "sandform watch: %s\n", sf_error_last());
		return SF_EXIT_ERROR;
	}
	fprintf(stderr,
	        "sandform watch: serving /metrics, /healthz and "
	        "/readyz on port %d\n",
	        port);
	return SF_EXIT_OK;
}

/* events: what a cycle's result tells the hooks. */
static void
cycle_events(struct watch *w, enum watch_result res)
{
	char msg[160];

	if (w->source_failed)
		event(w, STACK_EVENT_SOURCE_FAILED,
		      "the sources failed to load; the last good revision is "
		      "enforced");
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

/* run: cycles until a stop request (or one with --once); exit status. */
static int
run(struct watch *w)
{
	enum watch_result res = WATCH_CONVERGED;
	int64_t t0, ms;

	while (sf_cancel_level(w->tok) == SF_CANCEL_NONE) {
		char status[160];

		w->cycle++;
		tick(w);
		t0 = time_mono_ms();
		res = one_cycle(w);
		ms = time_mono_ms() - t0;
		tick(w);
		pthread_mutex_lock(&w->mu);
		watch_metrics_cycle(&w->m, res, ms, w->good_rev);
		pthread_mutex_unlock(&w->mu);
		snprintf(status, sizeof(status), "STATUS=cycle %lu: %s",
		         w->cycle, watch_result_name(res));
		sd_notify_msg(status);
		if (watch_metrics_file &&
		    watch_metrics_write(&w->m, watch_metrics_file) < 0)
			fprintf(stderr, "sandform watch: --metrics-file: %s\n",
			        sf_error_last());
		report(w, res, ms);
		cycle_events(w, res);
		if (watch_once)
			break;
		pause_ms(w, next_wait(w, res));
	}
	if (!watch_once)
		return SF_EXIT_OK;
	return res == WATCH_FAILED || res == WATCH_LOCKED ? SF_EXIT_ERROR
	       : res == WATCH_DETECTED                    ? SF_EXIT_CHANGES
	                                                  : SF_EXIT_OK;
}

int
cmd_watch(struct sf_ctx *ctx, struct cli_args *args)
{
	struct reconcile_opts o;
	struct watch w;
	struct progress pg;
	struct source *git = NULL;
	struct sigaction sa;
	struct watch_http *http = NULL;
	int exit_rc = SF_EXIT_ERROR;

	memset(&w, 0, sizeof(w));
	pthread_mutex_init(&w.mu, NULL);
	w.ctx = ctx;
	w.interval_ms = WATCH_DEFAULT_MS;
	if (watch_interval == NULL && ctx->stackfile)
		watch_interval = ctx->stackfile->watch.interval;
	if (apply_cli_duration("watch", "interval", watch_interval, "30s, 5m",
	                       &w.interval_ms) != 0)
		return SF_EXIT_ERROR;
	if (w.interval_ms < 100) {
		fprintf(stderr,
		        "sandform watch: --interval: '%s' is shorter "
		        "than 100ms\n",
		        watch_interval);
		return SF_EXIT_ERROR;
	}
	if (git_cli_source("watch", ctx, args->argc, &git) != SF_EXIT_OK)
		return SF_EXIT_ERROR;
	progress_init(&pg, ctx->json ? PROGRESS_QUIET : PROGRESS_LINES, stdout,
	              ctx->color, "watch");
	if (apply_cli_need_name(ctx, "watch", "watch") != SF_EXIT_OK)
		goto out;
	w.sw = ctx->stackfile ? &ctx->stackfile->watch : NULL;
	w.detect = watch_detect || (w.sw && w.sw->has_detect && w.sw->detect);
	if (w.sw && w.sw->suspend) {
		printf("watch: stack '%s' is suspended (suspend: true in %s): "
		       "nothing runs\n",
		       ctx->stack, ctx->stack_file);
		exit_rc = SF_EXIT_OK;
		goto out;
	}
	w.tok = apply_cli_signals();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_hup;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
	curl_global_init(CURL_GLOBAL_DEFAULT); /* before any thread */
	apply_cli_opts(ctx, "watch",
	               w.detect ? RECONCILE_PLAN : RECONCILE_APPLY, &pg, &o);
	if (apply_cli_sources(ctx, args, &o) < 0) {
		fprintf(stderr, "sandform watch: %s\n", sf_error_last());
		goto out;
	}
	if (git) {
		o.sources = &git;
		o.nsources = 1;
		o.source = git->name;
	}
	/* no override of the mass-delete guard in a loop */
	o.allow_mass_delete = 0;
	o.lock = w.detect ? RECONCILE_LOCK_RECORD : RECONCILE_LOCK_HOLD;
	o.parallelism = apply_cli_parallelism(ctx, 0);
	o.cancel = w.tok;
	if (apply_cli_open(&o, &w.r) != SF_EXIT_OK)
		goto out;
	watch_metrics_init(&w.m, ctx->stack);
	w.m.interval_ms = w.interval_ms;
	w.m.last_tick_ms = time_mono_ms();
	if (watch_listen && start_http(&w, &http) != SF_EXIT_OK) {
		watch_metrics_free(&w.m);
		goto out;
	}
	w.watchdog_ms = sd_watchdog_ms();
	sd_notify_msg("READY=1");
	exit_rc = run(&w);
	sd_notify_msg("STOPPING=1");
	watch_notify_drain(5000);
	watch_http_stop(http);
	watch_metrics_free(&w.m);
out:
	reconcile_close(w.r);
	source_free(git);
	progress_free(&pg);
	apply_cli_release();
	pthread_mutex_destroy(&w.mu);
	free(w.good_rev);
	return exit_rc;
}
