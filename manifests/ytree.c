/*
 * ytree: libyaml's event parser feeding a tree we control.
 *
 * We use events rather than yaml_parser_load() so that every limit is
 * checked while the input is read: an alias is refused the moment it
 * appears (a billion-laughs file never expands), nesting is counted on the
 * way down, and the node count of a document is bounded. The bytes are
 * checked for valid UTF-8 and NUL first so that such errors get a line and
 * column (libyaml's reader only gives a byte offset).
 */
#include "common/base.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/xalloc.h"
#include "manifests/manifest.h"
#include "manifests/yfast.h"
#include "manifests/ytree.h"

bool
ynode_is_null(const struct ynode *n)
{
	if (n == NULL)
		return true;
	if (n->type != YNODE_SCALAR)
		return false;
	if (n->tag == YTAG_NULL)
		return true;
	if (!n->plain || n->tag != YTAG_NONE)
		return false;
	/* most values start with none of "~nN": no string compare */
	if (n->len == 0)
		return true;
	if (n->value[0] != '~' && n->value[0] != 'n' && n->value[0] != 'N')
		return false;
	return strcmp(n->value, "~") == 0 || strcmp(n->value, "null") == 0 ||
	       strcmp(n->value, "Null") == 0 || strcmp(n->value, "NULL") == 0;
}

/* Line and column (1-based, columns in code points) of byte offset off. */
static void
offset_to_linecol(const char *data, size_t len, size_t off, unsigned *line,
                  unsigned *col)
{
	size_t i;

	*line = 1;
	*col = 1;
	for (i = 0; i < off && i < len; i++) {
		unsigned char c = (unsigned char)data[i];

		if (c == '\n') {
			(*line)++;
			*col = 1;
		} else if ((c & 0xc0) != 0x80) {
			(*col)++;
		}
	}
}

/* The words of libyaml's reader for a character it refuses, and ours. */
#define CONTROL_CHAR                                \
	"invalid YAML: control characters are not " \
	"allowed (expected printable text, tab, CR or LF)"

/* control: a code point libyaml's reader refuses (YAML's printable set is
 * tab, LF, CR, 0x20-0x7E, 0x85, 0xA0-0xD7FF, 0xE000-0xFFFD and past
 * 0xFFFF; surrogates are invalid UTF-8 already). */
static bool
control(uint32_t cp)
{
	if (cp < 0x20)
		return cp != '\t' && cp != '\n' && cp != '\r';
	return (cp >= 0x7f && cp <= 0x9f && cp != 0x85) || cp == 0xfffe ||
	       cp == 0xffff;
}

/*
 * utf8_check: the offset of the first NUL byte, invalid UTF-8 sequence
 * (overlong forms, surrogates and code points past U+10FFFF included) or
 * character libyaml's reader refuses, or len when all is well. *what
 * says which; *untaken is the first byte yfast does not read (not LF or
 * printable ASCII), or len. All of them are found before a document is read:
 * libyaml checks the characters of a whole 16 KiB block before it reads the
 * first, so which documents came before its error would depend on where blocks
 * fall.
 */
