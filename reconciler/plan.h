/*
 * plan: the plan model and the diff (DESIGN.md §5).
 *
 * plan_build() compares the desired set (struct spec, see spec.h) with what
 * refresh observed of the stack in Daytona and what the state remembers of
 * the last apply, and produces one action per sandbox that needs anything.
 * An action has a kind (the most significant thing it does), its reasons
 * (field, old → new, whether it forces replacement), its provenance, and the
 * ordered steps apply must run for it. Apply runs the steps of an action in
 * order and may run different actions in parallel.
 *
 * Ownership: a struct plan owns everything reachable from it (copies of the
 * specs and observations, every string); plan_free() releases it
 * (NULL-safe). The inputs to plan_build() stay the caller's. One
 * exception: with plan_input.specs_refs set, the actions' desired specs
 * are the input's own (borrowed, not copied: a spec per create was the
 * biggest part of a big apply's memory) and the input's specs must outlive
 * the plan; the plan counts itself in *specs_refs until plan_free(), so
 * the owner of the specs can check that no plan still borrows them.
 *
 * The JSON document (plan_to_json, plan_from_json) is described in
 * docs/plan-format.md; a saved plan round-trips exactly. The human and JSON
 * printers are implemented in reconciler/planout.c.
 */
#ifndef SF_RECONCILER_PLAN_H
#define SF_RECONCILER_PLAN_H

#include <stdint.h>
#include <stdio.h>

#include "manifests/resource.h"
#include "manifests/secret.h"
#include "manifests/spec.h"
#include "manifests/spechash.h"
#include "reconciler/create.h"
#include "reconciler/labels.h"
#include "daytona/client.h"

#define PLAN_FORMAT_VERSION "1"
/* At most this many steps per action (replace + state changes). */
#define PLAN_MAX_STEPS 16
/* A saved plan file is never larger than this. */
#define PLAN_FILE_MAX (256u * 1024u * 1024u)

/* The kind of an action; the order is the order of precedence. */
enum plan_kind {
	PLAN_CREATE = 0,
	PLAN_REPLACE,
	PLAN_DELETE,
	PLAN_RECOVER,
	PLAN_RESIZE,
	PLAN_UPDATE,
	PLAN_START,
	PLAN_STOP,
	PLAN_ARCHIVE,
	PLAN_PAUSE,
	PLAN_KIND_COUNT
};

/* One API call (or wait) apply runs for an action. */
enum plan_step_kind {
	STEP_CREATE = 0,  /* POST /sandbox from action->desired */
	STEP_DELETE,      /* DELETE /sandbox/{id} */
	STEP_WAIT_GONE,   /* wait until the id is destroyed/404 */
	STEP_WAIT_STABLE, /* wait until the state is no longer transitional */
	STEP_START,
	STEP_STOP,
	STEP_ARCHIVE,
	STEP_RECOVER,
	STEP_RESIZE,      /* cpu/memory/disk below, has_ flags say which */
	STEP_SET_LABELS,  /* PUT labels = step->labels (the merged map) */
	STEP_SET_SETTING, /* step->setting = value (0/1, minutes) */
	STEP_SET_NETWORK, /* step->network */
	STEP_PAUSE,       /* POST /sandbox/{id}/pause (0.218) */
	STEP_SET_TTL,     /* POST /sandbox/{id}/ttl/{value} (0.218) */
	STEP_SET_SECRETS, /* PUT secrets = step->labels (env -> secret name) */
	STEP_KIND_COUNT
};

struct plan_step {
	enum plan_step_kind kind;
	enum dt_setting setting; /* STEP_SET_SETTING: which */
	const char *field;       /* STEP_SET_SETTING: the manifest field it sets
	                            (static), as its reason names it; or NULL */
	long long value;
	/* STEP_RESIZE: vCPU, GiB, GiB (ints, as in struct spec; a step is
	 * 80 bytes: a create has two of them) */
	int cpu, memory, disk;
	unsigned char has_cpu, has_memory, has_disk;
	struct strmap labels; /* STEP_SET_SECRETS: the platform secrets */
	struct spec_network network;
};

/*
 * What a reason is about: the category of the difference (drift reports
 * and the "changed outside sandform" section read these, never the field
 * text).
 */
