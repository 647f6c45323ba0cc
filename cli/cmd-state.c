/*
 * sandform state list|show NAME|rm NAME|import NAME ID|history|journal|info
 *                 [--stack NAME] [--state PATH|URL] [--json] [--limit N]
 *                 [--open] [-v]
 * sandform state migrate --to PATH|URL [--force] [--stack NAME]
 *                 [--state PATH|URL] [--json]
 *
 * Looks at and edits what the state remembers about one stack. Only rm
 * talks to Daytona (and not with --keep-labels):
 *
 * - list: the stack's records, one line each (NAME, ID, STATUS, UPDATED),
 *   sorted by name; --json gives {"format_version": "1", "stack", "records"}
 *   (each with the live sandbox_class last observed).
 * - show NAME: the whole record as a JSON object (labels sandform owns, the
 *   last observed item, the settings last applied, times).
 * - rm NAME: forget the sandbox and let it go. Its sandform.dev/... labels
 *   are removed from the live sandbox first (one GET, then one PUT of the
 *   remaining labels; its own labels stay), because a sandbox that still
 *   says sandform.dev/stack=STACK but is not in the state stops every plan
 *   of the stack. Only then is the record deleted: when the API call fails
 *   nothing is forgotten and the error says why. A sandbox that no longer
 *   exists, or that carries another stack's label (found by name), is just
 *   forgotten. The sandbox itself is never stopped or deleted.
 *   --keep-labels forgets without contacting Daytona (no API key needed);
 *   the labels then stay: plans fail while NAME is declared, and a state
 *   rebuilt from the live labels (a lost state file) takes the sandbox
 *   back, deleting it when it is no longer declared.
 * - import NAME ID: adopt an existing sandbox under NAME with status
 *   "imported"; the next apply puts sandform's labels on it and from then on
 *   it is managed like one sandform created.
 * - history: the stack's runs, newest first (--limit N keeps the last N).
 *   A run without an outcome is "running", or "abandoned" when its process
 *   (on this host) is gone: it was killed before it could record its end.
 * - journal: the stack's journal of mutating API calls, oldest first: each
 *   written as an intent before its call and marked done or failed after
 *   it. --open keeps the entries still open, which an interrupted run left
 *   and the next run resolves; --limit N keeps the last N.
 * - info: the state itself: backend, path, schema version, the named
 *   settings (such as resize_unavailable), the stack's lock holder (its id
 *   is what force-unlock takes) and how many records, runs, journal
 *   entries (open ones) and drift observations the stack has.
 * - migrate --to PATH|URL: copy the stack's state (records, runs, journal,
 *   drift, the secret-hashing key, settings the target lacks; not the
 *   lock) to another state, of either backend (SQLite file, PostgreSQL
 *   URL), and read the copy back to check it (store_migrate). The source
 *   is left as it was; point --state or SANDFORM_STATE at the target to
 *   use it. Refused: a stack with nothing to copy, a target that already
 *   holds the stack (--force replaces it), a target with another key and
 *   other stacks, and a stack locked in either state (exit 3). A target
 *   file's directory must exist.
 *
 * A state given as a URL is shown without its password.
 * Every --json document is an object with "format_version": "1".
 * rm and import change the state, so they hold the stack lock while they do
 * (exit 3 naming the holder when a run has it). Reading subcommands never
 * create a state file that does not exist yet: an absent file has no
 * records. A missing record is an error (exit 1). Errors are printed as
 * "sandform state: ...". Nothing here reads secrets; only rm reads the API
 * key (DAYTONA_API_KEY or --api-key-file), and never prints it.
 */
#include "common/base.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/exitcodes.h"
#include "common/log.h"
#include "common/strmap.h"
#include "common/suggest.h"
#include "common/timeutil.h"
#include "common/jsonutil.h"
#include "common/xalloc.h"
#include "daytona/client.h"
#include "cli/commands.h"
#include "manifests/secret.h"
#include "manifests/spec.h"
#include "manifests/spechash.h"
#include "reconciler/create.h"
#include "reconciler/labels.h"
#include "reconciler/resources.h"
#include "state/store.h"

/* What `sandform state` does, for its usage messages. */
#define SUBCOMMANDS                                                         \
	"list, show, rm, import, import-volume, import-snapshot, history, " \
	"journal, info, migrate"

/* The same, for "did you mean" and the shell completions. */
const char *const cmd_state_subcommands[] = {
	"list",
	"show",
	"rm",
	"import",
	"import-volume",
	"import-snapshot",
	"history",
	"journal",
	"info",
	"migrate",
	NULL,
};

/* Longest NAME and ID that import accepts. */
#define STATE_NAME_MAX 255
#define STATE_ID_MAX   255

int cmd_state(struct sf_ctx *ctx, struct cli_args *args);

static long long opt_limit;
static int opt_keep_labels;
static int opt_open;
static const char *opt_to;
static int opt_force;

