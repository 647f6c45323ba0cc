/*
 * kind-stack: the Stack kind (manifests/stack.h): one document → one struct
 * stack_spec, validated like the other kinds, and finding and loading a
 * stack file.
 */
#include "common/base.h"

#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/fileutil.h"
#include "common/strnum.h"
#include "common/xalloc.h"
#include "manifests/doc.h"
#include "manifests/rules.h"
#include "manifests/source-git.h"
#include "manifests/source.h"
#include "manifests/kind-stack-watch.h"
#include "manifests/stack.h"

void
stack_spec_free(struct stack_spec *st)
{
	size_t i;

	if (st == NULL)
		return;
	free(st->name);
	free(st->file);
	free(st->dir);
	for (i = 0; i < st->nsources; i++) {
		free(st->sources[i].path);
		if (st->sources[i].git != NULL)
			gitsrc_config_clear(st->sources[i].git);
		free(st->sources[i].git);
	}
	free(st->sources);
	free(st->state);
	free(st->lock_timeout);
	for (i = 0; i < st->nsecret_dirs; i++)
		free(st->secret_dirs[i]);
	free(st->secret_dirs);
	for (i = 0; i < st->nexclude; i++)
		free(st->exclude[i]);
	free(st->exclude);
	for (i = 0; i < st->nignore; i++)
		free(st->ignore[i]);
	free(st->ignore);
	stack_watch_clear(&st->watch);
	free(st);
}

char *
stack_path(const struct stack_spec *st, const char *path)
{
	if (path[0] == '/' || strstr(path, "://") != NULL || st->dir == NULL ||
	    strcmp(st->dir, ".") == 0)
		return xstrdup(path);
	return xasprintf("%s/%s", st->dir, path);
}

/* resolved: a file of the stack file against its directory, or NULL. */
static char *
resolved(const struct stack_spec *st, const char *path)
{
	return path ? stack_path(st, path) : NULL;
}

void
stack_git_config(const struct stack_spec *st, const struct stack_source *src,
                 const char *state_path, int offline, struct gitsrc_config *out)
{
	const struct gitsrc_config *g = src->git;
	const char *url = g->url;

	gitsrc_config_init(out, NULL);
	/* a local repository by relative path (no scheme, no host:) is
	 * relative to the stack file, as every other path in it */
	out->url = strchr(url, ':') ? xstrdup(url) : stack_path(st, url);
	(void)gitsrc_config_set_ref(out, g->ref_kind, g->ref); /* checked */
	out->path = xstrdup_or_null(g->path);
	out->auth.token_env = xstrdup_or_null(g->auth.token_env);
	out->auth.token_file = resolved(st, g->auth.token_file);
	out->auth.username = xstrdup_or_null(g->auth.username);
	out->auth.ca_file = resolved(st, g->auth.ca_file);
	out->auth.ssh_key = resolved(st, g->auth.ssh_key);
	out->auth.passphrase_env = xstrdup_or_null(g->auth.passphrase_env);
	out->auth.known_hosts = resolved(st, g->auth.known_hosts);
	out->auth.ssh_agent = g->auth.ssh_agent;
	out->verify.mode = g->verify.mode;
	out->verify.allowed_signers = resolved(st, g->verify.allowed_signers);
	out->cache_dir = gitsrc_cache_dir(state_path);
	out->offline = offline;
}

/* load_strings: a list of non-empty strings without control characters. */
static void
load_strings(struct doc *d, const struct ynode *n, const char *what,
             char ***out, size_t *count)
{
	size_t i, old;
	const char *v;

	if (n->type != YNODE_SEQ) {
		DOC_ERR(d, n, "got %s (expected a list of %s)", doc_what(n),
		        what);
		return;
	}
	*out = xcalloc(n->n + 1, sizeof(**out));
	for (i = 0; i < n->n; i++) {
		old = doc_push_index(d, i);
		if (doc_string(d, n->kids[i], &v)) {
			if (*v == '\0' || doc_has_control(v))
				DOC_ERR(d, n->kids[i],
				        "empty or control character (expected "
				        "%s)",
				        what);
			else
				(*out)[(*count)++] = xstrdup(v);
		}
		doc_pop(d, old);
	}
}

