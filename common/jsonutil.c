#include "common/base.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonutil.h"
#include "common/xalloc.h"

char *
json_strdup(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? xstrdup(v->valuestring) : NULL;
}

void
json_add_string_or_null(cJSON *o, const char *key, const char *v)
{
	if (v != NULL)
		cJSON_AddStringToObject(o, key, v);
	else
		cJSON_AddNullToObject(o, key);
}

/* ---- the arena -------------------------------------------------------- */

#define ARENA_CHUNK (256u * 1024u)
#define ARENA_ALIGN 16u

struct json_arena_chunk {
	struct json_arena_chunk *next;
	size_t used, size; /* bytes of data[] */
	max_align_t data[];
};

static __thread struct json_arena *cur;

static void *
arena_malloc(size_t n)
{
	struct json_arena *a = cur;
	struct json_arena_chunk *c;
	void *p;

	if (a == NULL)
		return malloc(n);
	n = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	c = a->chunks;
	if (c == NULL || c->size - c->used < n) {
		size_t size = n > ARENA_CHUNK / 4 ? n : ARENA_CHUNK;

		c = xmalloc(sizeof(*c) + size);
		c->size = size;
		c->used = 0;
		if (size == n && a->chunks != NULL) {
			/* a big block: behind the current chunk */
			c->next = a->chunks->next;
			a->chunks->next = c;
		} else {
			c->next = a->chunks;
			a->chunks = c;
		}
	}
	p = (char *)c->data + c->used;
	c->used += n;
	return p;
}

static int
arena_owns(const struct json_arena *a, const void *p)
{
	const struct json_arena_chunk *c;

	for (c = a->chunks; c != NULL; c = c->next)
		if ((const char *)p >= (const char *)c->data &&
		    (const char *)p < (const char *)c->data + c->size)
			return 1;
	return 0;
}

static void
arena_free(void *p)
{
	if (p == NULL || (cur != NULL && arena_owns(cur, p)))
		return;
	free(p);
}

static void
install_hooks(void)
{
	cJSON_Hooks h = { arena_malloc, arena_free };

	cJSON_InitHooks(&h);
}

void
json_arena_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, install_hooks);
}

void
json_arena_begin(struct json_arena *a)
{
	json_arena_init();
	a->chunks = NULL;
	a->outer = cur == NULL;
	if (a->outer)
		cur = a;
}

void
json_arena_end(struct json_arena *a)
{
	struct json_arena_chunk *c, *next;

	if (!a->outer)
		return;
	cur = NULL;
	for (c = a->chunks; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	a->chunks = NULL;
}