const struct cli_opt cmd_state_opts[] = {
	SF_OPT_STACK,
	SF_OPT_STATE,
	SF_OPT_JSON,
	{ CLI_INT, "limit", 0, "N",
	  "history, journal: only the last N runs or entries", &opt_limit, 0,
	  1000000 },
	{ CLI_FLAG, "open", 0, NULL,
	  "journal: only entries still open (left by an interrupted run)",
	  &opt_open, 0, 0 },
	{ CLI_FLAG, "keep-labels", 0, NULL,
	  "rm: forget without contacting Daytona (the sandbox keeps its "
	  "sandform.dev/* labels)",
	  &opt_keep_labels, 0, 0 },
	{ CLI_STRING, "to", 0, "PATH|URL",
	  "migrate: the state to copy the stack to (an SQLite file or a "
	  "postgresql:// URL)",
	  &opt_to, 0, 0 },
	{ CLI_FLAG, "force", 0, NULL,
	  "migrate: replace the stack when the target already holds it",
	  &opt_force, 0, 0 },
	SF_OPTS_API,
	SF_OPT_VERBOSE,
	SF_OPT_NO_COLOR,
	CLI_OPT_END,
};

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
fail(const char *fmt, ...)
{
	va_list ap;

	fputs("sandform state: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return SF_EXIT_ERROR;
}

/* store_fail: the store's message, exit 3 for a lock held by another. */
static int
store_fail(int rc)
{
	fail("%s", sf_error_last());
	return rc == SF_ELOCKED ? SF_EXIT_LOCKED : SF_EXIT_ERROR;
}

/*
 * open_state: open the state; with may_create 0 an absent state is not
 * created and *out stays NULL (0 is returned: nothing recorded).
 */
static int
open_state(struct sf_ctx *ctx, int may_create, struct store **out)
{
	int rc;

	*out = NULL;
	if (!may_create && (rc = store_exists(ctx->state_path)) <= 0) {
		if (rc < 0)
			return store_fail(rc);
		log_debug("no state at the given location");
		return 0;
	}
	if ((rc = store_open(ctx->state_path, out)) < 0)
		return store_fail(rc);
	return 0;
}

static const char *
or_dash(const char *s)
{
	return s != NULL && *s != '\0' ? s : "-";
}

static cJSON *
json_or_null(const char *text)
{
	cJSON *j = text ? cJSON_Parse(text) : NULL;

	return j ? j : cJSON_CreateNull();
}

static void
add_time(cJSON *o, const char *key, int64_t ms)
{
	char iso[SF_ISO8601_LEN + 1];

	if (ms <= 0) {
		cJSON_AddNullToObject(o, key);
		return;
	}
	time_format_iso(ms, iso);
	cJSON_AddStringToObject(o, key, iso);
}

/* print_json: print and free a document; 1 on failure. */
static int
print_json(cJSON *doc, int pretty)
{
	char *text = pretty ? cJSON_Print(doc) : cJSON_PrintUnformatted(doc);

	cJSON_Delete(doc);
	if (text == NULL)
		return fail("out of memory");
	printf("%s\n", text);
	free(text);
	return SF_EXIT_OK;
}

static cJSON *
record_to_json(const struct store_record *r)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "stack", r->stack);
	cJSON_AddStringToObject(o, "name", r->name);
	json_add_string_or_null(o, "sandbox_id", r->sandbox_id);
	json_add_string_or_null(o, "status", r->status);
	json_add_string_or_null(o, "spec_hash", r->spec_hash);
	cJSON_AddItemToObject(o, "labels", json_or_null(r->labels_json));
	cJSON_AddItemToObject(o, "observed", json_or_null(r->observed_json));
	cJSON_AddItemToObject(o, "applied", json_or_null(r->applied_json));
	add_time(o, "created", r->created_ms);
	add_time(o, "updated", r->updated_ms);
	return o;
}

/* add_class: "sandbox_class", the live class of the last observation
 * (0.218 servers; null when unknown). */
static void
add_class(cJSON *o, const char *observed_json)
{
	cJSON *ob = observed_json ? cJSON_Parse(observed_json) : NULL;
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(ob, "sandboxClass");

	json_add_string_or_null(o, "sandbox_class",
	                        cJSON_IsString(c) ? c->valuestring : NULL);
	cJSON_Delete(ob);
}

static int
state_list(struct sf_ctx *ctx, struct store *s)
{
	struct store_record_list l = { NULL, 0 };
	char iso[SF_ISO8601_LEN + 1];
	cJSON *doc, *arr, *o;
	int wname = 4, wid = 2, wstatus = 6, rc;
	size_t i;

	if (s != NULL && (rc = store_record_list(s, ctx->stack, &l)) < 0)
		return store_fail(rc);
	if (ctx->json) {
		doc = cJSON_CreateObject();
		cJSON_AddStringToObject(doc, "format_version", "1");
		cJSON_AddStringToObject(doc, "stack", ctx->stack);
		arr = cJSON_AddArrayToObject(doc, "records");
		for (i = 0; i < l.n; i++) {
			o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "name", l.v[i].name);
			json_add_string_or_null(o, "sandbox_id",
			                        l.v[i].sandbox_id);
			json_add_string_or_null(o, "status", l.v[i].status);
			json_add_string_or_null(o, "spec_hash",
			                        l.v[i].spec_hash);
			add_class(o, l.v[i].observed_json);
			add_time(o, "updated", l.v[i].updated_ms);
			cJSON_AddItemToArray(arr, o);
		}
		store_record_list_free(&l);
		return print_json(doc, 0);
	}
	if (l.n == 0) {
		fprintf(stderr, "sandform state: stack '%s' has no records\n",
		        ctx->stack);
		return SF_EXIT_OK;
	}
	for (i = 0; i < l.n; i++) {
		if ((int)strlen(l.v[i].name) > wname)
			wname = (int)strlen(l.v[i].name);
		if ((int)strlen(or_dash(l.v[i].sandbox_id)) > wid)
			wid = (int)strlen(or_dash(l.v[i].sandbox_id));
		if ((int)strlen(or_dash(l.v[i].status)) > wstatus)
			wstatus = (int)strlen(or_dash(l.v[i].status));
	}
	printf("%-*s  %-*s  %-*s  %s\n", wname, "NAME", wid, "ID", wstatus,
	       "STATUS", "UPDATED");
	for (i = 0; i < l.n; i++) {
		time_format_iso(l.v[i].updated_ms, iso);
		printf("%-*s  %-*s  %-*s  %s\n", wname, l.v[i].name, wid,
		       or_dash(l.v[i].sandbox_id), wstatus,
		       or_dash(l.v[i].status), iso);
	}
	store_record_list_free(&l);
	return SF_EXIT_OK;
}

