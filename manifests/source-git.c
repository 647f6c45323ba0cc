/*
 * source-git: the git source (see source-git.h for what it promises).
 *
 * A load has two phases. The first resolves the ref, fetches what is
 * missing, verifies signatures and reads every manifest blob under path
 * into memory; it touches nothing but the cache, so when it finds the
 * cache damaged (a failure libgit2 reports against local objects or refs)
 * the cache is re-created and the phase runs once more. The second hands
 * the blobs to the loader: only then can diagnostics appear, so a retried
 * phase never leaves half a run's files behind.
 *
 * The ref advertisement is compared with the cache before any fetch: when
 * the cache already holds the advertised commit, a refresh costs that one
 * exchange. The refs of the cache mirror the remote's names
 * (refs/heads/main, refs/tags/v1.2.0), so later fetches negotiate from
 * them and are incremental, and --offline finds them again.
 */
#include "common/base.h"

#include "common/error.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "manifests/git-cache.h"
#include "manifests/git-remote.h"
#include "manifests/git-semver.h"
#include "manifests/git-url.h"
#include "manifests/git-verify.h"
#include "manifests/ignorefile.h"
#include "manifests/source-git.h"

/* The most bytes of manifests held in memory between the two phases. */
#define GITSRC_MAX_TREE_BYTES (256u * 1024 * 1024)

struct gitsrc {
	struct source base; /* first: a struct source * is a gitsrc * */
	struct gitsrc_config cfg;
	char *norm;     /* the cache key */
	char *revision; /* of the last load */
	struct source_git_stats stats;
};

/* What a ref resolved to. */
struct want {
	char *name;       /* for the revision: "main", "v1.2.0"; NULL: a
	                   * commit */
	char *remote_ref; /* "refs/heads/main", "HEAD"; NULL: a commit */
	char *local_ref;  /* the cache's ref for it */
	git_oid oid;      /* the ref's target (a tag object or a commit) */
	git_oid peeled;   /* the commit, when the advertisement said */
	int have_peeled;
	int set_head; /* the remote's HEAD: the cache's HEAD follows */
};

/* A manifest read in the first phase, or a problem with one. */
struct gfile {
	char *name; /* "REVISION:PATH" */
	git_blob *blob;
	char *problem; /* NULL, or a message for name */
	int warning;
};

struct tree_read {
	struct gfile *v;
	size_t n;
	size_t bytes;
	/* the source root's .sandformignore and exclude: */
	struct ignorefile ign;
	size_t rootlen; /* of the source's path in the repository */
	size_t skipped;
};

static void
want_clear(struct want *w)
{
	free(w->name);
	free(w->remote_ref);
	free(w->local_ref);
	memset(w, 0, sizeof(*w));
}

static void
tree_read_clear(struct tree_read *t)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		free(t->v[i].name);
		free(t->v[i].problem);
		git_blob_free(t->v[i].blob);
	}
	free(t->v);
	ignorefile_clear(&t->ign);
	memset(t, 0, sizeof(*t));
}

static const char *
ref_word(enum gitsrc_ref_kind k)
{
	switch (k) {
	case GITSRC_REF_BRANCH:
		return "branch";
	case GITSRC_REF_TAG:
		return "tag";
	case GITSRC_REF_SEMVER:
		return "semver range";
	case GITSRC_REF_COMMIT:
		return "commit";
	case GITSRC_REF_NAME:
		return "branch or tag";
	default:
		return "default branch";
	}
}

static char *
revision_of(const struct want *w, const git_oid *commit)
{
	char hex[GIT_OID_HEXSZ + 1];

	git_oid_tostr(hex, sizeof(hex), commit);
	return w->name ? xasprintf("%s@sha1:%s", w->name, hex)
	               : xasprintf("sha1:%s", hex);
}

/* ---- resolving a ref -------------------------------------------------------
 */

static void
want_set(struct want *w, const char *name, const char *ref, const git_oid *oid)
{
	w->name = xstrdup(name);
	w->remote_ref = xstrdup(ref);
	w->local_ref = xstrdup(ref);
	git_oid_cpy(&w->oid, oid);
}

/* find_head: the advertised ref named ref, and its peeled "^{}" twin. */
static const git_remote_head *
find_head(const git_remote_head **h, size_t n, const char *ref,
          const git_remote_head **peeled)
{
	const git_remote_head *hit = NULL;
	size_t i, len = strlen(ref);

	*peeled = NULL;
	for (i = 0; i < n; i++) {
		if (strcmp(h[i]->name, ref) == 0)
			hit = h[i];
		else if (strncmp(h[i]->name, ref, len) == 0 &&
		         strcmp(h[i]->name + len, "^{}") == 0)
			*peeled = h[i];
	}
	return hit;
}

