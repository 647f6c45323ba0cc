/*
 * git-semver: versions and ranges, as node-semver defines them, because
 * that is what people who pin "^1.2" or ">=1.2.0 <2.0.0" in Flux, Helm
 * or npm expect. Every range is reduced to sets of plain comparators
 * (op, full version) when parsed, so matching is a loop.
 */
#include "common/base.h"

#include <ctype.h>

#include "common/error.h"
#include "common/xalloc.h"
#include "manifests/git-semver.h"

enum cmp_op { OP_EQ, OP_LT, OP_LE, OP_GT, OP_GE };

struct comparator {
	enum cmp_op op;
	struct semver v;
};

struct cset {
	struct comparator *c;
	size_t n;
	bool never; /* a comparator no version satisfies ("<0.0.0") */
};

struct semver_range {
	struct cset *sets;
	size_t n;
};

/* A version as written in a range: up to 3 numbers, the rest wildcards. */
struct partial {
	unsigned long long n[3];
	int given; /* numbers given before the first wildcard or the end */
	char *pre;
};

/* ---- versions ----------------------------------------------------------- */

/* number: digits at *p without a leading zero, bounded; advances *p. */
static int
number(const char **p, unsigned long long *out)
{
	const char *s = *p;
	unsigned long long v = 0;

	if (!isdigit((unsigned char)*s))
		return -1;
	if (s[0] == '0' && isdigit((unsigned char)s[1]))
		return -1;
	while (isdigit((unsigned char)*s)) {
		v = v * 10 + (unsigned long long)(*s - '0');
		if (v > SEMVER_MAX_NUMBER)
			return -1;
		s++;
	}
	*p = s;
	*out = v;
	return 0;
}

/* idents: dot-separated identifiers of [0-9A-Za-z-]; numeric ones have no
 * leading zero (prerelease only). Returns the length, or 0 when bad. */
static size_t
idents(const char *s, bool numeric_rule)
{
	size_t i = 0, start;
	bool digits;

	for (;;) {
		start = i;
		digits = true;
		while (isalnum((unsigned char)s[i]) || s[i] == '-') {
			if (!isdigit((unsigned char)s[i]))
				digits = false;
			i++;
		}
		if (i == start)
			return 0;
		if (numeric_rule && digits && i - start > 1 && s[start] == '0')
			return 0;
		if (s[i] != '.')
			return i;
		i++;
	}
}

/* pre_build: "-PRE" and "+BUILD" at *p; the prerelease is kept. */
static int
pre_build(const char **p, char **pre)
{
	const char *s = *p;
	size_t n;

	*pre = NULL;
	if (*s == '-') {
		if ((n = idents(s + 1, true)) == 0)
			return -1;
		*pre = xstrndup(s + 1, n);
		s += 1 + n;
	}
	if (*s == '+') {
		if ((n = idents(s + 1, false)) == 0) {
			free(*pre);
			*pre = NULL;
			return -1;
		}
		s += 1 + n;
	}
	*p = s;
	return 0;
}

int
semver_parse(const char *s, struct semver *out)
{
	const char *p = s;

	memset(out, 0, sizeof(*out));
	if (*p == 'v' || *p == 'V')
		p++;
	if (number(&p, &out->major) < 0 || *p++ != '.' ||
	    number(&p, &out->minor) < 0 || *p++ != '.' ||
	    number(&p, &out->patch) < 0 || pre_build(&p, &out->pre) < 0)
		goto bad;
	if (*p != '\0') {
		semver_clear(out);
		goto bad;
	}
	return 0;
bad:
	return sf_error_set(SF_EINVALID,
	                    "'%s' is not a semantic version (expected e.g. "
	                    "1.2.3 or v1.2.3-rc.1)",
	                    s);
}

void
semver_clear(struct semver *v)
{
	if (v == NULL)
		return;
	free(v->pre);
	v->pre = NULL;
}

static bool
all_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return n > 0;
}