static size_t
utf8_check(const unsigned char *s, size_t len, const char **what,
           size_t *untaken)
{
	size_t i = 0, k, need, stop;
	uint32_t cp, min;

	*untaken = len;
	while (i < len) {
		/* eight bytes of LF or printable ASCII at a time: the common
		 * case */
		stop = len;
		if (i + 8 <= len) {
			if (yfast_word_taken((const char *)s + i)) {
				i += 8;
				continue;
			}
			stop = i + 8; /* the word byte by byte, LF among them */
		}
		while (i < stop) {
			unsigned char c = s[i];

			if (c == '\n' || (c >= 0x20 && c < 0x7f)) {
				i++;
				continue;
			}
			if (*untaken == len)
				*untaken = i;
			if (c == 0) {
				*what = "NUL byte (expected UTF-8 text)";
				return i;
			}
			if (c < 0x80) {
				if (control(c)) {
					*what = CONTROL_CHAR;
					return i;
				}
				i++;
				continue;
			}
			if ((c & 0xe0) == 0xc0) {
				need = 1;
				cp = c & 0x1f;
				min = 0x80;
			} else if ((c & 0xf0) == 0xe0) {
				need = 2;
				cp = c & 0x0f;
				min = 0x800;
			} else if ((c & 0xf8) == 0xf0) {
				need = 3;
				cp = c & 0x07;
				min = 0x10000;
			} else {
				*what = "invalid UTF-8 (expected UTF-8 text)";
				return i;
			}
			for (k = 1; k <= need; k++) {
				if (i + k >= len) {
					*what = "truncated UTF-8 sequence "
					        "(expected UTF-8 text)";
					return i;
				}
				if ((s[i + k] & 0xc0) != 0x80) {
					*what = "invalid UTF-8 (expected UTF-8 "
					        "text)";
					return i;
				}
				cp = (cp << 6) | (s[i + k] & 0x3f);
			}
			if (cp < min || cp > 0x10ffff ||
			    (cp >= 0xd800 && cp <= 0xdfff)) {
				*what = "invalid UTF-8 (expected UTF-8 text)";
				return i;
			}
			if (control(cp)) {
				*what = CONTROL_CHAR;
				return i;
			}
			i += need + 1;
		}
	}
	return len;
}

static enum ynode_tag
tag_kind(const char *tag, bool *ok)
{
	static const char pfx[] = "tag:yaml.org,2002:";

	*ok = true;
	if (tag == NULL)
		return YTAG_NONE;
	if (strcmp(tag, "!") == 0)
		return YTAG_OTHER;
	if (strncmp(tag, pfx, sizeof(pfx) - 1) == 0) {
		tag += sizeof(pfx) - 1;
		if (strcmp(tag, "str") == 0)
			return YTAG_STR;
		if (strcmp(tag, "int") == 0)
			return YTAG_INT;
		if (strcmp(tag, "bool") == 0)
			return YTAG_BOOL;
		if (strcmp(tag, "null") == 0)
			return YTAG_NULL;
		if (strcmp(tag, "float") == 0)
			return YTAG_FLOAT;
		if (strcmp(tag, "map") == 0 || strcmp(tag, "seq") == 0)
			return YTAG_OTHER;
	}
	*ok = false;
	return YTAG_OTHER;
}

/* A document's nodes, values and lists live in c->mem, reset at each
 * document: no malloc per node, and no free. */
struct ytree_ctx {
	const char *file;
	struct diag_list *diags;
	struct arena mem;
	struct ynode *root;
	struct ynode *stack[MANIFEST_MAX_DEPTH];
	size_t depth;
	size_t nodes;
	struct buf *trace; /* ytree_trace's: each event as text */
};

static void
attach(struct ytree_ctx *c, struct ynode *n)
{
	struct ynode *p;

	if (c->depth == 0) {
		c->root = n;
		return;
	}
	p = c->stack[c->depth - 1];
	if (p->n == p->cap) {
		struct ynode **kids;

		p->cap = p->cap ? p->cap * 2 : 4;
		kids = arena_alloc(&c->mem, p->cap * sizeof(*kids));
		if (p->n > 0)
			memcpy(kids, p->kids, p->n * sizeof(*kids));
		p->kids = kids;
	}
	p->kids[p->n++] = n;
}

/* path_key: is k written as ".k" (else as ["k"]), as the loader does? */
static bool
path_key_simple(const char *k)
{
	if (*k == '\0')
		return false;
	for (; *k; k++)
		if (!(*k >= 'a' && *k <= 'z') && !(*k >= 'A' && *k <= 'Z') &&
		    !(*k >= '0' && *k <= '9') && *k != '_' && *k != '-')
			return false;
	return true;
}

