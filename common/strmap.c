/*
 * strmap: see strmap.h. A sorted array rather than a hash table: the maps
 * are small (labels, env: tens of keys), and sorted order is what every
 * caller wants for output, hashing and comparison.
 */
#include "common/base.h"

#include "common/error.h"
#include "common/strmap.h"
#include "common/xalloc.h"

long
strmap_find(const struct strmap *m, const char *key)
{
	size_t lo = 0, hi = m ? m->n : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(m->v[mid].key, key);

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
strmap_get(const struct strmap *m, const char *key)
{
	long i = strmap_find(m, key);

	return i >= 0 ? m->v[i].value : NULL;
}

/*
 * An item is one allocation, "KEY\0VALUE\0": key points at its start and
 * value into it, so a map of n entries costs n allocations, not 2n (labels
 * of 100,000 sandboxes are millions of them). Only key is freed.
 */
static void
item_make(struct strmap_item *it, const char *key, const char *value)
{
	size_t kn = strlen(key), vn = strlen(value);
	char *p = xmalloc(kn + vn + 2);

	memcpy(p, key, kn + 1);
	memcpy(p + kn + 1, value, vn + 1);
	it->key = p;
	it->value = p + kn + 1;
}

/* The array holds the next power of two at or above n entries (the maps
 * never shrink but by strmap_del), so appends are amortized O(1). */
static size_t
room_for(size_t n)
{
	size_t c = 1;

	while (c < n)
		c *= 2;
	return n ? c : 0;
}

static void
grow(struct strmap *m)
{
	if (m->n == room_for(m->n))
		m->v = xreallocarray(m->v, room_for(m->n + 1), sizeof(*m->v));
}

void
strmap_set(struct strmap *m, const char *key, const char *value)
{
	long i = strmap_find(m, key);
	size_t at;

	if (i >= 0) {
		char *old = m->v[i].key;

		item_make(&m->v[i], key, value);
		free(old);
		return;
	}
	at = (size_t)(-i - 1);
	grow(m);
	memmove(&m->v[at + 1], &m->v[at], (m->n - at) * sizeof(*m->v));
	item_make(&m->v[at], key, value);
	m->n++;
}

void
strmap_push(struct strmap *m, const char *key, const char *value)
{
	grow(m);
	item_make(&m->v[m->n++], key, value);
}

int
strmap_del(struct strmap *m, const char *key)
{
	long i = strmap_find(m, key);

	if (i < 0)
		return 0;
	free(m->v[i].key);
	memmove(&m->v[i], &m->v[i + 1], (m->n - (size_t)i - 1) * sizeof(*m->v));
	m->n--;
	return 1;
}

void
strmap_copy(struct strmap *dst, const struct strmap *src)
{
	size_t i;

	dst->v = NULL;
	dst->n = 0;
	if (src == NULL || src->n == 0)
		return;
	dst->v = xcalloc(room_for(src->n), sizeof(*dst->v));
	for (i = 0; i < src->n; i++)
		item_make(&dst->v[i], src->v[i].key, src->v[i].value);
	dst->n = src->n;
}

int
strmap_equal(const struct strmap *a, const struct strmap *b)
{
	size_t na = a ? a->n : 0, nb = b ? b->n : 0, i;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++)
		if (strcmp(a->v[i].key, b->v[i].key) != 0 ||
		    strcmp(a->v[i].value, b->v[i].value) != 0)
			return 0;
	return 1;
}

void
strmap_clear(struct strmap *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n; i++)
		free(m->v[i].key);
	free(m->v);
	m->v = NULL;
	m->n = 0;
}

cJSON *
strmap_to_json(const struct strmap *m)
{
	cJSON *o = cJSON_CreateObject();
	size_t i;

	for (i = 0; m != NULL && i < m->n; i++)
		cJSON_AddStringToObject(o, m->v[i].key, m->v[i].value);
	return o;
}

int
strmap_from_json(const cJSON *obj, const char *what, struct strmap *out)
{
	const cJSON *it;

	strmap_clear(out);
	if (obj == NULL || cJSON_IsNull(obj))
		return 0;
	if (!cJSON_IsObject(obj))
		return sf_error_set(SF_EINVALID, "%s: not an object", what);
	cJSON_ArrayForEach(it, obj)
	{
		if (!cJSON_IsString(it) || it->string == NULL) {
			strmap_clear(out);
			return sf_error_set(SF_EINVALID,
			                    "%s: value is not a string", what);
		}
		strmap_set(out, it->string, it->valuestring);
	}
	return 0;
}
