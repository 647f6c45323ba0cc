/*
 * strmap: see strmap.h. A sorted array rather than a hash table: the maps
 * are small (labels, env: tens of keys), and sorted order is what every
 * caller wants for output, hashing and comparison.
 *
 * Entries are interned: the maps of a plan repeat the same pairs over and
 * over (every sandbox of a stack carries its stack, spec and team labels,
 * in the live list, the state and the plan), so equal pairs share one
 * reference-counted allocation from a process-wide pool. An entry is
 * never changed in place, so sharing is invisible to callers; the pool
 * has a mutex, for the threads of refresh and apply.
 */
#include "common/base.h"

#include <pthread.h>
#include <stdint.h>

#include "common/error.h"
#include "common/hash.h"
#include "common/jsonscan.h"
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
 * An entry is one allocation, a struct pair: its text is "KEY\0VALUE\0",
 * key points at the text and value into it, so only the key is handed
 * back (pair_release). refs counts the entries (in any map) sharing it.
 */
struct pair {
	uint32_t refs;
	uint32_t hash;
	char text[];
};

static struct {
	pthread_mutex_t mu;
	struct pair **slot; /* open addressing, linear probing */
	size_t cap, n;      /* cap a power of two, n <= cap / 2 */
} pool = { PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0 };

static struct pair *
pair_of(const char *key)
{
	return (struct pair *)(void *)(key - offsetof(struct pair, text));
}

static uint32_t
pair_hash(const char *key, size_t kn, const char *value, size_t vn)
{
	/* the key's length (hashed in) keeps ("ab", "c") and ("a", "bc")
	 * apart; eight bytes a step: a byte at a time was a tenth of the
	 * interning's cost with 100,000 sandboxes' labels */
	uint64_t h = hash_words(0x9e3779b97f4a7c15ULL, key, kn);

	h = hash_words(h, value, vn);
	return (uint32_t)(h ^ (h >> 32));
}

/* pool_grow: double the table (with pool.mu held). */
static void
pool_grow(void)
{
	size_t cap = pool.cap ? 2 * pool.cap : 1024, i;
	struct pair **slot = xcalloc(cap, sizeof(*slot));

	for (i = 0; i < pool.cap; i++) {
		size_t j;

		if (pool.slot[i] == NULL)
			continue;
		j = pool.slot[i]->hash & (cap - 1);
		while (slot[j] != NULL)
			j = (j + 1) & (cap - 1);
		slot[j] = pool.slot[i];
	}
	free(pool.slot);
	pool.slot = slot;
	pool.cap = cap;
}

/* pair_find_locked: the shared entry for key and value, made when new
 * (pool.mu held). */
static char *
pair_find_locked(const char *key, size_t kn, const char *value, size_t vn)
{
	uint32_t h = pair_hash(key, kn, value, vn);
	struct pair *p;
	size_t i;

	if (2 * (pool.n + 1) > pool.cap)
		pool_grow();
	for (i = h & (pool.cap - 1); (p = pool.slot[i]) != NULL;
	     i = (i + 1) & (pool.cap - 1))
		if (p->hash == h && memcmp(p->text, key, kn + 1) == 0 &&
		    memcmp(p->text + kn + 1, value, vn + 1) == 0 &&
		    p->refs < UINT32_MAX) {
			p->refs++;
			return p->text;
		}
	p = xmalloc(sizeof(*p) + kn + vn + 2);
	p->refs = 1;
	p->hash = h;
	memcpy(p->text, key, kn + 1);
	memcpy(p->text + kn + 1, value, vn + 1);
	pool.slot[i] = p;
	pool.n++;
	return p->text;
}

/* pair_get: the shared entry for key and value, made when new. */
static char *
pair_get(const char *key, const char *value)
{
	size_t kn = strlen(key), vn = strlen(value);
	char *text;

	pthread_mutex_lock(&pool.mu);
	text = pair_find_locked(key, kn, value, vn);
	pthread_mutex_unlock(&pool.mu);
	return text;
}

/* pair_ref: one more entry shares key's pair. */
static char *
pair_ref(char *key)
{
	struct pair *p = pair_of(key);

	pthread_mutex_lock(&pool.mu);
	if (p->refs == UINT32_MAX) { /* never in practice: a copy instead */
		pthread_mutex_unlock(&pool.mu);
		return pair_get(key, key + strlen(key) + 1);
	}
	p->refs++;
	pthread_mutex_unlock(&pool.mu);
	return key;
}

/* pair_drop_locked: an entry lets go of key's pair (pool.mu held); the
 * last takes it out of the table, the entries after its slot moving back
 * (no tombstones), and returns it to be freed, else NULL. */
static struct pair *
pair_drop_locked(char *key)
{
	struct pair *p = pair_of(key);
	size_t mask, i, j;

	if (--p->refs > 0)
		return NULL;
	mask = pool.cap - 1;
	for (i = p->hash & mask; pool.slot[i] != p; i = (i + 1) & mask)
		;
	for (j = (i + 1) & mask; pool.slot[j] != NULL; j = (j + 1) & mask) {
		size_t home = pool.slot[j]->hash & mask;

		/* slot j may move to the hole at i unless its home lies
		 * cyclically in (i, j] */
		if (i <= j ? (home <= i || home > j)
		           : (home <= i && home > j)) {
			pool.slot[i] = pool.slot[j];
			i = j;
		}
	}
	pool.slot[i] = NULL;
	pool.n--;
	return p;
}