int
stack_ignore_rule_ok(const char *rule)
{
	static const char *const categories[] = {
		"missing",  "spec",    "labels", "resources",
		"settings", "network", "state",
	};
	size_t i, n = rule ? strlen(rule) : 0;

	for (i = 0; i < sizeof(categories) / sizeof(categories[0]); i++)
		if (n && strcmp(rule, categories[i]) == 0)
			return 1;
	if (strncmp(rule ? rule : "", "spec.", 5) != 0 &&
	    strncmp(rule ? rule : "", "labels.", 7) != 0)
		return 0;
	return rule[n - 1] != '.' && strstr(rule, "..") == NULL &&
	       strcmp(rule, "spec.*") != 0;
}

/* load_ignore: the ignore rules, each checked where it is written. */
static void
load_ignore(struct doc *d, const struct ynode *n, struct stack_spec *st)
{
	size_t i;

	load_strings(d, n, "ignore rules", &st->ignore, &st->nignore);
	for (i = 0; i < st->nignore; i++)
		if (!stack_ignore_rule_ok(st->ignore[i]))
			DOC_ERR(d, n->kids[i],
			        "'%s' is not an ignore rule (expected a "
			        "category: missing, spec, labels, resources, "
			        "settings, network, state; or a field such as "
			        "labels.team, spec.resources.cpu, labels.*)",
			        st->ignore[i]);
}

/*
 * A git source: {url, ref, path, auth: {...}, verify: {...}}, the
 * configuration the command line's --git options fill (docs/gitops.md).
 * Strings are stored as written; stack_git_config resolves the files.
 */
static const char *const auth_keys[] = {
	"tokenEnv", "tokenFile",     "username",   "caFile",
	"sshKey",   "passphraseEnv", "knownHosts", "agent",
};

/* auth_string: where auth key i goes; NULL for agent (a bool). */
static char **
auth_string(struct gitsrc_auth *a, size_t i)
{
	char **const dst[] = {
		&a->token_env, &a->token_file,     &a->username,    &a->ca_file,
		&a->ssh_key,   &a->passphrase_env, &a->known_hosts,
	};

	return i < sizeof(dst) / sizeof(dst[0]) ? dst[i] : NULL;
}

static bool
load_git_auth(struct doc *d, const struct ynode *n, struct gitsrc_auth *a)
{
	enum { NAUTH = sizeof(auth_keys) / sizeof(auth_keys[0]) };
	const struct ynode *v[NAUTH], *k[NAUTH];
	bool ok = true, b;
	size_t i, old;

	if (!doc_fields(d, n, auth_keys, NAUTH, v, k))
		return false;
	for (i = 0; i < NAUTH; i++) {
		if (v[i] == NULL)
			continue;
		old = doc_push(d, auth_keys[i]);
		if (auth_string(a, i) != NULL)
			ok = doc_word(d, v[i], "a string", auth_string(a, i)) &&
			     ok;
		else if (doc_bool(d, v[i], &b))
			a->ssh_agent = b;
		else
			ok = false;
		doc_pop(d, old);
	}
	return ok;
}

/* load_git_ref: ref: as --ref ("branch:main", "v1.2.0"), or one of
 * {branch: NAME}, {tag: NAME}, {semver: RANGE}, {commit: SHA}. */
static bool
load_git_ref(struct doc *d, const struct ynode *n, struct gitsrc_config *c)
{
	static const char *const kinds[] = { "branch", "tag", "semver",
		                             "commit" };
	static const enum gitsrc_ref_kind kv[] = { GITSRC_REF_BRANCH,
		                                   GITSRC_REF_TAG,
		                                   GITSRC_REF_SEMVER,
		                                   GITSRC_REF_COMMIT };
	const struct ynode *v[4], *k[4];
	const struct ynode *at = n;
	const char *text = NULL;
	size_t i, old, found = 4;
	int rc;

	if (n->type == YNODE_SCALAR) {
		if (!doc_string(d, n, &text))
			return false;
		rc = gitsrc_config_parse_ref(c, text);
	} else {
		if (!doc_fields(d, n, kinds, 4, v, k))
			return false;
		for (i = 0; i < 4; i++)
			if (v[i] != NULL)
				found = found == 4 ? i : 5;
		if (found >= 4) {
			DOC_ERR(d, n,
			        "%s (expected one of branch, tag, semver, "
			        "commit)",
			        found == 4 ? "no ref kind"
			                   : "more than one ref");
			return false;
		}
		at = v[found];
		old = doc_push(d, kinds[found]);
		rc = doc_string(d, at, &text)
		             ? gitsrc_config_set_ref(c, kv[found], text)
		             : 0;
		if (rc < 0)
			DOC_ERR(d, at, "%s", sf_error_last());
		doc_pop(d, old);
		return rc == 0 && text != NULL;
	}
	if (rc < 0) {
		DOC_ERR(d, at, "%s", sf_error_last());
		return false;
	}
	return true;
}

