/*
 * doc: see doc.h.
 */
#include "common/base.h"

#include <ctype.h>
#include <stdarg.h>

#include "common/buf.h"
#include "common/strnum.h"
#include "common/suggest.h"
#include "common/xalloc.h"
#include "manifests/doc.h"

static bool
simple_key(const char *k)
{
	if (*k == '\0')
		return false;
	for (; *k; k++)
		if (!isalnum((unsigned char)*k) && *k != '_' && *k != '-')
			return false;
	return true;
}

/*
 * path_add: append the n bytes of s to path, as much as fits (the path is
 * cut at DOC_PATH_MAX - 1 bytes, as snprintf would), and count them all.
 */
static void
path_add(char *path, size_t *at, const char *s, size_t n)
{
	size_t room = *at < DOC_PATH_MAX - 1 ? DOC_PATH_MAX - 1 - *at : 0;

	memcpy(path + *at, s, n < room ? n : room);
	*at += n;
}

/* path_text: the path d is at, ".key", ["key"] and [index] each. */
static void
path_text(const struct doc *d, char path[DOC_PATH_MAX])
{
	size_t at = 0, i, n = d->nseg < DOC_MAX_SEGS ? d->nseg : DOC_MAX_SEGS;

	for (i = 0; i < n; i++) {
		const char *key = d->seg[i].key;

		if (key == NULL) {
			char digits[24];
			size_t nd = 0, v = d->seg[i].index;

			do {
				digits[sizeof(digits) - 1 - nd++] =
				        (char)('0' + v % 10);
				v /= 10;
			} while (v > 0);
			path_add(path, &at, "[", 1);
			path_add(path, &at, digits + sizeof(digits) - nd, nd);
			path_add(path, &at, "]", 1);
		} else if (simple_key(key)) {
			if (at)
				path_add(path, &at, ".", 1);
			path_add(path, &at, key, strlen(key));
		} else {
			path_add(path, &at, "[\"", 2);
			path_add(path, &at, key, strlen(key));
			path_add(path, &at, "\"]", 2);
		}
	}
	path[at < DOC_PATH_MAX - 1 ? at : DOC_PATH_MAX - 1] = '\0';
}

void
doc_report(struct doc *d, enum diag_severity sev, const struct ynode *n,
           const char *fmt, ...)
{
	char path[DOC_PATH_MAX];
	va_list ap;
	char *msg;

	if (sev == DIAG_ERROR)
		d->error = true;
	if (d->diags->n_errors >= MANIFEST_MAX_ERRORS) {
		d->too_many = true;
		return;
	}
	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	path_text(d, path);
	diag_add(d->diags, sev, d->file, n ? n->line : 0, n ? n->col : 0, path,
	         "%s", msg);
	free(msg);
}

/* doc_push: one more step; the path is written out only when reported */
size_t
doc_push(struct doc *d, const char *key)
{
	size_t old = d->nseg;

	if (old < DOC_MAX_SEGS)
		d->seg[old].key = key;
	d->nseg++;
	return old;
}

size_t
doc_push_index(struct doc *d, size_t i)
{
	size_t old = d->nseg;

	if (old < DOC_MAX_SEGS) {
		d->seg[old].key = NULL;
		d->seg[old].index = i;
	}
	d->nseg++;
	return old;
}

void
doc_pop(struct doc *d, size_t old)
{
	d->nseg = old;
}

const char *
doc_what(const struct ynode *n)
{
	if (n->type == YNODE_MAP)
		return "a mapping";
	if (n->type == YNODE_SEQ)
		return "a list";
	if (ynode_is_null(n))
		return "nothing";
	return n->plain ? "a plain value" : "a quoted string";
}

/* get_string: any scalar but null, as its text (see docs/manifest.md). */
bool
doc_string(struct doc *d, const struct ynode *n, const char **out)
{
	if (n->type != YNODE_SCALAR || ynode_is_null(n)) {
		DOC_ERR(d, n, "got %s (expected a string)", doc_what(n));
		return false;
	}
	*out = n->value;
	return true;
}

bool
doc_has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return true;
	return false;
}

/* get_word: a non-empty string without spaces or control characters. */
bool
doc_word(struct doc *d, const struct ynode *n, const char *what, char **out)
{
	const char *s, *p;

	if (!doc_string(d, n, &s))
		return false;
	if (*s == '\0') {
		DOC_ERR(d, n, "empty string (expected %s)", what);
		return false;
	}
	for (p = s; *p; p++) {
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p == 0x7f) {
			DOC_ERR(d, n,
			        "space or control character in '%s' "
			        "(expected %s)",
			        s, what);
			return false;
		}
	}
	*out = xstrdup(s);
	return true;
}

bool
doc_int(struct doc *d, const struct ynode *n, long long min, long long max,
        const char *hint, long long *out)
{
	const char *errstr = NULL, *p;

	if (n->type != YNODE_SCALAR || ynode_is_null(n) || !n->plain) {
		DOC_ERR(d, n, "got %s (expected %s)", doc_what(n), hint);
		return false;
	}
	p = n->value;
	if (*p == '-' || *p == '+')
		p++;
	if (*p == '\0' || strspn(p, "0123456789") != strlen(p)) {
		DOC_ERR(d, n, "'%s' is not an integer (expected %s)", n->value,
		        hint);
		return false;
	}
	if (strnum_parse(n->value, min, max, out, &errstr) != 0) {
		DOC_ERR(d, n, "%s is out of range (expected %s)", n->value,
		        hint);
		return false;
	}
	return true;
}

