/*
 * git-remote: the one place where credentials exist. A token or passphrase
 * is read when libgit2 asks for it (so a remote that asks for nothing
 * never has it read), handed to libgit2 (which wipes its copy), and wiped
 * here at once. Every message that leaves this file has gone through
 * redact(), because libgit2 messages may quote the URL it was given.
 *
 * Callbacks record their own refusal (cb_fail) with the code and message a
 * user needs ("the host key of X is not in FILE (ssh-ed25519 SHA256:..)"):
 * libgit2 only says that a callback failed.
 */
#include "common/base.h"

#include <stdarg.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/fileutil.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "manifests/git-knownhosts.h"
#include "manifests/git-remote.h"
#include "manifests/git-url.h"

/* The trust store libgit2 was built with (Debian: mbedTLS, this file);
 * put back when an earlier source of the process set another. */
#define GITREMOTE_SYSTEM_CA "/etc/ssl/certs/ca-certificates.crt"

struct gitremote {
	const struct gitsrc_config *cfg;
	struct gitsrc_url url;
	char *shown;
	git_remote *remote;
	git_remote_callbacks cb;
	int userpass_tries, sshkey_tries;
	int cb_code; /* a callback's refusal: code and message */
	char *cb_msg;
};

static _Thread_local bool last_local;
static bool ca_overridden;

bool
gitremote_local(void)
{
	return last_local;
}

void
gitremote_local_clear(void)
{
	last_local = false;
}

/* replace_all: s with every occurrence of what replaced by with. */
static char *
replace_all(const char *s, const char *what, const char *with)
{
	struct buf b = BUF_INIT;
	const char *p;
	size_t n = what ? strlen(what) : 0;

	if (n == 0)
		return xstrdup(s);
	while ((p = strstr(s, what)) != NULL) {
		buf_add(&b, s, (size_t)(p - s));
		buf_addstr(&b, with);
		s = p + n;
	}
	buf_addstr(&b, s);
	return buf_detach(&b, NULL);
}

/* redact: msg without url's text or its password. */
static char *
redact(const char *msg, const char *url, const char *shown)
{
	struct gitsrc_url u;
	char *a, *b;

	a = replace_all(msg, url, shown);
	if (gitsrc_url_parse(url, &u) == 0 && u.password && *u.password) {
		b = replace_all(a, u.password, "***");
		free(a);
		a = b;
	}
	gitsrc_url_clear(&u);
	sf_error_clear();
	return a;
}

static bool
local_class(int klass)
{
	switch (klass) {
	case GIT_ERROR_ODB:
	case GIT_ERROR_ZLIB:
	case GIT_ERROR_OBJECT:
	case GIT_ERROR_REFERENCE:
	case GIT_ERROR_REPOSITORY:
	case GIT_ERROR_INDEXER:
	case GIT_ERROR_TREE:
	case GIT_ERROR_FILESYSTEM:
	case GIT_ERROR_OS:
		return true;
	default:
		return false;
	}
}

static int
code_of(int grc, int klass)
{
	if (grc == GIT_EAUTH || grc == GIT_ECERTIFICATE)
		return SF_EAUTH;
	if (grc == GIT_ENOTFOUND)
		return SF_ENOTFOUND;
	switch (klass) {
	case GIT_ERROR_NET:
	case GIT_ERROR_SSL:
	case GIT_ERROR_SSH:
	case GIT_ERROR_HTTP:
		return SF_ENET;
	default:
		return local_class(klass) ? SF_EIO : SF_ERROR;
	}
}

int
gitsrc_git_fail(int grc, const char *what, const char *url, const char *shown)
{
	const git_error *e = git_error_last();
	char *msg;
	int rc, klass = e ? e->klass : GIT_ERROR_NONE;

	msg = redact(e && e->message ? e->message : "failed", url, shown);
	last_local = local_class(klass);
	rc = sf_error_set(code_of(grc, klass), "%s %s: %s", what, shown, msg);
	free(msg);
	return rc;
}

/* fail: a failure of r's remote: the callback's own reason if it gave
 * one, else libgit2's. */
