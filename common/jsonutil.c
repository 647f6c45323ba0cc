#include "common/base.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/jsonscan.h"
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

static __thread struct json_arena *cur;

static void *
hook_malloc(size_t n)
{
	return cur != NULL ? arena_alloc(&cur->mem, n) : malloc(n);
}

static void
hook_free(void *p)
{
	if (p == NULL || (cur != NULL && arena_owns(&cur->mem, p)))
		return;
	free(p);
}

static void
install_hooks(void)
{
	cJSON_Hooks h = { hook_malloc, hook_free };

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
	a->mem = (struct arena)ARENA_INIT;
	a->outer = cur == NULL;
	if (a->outer)
		cur = a;
}

void
json_arena_end(struct json_arena *a)
{
	if (!a->outer)
		return;
	cur = NULL;
	arena_clear(&a->mem);
}

void
json_put_string(struct buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s, *run = p;

	buf_addch(b, '"');
	for (;; p++) {
		const char *esc = NULL;

		while (!jscan_stop[*p])
			p++;
		if (*p == '\0')
			break;
		buf_add(b, run, (size_t)(p - run));
		run = p + 1;
		switch (*p) {
		case '"':
			esc = "\\\"";
			break;
		case '\\':
			esc = "\\\\";
			break;
		case '\b':
			esc = "\\b";
			break;
		case '\f':
			esc = "\\f";
			break;
		case '\n':
			esc = "\\n";
			break;
		case '\r':
			esc = "\\r";
			break;
		case '\t':
			esc = "\\t";
			break;
		default:
			buf_addf(b, "\\u%04x", *p);
			break;
		}
		if (esc)
			buf_addstr(b, esc);
	}
	buf_add(b, run, (size_t)(p - run));
	buf_addch(b, '"');
}
