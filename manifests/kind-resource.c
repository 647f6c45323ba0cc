/*
 * kind-resource: the Volume and Snapshot kinds: one document -> one struct
 * res_spec (manifests/resource.h, docs/manifest.md), validated with
 * file:line:column like a Sandbox.
 *
 *	kind: Volume     metadata.name; spec.lifecycle.preventDestroy
 *	kind: Snapshot   metadata.name; spec.image | spec.build.dockerfile,
 *	                 spec.resources {cpu, memory, disk, gpu},
 *	                 spec.region, spec.sandboxClass,
 *	                 spec.lifecycle.preventDestroy
 */
#include "common/base.h"

#include "common/xalloc.h"
#include "manifests/doc.h"
#include "manifests/resource.h"
#include "manifests/rules.h"
#include "manifests/spec.h"

#define RES_STR_(x) #x
#define RES_STR(x)  RES_STR_(x)

static const char *const classes[] = { "container", "linux-vm", "android",
	                               "windows" };

static void
load_lifecycle(struct doc *d, const struct ynode *n, struct res_spec *r)
{
	static const char *const keys[] = { "preventDestroy" };
	const struct ynode *v[1], *k[1];
	size_t old = doc_push(d, "lifecycle");

	if (doc_fields(d, n, keys, 1, v, k) && v[0]) {
		size_t o2 = doc_push(d, "preventDestroy");

		doc_bool(d, v[0], &r->prevent_destroy);
		doc_pop(d, o2);
	}
	doc_pop(d, old);
}

static void
load_int(struct doc *d, const struct ynode *n, const char *key, long long min,
         long long max, const char *hint, int *out)
{
	size_t old = doc_push(d, key);
	long long v;

	if (n && doc_int(d, n, min, max, hint, &v))
		*out = (int)v;
	doc_pop(d, old);
}

static void
load_resources(struct doc *d, const struct ynode *n, struct res_spec *r)
{
	static const char *const keys[] = { "cpu", "memory", "disk", "gpu" };
	const struct ynode *v[4], *k[4];
	size_t old = doc_push(d, "resources");

	if (doc_fields(d, n, keys, 4, v, k)) {
		load_int(d, v[0], "cpu", 1, SPEC_MAX_CPU,
		         "vCPU, 1 to " RES_STR(SPEC_MAX_CPU), &r->cpu);
		load_int(d, v[1], "memory", 1, SPEC_MAX_MEMORY,
		         "GiB, 1 to " RES_STR(SPEC_MAX_MEMORY), &r->memory);
		load_int(d, v[2], "disk", 1, SPEC_MAX_DISK,
		         "GiB, 1 to " RES_STR(SPEC_MAX_DISK), &r->disk);
		load_int(d, v[3], "gpu", 0, SPEC_MAX_GPU,
		         "GPUs, 0 to " RES_STR(SPEC_MAX_GPU), &r->gpu);
	}
	doc_pop(d, old);
}

static void
load_build(struct doc *d, const struct ynode *n, struct res_spec *r)
{
	static const char *const keys[] = { "dockerfile" };
	const struct ynode *v[1], *k[1];
	size_t old = doc_push(d, "build");
	const char *s;

	if (doc_fields(d, n, keys, 1, v, k)) {
		size_t o2 = doc_push(d, "dockerfile");

		if (v[0] == NULL)
			DOC_ERR(d, n,
			        "missing (expected the Dockerfile's content)");
		else if (doc_string(d, v[0], &s)) {
			if (*s == '\0' || strlen(s) > RES_MAX_DOCKERFILE)
				DOC_ERR(d, v[0],
				        "empty or longer than %u bytes "
				        "(expected a Dockerfile)",
				        RES_MAX_DOCKERFILE);
			else
				r->dockerfile = xstrdup(s);
		}
		doc_pop(d, o2);
	}
	doc_pop(d, old);
}

