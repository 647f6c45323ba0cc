/*
 * git-cache: flock(2) rather than a lock in the state, because the cache
 * is shared by every stack and state backend of the directory, and a
 * kernel lock is released by the kernel when a run dies. The repository
 * is bare and anonymous remotes are used, so no URL (and no credential)
 * is ever written into its config.
 */
#include "common/base.h"

#include <fcntl.h>
#include <ftw.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/fileutil.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "manifests/git-cache.h"
#include "manifests/source-git.h"

/* How often a waiting run tries the lock again. */
#define GITCACHE_LOCK_POLL_MS 100

struct gitcache {
	char *path;  /* DIR/<hash>.git */
	char *shown; /* the URL for messages */
	int lock_fd;
	int was_reset; /* found damaged when opened */
	git_repository *repo;
};

static int
rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(p);
	return unlink(p);
}

/* rm_rf: remove a directory tree (not following links). */
static int
rm_rf(const char *path)
{
	if (access(path, F_OK) != 0)
		return 0;
	if (nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
		return sf_error_set(SF_EIO, "removing %s: %s", path,
		                    strerror(errno));
	return 0;
}

static int
take_lock(struct gitcache *c, const char *lockpath)
{
	int64_t deadline = time_mono_ms() + GITSRC_LOCK_TIMEOUT_MS;
	bool said = false;

	c->lock_fd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (c->lock_fd < 0)
		return sf_error_set(SF_EIO, "git cache lock %s: %s", lockpath,
		                    strerror(errno));
	while (flock(c->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno != EWOULDBLOCK && errno != EINTR)
			return sf_error_set(SF_EIO, "locking %s: %s", lockpath,
			                    strerror(errno));
		if (time_mono_ms() > deadline)
			return sf_error_set(SF_ELOCKED,
			                    "the git cache of %s is locked by "
			                    "another run (%s) for more than %d "
			                    "minutes",
			                    c->shown, lockpath,
			                    GITSRC_LOCK_TIMEOUT_MS / 60000);
		if (!said)
			log_debug("waiting for another run's lock on %s",
			          lockpath);
		said = true;
		time_sleep_ms(GITCACHE_LOCK_POLL_MS);
	}
	return 0;
}

static int
init_repo(struct gitcache *c)
{
	if (git_repository_init(&c->repo, c->path, 1) < 0) {
		const git_error *e = git_error_last();

		return sf_error_set(SF_EIO, "creating the git cache %s: %s",
		                    c->path, e ? e->message : "failed");
	}
	return 0;
}

int
gitcache_reset(struct gitcache *c)
{
	int rc;

	log_debug("re-creating the git cache %s of %s", c->path, c->shown);
	git_repository_free(c->repo);
	c->repo = NULL;
	if ((rc = rm_rf(c->path)) < 0)
		return rc;
	return init_repo(c);
}

/*
 * sound: every ref reads and names an object the repository has. A cache
 * left half-written or damaged on disk fails this, and is then re-created
 * before anything negotiates from it (libgit2 handles broken objects
 * during a fetch poorly).
 */
static bool
sound(git_repository *repo)
{
	git_reference_iterator *it = NULL;
	git_reference *r = NULL, *res = NULL;
	git_odb *odb = NULL;
	bool ok = true;
	int grc;

	if (git_repository_odb(&odb, repo) < 0 ||
	    git_reference_iterator_new(&it, repo) < 0) {
		git_odb_free(odb);
		return false;
	}
	while (ok && (grc = git_reference_next(&r, it)) == 0) {
		ok = git_reference_resolve(&res, r) == 0 &&
		     git_odb_exists(odb, git_reference_target(res));
		git_reference_free(res);
		git_reference_free(r);
		res = r = NULL;
	}
	if (ok && grc != GIT_ITEROVER)
		ok = false;
	git_reference_iterator_free(it);
	git_odb_free(odb);
	return ok;
}

int
gitcache_open(const char *dir, const char *norm_url, const char *shown_url,
              int create, struct gitcache **out)
{
	struct gitcache *c = xcalloc(1, sizeof(*c));
	char hex[SF_SHA256_HEX_LEN + 1], *lockpath = NULL;
	int rc;

	*out = NULL;
	c->lock_fd = -1;
	c->shown = xstrdup(shown_url);
	sha256_hex(norm_url, strlen(norm_url), hex);
	hex[32] = '\0';
	c->path = xasprintf("%s/%s.git", dir, hex);
	lockpath = xasprintf("%s/%s.lock", dir, hex);
	if (!create && access(c->path, F_OK) != 0) {
		rc = sf_error_set(SF_ENOTFOUND,
		                  "no cached copy of %s (in %s): run once "
		                  "without --offline",
		                  shown_url, dir);
		goto fail;
	}
	if ((rc = file_mkdir_p(dir, 0700)) < 0 ||
	    (rc = take_lock(c, lockpath)) < 0)
		goto fail;
	if (git_repository_open_bare(&c->repo, c->path) == 0 &&
	    sound(c->repo)) {
		/* open */
	} else if (!create) {
		const git_error *e = git_error_last();

		rc = sf_error_set(SF_ENOTFOUND,
		                  "the cached copy of %s is damaged (%s): run "
		                  "without --offline to fetch it again",
		                  shown_url,
		                  e && e->message ? e->message
		                                  : "a ref names a missing "
		                                    "object");
		goto fail;
	} else if (access(c->path, F_OK) == 0) {
		log_debug("the git cache of %s is damaged (%s): fetching it "
		          "again",
		          shown_url, c->path);
		c->was_reset = 1;
		if ((rc = gitcache_reset(c)) < 0)
			goto fail;
	} else if ((rc = init_repo(c)) < 0) {
		goto fail;
	}
	log_debug("git cache of %s: %s", shown_url, c->path);
	free(lockpath);
	*out = c;
	return 0;
fail:
	free(lockpath);
	gitcache_close(c);
	return rc;
}

git_repository *
gitcache_repo(struct gitcache *c)
{
	return c->repo;
}

int
gitcache_was_reset(const struct gitcache *c)
{
	return c->was_reset;
}

const char *
gitcache_path(const struct gitcache *c)
{
	return c->path;
}

void
gitcache_close(struct gitcache *c)
{
	if (c == NULL)
		return;
	git_repository_free(c->repo);
	if (c->lock_fd >= 0)
		close(c->lock_fd); /* releases the flock */
	free(c->path);
	free(c->shown);
	free(c);
}