/* best_semver: the highest tag named by a version in range among names
 * (each "refs/tags/NAME", other entries skipped). */
static const char *
best_semver(const struct semver_range *range, const char *const *names,
            size_t n)
{
	struct semver v, best;
	const char *hit = NULL, *t;
	size_t i;
	int c;

	memset(&best, 0, sizeof(best));
	for (i = 0; i < n; i++) {
		if (strncmp(names[i], "refs/tags/", 10) != 0)
			continue;
		t = names[i] + 10;
		if (semver_parse(t, &v) < 0) {
			sf_error_clear();
			continue;
		}
		if (semver_range_match(range, &v) &&
		    (hit == NULL || (c = semver_cmp(&v, &best)) > 0 ||
		     (c == 0 && strcmp(t, hit) < 0))) {
			semver_clear(&best);
			best = v;
			hit = t;
			continue;
		}
		semver_clear(&v);
	}
	semver_clear(&best);
	return hit;
}

static int
not_found(const struct gitsrc *sg, const char *where)
{
	return sf_error_set(SF_ENOTFOUND, "%s %s: no %s '%s'%s",
	                    sg->cfg.offline ? "the cached copy of"
	                                    : "the remote",
	                    sg->base.name, ref_word(sg->cfg.ref_kind),
	                    sg->cfg.ref ? sg->cfg.ref : "HEAD", where);
}

/* pick_remote: the ref of the configuration among the advertised ones. */
static int
pick_remote(struct gitsrc *sg, const git_remote_head **h, size_t n,
            struct want *w)
{
	const struct gitsrc_config *c = &sg->cfg;
	const git_remote_head *hit = NULL, *peeled = NULL;
	struct semver_range *range = NULL;
	const char **names;
	const char *tag;
	char *ref = NULL;
	size_t i;
	int rc = 0;

	switch (c->ref_kind) {
	case GITSRC_REF_DEFAULT:
		hit = find_head(h, n, "HEAD", &peeled);
		if (hit == NULL)
			return sf_error_set(
			        SF_ENOTFOUND,
			        "the remote %s has no HEAD (an empty "
			        "repository?): give a ref",
			        sg->base.name);
		if (hit->symref_target &&
		    strncmp(hit->symref_target, "refs/heads/", 11) == 0) {
			want_set(w, hit->symref_target + 11, hit->symref_target,
			         &hit->oid);
		} else {
			want_set(w, "HEAD", "HEAD", &hit->oid);
			free(w->local_ref);
			w->local_ref = xstrdup("refs/sandform/HEAD");
		}
		w->set_head = 1;
		return 0;
	case GITSRC_REF_SEMVER:
		names = xreallocarray(NULL, n ? n : 1, sizeof(*names));
		for (i = 0; i < n; i++)
			names[i] = h[i]->name;
		if ((rc = semver_range_parse(c->ref, &range)) == 0 &&
		    (tag = best_semver(range, names, n)) != NULL)
			ref = xasprintf("refs/tags/%s", tag);
		semver_range_free(range);
		free(names);
		if (rc < 0)
			return rc;
		if (ref == NULL)
			return sf_error_set(SF_ENOTFOUND,
			                    "the remote %s has no tag in the "
			                    "semver range '%s'",
			                    sg->base.name, c->ref);
		hit = find_head(h, n, ref, &peeled);
		break;
	case GITSRC_REF_NAME:
		ref = xasprintf("refs/heads/%s", c->ref);
		if ((hit = find_head(h, n, ref, &peeled)) == NULL) {
			free(ref);
			ref = xasprintf("refs/tags/%s", c->ref);
			hit = find_head(h, n, ref, &peeled);
		}
		break;
	default:
		ref = xasprintf("refs/%s/%s",
		                c->ref_kind == GITSRC_REF_TAG ? "tags"
		                                              : "heads",
		                c->ref);
		hit = find_head(h, n, ref, &peeled);
		break;
	}
	if (hit == NULL) {
		free(ref);
		return not_found(sg, "");
	}
	want_set(w, ref + (strncmp(ref, "refs/tags/", 10) == 0 ? 10 : 11), ref,
	         &hit->oid);
	if (peeled) {
		git_oid_cpy(&w->peeled, &peeled->oid);
		w->have_peeled = 1;
	}
	free(ref);
	return 0;
}

/* lookup_ref: the cache's ref name: 1 and *oid, 0 when it has none. */
static int
lookup_ref(struct gitsrc *sg, git_repository *repo, const char *name,
           git_oid *oid)
{
	int grc = git_reference_name_to_id(oid, repo, name);

	if (grc == GIT_ENOTFOUND)
		return 0;
	if (grc < 0)
		return gitsrc_git_fail(grc, "reading the cached refs of",
		                       sg->cfg.url, sg->base.name);
	return 1;
}

