/*
 * resource: the declared Volume and Snapshot kinds (docs/manifest.md
 * "Volumes and snapshots"): the resources the sandboxes of a stack use,
 * planned before the sandboxes that reference them and deleted after them.
 *
 * A struct res_spec is self-contained like struct spec (plain strings, no
 * pointers into the manifests). res_to_json / res_from_json are the one
 * serializer (validate --json, plans, the state's applied record).
 *
 * Ownership: res_clear() frees the members, res_copy() deep-copies.
 */
#ifndef SF_MANIFESTS_RESOURCE_H
#define SF_MANIFESTS_RESOURCE_H

#include <stdbool.h>

#include <cjson/cJSON.h>

enum res_kind { RES_VOLUME = 0, RES_SNAPSHOT, RES_KIND_COUNT };

/* "Volume", "Snapshot"; res_kind_word: "volume", "snapshot". */
const char *res_kind_name(enum res_kind k);
const char *res_kind_word(enum res_kind k);
int res_kind_parse(const char *s, enum res_kind *out); /* either spelling */

/* Snapshot resource bounds (CreateSnapshot of @daytona/api-client 0.218). */
#define RES_MAX_DOCKERFILE (64u * 1024u)

struct res_spec {
	enum res_kind kind;
	char *name;         /* metadata.name */
	char *file;         /* NULL: not known (read from JSON without one) */
	unsigned line, col; /* the document */
	unsigned name_line, name_col; /* metadata.name */
	/* Snapshot only: exactly one of image (imageName) and dockerfile
	 * (buildInfo.dockerfileContent) */
	char *image;
	char *dockerfile;
	int cpu, memory, disk, gpu; /* 0: not declared (server default) */
	char *region;               /* regionId; NULL: the default */
	char *sandbox_class;        /* NULL: container */
	bool prevent_destroy;       /* lifecycle.preventDestroy */
	/* SHA-256 (first 16 hex digits) of the create-only fields: a
	 * snapshot whose hash changes is replaced; "" until res_hash() */
	char hash[17];
};

void res_clear(struct res_spec *r);
void res_copy(struct res_spec *dst, const struct res_spec *src);
/* res_hash: set r->hash. */
void res_hash(struct res_spec *r);
/* res_key: "<volume>NAME" / "<snapshot>NAME", the state record's name
 * (caller frees); res_key_parse: 0 with kind and name (a pointer into
 * key) for such a key, -1 for a sandbox's name. */
char *res_key(enum res_kind k, const char *name);
int res_key_parse(const char *key, enum res_kind *kind, const char **name);
/* res_source: "FILE:LINE" of the document, or "-" (caller frees). */
char *res_source(const struct res_spec *r);

/* {kind, name, image|dockerfile, resources{...}, region, sandboxClass,
 * lifecycle{preventDestroy}, source{file,line,column}, hash} */
cJSON *res_to_json(const struct res_spec *r);
int res_from_json(const cJSON *o, struct res_spec *out);

#endif
