/*
 * xalloc: allocation wrappers that never return NULL, and the wiping of
 * secrets before their memory is freed.
 *
 * On out-of-memory they print one line to stderr and abort, so small
 * allocations need no NULL checks. Sizes that come from the network or from
 * files must be bounded by the caller before allocating. Everything returned
 * is owned by the caller and released with free().
 */
#ifndef SF_COMMON_XALLOC_H
#define SF_COMMON_XALLOC_H

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
/* xreallocarray: realloc for nmemb * size, dying on overflow. */
void *xreallocarray(void *ptr, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* xstrdup_or_null: NULL stays NULL. */
char *xstrdup_or_null(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap)
        __attribute__((format(printf, 1, 0)));

/*
 * The one way secrets (the API key, resolved secret values) leave memory:
 * wipe() overwrites n bytes with zeros in a way the compiler cannot drop;
 * free_secret() wipes a NUL-terminated string and frees it (NULL-safe).
 */
void wipe(void *p, size_t n);
void free_secret(char *s);

#endif