/* pair_release: an entry lets go of key's pair; the last frees it. */
static void
pair_release(char *key)
{
	struct pair *p;

	pthread_mutex_lock(&pool.mu);
	p = pair_drop_locked(key);
	pthread_mutex_unlock(&pool.mu);
	free(p);
}

size_t
strmap_pool_size(void)
{
	size_t n, i, bad = 0;

	pthread_mutex_lock(&pool.mu);
	n = pool.n;
	/* every pair is found from its home slot (no hole on its way) */
	for (i = 0; i < pool.cap; i++) {
		size_t j;

		if (pool.slot[i] == NULL)
			continue;
		for (j = pool.slot[i]->hash & (pool.cap - 1); j != i;
		     j = (j + 1) & (pool.cap - 1))
			if (pool.slot[j] == NULL) {
				bad++;
				break;
			}
	}
	pthread_mutex_unlock(&pool.mu);
	return bad ? SIZE_MAX : n;
}

static void
item_make(struct strmap_item *it, const char *key, const char *value)
{
	it->key = pair_get(key, value);
	it->value = it->key + strlen(it->key) + 1;
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
		pair_release(old);
		return;
	}
	at = (size_t)(-i - 1);
	grow(m);
	memmove(&m->v[at + 1], &m->v[at], (m->n - at) * sizeof(*m->v));
	item_make(&m->v[at], key, value);
	m->n++;
}

void
strmap_set_all(struct strmap *m, const char *const *keys,
               const char *const *values, size_t n)
{
	size_t idx[STRMAP_SET_ALL_MAX], i, j, k;

	if (m->n > 0 || n > STRMAP_SET_ALL_MAX) {
		for (i = 0; i < n; i++)
			strmap_set(m, keys[i], values[i]);
		return;
	}
	/* by key, equal keys in the order given (insertion: n is small) */
	for (i = 0; i < n; i++) {
		for (j = i; j > 0 && strcmp(keys[idx[j - 1]], keys[i]) > 0; j--)
			idx[j] = idx[j - 1];
		idx[j] = i;
	}
	/* a key given twice keeps its last value, as strmap_set would */
	for (i = k = 0; i < n; i++) {
		if (i + 1 < n && strcmp(keys[idx[i]], keys[idx[i + 1]]) == 0)
			continue;
		idx[k++] = idx[i];
	}
	if (k == 0)
		return;
	m->v = xreallocarray(m->v, room_for(k), sizeof(*m->v));
	pthread_mutex_lock(&pool.mu);
	for (i = 0; i < k; i++) {
		const char *key = keys[idx[i]], *value = values[idx[i]];
		size_t kn = strlen(key);

		m->v[i].key = pair_find_locked(key, kn, value, strlen(value));
		m->v[i].value = m->v[i].key + kn + 1;
	}
	pthread_mutex_unlock(&pool.mu);
	m->n = k;
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
	pair_release(m->v[i].key);
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
	for (i = 0; i < src->n; i++) {
		dst->v[i].key = pair_ref(src->v[i].key);
		dst->v[i].value = dst->v[i].key + strlen(dst->v[i].key) + 1;
	}
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
	/* one lock for the map (100,000 sandboxes' labels are let go at the
	 * end of a big plan); the pairs to free are kept in v[] meanwhile */
	if (m->n > 0) {
		pthread_mutex_lock(&pool.mu);
		for (i = 0; i < m->n; i++)
			m->v[i].key = (char *)pair_drop_locked(m->v[i].key);
		pthread_mutex_unlock(&pool.mu);
		for (i = 0; i < m->n; i++)
			free(m->v[i].key);
	}
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

int
strmap_scan_json(const char *text, size_t len, struct strmap *out)
{
	char small[512];
	char *scratch = len < sizeof(small) ? small : xmalloc(len + 1);
	const char *k[STRMAP_SET_ALL_MAX], *v[STRMAP_SET_ALL_MAX];
	struct jscan s;
	size_t kn, vn, n = 0;
	int more = 0;

	strmap_clear(out);
	/* scratch of the text's length holds all its strings at once: the
	 * pairs are set together (strmap_set_all), up to 32 at a time */
	jscan_init(&s, text, len, scratch, len + 1);
	if (jscan_expect(&s, '{') < 0)
		goto fail;
	if (jscan_peek(&s) == '}')
		s.p++;
	else
		do {
			if (n == STRMAP_SET_ALL_MAX) {
				strmap_set_all(out, k, v, n);
				n = 0;
			}
			if (jscan_string_z(&s, &k[n], &kn) < 0 ||
			    jscan_expect(&s, ':') < 0 ||
			    jscan_string_z(&s, &v[n], &vn) < 0)
				goto fail;
			n++;
		} while ((more = jscan_more(&s, '}')) == 1);
	if (more < 0)
		goto fail;
	strmap_set_all(out, k, v, n);
	if (scratch != small)
		free(scratch);
	return 0;
fail:
	strmap_clear(out);
	if (scratch != small)
		free(scratch);
	return 1;
}