/*
 * node_path: the field path ("spec.env.A", "spec.volumes[0]") of the node
 * about to be attached, in the loader's notation, so an error found while
 * parsing (an unsupported tag) names its field like every other error. A
 * mapping key is reported at its mapping. Caller frees.
 */
static char *
node_path(const struct ytree_ctx *c)
{
	struct buf b = BUF_INIT;
	const struct ynode *p, *k;
	size_t i, idx;

	for (i = 0; i < c->depth; i++) {
		p = c->stack[i];
		idx = i + 1 < c->depth ? p->n - 1 : p->n;
		if (p->type == YNODE_SEQ) {
			buf_addf(&b, "[%zu]", idx);
			continue;
		}
		if (idx % 2 == 0)
			break; /* a key: the path of its mapping */
		k = p->kids[idx - 1];
		if (k->type != YNODE_SCALAR)
			break;
		if (path_key_simple(k->value))
			buf_addf(&b, "%s%s", b.len ? "." : "", k->value);
		else
			buf_addf(&b, "[\"%s\"]", k->value);
	}
	return buf_detach(&b, NULL);
}

static struct ynode *
node_new(struct ytree_ctx *c, enum ynode_type type, const struct yev *ev)
{
	struct ynode *n = arena_zalloc(&c->mem, sizeof(*n));

	n->type = type;
	n->line = (unsigned)ev->line + 1;
	n->col = (unsigned)ev->col + 1;
	return n;
}

/*
 * mark_offset: the byte offset of libyaml's mark (0-based line and column,
 * the column counted in characters), or len when it lies past the data.
 * Line breaks are libyaml's: LF, CR LF, CR, NEL, LS and PS; a leading BOM
 * is not a column.
 */
static size_t
mark_offset(const char *data, size_t len, const yaml_mark_t *m)
{
	const unsigned char *s = (const unsigned char *)data;
	size_t i = 0, line = 0, col = 0;

	if (len >= 3 && s[0] == 0xef && s[1] == 0xbb && s[2] == 0xbf)
		i = 3;
	while (i < len && line < m->line) {
		if (s[i] == '\r' && i + 1 < len && s[i + 1] == '\n') {
			i += 2;
			line++;
		} else if (s[i] == '\n' || s[i] == '\r') {
			i++;
			line++;
		} else if (s[i] == 0xc2 && i + 1 < len && s[i + 1] == 0x85) {
			i += 2;
			line++;
		} else if (s[i] == 0xe2 && i + 2 < len && s[i + 1] == 0x80 &&
		           (s[i + 2] == 0xa8 || s[i + 2] == 0xa9)) {
			i += 3;
			line++;
		} else {
			i++;
		}
	}
	while (i < len && col < m->column) {
		i++;
		while (i < len && (s[i] & 0xc0) == 0x80)
			i++;
		col++;
	}
	return i;
}

/*
 * syntax_hints: what the commonest libyaml problems want, so a syntax error
 * ends in "(expected ...)" like every other error. Matched on the start of
 * libyaml's problem text (and the context, when given); the first match
 * wins.
 */
static const struct {
	const char *problem, *context, *hint;
} syntax_hints[] = {
	{ "found character that cannot start any token", NULL,
	  "quotes around a value starting with @ or `" },
	{ "mapping values are not allowed", NULL,
	  "quotes around a value that contains ': '" },
	{ "did not find expected ',' or ']'", NULL,
	  "',' or ']' after a list item" },
	{ "did not find expected ',' or '}'", NULL,
	  "',' or '}' after a mapping entry" },
	{ "did not find expected key", NULL,
	  "the keys of one mapping, and the items of one list, at the same "
	  "indentation" },
	{ "did not find expected '-' indicator", NULL,
	  "the items of one list at the same indentation" },
	{ "could not find expected ':'", NULL, "key: value" },
	{ "found unexpected end of stream", "quoted scalar",
	  "the closing quote" },
	{ "found unknown escape character", NULL,
	  "an escape such as \\n, \\t or \\\\, or single quotes, which keep "
	  "backslashes as written" },
	{ "control characters are not allowed", NULL,
	  "printable text, tab, CR or LF" },
};

