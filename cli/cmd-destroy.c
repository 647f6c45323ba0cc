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
 * A sandbox with lifecycle.preventDestroy (in the manifests given as PATH,
 * in its sandform.dev/prevent-destroy label, or in the spec last applied)
 * makes destroy refuse before anything changes, unless it is named with
 * --force-destroy NAME (a NAME that is not the stack's is refused as a
 * typo). The deletes run through apply.c like any plan
 * (in parallel, journaled, waiting until each sandbox is gone); when all
 * succeeded the stack's records are emptied. Exit status as for apply.
 */
#include "common/base.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/exitcodes.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "reconciler/apply.h"
#include "cli/applycli.h"
#include "cli/commands.h"
#include "reconciler/plan.h"
#include "reconciler/refresh.h"
#include "cli/runctx.h"

int cmd_destroy(struct sf_ctx *ctx, struct cli_args *args);

static int destroy_auto_approve;
static struct cli_list destroy_force;
static long long destroy_parallelism = APPLY_DEFAULT_PARALLELISM;
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
	SF_OPT_STACK,
	SF_OPT_STATE,
	SF_OPT_API_KEY_FILE,
	SF_OPT_VERBOSE,
	CLI_OPT_END,
};

static int
forced(const char *name)
{
	int i;

	for (i = 0; i < destroy_force.n; i++)
		if (strcmp(destroy_force.v[i], name) == 0)
			return 1;
	return 0;
}

static const struct plan_record *
find_record(const struct refresh_result *rr, const char *name)
{
	size_t i;

	for (i = 0; i < rr->nrecords; i++)
		if (strcmp(rr->records[i].name, name) == 0)
			return &rr->records[i];
	return NULL;
}

static const struct spec *
find_spec(const struct runctx *rx, const char *name)
{
	size_t i;

	for (i = 0; i < rx->nspecs; i++)
		if (strcmp(rx->specs[i].name, name) == 0)
			return &rx->specs[i];
	return NULL;
}

static int
prevent_destroy(const struct spec *s, const struct dt_sandbox *o,
                const struct plan_record *r)
{
	const char *v = strmap_get(&o->labels, LABEL_PREVENT_DESTROY);

	if (s && s->prevent_destroy)
		return 1;
	if (v && strcmp(v, "true") == 0)
		return 1;
	return r && r->applied && r->applied->prevent_destroy;
}

static void
add_error(struct plan *p, const char *name, char *msg)
{
	p->errors =
	        xreallocarray(p->errors, p->nerrors + 1, sizeof(*p->errors));
	p->errors[p->nerrors].name = xstrdup(name);
	p->errors[p->nerrors].message = msg;
	p->nerrors++;
}

static int
cmp_action(const void *x, const void *y)
{
	const struct plan_action *a = x, *b = y;

	return strcmp(a->name, b->name);
}

/*
 * destroy_plan: one delete action per sandbox of the stack, in the plan
 * model, so the same executor and printers serve.
 */
static struct plan *
destroy_plan(const struct sf_ctx *ctx, const struct runctx *rx,
             const struct refresh_result *rr)
{
	struct plan *p = xcalloc(1, sizeof(*p));
	char now[SF_ISO8601_LEN + 1];
	size_t i;

	time_format_iso(time_now_ms(), now);
	p->format_version = xstrdup(PLAN_FORMAT_VERSION);
	p->stack = xstrdup(ctx->stack);
	p->created_at = xstrdup(now);
	p->refreshed = 1;
	p->managed = rr->nrecords;
	p->actions =
	        xcalloc(rr->nobserved ? rr->nobserved : 1, sizeof(*p->actions));
	for (i = 0; i < rr->nobserved; i++) {
		const struct dt_sandbox *o = rr->observed[i];
		const struct plan_record *r = find_record(rr, o->name);
		struct plan_action *a;
		enum dt_state st = o->state;

		/* ours only when the state agrees (DESIGN.md §4) */
		if (r == NULL || (r->id && o->id && strcmp(r->id, o->id) != 0))
			continue;
		if (st == DT_STATE_DESTROYED || st == DT_STATE_DESTROYING)
			continue;
		if (prevent_destroy(find_spec(rx, o->name), o, r) &&
		    !forced(o->name)) {
			add_error(p, o->name,
			          xasprintf("refusing to destroy '%s': "
			                    "lifecycle.preventDestroy is set "
			                    "(name it with --force-destroy %s)",
			                    o->name, o->name));
			continue;
		}
		a = &p->actions[p->nactions++];
		a->name = xstrdup(o->name);
		a->kind = PLAN_DELETE;
		a->sandbox_id = o->id ? xstrdup(o->id) : NULL;
		a->source = xstrdup("destroy");
		a->reasons = xcalloc(1, sizeof(*a->reasons));
		a->reasons[0].field = xstrdup("sandbox");
		a->reasons[0].old = o->id ? xstrdup(o->id) : NULL;
		a->reasons[0].category = PLAN_CAT_REMOVED;
		a->reasons[0].origin = PLAN_ORIGIN_MANIFEST;
		a->nreasons = 1;
		if (dt_state_is_transitional(st))
			a->steps[a->nsteps++].kind = STEP_WAIT_STABLE;
		a->steps[a->nsteps++].kind = STEP_DELETE;
		a->steps[a->nsteps++].kind = STEP_WAIT_GONE;
		a->observed = plan_observed_dup(o);
		a->fingerprint = plan_fingerprint(o);
		if (a->sandbox_id == NULL) {
			/* cannot happen for a listed sandbox; be safe */
			a->nsteps = 0;
		}
	}
	/* a --force-destroy that names nothing of the stack is a typo */
	for (i = 0; i < (size_t)destroy_force.n; i++)
		if (find_record(rr, destroy_force.v[i]) == NULL)
			add_error(
			        p, destroy_force.v[i],
			        xasprintf("--force-destroy %s: stack '%s' has "
			                  "no sandbox of that name",
			                  destroy_force.v[i], ctx->stack));
	if (p->nactions > 1)
		qsort(p->actions, p->nactions, sizeof(*p->actions), cmp_action);
	p->summary.delete_ = p->nactions;
	p->summary.by_kind[PLAN_DELETE] = p->nactions;
	return p;
}