static void
load_class(struct doc *d, const struct ynode *n, struct res_spec *r)
{
	size_t old = doc_push(d, "sandboxClass"), i;
	const char *s;

	if (doc_string(d, n, &s)) {
		for (i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
			if (strcmp(s, classes[i]) == 0)
				r->sandbox_class = xstrdup(s);
		if (r->sandbox_class == NULL)
			DOC_ERR(d, n,
			        "unknown sandbox class '%s' (expected "
			        "container, linux-vm, android or windows)",
			        s);
	}
	doc_pop(d, old);
}

static void
load_snapshot_spec(struct doc *d, const struct ynode *root,
                   const struct ynode *spec, struct res_spec *r)
{
	static const char *const keys[] = { "image",        "build",
		                            "resources",    "region",
		                            "sandboxClass", "lifecycle" };
	const struct ynode *v[6], *k[6];
	size_t old;

	if (spec == NULL || !doc_fields(d, spec, keys, 6, v, k)) {
		if (spec == NULL)
			DOC_ERR(d, root,
			        "missing (expected a mapping with image or "
			        "build)");
		return;
	}
	if (v[0] == NULL && v[1] == NULL)
		DOC_ERR(d, spec,
		        "a snapshot needs image or build (expected one of "
		        "them)");
	if (v[0] && v[1]) {
		old = doc_push(d, "build");
		DOC_ERR(d, v[1],
		        "image and build are exclusive (expected one of "
		        "them)");
		doc_pop(d, old);
	}
	if (v[0]) {
		old = doc_push(d, "image");
		doc_word(d, v[0], "an image reference", &r->image);
		doc_pop(d, old);
	}
	if (v[1])
		load_build(d, v[1], r);
	if (v[2])
		load_resources(d, v[2], r);
	if (v[3]) {
		old = doc_push(d, "region");
		doc_word(d, v[3], "a region id", &r->region);
		doc_pop(d, old);
	}
	if (v[4])
		load_class(d, v[4], r);
	if (v[5])
		load_lifecycle(d, v[5], r);
}

static void
load_volume_spec(struct doc *d, const struct ynode *spec, struct res_spec *r)
{
	static const char *const keys[] = { "lifecycle" };
	const struct ynode *v[1], *k[1];

	if (spec && doc_fields(d, spec, keys, 1, v, k) && v[0])
		load_lifecycle(d, v[0], r);
}

static void
load_name(struct doc *d, const struct ynode *root, const struct ynode *md,
          struct res_spec *r)
{
	static const char *const meta[] = { "name" };
	const struct ynode *mv[1], *mk[1];
	const char *val, *problem;
	size_t old = doc_push(d, "metadata");

	if (md == NULL) {
		DOC_ERR(d, root, "missing (expected a mapping with name)");
	} else if (doc_fields(d, md, meta, 1, mv, mk)) {
		size_t o2 = doc_push(d, "name");

		if (mv[0] == NULL) {
			DOC_ERR(d, md, "missing (expected a %s name)",
			        res_kind_word(r->kind));
		} else if (doc_string(d, mv[0], &val)) {
			if ((problem = rule_name_problem(val)) != NULL) {
				DOC_ERR(d, mv[0], "%s", problem);
			} else {
				r->name = xstrdup(val);
				r->name_line = mv[0]->line;
				r->name_col = mv[0]->col;
			}
		}
		doc_pop(d, o2);
	}
	doc_pop(d, old);
}

static void
load(enum res_kind kind, struct doc *d, const struct ynode *root,
     const struct ynode *metadata, const struct ynode *spec,
     struct manifest_set *set)
{
	struct res_spec r;
	size_t old;

	memset(&r, 0, sizeof(r));
	r.kind = kind;
	r.line = root->line;
	r.col = root->col;
	load_name(d, root, metadata, &r);
	old = doc_push(d, "spec");
	if (kind == RES_SNAPSHOT)
		load_snapshot_spec(d, root, spec, &r);
	else
		load_volume_spec(d, spec, &r);
	doc_pop(d, old);
	if (d->error || r.name == NULL) {
		res_clear(&r);
		return;
	}
	r.file = xstrdup(d->file);
	if (kind == RES_SNAPSHOT)
		res_hash(&r);
	manifest_set_add_resource(set, &r);
}

void
kind_volume_load(struct doc *d, const struct ynode *root,
                 const struct ynode *metadata, const struct ynode *spec,
                 struct manifest_set *set)
{
	load(RES_VOLUME, d, root, metadata, spec, set);
}

void
kind_snapshot_load(struct doc *d, const struct ynode *root,
                   const struct ynode *metadata, const struct ynode *spec,
                   struct manifest_set *set)
{
	load(RES_SNAPSHOT, d, root, metadata, spec, set);
}
