/*
 * git-remote: talking to a git source's remote (internal to
 * manifests/source-git.c): the connection with its credentials (HTTPS
 * token, SSH key or agent), TLS trust and strict SSH host-key checking,
 * the ref advertisement, the download of a few refspecs, and libgit2's
 * failures turned into sandform errors without credentials in them.
 *
 *	struct gitremote *r;
 *	if (gitremote_connect(repo, cfg, &r) == 0) {	// one round trip
 *		gitremote_ls(r, &heads, &n);
 *		gitremote_download(r, specs, nspecs);	// objects only
 *		gitremote_free(r);
 *	}
 *
 * Errors are set with sf_error_set() (see source-git.h for the codes);
 * gitremote_local() tells afterwards whether a failure came from the local
 * repository (a damaged cache) rather than from the remote.
 */
#ifndef SF_MANIFESTS_GIT_REMOTE_H
#define SF_MANIFESTS_GIT_REMOTE_H

#include <stdbool.h>

#include <git2.h>

#include "manifests/source-git.h"

struct gitremote;

/* gitremote_connect: connect and read the ref advertisement; repo NULL:
 * a detached remote that can list refs only. */
int gitremote_connect(git_repository *repo, const struct gitsrc_config *cfg,
                      struct gitremote **out);
/* gitremote_ls: the advertised refs, valid until gitremote_free(). */
int gitremote_ls(struct gitremote *r, const git_remote_head ***heads,
                 size_t *n);
/* gitremote_download: fetch the objects refspecs[0..n) need (no refs are
 * updated, no tags followed, no FETCH_HEAD). */
int gitremote_download(struct gitremote *r, const char *const *refspecs,
                       size_t n);
void gitremote_free(struct gitremote *r);

/*
 * gitsrc_git_fail: set the sf_error for the libgit2 failure grc while
 * doing what ("fetching", ...) at shown (the redacted URL), with the text
 * of url (and its password) redacted out of libgit2's message; returns
 * the SF_E* code. Used by the whole git source.
 */
int gitsrc_git_fail(int grc, const char *what, const char *url,
                    const char *shown);
/* gitremote_local: the last gitsrc_git_fail() was about the local
 * repository (objects, refs, the index of a pack): a damaged cache. */
bool gitremote_local(void);
void gitremote_local_clear(void);

#endif
