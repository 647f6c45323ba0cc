/*
 * Unit tests for the git source's own parsers and helpers: semver versions
 * and ranges, URLs (redaction, the cache key), known_hosts matching and
 * fingerprints, the configuration's checks, and the source over file://
 * repositories built here with libgit2 (ref kinds, tree order, provenance,
 * the cache, offline, the saved-plan check). Transports with servers are
 * covered end to end (tests/e2e/t6*.bats).
 */
#include "common/base.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <git2.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/error.h"
#include "common/fileutil.h"
#include "common/xalloc.h"
#include "manifests/git-knownhosts.h"
#include "manifests/git-semver.h"
#include "manifests/git-url.h"
#include "manifests/manifest.h"
#include "manifests/source-git.h"

/* ---- semver ------------------------------------------------------------- */

static int
cmpv(const char *a, const char *b)
{
	struct semver x, y;
	int c;

	assert_int_equal(semver_parse(a, &x), 0);
	assert_int_equal(semver_parse(b, &y), 0);
	c = semver_cmp(&x, &y);
	semver_clear(&x);
	semver_clear(&y);
	return c;
}

static void
test_semver_parse_cmp(void **state)
{
	struct semver v;
	static const char *const bad[] = { "1.2",      "01.2.3",
		                           "1.2.3-",   "1.2.3+",
		                           "x.y.z",    "1.2.3.4",
		                           "",         "v",
		                           "1.2.3-01", "9007199254740992.0.0" };
	size_t i;

	(void)state;
	assert_int_equal(semver_parse("v1.22.333-rc.1+b.5", &v), 0);
	assert_true(v.major == 1 && v.minor == 22 && v.patch == 333);
	assert_string_equal(v.pre, "rc.1");
	semver_clear(&v);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(semver_parse(bad[i], &v), SF_EINVALID);
	/* semver.org §11's order */
	assert_true(cmpv("1.0.0-alpha", "1.0.0-alpha.1") < 0);
	assert_true(cmpv("1.0.0-alpha.1", "1.0.0-alpha.beta") < 0);
	assert_true(cmpv("1.0.0-alpha.beta", "1.0.0-beta") < 0);
	assert_true(cmpv("1.0.0-beta.2", "1.0.0-beta.11") < 0);
	assert_true(cmpv("1.0.0-rc.1", "1.0.0") < 0);
	assert_true(cmpv("1.9.0", "1.10.0") < 0);
	assert_int_equal(cmpv("1.0.0+a", "v1.0.0+b"), 0);
}

static bool
in(const char *range, const char *version)
{
	struct semver_range *r;
	struct semver v;
	bool hit;

	assert_int_equal(semver_range_parse(range, &r), 0);
	assert_int_equal(semver_parse(version, &v), 0);
	hit = semver_range_match(r, &v);
	semver_clear(&v);
	semver_range_free(r);
	return hit;
}

