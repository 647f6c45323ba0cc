/*
 * spec: the reconciler's view of one desired sandbox, its spec hash, and
 * the mapping from a spec to the Daytona API.
 *
 * A struct spec is built from a manifest document (spec_from_manifest) and
 * is what the plan compares and what apply creates from. It is
 * self-contained: plain C strings, no pointers into the manifest set, so a
 * saved plan can carry it and apply can use it after the manifests are gone.
 * Secret env values are never stored in a spec: only their reference
 * (secretEnv name or secretFile path) is.
 *
 * The spec hash (label sandform.dev/spec) covers every create-only field:
 * image or snapshot, env (values of plain entries, and the keyed hash of
 * each secret's value), user, target, volumes, gpu, and the resources given
 * at create. It lets the plan see a change of a field the list endpoint does
 * not return without a GET.
 *
 * Ownership: a struct spec owns every string and array in it; spec_free()
 * releases them (the struct itself too), spec_dup() deep-copies.
 * Label maps are common/strmap.h maps.
 */
#ifndef SF_RECONCILER_SPEC_H
#define SF_RECONCILER_SPEC_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "common/strmap.h"
#include "common/hash.h"
#include "daytona/client.h"
#include "manifests/manifest.h"

/* Labels sandform sets on every sandbox it creates. */
#define SPEC_LABEL_STACK "sandform.dev/stack"
#define SPEC_LABEL_SPEC  "sandform.dev/spec"
/* Set (to "true") while lifecycle.preventDestroy is, so the guard holds
 * even after the manifest is removed and the state is lost. */
#define SPEC_LABEL_PREVENT_DESTROY "sandform.dev/prevent-destroy"
/* A JSON array of the label keys the manifest declares, so the three-way
 * merge knows what sandform set even after the state is lost. Set only
 * when the manifest declares labels. */
#define SPEC_LABEL_OWNED "sandform.dev/labels"
/* Prefix of every label sandform owns by itself. */
#define SPEC_LABEL_PREFIX "sandform.dev/"
/*
 * The spec label value: "v1.IIIIIIII.EEEEEEEE.SSSSSSSS.KKKKKKKK.VVVVVVVV",
 * a version and one short SHA-256 per create-only group the list endpoint
 * does not return, so the plan can name the group that changed: image,
 * env (plain values and secret references), secret values (HMACs under
 * the state's key), the fingerprint of that key, and volumes. Secret
 * values are only comparable under the same key: after a lost state they
 * are not (SPEC_SEG_KEY differs) and the plan says so instead of
 * replacing.
 */
#define SPEC_HASH_VERSION  "v1"
#define SPEC_HASH_SEGMENTS 5
#define SPEC_HASH_SEG_HEX  8
#define SPEC_HASH_LEN      (2 + SPEC_HASH_SEGMENTS * (1 + SPEC_HASH_SEG_HEX))
enum spec_segment {
	SPEC_SEG_IMAGE = 0,
	SPEC_SEG_ENV,
	SPEC_SEG_SECRETS,
	SPEC_SEG_KEY,
	SPEC_SEG_VOLUMES,
};

/* Daytona defaults and limits (daytona-api.md §4.4, §8.3). */
#define SPEC_DEFAULT_AUTO_STOP        15
#define SPEC_DEFAULT_AUTO_ARCHIVE     10080
#define SPEC_DEFAULT_AUTO_DELETE      (-1)
#define SPEC_DEFAULT_MAX_AUTO_ARCHIVE 43200
#define SPEC_DEFAULT_USER             "daytona"
/* Image builds: the server uses value || default (daytona-api.md §8.2). */
#define SPEC_IMAGE_DEFAULT_CPU    1
#define SPEC_IMAGE_DEFAULT_MEMORY 1
#define SPEC_IMAGE_DEFAULT_DISK   3

/* The manifest's kinds (enum env_kind), so converting is a cast. */
enum spec_env_kind {
	SPEC_ENV_PLAIN = ENV_PLAIN, /* value is the literal value */
	/* value is the environment variable's name */
	SPEC_ENV_SECRET_ENV = ENV_SECRET_ENV,
	SPEC_ENV_SECRET_FILE = ENV_SECRET_FILE /* value is the file's path */
};

struct spec_env {
	char *key;
	enum spec_env_kind kind;
	char *value; /* literal (PLAIN) or the reference, never a secret */
};

struct spec_volume {
	char *volume; /* id or name */
	char *mount_path;
	char *subpath; /* NULL: none */
};

/* The declared run state; ANY = omitted (existence only, DESIGN.md §5).
 * The manifest's states (enum sandbox_state), so converting is a cast. */
enum spec_state {
	SPEC_STATE_ANY = SANDBOX_STATE_UNSET,
	SPEC_STATE_STARTED = SANDBOX_STATE_STARTED,
	SPEC_STATE_STOPPED = SANDBOX_STATE_STOPPED,
	SPEC_STATE_ARCHIVED = SANDBOX_STATE_ARCHIVED,
};

struct spec_network {
	int has_block_all, block_all;
	/* comma-joined lists as the API takes them; NULL: not declared,
	 * "" declared empty */
	char *allow_list;
	char *domain_allow_list;
};

