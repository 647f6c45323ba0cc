/*
 * The command table: {name, fn, synopsis, summary, options}.
 * Keep it sorted in the order commands are usually run.
 */
#include "common/base.h"

#include <stddef.h>

#include "cli/commands.h"

/* Each cmd-NAME.c defines cmd_NAME and cmd_NAME_opts. */
#define SF_DECLARE_CMD(n)                                       \
	int cmd_##n(struct sf_ctx *ctx, struct cli_args *args); \
	extern const struct cli_opt cmd_##n##_opts[]

SF_DECLARE_CMD(init);
SF_DECLARE_CMD(validate);
SF_DECLARE_CMD(plan);
SF_DECLARE_CMD(state);
SF_DECLARE_CMD(apply);
SF_DECLARE_CMD(destroy);
SF_DECLARE_CMD(drift);
SF_DECLARE_CMD(watch);
SF_DECLARE_CMD(force_unlock);
SF_DECLARE_CMD(schema);

const struct sf_cmd sf_commands[] = {
	{ "init", cmd_init, "[--name NAME] [--force]",
	  "write a stack file (sandform.yaml) for this project",
	  cmd_init_opts },
	{ "validate", cmd_validate, "[PATH...] [--json] [-v]",
	  "check manifests without contacting Daytona", cmd_validate_opts },
	{ "plan", cmd_plan,
	  "[PATH...] [--json] [--out FILE] [--detailed-exitcode] "
	  "[--refresh=false] [--show-unmanaged]",
	  "show what apply would change (reads Daytona, changes nothing)",
	  cmd_plan_opts },
	{ "state", cmd_state,
	  "list|show NAME|rm NAME [--keep-labels]|import NAME ID|history|"
	  "journal [--open]|info [--stack NAME] [--state PATH] [--json]",
	  "list, show, forget, import records; runs, journal, state info",
	  cmd_state_opts },
	{ "apply", cmd_apply,
	  "[PATH... | PLANFILE] [--auto-approve] [--parallelism N] [--timeout "
	  "DURATION] [--lock-timeout DURATION] [--json]",
	  "make Daytona match the manifests (or run a saved plan)",
	  cmd_apply_opts },
	{ "destroy", cmd_destroy,
	  "[PATH...] [--auto-approve] [--force-destroy NAME]... "
	  "[--lock-timeout DURATION] [--json]",
	  "delete every sandbox of the stack", cmd_destroy_opts },
	{ "drift", cmd_drift,
	  "[PATH...] [--json] [--diff-exit-code N] [--ignore RULE]... "
	  "[--history]",
	  "show what changed in Daytona outside sandform (changes nothing)",
	  cmd_drift_opts },
	{ "watch", cmd_watch,
	  "[PATH...] [--interval DURATION] [--once] [--detect-only] "
	  "[--metrics-file FILE]",
	  "reconcile the stack on a schedule (a drift corrector)",
	  cmd_watch_opts },
	{ "force-unlock", cmd_force_unlock, "LOCK_ID [--state PATH]",
	  "release a stack lock left by a run that is gone",
	  cmd_force_unlock_opts },
	{ "schema", cmd_schema, "",
	  "print a JSON Schema of the manifest kinds (for editors)",
	  cmd_schema_opts },
	{ NULL, NULL, NULL, NULL, NULL },
};
