/*
 * jsonutil: the two cJSON conveniences every module wrote for itself.
 * Strings returned are owned by the caller (free()); adding to an object
 * transfers the new item to it, as everywhere with cJSON.
 */
#ifndef SF_COMMON_JSONUTIL_H
#define SF_COMMON_JSONUTIL_H

#include <cjson/cJSON.h>

#include "common/arena.h"

/* json_strdup: a copy of o[key] when it is a string, else NULL. */
char *json_strdup(const cJSON *o, const char *key);
/* json_add_string_or_null: o[key] = v, or null when v is NULL. */
void json_add_string_or_null(cJSON *o, const char *key, const char *v);
/* json_put_string: s as a JSON string, exactly as cJSON_PrintUnformatted()
 * writes it, appended to b (no tree: for texts written by the 100,000). */
struct buf;
void json_put_string(struct buf *b, const char *s);

/*
 * A JSON arena: between json_arena_begin() and json_arena_end() on one
 * thread, what cJSON allocates on that thread comes from the arena (large
 * blocks cut in order), cJSON_Delete() and cJSON_free() of it cost
 * nothing, and json_arena_end() frees it all at once. Parsing a page of
 * 200 sandboxes is thousands of small allocations freed together: through
 * malloc that churn was a fifth of a big plan's CPU.
 *
 * A tree made inside needs no cJSON_Delete(): its walk of the nodes is the
 * only cost left, and json_arena_end() frees them all.
 * Nothing cJSON made inside may be used or freed after json_arena_end();
 * what must outlive it is copied out first (with xstrdup, not cJSON).
 * A begin inside another arena on the same thread does nothing (nor its
 * end): the outer arena holds both. json_arena_init() installs cJSON's hooks
 * (also done by the first json_arena_begin()); call it before starting threads.
 */
struct json_arena {
	struct arena mem;
	int outer; /* 1: this begin made the thread's arena */
};
void json_arena_init(void);
void json_arena_begin(struct json_arena *a);
void json_arena_end(struct json_arena *a);

#endif
