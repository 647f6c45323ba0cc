/*
 * gitcli: the command-line form of a git source, shared by plan, apply and
 * validate: `--git URL [--ref REF] [--path DIR] [--offline]` and the auth
 * and verification options (docs/gitops.md, sandform(1) GIT SOURCES).
 *
 *	const struct cli_opt cmd_plan_opts[] = { ..., SF_OPTS_GIT, ... };
 *	struct source *src = NULL;
 *	if (git_cli_source("plan", ctx, args, &src) != SF_EXIT_OK)
 *		return SF_EXIT_ERROR;		// said on stderr
 *	if (src) ...				// --git was given
 *	source_free(src);
 *
 * These functions print their own messages as "sandform CMD: ..." and
 * return exit statuses of common/exitcodes.h.
 */
#ifndef SF_CLI_GITCLI_H
#define SF_CLI_GITCLI_H

#include "cli/commands.h"
#include "manifests/source.h"
#include "reconciler/plan.h"

struct sf_git_opts {
	const char *url, *ref, *path;
	int offline;
	const char *token_env, *token_file, *user, *ca_file;
	const char *ssh_key, *passphrase_env, *known_hosts;
	int ssh_agent;
	const char *verify, *allowed_signers;
};

extern struct sf_git_opts sf_git;

#define SF_OPTS_GIT                                                     \
	{ CLI_STRING,                                                   \
	  "git",                                                        \
	  0,                                                            \
	  "URL",                                                        \
	  "read the manifests from this git repository",                \
	  &sf_git.url,                                                  \
	  0,                                                            \
	  0 },                                                          \
	        { CLI_STRING,                                           \
		  "ref",                                                \
		  0,                                                    \
		  "REF",                                                \
		  "with --git: branch:NAME, tag:NAME, semver:RANGE, "   \
		  "commit:SHA or NAME (default: the remote's HEAD)",    \
		  &sf_git.ref,                                          \
		  0,                                                    \
		  0 },                                                  \
	        { CLI_STRING,                                           \
		  "path",                                               \
		  0,                                                    \
		  "DIR",                                                \
		  "with --git: the directory in the repository",        \
		  &sf_git.path,                                         \
		  0,                                                    \
		  0 },                                                  \
	        { CLI_FLAG,                                             \
		  "offline",                                            \
		  0,                                                    \
		  NULL,                                                 \
		  "with --git: use the cached revision, fetch nothing", \
		  &sf_git.offline,                                      \
		  0,                                                    \
		  0 },                                                  \
	        { CLI_STRING,                                           \
		  "git-token-env",                                      \
		  0,                                                    \
		  "VAR",                                                \
		  "HTTPS token from the environment variable VAR",      \
		  &sf_git.token_env,                                    \
		  0,                                                    \
		  0 },                                                  \
	        { CLI_STRING,                                           \
		  "git-token-file",                                     \
		  0,                                                    \
		  "FILE",                                               \
		  "HTTPS token from the first line of FILE",            \
		  &sf_git.token_file,                                   \
		  0,                                                    \
		  0 },                                                  \
	        { CLI_STRING,                                           \
		  "git-user",                                           \
		  0,                                                    \
		  "NAME",                                               \
		  "user sent with the token (default x-access-token)",  \
		  &sf_git.user,                                         \
		  0,                                                    \
		  0 },                                                  \
	        { CLI_STRING,                                           \
		  "git-ca-file",                                        \
		  0,                                                    \
		  "FILE",                                               \
		  "trust the CA certificates in FILE for HTTPS",        \
		  &sf_git.ca_file,                                      \
		  0,                                                    \
		  0 },                                                  \
	        { CLI_STRING,                                           \
		  "git-ssh-key",                                        \
		  0,                                                    \
		  "FILE",                                               \
		  "SSH private key for ssh:// URLs",                    \
		  &sf_git.ssh_key,                                      \
		  0,                                                    \
		  0 },                                                  \
	        { CLI_STRING,                                           \
		  "git-ssh-passphrase-env",                             \
		  0,                                                    \
		  "VAR",                                                \
		  "the SSH key's passphrase from VAR",                  \
		  &sf_git.passphrase_env,                               \
		  0,                                                    \
		  0 },                                                  \
	        { CLI_FLAG,                                             \
		  "git-ssh-agent",                                      \
		  0,                                                    \
		  NULL,                                                 \
		  "authenticate with ssh-agent",                        \
		  &sf_git.ssh_agent,                                    \
		  0,                                                    \
		  0 },                                                  \
	        { CLI_STRING,                                           \
		  "git-known-hosts",                                    \
		  0,                                                    \
		  "FILE",                                               \
		  "SSH host keys (default ~/.ssh/known_hosts)",         \
		  &sf_git.known_hosts,                                  \
		  0,                                                    \
		  0 },                                                  \
	        { CLI_STRING,                                           \
		  "git-verify",                                         \
		  0,                                                    \
		  "MODE",                                               \
		  "require signatures: head, tag or tag-and-head",      \
		  &sf_git.verify,                                       \
		  0,                                                    \
		  0 },                                                  \
	{                                                               \
		CLI_STRING, "git-allowed-signers", 0, "FILE",           \
		        "ssh-keygen allowed_signers for --git-verify",  \
		        &sf_git.allowed_signers, 0, 0                   \
	}

/*
 * git_cli_source: the git source of the options (*out NULL when --git was
 * not given); refuses git options without --git and --git with PATH
 * operands (nops of them). The cache lives beside ctx's state.
 */
int git_cli_source(const char *cmd, const struct sf_ctx *ctx, int nops,
                   struct source **out);

/*
 * git_cli_check_saved: a saved plan p applied with --git: the revision
 * its specs came from (their provenance, "REV:PATH") must still be what
 * the ref names; else say both and return SF_EXIT_ERROR.
 */
int git_cli_check_saved(const char *cmd, struct source *src,
                        const struct plan *p);

#endif
