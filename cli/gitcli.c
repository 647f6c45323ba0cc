/*
 * gitcli: the options of a git source on the command line. They fill the
 * same struct gitsrc_config the stack file does, so both are checked by
 * gitsrc_config_check() with the same messages.
 */
#include "common/base.h"

#include <stdio.h>

#include "common/error.h"
#include "common/exitcodes.h"
#include "common/xalloc.h"
#include "cli/gitcli.h"
#include "manifests/source-git.h"
#include "manifests/stack.h"

struct sf_git_opts sf_git;

static char *
dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static int
fail(const char *cmd)
{
	fprintf(stderr, "sandform %s: %s\n", cmd, sf_error_last());
	return SF_EXIT_ERROR;
}

/* stack_has_git: the run's stack file has a git source (--offline then
 * applies to it). */
static int
stack_has_git(const struct sf_ctx *ctx)
{
	const struct stack_spec *st = ctx->stackfile;
	size_t i;

	for (i = 0; st && i < st->nsources; i++)
		if (st->sources[i].kind == STACK_SOURCE_GIT)
			return 1;
	return 0;
}

/* fill: c from the options. */
static int
fill(struct gitsrc_config *c, const struct sf_ctx *ctx)
{
	int mode;

	gitsrc_config_init(c, sf_git.url);
	if (gitsrc_config_parse_ref(c, sf_git.ref) < 0)
		return -1;
	c->path = dup_or_null(sf_git.path);
	c->offline = sf_git.offline;
	c->auth.token_env = dup_or_null(sf_git.token_env);
	c->auth.token_file = dup_or_null(sf_git.token_file);
	c->auth.username = dup_or_null(sf_git.user);
	c->auth.ca_file = dup_or_null(sf_git.ca_file);
	c->auth.ssh_key = dup_or_null(sf_git.ssh_key);
	c->auth.passphrase_env = dup_or_null(sf_git.passphrase_env);
	c->auth.known_hosts = dup_or_null(sf_git.known_hosts);
	c->auth.ssh_agent = sf_git.ssh_agent;
	if (sf_git.verify) {
		if ((mode = gitsrc_verify_mode_parse(sf_git.verify)) < 0)
			return sf_error_set(SF_EINVALID,
			                    "--git-verify: unknown mode '%s' "
			                    "(expected head, tag or "
			                    "tag-and-head)",
			                    sf_git.verify);
		c->verify.mode = (enum gitsrc_verify_mode)mode;
	}
	c->verify.allowed_signers = dup_or_null(sf_git.allowed_signers);
	c->cache_dir = gitsrc_cache_dir(ctx->state_path);
	return 0;
}

int
git_cli_source(const char *cmd, const struct sf_ctx *ctx, int nops,
               struct source **out)
{
	struct gitsrc_config c;
	int rc;

	*out = NULL;
	if (sf_git.url == NULL) {
		if (sf_git.ref || sf_git.path ||
		    (sf_git.offline && !stack_has_git(ctx)) ||
		    sf_git.token_env || sf_git.token_file || sf_git.user ||
		    sf_git.ca_file || sf_git.ssh_key || sf_git.passphrase_env ||
		    sf_git.known_hosts || sf_git.ssh_agent || sf_git.verify ||
		    sf_git.allowed_signers) {
			fprintf(stderr,
			        "sandform %s: --ref, --path and the --git-* "
			        "options need --git URL (--offline: --git or a "
			        "stack file with a git source)\n",
			        cmd);
			return SF_EXIT_ERROR;
		}
		return SF_EXIT_OK;
	}
	if (nops > 0) {
		fprintf(stderr,
		        "sandform %s: --git reads the manifests from the "
		        "repository; give no PATH with it (the directory in "
		        "the repository is --path DIR)\n",
		        cmd);
		return SF_EXIT_ERROR;
	}
	rc = fill(&c, ctx);
	if (rc == 0)
		rc = source_git_new(&c, out);
	gitsrc_config_clear(&c);
	return rc < 0 ? fail(cmd) : SF_EXIT_OK;
}

/* plan_revision: the revision in a spec's provenance "REV:PATH", where
 * REV ends "sha1:" and 40 hex digits; NULL when it has none. */
static char *
plan_revision(const char *file)
{
	const char *p = file, *s;

	while ((s = strstr(p, "sha1:")) != NULL) {
		if (strspn(s + 5, "0123456789abcdef") == 40 && s[45] == ':')
			return xstrndup(file, (size_t)(s + 45 - file));
		p = s + 5;
	}
	return NULL;
}

int
git_cli_check_saved(const char *cmd, struct source *src, const struct plan *p)
{
	char *rev = NULL, *r;
	size_t i;
	int rc;

	for (i = 0; i < p->nactions; i++) {
		if (p->actions[i].desired == NULL ||
		    p->actions[i].desired->file == NULL)
			continue;
		r = plan_revision(p->actions[i].desired->file);
		if (r == NULL || (rev && strcmp(r, rev) != 0)) {
			fprintf(stderr,
			        "sandform %s: the saved plan was not made "
			        "from one git revision (%s); nothing was "
			        "changed\n",
			        cmd, p->actions[i].desired->file);
			free(r);
			free(rev);
			return SF_EXIT_ERROR;
		}
		free(rev);
		rev = r;
	}
	if (rev == NULL) {
		fprintf(stderr,
		        "sandform %s: the saved plan names no git revision "
		        "(it creates or updates nothing), so it cannot be "
		        "checked against --git; apply it without --git\n",
		        cmd);
		return SF_EXIT_ERROR;
	}
	rc = source_git_check_revision(src, rev);
	free(rev);
	return rc < 0 ? fail(cmd) : SF_EXIT_OK;
}