static void
test_semver_ranges(void **state)
{
	struct semver_range *r;

	(void)state;
	assert_true(in(">=1.2.0 <2.0.0", "1.2.0"));
	assert_true(in(">=1.2.0 <2.0.0", "1.9.9"));
	assert_false(in(">=1.2.0 <2.0.0", "2.0.0"));
	assert_false(in(">=1.2.0 <2.0.0", "1.1.9"));
	assert_true(in(">=1.2.0, <2.0.0", "1.5.0")); /* commas too */
	assert_true(in(">= 1.2.0", "1.2.0"));
	/* prereleases only when the range names one of the same version */
	assert_false(in(">=1.2.0 <2.0.0", "1.5.0-rc.1"));
	assert_false(in("<2.0.0", "2.0.0-rc.1"));
	assert_true(in(">=1.5.0-rc.0 <2.0.0", "1.5.0-rc.1"));
	assert_false(in(">=1.5.0-rc.0 <2.0.0", "1.6.0-rc.1"));
	/* caret, tilde, partial, wildcards, hyphens, or */
	assert_true(in("^1.2.3", "1.9.0"));
	assert_false(in("^1.2.3", "2.0.0"));
	assert_true(in("^0.2.3", "0.2.9"));
	assert_false(in("^0.2.3", "0.3.0"));
	assert_false(in("^0.0.3", "0.0.4"));
	assert_true(in("~1.2.3", "1.2.9"));
	assert_false(in("~1.2.3", "1.3.0"));
	assert_true(in("~1", "1.9.0"));
	assert_true(in("1.2", "1.2.7"));
	assert_false(in("1.2", "1.3.0"));
	assert_true(in("1.x", "1.4.0"));
	assert_true(in("*", "3.0.0"));
	assert_false(in("*", "3.0.0-rc.1"));
	assert_true(in("1.2.3 - 2.3", "2.3.9"));
	assert_false(in("1.2.3 - 2.3", "2.4.0"));
	assert_true(in("<1.0.0 || >=3.0.0", "3.1.0"));
	assert_false(in("<1.0.0 || >=3.0.0", "2.0.0"));
	assert_true(in(">1.2", "1.3.0"));
	assert_false(in(">1.2", "1.2.9"));
	assert_true(in("<=1.2", "1.2.9"));
	assert_true(in("=1.2.3", "v1.2.3"));
	/* bad ranges */
	assert_int_equal(semver_range_parse(">=x.y", &r), SF_EINVALID);
	assert_int_equal(semver_range_parse("", &r), SF_EINVALID);
	assert_int_equal(semver_range_parse(">=1.0.0 ||", &r), SF_EINVALID);
	assert_int_equal(semver_range_parse(">=", &r), SF_EINVALID);
	assert_int_equal(semver_range_parse("1.2.3 - ", &r), SF_EINVALID);
	assert_null(r);
}

/* ---- URLs -----------------------------------------------------------------
 */

static void
check_redact(const char *url, const char *want)
{
	char *s = gitsrc_url_redact(url);

	assert_string_equal(s, want);
	free(s);
}

static void
check_norm(const char *url, const char *want)
{
	char *s = gitsrc_url_normalize(url);

	assert_string_equal(s, want);
	free(s);
}

static void
test_url(void **state)
{
	struct gitsrc_url u;

	(void)state;
	check_redact("https://user:s3cret@git.example.com/a/b.git?x=tok#f",
	             "https://git.example.com/a/b.git");
	check_redact("https://ghp_TOKEN@github.com/o/r",
	             "https://github.com/o/r");
	check_redact("ssh://git:pw@host:2222/r.git",
	             "ssh://git@host:2222/r.git");
	check_redact("ssh://git@host/r.git", "ssh://git@host/r.git");
	check_redact("git@github.com:o/r.git", "git@github.com:o/r.git");
	check_redact("https://h/p@q", "https://h/p@q");
	check_redact("/srv/repo.git", "/srv/repo.git");
	/* one cache for spellings of one repository */
	check_norm("HTTPS://Git.Example.com:443/a/b.git/",
	           "https://git.example.com/a/b");
	check_norm("https://tok@git.example.com/a/b",
	           "https://git.example.com/a/b");
	check_norm("git@github.com:o/r.git", "ssh://git@github.com/o/r");
	check_norm("ssh://git@github.com:22/o/r", "ssh://git@github.com/o/r");
	check_norm("ssh://[::1]:2222/r", "ssh://[::1]:2222/r");
	assert_int_equal(gitsrc_url_parse("ssh://git@[::1]:2222/r", &u), 0);
	assert_string_equal(u.host, "::1");
	assert_int_equal(u.port, 2222);
	gitsrc_url_clear(&u);
	assert_int_equal(gitsrc_url_parse("https://u:p@H.com/x", &u), 0);
	assert_string_equal(u.password, "p");
	assert_string_equal(u.host, "h.com");
	gitsrc_url_clear(&u);
	assert_int_equal(gitsrc_url_parse("ftp://h/x", &u), SF_EINVALID);
	assert_null(strstr(sf_error_last(), "secret"));
	assert_int_equal(gitsrc_url_parse("https://h:99999/x", &u),
	                 SF_EINVALID);
	assert_int_equal(gitsrc_url_parse("ftp://u:secret@h/x", &u),
	                 SF_EINVALID);
	assert_null(strstr(sf_error_last(), "secret"));
}

