/*
 * sandform: GitOps for Daytona sandboxes.
 *
 * main() only dispatches: it finds the command in the table, parses that
 * command's options (the same table prints its --help), applies the shared
 * settings (log level, colour, stack), runs the command, and makes sure that
 * what the command printed on stdout really reached it before reporting
 * success.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/exitcodes.h"
#include "common/log.h"
#include "reconciler/commands.h"

struct sf_ctx sf_ctx;

static const struct sf_cmd *
find_command(const char *name)
{
	const struct sf_cmd *c;

	for (c = sf_commands; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

static void
usage(FILE *fp)
{
	const struct sf_cmd *c;

	fprintf(fp, "usage: sandform [--version] [--help] COMMAND [ARGS]\n\n"
	            "GitOps for Daytona sandboxes: declare sandboxes in YAML, "
	            "plan, apply.\n\ncommands:\n");
	for (c = sf_commands; c->name; c++)
		fprintf(fp, "  %-14s %s\n", c->name, c->summary);
	fprintf(fp, "\nRun 'sandform COMMAND --help' for a command's options. "
	            "See sandform(1).\n");
}

static int
finish_stdout(int rc)
{
	/* A full disk or a closed pipe is not success. */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "sandform: error writing output: %s\n",
		        strerror(errno));
		return SF_EXIT_ERROR;
	}
	return rc;
}

int
main(int argc, char **argv)
{
	const struct sf_cmd *cmd;
	struct cli_args args;
	const char *env;
	int rc;

	log_set_prog("sandform");
	if (argc < 2) {
		usage(stderr);
		return SF_EXIT_ERROR;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		if (argc > 2 && (cmd = find_command(argv[2])) != NULL) {
			cli_usage(stdout, cmd->name, cmd->synopsis,
			          cmd->summary, cmd->opts);
			return finish_stdout(SF_EXIT_OK);
		}
		usage(stdout);
		return finish_stdout(SF_EXIT_OK);
	}
	if (strcmp(argv[1], "--version") == 0 ||
	    strcmp(argv[1], "version") == 0) {
		printf("sandform %s\n", PACKAGE_VERSION);
		return finish_stdout(SF_EXIT_OK);
	}
	cmd = find_command(argv[1]);
	if (cmd == NULL) {
		fprintf(stderr,
		        "sandform: '%s' is not a command (see 'sandform "
		        "--help')\n",
		        argv[1]);
		return SF_EXIT_ERROR;
	}

	sf_ctx.stack = "default";
	sf_ctx.state_path = getenv("SANDFORM_STATE");
	if (cli_parse(cmd->name, cmd->opts, argc - 2, argv + 2, &args) < 0)
		return SF_EXIT_ERROR;
	if (args.help) {
		cli_usage(stdout, cmd->name, cmd->synopsis, cmd->summary,
		          cmd->opts);
		cli_args_free(&args);
		return finish_stdout(SF_EXIT_OK);
	}
	if (sf_ctx.state_path == NULL || *sf_ctx.state_path == '\0')
		sf_ctx.state_path = "./.sandform/state.db";
	env = getenv("NO_COLOR");
	sf_ctx.color = isatty(STDOUT_FILENO) && (env == NULL || *env == '\0');
	if (sf_ctx.verbose >= 2)
		log_set_level(LOG_TRACE);
	else if (sf_ctx.verbose == 1)
		log_set_level(LOG_DEBUG);

	rc = cmd->fn(&sf_ctx, &args);
	cli_args_free(&args);
	return finish_stdout(rc);
}
