/*
 * yfast: the common subset of YAML, read without libyaml (see yfast.h).
 *
 * Every function returns false as soon as the input leaves the subset; the
 * document is then libyaml's. The rules below are the ones libyaml 0.2.5
 * follows for these forms (scanner.c and parser.c), kept where they are
 * simple and refused where they are not:
 *
 * - A plain scalar may not start with an indicator (-?:,[]{}#&*!|>'"%@`),
 *   except "-" before a letter or digit ("-1"); "." may not start "..".
 *   It ends at ": ", at " #", at the line's end, and in a flow collection
 *   at ",[]{}". Spaces inside are kept, trailing spaces are not. In flow,
 *   a ':' or '#' inside is refused (libyaml's rules there changed over
 *   versions).
 * - A quoted scalar is one line, without '' (single) or \ (double).
 * - A block mapping's start mark is its first key; a block list's is its
 *   first '-'; a flow collection's is its bracket; a scalar's its first
 *   character (the quote, when quoted).
 * - A key is one line and at most 1,000 bytes (libyaml's simple keys end
 *   at 1,024), followed by ':' and a space or the line's end.
 * - After a scalar value the next line may not be indented deeper (libyaml
 *   would continue the scalar over it, or fail); a value on the lines below
 *   its key is a deeper mapping or list, or a list at the key's own
 *   indentation. An empty value is refused (its mark is the next token's).
 * - The root of a document starts at column 0; a document is explicit
 *   ("---" alone on its line, or with a comment) or the stream's first.
 *   "...", directives and empty documents are refused.
 */
#include "common/base.h"

#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "manifests/yfast.h"
#include "manifests/ytree.h"

/* What peek() gives past the bytes yfast reads: the end of the data, or
 * a byte it does not take (a "wall"). Neither is a byte yfast takes. */
#define YF_EOF  0
#define YF_WALL 1

/* Nesting yfast follows itself; deeper is libyaml's (and ytree's limit). */
#define YF_MAX_DEPTH 64
/* A key's bytes, below libyaml's 1,024 for a simple key. */
#define YF_MAX_KEY 1000
/* Events per document; more is libyaml's (ytree refuses such a
 * document anyway, past YTREE_MAX_NODES). */
#define YF_MAX_EVENTS (2 * (size_t)YTREE_MAX_NODES + 8)

size_t
yfast_untaken(const char *s, size_t len)
{
	size_t i = 0, k;

	while (i < len) {
		if (i + 8 <= len && yfast_word_taken(s + i)) {
			i += 8;
			continue;
		}
		for (k = i + 8 < len ? i + 8 : len; i < k; i++) {
			unsigned char c = (unsigned char)s[i];

			if (c != '\n' && (c < 0x20 || c > 0x7e))
				return i;
		}
	}
	return len;
}

void
yfast_init(struct yfast *f, const char *data, size_t len, size_t untaken)
{
	memset(f, 0, sizeof(*f));
	f->s = data;
	f->len = len;
	f->end = untaken;
}

void
yfast_free(struct yfast *f)
{
	free(f->ev);
	f->ev = NULL;
	f->nev = f->cap = 0;
}

static inline int
peek(const struct yfast *f, size_t k)
{
	size_t j = f->i + k;

	if (j < f->end)
		return (unsigned char)f->s[j];
	return j >= f->len ? YF_EOF : YF_WALL;
}

static inline bool
blankz(int c)
{
	return c == ' ' || c == '\n' || c == YF_EOF;
}

static inline bool
eof(const struct yfast *f)
{
	return f->i >= f->len;
}

static inline void
skip_spaces(struct yfast *f)
{
	while (f->i < f->end && f->s[f->i] == ' ')
		f->i++;
}

static inline void
newline(struct yfast *f)
{
	f->i++;
	f->line++;
	f->ls = f->i;
}

static bool
push(struct yfast *f, yaml_event_type_t type, size_t at)
{
	struct yev *e;

	if (f->nev == f->cap) {
		if (f->cap >= YF_MAX_EVENTS)
			return false;
		f->cap = f->cap ? f->cap * 2 : 64;
		f->ev = xreallocarray(f->ev, f->cap, sizeof(*f->ev));
	}
	e = &f->ev[f->nev++];
	memset(e, 0, sizeof(*e));
	e->type = type;
	e->line = f->line;
	e->col = at - f->ls;
	return true;
}