/* ---- known_hosts ----------------------------------------------------------
 */

/* A fake host key blob: the type string and some bytes. */
static size_t
blob(unsigned char *b, const char *type, unsigned char fill)
{
	size_t n = strlen(type);

	b[0] = b[1] = b[2] = 0;
	b[3] = (unsigned char)n;
	memcpy(b + 4, type, n);
	memset(b + 4 + n, fill, 32);
	return 4 + n + 32;
}

static char *
b64(const unsigned char *b, size_t n)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrst"
	                        "uvwxyz0123456789+/";
	char *s = xmalloc(n * 4 / 3 + 4), *p = s;
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		*p++ = t[b[i] >> 2];
		*p++ = t[((b[i] & 3) << 4) | (b[i + 1] >> 4)];
		*p++ = t[((b[i + 1] & 15) << 2) | (b[i + 2] >> 6)];
		*p++ = t[b[i + 2] & 63];
	}
	if (i < n) {
		*p++ = t[b[i] >> 2];
		if (i + 1 < n) {
			*p++ = t[((b[i] & 3) << 4) | (b[i + 1] >> 4)];
			*p++ = t[(b[i + 1] & 15) << 2];
		} else {
			*p++ = t[(b[i] & 3) << 4];
			*p++ = '=';
		}
		*p++ = '=';
	}
	*p = '\0';
	return s;
}

static enum knownhosts_result
kh(const char *file, const char *host, int port, const unsigned char *k,
   size_t n)
{
	enum knownhosts_result r;

	assert_int_equal(knownhosts_check(file, host, port, k, n, &r), 0);
	return r;
}

static void
test_knownhosts(void **state)
{
	unsigned char a[64], b[64], c[64], *d = NULL;
	size_t na = blob(a, "ssh-ed25519", 1), nb = blob(b, "ssh-ed25519", 2),
	       nc = blob(c, "ecdsa-sha2-nistp256", 3), nd = 0;
	char *ka = b64(a, na), *kb = b64(b, nb), *kc = b64(c, nc), *text;
	char path[] = "/tmp/sf-kh-XXXXXX", fp[KNOWNHOSTS_FP_LEN], type[32];
	int fd;

	(void)state;
	assert_int_equal(knownhosts_base64_decode(ka, strlen(ka), &d, &nd), 0);
	assert_int_equal(nd, na);
	assert_memory_equal(d, a, na);
	free(d);
	assert_int_equal(knownhosts_base64_decode("a$b", 3, &d, &nd), -1);
	knownhosts_key_type(a, na, type, sizeof(type));
	assert_string_equal(type, "ssh-ed25519");
	knownhosts_fingerprint(a, na, fp);
	assert_int_equal(strncmp(fp, "SHA256:", 7), 0);
	assert_int_equal(strlen(fp), 7 + 43);

	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	text = xasprintf("# comment\n"
	                 "git.example.com,10.0.0.1 ssh-ed25519 %s\n"
	                 "[git.example.com]:2222 ssh-ed25519 %s c\n"
	                 "*.corp.example ecdsa-sha2-nistp256 %s\n"
	                 "!bad.corp.example,*.corp.example ssh-ed25519 %s\n"
	                 "@revoked * ssh-ed25519 %s\n",
	                 ka, kb, kc, ka, kb);
	assert_int_equal(file_write_atomic(path, text, strlen(text), 0600), 0);
	assert_int_equal(kh(path, "git.example.com", 22, a, na),
	                 KNOWNHOSTS_MATCH);
	/* a port other than 22 is looked up as [host]:port */
	assert_int_equal(kh(path, "git.example.com", 2222, a, na),
	                 KNOWNHOSTS_CHANGED);
	assert_int_equal(kh(path, "git.example.com", 2200, a, na),
	                 KNOWNHOSTS_UNKNOWN);
	/* b is revoked whatever host serves it */
	assert_int_equal(kh(path, "git.example.com", 2222, b, nb),
	                 KNOWNHOSTS_REVOKED);
	assert_int_equal(kh(path, "git.example.com", 22, c, nc),
	                 KNOWNHOSTS_UNKNOWN);
	assert_int_equal(kh(path, "x.corp.example", 22, c, nc),
	                 KNOWNHOSTS_MATCH);
	assert_int_equal(kh(path, "x.corp.example", 22, a, na),
	                 KNOWNHOSTS_MATCH);
	assert_int_equal(kh(path, "bad.corp.example", 22, a, na),
	                 KNOWNHOSTS_UNKNOWN);
	assert_int_equal(kh(path, "10.0.0.1", 22, a, na), KNOWNHOSTS_MATCH);
	assert_int_equal(kh(path, "10.0.0.2", 22, a, na), KNOWNHOSTS_UNKNOWN);
	/* no file: nobody is known */
	assert_int_equal(
	        kh("/nonexistent/known_hosts", "git.example.com", 22, a, na),
	        KNOWNHOSTS_UNKNOWN);
	unlink(path);
	free(text);
	free(ka);
	free(kb);
	free(kc);
}

