/*
 * cli: one option table per command drives both parsing and --help.
 *
 * Tables are arrays of struct cli_opt ended by CLI_OPT_END. Each entry
 * writes into its dest when seen:
 *   CLI_FLAG    int *, set to 1 (a "--no-NAME" form sets 0)
 *   CLI_BOOL    int *, "--NAME" = 1, "--NAME=true|false"
 *   CLI_STRING  const char **, points into argv
 *   CLI_INT     long long *, bounded by min..max
 *   CLI_LIST    struct cli_list *, repeatable; values point into argv
 *   CLI_COUNT   int *, incremented each time (-v -v)
 * Long options take "--name VALUE" or "--name=VALUE"; short ones "-x VALUE".
 * A single dash works for long names too ("-auto-approve", "-out=FILE",
 * as Terraform writes them), unless the word is a valid use of short
 * options ("-vv", "-xVALUE"). "-help" is "--help". "--" ends options. Positional arguments are collected in order.
 */
#ifndef SF_CLI_OPT_H
#define SF_CLI_OPT_H

#include <stdio.h>

enum cli_type {
	CLI_END = 0,
	CLI_FLAG,
	CLI_BOOL,
	CLI_STRING,
	CLI_INT,
	CLI_LIST,
	CLI_COUNT,
};

struct cli_list {
	int n;
	const char **v; /* owned by the list (the array, not the strings) */
};

struct cli_opt {
	enum cli_type type;
	const char *name; /* long name without "--" */
	char short_name;  /* 0 if none */
	const char *argname;
	const char *help;
	void *dest;
	long long min, max; /* CLI_INT bounds */
};

#define CLI_OPT_END                                      \
	{                                                \
		CLI_END, NULL, 0, NULL, NULL, NULL, 0, 0 \
	}

struct cli_args {
	int argc;
	char **argv; /* positional arguments; the array is owned */
	int help;    /* --help was given */
};

/*
 * cli_parse: parse argv[0..argc) (argv[0] is the first argument after the
 * command name). Returns 0, or -1 after printing "sandform CMD: ..." on
 * stderr for an unknown option, a missing value or a bad number.
 */
int cli_parse(const char *cmd, const struct cli_opt *opts, int argc,
              char **argv, struct cli_args *out);
void cli_args_free(struct cli_args *a);
void cli_list_free(struct cli_list *l);

/* cli_usage: the --help text for a command from its synopsis and table. */
void cli_usage(FILE *fp, const char *cmd, const char *synopsis,
               const char *summary, const struct cli_opt *opts);

#endif
