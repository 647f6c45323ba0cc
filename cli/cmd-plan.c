/*
 * sandform plan [PATH... | --git URL [--ref REF] [--path DIR] [--offline]]
 *               [--json] [--out FILE] [--detailed-exitcode]
 *               [--refresh=false] [--show-unmanaged] [--allow-mass-delete]
 *               [--stack NAME] [--state PATH] [--api-key-file FILE] [-v]
 *
 * Shows what apply would do, and never changes anything in Daytona: it
 * sends only GET requests. It loads the manifests (default "."; with --git
 * from a repository at a ref, cli/gitcli.h), refreshes
 * the stack (one label-filtered list walk, GETs only for what a list item
 * cannot answer, observations recorded in the state; a lost state is
 * rebuilt from the live labels), diffs desired against observed (see
 * plan.c for the rules) and prints the plan: human-readable by default,
 * the versioned JSON document of docs/plan-format.md with --json. --out
 * FILE also writes that document atomically as a saved plan for
 * 'sandform apply FILE'.
 *
 * Secret references are resolved for hashing only (their values enter the
 * spec label as keyed hashes and are shown as "(sensitive)"); a missing
 * secret fails the plan naming the reference.
 *
 * Exit status: 0 when the plan could be made (with --detailed-exitcode: and
 * is empty), 2 with --detailed-exitcode when there are changes, 1 on any
 * error, including per-name problems the plan reports (a name held by a
 * sandbox that is not ours, preventDestroy refusing a delete or replace,
 * the mass-delete guard); no saved plan is written then.
 */
#include "common/base.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/exitcodes.h"
#include "common/xalloc.h"
#include "cli/applycli.h"
#include "cli/commands.h"
#include "cli/gitcli.h"
#include "cli/progress.h"
#include "reconciler/plan.h"
#include "reconciler/planout.h"
#include "reconciler/reconcile.h"

int cmd_plan(struct sf_ctx *ctx, struct cli_args *args);

static const char *plan_out;
static int plan_detailed;
static int plan_refresh = 1;
static int plan_show_unmanaged;
static int plan_allow_mass_delete;
static const char *plan_timeout;

const struct cli_opt cmd_plan_opts[] = {
	SF_OPT_JSON,
	{ CLI_STRING, "out", 0, "FILE",
	  "also write the plan to FILE (for "
	  "'sandform apply FILE')",
	  &plan_out, 0, 0 },
	{ CLI_FLAG, "detailed-exitcode", 0, NULL,
	  "exit 2 when there are changes, 0 when none", &plan_detailed, 0, 0 },
	{ CLI_BOOL, "refresh", 0, NULL,
	  "read Daytona first (default); false: recorded state only",
	  &plan_refresh, 0, 0 },
	{ CLI_FLAG, "show-unmanaged", 0, NULL,
	  "also list sandboxes of the organization no stack owns",
	  &plan_show_unmanaged, 0, 0 },
	{ CLI_FLAG, "allow-mass-delete", 0, NULL,
	  "allow deleting more than the stack's mass-delete threshold (half "
	  "unless its stack file says otherwise)",
	  &plan_allow_mass_delete, 0, 0 },
	{ CLI_STRING, "timeout", 0, "DURATION",
	  "give up on one API call, its retries included, after DURATION "
	  "(default and most 5m)",
	  &plan_timeout, 0, 0 },
	APPLY_OPT_TARGET,
	APPLY_OPT_REPLACE,
	APPLY_OPT_IGNORE,
	APPLY_OPT_SECRET_DIR,
	SF_OPTS_GIT,
	SF_OPT_STACK,
	SF_OPT_STATE,
	SF_OPTS_API,
	SF_OPT_VERBOSE,
	SF_OPT_NO_COLOR,
	CLI_OPT_END,
};

static char *
counts_json(const struct plan *p)
{
	return xasprintf("{\"create\":%zu,\"update\":%zu,\"replace\":%zu,"
	                 "\"delete\":%zu,\"other\":%zu,\"errors\":%zu}",
	                 p->summary.create, p->summary.update,
	                 p->summary.replace, p->summary.delete_,
	                 p->summary.other, p->nerrors);
}

/* show: print p (human or JSON) and its notes and errors; 0 when it
 * has no errors. */
