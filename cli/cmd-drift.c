/*
 * sandform drift [PATH... | --git URL ...] [--json] [--diff-exit-code N]
 *                [--ignore RULE]... [--history] [--stack NAME] [-v]
 *
 * What changed in Daytona outside sandform, read-only: the plan pipeline
 * (GET requests only), keeping the differences whose origin is out of band
 * (plan.h: the manifests ask what was last applied, the live sandbox
 * moved): a sandbox deleted (missing), started, stopped or archived
 * (state), its labels, resources, settings or network changed, or a
 * create-only field (spec). A sandbox Daytona auto-stopped or archived by
 * its own policy while the manifest leaves state unset is not drift (the
 * plan has nothing to put back). Ignore rules (--ignore, the stack file's
 * ignore:) drop differences here as they do for plan and apply. Each
 * finding is recorded in the state under the run; --history reads them
 * back: per difference, when it was first and last seen and when a later
 * drift run no longer saw it. Declared volumes and snapshots of the stack
 * are drift when deleted outside sandform (missing) or, for a snapshot, in
 * error or inactive (state).
 *
 * Exit status: 0 no drift, 2 (or --diff-exit-code N) drift, 1 an error.
 */
#include "common/base.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/escape.h"
#include "common/exitcodes.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "cli/applycli.h"
#include "cli/commands.h"
#include "cli/gitcli.h"
#include "cli/progress.h"
#include "reconciler/plan.h"
#include "reconciler/reconcile.h"

int cmd_drift(struct sf_ctx *ctx, struct cli_args *args);

static long long drift_exit = SF_EXIT_CHANGES;
static int drift_history;

const struct cli_opt cmd_drift_opts[] = {
	{ CLI_INT, "diff-exit-code", 0, "N",
	  "the exit status when there is drift (default 2)", &drift_exit, 1,
	  255 },
	{ CLI_FLAG, "history", 0, NULL,
	  "list what earlier drift runs found and when it was resolved",
	  &drift_history, 0, 0 },
	APPLY_OPT_IGNORE,
	SF_OPTS_GIT,
	SF_OPT_JSON,
	SF_OPT_STACK,
	SF_OPT_STATE,
	SF_OPTS_API,
	SF_OPT_VERBOSE,
	CLI_OPT_END,
};

/* One difference made outside sandform. */
struct finding {
	const char *name;
	const char *category;
	const char *field;
	const char *live;     /* NULL: absent */
	const char *expected; /* NULL: absent */
	char *own;            /* what expected points to when made here */
};

struct findings {
	struct finding *v;
	size_t n;
	size_t pending; /* actions with changes from the manifests */
};

/* collect_res: a declared volume or snapshot of the stack deleted outside
 * sandform (missing), or a snapshot of it in error or inactive (state);
 * its other steps are pending changes from the manifests. */
static void
collect_res(const struct plan *p, struct findings *f)
{
	size_t i;

	for (i = 0; i < p->nresources; i++) {
		const struct plan_resource *r = &p->resources[i];
		const char *why = r->reason ? r->reason : "";
		const char *word = res_kind_word(r->kind);
		struct finding *x;
		int missing = r->op == PLAN_RES_CREATE &&
		              !strcmp(why, PLAN_RES_DELETED_OUTSIDE);
		int state =
		        (r->op == PLAN_RES_REPLACE || r->op == PLAN_RES_KEEP) &&
		        !strncmp(why, "state ", 6);

		if (!missing && !state) {
			if (r->op != PLAN_RES_KEEP)
				f->pending++;
			continue;
		}
		f->v = xreallocarray(f->v, f->n + 1, sizeof(*f->v));
		x = &f->v[f->n++];
		memset(x, 0, sizeof(*x));
		x->name = x->own = res_key(r->kind, r->name);
		x->category = plan_category_name(missing ? PLAN_CAT_MISSING
		                                         : PLAN_CAT_STATE);
		x->field = missing ? word : "state";
		x->live = missing ? "(deleted)" : why + 6;
		x->expected = missing                 ? "(exists)"
		              : r->kind == RES_VOLUME ? "ready"
		                                      : "active";
	}
}

