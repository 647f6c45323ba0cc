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
		long long v;
		const char *err;

		if (len <= sl || len - sl >= sizeof(num) ||
		    strcmp(s + len - sl, units[i].suffix) != 0)
			continue;
		memcpy(num, s, len - sl);
		num[len - sl] = '\0';
		if (!isdigit((unsigned char)num[len - sl - 1]))
			continue;
		if (strnum_parse(num, 0, LLONG_MAX / units[i].mult, &v, &err) <
		    0)
			return -1;
		*out_ms = v * units[i].mult;
		return 0;
	}
	return -1;
}
