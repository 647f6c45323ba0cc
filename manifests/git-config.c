/*
 * git-config: the configuration of a git source (declared in
 * manifests/source-git.h): its constructor and the checks that make a bad
 * combination an error before anything is fetched, so the stack file and
 * the command line get the same messages.
 */
#include "common/base.h"

#include "common/error.h"
#include "common/xalloc.h"
#include "manifests/git-semver.h"
#include "manifests/git-url.h"
#include "manifests/source-git.h"

void
gitsrc_config_init(struct gitsrc_config *c, const char *url)
{
	memset(c, 0, sizeof(*c));
	c->url = xstrdup_or_null(url);
}

void
gitsrc_config_clear(struct gitsrc_config *c)
{
	if (c == NULL)
		return;
	free(c->url);
	free(c->ref);
	free(c->path);
	free(c->auth.token_env);
	free(c->auth.token_file);
	free(c->auth.username);
	free(c->auth.ca_file);
	free(c->auth.ssh_key);
	free(c->auth.passphrase_env);
	free(c->auth.known_hosts);
	free(c->verify.allowed_signers);
	free(c->cache_dir);
	memset(c, 0, sizeof(*c));
}

static bool
is_sha1(const char *s)
{
	return strlen(s) == 40 && strspn(s, "0123456789abcdefABCDEF") == 40;
}

int
gitsrc_config_set_ref(struct gitsrc_config *c, enum gitsrc_ref_kind kind,
                      const char *value)
{
	struct semver_range *r = NULL;
	char *v;

	if (kind == GITSRC_REF_DEFAULT) {
		free(c->ref);
		c->ref = NULL;
		c->ref_kind = kind;
		return 0;
	}
	if (value == NULL || *value == '\0')
		return sf_error_set(SF_EINVALID, "git ref: an empty name");
	if (kind == GITSRC_REF_SEMVER && semver_range_parse(value, &r) < 0)
		return SF_EINVALID;
	semver_range_free(r);
	if (kind == GITSRC_REF_COMMIT && !is_sha1(value))
		return sf_error_set(SF_EINVALID,
		                    "git ref: commit '%s' is not a full commit "
		                    "id (expected 40 hex digits)",
		                    value);
	if ((kind == GITSRC_REF_BRANCH || kind == GITSRC_REF_TAG ||
	     kind == GITSRC_REF_NAME) &&
	    (strncmp(value, "refs/", 5) == 0 || strstr(value, "..") ||
	     strpbrk(value, " ~^:?*[\\") || value[0] == '-'))
		return sf_error_set(
		        SF_EINVALID,
		        "git ref: '%s' is not a valid branch or tag "
		        "name (give the short name, e.g. main)",
		        value);
	v = xstrdup(value);
	if (kind == GITSRC_REF_COMMIT) {
		char *p;

		for (p = v; *p; p++)
			if (*p >= 'A' && *p <= 'F')
				*p = (char)(*p - 'A' + 'a');
	}
	free(c->ref);
	c->ref = v;
	c->ref_kind = kind;
	return 0;
}

int
gitsrc_ref_kind_parse(const char *word)
{
	static const char *const names[] = { "default", "branch", "tag",
		                             "semver",  "commit", "name" };
	size_t i;

	for (i = 0; word && i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(word, names[i]) == 0)
			return (int)i;
	return -1;
}

int
gitsrc_verify_mode_parse(const char *word)
{
	if (word == NULL)
		return -1;
	if (strcmp(word, "none") == 0)
		return GITSRC_VERIFY_NONE;
	if (strcmp(word, "head") == 0)
		return GITSRC_VERIFY_HEAD;
	if (strcmp(word, "tag") == 0)
		return GITSRC_VERIFY_TAG;
	if (strcmp(word, "tag-and-head") == 0)
		return GITSRC_VERIFY_TAG_AND_HEAD;
	return -1;
}

