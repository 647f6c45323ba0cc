/*
 * sandform force-unlock LOCK_ID [--state PATH] [--auto-approve] [-v]
 *
 * Releases a stack lock by hand, for when the run that held it is gone
 * in a way sandform cannot see (another host, a stuck machine). The lock
 * id is the one a locked apply or destroy prints. A lock held by a dead
 * process on this host or with an expired lease (SQLite), or whose
 * database session ended (PostgreSQL), is taken over automatically and
 * needs no force-unlock. On PostgreSQL, a holder whose database session
 * is still connected is a run that may still be working: releasing its
 * lock ends that session (the run then stops), so force-unlock first asks
 * on a terminal, as apply does (--auto-approve: without asking; no
 * terminal and no --auto-approve: refused, nothing released). The
 * released holder is printed so the log shows whose lock was broken.
 * Exit 0 released, 1 no such lock (or no state at all: a missing state is
 * not created), or not confirmed. `sandform state info` shows a stack's
 * lock and its id.
 */
#include "common/base.h"

#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "common/exitcodes.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "cli/applycli.h"
#include "cli/commands.h"
#include "state/store.h"

int cmd_force_unlock(struct sf_ctx *ctx, struct cli_args *args);

static int opt_auto_approve;

const struct cli_opt cmd_force_unlock_opts[] = {
	SF_OPT_STATE,
	{ CLI_FLAG, "auto-approve", 0, NULL,
	  "end a holder's live database session without asking "
	  "(PostgreSQL)",
	  &opt_auto_approve, 0, 0 },
	SF_OPT_VERBOSE,
	SF_OPT_NO_COLOR,
	CLI_OPT_END,
};

/* confirm: 1 to go on; asks when the holder's session is connected. */
static int
confirm(const struct store_lock_holder *h)
{
	char since[SF_ISO8601_LEN + 1], *q;
	int ok;

	if (!h->connected)
		return 1;
	time_format_iso(h->since_ms, since);
	q = xasprintf("Lock %s of stack '%s' is held by pid %ld on '%s' since "
	              "%s (%s), whose database session is still connected:\n"
	              "  releasing it ends that session, and that run stops."
	              "\n  Release it?",
	              h->id, h->stack, h->pid, h->host, since, h->info);
	ok = apply_cli_confirm("force-unlock", opt_auto_approve, q);
	free(q);
	return ok;
}

int
cmd_force_unlock(struct sf_ctx *ctx, struct cli_args *args)
{
	struct store *st = NULL;
	struct store_lock_holder h;
	char since[SF_ISO8601_LEN + 1];
	char *shown = store_redact(ctx->state_path);
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
			        args->argv[0], shown);
		else
			fprintf(stderr, "sandform force-unlock: %s\n",
			        sf_error_last());
		goto out;
	}
	if ((rc = store_open(ctx->state_path, &st)) < 0) {
		fprintf(stderr, "sandform force-unlock: %s\n", sf_error_last());
		goto out;
	}
	rc = store_lock_find(st, args->argv[0], &h);
	if (rc == 0 && !confirm(&h))
		goto out;
	if (rc == 0)
		rc = store_lock_force_release(st, args->argv[0], &h);
	if (rc == SF_ENOTFOUND) {
		fprintf(stderr,
		        "sandform force-unlock: no lock with id '%s' in %s\n",
		        args->argv[0], shown);
		goto out;
	}
	if (rc < 0) {
		fprintf(stderr, "sandform force-unlock: %s\n", sf_error_last());
		goto out;
	}
	time_format_iso(h.since_ms, since);
	printf("Released lock %s of stack '%s' (held by %s, pid %ld on %s "
	       "since %s)%s\n",
	       h.id, h.stack, h.info, h.pid, h.host, since,
	       h.connected ? "; its database session was ended" : "");
	exit_rc = SF_EXIT_OK;
out:
	store_close(st);
	free(shown);
	return exit_rc;
}