/* cmp_ident: one prerelease identifier each (lengths a_n, b_n). */
static int
cmp_ident(const char *a, size_t a_n, const char *b, size_t b_n)
{
	bool an = all_digits(a, a_n), bn = all_digits(b, b_n);
	int c;

	if (an && bn) {
		/* no leading zeros: the longer number is the larger */
		if (a_n != b_n)
			return a_n < b_n ? -1 : 1;
		return memcmp(a, b, a_n);
	}
	if (an != bn)
		return an ? -1 : 1; /* numeric identifiers sort first */
	c = memcmp(a, b, a_n < b_n ? a_n : b_n);
	if (c != 0)
		return c;
	return a_n == b_n ? 0 : (a_n < b_n ? -1 : 1);
}

static int
cmp_pre(const char *a, const char *b)
{
	size_t an, bn;
	int c;

	if (a == NULL || b == NULL)
		return a == b ? 0 : (a == NULL ? 1 : -1); /* release > pre */
	for (;;) {
		an = strcspn(a, ".");
		bn = strcspn(b, ".");
		if ((c = cmp_ident(a, an, b, bn)) != 0)
			return c < 0 ? -1 : 1;
		a += an;
		b += bn;
		if (*a == '\0' || *b == '\0')
			return *a == *b ? 0 : (*a == '\0' ? -1 : 1);
		a++;
		b++;
	}
}

static int
cmp3(unsigned long long a, unsigned long long b)
{
	return a == b ? 0 : (a < b ? -1 : 1);
}

int
semver_cmp(const struct semver *a, const struct semver *b)
{
	int c;

	if ((c = cmp3(a->major, b->major)) != 0 ||
	    (c = cmp3(a->minor, b->minor)) != 0 ||
	    (c = cmp3(a->patch, b->patch)) != 0)
		return c;
	return cmp_pre(a->pre, b->pre);
}

/* ---- ranges: parsing ---------------------------------------------------- */

static bool
wildcard(const char *p)
{
	return (*p == 'x' || *p == 'X' || *p == '*') &&
	       (p[1] == '\0' || p[1] == '.');
}

/* parse_partial: "1", "1.2", "1.x", "1.2.3-rc.1", "*" (whole token). */
static int
parse_partial(const char *s, struct partial *out)
{
	const char *p = s;
	int i;

	memset(out, 0, sizeof(*out));
	if (*p == 'v' || *p == 'V')
		p++;
	for (i = 0; i < 3; i++) {
		if (wildcard(p)) {
			p++;
			/* everything after a wildcard is a wildcard too */
			while (*p == '.' && wildcard(p + 1))
				p += 2;
			return *p == '\0' ? 0 : -1;
		}
		if (number(&p, &out->n[i]) < 0)
			return -1;
		out->given = i + 1;
		if (i < 2 && *p == '.') {
			p++;
			continue;
		}
		break;
	}
	if (out->given == 3 && pre_build(&p, &out->pre) < 0)
		return -1;
	return *p == '\0' ? 0 : -1;
}

static void
add_cmp(struct cset *s, enum cmp_op op, unsigned long long ma,
        unsigned long long mi, unsigned long long pa, const char *pre)
{
	struct comparator *c;

	s->c = xreallocarray(s->c, s->n + 1, sizeof(*s->c));
	c = &s->c[s->n++];
	c->op = op;
	c->v.major = ma;
	c->v.minor = mi;
	c->v.patch = pa;
	c->v.pre = xstrdup_or_null(pre);
}

/* add_upper: "< the next version after the given parts" (1 -> <2.0.0,
 * 1.2 -> <1.3.0). */
static void
add_upper(struct cset *s, const struct partial *p)
{
	if (p->given == 1)
		add_cmp(s, OP_LT, p->n[0] + 1, 0, 0, NULL);
	else if (p->given == 2)
		add_cmp(s, OP_LT, p->n[0], p->n[1] + 1, 0, NULL);
}

