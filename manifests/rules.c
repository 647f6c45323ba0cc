/*
 * rules: see rules.h. Where Daytona's own checks are looser than what a
 * reviewed plan should show (control characters in names), sandform is
 * stricter, as docs/manifest.md says.
 */
#include "common/base.h"

#include <ctype.h>

#include "common/escape.h"
#include "common/validate.h"
#include "manifests/doc.h"
#include "manifests/rules.h"
#include "manifests/spec.h"

/*
 * rule_name_problem: why name is not a safe sandbox name, with what is expected
 * ("what is wrong (expected ...)"), or NULL.
 */
unsigned
rule_invisible(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), len;
	unsigned cp;

	while (n > 0) {
		len = esc_utf8_next(p, n, &cp);
		if (len == 0)
			return 0; /* the loader refused invalid UTF-8 */
		if (esc_invisible(cp) || (cp >= 0x80 && cp <= 0x9F))
			return cp;
		p += len;
		n -= len;
	}
	return 0;
}

const char *
rule_name_problem(const char *s)
{
	unsigned problems;

	if (*s == '\0')
		return "empty name (expected a sandbox name)";
	if (strlen(s) > SPEC_MAX_NAME)
		return "name longer than 255 bytes (expected at most 255 "
		       "bytes)";
	if (doc_has_control(s))
		return "control character in name (expected a name without "
		       "control characters)";
	if (rule_invisible(s))
		return "name contains an invisible, reordering or control "
		       "character (bidirectional override, zero-width, C1) "
		       "(expected visible text only)";
	if (isspace((unsigned char)s[0]) ||
	    isspace((unsigned char)s[strlen(s) - 1]))
		return "name starts or ends with a space (expected no leading "
		       "or trailing space)";
	if (strncmp(s, "DESTROYED_", 10) == 0)
		return "names starting with 'DESTROYED_' are reserved by "
		       "Daytona (expected a name not starting with "
		       "DESTROYED_)";
	/*
	 * Daytona's IsSafeDisplayString refuses '<' followed by a letter or
	 * '/' whether or not a '>' follows; doc_has_control() covered the rest.
	 */
	problems = validate_display_string(s);
	if (problems & VALIDATE_TAG_OPEN)
		return "name contains an HTML tag ('<' followed by a letter or "
		       "'/') (expected no '<' before a letter or '/')";
	if (problems & VALIDATE_URL)
		return "name contains a URL scheme or 'www.' (expected a name "
		       "without URL schemes or 'www.')";
	return NULL;
}

const char *
rule_stack_name_problem(const char *s)
{
	size_t i, len = strlen(s);

	if (len == 0)
		return "the stack name is empty (expected 1 to 63 letters, "
		       "digits, '-', '_' or '.')";
	if (len > RULE_MAX_STACK_NAME)
		return "the stack name is longer than 63 bytes (expected at "
		       "most 63)";
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (isalnum(c) && c < 0x80)
			continue;
		if (i == 0)
			return "a stack name starts with a letter or digit "
			       "(expected [A-Za-z0-9] first)";
		if (c != '-' && c != '_' && c != '.')
			return "a stack name holds only letters, digits, '-', "
			       "'_' and '.' (expected no other character)";
	}
	return NULL;
}

bool
rule_env_name_ok(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return false;
	for (s++; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return false;
	return true;
}

/* rule_cidr_ok: "a.b.c.d/n", n 0..32, no leading zeros. */
bool
rule_cidr_ok(const char *s)
{
	return validate_cidr(s, VALIDATE_NO_LEADING_ZERO);
}

/* rule_domain_ok: Daytona's domainAllowList rule (validate_domain). */
bool
rule_domain_ok(const char *s)
{
	return validate_domain(s);
}

/* Absolute, not "/", no "//", no "." or ".." segment, no control. */
bool
rule_mount_path_ok(const char *s)
{
	return !doc_has_control(s) &&
	       validate_mount_path(s) == VALIDATE_PATH_OK;
}

/* Relative and not empty, no "//", no "." or ".." segment, no control. */
bool
rule_subpath_ok(const char *s)
{
	return *s != '\0' && !doc_has_control(s) &&
	       validate_subpath(s) == VALIDATE_PATH_OK &&
	       !validate_has_segment(s, ".");
}
