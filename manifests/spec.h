/*
 * spec: the one model of a desired sandbox (kind Sandbox, docs/manifest.md)
 * and the table of its fields.
 *
 * The loader (manifests/sandbox.c) builds a struct spec from a manifest
 * document; the reconciler plans and applies from it; saved plans and the
 * state carry it as JSON (spec_to_json / spec_from_json, the one
 * serializer, whose object is also what `validate --json` prints). A spec
 * is self-contained: plain C strings and arrays, no pointers into the
 * manifests it came from, so it outlives them.
 *
 * The field table (spec_fields[], one row per field, in manifest order)
 * names each field once: its manifest and JSON key, its path in messages
 * ("spec.autoStopInterval"), its type and bounds, Daytona's default, and
 * how a change is applied (update in place, resize, lifecycle, or replace).
 * The loader, the serializer and the plan read the scalar fields through
 * it; docs/hacking.md has the recipe for adding a field.
 *
 * Secret env values are never stored in a spec, only their reference (a
 * secretEnv variable name or a secretFile path); manifests/secret.h
 * resolves them when a value is needed.
 *
 * Ownership: a struct spec owns every string and array in it, and its
 * table of field positions; spec_clear() frees the members (for specs in
 * arrays), spec_free() the struct too, spec_dup() deep-copies. A struct
 * spec may be moved by assignment (the old copy then dropped, not
 * cleared). spec_to_json() returns a new cJSON tree (adding it to another
 * tree hands it over).
 */
#ifndef SF_MANIFESTS_SPEC_H
#define SF_MANIFESTS_SPEC_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "common/strmap.h"

#define SPEC_API_VERSION "sandform.dev/v1"
/* Label keys starting with this are sandform's own (refused in manifests). */
#define SPEC_RESERVED_LABEL_PREFIX "sandform.dev/"

/* ---- Daytona's defaults and limits (daytona-api.md §4.4, §7, §8) ------- */

/* Applied by the server when a field is omitted. */
#define SPEC_DEFAULT_AUTO_STOP    15
#define SPEC_DEFAULT_AUTO_ARCHIVE 10080
#define SPEC_DEFAULT_AUTO_DELETE  (-1)
#define SPEC_DEFAULT_USER         "daytona"
/* The server clamps autoArchiveInterval to this (shipped config); 0 means
 * the maximum. GET /config may say otherwise. */
#define SPEC_DEFAULT_MAX_AUTO_ARCHIVE 43200
/* Image builds: the server uses value || default (daytona-api.md §8.2). */
#define SPEC_IMAGE_DEFAULT_CPU    1
#define SPEC_IMAGE_DEFAULT_MEMORY 1
#define SPEC_IMAGE_DEFAULT_DISK   3

#define SPEC_MAX_CPU          64    /* vCPU */
#define SPEC_MAX_MEMORY       1024  /* GiB */
#define SPEC_MAX_DISK         10240 /* GiB */
#define SPEC_MAX_GPU          1
#define SPEC_MAX_INTERVAL     5256000 /* minutes (10 years) */
#define SPEC_MAX_NETWORK_LIST 10      /* entries per allow list */
#define SPEC_MAX_NAME         255     /* bytes of metadata.name */
/* spec.secrets entries (platform secrets: env name -> org secret name) */
#define SPEC_MAX_SECRETS 64
/* bytes of spec.outboundProxyUrl */
#define SPEC_MAX_URL 2048

/*
 * The GPU types of @daytona/api-client 0.218.0 (src/models/gpu-type.d.ts),
 * in its order; spec.gpuType is an ordered preference list of them.
 */
#define SPEC_GPU_TYPES \
	"H100", "H200", "B300", "RTX-PRO-6000", "RTX-4090", "RTX-5090", "MI355X"
#define SPEC_NGPU_TYPES 7
/* spec_gpu_type_ok: one of SPEC_GPU_TYPES. */
bool spec_gpu_type_ok(const char *s);
/*
 * spec_class_can_pause: whether a live sandboxClass can be paused
 * (the 0.218 classes: linux-vm, android and windows are VMs and can;
 * container cannot); -1 when class is NULL or unknown.
 */
