/*
 * model: the emulated Daytona sandbox — its fields, the state machine of
 * daytona-api.md §5 (raw vs derived states, the pending invariant, the
 * precondition order of §13) and the input validators of §7.
 *
 * Everything here is pure: no locks, no clocks, no I/O, so the unit tests
 * drive it directly. A struct sandbox owns every string and map it points
 * to; sandbox_free() releases them all. Strings returned by the *_name()
 * functions are static.
 */
#ifndef SF_EMULATOR_MODEL_H
#define SF_EMULATOR_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"

/* Limits and defaults (daytona-api.md §4.4, §7, §8.3). */
#define EMU_MAX_AUTO_ARCHIVE     43200 /* minutes, MAX_AUTO_ARCHIVE_INTERVAL */
#define EMU_DEFAULT_AUTO_STOP    15
#define EMU_DEFAULT_AUTO_ARCHIVE 10080
#define EMU_DEFAULT_AUTO_DELETE  (-1)
#define EMU_NETWORK_LIST_MAX     10 /* entries per allow list */
#define EMU_DEFAULT_CPU          1  /* image builds without resources */
#define EMU_DEFAULT_MEMORY       1
#define EMU_DEFAULT_DISK         3
#define EMU_MAX_CPU              4 /* per-sandbox maxima, shipped defaults (§7) */
#define EMU_MAX_MEMORY           8  /* GiB */
#define EMU_MAX_DISK             10 /* GiB */
/* v0.190.0 apps/api/src/common/constants/error-messages.ts */
#define EMU_PER_SANDBOX_LIMIT                                     \
	"Need higher resource limits per-sandbox? Contact us at " \
	"support@daytona.io and let us know about your use case."
#define EMU_DEFAULT_REGION     "us"
#define EMU_DEFAULT_USER       "daytona"
#define EMU_TOOLBOX_PROXY_URL  "https://proxy.app.daytona.io/toolbox"
#define EMU_DEFAULT_AUTO_PAUSE 60 /* pausable classes (create-sandbox.d.ts) */

/* The classes of sandbox-class.d.ts (@daytona/api-client 0.218.0). */
enum sb_class { SC_CONTAINER, SC_LINUX_VM, SC_ANDROID, SC_WINDOWS, SC__COUNT };

const char *sb_class_name(enum sb_class c);
int sb_class_parse(const char *s); /* -1 when unknown */
/* Can sandboxes of class c pause (and so auto-pause)? linux-vm only. */
bool sb_class_pausable(enum sb_class c);

/* The GpuType enum of gpu-type.d.ts (0.218.0), comma-joined in order. */
extern const char *const emu_gpu_types[];
extern const int emu_n_gpu_types;
bool emu_is_gpu_type(const char *s);

enum sb_state {
	ST_CREATING,
	ST_RESTORING,
	ST_DESTROYED,
	ST_DESTROYING,
	ST_STARTED,
	ST_STOPPED,
	ST_STARTING,
	ST_STOPPING,
	ST_ERROR,
	ST_BUILD_FAILED,
	ST_PENDING_BUILD,
	ST_BUILDING_SNAPSHOT,
	ST_UNKNOWN,
	ST_PULLING_SNAPSHOT,
	ST_ARCHIVED,
	ST_ARCHIVING,
	ST_RESIZING,
	ST_SNAPSHOTTING,
	ST_FORKING,
	ST_PAUSING,
	ST_PAUSED,
	ST_RESUMING,
	ST__COUNT
};

enum sb_desired {
	DS_DESTROYED,
	DS_STARTED,
	DS_STOPPED,
	DS_RESIZED,
	DS_ARCHIVED,
	DS_PAUSED,
	DS__COUNT
};

/* What the emulator's clock will do to a sandbox next (see db.c). */
enum sb_timer {
	TM_NONE,
	TM_CREATE,  /* unknown -> creating -> started */
	TM_BUILD,   /* pending_build -> building_snapshot -> creating */
	TM_START,   /* stopped/archiving (desired started) -> started */
	TM_RESTORE, /* archived (desired started) -> restoring -> started */
	TM_STOP,    /* started (desired stopped) -> stopped */
	TM_ARCHIVE, /* archiving -> archived */
	TM_DESTROY, /* (desired destroyed) -> destroyed */
	TM_RESIZE,  /* resizing -> previous state */
	TM_PAUSE,   /* started (desired paused) -> paused */
};

struct org;

struct kvmap_item {
	char *key;
	char *value;
};

struct kvmap {
	struct kvmap_item *items;
	int n;
};

struct volume {
	char *volume_id; /* a stable fake UUID derived from the given name */
	char *mount_path;
	char *subpath; /* NULL when absent */
};

