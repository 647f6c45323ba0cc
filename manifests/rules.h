/*
 * rules: Daytona's value rules for manifest fields (daytona-api.md §7), used
 * by validation and pinned by unit tests.
 */
#ifndef SF_MANIFESTS_RULES_H
#define SF_MANIFESTS_RULES_H

#include <stdbool.h>

/*
 * rule_name_problem: why name is not a safe sandbox name, written as
 * "what is wrong (expected ...)", or NULL when it is fine.
 */
const char *rule_name_problem(const char *name);
/* rule_env_name_ok: [A-Za-z_][A-Za-z0-9_]* (a secretEnv variable). */
bool rule_env_name_ok(const char *s);
/* rule_cidr_ok: an IPv4 CIDR "a.b.c.d/n", n 0..32, no leading zeros. */
bool rule_cidr_ok(const char *s);
/* rule_domain_ok: a host name of two or more labels with an optional
 * leading "*.", whose last label does not start with a digit. */
bool rule_domain_ok(const char *s);
/* rule_mount_path_ok: absolute, not "/", no "//", no "." or ".."
 * segment, no control character. */
bool rule_mount_path_ok(const char *s);
/* rule_subpath_ok: relative and not empty, no "//", no "." or ".."
 * segment, no control character. */
bool rule_subpath_ok(const char *s);

#endif