/* ---- the configuration ------------------------------------------------------
 */

static void
test_config(void **state)
{
	struct gitsrc_config c;
	char *d;

	(void)state;
	gitsrc_config_init(&c, "https://h/r.git");
	c.cache_dir = xstrdup("/tmp");
	assert_int_equal(gitsrc_config_check(&c), 0);
	assert_int_equal(gitsrc_config_parse_ref(&c, "branch:main"), 0);
	assert_int_equal(c.ref_kind, GITSRC_REF_BRANCH);
	assert_int_equal(gitsrc_config_parse_ref(&c, "semver:>=1.0.0"), 0);
	assert_int_equal(c.ref_kind, GITSRC_REF_SEMVER);
	assert_int_equal(
	        gitsrc_config_parse_ref(
	                &c, "0123456789ABCDEF0123456789abcdef01234567"),
	        0);
	assert_int_equal(c.ref_kind, GITSRC_REF_COMMIT);
	assert_string_equal(c.ref, "0123456789abcdef0123456789abcdef01234567");
	assert_int_equal(gitsrc_config_parse_ref(&c, "v1"), 0);
	assert_int_equal(c.ref_kind, GITSRC_REF_NAME);
	assert_int_equal(gitsrc_config_parse_ref(&c, ">=1.0"), SF_EINVALID);
	assert_int_equal(gitsrc_config_parse_ref(&c, "commit:abc"),
	                 SF_EINVALID);
	assert_int_equal(gitsrc_config_parse_ref(&c, "branch:a..b"),
	                 SF_EINVALID);
	assert_int_equal(gitsrc_config_parse_ref(&c, "tag:"), SF_EINVALID);
	c.path = xstrdup("../etc");
	assert_int_equal(gitsrc_config_check(&c), SF_EINVALID);
	free(c.path);
	c.path = xstrdup("deploy/prod");
	c.auth.token_env = xstrdup("A");
	c.auth.token_file = xstrdup("B");
	assert_int_equal(gitsrc_config_check(&c), SF_EINVALID);
	free(c.auth.token_file);
	c.auth.token_file = NULL;
	c.verify.mode = GITSRC_VERIFY_HEAD;
	assert_int_equal(gitsrc_config_check(&c), SF_EINVALID);
	c.verify.allowed_signers = xstrdup("/x");
	assert_int_equal(gitsrc_config_check(&c), 0);
	c.verify.mode = GITSRC_VERIFY_TAG;
	gitsrc_config_set_ref(&c, GITSRC_REF_BRANCH, "main");
	assert_int_equal(gitsrc_config_check(&c), SF_EINVALID);
	gitsrc_config_clear(&c);
	assert_int_equal(gitsrc_verify_mode_parse("tag-and-head"),
	                 GITSRC_VERIFY_TAG_AND_HEAD);
	assert_int_equal(gitsrc_ref_kind_parse("semver"), GITSRC_REF_SEMVER);
	assert_int_equal(gitsrc_ref_kind_parse("x"), -1);
	d = gitsrc_cache_dir("./.sandform/state.db");
	assert_string_equal(d, "./.sandform/git");
	free(d);
	d = gitsrc_cache_dir("postgresql://h/db");
	assert_string_equal(d, "./.sandform/git");
	free(d);
	d = gitsrc_cache_dir("/var/lib/sf/state.db");
	assert_string_equal(d, "/var/lib/sf/git");
	free(d);
}

