/*
 * runctx: the setup plan, apply, destroy and drift share.
 *
 *	struct runctx rx = RUNCTX_INIT;
 *	if (runctx_load(&rx, ctx, argc, argv) < 0 ||	// manifests, specs
 *	    runctx_open_store(&rx, ctx) < 0 ||		// ctx->state_path
 *	    runctx_hash_specs(&rx) < 0 ||		// needs the store key
 *	    runctx_open_client(&rx, ctx) < 0)		// env + --api-key-file
 *		goto out;			// message already printed
 *	...
 *	runctx_close(&rx);
 *
 * Every function prints its own problem on stderr as "sandform CMD: ..."
 * (manifest diagnostics one per line) and returns a negative SF_E* code,
 * so a command just exits 1. Nothing printed names a secret value or the
 * API key.
 *
 * Ownership: the runctx owns the store, the client, the manifest set and
 * the specs; runctx_close() releases them all (safe on a partly set up
 * runctx).
 */
#ifndef SF_CLI_RUNCTX_H
#define SF_CLI_RUNCTX_H

#include <stddef.h>
#include <stdint.h>

#include "daytona/client.h"
#include "manifests/manifest.h"
#include "cli/commands.h"
#include "reconciler/plan.h"
#include "reconciler/refresh.h"
#include "manifests/secret.h"
#include "manifests/spec.h"
#include "manifests/spechash.h"
#include "reconciler/create.h"
#include "reconciler/labels.h"
#include "state/store.h"

struct runctx {
	const char *cmd; /* for messages: "plan", "apply", ... */
	struct store *store;
	struct dt_client *client;
	struct manifest_set *set;
	struct spec *specs; /* set->sandboxes: sorted by name, nspecs */
	size_t nspecs;
	/* where secretFile references may be read: the manifest roots */
	struct secret_policy secrets;
};

#define RUNCTX_INIT                                                 \
	{                                                           \
		NULL, NULL, NULL, NULL, NULL, 0, SECRET_POLICY_INIT \
	}

/*
 * runctx_load: load and validate the manifests at argv[0..argc) ("." when
 * argc is 0), print the diagnostics on stderr, and build the specs.
 */
int runctx_load(struct runctx *rx, struct sf_ctx *ctx, int argc, char **argv);
/* runctx_open_store: open (or create) the state at ctx->state_path. */
int runctx_open_store(struct runctx *rx, struct sf_ctx *ctx);
/*
 * runctx_hash_specs: compute every spec's hash with the store's key,
 * resolving secret references for hashing only. A missing secret fails,
 * naming the reference.
 */
int runctx_hash_specs(struct runctx *rx);
/* runctx_open_client: a Daytona client from the environment and
 * ctx->api_key_file. */
int runctx_open_client(struct runctx *rx, struct sf_ctx *ctx);
/* runctx_fail: print "sandform CMD: MESSAGE" from sf_error_last(). */
int runctx_fail(const struct runctx *rx, int rc);
/*
 * runctx_run_begin: record the start of a run of rx->cmd on stack with
 * source (may be NULL). Returns its id, or 0 when it could not be recorded
 * (logged, not fatal).
 */
int64_t runctx_run_begin(struct runctx *rx, const char *stack,
                         const char *source);
/*
 * runctx_plan_input: fill in (cleared first) with the stack, rx's specs
 * and what rr observed and remembers, and resize_unavailable; the caller
 * sets allow_mass_delete, refreshed and locked_by. in points into rx and rr,
 * which must outlive it.
 */
void runctx_plan_input(const struct runctx *rx, const char *stack,
                       const struct refresh_result *rr, struct plan_input *in);
/*
 * runctx_api_url: the API base URL the client talks to (DAYTONA_API_URL,
 * else Daytona's) without trailing '/', the key of facts the state
 * remembers per API such as STORE_META_RESIZE_UNAVAILABLE (caller frees).
 */
char *runctx_api_url(void);
/* runctx_resize_unavailable: 1 when the state remembers that a resize
 * answered 404 at runctx_api_url() (runctx_plan_input sets it in the
 * plan input), else 0 (also when it cannot be read: logged). */
int runctx_resize_unavailable(const struct runctx *rx);
/* runctx_print_plan_errors: one "sandform CMD: NAME: MESSAGE" line per
 * error of p (no name for plan-wide errors). */
void runctx_print_plan_errors(const struct runctx *rx, const struct plan *p);
void runctx_close(struct runctx *rx);

#endif