/* indent_of: the spaces opening the line that starts at i. */
static size_t
indent_of(const char *data, size_t len, size_t i)
{
	size_t n = 0;

	while (i + n < len && data[i + n] == ' ')
		n++;
	return n;
}

/* line_start: the offset of the line holding offset at. */
static size_t
line_start(const char *data, size_t at)
{
	while (at > 0 && data[at - 1] != '\n' && data[at - 1] != '\r')
		at--;
	return at;
}

/*
 * too_deep: the ':' at offset at is the first of its line, and that line
 * is indented deeper than the line above it that holds something (not
 * blank, not a comment): "  image: x" then "    user: daytona". libyaml
 * read the deeper line as the rest of the value above ("x user"), and its
 * ':' then comes where no key may start. Quotes would not help there;
 * the indentation would.
 */
static bool
too_deep(const char *data, size_t len, size_t at)
{
	size_t ls = line_start(data, at), indent = indent_of(data, len, ls);
	size_t prev, pi;

	if (memchr(data + ls, ':', at - ls) != NULL)
		return false;
	for (prev = ls; prev > 0;) {
		prev = line_start(data, prev - 1);
		pi = indent_of(data, len, prev);
		if (prev + pi < len && data[prev + pi] != '\n' &&
		    data[prev + pi] != '\r' && data[prev + pi] != '#')
			return pi < indent;
	}
	return false;
}

static const char *
syntax_hint(const yaml_parser_t *p, const char *data, size_t len)
{
	size_t i, at;

	/*
	 * libyaml's words for a tab where indentation is read ("found
	 * character that cannot start any token", "found a tab character
	 * that violates indentation") don't say what to do; a tab at the
	 * mark is the cause.
	 */
	if (p->error == YAML_SCANNER_ERROR || p->error == YAML_PARSER_ERROR) {
		at = mark_offset(data, len, &p->problem_mark);
		if (at < len && data[at] == '\t')
			return "spaces; tabs cannot indent YAML";
	}
	if (p->problem == NULL)
		return "valid YAML";
	if (strncmp(p->problem, "mapping values are not allowed", 30) == 0 &&
	    (at = mark_offset(data, len, &p->problem_mark)) < len &&
	    too_deep(data, len, at))
		return "this line at the indentation of the keys beside it: "
		       "indented deeper, it continues the value of the line "
		       "above";
	for (i = 0; i < sizeof(syntax_hints) / sizeof(syntax_hints[0]); i++) {
		if (strncmp(p->problem, syntax_hints[i].problem,
		            strlen(syntax_hints[i].problem)) != 0)
			continue;
		if (syntax_hints[i].context &&
		    (p->context == NULL ||
		     strstr(p->context, syntax_hints[i].context) == NULL))
			continue;
		return syntax_hints[i].hint;
	}
	return "valid YAML";
}

/*
 * parser_error: libyaml's error as a diagnostic at its mark, with the
 * field path of the value being read when there is one (a syntax error
 * inside "spec" names spec) and a "(expected ...)" hint.
 */
static int
parser_error(struct ytree_ctx *c, yaml_parser_t *p, const char *data,
             size_t len)
{
	unsigned line, col;
	const char *problem = p->problem ? p->problem : "unknown error";
	const char *hint = syntax_hint(p, data, len);
	char *path = node_path(c); /* diag_add drops an empty path */

	if (p->error == YAML_READER_ERROR) {
		offset_to_linecol(data, len, p->problem_offset, &line, &col);
		diag_add(c->diags, DIAG_ERROR, c->file, line, col, NULL,
		         "invalid YAML: %s (expected %s)", problem, hint);
	} else if (p->error == YAML_MEMORY_ERROR) {
		diag_add(c->diags, DIAG_ERROR, c->file, 0, 0, NULL,
		         "invalid YAML: out of memory");
	} else if (p->context) {
		diag_add(c->diags, DIAG_ERROR, c->file,
		         (unsigned)p->problem_mark.line + 1,
		         (unsigned)p->problem_mark.column + 1, path,
		         "invalid YAML: %s %s (from line %u) (expected %s)",
		         problem, p->context,
		         (unsigned)p->context_mark.line + 1, hint);
	} else {
		diag_add(c->diags, DIAG_ERROR, c->file,
		         (unsigned)p->problem_mark.line + 1,
		         (unsigned)p->problem_mark.column + 1, path,
		         "invalid YAML: %s (expected %s)", problem, hint);
	}
	free(path);
	return SF_EINVALID;
}

