/*
 * sandform: GitOps for Daytona sandboxes.
 *
 * main() only dispatches: it finds the command in the table, parses that
 * command's options (the same table prints its --help), applies the shared
 * settings (log level, colour, stack), runs the command, and makes sure that
 * what the command printed on stdout really reached it before reporting
 * success.
 *
 * Global options may come before the command ("sandform --stack x plan"):
 * --stack, --state, --stack-file, --api-key-file, --json, -v. The stack
 * file (sandform.yaml here or in a parent directory, or --stack-file) is
 * loaded for the commands that work on a stack; its name, state and
 * sources apply where no flag or variable says otherwise.
 *
 * The named-stack rule: a stack's name comes from --stack, then
 * $SANDFORM_STACK, then the stack file. Without any, the stack is
 * "default" and only read: plan and the state commands work, but apply and
 * destroy refuse, and no message ever suggests "default" as a name. So two
 * projects that never named a stack cannot change each other's sandboxes;
 * a named stack whose state file is lost is still rebuilt from its labels.
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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/exitcodes.h"
#include "common/log.h"
#include "common/suggest.h"
#include "common/xalloc.h"
#include "manifests/stack.h"
#include "cli/commands.h"
#include "cli/completion.h"
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

/* unknown_command: says so, with the nearest command if one is near. */
static void
unknown_command(const char *name)
{
	const char **names, *near;
	size_t n = 0;
	const struct sf_cmd *c;

	for (c = sf_commands; c->name; c++)
		n++;
	names = xcalloc(n + 2, sizeof(*names));
	for (n = 0, c = sf_commands; c->name; c++)
		names[n++] = c->name;
	names[n++] = "help";
	names[n++] = "version";
	near = suggest_closest(name, names, n);
	if (near != NULL)
		fprintf(stderr,
		        "sandform: '%s' is not a command; did you mean '%s'? "
		        "(see 'sandform --help')\n",
		        name, near);
	else
		fprintf(stderr,
		        "sandform: '%s' is not a command (see 'sandform "
		        "--help')\n",
		        name);
	free(names);
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

	if (from == NULL || slash == NULL || slash == path ||
	    store_is_url(path))
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
int
cli_check_state_dir(const char *cmd)
{
	return check_state_dir(cmd, sf_ctx.state_path, sf_ctx.state_from);
}

static int
check_settings(const struct sf_cmd *cmd)
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
	/* validate checks it only when it fetches from git */
	if (has_state && strcmp(cmd->name, "validate") != 0 &&
	    cli_check_state_dir(cmd->name) < 0)
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

/* Global options: a table of what may come before the command. */
static const char *global_stack_file;
static int global_no_stack_file;
static char *stack_state; /* the stack file's state, resolved */

const struct cli_opt sf_global_opts[] = {
	{ CLI_STRING, "stack", 0, "NAME", "the stack", &sf_ctx.stack, 0, 0 },
	{ CLI_STRING, "state", 0, "PATH", "the state", &sf_ctx.state_path, 0,
	  0 },
	{ CLI_STRING, "stack-file", 0, "FILE",
	  "the stack file (default: sandform.yaml here or above)",
	  &global_stack_file, 0, 0 },
	{ CLI_FLAG, "no-stack-file", 0, NULL, "read no stack file",
	  &global_no_stack_file, 0, 0 },
	{ CLI_STRING, "api-key-file", 0, "FILE", "the API key",
	  &sf_ctx.api_key_file, 0, 0 },
	SF_OPT_JSON,
	SF_OPT_VERBOSE,
	SF_OPT_NO_COLOR,
	CLI_OPT_END,
};

/*
 * split_globals: the options before the command: parsed into sf_ctx.
 * Returns the index of the command in argv, or -1 after saying why.
 */
static int
split_globals(int argc, char **argv)
{
	struct cli_args ga;
	int i = 1;

	while (i < argc && argv[i][0] == '-' && strcmp(argv[i], "--help") &&
	       strcmp(argv[i], "-h") && strcmp(argv[i], "--version")) {
		const struct cli_opt *o;
		const char *a = argv[i] + (argv[i][1] == '-' ? 2 : 1);
		size_t n = strcspn(a, "=");
		int takes = 0;

		for (o = sf_global_opts; o->type != CLI_END; o++)
			if (strlen(o->name) == n && strncmp(o->name, a, n) == 0)
				takes = o->type == CLI_STRING && a[n] != '=';
		i += 1 + takes;
	}
	if (i > argc)
		i = argc;
	if (cli_parse(i < argc ? argv[i] : "", sf_global_opts, i - 1, argv + 1,
	              &ga) < 0)
		return -1;
	cli_args_free(&ga);
	return i;
}

/* stack_cmd: commands that work on a stack (they read the stack file). */
static int
stack_cmd(const struct sf_cmd *cmd)
{
	const struct cli_opt *o;

	if (strcmp(cmd->name, "validate") == 0)
		return 1;
	for (o = cmd->opts; o->type != CLI_END; o++)
		if (o->name && strcmp(o->name, "stack") == 0)
			return 1;
	return 0;
}

/*
 * load_stack_file: --stack-file, or sandform.yaml found upwards; then the
 * stack's name and state from it where nothing else named them. 0, or -1
 * after saying why.
 */
static int
load_stack_file(const struct sf_cmd *cmd, const char *state_env)
{
	struct diag_list diags = DIAG_LIST_INIT;
	struct stack_spec *st = NULL;
	static char *found;
	const char *env = getenv("SANDFORM_STACK");

	if (sf_ctx.stack != NULL)
		sf_ctx.stack_from = SF_STACK_FLAG;
	else if (env != NULL && *env != '\0') {
		sf_ctx.stack = env;
		sf_ctx.stack_from = SF_STACK_ENV;
	}
	if (!stack_cmd(cmd) || global_no_stack_file)
		goto named;
	if (global_stack_file == NULL && stack_find(&found) == 0)
		goto named;
	sf_ctx.stack_file = global_stack_file ? global_stack_file : found;
	if (stack_load(sf_ctx.stack_file, &st, &diags) < 0) {
		diag_list_print(stderr, &diags);
		fprintf(stderr, "sandform %s: %s: %s\n", cmd->name,
		        sf_ctx.stack_file,
		        diags.n_errors ? "not a valid stack file"
		                       : sf_error_last());
		diag_list_free(&diags);
		return -1;
	}
	diag_list_print(stderr, &diags);
	diag_list_free(&diags);
	sf_ctx.stackfile = st;
	log_debug("stack file %s: stack '%s'", sf_ctx.stack_file, st->name);
	if (sf_ctx.stack == NULL) {
		sf_ctx.stack = st->name;
		sf_ctx.stack_from = SF_STACK_FILE;
	}
	if (st->state != NULL && sf_ctx.state_path == state_env &&
	    state_env == NULL)
		sf_ctx.state_path = stack_state = stack_path(st, st->state);
named:
	if (sf_ctx.stack == NULL) {
		sf_ctx.stack = "default";
		sf_ctx.stack_from = SF_STACK_UNNAMED;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const struct sf_cmd *cmd;
	struct cli_args args;
	const char *env, *state_env;
	int rc, first;

	log_set_prog("sandform");
	/* a reader that goes away (sandform apply | head) makes writes
	 * fail, seen at the end (exit 1), instead of killing a run between
	 * a call and its record */
	signal(SIGPIPE, SIG_IGN);
	sf_ctx.state_path = state_env = getenv("SANDFORM_STATE");
	if ((first = split_globals(argc, argv)) < 0)
		return SF_EXIT_ERROR;
	argc -= first - 1;
	argv += first - 1;
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
	/* not in the table: not a command people run, but their shell */
	if (strcmp(argv[1], "completion") == 0) {
		if (argc != 3 || completion_print(stdout, argv[2]) < 0) {
			fprintf(stderr,
			        "usage: sandform completion bash|zsh\n");
			return SF_EXIT_ERROR;
		}
		return finish_stdout(SF_EXIT_OK);
	}
	if (strcmp(argv[1], "--version") == 0 ||
	    strcmp(argv[1], "version") == 0) {
		printf("sandform %s\n", PACKAGE_VERSION);
		return finish_stdout(SF_EXIT_OK);
	}
	cmd = find_command(argv[1]);
	if (cmd == NULL) {
		unknown_command(argv[1]);
		return SF_EXIT_ERROR;
	}

	if (cli_parse(cmd->name, cmd->opts, argc - 2, argv + 2, &args) < 0)
		return SF_EXIT_ERROR;
	if (args.help) {
		cli_usage(stdout, cmd->name, cmd->synopsis, cmd->summary,
		          cmd->opts);
		cli_args_free(&args);
		return finish_stdout(SF_EXIT_OK);
	}
	if (sf_ctx.state_path != NULL && *sf_ctx.state_path == '\0')
		sf_ctx.state_path = NULL;
	if (sf_ctx.stack != NULL &&
	    check_stack_name(cmd->name, sf_ctx.stack) < 0) {
		cli_args_free(&args);
		return SF_EXIT_ERROR;
	}
	if (load_stack_file(cmd, state_env) < 0) {
		cli_args_free(&args);
		return SF_EXIT_ERROR;
	}
	if (sf_ctx.state_path != NULL)
		sf_ctx.state_from =
		        sf_ctx.state_path == state_env ? "SANDFORM_STATE"
		        : sf_ctx.stackfile && sf_ctx.stackfile->state
		                ? "the stack file's state"
		                : "--state";
	else
		sf_ctx.state_path = SF_STATE_DEFAULT;
	if (check_settings(cmd) < 0) {
		cli_args_free(&args);
		return SF_EXIT_ERROR;
	}
	env = getenv("NO_COLOR");
	sf_ctx.color = !sf_ctx.no_color && isatty(STDOUT_FILENO) &&
	               (env == NULL || *env == '\0');
	if (sf_ctx.verbose >= 2)
		log_set_level(LOG_TRACE);
	else if (sf_ctx.verbose == 1)
		log_set_level(LOG_DEBUG);

	rc = cmd->fn(&sf_ctx, &args);
	cli_args_free(&args);
	stack_spec_free((struct stack_spec *)sf_ctx.stackfile);
	free(stack_state);
	free((char *)sf_ctx.stack_file == global_stack_file
	             ? NULL
	             : (char *)sf_ctx.stack_file);
	return finish_stdout(rc);
}
