/*
 * git-url: URL parsing here is deliberately small: only what the cache key,
 * known_hosts look-ups and redaction need. libgit2 parses the URL again to
 * connect; a URL it rejects fails there with its own message (redacted).
 */
#include "common/base.h"

#include <ctype.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/xalloc.h"
#include "manifests/git-url.h"

void
gitsrc_url_clear(struct gitsrc_url *u)
{
	if (u == NULL)
		return;
	free(u->scheme);
	free_secret(u->password);
	free(u->user);
	free(u->host);
	free(u->path);
	memset(u, 0, sizeof(*u));
}

int
gitsrc_url_default_port(const char *scheme)
{
	if (strcmp(scheme, "https") == 0)
		return 443;
	if (strcmp(scheme, "http") == 0)
		return 80;
	if (strcmp(scheme, "ssh") == 0)
		return 22;
	if (strcmp(scheme, "git") == 0)
		return 9418;
	return 0;
}

static char *
lower(char *s)
{
	char *p;

	for (p = s; p && *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return s;
}

/* scp_like: "[user@]host:path" with no "://" and a ':' before any '/'. */
static bool
scp_like(const char *url)
{
	const char *colon = strchr(url, ':'), *slash = strchr(url, '/');

	if (colon == NULL || strstr(url, "://") != NULL || colon == url)
		return false;
	return slash == NULL || colon < slash;
}

/* parse_authority: [user[:password]@]host[:port] of a URL. */
static int
parse_authority(const char *a, size_t n, struct gitsrc_url *u)
{
	const char *at = NULL, *p, *end = a + n, *hend;
	char *port;
	long v;

	for (p = a; p < end; p++)
		if (*p == '@')
			at = p; /* the last '@': a password may hold one */
	if (at) {
		p = memchr(a, ':', (size_t)(at - a));
		if (p) {
			u->user = xstrndup(a, (size_t)(p - a));
			u->password = xstrndup(p + 1, (size_t)(at - p - 1));
		} else {
			u->user = xstrndup(a, (size_t)(at - a));
		}
		a = at + 1;
	}
	if (a < end && *a == '[') {
		hend = memchr(a, ']', (size_t)(end - a));
		if (hend == NULL)
			return -1;
		u->host = xstrndup(a + 1, (size_t)(hend - a - 1));
		p = hend + 1;
	} else {
		hend = memchr(a, ':', (size_t)(end - a));
		p = hend ? hend : end;
		u->host = xstrndup(a, (size_t)(p - a));
	}
	if (p < end) {
		if (*p != ':' || p + 1 == end)
			return -1;
		port = xstrndup(p + 1, (size_t)(end - p - 1));
		v = strspn(port, "0123456789") == strlen(port) &&
		                    strlen(port) <= 5
		            ? strtol(port, NULL, 10)
		            : -1;
		free(port);
		if (v <= 0 || v > 65535)
			return -1;
		u->port = (int)v;
	}
	lower(u->host);
	return *u->host ? 0 : -1;
}

int
gitsrc_url_parse(const char *url, struct gitsrc_url *out)
{
	const char *sep, *auth, *slash, *colon, *at;
	char *shown;
	int rc;

	memset(out, 0, sizeof(*out));
	if (url == NULL || *url == '\0')
		return sf_error_set(SF_EINVALID, "an empty git URL");
	if ((sep = strstr(url, "://")) != NULL) {
		out->scheme = lower(xstrndup(url, (size_t)(sep - url)));
		auth = sep + 3;
		if (strcmp(out->scheme, "file") == 0) {
			out->path = xstrdup(auth);
			return 0;
		}
		slash = strchr(auth, '/');
		if (slash == NULL)
			slash = auth + strlen(auth);
		if (parse_authority(auth, (size_t)(slash - auth), out) < 0)
			goto bad;
		out->path = xstrdup(slash);
		if (strcmp(out->scheme, "https") &&
		    strcmp(out->scheme, "http") && strcmp(out->scheme, "ssh") &&
		    strcmp(out->scheme, "git")) {
			shown = gitsrc_url_redact(url);
			rc = sf_error_set(
			        SF_EINVALID,
			        "unsupported git URL scheme '%s' in "
			        "'%s' (expected https, http, ssh, git "
			        "or file)",
			        out->scheme, shown);
			free(shown);
			gitsrc_url_clear(out);
			return rc;
		}
		return 0;
	}
	if (scp_like(url)) {
		out->scheme = xstrdup("ssh");
		out->scp_like = 1;
		colon = strchr(url, ':');
		at = memchr(url, '@', (size_t)(colon - url));
		if (at)
			out->user = xstrndup(url, (size_t)(at - url));
		out->host =
		        lower(xstrndup(at ? at + 1 : url,
		                       (size_t)(colon - (at ? at + 1 : url))));
		out->path = xstrdup(colon + 1);
		if (*out->host == '\0')
			goto bad;
		return 0;
	}
	out->scheme = xstrdup("file");
	out->path = xstrdup(url);
	return 0;
bad:
	gitsrc_url_clear(out);
	shown = gitsrc_url_redact(url);
	rc = sf_error_set(SF_EINVALID, "'%s' is not a valid git URL", shown);
	free(shown);
	return rc;
}

/* redact_authority: the authority [auth, end) without credentials. */
static void
redact_authority(struct buf *b, const char *scheme, const char *auth,
                 const char *end)
{
	const char *at = NULL, *p, *colon;
	bool web = strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0;

	for (p = auth; p < end; p++)
		if (*p == '@')
			at = p;
	if (at == NULL) {
		buf_add(b, auth, (size_t)(end - auth));
		return;
	}
	colon = memchr(auth, ':', (size_t)(at - auth));
	if (!web)
		buf_add(b, auth,
		        (size_t)((colon ? colon : at) - auth)); /* the user */
	if (!web)
		buf_addch(b, '@');
	buf_add(b, at + 1, (size_t)(end - at - 1));
}

char *
gitsrc_url_redact(const char *url)
{
	struct buf b = BUF_INIT;
	const char *sep, *auth, *end, *q;
	char *scheme;
	bool web;

	if (url == NULL)
		return xstrdup("");
	sep = strstr(url, "://");
	if (sep == NULL) {
		/* scp-like user@host:path has no password to hide */
		return xstrdup(url);
	}
	scheme = lower(xstrndup(url, (size_t)(sep - url)));
	web = strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0;
	auth = sep + 3;
	end = auth + strcspn(auth, "/?#");
	buf_add(&b, url, (size_t)(auth - url));
	redact_authority(&b, scheme, auth, end);
	if (web) {
		q = end + strcspn(end, "?#");
		buf_add(&b, end, (size_t)(q - end));
	} else {
		buf_addstr(&b, end);
	}
	free(scheme);
	return buf_detach(&b, NULL);
}

char *
gitsrc_url_normalize(const char *url)
{
	struct gitsrc_url u;
	struct buf b = BUF_INIT;
	size_t n;
	char *s;

	if (gitsrc_url_parse(url, &u) < 0)
		return gitsrc_url_redact(url);
	buf_addf(&b, "%s://", u.scheme);
	if (u.host) {
		if (u.user && strcmp(u.scheme, "http") &&
		    strcmp(u.scheme, "https"))
			buf_addf(&b, "%s@", u.user);
		buf_addstr(&b, strchr(u.host, ':') ? "[" : "");
		buf_addstr(&b, u.host);
		buf_addstr(&b, strchr(u.host, ':') ? "]" : "");
		if (u.port && u.port != gitsrc_url_default_port(u.scheme))
			buf_addf(&b, ":%d", u.port);
		if (u.scp_like && u.path[0] != '/')
			buf_addch(&b, '/');
	}
	buf_addstr(&b, u.path);
	if (strcmp(u.scheme, "http") == 0 || strcmp(u.scheme, "https") == 0)
		buf_truncate(&b, strcspn(buf_cstr(&b), "?#"));
	gitsrc_url_clear(&u);
	s = buf_detach(&b, &n);
	while (n > 0 && s[n - 1] == '/')
		s[--n] = '\0';
	if (n > 4 && strcmp(s + n - 4, ".git") == 0)
		s[n - 4] = '\0';
	return s;
}