static int
fail(struct gitremote *r, int grc, const char *what)
{
	if (r->cb_msg) {
		last_local = false;
		return sf_error_set(r->cb_code, "%s", r->cb_msg);
	}
	return gitsrc_git_fail(grc, what, r->cfg->url, r->shown);
}

static int cb_fail(struct gitremote *r, int code, int grc, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static int
cb_fail(struct gitremote *r, int code, int grc, const char *fmt, ...)
{
	va_list ap;

	free(r->cb_msg);
	va_start(ap, fmt);
	r->cb_msg = xvasprintf(fmt, ap);
	va_end(ap);
	r->cb_code = code;
	git_error_set_str(GIT_ERROR_CALLBACK, r->cb_msg);
	return grc;
}

/* ---- credentials --------------------------------------------------------- */

/* read_secret: the value of env var or the first line of file (one of
 * them set); NULL with *why set when missing. Caller wipes it. */
static char *
read_secret(const char *env, const char *file, char **why)
{
	struct buf b = BUF_INIT;
	const char *v;
	char *s;

	if (env) {
		v = getenv(env);
		if (v == NULL || *v == '\0') {
			*why = xasprintf("the environment variable %s is not "
			                 "set",
			                 env);
			return NULL;
		}
		return xstrdup(v);
	}
	if (file_read(file, GITSRC_MAX_SECRET_LEN, &b) < 0) {
		*why = xstrdup(sf_error_last());
		buf_free(&b);
		return NULL;
	}
	s = buf_detach(&b, NULL);
	s[strcspn(s, "\r\n")] = '\0';
	if (*s == '\0') {
		free_secret(s);
		*why = xasprintf("%s is empty", file);
		return NULL;
	}
	return s;
}

static int
cred_userpass(struct gitremote *r, git_credential **out, const char *url)
{
	const struct gitsrc_auth *a = &r->cfg->auth;
	struct gitsrc_url u;
	char *token, *why = NULL;
	int same, grc;

	if (a->token_env == NULL && a->token_file == NULL)
		return cb_fail(r, SF_EAUTH, GIT_EAUTH,
		               "%s asks for credentials: give a token (auth "
		               "tokenEnv or tokenFile; --git-token-env, "
		               "--git-token-file)",
		               r->shown);
	if (r->userpass_tries++ > 0)
		return cb_fail(r, SF_EAUTH, GIT_EAUTH,
		               "%s refused the token from %s%s (user '%s'): "
		               "authentication failed",
		               r->shown, a->token_env ? "$" : "",
		               a->token_env ? a->token_env : a->token_file,
		               a->username ? a->username
		                           : GITSRC_DEFAULT_TOKEN_USER);
	/* a redirect to another host never gets the token */
	same = gitsrc_url_parse(url, &u) == 0 && u.host && r->url.host &&
	       strcmp(u.host, r->url.host) == 0;
	gitsrc_url_clear(&u);
	if (!same)
		return cb_fail(r, SF_EAUTH, GIT_EAUTH,
		               "%s redirected to another host that asks for "
		               "credentials; the token is not sent there",
		               r->shown);
	if ((token = read_secret(a->token_env, a->token_file, &why)) == NULL) {
		grc = cb_fail(r, SF_EAUTH, GIT_EAUTH, "the token for %s: %s",
		              r->shown, why);
		free(why);
		return grc;
	}
	grc = git_credential_userpass_plaintext_new(
	        out, a->username ? a->username : GITSRC_DEFAULT_TOKEN_USER,
	        token);
	free_secret(token);
	return grc;
}

static int
cred_sshkey(struct gitremote *r, git_credential **out, const char *user)
{
	const struct gitsrc_auth *a = &r->cfg->auth;
	char *pass = NULL, *why = NULL;
	int grc;

	if (r->sshkey_tries++ > 0)
		return cb_fail(r, SF_EAUTH, GIT_EAUTH,
		               "%s refused the SSH key (%s) for user '%s': "
		               "authentication failed",
		               r->shown, a->ssh_key ? a->ssh_key : "ssh-agent",
		               user);
	if (a->ssh_key == NULL) {
		if (!a->ssh_agent && getenv("SSH_AUTH_SOCK") == NULL)
			return cb_fail(
			        r, SF_EAUTH, GIT_EAUTH,
			        "%s asks for an SSH key: give one (auth "
			        "sshKey; --git-ssh-key) or use ssh-agent",
			        r->shown);
		return git_credential_ssh_key_from_agent(out, user);
	}
	if (a->passphrase_env &&
	    (pass = read_secret(a->passphrase_env, NULL, &why)) == NULL) {
		grc = cb_fail(r, SF_EAUTH, GIT_EAUTH,
		              "the passphrase of %s: %s", a->ssh_key, why);
		free(why);
		return grc;
	}
	grc = git_credential_ssh_key_new(out, user, NULL, a->ssh_key, pass);
	free_secret(pass);
	return grc;
}

static int
on_credentials(git_credential **out, const char *url, const char *url_user,
               unsigned int allowed, void *payload)
{
	struct gitremote *r = payload;
	const char *user = url_user && *url_user   ? url_user
	                   : r->cfg->auth.username ? r->cfg->auth.username
	                                           : GITSRC_DEFAULT_SSH_USER;

	if (allowed & GIT_CREDENTIAL_SSH_KEY)
		return cred_sshkey(r, out, user);
	if (allowed & GIT_CREDENTIAL_USERNAME)
		return git_credential_username_new(out, user);
	if (allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT)
		return cred_userpass(r, out, url);
	return cb_fail(r, SF_EAUTH, GIT_EAUTH,
	               "%s asks for a kind of credentials sandform does not "
	               "support",
	               r->shown);
}

/* ---- server identity ------------------------------------------------------
 */

static int
check_hostkey(struct gitremote *r, const git_cert_hostkey *hk)
{
	char fp[KNOWNHOSTS_FP_LEN], type[80], *file, *who;
	const char *home = getenv("HOME");
	enum knownhosts_result res;
	int port = r->url.port ? r->url.port : 22, grc = 0;

	if (!(hk->type & GIT_CERT_SSH_RAW))
		return cb_fail(r, SF_EAUTH, GIT_ECERTIFICATE,
		               "%s: the SSH library gave no host key to check",
		               r->shown);
	who = port != 22 ? xasprintf("[%s]:%d", r->url.host, port)
	                 : xstrdup(r->url.host);
	file = r->cfg->auth.known_hosts
	               ? xstrdup(r->cfg->auth.known_hosts)
	               : xasprintf("%s/.ssh/known_hosts", home ? home : "");
	knownhosts_fingerprint((const unsigned char *)hk->hostkey,
	                       hk->hostkey_len, fp);
	knownhosts_key_type((const unsigned char *)hk->hostkey, hk->hostkey_len,
	                    type, sizeof(type));
	if (knownhosts_check(file, r->url.host, port,
	                     (const unsigned char *)hk->hostkey,
	                     hk->hostkey_len, &res) < 0) {
		grc = cb_fail(r, SF_EAUTH, GIT_ECERTIFICATE, "%s",
		              sf_error_last());
		goto out;
	}
	log_debug("host key of %s: %s %s: %s", r->url.host, type, fp,
	          res == KNOWNHOSTS_MATCH ? "known" : "NOT known");
	switch (res) {
	case KNOWNHOSTS_MATCH:
		break;
	case KNOWNHOSTS_UNKNOWN:
		grc = cb_fail(r, SF_EAUTH, GIT_ECERTIFICATE,
		              "the SSH host key of %s is not in %s (%s %s): "
		              "check the fingerprint with the server's owner "
		              "and add the key to that file (knownHosts)",
		              who, file, type, fp);
		break;
	case KNOWNHOSTS_CHANGED:
		grc = cb_fail(r, SF_EAUTH, GIT_ECERTIFICATE,
		              "the SSH host key of %s has CHANGED: the server "
		              "offers %s %s, which does not match %s; someone "
		              "may be intercepting the connection",
		              who, type, fp, file);
		break;
	case KNOWNHOSTS_REVOKED:
		grc = cb_fail(r, SF_EAUTH, GIT_ECERTIFICATE,
		              "the SSH host key of %s (%s %s) is revoked in %s",
		              who, type, fp, file);
		break;
	}
out:
	free(who);
	free(file);
	return grc;
}

static int
on_certificate(git_cert *cert, int valid, const char *host, void *payload)
{
	struct gitremote *r = payload;

	if (cert->cert_type == GIT_CERT_HOSTKEY_LIBSSH2)
		return check_hostkey(r, (const git_cert_hostkey *)cert);
	if (valid)
		return 0;
	/* never accepted: an untrusted or mismatched TLS certificate */
	return cb_fail(r, SF_EAUTH, GIT_ECERTIFICATE,
	               "the TLS certificate of %s is not trusted (or not for "
	               "that name): give the CA that signed it (auth caFile; "
	               "--git-ca-file; SSL_CERT_FILE)",
	               host ? host : r->shown);
}

/* set_trust: the TLS trust store of this process for cfg. */
static int
set_trust(struct gitremote *r)
{
	const char *file = r->cfg->auth.ca_file, *env = getenv("SSL_CERT_FILE");

	if (file == NULL && env && *env)
		file = env;
	if (file == NULL && !ca_overridden)
		return 0;
	if (file == NULL)
		file = GITREMOTE_SYSTEM_CA;
	if (git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, file, NULL) < 0) {
		const git_error *e = git_error_last();

		return sf_error_set(SF_EINVALID,
		                    "the CA certificates in %s cannot be "
		                    "loaded: %s",
		                    file, e ? e->message : "failed");
	}
	ca_overridden = strcmp(file, GITREMOTE_SYSTEM_CA) != 0;
	return 0;
}

