/*
 * watch-notify: the webhooks of a stack file's watch: notify: list. Each
 * event (manifests/stack.h) goes to every hook that asked for it, as a
 * generic JSON body or a Slack-compatible {"text": ...}, signed with
 * HMAC-SHA256 under the key in the hook's secretEnv (header
 * X-Sandform-Signature: sha256=HEX of the body) when it has one. Sending
 * happens on its own thread, retried 3 times with backoff (a 2xx ends it),
 * so a slow or dead receiver never holds the loop up; a failure is logged.
 */
#ifndef SF_CLI_WATCH_NOTIFY_H
#define SF_CLI_WATCH_NOTIFY_H

#include <stddef.h>

#include "manifests/stack.h"

struct watch_event {
	enum stack_event kind;
	const char *stack;
	const char *revision; /* or NULL */
	unsigned long cycle;
	size_t drift, changes;
	const char *message; /* what happened, one line */
};

/* watch_notify: queue ev for every hook of hooks[0..n) that wants it. */
void watch_notify(const struct stack_notify *hooks, size_t n,
                  const struct watch_event *ev);
/* watch_notify_drain: wait (at most ms) for the queued sends to end. */
void watch_notify_drain(long ms);

#endif
