/* jsonscan: see jsonscan.h. */
#include "common/base.h"

#include <stdint.h>

#include "common/jsonscan.h"

void
jscan_init(struct jscan *s, const char *text, size_t len, char *scratch,
           size_t scratch_cap)
{
	s->p = text;
	s->end = text + len;
	s->scratch = scratch;
	s->scratch_used = 0;
	s->scratch_cap = scratch_cap;
}

void
jscan_scratch_reset(struct jscan *s)
{
	s->scratch_used = 0;
}

/* whitespace as cJSON skips it: every byte up to and including ' ' */
static void
skip_ws(struct jscan *s)
{
	while (s->p < s->end && (unsigned char)*s->p <= ' ')
		s->p++;
}

int
jscan_peek(struct jscan *s)
{
	skip_ws(s);
	return s->p < s->end ? (unsigned char)*s->p : -1;
}

int
jscan_expect(struct jscan *s, char c)
{
	if (jscan_peek(s) != (unsigned char)c)
		return -1;
	s->p++;
	return 0;
}

int
jscan_more(struct jscan *s, char close)
{
	int c = jscan_peek(s);

	if (c == ',') {
		s->p++;
		return 1;
	}
	if (c == (unsigned char)close) {
		s->p++;
		return 0;
	}
	return -1;
}

/* unescape: the byte a simple escape stands for, or -1 (\u and unknown). */
static int
unescape(char c)
{
	switch (c) {
	case '"':
	case '\\':
	case '/':
		return c;
	case 'b':
		return '\b';
	case 'f':
		return '\f';
	case 'n':
		return '\n';
	case 'r':
		return '\r';
	case 't':
		return '\t';
	default:
		return -1;
	}
}

/* jscan_stop: see jsonscan.h */
const unsigned char jscan_stop[256] = {
	[0x00] = 1, [0x01] = 1, [0x02] = 1, [0x03] = 1, [0x04] = 1, [0x05] = 1,
	[0x06] = 1, [0x07] = 1, [0x08] = 1, [0x09] = 1, [0x0a] = 1, [0x0b] = 1,
	[0x0c] = 1, [0x0d] = 1, [0x0e] = 1, [0x0f] = 1, [0x10] = 1, [0x11] = 1,
	[0x12] = 1, [0x13] = 1, [0x14] = 1, [0x15] = 1, [0x16] = 1, [0x17] = 1,
	[0x18] = 1, [0x19] = 1, [0x1a] = 1, [0x1b] = 1, [0x1c] = 1, [0x1d] = 1,
	[0x1e] = 1, [0x1f] = 1, ['"'] = 1,  ['\\'] = 1,
};

/*
 * stop_at: the first byte from p on that is '"', '\\' or a control byte,
 * or end. Eight bytes a step (most of a list page is the text of
 * strings): a word w has a byte below 0x20 where (w - 0x20..) & ~w has
 * its high bit, and a byte equal to c where w ^ c.. has a zero byte; the
 * lowest such bit is always a real one (only the bits above it can be
 * borrows), so on a little-endian machine it says which byte.
 */
static const char *
stop_at(const char *p, const char *end)
{
	const uint64_t ones = 0x0101010101010101ULL;
	const uint64_t high = 0x8080808080808080ULL;

	while (end - p >= 8) {
		uint64_t w, q, b, hit;

		memcpy(&w, p, 8);
		q = w ^ (ones * '"');
		b = w ^ (ones * '\\');
		hit = (((w - ones * 0x20) & ~w) | ((q - ones) & ~q) |
		       ((b - ones) & ~b)) &
		      high;
		if (hit != 0) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			return p + __builtin_ctzll(hit) / 8;
#else
			break;
#endif
		}
		p += 8;
	}
	while (p < end && !jscan_stop[(unsigned char)*p])
		p++;
	return p;
}

/* how scan_string hands a string back */
enum str_mode {
	STR_POINT, /* into the input when it has no escapes */
	STR_COPY,  /* always a NUL-terminated copy in scratch */
	STR_CHECK, /* nothing: only checked */
};

/* scan_string: the string after whitespace, read as mode says. */
static int
scan_string(struct jscan *s, enum str_mode mode, const char **out, size_t *len)
{
	const char *from, *q;
	char *d;
	int esc = 0;

	if (jscan_expect(s, '"') < 0)
		return -1;
	from = s->p;
	for (q = stop_at(from, s->end); q < s->end && *q != '"';
	     q = stop_at(q + 1, s->end)) {
		if (*q != '\\')
			return -1; /* raw control byte (and NUL) */
		if (++q == s->end || unescape(*q) < 0)
			return -1;
		esc = 1;
	}
	if (q == s->end)
		return -1;
	s->p = q + 1;
	if (mode == STR_CHECK)
		return 0;
	if (!esc && mode == STR_POINT) {
		*out = from;
		*len = (size_t)(q - from);
		return 0;
	}
	/* decoded, it is no longer than its quoted form: q - from + 1 */
	if (s->scratch_cap - s->scratch_used < (size_t)(q - from) + 1)
		return -1;
	d = s->scratch + s->scratch_used;
	*out = d;
	if (!esc) {
		memcpy(d, from, (size_t)(q - from));
		d += q - from;
	} else {
		for (; from < q; from++)
			*d++ = *from == '\\' ? (char)unescape(*++from) : *from;
	}
	*d = '\0';
	*len = (size_t)(d - *out);
	s->scratch_used += *len + 1;
	return 0;
}

