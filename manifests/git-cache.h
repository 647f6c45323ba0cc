/*
 * git-cache: the cache repositories of git sources (internal to
 * manifests/source-git.c): one bare repository per normalized URL,
 * CACHE_DIR/<first 32 hex of its SHA-256>.git, with a lock file beside it
 * (CACHE_DIR/<hash>.lock) held with flock(2) while a run uses it, so two
 * runs never fetch into one repository at once and a run never reads refs
 * another is moving. The lock is released when the process ends, however
 * it ends.
 *
 *	struct gitcache *c;
 *	if (gitcache_open(dir, norm_url, shown_url, 1, &c) == 0) {
 *		git_repository *repo = gitcache_repo(c);
 *		...			// on a damaged repository:
 *		gitcache_reset(c);	// removed and created again
 *		gitcache_close(c);	// unlocks
 *	}
 *
 * Ownership: gitcache_close() releases everything (NULL-safe); the
 * repository returned by gitcache_repo() belongs to the cache.
 */
#ifndef SF_MANIFESTS_GIT_CACHE_H
#define SF_MANIFESTS_GIT_CACHE_H

#include <git2.h>

struct gitcache;

/*
 * gitcache_open: lock and open the cache of norm_url under dir (created
 * 0700 when missing). create 0: a missing or unreadable cache is
 * SF_ENOTFOUND (offline); create 1: it is created, and a repository that
 * does not open, or has a ref that does not read or names a missing
 * object, is removed and created again (offline: SF_ENOTFOUND). shown_url (redacted) names
 * it in messages. Waits up to GITSRC_LOCK_TIMEOUT_MS for another run.
 */
int gitcache_open(const char *dir, const char *norm_url, const char *shown_url,
                  int create, struct gitcache **out);
git_repository *gitcache_repo(struct gitcache *c);
/* gitcache_path: the repository's directory. */
const char *gitcache_path(const struct gitcache *c);
/* gitcache_was_reset: it was found damaged and re-created when opened. */
int gitcache_was_reset(const struct gitcache *c);
/* gitcache_reset: remove the repository and create it empty (locked). */
int gitcache_reset(struct gitcache *c);
void gitcache_close(struct gitcache *c);

#endif