/* at_event: a diagnostic at the event's position, with the node path. */
static void at_event(struct ytree_ctx *c, unsigned line, unsigned col,
                     const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static void
at_event(struct ytree_ctx *c, unsigned line, unsigned col, const char *fmt, ...)
{
	char *path = node_path(c), *msg;
	va_list ap;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	diag_add(c->diags, DIAG_ERROR, c->file, line, col, path, "%s", msg);
	free(msg);
	free(path);
}

static struct ynode *
on_scalar(struct ytree_ctx *c, const struct yev *ev)
{
	struct ynode *n = node_new(c, YNODE_SCALAR, ev);
	bool ok;

	n->tag = tag_kind(ev->tag, &ok);
	if (!ok)
		at_event(c, n->line, n->col,
		         "unsupported YAML tag '%s' (expected plain values)",
		         ev->tag);
	n->value = arena_alloc(&c->mem, ev->len + 1);
	memcpy(n->value, ev->value, ev->len);
	n->value[ev->len] = '\0';
	n->len = ev->len;
	if (n->tag == YTAG_NONE)
		n->plain = ev->style == YAML_PLAIN_SCALAR_STYLE;
	else
		n->plain = n->tag != YTAG_STR && n->tag != YTAG_OTHER;
	/* libyaml refuses a raw NUL byte: only an escape in a double-quoted
	 * scalar makes one (a memchr of every scalar was 1% of a big load) */
	if (ev->style == YAML_DOUBLE_QUOTED_SCALAR_STYLE &&
	    memchr(n->value, '\0', n->len) != NULL)
		at_event(c, n->line, n->col,
		         "NUL character in a string (expected text without NUL "
		         "characters)");
	return n;
}

/* on_collection_start: a mapping or list; NULL past the depth limit
 * (reported: *rc is set). */
static struct ynode *
on_collection_start(struct ytree_ctx *c, const struct yev *ev, int *rc)
{
	bool map = ev->type == YAML_MAPPING_START_EVENT, ok;
	struct ynode *n;

	if (c->depth >= MANIFEST_MAX_DEPTH) {
		at_event(c, (unsigned)ev->line + 1, (unsigned)ev->col + 1,
		         "nesting deeper than %d levels (expected at most %d)",
		         MANIFEST_MAX_DEPTH, MANIFEST_MAX_DEPTH);
		*rc = SF_EINVALID;
		return NULL;
	}
	n = node_new(c, map ? YNODE_MAP : YNODE_SEQ, ev);
	tag_kind(ev->tag, &ok);
	if (!ok)
		at_event(c, n->line, n->col,
		         "unsupported YAML tag (expected plain mappings and "
		         "lists)");
	return n;
}

/* add_node: attach a new node under the current collection; 0, or
 * SF_EINVALID past the node limit (reported, n freed). */
static int
add_node(struct ytree_ctx *c, struct ynode *n)
{
	if (++c->nodes > YTREE_MAX_NODES) {
		at_event(c, n->line, n->col,
		         "document has more than %d values (expected at most "
		         "%d)",
		         YTREE_MAX_NODES, YTREE_MAX_NODES);
		return SF_EINVALID;
	}
	attach(c, n);
	if (n->type != YNODE_SCALAR)
		c->stack[c->depth++] = n;
	return 0;
}

/* trace_event: ytree_trace's line for one event, with what ytree reads of
 * it: the start of a stream is not read, nor where an end is. */
static void
trace_event(struct buf *b, const struct yev *ev)
{
	if (ev->type == YAML_STREAM_START_EVENT)
		return;
	buf_addf(b, "%d", (int)ev->type);
	if (ev->type == YAML_SCALAR_EVENT || ev->type == YAML_ALIAS_EVENT ||
	    ev->type == YAML_MAPPING_START_EVENT ||
	    ev->type == YAML_SEQUENCE_START_EVENT)
		buf_addf(b, " %zu:%zu", ev->line, ev->col);
	if (ev->tag)
		buf_addf(b, " !%s", ev->tag);
	if (ev->type == YAML_SCALAR_EVENT) {
		buf_addf(b, " %d [", (int)ev->style);
		buf_add(b, ev->value, ev->len);
		buf_addch(b, ']');
	}
	if (ev->anchor)
		buf_addf(b, " *%s", ev->anchor);
	buf_addch(b, '\n');
}

/*
 * on_event: one parser event. Returns 0 to go on, 1 at the end of the
 * stream, or a negative code that stops the parse (a limit, an alias, or
 * fn's own code for a document).
 */
static int
on_event(struct ytree_ctx *c, const struct yev *ev,
         int (*fn)(void *arg, const struct ynode *root), void *arg)
{
	struct ynode *n = NULL;
	int rc = 0;

	if (c->trace)
		trace_event(c->trace, ev);
	switch (ev->type) {
	case YAML_STREAM_END_EVENT:
		return 1;
	case YAML_DOCUMENT_START_EVENT:
		arena_reset(&c->mem);
		c->root = NULL;
		c->depth = 0;
		c->nodes = 0;
		return 0;
	case YAML_DOCUMENT_END_EVENT:
		if (c->root != NULL)
			rc = fn(arg, c->root);
		arena_reset(&c->mem);
		c->root = NULL;
		return rc != 0 ? (rc < 0 ? rc : SF_EINVALID) : 0;
	case YAML_ALIAS_EVENT:
		at_event(c, (unsigned)ev->line + 1, (unsigned)ev->col + 1,
		         "YAML alias '*%s' refused (expected the value written "
		         "out; at most %d aliases per file)",
		         ev->anchor, MANIFEST_MAX_ALIASES);
		return SF_EINVALID;
	case YAML_SCALAR_EVENT:
		n = on_scalar(c, ev);
		break;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if ((n = on_collection_start(c, ev, &rc)) == NULL)
			return rc;
		break;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		if (c->depth > 0)
			c->depth--;
		return 0;
	default:
		return 0;
	}
	return add_node(c, n);
}

/* from_libyaml: libyaml's event as ytree's, its line moved by line0
 * (libyaml read the data from a document yfast left to it). */
static void
from_libyaml(struct yev *e, const yaml_event_t *ev, size_t line0)
{
	memset(e, 0, sizeof(*e));
	e->type = ev->type;
	e->line = ev->start_mark.line + line0;
	e->col = ev->start_mark.column;
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		e->style = ev->data.scalar.style;
		e->tag = (const char *)ev->data.scalar.tag;
		e->value = (const char *)ev->data.scalar.value;
		e->len = ev->data.scalar.length;
		break;
	case YAML_MAPPING_START_EVENT:
		e->tag = (const char *)ev->data.mapping_start.tag;
		break;
	case YAML_SEQUENCE_START_EVENT:
		e->tag = (const char *)ev->data.sequence_start.tag;
		break;
	case YAML_ALIAS_EVENT:
		e->anchor = (const char *)ev->data.alias.anchor;
		break;
	default:
		break;
	}
}

