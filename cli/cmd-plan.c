/*
 * sandform plan [PATH...] [--json] [--out FILE] [--detailed-exitcode]
 *               [--refresh=false] [--show-unmanaged] [--allow-mass-delete]
 *               [--stack NAME] [--state PATH] [--api-key-file FILE] [-v]
 *
 * Shows what apply would do, and never changes anything in Daytona: it
 * sends only GET requests. It loads the manifests (default "."), refreshes
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
#include "common/log.h"
#include "common/xalloc.h"
#include "cli/commands.h"
#include "reconciler/plan.h"
#include "reconciler/planout.h"
#include "reconciler/refresh.h"
#include "cli/runctx.h"

int cmd_plan(struct sf_ctx *ctx, struct cli_args *args);

static const char *plan_out;
static int plan_detailed;
static int plan_refresh = 1;
static int plan_show_unmanaged;
static int plan_allow_mass_delete;

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
	  "allow deleting more than half of the stack's sandboxes",
	  &plan_allow_mass_delete, 0, 0 },
	SF_OPT_STACK,
	SF_OPT_STATE,
	SF_OPT_API_KEY_FILE,
	SF_OPT_VERBOSE,
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

int
cmd_plan(struct sf_ctx *ctx, struct cli_args *args)
{
	struct runctx rx = RUNCTX_INIT;
	struct refresh_opts ro;
	struct refresh_result rr;
	struct plan_input in;
	struct plan *p = NULL;
	int64_t run_id = 0;
	char *json = NULL, *counts = NULL, *locked_by = NULL;
	struct store_lock_holder lock;
	int rc, exit_rc = SF_EXIT_ERROR, locked = 0;

	memset(&rr, 0, sizeof(rr));
	memset(&lock, 0, sizeof(lock));
	rx.cmd = "plan";
	if ((rc = runctx_load(&rx, ctx, args->argc, args->argv)) < 0 ||
	    (rc = runctx_open_store(&rx, ctx)) < 0 ||
	    (rc = runctx_hash_specs(&rx)) < 0)
		goto out;
	if (plan_refresh && (rc = runctx_open_client(&rx, ctx)) < 0)
		goto out;

	run_id = runctx_run_begin(&rx, ctx->stack,
	                          args->argc > 0 ? args->argv[0] : ".");

	memset(&ro, 0, sizeof(ro));
	ro.stack = ctx->stack;
	ro.refresh = plan_refresh;
	ro.show_unmanaged = plan_show_unmanaged;
	ro.specs = rx.specs;
	ro.nspecs = rx.nspecs;
	/* recording takes the stack's lock for a moment, so a plan never
	 * overwrites what a running apply records; a locked stack is still
	 * planned, just not recorded */
	if (plan_refresh) {
		rc = store_lock_acquire(rx.store, ctx->stack, "plan", 0, &lock);
		if (rc == SF_ELOCKED) {
			log_warn("stack '%s' is locked by %s (pid %ld on %s); "
			         "planning without recording what is seen",
			         ctx->stack, lock.info, lock.pid, lock.host);
			ro.no_record = 1;
			locked_by = xasprintf("%s (pid %ld on %s)", lock.info,
			                      lock.pid, lock.host);
		} else if (rc < 0) {
			runctx_fail(&rx, rc);
			goto out;
		} else {
			locked = 1;
		}
	}
	rc = refresh_run(rx.client, rx.store, &ro, &rr);
	if (locked && store_lock_release(rx.store, lock.id) < 0)
		log_warn("releasing the stack lock: %s", sf_error_last());
	locked = 0;
	if (rc < 0) {
		runctx_fail(&rx, rc);
		goto out;
	}
	log_debug("refresh: %zu observed, %zu records, %zu pages, %zu gets, "
	          "%zu recorded%s",
	          rr.nobserved, rr.nrecords, rr.pages, rr.gets, rr.recorded,
	          rr.rebuilt ? " (state rebuilt from labels)" : "");

	runctx_plan_input(&rx, ctx->stack, &rr, &in);
	in.allow_mass_delete = plan_allow_mass_delete;
	in.refreshed = plan_refresh;
	in.locked_by = locked_by;
	if ((rc = plan_build(&in, &p)) < 0) {
		runctx_fail(&rx, rc);
		goto out;
	}
	if (rr.has_unmanaged) {
		p->has_unmanaged = 1;
		strmap_copy(&p->unmanaged, &rr.unmanaged);
	}

	if (ctx->json) {
		if ((rc = plan_to_json(p, &json)) < 0) {
			runctx_fail(&rx, rc);
			goto out;
		}
		printf("%s\n", json);
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
	runctx_print_plan_errors(&rx, p);
	if (p->nerrors) {
		if (plan_out)
			fprintf(stderr,
			        "sandform plan: not writing '%s': the "
			        "plan has errors\n",
			        plan_out);
		goto out;
	}
	if (plan_out) {
		if ((rc = planout_save(p, plan_out)) < 0) {
			runctx_fail(&rx, rc);
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
	if (run_id > 0) {
		counts = p ? counts_json(p) : NULL;
		store_run_finish(rx.store, run_id,
		                 exit_rc == SF_EXIT_ERROR ? "failed" : "ok",
		                 counts);
	}
	free(counts);
	free(locked_by);
	free(json);
	plan_free(p);
	refresh_result_clear(&rr);
	runctx_close(&rx);
	return exit_rc;
}
