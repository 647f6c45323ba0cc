/*
 * source-git: manifests read from a git repository at a ref (DESIGN.md §7,
 * docs/gitops.md): the configuration of a git source, which the command
 * line (--git URL --ref REF --path DIR --offline) and the stack file's
 * `sources: - git: {url, ref, path, auth, verify}` both fill, and the
 * source itself (manifests/source.h).
 *
 *	struct gitsrc_config c;
 *	struct source *src;
 *	gitsrc_config_init(&c, "https://git.example.com/infra.git");
 *	gitsrc_config_set_ref(&c, GITSRC_REF_BRANCH, "main");
 *	c.path = xstrdup("sandboxes");
 *	c.auth.token_env = xstrdup("GIT_TOKEN");
 *	c.cache_dir = gitsrc_cache_dir(state_path);
 *	if (source_git_new(&c, &src) == 0) {	// checks c, copies it
 *		source_load(src, loader);	// fetch, verify, read the tree
 *		source_revision(src);		// "main@sha1:<40 hex>"
 *		source_free(src);
 *	}
 *	gitsrc_config_clear(&c);
 *
 * Loading: the ref is resolved against the remote with one ref
 * advertisement (ls-remote); when the cache repository already has that
 * commit nothing else is sent. Otherwise only that ref is fetched
 * (libgit2 1.5 has no shallow fetch: the ref's whole history, once; later
 * fetches are incremental). A commit ref is looked up in the cache first
 * (a commit never moves) and else every branch and tag is fetched. The
 * cache is a bare repository per normalized URL under cache_dir, locked
 * with flock(2) against concurrent runs for the whole load and re-created
 * once when it is found damaged. Manifests (*.yaml, *.yml; hidden entries
 * skipped; sorted like a directory walk) are read from the commit's tree
 * objects under path, without a checkout, and added to the loader as
 * "REVISION:PATH" (PATH from the repository's root), so diagnostics and
 * plan provenance read "main@sha1:<hex>:deploy/web.yaml:3:5".
 *
 * Revisions: "BRANCH@sha1:<hex>" (the remote's HEAD: its branch),
 * "TAG@sha1:<hex>" (tag and semver refs: the tag chosen; the commit it
 * points to), "sha1:<hex>" (a commit).
 *
 * Failures (each before anything is planned; the message never holds a
 * credential): SF_ENET (unreachable remote, TLS or SSH failure), SF_EAUTH
 * (credentials refused or missing, an untrusted certificate, an unknown or
 * changed SSH host key naming its SHA256 fingerprint, a missing or bad
 * signature), SF_ENOTFOUND (unknown ref, no tag in a semver range, nothing
 * cached with offline), SF_EINVALID (bad configuration), SF_EIO (the cache).
 * A path missing at the revision is a diagnostic of the loader.
 *
 * Ownership: a struct gitsrc_config owns its strings (free()d by
 * gitsrc_config_clear()); source_git_new() copies what it needs. Strings
 * returned are the caller's.
 */
#ifndef SF_MANIFESTS_SOURCE_GIT_H
#define SF_MANIFESTS_SOURCE_GIT_H

#include "manifests/source.h"

/* The default HTTPS basic-auth user with a token: GitHub takes it for
 * app and personal tokens, GitLab any non-empty user for a personal,
 * project or group token (docs/gitops.md). */
#define GITSRC_DEFAULT_TOKEN_USER "x-access-token"
/* The default SSH user when the URL names none. */
#define GITSRC_DEFAULT_SSH_USER "git"
/* How long a run waits for another run's lock on a cache repository. */
#define GITSRC_LOCK_TIMEOUT_MS (10 * 60 * 1000)
/* The largest token or passphrase read, and allowed_signers file. */
#define GITSRC_MAX_SECRET_LEN  8192
#define GITSRC_MAX_SIGNERS_LEN (1024 * 1024)
/* Tree recursion under path at most (as the path source). */
#define GITSRC_MAX_TREE_DEPTH SOURCE_MAX_DIR_DEPTH

enum gitsrc_ref_kind {
	GITSRC_REF_DEFAULT = 0, /* the remote's HEAD (its default branch) */
	GITSRC_REF_BRANCH,      /* refs/heads/NAME */
	GITSRC_REF_TAG,         /* refs/tags/NAME */
	GITSRC_REF_SEMVER,      /* the highest tag in a range */
	GITSRC_REF_COMMIT,      /* a full 40-hex commit id */
	GITSRC_REF_NAME,        /* a branch, else a tag (--ref NAME) */
};

