/*
 * loader: files → YAML documents (ytree) → each document to the loader of
 * its kind → the desired set.
 *
 * Every document is validated in one pass that records each problem and
 * goes on; a document with an error contributes nothing, and the set is
 * handed out only when the run had no error. What needs the whole run
 * (duplicate names) is checked in manifest_loader_finish().
 */
#include "common/base.h"

#include <stdarg.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/log.h"
#include "common/suggest.h"
#include "common/xalloc.h"
#include "manifests/doc.h"
#include "manifests/manifest.h"
#include "manifests/stack.h"
#include "manifests/ytree.h"

/* The kinds of document sandform reads (apiVersion sandform.dev/v1). */
static const struct {
	const char *name;
	doc_kind_fn load;
} kinds[] = {
	{ "Sandbox", kind_sandbox_load },
	{ "Volume", kind_volume_load },
	{ "Snapshot", kind_snapshot_load },
	{ "Stack", kind_stack_load },
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

struct manifest_loader {
	struct diag_list *diags;
	struct manifest_set *set;
	size_t n_docs;
	bool too_many;        /* MANIFEST_MAX_ERRORS reached */
	struct strmap claims; /* identity -> the name it was first read as */
	char *last_claim;     /* for manifest_loader_unclaim() */
	const char *file;     /* the file being read, owned by set->files */
};

struct manifest_loader *
manifest_loader_new(struct diag_list *diags)
{
	struct manifest_loader *L = xcalloc(1, sizeof(*L));

	L->diags = diags;
	L->set = xcalloc(1, sizeof(*L->set));
	return L;
}

void
manifest_loader_free(struct manifest_loader *L)
{
	if (L == NULL)
		return;
	manifest_set_free(L->set);
	strmap_clear(&L->claims);
	free(L->last_claim);
	free(L);
}

void
manifest_loader_diag(struct manifest_loader *L, enum diag_severity sev,
                     const char *name, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (sev == DIAG_ERROR && L->diags->n_errors >= MANIFEST_MAX_ERRORS) {
		L->too_many = true;
		return;
	}
	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	diag_add(L->diags, sev, name, 0, 0, NULL, "%s", msg);
	free(msg);
}

int
manifest_loader_claim(struct manifest_loader *L, const char *identity,
                      const char *name, const char **first)
{
	const char *was = strmap_get(&L->claims, identity);

	if (was != NULL) {
		if (first)
			*first = was;
		return 1;
	}
	strmap_set(&L->claims, identity, name);
	free(L->last_claim);
	L->last_claim = xstrdup(identity);
	return 0;
}

void
manifest_loader_unclaim(struct manifest_loader *L)
{
	if (L->last_claim == NULL)
		return;
	strmap_del(&L->claims, L->last_claim);
	free(L->last_claim);
	L->last_claim = NULL;
}

/* ---- documents ------------------------------------------------------------
 */

/* unknown_kind: the error, naming the nearest kind if one is near. */
static void
unknown_kind(struct doc *d, const struct ynode *v, const char *val,
             const char *expect)
{
	const char *names[NKINDS], *near;
	size_t i;

	for (i = 0; i < NKINDS; i++)
		names[i] = kinds[i].name;
	near = suggest_closest(val, names, NKINDS);
	if (near != NULL)
		DOC_ERR(d, v,
		        "unsupported kind '%s'; did you mean '%s'? (expected "
		        "%s)",
		        val, near, expect);
	else
		DOC_ERR(d, v, "unsupported kind '%s' (expected %s)", val,
		        expect);
}

/* check_kind: the kind's loader (missing or unknown: reported; the
 * document is still read as a Sandbox so that every problem shows). */
static doc_kind_fn
check_kind(struct doc *d, const struct ynode *root, const struct ynode *v)
{
	struct buf expect = BUF_INIT;
	const char *val;
	size_t i, old = doc_push(d, "kind");
	doc_kind_fn fn = kinds[0].load;

	if (v != NULL && v->type == YNODE_SCALAR && !ynode_is_null(v)) {
		/* the common case, without building the message */
		for (i = 0; i < NKINDS; i++)
			if (strcmp(v->value, kinds[i].name) == 0) {
				doc_pop(d, old);
				return kinds[i].load;
			}
	}
	for (i = 0; i < NKINDS; i++)
		buf_addf(&expect, "%s%s", i ? ", " : "", kinds[i].name);
	if (v == NULL) {
		DOC_ERR(d, root, "missing (expected %s)", buf_cstr(&expect));
	} else if (doc_string(d, v, &val)) {
		for (i = 0; i < NKINDS; i++)
			if (strcmp(val, kinds[i].name) == 0)
				break;
		if (i < NKINDS)
			fn = kinds[i].load;
		else
			unknown_kind(d, v, val, buf_cstr(&expect));
	}
	doc_pop(d, old);
	buf_free(&expect);
	return fn;
}

static int
on_document(void *arg, const struct ynode *root)
{
	static const char *const top[] = { "apiVersion", "kind", "metadata",
		                           "spec" };
	struct manifest_loader *L = arg;
	const struct ynode *v[4], *k[4];
	struct doc d;
	doc_kind_fn load;
	const char *val;
	size_t old;

	if (ynode_is_null(root))
		return 0; /* an empty document: "---" alone, comments */
	memset(&d, 0, sizeof(d));
	d.diags = L->diags;
	d.file = L->file;
	if (++L->n_docs > MANIFEST_MAX_DOCUMENTS) {
		DOC_ERR(&d, root,
		        "more than %d documents in this run (expected at most "
		        "%d)",
		        MANIFEST_MAX_DOCUMENTS, MANIFEST_MAX_DOCUMENTS);
		L->too_many |= d.too_many;
		return SF_EINVALID;
	}
	if (root->type != YNODE_MAP) {
		DOC_ERR(&d, root,
		        "got %s (expected a mapping with apiVersion, kind, "
		        "metadata and spec)",
		        doc_what(root));
		L->too_many |= d.too_many;
		return 0;
	}
	doc_fields(&d, root, top, 4, v, k);
	old = doc_push(&d, "apiVersion");
	if (v[0] == NULL)
		DOC_ERR(&d, root, "missing (expected %s)", SPEC_API_VERSION);
	else if (doc_string(&d, v[0], &val) &&
	         strcmp(val, SPEC_API_VERSION) != 0)
		DOC_ERR(&d, v[0], "unsupported apiVersion '%s' (expected %s)",
		        val, SPEC_API_VERSION);
	doc_pop(&d, old);
	load = check_kind(&d, root, v[1]);
	load(&d, root, v[2], v[3], L->set);
	L->too_many |= d.too_many;
	return 0;
}

static const char *
add_file(struct manifest_set *set, const char *name)
{
	if (set->n_files == set->cap_files) {
		set->cap_files = set->cap_files ? set->cap_files * 2 : 16;
		set->files = xreallocarray(set->files, set->cap_files,
		                           sizeof(*set->files));
	}
	set->files[set->n_files] = xstrdup(name);
	return set->files[set->n_files++];
}

void
manifest_loader_add(struct manifest_loader *L, const char *name,
                    const char *data, size_t len)
{
	if (L->set->n_files >= MANIFEST_MAX_FILES) {
		manifest_loader_diag(L, DIAG_ERROR, name,
		                     "more than %d files in this run (expected "
		                     "at most %d)",
		                     MANIFEST_MAX_FILES, MANIFEST_MAX_FILES);
		return;
	}
	/* set->files grows, but the strings do not move: locations that
	 * point to them stay valid */
	L->file = add_file(L->set, name);
	log_debug("loading %s (%zu bytes)", name, len);
	ytree_parse(L->file, data, len, on_document, L, L->diags);
}

/* ---- the set --------------------------------------------------------------
 */

void
manifest_set_add_sandbox(struct manifest_set *set, struct spec *s)
{
	if (set->n_sandboxes == set->cap_sandboxes) {
		set->cap_sandboxes =
		        set->cap_sandboxes ? set->cap_sandboxes * 2 : 64;
		set->sandboxes =
		        xreallocarray(set->sandboxes, set->cap_sandboxes,
		                      sizeof(*set->sandboxes));
	}
	set->sandboxes[set->n_sandboxes++] = *s;
	memset(s, 0, sizeof(*s));
}

void
manifest_set_add_resource(struct manifest_set *set, struct res_spec *r)
{
	if (set->n_resources == set->cap_resources) {
		set->cap_resources =
		        set->cap_resources ? set->cap_resources * 2 : 16;
		set->resources =
		        xreallocarray(set->resources, set->cap_resources,
		                      sizeof(*set->resources));
	}
	set->resources[set->n_resources++] = *r;
	memset(r, 0, sizeof(*r));
}

struct res_order {
	const struct res_spec *r;
	size_t idx; /* load order */
};

static int
res_order_cmp(const void *a, const void *b)
{
	const struct res_order *x = a, *y = b;
	int c = (int)x->r->kind - (int)y->r->kind;

	if (c == 0)
		c = strcmp(x->r->name, y->r->name);
	if (c != 0)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* sort_resources: by kind, then name; equal names keep load order. */
static void
sort_resources(struct manifest_set *set)
{
	size_t i, n = set->n_resources;
	struct res_order *o;
	struct res_spec *v;

	if (n < 2)
		return;
	o = xreallocarray(NULL, n, sizeof(*o));
	for (i = 0; i < n; i++) {
		o[i].r = &set->resources[i];
		o[i].idx = i;
	}
	qsort(o, n, sizeof(*o), res_order_cmp);
	v = xreallocarray(NULL, n, sizeof(*v));
	for (i = 0; i < n; i++)
		v[i] = set->resources[o[i].idx];
	free(set->resources);
	set->resources = v;
	set->cap_resources = n;
	free(o);
}

/* check_resources: duplicate names per kind. */
static void
check_resources(struct manifest_loader *L)
{
	struct manifest_set *set = L->set;
	const struct res_spec *a, *b;
	size_t i;

	sort_resources(set);
	for (i = 1; i < set->n_resources; i++) {
		a = &set->resources[i - 1];
		b = &set->resources[i];
		if (a->kind != b->kind || strcmp(a->name, b->name) != 0)
			continue;
		if (L->diags->n_errors >= MANIFEST_MAX_ERRORS) {
			L->too_many = true;
			continue;
		}
		diag_add(L->diags, DIAG_ERROR, b->file, b->name_line,
		         b->name_col, "metadata.name",
		         "duplicate %s name '%s' (also at %s:%u:%u; "
		         "expected unique names)",
		         res_kind_word(b->kind), b->name, a->file, a->name_line,
		         a->name_col);
	}
}

const struct res_spec *
manifest_set_find_resource(const struct manifest_set *set, enum res_kind kind,
                           const char *name)
{
	size_t lo = 0, hi, mid;
	int c;

	if (set == NULL || name == NULL)
		return NULL;
	hi = set->n_resources;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = (int)kind - (int)set->resources[mid].kind;
		if (c == 0)
			c = strcmp(name, set->resources[mid].name);
		if (c == 0)
			return &set->resources[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

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

/*
 * sort_set: sort by name; equal names keep load order. The specs are moved
 * in place, cycle by cycle, through one spare: a second array of them
 * would double the set at its largest (328 bytes a sandbox).
 */
static void
sort_set(struct manifest_set *set)
{
	struct order *o;
	struct spec spare;
	size_t i, j, k, n = set->n_sandboxes;

	if (n < 2)
		return;
	/* manifests are often written in name order: then the sorted set is
	 * the set as loaded (equal names keep load order) */
	for (i = 1; i < n; i++)
		if (strcmp(set->sandboxes[i - 1].name, set->sandboxes[i].name) >
		    0)
			break;
	if (i == n)
		goto shrink;
	o = xreallocarray(NULL, n, sizeof(*o));
	for (i = 0; i < n; i++) {
		o[i].name = set->sandboxes[i].name;
		o[i].idx = i;
	}
	qsort(o, n, sizeof(*o), order_cmp);
	/* position j takes the spec at o[j].idx; o[j].idx = j once done */
	for (i = 0; i < n; i++) {
		if (o[i].idx == i)
			continue;
		spare = set->sandboxes[i];
		for (j = i; o[j].idx != i; j = k) {
			k = o[j].idx;
			set->sandboxes[j] = set->sandboxes[k];
			o[j].idx = j;
		}
		set->sandboxes[j] = spare;
		o[j].idx = j;
	}
	free(o);
shrink:
	set->sandboxes =
	        xreallocarray(set->sandboxes, n, sizeof(*set->sandboxes));
	set->cap_sandboxes = n;
}

int
manifest_loader_finish(struct manifest_loader *L, struct manifest_set **out)
{
	struct manifest_set *set = L->set;
	size_t i;
	const struct spec *a, *b;
	struct spec_pos pa, pb;
	int rc = 0;

	*out = NULL;
	sort_set(set);
	check_resources(L);
	for (i = 1; i < set->n_sandboxes; i++) {
		a = &set->sandboxes[i - 1];
		b = &set->sandboxes[i];
		if (strcmp(a->name, b->name) != 0)
			continue;
		if (L->diags->n_errors >= MANIFEST_MAX_ERRORS) {
			L->too_many = true;
			continue;
		}
		pa = spec_pos_get(a, SPEC_F_NAME);
		pb = spec_pos_get(b, SPEC_F_NAME);
		diag_add(L->diags, DIAG_ERROR, b->file, pb.line, pb.col,
		         "metadata.name",
		         "duplicate sandbox name '%s' (also at %s:%u:%u; "
		         "expected unique names)",
		         b->name, a->file, pa.line, pa.col);
	}
	if (L->too_many)
		diag_add(L->diags, DIAG_ERROR, L->file ? L->file : "-", 0, 0,
		         NULL, "too many errors; only the first %d are shown",
		         MANIFEST_MAX_ERRORS);
	diag_list_sort(L->diags);
	if (L->diags->n_errors > 0) {
		rc = sf_error_set(SF_EINVALID, "%zu error%s in manifests",
		                  L->diags->n_errors,
		                  L->diags->n_errors == 1 ? "" : "s");
	} else {
		*out = set;
		L->set = NULL;
	}
	manifest_loader_free(L);
	return rc;
}

int
manifest_load_buffer(const char *name, const char *data, size_t len,
                     struct manifest_set **out, struct diag_list *diags)
{
	struct manifest_loader *L = manifest_loader_new(diags);

	manifest_loader_add(L, name, data, len);
	return manifest_loader_finish(L, out);
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
	for (i = 0; i < set->n_resources; i++)
		res_clear(&set->resources[i]);
	free(set->resources);
	for (i = 0; i < set->n_files; i++)
		free(set->files[i]);
	free(set->files);
	stack_spec_free(set->stack);
	free(set);
}

const struct spec *
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

cJSON *
manifest_set_to_json(const struct manifest_set *set)
{
	cJSON *o = cJSON_CreateObject(), *a;
	size_t i;

	cJSON_AddStringToObject(o, "apiVersion", SPEC_API_VERSION);
	a = cJSON_AddArrayToObject(o, "files");
	for (i = 0; i < set->n_files; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(set->files[i]));
	a = cJSON_AddArrayToObject(o, "sandboxes");
	for (i = 0; i < set->n_sandboxes; i++)
		cJSON_AddItemToArray(a, spec_to_json(&set->sandboxes[i]));
	for (int k = 0; k < RES_KIND_COUNT; k++) {
		a = NULL;
		for (i = 0; i < set->n_resources; i++) {
			if (set->resources[i].kind != (enum res_kind)k)
				continue;
			if (a == NULL)
				a = cJSON_AddArrayToObject(
				        o, k == RES_VOLUME ? "volumes"
				                           : "snapshots");
			cJSON_AddItemToArray(a,
			                     res_to_json(&set->resources[i]));
		}
	}
	return o;
}