enum plan_category {
	PLAN_CAT_MISSING = 0, /* no live sandbox: it is created */
	PLAN_CAT_REMOVED,     /* no longer in the manifests: it is deleted */
	PLAN_CAT_SPEC,        /* a create-only field: it is replaced */
	PLAN_CAT_LABELS,
	PLAN_CAT_RESOURCES, /* cpu, memory, disk */
	PLAN_CAT_SETTINGS,  /* public, the intervals */
	PLAN_CAT_NETWORK,
	PLAN_CAT_STATE,     /* started / stopped / archived, error states */
	PLAN_CAT_UNMANAGED, /* labelled for the stack, unknown to the state */
	PLAN_CAT_COUNT
};

/* Who changed what a reason is about. */
enum plan_origin {
	/* the manifests ask for something else than was last applied (or
	 * for something new) */
	PLAN_ORIGIN_MANIFEST = 0,
	/* the manifests ask what was last applied, the live sandbox moved:
	 * a change made outside sandform (drift) */
	PLAN_ORIGIN_OUT_OF_BAND,
	/* nothing applied is known to tell (imported, or a lost state) */
	PLAN_ORIGIN_UNKNOWN,
	PLAN_ORIGIN_COUNT
};

const char *plan_category_name(enum plan_category c); /* "missing", ... */
int plan_category_parse(const char *s, enum plan_category *out);
/* "manifest", "out-of-band", "unknown" */
const char *plan_origin_name(enum plan_origin o);
int plan_origin_parse(const char *s, enum plan_origin *out);

struct plan_reason {
	char *field; /* manifest field path, e.g. "spec.image", "labels.team" */
	char *old;   /* NULL: absent; "(sensitive)" for secrets */
	char *new_;  /* NULL: absent */
	int forces_replace;
	/* new_ is the name of the action's borrowed desired spec (a
	 * create's "sandbox" reason): not the reason's to free */
	unsigned char new_borrowed;
	char *note; /* why, when not the field itself; NULL: none */
	enum plan_category category;
	enum plan_origin origin;
};

/* How a live value a plan cannot show is written in a reason. */
#define PLAN_LIVE_NOT_SHOWN "(not shown)"
#define PLAN_LIVE_ABSENT    "(none)"

/*
 * Where the last applied specs of a stack's records are read from, when a
 * plan first needs one (plan_record_applied): a big stack's plan needs
 * them for the few sandboxes that differ, and holding 100,000 parsed
 * specs cost more memory than the rest of the plan.
 */
struct store;
struct plan_applied_src {
	struct store *store;
	char *stack;
};

/* What the state remembers of a managed sandbox. */
struct plan_record {
	char *name;
	char *id;
	char *spec_hash;            /* NULL: unknown (imported) */
	struct strmap owned_labels; /* labels sandform set last time */
	unsigned char labels_ok;    /* owned_labels read from the record */
	unsigned char imported;     /* state import: adopt, set labels */
	/* name, id and spec_hash are one allocation, starting at name
	 * (refresh: a malloc per record, not three) */
	unsigned char strings_block;
	/* the last applied spec (applied_json), or NULL; with applied_src
	 * set it is read from there when first asked: use
	 * plan_record_applied() */
	struct spec *applied;
	const struct plan_applied_src *applied_src;
};

/*
 * plan_record_applied: r's last applied spec in *out (NULL: none), read
 * from its applied_src and kept on first use (r is a cache: not safe to
 * call for the same record from two threads). A record that cannot be
 * read fails (<0, the store's message) and is asked again next time.
 */
int plan_record_applied(const struct plan_record *r, const struct spec **out);

struct plan_action {
	char *name;
	enum plan_kind kind;
	/* desired is the plan input's spec, not the action's (see
	 * plan_input.specs_refs), and name is then desired->name: the
	 * plan frees neither */
	unsigned char desired_borrowed;
	char *sandbox_id; /* NULL for create */
	char *source;     /* "file:line" or "removed from manifests" */
	struct plan_reason *reasons;
	size_t nreasons;
	struct plan_step *steps; /* allocated to need (add_step) */
	size_t nsteps, asteps;
	struct spec *desired;        /* NULL for delete */
	struct dt_sandbox *observed; /* NULL for create; never holds env */
	/* state + updatedAt + spec label of observed; apply refuses a saved
	 * plan whose sandbox no longer matches it. "" for create. */
	char *fingerprint;
	/* the labels sandform owns after this action (for the state) */
	struct strmap owned_labels;
};

