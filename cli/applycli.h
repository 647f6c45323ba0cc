/*
 * applycli: the command-line side apply and destroy share (cmd-apply.c).
 *
 * These functions print their own messages on stderr as "sandform CMD:
 * ..." and return exit statuses of common/exitcodes.h (or booleans where
 * said); they never print a secret. Nothing they return needs freeing.
 */
#ifndef SF_CLI_APPLYCLI_H
#define SF_CLI_APPLYCLI_H

#include <stddef.h>
#include <stdint.h>

#include "daytona/client.h"
#include "cli/commands.h"
#include "reconciler/plan.h"
#include "cli/runctx.h"
#include "state/store.h"

/* apply_cli_signals: SIGINT/SIGTERM request a stop; a second one quits. */
void apply_cli_signals(void);

/*
 * apply_cli_lock: take the stack's lock, waiting up to timeout (a
 * duration string, NULL: no wait). SF_EXIT_OK with *lock filled, or
 * SF_EXIT_LOCKED after naming the holder (pid, host, since, lock id), or
 * SF_EXIT_ERROR.
 */
int apply_cli_lock(struct store *st, const char *stack, const char *cmd,
                   const char *timeout, struct store_lock_holder *lock);

/*
 * apply_cli_confirm: 1 to go on. Without auto_approve, asks question on a
 * terminal and accepts only "yes"; refuses (0) when stdin is not one.
 */
int apply_cli_confirm(const char *cmd, int auto_approve, const char *question);

/*
 * One apply or destroy run, from apply_cli_begin() to apply_cli_end():
 * the summary covers all of it (recovery, refresh and the apply phase).
 */
struct apply_cli_run {
	struct store_lock_holder lock;
	int locked;       /* lock.id is held */
	int64_t run_id;   /* the run record */
	size_t recovered; /* journal entries of an interrupted run resolved */
	int64_t t0_ms;    /* monotonic start; 0: set by apply_cli_begin() */
	struct dt_stats http0; /* the client's counters at the start */
};

#define APPLY_CLI_RUN_INIT  \
	{                   \
		.locked = 0 \
	}

/*
 * apply_cli_begin: what apply and destroy do before they plan, as rx->cmd:
 * take the stack's lock (apply_cli_lock() with lock_timeout), record the
 * run (runctx_run_begin() with source) and resolve the journal an
 * interrupted run left (apply_recover(), said on stderr). SF_EXIT_OK with
 * run filled; otherwise SF_EXIT_LOCKED or SF_EXIT_ERROR after saying why.
 * run->locked is 1 whenever the lock is held on return (apply_cli_end()
 * releases it).
 */
int apply_cli_begin(struct runctx *rx, const char *stack,
                    const char *lock_timeout, const char *source,
                    struct apply_cli_run *run);

/* apply_cli_end: release the lock if held (a failure is only logged). */
void apply_cli_end(struct runctx *rx, struct apply_cli_run *run);

/*
 * apply_cli_nothing: the plan had no changes: finish the run record "ok";
 * with --json print a summary event of zero actions (recovered and whole
 * run figures included); otherwise say what recovery resolved, if any.
 */
void apply_cli_nothing(struct sf_ctx *ctx, struct runctx *rx,
                       const struct apply_cli_run *run);

/* apply_cli_show_plan: human plan, or one {"event":"plan"} line (--json). */
int apply_cli_show_plan(const struct sf_ctx *ctx, const struct plan *p);

/*
 * apply_cli_execute: run p with apply_run() (progress per ctx->json and
 * the terminal), print the summary (time and requests of the whole run,
 * the interrupted actions recovered), finish the run record. Returns
 * SF_EXIT_OK when everything converged, else SF_EXIT_ERROR.
 */
int apply_cli_execute(struct sf_ctx *ctx, struct runctx *rx,
                      const struct plan *p, const struct apply_cli_run *run,
                      int parallelism, const char *timeout);

#endif
