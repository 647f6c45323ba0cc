/*
 * manifest: files → YAML documents (ytree) → validated sandbox specs.
 *
 * Validation is one pass over each document's tree. Every problem is
 * recorded with the location of the offending value and the field path,
 * and the pass goes on, so one run reports all errors. A document with an
 * error contributes no sandbox; the set is handed out only when the whole
 * run had no error. Duplicate names are found after all files, by sorting.
 */
#include "common/base.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/fileutil.h"
#include "common/log.h"
#include "common/strnum.h"
#include "common/validate.h"
#include "common/xalloc.h"
#include "manifests/manifest.h"
#include "manifests/ytree.h"

#define PATH_MAX_LEN 512

/* The server clamps autoArchiveInterval to this (shipped config). */
#define SERVER_MAX_AUTO_ARCHIVE 43200

static const char *const field_paths[MF_COUNT] = {
	[MF_DOCUMENT] = "",
	[MF_NAME] = "metadata.name",
	[MF_LABELS] = "metadata.labels",
	[MF_IMAGE] = "spec.image",
	[MF_SNAPSHOT] = "spec.snapshot",
	[MF_RESOURCES] = "spec.resources",
	[MF_CPU] = "spec.resources.cpu",
	[MF_MEMORY] = "spec.resources.memory",
	[MF_DISK] = "spec.resources.disk",
	[MF_GPU] = "spec.resources.gpu",
	[MF_ENV] = "spec.env",
	[MF_USER] = "spec.user",
	[MF_TARGET] = "spec.target",
	[MF_PUBLIC] = "spec.public",
	[MF_STATE] = "spec.state",
	[MF_AUTO_STOP] = "spec.autoStopInterval",
	[MF_AUTO_ARCHIVE] = "spec.autoArchiveInterval",
	[MF_AUTO_DELETE] = "spec.autoDeleteInterval",
	[MF_NETWORK] = "spec.network",
	[MF_BLOCK_ALL] = "spec.network.blockAll",
	[MF_ALLOW_LIST] = "spec.network.allowList",
	[MF_DOMAIN_ALLOW_LIST] = "spec.network.domainAllowList",
	[MF_VOLUMES] = "spec.volumes",
	[MF_PREVENT_DESTROY] = "spec.lifecycle.preventDestroy",
};

const char *
manifest_field_path(enum manifest_field f)
{
	if ((int)f < 0 || f >= MF_COUNT)
		return "";
	return field_paths[f];
}

const char *
sandbox_state_name(enum sandbox_state s)
{
	switch (s) {
	case SANDBOX_STATE_STARTED:
		return "started";
	case SANDBOX_STATE_STOPPED:
		return "stopped";
	case SANDBOX_STATE_ARCHIVED:
		return "archived";
	default:
		return NULL;
	}
}

/* ------------------------------------------------------------------ */
/* The loader's context */

/* A file read in this run, by identity: one file reached twice is one. */
struct loaded {
	dev_t dev;
	ino_t ino;
	const char *file; /* the name it was first loaded as (in set->files) */
};

struct loader {
	struct diag_list *diags;
	struct manifest_set *set;
	size_t cap_sandboxes, cap_files;
	const char *file; /* current file, owned by set->files */
	size_t n_docs;
	bool stdin_used;
	struct loaded *loaded; /* identity of every file read, load order */
	size_t n_loaded, cap_loaded;
	bool too_many; /* MANIFEST_MAX_ERRORS reached */
	bool doc_error;
	char path[PATH_MAX_LEN];
	size_t plen;
};

static void report(struct loader *L, enum diag_severity sev,
                   const struct ynode *n, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static void
report(struct loader *L, enum diag_severity sev, const struct ynode *n,
       const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (sev == DIAG_ERROR)
		L->doc_error = true;
	if (L->diags->n_errors >= MANIFEST_MAX_ERRORS) {
		L->too_many = true;
		return;
	}
	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	diag_add(L->diags, sev, L->file, n ? n->line : 0, n ? n->col : 0,
	         L->path, "%s", msg);
	free(msg);
}

#define ERR(L, n, ...)  report(L, DIAG_ERROR, n, __VA_ARGS__)
#define WARN(L, n, ...) report(L, DIAG_WARNING, n, __VA_ARGS__)

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

/* path_push: append ".key" (or ["key"]) and return the old length. */
static size_t
path_push(struct loader *L, const char *key)
{
	size_t old = L->plen;
	int w;

	if (simple_key(key))
		w = snprintf(L->path + L->plen, sizeof(L->path) - L->plen,
		             "%s%s", L->plen ? "." : "", key);
	else
		w = snprintf(L->path + L->plen, sizeof(L->path) - L->plen,
		             "[\"%s\"]", key);
	if (w > 0)
		L->plen += (size_t)w;
	if (L->plen >= sizeof(L->path))
		L->plen = sizeof(L->path) - 1;
	return old;
}

static size_t
path_push_index(struct loader *L, size_t i)
{
	size_t old = L->plen;
	int w = snprintf(L->path + L->plen, sizeof(L->path) - L->plen, "[%zu]",
	                 i);

	if (w > 0)
		L->plen += (size_t)w;
	if (L->plen >= sizeof(L->path))
		L->plen = sizeof(L->path) - 1;
	return old;
}

static void
path_pop(struct loader *L, size_t old)
{
	L->plen = old;
	L->path[old] = '\0';
}

static void
set_loc(struct loader *L, struct sandbox_spec *s, enum manifest_field f,
        const struct ynode *n)
{
	s->loc[f].file = L->file;
	s->loc[f].line = n->line;
	s->loc[f].col = n->col;
}

static struct manifest_loc
loc_of(struct loader *L, const struct ynode *n)
{
	struct manifest_loc l = { L->file, n->line, n->col };

	return l;
}

/* ------------------------------------------------------------------ */
/* Typed access to nodes */

static const char *
kind_name(const struct ynode *n)
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
static bool
get_string(struct loader *L, const struct ynode *n, const char **out)
{
	if (n->type != YNODE_SCALAR || ynode_is_null(n)) {
		ERR(L, n, "got %s (expected a string)", kind_name(n));
		return false;
	}
	*out = n->value;
	return true;
}

static bool
has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return true;
	return false;
}

/* get_word: a non-empty string without spaces or control characters. */
static bool
get_word(struct loader *L, const struct ynode *n, const char *what, char **out)
{
	const char *s, *p;

	if (!get_string(L, n, &s))
		return false;
	if (*s == '\0') {
		ERR(L, n, "empty string (expected %s)", what);
		return false;
	}
	for (p = s; *p; p++) {
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p == 0x7f) {
			ERR(L, n,
			    "space or control character in '%s' "
			    "(expected %s)",
			    s, what);
			return false;
		}
	}
	*out = xstrdup(s);
	return true;
}

static bool
get_int(struct loader *L, const struct ynode *n, long long min, long long max,
        const char *hint, long long *out)
{
	const char *errstr = NULL, *p;

	if (n->type != YNODE_SCALAR || ynode_is_null(n) || !n->plain) {
		ERR(L, n, "got %s (expected %s)", kind_name(n), hint);
		return false;
	}
	p = n->value;
	if (*p == '-' || *p == '+')
		p++;
	if (*p == '\0' || strspn(p, "0123456789") != strlen(p)) {
		ERR(L, n, "'%s' is not an integer (expected %s)", n->value,
		    hint);
		return false;
	}
	if (strnum_parse(n->value, min, max, out, &errstr) != 0) {
		ERR(L, n, "%s is out of range (expected %s)", n->value, hint);
		return false;
	}
	return true;
}

