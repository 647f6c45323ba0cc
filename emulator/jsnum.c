/*
 * jsnum: JavaScript's Number(string) and String(number).
 *
 * strtod() alone would not do: it takes "inf", "nan" and hex floats, and
 * skips only ASCII space. The grammar is checked here first and strtod()
 * converts only a decimal literal that is known to be valid, which it
 * rounds correctly as JavaScript does. Printing looks for the shortest
 * "%.*e" form that reads back as the same double (the digits JavaScript
 * prints) and lays the digits out by ECMA-262's Number::toString rules.
 */
#include "common/base.h"

#include <math.h>

#include "common/xalloc.h"
#include "emulator/jsnum.h"

/* the length of the UTF-8 white space or line terminator at s, or 0 */
static size_t
space_len(const unsigned char *s)
{
	unsigned cp;

	if (*s == '\t' || *s == '\n' || *s == '\v' || *s == '\f' ||
	    *s == '\r' || *s == ' ')
		return 1;
	if (s[0] == 0xc2 && s[1] == 0xa0) /* U+00A0 */
		return 2;
	if (s[0] < 0xe0 || s[0] > 0xef || (s[1] & 0xc0) != 0x80 ||
	    (s[2] & 0xc0) != 0x80)
		return 0;
	cp = (unsigned)(s[0] & 0x0f) << 12 | (unsigned)(s[1] & 0x3f) << 6 |
	     (unsigned)(s[2] & 0x3f);
	if (cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 ||
	    cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000 ||
	    cp == 0xfeff)
		return 3;
	return 0;
}

/* the number of digits of base at s */
static size_t
digits(const char *s, int base)
{
	size_t n = 0;

	for (;; n++) {
		int c = s[n], d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			break;
		if (d >= base)
			break;
	}
	return n;
}

/* 0x, 0o and 0b literals: n digits of base at s */
static double
radix_value(const char *s, size_t n, int base)
{
	double v = 0;

	for (size_t i = 0; i < n; i++) {
		int c = s[i];
		int d = c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;

		v = v * base + d;
	}
	return v;
}

/* the length of a StrDecimalLiteral without its sign at s, or 0 */
static size_t
decimal_len(const char *s)
{
	size_t i = digits(s, 10), f = 0, e;

	if (s[i] == '.')
		f = digits(s + i + 1, 10);
	if (i == 0 && f == 0)
		return 0;
	if (s[i] == '.')
		i += 1 + f;
	if (s[i] == 'e' || s[i] == 'E') {
		size_t j = i + 1;

		if (s[j] == '+' || s[j] == '-')
			j++;
		e = digits(s + j, 10);
		if (e > 0)
			i = j + e;
	}
	return i;
}

double
jsnum_parse(const char *str)
{
	const unsigned char *u = (const unsigned char *)str;
	const char *s;
	size_t n, sp;
	char *copy;
	double v;
	bool neg = false;

	while ((sp = space_len(u)) > 0)
		u += sp;
	s = (const char *)u;
	n = strlen(s);
	/* trailing white space: walk back over whole characters */
	for (;;) {
		size_t k;

		for (k = 1; k <= 3 && k <= n; k++)
			if (space_len((const unsigned char *)s + n - k) == k)
				break;
		if (k > 3 || k > n)
			break;
		n -= k;
	}
	if (n == 0)
		return 0;
	if (n > 2 && s[0] == '0' && strchr("xXoObB", s[1])) {
		int base = s[1] == 'x' || s[1] == 'X'   ? 16
		           : s[1] == 'o' || s[1] == 'O' ? 8
		                                        : 2;

		if (digits(s + 2, base) != n - 2)
			return NAN;
		return radix_value(s + 2, n - 2, base);
	}
	if (*s == '+' || *s == '-') {
		neg = *s == '-';
		s++;
		n--;
	}
	if (n == 8 && memcmp(s, "Infinity", 8) == 0)
		return neg ? -INFINITY : INFINITY;
	if (n == 0 || decimal_len(s) != n)
		return NAN;
	copy = xstrndup(s, n);
	v = strtod(copy, NULL);
	free(copy);
	return neg ? -v : v;
}

bool
jsnum_is_integer(double v)
{
	return isfinite(v) && floor(v) == v;
}

bool
jsnum_is_int32(double v)
{
	return jsnum_is_integer(v) && v >= -2147483648.0 && v <= 2147483647.0;
}

/* append c to out (bounded by JSNUM_FORMAT_MAX) */
static void
put(char *out, size_t *len, char c)
{
	if (*len + 1 < JSNUM_FORMAT_MAX)
		out[(*len)++] = c;
	out[*len] = '\0';
}

static void
puts_n(char *out, size_t *len, const char *s, size_t n)
{
	for (size_t i = 0; i < n && s[i]; i++)
		put(out, len, s[i]);
}

void
jsnum_format(double v, char out[JSNUM_FORMAT_MAX])
{
	char e[40], dig[20];
	size_t len = 0, k = 0;
	long exp10;
	int n;

	out[0] = '\0';
	if (isnan(v)) {
		puts_n(out, &len, "NaN", 3);
		return;
	}
	if (v == 0) {
		put(out, &len, '0'); /* -0 too */
		return;
	}
	if (v < 0) {
		put(out, &len, '-');
		v = -v;
	}
	if (isinf(v)) {
		puts_n(out, &len, "Infinity", 8);
		return;
	}
	for (int p = 1; p <= 17; p++) {
		snprintf(e, sizeof(e), "%.*e", p - 1, v);
		if (strtod(e, NULL) == v)
			break;
	}
	/* e is "d.ddde[+-]xx": its significant digits and its exponent */
	for (const char *c = e; *c && *c != 'e' && k + 1 < sizeof(dig); c++)
		if (*c != '.')
			dig[k++] = *c;
	while (k > 1 && dig[k - 1] == '0')
		k--;
	dig[k] = '\0';
	exp10 = strtol(strchr(e, 'e') + 1, NULL, 10);
	n = (int)exp10 + 1; /* the decimal point sits after n digits */
	if ((int)k <= n && n <= 21) {
		puts_n(out, &len, dig, k);
		for (int i = (int)k; i < n; i++)
			put(out, &len, '0');
	} else if (0 < n && n <= 21) {
		puts_n(out, &len, dig, (size_t)n);
		put(out, &len, '.');
		puts_n(out, &len, dig + n, k - (size_t)n);
	} else if (-6 < n && n <= 0) {
		puts_n(out, &len, "0.", 2);
		for (int i = 0; i < -n; i++)
			put(out, &len, '0');
		puts_n(out, &len, dig, k);
	} else {
		char x[16];

		put(out, &len, dig[0]);
		if (k > 1) {
			put(out, &len, '.');
			puts_n(out, &len, dig + 1, k - 1);
		}
		snprintf(x, sizeof(x), "e%c%d", n - 1 < 0 ? '-' : '+',
		         n - 1 < 0 ? 1 - n : n - 1);
		puts_n(out, &len, x, sizeof(x));
	}
}
