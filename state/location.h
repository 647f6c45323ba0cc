/*
 * location: where a state lives, as the user wrote it: a file path, or a
 * URL "SCHEME://..." such as a PostgreSQL connection string. Private to
 * state/ (the CLI uses store_is_url() and store_redact() of store.h, which
 * are these).
 *
 * A URL may carry a password (postgresql://user:PASSWORD@host/db, or a
 * password=... query parameter). It must never reach a message, a log
 * line, JSON output or the state: everything shown goes through
 * location_redact(), which removes both.
 *
 * Ownership: returned strings are malloc()ed and the caller's.
 */
#ifndef SF_STATE_LOCATION_H
#define SF_STATE_LOCATION_H

#include <stddef.h>

/* location_scheme_len: the length of SCHEME when loc is "SCHEME://...",
 * else 0 (a file path). */
size_t location_scheme_len(const char *loc);

/*
 * location_redact: loc without its password: the ":PASSWORD" of the user
 * part of a URL and every password query parameter (its name compared
 * after percent-decoding, as libpq does) are removed. A file path, or a
 * URL without a password, comes back unchanged.
 */
char *location_redact(const char *loc);

/*
 * location_user_ambiguous: 1 when the password of URL url holds an
 * unescaped '/' or '@', which libpq would split differently from
 * location_redact() (and then maybe repeat a piece of it in a message).
 */
int location_user_ambiguous(const char *url);

/*
 * location_take_param: remove the query parameter name (compared after
 * percent-decoding) from the URL url, returning the URL without it in
 * *rest and its percent-decoded value in *value (NULL when absent; the
 * last one wins when repeated). Both are the caller's. SF_EINVALID when a
 * percent escape is malformed (the message names the parameter, never the
 * URL).
 */
int location_take_param(const char *url, const char *name, char **rest,
                        char **value);

#endif