enum gitsrc_verify_mode {
	GITSRC_VERIFY_NONE = 0,
	GITSRC_VERIFY_HEAD,         /* the commit carries a good signature */
	GITSRC_VERIFY_TAG,          /* the (annotated) tag does */
	GITSRC_VERIFY_TAG_AND_HEAD, /* both */
};

struct gitsrc_config {
	char *url; /* https://, http://, ssh://, git://, file://,
	            * [user@]host:path, or a local path; required */
	enum gitsrc_ref_kind ref_kind;
	char *ref;  /* the name, range or commit; NULL with DEFAULT */
	char *path; /* the directory (or file) in the tree; NULL: root */
	struct gitsrc_auth {
		/* HTTPS: a token sent as the basic-auth password, from an
		 * environment variable or the first line of a file (at most
		 * one of the two); the user name sent with it (NULL:
		 * GITSRC_DEFAULT_TOKEN_USER). TLS is always verified, with
		 * ca_file (PEM) instead of the system CAs when given, else
		 * $SSL_CERT_FILE when set. */
		char *token_env;
		char *token_file;
		char *username;
		char *ca_file;
		/* SSH: a private key file (its passphrase, if any, from an
		 * environment variable) or ssh-agent ($SSH_AUTH_SOCK); with
		 * neither, the agent when SSH_AUTH_SOCK is set. The user is
		 * the URL's, else username, else GITSRC_DEFAULT_SSH_USER.
		 * Host keys are checked against known_hosts (NULL:
		 * ~/.ssh/known_hosts): an unknown or changed key fails. */
		char *ssh_key;
		char *passphrase_env;
		char *known_hosts;
		int ssh_agent;
	} auth;
	struct gitsrc_verify {
		enum gitsrc_verify_mode mode;
		char *allowed_signers; /* ssh-keygen's allowed_signers file;
		                        * required with a mode */
	} verify;
	/* where the cache repositories live (gitsrc_cache_dir()); required */
	char *cache_dir;
	int offline; /* no network: the revision the cache has */
};

/* gitsrc_config_init: an empty configuration for url (copied): the
 * remote's HEAD, the whole tree, no auth, no verification. */
void gitsrc_config_init(struct gitsrc_config *c, const char *url);
void gitsrc_config_clear(struct gitsrc_config *c);
/* gitsrc_config_set_ref: kind and value (copied; NULL with DEFAULT);
 * SF_EINVALID for an empty name, a bad range or a commit that is not 40
 * hex digits. */
int gitsrc_config_set_ref(struct gitsrc_config *c, enum gitsrc_ref_kind kind,
                          const char *value);
/*
 * gitsrc_config_parse_ref: the command line's --ref: "branch:NAME",
 * "tag:NAME", "semver:RANGE", "commit:SHA", a bare 40-hex commit id, or
 * a bare NAME (a branch, else a tag).
 */
int gitsrc_config_parse_ref(struct gitsrc_config *c, const char *text);
/* gitsrc_ref_kind_parse / gitsrc_verify_mode_parse: the stack file's
 * words ("branch", "tag", "semver", "commit"; "head", "tag",
 * "tag-and-head"); -1 when unknown. */
int gitsrc_ref_kind_parse(const char *word);
int gitsrc_verify_mode_parse(const char *word);
/* gitsrc_config_check: the combination is usable (SF_EINVALID naming the
 * field otherwise); source_git_new() calls it. */
int gitsrc_config_check(const struct gitsrc_config *c);

/*
 * gitsrc_cache_dir: where the cache repositories of a state live: the
 * directory "git" beside the state file (./.sandform/git for the default
 * state), or ./.sandform/git for a state that is not a file (a URL).
 */
char *gitsrc_cache_dir(const char *state_path);

/* source_git_new: a git source for a checked copy of cfg. */
int source_git_new(const struct gitsrc_config *cfg, struct source **out);

/*
 * source_git_resolve: the revision the ref names on the remote now, with
 * one ref advertisement and nothing fetched (the saved-plan check); with
 * offline, the cached one. *revision is the caller's.
 */
int source_git_resolve(struct source *src, char **revision);
/*
 * source_git_check_revision: 0 when the ref still names planned (a
 * revision string as source_revision() gave it when the plan was made),
 * else SF_ECONFLICT "the plan was made at A but REF is now at B; nothing
 * was changed: make a new plan".
 */
int source_git_check_revision(struct source *src, const char *planned);

/* What the last load did, for tests and the benchmark. */
struct source_git_stats {
	unsigned connects;  /* ref advertisements asked for */
	unsigned downloads; /* packs fetched */
	unsigned recloned;  /* caches re-created as damaged */
	int offline;        /* read from the cache only */
};
void source_git_stats(const struct source *src, struct source_git_stats *out);

#endif
