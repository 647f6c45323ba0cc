/*
 * htab: a string-keyed hash table of borrowed pointers (chained, grows at
 * load 1). The table copies keys and owns those copies; values belong to
 * the caller and are never freed here.
 */
#ifndef SF_EMULATOR_HTAB_H
#define SF_EMULATOR_HTAB_H

#include <stddef.h>

struct htab;

struct htab *htab_new(void);
void htab_free(struct htab *t);
/* htab_free_values: htab_free() that also passes every value to fn. */
void htab_free_values(struct htab *t, void (*fn)(void *));
/* htab_put: insert or replace key -> value. */
void htab_put(struct htab *t, const char *key, void *value);
void *htab_get(const struct htab *t, const char *key);
/* htab_del: remove key; returns the old value or NULL. */
void *htab_del(struct htab *t, const char *key);

#endif
