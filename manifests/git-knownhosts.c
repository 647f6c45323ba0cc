/*
 * git-knownhosts: our own reading of known_hosts rather than libssh2's,
 * because its answer must tell a changed key (a possible attack) from an
 * unknown host, and the file is the one the source names, never a default
 * that some other program may have appended to on first use.
 */
#include "common/base.h"

#include <ctype.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/fileutil.h"
#include "common/xalloc.h"
#include "manifests/git-knownhosts.h"

static int
b64_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
knownhosts_base64_decode(const char *s, size_t n, unsigned char **out,
                         size_t *outlen)
{
	unsigned char *d;
	unsigned acc = 0;
	size_t i, k = 0;
	int bits = 0, v;

	while (n > 0 && s[n - 1] == '=')
		n--;
	if (n % 4 == 1)
		return -1;
	d = xmalloc(n * 3 / 4 + 3);
	for (i = 0; i < n; i++) {
		if ((v = b64_value((unsigned char)s[i])) < 0) {
			free(d);
			return -1;
		}
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			d[k++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	*out = d;
	*outlen = k;
	return 0;
}

void
knownhosts_fingerprint(const unsigned char *key, size_t len,
                       char out[KNOWNHOSTS_FP_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE], b64[64];
	unsigned int mdlen = 0;
	int n;

	if (!EVP_Digest(key, len, md, &mdlen, EVP_sha256(), NULL)) {
		snprintf(out, KNOWNHOSTS_FP_LEN, "SHA256:?");
		return;
	}
	n = EVP_EncodeBlock(b64, md, (int)mdlen);
	while (n > 0 && b64[n - 1] == '=')
		n--;
	snprintf(out, KNOWNHOSTS_FP_LEN, "SHA256:%.*s", n, (const char *)b64);
}

void
knownhosts_key_type(const unsigned char *key, size_t len, char *out, size_t n)
{
	uint32_t l;

	if (len < 4)
		goto bad;
	l = (uint32_t)key[0] << 24 | (uint32_t)key[1] << 16 |
	    (uint32_t)key[2] << 8 | key[3];
	if (l == 0 || l > len - 4 || l > 64)
		goto bad;
	snprintf(out, n, "%.*s", (int)l, (const char *)key + 4);
	return;
bad:
	snprintf(out, n, "unknown");
}

/* wild: OpenSSH's pattern match: '*' any run, '?' one character. */
static bool
wild(const char *p, size_t pn, const char *s)
{
	if (pn == 0)
		return *s == '\0';
	if (*p == '*') {
		for (;; s++) {
			if (wild(p + 1, pn - 1, s))
				return true;
			if (*s == '\0')
				return false;
		}
	}
	if (*s == '\0')
		return false;
	if (*p != '?' &&
	    tolower((unsigned char)*p) != tolower((unsigned char)*s))
		return false;
	return wild(p + 1, pn - 1, s + 1);
}

/* hashed_match: "|1|SALT|HASH" names = HMAC-SHA1(salt, name). */
static bool
hashed_match(const char *pat, size_t pn, const char *name)
{
	const char *salt = pat + 3, *bar;
	unsigned char *s = NULL, *h = NULL, md[EVP_MAX_MD_SIZE];
	size_t sn = 0, hn = 0;
	unsigned int mdlen = 0;
	bool ok = false;

	bar = memchr(salt, '|', pn - 3);
	if (bar == NULL ||
	    knownhosts_base64_decode(salt, (size_t)(bar - salt), &s, &sn) < 0 ||
	    knownhosts_base64_decode(bar + 1, pn - (size_t)(bar + 1 - pat), &h,
	                             &hn) < 0)
		goto out;
	if (HMAC(EVP_sha1(), s, (int)sn, (const unsigned char *)name,
	         strlen(name), md, &mdlen) != NULL)
		ok = mdlen == hn && memcmp(md, h, hn) == 0;
out:
	free(s);
	free(h);
	return ok;
}

/* hosts_match: the comma-separated patterns name name (and none of the
 * negated ones does). */
static bool
hosts_match(const char *pats, size_t n, const char *name)
{
	const char *p = pats, *end = pats + n, *comma;
	size_t pn;
	bool hit = false, neg;

	if (n > 3 && strncmp(pats, "|1|", 3) == 0)
		return hashed_match(pats, n, name);
	while (p < end) {
		comma = memchr(p, ',', (size_t)(end - p));
		pn = (size_t)((comma ? comma : end) - p);
		neg = pn > 0 && *p == '!';
		if (wild(p + neg, pn - neg, name)) {
			if (neg)
				return false;
			hit = true;
		}
		p += pn + 1;
	}
	return hit;
}

/* field: the next whitespace-separated field of *line; its length. */
static size_t
field(const char **line, const char **start)
{
	const char *p = *line;

	while (*p == ' ' || *p == '\t')
		p++;
	*start = p;
	while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
		p++;
	*line = p;
	return (size_t)(p - *start);
}

/* check_line: what one line says of name and key (of type). */
static void
check_line(const char *line, const char *name, const char *type,
           const unsigned char *key, size_t len, bool *match, bool *changed,
           bool *revoked)
{
	const char *f, *hosts;
	size_t n, hn;
	unsigned char *blob = NULL;
	size_t blen = 0;
	bool is_revoked = false;

	n = field(&line, &f);
	if (n == 0 || *f == '#')
		return;
	if (*f == '@') {
		if (n == 8 && strncmp(f, "@revoked", 8) == 0)
			is_revoked = true;
		else
			return; /* @cert-authority: host certificates are
			         * not accepted */
		n = field(&line, &f);
	}
	hosts = f;
	hn = n;
	n = field(&line, &f); /* key type */
	if (n != strlen(type) || strncmp(f, type, n) != 0) {
		if (!is_revoked)
			return;
	}
	n = field(&line, &f);
	if (n == 0 || knownhosts_base64_decode(f, n, &blob, &blen) < 0)
		return;
	if (blen == len && memcmp(blob, key, len) == 0) {
		/* a revoked key is refused whatever host it serves */
		if (is_revoked)
			*revoked = true;
		else if (hosts_match(hosts, hn, name))
			*match = true;
	} else if (!is_revoked && hosts_match(hosts, hn, name)) {
		*changed = true;
	}
	free(blob);
}

int
knownhosts_check(const char *file, const char *host, int port,
                 const unsigned char *key, size_t len,
                 enum knownhosts_result *out)
{
	struct buf b = BUF_INIT;
	char type[80], *name;
	const char *line, *nl;
	bool match = false, changed = false, revoked = false;

	*out = KNOWNHOSTS_UNKNOWN;
	if (access(file, F_OK) != 0 && errno == ENOENT)
		return 0; /* no file: nobody is known */
	if (file_read(file, KNOWNHOSTS_MAX_FILE, &b) < 0) {
		buf_free(&b);
		return sf_error_set(SF_EIO, "known_hosts: %s", sf_error_last());
	}
	knownhosts_key_type(key, len, type, sizeof(type));
	name = port && port != 22 ? xasprintf("[%s]:%d", host, port)
	                          : xstrdup(host);
	for (line = buf_cstr(&b); *line; line = nl + 1) {
		check_line(line, name, type, key, len, &match, &changed,
		           &revoked);
		if ((nl = strchr(line, '\n')) == NULL)
			break;
	}
	if (revoked)
		*out = KNOWNHOSTS_REVOKED;
	else if (match)
		*out = KNOWNHOSTS_MATCH;
	else if (changed)
		*out = KNOWNHOSTS_CHANGED;
	free(name);
	buf_free(&b);
	return 0;
}