/* load_git_verify: verify: {mode: none|head|tag|tag-and-head,
 * allowedSigners: FILE}. */
static bool
load_git_verify(struct doc *d, const struct ynode *n, struct gitsrc_verify *vf)
{
	static const char *const keys[] = { "mode", "allowedSigners" };
	const struct ynode *v[2], *k[2];
	const char *word;
	bool ok = true;
	size_t old;
	int mode;

	if (!doc_fields(d, n, keys, 2, v, k))
		return false;
	if (v[0] != NULL) {
		old = doc_push(d, "mode");
		if (!doc_string(d, v[0], &word))
			ok = false;
		else if ((mode = gitsrc_verify_mode_parse(word)) < 0) {
			DOC_ERR(d, v[0],
			        "unknown mode '%s' (expected none, head, tag "
			        "or "
			        "tag-and-head)",
			        word);
			ok = false;
		} else
			vf->mode = (enum gitsrc_verify_mode)mode;
		doc_pop(d, old);
	}
	if (v[1] != NULL) {
		old = doc_push(d, "allowedSigners");
		ok = doc_word(d, v[1], "a file", &vf->allowed_signers) && ok;
		doc_pop(d, old);
	}
	return ok;
}

/*
 * load_git: the source, checked as the command line's --git options are
 * (gitsrc_config_check, with a placeholder cache: the real one depends on
 * the state the run uses).
 */
static bool
load_git(struct doc *d, const struct ynode *n, struct gitsrc_config *c)
{
	static const char *const keys[] = { "url", "ref", "path", "auth",
		                            "verify" };
	const struct ynode *v[5], *k[5];
	bool ok = true;
	size_t i, old;

	if (!doc_fields(d, n, keys, 5, v, k))
		return false;
	if (v[0] == NULL) {
		DOC_ERR(d, n, "missing url (expected {url: URL, ref: ...})");
		return false;
	}
	for (i = 0; i < 5; i++) {
		if (v[i] == NULL)
			continue;
		old = doc_push(d, keys[i]);
		if (i == 0)
			ok = doc_word(d, v[i], "a repository URL", &c->url) &&
			     ok;
		else if (i == 1)
			ok = load_git_ref(d, v[i], c) && ok;
		else if (i == 2)
			ok = doc_word(d, v[i], "a path", &c->path) && ok;
		else if (i == 3)
			ok = load_git_auth(d, v[i], &c->auth) && ok;
		else
			ok = load_git_verify(d, v[i], &c->verify) && ok;
		doc_pop(d, old);
	}
	if (!ok)
		return false;
	c->cache_dir = xstrdup("."); /* checked for presence only */
	if (gitsrc_config_check(c) < 0) {
		DOC_ERR(d, n, "%s", sf_error_last());
		ok = false;
	}
	free(c->cache_dir);
	c->cache_dir = NULL;
	return ok;
}

static void
load_source(struct doc *d, const struct ynode *n, struct stack_spec *st)
{
	static const char *const names[] = { "path", "git" };
	const struct ynode *v[2], *k[2];
	struct stack_source *src;
	size_t old;

	if (!doc_fields(d, n, names, 2, v, k))
		return;
	if ((v[0] == NULL) == (v[1] == NULL)) {
		DOC_ERR(d, n,
		        "a source is a path or a git repository (expected "
		        "{path: DIR} or {git: {url, ...}})");
		return;
	}
	src = &st->sources[st->nsources];
	memset(src, 0, sizeof(*src));
	src->line = n->line;
	if (v[0]) {
		old = doc_push(d, "path");
		if (doc_word(d, v[0], "a file or directory", &src->path))
			st->nsources++;
		doc_pop(d, old);
		return;
	}
	old = doc_push(d, "git");
	src->kind = STACK_SOURCE_GIT;
	src->git = xcalloc(1, sizeof(*src->git));
	if (load_git(d, v[1], src->git))
		st->nsources++;
	else {
		gitsrc_config_clear(src->git);
		free(src->git);
		src->git = NULL;
	}
	doc_pop(d, old);
}

