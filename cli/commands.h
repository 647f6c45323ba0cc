/*
 * commands: the command table of the sandform program and the context every
 * command receives.
 *
 * Each subcommand lives in cli/cmd-NAME.c and exports
 *	int cmd_NAME(struct sf_ctx *ctx, struct cli_args *args);
 * and its option table. A command returns an exit status from
 * common/exitcodes.h; it prints results on stdout and everything else on
 * stderr. The dispatcher (main.c) parses options, handles --help, sets the
 * log level, checks what every command shares (a valid --stack name, an
 * explicit state path's directory existing; see main.c), then calls the
 * command.
 *
 * A command prepares what it needs itself, because that depends on its
 * options (plan --refresh=false needs no API client, apply of a saved plan
 * no manifests): plan, apply and destroy go through the one pipeline of
 * reconciler/reconcile.h (sources, state, lock, refresh, plan, apply) with
 * cli/applycli.h for what they share on the command line; state and
 * force-unlock open the state with store_open(). The command table (commands.c)
 *only names, describes and parses commands.
 */
#ifndef SF_CLI_COMMANDS_H
#define SF_CLI_COMMANDS_H

#include "cli/opt.h"

/*
 * A stack name: 1 to SF_STACK_NAME_MAX bytes of ASCII letters, digits, '-',
 * '_' and '.', starting with a letter or digit (checked in main.c for every
 * command's "stack" option).
 */
#define SF_STACK_NAME_MAX 63

/* The state file when neither --state nor $SANDFORM_STATE names one; the
 * only one whose directory is created when missing. */
#define SF_STATE_DEFAULT "./.sandform/state.db"

/* Where the stack's name came from (the named-stack rule of main.c). */
enum sf_stack_from {
	SF_STACK_UNNAMED = 0, /* nothing named one: "default", read-only */
	SF_STACK_FLAG,        /* --stack */
	SF_STACK_ENV,         /* $SANDFORM_STACK */
	SF_STACK_FILE,        /* the stack file's metadata.name */
};

struct stack_spec;

/* Settings shared by all commands, filled from options and environment. */
struct sf_ctx {
	int verbose;  /* -v count */
	int json;     /* --json */
	int color;    /* colour on stdout (TTY, no NO_COLOR, no --no-color) */
	int no_color; /* --no-color */
	const char *stack; /* the stack's name (see stack_from) */
	enum sf_stack_from stack_from;
	/* --state, SANDFORM_STATE, the stack file's state, default: a file or
	 * a URL that may hold a password: show only store_redact() of it */
	const char *state_path;
	/* where an explicit state_path came from ("--state",
	 * "SANDFORM_STATE", "the stack file's state"); NULL: the default */
	const char *state_from;
	const char *api_key_file;
	const char *ca_file;    /* --ca-file */
	const char *stack_file; /* --stack-file, or the one found */
	/* the stack file (manifests/stack.h): its sources and policy where
	 * no flag says otherwise; NULL: none */
	const struct stack_spec *stackfile;
};

extern struct sf_ctx sf_ctx;

struct sf_cmd {
	const char *name;
	int (*fn)(struct sf_ctx *ctx, struct cli_args *args);
	const char *synopsis;
	const char *summary;
	const struct cli_opt *opts;
};

/* Options most commands share; use them inside a command's table. */
#define SF_OPT_VERBOSE                                                        \
	{                                                                     \
		CLI_COUNT, "verbose", 'v', NULL,                              \
		        "debug logging (-vv for more)", &sf_ctx.verbose, 0, 0 \
	}
#define SF_OPT_NO_COLOR                                                 \
	{                                                               \
		CLI_FLAG, "no-color", 0, NULL,                          \
		        "no colour, even on a terminal (as $NO_COLOR)", \
		        &sf_ctx.no_color, 0, 0                          \
	}
#define SF_OPT_JSON                                                        \
	{                                                                  \
		CLI_FLAG, "json", 0, NULL, "machine-readable JSON output", \
		        &sf_ctx.json, 0, 0                                 \
	}
#define SF_OPT_STACK                                                      \
	{                                                                 \
		CLI_STRING, "stack", 0, "NAME",                           \
		        "the stack (default: $SANDFORM_STACK, the stack " \
		        "file's name)",                                   \
		        &sf_ctx.stack, 0, 0                               \
	}
#define SF_OPT_STATE                                                    \
	{                                                               \
		CLI_STRING, "state", 0, "PATH|URL",                     \
		        "state: an SQLite file or a postgresql:// URL " \
		        "(default: $SANDFORM_STATE or "                 \
		        "./.sandform/state.db)",                        \
		        &sf_ctx.state_path, 0, 0                        \
	}
/* The options of commands that talk to Daytona: the key and the CAs. */
#define SF_OPTS_API                                                         \
	{ CLI_STRING,                                                       \
	  "api-key-file",                                                   \
	  0,                                                                \
	  "FILE",                                                           \
	  "read the Daytona API key from FILE (default: $DAYTONA_API_KEY)", \
	  &sf_ctx.api_key_file,                                             \
	  0,                                                                \
	  0 },                                                              \
	{                                                                   \
		CLI_STRING, "ca-file", 0, "FILE",                           \
		        "trust the CAs in FILE (PEM) for Daytona's TLS "    \
		        "(default: $SSL_CERT_FILE, else the system's)",     \
		        &sf_ctx.ca_file, 0, 0                               \
	}

/*
 * cli_check_state_dir: 0 when the directory of an explicit state path
 * exists (or none was named), else say which is missing, as "sandform CMD:
 * FROM: ...", and return -1. The dispatcher calls it for every command with
 * a state option but validate, which needs the state's directory only for a
 * git source's cache and calls it itself then.
 */
int cli_check_state_dir(const char *cmd);

/* The commands; add each new one to the table in commands.c. */
extern const struct sf_cmd sf_commands[];

/* The options that may come before the command (main.c). */
extern const struct cli_opt sf_global_opts[];

/* state's subcommands, NULL-terminated (cmd-state.c). */
extern const char *const cmd_state_subcommands[];

#endif