struct sandbox {
	char id[37];
	char org_id[37];
	char *name;
	char *target;
	char *snapshot;   /* NULL for image (buildInfo) sandboxes */
	char *dockerfile; /* buildInfo.dockerfileContent, NULL when none */
	char **context_hashes;
	int n_context_hashes;
	char *snapshot_ref; /* buildInfo.snapshotRef */
	char *user;
	struct kvmap env;
	struct kvmap labels;
	bool public_;
	bool network_block_all;
	char *network_allow_list; /* NULL when absent */
	char *domain_allow_list;
	int cpu, gpu, memory, disk;
	char *gpu_type;   /* the assigned type: the first preferred */
	char **gpu_types; /* the preference list as sent */
	int n_gpu_types;
	bool spot, kvm;
	char *outbound_proxy_url; /* NULL when none; single reads only */
	struct kvmap secrets;     /* env var -> organization secret name */
	enum sb_class sclass;
	char linked_id[37];      /* linkedSandboxId, "" when none */
	int auto_pause;          /* minutes, 0 = disabled */
	int ttl_minutes;         /* 0 = disabled */
	int64_t auto_destroy_at; /* emulated ms; 0 when no TTL */
	enum sb_state state;     /* the raw column */
	enum sb_desired desired;
	char *error_reason;
	bool recoverable;
	int auto_stop, auto_archive, auto_delete;
	struct volume *volumes;
	int n_volumes;
	int64_t created_at, updated_at, last_activity_at; /* emulated ms */
	char runner_id[37]; /* "" when none (archived, destroyed) */

	/* Emulator bookkeeping, not part of the API. */
	enum sb_timer timer;
	int timer_phase;
	int64_t timer_due; /* monotonic ms; 0 = none */
	enum sb_state resize_prev;
	int resize_cpu, resize_memory, resize_disk;
	int64_t destroyed_at; /* emulated ms when it reached destroyed */
	int list_pos;         /* index in the owning org's array */
	int active_pos;       /* index in the db's timer array, or -1 */
	bool dirty;           /* changed since the last flush */
	bool will_fail;       /* the running transition ends in error */
	int64_t list_after;   /* monotonic ms before which lists miss it */
	struct org *org;
};

const char *sb_state_name(enum sb_state s);
const char *sb_desired_name(enum sb_desired d);
/* Parse a state/desired name; -1 when unknown. */
int sb_state_parse(const char *s);
int sb_desired_parse(const char *s);

/* The pending invariant of §5.2. */
bool sb_pending(const struct sandbox *sb);
/* The displayed state of §5.3; for_list selects the list's variant. */
enum sb_state sb_derived_state(const struct sandbox *sb, bool for_list);
/* error or build_failed */
bool sb_errored(const struct sandbox *sb);
/* Invisible to get-by-id/name: destroyed, or errored with desired destroyed. */
bool sb_hidden(const struct sandbox *sb);
/* Stable states (state == desiredState possible) map to a desired state. */
int sb_stable_desired(enum sb_state s);

enum sb_action {
	ACT_START,
	ACT_STOP,
	ACT_ARCHIVE,
	ACT_DELETE,
	ACT_RESIZE,
	ACT_RECOVER,
	ACT_PAUSE,
};

/*
 * sb_check: the preconditions of §13 in the service's order. Returns 0 when
 * the action may proceed, 1 for start on a started sandbox (a no-op that
 * answers 200), or an HTTP status (400, 409) with *msg set to the exact
 * message (static).
 */
int sb_check(const struct sandbox *sb, enum sb_action act, const char **msg);

/*
 * Validators (§7): the rules of common/validate.h with Daytona's wording.
 * Each returns 0 when valid, -1 otherwise with *msg set to a static message
 * suitable for a 400 body.
 */
int emu_valid_name(const char *name, const char **msg);
/*
 * The allow lists as Daytona v0.190.0 checks them: 0, or -1 with its
 * message (naming the entry) appended to msg. An entry: a CIDR (an IPv4
 * address, '/', a prefix that JavaScript's parseInt() does not read as
 * below 0 or above 32) or a domain (validate_domain()). A list: entries
 * split at ',' and trimmed, empty ones skipped, at most
 * EMU_NETWORK_LIST_MAX (counted after the entries are checked).
 */
int emu_valid_network_entry(const char *s, struct buf *msg);
int emu_valid_domain_entry(const char *s, struct buf *msg);
int emu_valid_network_list(const char *list, struct buf *msg);
int emu_valid_domain_list(const char *list, struct buf *msg);
int emu_valid_mount_path(const char *path, const char **msg);
int emu_valid_subpath(const char *path, const char **msg);

/* kvmap: insertion-ordered string map; set replaces. */
void kvmap_set(struct kvmap *m, const char *key, const char *value);
const char *kvmap_get(const struct kvmap *m, const char *key);
void kvmap_clear(struct kvmap *m);
/* kvmap_contains: every pair of needle is in hay (JSON containment). */
bool kvmap_contains(const struct kvmap *hay, const struct kvmap *needle);

struct sandbox *sandbox_new(void);
void sandbox_free(struct sandbox *sb);
/* Append a volume (subpath may be NULL); the strings are copied. */
void sandbox_add_volume(struct sandbox *sb, const char *volume_id,
                        const char *mount_path, const char *subpath);
/* Append a copy of type to the gpuType preference list. */
void sandbox_add_gpu_type(struct sandbox *sb, const char *type);
/* Append a copy of hash to buildInfo.contextHashes. */
void sandbox_add_context_hash(struct sandbox *sb, const char *hash);

enum sb_json_form {
	SBJ_FULL,    /* GET one and every action */
	SBJ_LIST,    /* list items (fewer fields, list-derived state) */
	SBJ_PERSIST, /* full plus the raw state and bookkeeping */
};

/* sandbox_to_json: append the sandbox as a JSON object to out. */
void sandbox_to_json(const struct sandbox *sb, enum sb_json_form form,
                     struct buf *out);

struct cJSON;
/* sandbox_from_persist: rebuild a sandbox saved with SBJ_PERSIST. */
struct sandbox *sandbox_from_persist(const struct cJSON *obj);

#endif
