/*
 * rules: Daytona's value rules for manifest fields (daytona-api.md §7), used
 * by validation and pinned by unit tests.
 */
#ifndef SF_MANIFESTS_RULES_H
#define SF_MANIFESTS_RULES_H

#include <stdbool.h>

#include "manifests/spec.h"

/*
 * rule_name_problem: why name is not a safe sandbox name, written as
 * "what is wrong (expected ...)", or NULL when it is fine.
 */
const char *rule_name_problem(const char *name);
/*
 * rule_invisible: the first invisible, reordering or C1 control code point
 * in s (common/escape.h esc_invisible(): bidirectional overrides,
 * zero-width characters; and U+0080..U+009F), or 0. Such characters make one
 * name look like another in a reviewed plan, so names and labels refuse them.
 */
unsigned rule_invisible(const char *s);
/* Label sizes sandform accepts. Daytona sets no limit per label (only its
 * 1 MiB request body bounds them), so these keep a plan reviewable and far
 * below that bound. */
#define RULE_MAX_LABEL_KEY   256  /* bytes */
#define RULE_MAX_LABEL_VALUE 4096 /* bytes */

/* The longest stack name: it is a label value and part of file names. */
#define RULE_MAX_STACK_NAME 63

/*
 * rule_stack_name_problem: why name is not a stack name (1 to
 * RULE_MAX_STACK_NAME bytes of ASCII letters, digits, '-', '_' and '.',
 * starting with a letter or digit), written "what is wrong (expected
 * ...)"; NULL when it is one.
 */
const char *rule_stack_name_problem(const char *name);
/* rule_env_name_ok: [A-Za-z_][A-Za-z0-9_]* (a secretEnv variable). */
bool rule_env_name_ok(const char *s);
/* rule_cidr_ok: an IPv4 CIDR "a.b.c.d/n", n 0..32, no leading zeros. */
bool rule_cidr_ok(const char *s);
/* rule_domain_ok: labels of letters, digits and inner '-' with an
 * optional leading "*.", ending in a letters-only label of two or more
 * (validate_domain, the rule Daytona and daytona-emulator apply). */
bool rule_domain_ok(const char *s);
/* rule_mount_path_ok: absolute, not "/", no "//", no "." or ".."
 * segment, no control character. */
bool rule_mount_path_ok(const char *s);
/* rule_subpath_ok: relative and not empty, no "//", no "." or ".."
 * segment, no control character. */
bool rule_subpath_ok(const char *s);

#endif
