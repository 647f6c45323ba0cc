/*
 * sandform validate [PATH... | --git URL [--ref REF] [--path DIR]
 *                    [--offline]] [--json] [-v]
 *
 * Loads the manifests under each PATH (files, directories walked
 * recursively for *.yaml and *.yml, "-" for stdin; the current directory when
 * no PATH is given) and checks them against the v1 format and Daytona's
 * rules without contacting Daytona. Every problem of the run is printed on
 * stderr as "FILE:LINE:COL: field.path: what is wrong (expected ...)",
 * sorted by file and line, and the exit status is 1. Warnings are printed
 * too but do not fail. On success stdout gets one line, "N sandboxes in M
 * files", or with --json the normalised desired set (secret references as
 * {"secretEnv": NAME} / {"secretFile": PATH}, never values). With --json
 * and an invalid run, stdout gets one object instead,
 * {"valid":false,"diagnostics":[{file,line,column,path,severity,message}]}
 * (the same diagnostics, warnings included), so CI can read them.
 *
 * With --git the manifests are those of a repository at a ref (fetched
 * into the cache beside the state, cli/gitcli.h); locations then read
 * "REVISION:PATH:LINE:COL" and the summary line names the revision. With
 * no PATH and no --git the stack file's sources are read, as plan does.
 */
#include "common/base.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/exitcodes.h"
#include "common/log.h"
#include "manifests/manifest.h"
#include "manifests/source.h"
#include "cli/applycli.h"
#include "cli/commands.h"
#include "cli/gitcli.h"

int cmd_validate(struct sf_ctx *ctx, struct cli_args *args);

const struct cli_opt cmd_validate_opts[] = {
	SF_OPT_JSON,    SF_OPTS_GIT,     SF_OPT_STATE,
	SF_OPT_VERBOSE, SF_OPT_NO_COLOR, CLI_OPT_END,
};

/* print_json: one JSON document and a newline on stdout. */
static int
print_json(const cJSON *json)
{
	char *text = cJSON_PrintUnformatted(json);

	if (text == NULL) {
		fprintf(stderr, "sandform validate: out of memory\n");
		return SF_EXIT_ERROR;
	}
	printf("%s\n", text);
	free(text);
	return SF_EXIT_OK;
}

int
cmd_validate(struct sf_ctx *ctx, struct cli_args *args)
{
	struct diag_list diags = DIAG_LIST_INIT;
	struct manifest_set *set = NULL;
	struct manifest_loader *L;
	struct source *git = NULL, *const * srcs;
	struct reconcile_opts o;
	cJSON *json = NULL;
	const char *rev;
	size_t i, nsrcs;
	int rc;

	memset(&o, 0, sizeof(o));
	if (git_cli_source("validate", ctx, args->argc, &git) != SF_EXIT_OK)
		return SF_EXIT_ERROR;
	if (git) {
		srcs = &git;
		nsrcs = 1;
	} else {
		/* no PATH: the stack file's sources, as plan reads them */
		apply_cli_opts(ctx, "validate", RECONCILE_PLAN, NULL, &o);
		if (apply_cli_sources(ctx, args, &o) < 0) {
			fprintf(stderr, "sandform validate: %s\n",
			        sf_error_last());
			rc = SF_EXIT_ERROR;
			goto out;
		}
		srcs = o.sources;
		nsrcs = o.nsources;
	}
	if (nsrcs > 0) {
		/* the git cache lives beside the state */
		if (cli_check_state_dir("validate") < 0) {
			rc = SF_EXIT_ERROR;
			goto out;
		}
		L = manifest_loader_new(&diags);
		for (i = 0; i < nsrcs; i++)
			if ((rc = source_load(srcs[i], L)) < 0) {
				manifest_loader_free(L);
				diag_list_print(stderr, &diags);
				fprintf(stderr, "sandform validate: %s\n",
				        sf_error_last());
				rc = SF_EXIT_ERROR;
				goto out;
			}
		rc = manifest_loader_finish(L, &set);
	} else {
		rc = manifest_load(o.paths, o.npaths, &set, &diags);
	}
	diag_list_print(stderr, &diags);
	if (rc != 0) {
		fprintf(stderr,
		        "sandform validate: %zu error%s, %zu warning%s\n",
		        diags.n_errors, diags.n_errors == 1 ? "" : "s",
		        diags.n_warnings, diags.n_warnings == 1 ? "" : "s");
		if (ctx->json) {
			json = cJSON_CreateObject();
			cJSON_AddBoolToObject(json, "valid", 0);
			cJSON_AddItemToObject(json, "diagnostics",
			                      diag_list_to_json(&diags));
			print_json(json);
		}
		rc = SF_EXIT_ERROR;
		goto out;
	}
	if (set->n_files == 0)
		fprintf(stderr, "sandform validate: warning: no *.yaml or "
		                "*.yml files found\n");
	if (ctx->json) {
		json = manifest_set_to_json(set);
		rc = print_json(json);
		goto out;
	}
	rev = nsrcs == 1 ? source_revision(srcs[0]) : NULL;
	printf("%zu sandbox%s in %zu file%s%s%s\n", set->n_sandboxes,
	       set->n_sandboxes == 1 ? "" : "es", set->n_files,
	       set->n_files == 1 ? "" : "s", rev ? " at " : "", rev ? rev : "");
	rc = SF_EXIT_OK;
out:
	cJSON_Delete(json);
	manifest_set_free(set);
	diag_list_free(&diags);
	source_free(git);
	apply_cli_release();
	return rc;
}