/* ---- the source over file:// ------------------------------------------------
 */

static char tmpdir[64];
static git_repository *repo;

#define DOC(name)                                                              \
	"apiVersion: sandform.dev/v1\nkind: Sandbox\nmetadata:\n  name: " name \
	"\nspec:\n  image: x\n"

/* commit: one commit of files (path, content pairs, NULL-ended) on
 * refs/heads/main; returns its id. */
static git_oid
commit(const char *msg, ...)
{
	git_index *idx;
	git_oid blob, tree, c;
	git_tree *t;
	git_signature *sig;
	git_commit *parent = NULL;
	git_index_entry e;
	const char *path, *data;
	va_list ap;

	assert_int_equal(git_repository_index(&idx, repo), 0);
	va_start(ap, msg);
	while ((path = va_arg(ap, const char *)) != NULL) {
		data = va_arg(ap, const char *);
		assert_int_equal(git_blob_create_from_buffer(&blob, repo, data,
		                                             strlen(data)),
		                 0);
		memset(&e, 0, sizeof(e));
		e.path = path;
		e.mode = GIT_FILEMODE_BLOB;
		e.id = blob;
		assert_int_equal(git_index_add(idx, &e), 0);
	}
	va_end(ap);
	assert_int_equal(git_index_write_tree(&tree, idx), 0);
	assert_int_equal(git_tree_lookup(&t, repo, &tree), 0);
	assert_int_equal(git_signature_now(&sig, "T", "t@example.com"), 0);
	{
		git_oid head;

		if (git_reference_name_to_id(&head, repo, "refs/heads/main") ==
		    0)
			assert_int_equal(
			        git_commit_lookup(&parent, repo, &head), 0);
	}
	assert_int_equal(git_commit_create_v(&c, repo, "refs/heads/main", sig,
	                                     sig, NULL, msg, t, parent ? 1 : 0,
	                                     parent),
	                 0);
	git_commit_free(parent);
	git_signature_free(sig);
	git_tree_free(t);
	git_index_free(idx);
	return c;
}

static int
setup_repo(void **state)
{
	char *p;

	(void)state;
	git_libgit2_init();
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sf-git-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	p = xasprintf("%s/remote.git", tmpdir);
	assert_int_equal(git_repository_init(&repo, p, 1), 0);
	git_repository_set_head(repo, "refs/heads/main");
	free(p);
	return 0;
}