/* skip_comment: past the comment at the cursor and its LF; false at a
 * wall. */
static bool
skip_comment(struct yfast *f)
{
	const char *nl = memchr(f->s + f->i, '\n', f->end - f->i);

	if (nl == NULL) {
		f->i = f->end;
		return f->end == f->len;
	}
	f->i = (size_t)(nl - f->s);
	newline(f);
	return true;
}

/*
 * next_content: from the start of a line (or the end of a value's line),
 * past blank and comment lines to the first byte of the next line that
 * holds something, or to the end of the data. False at a wall.
 */
static bool
next_content(struct yfast *f)
{
	for (;;) {
		skip_spaces(f);
		switch (peek(f, 0)) {
		case '\n':
			newline(f);
			continue;
		case '#':
			if (!skip_comment(f))
				return false;
			continue;
		case YF_EOF:
			return true;
		case YF_WALL:
			return false;
		default:
			return true;
		}
	}
}

/* end_of_line: only spaces and a comment left on the line; the cursor
 * goes past its LF. */
static bool
end_of_line(struct yfast *f)
{
	int c;

	skip_spaces(f);
	c = peek(f, 0);
	if (c == '\n') {
		newline(f);
		return true;
	}
	if (c == YF_EOF)
		return true;
	if (c != '#' || f->s[f->i - 1] != ' ')
		return false;
	return skip_comment(f);
}

static bool
plain_first(int c, int next)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	switch (c) {
	case '_':
	case '/':
	case '~':
	case '+':
	case '$':
	case '(':
	case ')':
	case '=':
	case '^':
	case ';':
	case '<':
	case '\\':
		return true;
	case '.':
		return next != '.';
	case '-':
		return (next >= 'a' && next <= 'z') ||
		       (next >= 'A' && next <= 'Z') ||
		       (next >= '0' && next <= '9');
	default:
		return false;
	}
}

/* A scalar read but not yet pushed. */
struct yf_scalar {
	yaml_scalar_style_t style;
	size_t at;     /* its mark: first byte, or the opening quote */
	size_t vs, vl; /* its value */
};

/* The bytes that may end a plain scalar, or need a look: all the others
 * (taken ones: yfast stops at the first byte it does not take) go on. */
static const unsigned char plain_stop[256] = {
	['\n'] = 1, [' '] = 1, ['#'] = 1, [':'] = 1, [','] = 1,
	['['] = 1,  [']'] = 1, ['{'] = 1, ['}'] = 1,
};

/*
 * plain: a plain scalar at the cursor. The cursor stops on what ended it:
 * a ':' (a key's), a '#' (a comment), a LF, the end, or in flow one of
 * ",[]{}".
 */
static bool
plain(struct yfast *f, bool flow, struct yf_scalar *sc)
{
	const char *s = f->s;
	size_t i, run, last, end = f->end;
	int c, n;

	if (!plain_first(peek(f, 0), peek(f, 1)))
		return false;
	sc->style = YAML_PLAIN_SCALAR_STYLE;
	sc->at = sc->vs = f->i;
	i = last = f->i + 1;
	for (;;) {
		for (run = i; i < end && !plain_stop[(unsigned char)s[i]]; i++)
			;
		if (i > run)
			last = i;
		if (i == end) {
			if (end < f->len)
				return false; /* a byte yfast does not take */
			break;
		}
		c = (unsigned char)s[i];
		if (c == ' ') {
			i++;
			continue;
		}
		if (c == '\n')
			break;
		if (c == '#') {
			if (s[i - 1] == ' ')
				break;
			if (flow)
				return false;
		} else if (c == ':') {
			n = i + 1 < end ? (unsigned char)s[i + 1]
			                : (i + 1 >= f->len ? YF_EOF : YF_WALL);
			if (blankz(n))
				break;
			if (flow || n == YF_WALL)
				return false;
		} else if (flow) {
			break; /* ,[]{} */
		}
		last = ++i;
	}
	f->i = i;
	sc->vl = last - sc->vs;
	return true;
}

/* quoted: a one-line quoted scalar without escapes; the cursor goes past
 * the closing quote. */
