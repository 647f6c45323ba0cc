/*
 * statefile: open a state file without being redirected. See statefile.h
 * for the rules.
 *
 * Why it looks the way it does:
 * - A state file that is a link was followed before: sandform chmodded the
 *   target and SQLite wrote its tables into whatever database it named. A
 *   link planted by a repository checkout or another user must not decide
 *   where the state goes, so the last component is never followed
 *   (O_NOFOLLOW, fstatat(AT_SYMLINK_NOFOLLOW)). Links earlier in the path
 *   are the user's own choice (a state directory on another disk) and are
 *   allowed; the directory they lead to is what is checked.
 * - Checking a path and then opening it is a race; checking names relative
 *   to an open directory descriptor is not, provided nobody else can
 *   write in that directory. Hence the owner and mode rule for the
 *   directory, as ssh's StrictModes and git's safe.directory do: with it,
 *   only the user or root can replace the file or plant a side file.
 * - The owner rule accepts root as the owner (system directories, files a
 *   root run made for a user); root itself accepts only what root owns, so
 *   a CI job running as root in a directory another user controls is told
 *   so instead of writing where that user points it.
 * - SQLite opens the file itself. It is given the path with the links of
 *   the directory resolved, so that SQLITE_OPEN_NOFOLLOW (which refuses a
 *   link anywhere in a path) can be its own line of defence; after it has
 *   opened the file, statefile_verify() compares the inode with the one
 *   checked.
 * - An existing file is never opened here, only examined with fstatat():
 *   closing any descriptor of a file drops every POSIX lock the process
 *   holds on it, SQLite's included, and another handle in this process
 *   may have the same state open. (Doing so let a second process run WAL
 *   recovery under a live writer.)
 */
#include "common/base.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/fileutil.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "state/statefile.h"
#include "state/store.h"

/* owned_ok: owned by the current user or by root. */
static bool
owned_ok(const struct stat *st)
{
	return st->st_uid == geteuid() || st->st_uid == 0;
}

/* link_target: what the link name in dirfd points to, for messages. */
static char *
link_target(int dirfd, const char *name)
{
	char buf[1024];
	ssize_t n = readlinkat(dirfd, name, buf, sizeof(buf) - 1);

	if (n < 0)
		return xstrdup("?");
	buf[n] = '\0';
	return xstrdup(buf);
}

/* refuse_link: path+suffix (what) is a link; say where it points. */
static int
refuse_link(const struct statefile *f, const char *path, const char *name,
            const char *suffix, const char *what)
{
	char *to = link_target(f->dirfd, name);
	int rc = sf_error_set(SF_EINVALID,
	                      "%s%s: %s is a symbolic link (to '%s'); "
	                      "sandform does not follow links for its state: "
	                      "remove the link, or name the real file with "
	                      "--state",
	                      path, suffix, what, to);

	free(to);
	return rc;
}

static int
check_dir(const struct statefile *f)
{
	struct stat st;

	if (fstat(f->dirfd, &st) < 0)
		return sf_error_set(SF_EIO, "%s: %s", f->dir, strerror(errno));
	if (!owned_ok(&st))
		return sf_error_set(SF_EINVALID,
		                    "%s: the directory of the state file is "
		                    "owned by uid %lu, not by you (uid %lu) or "
		                    "root: its owner could replace the state; "
		                    "use a directory of your own (--state)",
		                    f->dir, (unsigned long)st.st_uid,
		                    (unsigned long)geteuid());
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 &&
	    (st.st_mode & S_ISVTX) == 0)
		return sf_error_set(
		        SF_EINVALID,
		        "%s: the directory of the state file is "
		        "writable by group or others (mode %04o) "
		        "and not sticky: anyone who can write there "
		        "could replace the state; run 'chmod go-w "
		        "%s' or use another directory (--state)",
		        f->dir, (unsigned)(st.st_mode & 07777), f->dir);
	if (faccessat(f->dirfd, ".", W_OK | X_OK, AT_EACCESS) < 0)
		return sf_error_set(
		        SF_EIO,
		        "%s: cannot write in the directory of the "
		        "state file (%s): SQLite keeps its -wal and "
		        "-shm files beside the state",
		        f->dir, strerror(errno));
	return 0;
}

/* lock_dir: the flock that serialises opening among processes. */
static int
lock_dir(const struct statefile *f, const char *path, long wait_ms)
{
	int64_t deadline = time_mono_ms() + wait_ms;

	while (flock(f->dirfd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR)
			return sf_error_set(SF_EIO, "%s: lock: %s", path,
			                    strerror(errno));
		if (time_mono_ms() > deadline)
			return sf_error_set(SF_EIO,
			                    "%s: timed out waiting for another "
			                    "process opening the state",
			                    path);
		time_sleep_ms(5);
	}
	return 0;
}

/*
 * check_existing: check path+suffix (what), the file base+suffix of the
 * directory, without opening it: 1 when it is a regular file of ours (a
 * loose mode tightened, *st filled), 0 when there is none, or the
 * refusal. Never open(): closing a descriptor of a file drops every POSIX
 * lock this process holds on it, and another handle of this process may
 * have the database open (SQLite's locks on the file and its -shm).
 * fchmodat() follows a link, but the name was just seen not to be one,
 * and nobody else can replace it in a directory that passed check_dir().
 */
