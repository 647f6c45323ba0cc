/*
 * utf8: well-formed UTF-8 is what RFC 3629 allows — no overlong forms,
 * no surrogates, nothing above U+10FFFF — and the rest is cut into
 * maximal subparts the way WHATWG's Encoding standard (and so Node.js's
 * Buffer and iconv-lite) cuts it.
 */
#include "common/base.h"

#include "emulator/utf8.h"

bool
utf8_next(const unsigned char *s, size_t len, size_t *n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t need;

	if (s[0] < 0x80) {
		*n = 1;
		return true;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		need = 1;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 2;
		lo = s[0] == 0xe0 ? 0xa0 : lo; /* no overlong forms */
		hi = s[0] == 0xed ? 0x9f : hi; /* no surrogates */
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 3;
		lo = s[0] == 0xf0 ? 0x90 : lo;
		hi = s[0] == 0xf4 ? 0x8f : hi; /* nothing above U+10FFFF */
	} else {
		*n = 1;
		return false;
	}
	for (size_t i = 1; i <= need; i++) {
		if (i == len || s[i] < lo || s[i] > hi) {
			*n = i;
			return false;
		}
		lo = 0x80;
		hi = 0xbf;
	}
	*n = need + 1;
	return true;
}

bool
utf8_valid(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n;

	for (size_t i = 0; i < len; i += n)
		if (!utf8_next(u + i, len - i, &n))
			return false;
	return true;
}
