/*
 * strmap: see strmap.h. A sorted array rather than a hash table: the maps
 * are small (labels, env: tens of keys), and sorted order is what every
 * caller wants for output, hashing and comparison.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/strmap.h"
#include "common/xalloc.h"

long
strmap_find(const struct strmap_item *items, size_t n, const char *key)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(items[mid].key, key);

		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -(long)lo - 1;
}

const char *
strmap_get(const struct strmap_item *items, size_t n, const char *key)
{
	long i = strmap_find(items, n, key);

	return i >= 0 ? items[i].value : NULL;
}

void
strmap_set(struct strmap_item **items, size_t *n, const char *key,
           const char *value)
{
	struct strmap_item *v = *items;
	long i = strmap_find(v, *n, key);
	size_t at;

	if (i >= 0) {
		free(v[i].value);
		v[i].value = xstrdup(value);
		return;
	}
	at = (size_t)(-i - 1);
	v = xreallocarray(v, *n + 1, sizeof(*v));
	memmove(&v[at + 1], &v[at], (*n - at) * sizeof(*v));
	v[at].key = xstrdup(key);
	v[at].value = xstrdup(value);
	*items = v;
	(*n)++;
}

int
strmap_del(struct strmap_item *items, size_t *n, const char *key)
{
	long i = strmap_find(items, *n, key);

	if (i < 0)
		return 0;
	free(items[i].key);
	free(items[i].value);
	memmove(&items[i], &items[i + 1],
	        (*n - (size_t)i - 1) * sizeof(*items));
	(*n)--;
	return 1;
}

struct strmap_item *
strmap_copy(const struct strmap_item *items, size_t n)
{
	struct strmap_item *v;
	size_t i;

	if (n == 0)
		return NULL;
	v = xcalloc(n, sizeof(*v));
	for (i = 0; i < n; i++) {
		v[i].key = xstrdup(items[i].key);
		v[i].value = xstrdup(items[i].value);
	}
	return v;
}

int
strmap_equal(const struct strmap_item *a, size_t na,
             const struct strmap_item *b, size_t nb)
{
	size_t i;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++)
		if (strcmp(a[i].key, b[i].key) != 0 ||
		    strcmp(a[i].value, b[i].value) != 0)
			return 0;
	return 1;
}

void
strmap_free(struct strmap_item *items, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(items[i].key);
		free(items[i].value);
	}
	free(items);
}
