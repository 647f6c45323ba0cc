/*
 * arena: see arena.h. Blocks of ARENA_BLOCK bytes; a request larger than a
 * quarter of that gets a block of its own, put behind the current one so
 * that the rest of the current block is still cut.
 */
#include "common/base.h"

#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/xalloc.h"

#define ARENA_BLOCK (64u * 1024u)
#define ARENA_ALIGN 16u

/*
 * Under AddressSanitizer every allocation is followed by a poisoned red
 * zone and what is not handed out stays poisoned, so an overrun or a use
 * after arena_reset() is still caught (the fuzzers rely on it).
 */
#if defined(__SANITIZE_ADDRESS__)
#define ARENA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_ASAN 1
#endif
#endif
#ifdef ARENA_ASAN
#include <sanitizer/asan_interface.h>
#define REDZONE        16u
#define POISON(p, n)   ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define REDZONE        0u
#define POISON(p, n)   ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

struct arena_block {
	struct arena_block *next;
	size_t used, size; /* bytes of data[] */
	max_align_t data[];
};

void *
arena_alloc(struct arena *a, size_t n)
{
	struct arena_block *b = a->blocks;
	size_t want = n;
	void *p;

	n = n ? (n + REDZONE + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1)
	      : ARENA_ALIGN;
	if (b == NULL || b->size - b->used < n) {
		size_t size = n > ARENA_BLOCK / 4 ? n : ARENA_BLOCK;

		b = xmalloc(sizeof(*b) + size);
		b->size = size;
		b->used = 0;
		POISON(b->data, size);
		if (size == n && a->blocks != NULL) {
			b->next = a->blocks->next;
			a->blocks->next = b;
		} else {
			b->next = a->blocks;
			a->blocks = b;
		}
	}
	p = (char *)b->data + b->used;
	b->used += n;
	UNPOISON(p, want);
	return p;
}

void *
arena_zalloc(struct arena *a, size_t n)
{
	return memset(arena_alloc(a, n), 0, n);
}

int
arena_owns(const struct arena *a, const void *p)
{
	const struct arena_block *b;

	for (b = a->blocks; b != NULL; b = b->next)
		if ((const char *)p >= (const char *)b->data &&
		    (const char *)p < (const char *)b->data + b->used)
			return 1;
	return 0;
}

void
arena_reset(struct arena *a)
{
	struct arena_block *b, *next;

	if (a->blocks == NULL)
		return;
	for (b = a->blocks->next; b != NULL; b = next) {
		next = b->next;
		UNPOISON(b->data, b->size);
		free(b);
	}
	a->blocks->next = NULL;
	a->blocks->used = 0;
	POISON(a->blocks->data, a->blocks->size);
}

void
arena_clear(struct arena *a)
{
	arena_reset(a);
	if (a->blocks != NULL)
		UNPOISON(a->blocks->data, a->blocks->size);
	free(a->blocks);
	a->blocks = NULL;
}