static bool
get_bool(struct loader *L, const struct ynode *n, bool *out)
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
		ERR(L, n, "'%s' is not a boolean (expected true or false)", v);
		return false;
	}
	ERR(L, n, "got %s (expected true or false)", kind_name(n));
	return false;
}

/*
 * map_fields: match the keys of map against names[0..n) and store each
 * value node in vals[] (NULL when absent or null). Unknown, duplicate and
 * non-string keys are errors. A null map counts as empty. Returns false
 * when map is not a mapping.
 */
static bool
map_fields(struct loader *L, const struct ynode *map, const char *const *names,
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
		ERR(L, map, "got %s (expected a mapping with %s)",
		    kind_name(map), buf_cstr(&expect));
		buf_free(&expect);
		return false;
	}
	for (i = 0; i + 1 < map->n; i += 2) {
		k = map->kids[i];
		v = map->kids[i + 1];
		if (k->type != YNODE_SCALAR) {
			ERR(L, k, "got %s as a key (expected a string key)",
			    kind_name(k));
			continue;
		}
		for (j = 0; j < n; j++)
			if (strcmp(k->value, names[j]) == 0)
				break;
		old = path_push(L, k->value);
		if (j == n) {
			buf_reset(&expect);
			for (j = 0; j < n; j++)
				buf_addf(&expect, "%s%s", j ? ", " : "",
				         names[j]);
			ERR(L, k, "unknown key (expected one of %s)",
			    buf_cstr(&expect));
		} else if (keys[j] != NULL) {
			ERR(L, k,
			    "duplicate key (first at line %u; expected each "
			    "key once)",
			    keys[j]->line);
		} else {
			keys[j] = k;
			vals[j] = ynode_is_null(v) ? NULL : v;
		}
		path_pop(L, old);
	}
	buf_free(&expect);
	return true;
}

/* ------------------------------------------------------------------ */
/* Value rules (daytona-api.md §7) */

/*
 * name_problem: why name is not a safe sandbox name, with what is expected
 * ("what is wrong (expected ...)"), or NULL.
 */
static const char *
name_problem(const char *s)
{
	unsigned problems;

	if (*s == '\0')
		return "empty name (expected a sandbox name)";
	if (strlen(s) > MANIFEST_MAX_NAME)
		return "name longer than 255 bytes (expected at most 255 "
		       "bytes)";
	if (has_control(s))
		return "control character in name (expected a name without "
		       "control characters)";
	if (isspace((unsigned char)s[0]) ||
	    isspace((unsigned char)s[strlen(s) - 1]))
		return "name starts or ends with a space (expected no leading "
		       "or trailing space)";
	if (strncmp(s, "DESTROYED_", 10) == 0)
		return "names starting with 'DESTROYED_' are reserved by "
		       "Daytona (expected a name not starting with "
		       "DESTROYED_)";
	/*
	 * Daytona's IsSafeDisplayString refuses '<' followed by a letter or
	 * '/' whether or not a '>' follows; has_control() covered the rest.
	 */
	problems = validate_display_string(s);
	if (problems & VALIDATE_TAG_OPEN)
		return "name contains an HTML tag ('<' followed by a letter or "
		       "'/') (expected no '<' before a letter or '/')";
	if (problems & VALIDATE_URL)
		return "name contains a URL scheme or 'www.' (expected a name "
		       "without URL schemes or 'www.')";
	return NULL;
}