/* pick_local: the ref of the configuration among the cache's refs
 * (offline). */
static int
pick_local(struct gitsrc *sg, git_repository *repo, struct want *w)
{
	const struct gitsrc_config *c = &sg->cfg;
	git_reference_iterator *it = NULL;
	git_reference *head = NULL, *r;
	struct semver_range *range = NULL;
	const char **names = NULL, *tag, *target;
	char *ref = NULL;
	size_t n = 0;
	git_oid oid;
	int rc;

	switch (c->ref_kind) {
	case GITSRC_REF_DEFAULT:
		/* a HEAD to a ref that was never fetched reads as missing */
		if (git_reference_lookup(&head, repo, "HEAD") < 0 ||
		    (target = git_reference_symbolic_target(head)) == NULL) {
			git_reference_free(head);
			return not_found(sg, " (run once without --offline)");
		}
		ref = xstrdup(target);
		git_reference_free(head);
		break;
	case GITSRC_REF_SEMVER:
		if ((rc = semver_range_parse(c->ref, &range)) < 0)
			return rc;
		if (git_reference_iterator_glob_new(&it, repo, "refs/tags/*") ==
		    0) {
			while (git_reference_next(&r, it) == 0) {
				names = xreallocarray(names, n + 1,
				                      sizeof(*names));
				names[n++] = xstrdup(git_reference_name(r));
				git_reference_free(r);
			}
		}
		git_reference_iterator_free(it);
		if ((tag = best_semver(range, names, n)) != NULL)
			ref = xasprintf("refs/tags/%s", tag);
		while (n > 0)
			free((char *)names[--n]);
		free(names);
		semver_range_free(range);
		break;
	case GITSRC_REF_NAME:
		ref = xasprintf("refs/heads/%s", c->ref);
		if ((rc = lookup_ref(sg, repo, ref, &oid)) == 0) {
			free(ref);
			ref = xasprintf("refs/tags/%s", c->ref);
		} else if (rc < 0) {
			free(ref);
			return rc;
		}
		break;
	default:
		ref = xasprintf("refs/%s/%s",
		                c->ref_kind == GITSRC_REF_TAG ? "tags"
		                                              : "heads",
		                c->ref);
		break;
	}
	if (ref == NULL || (rc = lookup_ref(sg, repo, ref, &oid)) == 0) {
		free(ref);
		return not_found(sg, " (run once without --offline)");
	}
	if (rc > 0) {
		want_set(w,
		         strcmp(ref, "refs/sandform/HEAD") == 0
		                 ? "HEAD"
		                 : ref + (strncmp(ref, "refs/tags/", 10) == 0
		                                  ? 10
		                                  : 11),
		         ref, &oid);
		rc = 0;
	}
	free(ref);
	return rc;
}

/* ---- fetching ------------------------------------------------------------ */

static int
has_object(git_repository *repo, const git_oid *oid)
{
	git_odb *odb = NULL;
	int yes;

	if (git_repository_odb(&odb, repo) < 0)
		return 0;
	yes = git_odb_exists(odb, oid);
	git_odb_free(odb);
	return yes;
}

/* update_refs: the cache's ref (and HEAD) for w. */
static int
update_refs(struct gitsrc *sg, git_repository *repo, const struct want *w)
{
	git_reference *r = NULL;
	int grc;

	grc = git_reference_create(&r, repo, w->local_ref, &w->oid, 1,
	                           "sandform fetch");
	git_reference_free(r);
	r = NULL;
	if (grc == 0 && w->set_head)
		grc = git_reference_symbolic_create(
		        &r, repo, "HEAD", w->local_ref, 1, "sandform fetch");
	git_reference_free(r);
	if (grc < 0)
		return gitsrc_git_fail(grc, "updating the cached refs of",
		                       sg->cfg.url, sg->base.name);
	return 0;
}

/* fetch_ref: the advertisement, then the one ref w when the cache does
 * not hold its target yet. */
static int
fetch_ref(struct gitsrc *sg, git_repository *repo, struct want *w)
{
	struct gitremote *r = NULL;
	const git_remote_head **heads;
	char *spec = NULL;
	git_oid have;
	size_t n;
	int rc, known;

	sg->stats.connects++;
	if ((rc = gitremote_connect(repo, &sg->cfg, &r)) < 0 ||
	    (rc = gitremote_ls(r, &heads, &n)) < 0 ||
	    (rc = pick_remote(sg, heads, n, w)) < 0)
		goto out;
	if ((known = lookup_ref(sg, repo, w->local_ref, &have)) < 0) {
		rc = known;
		goto out;
	}
	if (known && git_oid_equal(&have, &w->oid) &&
	    has_object(repo, &w->oid)) {
		log_debug("%s: %s has not moved; nothing to fetch",
		          sg->base.name, w->remote_ref);
	} else {
		/* '+': a force-pushed branch or a moved tag is taken as
		 * the remote has it */
		spec = xasprintf("+%s:%s", w->remote_ref, w->local_ref);
		sg->stats.downloads++;
		if ((rc = gitremote_download(r, (const char *const *)&spec,
		                             1)) < 0)
			goto out;
	}
	rc = update_refs(sg, repo, w);
out:
	free(spec);
	gitremote_free(r);
	return rc;
}

