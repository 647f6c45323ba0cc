/*
 * ignorefile: see ignorefile.h.
 */
#include "common/base.h"

#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/xalloc.h"
#include "manifests/ignorefile.h"

void
ignorefile_add(struct ignorefile *f, const char *pattern)
{
	size_t n = strlen(pattern);

	while (n > 0 && (pattern[n - 1] == ' ' || pattern[n - 1] == '\t' ||
	                 pattern[n - 1] == '\r'))
		n--;
	if (n == 0 || pattern[0] == '#')
		return;
	f->pats = xreallocarray(f->pats, f->n + 1, sizeof(*f->pats));
	f->pats[f->n++] = xstrndup(pattern, n);
}

void
ignorefile_parse(struct ignorefile *f, const char *text, size_t len)
{
	const char *p = text, *end = text + len, *nl;
	char *line;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		line = xstrndup(p, (size_t)(nl - p));
		ignorefile_add(f, line);
		free(line);
		p = nl + 1;
	}
}

/*
 * to_regex: pat as an anchored POSIX ERE: a star, '?' and [...] stay within
 * one name; two stars cross names (followed by a slash they also match no
 * directory at all).
 */
static void
to_regex(struct buf *re, const char *p)
{
	buf_addch(re, '^');
	while (*p) {
		if (p[0] == '*' && p[1] == '*') {
			if (p[2] == '/') {
				buf_addstr(re, "(.*/)?");
				p += 3;
			} else {
				buf_addstr(re, ".*");
				p += 2;
			}
		} else if (*p == '*') {
			buf_addstr(re, "[^/]*");
			p++;
		} else if (*p == '?') {
			buf_addstr(re, "[^/]");
			p++;
		} else if (*p == '[' && strchr(p + 1, ']') != NULL) {
			const char *end = strchr(p + 2, ']');

			end = end ? end : strchr(p + 1, ']');
			buf_addch(re, '[');
			p++;
			if (*p == '!') {
				buf_addch(re, '^');
				p++;
			}
			while (p < end)
				buf_addch(re, *p++);
			buf_addch(re, ']');
			p++;
		} else {
			if (strchr(".^$+(){}|\\[]", *p))
				buf_addch(re, '\\');
			if (*p == '\\' && p[1] != '\0')
				p++;
			buf_addch(re, *p++);
		}
	}
	buf_addch(re, '$');
}

/* glob: pat against s (the whole of it). */
static bool
glob(const char *pat, const char *s)
{
	struct buf re = BUF_INIT;
	regex_t rx;
	bool ok = false;

	to_regex(&re, pat);
	if (regcomp(&rx, buf_cstr(&re), REG_EXTENDED | REG_NOSUB) == 0) {
		ok = regexec(&rx, s, 0, NULL, 0) == 0;
		regfree(&rx);
	}
	buf_free(&re);
	return ok;
}

/* matches: one pattern (without '!') against rel. */
static bool
matches(const char *pat, const char *rel, bool is_dir)
{
	size_t n = strlen(pat);
	char *p;
	const char *base;
	bool ok;

	if (n > 0 && pat[n - 1] == '/') {
		if (!is_dir)
			return false;
		n--;
	}
	p = xstrndup(pat, n);
	if (strchr(p, '/') != NULL) {
		ok = glob(p[0] == '/' ? p + 1 : p, rel);
	} else {
		base = strrchr(rel, '/');
		ok = glob(p, base ? base + 1 : rel);
	}
	free(p);
	return ok;
}

bool
ignorefile_skips(const struct ignorefile *f, const char *rel, bool is_dir)
{
	bool skip = false;
	size_t i;

	for (i = 0; f != NULL && i < f->n; i++) {
		const char *p = f->pats[i];
		bool neg = p[0] == '!';

		if (neg)
			p++;
		else if (p[0] == '\\' && (p[1] == '!' || p[1] == '#'))
			p++;
		if (matches(p, rel, is_dir))
			skip = !neg;
	}
	return skip;
}

void
ignorefile_clear(struct ignorefile *f)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		free(f->pats[i]);
	free(f->pats);
	f->pats = NULL;
	f->n = 0;
}