static bool
env_name_ok(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return false;
	for (s++; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return false;
	return true;
}

/* manifest_cidr_ok: "a.b.c.d/n", n 0..32, no leading zeros. */
bool
manifest_cidr_ok(const char *s)
{
	return validate_cidr(s, VALIDATE_NO_LEADING_ZERO);
}

/*
 * manifest_domain_ok: Daytona's host names (validate_domain) whose last
 * label does not start with a digit.
 */
bool
manifest_domain_ok(const char *s)
{
	return validate_domain(s, VALIDATE_ALPHA_TLD);
}

/* Absolute, not "/", no "//", no "." or ".." segment, no control. */
bool
manifest_mount_path_ok(const char *s)
{
	return !has_control(s) && validate_mount_path(s) == VALIDATE_PATH_OK;
}

/* Relative and not empty, no "//", no "." or ".." segment, no control. */
bool
manifest_subpath_ok(const char *s)
{
	return *s != '\0' && !has_control(s) &&
	       validate_subpath(s) == VALIDATE_PATH_OK &&
	       !validate_has_segment(s, ".");
}

/* ------------------------------------------------------------------ */
/* Sandbox spec */

static void
spec_clear(struct sandbox_spec *s)
{
	size_t i;

	free(s->name);
	for (i = 0; i < s->n_labels; i++) {
		free(s->labels[i].key);
		free(s->labels[i].value);
	}
	free(s->labels);
	free(s->image);
	free(s->snapshot);
	for (i = 0; i < s->n_env; i++) {
		free(s->env[i].key);
		free(s->env[i].value);
	}
	free(s->env);
	free(s->user);
	free(s->target);
	for (i = 0; i < s->n_allow_list; i++)
		free(s->allow_list[i]);
	free(s->allow_list);
	for (i = 0; i < s->n_domain_allow_list; i++)
		free(s->domain_allow_list[i]);
	free(s->domain_allow_list);
	for (i = 0; i < s->n_volumes; i++) {
		free(s->volumes[i].volume);
		free(s->volumes[i].mount_path);
		free(s->volumes[i].subpath);
	}
	free(s->volumes);
	memset(s, 0, sizeof(*s));
}

struct kv {
	const struct ynode *k, *v;
	size_t idx;
};

static int
kv_cmp(const void *a, const void *b)
{
	const struct kv *x = a, *y = b;
	int c = strcmp(x->k->value, y->k->value);

	if (c != 0)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/*
 * sorted_pairs: the string-keyed pairs of map sorted by key (byte order),
 * duplicates reported. Returns the count; *out is owned by the caller.
 */
static size_t
sorted_pairs(struct loader *L, const struct ynode *map, struct kv **out)
{
	struct kv *v;
	size_t i, n = 0, m = 0;

	v = xreallocarray(NULL, map->n / 2 + 1, sizeof(*v));
	for (i = 0; i + 1 < map->n; i += 2) {
		if (map->kids[i]->type != YNODE_SCALAR ||
		    ynode_is_null(map->kids[i])) {
			ERR(L, map->kids[i],
			    "got %s as a key (expected a string key)",
			    kind_name(map->kids[i]));
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
			size_t old = path_push(L, v[i].k->value);
			const struct kv *first = &v[m - 1];

			ERR(L, v[i].k,
			    "duplicate key (first at line %u; expected each "
			    "key once)",
			    first->k->line);
			path_pop(L, old);
			continue;
		}
		v[m++] = v[i];
	}
	*out = v;
	return m;
}

static void
load_labels(struct loader *L, const struct ynode *n, struct sandbox_spec *s)
{
	struct kv *kv = NULL;
	size_t i, m, old;
	const char *val;

	if (n->type != YNODE_MAP) {
		ERR(L, n, "got %s (expected a mapping of string to string)",
		    kind_name(n));
		return;
	}
	m = sorted_pairs(L, n, &kv);
	s->labels = xreallocarray(NULL, m + 1, sizeof(*s->labels));
	for (i = 0; i < m; i++) {
		old = path_push(L, kv[i].k->value);
		if (kv[i].k->len == 0 || has_control(kv[i].k->value)) {
			ERR(L, kv[i].k,
			    "invalid label key (expected a "
			    "non-empty key without control "
			    "characters)");
		} else if (strncmp(kv[i].k->value,
		                   MANIFEST_RESERVED_LABEL_PREFIX,
		                   strlen(MANIFEST_RESERVED_LABEL_PREFIX)) ==
		           0) {
			ERR(L, kv[i].k,
			    "label keys starting with '%s' are reserved for "
			    "sandform (expected another key)",
			    MANIFEST_RESERVED_LABEL_PREFIX);
		} else if (get_string(L, kv[i].v, &val)) {
			if (has_control(val)) {
				ERR(L, kv[i].v,
				    "control character in label value "
				    "(expected a value without control "
				    "characters)");
			} else {
				struct manifest_label *lb =
				        &s->labels[s->n_labels++];

				lb->key = xstrdup(kv[i].k->value);
				lb->value = xstrdup(val);
				lb->loc = loc_of(L, kv[i].v);
			}
		}
		path_pop(L, old);
	}
	free(kv);
}

static void
load_env(struct loader *L, const struct ynode *n, struct sandbox_spec *s)
{
	static const char *const refs[] = { "secretEnv", "secretFile" };
	const struct ynode *vals[2], *keys[2];
	struct kv *kv = NULL;
	size_t i, m, old, old2;
	const char *val;
	struct manifest_env *e;

	if (n->type != YNODE_MAP) {
		ERR(L, n,
		    "got %s (expected a mapping of variable names to "
		    "values)",
		    kind_name(n));
		return;
	}
	m = sorted_pairs(L, n, &kv);
	s->env = xreallocarray(NULL, m + 1, sizeof(*s->env));
	for (i = 0; i < m; i++) {
		const struct ynode *v = kv[i].v;

		old = path_push(L, kv[i].k->value);
		if (kv[i].k->len == 0 || strchr(kv[i].k->value, '=') ||
		    has_control(kv[i].k->value)) {
			ERR(L, kv[i].k,
			    "invalid variable name (expected a "
			    "name without '=' or control "
			    "characters)");
			path_pop(L, old);
			continue;
		}
		if (v->type == YNODE_MAP) {
			if (!map_fields(L, v, refs, 2, vals, keys))
				goto next;
			if (vals[0] && vals[1]) {
				old2 = path_push(L, "secretFile");
				ERR(L, vals[1],
				    "secretEnv and secretFile are "
				    "exclusive (expected one of "
				    "them)");
				path_pop(L, old2);
			} else if (!vals[0] && !vals[1]) {
				ERR(L, v,
				    "empty secret reference (expected "
				    "{secretEnv: NAME} or {secretFile: "
				    "PATH})");
			} else if (vals[0]) {
				old2 = path_push(L, "secretEnv");
				if (get_string(L, vals[0], &val)) {
					if (!env_name_ok(val)) {
						ERR(L, vals[0],
						    "'%s' is not a variable "
						    "name (expected "
						    "[A-Za-z_][A-Za-z0-9_]*)",
						    val);
					} else {
						e = &s->env[s->n_env++];
						e->key =
						        xstrdup(kv[i].k->value);
						e->kind = ENV_SECRET_ENV;
						e->value = xstrdup(val);
						e->loc = loc_of(L, v);
					}
				}
				path_pop(L, old2);
			} else {
				old2 = path_push(L, "secretFile");
				if (get_string(L, vals[1], &val)) {
					if (val[0] != '/' || has_control(val)) {
						ERR(L, vals[1],
						    "'%s' is not an absolute "
						    "path (expected a path "
						    "starting with /)",
						    val);
					} else {
						e = &s->env[s->n_env++];
						e->key =
						        xstrdup(kv[i].k->value);
						e->kind = ENV_SECRET_FILE;
						e->value = xstrdup(val);
						e->loc = loc_of(L, v);
					}
				}
				path_pop(L, old2);
			}
		} else if (v->type != YNODE_SCALAR || ynode_is_null(v)) {
			ERR(L, v,
			    "got %s (expected a string, {secretEnv: NAME} or "
			    "{secretFile: PATH})",
			    kind_name(v));
		} else {
			e = &s->env[s->n_env++];
			e->key = xstrdup(kv[i].k->value);
			e->kind = ENV_PLAIN;
			e->value = xstrdup(v->value);
			e->loc = loc_of(L, v);
		}
	next:
		path_pop(L, old);
	}
	free(kv);
}

static void
load_list(struct loader *L, const struct ynode *n, bool (*ok)(const char *),
          const char *expect, char ***out, size_t *count)
{
	size_t i, j, old;
	const char *val;

	if (n->type != YNODE_SEQ) {
		ERR(L, n, "got %s (expected a list of %s)", kind_name(n),
		    expect);
		return;
	}
	if (n->n > MANIFEST_MAX_NETWORK_LIST) {
		ERR(L, n, "%zu entries (expected at most %d)", n->n,
		    MANIFEST_MAX_NETWORK_LIST);
		return;
	}
	*out = xreallocarray(NULL, n->n + 1, sizeof(**out));
	for (i = 0; i < n->n; i++) {
		old = path_push_index(L, i);
		if (get_string(L, n->kids[i], &val)) {
			if (!ok(val)) {
				ERR(L, n->kids[i],
				    "'%s' is invalid (expected %s)", val,
				    expect);
			} else {
				for (j = 0; j < *count; j++)
					if (strcmp((*out)[j], val) == 0)
						break;
				if (j < *count)
					ERR(L, n->kids[i],
					    "duplicate entry '%s' (expected "
					    "unique entries)",
					    val);
				else
					(*out)[(*count)++] = xstrdup(val);
			}
		}
		path_pop(L, old);
	}
}

static void
load_network(struct loader *L, const struct ynode *n, struct sandbox_spec *s)
{
	static const char *const names[] = { "blockAll", "allowList",
		                             "domainAllowList" };
	const struct ynode *v[3], *k[3];
	size_t old;

	if (!map_fields(L, n, names, 3, v, k))
		return;
	if (v[0]) {
		old = path_push(L, names[0]);
		if (get_bool(L, v[0], &s->block_all)) {
			s->has_block_all = true;
			set_loc(L, s, MF_BLOCK_ALL, v[0]);
		}
		path_pop(L, old);
	}
	if (v[1]) {
		old = path_push(L, names[1]);
		s->has_allow_list = true;
		set_loc(L, s, MF_ALLOW_LIST, v[1]);
		load_list(L, v[1], manifest_cidr_ok,
		          "IPv4 CIDRs like 10.0.0.0/8", &s->allow_list,
		          &s->n_allow_list);
		if (s->has_block_all && s->block_all && s->n_allow_list > 0)
			ERR(L, v[1],
			    "blockAll: true and a non-empty "
			    "allowList conflict (expected one of "
			    "them)");
		path_pop(L, old);
	}
	if (v[2]) {
		old = path_push(L, names[2]);
		s->has_domain_allow_list = true;
		set_loc(L, s, MF_DOMAIN_ALLOW_LIST, v[2]);
		load_list(L, v[2], manifest_domain_ok,
		          "host names like pypi.org or *.example.com",
		          &s->domain_allow_list, &s->n_domain_allow_list);
		path_pop(L, old);
	}
}

static void
load_volumes(struct loader *L, const struct ynode *n, struct sandbox_spec *s)
{
	static const char *const names[] = { "volume", "mountPath", "subpath" };
	const struct ynode *v[3], *k[3];
	size_t i, j, old, old2;
	const char *val;
	char *volume, *mount, *sub;
	struct manifest_volume *mv;

	if (n->type != YNODE_SEQ) {
		ERR(L, n,
		    "got %s (expected a list of {volume, mountPath, "
		    "subpath})",
		    kind_name(n));
		return;
	}
	s->volumes = xreallocarray(NULL, n->n + 1, sizeof(*s->volumes));
	for (i = 0; i < n->n; i++) {
		old = path_push_index(L, i);
		volume = mount = sub = NULL;
		if (!map_fields(L, n->kids[i], names, 3, v, k) ||
		    ynode_is_null(n->kids[i])) {
			if (ynode_is_null(n->kids[i]))
				ERR(L, n->kids[i],
				    "empty entry (expected "
				    "{volume, mountPath})");
			path_pop(L, old);
			continue;
		}
		if (v[0] == NULL) {
			ERR(L, n->kids[i],
			    "missing volume (expected a volume "
			    "name)");
		} else {
			old2 = path_push(L, names[0]);
			get_word(L, v[0], "a volume name or id", &volume);
			path_pop(L, old2);
		}
		if (v[1] == NULL) {
			ERR(L, n->kids[i],
			    "missing mountPath (expected an "
			    "absolute path)");
		} else {
			old2 = path_push(L, names[1]);
			if (get_string(L, v[1], &val)) {
				if (!manifest_mount_path_ok(val))
					ERR(L, v[1],
					    "'%s' is not a valid mount path "
					    "(expected an absolute path, not "
					    "/, without '.', '..' or '//')",
					    val);
				else
					mount = xstrdup(val);
			}
			for (j = 0; mount && j < s->n_volumes; j++)
				if (strcmp(s->volumes[j].mount_path, mount) ==
				    0) {
					ERR(L, v[1],
					    "mount path '%s' is used twice "
					    "(expected unique mount paths)",
					    mount);
					break;
				}
			path_pop(L, old2);
		}
		if (v[2] != NULL) {
			old2 = path_push(L, names[2]);
			if (get_string(L, v[2], &val)) {
				if (!manifest_subpath_ok(val))
					ERR(L, v[2],
					    "'%s' is not a valid subpath "
					    "(expected a relative path "
					    "without '..' or '//')",
					    val);
				else
					sub = xstrdup(val);
			}
			path_pop(L, old2);
		}
		if (volume && mount && (v[2] == NULL || sub)) {
			mv = &s->volumes[s->n_volumes++];
			mv->volume = volume;
			mv->mount_path = mount;
			mv->subpath = sub;
			mv->loc = loc_of(L, n->kids[i]);
		} else {
			free(volume);
			free(mount);
			free(sub);
		}
		path_pop(L, old);
	}
}

/*
 * load_resources: spec.resources. With an image each value is managed
 * (cpu, memory and disk from 1). Without one the snapshot fixes the
 * resources and Daytona refuses only truthy values, so 0 is accepted there
 * too; *truthy tells whether any value is non-zero.
 */
static void
load_resources(struct loader *L, const struct ynode *n, struct sandbox_spec *s,
               bool image, bool *truthy)
{
	static const char *const names[] = { "cpu", "memory", "disk", "gpu" };
	static const long long max[] = { MANIFEST_MAX_CPU, MANIFEST_MAX_MEMORY,
		                         MANIFEST_MAX_DISK, MANIFEST_MAX_GPU };
	static const char *const hint[] = {
		"an integer from 1 to 64, in vCPU",
		"an integer from 1 to 1024, in GiB",
		"an integer from 1 to 10240, in GiB", "an integer, 0 or 1"
	};
	const struct ynode *v[4], *k[4];
	long long *dst[4] = { &s->cpu, &s->memory, &s->disk, &s->gpu };
	bool *has[4] = { &s->has_cpu, &s->has_memory, &s->has_disk,
		         &s->has_gpu };
	enum manifest_field f[4] = { MF_CPU, MF_MEMORY, MF_DISK, MF_GPU };
	size_t i, old;

	if (!map_fields(L, n, names, 4, v, k))
		return;
	for (i = 0; i < 4; i++) {
		if (v[i] == NULL)
			continue;
		old = path_push(L, names[i]);
		if (get_int(L, v[i], i == 3 || !image ? 0 : 1, max[i], hint[i],
		            dst[i])) {
			*has[i] = true;
			set_loc(L, s, f[i], v[i]);
			if (*dst[i] != 0)
				*truthy = true;
		}
		path_pop(L, old);
	}
}

enum spec_key {
	SK_IMAGE,
	SK_SNAPSHOT,
	SK_RESOURCES,
	SK_ENV,
	SK_USER,
	SK_TARGET,
	SK_PUBLIC,
	SK_STATE,
	SK_AUTO_STOP,
	SK_AUTO_ARCHIVE,
	SK_AUTO_DELETE,
	SK_NETWORK,
	SK_VOLUMES,
	SK_LIFECYCLE,
	SK_COUNT
};

static const char *const spec_keys[SK_COUNT] = {
	"image",
	"snapshot",
	"resources",
	"env",
	"user",
	"target",
	"public",
	"state",
	"autoStopInterval",
	"autoArchiveInterval",
	"autoDeleteInterval",
	"network",
	"volumes",
	"lifecycle",
};

static void
load_spec(struct loader *L, const struct ynode *n, struct sandbox_spec *s)
{
	static const char *const lc_keys[] = { "preventDestroy" };
	const struct ynode *v[SK_COUNT], *k[SK_COUNT], *lv[1], *lk[1];
	size_t old, old2;
	const char *val;

	if (!map_fields(L, n, spec_keys, SK_COUNT, v, k))
		return;
#define FIELD(key) (old = path_push(L, spec_keys[key]))
#define DONE()     path_pop(L, old)
	if (v[SK_IMAGE]) {
		FIELD(SK_IMAGE);
		if (get_word(L, v[SK_IMAGE], "an image reference", &s->image))
			set_loc(L, s, MF_IMAGE, v[SK_IMAGE]);
		DONE();
	}
	if (v[SK_SNAPSHOT]) {
		FIELD(SK_SNAPSHOT);
		if (get_word(L, v[SK_SNAPSHOT], "a snapshot name or id",
		             &s->snapshot))
			set_loc(L, s, MF_SNAPSHOT, v[SK_SNAPSHOT]);
		if (v[SK_IMAGE])
			ERR(L, v[SK_SNAPSHOT],
			    "image and snapshot are "
			    "exclusive (expected one of "
			    "them)");
		DONE();
	}
	if (v[SK_RESOURCES]) {
		bool truthy = false;

		FIELD(SK_RESOURCES);
		set_loc(L, s, MF_RESOURCES, v[SK_RESOURCES]);
		load_resources(L, v[SK_RESOURCES], s, v[SK_IMAGE] != NULL,
		               &truthy);
		if (v[SK_IMAGE] == NULL && truthy) {
			if (v[SK_SNAPSHOT])
				ERR(L, v[SK_RESOURCES],
				    "resources cannot be set with a snapshot, "
				    "which fixes them (expected spec.image, or "
				    "no resources)");
			else
				ERR(L, v[SK_RESOURCES],
				    "resources need an image; the default "
				    "snapshot fixes them (expected spec.image, "
				    "or no resources)");
		} else if (v[SK_IMAGE] == NULL) {
			/* only null and 0: nothing set, nothing managed */
			s->has_cpu = s->has_memory = false;
			s->has_disk = s->has_gpu = false;
			memset(&s->loc[MF_RESOURCES], 0,
			       sizeof(s->loc[0]) * (MF_GPU - MF_RESOURCES + 1));
		}
		DONE();
	}
	if (v[SK_ENV]) {
		FIELD(SK_ENV);
		set_loc(L, s, MF_ENV, v[SK_ENV]);
		load_env(L, v[SK_ENV], s);
		DONE();
	}
	if (v[SK_USER]) {
		FIELD(SK_USER);
		if (get_word(L, v[SK_USER], "a user name", &s->user))
			set_loc(L, s, MF_USER, v[SK_USER]);
		DONE();
	}
	if (v[SK_TARGET]) {
		FIELD(SK_TARGET);
		if (get_word(L, v[SK_TARGET], "a region name or id",
		             &s->target))
			set_loc(L, s, MF_TARGET, v[SK_TARGET]);
		DONE();
	}
	if (v[SK_PUBLIC]) {
		FIELD(SK_PUBLIC);
		if (get_bool(L, v[SK_PUBLIC], &s->is_public)) {
			s->has_public = true;
			set_loc(L, s, MF_PUBLIC, v[SK_PUBLIC]);
		}
		DONE();
	}
	if (v[SK_STATE]) {
		FIELD(SK_STATE);
		if (get_string(L, v[SK_STATE], &val)) {
			if (strcmp(val, "started") == 0)
				s->state = SANDBOX_STATE_STARTED;
			else if (strcmp(val, "stopped") == 0)
				s->state = SANDBOX_STATE_STOPPED;
			else if (strcmp(val, "archived") == 0)
				s->state = SANDBOX_STATE_ARCHIVED;
			else
				ERR(L, v[SK_STATE],
				    "unknown state '%s' (expected started, "
				    "stopped or archived)",
				    val);
			if (s->state != SANDBOX_STATE_UNSET)
				set_loc(L, s, MF_STATE, v[SK_STATE]);
		}
		DONE();
	}
	if (v[SK_AUTO_STOP]) {
		FIELD(SK_AUTO_STOP);
		if (get_int(L, v[SK_AUTO_STOP], 0, MANIFEST_MAX_INTERVAL,
		            "minutes, an integer >= 0; 0 = never",
		            &s->auto_stop)) {
			s->has_auto_stop = true;
			set_loc(L, s, MF_AUTO_STOP, v[SK_AUTO_STOP]);
		}
		DONE();
	}
	if (v[SK_AUTO_ARCHIVE]) {
		FIELD(SK_AUTO_ARCHIVE);
		if (get_int(L, v[SK_AUTO_ARCHIVE], 0, MANIFEST_MAX_INTERVAL,
		            "minutes, an integer >= 0; 0 = the maximum",
		            &s->auto_archive)) {
			s->has_auto_archive = true;
			set_loc(L, s, MF_AUTO_ARCHIVE, v[SK_AUTO_ARCHIVE]);
			if (s->auto_archive > SERVER_MAX_AUTO_ARCHIVE)
				WARN(L, v[SK_AUTO_ARCHIVE],
				     "%lld minutes is above Daytona's usual "
				     "maximum, which the server clamps to "
				     "(expected at most %d)",
				     s->auto_archive, SERVER_MAX_AUTO_ARCHIVE);
		}
		DONE();
	}
	if (v[SK_AUTO_DELETE]) {
		FIELD(SK_AUTO_DELETE);
		if (get_int(L, v[SK_AUTO_DELETE], -1, MANIFEST_MAX_INTERVAL,
		            "minutes, an integer >= -1; -1 = never, 0 = "
		            "when stopped",
		            &s->auto_delete)) {
			s->has_auto_delete = true;
			set_loc(L, s, MF_AUTO_DELETE, v[SK_AUTO_DELETE]);
		}
		DONE();
	}
	if (v[SK_NETWORK]) {
		FIELD(SK_NETWORK);
		set_loc(L, s, MF_NETWORK, v[SK_NETWORK]);
		load_network(L, v[SK_NETWORK], s);
		DONE();
	}
	if (v[SK_VOLUMES]) {
		FIELD(SK_VOLUMES);
		s->has_volumes = true;
		set_loc(L, s, MF_VOLUMES, v[SK_VOLUMES]);
		load_volumes(L, v[SK_VOLUMES], s);
		DONE();
	}
	if (v[SK_LIFECYCLE]) {
		FIELD(SK_LIFECYCLE);
		if (map_fields(L, v[SK_LIFECYCLE], lc_keys, 1, lv, lk) &&
		    lv[0]) {
			old2 = path_push(L, lc_keys[0]);
			if (get_bool(L, lv[0], &s->prevent_destroy))
				set_loc(L, s, MF_PREVENT_DESTROY, lv[0]);
			path_pop(L, old2);
		}
		DONE();
	}
#undef FIELD
#undef DONE

	/* Rules across fields. */
	if (s->has_gpu && s->gpu > 0 &&
	    !(s->has_auto_delete && s->auto_delete == 0)) {
		struct ynode at;

		memset(&at, 0, sizeof(at));
		at.line = s->loc[MF_GPU].line;
		at.col = s->loc[MF_GPU].col;
		old = path_push(L, "resources");
		path_push(L, "gpu");
		ERR(L, &at,
		    "GPU sandboxes must be ephemeral (expected "
		    "spec.autoDeleteInterval: 0)");
		path_pop(L, old);
	}
	/*
	 * Daytona deletes an ephemeral sandbox when it stops and refuses to
	 * archive one, so "stopped" or "archived" could never converge: every
	 * apply would create it and its stop would delete it again.
	 */
	if (s->has_auto_delete && s->auto_delete == 0 &&
	    (s->state == SANDBOX_STATE_STOPPED ||
	     s->state == SANDBOX_STATE_ARCHIVED)) {
		old = path_push(L, "state");
		ERR(L, v[SK_STATE],
		    "an ephemeral sandbox (autoDeleteInterval: 0) is deleted "
		    "when it stops and cannot be archived (expected state: "
		    "started, no state, or an autoDeleteInterval other than "
		    "0)");
		path_pop(L, old);
	}
	/*
	 * Only when the interval in force is known: an autoStopInterval that
	 * was written but refused already has its error, and the default
	 * would not be what the user meant.
	 */
	if (s->state == SANDBOX_STATE_STARTED &&
	    (s->has_auto_stop || !v[SK_AUTO_STOP]) &&
	    (!s->has_auto_stop || s->auto_stop > 0)) {
		old = path_push(L, "state");
		WARN(L, v[SK_STATE],
		     "started with autoStopInterval %lld%s: Daytona stops it "
		     "when idle and each apply starts it again (expected "
		     "autoStopInterval: 0 to keep it running, or no state)",
		     s->has_auto_stop ? s->auto_stop
		                      : (long long)MANIFEST_DEFAULT_AUTO_STOP,
		     s->has_auto_stop ? "" : " (the default)");
		path_pop(L, old);
	}
}

static void
set_add(struct loader *L, struct sandbox_spec *s)
{
	struct manifest_set *set = L->set;

	if (set->n_sandboxes == L->cap_sandboxes) {
		L->cap_sandboxes = L->cap_sandboxes ? L->cap_sandboxes * 2 : 64;
		set->sandboxes = xreallocarray(set->sandboxes, L->cap_sandboxes,
		                               sizeof(*set->sandboxes));
	}
	set->sandboxes[set->n_sandboxes++] = *s;
	memset(s, 0, sizeof(*s));
}

static int
on_document(void *arg, const struct ynode *root)
{
	static const char *const top[] = { "apiVersion", "kind", "metadata",
		                           "spec" };
	static const char *const meta[] = { "name", "labels" };
	struct loader *L = arg;
	struct sandbox_spec s;
	const struct ynode *v[4], *k[4], *mv[2], *mk[2];
	const char *val;
	const char *problem;
	size_t old;

	if (ynode_is_null(root))
		return 0; /* an empty document: "---" alone, comments */
	if (++L->n_docs > MANIFEST_MAX_DOCUMENTS) {
		ERR(L, root,
		    "more than %d documents in this run (expected at most "
		    "%d)",
		    MANIFEST_MAX_DOCUMENTS, MANIFEST_MAX_DOCUMENTS);
		return SF_EINVALID;
	}
	memset(&s, 0, sizeof(s));
	L->doc_error = false;
	path_pop(L, 0);
	set_loc(L, &s, MF_DOCUMENT, root);
	if (root->type != YNODE_MAP) {
		ERR(L, root,
		    "got %s (expected a mapping with apiVersion, "
		    "kind, metadata and spec)",
		    kind_name(root));
		return 0;
	}
	map_fields(L, root, top, 4, v, k);

	old = path_push(L, "apiVersion");
	if (v[0] == NULL)
		ERR(L, root, "missing (expected %s)", MANIFEST_API_VERSION);
	else if (get_string(L, v[0], &val) &&
	         strcmp(val, MANIFEST_API_VERSION) != 0)
		ERR(L, v[0], "unsupported apiVersion '%s' (expected %s)", val,
		    MANIFEST_API_VERSION);
	path_pop(L, old);

	old = path_push(L, "kind");
	if (v[1] == NULL)
		ERR(L, root, "missing (expected %s)", MANIFEST_KIND);
	else if (get_string(L, v[1], &val) && strcmp(val, MANIFEST_KIND) != 0)
		ERR(L, v[1], "unsupported kind '%s' (expected %s)", val,
		    MANIFEST_KIND);
	path_pop(L, old);

	old = path_push(L, "metadata");
	if (v[2] == NULL) {
		ERR(L, root, "missing (expected a mapping with name)");
	} else if (map_fields(L, v[2], meta, 2, mv, mk)) {
		path_push(L, "name");
		if (mv[0] == NULL) {
			ERR(L, v[2], "missing (expected a sandbox name)");
		} else if (get_string(L, mv[0], &val)) {
			problem = name_problem(val);
			if (problem) {
				ERR(L, mv[0], "%s", problem);
			} else {
				s.name = xstrdup(val);
				set_loc(L, &s, MF_NAME, mv[0]);
				if (validate_uuid(val))
					WARN(L, mv[0],
					     "name looks like a sandbox id; "
					     "Daytona looks ids up first "
					     "(expected a name not shaped like "
					     "a UUID)");
			}
		}
		path_pop(L, old);
		path_push(L, "metadata");
		if (mv[1]) {
			path_push(L, "labels");
			set_loc(L, &s, MF_LABELS, mv[1]);
			load_labels(L, mv[1], &s);
		}
	}
	path_pop(L, old);

	if (v[3]) {
		old = path_push(L, "spec");
		load_spec(L, v[3], &s);
		path_pop(L, old);
	}
	if (!L->doc_error && s.name != NULL)
		set_add(L, &s);
	spec_clear(&s);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Files and directories */

static const char *
add_file(struct loader *L, const char *name)
{
	struct manifest_set *set = L->set;

	if (set->n_files == L->cap_files) {
		L->cap_files = L->cap_files ? L->cap_files * 2 : 16;
		set->files = xreallocarray(set->files, L->cap_files,
		                           sizeof(*set->files));
	}
	set->files[set->n_files] = xstrdup(name);
	return set->files[set->n_files++];
}

static void
load_bytes(struct loader *L, const char *name, const char *data, size_t len)
{
	L->file = add_file(L, name);
	log_debug("loading %s (%zu bytes)", name, len);
	ytree_parse(L->file, data, len, on_document, L, L->diags);
}

static void file_error(struct loader *L, const char *name, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void
file_error(struct loader *L, const char *name, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	diag_add(L->diags, DIAG_ERROR, name, 0, 0, NULL, "%s", msg);
	free(msg);
}

/*
 * already_loaded: has the file at path (after symbolic links) been read in
 * this run, through another name ("dir" and "dir/a.yaml", "./dir" and
 * "dir", a link)? Then it is skipped with a warning naming the first
 * name, instead of yielding duplicates of its own sandboxes. Otherwise it
 * is remembered (load_file records the name once it is read).
 */
static bool
already_loaded(struct loader *L, const char *path)
{
	struct stat st;
	size_t i;

	if (stat(path, &st) != 0)
		return false; /* file_read reports it */
	for (i = 0; i < L->n_loaded; i++) {
		if (L->loaded[i].dev != st.st_dev ||
		    L->loaded[i].ino != st.st_ino)
			continue;
		diag_add(L->diags, DIAG_WARNING, path, 0, 0, NULL,
		         "skipped: already loaded as %s",
		         L->loaded[i].file ? L->loaded[i].file : "?");
		return true;
	}
	if (L->n_loaded == L->cap_loaded) {
		L->cap_loaded = L->cap_loaded ? L->cap_loaded * 2 : 16;
		L->loaded = xreallocarray(L->loaded, L->cap_loaded,
		                          sizeof(*L->loaded));
	}
	L->loaded[L->n_loaded].dev = st.st_dev;
	L->loaded[L->n_loaded].ino = st.st_ino;
	L->loaded[L->n_loaded].file = NULL;
	L->n_loaded++;
	return false;
}

static void
load_file(struct loader *L, const char *path)
{
	struct buf b = BUF_INIT;
	const char *msg, *p;
	size_t plen = strlen(path);

	if (L->set->n_files >= MANIFEST_MAX_FILES) {
		file_error(L, path,
		           "more than %d files in this run (expected at most "
		           "%d)",
		           MANIFEST_MAX_FILES, MANIFEST_MAX_FILES);
		return;
	}
	if (strcmp(path, "-") == 0) {
		if (L->stdin_used) {
			file_error(L, path,
			           "stdin given twice (expected - once)");
			return;
		}
		L->stdin_used = true;
	} else if (already_loaded(L, path)) {
		return;
	}
	if (file_read(path, MANIFEST_MAX_FILE_SIZE, &b) != 0) {
		msg = sf_error_last();
		/* file_read's message starts with the path; drop it. */
		if (strncmp(msg, path, plen) == 0 && msg[plen] == ':')
			msg += plen + 1;
		while (*msg == ' ')
			msg++;
		p = strstr(msg, "larger than");
		if (p != NULL)
			file_error(L, path,
			           "file too large (expected at most %u "
			           "bytes)",
			           MANIFEST_MAX_FILE_SIZE);
		else
			file_error(L, path, "%s", msg);
		if (L->n_loaded > 0 && L->loaded[L->n_loaded - 1].file == NULL)
			L->n_loaded--; /* not read: no identity to keep */
		buf_free(&b);
		return;
	}
	load_bytes(L, path, b.data ? b.data : "", b.len);
	if (L->n_loaded > 0 && L->loaded[L->n_loaded - 1].file == NULL)
		L->loaded[L->n_loaded - 1].file = L->file;
	buf_free(&b);
}

static bool
yaml_name(const char *name)
{
	size_t n = strlen(name);

	return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
	       (n > 4 && strcmp(name + n - 4, ".yml") == 0);
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
walk_dir(struct loader *L, const char *dir, int depth)
{
	DIR *d;
	struct dirent *de;
	char **names = NULL, *p;
	size_t n = 0, cap = 0, i;
	struct stat lst, st;

	if (depth > MANIFEST_MAX_DIR_DEPTH) {
		file_error(L, dir,
		           "directories nested deeper than %d levels "
		           "(expected at most %d)",
		           MANIFEST_MAX_DIR_DEPTH, MANIFEST_MAX_DIR_DEPTH);
		return;
	}
	d = opendir(dir);
	if (d == NULL) {
		file_error(L, dir, "cannot open directory: %s",
		           strerror(errno));
		return;
	}
	while ((de = readdir(d)) != NULL) {
		/* Hidden entries (.git, .github, .sandform) are skipped. */
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			names = xreallocarray(names, cap, sizeof(*names));
		}
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(*names), str_cmp);
	for (i = 0; i < n; i++) {
		p = xasprintf("%s%s%s", dir,
		              dir[strlen(dir) - 1] == '/' ? "" : "/", names[i]);
		if (lstat(p, &lst) != 0) {
			file_error(L, p, "%s", strerror(errno));
		} else if (S_ISDIR(lst.st_mode)) {
			walk_dir(L, p, depth + 1);
		} else if (!yaml_name(names[i])) {
			/* not a manifest */
		} else if (S_ISREG(lst.st_mode)) {
			load_file(L, p);
		} else if (S_ISLNK(lst.st_mode)) {
			if (stat(p, &st) != 0)
				diag_add(L->diags, DIAG_WARNING, p, 0, 0, NULL,
				         "skipped: %s",
				         errno == ELOOP
				                 ? "symbolic link loop"
				                 : "dangling symbolic link");
			else if (S_ISREG(st.st_mode))
				load_file(L, p);
			else
				diag_add(L->diags, DIAG_WARNING, p, 0, 0, NULL,
				         "skipped: symbolic link to a "
				         "non-regular file");
		} else {
			diag_add(L->diags, DIAG_WARNING, p, 0, 0, NULL,
			         "skipped: not a regular file");
		}
		free(p);
		free(names[i]);
	}
	free(names);
}

static void
load_path(struct loader *L, const char *path)
{
	struct stat st;

	if (strcmp(path, "-") == 0) {
		load_file(L, path);
		return;
	}
	if (stat(path, &st) != 0) {
		const char *e = strerror(errno);

		file_error(L, path, "%c%s", tolower((unsigned char)e[0]),
		           e + 1);
		return;
	}
	if (S_ISDIR(st.st_mode))
		walk_dir(L, path, 0);
	else if (S_ISREG(st.st_mode))
		load_file(L, path);
	else
		file_error(L, path,
		           "not a regular file or directory (use - "
		           "to read stdin)");
}

/* ------------------------------------------------------------------ */
/* The set */

struct order {
	const char *name;
	size_t idx; /* load order */
};

static int
order_cmp(const void *a, const void *b)
{
	const struct order *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* sort_set: sort by name; equal names keep load order. */
static void
sort_set(struct manifest_set *set)
{
	struct order *o;
	struct sandbox_spec *v;
	size_t i, n = set->n_sandboxes;

	if (n < 2)
		return;
	o = xreallocarray(NULL, n, sizeof(*o));
	for (i = 0; i < n; i++) {
		o[i].name = set->sandboxes[i].name;
		o[i].idx = i;
	}
	qsort(o, n, sizeof(*o), order_cmp);
	v = xreallocarray(NULL, n, sizeof(*v));
	for (i = 0; i < n; i++)
		v[i] = set->sandboxes[o[i].idx];
	free(set->sandboxes);
	set->sandboxes = v;
	free(o);
}

static int
finish(struct loader *L, struct manifest_set **out)
{
	struct manifest_set *set = L->set;
	size_t i;
	const struct manifest_loc *a, *b;

	sort_set(set);
	for (i = 1; i < set->n_sandboxes; i++) {
		if (strcmp(set->sandboxes[i - 1].name,
		           set->sandboxes[i].name) != 0)
			continue;
		a = &set->sandboxes[i - 1].loc[MF_NAME];
		b = &set->sandboxes[i].loc[MF_NAME];
		if (L->diags->n_errors < MANIFEST_MAX_ERRORS)
			diag_add(L->diags, DIAG_ERROR, b->file, b->line, b->col,
			         "metadata.name",
			         "duplicate sandbox name '%s' (also at "
			         "%s:%u:%u; expected unique names)",
			         set->sandboxes[i].name, a->file, a->line,
			         a->col);
		else
			L->too_many = true;
	}
	if (L->too_many)
		diag_add(L->diags, DIAG_ERROR, L->file ? L->file : "-", 0, 0,
		         NULL, "too many errors; only the first %d are shown",
		         MANIFEST_MAX_ERRORS);
	diag_list_sort(L->diags);
	if (L->diags->n_errors > 0) {
		manifest_set_free(set);
		L->set = NULL;
		*out = NULL;
		return sf_error_set(SF_EINVALID, "%zu error%s in manifests",
		                    L->diags->n_errors,
		                    L->diags->n_errors == 1 ? "" : "s");
	}
	*out = set;
	L->set = NULL;
	return 0;
}

static void
loader_init(struct loader *L, struct diag_list *diags)
{
	memset(L, 0, sizeof(*L));
	L->diags = diags;
	L->set = xcalloc(1, sizeof(*L->set));
}

int
manifest_load(const char *const *paths, size_t n, struct manifest_set **out,
              struct diag_list *diags)
{
	struct loader L;
	size_t i;
	/*
	 * The set->files array is reallocated as it grows, but the strings
	 * it points to are not, so locations stay valid.
	 */
	loader_init(&L, diags);
	if (n == 0)
		load_path(&L, ".");
	for (i = 0; i < n; i++)
		load_path(&L, paths[i]);
	free(L.loaded);
	return finish(&L, out);
}

int
manifest_load_buffer(const char *name, const char *data, size_t len,
                     struct manifest_set **out, struct diag_list *diags)
{
	struct loader L;

	loader_init(&L, diags);
	load_bytes(&L, name, data, len);
	return finish(&L, out);
}

void
manifest_set_free(struct manifest_set *set)
{
	size_t i;

	if (set == NULL)
		return;
	for (i = 0; i < set->n_sandboxes; i++)
		spec_clear(&set->sandboxes[i]);
	free(set->sandboxes);
	for (i = 0; i < set->n_files; i++)
		free(set->files[i]);
	free(set->files);
	free(set);
}

const struct sandbox_spec *
manifest_set_find(const struct manifest_set *set, const char *name)
{
	size_t lo = 0, hi, mid;
	int c;

	if (set == NULL || name == NULL)
		return NULL;
	hi = set->n_sandboxes;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(name, set->sandboxes[mid].name);
		if (c == 0)
			return &set->sandboxes[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* JSON: the normalised desired set */

static void
json_loc(cJSON *o, const char *key, const struct manifest_loc *l)
{
	cJSON *src = cJSON_AddObjectToObject(o, key);

	cJSON_AddStringToObject(src, "file", l->file ? l->file : "");
	cJSON_AddNumberToObject(src, "line", l->line);
	cJSON_AddNumberToObject(src, "column", l->col);
}

static cJSON *
string_array(char **v, size_t n)
{
	cJSON *a = cJSON_CreateArray();
	size_t i;

	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
	return a;
}

cJSON *
manifest_env_value_to_json(enum env_kind kind, const char *value)
{
	cJSON *o;

	if (kind == ENV_PLAIN)
		return cJSON_CreateString(value);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(
	        o, kind == ENV_SECRET_ENV ? "secretEnv" : "secretFile", value);
	return o;
}

static cJSON *
spec_to_json(const struct sandbox_spec *s)
{
	cJSON *o = cJSON_CreateObject(), *x, *y;
	size_t i;

	cJSON_AddStringToObject(o, "name", s->name);
	x = cJSON_AddObjectToObject(o, "labels");
	for (i = 0; i < s->n_labels; i++)
		cJSON_AddStringToObject(x, s->labels[i].key,
		                        s->labels[i].value);
	if (s->image)
		cJSON_AddStringToObject(o, "image", s->image);
	if (s->snapshot)
		cJSON_AddStringToObject(o, "snapshot", s->snapshot);
	if (s->has_cpu || s->has_memory || s->has_disk || s->has_gpu) {
		x = cJSON_AddObjectToObject(o, "resources");
		if (s->has_cpu)
			cJSON_AddNumberToObject(x, "cpu", (double)s->cpu);
		if (s->has_memory)
			cJSON_AddNumberToObject(x, "memory", (double)s->memory);
		if (s->has_disk)
			cJSON_AddNumberToObject(x, "disk", (double)s->disk);
		if (s->has_gpu)
			cJSON_AddNumberToObject(x, "gpu", (double)s->gpu);
	}
	x = cJSON_AddObjectToObject(o, "env");
	for (i = 0; i < s->n_env; i++)
		cJSON_AddItemToObject(x, s->env[i].key,
		                      manifest_env_value_to_json(
		                              s->env[i].kind, s->env[i].value));
	if (s->user)
		cJSON_AddStringToObject(o, "user", s->user);
	if (s->target)
		cJSON_AddStringToObject(o, "target", s->target);
	if (s->has_public)
		cJSON_AddBoolToObject(o, "public", s->is_public);
	if (s->state != SANDBOX_STATE_UNSET)
		cJSON_AddStringToObject(o, "state",
		                        sandbox_state_name(s->state));
	if (s->has_auto_stop)
		cJSON_AddNumberToObject(o, "autoStopInterval",
		                        (double)s->auto_stop);
	if (s->has_auto_archive)
		cJSON_AddNumberToObject(o, "autoArchiveInterval",
		                        (double)s->auto_archive);
	if (s->has_auto_delete)
		cJSON_AddNumberToObject(o, "autoDeleteInterval",
		                        (double)s->auto_delete);
	if (s->has_block_all || s->has_allow_list || s->has_domain_allow_list) {
		x = cJSON_AddObjectToObject(o, "network");
		if (s->has_block_all)
			cJSON_AddBoolToObject(x, "blockAll", s->block_all);
		if (s->has_allow_list)
			cJSON_AddItemToObject(
			        x, "allowList",
			        string_array(s->allow_list, s->n_allow_list));
		if (s->has_domain_allow_list)
			cJSON_AddItemToObject(
			        x, "domainAllowList",
			        string_array(s->domain_allow_list,
			                     s->n_domain_allow_list));
	}
	if (s->has_volumes) {
		x = cJSON_AddArrayToObject(o, "volumes");
		for (i = 0; i < s->n_volumes; i++) {
			y = cJSON_CreateObject();
			cJSON_AddStringToObject(y, "volume",
			                        s->volumes[i].volume);
			cJSON_AddStringToObject(y, "mountPath",
			                        s->volumes[i].mount_path);
			if (s->volumes[i].subpath)
				cJSON_AddStringToObject(y, "subpath",
				                        s->volumes[i].subpath);
			cJSON_AddItemToArray(x, y);
		}
	}
	x = cJSON_AddObjectToObject(o, "lifecycle");
	cJSON_AddBoolToObject(x, "preventDestroy", s->prevent_destroy);
	json_loc(o, "source", &s->loc[MF_DOCUMENT]);
	return o;
}

cJSON *
manifest_set_to_json(const struct manifest_set *set)
{
	cJSON *o = cJSON_CreateObject(), *a;
	size_t i;

	cJSON_AddStringToObject(o, "apiVersion", MANIFEST_API_VERSION);
	cJSON_AddItemToObject(o, "files",
	                      string_array(set->files, set->n_files));
	a = cJSON_AddArrayToObject(o, "sandboxes");
	for (i = 0; i < set->n_sandboxes; i++)
		cJSON_AddItemToArray(a, spec_to_json(&set->sandboxes[i]));
	return o;
}

/* ------------------------------------------------------------------ */
/* Secret references */

static void
wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;

	while (n--)
		*v++ = 0;
}

void
manifest_secret_free(char *value)
{
	if (value == NULL)
		return;
	wipe(value, strlen(value));
	free(value);
}

int
manifest_secret_resolve(const struct manifest_env *e, char **out)
{
	struct buf b = BUF_INIT;
	const char *v;
	int rc;

	*out = NULL;
	switch (e->kind) {
	case ENV_PLAIN:
		*out = xstrdup(e->value);
		return 0;
	case ENV_SECRET_ENV:
		v = getenv(e->value);
		if (v == NULL)
			return sf_error_set(SF_ENOTFOUND,
			                    "env '%s': secretEnv variable '%s' "
			                    "is not set",
			                    e->key, e->value);
		*out = xstrdup(v);
		return 0;
	case ENV_SECRET_FILE:
		buf_init_max(&b, MANIFEST_MAX_SECRET_FILE);
		rc = file_read(e->value, MANIFEST_MAX_SECRET_FILE, &b);
		if (rc != 0) {
			char *why = xstrdup(sf_error_last());

			wipe(b.data, b.cap);
			buf_free(&b);
			/* file_read names the path, never the contents */
			rc = sf_error_set(rc, "env '%s': secretFile %s", e->key,
			                  why);
			free(why);
			return rc;
		}
		if (b.len > 0 && memchr(b.data, '\0', b.len) != NULL) {
			wipe(b.data, b.cap);
			buf_free(&b);
			return sf_error_set(SF_EINVALID,
			                    "env '%s': secretFile '%s' "
			                    "contains a NUL byte",
			                    e->key, e->value);
		}
		if (b.len > 0 && b.data[b.len - 1] == '\n')
			b.len--;
		if (b.len > 0 && b.data[b.len - 1] == '\r')
			b.len--;
		if (b.data)
			b.data[b.len] = '\0';
		*out = xstrndup(b.data ? b.data : "", b.len);
		wipe(b.data, b.cap);
		buf_free(&b);
		return 0;
	}
	return sf_error_set(SF_EINVALID, "env '%s': unknown reference", e->key);
}
