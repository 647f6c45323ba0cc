/*
 * manifest: the desired set of sandboxes, loaded from YAML manifests
 * (apiVersion sandform.dev/v1, kind Sandbox; docs/manifest.md).
 *
 * manifest_load() reads files, directories (recursively, sorted, *.yaml and
 * *.yml only) and "-" (stdin), parses every document with libyaml under the
 * limits below, validates it, and builds a struct manifest_set. Every error
 * and warning of the whole run lands in the caller's struct diag_list; the
 * set is only handed out when there was no error.
 *
 * The model is plain structs so the diff can walk it: arrays with counts,
 * sandboxes sorted by name, labels and env sorted by key (byte order).
 * Optional scalars have a has_X flag; optional strings are NULL when not
 * set. Every field keeps where it was written (struct manifest_loc).
 *
 * Ownership: the set owns everything reachable from it, including the file
 * names that locations point to; manifest_set_free() releases it all
 * (NULL-safe). Nothing in the set is a secret value: secret env entries hold
 * a reference (an environment variable name or a file path) that
 * manifest_secret_resolve() turns into the value at apply time.
 */
#ifndef SF_MANIFESTS_MANIFEST_H
#define SF_MANIFESTS_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "manifests/diag.h"

/* Limits of the loader; exceeding one is an error with a location. */
#define MANIFEST_MAX_FILE_SIZE   (4u * 1024 * 1024) /* bytes per file */
#define MANIFEST_MAX_DEPTH       64     /* nesting of mappings/sequences */
#define MANIFEST_MAX_ALIASES     0      /* YAML aliases per file (none) */
#define MANIFEST_MAX_FILES       10000  /* files per load */
#define MANIFEST_MAX_DOCUMENTS   100000 /* documents per load */
#define MANIFEST_MAX_DIR_DEPTH   32     /* directory recursion */
#define MANIFEST_MAX_ERRORS      1000 /* diagnostics kept; then one "too many" */
#define MANIFEST_MAX_SECRET_FILE (64u * 1024) /* bytes of a secretFile */

/* Validation bounds (daytona-api.md §4.4, §7). */
#define MANIFEST_MAX_CPU          64    /* vCPU */
#define MANIFEST_MAX_MEMORY       1024  /* GiB */
#define MANIFEST_MAX_DISK         10240 /* GiB */
#define MANIFEST_MAX_GPU          1
#define MANIFEST_MAX_INTERVAL     5256000 /* minutes (10 years) */
#define MANIFEST_MAX_NETWORK_LIST 10      /* entries per allow list */
#define MANIFEST_MAX_NAME         255     /* bytes of metadata.name */

#define MANIFEST_API_VERSION           "sandform.dev/v1"
#define MANIFEST_KIND                  "Sandbox"
#define MANIFEST_RESERVED_LABEL_PREFIX "sandform.dev/"

/* Daytona's defaults when a field is omitted (daytona-api.md §8.3). */
#define MANIFEST_DEFAULT_AUTO_STOP    15
#define MANIFEST_DEFAULT_AUTO_ARCHIVE 10080
#define MANIFEST_DEFAULT_AUTO_DELETE  (-1)
#define MANIFEST_DEFAULT_USER         "daytona"

/* Where a value was written; file points into the owning set. */
struct manifest_loc {
	const char *file; /* NULL when the field was not written */
	unsigned line;    /* 1-based */
	unsigned col;     /* 1-based */
};

/*
 * The fields of a sandbox, for locations and for naming fields in plans
 * (manifest_field_path() gives "spec.resources.cpu" etc.).
 */
enum manifest_field {
	MF_DOCUMENT = 0, /* the document itself (its first line) */
	MF_NAME,
	MF_LABELS,
	MF_IMAGE,
	MF_SNAPSHOT,
	MF_RESOURCES,
	MF_CPU,
	MF_MEMORY,
	MF_DISK,
	MF_GPU,
	MF_ENV,
	MF_USER,
	MF_TARGET,
	MF_PUBLIC,
	MF_STATE,
	MF_AUTO_STOP,
	MF_AUTO_ARCHIVE,
	MF_AUTO_DELETE,
	MF_NETWORK,
	MF_BLOCK_ALL,
	MF_ALLOW_LIST,
	MF_DOMAIN_ALLOW_LIST,
	MF_VOLUMES,
	MF_PREVENT_DESTROY,
	MF_COUNT
};

const char *manifest_field_path(enum manifest_field f);

enum sandbox_state {
	SANDBOX_STATE_UNSET = 0, /* existence only (DESIGN.md §5) */
	SANDBOX_STATE_STARTED,
	SANDBOX_STATE_STOPPED,
	SANDBOX_STATE_ARCHIVED,
};

/* "started", "stopped", "archived"; NULL for UNSET. */
const char *sandbox_state_name(enum sandbox_state s);

struct manifest_label {
	char *key;
	char *value;
	struct manifest_loc loc; /* of the value */
};

enum env_kind {
	ENV_PLAIN = 0,       /* value is the value */
	ENV_SECRET_ENV = 1,  /* value is an environment variable name */
	ENV_SECRET_FILE = 2, /* value is an absolute file path */
};

struct manifest_env {
	char *key;
	enum env_kind kind;
	char *value; /* plain value, or the reference (never a secret) */
	struct manifest_loc loc;
};

struct manifest_volume {
	char *volume;     /* volume name or id */
	char *mount_path; /* absolute, normalised as written */
	char *subpath;    /* NULL when not set */
	struct manifest_loc loc;
};