static bool
quoted(struct yfast *f, struct yf_scalar *sc)
{
	int q = peek(f, 0), c;

	sc->style = q == '\'' ? YAML_SINGLE_QUOTED_SCALAR_STYLE
	                      : YAML_DOUBLE_QUOTED_SCALAR_STYLE;
	sc->at = f->i++;
	sc->vs = f->i;
	for (;;) {
		c = peek(f, 0);
		if (c == q)
			break;
		if (c == '\n' || c == YF_EOF || c == YF_WALL ||
		    (q == '"' && c == '\\'))
			return false;
		f->i++;
	}
	if (q == '\'' && peek(f, 1) == '\'')
		return false; /* '' : an escaped quote */
	sc->vl = f->i - sc->vs;
	f->i++;
	return true;
}

static bool
scalar(struct yfast *f, bool flow, struct yf_scalar *sc)
{
	int c = peek(f, 0);

	if (c == '\'' || c == '"')
		return quoted(f, sc);
	return plain(f, flow, sc);
}

static bool
push_scalar(struct yfast *f, const struct yf_scalar *sc)
{
	struct yev *e;

	if (!push(f, YAML_SCALAR_EVENT, sc->at))
		return false;
	e = &f->ev[f->nev - 1];
	e->style = sc->style;
	e->value = f->s + sc->vs;
	e->len = sc->vl;
	return true;
}

static bool flow_collection(struct yfast *f);

static bool
flow_node(struct yfast *f)
{
	struct yf_scalar sc;
	int c = peek(f, 0);

	if (c == '{' || c == '[')
		return flow_collection(f);
	return scalar(f, true, &sc) && push_scalar(f, &sc);
}

/* flow_collection: "{k: v, ...}" or "[a, ...]" on one line. */
static bool
flow_collection(struct yfast *f)
{
	bool map = peek(f, 0) == '{';
	int close = map ? '}' : ']', c;
	struct yf_scalar key;

	if (++f->depth > YF_MAX_DEPTH ||
	    !push(f, map ? YAML_MAPPING_START_EVENT : YAML_SEQUENCE_START_EVENT,
	          f->i))
		return false;
	f->i++;
	skip_spaces(f);
	if (peek(f, 0) == close) {
		f->i++;
	} else {
		for (;;) {
			if (map) {
				if (!scalar(f, true, &key) ||
				    !push_scalar(f, &key))
					return false;
				skip_spaces(f);
				if (peek(f, 0) != ':' || peek(f, 1) != ' ')
					return false;
				f->i += 2;
				skip_spaces(f);
			}
			if (!flow_node(f))
				return false;
			skip_spaces(f);
			c = peek(f, 0);
			if (c == close) {
				f->i++;
				break;
			}
			if (c != ',')
				return false;
			f->i++;
			skip_spaces(f);
			if (peek(f, 0) == close)
				return false; /* a trailing comma */
		}
	}
	f->depth--;
	return push(f, map ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT,
	            f->i);
}

static inline bool
at_dash(const struct yfast *f)
{
	return peek(f, 0) == '-' && blankz(peek(f, 1));
}

/* at_doc_start: "---" at the start of a line, then a blank or the end. */
static inline bool
at_doc_start(const struct yfast *f)
{
	return f->i == f->ls && peek(f, 0) == '-' && peek(f, 1) == '-' &&
	       peek(f, 2) == '-' && blankz(peek(f, 3));
}

/* key_follows: after a scalar, (spaces and) ':' then a blank; the cursor
 * goes past the ':'. */
static bool
key_follows(struct yfast *f)
{
	skip_spaces(f);
	if (peek(f, 0) != ':' || !blankz(peek(f, 1)))
		return false;
	f->i++;
	return true;
}

static bool block_map(struct yfast *f, size_t n);
static bool block_seq(struct yfast *f, size_t m, bool indentless);

/* value_end: the rest of a value's line, then to the next content. */
static bool
value_end(struct yfast *f)
{
	return end_of_line(f) && next_content(f);
}

/*
 * block_value: the value of a key of the block mapping at indentation n,
 * the cursor past the key's ':'. Ends at the next content (or the end).
 */