int
cmd_destroy(struct sf_ctx *ctx, struct cli_args *args)
{
	struct runctx rx = RUNCTX_INIT;
	struct apply_cli_run run = APPLY_CLI_RUN_INIT;
	struct refresh_opts ro;
	struct refresh_result rr;
	struct plan *p = NULL;
	size_t i;
	char *question = NULL;
	int rc, exit_rc = SF_EXIT_ERROR;

	run.t0_ms = time_mono_ms();
	memset(&rr, 0, sizeof(rr));
	rx.cmd = "destroy";
	apply_cli_signals();
	/* manifests are optional: they only add preventDestroy flags */
	if (args->argc > 0 &&
	    ((rc = runctx_load(&rx, ctx, args->argc, args->argv)) < 0))
		goto out;
	if ((rc = runctx_open_store(&rx, ctx)) < 0 ||
	    (rc = runctx_open_client(&rx, ctx)) < 0)
		goto out;
	exit_rc = apply_cli_begin(&rx, ctx->stack, destroy_lock_timeout,
	                          args->argc > 0 ? args->argv[0] : NULL, &run);
	if (exit_rc != SF_EXIT_OK)
		goto out;
	exit_rc = SF_EXIT_ERROR;

	memset(&ro, 0, sizeof(ro));
	ro.stack = ctx->stack;
	ro.refresh = 1;
	if ((rc = refresh_run(rx.client, rx.store, &ro, &rr)) < 0) {
		runctx_fail(&rx, rc);
		store_run_finish(rx.store, run.run_id, "failed", NULL);
		goto out;
	}
	p = destroy_plan(ctx, &rx, &rr);
	if (apply_cli_show_plan(ctx, p) < 0) {
		runctx_fail(&rx, SF_ERROR);
		goto out;
	}
	for (i = 0; i < p->nerrors; i++)
		fprintf(stderr, "sandform destroy: %s\n", p->errors[i].message);
	if (p->nerrors) {
		fprintf(stderr, "sandform destroy: nothing was changed\n");
		store_run_finish(rx.store, run.run_id, "failed", NULL);
		goto out;
	}
	if (!plan_has_changes(p)) {
		store_record_delete_stack(rx.store, ctx->stack);
		apply_cli_nothing(ctx, &rx, &run);
		exit_rc = SF_EXIT_OK;
		goto out;
	}
	question = xasprintf("Do you really want to destroy all %zu "
	                     "sandbox%s of stack '%s'? There is no undo.",
	                     p->nactions, p->nactions == 1 ? "" : "es",
	                     ctx->stack);
	if (!apply_cli_confirm("destroy", destroy_auto_approve, question)) {
		store_run_finish(rx.store, run.run_id, "cancelled", NULL);
		goto out;
	}
	exit_rc = apply_cli_execute(ctx, &rx, p, &run, (int)destroy_parallelism,
	                            destroy_timeout);
	if (exit_rc == SF_EXIT_OK &&
	    store_record_delete_stack(rx.store, ctx->stack) < 0) {
		runctx_fail(&rx, SF_EIO);
		exit_rc = SF_EXIT_ERROR;
	}
out:
	apply_cli_end(&rx, &run);
	free(question);
	plan_free(p);
	refresh_result_clear(&rr);
	runctx_close(&rx);
	cli_list_free(&destroy_force);
	return exit_rc;
}
