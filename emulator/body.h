/*
 * body: JSON request bodies — parsed as Express's body parser and the
 * API's validation pipe take them, and read field by field with
 * class-validator's wording. The messages of one body are collected in a
 * struct body_errs and answered together, joined by ", ", as the server's
 * exception filter joins them.
 *
 * Field readers return pointers into the cJSON tree (valid while it
 * lives); body_nul_message() returns a string the caller frees.
 */
#ifndef SF_EMULATOR_BODY_H
#define SF_EMULATOR_BODY_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "common/buf.h"
#include "emulator/model.h"

struct resp;

struct body_errs {
	struct buf b; /* the messages so far, ", "-separated */
};

#define BODY_ERRS_INIT   \
	{                \
		BUF_INIT \
	}

/*
 * body_parse: parse a request body of len > 0 bytes, decoded as
 * body_utf8() does. 0 with *out an object or array (the caller deletes
 * it); -1 with r set to the answer (path is the raw URI for the error
 * body): the body parser's own 400 for anything but a JSON object or array
 * (raw control characters included), and body_nul_message()'s 400 for an
 * escaped NUL.
 */
int body_parse(const char *data, size_t len, const char *path, cJSON **out,
               struct resp *r);

/*
 * body_utf8: the bytes as Node's UTF-8 decoder reads them: a leading
 * byte-order mark dropped, each ill-formed sequence (each maximal subpart,
 * as WHATWG's decoder counts) replaced by U+FFFD. NULL when that changes
 * nothing; else a new string of *out_len bytes the caller frees.
 */
char *body_utf8(const char *data, size_t len, size_t *out_len);

/* body_err: add msg (copied) to e. */
void body_err(struct body_errs *e, const char *msg);
void body_errs_free(struct body_errs *e);

/* body_field: obj's member key; NULL when absent or JSON null. */
const cJSON *body_field(const cJSON *obj, const char *key);
/* Optional typed fields: absent gives NULL / -1 / *set false with no
 * message; a wrong type adds "KEY must be ..." to e. */
const char *body_string(const cJSON *obj, const char *key, struct body_errs *e);
int body_bool(const cJSON *obj, const char *key, struct body_errs *e);
/* body_int: an integer in [min, 2^31 - 1]. */
int body_int(const cJSON *obj, const char *key, double min, bool *set,
             struct body_errs *e);
/* body_map: an object of strings, added to out; 1 when present, 0 when
 * absent, -1 when malformed. */
int body_map(const cJSON *obj, const char *key, struct kvmap *out,
             struct body_errs *e);

/* body_find_nul: offset of the first "\u0000" escape in JSON text, or
 * -1. */
long body_find_nul(const char *s, size_t len);
/* body_nul_message: the 400 message for a body with such an escape,
 * naming its field (the name's own message for "name"). Caller frees. */
char *body_nul_message(const char *s, size_t len);

#endif
