/*
 * nameix: see nameix.h.
 */
#include "common/base.h"

#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "common/nameix.h"
#include "common/xalloc.h"

static size_t
slots_for(size_t n)
{
	size_t c = 16;

	while (c < 2 * n)
		c *= 2;
	return c;
}

/* put: element i into its slot (absent names only: see nameix_add). */
static void
put(struct nameix *x, size_t i, uint32_t h)
{
	size_t k;

	for (k = h & x->mask; x->slot[k] != 0; k = (k + 1) & x->mask)
		;
	x->slot[k] = (uint32_t)(i + 1);
}

static void
grow(struct nameix *x, size_t want)
{
	uint32_t *old = x->slot;
	size_t oldn = x->mask + 1, k;

	x->slot = xcalloc(slots_for(want), sizeof(*x->slot));
	x->mask = slots_for(want) - 1;
	for (k = 0; old && k < oldn; k++)
		if (old[k] != 0)
			put(x, old[k] - 1,
			    hash_fnv1a(x->name(x->ctx, old[k] - 1)));
	free(old);
}

void
nameix_init(struct nameix *x, nameix_name_fn name, const void *ctx, size_t hint)
{
	memset(x, 0, sizeof(*x));
	x->name = name;
	x->ctx = ctx;
	grow(x, hint);
}

void
nameix_add(struct nameix *x, size_t i)
{
	const char *name = x->name(x->ctx, i);
	uint32_t h = hash_fnv1a(name);
	size_t k;

	if (2 * (x->n + 1) > x->mask + 1)
		grow(x, 2 * (x->n + 1));
	for (k = h & x->mask; x->slot[k] != 0; k = (k + 1) & x->mask)
		if (strcmp(x->name(x->ctx, x->slot[k] - 1), name) == 0)
			return; /* the first keeps the name */
	x->slot[k] = (uint32_t)(i + 1);
	x->n++;
}

long
nameix_find(const struct nameix *x, const char *name)
{
	size_t k;

	if (x->slot == NULL)
		return -1;
	for (k = hash_fnv1a(name) & x->mask; x->slot[k] != 0;
	     k = (k + 1) & x->mask)
		if (strcmp(x->name(x->ctx, x->slot[k] - 1), name) == 0)
			return (long)(x->slot[k] - 1);
	return -1;
}

void
nameix_free(struct nameix *x)
{
	free(x->slot);
	memset(x, 0, sizeof(*x));
}