static bool
block_value(struct yfast *f, size_t n)
{
	struct yf_scalar sc;
	size_t m;
	int c;

	skip_spaces(f);
	c = peek(f, 0);
	if (c == '\n' || c == '#' || c == YF_EOF) {
		if (!value_end(f) || eof(f))
			return false; /* an empty value */
		m = f->i - f->ls;
		if (m > n)
			return at_dash(f) ? block_seq(f, m, false)
			                  : block_map(f, m);
		if (m == n && at_dash(f))
			return block_seq(f, n, true);
		return false; /* an empty value */
	}
	if (c == '{' || c == '[') {
		if (!flow_collection(f))
			return false;
	} else if (!scalar(f, false, &sc) || peek(f, 0) == ':' ||
	           !push_scalar(f, &sc)) {
		return false;
	}
	return value_end(f);
}

/* block_map: the block mapping whose first key is at the cursor, at
 * indentation (column) n. */
static bool
block_map(struct yfast *f, size_t n)
{
	struct yf_scalar key;
	size_t m;

	if (++f->depth > YF_MAX_DEPTH ||
	    !push(f, YAML_MAPPING_START_EVENT, f->i))
		return false;
	for (;;) {
		if (!scalar(f, false, &key) || key.vl > YF_MAX_KEY ||
		    !key_follows(f) || !push_scalar(f, &key) ||
		    !block_value(f, n))
			return false;
		if (eof(f))
			break;
		m = f->i - f->ls;
		if (m < n || (m == 0 && at_doc_start(f)))
			break;
		if (m > n || at_dash(f))
			return false;
	}
	f->depth--;
	return push(f, YAML_MAPPING_END_EVENT, f->i);
}

/*
 * block_seq: the block list whose first '-' is at the cursor, at
 * indentation m; indentless: the value of a key at the same indentation,
 * which goes on after the list.
 */
static bool
block_seq(struct yfast *f, size_t m, bool indentless)
{
	struct yf_scalar sc;
	size_t at, m2;
	int c;

	if (++f->depth > YF_MAX_DEPTH ||
	    !push(f, YAML_SEQUENCE_START_EVENT, f->i))
		return false;
	for (;;) {
		if (peek(f, 1) != ' ')
			return false; /* "-" alone: the item below, or empty */
		f->i++;
		skip_spaces(f);
		at = f->i;
		c = peek(f, 0);
		if (c == '\n' || c == '#' || c == YF_EOF || c == YF_WALL ||
		    at_dash(f))
			return false;
		if (c == '{' || c == '[') {
			if (!flow_collection(f) || !value_end(f))
				return false;
		} else {
			if (!scalar(f, false, &sc))
				return false;
			if (key_follows(f)) {
				/* "- k: v": a mapping at k's column */
				f->i = at;
				if (!block_map(f, at - f->ls))
					return false;
			} else if (!push_scalar(f, &sc) || !value_end(f)) {
				return false;
			}
		}
		if (eof(f))
			break;
		m2 = f->i - f->ls;
		if (m2 < m)
			break;
		if (m2 > m)
			return false;
		if (at_dash(f))
			continue;
		if (indentless || (m == 0 && at_doc_start(f)))
			break;
		return false;
	}
	f->depth--;
	return push(f, YAML_SEQUENCE_END_EVENT, f->i);
}

int
yfast_next(struct yfast *f)
{
	bool ok;

	f->nev = 0;
	f->depth = 0;
	f->doc_off = f->ls;
	f->doc_line = f->line;
	if (eof(f))
		return 0;
	if (f->i != f->ls)
		return -1;
	if (!next_content(f))
		return -1;
	if (eof(f))
		return 0;
	if (at_doc_start(f)) {
		f->i += 3;
		if (!value_end(f) || eof(f) || at_doc_start(f))
			return -1; /* an empty document */
	} else if (f->doc_off != 0) {
		return -1;
	}
	if (f->i != f->ls || !push(f, YAML_DOCUMENT_START_EVENT, f->i))
		return -1;
	if (peek(f, 0) == '{' || peek(f, 0) == '[')
		ok = flow_collection(f) && value_end(f);
	else if (at_dash(f))
		ok = block_seq(f, 0, false);
	else
		ok = block_map(f, 0);
	if (!ok || !(eof(f) || at_doc_start(f)) ||
	    !push(f, YAML_DOCUMENT_END_EVENT, f->i))
		return -1;
	return 1;
}
