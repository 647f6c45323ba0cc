/*
 * sandform apply [PATH... | PLANFILE] [--auto-approve] [--parallelism N]
 *                [--timeout DURATION] [--lock-timeout DURATION] [--json]
 *                [--allow-mass-delete] [--stack NAME] [--state PATH]
 *                [--api-key-file FILE] [-v]
 *
 * Makes Daytona look like the manifests. It takes the stack's lock (a
 * second run exits 3 naming the holder, or waits with --lock-timeout),
 * resolves what a killed earlier run left in the journal, computes the plan
 * exactly as 'sandform plan' does (or loads a saved plan, which is refused,
 * naming the sandbox, when anything it touches changed since it was made),
 * shows it, and asks for "yes" on a terminal; without one it refuses unless
 * --auto-approve. A saved plan is no exception: it is shown and asked
 * about like any other. It must be the only operand (not mixed with
 * manifest paths), and a --stack that names another stack than the plan's
 * is refused. Nothing to do exits 0 at once.
 *
 * The plan runs through apply.c: bounded parallelism, waits by polling the
 * whole stack at once, a journal entry around every mutating call, create
 * idempotent by name. Secrets are resolved before the first call. Progress
 * is one live line per sandbox on a terminal, one line per finished
 * sandbox otherwise, one JSON event per line with --json (plan, start,
 * progress, done, error, summary). The exit status is 0 when everything
 * converged and 1 when anything failed (the rest still completed and was
 * recorded) or was left by SIGINT/SIGTERM: calls in flight then finish and
 * are recorded, nothing new starts, and the note says what is left (not
 * started, or in flight and at which step). The summary covers the whole
 * run: the interrupted actions recovered, and the time and API requests
 * of recovery, refresh and apply together.
 *
 * This file also holds what destroy shares with apply (lock, signals,
 * confirmation, the run and its summary): see apply_cli_* in applycli.h.
 */
#include "common/base.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "common/error.h"
#include "common/exitcodes.h"
#include "common/log.h"
#include "common/strnum.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "reconciler/apply.h"
#include "cli/applycli.h"
#include "cli/commands.h"
#include "reconciler/plan.h"
#include "reconciler/planout.h"
#include "reconciler/refresh.h"
#include "cli/runctx.h"

int cmd_apply(struct sf_ctx *ctx, struct cli_args *args);

static int apply_auto_approve;
static long long apply_parallelism = APPLY_DEFAULT_PARALLELISM;
static const char *apply_timeout;
static const char *apply_lock_timeout;
static int apply_allow_mass_delete;
static const char *apply_stack; /* --stack, when given */

const struct cli_opt cmd_apply_opts[] = {
	{ CLI_FLAG, "auto-approve", 0, NULL,
	  "apply without asking (required without a terminal)",
	  &apply_auto_approve, 0, 0 },
	{ CLI_INT, "parallelism", 0, "N",
	  "API calls in flight at once (default 16)", &apply_parallelism, 1,
	  APPLY_MAX_PARALLELISM },
	{ CLI_STRING, "timeout", 0, "DURATION",
	  "how long to wait for each sandbox (default 10m)", &apply_timeout, 0,
	  0 },
	{ CLI_STRING, "lock-timeout", 0, "DURATION",
	  "wait this long for the stack's lock (default: do not wait)",
	  &apply_lock_timeout, 0, 0 },
	{ CLI_FLAG, "allow-mass-delete", 0, NULL,
	  "allow deleting more than half of the stack's sandboxes",
	  &apply_allow_mass_delete, 0, 0 },
	SF_OPT_JSON,
	/* not SF_OPT_STACK: a saved plan names its stack, and a --stack
	 * that disagrees must be told apart from the default */
	{ CLI_STRING, "stack", 0, "NAME",
	  "the stack (default: default; a saved plan's own)", &apply_stack, 0,
	  0 },
	SF_OPT_STATE,
	SF_OPT_API_KEY_FILE,
	SF_OPT_VERBOSE,
	CLI_OPT_END,
};

/* ---- shared with destroy ------------------------------------------------ */

static volatile sig_atomic_t signals_seen;

