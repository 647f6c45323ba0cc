/*
 * utf8: UTF-8 as Node.js decodes it (WHATWG's decoder): a sequence is
 * well-formed or it is replaced, one U+FFFD per maximal subpart. The
 * emulator uses it so that what the server would decode differently from
 * the bytes it got — request bodies, query strings, path segments — is
 * never stored or answered as raw invalid UTF-8.
 */
#ifndef SF_EMULATOR_UTF8_H
#define SF_EMULATOR_UTF8_H

#include <stdbool.h>
#include <stddef.h>

#define UTF8_REPLACEMENT "\xef\xbf\xbd" /* U+FFFD */

/*
 * utf8_next: the character at s (len > 0) is *n bytes long; false when
 * those bytes are the maximal subpart of an ill-formed sequence (which
 * decodes to one U+FFFD).
 */
bool utf8_next(const unsigned char *s, size_t len, size_t *n);
/* utf8_valid: s[0..len) is well-formed UTF-8. */
bool utf8_valid(const char *s, size_t len);

#endif
