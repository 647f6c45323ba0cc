/*
 * source: the path source (a file, a directory, or stdin) and the calls
 * every source shares. See source.h.
 */
#include "common/base.h"

#include <ctype.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/fileutil.h"
#include "common/xalloc.h"
#include "manifests/ignorefile.h"
#include "manifests/source.h"

int
source_load(struct source *src, struct manifest_loader *L)
{
	return src->ops->load(src, L);
}

const char *
source_revision(const struct source *src)
{
	if (src == NULL || src->ops->revision == NULL)
		return NULL;
	return src->ops->revision(src);
}

const char *
source_revision_commit(const char *revision)
{
	size_t n = revision ? strlen(revision) : 0;
	const char *c;

	if (n < 45)
		return NULL;
	c = revision + n - 40;
	if (strncmp(c - 5, "sha1:", 5) != 0 ||
	    strspn(c, "0123456789abcdef") != 40)
		return NULL;
	return c;
}

void
source_free(struct source *src)
{
	if (src == NULL)
		return;
	if (src->ops && src->ops->free)
		src->ops->free(src);
	for (size_t i = 0; i < src->nexclude; i++)
		free(src->exclude[i]);
	free(src->exclude);
	free(src->name);
	free(src);
}

void
source_set_exclude(struct source *src, char *const *pats, size_t n)
{
	size_t i;

	src->exclude = xreallocarray(src->exclude, src->nexclude + n + 1,
	                             sizeof(*src->exclude));
	for (i = 0; i < n; i++)
		src->exclude[src->nexclude++] = xstrdup(pats[i]);
}

/* ---- the path source ------------------------------------------------------
 */

/*
 * claim_file: has the file at path (after symbolic links) been read in
 * this run, through another name ("dir" and "dir/a.yaml", "./dir" and
 * "dir", a link)? Then it is skipped with a warning naming the first
 * name, instead of yielding duplicates of its own sandboxes. Returns -1
 * to skip the file, 1 when it was claimed (by its identity), 0 to read it
 * unclaimed (stdin, or a file stat cannot see: reading it reports why).
 */