static void
on_signal(int sig)
{
	static const char msg[] = "\nsandform: stopping: no new calls; "
	                          "waiting for the calls in flight (again "
	                          "to quit at once)\n";
	ssize_t n;

	if (signals_seen++ > 0) {
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	apply_request_stop();
	n = write(STDERR_FILENO, msg, sizeof(msg) - 1);
	(void)n;
}

void
apply_cli_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: a prompt read is interrupted */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int
apply_cli_lock(struct store *st, const char *stack, const char *cmd,
               const char *timeout, struct store_lock_holder *lock)
{
	long long wait_ms = 0;
	int64_t t0 = time_mono_ms();
	char since[SF_ISO8601_LEN + 1];
	int rc, said = 0;

	if (timeout && strnum_duration_ms(timeout, &wait_ms) < 0) {
		fprintf(stderr,
		        "sandform %s: --lock-timeout: invalid duration '%s' "
		        "(expected e.g. 30s, 5m)\n",
		        cmd, timeout);
		return SF_EXIT_ERROR;
	}
	for (;;) {
		rc = store_lock_acquire(st, stack, cmd, 0, lock);
		if (rc == 0) {
			if (lock->took_over)
				fprintf(stderr,
				        "sandform %s: took over a stale lock "
				        "of stack '%s'\n",
				        cmd, stack);
			return SF_EXIT_OK;
		}
		if (rc != SF_ELOCKED) {
			fprintf(stderr, "sandform %s: %s\n", cmd,
			        sf_error_last());
			return SF_EXIT_ERROR;
		}
		if (apply_stop_requested() ||
		    time_mono_ms() - t0 >= (int64_t)wait_ms)
			break;
		if (!said) {
			fprintf(stderr,
			        "sandform %s: stack '%s' is locked by pid %ld "
			        "on %s; waiting up to %s\n",
			        cmd, stack, lock->pid, lock->host, timeout);
			said = 1;
		}
		time_sleep_ms(250);
	}
	time_format_iso(lock->since_ms, since);
	fprintf(stderr,
	        "sandform %s: stack '%s' is locked by another run: pid %ld "
	        "on %s (%s) since %s, lock %s\n"
	        "sandform %s: wait for it, retry with --lock-timeout, or "
	        "release it with 'sandform force-unlock %s' if that run is "
	        "gone\n",
	        cmd, stack, lock->pid, lock->host, lock->info, since, lock->id,
	        cmd, lock->id);
	return SF_EXIT_LOCKED;
}

int
apply_cli_confirm(const char *cmd, int auto_approve, const char *question)
{
	char line[64];

	if (auto_approve)
		return 1;
	if (!isatty(STDIN_FILENO)) {
		fprintf(stderr,
		        "sandform %s: refusing to %s without confirmation: "
		        "stdin is not a terminal; use --auto-approve\n",
		        cmd, cmd);
		return 0;
	}
	fprintf(stderr, "\n%s\n  Only 'yes' will be accepted: ", question);
	fflush(stderr);
	if (fgets(line, sizeof(line), stdin) == NULL) {
		fprintf(stderr, "\nsandform %s: cancelled\n", cmd);
		return 0;
	}
	line[strcspn(line, "\r\n")] = '\0';
	if (strcmp(line, "yes") != 0) {
		fprintf(stderr, "sandform %s: cancelled\n", cmd);
		return 0;
	}
	return 1;
}

int
apply_cli_begin(struct runctx *rx, const char *stack, const char *lock_timeout,
                const char *source, struct apply_cli_run *run)
{
	int rc;

	if (run->t0_ms == 0)
		run->t0_ms = time_mono_ms();
	dt_client_stats(rx->client, &run->http0);
	rc = apply_cli_lock(rx->store, stack, rx->cmd, lock_timeout,
	                    &run->lock);
	if (rc != SF_EXIT_OK)
		return rc;
	run->locked = 1;
	run->run_id = runctx_run_begin(rx, stack, source);
	if (apply_recover(rx->client, rx->store, stack, run->run_id,
	                  &run->recovered) < 0) {
		fprintf(stderr,
		        "sandform %s: resolving an interrupted run: %s\n",
		        rx->cmd, sf_error_last());
		return SF_EXIT_ERROR;
	}
	if (run->recovered)
		fprintf(stderr,
		        "sandform %s: recovered %zu interrupted action%s left "
		        "in the journal by an earlier run\n",
		        rx->cmd, run->recovered,
		        run->recovered == 1 ? "" : "s");
	return SF_EXIT_OK;
}

void
apply_cli_end(struct runctx *rx, struct apply_cli_run *run)
{
	if (run->locked && store_lock_release(rx->store, run->lock.id) < 0)
		log_warn("releasing the lock: %s", sf_error_last());
	run->locked = 0;
}

/* print_plan_json: the plan as one "plan" event line. */
static int
print_plan_json(const struct plan *p)
{
	char *doc = NULL, *line = NULL;
	cJSON *j = NULL, *ev = NULL;
	int rc;

	if ((rc = plan_to_json(p, &doc)) < 0)
		return rc;
	j = cJSON_Parse(doc);
	free(doc);
	if (j == NULL)
		return sf_error_set(SF_ERROR, "plan: cannot re-read its JSON");
	ev = cJSON_CreateObject();
	cJSON_AddStringToObject(ev, "event", "plan");
	cJSON_AddItemToObject(ev, "plan", j);
	line = cJSON_PrintUnformatted(ev);
	printf("%s\n", line ? line : "{}");
	fflush(stdout);
	cJSON_free(line);
	cJSON_Delete(ev);
	return 0;
}

int
apply_cli_show_plan(const struct sf_ctx *ctx, const struct plan *p)
{
	if (ctx->json)
		return print_plan_json(p) < 0 ? -1 : 0;
	plan_print_human(stdout, p, ctx->color);
	fflush(stdout);
	return 0;
}

/*
 * whole_run: the apply phase's figures widened to the whole run: time
 * since run->t0_ms and the client's counters since run->http0 (recovery
 * and refresh included).
 */
static void
whole_run(struct runctx *rx, const struct apply_cli_run *run,
          struct apply_stats *st)
{
	struct dt_stats now;

	dt_client_stats(rx->client, &now);
	st->elapsed_ms = time_mono_ms() - run->t0_ms;
	st->http.requests = now.requests - run->http0.requests;
	st->http.retries = now.retries - run->http0.retries;
	st->http.throttled = now.throttled - run->http0.throttled;
}

static void
summary_json(const struct apply_stats *st, const char *cmd, int interrupted,
             size_t recovered)
{
	printf("{\"event\":\"summary\",\"command\":\"%s\",\"total\":%zu,"
	       "\"done\":%zu,\"failed\":%zu,\"left\":%zu,\"unwaited\":%zu,"
	       "\"recovered\":%zu,\"interrupted\":%s,\"elapsed_ms\":%lld,"
	       "\"requests\":%llu,\"retries\":%llu,\"throttled\":%llu}\n",
	       cmd, st->total, st->done, st->failed, st->left, st->unwaited,
	       recovered, interrupted ? "true" : "false",
	       (long long)st->elapsed_ms, (unsigned long long)st->http.requests,
	       (unsigned long long)st->http.retries,
	       (unsigned long long)st->http.throttled);
}

/* summary_human: the closing lines of a run that executed a plan. */
static void
summary_human(const struct apply_stats *st, const char *cmd, size_t recovered)
{
	printf("\n%s %s: %zu of %zu done, %zu failed",
	       strcmp(cmd, "destroy") == 0 ? "Destroy" : "Apply",
	       st->failed || st->left ? "incomplete" : "complete", st->done,
	       st->total, st->failed);
	if (st->left)
		printf(", %zu left", st->left);
	if (recovered)
		printf("; recovered %zu interrupted action%s", recovered,
		       recovered == 1 ? "" : "s");
	printf(" in %.1fs (%llu API requests)\n",
	       (double)st->elapsed_ms / 1000.0,
	       (unsigned long long)st->http.requests);
	if (st->unwaited)
		printf("%zu %s made all %s calls; a stop request skipped the "
		       "last wait\n",
		       st->unwaited, st->unwaited == 1 ? "action" : "actions",
		       st->unwaited == 1 ? "its" : "their");
	if (st->left)
		printf("%zu %s left unfinished by the stop request; run "
		       "'sandform %s' again to finish\n",
		       st->left, st->left == 1 ? "action was" : "actions were",
		       cmd);
}

void
apply_cli_nothing(struct sf_ctx *ctx, struct runctx *rx,
                  const struct apply_cli_run *run)
{
	struct apply_stats none;
	char *counts;

	memset(&none, 0, sizeof(none));
	whole_run(rx, run, &none);
	if (ctx->json)
		summary_json(&none, rx->cmd, 0, run->recovered);
	else if (run->recovered)
		printf("Recovered %zu interrupted action%s in %.1fs (%llu API "
		       "requests); nothing else to do.\n",
		       run->recovered, run->recovered == 1 ? "" : "s",
		       (double)none.elapsed_ms / 1000.0,
		       (unsigned long long)none.http.requests);
	counts = xasprintf("{\"total\":0,\"recovered\":%zu,\"requests\":%llu}",
	                   run->recovered,
	                   (unsigned long long)none.http.requests);
	store_run_finish(rx->store, run->run_id, "ok", counts);
	free(counts);
}

int
apply_cli_execute(struct sf_ctx *ctx, struct runctx *rx, const struct plan *p,
                  const struct apply_cli_run *run, int parallelism,
                  const char *timeout)
{
	struct apply_opts o;
	struct apply_stats st;
	long long timeout_ms = APPLY_DEFAULT_TIMEOUT_MS;
	char *counts = NULL, *url = NULL;
	const char *outcome;
	int rc, interrupted;

	if (timeout &&
	    (strnum_duration_ms(timeout, &timeout_ms) < 0 || timeout_ms <= 0)) {
		fprintf(stderr,
		        "sandform %s: --timeout: invalid duration '%s' "
		        "(expected e.g. 90s, 10m)\n",
		        rx->cmd, timeout);
		return SF_EXIT_ERROR;
	}
	/* the lease may have run out while a person read the plan */
	if (run->locked && store_lock_renew(rx->store, run->lock.id, 0) < 0) {
		fprintf(stderr,
		        "sandform %s: lost the stack lock while waiting for "
		        "confirmation (%s); nothing was changed\n",
		        rx->cmd, sf_error_last());
		store_run_finish(rx->store, run->run_id, "failed", NULL);
		return SF_EXIT_LOCKED;
	}
	memset(&o, 0, sizeof(o));
	o.stack = p->stack ? p->stack : ctx->stack;
	o.parallelism = parallelism;
	o.timeout_ms = timeout_ms;
	o.run_id = run->run_id;
	o.lock_id = run->locked ? run->lock.id : NULL;
	o.out = stdout;
	o.color = ctx->color;
	o.resolve = secret_resolve;
	o.resolve_arg = &rx->secrets;
	o.command = rx->cmd;
	o.api_url = url = runctx_api_url();
	if (ctx->json)
		o.output = APPLY_OUT_JSON;
	else if (isatty(STDOUT_FILENO))
		o.output = APPLY_OUT_TTY;
	else
		o.output = APPLY_OUT_LINES;
	if (!ctx->json)
		printf("\n");
	rc = apply_run(p, rx->client, rx->store, &o, &st);
	free(url);
	if (rc < 0) {
		/* nothing was called: e.g. a missing secret */
		fprintf(stderr, "sandform %s: %s; nothing was changed\n",
		        rx->cmd, sf_error_last());
		store_run_finish(rx->store, run->run_id, "failed", NULL);
		return SF_EXIT_ERROR;
	}
	interrupted = apply_stop_requested();
	whole_run(rx, run, &st);
	if (ctx->json)
		summary_json(&st, rx->cmd, interrupted, run->recovered);
	else
		summary_human(&st, rx->cmd, run->recovered);
	if (st.left && !ctx->json)
		fprintf(stderr, "sandform %s: interrupted: %zu action%s left\n",
		        rx->cmd, st.left, st.left == 1 ? "" : "s");
	outcome = interrupted ? "interrupted" : (st.failed ? "failed" : "ok");
	counts =
	        xasprintf("{\"total\":%zu,\"done\":%zu,\"failed\":%zu,"
	                  "\"left\":%zu,\"recovered\":%zu,\"requests\":%llu}",
	                  st.total, st.done, st.failed, st.left, run->recovered,
	                  (unsigned long long)st.http.requests);
	store_run_finish(rx->store, run->run_id, outcome, counts);
	free(counts);
	return st.failed || st.left ? SF_EXIT_ERROR : SF_EXIT_OK;
}

/* ---- apply -------------------------------------------------------------- */

/* is_plan_file: path names a saved plan (JSON), not manifests. */
static int
is_plan_file(const char *p)
{
	size_t n = strlen(p);
	FILE *fp;
	int c;

	if ((n > 5 && strcmp(p + n - 5, ".yaml") == 0) ||
	    (n > 4 && strcmp(p + n - 4, ".yml") == 0) || strcmp(p, "-") == 0)
		return 0;
	fp = fopen(p, "r");
	if (fp == NULL)
		return 0;
	do
		c = fgetc(fp);
	while (c == ' ' || c == '\n' || c == '\t' || c == '\r');
	fclose(fp);
	return c == '{';
}

/*
 * saved_plan_arg: 1 when the operands are one saved plan, 0 when they are
 * manifest paths; -1 (said) when a saved plan is among several operands.
 */
static int
saved_plan_arg(const struct cli_args *args)
{
	int i;

	if (args->argc == 1)
		return is_plan_file(args->argv[0]);
	for (i = 0; i < args->argc; i++)
		if (is_plan_file(args->argv[i])) {
			fprintf(stderr,
			        "sandform apply: '%s' is a saved plan; a saved "
			        "plan can't be combined with manifest paths "
			        "(apply it alone: sandform apply %s)\n",
			        args->argv[i], args->argv[i]);
			return -1;
		}
	return 0;
}

/* compute_plan: refresh and diff, exactly as sandform plan does. */
static int
compute_plan(struct sf_ctx *ctx, struct runctx *rx, struct plan **out)
{
	struct refresh_opts ro;
	struct refresh_result rr;
	struct plan_input in;
	int rc;

	memset(&rr, 0, sizeof(rr));
	memset(&ro, 0, sizeof(ro));
	ro.stack = ctx->stack;
	ro.refresh = 1;
	ro.specs = rx->specs;
	ro.nspecs = rx->nspecs;
	if ((rc = refresh_run(rx->client, rx->store, &ro, &rr)) < 0)
		goto out;
	runctx_plan_input(rx, ctx->stack, &rr, &in);
	in.allow_mass_delete = apply_allow_mass_delete;
	in.refreshed = 1;
	rc = plan_build(&in, out);
out:
	refresh_result_clear(&rr);
	return rc;
}

int
cmd_apply(struct sf_ctx *ctx, struct cli_args *args)
{
	struct runctx rx = RUNCTX_INIT;
	struct apply_cli_run run = APPLY_CLI_RUN_INIT;
	struct plan *p = NULL;
	size_t i;
	int rc, exit_rc = SF_EXIT_ERROR, saved;

	run.t0_ms = time_mono_ms();
	rx.cmd = "apply";
	if (apply_stack)
		ctx->stack = apply_stack;
	if ((saved = saved_plan_arg(args)) < 0)
		goto out;
	apply_cli_signals();
	if (saved) {
		if ((rc = planout_load(args->argv[0], &p)) < 0) {
			runctx_fail(&rx, rc);
			goto out;
		}
		if (p->stack && apply_stack && strcmp(p->stack, apply_stack)) {
			fprintf(stderr,
			        "sandform apply: %s is a plan for stack '%s', "
			        "not '%s' (--stack); nothing was changed\n",
			        args->argv[0], p->stack, apply_stack);
			goto out;
		}
		if (p->stack)
			ctx->stack = p->stack;
		/* secret files: under the roots of the manifests planned */
		for (i = 0; i < p->nactions; i++)
			if (p->actions[i].desired &&
			    p->actions[i].desired->file)
				(void)secret_policy_allow(
				        &rx.secrets,
				        p->actions[i].desired->file);
		if ((rc = runctx_open_store(&rx, ctx)) < 0 ||
		    (rc = runctx_open_client(&rx, ctx)) < 0)
			goto out;
	} else if ((rc = runctx_load(&rx, ctx, args->argc, args->argv)) < 0 ||
	           (rc = runctx_open_store(&rx, ctx)) < 0 ||
	           (rc = runctx_hash_specs(&rx)) < 0 ||
	           (rc = runctx_open_client(&rx, ctx)) < 0) {
		goto out;
	}

	exit_rc = apply_cli_begin(&rx, ctx->stack, apply_lock_timeout,
	                          args->argc > 0 ? args->argv[0] : ".", &run);
	if (exit_rc != SF_EXIT_OK)
		goto out;
	exit_rc = SF_EXIT_ERROR;

	if (saved) {
		if ((rc = apply_check_fresh(p, rx.client)) < 0) {
			runctx_fail(&rx, rc);
			store_run_finish(rx.store, run.run_id, "failed", NULL);
			goto out;
		}
	} else if ((rc = compute_plan(ctx, &rx, &p)) < 0) {
		runctx_fail(&rx, rc);
		store_run_finish(rx.store, run.run_id, "failed", NULL);
		goto out;
	}
	if (apply_cli_show_plan(ctx, p) < 0) {
		runctx_fail(&rx, SF_ERROR);
		goto out;
	}
	runctx_print_plan_errors(&rx, p);
	if (p->nerrors) {
		fprintf(stderr, "sandform apply: the plan has errors; nothing "
		                "was changed\n");
		store_run_finish(rx.store, run.run_id, "failed", NULL);
		goto out;
	}
	if (!plan_has_changes(p)) {
		apply_cli_nothing(ctx, &rx, &run);
		exit_rc = SF_EXIT_OK;
		goto out;
	}
	/* a saved plan too: shown above, it runs only with a "yes" or
	 * --auto-approve, like any other */
	if (!apply_cli_confirm("apply", apply_auto_approve,
	                       "Do you want to perform these actions?")) {
		store_run_finish(rx.store, run.run_id, "cancelled", NULL);
		goto out;
	}
	exit_rc = apply_cli_execute(ctx, &rx, p, &run, (int)apply_parallelism,
	                            apply_timeout);
out:
	apply_cli_end(&rx, &run);
	plan_free(p);
	runctx_close(&rx);
	return exit_rc;
}