static int
state_show(struct sf_ctx *ctx, struct store *s, const char *name)
{
	struct store_record *r = NULL;
	int rc;

	if (s == NULL)
		return fail("no record of '%s' in stack '%s'", name,
		            ctx->stack);
	if ((rc = store_record_get(s, ctx->stack, name, &r)) < 0)
		return store_fail(rc);
	rc = print_json(record_to_json(r), 1);
	store_record_free(r);
	return rc;
}

/* lock_stack: hold the stack lock around a change of the state. */
static int
lock_stack(struct sf_ctx *ctx, struct store *s, const char *what,
           struct store_lock_holder *lock)
{
	int rc = store_lock_acquire(s, ctx->stack, what, 0, lock);

	if (rc < 0)
		return store_fail(rc);
	return 0;
}

static void
unlock_stack(struct store *s, const struct store_lock_holder *lock)
{
	if (store_lock_release(s, lock->id) < 0)
		log_warn("%s", sf_error_last());
}

/* What unlabel() did, for the message of rm. */
enum unlabel_outcome {
	UNLABEL_REMOVED, /* its sandform.dev/... labels were removed */
	UNLABEL_NONE,    /* the sandbox carries none */
	UNLABEL_GONE,    /* the sandbox no longer exists */
	UNLABEL_OTHER,   /* it is labelled for another stack: left alone */
};

/* rm_fail: rm could not unlabel; nothing was forgotten. */
static int
rm_fail(const char *name, const char *why)
{
	return fail("rm %s: cannot remove sandform's labels from the sandbox: "
	            "%s; nothing was forgotten (--keep-labels forgets without "
	            "contacting Daytona)",
	            name, why);
}

/*
 * unlabel: remove the sandform.dev/... labels from the live sandbox of r (by
 * id, or by name while it has none) with one PUT of the labels that
 * remain. Returns 0 with *what set, or an exit status (message printed).
 */
static int
unlabel(struct sf_ctx *ctx, struct dt_client *c, const struct store_record *r,
        enum unlabel_outcome *what, char **id_out)
{
	struct dt_result res = DT_RESULT_INIT;
	struct strmap keep = STRMAP_INIT;
	const struct dt_sandbox *sb;
	const char *owner;
	size_t i;
	int rc;

	rc = dt_get(c, r->sandbox_id ? r->sandbox_id : r->name, &res);
	if (rc == SF_ENOTFOUND) {
		*what = UNLABEL_GONE;
		rc = 0;
		goto out;
	}
	if (rc < 0) {
		rc = rm_fail(r->name, sf_error_last());
		goto out;
	}
	sb = res.sandbox;
	*id_out = xstrdup(sb->id);
	owner = strmap_get(&sb->labels, LABEL_STACK);
	if (owner != NULL && strcmp(owner, ctx->stack) != 0) {
		log_warn("sandbox %s carries %s=%s, not this stack's: its "
		         "labels are left as they are",
		         sb->id, LABEL_STACK, owner);
		*what = UNLABEL_OTHER;
		goto out;
	}
	for (i = 0; i < sb->labels.n; i++)
		if (strncmp(sb->labels.v[i].key, LABEL_PREFIX,
		            strlen(LABEL_PREFIX)) != 0)
			strmap_set(&keep, sb->labels.v[i].key,
			           sb->labels.v[i].value);
	if (keep.n == sb->labels.n) {
		*what = UNLABEL_NONE;
		goto out;
	}
	log_debug("removing %zu sandform.dev/ labels from sandbox %s",
	          sb->labels.n - keep.n, sb->id);
	if ((rc = dt_set_labels(c, sb->id, &keep, &res)) < 0) {
		rc = rm_fail(r->name, sf_error_last());
		goto out;
	}
	*what = UNLABEL_REMOVED;
out:
	strmap_clear(&keep);
	dt_result_clear(&res);
	return rc;
}

/* open_client: a client from the environment; an exit status on failure. */
static int
open_client(struct sf_ctx *ctx, const char *name, struct dt_client **out)
{
	struct dt_config cfg = DT_CONFIG_INIT;
	int rc;

	rc = dt_config_from_env(&cfg, ctx->api_key_file, ctx->ca_file);
	if (rc == 0)
		rc = dt_client_new(&cfg, out);
	dt_config_clear(&cfg);
	if (rc < 0)
		return rm_fail(name, sf_error_last());
	return 0;
}