/* fetch_commit: a commit the cache lacks: every branch and tag. */
static int
fetch_commit(struct gitsrc *sg, git_repository *repo, const git_oid *oid)
{
	static const char *const specs[] = { "+refs/heads/*:refs/heads/*",
		                             "+refs/tags/*:refs/tags/*" };
	struct gitremote *r = NULL;
	const git_remote_head **heads;
	git_reference *ref = NULL;
	char *name = NULL, hex[GIT_OID_HEXSZ + 1];
	size_t n;
	int rc, grc;

	sg->stats.connects++;
	if ((rc = gitremote_connect(repo, &sg->cfg, &r)) < 0 ||
	    (rc = gitremote_ls(r, &heads, &n)) < 0)
		goto out;
	sg->stats.downloads++;
	if ((rc = gitremote_download(r, specs, 2)) < 0)
		goto out;
	if (!has_object(repo, oid)) {
		rc = sf_error_set(SF_ENOTFOUND,
		                  "the remote %s: no commit %s in any branch "
		                  "or tag",
		                  sg->base.name, sg->cfg.ref);
		goto out;
	}
	/* keep it: a ref of its own */
	git_oid_tostr(hex, sizeof(hex), oid);
	name = xasprintf("refs/sandform/commits/%s", hex);
	if ((grc = git_reference_create(&ref, repo, name, oid, 1,
	                                "sandform fetch")) < 0)
		rc = gitsrc_git_fail(grc, "updating the cached refs of",
		                     sg->cfg.url, sg->base.name);
out:
	git_reference_free(ref);
	free(name);
	gitremote_free(r);
	return rc;
}

/* ---- reading the tree ---------------------------------------------------- */

static bool
yaml_name(const char *name)
{
	size_t n = strlen(name);

	return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
	       (n > 4 && strcmp(name + n - 4, ".yml") == 0);
}

static struct gfile *
add_gfile(struct tree_read *t, const char *rev, const char *path)
{
	struct gfile *f;

	t->v = xreallocarray(t->v, t->n + 1, sizeof(*t->v));
	f = &t->v[t->n++];
	memset(f, 0, sizeof(*f));
	f->name = xasprintf("%s:%s", rev, path);
	return f;
}

static void
problem(struct tree_read *t, const char *rev, const char *path, int warning,
        const char *msg)
{
	struct gfile *f = add_gfile(t, rev, path);

	f->problem = xstrdup(msg);
	f->warning = warning;
}

static int read_tree(struct gitsrc *sg, git_repository *repo,
                     const git_tree *tree, const char *prefix, const char *rev,
                     int depth, struct tree_read *t);

static int
entry_cmp(const void *a, const void *b)
{
	return strcmp(git_tree_entry_name(*(const git_tree_entry *const *)a),
	              git_tree_entry_name(*(const git_tree_entry *const *)b));
}

static int
read_blob(struct gitsrc *sg, git_repository *repo, const git_oid *oid,
          const char *path, const char *rev, struct tree_read *t)
{
	git_blob *blob = NULL;
	git_object_size_t size;
	int grc;

	if ((grc = git_blob_lookup(&blob, repo, oid)) < 0)
		return gitsrc_git_fail(grc, "reading a manifest of",
		                       sg->cfg.url, sg->base.name);
	size = git_blob_rawsize(blob);
	if (size > MANIFEST_MAX_FILE_SIZE) {
		char *m = xasprintf("file too large (expected at most %u "
		                    "bytes)",
		                    MANIFEST_MAX_FILE_SIZE);

		problem(t, rev, path, 0, m);
		free(m);
		git_blob_free(blob);
		return 0;
	}
	if (t->bytes + size > GITSRC_MAX_TREE_BYTES) {
		git_blob_free(blob);
		return sf_error_set(
		        SF_EINVALID, "%s: more than %u MiB of manifests at %s",
		        sg->base.name, GITSRC_MAX_TREE_BYTES >> 20, rev);
	}
	t->bytes += size;
	add_gfile(t, rev, path)->blob = blob;
	return 0;
}