int spec_class_can_pause(const char *sandbox_class);

/* Room for the sandform.dev/spec label value (manifests/spechash.h). */
#define SPEC_HASH_MAX 63

/* ---- the fields -----------------------------------------------------------
 */

/* Every field of a Sandbox document, for locations, messages and plans. */
enum spec_field {
	SPEC_F_DOCUMENT = 0, /* the document itself (its first line) */
	SPEC_F_NAME,
	SPEC_F_LABELS,
	SPEC_F_IMAGE,
	SPEC_F_SNAPSHOT,
	SPEC_F_RESOURCES,
	SPEC_F_CPU,
	SPEC_F_MEMORY,
	SPEC_F_DISK,
	SPEC_F_GPU,
	SPEC_F_ENV,
	SPEC_F_USER,
	SPEC_F_TARGET,
	SPEC_F_PUBLIC,
	SPEC_F_STATE,
	SPEC_F_AUTO_STOP,
	SPEC_F_AUTO_PAUSE,
	SPEC_F_AUTO_ARCHIVE,
	SPEC_F_AUTO_DELETE,
	SPEC_F_TTL,
	SPEC_F_SPOT,
	SPEC_F_GPU_TYPE,
	SPEC_F_KVM,
	SPEC_F_OUTBOUND_PROXY,
	SPEC_F_SECRETS,
	SPEC_F_NETWORK,
	SPEC_F_BLOCK_ALL,
	SPEC_F_ALLOW_LIST,
	SPEC_F_DOMAIN_ALLOW_LIST,
	SPEC_F_VOLUMES,
	SPEC_F_LIFECYCLE,
	SPEC_F_PREVENT_DESTROY,
	SPEC_F_COUNT
};

/* How a value is written and read. */
enum spec_type {
	SPEC_T_GROUP = 0, /* a mapping of other fields (resources, network) */
	SPEC_T_WORD,      /* a non-empty string without spaces */
	SPEC_T_INT,       /* an integer in [min, max] */
	SPEC_T_BOOL,
	SPEC_T_OTHER, /* its own code: name, labels, env, state, lists, ... */
};

/* What a change of the field does to an existing sandbox. */
enum spec_change {
	SPEC_CHANGE_NONE = 0, /* nothing to call (metadata, groups) */
	SPEC_CHANGE_UPDATE,   /* one API call sets it in place */
	SPEC_CHANGE_RESIZE,   /* POST /sandbox/{id}/resize */
	SPEC_CHANGE_STATE,    /* start / stop / archive */
	SPEC_CHANGE_REPLACE,  /* create-only: delete and create again */
};

struct spec_field_info {
	enum spec_field id;
	enum spec_field parent; /* the group it is written in; DOCUMENT */
	const char *key;        /* manifest and JSON key ("autoStopInterval") */
	const char *path;       /* in messages ("spec.autoStopInterval") */
	enum spec_type type;
	enum spec_change change;
	size_t off;         /* offsetof(struct spec, value) for WORD/INT/BOOL */
	size_t has_off;     /* offsetof(struct spec, has flag) for INT/BOOL */
	long long min, max; /* INT bounds */
	const char *expect; /* "(expected ...)" text of a bad value */
	bool has_default;   /* Daytona applies def when omitted */
	int def;
};

/* spec_fields: indexed by enum spec_field. */
extern const struct spec_field_info spec_fields[SPEC_F_COUNT];

/* spec_field_path: "spec.resources.cpu", ... ("" for the document). */
const char *spec_field_path(enum spec_field f);
/* spec_field_by_path: the field whose path is path, or SPEC_F_COUNT. */
enum spec_field spec_field_by_path(const char *path);

/* ---- the model ------------------------------------------------------------
 */

/* The declared run state; ANY = omitted (existence only, DESIGN.md §5). */
enum spec_state {
	SPEC_STATE_ANY = 0,
	SPEC_STATE_STARTED,
	SPEC_STATE_STOPPED,
	SPEC_STATE_ARCHIVED,
	SPEC_STATE_PAUSED, /* classes that can pause (not container) */
};

