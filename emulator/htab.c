/*
 * htab: FNV-1a chained hashing; a rehash doubles the bucket array when the
 * count passes it. Enough for 10^5 sandboxes behind one mutex.
 */
#include "common/base.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "emulator/htab.h"

struct hnode {
	struct hnode *next;
	uint64_t hash;
	void *value;
	char key[];
};

struct htab {
	struct hnode **b;
	size_t nb, count;
};

static uint64_t
fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ULL;
	}
	return h;
}

struct htab *
htab_new(void)
{
	struct htab *t = xcalloc(1, sizeof(*t));

	t->nb = 64;
	t->b = xcalloc(t->nb, sizeof(*t->b));
	return t;
}

void
htab_free(struct htab *t)
{
	htab_free_values(t, NULL);
}

void
htab_free_values(struct htab *t, void (*fn)(void *))
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nb; i++) {
		struct hnode *n = t->b[i], *next;

		for (; n; n = next) {
			next = n->next;
			if (fn)
				fn(n->value);
			free(n);
		}
	}
	free(t->b);
	free(t);
}

static void
grow(struct htab *t)
{
	size_t nb = t->nb * 2;
	struct hnode **b = xcalloc(nb, sizeof(*b));

	for (size_t i = 0; i < t->nb; i++) {
		struct hnode *n = t->b[i], *next;

		for (; n; n = next) {
			next = n->next;
			n->next = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
		}
	}
	free(t->b);
	t->b = b;
	t->nb = nb;
}

void
htab_put(struct htab *t, const char *key, void *value)
{
	uint64_t h = fnv1a(key);
	size_t len = strlen(key);
	struct hnode *n;

	for (n = t->b[h & (t->nb - 1)]; n; n = n->next) {
		if (n->hash == h && strcmp(n->key, key) == 0) {
			n->value = value;
			return;
		}
	}
	if (t->count >= t->nb)
		grow(t);
	n = xmalloc(sizeof(*n) + len + 1);
	memcpy(n->key, key, len + 1);
	n->hash = h;
	n->value = value;
	n->next = t->b[h & (t->nb - 1)];
	t->b[h & (t->nb - 1)] = n;
	t->count++;
}

void *
htab_get(const struct htab *t, const char *key)
{
	uint64_t h = fnv1a(key);

	for (struct hnode *n = t->b[h & (t->nb - 1)]; n; n = n->next)
		if (n->hash == h && strcmp(n->key, key) == 0)
			return n->value;
	return NULL;
}

void *
htab_del(struct htab *t, const char *key)
{
	uint64_t h = fnv1a(key);

	for (struct hnode **pp = &t->b[h & (t->nb - 1)]; *pp;
	     pp = &(*pp)->next) {
		struct hnode *n = *pp;

		if (n->hash == h && strcmp(n->key, key) == 0) {
			void *v = n->value;

			*pp = n->next;
			free(n);
			t->count--;
			return v;
		}
	}
	return NULL;
}