/* read_entry: one entry (path: its path in the repository). */
static int
read_entry(struct gitsrc *sg, git_repository *repo, const git_tree_entry *e,
           const char *path, const char *rev, int depth, struct tree_read *t)
{
	git_tree *sub = NULL;
	const char *name = git_tree_entry_name(e);
	int grc, rc;

	switch (git_tree_entry_type(e)) {
	case GIT_OBJECT_TREE:
		if ((grc = git_tree_lookup(&sub, repo, git_tree_entry_id(e))) <
		    0)
			return gitsrc_git_fail(grc, "reading a directory of",
			                       sg->cfg.url, sg->base.name);
		rc = read_tree(sg, repo, sub, path, rev, depth + 1, t);
		git_tree_free(sub);
		return rc;
	case GIT_OBJECT_BLOB:
		if (!yaml_name(name))
			return 0;
		if (git_tree_entry_filemode(e) == GIT_FILEMODE_LINK) {
			problem(t, rev, path, 1,
			        "skipped: a symbolic link (links in git "
			        "sources are not followed)");
			return 0;
		}
		return read_blob(sg, repo, git_tree_entry_id(e), path, rev, t);
	case GIT_OBJECT_COMMIT:
		problem(t, rev, path, 1,
		        "skipped: a submodule (submodules are not read)");
		return 0;
	default:
		return 0;
	}
}

/* ignored: whether the source root's rules skip path (from the
 * repository's root). */
static bool
ignored(const struct tree_read *t, const char *path, bool is_dir)
{
	const char *rel = path + t->rootlen;

	while (*rel == '/')
		rel++;
	return t->ign.n > 0 && ignorefile_skips(&t->ign, rel, is_dir);
}

/* root_rules: the .sandformignore of tree (the source's root), then the
 * exclude: patterns. */
static void
root_rules(struct gitsrc *sg, git_repository *repo, const git_tree *tree,
           struct tree_read *t)
{
	const git_tree_entry *e = git_tree_entry_byname(tree, IGNOREFILE_NAME);
	git_blob *blob = NULL;
	size_t i;

	if (e != NULL && git_tree_entry_type(e) == GIT_OBJECT_BLOB &&
	    git_blob_lookup(&blob, repo, git_tree_entry_id(e)) == 0 &&
	    git_blob_rawsize(blob) <= SOURCE_MAX_IGNOREFILE)
		ignorefile_parse(&t->ign, git_blob_rawcontent(blob),
		                 (size_t)git_blob_rawsize(blob));
	git_blob_free(blob);
	for (i = 0; i < sg->base.nexclude; i++)
		ignorefile_add(&t->ign, sg->base.exclude[i]);
}

static int
read_tree(struct gitsrc *sg, git_repository *repo, const git_tree *tree,
          const char *prefix, const char *rev, int depth, struct tree_read *t)
{
	const git_tree_entry **v;
	size_t n = git_tree_entrycount(tree), i;
	char *path;
	int rc = 0;

	if (depth > GITSRC_MAX_TREE_DEPTH) {
		char *m =
		        xasprintf("directories nested deeper than %d levels "
		                  "(expected at most %d)",
		                  GITSRC_MAX_TREE_DEPTH, GITSRC_MAX_TREE_DEPTH);

		problem(t, rev, prefix, 0, m);
		free(m);
		return 0;
	}
	v = xreallocarray(NULL, n ? n : 1, sizeof(*v));
	for (i = 0; i < n; i++)
		v[i] = git_tree_entry_byindex(tree, i);
	/* git orders a directory "a" as "a/": sort by name, as the path
	 * source does, so both read a set in the same order */
	qsort(v, n, sizeof(*v), entry_cmp);
	for (i = 0; i < n && rc == 0; i++) {
		/* hidden entries (.github, .sandform) are skipped */
		if (git_tree_entry_name(v[i])[0] == '.')
			continue;
		path = *prefix ? xasprintf("%s/%s", prefix,
		                           git_tree_entry_name(v[i]))
		               : xstrdup(git_tree_entry_name(v[i]));
		if (ignored(t, path,
		            git_tree_entry_type(v[i]) == GIT_OBJECT_TREE))
			t->skipped++;
		else
			rc = read_entry(sg, repo, v[i], path, rev, depth, t);
		free(path);
	}
	free(v);
	return rc;
}

/* clean_path: cfg's path without "./", leading or doubled '/', trailing
 * '/'; "" for the root. */
static char *
clean_path(const char *p)
{
	char *s = xstrdup(p ? p : ""), *w = s;
	const char *r = p ? p : "";

	while (*r) {
		while (*r == '/')
			r++;
		if (r[0] == '.' && (r[1] == '/' || r[1] == '\0')) {
			r++;
			continue;
		}
		if (*r == '\0')
			break;
		if (w != s)
			*w++ = '/';
		while (*r && *r != '/')
			*w++ = *r++;
	}
	*w = '\0';
	return s;
}

