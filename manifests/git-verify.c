/*
 * git-verify: ssh-keygen is run in three steps, as git does it, so the
 * messages can tell a forged signature from an honest signature by a key
 * nobody allowed: check-novalidate (is the signature good at all, and by
 * which key), find-principals (which allowed signer holds that key), then
 * verify with that principal and the object's own time (a key allowed
 * only until a date still verifies what was signed before it).
 */
#include "common/base.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/fileutil.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "manifests/git-verify.h"
#include "manifests/source-git.h"

extern char **environ;

/* What ssh-keygen may print at most (read back from a file). */
#define GITVERIFY_MAX_OUTPUT (64 * 1024)

struct signed_obj {
	const char *payload; /* what was signed */
	size_t payload_len;
	const char *sig; /* the armoured signature */
	size_t sig_len;
	git_time_t when; /* committer or tagger time */
};

/* find_keygen: ssh-keygen's path in PATH, or NULL. */
static char *
find_keygen(void)
{
	const char *path = getenv("PATH"), *p, *colon;
	char *cand;
	size_t n;

	if (path == NULL || *path == '\0')
		path = "/usr/bin:/bin";
	for (p = path;; p = colon + 1) {
		colon = strchr(p, ':');
		n = colon ? (size_t)(colon - p) : strlen(p);
		cand = xasprintf("%.*s/ssh-keygen", (int)n, n ? p : ".");
		if (access(cand, X_OK) == 0)
			return cand;
		free(cand);
		if (colon == NULL)
			return NULL;
	}
}

static int
write_file(const char *dir, const char *name, const void *data, size_t len,
           char **path)
{
	*path = xasprintf("%s/%s", dir, name);
	return file_write_atomic(*path, data, len, 0600);
}

/*
 * keygen: run ssh-keygen with argv (argv[0] set here), stdin from in_path
 * (NULL: /dev/null), stdout and stderr into out. Returns its exit status
 * (0 ok), or -1 when it could not be run (message set).
 */
static int
keygen(const char *exe, const char **argv, const char *in_path, const char *dir,
       struct buf *out)
{
	posix_spawn_file_actions_t fa;
	char *out_path = xasprintf("%s/keygen.out", dir);
	pid_t pid;
	int st = 0, rc;

