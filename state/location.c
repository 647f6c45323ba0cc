/*
 * location: file paths and URLs of states; see location.h.
 *
 * Why it looks the way it does:
 * - The user part of a URL ends at its LAST '@', and its query starts at
 *   the first '?' after that: a password with an unescaped '/', '?' or
 *   '@' is still cut out whole, so a mistyped URL cannot leak its
 *   password. (A '@' in a parameter value then hides a little more than
 *   the password: safe, if not pretty.)
 * - Query parameter names are compared after percent-decoding, because
 *   libpq decodes them: "pass%77ord=x" is a password too.
 * - Nothing here parses hosts, ports or databases: libpq does, and its
 *   messages never repeat a password.
 */
#include "common/base.h"

#include <ctype.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/xalloc.h"
#include "state/location.h"

size_t
location_scheme_len(const char *loc)
{
	size_t i = 0;

	if (loc == NULL || !isalpha((unsigned char)loc[0]))
		return 0;
	while (isalnum((unsigned char)loc[i]) || loc[i] == '+' ||
	       loc[i] == '-' || loc[i] == '.')
		i++;
	return strncmp(loc + i, "://", 3) == 0 ? i : 0;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* pct_decode: the len bytes at s percent-decoded, or NULL when an escape
 * is malformed or decodes to NUL. */
static char *
pct_decode(const char *s, size_t len)
{
	char *out = xmalloc(len + 1);
	size_t i, n = 0;
	int hi, lo;

	for (i = 0; i < len; i++) {
		if (s[i] != '%') {
			out[n++] = s[i];
			continue;
		}
		hi = i + 2 < len ? hexval(s[i + 1]) : -1;
		lo = i + 2 < len ? hexval(s[i + 2]) : -1;
		if (hi < 0 || lo < 0 || (hi | lo) == 0) {
			free(out);
			return NULL;
		}
		out[n++] = (char)(hi * 16 + lo);
		i += 2;
	}
	out[n] = '\0';
	return out;
}

/* param_is: the parameter at p (len bytes, "NAME[=VALUE]") is called name. */
static int
param_is(const char *p, size_t len, const char *name)
{
	const char *eq = memchr(p, '=', len);
	size_t klen = eq ? (size_t)(eq - p) : len;
	char *key = pct_decode(p, klen);
	int is;

	if (key == NULL) /* undecodable: compare it as written */
		return klen == strlen(name) && strncasecmp(p, name, klen) == 0;
	is = strcasecmp(key, name) == 0;
	free(key);
	return is;
}

/*
 * split: where the parts of a URL start: *auth after "SCHEME://", *at its
 * last '@' (0: no user part), *query the first '?' after both (or the
 * end).
 */
static void
split(const char *url, size_t *auth, size_t *at, size_t *query)
{
	const char *q, *a = strrchr(url, '@');

	*auth = location_scheme_len(url) + 3;
	*at = a != NULL && (size_t)(a - url) >= *auth ? (size_t)(a - url) : 0;
	q = strchr(url + (*at ? *at : *auth), '?');
	*query = q ? (size_t)(q - url) : strlen(url);
}

int
location_user_ambiguous(const char *url)
{
	size_t auth, at, query, i;
	int colon = 0;

	split(url, &auth, &at, &query);
	for (i = auth; i < at; i++) {
		if (url[i] == ':')
			colon = 1;
		else if (colon && (url[i] == '/' || url[i] == '@'))
			return 1;
	}
	return 0;
}

char *
location_redact(const char *loc)
{
	struct buf b = BUF_INIT;
	size_t auth, at, query, i, start, end;
	const char *colon;
	int first = 1;

	if (loc == NULL)
		return NULL;
	if (location_scheme_len(loc) == 0)
		return xstrdup(loc);
	split(loc, &auth, &at, &query);
	if (at > 0) {
		colon = memchr(loc + auth, ':', at - auth);
		buf_add(&b, loc, colon ? (size_t)(colon - loc) : at);
		buf_add(&b, loc + at, query - at);
	} else {
		buf_add(&b, loc, query);
	}
	if (loc[query] == '?') {
		for (start = query + 1; start <= strlen(loc); start = end + 1) {
			for (end = start; loc[end] != '\0' && loc[end] != '&';
			     end++)
				;
			if (end > start &&
			    !param_is(loc + start, end - start, "password")) {
				buf_addch(&b, first ? '?' : '&');
				buf_add(&b, loc + start, end - start);
				first = 0;
			}
			if (loc[end] == '\0')
				break;
		}
	}
	for (i = 0; i < b.len; i++) /* never show a control character */
		if ((unsigned char)b.data[i] < 0x20 || b.data[i] == 0x7f)
			b.data[i] = '?';
	buf_addstr(&b, "");
	return buf_detach(&b, NULL);
}

int
location_take_param(const char *url, const char *name, char **rest,
                    char **value)
{
	struct buf b = BUF_INIT;
	size_t auth, at, query, start, end, len, nlen = strlen(name);
	const char *eq;
	char *v = NULL;
	int first = 1;

	*rest = NULL;
	*value = NULL;
	split(url, &auth, &at, &query);
	buf_add(&b, url, query);
	len = strlen(url);
	for (start = query + 1; query < len && start <= len; start = end + 1) {
		for (end = start; url[end] != '\0' && url[end] != '&'; end++)
			;
		if (end > start && param_is(url + start, end - start, name)) {
			eq = memchr(url + start, '=', end - start);
			free(v);
			v = eq ? pct_decode(eq + 1,
			                    (size_t)(url + end - eq - 1))
			       : xstrdup("");
			if (v == NULL) {
				buf_free(&b);
				return sf_error_set(
				        SF_EINVALID,
				        "state URL: parameter '%.*s' "
				        "has a malformed %%-escape",
				        (int)nlen, name);
			}
		} else if (end > start) {
			buf_addch(&b, first ? '?' : '&');
			buf_add(&b, url + start, end - start);
			first = 0;
		}
		if (url[end] == '\0')
			break;
	}
	buf_addstr(&b, "");
	*rest = buf_detach(&b, NULL);
	*value = v;
	return 0;
}