/*
 * Declared volumes and snapshots (kind Volume, kind Snapshot): what the
 * plan does to each. Creates and replaces run before the sandbox actions
 * (and wait until the volume is ready, the snapshot active), deletes after
 * them. KEEP is not a change: a resource the stack no longer declares that
 * a sandbox still uses (outside the stack, or a sandbox of the stack that
 * still references it) is left alone and said so; so is a declared
 * snapshot of the stack found inactive (drift reports it).
 */
/* The reason of a CREATE of one the stack made that is gone: drift. */
#define PLAN_RES_DELETED_OUTSIDE "deleted outside sandform"
enum plan_res_op {
	PLAN_RES_CREATE = 0,
	PLAN_RES_REPLACE,
	PLAN_RES_DELETE,
	PLAN_RES_KEEP,
	PLAN_RES_OP_COUNT
};

const char *plan_res_op_name(enum plan_res_op op); /* "create", ... */
int plan_res_op_parse(const char *s, enum plan_res_op *out);
struct plan;
/* plan_res_replacing: p's replace of the k named (or of that id) key, or
 * NULL. A sandbox of the stack whose spec.snapshot names a snapshot being
 * replaced is replaced with it (PLAN_NOTE_SNAPSHOT_REPLACED): apply
 * deletes the old sandboxes first, then the old snapshot, builds the new
 * one, and creates the new sandboxes once it is active. */
const struct plan_resource *
plan_res_replacing(const struct plan *p, enum res_kind k, const char *key);

struct plan_resource {
	enum res_kind kind;
	char *name;
	enum plan_res_op op;
	char *id;     /* the live resource's id (replace, delete, keep) */
	char *source; /* "FILE:LINE", "removed from manifests", "destroy" */
	char *reason; /* why, in words ("missing", "spec.image: a -> b") */
	struct res_spec *desired; /* create, replace */
};

/* What the state remembers of a volume or snapshot the stack created
 * (the record "<volume>NAME" / "<snapshot>NAME"). */
struct plan_res_record {
	enum res_kind kind;
	char *name;
	char *id;
	struct res_spec *applied; /* the spec last applied, or NULL */
};

/* A volume or snapshot that exists in Daytona (refresh looked it up). */
struct plan_res_live {
	enum res_kind kind;
	const char *name, *id;
	const char *state;        /* "ready", "active", "error", ... */
	const char *error_reason; /* NULL: none */
	/* sandboxes outside the stack that use it, comma-joined; NULL:
	 * none (or not looked for) */
	const char *used_outside;
};

/* A per-name failure: the plan cannot be applied while any exists. */
struct plan_error {
	char *name;
	char *message;
};

struct plan_summary {
	size_t create, update, replace, delete_, other;
	size_t by_kind[PLAN_KIND_COUNT];
};

struct plan {
	char *format_version; /* PLAN_FORMAT_VERSION */
	char *stack;
	char *created_at; /* ISO-8601 */
	int refreshed;    /* 0: planned from recorded state only */
	struct plan_action *actions;
	size_t nactions;
	struct plan_summary summary;
	struct plan_error *errors;
	size_t nerrors;
	/* declared volumes and snapshots, sorted by kind then name */
	struct plan_resource *resources;
	size_t nresources;
	int mass_delete_refused; /* deletes were refused by the guard */
	size_t managed;          /* sandboxes of the stack before the plan */
	/* of them, how many Daytona listed in each state (not saved with
	 * the plan: a loaded plan has zeros) */
	size_t managed_by_state[DT_STATE_COUNT];
	/* sandboxes whose secret env values could not be compared: their
	 * label was made under another state's key (a lost state file) */
	size_t secrets_incomparable;
	/* unmanaged org sandboxes (--show-unmanaged), name and id pairs */
	struct strmap unmanaged;
	int has_unmanaged;
	/* secrets that were not available to the plan and so not compared:
	 * sandbox name -> comma-joined env keys (a plan without the
	 * production secrets; apply needs them) */
	struct strmap not_compared;
	/* sandboxes no longer in the manifests that prune: false keeps */
	size_t kept;
	/* --target: the plan covers only these names (empty: all) */
	struct strmap targets;
	/* a loaded saved plan's seal (planout_load): the integrity MAC as
	 * written (NULL: none) and the SHA-256 of the document without it */
	char *seal_mac;
	char seal_digest[65];
	/* plan_input.specs_refs of a plan that borrows its desired specs
	 * (decremented by plan_free), or NULL */
	int *specs_refs;
};