/* read_commit: every manifest of commit under path into t. */
static int
read_commit(struct gitsrc *sg, git_repository *repo, const git_oid *commit,
            const char *rev, struct tree_read *t)
{
	git_commit *c = NULL;
	git_tree *root = NULL, *sub = NULL;
	git_tree_entry *e = NULL;
	char *path = clean_path(sg->cfg.path);
	int grc, rc = 0;

	if ((grc = git_commit_lookup(&c, repo, commit)) < 0 ||
	    (grc = git_commit_tree(&root, c)) < 0) {
		rc = gitsrc_git_fail(grc, "reading the commit of", sg->cfg.url,
		                     sg->base.name);
		goto out;
	}
	if (*path == '\0') {
		root_rules(sg, repo, root, t);
		rc = read_tree(sg, repo, root, "", rev, 0, t);
		goto out;
	}
	if ((grc = git_tree_entry_bypath(&e, root, path)) == GIT_ENOTFOUND) {
		problem(t, rev, path, 0,
		        "no such file or directory at this revision");
		goto out;
	}
	if (grc < 0) {
		rc = gitsrc_git_fail(grc, "reading the tree of", sg->cfg.url,
		                     sg->base.name);
		goto out;
	}
	if (git_tree_entry_type(e) == GIT_OBJECT_BLOB) {
		rc = read_blob(sg, repo, git_tree_entry_id(e), path, rev, t);
	} else if (git_tree_entry_type(e) == GIT_OBJECT_TREE) {
		if ((grc = git_tree_lookup(&sub, repo, git_tree_entry_id(e))) <
		    0)
			rc = gitsrc_git_fail(grc, "reading the tree of",
			                     sg->cfg.url, sg->base.name);
		else {
			t->rootlen = strlen(path);
			root_rules(sg, repo, sub, t);
			rc = read_tree(sg, repo, sub, path, rev, 0, t);
		}
	} else {
		problem(t, rev, path, 0,
		        "not a file or directory at this revision");
	}
out:
	if (rc == 0 && t->skipped) {
		char *m = xasprintf("%zu entr%s skipped by %s or the stack "
		                    "file's exclude:",
		                    t->skipped, t->skipped == 1 ? "y" : "ies",
		                    IGNOREFILE_NAME);

		problem(t, rev, *path ? path : ".", 1, m);
		free(m);
	}
	git_tree_entry_free(e);
	git_tree_free(sub);
	git_tree_free(root);
	git_commit_free(c);
	free(path);
	return rc;
}

/* ---- verification ---------------------------------------------------------
 */

static int
verify(struct gitsrc *sg, git_repository *repo, const struct want *w,
       const git_oid *commit, const char *rev)
{
	const struct gitsrc_verify *v = &sg->cfg.verify;
	char *signer = NULL, *what;
	int rc = 0;

	if (v->mode == GITSRC_VERIFY_NONE)
		return 0;
	if (v->mode == GITSRC_VERIFY_TAG ||
	    v->mode == GITSRC_VERIFY_TAG_AND_HEAD) {
		what = xasprintf("tag %s of %s", w->name ? w->name : "?",
		                 sg->base.name);
		if (w->local_ref == NULL ||
		    strncmp(w->local_ref, "refs/tags/", 10) != 0)
			rc = sf_error_set(SF_EAUTH,
			                  "%s: verify mode tag needs a tag, "
			                  "and %s is a branch",
			                  sg->base.name, rev);
		else
			rc = gitverify_tag(repo, &w->oid, v->allowed_signers,
			                   what, &signer);
		free(what);
		free(signer);
		signer = NULL;
	}
	if (rc == 0 && (v->mode == GITSRC_VERIFY_HEAD ||
	                v->mode == GITSRC_VERIFY_TAG_AND_HEAD)) {
		what = xasprintf("commit %s of %s", rev, sg->base.name);
		rc = gitverify_commit(repo, commit, v->allowed_signers, what,
		                      &signer);
		free(what);
		free(signer);
	}
	return rc;
}

/* ---- a load ---------------------------------------------------------------
 */

/* peel: the commit w names. */
static int
peel(struct gitsrc *sg, git_repository *repo, const struct want *w,
     git_oid *commit)
{
	git_object *o = NULL, *c = NULL;
	int grc;

	if ((grc = git_object_lookup(&o, repo, &w->oid, GIT_OBJECT_ANY)) < 0 ||
	    (grc = git_object_peel(&c, o, GIT_OBJECT_COMMIT)) < 0) {
		git_object_free(o);
		if (grc == GIT_EINVALIDSPEC || grc == GIT_EPEEL)
			return sf_error_set(SF_EINVALID,
			                    "%s: %s does not point to a commit",
			                    sg->base.name, w->remote_ref);
		return gitsrc_git_fail(grc, "reading", sg->cfg.url,
		                       sg->base.name);
	}
	git_oid_cpy(commit, git_object_id(c));
	git_object_free(c);
	git_object_free(o);
	return 0;
}