static int
state_rm(struct sf_ctx *ctx, struct store *s, const char *name)
{
	struct store_lock_holder lock;
	struct store_record *r = NULL;
	struct dt_client *c = NULL;
	enum unlabel_outcome what = UNLABEL_NONE;
	char *live_id = NULL;
	int rc;

	if (s == NULL)
		return fail("no record of '%s' in stack '%s'", name,
		            ctx->stack);
	if ((rc = lock_stack(ctx, s, "state rm", &lock)) != 0)
		return rc;
	if ((rc = store_record_get(s, ctx->stack, name, &r)) < 0) {
		rc = store_fail(rc);
		goto out;
	}
	if (res_is_record(name)) {
		/* a volume or snapshot carries no labels */
		if ((rc = store_record_delete(s, ctx->stack, name)) < 0) {
			rc = store_fail(rc);
			goto out;
		}
		printf("forgot '%s' (%s) in stack '%s'; it is untouched in "
		       "Daytona\n",
		       name, or_dash(r->sandbox_id), ctx->stack);
		rc = SF_EXIT_OK;
		goto out;
	}
	if (!opt_keep_labels &&
	    ((rc = open_client(ctx, name, &c)) != 0 ||
	     (rc = unlabel(ctx, c, r, &what, &live_id)) != 0))
		goto out;
	if ((rc = store_record_delete(s, ctx->stack, name)) < 0) {
		rc = store_fail(rc);
		goto out;
	}
	printf("forgot '%s' (sandbox %s) in stack '%s'; ", name,
	       or_dash(r->sandbox_id ? r->sandbox_id : live_id), ctx->stack);
	if (opt_keep_labels)
		printf("its sandform.dev/* labels were kept: plans fail while "
		       "'%s' is declared, and a state rebuilt from the live "
		       "labels would take it back (and delete it once it is "
		       "not declared)\n",
		       name);
	else if (what == UNLABEL_REMOVED)
		printf("removed its sandform.dev/* labels; the sandbox itself "
		       "is untouched\n");
	else if (what == UNLABEL_GONE)
		printf("the sandbox no longer exists\n");
	else if (what == UNLABEL_OTHER)
		printf("the sandbox belongs to another stack and was left "
		       "alone\n");
	else
		printf("it carries no sandform.dev/* labels; the sandbox "
		       "itself is untouched\n");
	rc = SF_EXIT_OK;
out:
	unlock_stack(s, &lock);
	dt_client_free(c);
	free(live_id);
	store_record_free(r);
	return rc;
}

/* plain: printable, no spaces or controls, within max bytes. */
static int
plain(const char *v, size_t max)
{
	const unsigned char *p;

	if (*v == '\0' || strlen(v) > max)
		return 0;
	for (p = (const unsigned char *)v; *p; p++)
		if (*p <= ' ' || *p == 0x7f)
			return 0;
	return 1;
}

static int
state_import(struct sf_ctx *ctx, struct store *s, const char *name,
             const char *id)
{
	struct store_lock_holder lock;
	struct store_record *old = NULL, r;
	int rc;

	if (!plain(name, STATE_NAME_MAX))
		return fail("invalid sandbox name '%s'", name);
	if (!plain(id, STATE_ID_MAX))
		return fail("invalid sandbox id '%s'", id);
	if ((rc = lock_stack(ctx, s, "state import", &lock)) != 0)
		return rc;
	rc = store_record_get(s, ctx->stack, name, &old);
	if (rc == 0) {
		rc = fail("'%s' is already in stack '%s' (sandbox %s); "
		          "run 'sandform state rm %s' first",
		          name, ctx->stack, or_dash(old->sandbox_id), name);
		goto out;
	}
	if (rc != SF_ENOTFOUND) {
		rc = store_fail(rc);
		goto out;
	}
	rc = store_record_find_id(s, id, &old);
	if (rc == 0) {
		rc = fail("sandbox %s is already recorded as '%s' in stack "
		          "'%s'",
		          id, old->name, old->stack);
		goto out;
	}
	if (rc != SF_ENOTFOUND) {
		rc = store_fail(rc);
		goto out;
	}
	memset(&r, 0, sizeof(r));
	r.stack = ctx->stack;
	r.name = name;
	r.sandbox_id = id;
	r.status = STORE_STATUS_IMPORTED;
	if ((rc = store_record_put(s, &r)) < 0) {
		rc = store_fail(rc);
		goto out;
	}
	printf("imported '%s' (sandbox %s) into stack '%s'; the next apply "
	       "labels it as sandform's\n",
	       name, id, ctx->stack);
	rc = SF_EXIT_OK;
out:
	unlock_stack(s, &lock);
	store_record_free(old);
	return rc;
}

/*
 * state_import_res: state import-volume NAME / import-snapshot NAME: the
 * live volume or snapshot of that name becomes the stack's (a record
 * "<kind>NAME" without an applied spec: the next plan keeps it while it is
 * declared and deletes it when it is not, as for an imported sandbox).
 */
