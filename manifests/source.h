/*
 * source: where manifests come from — the seam between "which files" and
 * the loader (manifests/manifest.h), in the libgit2 manner: a small vtable
 * per kind of source.
 *
 *	struct source *src;
 *	if (source_path_new("examples/", &src) == 0) {
 *		source_load(src, loader);	// feeds every manifest file
 *		source_free(src);
 *	}
 *
 * Kinds: a path (a file, a directory walked recursively in sorted order
 * for *.yaml / *.yml, or "-" for stdin), and git (manifests/source-git.h:
 * a tree at a resolved revision, its files named "REVISION:PATH").
 *
 * A source reports problems with files (unreadable, too large, skipped
 * links) as diagnostics of the loader, so a run reports them all; its load
 * fails (negative SF_E*, message set) only when it cannot be read at all in
 * a way diagnostics do not describe (a git fetch that failed, say).
 *
 * Ownership: source_free() releases a source (NULL-safe); the loader it
 * feeds stays the caller's.
 */
#ifndef SF_MANIFESTS_SOURCE_H
#define SF_MANIFESTS_SOURCE_H

#include "manifests/manifest.h"

/* Directory recursion of a path source at most. */
#define SOURCE_MAX_DIR_DEPTH 32
/* The largest .sandformignore read. */
#define SOURCE_MAX_IGNOREFILE (64 * 1024)

struct source;

struct source_ops {
	const char *type; /* "path", "git", ... */
	int (*load)(struct source *src, struct manifest_loader *L);
	void (*free)(struct source *src);
	/* the revision the last load read, NULL: none (NULL op: never) */
	const char *(*revision)(const struct source *src);
};

struct source {
	const struct source_ops *ops;
	char *name; /* what runs and plans record: the path, "-", a URL
	             * (git: without credentials) */
	/* the stack file's exclude: patterns, after the root's
	 * .sandformignore (manifests/ignorefile.h); path sources */
	char **exclude;
	size_t nexclude;
};

/* source_set_exclude: the exclude: patterns a source also skips (copied). */
void source_set_exclude(struct source *src, char *const *pats, size_t n);

/* source_path_new: a path source (never fails today; the path is read by
 * source_load). */
int source_path_new(const char *path, struct source **out);
int source_load(struct source *src, struct manifest_loader *L);
void source_free(struct source *src);
/*
 * source_revision: the provenance of what the last source_load() read: a
 * git source's "main@sha1:<40 hex>" (manifests/source-git.h); NULL for a
 * path source or before a load. Owned by the source.
 */
const char *source_revision(const struct source *src);
/* source_revision_commit: the 40-hex commit id in a revision ("sha1:"
 * and 40 hex digits at its end), pointing into it, or NULL. */
const char *source_revision_commit(const char *revision);

#endif
