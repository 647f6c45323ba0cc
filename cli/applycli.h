/*
 * applycli: the command-line side plan, apply and destroy share
 * (cli/applycli.c): the run's cancel token and the signals that request
 * it, the confirmation prompt, options turned into a reconcile_opts, and
 * the messages of the pipeline's failures.
 *
 * These functions print their own messages on stderr as "sandform CMD:
 * ..." and return exit statuses of common/exitcodes.h (or booleans where
 * said); they never print a secret. Nothing they return needs freeing.
 */
#ifndef SF_CLI_APPLYCLI_H
#define SF_CLI_APPLYCLI_H

#include <stdint.h>

#include "cli/commands.h"
#include "cli/progress.h"
#include "common/cancel.h"
#include "manifests/diag.h"
#include "reconciler/plan.h"
#include "reconciler/reconcile.h"

/*
 * apply_cli_signals: SIGINT/SIGTERM request SF_CANCEL_STOP on the returned
 * token (the run's: start no new call, let those in flight finish); a
 * second signal quits at once.
 */
struct sf_cancel *apply_cli_signals(void);

/* apply_cli_duration: parse --NAME's value (NULL: *out untouched); 0, or
 * SF_EXIT_ERROR after "sandform CMD: --NAME: invalid duration ...". */
int apply_cli_duration(const char *cmd, const char *name, const char *val,
                       const char *example, int64_t *out);

/*
 * apply_cli_confirm: 1 to go on. Without auto_approve, asks question on a
 * terminal and accepts only "yes"; refuses (0) when stdin is not one.
 */
int apply_cli_confirm(const char *cmd, int auto_approve, const char *question);

/* apply_cli_mode: how a run is shown: --json, a terminal, or lines. */
enum progress_mode apply_cli_mode(const struct sf_ctx *ctx);

/* Options plan, apply and destroy share (repeatable): --target NAME,
 * --secret-dir DIR; --replace NAME for plan and apply. */
extern struct cli_list apply_cli_targets, apply_cli_secret_dirs,
        apply_cli_replace, apply_cli_ignore;
#define APPLY_OPT_TARGET                                                      \
	{                                                                     \
		CLI_LIST, "target", 0, "NAME",                                \
		        "only this sandbox (repeatable)", &apply_cli_targets, \
		        0, 0                                                  \
	}
#define APPLY_OPT_SECRET_DIR                                             \
	{                                                                \
		CLI_LIST, "secret-dir", 0, "DIR",                        \
		        "secretFile references may also read files "     \
		        "under DIR (repeatable; the manifest roots may " \
		        "always)",                                       \
		        &apply_cli_secret_dirs, 0, 0                     \
	}
#define APPLY_OPT_REPLACE                                                 \
	{                                                                 \
		CLI_LIST, "replace", 0, "NAME",                           \
		        "replace this sandbox even if nothing forces it " \
		        "(repeatable; e.g. to set its secrets again)",    \
		        &apply_cli_replace, 0, 0                          \
	}

#define APPLY_OPT_IGNORE                                                 \
	{                                                                \
		CLI_LIST, "ignore", 0, "RULE",                           \
		        "leave this difference alone: a category "       \
		        "(state, labels, ...) or a field (labels.team, " \
		        "spec.resources.cpu; repeatable)",               \
		        &apply_cli_ignore, 0, 0                          \
	}

/*
 * apply_cli_opts: o from the shared settings for cmd in mode: the stack,
 * state and key file, events to pg, the shared options above, and the
 * stack file's policy (secret directories, prune, the mass-delete
 * threshold) where no flag says otherwise. Its strings live until
 * apply_cli_release().
 */
void apply_cli_opts(struct sf_ctx *ctx, const char *cmd,
                    enum reconcile_mode mode, struct progress *pg,
                    struct reconcile_opts *o);
/*
 * apply_cli_sources: the manifests: the operands (or --git, which the
 * caller sets), else the stack file's sources (relative to the file; its
 * git sources through the cache beside the state), else the current
 * directory. -1 (sf_error_last() says why) when a source cannot be made,
 * or when an --ignore rule is not one (the run's settings are checked
 * here, before anything is loaded).
 */
int apply_cli_sources(const struct sf_ctx *ctx, const struct cli_args *args,
                      struct reconcile_opts *o);
/* apply_cli_parallelism / _lock_timeout: the flag's value when given (a
 * positive number, a string), else the stack file's, else the default. */
int apply_cli_parallelism(const struct sf_ctx *ctx, long long flag);
const char *apply_cli_lock_timeout(const struct sf_ctx *ctx, const char *flag);
/*
 * apply_cli_need_name: the named-stack rule (cli/main.c): SF_EXIT_OK when
 * the stack was named (--stack, $SANDFORM_STACK, a stack file), else
 * SF_EXIT_ERROR after saying how to name one.
 */
int apply_cli_need_name(const struct sf_ctx *ctx, const char *cmd,
                        const char *what);
/* apply_cli_release: free what apply_cli_opts/_sources made. */
void apply_cli_release(void);

/*
 * apply_cli_keep: what apply_cli_opts/_sources make for one stack (paths,
 * secret directories, ignore rules, sources). The plain commands use a
 * default one, freed by apply_cli_release(); a watcher of several stacks
 * makes one per stack with apply_cli_keep_new(), selects it with
 * apply_cli_keep_use() (NULL: the default) before apply_cli_opts/_sources,
 * and frees it with apply_cli_keep_free() (NULL-safe) after the run that
 * used it is closed.
 */
struct apply_cli_keep;
struct apply_cli_keep *apply_cli_keep_new(void);
void apply_cli_keep_use(struct apply_cli_keep *k);
void apply_cli_keep_free(struct apply_cli_keep *k);

/* apply_cli_open: reconcile_open() with the diagnostics printed on stderr
 * and a failure said; SF_EXIT_OK or SF_EXIT_ERROR. */
int apply_cli_open(const struct reconcile_opts *o, struct reconcile **r);

/* apply_cli_begin: reconcile_begin(); a held lock is named (pid, host,
 * since, lock id, how to break it): SF_EXIT_LOCKED; other failures
 * SF_EXIT_ERROR. */
int apply_cli_begin(struct reconcile *r, const char *cmd, const char *stack);

/* apply_cli_fail: print "sandform CMD: MESSAGE" from sf_error_last(). */
int apply_cli_fail(const char *cmd, int rc);

/* apply_cli_show_plan: human plan, or one {"event":"plan"} line (--json). */
int apply_cli_show_plan(const struct sf_ctx *ctx, const struct plan *p);

/* apply_cli_plan_errors: one "sandform CMD: NAME: MESSAGE" line per error
 * of p (no name for plan-wide errors, or with named 0). */
void apply_cli_plan_errors(const char *cmd, const struct plan *p, int named);

/*
 * apply_cli_execute: run p through reconcile_apply() (progress and summary
 * through pg's events). SF_EXIT_OK when everything converged; SF_EXIT_ERROR
 * when anything failed, was left by a stop request or the run lost the
 * stack lock (said); SF_EXIT_LOCKED when the lock was lost before
 * anything changed.
 */
int apply_cli_execute(struct sf_ctx *ctx, struct reconcile *r,
                      const struct plan *p, const char *cmd);

#endif
