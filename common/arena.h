/*
 * arena: memory cut in order from large blocks and given back all at once,
 * for the many small allocations of one parse (a YAML document's tree, a
 * JSON page of sandboxes) that die together. Through malloc that churn,
 * thousands of allocations per document freed in a burst, cost a big
 * plan a fifth of its CPU.
 *
 *	struct arena a = ARENA_INIT;
 *	p = arena_alloc(&a, n);     // 16-byte aligned, never NULL
 *	arena_reset(&a);            // all of it is free again; one block kept
 *	arena_clear(&a);            // and every block freed
 *
 * Ownership: the arena owns its blocks; what it handed out lives until the
 * next arena_reset() or arena_clear(). Not thread-safe: one arena, one
 * thread at a time.
 */
#ifndef SF_COMMON_ARENA_H
#define SF_COMMON_ARENA_H

#include <stddef.h>

struct arena_block;
struct arena {
	struct arena_block *blocks; /* the one being cut first */
};

#define ARENA_INIT   \
	{            \
		NULL \
	}

/* arena_alloc: n bytes (uninitialised); arena_zalloc: zeroed. */
void *arena_alloc(struct arena *a, size_t n);
void *arena_zalloc(struct arena *a, size_t n);
/* arena_owns: whether p was handed out by a (and not reset since). */
int arena_owns(const struct arena *a, const void *p);
void arena_reset(struct arena *a);
void arena_clear(struct arena *a);

#endif
