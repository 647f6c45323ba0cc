/*
 * statefile: the file of a file-based state backend (store-sqlite.c),
 * opened so that nobody else can point sandform at another file. Private
 * to state/.
 *
 * The rules (DESIGN.md §4, sandform(1) FILES), checked on every open:
 * - The state file itself must not be a symbolic link, and must be a
 *   regular file owned by the current user or root. Nor may its side files
 *   (for SQLite: -wal, -shm, -journal) be links or belong to anyone else:
 *   the database library would write through them.
 * - Its directory (after any links in the path, which are allowed) must
 *   be owned by the current user or root, and not writable by group or
 *   others unless sticky (as /tmp): whoever can write there could replace
 *   the file between two runs.
 * - The directory must be writable by sandform: SQLite creates its side
 *   files there. A directory that is not gets a message naming it and the
 *   system's reason.
 * A missing directory is created with STORE_DIR_MODE (the CLI lets only
 * the default ./.sandform get that far), a missing file with
 * STORE_FILE_MODE whatever the umask; a file others can read is tightened
 * to STORE_FILE_MODE with a warning.
 *
 * Races: the directory is opened once and every check and creation is
 * relative to that descriptor (AT_SYMLINK_NOFOLLOW, O_NOFOLLOW|O_EXCL);
 * an existing file is examined, never opened (which would drop SQLite's
 * POSIX locks of another handle in the process). The database library
 * then opens the file again, by f->real (the path with its links
 * resolved, so that it can refuse any link itself): statefile_verify()
 * afterwards makes sure both names still lead to the file that was
 * checked.
 *
 * Opening is serialised among processes by an advisory flock() on the
 * directory, held from statefile_open() to statefile_close().
 *
 * Errors: SF_EINVALID for a refused path (the message says which rule and
 * what to do), SF_EIO for a system failure (with strerror()).
 */
#ifndef SF_STATE_STATEFILE_H
#define SF_STATE_STATEFILE_H

#include <sys/types.h>

struct statefile {
	int dirfd;  /* the directory, flock()ed; -1 when closed */
	char *dir;  /* its path as given ("." when path has no '/') */
	char *base; /* the file's name in it */
	char *real; /* the file's path without links, for the library */
	dev_t dev;  /* the file that was checked */
	ino_t ino;
	const char *const *sides; /* suffixes of the side files */
};

/*
 * statefile_open: check (or create) path and its side files (sides: a
 * NULL-ended list of suffixes such as "-wal"), holding the directory's
 * flock until statefile_close(), waiting for another process's open at
 * most wait_ms. *f is the caller's; statefile_close() it in every case.
 */
int statefile_open(const char *path, const char *const *sides, long wait_ms,
                   struct statefile *f);
/* statefile_verify: path, f->real and the side files are still what was
 * checked. */
int statefile_verify(const struct statefile *f, const char *path);
/* statefile_close: release the flock and free; NULL-safe, idempotent. */
void statefile_close(struct statefile *f);

#endif