/* resolve: the commit and its revision, fetched unless offline. */
static int
resolve(struct gitsrc *sg, git_repository *repo, struct want *w,
        git_oid *commit, char **rev)
{
	int rc;

	if (sg->cfg.ref_kind == GITSRC_REF_COMMIT) {
		git_oid_fromstr(commit, sg->cfg.ref);
		git_oid_cpy(&w->oid, commit);
		if (!has_object(repo, commit)) {
			if (sg->cfg.offline)
				return not_found(sg, " (run once without "
				                     "--offline)");
			if ((rc = fetch_commit(sg, repo, commit)) < 0)
				return rc;
		}
	} else {
		rc = sg->cfg.offline ? pick_local(sg, repo, w)
		                     : fetch_ref(sg, repo, w);
		if (rc < 0 || (rc = peel(sg, repo, w, commit)) < 0)
			return rc;
	}
	*rev = revision_of(w, commit);
	return 0;
}

/* phase_one: resolve, fetch, verify, read (retryable on a new cache). */
static int
phase_one(struct gitsrc *sg, git_repository *repo, char **rev,
          struct tree_read *t)
{
	struct want w;
	git_oid commit;
	int rc;

	memset(&w, 0, sizeof(w));
	*rev = NULL;
	gitremote_local_clear();
	if ((rc = resolve(sg, repo, &w, &commit, rev)) == 0 &&
	    (rc = verify(sg, repo, &w, &commit, *rev)) == 0)
		rc = read_commit(sg, repo, &commit, *rev, t);
	want_clear(&w);
	if (rc < 0) {
		free(*rev);
		*rev = NULL;
		tree_read_clear(t);
	}
	return rc;
}

static int
git_load(struct source *src, struct manifest_loader *L)
{
	struct gitsrc *sg = (struct gitsrc *)src;
	struct gitcache *cache = NULL;
	struct tree_read t;
	char *rev = NULL;
	size_t i;
	int rc;

	memset(&t, 0, sizeof(t));
	memset(&sg->stats, 0, sizeof(sg->stats));
	sg->stats.offline = sg->cfg.offline;
	free(sg->revision);
	sg->revision = NULL;
	if ((rc = gitcache_open(sg->cfg.cache_dir, sg->norm, src->name,
	                        !sg->cfg.offline, &cache)) < 0)
		return rc;
	sg->stats.recloned = (unsigned)gitcache_was_reset(cache);
	rc = phase_one(sg, gitcache_repo(cache), &rev, &t);
	if (rc < 0 && gitremote_local() && !sg->cfg.offline) {
		log_debug("the git cache of %s is damaged (%s): fetching it "
		          "again",
		          src->name, sf_error_last());
		sg->stats.recloned++;
		if ((rc = gitcache_reset(cache)) == 0)
			rc = phase_one(sg, gitcache_repo(cache), &rev, &t);
	}
	if (rc < 0 && gitremote_local() && sg->cfg.offline) {
		char *m = xstrdup(sf_error_last());

		rc = sf_error_set(rc,
		                  "%s (the cached copy is damaged: run "
		                  "without --offline to fetch it again)",
		                  m);
		free(m);
	}
	gitcache_close(cache);
	if (rc < 0)
		return rc;
	log_debug("%s: %s, %zu manifest files%s", src->name, rev, t.n,
	          sg->cfg.offline ? " (offline)" : "");
	if (sg->cfg.offline)
		manifest_loader_diag(L, DIAG_WARNING, src->name,
		                     "offline: using the cached revision %s; "
		                     "the remote was not asked",
		                     rev);
	for (i = 0; i < t.n; i++) {
		if (t.v[i].problem)
			manifest_loader_diag(
			        L, t.v[i].warning ? DIAG_WARNING : DIAG_ERROR,
			        t.v[i].name, "%s", t.v[i].problem);
		else
			manifest_loader_add(
			        L, t.v[i].name,
			        git_blob_rawcontent(t.v[i].blob),
			        (size_t)git_blob_rawsize(t.v[i].blob));
	}
	tree_read_clear(&t);
	sg->revision = rev;
	return 0;
}

static const char *
git_revision(const struct source *src)
{
	return ((const struct gitsrc *)src)->revision;
}

static void
git_free(struct source *src)
{
	struct gitsrc *sg = (struct gitsrc *)src;

	gitsrc_config_clear(&sg->cfg);
	free(sg->norm);
	free(sg->revision);
	git_libgit2_shutdown();
}

/* isolate: the user's and the system's git configuration play no part
 * (a global http.* or url.*.insteadOf must not change what a source
 * fetches or how it is trusted): the cache is sandform's own. */
