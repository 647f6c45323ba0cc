/*
 * fileutil: whole-file reads with a size cap, and atomic writes.
 */
#ifndef SF_COMMON_FILEUTIL_H
#define SF_COMMON_FILEUTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "common/buf.h"

/*
 * file_read: append the file at path to out, failing with SF_EINVALID when
 * it is larger than max bytes (0: no cap) or not a regular file, SF_EIO
 * otherwise. "-" reads stdin. The message is recorded with sf_error_set().
 */
int file_read(const char *path, size_t max, struct buf *out);
/* file_read_fd: the same for an open descriptor (name for messages);
 * the descriptor stays open. */
int file_read_fd(int fd, const char *name, size_t max, struct buf *out);

/*
 * file_write_atomic: write data to a temporary file beside path, fsync it,
 * then rename it over path, so readers see the old or the new file whole.
 */
int file_write_atomic(const char *path, const void *data, size_t len,
                      mode_t mode);

/* file_mkdir_p: create a directory and its parents (mode for new ones). */
int file_mkdir_p(const char *path, mode_t mode);

#endif