struct plan_input {
	const char *stack;
	const struct spec *specs; /* desired, hashed (spec_hash) */
	size_t nspecs;
	/* NULL: the plan copies the specs its actions need. Set: the
	 * actions borrow specs[] (which must then outlive the plan) and
	 * the plan adds 1 to *specs_refs until plan_free() takes it off */
	int *specs_refs;
	/* the stack's live sandboxes (label walk, plus records found by id):
	 * list items, with the network settings when known (the
	 * DT_HAS_NETWORK_BLOCK_ALL bit) and env and volumes when a full GET
	 * was needed to check the create-only fields of a sandbox without
	 * sandform's spec label (DT_HAS_ENV) */
	struct dt_sandbox *const *observed;
	size_t nobserved;
	const struct plan_record *records;
	size_t nrecords;
	/* optional, the refresh's joins (struct refresh_result): each spec's
	 * observation and record, and each record's observation: indexes
	 * in observed[] and records[] (-1: none), the first listed of a
	 * name. NULL: the plan looks the names up itself (what a plan of
	 * 100,000 sandboxes spent 5% of its time on). */
	const int32_t *spec_obs, *spec_rec, *rec_obs;
	/* sandboxes that hold a desired name but are not this stack's */
	struct dt_sandbox *const *foreign;
	size_t nforeign;
	long long max_auto_archive; /* 0: SPEC_DEFAULT_MAX_AUTO_ARCHIVE */
	/* the organization secrets' names (keys); NULL: not known, and the
	 * platform secrets a spec names are not checked */
	const struct strmap *secret_names;
	int allow_mass_delete;
	/* the guard refuses deleting more than this share (percent) of the
	 * stack's sandboxes, and all of them below 100; 0: the default
	 * (STACK_MASS_DELETE_DEFAULT); negative: 0% (every delete) */
	int mass_delete;
	/* 1: a sandbox removed from the manifests is kept, not deleted
	 * (prune: false); counted in plan->kept */
	int no_prune;
	/* only these names (--target); NULL or 0: every sandbox */
	const char *const *targets;
	size_t ntargets;
	/* these names are replaced even when nothing forces it (--replace):
	 * the way to re-seed secrets after a lost state */
	const char *const *replace;
	size_t nreplace;
	int refreshed;
	/* a resize answered 404 at this API (the state's resize_unavailable
	 * setting): resources that would be resized force a replace */
	int resize_unavailable;
	/* the run holding the stack's lock ("apply (pid 12 on host)"), or
	 * NULL: a labelled sandbox missing from the state is then probably
	 * being created by it */
	const char *locked_by;
	/* declared volumes and snapshots (sorted by kind, then name), the
	 * records of those the stack created, and what exists in Daytona
	 * of them and of what the sandboxes reference; res_known: the live
	 * side was looked up (refresh); res_refs_checked: so were the
	 * references of the sandboxes to create, which are checked */
	const struct res_spec *resources;
	size_t nresources;
	const struct plan_res_record *res_records;
	size_t nres_records;
	const struct plan_res_live *res_live;
	size_t nres_live;
	int res_known;
	int res_refs_checked;
};

/* The note of resources that force a replace when resize_unavailable. */
/* The note of a replace asked for with --replace. */
#define PLAN_NOTE_REPLACE_ASKED "asked for with --replace"
/* plan_missing_secret: the error for platform secret name (spec.secrets
 * env of s) that the organization does not have, at its manifest position
 * (FILE:LINE:COL when known, else the document's); caller frees. */
char *plan_missing_secret(const struct spec *s, const char *env,
                          const char *name);
/* The note of a sandbox replaced with its snapshot (%s: the snapshot). */
#define PLAN_NOTE_SNAPSHOT_REPLACED "snapshot %s is replaced"
/* What a secret that was not available is shown as. */
#define PLAN_NOT_COMPARED "(secret not available: not compared)"

#define PLAN_NOTE_RESIZE_UNAVAILABLE \
	"resize is not available for this organization"