static void
isolate(void)
{
	static const int levels[] = { GIT_CONFIG_LEVEL_SYSTEM,
		                      GIT_CONFIG_LEVEL_XDG,
		                      GIT_CONFIG_LEVEL_GLOBAL,
		                      GIT_CONFIG_LEVEL_PROGRAMDATA };
	size_t i;

	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, levels[i], "");
}

static const struct source_ops git_ops = { "git", git_load, git_free,
	                                   git_revision };

static char *
dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static void
config_copy(struct gitsrc_config *d, const struct gitsrc_config *s)
{
	*d = *s;
	d->url = dup_or_null(s->url);
	d->ref = dup_or_null(s->ref);
	d->path = dup_or_null(s->path);
	d->auth.token_env = dup_or_null(s->auth.token_env);
	d->auth.token_file = dup_or_null(s->auth.token_file);
	d->auth.username = dup_or_null(s->auth.username);
	d->auth.ca_file = dup_or_null(s->auth.ca_file);
	d->auth.ssh_key = dup_or_null(s->auth.ssh_key);
	d->auth.passphrase_env = dup_or_null(s->auth.passphrase_env);
	d->auth.known_hosts = dup_or_null(s->auth.known_hosts);
	d->verify.allowed_signers = dup_or_null(s->verify.allowed_signers);
	d->cache_dir = dup_or_null(s->cache_dir);
}

int
source_git_new(const struct gitsrc_config *cfg, struct source **out)
{
	struct gitsrc *sg;
	int rc;

	*out = NULL;
	if ((rc = gitsrc_config_check(cfg)) < 0)
		return rc;
	if (git_libgit2_init() < 0)
		return sf_error_set(SF_ERROR, "libgit2 cannot start");
	isolate();
	sg = xcalloc(1, sizeof(*sg));
	sg->base.ops = &git_ops;
	sg->base.name = gitsrc_url_redact(cfg->url);
	config_copy(&sg->cfg, cfg);
	sg->norm = gitsrc_url_normalize(cfg->url);
	*out = &sg->base;
	return 0;
}

void
source_git_stats(const struct source *src, struct source_git_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (src && src->ops == &git_ops)
		*out = ((const struct gitsrc *)src)->stats;
}

/* ---- the saved-plan check -------------------------------------------------
 */

int
source_git_resolve(struct source *src, char **revision)
{
	struct gitsrc *sg = (struct gitsrc *)src;
	struct gitremote *r = NULL;
	struct gitcache *cache = NULL;
	const git_remote_head **heads;
	struct want w;
	git_oid commit;
	size_t n;
	int rc;

	*revision = NULL;
	if (src->ops != &git_ops)
		return sf_error_set(SF_EINVALID, "%s is not a git source",
		                    src->name);
	memset(&w, 0, sizeof(w));
	if (sg->cfg.ref_kind == GITSRC_REF_COMMIT) {
		git_oid_fromstr(&commit, sg->cfg.ref);
		*revision = revision_of(&w, &commit);
		return 0;
	}
	if (sg->cfg.offline) {
		if ((rc = gitcache_open(sg->cfg.cache_dir, sg->norm, src->name,
		                        0, &cache)) == 0 &&
		    (rc = pick_local(sg, gitcache_repo(cache), &w)) == 0 &&
		    (rc = peel(sg, gitcache_repo(cache), &w, &commit)) == 0)
			*revision = revision_of(&w, &commit);
		gitcache_close(cache);
		want_clear(&w);
		return rc;
	}
	/* one advertisement, no repository: an annotated tag's commit is
	 * its peeled "^{}" entry */
	if ((rc = gitremote_connect(NULL, &sg->cfg, &r)) == 0 &&
	    (rc = gitremote_ls(r, &heads, &n)) == 0 &&
	    (rc = pick_remote(sg, heads, n, &w)) == 0)
		*revision = revision_of(&w, w.have_peeled ? &w.peeled : &w.oid);
	gitremote_free(r);
	want_clear(&w);
	return rc;
}

int
source_git_check_revision(struct source *src, const char *planned)
{
	char *now = NULL;
	const char *at;
	int rc;

	if ((rc = source_git_resolve(src, &now)) < 0)
		return rc;
	if (planned && strcmp(now, planned) == 0) {
		free(now);
		return 0;
	}
	at = strchr(now, '@');
	rc = sf_error_set(SF_ECONFLICT,
	                  "the plan was made at %s but %s%.*s is now at %s; "
	                  "nothing was changed: make a new plan",
	                  planned ? planned : "(no git revision)",
	                  at ? "" : "the ref", at ? (int)(at - now) : 0, now,
	                  now);
	free(now);
	return rc;
}
