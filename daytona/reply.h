/*
 * reply: what the client makes of an answer it did not want: the API key
 * and the run's secrets masked out of it, the sdk error it maps to, and a
 * message that says what came back (status, the API's message, a
 * redirect's target, or the content type and first bytes of a body that
 * is not the API's JSON). Internal to daytona/ (client.c).
 */
#ifndef SF_DAYTONA_REPLY_H
#define SF_DAYTONA_REPLY_H

#include "daytona/transport.h"

/* How many bytes of an unexpected body a message quotes. */
#define DT_REPLY_QUOTE 64

/*
 * dt_reply_redact: mask bearer ("Bearer <key>"), the bare key (when at
 * least DT_REDACT_MIN_KEY_LEN long) and every registered secret value
 * (common/redact.h) in resp's body and transport error, in place.
 */
void dt_reply_redact(struct dt_http_response *resp, const char *bearer,
                     const char *key);

/* dt_reply_failure: a short name of why no response arrived. */
const char *dt_reply_failure(enum dt_http_failure f);

/*
 * dt_reply_describe: append what came back to b: "[STATUS, ]Content-Type
 * TYPE, N bytes: 'first bytes'" (escaped for a terminal; "empty body").
 */
void dt_reply_describe(struct buf *b, const struct dt_http_response *resp,
                       int with_status);

/*
 * dt_reply_unexpected: SF_EINVALID, with the message "daytona: METHOD
 * PATH: the response is not WHAT (got <dt_reply_describe>)".
 */
int dt_reply_unexpected(const char *method, const char *path,
                        const struct dt_http_response *resp, const char *what);

/*
 * dt_reply_error: set the error of a call whose last attempt (of attempts)
 * failed and return its code: no response (naming the failure; a TLS
 * failure with the hint to trust a private CA), a redirect (naming its
 * target, which is never followed with the key), a 401 (with the settings
 * to check against base_url), a 404 when base_url does not end in /api
 * (saying so), or any other status with the API's message
 * or, when the body is not the API's JSON, a description of it.
 */
int dt_reply_error(const char *base_url, const char *method, const char *path,
                   const struct dt_http_response *resp, int attempts);

#endif
