/*
 * git-url: the URLs of git sources: their parts, a form safe to print and
 * store (no credentials), and the key of their cache repository.
 *
 * Forms understood: SCHEME://[USER[:PASSWORD]@]HOST[:PORT]/PATH for https,
 * http, ssh, git and file (IPv6 hosts in brackets); the scp-like
 * [USER@]HOST:PATH (ssh); and a local path (/srv/repo.git, ./repo), read
 * as file.
 *
 * Ownership: gitsrc_url_parse() fills a struct the caller clears with
 * gitsrc_url_clear(); the char * results are the caller's (free()).
 */
#ifndef SF_MANIFESTS_GIT_URL_H
#define SF_MANIFESTS_GIT_URL_H

struct gitsrc_url {
	char *scheme;   /* "https", "http", "ssh", "git", "file" (lowercase) */
	char *user;     /* NULL when none */
	char *password; /* NULL when none: a credential, never printed */
	char *host;     /* lowercase, without brackets; NULL for file */
	int port;       /* 0: the scheme's default */
	char *path;     /* as written (after the host) */
	int scp_like;   /* written as [USER@]HOST:PATH */
};

/* gitsrc_url_parse: 0, or SF_EINVALID naming the (redacted) URL. */
int gitsrc_url_parse(const char *url, struct gitsrc_url *out);
void gitsrc_url_clear(struct gitsrc_url *u);

/*
 * gitsrc_url_redact: url without credentials, for output, plans, errors
 * and the state: a password is dropped under any scheme; for http and
 * https the whole user part (a token may be written as the user) and the
 * query and fragment are dropped too. An ssh user ("git@") is kept.
 * Text that is not a URL comes back unchanged.
 */
char *gitsrc_url_redact(const char *url);

/*
 * gitsrc_url_normalize: the identity of a repository for its cache:
 * redacted, scheme and host lowercase, the scheme's default port dropped,
 * scp-like written as ssh://, trailing '/' and ".git" dropped. Two
 * spellings of one repository share a cache.
 */
char *gitsrc_url_normalize(const char *url);

/* gitsrc_url_default_port: 443, 80, 22, 9418, or 0 (file). */
int gitsrc_url_default_port(const char *scheme);

#endif