/* "started", "stopped", "archived", "paused"; "" for ANY. */
const char *spec_state_name(enum spec_state st);
/* spec_state_parse: 0 and *out, or -1 for anything else. */
int spec_state_parse(const char *s, enum spec_state *out);

enum spec_env_kind {
	SPEC_ENV_PLAIN = 0,       /* value is the literal value */
	SPEC_ENV_SECRET_ENV = 1,  /* value is an environment variable name */
	SPEC_ENV_SECRET_FILE = 2, /* value is an absolute file path */
};

/* Hex digits of a secret's keyed hash kept per env entry. */
#define SPEC_ENV_HMAC_HEX 16

struct spec_env {
	char *key;
	enum spec_env_kind kind;
	char *value; /* the literal (PLAIN) or the reference, never a secret */
	/* a secret's value as HMAC-SHA-256 under the state's key (the first
	 * SPEC_ENV_HMAC_HEX hex digits), set by spec_hash(); "" unknown. It
	 * tells which secret changed, never what it is. */
	char hmac[SPEC_ENV_HMAC_HEX + 1];
	/* the secret could not be read when the spec was hashed (a plan
	 * without the production secrets): its value is not compared */
	bool unresolved;
};

struct spec_volume {
	char *volume;     /* volume name or id */
	char *mount_path; /* absolute */
	char *subpath;    /* NULL: none */
};

struct spec_network {
	bool has_block_all, block_all;
	/* comma-joined lists as the API takes them; NULL: not declared, "":
	 * declared empty (clears the list) */
	char *allow_list;
	char *domain_allow_list;
};

/* Where a field was written in the document (line 0: not written). */
struct spec_pos {
	unsigned line, col;
};

/* The positions of the written fields other than the document (spec.c). */
struct spec_posv;

/*
 * Member order keeps the struct small (a plan holds one a sandbox): the
 * flags and integers are grouped between the pointers, leaving a few bytes
 * of padding in all.
 */
struct spec {
	char *name; /* metadata.name, always set */
	/* provenance: the file (or REVISION:PATH of a git source), NULL for
	 * a spec read from JSON without one, and the position of every
	 * written field: read and write them with spec_pos_get() and
	 * spec_pos_set(), never through the two members below (the
	 * document's position, and the other fields' in a table that holds
	 * only the written ones) */
	char *file;
	struct spec_pos doc_pos;
	struct spec_posv *field_pos;

	struct strmap labels; /* declared labels only */
	char *image;          /* NULL unless set; exclusive with snapshot */
	char *snapshot;       /* both NULL: the server's default snapshot */
	bool has_cpu, has_memory, has_disk, has_gpu;
	int cpu, memory, disk, gpu; /* vCPU, GiB, GiB, count */
	bool has_public, public_;
	enum spec_state state;
	bool has_auto_stop, has_auto_archive, has_auto_delete;
	bool has_auto_pause, has_ttl;
	int auto_stop, auto_archive, auto_delete; /* minutes */
	int auto_pause, ttl; /* minutes; ttl 0 = no time to live */
	bool has_spot, spot, has_kvm, kvm;
	/* spec.secrets, spec.network and spec.volumes written (below) */
	bool has_secrets, has_network, has_volumes;
	bool prevent_destroy; /* lifecycle.preventDestroy */

	struct spec_env *env; /* sorted by key */
	size_t nenv;
	char *user;   /* NULL: Daytona's default (SPEC_DEFAULT_USER) */
	char *target; /* NULL: DAYTONA_TARGET or the organization's default */
	char *outbound_proxy_url; /* NULL: none */
	char **gpu_types;         /* preference order; NULL: not declared */
	size_t ngpu_types;
	/* platform secrets: env name -> the organization secret's name (not
	 * a value); has_secrets with none declared clears them */
	struct strmap secrets;
	/* where each secrets entry's value was written: env name ->
	 * "LINE:COL" (manifests only; not hashed or serialized) */
	struct strmap secret_pos;
	struct spec_network network;
	struct spec_volume *volumes; /* in written order */
	size_t nvolumes;

