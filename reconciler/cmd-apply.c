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
 * --auto-approve. A saved plan was reviewed when it was made and runs
 * without asking. Nothing to do exits 0 at once.
 *
 * The plan runs through apply.c: bounded parallelism, waits by polling the
 * whole stack at once, a journal entry around every mutating call, create
 * idempotent by name. Secrets are resolved before the first call. Progress
 * is one live line per sandbox on a terminal, one line per finished
 * sandbox otherwise, one JSON event per line with --json (plan, start,
 * progress, done, error, summary). The exit status is 0 when everything
 * converged and 1 when anything failed (the rest still completed and was
 * recorded) or was left by SIGINT/SIGTERM: calls in flight then finish and
 * are recorded, nothing new starts, and the note says what is left.
 *
 * This file also holds what destroy shares with apply (lock, signals,
 * confirmation, the run and its summary): see apply_cli_* in applycli.h.
 */
#include "config.h"

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
#include "reconciler/applycli.h"
#include "reconciler/commands.h"
#include "reconciler/plan.h"
#include "reconciler/planout.h"
#include "reconciler/refresh.h"
#include "reconciler/runctx.h"

#include "common/banned.h"

int cmd_apply(struct sf_ctx *ctx, struct cli_args *args);

static int apply_auto_approve;
static long long apply_parallelism = APPLY_DEFAULT_PARALLELISM;
static const char *apply_timeout;
static const char *apply_lock_timeout;
static int apply_allow_mass_delete;

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
	SF_OPT_STACK,
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
                const char *source, struct store_lock_holder *lock, int *locked,
                int64_t *run_id, size_t *recovered)
{
	int rc = apply_cli_lock(rx->store, stack, rx->cmd, lock_timeout, lock);

	if (rc != SF_EXIT_OK)
		return rc;
	*locked = 1;
	*run_id = runctx_run_begin(rx, stack, source);
	if (apply_recover(rx->client, rx->store, stack, *run_id, recovered) <
	    0) {
		fprintf(stderr,
		        "sandform %s: resolving an interrupted run: %s\n",
		        rx->cmd, sf_error_last());
		return SF_EXIT_ERROR;
	}
	return SF_EXIT_OK;
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

static void
summary_json(const struct apply_stats *st, const char *cmd, int interrupted)
{
	printf("{\"event\":\"summary\",\"command\":\"%s\",\"total\":%zu,"
	       "\"done\":%zu,\"failed\":%zu,\"left\":%zu,\"interrupted\":%s,"
	       "\"elapsed_ms\":%lld,\"requests\":%llu,\"retries\":%llu,"
	       "\"throttled\":%llu}\n",
	       cmd, st->total, st->done, st->failed, st->left,
	       interrupted ? "true" : "false", (long long)st->elapsed_ms,
	       (unsigned long long)st->http.requests,
	       (unsigned long long)st->http.retries,
	       (unsigned long long)st->http.throttled);
}

int
apply_cli_execute(struct sf_ctx *ctx, struct runctx *rx, const struct plan *p,
                  int64_t run_id, const char *lock_id, int parallelism,
                  const char *timeout)
{
	struct apply_opts o;
	struct apply_stats st;
	long long timeout_ms = APPLY_DEFAULT_TIMEOUT_MS;
	char *counts = NULL;
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
	if (lock_id && store_lock_renew(rx->store, lock_id, 0) < 0) {
		fprintf(stderr,
		        "sandform %s: lost the stack lock while waiting for "
		        "confirmation (%s); nothing was changed\n",
		        rx->cmd, sf_error_last());
		store_run_finish(rx->store, run_id, "failed", NULL);
		return SF_EXIT_LOCKED;
	}
	memset(&o, 0, sizeof(o));
	o.stack = p->stack ? p->stack : ctx->stack;
	o.parallelism = parallelism;
	o.timeout_ms = timeout_ms;
	o.run_id = run_id;
	o.lock_id = lock_id;
	o.out = stdout;
	o.color = ctx->color;
	o.resolve = spec_secret_resolve_manifest;
	o.command = rx->cmd;
	if (ctx->json)
		o.output = APPLY_OUT_JSON;
	else if (isatty(STDOUT_FILENO))
		o.output = APPLY_OUT_TTY;
	else
		o.output = APPLY_OUT_LINES;
	if (!ctx->json)
		printf("\n");
	rc = apply_run(p, rx->client, rx->store, &o, &st);
	if (rc < 0) {
		/* nothing was called: e.g. a missing secret */
		fprintf(stderr, "sandform %s: %s; nothing was changed\n",
		        rx->cmd, sf_error_last());
		store_run_finish(rx->store, run_id, "failed", NULL);
		return SF_EXIT_ERROR;
	}
	interrupted = apply_stop_requested();
	if (ctx->json) {
		summary_json(&st, rx->cmd, interrupted);
	} else {
		printf("\n%s %s: %zu of %zu done, %zu failed%s%s in %.1fs "
		       "(%llu API requests)\n",
		       strcmp(rx->cmd, "destroy") == 0 ? "Destroy" : "Apply",
		       st.failed || st.left ? "incomplete" : "complete",
		       st.done, st.total, st.failed, st.left ? ", " : "",
		       st.left ? "some left" : "",
		       (double)st.elapsed_ms / 1000.0,
		       (unsigned long long)st.http.requests);
		if (st.left)
			printf("%zu %s left unfinished by the stop request; "
			       "run 'sandform %s' again to finish\n",
			       st.left,
			       st.left == 1 ? "action was"
			                    : "actions "
			                      "were",
			       rx->cmd);
	}
	if (st.left && !ctx->json)
		fprintf(stderr, "sandform %s: interrupted: %zu action%s left\n",
		        rx->cmd, st.left, st.left == 1 ? "" : "s");
	outcome = interrupted ? "interrupted" : (st.failed ? "failed" : "ok");
	counts = xasprintf("{\"total\":%zu,\"done\":%zu,\"failed\":%zu,"
	                   "\"left\":%zu,\"requests\":%llu}",
	                   st.total, st.done, st.failed, st.left,
	                   (unsigned long long)st.http.requests);
	store_run_finish(rx->store, run_id, outcome, counts);
	free(counts);
	return st.failed || st.left ? SF_EXIT_ERROR : SF_EXIT_OK;
}

/* ---- apply -------------------------------------------------------------- */

/* is_plan_file: one argument naming a saved plan (JSON), not manifests. */
static int
is_plan_file(struct cli_args *args)
{
	const char *p;
	size_t n;
	FILE *fp;
	int c;

	if (args->argc != 1)
		return 0;
	p = args->argv[0];
	n = strlen(p);
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
	struct store_lock_holder lock;
	struct plan *p = NULL;
	int64_t run_id = 0;
	size_t recovered = 0;
	int rc, exit_rc = SF_EXIT_ERROR, locked = 0, saved;

	memset(&lock, 0, sizeof(lock));
	rx.cmd = "apply";
	saved = is_plan_file(args);
	apply_cli_signals();
	if (saved) {
		if ((rc = planout_load(args->argv[0], &p)) < 0) {
			runctx_fail(&rx, rc);
			goto out;
		}
		if (p->stack && strcmp(p->stack, ctx->stack) != 0) {
			log_debug("saved plan is for stack '%s'", p->stack);
			ctx->stack = p->stack;
		}
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
	                          args->argc > 0 ? args->argv[0] : ".", &lock,
	                          &locked, &run_id, &recovered);
	if (exit_rc != SF_EXIT_OK)
		goto out;
	exit_rc = SF_EXIT_ERROR;
	if (recovered)
		fprintf(stderr,
		        "sandform apply: resolved %zu journal entr%s left by "
		        "an interrupted run\n",
		        recovered, recovered == 1 ? "y" : "ies");

	if (saved) {
		if ((rc = apply_check_fresh(p, rx.client)) < 0) {
			runctx_fail(&rx, rc);
			goto out;
		}
	} else if ((rc = compute_plan(ctx, &rx, &p)) < 0) {
		runctx_fail(&rx, rc);
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
		store_run_finish(rx.store, run_id, "failed", NULL);
		goto out;
	}
	if (!plan_has_changes(p)) {
		if (ctx->json) {
			struct apply_stats none;

			memset(&none, 0, sizeof(none));
			summary_json(&none, "apply", 0);
		}
		store_run_finish(rx.store, run_id, "ok", "{\"total\":0}");
		exit_rc = SF_EXIT_OK;
		goto out;
	}
	if (!saved &&
	    !apply_cli_confirm("apply", apply_auto_approve,
	                       "Do you want to perform these actions?")) {
		store_run_finish(rx.store, run_id, "cancelled", NULL);
		goto out;
	}
	exit_rc = apply_cli_execute(ctx, &rx, p, run_id, lock.id,
	                            (int)apply_parallelism, apply_timeout);
out:
	if (locked && store_lock_release(rx.store, lock.id) < 0)
		log_warn("releasing the lock: %s", sf_error_last());
	plan_free(p);
	runctx_close(&rx);
	return exit_rc;
}
