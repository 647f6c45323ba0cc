/*
 * applycli: what plan, apply and destroy share on the command line. The
 * pipeline itself is reconciler/reconcile.c; this file turns its codes,
 * holders and events into the messages sandform has always printed.
 */
#include "common/base.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "common/exitcodes.h"
#include "common/strnum.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "manifests/source-git.h"
#include "manifests/stack.h"
#include "cli/gitcli.h"
#include "cli/applycli.h"
#include "cli/ndjson.h"

static struct sf_cancel run_cancel = SF_CANCEL_INIT;

struct cli_list apply_cli_targets, apply_cli_secret_dirs, apply_cli_replace,
        apply_cli_ignore;

/*
 * What apply_cli_opts/_sources make for a run: one per stack, so that a
 * watcher of several stacks keeps each stack's lists apart. The plain
 * commands use the default one.
 */
struct apply_cli_keep {
	char **made; /* paths made from the stack file */
	size_t nmade;
	/* the stack file's secret directories (resolved) and the flags' */
	const char **secret_dirs;
	/* the flags' ignore rules and the stack file's */
	const char **ignore_rules;
	/* the stack file's sources when it has a git source */
	struct source **sources;
	size_t nsources;
};

static struct apply_cli_keep keep_default;
static struct apply_cli_keep *cur = &keep_default;

struct apply_cli_keep *
apply_cli_keep_new(void)
{
	return xcalloc(1, sizeof(struct apply_cli_keep));
}

void
apply_cli_keep_use(struct apply_cli_keep *k)
{
	cur = k ? k : &keep_default;
}

static void
keep_clear(struct apply_cli_keep *k)
{
	size_t i;

	for (i = 0; i < k->nmade; i++)
		free(k->made[i]);
	free(k->made);
	free(k->secret_dirs);
	free(k->ignore_rules);
	for (i = 0; i < k->nsources; i++)
		source_free(k->sources[i]);
	free(k->sources);
	memset(k, 0, sizeof(*k));
}

void
apply_cli_keep_free(struct apply_cli_keep *k)
{
	if (k == NULL)
		return;
	if (cur == k)
		cur = &keep_default;
	keep_clear(k);
	free(k);
}

static const char *
keep(char *s)
{
	cur->made =
	        xreallocarray(cur->made, cur->nmade + 1, sizeof(*cur->made));
	cur->made[cur->nmade++] = s;
	return s;
}

static volatile sig_atomic_t signals_seen;

static void
on_signal(int sig)
{
	static const char msg[] = "\nsandform: stopping: no new calls; "
	                          "waiting for the calls in flight (again "
	                          "to quit at once)\n";
	ssize_t n;

	if (signals_seen++ > 0) {
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	sf_cancel_request(&run_cancel, SF_CANCEL_STOP);
	n = write(STDERR_FILENO, msg, sizeof(msg) - 1);
	(void)n;
}

struct sf_cancel *
apply_cli_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: a prompt read is interrupted */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	return &run_cancel;
}

int
apply_cli_duration(const char *cmd, const char *name, const char *val,
                   const char *example, int64_t *out)
{
	long long ms = 0;

	if (val == NULL)
		return 0;
	if (strnum_duration_ms(val, &ms) < 0 ||
	    (strcmp(name, "timeout") == 0 && ms <= 0)) {
		fprintf(stderr,
		        "sandform %s: --%s: invalid duration '%s' (expected "
		        "e.g. %s)\n",
		        cmd, name, val, example);
		return SF_EXIT_ERROR;
	}
	*out = ms;
	return 0;
}