struct sandbox_spec {
	char *name; /* metadata.name, always set */

	struct manifest_label *labels; /* sorted by key */
	size_t n_labels;

	char *image;    /* NULL unless set; exclusive with snapshot */
	char *snapshot; /* NULL unless set; both NULL: server default */

	bool has_cpu, has_memory, has_disk, has_gpu;
	long long cpu, memory, disk, gpu; /* vCPU, GiB, GiB, count */

	struct manifest_env *env; /* sorted by key */
	size_t n_env;

	char *user;   /* NULL: Daytona default "daytona" */
	char *target; /* NULL: organization default region */

	bool has_public;
	bool is_public;

	enum sandbox_state state;

	bool has_auto_stop, has_auto_archive, has_auto_delete;
	long long auto_stop, auto_archive, auto_delete; /* minutes */

	bool has_block_all;
	bool block_all;
	bool has_allow_list; /* set (possibly empty: clears the list) */
	char **allow_list;   /* IPv4 CIDRs, in written order */
	size_t n_allow_list;
	bool has_domain_allow_list;
	char **domain_allow_list; /* host names, optional leading "*." */
	size_t n_domain_allow_list;

	bool has_volumes;
	struct manifest_volume *volumes; /* in written order */
	size_t n_volumes;

	bool prevent_destroy; /* lifecycle.preventDestroy, default false */

	struct manifest_loc loc[MF_COUNT]; /* file == NULL: not written */
};

struct manifest_set {
	struct sandbox_spec *sandboxes; /* sorted by name, names unique */
	size_t n_sandboxes;
	char **files; /* every file read, in load order ("-" = stdin) */
	size_t n_files;
};

/*
 * manifest_load: load and validate paths[0..n). A directory is walked
 * recursively in sorted order for *.yaml / *.yml, skipping names that
 * start with "." (symlinks to regular files are followed; symlinks to
 * directories are not; fifos, sockets, devices, dangling links and link
 * loops with a manifest name are skipped with a warning, never opened);
 * "-" reads stdin once. n == 0 loads ".".
 *
 * Returns 0 and sets *out (caller frees with manifest_set_free()) when
 * diags gained no error; otherwise SF_EINVALID, *out = NULL, and the errors
 * are in diags, sorted. Warnings never fail a load.
 */
int manifest_load(const char *const *paths, size_t n, struct manifest_set **out,
                  struct diag_list *diags);

/*
 * manifest_load_buffer: the same for bytes already in memory, reported as
 * file "name" (the fuzz target and unit tests use this). data need not be
 * NUL-terminated.
 */
int manifest_load_buffer(const char *name, const char *data, size_t len,
                         struct manifest_set **out, struct diag_list *diags);

void manifest_set_free(struct manifest_set *set);

/* manifest_set_find: the sandbox named name, or NULL (binary search). */
const struct sandbox_spec *manifest_set_find(const struct manifest_set *set,
                                             const char *name);

/*
 * manifest_set_to_json: the normalised desired set for validate --json:
 *	{"apiVersion":"sandform.dev/v1","files":[...],"sandboxes":[{
 *	  "name":..., "labels":{...}, "image"|"snapshot":..., "resources":{},
 *	  "env":{"K":"v","S":{"secretEnv":"NAME"},"F":{"secretFile":"/p"}},
 *	  ..., "source":{"file":..,"line":..,"column":..}}]}
 * Only fields that were written appear. Returns a new tree the caller
 * releases with cJSON_Delete().
 */
cJSON *manifest_set_to_json(const struct manifest_set *set);

/*
 * manifest_env_value_to_json: how an env entry's value is written in JSON
 * (validate --json, and the specs in the state and saved plans): the plain
 * value as a string, a reference as {"secretEnv":NAME} or
 * {"secretFile":PATH}. Returns a new item; adding it to a tree hands it
 * over, otherwise release it with cJSON_Delete().
 */
cJSON *manifest_env_value_to_json(enum env_kind kind, const char *value);

/*
 * manifest_secret_resolve: the value a secret env entry refers to, read at
 * apply time: ENV_SECRET_ENV from the environment (unset is an error, empty
 * is allowed), ENV_SECRET_FILE from a regular file of at most
 * MANIFEST_MAX_SECRET_FILE bytes with one trailing "\n" (or "\r\n")
 * removed. ENV_PLAIN returns a copy of the value.
 *
 * Returns 0 and an owned string in *out, which the caller must release
 * with manifest_secret_free() (wipes, then frees). On failure returns
 * SF_ENOTFOUND/SF_EIO/SF_EINVALID with a message naming the reference
 * (variable name or path) and the env key, never a value.
 */
int manifest_secret_resolve(const struct manifest_env *e, char **out);

/*
 * Value rules of daytona-api.md §7, also used by validation: an IPv4 CIDR
 * "a.b.c.d/n" (n 0..32, no leading zeros); a host name of two or more
 * labels with an optional leading "*."; a volume mount path (absolute, not
 * "/", no "//", no "." or ".." segment); a volume subpath (relative, no
 * "//", no "." or ".." segment).
 */
bool manifest_cidr_ok(const char *s);
bool manifest_domain_ok(const char *s);
bool manifest_mount_path_ok(const char *s);
bool manifest_subpath_ok(const char *s);

/* manifest_secret_free: wipe and free a resolved value (NULL-safe). */
void manifest_secret_free(char *value);

#endif