	/* the sandform.dev/spec label value, set by spec_hash()
	 * (manifests/spechash.h); "" until then */
	char hash[SPEC_HASH_MAX + 1];
	/* secrets spec_hash() could not read (env[].unresolved): the hash's
	 * secret segment is then not comparable */
	size_t nunresolved;
};

/*
 * spec_pos_get: where field f was written ({0, 0} when it was not);
 * SPEC_F_DOCUMENT is the document's first line. spec_pos_set: record it
 * exactly, whatever the line and column (line 0 and col 0 forget it).
 */
struct spec_pos spec_pos_get(const struct spec *s, enum spec_field f);
void spec_pos_set(struct spec *s, enum spec_field f, unsigned line,
                  unsigned col);

/* Network settings: copy (dst holding nothing), clear, and the JSON
 * object spec_to_json writes for spec.network (lists as arrays; lists
 * written as comma-joined strings by sandform 0.1 are read too). */
void spec_network_copy(struct spec_network *dst,
                       const struct spec_network *src);
void spec_network_clear(struct spec_network *n);
cJSON *spec_network_to_json(const struct spec_network *n);
int spec_network_from_json(const cJSON *obj, struct spec_network *out);

void spec_clear(struct spec *s);
void spec_free(struct spec *s);
struct spec *spec_dup(const struct spec *s);
/* spec_copy: *dst (holding nothing) becomes a deep copy of *src. */
void spec_copy(struct spec *dst, const struct spec *src);

/*
 * spec_field_equal: 1 when a and b declare field f alike (both leaving it
 * unset counts as alike); a group (resources, network, lifecycle) compares
 * its fields. The plan uses it to tell a change of the manifests from a
 * change made outside sandform.
 */
int spec_field_equal(const struct spec *a, const struct spec *b,
                     enum spec_field f);
/* spec_env_find: the entry for key, or NULL. */
const struct spec_env *spec_env_find(const struct spec *s, const char *key);
/*
 * spec_normalize_auto_archive: the autoArchiveInterval the server stores for
 * n: 0 means the maximum, larger values are clamped to it (max <= 0:
 * SPEC_DEFAULT_MAX_AUTO_ARCHIVE).
 */
int spec_normalize_auto_archive(int n, int max);
/*
 * spec_effective_auto_stop / _auto_pause: the autoStopInterval and
 * autoPauseInterval a spec manages: as declared, or 0 for the one left out
 * when the other is declared non-zero (Daytona allows at most one of them
 * non-zero). 1 and *value, or 0 when not managed.
 */
int spec_effective_auto_stop(const struct spec *s, int *value);
int spec_effective_auto_pause(const struct spec *s, int *value);
/* spec_line: the document's line (for "FILE:LINE" provenance), 0 unknown. */
unsigned spec_line(const struct spec *s);
/* spec_source: "FILE:LINE" of the document, or "-" when unknown (caller
 * frees). */
char *spec_source(const struct spec *s);

/* ---- JSON -------------------------------------------------------------- */

/*
 * spec_to_json: the spec as one object with the manifest's keys, only the
 * written fields: name, labels, image | snapshot, resources {cpu, memory,
 * disk, gpu}, env (plain values as strings, secrets as {"secretEnv": NAME}
 * or {"secretFile": PATH}), user, target, public, state, autoStopInterval,
 * autoArchiveInterval, autoDeleteInterval, network {blockAll, allowList
 * [...], domainAllowList [...]}, volumes [{volume, mountPath, subpath}],
 * lifecycle {preventDestroy}, source {file, line, column} when known, and
 * hash when computed. Never a secret value.
 */
cJSON *spec_to_json(const struct spec *s);
/*
 * spec_from_json: the spec of an object written by spec_to_json(), or by
 * sandform 0.1 (top-level file/line/preventDestroy, comma-joined network
 * lists), so old state files and saved plans still read. Returns 0 and a
 * new spec in *out, or SF_EINVALID naming what is malformed.
 */
int spec_from_json(const cJSON *obj, struct spec **out);
/* spec_env_value_to_json: an env entry's value as spec_to_json writes it. */
cJSON *spec_env_value_to_json(const struct spec_env *e);

#endif