static void
load_sources(struct doc *d, const struct ynode *n, struct stack_spec *st)
{
	size_t i, old;

	if (n->type != YNODE_SEQ) {
		DOC_ERR(d, n,
		        "got %s (expected a list of sources: {path: DIR})",
		        doc_what(n));
		return;
	}
	st->sources = xcalloc(n->n + 1, sizeof(*st->sources));
	for (i = 0; i < n->n; i++) {
		old = doc_push_index(d, i);
		load_source(d, n->kids[i], st);
		doc_pop(d, old);
	}
}

static void
load_mass_delete(struct doc *d, const struct ynode *n, struct stack_spec *st)
{
	static const char *const names[] = { "threshold" };
	const struct ynode *v[1], *k[1];
	long long t;
	size_t old;

	if (!doc_fields(d, n, names, 1, v, k) || v[0] == NULL)
		return;
	old = doc_push(d, "threshold");
	if (doc_int(d, v[0], 0, 100,
	            "a percentage of the stack's sandboxes, 0 to 100", &t)) {
		st->has_mass_delete = true;
		st->mass_delete = (int)t;
	}
	doc_pop(d, old);
}

/* The keys of a Stack's spec, in the order the reader handles them. */
enum stack_key {
	SK_SOURCES,
	SK_STATE,
	SK_PRUNE,
	SK_MASS_DELETE,
	SK_PARALLELISM,
	SK_LOCK_TIMEOUT,
	SK_SECRET_DIRS,
	SK_EXCLUDE,
	SK_IGNORE,
	SK_WATCH,
	SK_COUNT
};

static const char *const stack_keys[SK_COUNT] = {
	"sources",     "state",      "prune",   "massDelete", "parallelism",
	"lockTimeout", "secretDirs", "exclude", "ignore",     "watch",
};

static void
load_stack_value(struct doc *d, enum stack_key key, const struct ynode *n,
                 struct stack_spec *st)
{
	long long v;
	bool b;

	switch (key) {
	case SK_SOURCES:
		load_sources(d, n, st);
		break;
	case SK_STATE:
		doc_word(d, n, "a state file path or a postgresql:// URL",
		         &st->state);
		break;
	case SK_PRUNE:
		if (doc_bool(d, n, &b)) {
			st->has_prune = true;
			st->prune = b;
		}
		break;
	case SK_MASS_DELETE:
		load_mass_delete(d, n, st);
		break;
	case SK_PARALLELISM:
		if (doc_int(d, n, 1, 256, "an integer from 1 to 256", &v)) {
			st->has_parallelism = true;
			st->parallelism = (int)v;
		}
		break;
	case SK_LOCK_TIMEOUT: {
		long long ms;

		if (doc_word(d, n, "a duration like 30s or 5m",
		             &st->lock_timeout) &&
		    strnum_duration_ms(st->lock_timeout, &ms) < 0)
			DOC_ERR(d, n,
			        "'%s' is not a duration (expected e.g. 30s, "
			        "5m)",
			        st->lock_timeout);
		break;
	}
	case SK_SECRET_DIRS:
		load_strings(d, n, "directories", &st->secret_dirs,
		             &st->nsecret_dirs);
		break;
	case SK_EXCLUDE:
		load_strings(d, n, ".sandformignore patterns", &st->exclude,
		             &st->nexclude);
		break;
	case SK_IGNORE:
		load_ignore(d, n, st);
		break;
	case SK_WATCH:
		stack_load_watch(d, n, &st->watch);
		break;
	default:
		break;
	}
}

