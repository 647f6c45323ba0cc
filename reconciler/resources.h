/*
 * resources: the refresh and the apply of declared volumes and snapshots
 * (plan.h "Declared volumes and snapshots"; docs/manifest.md).
 *
 * Refresh: the stack's records of them ("<volume>NAME", "<snapshot>NAME"
 * in the state, beside the sandboxes' records), every volume of the
 * organization (one GET /volumes), each snapshot declared, recorded or
 * referenced by a sandbox (GET /snapshots/{name}), and, only when the
 * stack may delete or replace one of its own, the sandboxes outside the
 * stack that use it (one unfiltered list walk; a GET per outside sandbox,
 * refresh_parallel() at a time, only when a volume may be deleted: list
 * items carry no volumes). One no longer declared that a desired sandbox
 * still references is kept by the plan: its users are not looked for.
 *
 * Apply: res_apply_before() creates and replaces (waiting until a volume
 * is ready, a snapshot active; a snapshot in error fails with the API's
 * errorReason) before the sandbox actions; res_apply_after() deletes after
 * them (reconcile.c runs the deletes of the stack's sandboxes built from a
 * snapshot being replaced before res_apply_before(), and their creates
 * after it). Crash safety: the record is written, with the desired spec and no
 * id, before the create call (the intent); a run that died after it finds
 * the record and either the live resource (adopted: the name is unique in
 * the organization) or none (created again). A record whose resource is
 * gone and no longer declared is forgotten by the next apply.
 */
#ifndef SF_RECONCILER_RESOURCES_H
#define SF_RECONCILER_RESOURCES_H

#include "common/strmap.h"
#include "daytona/client.h"
#include "manifests/manifest.h"
#include "reconciler/apply.h"
#include "reconciler/plan.h"
#include "state/store.h"

/* Poll interval while waiting for a volume or snapshot. */
#define RES_POLL_MS 250

struct res_observed {
	struct plan_res_record *records;
	size_t nrecords;
	struct plan_res_live *live; /* strings point into owned / users */
	size_t nlive;
	struct dt_res **owned;
	size_t nowned;
	char **users;
	size_t nusers;
	/* records of resources that are gone and not declared (apply
	 * forgets them) */
	char **gone;
	size_t ngone;
	int known;        /* the live side was looked up */
	int have_volumes; /* every volume of the organization is in live */
	/* the references of the sandboxes were looked up: checked */
	int refs_checked;
	struct strmap looked; /* snapshot names looked up (found or not) */
	size_t requests;
};

/*
 * res_refresh: fill *out (res_observed_clear() it). refresh 0: the records
 * only (known = 0). destroy: every record is a delete candidate.
 * parallelism: the run's (see refresh_parallel()).
 */
int res_refresh(struct dt_client *c, struct store *st, const char *stack,
                const struct manifest_set *set, const struct spec *specs,
                size_t nspecs, int refresh, int destroy, int parallelism,
                struct res_observed *out);
void res_observed_clear(struct res_observed *o);
/*
 * res_lookup_refs: after a first plan, look up what its creates and
 * replaces reference and the refresh did not see (a snapshot by name, the
 * organization's volumes once). 1: the plan must be made again with them
 * (references are then checked), 0: nothing to look up, or a negative
 * SF_E* code.
 */
int res_lookup_refs(struct dt_client *c, const struct plan *p,
                    struct res_observed *o);
/*
 * res_check_fresh: the volume and snapshot steps of a saved plan p still
 * hold (records: the stack's record names, as for apply_check_fresh()):
 * 0, or SF_ECONFLICT naming the first that is stale (one to create exists
 * now; one to replace or delete is gone or has another id), SF_EINVALID
 * for one the stack has no record of, or the API's error.
 */
int res_check_fresh(struct dt_client *c, const struct plan *p,
                    const struct strmap *records);
/* res_is_record: a state record's name is a volume's or snapshot's. */
int res_is_record(const char *name);

struct res_apply {
	struct dt_client *client;
	struct store *store;
	const char *stack;
	int64_t timeout_ms; /* per resource wait; 0: APPLY_DEFAULT_TIMEOUT_MS */
	struct sf_cancel *cancel;
	apply_event_fn on_event;
	void *event_arg;
	const char *command;
	size_t index0; /* event indices start here (after the actions) */
};

/*
 * res_apply_before / res_apply_after: run the plan's creates and
 * replaces, or its deletes (and forget the gone records of gone[]),
 * counting into st (total, done, failed). Each returns 0, or a negative
 * SF_E* code when a resource failed (st->failed counts it, an
 * APPLY_EV_FAILED event says why, and res_apply_before() names it in
 * *failed): the caller then runs no action that needs it.
 */
int res_apply_before(const struct res_apply *a, const struct plan *p,
                     struct apply_stats *st, struct strmap *failed);
/* res_needs_failed: what s needs of the resources that failed (keys
 * "<kind>NAME" of failed, as res_apply_before() fills it): the text
 * saying so, or NULL. */
const char *res_needs_failed(const struct spec *s, const struct strmap *failed);
/*
 * res_wait_settling: wait for the live volumes and snapshots (o, as the
 * plan saw them) still settling (pending_create, building, ...) that a
 * create or replace of p needs, e.g. one whose create an earlier run made
 * and did not wait for; one that fails is named in *failed.
 */
int res_wait_settling(const struct res_apply *a, const struct plan *p,
                      const struct res_observed *o, struct strmap *failed);
/* res_fix_ids: records without the live one's id (a run that died
 * between a create's answer and its record) get it. */
int res_fix_ids(const struct res_apply *a, const struct res_observed *o);
/* res_skip_event: an action not run because what it needs failed. */
void res_skip_event(const struct res_apply *a, const struct plan_action *act,
                    size_t index, const char *why);
int res_apply_after(const struct res_apply *a, const struct plan *p,
                    char *const *gone, size_t ngone, struct apply_stats *st);

#endif
