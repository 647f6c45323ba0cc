/*
 * sandform force-unlock LOCK_ID [--state PATH] [-v]
 *
 * Releases a stack lock by hand, for when the run that held it is gone
 * in a way sandform cannot see (another host, a stuck machine). The lock
 * id is the one a locked apply or destroy prints. A lock held by a dead
 * process on this host or with an expired lease is taken over
 * automatically and needs no force-unlock. The released holder is printed
 * so the log shows whose lock was broken. Exit 0 released, 1 no such lock
 * (or no state at all: a missing state is not created). `sandform state
 * info` shows a stack's lock and its id.
 */
#include "common/base.h"

#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "common/exitcodes.h"
#include "common/timeutil.h"
#include "cli/commands.h"
#include "state/store.h"

int cmd_force_unlock(struct sf_ctx *ctx, struct cli_args *args);

const struct cli_opt cmd_force_unlock_opts[] = {
	SF_OPT_STATE,
	SF_OPT_VERBOSE,
	CLI_OPT_END,
};

int
cmd_force_unlock(struct sf_ctx *ctx, struct cli_args *args)
{
	struct store *st = NULL;
	struct store_lock_holder h;
	char since[SF_ISO8601_LEN + 1];
	int rc, exit_rc = SF_EXIT_ERROR;

	if (args->argc != 1) {
		fprintf(stderr, "sandform force-unlock: expected one lock id "
		                "(see 'sandform force-unlock --help')\n");
		return SF_EXIT_ERROR;
	}
	memset(&h, 0, sizeof(h));
	if ((rc = store_exists(ctx->state_path)) <= 0) {
		if (rc == 0)
			fprintf(stderr,
			        "sandform force-unlock: no lock with id '%s': "
			        "there is no state at %s\n",
			        args->argv[0], ctx->state_path);
		else
			fprintf(stderr, "sandform force-unlock: %s\n",
			        sf_error_last());
		goto out;
	}
	if ((rc = store_open(ctx->state_path, &st)) < 0) {
		fprintf(stderr, "sandform force-unlock: %s\n", sf_error_last());
		goto out;
	}
	rc = store_lock_force_release(st, args->argv[0], &h);
	if (rc == SF_ENOTFOUND) {
		fprintf(stderr,
		        "sandform force-unlock: no lock with id '%s' in %s\n",
		        args->argv[0], ctx->state_path);
		goto out;
	}
	if (rc < 0) {
		fprintf(stderr, "sandform force-unlock: %s\n", sf_error_last());
		goto out;
	}
	time_format_iso(h.since_ms, since);
	printf("Released lock %s of stack '%s' (held by %s, pid %ld on %s "
	       "since %s)\n",
	       h.id, h.stack, h.info, h.pid, h.host, since);
	exit_rc = SF_EXIT_OK;
out:
	store_close(st);
	return exit_rc;
}
