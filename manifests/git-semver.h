/*
 * git-semver: semantic versions (semver.org 2.0.0) and the version ranges
 * a git source's `semver:` ref selects tags with (manifests/source-git.h).
 *
 *	struct semver v;
 *	struct semver_range *r;
 *	if (semver_range_parse(">=1.2.0 <2.0.0", &r) == 0 &&
 *	    semver_parse("v1.4.2", &v) == 0) {
 *		if (semver_range_match(r, &v)) ...
 *		semver_clear(&v);
 *		semver_range_free(r);
 *	}
 *
 * Versions: MAJOR.MINOR.PATCH, optionally "-PRERELEASE" (dot-separated
 * identifiers of [0-9A-Za-z-]) and "+BUILD" (ignored for precedence), and
 * a leading "v" (tags are usually "v1.2.3"). Numbers have no leading
 * zeros and are at most SEMVER_MAX_NUMBER.
 *
 * Ranges, the npm/node-semver grammar that Flux and Helm users write:
 * comparator sets joined by "||"; a set is comparators separated by spaces
 * or commas, all of which must hold. A comparator is an operator (=, >,
 * >=, <, <=, ~ "patch updates", ^ "compatible updates") and a version that
 * may be partial or use x, X or * wildcards ("1.2", "1.x", "*"); "A - B" is an
 * inclusive hyphen range. A prerelease version (1.3.0-rc.1) matches only
 * a set that names a prerelease of the same MAJOR.MINOR.PATCH, so
 * ">=1.2.0" never picks a release candidate by surprise.
 *
 * Errors: the parsers return SF_EINVALID with a message naming the text
 * (sf_error_last()). Ownership: semver_clear() frees a version's strings;
 * semver_range_free() a range (NULL-safe).
 */
#ifndef SF_MANIFESTS_GIT_SEMVER_H
#define SF_MANIFESTS_GIT_SEMVER_H

#include <stdbool.h>
#include <stddef.h>

/* The largest number in a version, and the longest range text read. */
#define SEMVER_MAX_NUMBER    9007199254740991ULL /* 2^53 - 1 */
#define SEMVER_MAX_RANGE_LEN 1024

struct semver {
	unsigned long long major, minor, patch;
	char *pre; /* the prerelease ("rc.1"), NULL when none */
};

/* semver_parse: a whole version ("1.2.3", "v1.2.3-rc.1+build.5"). */
int semver_parse(const char *s, struct semver *out);
void semver_clear(struct semver *v);
/* semver_cmp: <0, 0, >0 by semver precedence (build metadata ignored). */
int semver_cmp(const struct semver *a, const struct semver *b);

struct semver_range;

int semver_range_parse(const char *s, struct semver_range **out);
bool semver_range_match(const struct semver_range *r, const struct semver *v);
void semver_range_free(struct semver_range *r);

#endif