	argv[0] = exe;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(
	        &fa, 0, in_path ? in_path : "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, out_path,
	                                 O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	rc = posix_spawn(&pid, exe, &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		free(out_path);
		sf_error_set(SF_EAUTH, "running %s: %s", exe, strerror(rc));
		return -1;
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	buf_reset(out);
	if (file_read(out_path, GITVERIFY_MAX_OUTPUT, out) < 0)
		buf_reset(out);
	unlink(out_path);
	free(out_path);
	if (!WIFEXITED(st))
		return 255;
	return WEXITSTATUS(st);
}

/* first_line: the first line of b, trimmed (a new string). */
static char *
first_line(const struct buf *b)
{
	const char *s = buf_cstr(b);

	return xstrndup(s, strcspn(s, "\r\n"));
}

/* key_of: "ED25519 key SHA256:..." from a "Good ... with KEY" line. */
static char *
key_of(const struct buf *b)
{
	const char *s = strstr(buf_cstr(b), " with ");

	if (s == NULL)
		return xstrdup("unknown key");
	s += 6;
	return xstrndup(s, strcspn(s, "\r\n"));
}

static int
run_checks(const char *exe, const char *dir, const char *as,
           const char *payload, const char *sig, git_time_t when,
           const char *what, char **signer)
{
	struct buf out = BUF_INIT;
	char vt[64], *principal = NULL, *key = NULL, *l;
	struct tm tm;
	time_t t = (time_t)when;
	int st, rc = 0;
	const char *check[] = {
		NULL, "-Y", "check-novalidate", "-n", GITVERIFY_NAMESPACE, "-s",
		sig,  NULL
	};
	const char *find[] = { NULL, "-Y", "find-principals", "-f", as, "-s",
		               sig,  NULL };
	const char *verify[] = { NULL, "-Y", "verify",
		                 "-f", as,   "-I",
		                 NULL, "-n", GITVERIFY_NAMESPACE,
		                 "-s", sig,  vt,
		                 NULL };

	if ((st = keygen(exe, check, payload, dir, &out)) < 0)
		goto fail_set;
	if (st != 0) {
		l = first_line(&out);
		rc = sf_error_set(SF_EAUTH,
		                  "%s has a bad signature (ssh-keygen: %s)",
		                  what, l);
		free(l);
		goto out;
	}
	key = key_of(&out);
	if ((st = keygen(exe, find, NULL, dir, &out)) < 0)
		goto fail_set;
	if (st != 0 || out.len == 0) {
		rc = sf_error_set(SF_EAUTH,
		                  "%s is signed by %s, which is not an allowed "
		                  "signer",
		                  what, key);
		goto out;
	}
	principal = first_line(&out);
	gmtime_r(&t, &tm);
	strftime(vt, sizeof(vt), "-Overify-time=%Y%m%d%H%M%SZ", &tm);
	verify[6] = principal;
	if ((st = keygen(exe, verify, payload, dir, &out)) < 0)
		goto fail_set;
	if (st != 0) {
		l = first_line(&out);
		rc = sf_error_set(SF_EAUTH,
		                  "%s: the signature by '%s' (%s) does not "
		                  "verify: %s",
		                  what, principal, key, l);
		free(l);
		goto out;
	}
	*signer = xasprintf("%s (%s)", principal, key);
	goto out;
fail_set:
	rc = SF_EAUTH;
out:
	free(principal);
	free(key);
	buf_free(&out);
	return rc;
}

/* verify: sig over payload, against the allowed signers file as. */
static int
verify(const struct signed_obj *o, const char *as_file, const char *what,
       char **signer)
{
	struct buf as = BUF_INIT;
	const char *tmp = getenv("TMPDIR");
	char *dir = NULL, *exe = NULL, *p_payload = NULL, *p_sig = NULL,
	     *p_as = NULL;
	int rc;

	*signer = NULL;
	if (strstr(o->sig, "-----BEGIN SSH SIGNATURE-----") != o->sig)
		return sf_error_set(SF_EAUTH,
		                    "%s is signed with %s; only SSH signatures "
		                    "are verified",
		                    what,
		                    strncmp(o->sig, "-----BEGIN PGP", 14) == 0
		                            ? "OpenPGP"
		                            : "X.509");
	if ((exe = find_keygen()) == NULL)
		return sf_error_set(SF_EAUTH,
		                    "cannot verify %s: ssh-keygen is not in "
		                    "PATH (install openssh-client)",
		                    what);
	if (file_read(as_file, GITSRC_MAX_SIGNERS_LEN, &as) < 0) {
		rc = sf_error_set(SF_EAUTH, "allowed signers: %s",
		                  sf_error_last());
		goto out;
	}
	dir = xasprintf("%s/sandform-verify-XXXXXX",
	                tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		rc = sf_error_set(SF_EIO, "creating %s: %s", dir,
		                  strerror(errno));
		goto out;
	}
	if ((rc = write_file(dir, "payload", o->payload, o->payload_len,
	                     &p_payload)) < 0 ||
	    (rc = write_file(dir, "sig", o->sig, o->sig_len, &p_sig)) < 0 ||
	    (rc = write_file(dir, "allowed_signers", as.data ? as.data : "",
	                     as.len, &p_as)) < 0)
		goto out;
	rc = run_checks(exe, dir, p_as, p_payload, p_sig, o->when, what,
	                signer);
	if (rc == 0)
		log_debug("%s: good signature by %s", what, *signer);
out:
	if (p_payload)
		unlink(p_payload);
	if (p_sig)
		unlink(p_sig);
	if (p_as)
		unlink(p_as);
	if (dir)
		rmdir(dir);
	free(p_payload);
	free(p_sig);
	free(p_as);
	free(dir);
	free(exe);
	buf_free(&as);
	return rc;
}

int
gitverify_commit(git_repository *repo, const git_oid *commit,
                 const char *allowed_signers, const char *what, char **signer)
{
	git_buf sig = { 0 }, data = { 0 };
	git_commit *c = NULL;
	struct signed_obj o;
	int grc, rc;

	*signer = NULL;
	grc = git_commit_extract_signature(&sig, &data, repo, (git_oid *)commit,
	                                   NULL);
	if (grc == GIT_ENOTFOUND)
		return sf_error_set(SF_EAUTH,
		                    "%s is not signed (verify mode head needs "
		                    "a signed commit)",
		                    what);
	if (grc < 0 || (grc = git_commit_lookup(&c, repo, commit)) < 0) {
		const git_error *e = git_error_last();

		rc = sf_error_set(SF_EAUTH, "reading the signature of %s: %s",
		                  what, e ? e->message : "failed");
		goto out;
	}
	memset(&o, 0, sizeof(o));
	o.payload = data.ptr;
	o.payload_len = data.size;
	o.sig = sig.ptr;
	o.sig_len = sig.size;
	o.when = git_commit_committer(c)->when.time;
	rc = verify(&o, allowed_signers, what, signer);
out:
	git_commit_free(c);
	git_buf_dispose(&sig);
	git_buf_dispose(&data);
	return rc;
}

/* tag_signature: where the signature starts in a raw tag object: the
 * last line beginning "-----BEGIN " (a signature is appended to the
 * message); NULL when none. */
static const char *
tag_signature(const char *raw, size_t n)
{
	const char *last = NULL, *p = raw, *end = raw + n;

	while (p < end) {
		if ((size_t)(end - p) > 11 &&
		    strncmp(p, "-----BEGIN ", 11) == 0)
			last = p;
		p = memchr(p, '\n', (size_t)(end - p));
		if (p == NULL)
			break;
		p++;
	}
	return last;
}

int
gitverify_tag(git_repository *repo, const git_oid *tag,
              const char *allowed_signers, const char *what, char **signer)
{
	git_odb *odb = NULL;
	git_odb_object *obj = NULL;
	git_tag *t = NULL;
	struct signed_obj o;
	const char *raw, *s;
	char *sig = NULL;
	size_t n;
	int rc;

	*signer = NULL;
	if (git_repository_odb(&odb, repo) < 0 ||
	    git_odb_read(&obj, odb, tag) < 0 ||
	    git_odb_object_type(obj) != GIT_OBJECT_TAG ||
	    git_tag_lookup(&t, repo, tag) < 0) {
		rc = sf_error_set(SF_EAUTH,
		                  "%s is not an annotated tag (verify mode "
		                  "tag needs a signed annotated tag)",
		                  what);
		goto out;
	}
	raw = git_odb_object_data(obj);
	n = git_odb_object_size(obj);
	if ((s = tag_signature(raw, n)) == NULL) {
		rc = sf_error_set(SF_EAUTH,
		                  "%s is not signed (verify mode tag needs a "
		                  "signed tag)",
		                  what);
		goto out;
	}
	sig = xstrndup(s, n - (size_t)(s - raw));
	memset(&o, 0, sizeof(o));
	o.payload = raw;
	o.payload_len = (size_t)(s - raw);
	o.sig = sig;
	o.sig_len = strlen(sig);
	o.when = git_tag_tagger(t) ? git_tag_tagger(t)->when.time : 0;
	rc = verify(&o, allowed_signers, what, signer);
out:
	free(sig);
	git_tag_free(t);
	git_odb_object_free(obj);
	git_odb_free(odb);
	return rc;
}
