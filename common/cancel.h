/*
 * cancel: a per-run cancellation token.
 *
 *	struct sf_cancel tok = SF_CANCEL_INIT;
 *	...				// hand &tok to the run (apply_opts,
 *	...				// the Daytona client's hooks)
 *	sf_cancel_request(&tok, SF_CANCEL_STOP);	// from a signal handler
 *
 * Levels only rise. SF_CANCEL_STOP: start no new call and end every wait
 * (backoff, Retry-After, rate-limit budget, waiting for a sandbox), but
 * let calls in flight finish and be recorded. SF_CANCEL_ABORT: also abort
 * HTTP transfers in flight (their outcome is then unknown: the journal
 * keeps their entry open for the next run's recovery).
 *
 * sf_cancel_request() and sf_cancel_level() are async-signal-safe and
 * thread-safe (one lock-free atomic int). The token is owned by whoever
 * runs the work (the command line keeps one per run); everything else
 * borrows it. No allocation, nothing to free.
 */
#ifndef SF_COMMON_CANCEL_H
#define SF_COMMON_CANCEL_H

#include <stdatomic.h>

enum sf_cancel_level {
	SF_CANCEL_NONE = 0,
	SF_CANCEL_STOP = 1,
	SF_CANCEL_ABORT = 2,
};

struct sf_cancel {
	atomic_int level;
};

#define SF_CANCEL_INIT \
	{              \
		0      \
	}

/* sf_cancel_request: raise tok to level (never lowers it); NULL-safe. */
static inline void
sf_cancel_request(struct sf_cancel *tok, enum sf_cancel_level level)
{
	int cur;

	if (tok == NULL)
		return;
	cur = atomic_load(&tok->level);
	while (cur < (int)level &&
	       !atomic_compare_exchange_weak(&tok->level, &cur, (int)level))
		;
}

/* sf_cancel_level: the level requested so far (NULL: SF_CANCEL_NONE). */
static inline int
sf_cancel_level(const struct sf_cancel *tok)
{
	return tok ? atomic_load(&tok->level) : SF_CANCEL_NONE;
}

/* sf_cancel_reset: back to SF_CANCEL_NONE, for a token reused between
 * runs (a watch loop); never while a run uses it. */
static inline void
sf_cancel_reset(struct sf_cancel *tok)
{
	if (tok)
		atomic_store(&tok->level, SF_CANCEL_NONE);
}

#endif