static int
state_import_res(struct sf_ctx *ctx, struct store *s, enum res_kind kind,
                 const char *name)
{
	struct store_lock_holder lock;
	struct store_record *old = NULL, r;
	struct dt_config cfg = DT_CONFIG_INIT;
	struct dt_client *c = NULL;
	struct dt_res *live = NULL;
	const char *word = res_kind_word(kind);
	char *key = NULL;
	int rc;

	if (!plain(name, STATE_NAME_MAX))
		return fail("invalid %s name '%s'", word, name);
	key = res_key(kind, name);
	if ((rc = lock_stack(ctx, s, "state import", &lock)) != 0) {
		free(key);
		return rc;
	}
	rc = store_record_get(s, ctx->stack, key, &old);
	if (rc == 0) {
		rc = fail("%s '%s' is already in stack '%s' (%s); run "
		          "'sandform state rm %s' first",
		          word, name, ctx->stack, or_dash(old->sandbox_id),
		          key);
		goto out;
	}
	if (rc != SF_ENOTFOUND) {
		rc = store_fail(rc);
		goto out;
	}
	rc = dt_config_from_env(&cfg, ctx->api_key_file, ctx->ca_file);
	if (rc == 0)
		rc = dt_client_new(&cfg, &c);
	if (rc == 0)
		rc = kind == RES_VOLUME ? dt_volume_get(c, name, &live)
		                        : dt_snapshot_get(c, name, &live);
	if (rc < 0) {
		rc = fail("import %s %s: %s", word, name,
		          rc == SF_ENOTFOUND ? "no such one in the organization"
		                             : sf_error_last());
		goto out;
	}
	if (live->general) {
		rc = fail("import snapshot %s: a server snapshot (general) is "
		          "no organization's to manage",
		          name);
		goto out;
	}
	memset(&r, 0, sizeof(r));
	r.stack = ctx->stack;
	r.name = key;
	r.sandbox_id = live->id;
	r.status = STORE_STATUS_IMPORTED;
	if ((rc = store_record_put(s, &r)) < 0) {
		rc = store_fail(rc);
		goto out;
	}
	printf("imported %s '%s' (%s) into stack '%s'; plans keep it while "
	       "it is declared and delete it when it is not\n",
	       word, name, live->id, ctx->stack);
	rc = SF_EXIT_OK;
out:
	unlock_stack(s, &lock);
	dt_config_clear(&cfg);
	dt_client_free(c);
	dt_res_free(live);
	store_record_free(old);
	free(key);
	return rc;
}

static void
format_duration(const struct store_run *r, char *out, size_t size)
{
	int64_t ms;

	if (r->finished_ms <= 0) {
		snprintf(out, size, "-");
		return;
	}
	ms = r->finished_ms - r->started_ms;
	if (ms < 0)
		ms = 0;
	if (ms < 10000)
		snprintf(out, size, "%.1fs", (double)ms / 1000.0);
	else if (ms < 3600 * 1000)
		snprintf(out, size, "%lldm%02llds", (long long)(ms / 60000),
		         (long long)(ms / 1000 % 60));
	else
		snprintf(out, size, "%lldh%02lldm", (long long)(ms / 3600000),
		         (long long)(ms / 60000 % 60));
}

/*
 * run_status: the outcome of a finished run; an unfinished one is
 * "running" unless it was started on this host by a process that no longer
 * exists ("abandoned": killed or crashed before it could record an end).
 */
static const char *
run_status(const struct store_run *r, const char *host)
{
	if (r->outcome != NULL)
		return r->outcome;
	if (r->host != NULL && strcmp(r->host, host) == 0 && r->pid > 0 &&
	    kill((pid_t)r->pid, 0) < 0 && errno == ESRCH)
		return "abandoned";
	return "running";
}

/* failed_commit: the commit of a run's "failed_revision" (a watch cycle
 * that enforced the last good revision), or "" in out. */
static void
failed_commit(const char *counts_json, char *out, size_t size)
{
	cJSON *j = counts_json ? cJSON_Parse(counts_json) : NULL;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "failed_revision");
	const char *rev = cJSON_IsString(v) ? v->valuestring : "", *sha;

	if ((sha = strstr(rev, "sha1:")) != NULL)
		rev = sha + 5;
	snprintf(out, size, "%s", rev);
	cJSON_Delete(j);
}

