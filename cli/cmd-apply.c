/*
 * sandform apply [PATH... | PLANFILE | --git URL [--ref REF] [--path DIR]
 *                [--offline]] [--auto-approve] [--parallelism N]
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
 * --auto-approve. A saved plan was the review: it is shown and run
 * without asking again (as terraform apply PLANFILE). It must be the only
 * operand (not mixed with
 * manifest paths), and a --stack that names another stack than the plan's
 * is refused. Nothing to do exits 0 at once. With --git the manifests come
 * from a repository at a ref (cli/gitcli.h); a saved plan applied with
 * --git is refused, naming both revisions, when the ref has moved since
 * the plan was made.
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
 * The pipeline is reconciler/reconcile.c; what apply and destroy share on
 * the command line is cli/applycli.c, the rendering cli/progress.c.
 */
#include "common/base.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/timeutil.h"
#include "common/exitcodes.h"
#include "cli/applycli.h"
#include "cli/commands.h"
#include "cli/gitcli.h"
#include "cli/progress.h"
#include "reconciler/apply.h"
#include "reconciler/plan.h"
#include "reconciler/planout.h"
#include "reconciler/reconcile.h"

int cmd_apply(struct sf_ctx *ctx, struct cli_args *args);

static int apply_auto_approve;
static long long apply_parallelism; /* 0: the stack file's, or 16 */
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
	  "allow deleting more than the stack's mass-delete threshold (half "
	  "unless its stack file says otherwise)",
	  &apply_allow_mass_delete, 0, 0 },
	SF_OPT_JSON,
	APPLY_OPT_TARGET,
	APPLY_OPT_REPLACE,
	APPLY_OPT_IGNORE,
	APPLY_OPT_SECRET_DIR,
	SF_OPT_STACK,
	SF_OPTS_GIT,
	SF_OPT_STATE,
	SF_OPTS_API,
	SF_OPT_VERBOSE,
	SF_OPT_NO_COLOR,
	CLI_OPT_END,
};

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

/* load_saved: the saved plan of args (for its stack); SF_EXIT_OK or
 * SF_EXIT_ERROR (said). */
static int
load_saved(struct sf_ctx *ctx, const struct cli_args *args, struct plan **p)
{
	int rc;

	if ((rc = planout_load(args->argv[0], p)) < 0)
		return apply_cli_fail("apply", rc);
	/* a stack named on the command line or in the environment must be
	 * the plan's; a stack file's name yields to it (the plan names its
	 * stack) */
	if ((*p)->stack &&
	    (ctx->stack_from == SF_STACK_FLAG ||
	     ctx->stack_from == SF_STACK_ENV) &&
	    strcmp((*p)->stack, ctx->stack)) {
		fprintf(stderr,
		        "sandform apply: %s is a plan for stack '%s', not "
		        "'%s' (%s); nothing was changed\n",
		        args->argv[0], (*p)->stack, ctx->stack,
		        ctx->stack_from == SF_STACK_FLAG ? "--stack"
		                                         : "SANDFORM_STACK");
		return SF_EXIT_ERROR;
	}
	if ((*p)->stack) {
		ctx->stack = (*p)->stack;
		ctx->stack_from = SF_STACK_FLAG;
	}
	return SF_EXIT_OK;
}

/* decide: show p, refuse errors, ask; SF_EXIT_OK to apply it (*go set),
 * or the exit status of a run that ends here. */
