/*
 * nameix: an index by name over an array the caller owns: a hash table of
 * element numbers (open addressing, linear probing, at most half full),
 * 4 bytes a slot. The caller says how to read element i's name; the index
 * keeps no copy. Where a sorted array and a binary search of strcmp calls
 * cost a big plan a tenth of its time (100,000 names, looked up several
 * times each), a lookup here is one hash and, nearly always, one strcmp.
 *
 * A name met twice keeps the first element added. Names must not change
 * while indexed. Not thread-safe to add to; lookups may run in parallel.
 */
#ifndef SF_COMMON_NAMEIX_H
#define SF_COMMON_NAMEIX_H

#include <stddef.h>
#include <stdint.h>

typedef const char *(*nameix_name_fn)(const void *ctx, size_t i);

struct nameix {
	uint32_t *slot; /* element + 1; 0: empty */
	size_t mask;    /* slots - 1 (slots: a power of two), 0: none yet */
	size_t n;       /* elements added */
	nameix_name_fn name;
	const void *ctx;
};

/* nameix_init: an empty index reading names with name(ctx, i); room for
 * hint elements without growing. */
void nameix_init(struct nameix *x, nameix_name_fn name, const void *ctx,
                 size_t hint);
/* nameix_add: index element i (below UINT32_MAX) by its name. */
void nameix_add(struct nameix *x, size_t i);
/* nameix_find: the element named name, or -1. */
long nameix_find(const struct nameix *x, const char *name);
void nameix_free(struct nameix *x);

#endif