int
jscan_string(struct jscan *s, const char **out, size_t *len)
{
	return scan_string(s, STR_POINT, out, len);
}

int
jscan_string_z(struct jscan *s, const char **out, size_t *len)
{
	return scan_string(s, STR_COPY, out, len);
}

static int
is_digit(const char *p, const char *end)
{
	return p < end && *p >= '0' && *p <= '9';
}

/* number_end: the end of the JSON number at p, or NULL. */
static const char *
number_end(const char *p, const char *end)
{
	if (p < end && *p == '-')
		p++;
	if (!is_digit(p, end))
		return NULL;
	if (*p == '0')
		p++;
	else
		while (is_digit(p, end))
			p++;
	if (p < end && *p == '.') {
		if (!is_digit(++p, end))
			return NULL;
		while (is_digit(p, end))
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (!is_digit(p, end))
			return NULL;
		while (is_digit(p, end))
			p++;
	}
	return p;
}

int
jscan_int(struct jscan *s, double *out)
{
	const char *p, *e;
	double v = 0;
	int neg;

	skip_ws(s);
	p = s->p;
	e = number_end(p, s->end);
	if (e == NULL)
		return -1;
	neg = *p == '-';
	if (neg)
		p++;
	if (e - p > 15)
		return -1;
	for (; p < e; p++) {
		if (*p < '0' || *p > '9')
			return -1; /* a fraction or an exponent */
		v = v * 10 + (*p - '0');
	}
	*out = neg ? -v : v;
	s->p = e;
	return 0;
}

static int
literal(struct jscan *s, const char *word, size_t n)
{
	if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
		return -1;
	s->p += n;
	return 0;
}

int
jscan_literal(struct jscan *s)
{
	switch (jscan_peek(s)) {
	case 't':
		return literal(s, "true", 4) < 0 ? -1 : 1;
	case 'f':
		return literal(s, "false", 5) < 0 ? -1 : 0;
	case 'n':
		return literal(s, "null", 4) < 0 ? -1 : JSCAN_NULL;
	default:
		return -1;
	}
}

/* skip_scalar: a string, number or literal at s->p (after whitespace). */
static int
skip_scalar(struct jscan *s)
{
	const char *e;
	int c = (unsigned char)*s->p;

	if (c == '"')
		return scan_string(s, STR_CHECK, NULL, NULL);
	if (c == '-' || (c >= '0' && c <= '9')) {
		e = number_end(s->p, s->end);
		/* cJSON reads at most 63 bytes of a number */
		if (e == NULL || e - s->p > 63)
			return -1;
		s->p = e;
		return 0;
	}
	return jscan_literal(s) < 0 ? -1 : 0;
}

/* skip_key: a member's key and its colon */
static int
skip_key(struct jscan *s)
{
	if (scan_string(s, STR_CHECK, NULL, NULL) < 0)
		return -1;
	return jscan_expect(s, ':');
}

int
jscan_skip(struct jscan *s, const char **from)
{
	char stack[JSCAN_MAX_DEPTH]; /* the closing byte of each open level */
	size_t depth = 0;
	int c;

	c = jscan_peek(s);
	if (from != NULL)
		*from = s->p;
	for (;;) {
		/* a value starts here */
		if (c == '{' || c == '[') {
			if (depth == sizeof(stack))
				return -1;
			stack[depth++] = c == '{' ? '}' : ']';
			s->p++;
			c = jscan_peek(s);
			if (c == (unsigned char)stack[depth - 1]) {
				s->p++;
				depth--;
				goto after_value;
			}
			if (stack[depth - 1] == '}' && skip_key(s) < 0)
				return -1;
			c = jscan_peek(s);
			continue;
		}
		if (c < 0 || skip_scalar(s) < 0)
			return -1;
	after_value:
		while (depth > 0) {
			int more = jscan_more(s, stack[depth - 1]);

			if (more < 0)
				return -1;
			if (more == 1)
				break;
			depth--;
		}
		if (depth == 0)
			return 0;
		if (stack[depth - 1] == '}' && skip_key(s) < 0)
			return -1;
		c = jscan_peek(s);
	}
}
