/*
 * The rules follow Daytona's validators (daytona-api.md §7):
 * IsSafeDisplayString for names, network-validation.util.ts for the allow lists
 * and volume-mount-path-validation.util.ts for volumes. The manifest loader and
 * the emulator both call these; what one of them checks beyond Daytona (the
 * VALIDATE_NO_LEADING_ZERO flag, the manifest's own control-character and
 * "." rules) stays visible at its call site. validate_domain() and
 * validate_secret_name() are one rule for both, with no flags.
 */
#include "common/base.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "common/validate.h"

static const char *const url_patterns[] = {
	"http://", "https://", "ftp://",  "ftps://", "sftp://",  "ssh://",
	"ws://",   "wss://",   "file://", "ldap://", "ldaps://", "javascript:",
	"data:",   "mailto:",  "tel:",    "www.",
};

static bool
ci_contains(const char *s, const char *needle)
{
	size_t n = strlen(needle);
	int first = tolower((unsigned char)*needle);

	/* the first letter before the call: every sandbox name of a plan
	 * comes here 16 times */
	for (; *s; s++)
		if (tolower((unsigned char)*s) == first &&
		    strncasecmp(s, needle, n) == 0)
			return true;
	return false;
}

unsigned
validate_display_string(const char *s)
{
	unsigned problems = 0;
	const char *p, *tag = NULL;
	size_t i;

	for (p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') ||
		    c == 0x7f)
			problems |= VALIDATE_CONTROL;
		/* Daytona's HTML tag pattern starts <[a-zA-Z/] */
		if (!tag && c == '<' &&
		    (isalpha((unsigned char)p[1]) || p[1] == '/'))
			tag = p;
	}
	if (tag) {
		problems |= VALIDATE_TAG_OPEN;
		if (strchr(tag + 1, '>') != NULL)
			problems |= VALIDATE_TAG;
	}
	/* every pattern has a ':' or a '.': without one, no pattern is there
	 * (one pass instead of sixteen for nearly every name) */
	if (strpbrk(s, ":.") == NULL)
		return problems;
	for (i = 0; i < sizeof(url_patterns) / sizeof(url_patterns[0]); i++)
		if (ci_contains(s, url_patterns[i])) {
			problems |= VALIDATE_URL;
			break;
		}
	return problems;
}

/* An IPv4 octet or prefix: 1-3 decimal digits, at most 255. */
static const char *
parse_octet(const char *p, unsigned flags, int *out)
{
	int v = 0, digits = 0;

	if ((flags & VALIDATE_NO_LEADING_ZERO) && *p == '0' &&
	    isdigit((unsigned char)p[1]))
		return NULL;
	while (isdigit((unsigned char)*p) && digits < 4) {
		v = v * 10 + (*p - '0');
		p++;
		digits++;
	}
	if (digits == 0 || digits > 3 || v > 255)
		return NULL;
	*out = v;
	return p;
}

bool
validate_cidr(const char *s, unsigned flags)
{
	int i, v;
	const char *p = s;

	for (i = 0; i < 4; i++) {
		p = parse_octet(p, flags, &v);
		if (p == NULL)
			return false;
		if (i < 3 && *p++ != '.')
			return false;
	}
	if (*p++ != '/')
		return false;
	p = parse_octet(p, flags, &v);
	return p != NULL && *p == '\0' && v <= 32;
}

bool
validate_ipv4(const char *s)
{
	const char *p = s;
	int i, v;

	for (i = 0; i < 4; i++) {
		p = parse_octet(p, VALIDATE_NO_LEADING_ZERO, &v);
		if (p == NULL)
			return false;
		if (i < 3 && *p++ != '.')
			return false;
	}
	return *p == '\0';
}

bool
validate_domain(const char *s)
{
	size_t labels = 0, len, i;
	const char *p, *dot;

	if (strncmp(s, "*.", 2) == 0)
		s += 2;
	for (p = s; (dot = strchr(p, '.')) != NULL; p = dot + 1) {
		len = (size_t)(dot - p);
		if (len == 0 || len > VALIDATE_MAX_LABEL || p[0] == '-' ||
		    p[len - 1] == '-')
			return false;
		for (i = 0; i < len; i++)
			if (!isalnum((unsigned char)p[i]) && p[i] != '-')
				return false;
		labels++;
	}
	/* p is the top-level label: letters only, two or more */
	for (len = 0; p[len]; len++)
		if (!isalpha((unsigned char)p[len]))
			return false;
	return labels >= 1 && len >= 2;
}

bool
validate_secret_name(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return false;
	for (s++; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
			return false;
	return true;
}

bool
validate_has_segment(const char *path, const char *seg)
{
	size_t l = strlen(seg);
	const char *p, *e;
	size_t n;

	for (p = path; *p;) {
		e = strchr(p, '/');
		n = e ? (size_t)(e - p) : strlen(p);
		if (n == l && strncmp(p, seg, l) == 0)
			return true;
		if (!e)
			break;
		p = e + 1;
	}
	return false;
}

enum validate_path
validate_mount_path(const char *s)
{
	if (s[0] != '/')
		return VALIDATE_PATH_RELATIVE;
	if (s[1] == '\0')
		return VALIDATE_PATH_ROOT;
	if (strstr(s, "//") != NULL)
		return VALIDATE_PATH_SLASHES;
	if (validate_has_segment(s, ".") || validate_has_segment(s, ".."))
		return VALIDATE_PATH_DOT;
	return VALIDATE_PATH_OK;
}

enum validate_path
validate_subpath(const char *s)
{
	if (s[0] == '/')
		return VALIDATE_PATH_ABSOLUTE;
	if (strstr(s, "//") != NULL)
		return VALIDATE_PATH_SLASHES;
	if (validate_has_segment(s, ".."))
		return VALIDATE_PATH_DOTDOT;
	return VALIDATE_PATH_OK;
}

bool
validate_uuid(const char *s)
{
	size_t i;

	if (strlen(s) != 36)
		return false;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!isxdigit((unsigned char)s[i])) {
			return false;
		}
	}
	return true;
}
