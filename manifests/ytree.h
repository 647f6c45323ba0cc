/*
 * ytree: YAML bytes to a small node tree, one document at a time, under
 * the loader's limits (manifest.h): UTF-8 only (checked first, NUL bytes
 * and invalid sequences reported with line and column), nesting at most
 * MANIFEST_MAX_DEPTH, no aliases, only the standard tags.
 *
 * ytree_parse() calls fn once per document with its root; the tree is
 * owned by ytree and freed when fn returns (copy what you keep). Problems
 * are appended to diags as errors on file; parsing of a file stops at the
 * first YAML error (documents before it were already delivered).
 */
#ifndef SF_MANIFESTS_YTREE_H
#define SF_MANIFESTS_YTREE_H

#include <stdbool.h>
#include <stddef.h>

#include "manifests/diag.h"

/* Nodes per document; a larger one is refused before it eats memory. */
#define YTREE_MAX_NODES 100000

enum ynode_type {
	YNODE_SCALAR = 0,
	YNODE_MAP,
	YNODE_SEQ,
};

/* Standard tags a scalar may carry explicitly ("!!str 5"). */
enum ynode_tag {
	YTAG_NONE = 0,
	YTAG_STR,
	YTAG_INT,
	YTAG_BOOL,
	YTAG_NULL,
	YTAG_FLOAT,
	YTAG_OTHER, /* a collection tag or "!"; harmless */
};

struct ynode {
	enum ynode_type type;
	enum ynode_tag tag;
	unsigned line, col; /* 1-based */
	bool plain;         /* an unquoted, untagged-or-!! scalar */
	char *value;        /* scalar text, NUL-terminated (no NUL inside) */
	size_t len;
	struct ynode **kids; /* MAP: key, value, key, value...; SEQ: items */
	size_t n;            /* number of kids */
	size_t cap;
};

/* ynode_is_null: an absent value ("", "~", "null" unquoted, or !!null). */
bool ynode_is_null(const struct ynode *n);

/*
 * ytree_parse: returns 0, or SF_EINVALID when an error was added to diags
 * (possibly after some documents were delivered). A non-zero return of fn
 * stops parsing and is returned.
 */
int ytree_parse(const char *file, const char *data, size_t len,
                int (*fn)(void *arg, const struct ynode *root), void *arg,
                struct diag_list *diags);

/*
 * ytree_trace: for tests, the events ytree builds a file's trees from, one
 * line each (type, 0-based line:column, tag, scalar style and value), then
 * the return code and the diagnostics. fast: yfast for the documents it
 * reads (as ytree_parse does); false: libyaml alone. The two must agree.
 * Caller frees.
 */
char *ytree_trace(const char *data, size_t len, bool fast);

#endif