/* collect: the out-of-band reasons of p (a deleted sandbox once). */
static void
collect(const struct plan *p, struct findings *f)
{
	size_t i, j;

	memset(f, 0, sizeof(*f));
	for (i = 0; i < p->nactions; i++) {
		const struct plan_action *a = &p->actions[i];
		int pending = 0;

		for (j = 0; j < a->nreasons; j++) {
			const struct plan_reason *r = &a->reasons[j];
			struct finding *x;

			if (r->origin != PLAN_ORIGIN_OUT_OF_BAND) {
				pending = 1;
				continue;
			}
			if (r->category == PLAN_CAT_MISSING &&
			    strcmp(r->field, "sandbox") != 0)
				continue;
			f->v = xreallocarray(f->v, f->n + 1, sizeof(*f->v));
			x = &f->v[f->n++];
			memset(x, 0, sizeof(*x));
			x->name = a->name;
			x->category = plan_category_name(r->category);
			x->field = r->field;
			if (r->category == PLAN_CAT_MISSING) {
				x->live = "(deleted)";
				x->expected = x->own = xasprintf(
				        "(exists: %s)", r->old ? r->old : "?");
			} else {
				x->live = r->old;
				x->expected = r->new_;
			}
		}
		f->pending += pending;
	}
	collect_res(p, f);
}

/* record: each finding under the run (values are never secrets: a
 * secret's reason says "(sensitive)"). */
static int
record(struct reconcile *r, const char *stack, const struct findings *f)
{
	size_t i;
	int rc;

	for (i = 0; i < f->n; i++)
		if ((rc = store_drift_add(
		             reconcile_store(r), reconcile_run_id(r), stack,
		             f->v[i].name, f->v[i].category, f->v[i].field,
		             f->v[i].live, f->v[i].expected)) < 0)
			return rc;
	return 0;
}

static void
put(const char *s)
{
	char *e = esc_text(s);

	fputs(e, stdout);
	free(e);
}

static void
show_human(const char *stack, const struct findings *f)
{
	size_t i;

	if (f->n == 0)
		printf("No drift in stack '%s': Daytona matches what sandform "
		       "last applied.\n",
		       stack);
	else
		printf("Drift in stack '%s': %zu difference%s made outside "
		       "sandform:\n",
		       stack, f->n, f->n == 1 ? "" : "s");
	for (i = 0; i < f->n; i++) {
		printf("  ");
		put(f->v[i].name);
		printf(" (%s) ", f->v[i].category);
		put(f->v[i].field);
		printf(": ");
		put(f->v[i].live ? f->v[i].live : "(none)");
		printf(", expected ");
		put(f->v[i].expected ? f->v[i].expected : "(none)");
		printf("\n");
	}
	if (f->n)
		printf("\n'sandform apply' puts them back; an ignore rule "
		       "(--ignore, the stack file's ignore:) leaves one "
		       "alone.\n");
	if (f->pending)
		printf("%s%zu change%s from the manifests %s pending (not "
		       "drift): see 'sandform plan'.\n",
		       f->n ? "" : "\n", f->pending, f->pending == 1 ? "" : "s",
		       f->pending == 1 ? "is" : "are");
}

static void
add_str_or_null(cJSON *o, const char *k, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, k, v);
	else
		cJSON_AddNullToObject(o, k);
}