int
apply_cli_confirm(const char *cmd, int auto_approve, const char *question)
{
	char line[64];

	if (auto_approve)
		return 1;
	if (!isatty(STDIN_FILENO)) {
		fprintf(stderr,
		        "sandform %s: refusing to %s without confirmation: "
		        "stdin is not a terminal; use --auto-approve\n",
		        cmd, cmd);
		return 0;
	}
	fprintf(stderr, "\n%s\n  Only 'yes' will be accepted: ", question);
	fflush(stderr);
	if (fgets(line, sizeof(line), stdin) == NULL) {
		fprintf(stderr, "\nsandform %s: cancelled\n", cmd);
		return 0;
	}
	line[strcspn(line, "\r\n")] = '\0';
	if (strcmp(line, "yes") != 0) {
		fprintf(stderr, "sandform %s: cancelled\n", cmd);
		return 0;
	}
	return 1;
}

enum progress_mode
apply_cli_mode(const struct sf_ctx *ctx)
{
	if (ctx->json)
		return PROGRESS_JSON;
	return isatty(STDOUT_FILENO) ? PROGRESS_TTY : PROGRESS_LINES;
}

void
apply_cli_opts(struct sf_ctx *ctx, const char *cmd, enum reconcile_mode mode,
               struct progress *pg, struct reconcile_opts *o)
{
	const struct stack_spec *st;
	size_t i, j, n;

	memset(o, 0, sizeof(*o));
	o->command = cmd;
	o->mode = mode;
	o->stack = ctx->stack;
	o->state_path = ctx->state_path;
	o->api_key_file = ctx->api_key_file;
	o->ca_file = ctx->ca_file;
	o->refresh = 1;
	o->on_event = progress_event;
	o->event_arg = pg;
	o->targets = apply_cli_targets.v;
	o->ntargets = (size_t)apply_cli_targets.n;
	o->replace = apply_cli_replace.v;
	o->nreplace = (size_t)apply_cli_replace.n;
	st = ctx->stackfile;
	n = (size_t)apply_cli_secret_dirs.n + (st ? st->nsecret_dirs : 0);
	free(cur->secret_dirs);
	cur->secret_dirs = xcalloc(n + 1, sizeof(*cur->secret_dirs));
	for (i = 0; i < (size_t)apply_cli_secret_dirs.n; i++)
		cur->secret_dirs[i] = apply_cli_secret_dirs.v[i];
	for (j = 0; st && j < st->nsecret_dirs; j++)
		cur->secret_dirs[i++] =
		        keep(stack_path(st, st->secret_dirs[j]));
	o->secret_dirs = cur->secret_dirs;
	o->nsecret_dirs = n;
	if (st && st->has_prune)
		o->no_prune = !st->prune;
	if (st && st->has_mass_delete)
		o->mass_delete = st->mass_delete ? st->mass_delete : -1;
	n = (size_t)apply_cli_ignore.n + (st ? st->nignore : 0);
	free(cur->ignore_rules);
	cur->ignore_rules = xcalloc(n + 1, sizeof(*cur->ignore_rules));
	for (i = 0; i < (size_t)apply_cli_ignore.n; i++)
		cur->ignore_rules[i] = apply_cli_ignore.v[i];
	for (j = 0; st && j < st->nignore; j++)
		cur->ignore_rules[i++] = st->ignore[j];
	o->ignore = cur->ignore_rules;
	o->nignore = n;
}

/*
 * stack_sources: a stack file with a git source or exclude: patterns gives
 * the run a list of sources (reconcile_opts.sources) rather than paths
 * (each skipping what exclude: says); its path sources keep the right to
 * hold secretFile targets they have as paths.
 */
static int
stack_sources(const struct sf_ctx *ctx, const struct stack_spec *st,
              struct reconcile_opts *o)
{
	struct gitsrc_config cfg;
	const char **dirs;
	size_t i, n = o->nsecret_dirs;
	int rc = 0;

