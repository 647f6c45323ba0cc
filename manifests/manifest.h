/*
 * manifest: the desired set (every document of a run's manifests) and the
 * incremental loader that builds it (DESIGN.md §3, docs/manifest.md).
 *
 *	struct diag_list diags = DIAG_LIST_INIT;
 *	struct manifest_loader *L = manifest_loader_new(&diags);
 *	manifest_loader_add(L, "a.yaml", bytes, len);	// any number of files
 *	if (manifest_loader_finish(L, &set) < 0)	// frees L
 *		print(&diags);				// every problem of the
 *run
 *
 * A file's bytes are parsed with libyaml under the limits below and every
 * document is validated by the loader of its kind (the table in loader.c:
 * Sandbox today). Every error and warning of the whole run lands in the
 * caller's struct diag_list as "NAME:LINE:COL: field.path: message", NAME
 * being what the file was added as (a path, "-" for stdin, or
 * "REVISION:PATH" for a git source). The set is handed out only when the
 * run had no error. Where files come from is the business of the sources
 * (manifests/source.h), which feed a loader.
 *
 * Ownership: the set owns everything reachable from it; manifest_set_free()
 * releases it (NULL-safe). The loader borrows diags until it is finished
 * or freed.
 */
#ifndef SF_MANIFESTS_MANIFEST_H
#define SF_MANIFESTS_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "manifests/diag.h"
#include "manifests/resource.h"
#include "manifests/spec.h"

/* Limits of the loader; exceeding one is an error with a location. */
#define MANIFEST_MAX_FILE_SIZE (4u * 1024 * 1024) /* bytes per file */
#define MANIFEST_MAX_DEPTH     64     /* nesting of mappings/sequences */
#define MANIFEST_MAX_ALIASES   0      /* YAML aliases per file (none) */
#define MANIFEST_MAX_FILES     10000  /* files per load */
#define MANIFEST_MAX_DOCUMENTS 100000 /* documents per load */
#define MANIFEST_MAX_ERRORS    1000   /* diagnostics kept; then "too many" */

struct stack_spec;

struct manifest_set {
	struct spec *sandboxes; /* sorted by name, names unique */
	size_t n_sandboxes;
	/* the run's kind Stack document (manifests/stack.h), or NULL: a
	 * stack file read among the sources configures nothing */
	struct stack_spec *stack;
	/* kind Volume and Snapshot documents, sorted by kind then name
	 * (names unique per kind) */
	struct res_spec *resources;
	size_t n_resources, cap_resources;
	char **files; /* every file read, in load order ("-" = stdin) */
	size_t n_files;
	size_t cap_sandboxes, cap_files; /* the loader's */
};

struct manifest_loader;

struct manifest_loader *manifest_loader_new(struct diag_list *diags);
/*
 * manifest_loader_add: parse and validate one file's bytes (need not be
 * NUL-terminated), reported as name. Problems go to the diagnostics; a
 * file beyond MANIFEST_MAX_FILES is an error and is not read.
 */
void manifest_loader_add(struct manifest_loader *L, const char *name,
                         const char *data, size_t len);
/*
 * manifest_loader_claim: sources call this before reading a file, with an
 * identity that is the same however the file was reached (a device and
 * inode, "stdin"). 0: first time, claimed for name. 1: claimed before,
 * *first (may be NULL) is the name it was claimed for; skip it.
 */
int manifest_loader_claim(struct manifest_loader *L, const char *identity,
                          const char *name, const char **first);
/* manifest_loader_unclaim: forget the last claim (the file was not read). */
void manifest_loader_unclaim(struct manifest_loader *L);
/* manifest_loader_diag: a problem with a whole file or directory. */
void manifest_loader_diag(struct manifest_loader *L, enum diag_severity sev,
                          const char *name, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
/*
 * manifest_loader_finish: check what needs the whole run (unique names),
 * sort the diagnostics, free L. Returns 0 and the set in *out (caller
 * frees) when there was no error, else SF_EINVALID and *out = NULL.
 */
int manifest_loader_finish(struct manifest_loader *L,
                           struct manifest_set **out);
/* manifest_loader_free: abandon a loader (NULL-safe). */
void manifest_loader_free(struct manifest_loader *L);

/*
 * manifest_load: load paths[0..n) through path sources (a file, a
 * directory walked recursively for *.yaml and *.yml, "-" for stdin; n == 0
 * loads "."). manifest_load_buffer: one file's bytes, reported as name.
 * Both return like manifest_loader_finish().
 */
int manifest_load(const char *const *paths, size_t n, struct manifest_set **out,
                  struct diag_list *diags);
int manifest_load_buffer(const char *name, const char *data, size_t len,
                         struct manifest_set **out, struct diag_list *diags);

void manifest_set_free(struct manifest_set *set);
/* manifest_set_add_sandbox: take *s into the set (kinds call it; *s is
 * left empty). */
void manifest_set_add_sandbox(struct manifest_set *set, struct spec *s);
/* manifest_set_add_resource: take *r into the set (*r is left empty). */
void manifest_set_add_resource(struct manifest_set *set, struct res_spec *r);
/* manifest_set_find_resource: the declared volume or snapshot, or NULL. */
const struct res_spec *
manifest_set_find_resource(const struct manifest_set *set, enum res_kind kind,
                           const char *name);
/* manifest_set_find: the sandbox named name, or NULL (binary search). */
const struct spec *manifest_set_find(const struct manifest_set *set,
                                     const char *name);
/*
 * manifest_set_to_json: the desired set for validate --json:
 *	{"apiVersion":"sandform.dev/v1","files":[...],"sandboxes":[SPEC...]}
 * each SPEC as spec_to_json() writes it, and "volumes" and "snapshots"
 * (res_to_json()) when any was declared. A new tree (cJSON_Delete()).
 */
cJSON *manifest_set_to_json(const struct manifest_set *set);

#endif