/*
 * parse_libyaml: the data from offset off (the start of line line0, where
 * yfast left a document) to its end, through libyaml. Its marks are moved
 * to the whole data's lines.
 */
static int
parse_libyaml(struct ytree_ctx *c, const char *data, size_t len, size_t off,
              size_t line0, int (*fn)(void *arg, const struct ynode *root),
              void *arg)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	struct yev e;
	int rc = 0, step = 0;

	if (!yaml_parser_initialize(&parser)) {
		diag_add(c->diags, DIAG_ERROR, c->file, 0, 0, NULL,
		         "cannot initialise the YAML parser");
		return SF_EINVALID;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)data + off,
	                             len - off);
	while (step == 0) {
		if (!yaml_parser_parse(&parser, &ev)) {
			parser.problem_mark.line += line0;
			parser.context_mark.line += line0;
			parser.problem_offset += off;
			rc = parser_error(c, &parser, data, len);
			break;
		}
		from_libyaml(&e, &ev, line0);
		step = on_event(c, &e, fn, arg);
		yaml_event_delete(&ev);
	}
	if (step < 0)
		rc = step;
	yaml_parser_delete(&parser);
	return rc;
}

/*
 * parse: yfast for each document it reads, libyaml from the first one it
 * does not (or from the start, when fast is false) to the end.
 */
