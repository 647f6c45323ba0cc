/*
 * strmap: the one string-to-string map of sandform: labels, env, and any
 * other map of strings. An array sorted by key (strcmp), keys unique, so
 * that anything printed or hashed from it is stable.
 *
 *	struct strmap m = STRMAP_INIT;
 *	strmap_set(&m, "team", "agents");
 *	v = strmap_get(&m, "team");
 *	strmap_clear(&m);
 *
 * NULL rules, the same for every function: a NULL map pointer given as
 * input reads as the empty map; a zeroed struct strmap is an empty map.
 *
 * Ownership: the map owns its keys and values (copies of what was set);
 * strmap_clear() frees them and the array and leaves the map empty (the
 * struct itself is the caller's). Returned values point into the map and
 * live until that key is set or deleted or the map is cleared. An entry's
 * key and value are one allocation (value points into key's), shared by
 * every entry of any map with the same key and value (interned,
 * reference-counted, thread-safe): only strmap.c makes, replaces or frees
 * entries; nobody else writes v[] or frees its strings.
 */
#ifndef SF_COMMON_STRMAP_H
#define SF_COMMON_STRMAP_H

#include <stddef.h>

#include <cjson/cJSON.h>

struct strmap_item {
	char *key;
	char *value;
};

struct strmap {
	struct strmap_item *v; /* sorted by key */
	size_t n;
};

#define STRMAP_INIT     \
	{               \
		NULL, 0 \
	}

/*
 * strmap_find: the index of key, or -(the index it would be inserted at)
 * - 1 when it is absent.
 */
long strmap_find(const struct strmap *m, const char *key);
/* strmap_get: the value of key, or NULL. */
const char *strmap_get(const struct strmap *m, const char *key);
/* strmap_set: insert or replace, keeping the order (copies both). */
void strmap_set(struct strmap *m, const char *key, const char *value);
/*
 * strmap_set_all: strmap_set() of n keys and values in order (a key given
 * twice keeps its last value), at once: into an empty map of at most
 * STRMAP_SET_ALL_MAX entries, one allocation and one lock of the pool
 * instead of n (a list page sets 100,000 sandboxes' labels).
 */
#define STRMAP_SET_ALL_MAX 32
void strmap_set_all(struct strmap *m, const char *const *keys,
                    const char *const *values, size_t n);
/*
 * strmap_push: append key and value (copies) without looking for key or
 * keeping the order: for a list of pairs kept as written (plan files'
 * unmanaged names), which is only iterated, never searched or set.
 */
void strmap_push(struct strmap *m, const char *key, const char *value);
/* strmap_pool_size: the distinct pairs all maps share now; SIZE_MAX when
 * the pool is inconsistent (for tests). */
size_t strmap_pool_size(void);
/* strmap_del: remove key; 1 when it was there, else 0. */
int strmap_del(struct strmap *m, const char *key);
/* strmap_copy: make dst a copy of src. dst is overwritten, not freed: it
 * must hold nothing (zeroed, cleared, or a struct copy of another map). */
void strmap_copy(struct strmap *dst, const struct strmap *src);
/* strmap_equal: 1 when both maps hold the same keys and values. */
int strmap_equal(const struct strmap *a, const struct strmap *b);
/* strmap_clear: free every key and value and the array; m is left empty
 * (NULL-safe). */
void strmap_clear(struct strmap *m);
/* strmap_to_json: a new JSON object of the map (adding it to a tree hands
 * it over, else release it with cJSON_Delete()). */
cJSON *strmap_to_json(const struct strmap *m);
/*
 * strmap_from_json: fill out (cleared first) from a JSON object of string
 * values; NULL or a JSON null gives the empty map. Returns 0, or
 * SF_EINVALID (message "WHAT: ...", out left empty) for anything else.
 */
int strmap_from_json(const cJSON *obj, const char *what, struct strmap *out);
/*
 * strmap_scan_json: the JSON text of an object of strings (len bytes) into
 * out without a cJSON tree: 0, or 1 with out empty when the text is
 * anything else or outside what common/jsonscan.h reads (the caller then
 * parses it with cJSON and strmap_from_json(), the reference).
 */
int strmap_scan_json(const char *text, size_t len, struct strmap *out);

#endif