/*
 * plan_build: diff in into a new plan (*out, caller frees). Per-name
 * problems (a foreign sandbox holding a name, preventDestroy refusing a
 * delete or replace, the mass-delete guard) are recorded in plan->errors and
 * do not make plan_build fail; it fails only for invalid input.
 */
int plan_build(const struct plan_input *in, struct plan **out);
/*
 * plan_build_destroy: a plan of one delete per sandbox of the stack (those
 * the records and the live labels agree on, as in plan_build; ones being
 * destroyed are skipped) for 'sandform destroy'. A sandbox protected by
 * lifecycle.preventDestroy, by the rule plan_build uses (the spec of in,
 * when in names it, alone decides; otherwise its live
 * sandform.dev/prevent-destroy label or the last applied spec), is
 * refused as a plan error unless force[0..nforce) names it; a force name
 * that is not a record of the stack is a plan error too (a typo). The
 * specs of in are optional (nspecs 0). Caller frees *out.
 */
int plan_build_destroy(const struct plan_input *in, const char *const *force,
                       size_t nforce, struct plan **out);
void plan_free(struct plan *p);

const char *plan_kind_name(enum plan_kind k); /* "create", ... */
int plan_kind_parse(const char *s, enum plan_kind *out);
/* plan_step_name: the step's op, "create", ..., "set_" and a setting's
 * route for STEP_SET_SETTING ("set_autostop"). */
const char *plan_step_name(const struct plan_step *st);
/* plan_step_parse: kind and setting of an op name; -1 when unknown. */
int plan_step_parse(const char *s, struct plan_step *out);
/*
 * Ignore rules (--ignore, the stack file's ignore:): a difference a rule
 * matches is neither reported nor corrected. A rule is a category name
 * ("labels", "state", "resources", "settings", "network", "spec",
 * "missing") or a manifest field path ("labels.team",
 * "spec.autoStopInterval", "spec.resources.cpu"), or a path ending in ".*"
 * for every field under it. "missing" covers only sandboxes deleted
 * outside sandform (never a new one). manifests/stack.h's
 * stack_ignore_rule_ok() checks a rule's form.
 */
/*
 * plan_ignore: drop from p the reasons rules match and the steps that would
 * correct only them (a label set back to its live value, a resource left
 * out of a resize, a setting's step dropped); an action with no reason
 * left goes, and so does a replace with no forcing reason left. The
 * summary is counted again. Returns how many reasons were dropped.
 */
size_t plan_ignore(struct plan *p, const char *const *rules, size_t nrules);
/* plan_summarize: count p's actions by kind into p->summary again. */
void plan_summarize(struct plan *p);
/* plan_has_changes: 1 when there is at least one action. */
int plan_has_changes(const struct plan *p);

void plan_record_clear(struct plan_record *r);         /* fields only */
void plan_res_record_clear(struct plan_res_record *r); /* fields only */
void plan_resource_clear(struct plan_resource *r);     /* fields only */
/* plan_observed_dup: a copy of sb for a plan action, without env values
 * (a plan never holds them). */
struct dt_sandbox *plan_observed_dup(const struct dt_sandbox *sb);
/* plan_fingerprint: "state|updatedAt|spec label" of sb (caller frees). */
char *plan_fingerprint(const struct dt_sandbox *sb);

/* --- reconciler/planout.c ------------------------------------------------ */

/*
 * plan_to_json: the versioned document (docs/plan-format.md), NUL-terminated
 * in *out (caller frees). Never contains a secret value.
 */
int plan_to_json(const struct plan *p, char **out);
/*
 * plan_to_json_shown: the same document for showing (plan --json, NDJSON):
 * credentials in a desired outboundProxyUrl replaced by "***". A saved
 * plan (--out) keeps them, to create from.
 */
int plan_to_json_shown(const struct plan *p, char **out);
/*
 * plan_write_json_shown: plan_to_json_shown's document written to fp (no
 * newline), an action at a time: memory for one action's JSON, not the
 * whole plan's. 0, or < 0 (said) when it cannot be written.
 */
int plan_write_json_shown(FILE *fp, const struct plan *p);
/* plan_from_json: parse a document written by plan_to_json. */
int plan_from_json(const char *json, size_t len, struct plan **out);
/* plan_print_human: the human plan, with ANSI colour when color. */
void plan_print_human(FILE *fp, const struct plan *p, int color);

#endif
