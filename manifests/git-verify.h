/*
 * git-verify: signed revisions for git sources (internal to
 * manifests/source-git.c): a commit's or an annotated tag's SSH signature
 * checked against an allowed_signers file with the semantics of
 * `ssh-keygen -Y verify` (ssh-keygen(1) "ALLOWED SIGNERS"), namespace
 * "git", at the time the commit or tag was made, as git verify-commit does.
 *
 * The reference implementation does the cryptography: Debian's ssh-keygen
 * (openssh-client) is run, found in PATH, without a shell, and fed only
 * files written here into a fresh private temporary directory (the signed
 * payload, the signature, and a copy of the allowed signers). Without
 * ssh-keygen verification fails with a message saying so, never passes.
 *
 * Returns 0 (*signer: "PRINCIPAL (KEYTYPE SHA256:...)", caller frees), or
 * SF_EAUTH naming the object and why: not signed, signed with OpenPGP or
 * X.509 (only SSH signatures are verified), a bad signature, a key not in
 * the allowed signers (its fingerprint), ssh-keygen missing or failing.
 */
#ifndef SF_MANIFESTS_GIT_VERIFY_H
#define SF_MANIFESTS_GIT_VERIFY_H

#include <git2.h>

/* The ssh-keygen namespace of git's SSH signatures. */
#define GITVERIFY_NAMESPACE "git"

/* gitverify_commit: the commit's signature; what names it in messages. */
int gitverify_commit(git_repository *repo, const git_oid *commit,
                     const char *allowed_signers, const char *what,
                     char **signer);
/* gitverify_tag: an annotated tag object's signature. */
int gitverify_tag(git_repository *repo, const git_oid *tag,
                  const char *allowed_signers, const char *what, char **signer);

#endif
