/*
 * jsonutil: the two cJSON conveniences every module wrote for itself.
 * Strings returned are owned by the caller (free()); adding to an object
 * transfers the new item to it, as everywhere with cJSON.
 */
#ifndef SF_COMMON_JSONUTIL_H
#define SF_COMMON_JSONUTIL_H

#include <cjson/cJSON.h>

/* json_strdup: a copy of o[key] when it is a string, else NULL. */
char *json_strdup(const cJSON *o, const char *key);
/* json_add_string_or_null: o[key] = v, or null when v is NULL. */
void json_add_string_or_null(cJSON *o, const char *key, const char *v);

#endif