static int
state_history(struct sf_ctx *ctx, struct store *s)
{
	struct store_run_list l = { NULL, 0 };
	char iso[SF_ISO8601_LEN + 1], dur[32], bad[64];
	cJSON *doc, *arr, *o;
	const struct store_run *r;
	char host[256];
	int rc;
	size_t i;

	if (gethostname(host, sizeof(host)) < 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';

	if (s != NULL &&
	    (rc = store_run_list(s, ctx->stack, (size_t)opt_limit, &l)) < 0)
		return store_fail(rc);
	if (ctx->json) {
		doc = cJSON_CreateObject();
		cJSON_AddStringToObject(doc, "format_version", "1");
		cJSON_AddStringToObject(doc, "stack", ctx->stack);
		arr = cJSON_AddArrayToObject(doc, "runs");
		for (i = 0; i < l.n; i++) {
			r = &l.v[i];
			o = cJSON_CreateObject();
			cJSON_AddNumberToObject(o, "id", (double)r->id);
			cJSON_AddStringToObject(o, "command", r->command);
			json_add_string_or_null(o, "source", r->source);
			json_add_string_or_null(o, "git_commit", r->git_commit);
			cJSON_AddNumberToObject(o, "pid", (double)r->pid);
			json_add_string_or_null(o, "host", r->host);
			add_time(o, "started", r->started_ms);
			add_time(o, "finished", r->finished_ms);
			json_add_string_or_null(o, "outcome", r->outcome);
			cJSON_AddStringToObject(o, "status",
			                        run_status(r, host));
			cJSON_AddItemToObject(o, "counts",
			                      json_or_null(r->counts_json));
			cJSON_AddItemToArray(arr, o);
		}
		store_run_list_free(&l);
		return print_json(doc, 0);
	}
	if (l.n == 0) {
		fprintf(stderr, "sandform state: stack '%s' has no runs\n",
		        ctx->stack);
		return SF_EXIT_OK;
	}
	printf("%-6s  %-24s  %-8s  %-9s  %-8s  %s\n", "ID", "STARTED",
	       "COMMAND", "OUTCOME", "DURATION", "SOURCE");
	for (i = 0; i < l.n; i++) {
		r = &l.v[i];
		time_format_iso(r->started_ms, iso);
		format_duration(r, dur, sizeof(dur));
		failed_commit(r->counts_json, bad, sizeof(bad));
		printf("%-6lld  %-24s  %-8s  %-9s  %-8s  %s%s%.12s%s%.12s%s\n",
		       (long long)r->id, iso, r->command, run_status(r, host),
		       dur, or_dash(r->source), r->git_commit ? "@" : "",
		       r->git_commit ? r->git_commit : "",
		       *bad ? " (failed: " : "", bad, *bad ? ")" : "");
	}
	store_run_list_free(&l);
	return SF_EXIT_OK;
}

static cJSON *
journal_entry_to_json(const struct store_journal_entry *e)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "id", (double)e->id);
	if (e->run_id > 0)
		cJSON_AddNumberToObject(o, "run_id", (double)e->run_id);
	else
		cJSON_AddNullToObject(o, "run_id");
	cJSON_AddStringToObject(o, "name", e->name);
	cJSON_AddStringToObject(o, "action", e->action);
	json_add_string_or_null(o, "sandbox_id", e->sandbox_id);
	cJSON_AddStringToObject(o, "state", store_journal_state_name(e->state));
	json_add_string_or_null(o, "result_sandbox_id", e->result_sandbox_id);
	json_add_string_or_null(o, "message", e->message);
	cJSON_AddItemToObject(o, "detail", json_or_null(e->detail_json));
	add_time(o, "created", e->created_ms);
	add_time(o, "updated", e->updated_ms);
	return o;
}

static int
state_journal(struct sf_ctx *ctx, struct store *s)
{
	struct store_journal_list l = { NULL, 0 };
	const struct store_journal_entry *e;
	char iso[SF_ISO8601_LEN + 1];
	cJSON *doc, *arr;
	size_t i, first = 0;
	int rc;

	if (s != NULL &&
	    (rc = opt_open ? store_journal_open(s, ctx->stack, &l)
	                   : store_journal_list(s, ctx->stack, &l)) < 0)
		return store_fail(rc);
	if (opt_limit > 0 && l.n > (size_t)opt_limit)
		first = l.n - (size_t)opt_limit;
	if (ctx->json) {
		doc = cJSON_CreateObject();
		cJSON_AddStringToObject(doc, "format_version", "1");
		cJSON_AddStringToObject(doc, "stack", ctx->stack);
		arr = cJSON_AddArrayToObject(doc, "entries");
		for (i = first; i < l.n; i++)
			cJSON_AddItemToArray(arr,
			                     journal_entry_to_json(&l.v[i]));
		store_journal_list_free(&l);
		return print_json(doc, 0);
	}
	if (l.n == 0) {
		fprintf(stderr,
		        "sandform state: stack '%s' has no %sjournal "
		        "entries\n",
		        ctx->stack, opt_open ? "open " : "");
		return SF_EXIT_OK;
	}
	printf("%-6s  %-24s  %-8s  %-7s  %-20s  %s\n", "ID", "CREATED",
	       "ACTION", "STATE", "NAME", "SANDBOX");
	for (i = first; i < l.n; i++) {
		e = &l.v[i];
		time_format_iso(e->created_ms, iso);
		printf("%-6lld  %-24s  %-8s  %-7s  %-20s  %s%s%s\n",
		       (long long)e->id, iso, e->action,
		       store_journal_state_name(e->state), e->name,
		       or_dash(e->result_sandbox_id ? e->result_sandbox_id
		                                    : e->sandbox_id),
		       e->message ? "  " : "", e->message ? e->message : "");
	}
	store_journal_list_free(&l);
	return SF_EXIT_OK;
}

static cJSON *
lock_to_json(const struct store_lock_holder *h)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "id", h->id);
	cJSON_AddStringToObject(o, "stack", h->stack);
	cJSON_AddStringToObject(o, "holder", h->info);
	cJSON_AddNumberToObject(o, "pid", (double)h->pid);
	cJSON_AddStringToObject(o, "host", h->host);
	add_time(o, "since", h->since_ms);
	add_time(o, "lease_until", h->lease_until_ms);
	return o;
}

static cJSON *
counts_to_json(const struct store_counts *c)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "records", (double)c->records);
	cJSON_AddNumberToObject(o, "runs", (double)c->runs);
	cJSON_AddNumberToObject(o, "journal", (double)c->journal);
	cJSON_AddNumberToObject(o, "journal_open", (double)c->journal_open);
	cJSON_AddNumberToObject(o, "drift", (double)c->drift);
	return o;
}

