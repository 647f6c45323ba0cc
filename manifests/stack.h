/*
 * stack: the stack file (kind Stack, by convention sandform.yaml at the
 * root of a project; docs/manifest.md "Stack"): the stack's name, where its
 * manifests come from, and the policy that would otherwise be flags.
 *
 *	apiVersion: sandform.dev/v1
 *	kind: Stack
 *	metadata: {name: agents-prod}
 *	spec:
 *	  sources: [{path: manifests}]
 *	  state: .sandform/state.db
 *	  prune: true
 *	  massDelete: {threshold: 50}
 *	  parallelism: 16
 *	  lockTimeout: 5m
 *	  secretDirs: [/run/secrets]
 *	  exclude: [vendor]
 *	  ignore: [labels.team, state]
 *	  watch:
 *	    interval: 5m
 *	    mode: apply            # or detect
 *	    suspend: false
 *	    denyWindows: [{days: [sat, sun], start: "00:00", end: "24:00"}]
 *	    notify: [{url: https://hooks.example/x, format: slack,
 *	              secretEnv: HOOK_KEY, events: [drift-detected]}]
 *
 * Paths in a stack file are relative to the file's directory, which the
 * loader records (dir). Flags override every setting.
 *
 * Ownership: a struct stack_spec owns all it points to; stack_spec_free()
 * releases it (NULL-safe).
 */
#ifndef SF_MANIFESTS_STACK_H
#define SF_MANIFESTS_STACK_H

#include <stdbool.h>
#include <stddef.h>

#include "manifests/diag.h"

/* The conventional name of a stack file, looked for from the current
 * directory upwards. */
#define STACK_FILE_NAME "sandform.yaml"
/* The mass-delete guard's default: refuse deleting more than this share
 * of a stack's sandboxes (and all of them). */
#define STACK_MASS_DELETE_DEFAULT 50 /* percent */

enum stack_source_kind {
	STACK_SOURCE_PATH = 0,
	STACK_SOURCE_GIT,
};

struct gitsrc_config;

struct stack_source {
	enum stack_source_kind kind;
	char *path; /* PATH: as written (relative to dir); GIT: NULL */
	/* GIT: url, ref, path in the repository, auth and verification as
	 * written (files relative to dir; no cache: see stack_git_config) */
	struct gitsrc_config *git;
	unsigned line; /* where it was written */
};

/* A deny window of watch: days of the week and a UTC time range in which
 * watch only detects (start > end spans midnight). */
struct stack_window {
	unsigned days;    /* bit d for day d, 0 = Sunday; 0x7f: every day */
	int start_min;    /* minutes after 00:00 UTC */
	int end_min;      /* exclusive */
	int line, column; /* where it is written, for messages */
};

/* A webhook watch notifies. */
struct stack_notify {
	char *url;
	bool slack;       /* format: slack (else json) */
	char *secret_env; /* the HMAC-SHA256 key's variable, or NULL */
	unsigned events;  /* bits of the STACK_EVENT_* below; 0: all */
};

enum stack_event {
	STACK_EVENT_DRIFT_DETECTED = 0,
	STACK_EVENT_DRIFT_CORRECTED,
	STACK_EVENT_APPLY_FAILED,
	STACK_EVENT_SOURCE_FAILED,
	STACK_EVENT_RECOVERED,
	STACK_EVENT_COUNT
};

/* "drift-detected", "drift-corrected", "apply-failed", "source-failed",
 * "recovered" */
const char *stack_event_name(enum stack_event e);

/* The stack file's watch: block (flags override it). */
struct stack_watch {
	char *interval;          /* a duration as written, or NULL */
	bool has_detect, detect; /* mode: detect (else apply) */
	bool suspend;
	struct stack_window *windows;
	size_t nwindows;
	struct stack_notify *notify;
	size_t nnotify;
};

struct stack_spec {
	char *name;
	char *file; /* the stack file as loaded */
	char *dir;  /* its directory: paths are relative to it */
	struct stack_source *sources;
	size_t nsources;
	char *state; /* as written; NULL: the default */
	bool has_prune, prune;
	bool has_mass_delete;
	int mass_delete; /* percent 0..100 */
	bool has_parallelism;
	int parallelism;
	char *lock_timeout; /* a duration as written, or NULL */
	char **secret_dirs;
	size_t nsecret_dirs;
	char **exclude; /* patterns of .sandformignore syntax */
	size_t nexclude;
	char **ignore; /* differences left alone (stack_ignore_rule_ok) */
	size_t nignore;
	struct stack_watch watch;
};

void stack_spec_free(struct stack_spec *st);

/* stack_in_window: whether the UTC time t (seconds) is in one of w's deny
 * windows; the first such window, or NULL. */
const struct stack_window *stack_in_window(const struct stack_watch *w,
                                           long long t);
/* stack_watch_clear: free what a watch: block holds. */
void stack_watch_clear(struct stack_watch *w);

/*
 * stack_ignore_rule_ok: 1 when rule is an ignore rule: a drift category
 * ("missing", "spec", "labels", "resources", "settings", "network",
 * "state") or a manifest field path under spec. or labels. ("labels.team",
 * "spec.resources.cpu"), optionally ending in ".*" for every field under
 * it. reconciler/plan.h applies them.
 */
int stack_ignore_rule_ok(const char *rule);

/*
 * stack_path: a path of the stack file resolved against its directory (an
 * absolute path or a URL stays as it is). Caller frees.
 */
char *stack_path(const struct stack_spec *st, const char *path);

/*
 * stack_git_config: the configuration a git source of the stack file runs
 * with: its files (token, CA, SSH key, known_hosts, allowed signers, a
 * local repository path) resolved against the stack file's directory, the
 * cache beside state_path, offline as given. Clear *out with
 * gitsrc_config_clear().
 */
void stack_git_config(const struct stack_spec *st,
                      const struct stack_source *src, const char *state_path,
                      int offline, struct gitsrc_config *out);

/*
 * stack_find: the stack file for a run started in the current directory:
 * STACK_FILE_NAME here or in the nearest parent directory (up to the
 * filesystem's root), as git finds .git. Returns 1 and the path in *out
 * (caller frees), 0 when there is none.
 */
int stack_find(char **out);

/*
 * stack_load: read the stack file at path (a file whose only document is
 * a kind Stack). Returns 0 and *out, or SF_EINVALID with the problems in
 * diags (as "PATH:LINE:COL: field: message"), or SF_EIO.
 */
int stack_load(const char *path, struct stack_spec **out,
               struct diag_list *diags);

#endif
