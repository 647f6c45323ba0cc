#include "common/base.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/strnum.h"

int
strnum_parse(const char *s, long long min, long long max, long long *out,
             const char **errstr)
{
	char *end;
	long long v;

	*errstr = NULL;
	if (s == NULL || *s == '\0' || isspace((unsigned char)*s)) {
		*errstr = "invalid";
		return -1;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end != '\0') {
		*errstr = "invalid";
		return -1;
	}
	if ((errno == ERANGE && v == LLONG_MIN) || v < min) {
		*errstr = "too small";
		return -1;
	}
	if ((errno == ERANGE && v == LLONG_MAX) || v > max) {
		*errstr = "too large";
		return -1;
	}
	*out = v;
	return 0;
}

/*
 * duration_number: parse "N" or "N.F" (digits only, at most 9 fraction
 * digits) times mult into *out; a fraction finer than a millisecond is
 * refused rather than rounded, so "0.5ms" is an error.
 */
static int
duration_number(const char *num, long long mult, long long *out)
{
	char ip[32];
	const char *dot = strchr(num, '.'), *f, *err;
	long long v, frac = 0, scale = 1;
	size_t il = dot ? (size_t)(dot - num) : strlen(num);

	if (il == 0 || il >= sizeof(ip))
		return -1;
	memcpy(ip, num, il);
	ip[il] = '\0';
	if (!isdigit((unsigned char)ip[0]) ||
	    strnum_parse(ip, 0, LLONG_MAX / mult, &v, &err) < 0)
		return -1;
	if (dot != NULL) {
		if (dot[1] == '\0' || strlen(dot + 1) > 9)
			return -1;
		for (f = dot + 1; *f; f++) {
			if (!isdigit((unsigned char)*f))
				return -1;
			frac = frac * 10 + (*f - '0');
			scale *= 10;
		}
		/* mult <= 3600000 and frac < 1e9: no overflow */
		if ((frac * mult) % scale != 0 ||
		    v * mult > LLONG_MAX - frac * mult / scale)
			return -1;
	}
	*out = v * mult + frac * mult / scale;
	return 0;
}

int
strnum_duration_ms(const char *s, long long *out_ms)
{
	static const struct {
		const char *suffix;
		long long mult;
	} units[] = { { "ms", 1 },
		      { "s", 1000 },
		      { "m", 60000 },
		      { "h", 3600000 },
		      { "", 1000 } };
	size_t i, len = s ? strlen(s) : 0;

	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		size_t sl = strlen(units[i].suffix);
		char num[32];

		if (len <= sl || len - sl >= sizeof(num) ||
		    strcmp(s + len - sl, units[i].suffix) != 0)
			continue;
		memcpy(num, s, len - sl);
		num[len - sl] = '\0';
		if (!isdigit((unsigned char)num[len - sl - 1]))
			continue;
		return duration_number(num, units[i].mult, out_ms);
	}
	return -1;
}