static void
load_stack_spec(struct doc *d, const struct ynode *n, struct stack_spec *st)
{
	const struct ynode *v[SK_COUNT], *k[SK_COUNT];
	size_t i, old;

	if (!doc_fields(d, n, stack_keys, SK_COUNT, v, k))
		return;
	for (i = 0; i < SK_COUNT; i++) {
		if (v[i] == NULL)
			continue;
		old = doc_push(d, stack_keys[i]);
		load_stack_value(d, (enum stack_key)i, v[i], st);
		doc_pop(d, old);
	}
}

static void
load_stack_name(struct doc *d, const struct ynode *root, const struct ynode *md,
                struct stack_spec *st)
{
	static const char *const meta[] = { "name" };
	const struct ynode *mv[1], *mk[1];
	const char *val, *problem;
	size_t old = doc_push(d, "metadata");

	if (md == NULL) {
		DOC_ERR(d, root, "missing (expected a mapping with name)");
	} else if (doc_fields(d, md, meta, 1, mv, mk)) {
		size_t o2 = doc_push(d, "name");

		if (mv[0] == NULL)
			DOC_ERR(d, md, "missing (expected a stack name)");
		else if (doc_string(d, mv[0], &val)) {
			if ((problem = rule_stack_name_problem(val)) != NULL)
				DOC_ERR(d, mv[0], "%s", problem);
			else
				st->name = xstrdup(val);
		}
		doc_pop(d, o2);
	}
	doc_pop(d, old);
}

void
kind_stack_load(struct doc *d, const struct ynode *root,
                const struct ynode *metadata, const struct ynode *spec,
                struct manifest_set *set)
{
	struct stack_spec *st = xcalloc(1, sizeof(*st));
	size_t old;

	load_stack_name(d, root, metadata, st);
	if (spec) {
		old = doc_push(d, "spec");
		load_stack_spec(d, spec, st);
		doc_pop(d, old);
	}
	if (d->error || st->name == NULL) {
		stack_spec_free(st);
		return;
	}
	st->file = xstrdup(d->file);
	if (set->stack != NULL) {
		DOC_ERR(d, root,
		        "a second stack '%s' (the first is '%s'; expected one "
		        "kind Stack per run)",
		        st->name, set->stack->name);
		stack_spec_free(st);
		return;
	}
	set->stack = st;
}

int
stack_find(char **out)
{
	char dir[PATH_MAX], *p;
	struct stat sb;

	*out = NULL;
	if (getcwd(dir, sizeof(dir)) == NULL)
		return 0;
	for (;;) {
		p = xasprintf("%s%s%s", dir, strcmp(dir, "/") ? "/" : "",
		              STACK_FILE_NAME);
		if (stat(p, &sb) == 0 && S_ISREG(sb.st_mode)) {
			*out = p;
			return 1;
		}
		free(p);
		if (strcmp(dir, "/") == 0)
			return 0;
		p = strrchr(dir, '/');
		if (p == dir)
			dir[1] = '\0';
		else
			*p = '\0';
	}
}

int
stack_load(const char *path, struct stack_spec **out, struct diag_list *diags)
{
	struct manifest_loader *L = manifest_loader_new(diags);
	struct manifest_set *set = NULL;
	struct buf b = BUF_INIT;
	char *slash;
	int rc;

	*out = NULL;
	if ((rc = file_read(path, MANIFEST_MAX_FILE_SIZE, &b)) < 0) {
		manifest_loader_free(L);
		buf_free(&b);
		return rc;
	}
	manifest_loader_add(L, path, b.data ? b.data : "", b.len);
	buf_free(&b);
	if ((rc = manifest_loader_finish(L, &set)) < 0)
		return rc;
	if (set->stack == NULL || set->n_sandboxes > 0) {
		diag_add(diags, DIAG_ERROR, path, 0, 0, NULL,
		         "%s (expected a stack file: one document of kind "
		         "Stack)",
		         set->stack == NULL ? "no kind Stack document"
		                            : "sandboxes in a stack file");
		manifest_set_free(set);
		return sf_error_set(SF_EINVALID, "%s: not a stack file", path);
	}
	*out = set->stack;
	set->stack = NULL;
	manifest_set_free(set);
	slash = strrchr((*out)->file, '/');
	(*out)->dir = slash == NULL ? xstrdup(".")
	              : slash == (*out)->file
	                      ? xstrdup("/")
	                      : xstrndup((*out)->file,
	                                 (size_t)(slash - (*out)->file));
	return 0;
}
