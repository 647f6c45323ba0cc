/*
 * strmap: a string-to-string map kept as an array sorted by key (strcmp),
 * keys unique, so that anything printed or hashed from it is stable. Used
 * for labels and env (daytona/ struct dt_kvs).
 *
 * A map is a pair (items, n) that the owner keeps in its own struct; a
 * NULL array with n 0 is empty. The functions take that pair so that each
 * module can keep its own struct name around the same items.
 *
 * Ownership: the map owns its keys and values (copies of what was set);
 * strmap_free() frees them and the array. Returned values point into the
 * map and live until that key is set, deleted or the map is freed.
 */
#ifndef SF_COMMON_STRMAP_H
#define SF_COMMON_STRMAP_H

#include <stddef.h>

struct strmap_item {
	char *key;
	char *value;
};

/*
 * strmap_find: the index of key, or -(the index it would be inserted at)
 * - 1 when it is absent.
 */
long strmap_find(const struct strmap_item *items, size_t n, const char *key);
/* strmap_get: the value of key, or NULL. */
const char *strmap_get(const struct strmap_item *items, size_t n,
                       const char *key);
/* strmap_set: insert or replace, keeping the order (copies both). */
void strmap_set(struct strmap_item **items, size_t *n, const char *key,
                const char *value);
/* strmap_del: remove key; 1 when it was there, else 0. */
int strmap_del(struct strmap_item *items, size_t *n, const char *key);
/* strmap_copy: a new array holding copies of the n items (NULL when 0). */
struct strmap_item *strmap_copy(const struct strmap_item *items, size_t n);
/* strmap_equal: 1 when both maps hold the same keys and values. */
int strmap_equal(const struct strmap_item *a, size_t na,
                 const struct strmap_item *b, size_t nb);
/* strmap_free: free every key and value and the array (NULL-safe). */
void strmap_free(struct strmap_item *items, size_t n);

#endif