static int
show(struct sf_ctx *ctx, const struct plan *p)
{
	char *json = NULL;
	int rc;

	if (ctx->json) {
		if ((rc = plan_to_json_shown(p, &json)) < 0)
			return apply_cli_fail("plan", rc);
		printf("%s\n", json);
		free(json);
	} else {
		plan_print_human(stdout, p, ctx->color);
	}
	if (p->secrets_incomparable)
		fprintf(stderr,
		        "sandform plan: note: the secret env values of %zu "
		        "sandbox%s cannot be compared: %s spec label was made "
		        "with another state file's key (a lost or new state); "
		        "keep the state file to detect changed secrets\n",
		        p->secrets_incomparable,
		        p->secrets_incomparable == 1 ? "" : "es",
		        p->secrets_incomparable == 1 ? "its" : "their");
	apply_cli_plan_errors("plan", p, 1);
	if (p->nerrors && plan_out)
		fprintf(stderr,
		        "sandform plan: not writing '%s': the plan has "
		        "errors\n",
		        plan_out);
	return p->nerrors ? SF_EXIT_ERROR : 0;
}

int
cmd_plan(struct sf_ctx *ctx, struct cli_args *args)
{
	struct reconcile_opts o;
	struct reconcile *r = NULL;
	struct progress pg;
	struct plan *p = NULL;
	struct source *git = NULL;
	char *counts = NULL;
	int64_t timeout_ms = 0;
	int rc, exit_rc = SF_EXIT_ERROR;

	if (apply_cli_duration("plan", "timeout", plan_timeout, "30s, 5m",
	                       &timeout_ms) != 0 ||
	    git_cli_source("plan", ctx, args->argc, &git) != SF_EXIT_OK)
		return SF_EXIT_ERROR;
	progress_init(&pg, PROGRESS_QUIET, stdout, ctx->color, "plan");
	/* a saved plan is for applying: it needs a named stack */
	if (plan_out && apply_cli_need_name(ctx, "plan", "--out") != 0)
		goto out;
	apply_cli_opts(ctx, "plan", RECONCILE_PLAN, &pg, &o);
	if (apply_cli_sources(ctx, args, &o) < 0) {
		fprintf(stderr, "sandform plan: %s\n", sf_error_last());
		goto out;
	}
	o.refresh = plan_refresh;
	o.show_unmanaged = plan_show_unmanaged;
	o.allow_mass_delete = plan_allow_mass_delete;
	o.timeout_ms = timeout_ms;
	o.lock = RECONCILE_LOCK_RECORD;
	if (git) {
		o.sources = &git;
		o.nsources = 1;
		o.source = git->name;
	}
	if (apply_cli_open(&o, &r) != SF_EXIT_OK)
		goto out;
	if ((rc = reconcile_begin(r)) < 0 || (rc = reconcile_plan(r, &p)) < 0) {
		apply_cli_fail("plan", rc);
		goto out;
	}
	if (show(ctx, p) != 0)
		goto out;
	if (plan_out && p->not_compared.n) {
		fprintf(stderr,
		        "sandform plan: not writing '%s': secrets of %zu "
		        "sandbox%s were not available, and a saved plan is "
		        "applied exactly as it was made; plan with them\n",
		        plan_out, p->not_compared.n,
		        p->not_compared.n == 1 ? "" : "es");
		goto out;
	}
	if (plan_out) {
		if ((rc = reconcile_save_plan(r, p, plan_out)) < 0) {
			apply_cli_fail("plan", rc);
			goto out;
		}
		if (!ctx->json)
			printf("\nSaved the plan to %s; run 'sandform apply "
			       "%s' to apply exactly it.\n",
			       plan_out, plan_out);
	}
	exit_rc = plan_detailed && plan_has_changes(p) ? SF_EXIT_CHANGES
	                                               : SF_EXIT_OK;
out:
	if (r) {
		counts = p ? counts_json(p) : NULL;
		reconcile_finish(r, exit_rc == SF_EXIT_ERROR ? "failed" : "ok",
		                 counts);
	}
	free(counts);
	plan_free(p);
	reconcile_close(r);
	source_free(git);
	progress_free(&pg);
	apply_cli_release();
	return exit_rc;
}