struct spec {
	char *name;
	char *file; /* provenance: the manifest file and line of the doc */
	int line;
	struct strmap labels; /* declared labels only */
	char *image;          /* NULL or the image reference */
	char *snapshot;       /* NULL or the snapshot name */
	int has_cpu, has_memory, has_disk, has_gpu;
	long long cpu, memory, disk, gpu;
	struct spec_env *env;
	size_t nenv;
	char *user;   /* NULL: server default */
	char *target; /* NULL: DAYTONA_TARGET or the org default */
	int has_public, public_;
	enum spec_state state;
	int has_auto_stop, has_auto_archive, has_auto_delete;
	long long auto_stop, auto_archive, auto_delete;
	int has_network;
	struct spec_network network;
	struct spec_volume *volumes;
	size_t nvolumes;
	int prevent_destroy;
	/* the spec hash label value, filled by spec_hash(); "" until then */
	char hash[SPEC_HASH_LEN + 1];
};

void spec_free(struct spec *s);
/* spec_clear: free the members only (for specs in arrays). */
void spec_clear(struct spec *s);
struct spec *spec_dup(const struct spec *s);
const char *spec_state_name(enum spec_state st); /* "started", ..., "" */

/*
 * spec_secret_fn: resolve one secret reference for hashing. Returns 0 and
 * sets *value (caller frees, and wipes), or a negative SF_E* code with the
 * message set naming the missing reference (never a value).
 */
typedef int (*spec_secret_fn)(void *arg, const struct spec_env *e,
                              char **value);

/* spec_secret_resolve_manifest: a spec_secret_fn that reads the
 * reference with manifest_secret_resolve() (arg unused). */
int spec_secret_resolve_manifest(void *arg, const struct spec_env *e,
                                 char **value);
/* spec_secret_free: wipe and free a resolved value (NULL-safe). */
void spec_secret_free(char *value);

/*
 * spec_hash: compute s->hash from the create-only fields the list does not
 * return: image, env, volumes (snapshot, user, target, gpu and resources
 * are list fields and compared directly). Plain env values enter the hash
 * as written; secret values are resolved with resolve and enter only as
 * hmac_sha256(key, value) under the state's key (key is the state's HMAC
 * key; only its SHA-256 fingerprint appears in the label). resolve may be
 * NULL when the spec has no secret. Returns 0 or the resolver's error.
 */
int spec_hash(struct spec *s, const void *key, size_t keylen,
              spec_secret_fn resolve, void *arg);
/* spec_hash_segment: segment i (enum spec_segment) of a label value into
 * out; 0, or -1 when the value is not a v1 spec label. */
int spec_hash_segment(const char *label, int i,
                      char out[SPEC_HASH_SEG_HEX + 1]);

struct sandbox_spec;
/* spec_from_manifest: a new spec (caller frees) from a manifest sandbox. */
struct spec *spec_from_manifest(const struct sandbox_spec *m);

/* spec_to_json / spec_from_json: the "desired" object of a saved plan and
 * of a record's applied_json (docs/plan-format.md). to_json returns a new
 * tree (caller deletes); from_json returns NULL for a malformed object. */
cJSON *spec_to_json(const struct spec *s);
struct spec *spec_from_json(const cJSON *obj);
cJSON *spec_network_to_json(const struct spec_network *n);
int spec_network_from_json(const cJSON *obj, struct spec_network *out);
void spec_network_copy(struct spec_network *dst,
                       const struct spec_network *src);
void spec_network_clear(struct spec_network *n);

/*
 * spec_create: a struct dt_create built from a spec plus the storage it
 * points to. spec_to_create() resolves secret env values with resolve
 * (they live in out->env until spec_create_clear(), which wipes them) and
 * sends labels as the sandbox's labels (normally spec_merge_labels() with
 * no live map). The spec and labels must outlive out.
 */
struct spec_create {
	struct dt_create req;
	struct strmap env;
	struct strmap labels;
	struct dt_volume *volumes;
};
int spec_to_create(const struct spec *s, const struct strmap *labels,
                   spec_secret_fn resolve, void *arg, struct spec_create *out);
void spec_create_clear(struct spec_create *c);

/*
 * spec_normalize_auto_archive: the value the server stores for n
 * (0 → max, clamped to max; daytona-api.md §4.4).
 */
long long spec_normalize_auto_archive(long long n, long long max);

/*
 * spec_merge_labels: the three-way label merge (DESIGN.md §4). Starting
 * from the live labels: keys sandform owned before (prev_owned, and the
 * keys listed in the live SPEC_LABEL_OWNED) and no longer declared are
 * removed, declared keys are set, everyone else's keys
 * are kept; then SPEC_LABEL_STACK=stack and SPEC_LABEL_SPEC=hash are set.
 * live or prev_owned may be NULL. The result is written to *out (freed by
 * the caller with strmap_clear).
 */
void spec_merge_labels(const struct spec *s, const char *stack,
                       const struct strmap *live,
                       const struct strmap *prev_owned, struct strmap *out);

/*
 * spec_owned_labels: the labels sandform owns on a sandbox built from s:
 * the declared ones plus its sandform.dev/ labels (stack, spec, and when
 * they apply labels and prevent-destroy). State records them
 * so the next merge knows what to remove.
 */
void spec_owned_labels(const struct spec *s, const char *stack,
                       struct strmap *out);

#endif
