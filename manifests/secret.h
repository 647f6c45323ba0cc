/*
 * secret: resolving the secret references of a spec's env
 * ({secretEnv: NAME}, {secretFile: PATH}) into their values, when an
 * action needs them (DESIGN.md §3), under a policy of what a manifest may
 * read.
 *
 * Trust model: manifests may come from a repository, written by people
 * who must not read the runner's own secrets. So a secretEnv may not name
 * sandform's or Daytona's own variables (DAYTONA_*, SANDFORM_*: the API
 * key among them), and a secretFile must be a file inside a directory the
 * operator allowed: the root of a path source (the directory given, or the
 * directory of a file given) and every --secret-dir. The check is made on
 * the opened file (its real path, symbolic links resolved), so a link to
 * /etc/shadow or a file swapped for one after the check reads nothing.
 *
 * Ownership and secrecy: a resolved value is an owned string the caller
 * releases with free_secret() (common/xalloc.h: wipes, then frees). No
 * message ever contains a value: failures name the env key and the
 * reference (variable name or path).
 */
#ifndef SF_MANIFESTS_SECRET_H
#define SF_MANIFESTS_SECRET_H

#include <stdbool.h>
#include <stddef.h>

#include "manifests/spec.h"

/* Bytes of a secretFile read at most. */
#define SECRET_MAX_FILE (64u * 1024)

/*
 * secret_fn: a resolver. Returns 0 and sets *value (release it with
 * free_secret()), or a negative SF_E* code with the message set naming the
 * missing or refused reference (never a value).
 */
typedef int (*secret_fn)(void *arg, const struct spec_env *e, char **value);

/* The directories secretFile references may read from. */
struct secret_policy {
	char **dirs; /* real paths, without a trailing '/' */
	size_t ndirs;
};

#define SECRET_POLICY_INIT \
	{                  \
		NULL, 0    \
	}

/*
 * secret_policy_allow: allow files under dir (a directory; a file's
 * directory when dir names a file, "." for "-"). Returns 0, or SF_EIO
 * naming dir when it does not exist.
 */
int secret_policy_allow(struct secret_policy *p, const char *dir);
void secret_policy_clear(struct secret_policy *p);

/* secret_env_refused: whether a secretEnv may not name var (DAYTONA_*,
 * SANDFORM_*). */
bool secret_env_refused(const char *var);

/*
 * secret_resolve: the resolver; arg is a const struct secret_policy *
 * (NULL: no directory is allowed, so every secretFile is refused).
 * SPEC_ENV_SECRET_ENV comes from the environment (unset is SF_ENOTFOUND,
 * empty is allowed, a refused name SF_EINVALID); SPEC_ENV_SECRET_FILE from
 * a regular file under an allowed directory (else SF_EINVALID naming the
 * directories) of at most SECRET_MAX_FILE bytes with one trailing "\n" (or
 * "\r\n") removed (a NUL byte is SF_EINVALID, an unreadable file SF_EIO);
 * SPEC_ENV_PLAIN gives a copy of the value.
 */
int secret_resolve(void *arg, const struct spec_env *e, char **value);

#endif