static void
show_json(const char *stack, const char *revision, const struct findings *f)
{
	cJSON *j = cJSON_CreateObject(), *arr, *counts, *x;
	char *text;
	size_t i;

	cJSON_AddStringToObject(j, "stack", stack);
	add_str_or_null(j, "revision", revision);
	cJSON_AddBoolToObject(j, "drift", f->n > 0);
	arr = cJSON_AddArrayToObject(j, "findings");
	counts = cJSON_AddObjectToObject(j, "counts");
	for (i = 0; i < f->n; i++) {
		cJSON *c = cJSON_GetObjectItemCaseSensitive(counts,
		                                            f->v[i].category);

		x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "name", f->v[i].name);
		cJSON_AddStringToObject(x, "category", f->v[i].category);
		cJSON_AddStringToObject(x, "field", f->v[i].field);
		add_str_or_null(x, "live", f->v[i].live);
		add_str_or_null(x, "expected", f->v[i].expected);
		cJSON_AddItemToArray(arr, x);
		if (c)
			cJSON_SetNumberValue(c, c->valuedouble + 1);
		else
			cJSON_AddNumberToObject(counts, f->v[i].category, 1);
	}
	cJSON_AddNumberToObject(j, "pending", (double)f->pending);
	text = cJSON_PrintUnformatted(j);
	printf("%s\n", text ? text : "{}");
	cJSON_free(text);
	cJSON_Delete(j);
}

/* counts_json: the run record's counts. */
static char *
counts_json(const struct findings *f)
{
	return xasprintf("{\"drift\":%zu,\"pending\":%zu}", f->n, f->pending);
}

/* cli/drift-history.c */
int drift_history_show(struct sf_ctx *ctx, const char *stack);

int
cmd_drift(struct sf_ctx *ctx, struct cli_args *args)
{
	struct reconcile_opts o;
	struct reconcile *r = NULL;
	struct progress pg;
	struct plan *p = NULL;
	struct source *git = NULL;
	struct findings f = { NULL, 0, 0 };
	char *counts = NULL;
	size_t i;
	int rc, exit_rc = SF_EXIT_ERROR;

	if (drift_history)
		return drift_history_show(ctx,
		                          ctx->stack ? ctx->stack : "default");
	if (git_cli_source("drift", ctx, args->argc, &git) != SF_EXIT_OK)
		return SF_EXIT_ERROR;
	progress_init(&pg, PROGRESS_QUIET, stdout, ctx->color, "drift");
	apply_cli_opts(ctx, "drift", RECONCILE_PLAN, &pg, &o);
	if (apply_cli_sources(ctx, args, &o) < 0) {
		fprintf(stderr, "sandform drift: %s\n", sf_error_last());
		goto out;
	}
	o.lock = RECONCILE_LOCK_RECORD;
	if (git) {
		o.sources = &git;
		o.nsources = 1;
		o.source = git->name;
	}
	if (apply_cli_open(&o, &r) != SF_EXIT_OK)
		goto out;
	if ((rc = reconcile_begin(r)) < 0 || (rc = reconcile_plan(r, &p)) < 0) {
		apply_cli_fail("drift", rc);
		goto out;
	}
	for (i = 0; i < p->nerrors; i++) {
		char *e = esc_text(p->errors[i].message);

		fprintf(stderr, "sandform drift: %s\n", e);
		free(e);
	}
	collect(p, &f);
	if ((rc = record(r, p->stack, &f)) < 0) {
		apply_cli_fail("drift", rc);
		goto out;
	}
	if (ctx->json)
		show_json(p->stack, reconcile_revision(r), &f);
	else
		show_human(p->stack, &f);
	exit_rc = p->nerrors ? SF_EXIT_ERROR
	          : f.n      ? (int)drift_exit
	                     : SF_EXIT_OK;
out:
	if (r) {
		counts = counts_json(&f);
		reconcile_finish(r,
		                 exit_rc == SF_EXIT_ERROR ? "failed"
		                 : f.n                    ? "drift"
		                                          : "ok",
		                 counts);
	}
	free(counts);
	for (i = 0; i < f.n; i++)
		free(f.v[i].own);
	free(f.v);
	plan_free(p);
	reconcile_close(r);
	source_free(git);
	progress_free(&pg);
	apply_cli_release();
	return exit_rc;
}