bool
doc_bool(struct doc *d, const struct ynode *n, bool *out)
{
	const char *v = n->value;

	if (n->type == YNODE_SCALAR && n->plain && !ynode_is_null(n)) {
		if (!strcmp(v, "true") || !strcmp(v, "True") ||
		    !strcmp(v, "TRUE")) {
			*out = true;
			return true;
		}
		if (!strcmp(v, "false") || !strcmp(v, "False") ||
		    !strcmp(v, "FALSE")) {
			*out = false;
			return true;
		}
		DOC_ERR(d, n, "'%s' is not a boolean (expected true or false)",
		        v);
		return false;
	}
	DOC_ERR(d, n, "got %s (expected true or false)", doc_what(n));
	return false;
}

/*
 * map_fields: match the keys of map against names[0..n) and store each
 * value node in vals[] (NULL when absent or null). Unknown, duplicate and
 * non-string keys are errors. A null map counts as empty. Returns false
 * when map is not a mapping.
 */
bool
doc_fields(struct doc *d, const struct ynode *map, const char *const *names,
           size_t n, const struct ynode **vals, const struct ynode **keys)
{
	size_t i, j;
	const struct ynode *k, *v;
	struct buf expect = BUF_INIT;
	size_t old;

	for (j = 0; j < n; j++)
		vals[j] = keys[j] = NULL;
	if (ynode_is_null(map))
		return true;
	if (map->type != YNODE_MAP) {
		for (j = 0; j < n; j++)
			buf_addf(&expect, "%s%s", j ? ", " : "", names[j]);
		DOC_ERR(d, map, "got %s (expected a mapping with %s)",
		        doc_what(map), buf_cstr(&expect));
		buf_free(&expect);
		return false;
	}
	for (i = 0; i + 1 < map->n; i += 2) {
		k = map->kids[i];
		v = map->kids[i + 1];
		if (k->type != YNODE_SCALAR) {
			DOC_ERR(d, k, "got %s as a key (expected a string key)",
			        doc_what(k));
			continue;
		}
		for (j = 0; j < n; j++)
			if (k->value[0] == names[j][0] &&
			    strcmp(k->value, names[j]) == 0)
				break;
		old = doc_push(d, k->value);
		if (j == n) {
			const char *near = suggest_closest(k->value, names, n);

			buf_reset(&expect);
			for (j = 0; j < n; j++)
				buf_addf(&expect, "%s%s", j ? ", " : "",
				         names[j]);
			if (near != NULL)
				DOC_ERR(d, k,
				        "unknown key; did you mean '%s'? "
				        "(expected one of %s)",
				        near, buf_cstr(&expect));
			else
				DOC_ERR(d, k,
				        "unknown key (expected one of %s)",
				        buf_cstr(&expect));
		} else if (keys[j] != NULL) {
			DOC_ERR(d, k,
			        "duplicate key (first at line %u; expected "
			        "each "
			        "key once)",
			        keys[j]->line);
		} else {
			keys[j] = k;
			vals[j] = ynode_is_null(v) ? NULL : v;
		}
		doc_pop(d, old);
	}
	buf_free(&expect);
	return true;
}

static int
kv_cmp(const void *a, const void *b)
{
	const struct doc_pair *x = a, *y = b;
	int c = strcmp(x->k->value, y->k->value);

	if (c != 0)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/*
 * sorted_pairs: the string-keyed pairs of map sorted by key (byte order),
 * duplicates reported. Returns the count; *out is owned by the caller.
 */
size_t
doc_sorted_pairs(struct doc *d, const struct ynode *map, struct doc_pair **out)
{
	struct doc_pair *v;
	size_t i, n = 0, m = 0;

	v = xreallocarray(NULL, map->n / 2 + 1, sizeof(*v));
	for (i = 0; i + 1 < map->n; i += 2) {
		if (map->kids[i]->type != YNODE_SCALAR ||
		    ynode_is_null(map->kids[i])) {
			DOC_ERR(d, map->kids[i],
			        "got %s as a key (expected a string key)",
			        doc_what(map->kids[i]));
			continue;
		}
		v[n].k = map->kids[i];
		v[n].v = map->kids[i + 1];
		v[n].idx = n;
		n++;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), kv_cmp);
	for (i = 0; i < n; i++) {
		if (m > 0 && strcmp(v[m - 1].k->value, v[i].k->value) == 0) {
			size_t old = doc_push(d, v[i].k->value);
			const struct doc_pair *first = &v[m - 1];

			DOC_ERR(d, v[i].k,
			        "duplicate key (first at line %u; expected "
			        "each "
			        "key once)",
			        first->k->line);
			doc_pop(d, old);
			continue;
		}
		v[m++] = v[i];
	}
	*out = v;
	return m;
}