static int
teardown_repo(void **state)
{
	char *cmd;

	(void)state;
	git_repository_free(repo);
	cmd = xasprintf("rm -rf '%s'", tmpdir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	git_libgit2_shutdown();
	return 0;
}

/* load: the source's manifests into a set (NULL when it failed: rc). */
static int
load(struct source *src, struct manifest_set **set, struct diag_list *d)
{
	struct manifest_loader *L = manifest_loader_new(d);
	int rc;

	*set = NULL;
	if ((rc = source_load(src, L)) < 0) {
		manifest_loader_free(L);
		return rc;
	}
	return manifest_loader_finish(L, set);
}

static struct source *
new_source(const char *ref, int offline)
{
	struct gitsrc_config c;
	struct source *src;
	char *url = xasprintf("file://%s/remote.git", tmpdir);

	gitsrc_config_init(&c, url);
	c.cache_dir = xasprintf("%s/cache", tmpdir);
	c.offline = offline;
	assert_int_equal(gitsrc_config_parse_ref(&c, ref), 0);
	assert_int_equal(source_git_new(&c, &src), 0);
	gitsrc_config_clear(&c);
	free(url);
	return src;
}

static void
test_source_file(void **state)
{
	struct diag_list d = DIAG_LIST_INIT;
	struct manifest_set *set;
	struct source_git_stats st;
	struct source *src;
	char hex[41], *want, *rev;
	git_oid c1, c2;

	(void)state;
	c1 = commit("one", "b/z.yaml", DOC("z"), "a.yml", DOC("a"),
	            "b/.hidden.yaml", DOC("h"), "notes.txt", "x", "b-c/y.yaml",
	            DOC("y"), NULL);
	git_oid_tostr(hex, sizeof(hex), &c1);
	src = new_source("main", 0);
	assert_null(source_revision(src));
	assert_int_equal(load(src, &set, &d), 0);
	want = xasprintf("main@sha1:%s", hex);
	assert_string_equal(source_revision(src), want);
	assert_string_equal(source_revision_commit(source_revision(src)), hex);
	/* sorted per directory by name, as a directory walk: "b" before
	 * "b-c" (git's own order puts "b-c" first) */
	assert_int_equal(set->n_files, 3);
	free(want);
	want = xasprintf("main@sha1:%s:a.yml", hex);
	assert_string_equal(set->files[0], want);
	free(want);
	want = xasprintf("main@sha1:%s:b/z.yaml", hex);
	assert_string_equal(set->files[1], want);
	free(want);
	want = xasprintf("main@sha1:%s:b-c/y.yaml", hex);
	assert_string_equal(set->files[2], want);
	free(want);
	source_git_stats(src, &st);
	assert_int_equal(st.connects, 1);
	assert_int_equal(st.downloads, 1);
	manifest_set_free(set);

	/* unchanged: the advertisement only */
	assert_int_equal(load(src, &set, &d), 0);
	source_git_stats(src, &st);
	assert_int_equal(st.connects, 1);
	assert_int_equal(st.downloads, 0);
	manifest_set_free(set);

	/* a new commit: the check refuses the old revision, naming both */
	want = xasprintf("main@sha1:%s", hex);
	c2 = commit("two", "c.yaml", DOC("c"), NULL);
	assert_int_equal(source_git_check_revision(src, want), SF_ECONFLICT);
	assert_non_null(strstr(sf_error_last(), want));
	assert_non_null(
	        strstr(sf_error_last(), "but main is now at main@sha1:"));
	assert_int_equal(source_git_resolve(src, &rev), 0);
	git_oid_tostr(hex, sizeof(hex), &c2);
	assert_non_null(strstr(rev, hex));
	assert_int_equal(source_git_check_revision(src, rev), 0);
	free(rev);
	free(want);
	source_free(src);

	/* offline reads the cache; a ref never fetched is not there */
	src = new_source(NULL, 1);
	assert_int_equal(load(src, &set, &d), SF_ENOTFOUND);
	source_free(src);
	src = new_source("main", 1);
	assert_int_equal(load(src, &set, &d), 0);
	source_git_stats(src, &st);
	assert_int_equal(st.connects, 0);
	assert_true(st.offline);
	manifest_set_free(set);
	source_free(src);
	diag_list_free(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_semver_parse_cmp),
		cmocka_unit_test(test_semver_ranges),
		cmocka_unit_test(test_url),
		cmocka_unit_test(test_knownhosts),
		cmocka_unit_test(test_config),
		cmocka_unit_test_setup_teardown(test_source_file, setup_repo,
		                                teardown_repo),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