static int
check_existing(const struct statefile *f, const char *path, const char *suffix,
               const char *what, struct stat *st)
{
	char *name = xasprintf("%s%s", f->base, suffix);
	int rc = 0;

	if (fstatat(f->dirfd, name, st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			rc = sf_error_set(SF_EIO, "%s%s: %s", path, suffix,
			                  strerror(errno));
		goto out;
	}
	if (S_ISLNK(st->st_mode)) {
		rc = refuse_link(f, path, name, suffix, what);
		goto out;
	}
	if (!S_ISREG(st->st_mode)) {
		rc = sf_error_set(SF_EINVALID, "%s%s: %s is not a regular file",
		                  path, suffix, what);
		goto out;
	}
	if (!owned_ok(st)) {
		rc = sf_error_set(SF_EINVALID,
		                  "%s%s: %s is owned by uid %lu, not by you "
		                  "(uid %lu) or root; refusing another user's "
		                  "state",
		                  path, suffix, what, (unsigned long)st->st_uid,
		                  (unsigned long)geteuid());
		goto out;
	}
	rc = 1;
	if ((st->st_mode & 077) == 0)
		goto out;
	log_warn("%s%s: %s was readable by others (mode %03o); setting %03o",
	         path, suffix, what, (unsigned)(st->st_mode & 0777),
	         (unsigned)STORE_FILE_MODE);
	if (fchmodat(f->dirfd, name, STORE_FILE_MODE, 0) < 0)
		rc = sf_error_set(SF_EIO, "%s%s: %s", path, suffix,
		                  strerror(errno));
out:
	free(name);
	return rc;
}

/*
 * create_new: the state file does not exist: create it, 0600 whatever
 * the umask. (Its descriptor may be closed: a new file has no locks.)
 */
static int
create_new(struct statefile *f, const char *path, struct stat *st)
{
	int fd = openat(f->dirfd, f->base,
	                O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	                STORE_FILE_MODE);
	int rc = 0;

	if (fd < 0)
		return errno == EEXIST ? 0
		                       : sf_error_set(SF_EIO, "%s: %s", path,
		                                      strerror(errno));
	if (fchmod(fd, STORE_FILE_MODE) < 0 || fstat(fd, st) < 0)
		rc = sf_error_set(SF_EIO, "%s: %s", path, strerror(errno));
	close(fd);
	if (rc == 0)
		log_debug("created state file '%s'", path);
	return rc < 0 ? rc : 1;
}

/* check_sides: each side file is absent, or a regular file of ours. */
static int
check_sides(const struct statefile *f, const char *path)
{
	const char *const *sfx;
	struct stat st;
	int rc = 0;

	for (sfx = f->sides; sfx != NULL && *sfx != NULL && rc >= 0; sfx++)
		rc = check_existing(f, path, *sfx, "the state's side file",
		                    &st);
	return rc < 0 ? rc : 0;
}

static void
split_path(const char *path, struct statefile *f)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL) {
		f->dir = xstrdup(".");
		f->base = xstrdup(path);
	} else if (slash == path) {
		f->dir = xstrdup("/");
		f->base = xstrdup(slash + 1);
	} else {
		f->dir = xstrndup(path, (size_t)(slash - path));
		f->base = xstrdup(slash + 1);
	}
}

int
statefile_open(const char *path, const char *const *sides, long wait_ms,
               struct statefile *f)
{
	struct stat st;
	char *real;
	int rc = 0, tries;

	memset(f, 0, sizeof(*f));
	f->dirfd = -1;
	f->sides = sides;
	split_path(path, f);
	if (*f->base == '\0' || strcmp(f->base, ".") == 0 ||
	    strcmp(f->base, "..") == 0)
		return sf_error_set(SF_EINVALID, "%s: not a file name", path);
	if (stat(f->dir, &st) < 0 && errno == ENOENT &&
	    (rc = file_mkdir_p(f->dir, STORE_DIR_MODE)) < 0)
		return rc;
	f->dirfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (f->dirfd < 0)
		return sf_error_set(SF_EIO, "%s: %s", f->dir, strerror(errno));
	if ((rc = check_dir(f)) < 0 || (rc = lock_dir(f, path, wait_ms)) < 0)
		return rc;
	/* exists, or create; again if it appeared or vanished meanwhile */
	for (tries = 0, rc = 0; rc == 0 && tries < 3; tries++) {
		rc = check_existing(f, path, "", "the state file", &st);
		if (rc == 0)
			rc = create_new(f, path, &st);
	}
	if (rc == 0)
		rc = sf_error_set(SF_EIO, "%s: the state file keeps changing",
		                  path);
	if (rc < 0)
		return rc;
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	if ((real = realpath(f->dir, NULL)) == NULL)
		return sf_error_set(SF_EIO, "%s: %s", f->dir, strerror(errno));
	f->real = xasprintf("%s%s%s", real,
	                    real[strlen(real) - 1] == '/' ? "" : "/", f->base);
	free(real);
	return check_sides(f, path);
}

int
statefile_verify(const struct statefile *f, const char *path)
{
	struct stat at, by_path, by_real;

	if (fstatat(f->dirfd, f->base, &at, AT_SYMLINK_NOFOLLOW) < 0 ||
	    lstat(path, &by_path) < 0 || lstat(f->real, &by_real) < 0 ||
	    !S_ISREG(at.st_mode) || at.st_dev != f->dev ||
	    at.st_ino != f->ino || by_path.st_dev != f->dev ||
	    by_path.st_ino != f->ino || by_real.st_dev != f->dev ||
	    by_real.st_ino != f->ino)
		return sf_error_set(SF_EINVALID,
		                    "%s: the state file was replaced while "
		                    "sandform opened it; refusing to use it",
		                    path);
	return check_sides(f, path);
}

void
statefile_close(struct statefile *f)
{
	if (f == NULL)
		return;
	if (f->dirfd >= 0)
		close(f->dirfd); /* releases the flock */
	f->dirfd = -1;
	free(f->dir);
	free(f->base);
	free(f->real);
	f->dir = f->base = f->real = NULL;
}