static int
claim_file(struct manifest_loader *L, const char *path)
{
	struct stat st;
	const char *first = NULL;
	char id[64];

	if (strcmp(path, "-") == 0) {
		if (manifest_loader_claim(L, "stdin", path, NULL)) {
			manifest_loader_diag(L, DIAG_ERROR, path,
			                     "stdin given twice (expected - "
			                     "once)");
			return -1;
		}
		return 0;
	}
	if (stat(path, &st) != 0)
		return 0; /* file_read reports it */
	snprintf(id, sizeof(id), "file:%llu:%llu",
	         (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	if (manifest_loader_claim(L, id, path, &first)) {
		manifest_loader_diag(L, DIAG_WARNING, path,
		                     "skipped: already loaded as %s", first);
		return -1;
	}
	return 1;
}

static void
load_file(struct manifest_loader *L, const char *path)
{
	struct buf b = BUF_INIT;
	const char *msg;
	size_t plen = strlen(path);
	int claimed = claim_file(L, path);

	if (claimed < 0)
		return;
	if (file_read(path, MANIFEST_MAX_FILE_SIZE, &b) != 0) {
		msg = sf_error_last();
		/* file_read's message starts with the path; drop it. */
		if (strncmp(msg, path, plen) == 0 && msg[plen] == ':')
			msg += plen + 1;
		while (*msg == ' ')
			msg++;
		if (strstr(msg, "larger than") != NULL)
			manifest_loader_diag(L, DIAG_ERROR, path,
			                     "file too large (expected at most "
			                     "%u bytes)",
			                     MANIFEST_MAX_FILE_SIZE);
		else
			manifest_loader_diag(L, DIAG_ERROR, path, "%s", msg);
		if (claimed)
			manifest_loader_unclaim(L); /* not read: forget it */
		buf_free(&b);
		return;
	}
	manifest_loader_add(L, path, b.data ? b.data : "", b.len);
	buf_free(&b);
}

static bool
yaml_name(const char *name)
{
	size_t n = strlen(name);

	return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
	       (n > 4 && strcmp(name + n - 4, ".yml") == 0);
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* dir_names: the entries of dir but hidden ones, sorted; NULL on error
 * (reported). */
static char **
dir_names(struct manifest_loader *L, const char *dir, size_t *count)
{
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;

	d = opendir(dir);
	if (d == NULL) {
		manifest_loader_diag(L, DIAG_ERROR, dir,
		                     "cannot open directory: %s",
		                     strerror(errno));
		return NULL;
	}
	while ((de = readdir(d)) != NULL) {
		/* Hidden entries (.git, .github, .sandform) are skipped. */
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			names = xreallocarray(names, cap, sizeof(*names));
		}
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(*names), str_cmp);
	*count = n;
	return names;
}

/* A directory walk: the loader, what it skips, and how many it did. */
struct walk {
	struct manifest_loader *L;
	struct ignorefile ign;
	size_t rootlen; /* p + rootlen + 1 is the path from the root */
	size_t skipped;
};

static void walk_dir(struct walk *w, const char *dir, int depth);

/* skipped: whether .sandformignore or exclude: skips p (counted). */
static bool
skipped(struct walk *w, const char *p, bool is_dir)
{
	const char *rel = p + w->rootlen;

	while (*rel == '/')
		rel++;
	if (w->ign.n == 0 || !ignorefile_skips(&w->ign, rel, is_dir))
		return false;
	w->skipped++;
	return true;
}

/* walk_entry: one entry p (named name) of a directory being walked. */
static void
walk_entry(struct walk *w, const char *p, const char *name, int depth)
{
	struct manifest_loader *L = w->L;
	struct stat lst, st;

	if (lstat(p, &lst) != 0) {
		manifest_loader_diag(L, DIAG_ERROR, p, "%s", strerror(errno));
	} else if (skipped(w, p, S_ISDIR(lst.st_mode))) {
		/* .sandformignore, exclude: (counted, said once) */
	} else if (S_ISDIR(lst.st_mode)) {
		walk_dir(w, p, depth + 1);
	} else if (!yaml_name(name)) {
		/* not a manifest */
	} else if (S_ISREG(lst.st_mode)) {
		load_file(L, p);
	} else if (S_ISLNK(lst.st_mode)) {
		if (stat(p, &st) != 0)
			manifest_loader_diag(
			        L, DIAG_WARNING, p, "skipped: %s",
			        errno == ELOOP ? "symbolic link loop"
			                       : "dangling symbolic link");
		else if (S_ISREG(st.st_mode))
			load_file(L, p);
		else
			manifest_loader_diag(L, DIAG_WARNING, p,
			                     "skipped: symbolic link to a "
			                     "non-regular file");
	} else {
		manifest_loader_diag(L, DIAG_WARNING, p,
		                     "skipped: not a regular file");
	}
}

static void
walk_dir(struct walk *w, const char *dir, int depth)
{
	struct manifest_loader *L = w->L;
	char **names, *p;
	size_t n = 0, i;

	if (depth > SOURCE_MAX_DIR_DEPTH) {
		manifest_loader_diag(L, DIAG_ERROR, dir,
		                     "directories nested deeper than %d levels "
		                     "(expected at most %d)",
		                     SOURCE_MAX_DIR_DEPTH,
		                     SOURCE_MAX_DIR_DEPTH);
		return;
	}
	if ((names = dir_names(L, dir, &n)) == NULL)
		return;
	for (i = 0; i < n; i++) {
		p = xasprintf("%s%s%s", dir,
		              dir[strlen(dir) - 1] == '/' ? "" : "/", names[i]);
		walk_entry(w, p, names[i], depth);
		free(p);
		free(names[i]);
	}
	free(names);
}

/*
 * walk_root: walk the directory of a path source, skipping what its
 * .sandformignore and the exclude: patterns say; how many entries were
 * skipped is said once, as a warning (never silently).
 */
static void
walk_root(const struct source *src, struct manifest_loader *L, const char *path)
{
	struct walk w = { L, IGNOREFILE_INIT, strlen(path), 0 };
	char *file = xasprintf("%s/%s", path, IGNOREFILE_NAME);
	struct buf b = BUF_INIT;
	size_t i;

	if (access(file, F_OK) == 0) {
		if (file_read(file, SOURCE_MAX_IGNOREFILE, &b) == 0)
			ignorefile_parse(&w.ign, buf_cstr(&b), b.len);
		else
			manifest_loader_diag(L, DIAG_ERROR, file, "%s",
			                     sf_error_last());
	}
	for (i = 0; i < src->nexclude; i++)
		ignorefile_add(&w.ign, src->exclude[i]);
	walk_dir(&w, path, 0);
	if (w.skipped)
		manifest_loader_diag(L, DIAG_WARNING, path,
		                     "%zu entr%s skipped by %s or the stack "
		                     "file's exclude:",
		                     w.skipped, w.skipped == 1 ? "y" : "ies",
		                     IGNOREFILE_NAME);
	ignorefile_clear(&w.ign);
	buf_free(&b);
	free(file);
}

static int
path_load(struct source *src, struct manifest_loader *L)
{
	const char *path = src->name;
	struct stat st;

	if (strcmp(path, "-") == 0) {
		load_file(L, path);
		return 0;
	}
	if (stat(path, &st) != 0) {
		const char *e = strerror(errno);

		manifest_loader_diag(L, DIAG_ERROR, path, "%c%s",
		                     tolower((unsigned char)e[0]), e + 1);
		return 0;
	}
	if (S_ISDIR(st.st_mode))
		walk_root(src, L, path);
	else if (S_ISREG(st.st_mode))
		load_file(L, path);
	else
		manifest_loader_diag(L, DIAG_ERROR, path,
		                     "not a regular file or directory (use - "
		                     "to read stdin)");
	return 0;
}

static const struct source_ops path_ops = { "path", path_load, NULL, NULL };

int
source_path_new(const char *path, struct source **out)
{
	struct source *src = xcalloc(1, sizeof(*src));

	src->ops = &path_ops;
	src->name = xstrdup(path);
	*out = src;
	return 0;
}

int
manifest_load(const char *const *paths, size_t n, struct manifest_set **out,
              struct diag_list *diags)
{
	struct manifest_loader *L = manifest_loader_new(diags);
	static const char *const here[] = { "." };
	struct source *src;
	size_t i;
	int rc;

	if (n == 0) {
		paths = here;
		n = 1;
	}
	for (i = 0; i < n; i++) {
		source_path_new(paths[i], &src);
		rc = source_load(src, L);
		source_free(src);
		if (rc < 0) {
			manifest_loader_free(L);
			*out = NULL;
			return rc;
		}
	}
	return manifest_loader_finish(L, out);
}