/* info_print: the human form of state info. */
static void
info_print(struct sf_ctx *ctx, struct store *s, const struct strmap *settings,
           const struct store_lock_holder *lock, const struct store_counts *c)
{
	char since[SF_ISO8601_LEN + 1], until[SF_ISO8601_LEN + 1];
	char *shown = store_redact(ctx->state_path);
	size_t i;

	printf("state:           %s\n", shown);
	free(shown);
	if (s == NULL) {
		printf("(no state yet: it is created by the first command that "
		       "records something)\n");
		return;
	}
	printf("backend:         %s (schema %d)\n", store_backend_name(s),
	       store_schema_version(s));
	printf("stack:           %s\n", ctx->stack);
	if (lock == NULL) {
		printf("lock:            free\n");
	} else {
		time_format_iso(lock->since_ms, since);
		time_format_iso(lock->lease_until_ms, until);
		printf("lock:            %s, held by %s (pid %ld on '%s') "
		       "since "
		       "%s, lease until %s\n",
		       lock->id, lock->info, lock->pid, lock->host, since,
		       until);
	}
	printf("records:         %zu\n", c->records);
	printf("runs:            %zu\n", c->runs);
	printf("journal:         %zu (%zu open)\n", c->journal,
	       c->journal_open);
	printf("drift:           %zu\n", c->drift);
	for (i = 0; i < settings->n; i++)
		printf("setting:         %s = %s\n", settings->v[i].key,
		       settings->v[i].value);
}

static int
state_info(struct sf_ctx *ctx, struct store *s)
{
	struct strmap settings = STRMAP_INIT;
	struct store_lock_holder lock;
	struct store_counts c;
	cJSON *doc;
	char *shown;
	int rc, locked = 0;

	memset(&c, 0, sizeof(c));
	if (s != NULL) {
		if ((rc = store_meta_list(s, &settings)) < 0 ||
		    (rc = store_counts(s, ctx->stack, &c)) < 0)
			goto fail;
		rc = store_lock_get(s, ctx->stack, &lock);
		if (rc < 0 && rc != SF_ENOTFOUND)
			goto fail;
		locked = rc == 0;
	}
	if (!ctx->json) {
		info_print(ctx, s, &settings, locked ? &lock : NULL, &c);
		strmap_clear(&settings);
		return SF_EXIT_OK;
	}
	doc = cJSON_CreateObject();
	cJSON_AddStringToObject(doc, "format_version", "1");
	cJSON_AddBoolToObject(doc, "exists", s != NULL);
	json_add_string_or_null(doc, "backend",
	                        s ? store_backend_name(s) : NULL);
	shown = store_redact(ctx->state_path);
	cJSON_AddStringToObject(doc, "path", shown);
	free(shown);
	if (s != NULL)
		cJSON_AddNumberToObject(doc, "schema_version",
		                        store_schema_version(s));
	else
		cJSON_AddNullToObject(doc, "schema_version");
	cJSON_AddStringToObject(doc, "stack", ctx->stack);
	cJSON_AddItemToObject(doc, "settings", strmap_to_json(&settings));
	if (locked)
		cJSON_AddItemToObject(doc, "lock", lock_to_json(&lock));
	else
		cJSON_AddNullToObject(doc, "lock");
	cJSON_AddItemToObject(doc, "counts", counts_to_json(&c));
	strmap_clear(&settings);
	return print_json(doc, 0);
fail:
	strmap_clear(&settings);
	return store_fail(rc);
}

/* target_dir_ok: a file target's directory exists (a typo never starts a
 * state somewhere else); URLs are the database's business. */
static int
target_dir_ok(const char *to)
{
	const char *slash = strrchr(to, '/');
	struct stat st;
	char *dir;
	int ok;

	if (store_is_url(to) || slash == NULL || slash == to)
		return 1;
	dir = xstrndup(to, (size_t)(slash - to));
	ok = stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
	if (!ok)
		fail("migrate: --to: directory '%s' does not exist (create it "
		     "first)",
		     dir);
	free(dir);
	return ok;
}

static void
migrate_print(struct sf_ctx *ctx, const char *from, const char *to,
              const struct store_counts *c)
{
	cJSON *doc;

	if (ctx->json) {
		doc = cJSON_CreateObject();
		cJSON_AddStringToObject(doc, "format_version", "1");
		cJSON_AddStringToObject(doc, "stack", ctx->stack);
		cJSON_AddStringToObject(doc, "from", from);
		cJSON_AddStringToObject(doc, "to", to);
		cJSON_AddItemToObject(doc, "copied", counts_to_json(c));
		cJSON_AddBoolToObject(doc, "verified", 1);
		print_json(doc, 0);
		return;
	}
	printf("Copied stack '%s' from %s to %s: %zu records, %zu runs, %zu "
	       "journal entries (%zu open), %zu drift observations; the copy "
	       "reads back identical.\n",
	       ctx->stack, from, to, c->records, c->runs, c->journal,
	       c->journal_open, c->drift);
	printf("The source is unchanged. To use the copy, point --state (or "
	       "SANDFORM_STATE) at %s.\n",
	       to);
}