/* ---- the connection -------------------------------------------------------
 */

int
gitremote_connect(git_repository *repo, const struct gitsrc_config *cfg,
                  struct gitremote **out)
{
	struct gitremote *r = xcalloc(1, sizeof(*r));
	git_remote_create_options co;
	int grc, rc;

	*out = NULL;
	r->cfg = cfg;
	r->shown = gitsrc_url_redact(cfg->url);
	if ((rc = gitsrc_url_parse(cfg->url, &r->url)) < 0 ||
	    (strcmp(r->url.scheme, "https") == 0 && (rc = set_trust(r)) < 0))
		goto fail;
	git_remote_init_callbacks(&r->cb, GIT_REMOTE_CALLBACKS_VERSION);
	r->cb.credentials = on_credentials;
	r->cb.certificate_check = on_certificate;
	r->cb.payload = r;
	/* the URL is used as written: no url.*.insteadOf rewriting */
	git_remote_create_options_init(&co, GIT_REMOTE_CREATE_OPTIONS_VERSION);
	co.repository = repo;
	co.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF |
	           GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
	if ((grc = git_remote_create_with_opts(&r->remote, cfg->url, &co)) <
	    0) {
		rc = fail(r, grc, "reading the URL");
		goto fail;
	}
	log_debug("connecting to %s", r->shown);
	if ((grc = git_remote_connect(r->remote, GIT_DIRECTION_FETCH, &r->cb,
	                              NULL, NULL)) < 0) {
		rc = fail(r, grc, "connecting to");
		goto fail;
	}
	*out = r;
	return 0;
fail:
	gitremote_free(r);
	return rc;
}

int
gitremote_ls(struct gitremote *r, const git_remote_head ***heads, size_t *n)
{
	int grc = git_remote_ls(heads, n, r->remote);

	return grc < 0 ? fail(r, grc, "listing the refs of") : 0;
}

int
gitremote_download(struct gitremote *r, const char *const *refspecs, size_t n)
{
	git_fetch_options fo;
	git_strarray specs;
	int grc;

	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	fo.callbacks = r->cb;
	fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	fo.update_fetchhead = 0;
	fo.prune = GIT_FETCH_NO_PRUNE;
	specs.strings = (char **)refspecs;
	specs.count = n;
	log_debug("fetching %zu refspec%s from %s (first: %s)", n,
	          n == 1 ? "" : "s", r->shown, n ? refspecs[0] : "-");
	if ((grc = git_remote_download(r->remote, &specs, &fo)) < 0)
		return fail(r, grc, "fetching from");
	return 0;
}

void
gitremote_free(struct gitremote *r)
{
	if (r == NULL)
		return;
	if (r->remote) {
		git_remote_disconnect(r->remote);
		git_remote_free(r->remote);
	}
	gitsrc_url_clear(&r->url);
	free(r->shown);
	free(r->cb_msg);
	free(r);
}
