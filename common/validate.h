/*
 * validate: Daytona's value rules for sandbox input (daytona-api.md §7) —
 * safe display strings, IPv4 CIDRs, host names, volume mount paths and
 * subpaths, UUIDs. One implementation serves both the manifest loader, which
 * layers its own stricter rules on top and words its diagnostics as
 * "expected ...", and daytona-emulator, which answers with Daytona's text.
 *
 * No message text lives here: the checks return a bool, a bit set or a
 * reason code and each caller keeps its own wording. Everything is pure on
 * NUL-terminated strings; nothing is allocated or kept.
 */
#ifndef SF_COMMON_VALIDATE_H
#define SF_COMMON_VALIDATE_H

#include <stdbool.h>

#define VALIDATE_MAX_LABEL 63 /* bytes of one host name label */

/* Problems of a display string, as bits (validate_display_string). */
enum {
	VALIDATE_CONTROL = 1 << 0,  /* ASCII control other than tab, CR, LF */
	VALIDATE_TAG_OPEN = 1 << 1, /* '<' followed by a letter or '/' */
	VALIDATE_TAG = 1 << 2,      /* such a '<' with a '>' after it */
	VALIDATE_URL = 1 << 3,      /* a URL scheme or "www.", any case */
};

/*
 * validate_display_string: the VALIDATE_* problems of s. Daytona's
 * IsSafeDisplayString accepts exactly the strings with none (VALIDATE_TAG is
 * only ever set together with VALIDATE_TAG_OPEN).
 */
unsigned validate_display_string(const char *s);

/* Stricter variants, for input sandform itself writes. */
enum {
	VALIDATE_NO_LEADING_ZERO = 1 << 0, /* CIDR: "01.2.3.4/8" is invalid */
};

/* validate_cidr: "a.b.c.d/n", each octet 0-255 and n 0-32, decimal. */
bool validate_cidr(const char *s, unsigned flags);

/*
 * validate_ipv4: "a.b.c.d", each octet 0-255 in decimal without a leading
 * zero (Node.js net.isIPv4(), which Daytona's networkAllowList check uses).
 */
bool validate_ipv4(const char *s);

/*
 * validate_domain: Daytona's domainAllowList rule (v0.190.0
 * network-validation.util.ts), the one rule of both the manifest loader
 * and the emulator: an optional leading "*.", one or more labels of
 * letters, digits and inner '-' (1 to VALIDATE_MAX_LABEL bytes), each
 * followed by '.', then a top-level label of two or more letters only —
 * "example.123", "1.2.3.4" and "a.b" are refused.
 */
bool validate_domain(const char *s);

/*
 * validate_secret_name: an organization secret's name,
 * ^[a-zA-Z_][a-zA-Z0-9_-]*$ (@daytonaio/sdk 0.218.0 Secret.d.ts): what
 * daytona-emulator accepts at POST /secret and the manifest loader in
 * spec.secrets values.
 */
bool validate_secret_name(const char *s);

/* Why a volume path is invalid (in the order Daytona checks). */
enum validate_path {
	VALIDATE_PATH_OK = 0,
	VALIDATE_PATH_RELATIVE, /* a mount path must be absolute */
	VALIDATE_PATH_ROOT,     /* a mount path must not be "/" */
	VALIDATE_PATH_ABSOLUTE, /* a subpath must be relative */
	VALIDATE_PATH_SLASHES,  /* "//" */
	VALIDATE_PATH_DOT,      /* a "." or ".." segment in a mount path */
	VALIDATE_PATH_DOTDOT,   /* a ".." segment in a subpath */
	VALIDATE_PATH__COUNT
};

/* validate_mount_path: absolute, not "/", no "//", no "." or "..". */
enum validate_path validate_mount_path(const char *s);
/* validate_subpath: relative, no "//", no ".." ("" and "." pass). */
enum validate_path validate_subpath(const char *s);
/* validate_has_segment: is seg one of the '/'-separated parts of path? */
bool validate_has_segment(const char *path, const char *seg);

/* validate_uuid: 8-4-4-4-12 hex digits, either case. */
bool validate_uuid(const char *s);

#endif
