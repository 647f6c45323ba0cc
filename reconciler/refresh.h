/*
 * refresh: what Daytona shows of a stack, and what the state remembers.
 *
 * refresh_run() loads the stack's records from the store, walks the stack
 * once (GET /sandbox with the label filter sandform.dev/stack=STACK,
 * sort=createdAt, limit=200) and then GETs only what the walk cannot
 * answer: a recorded sandbox the walk did not return (gone, imported and
 * not labelled yet, or not listed yet: lists are eventually consistent),
 * a desired name the walk did not return (free, or held by a sandbox that
 * is not ours), and network settings the state does not know. Those GETs
 * run REFRESH_GET_PARALLEL at a time, or the run's parallelism if lower.
 * When more than REFRESH_GET_MAX names are unanswered (the first apply of
 * a big stack), one unfiltered walk of
 * the organization answers the names instead; --show-unmanaged always
 * makes that walk. A record is concluded gone only from a 404 for its id,
 * never from its absence in a list. It records what it saw in the store in one
 * transaction (only records whose observation changed) and, when the stack has
 * no record at all (a lost or empty state file), rebuilds the records from the
 * live labels first.
 *
 * Records of sandboxes that are gone (404 for the id) and no longer desired
 * are forgotten: nothing is left to delete.
 *
 * With refresh = 0 nothing is sent to Daytona: the observations are the
 * ones the records hold.
 *
 * Ownership: a struct refresh_result owns its arrays and everything in
 * them; refresh_result_clear() releases them and leaves it empty.
 */
#ifndef SF_RECONCILER_REFRESH_H
#define SF_RECONCILER_REFRESH_H

#include <stddef.h>
#include <stdint.h>

#include "daytona/client.h"
#include "reconciler/plan.h"
#include "state/store.h"

/* Page size of the walk (the API's maximum). */
#define REFRESH_PAGE_LIMIT DT_LIST_LIMIT_MAX
/* More unanswered names than this: one walk of the whole organization
 * instead of a GET each. Unanswered records are always GETs by id. */
#define REFRESH_GET_MAX 50
/* At most this many single GETs in flight at once. */
#define REFRESH_GET_PARALLEL 8

struct refresh_opts {
	const char *stack;
	int refresh;        /* 0: recorded state only, no requests */
	int show_unmanaged; /* also walk the org for unlabelled ones */
	int no_record;      /* 1: write nothing to the store */
	/* Around recording only (the requests run unlocked): take() returns
	 * 0 when the stack's lock is held, 1 when another run holds it (then
	 * nothing is recorded), <0 on error; give() releases it. Records
	 * that changed since they were read (a run recorded meanwhile) are
	 * not overwritten: nothing is recorded then. NULL: no lock. */
	int (*take)(void *arg);
	void (*give)(void *arg);
	void *lock_arg;
	const struct spec *specs; /* the desired set, sorted by name */
	size_t nspecs;
	/* the run's calls in flight at most (--parallelism): the single
	 * GETs run refresh_parallel() of it at a time */
	int parallelism;
};

struct refresh_result {
	/* the stack's live sandboxes (see struct plan_input) */
	struct dt_sandbox **observed;
	size_t nobserved;
	struct plan_record *records; /* the stack's records */
	size_t nrecords;
	/* where the records read their applied specs (plan_record_applied):
	 * the store passed to refresh_run, which must outlive them */
	struct plan_applied_src *applied_src;
	struct dt_sandbox **foreign; /* hold a desired name, not ours */
	size_t nforeign;
	struct strmap unmanaged; /* name -> id, no stack label */
	int has_unmanaged;
	int rebuilt;                /* records were rebuilt from labels */
	long long max_auto_archive; /* from GET /config, 0: not asked */
	/* the organization secrets' names (GET /secret), asked only when a
	 * spec names platform secrets; has_secret_names 0: not known */
	struct strmap secret_names;
	int has_secret_names;
	/* the refresh's joins by name, for the plan (struct plan_input):
	 * each spec's observation and record, each record's observation
	 * (indexes in observed[] and records[]; -1: none; the first listed
	 * of a name). NULL without a walk (refresh=false). */
	int32_t *spec_obs, *spec_rec, *rec_obs;
	const struct spec *joined_specs; /* the specs spec_* are of */
	size_t njoined_specs;
	size_t pages;     /* list pages fetched */
	size_t gets;      /* single GETs sent */
	size_t recorded;  /* records written */
	size_t forgotten; /* records of gone, undesired sandboxes removed */
};

int refresh_run(struct dt_client *c, struct store *st,
                const struct refresh_opts *o, struct refresh_result *out);
void refresh_result_clear(struct refresh_result *r);
/* refresh_parallel: the single GETs a refresh (or the volume check of
 * reconciler/resources.c) runs at once: REFRESH_GET_PARALLEL, or the
 * run's parallelism when lower (0: none given). */
size_t refresh_parallel(int parallelism);

#endif