static void
desugar_tilde(struct cset *s, const struct partial *p)
{
	if (p->given == 0)
		return; /* ~* : anything */
	add_cmp(s, OP_GE, p->n[0], p->n[1], p->n[2], p->pre);
	if (p->given == 1)
		add_cmp(s, OP_LT, p->n[0] + 1, 0, 0, NULL);
	else
		add_cmp(s, OP_LT, p->n[0], p->n[1] + 1, 0, NULL);
}

static void
desugar_caret(struct cset *s, const struct partial *p)
{
	if (p->given == 0)
		return;
	add_cmp(s, OP_GE, p->n[0], p->n[1], p->n[2], p->pre);
	/* the first non-zero part given may not change */
	if (p->n[0] > 0 || p->given == 1)
		add_cmp(s, OP_LT, p->n[0] + 1, 0, 0, NULL);
	else if (p->n[1] > 0 || p->given == 2)
		add_cmp(s, OP_LT, 0, p->n[1] + 1, 0, NULL);
	else
		add_cmp(s, OP_LT, 0, 0, p->n[2] + 1, NULL);
}

static void
desugar(struct cset *s, enum cmp_op op, const struct partial *p)
{
	if (p->given == 3) {
		add_cmp(s, op, p->n[0], p->n[1], p->n[2], p->pre);
		return;
	}
	switch (op) {
	case OP_EQ: /* 1.2 = >=1.2.0 <1.3.0; * = anything */
		if (p->given == 0)
			return;
		add_cmp(s, OP_GE, p->n[0], p->n[1], 0, NULL);
		add_upper(s, p);
		return;
	case OP_GT: /* >1.2 = >=1.3.0; >* = nothing */
		if (p->given == 0)
			s->never = true;
		else if (p->given == 1)
			add_cmp(s, OP_GE, p->n[0] + 1, 0, 0, NULL);
		else
			add_cmp(s, OP_GE, p->n[0], p->n[1] + 1, 0, NULL);
		return;
	case OP_GE: /* >=1.2 = >=1.2.0; >=* = anything */
		if (p->given > 0)
			add_cmp(s, OP_GE, p->n[0], p->n[1], 0, NULL);
		return;
	case OP_LT: /* <1.2 = <1.2.0; <* = nothing */
		if (p->given == 0)
			s->never = true;
		else
			add_cmp(s, OP_LT, p->n[0], p->n[1], 0, NULL);
		return;
	case OP_LE: /* <=1.2 = <1.3.0; <=* = anything */
		add_upper(s, p);
		return;
	}
}

/* one_comparator: an operator-prefixed or bare partial version token. */
static int
one_comparator(struct cset *s, const char *tok)
{
	struct partial p;
	enum cmp_op op = OP_EQ;
	int tilde = 0, caret = 0;
	const char *v = tok;

	if (strncmp(v, ">=", 2) == 0)
		op = OP_GE, v += 2;
	else if (strncmp(v, "<=", 2) == 0)
		op = OP_LE, v += 2;
	else if (*v == '>')
		op = OP_GT, v++;
	else if (*v == '<')
		op = OP_LT, v++;
	else if (*v == '=')
		v++;
	else if (*v == '~')
		tilde = 1, v += v[1] == '>' ? 2 : 1; /* "~>" too */
	else if (*v == '^')
		caret = 1, v++;
	if (parse_partial(v, &p) < 0)
		return -1;
	if (tilde)
		desugar_tilde(s, &p);
	else if (caret)
		desugar_caret(s, &p);
	else
		desugar(s, op, &p);
	free(p.pre);
	return 0;
}

static bool
op_only(const char *t)
{
	return strcmp(t, ">") == 0 || strcmp(t, ">=") == 0 ||
	       strcmp(t, "<") == 0 || strcmp(t, "<=") == 0 ||
	       strcmp(t, "=") == 0 || strcmp(t, "~") == 0 ||
	       strcmp(t, "^") == 0 || strcmp(t, "~>") == 0;
}

/* tokens: split a set at spaces and commas, joining an operator written
 * apart from its version (">= 1.2.0"). Returns the count. */
static size_t
tokens(char *s, char **tok, size_t max)
{
	size_t n = 0;
	char *p = s;

	while (*p && n < max) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		tok[n++] = p;
		while (*p && *p != ' ' && *p != '\t' && *p != ',')
			p++;
		if (*p)
			*p++ = '\0';
	}
	return n;
}

