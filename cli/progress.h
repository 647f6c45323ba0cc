/*
 * progress: how apply and destroy show a run, as a consumer of apply's
 * events (reconciler/apply.h): live redrawn lines per sandbox on a
 * terminal, one line per started/finished sandbox otherwise, JSON lines
 * with --json (cli/ndjson.h); and the messages around the run on stderr
 * (lock waits, recovery, a lost lock) and its summary on stdout.
 *
 *	struct progress pg;
 *	progress_init(&pg, PROGRESS_TTY, stdout, color, "apply");
 *	o.on_event = progress_event; o.event_arg = &pg;
 *	...
 *	progress_free(&pg);
 *
 * progress_event() is called by the run one event at a time (apply emits
 * under its lock); the progress owns copies of what it keeps.
 */
#ifndef SF_CLI_PROGRESS_H
#define SF_CLI_PROGRESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "daytona/client.h"
#include "reconciler/apply.h"

/* Sandboxes shown at once in the live TTY progress. */
#define PROGRESS_TTY_LINES 20

enum progress_mode {
	PROGRESS_QUIET = 0, /* nothing but errors */
	PROGRESS_LINES,     /* one line per event (not a TTY) */
	PROGRESS_TTY,       /* live lines per sandbox, redrawn */
	PROGRESS_JSON,      /* one JSON event per line */
};

struct progress_job; /* progress.c */

struct progress {
	enum progress_mode mode;
	FILE *out;
	int color;
	const char *cmd;          /* "apply", "destroy", "plan" */
	const char *lock_timeout; /* --lock-timeout as given, for messages */
	struct progress_job *jobs;
	size_t njobs;
	size_t tty_lines; /* lines of the live region on screen */
	int64_t t0;       /* monotonic start of the apply phase */
	int64_t limited_until[DT_BUCKET_COUNT]; /* rate-limit waits */
};

void progress_init(struct progress *pg, enum progress_mode mode, FILE *out,
                   int color, const char *cmd);
/* progress_event: an apply_event_fn; arg is the struct progress. */
void progress_event(void *arg, const struct apply_event *ev);
void progress_free(struct progress *pg);

#endif