	free(cur->sources);
	cur->sources = xcalloc(st->nsources + 2, sizeof(*cur->sources));
	dirs = xcalloc(n + st->nsources + 1, sizeof(*dirs));
	memcpy(dirs, o->secret_dirs, n * sizeof(*dirs));
	if (st->nsources == 0) /* the stack's directory */
		rc = source_path_new(keep(xstrdup(st->dir)),
		                     &cur->sources[cur->nsources++]);
	for (i = 0; rc == 0 && i < st->nsources; i++) {
		const struct stack_source *s = &st->sources[i];

		if (s->kind == STACK_SOURCE_PATH) {
			dirs[n++] = keep(stack_path(st, s->path));
			rc = source_path_new(dirs[n - 1],
			                     &cur->sources[cur->nsources]);
		} else {
			stack_git_config(st, s, ctx->state_path, sf_git.offline,
			                 &cfg);
			rc = source_git_new(&cfg, &cur->sources[cur->nsources]);
			gitsrc_config_clear(&cfg);
		}
		if (rc == 0)
			cur->nsources++;
	}
	for (i = 0; i < cur->nsources; i++)
		source_set_exclude(cur->sources[i], st->exclude, st->nexclude);
	free(cur->secret_dirs);
	cur->secret_dirs = dirs;
	o->secret_dirs = dirs;
	o->nsecret_dirs = n;
	o->sources = cur->sources;
	o->nsources = cur->nsources;
	o->source = ctx->stack_file;
	return rc;
}

int
apply_cli_sources(const struct sf_ctx *ctx, const struct cli_args *args,
                  struct reconcile_opts *o)
{
	const struct stack_spec *st = ctx->stackfile;
	const char **v;
	size_t i, n = 0;

	for (i = 0; i < (size_t)apply_cli_ignore.n; i++)
		if (!stack_ignore_rule_ok(apply_cli_ignore.v[i]))
			return sf_error_set(
			        SF_EINVALID,
			        "--ignore: '%s' is not an ignore rule "
			        "(expected a "
			        "category: missing, spec, labels, resources, "
			        "settings, network, state; or a field such as "
			        "labels.team, spec.resources.cpu, labels.*)",
			        apply_cli_ignore.v[i]);
	o->paths = (const char *const *)args->argv;
	o->npaths = (size_t)args->argc;
	o->source = args->argc > 0 ? args->argv[0] : ".";
	if (args->argc > 0 || st == NULL || sf_git.url != NULL)
		return 0;
	for (i = 0; i < st->nsources; i++)
		if (st->sources[i].kind == STACK_SOURCE_GIT)
			return stack_sources(ctx, st, o) < 0 ? -1 : 0;
	if (st->nexclude)
		return stack_sources(ctx, st, o) < 0 ? -1 : 0;
	v = xcalloc(st->nsources + 2, sizeof(*v));
	for (i = 0; i < st->nsources; i++)
		v[n++] = keep(stack_path(st, st->sources[i].path));
	if (st->nsources == 0)
		v[n++] = keep(xstrdup(st->dir)); /* the stack's directory */
	keep((char *)v);                         /* freed with the rest */
	o->paths = v;
	o->npaths = n;
	o->source = ctx->stack_file;
	return 0;
}

int
apply_cli_parallelism(const struct sf_ctx *ctx, long long flag)
{
	if (flag > 0)
		return (int)flag;
	if (ctx->stackfile && ctx->stackfile->has_parallelism)
		return ctx->stackfile->parallelism;
	return APPLY_DEFAULT_PARALLELISM;
}

const char *
apply_cli_lock_timeout(const struct sf_ctx *ctx, const char *flag)
{
	if (flag != NULL)
		return flag;
	return ctx->stackfile ? ctx->stackfile->lock_timeout : NULL;
}

int
apply_cli_need_name(const struct sf_ctx *ctx, const char *cmd, const char *what)
{
	if (ctx->stack_from != SF_STACK_UNNAMED)
		return SF_EXIT_OK;
	/* never suggest a name two projects could both pick */
	fprintf(stderr,
	        "sandform %s: no stack is named, and %s needs one: name it "
	        "with --stack NAME or $SANDFORM_STACK, or run 'sandform "
	        "init' to write a stack file (sandform.yaml) with a name of "
	        "its own; unnamed stacks are read only, so that two projects "
	        "cannot change each other's sandboxes\n",
	        cmd, what);
	return SF_EXIT_ERROR;
}