static int
parse_set(char *text, struct cset *s)
{
	char *tok[64], *joined;
	struct partial a, b;
	size_t n = tokens(text, tok, 64), i;
	int rc = 0;

	if (n == 64)
		return -1;
	if (n == 3 && strcmp(tok[1], "-") == 0) {
		/* A - B: >=A (zero-filled) and <=B (a partial B: below the
		 * next version) */
		if (parse_partial(tok[0], &a) < 0)
			return -1;
		if (parse_partial(tok[2], &b) < 0) {
			free(a.pre);
			return -1;
		}
		desugar(s, OP_GE, &a);
		desugar(s, OP_LE, &b);
		free(a.pre);
		free(b.pre);
		return 0;
	}
	for (i = 0; i < n && rc == 0; i++) {
		if (op_only(tok[i])) {
			if (i + 1 == n)
				return -1;
			joined = xasprintf("%s%s", tok[i], tok[i + 1]);
			rc = one_comparator(s, joined);
			free(joined);
			i++;
		} else {
			rc = one_comparator(s, tok[i]);
		}
	}
	return rc;
}

void
semver_range_free(struct semver_range *r)
{
	size_t i, j;

	if (r == NULL)
		return;
	for (i = 0; i < r->n; i++) {
		for (j = 0; j < r->sets[i].n; j++)
			semver_clear(&r->sets[i].c[j].v);
		free(r->sets[i].c);
	}
	free(r->sets);
	free(r);
}

int
semver_range_parse(const char *s, struct semver_range **out)
{
	struct semver_range *r = xcalloc(1, sizeof(*r));
	char *copy = NULL, *p, *bar;
	int rc = 0;

	*out = NULL;
	if (strlen(s) > SEMVER_MAX_RANGE_LEN || strspn(s, " \t") == strlen(s))
		goto bad;
	copy = xstrdup(s);
	for (p = copy;; p = bar + 2) {
		bar = strstr(p, "||");
		if (bar)
			*bar = '\0';
		r->sets = xreallocarray(r->sets, r->n + 1, sizeof(*r->sets));
		memset(&r->sets[r->n], 0, sizeof(r->sets[0]));
		if (strspn(p, " \t") == strlen(p) ||
		    parse_set(p, &r->sets[r->n++]) < 0)
			goto bad;
		if (bar == NULL)
			break;
	}
	free(copy);
	*out = r;
	return 0;
bad:
	rc = sf_error_set(SF_EINVALID,
	                  "'%s' is not a semver range (expected e.g. "
	                  "\">=1.2.0 <2.0.0\", \"^1.2\" or \"~1.2.3\")",
	                  s);
	free(copy);
	semver_range_free(r);
	return rc;
}

/* ---- ranges: matching --------------------------------------------------- */

static bool
holds(const struct comparator *c, const struct semver *v)
{
	int d = semver_cmp(v, &c->v);

	switch (c->op) {
	case OP_EQ:
		return d == 0;
	case OP_LT:
		return d < 0;
	case OP_LE:
		return d <= 0;
	case OP_GT:
		return d > 0;
	case OP_GE:
		return d >= 0;
	}
	return false;
}

static bool
set_match(const struct cset *s, const struct semver *v)
{
	size_t i;
	bool pre_ok = v->pre == NULL;

	if (s->never)
		return false;
	for (i = 0; i < s->n; i++) {
		if (!holds(&s->c[i], v))
			return false;
		/* a prerelease needs a prerelease comparator on its own
		 * MAJOR.MINOR.PATCH */
		if (s->c[i].v.pre && s->c[i].v.major == v->major &&
		    s->c[i].v.minor == v->minor && s->c[i].v.patch == v->patch)
			pre_ok = true;
	}
	return pre_ok;
}

bool
semver_range_match(const struct semver_range *r, const struct semver *v)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (set_match(&r->sets[i], v))
			return true;
	return false;
}