static int
parse(struct ytree_ctx *c, const char *data, size_t len, size_t untaken,
      bool fast, int (*fn)(void *arg, const struct ynode *root), void *arg)
{
	struct yfast f;
	struct yev end = { .type = YAML_STREAM_END_EVENT };
	size_t i;
	int r, step = 0;

	if (!fast)
		return parse_libyaml(c, data, len, 0, 0, fn, arg);
	yfast_init(&f, data, len, untaken);
	while ((r = yfast_next(&f)) > 0) {
		for (i = 0; i < f.nev && step == 0; i++)
			step = on_event(c, &f.ev[i], fn, arg);
		if (step != 0)
			break;
	}
	yfast_free(&f);
	if (step < 0)
		return step;
	if (r < 0)
		return parse_libyaml(c, data, len, f.doc_off, f.doc_line, fn,
		                     arg);
	(void)on_event(c, &end, fn, arg); /* the end: nothing to build */
	return 0;
}

static int
run(const char *file, const char *data, size_t len, bool fast,
    int (*fn)(void *arg, const struct ynode *root), void *arg,
    struct diag_list *diags, struct buf *trace)
{
	struct ytree_ctx c;
	const char *what = NULL;
	size_t bad, untaken, errors_before = diags->n_errors;
	unsigned line, col;
	int rc;

	memset(&c, 0, sizeof(c));
	c.file = file;
	c.diags = diags;
	c.trace = trace;
	bad = utf8_check((const unsigned char *)data, len, &what, &untaken);
	if (bad < len) {
		offset_to_linecol(data, len, bad, &line, &col);
		diag_add(diags, DIAG_ERROR, file, line, col, NULL, "%s", what);
		return SF_EINVALID;
	}
	rc = parse(&c, data, len, untaken, fast, fn, arg);
	arena_clear(&c.mem);
	if (rc == 0 && diags->n_errors > errors_before)
		rc = SF_EINVALID; /* e.g. a tag error; parsing went on */
	return rc;
}

int
ytree_parse(const char *file, const char *data, size_t len,
            int (*fn)(void *arg, const struct ynode *root), void *arg,
            struct diag_list *diags)
{
	return run(file, data, len, true, fn, arg, diags, NULL);
}

static int
trace_doc(void *arg, const struct ynode *root)
{
	(void)arg;
	(void)root;
	return 0;
}

char *
ytree_trace(const char *data, size_t len, bool fast)
{
	struct diag_list diags = DIAG_LIST_INIT;
	struct buf b = BUF_INIT;
	size_t i;
	char *s;

	buf_addf(&b, "rc %d\n",
	         run("t.yaml", data, len, fast, trace_doc, NULL, &diags, &b));
	for (i = 0; i < diags.n; i++) {
		s = diag_format(&diags.v[i]);
		buf_addf(&b, "%s\n", s);
		free(s);
	}
	diag_list_free(&diags);
	return buf_detach(&b, NULL);
}