static int
decide(struct sf_ctx *ctx, struct reconcile *r, const struct plan *p, int saved,
       int *go)
{
	int64_t asked;
	int yes;

	*go = 0;
	if (apply_cli_show_plan(ctx, p) < 0)
		return apply_cli_fail("apply", SF_ERROR);
	apply_cli_plan_errors("apply", p, 1);
	if (p->nerrors) {
		fprintf(stderr, "sandform apply: the plan has errors; nothing "
		                "was changed\n");
		reconcile_finish(r, "failed", NULL);
		return SF_EXIT_ERROR;
	}
	if (!plan_has_changes(p)) {
		reconcile_nothing(r);
		return SF_EXIT_OK;
	}
	/* a saved plan was the review (as terraform apply PLANFILE): shown
	 * above, checked fresh, run without asking again */
	asked = time_mono_ms();
	yes = saved || apply_cli_confirm("apply", apply_auto_approve,
	                                 "Do you want to perform these "
	                                 "actions?");
	/* the summary's time is the run's, not the person's at the prompt */
	reconcile_not_counted(r, time_mono_ms() - asked);
	if (!yes) {
		reconcile_finish(r, "cancelled", NULL);
		return SF_EXIT_ERROR;
	}
	*go = 1;
	return SF_EXIT_OK;
}

int
cmd_apply(struct sf_ctx *ctx, struct cli_args *args)
{
	struct reconcile_opts o;
	struct reconcile *r = NULL;
	struct progress pg;
	struct plan *p = NULL;
	struct sf_cancel *tok;
	struct source *git = NULL;
	int64_t lock_ms = 0, timeout_ms = 0;
	int rc, exit_rc = SF_EXIT_ERROR, saved, go = 0;

	apply_lock_timeout = apply_cli_lock_timeout(ctx, apply_lock_timeout);
	if ((saved = saved_plan_arg(args)) < 0 ||
	    apply_cli_duration("apply", "lock-timeout", apply_lock_timeout,
	                       "30s, 5m", &lock_ms) != 0 ||
	    apply_cli_duration("apply", "timeout", apply_timeout, "90s, 10m",
	                       &timeout_ms) != 0)
		return SF_EXIT_ERROR;
	tok = apply_cli_signals();
	progress_init(&pg, apply_cli_mode(ctx), stdout, ctx->color, "apply");
	pg.lock_timeout = apply_lock_timeout;
	if (git_cli_source("apply", ctx, saved ? 0 : args->argc, &git) !=
	    SF_EXIT_OK)
		goto out;
	if (saved && load_saved(ctx, args, &p) != SF_EXIT_OK)
		goto out;
	if (apply_cli_need_name(ctx, "apply", "apply") != SF_EXIT_OK)
		goto out;
	/* a reviewed plan from a ref that has moved since is refused */
	if (saved && git && git_cli_check_saved("apply", git, p) != SF_EXIT_OK)
		goto out;
	apply_cli_opts(ctx, "apply", RECONCILE_APPLY, &pg, &o);
	if (apply_cli_sources(ctx, args, &o) < 0) {
		fprintf(stderr, "sandform apply: %s\n", sf_error_last());
		goto out;
	}
	o.no_sources = saved;
	o.allow_mass_delete = apply_allow_mass_delete;
	o.lock = RECONCILE_LOCK_HOLD;
	o.lock_timeout_ms = lock_ms;
	if (git && !saved) {
		o.sources = &git;
		o.nsources = 1;
		o.source = git->name;
	}
	o.parallelism = apply_cli_parallelism(ctx, apply_parallelism);
	o.timeout_ms = timeout_ms;
	o.cancel = tok;
	if (apply_cli_open(&o, &r) != SF_EXIT_OK)
		goto out;
	exit_rc = apply_cli_begin(r, "apply", ctx->stack);
	if (exit_rc != SF_EXIT_OK)
		goto out;
	rc = saved ? reconcile_check_saved(r, p) : reconcile_plan(r, &p);
	if (rc < 0) {
		exit_rc = apply_cli_fail("apply", rc);
		goto out;
	}
	exit_rc = decide(ctx, r, p, saved, &go);
	if (go)
		exit_rc = apply_cli_execute(ctx, r, p, "apply");
out:
	plan_free(p);
	reconcile_close(r);
	source_free(git);
	progress_free(&pg);
	apply_cli_release();
	return exit_rc;
}