static int
state_migrate(struct sf_ctx *ctx)
{
	struct store *from = NULL, *to = NULL;
	char *from_shown = store_redact(ctx->state_path), *to_shown = NULL;
	struct store_counts c;
	int rc;

	if (opt_to == NULL || *opt_to == '\0') {
		rc = fail("migrate: --to PATH|URL names the state to copy the "
		          "stack to");
		goto out;
	}
	to_shown = store_redact(opt_to);
	if ((rc = store_exists(ctx->state_path)) <= 0) {
		rc = rc < 0 ? store_fail(rc)
		            : fail("migrate: there is no state at %s",
		                   from_shown);
		goto out;
	}
	if ((rc = store_open(ctx->state_path, &from)) < 0 ||
	    (rc = store_counts(from, ctx->stack, &c)) < 0) {
		rc = store_fail(rc);
		goto out;
	}
	if (c.records + c.runs + c.journal + c.drift == 0) {
		rc = fail("migrate: stack '%s' has nothing in %s (no records, "
		          "runs or journal entries; see --stack)",
		          ctx->stack, from_shown);
		goto out;
	}
	if (!target_dir_ok(opt_to)) {
		rc = SF_EXIT_ERROR;
		goto out;
	}
	if ((rc = store_open(opt_to, &to)) < 0 ||
	    (rc = store_migrate(from, to, ctx->stack, opt_force, &c)) < 0) {
		rc = store_fail(rc);
		goto out;
	}
	migrate_print(ctx, from_shown, to_shown, &c);
	rc = SF_EXIT_OK;
out:
	store_close(from);
	store_close(to);
	free(from_shown);
	free(to_shown);
	return rc;
}

static int
want_args(struct cli_args *args, int n, const char *usage)
{
	if (args->argc - 1 == n)
		return 0;
	fail("usage: sandform state %s", usage);
	return -1;
}

int
cmd_state(struct sf_ctx *ctx, struct cli_args *args)
{
	struct store *s = NULL;
	const char *sub;
	int rc;

	if (args->argc < 1)
		return fail("missing subcommand (%s)", SUBCOMMANDS);
	sub = args->argv[0];
	if (strcmp(sub, "list") == 0) {
		if (want_args(args, 0, "list") < 0)
			return SF_EXIT_ERROR;
		if ((rc = open_state(ctx, 0, &s)) == 0)
			rc = state_list(ctx, s);
	} else if (strcmp(sub, "show") == 0) {
		if (want_args(args, 1, "show NAME") < 0)
			return SF_EXIT_ERROR;
		if ((rc = open_state(ctx, 0, &s)) == 0)
			rc = state_show(ctx, s, args->argv[1]);
	} else if (strcmp(sub, "rm") == 0) {
		if (want_args(args, 1, "rm NAME [--keep-labels]") < 0)
			return SF_EXIT_ERROR;
		if ((rc = open_state(ctx, 0, &s)) == 0)
			rc = state_rm(ctx, s, args->argv[1]);
	} else if (strcmp(sub, "import") == 0) {
		if (want_args(args, 2, "import NAME ID") < 0)
			return SF_EXIT_ERROR;
		if ((rc = open_state(ctx, 1, &s)) == 0)
			rc = state_import(ctx, s, args->argv[1], args->argv[2]);
	} else if (strcmp(sub, "import-volume") == 0 ||
	           strcmp(sub, "import-snapshot") == 0) {
		int vol = strcmp(sub, "import-volume") == 0;

		if (want_args(args, 1,
		              vol ? "import-volume NAME"
		                  : "import-snapshot NAME") < 0)
			return SF_EXIT_ERROR;
		if ((rc = open_state(ctx, 1, &s)) == 0)
			rc = state_import_res(ctx, s,
			                      vol ? RES_VOLUME : RES_SNAPSHOT,
			                      args->argv[1]);
	} else if (strcmp(sub, "history") == 0) {
		if (want_args(args, 0, "history") < 0)
			return SF_EXIT_ERROR;
		if ((rc = open_state(ctx, 0, &s)) == 0)
			rc = state_history(ctx, s);
	} else if (strcmp(sub, "journal") == 0) {
		if (want_args(args, 0, "journal [--open]") < 0)
			return SF_EXIT_ERROR;
		if ((rc = open_state(ctx, 0, &s)) == 0)
			rc = state_journal(ctx, s);
	} else if (strcmp(sub, "info") == 0) {
		if (want_args(args, 0, "info") < 0)
			return SF_EXIT_ERROR;
		if ((rc = open_state(ctx, 0, &s)) == 0)
			rc = state_info(ctx, s);
	} else if (strcmp(sub, "migrate") == 0) {
		if (want_args(args, 0, "migrate --to PATH|URL [--force]") < 0)
			return SF_EXIT_ERROR;
		rc = state_migrate(ctx);
	} else {
		const char *near = suggest_closest(
		        sub, cmd_state_subcommands,
		        sizeof(cmd_state_subcommands) /
		                        sizeof(cmd_state_subcommands[0]) -
		                1);

		if (near != NULL)
			return fail("unknown subcommand '%s'; did you mean "
			            "'%s'? (%s)",
			            sub, near, SUBCOMMANDS);
		return fail("unknown subcommand '%s' (%s)", sub, SUBCOMMANDS);
	}
	store_close(s);
	return rc;
}
