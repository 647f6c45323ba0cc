/*
 * intern: one shared copy of the short strings a big plan repeats
 * thousands of times (a sandbox's organization, snapshot, region and state;
 * a spec's manifest file, snapshot and user). The copies live in a fixed,
 * process-wide buffer: bounded (when it is full, or a string is long,
 * intern_str() says no and the caller keeps its own copy), never freed,
 * safe to use from any thread.
 *
 * A member that may hold an interned string is freed with intern_free(),
 * which knows them by their address, and is never written through.
 */
#ifndef SF_COMMON_INTERN_H
#define SF_COMMON_INTERN_H

#include <stddef.h>

/* intern_str: the shared copy of s (len bytes, no NUL among them), or
 * NULL when the buffer is full or s is longer than INTERN_MAX_LEN. */
#define INTERN_MAX_LEN 128
const char *intern_str(const char *s, size_t len);
/* intern_dup: the shared copy of s, or else a copy of its own (xstrdup);
 * NULL for NULL. Free it with intern_free(). */
char *intern_dup(const char *s);
/* intern_owns: p is one of the shared copies. */
int intern_owns(const void *p);
/* intern_free: free(p) unless p is a shared copy. */
void intern_free(void *p);

#endif