int
gitsrc_config_parse_ref(struct gitsrc_config *c, const char *text)
{
	static const struct {
		const char *prefix;
		enum gitsrc_ref_kind kind;
	} kinds[] = {
		{ "branch:", GITSRC_REF_BRANCH },
		{ "tag:", GITSRC_REF_TAG },
		{ "semver:", GITSRC_REF_SEMVER },
		{ "commit:", GITSRC_REF_COMMIT },
	};
	size_t i, n;

	if (text == NULL)
		return gitsrc_config_set_ref(c, GITSRC_REF_DEFAULT, NULL);
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		n = strlen(kinds[i].prefix);
		if (strncmp(text, kinds[i].prefix, n) == 0)
			return gitsrc_config_set_ref(c, kinds[i].kind,
			                             text + n);
	}
	if (is_sha1(text))
		return gitsrc_config_set_ref(c, GITSRC_REF_COMMIT, text);
	if (strpbrk(text, "<>=^~ *|") && strncmp(text, "refs/", 5) != 0)
		return sf_error_set(SF_EINVALID,
		                    "--ref '%s': a version range needs the "
		                    "semver: prefix (--ref 'semver:%s')",
		                    text, text);
	return gitsrc_config_set_ref(c, GITSRC_REF_NAME, text);
}

/* check_path: a relative path inside the tree. */
static int
check_path(const char *p)
{
	const char *s = p;
	size_t n;

	if (p == NULL)
		return 0;
	if (*p == '/')
		goto bad;
	while (*s) {
		n = strcspn(s, "/");
		if (n == 2 && strncmp(s, "..", 2) == 0)
			goto bad;
		s += n;
		while (*s == '/')
			s++;
	}
	return 0;
bad:
	return sf_error_set(SF_EINVALID,
	                    "git path '%s': expected a directory relative to "
	                    "the repository's root, without '..'",
	                    p);
}

static int
check_auth(const struct gitsrc_auth *a)
{
	if (a->token_env && a->token_file)
		return sf_error_set(SF_EINVALID,
		                    "git auth: give tokenEnv or tokenFile, not "
		                    "both");
	if (a->token_env && *a->token_env == '\0')
		return sf_error_set(SF_EINVALID, "git auth: empty tokenEnv");
	if (a->ssh_key && a->ssh_agent)
		return sf_error_set(SF_EINVALID,
		                    "git auth: give sshKey or agent, not both");
	if (a->passphrase_env && a->ssh_key == NULL)
		return sf_error_set(SF_EINVALID,
		                    "git auth: passphraseEnv needs sshKey");
	return 0;
}

int
gitsrc_config_check(const struct gitsrc_config *c)
{
	struct gitsrc_url u;
	const struct gitsrc_verify *v = &c->verify;
	int rc;

	if (c->url == NULL || *c->url == '\0')
		return sf_error_set(SF_EINVALID, "git source: no url");
	if ((rc = gitsrc_url_parse(c->url, &u)) < 0)
		return rc;
	gitsrc_url_clear(&u);
	if (c->ref_kind != GITSRC_REF_DEFAULT && c->ref == NULL)
		return sf_error_set(SF_EINVALID, "git source: a ref kind "
		                                 "without a value");
	if ((rc = check_path(c->path)) < 0 || (rc = check_auth(&c->auth)) < 0)
		return rc;
	if (c->cache_dir == NULL || *c->cache_dir == '\0')
		return sf_error_set(SF_EINVALID, "git source: no cache "
		                                 "directory");
	if (v->mode != GITSRC_VERIFY_NONE && v->allowed_signers == NULL)
		return sf_error_set(SF_EINVALID,
		                    "git verify: a mode needs allowedSigners "
		                    "(an ssh-keygen allowed_signers file)");
	if ((v->mode == GITSRC_VERIFY_TAG ||
	     v->mode == GITSRC_VERIFY_TAG_AND_HEAD) &&
	    c->ref_kind != GITSRC_REF_TAG && c->ref_kind != GITSRC_REF_SEMVER &&
	    c->ref_kind != GITSRC_REF_NAME)
		return sf_error_set(
		        SF_EINVALID,
		        "git verify: mode tag needs a tag or semver "
		        "ref");
	return 0;
}

char *
gitsrc_cache_dir(const char *state_path)
{
	const char *slash;

	if (state_path == NULL || *state_path == '\0' ||
	    strstr(state_path, "://") != NULL)
		return xstrdup("./.sandform/git");
	slash = strrchr(state_path, '/');
	if (slash == NULL)
		return xstrdup("./git");
	if (slash == state_path)
		return xstrdup("/git");
	return xasprintf("%.*s/git", (int)(slash - state_path), state_path);
}
