/*
 * escape: see escape.h.
 */
#include "common/base.h"

#include "common/buf.h"
#include "common/escape.h"

bool
esc_invisible(unsigned cp)
{
	return (cp >= 0x200B && cp <= 0x200F) ||
	       (cp >= 0x202A && cp <= 0x202E) ||
	       (cp >= 0x2060 && cp <= 0x2064) ||
	       (cp >= 0x2066 && cp <= 0x2069) || cp == 0x061C || cp == 0x2028 ||
	       cp == 0x2029 || cp == 0xFEFF;
}

size_t
esc_utf8_next(const unsigned char *s, size_t n, unsigned *cp)
{
	size_t len, i;
	unsigned c;

	if (n == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xE0) == 0xC0) {
		len = 2;
		c = s[0] & 0x1F;
	} else if ((s[0] & 0xF0) == 0xE0) {
		len = 3;
		c = s[0] & 0x0F;
	} else if ((s[0] & 0xF8) == 0xF0) {
		len = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3F);
	}
	if ((len == 2 && c < 0x80) || (len == 3 && c < 0x800) ||
	    (len == 4 && c < 0x10000) || c > 0x10FFFF ||
	    (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp = c;
	return len;
}

/* esc_one: whether the sequence at s (its length in *len) needs an
 * escape; when it does and out is not NULL, the escape is added to out. */
static bool
esc_one(const unsigned char *s, size_t n, size_t *len, struct buf *out)
{
	unsigned cp;

	*len = esc_utf8_next(s, n, &cp);
	if (*len == 0) {
		*len = 1;
		if (out)
			buf_addf(out, "\\x%02x", s[0]);
		return true;
	}
	if (cp < 0x20 || cp == 0x7F) {
		if (out) {
			if (cp == '\t')
				buf_addstr(out, "\\t");
			else if (cp == '\n')
				buf_addstr(out, "\\n");
			else if (cp == '\r')
				buf_addstr(out, "\\r");
			else
				buf_addf(out, "\\x%02x", cp);
		}
		return true;
	}
	if ((cp >= 0x80 && cp <= 0x9F) || esc_invisible(cp)) {
		if (out)
			buf_addf(out, "\\u{%04X}", cp);
		return true;
	}
	return false;
}

bool
esc_needed(const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = strlen((const char *)p), len;

	while (n > 0) {
		if (esc_one(p, n, &len, NULL))
			return true;
		p += len;
		n -= len;
	}
	return false;
}

char *
esc_text(const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = strlen((const char *)p), len;
	struct buf b = BUF_INIT;

	buf_addstr(&b, "");
	while (n > 0) {
		if (!esc_one(p, n, &len, &b))
			buf_add(&b, (const char *)p, len);
		p += len;
		n -= len;
	}
	return buf_detach(&b, NULL);
}