void
apply_cli_release(void)
{
	keep_clear(&keep_default);
	cur = &keep_default;
	cli_list_free(&apply_cli_targets);
	cli_list_free(&apply_cli_secret_dirs);
	cli_list_free(&apply_cli_replace);
	cli_list_free(&apply_cli_ignore);
}

int
apply_cli_fail(const char *cmd, int rc)
{
	fprintf(stderr, "sandform %s: %s\n", cmd,
	        *sf_error_last() ? sf_error_last() : sf_error_name(rc));
	return SF_EXIT_ERROR;
}

int
apply_cli_open(const struct reconcile_opts *o, struct reconcile **r)
{
	struct diag_list diags = DIAG_LIST_INIT;
	int rc;

	rc = reconcile_open(o, &diags, r);
	diag_list_print(stderr, &diags);
	diag_list_free(&diags);
	if (rc < 0)
		return apply_cli_fail(o->command, rc);
	return SF_EXIT_OK;
}

int
apply_cli_begin(struct reconcile *r, const char *cmd, const char *stack)
{
	const struct store_lock_holder *h;
	char since[SF_ISO8601_LEN + 1];
	int rc = reconcile_begin(r);

	if (rc == 0)
		return SF_EXIT_OK;
	if (rc != SF_ELOCKED || (h = reconcile_holder(r)) == NULL)
		return apply_cli_fail(cmd, rc);
	time_format_iso(h->since_ms, since);
	fprintf(stderr,
	        "sandform %s: stack '%s' is locked by another run: pid %ld "
	        "on %s (%s) since %s, lock %s\n"
	        "sandform %s: wait for it, retry with --lock-timeout, or "
	        "release it with 'sandform force-unlock %s' if that run is "
	        "gone\n",
	        cmd, stack, h->pid, h->host, h->info, since, h->id, cmd, h->id);
	return SF_EXIT_LOCKED;
}

int
apply_cli_show_plan(const struct sf_ctx *ctx, const struct plan *p)
{
	if (ctx->json)
		return ndjson_plan(stdout, p) < 0 ? -1 : 0;
	plan_print_human(stdout, p, ctx->color);
	fflush(stdout);
	return 0;
}

void
apply_cli_plan_errors(const char *cmd, const struct plan *p, int named)
{
	size_t i;

	for (i = 0; i < p->nerrors; i++) {
		int n = named && strcmp(p->errors[i].name, "*") != 0;

		fprintf(stderr, "sandform %s: %s%s%s\n", cmd,
		        n ? p->errors[i].name : "", n ? ": " : "",
		        p->errors[i].message);
	}
}

int
apply_cli_execute(struct sf_ctx *ctx, struct reconcile *r, const struct plan *p,
                  const char *cmd)
{
	struct apply_stats st;
	int rc;

	if (!ctx->json)
		printf("\n");
	rc = reconcile_apply(r, p, &st);
	if (rc == SF_ELOCKED) {
		apply_cli_fail(cmd, rc);
		return SF_EXIT_LOCKED;
	}
	if (rc < 0)
		return apply_cli_fail(cmd, rc);
	if (st.left && !ctx->json)
		fprintf(stderr, "sandform %s: interrupted: %zu action%s left\n",
		        cmd, st.left, st.left == 1 ? "" : "s");
	else if (st.stopped && !st.lock_lost && !ctx->json)
		fprintf(stderr,
		        "sandform %s: interrupted: every call was made; %zu "
		        "action%s not waited for\n",
		        cmd, st.unwaited, st.unwaited == 1 ? "" : "s");
	if (st.lock_lost)
		fprintf(stderr,
		        "sandform %s: lost the stack lock while running; run "
		        "'sandform %s' again once the other run is over\n",
		        cmd, cmd);
	/* a stop request is a failure even when it only skipped waits:
	 * the sandboxes may not have reached their state yet */
	return st.failed || st.left || st.lock_lost || st.stopped
	               ? SF_EXIT_ERROR
	               : SF_EXIT_OK;
}
