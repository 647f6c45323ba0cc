#include "common/base.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/fileutil.h"
#include "common/xalloc.h"

int
file_read_fd(int fd, const char *name, size_t max, struct buf *out)
{
	struct stat st;
	char chunk[65536];
	ssize_t n;
	int rc = 0;

	if (fd != STDIN_FILENO) {
		if (fstat(fd, &st) < 0)
			return sf_error_set(SF_EIO, "%s: %s", name,
			                    strerror(errno));
		if (!S_ISREG(st.st_mode))
			return sf_error_set(SF_EINVALID,
			                    "%s: not a regular file", name);
		if (max && (size_t)st.st_size > max)
			return sf_error_set(SF_EINVALID,
			                    "%s: file is larger than %zu bytes",
			                    name, max);
		/* Regular files never block; clear O_NONBLOCK anyway. */
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	}
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = sf_error_set(SF_EIO, "%s: %s", name,
			                  strerror(errno));
			break;
		}
		if (n == 0)
			break;
		if (max && out->len + (size_t)n > max) {
			rc = sf_error_set(SF_EINVALID,
			                  "%s: file is larger than %zu bytes",
			                  name, max);
			break;
		}
		buf_add(out, chunk, (size_t)n);
	}
	/* the file may hold a secret: leave no copy on the stack */
	wipe(chunk, sizeof(chunk));
	return rc;
}

int
file_read(const char *path, size_t max, struct buf *out)
{
	int fd, rc;

	if (strcmp(path, "-") == 0)
		return file_read_fd(STDIN_FILENO, path, max, out);
	fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return sf_error_set(SF_EIO, "%s: %s", path, strerror(errno));
	rc = file_read_fd(fd, path, max, out);
	close(fd);
	return rc;
}

int
file_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	char *dircopy = NULL;
	const char *p = data;
	int fd, dfd, rc = 0;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) {
		rc = sf_error_set(SF_EIO, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = sf_error_set(SF_EIO, "%s: %s", tmp,
			                  strerror(errno));
			close(fd);
			unlink(tmp);
			goto out;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fchmod(fd, mode) < 0 || fsync(fd) < 0 || close(fd) < 0) {
		rc = sf_error_set(SF_EIO, "%s: %s", tmp, strerror(errno));
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, path) < 0) {
		rc = sf_error_set(SF_EIO, "%s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	dircopy = xstrdup(path);
	dfd = open(dirname(dircopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
out:
	free(dircopy);
	free(tmp);
	return rc;
}

int
file_mkdir_p(const char *path, mode_t mode)
{
	char *copy = xstrdup(path), *p;
	int rc = 0;

	for (p = copy + 1;; p++) {
		if (*p == '/' || *p == '\0') {
			char saved = *p;

			*p = '\0';
			if (mkdir(copy, mode) < 0 && errno != EEXIST) {
				rc = sf_error_set(SF_EIO, "%s: %s", copy,
				                  strerror(errno));
				break;
			}
			*p = saved;
			if (saved == '\0')
				break;
		}
	}
	free(copy);
	return rc;
}
