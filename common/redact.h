/*
 * redact: the process's registry of values that must never be shown (the
 * resolved secret values of the run, the API key), and the one function
 * that masks them in text.
 *
 * A resolved secret is registered when it is read (secret_resolve), so a
 * server or proxy that echoes a request body back cannot make it appear:
 * the client masks every answer as it arrives, and sf_error_set() and the
 * log mask every message they make, before anything reaches output, the
 * JSON events or the state. Registered with the value are the forms a JSON
 * body would carry it in (escaped). Values shorter than REDACT_MIN_LEN are
 * not registered (they would mask ordinary words); redact_register says so
 * and the caller warns.
 *
 * Thread-safe. The registry owns copies of the values for the life of the
 * process; redact_reset() (tests) wipes and forgets them.
 */
#ifndef SF_COMMON_REDACT_H
#define SF_COMMON_REDACT_H

#include <stddef.h>

#define REDACT_MASK    "***"
#define REDACT_MIN_LEN 4

/* redact_register: mask value from now on. Returns 0, or -1 when it is too
 * short to be masked (it is not registered). */
int redact_register(const char *value);
/* redact_text: mask every registered value in s[0..len) in place (the
 * text only shrinks or keeps its length); returns the new length. Nothing
 * past s[len) is read or written. */
size_t redact_text(char *s, size_t len);
/* redact_str: redact_text of a NUL-terminated string. */
void redact_str(char *s);
/* redact_url_userinfo: url with any "user:password@" before the host
 * replaced by "***@" (caller frees); NULL for NULL. For URLs whose
 * credentials are not registered values (a proxy URL the API echoes). */
char *redact_url_userinfo(const char *url);
/* redact_count: how many values are registered (for tests). */
size_t redact_count(void);
/* redact_reset: forget (and wipe) every value (for tests). */
void redact_reset(void);

#endif
