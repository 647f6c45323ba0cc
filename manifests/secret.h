/*
 * secret: resolving the secret references of a spec's env
 * ({secretEnv: NAME}, {secretFile: PATH}) into their values, when an
 * action needs them (DESIGN.md §3).
 *
 * Ownership and secrecy: a resolved value is an owned string the caller
 * releases with free_secret() (common/xalloc.h: wipes, then frees). No
 * message ever contains a value: failures name the env key and the
 * reference (variable name or path).
 */
#ifndef SF_MANIFESTS_SECRET_H
#define SF_MANIFESTS_SECRET_H

#include "manifests/spec.h"

/* Bytes of a secretFile read at most. */
#define SECRET_MAX_FILE (64u * 1024)

/*
 * secret_fn: a resolver. Returns 0 and sets *value (release it with
 * free_secret()), or a negative SF_E* code with the message set naming the
 * missing reference (never a value). Apply, plan and tests pass their own
 * (with arg) where the default below does not fit.
 */
typedef int (*secret_fn)(void *arg, const struct spec_env *e, char **value);

/*
 * secret_resolve: the default resolver (arg unused): SPEC_ENV_SECRET_ENV
 * from the environment (unset is SF_ENOTFOUND, empty is allowed),
 * SPEC_ENV_SECRET_FILE from a regular file of at most SECRET_MAX_FILE
 * bytes with one trailing "\n" (or "\r\n") removed (a NUL byte is
 * SF_EINVALID, an unreadable file SF_EIO); SPEC_ENV_PLAIN gives a copy of
 * the value.
 */
int secret_resolve(void *arg, const struct spec_env *e, char **value);

#endif
