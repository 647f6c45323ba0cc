/*
 * sandform: GitOps for Daytona sandboxes.
 *
 * main() only dispatches: it finds the command in the table, parses that
 * command's options (the same table prints its --help), applies the shared
 * settings (log level, colour, stack), runs the command, and makes sure that
 * what the command printed on stdout really reached it before reporting
 * success.
 *
 * It also checks, once for every command, what the option tables can say
 * about any command: a "stack" option (SF_OPT_STACK, or a command's own
 * entry of that name such as apply's) holds a valid stack name, and a
 * command that has a "state" option is given a state path whose directory
 * exists. Only the default ./.sandform/state.db gets its directory created
 * (by store_open, when the command opens it); an explicit --state or
 * $SANDFORM_STATE in a missing directory is an error, so a typo never
 * starts a fresh state somewhere else.
 */
#include "common/base.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/exitcodes.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "cli/commands.h"
#include "state/store.h"

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

/*
 * check_stack_name: 0 when name is a stack name (see SF_STACK_NAME_MAX in
 * commands.h), else print why as "sandform CMD: --stack: ..." and return
 * -1.
 */
static int
check_stack_name(const char *cmd, const char *name)
{
	size_t i, len = strlen(name);

	if (len == 0) {
		fprintf(stderr,
		        "sandform %s: --stack: the stack name is empty\n", cmd);
		return -1;
	}
	if (len > SF_STACK_NAME_MAX) {
		fprintf(stderr,
		        "sandform %s: --stack: the stack name is %zu bytes "
		        "long (at most %d)\n",
		        cmd, len, SF_STACK_NAME_MAX);
		return -1;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		            (c >= '0' && c <= '9');

		if (alnum || (i > 0 && (c == '-' || c == '_' || c == '.')))
			continue;
		if (i == 0 && (c == '-' || c == '_' || c == '.'))
			fprintf(stderr,
			        "sandform %s: --stack: a stack name starts "
			        "with "
			        "a letter or digit, not '%c'\n",
			        cmd, c);
		else if (c > 0x20 && c < 0x7f)
			fprintf(stderr,
			        "sandform %s: --stack: '%c' (byte %zu) is not "
			        "allowed in a stack name (letters, digits, "
			        "'-', "
			        "'_' and '.')\n",
			        cmd, c, i + 1);
		else
			fprintf(stderr,
			        "sandform %s: --stack: byte %zu (0x%02x) is "
			        "not "
			        "allowed in a stack name (letters, digits, "
			        "'-', "
			        "'_' and '.')\n",
			        cmd, i + 1, c);
		return -1;
	}
	return 0;
}

/*
 * check_state_dir: 0 when the directory of an explicit state path exists,
 * else print which directory is missing (or not one) and return -1. from
 * names where path came from: "--state" or "SANDFORM_STATE".
 */
static int
check_state_dir(const char *cmd, const char *path, const char *from)
{
	struct stat st;
	const char *slash = strrchr(path, '/');
	char *dir;
	int rc = 0;

	if (slash == NULL || slash == path || store_is_url(path))
		return 0; /* the current directory or /, or a database */
	dir = xstrndup(path, (size_t)(slash - path));
	if (stat(dir, &st) < 0) {
		if (errno == ENOENT)
			fprintf(stderr,
			        "sandform %s: %s: directory '%s' does not "
			        "exist (create it first; only the default %s "
			        "has its directory created)\n",
			        cmd, from, dir, SF_STATE_DEFAULT);
		else
			fprintf(stderr, "sandform %s: %s: '%s': %s\n", cmd,
			        from, dir, strerror(errno));
		rc = -1;
	} else if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr,
		        "sandform %s: %s: '%s' (holding the state file) is not "
		        "a directory\n",
		        cmd, from, dir);
		rc = -1;
	}
	free(dir);
	return rc;
}

/*
 * check_settings: the checks every command gets from its option table: a
 * "stack" option's value (wherever the command keeps it) and, for a
 * command with a "state" option, an explicit state path's directory.
 */
static int
check_settings(const struct sf_cmd *cmd, const char *state_from)
{
	const struct cli_opt *o;
	int has_state = 0;

	for (o = cmd->opts; o->type != CLI_END; o++) {
		if (o->type != CLI_STRING || o->dest == NULL)
			continue;
		if (strcmp(o->name, "stack") == 0) {
			const char *v = *(const char *const *)o->dest;

			if (v != NULL && check_stack_name(cmd->name, v) < 0)
				return -1;
		} else if (strcmp(o->name, "state") == 0) {
			has_state = 1;
		}
	}
	if (has_state && state_from != NULL &&
	    check_state_dir(cmd->name, sf_ctx.state_path, state_from) < 0)
		return -1;
	return 0;
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
	const char *env, *state_env, *state_from = NULL;
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
	sf_ctx.state_path = state_env = getenv("SANDFORM_STATE");
	if (cli_parse(cmd->name, cmd->opts, argc - 2, argv + 2, &args) < 0)
		return SF_EXIT_ERROR;
	if (args.help) {
		cli_usage(stdout, cmd->name, cmd->synopsis, cmd->summary,
		          cmd->opts);
		cli_args_free(&args);
		return finish_stdout(SF_EXIT_OK);
	}
	if (sf_ctx.state_path != NULL && *sf_ctx.state_path != '\0')
		state_from = sf_ctx.state_path == state_env ? "SANDFORM_STATE"
		                                            : "--state";
	else
		sf_ctx.state_path = SF_STATE_DEFAULT;
	if (check_settings(cmd, state_from) < 0) {
		cli_args_free(&args);
		return SF_EXIT_ERROR;
	}
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
