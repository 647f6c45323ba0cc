/*
 * sandform destroy [PATH...] [--auto-approve] [--force-destroy NAME]...
 *                  [--parallelism N] [--timeout DURATION]
 *                  [--lock-timeout DURATION] [--json] [--stack NAME]
 *                  [--state PATH] [--api-key-file FILE] [-v]
 *
 * Deletes every sandbox of the stack: the ones that both the state and
 * their live sandform.dev/stack label say are this stack's (after a lost
 * state, the ones the labels name: refresh rebuilds the records from
 * them). Sandboxes sandform does not own are never touched. It takes the
 * lock, resolves an interrupted run's journal, refreshes, shows the
 * deletes and asks as apply does (--auto-approve without a terminal).
 *
 * A sandbox protected by lifecycle.preventDestroy makes destroy refuse
 * before anything changes, unless it is named with --force-destroy NAME (a
 * NAME that is not the stack's is refused as a typo). Protection is the
 * planner's one rule (plan_build_destroy): when the manifests given as
 * PATH name the sandbox, their preventDestroy alone decides, as in plan
 * and apply; otherwise its sandform.dev/prevent-destroy label or the spec
 * last applied. The deletes run through apply.c like any plan (in
 * parallel, journaled, waiting until each sandbox is gone); when all
 * succeeded the stack's records are forgotten, but those of volumes and
 * snapshots kept because a sandbox outside the stack uses them (still the
 * stack's: a later destroy deletes them). Exit status as for apply.
 */
#include "common/base.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/timeutil.h"
#include "common/exitcodes.h"
#include "common/xalloc.h"
#include "cli/applycli.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "reconciler/apply.h"
#include "reconciler/plan.h"
#include "reconciler/reconcile.h"

int cmd_destroy(struct sf_ctx *ctx, struct cli_args *args);

static int destroy_auto_approve;
static struct cli_list destroy_force;
static long long destroy_parallelism; /* 0: the stack file's, or 16 */
static const char *destroy_timeout;
static const char *destroy_lock_timeout;

const struct cli_opt cmd_destroy_opts[] = {
	{ CLI_FLAG, "auto-approve", 0, NULL,
	  "destroy without asking (required without a terminal)",
	  &destroy_auto_approve, 0, 0 },
	{ CLI_LIST, "force-destroy", 0, "NAME",
	  "also delete NAME although lifecycle.preventDestroy is set "
	  "(repeatable)",
	  &destroy_force, 0, 0 },
	{ CLI_INT, "parallelism", 0, "N",
	  "API calls in flight at once (default 16)", &destroy_parallelism, 1,
	  APPLY_MAX_PARALLELISM },
	{ CLI_STRING, "timeout", 0, "DURATION",
	  "how long to wait for each sandbox (default 10m)", &destroy_timeout,
	  0, 0 },
	{ CLI_STRING, "lock-timeout", 0, "DURATION",
	  "wait this long for the stack's lock (default: do not wait)",
	  &destroy_lock_timeout, 0, 0 },
	SF_OPT_JSON,
	APPLY_OPT_TARGET,
	SF_OPT_STACK,
	SF_OPT_STATE,
	SF_OPTS_API,
	SF_OPT_VERBOSE,
	SF_OPT_NO_COLOR,
	CLI_OPT_END,
};

/* decide: show p, refuse errors, ask; SF_EXIT_OK to run it (*go set),
 * or the exit status of a run that ends here. */
static int
decide(struct sf_ctx *ctx, struct reconcile *r, const struct plan *p, int *go)
{
	char *question;
	int64_t asked;
	int yes;

	*go = 0;
	if (apply_cli_show_plan(ctx, p) < 0)
		return apply_cli_fail("destroy", SF_ERROR);
	apply_cli_plan_errors("destroy", p, 0);
	if (p->nerrors) {
		fprintf(stderr, "sandform destroy: nothing was changed\n");
		reconcile_finish(r, "failed", NULL);
		return SF_EXIT_ERROR;
	}
	if (!plan_has_changes(p)) {
		reconcile_nothing(r);
		return SF_EXIT_OK;
	}
	question = xasprintf("Do you really want to destroy all %zu "
	                     "sandbox%s of stack '%s'? There is no undo.",
	                     p->nactions, p->nactions == 1 ? "" : "es",
	                     ctx->stack);
	asked = time_mono_ms();
	yes = apply_cli_confirm("destroy", destroy_auto_approve, question);
	reconcile_not_counted(r, time_mono_ms() - asked);
	free(question);
	if (!yes) {
		reconcile_finish(r, "cancelled", NULL);
		return SF_EXIT_ERROR;
	}
	*go = 1;
	return SF_EXIT_OK;
}

int
cmd_destroy(struct sf_ctx *ctx, struct cli_args *args)
{
	struct reconcile_opts o;
	struct reconcile *r = NULL;
	struct progress pg;
	struct plan *p = NULL;
	int64_t lock_ms = 0, timeout_ms = 0;
	int rc, exit_rc = SF_EXIT_ERROR, go = 0;

	destroy_lock_timeout =
	        apply_cli_lock_timeout(ctx, destroy_lock_timeout);
	if (apply_cli_need_name(ctx, "destroy", "destroy") != SF_EXIT_OK ||
	    apply_cli_duration("destroy", "lock-timeout", destroy_lock_timeout,
	                       "30s, 5m", &lock_ms) != 0 ||
	    apply_cli_duration("destroy", "timeout", destroy_timeout,
	                       "90s, 10m", &timeout_ms) != 0)
		goto out;
	progress_init(&pg, apply_cli_mode(ctx), stdout, ctx->color, "destroy");
	pg.lock_timeout = destroy_lock_timeout;
	apply_cli_opts(ctx, "destroy", RECONCILE_DESTROY, &pg, &o);
	/* manifests are optional: they only say what is protected (the
	 * operands, else the stack file's sources) */
	if (apply_cli_sources(ctx, args, &o) < 0) {
		fprintf(stderr, "sandform destroy: %s\n", sf_error_last());
		goto out;
	}
	o.no_sources = o.npaths == 0 && o.nsources == 0;
	o.lock = RECONCILE_LOCK_HOLD;
	o.lock_timeout_ms = lock_ms;
	o.force_destroy = (const char *const *)destroy_force.v;
	o.nforce = (size_t)destroy_force.n;
	o.parallelism = apply_cli_parallelism(ctx, destroy_parallelism);
	o.timeout_ms = timeout_ms;
	o.cancel = apply_cli_signals();
	if (apply_cli_open(&o, &r) == SF_EXIT_OK &&
	    (exit_rc = apply_cli_begin(r, "destroy", ctx->stack)) ==
	            SF_EXIT_OK) {
		if ((rc = reconcile_plan(r, &p)) < 0)
			exit_rc = apply_cli_fail("destroy", rc);
		else
			exit_rc = decide(ctx, r, p, &go);
		if (go)
			exit_rc = apply_cli_execute(ctx, r, p, "destroy");
	}
	plan_free(p);
	reconcile_close(r);
	progress_free(&pg);
out:
	cli_list_free(&destroy_force);
	apply_cli_release();
	return exit_rc;
}
