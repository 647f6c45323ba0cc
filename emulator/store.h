/*
 * store: the emulator's organizations and their sandboxes — indexes by id
 * and by name, a lazily re-sorted index for list walks, the clocks that
 * drive transitions and the platform lifecycle, and optional SQLite
 * persistence.
 *
 * Locking: the store has one mutex; every function below except
 * store_new(), store_free(), store_lock() and store_unlock() must be called
 * with it held. Sandbox pointers returned by lookups stay valid until the
 * lock is released (a purge or reset may free them afterwards). The store
 * owns every sandbox inserted into it.
 */
#ifndef SF_EMULATOR_STORE_H
#define SF_EMULATOR_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "emulator/model.h"

#define EMU_LIST_LIMIT_MAX     200
#define EMU_LIST_LIMIT_DEFAULT 100
#define EMU_DESTROYED_PURGE_MS (24LL * 3600 * 1000)
#define EMU_LIFECYCLE_SCAN_MS  100 /* real ms between lifecycle scans */
/* --state file mode: it holds sandbox env values (resolved secrets). */
#define EMU_STATE_FILE_MODE 0600

struct store;
struct org;

/* Durations in real milliseconds; time_scale speeds up the emulated clock. */
struct store_opts {
	int64_t create_ms, build_ms, start_ms, stop_ms, archive_ms, delete_ms,
	        resize_ms;
	double time_scale;
	int64_t list_lag_ms;    /* new sandboxes reach the list this late */
	const char *state_path; /* NULL: in memory only */
};

int store_new(const struct store_opts *opts, struct store **out);
void store_free(struct store *st);
void store_lock(struct store *st);
void store_unlock(struct store *st);

/* store_org_add: an organization for api_key (its id is derived from it). */
struct org *store_org_add(struct store *st, const char *api_key);
struct org *store_org_by_key(struct store *st, const char *api_key);
struct org *store_org_first(struct store *st);
const char *store_org_id(const struct org *o);
/* store_load: read persisted sandboxes of the known orgs (after org_add). */
int store_load(struct store *st);

/* The emulated wall clock (ms since the epoch). */
int64_t store_now(struct store *st);
void store_advance(struct store *st, int64_t ms);

/* Lookups: id first, then exact name; hidden sandboxes are not found. */
struct sandbox *store_find(struct store *st, struct org *o, const char *key);
/* store_find_any: as store_find across all orgs (for test hooks). */
struct sandbox *store_find_any(struct store *st, const char *key);
bool store_name_taken(struct store *st, struct org *o, const char *name);

/*
 * store_org_usage: what o's sandboxes hold against the organization quota
 * (daytona-api.md §7): started and start-side transitional states count
 * cpu, memory and disk; stopped, paused and archiving count disk only.
 * except, when not NULL, is left out.
 */
void store_org_usage(struct store *st, struct org *o,
                     const struct sandbox *except, int *cpu, int *memory,
                     int *disk);

/*
 * store_insert: take ownership of sb (id, name and fields set), stamp its
 * times and start its first transition (TM_CREATE or TM_BUILD by its state;
 * instant puts it straight into started).
 */
void store_insert(struct store *st, struct org *o, struct sandbox *sb,
                  bool instant);

/* Actions, after sb_check() allowed them. */
void store_start(struct store *st, struct sandbox *sb);
void store_stop(struct store *st, struct sandbox *sb);
void store_archive(struct store *st, struct sandbox *sb);
void store_delete(struct store *st, struct sandbox *sb);
void store_recover(struct store *st, struct sandbox *sb, bool skip_start);
void store_resize(struct store *st, struct sandbox *sb, int cpu, int memory,
                  int disk);
/* store_snapshot: snapshotting for a while, then back to the state */
void store_snapshot(struct store *st, struct sandbox *sb);
/* store_touch: record an in-place change (updatedAt, persistence). */
void store_touch(struct store *st, struct sandbox *sb);
/* store_set_state: an out-of-band state change (test hook). */
void store_set_state(struct store *st, struct sandbox *sb, enum sb_state state,
                     int desired);
/* store_rename_index: call after changing sb->name (keeps the index). */
void store_rename(struct store *st, struct sandbox *sb, const char *name);

/*
 * store_tick: advance due transitions; run the platform lifecycle when
 * force_lifecycle or EMU_LIFECYCLE_SCAN_MS passed; flush persistence.
 * Returns how many sandboxes changed state.
 */
int store_tick(struct store *st, bool force_lifecycle);
void store_reset(struct store *st);
/* store_flush: write dirty sandboxes to the state file (no-op in memory). */
int store_flush(struct store *st);

enum list_sort {
	SORT_LAST_ACTIVITY,
	SORT_CREATED,
	SORT_NAME,
	SORT_CPU,
	SORT_MEMORY,
	SORT_DISK,
};

struct list_query {
	const char *cursor;
	int limit;
	const char *id_prefix, *name_prefix;
	struct kvmap labels;
	bool has_labels;
	bool include_errored_deleted;
	uint32_t states; /* bit per raw enum sb_state; 0 = any */
	char **snapshots, **regions;
	int n_snapshots, n_regions;
	bool no_class_match; /* a sandboxClasses filter without "container" */
	int min_cpu, max_cpu, min_mem, max_mem, min_disk, max_disk; /* 0 any */
	int is_public, is_recoverable;                              /* -1 any */
	int64_t created_after, created_before, activity_after, activity_before;
	enum list_sort sort;
	bool desc;
	int page; /* the deprecated /paginated route: page >= 1, else 0 */
};

void list_query_init(struct list_query *q);
void list_query_clear(struct list_query *q);

/*
 * store_list: answer a list query into out as the response JSON. Returns 0,
 * or -1 when the cursor is invalid (nothing appended).
 */
int store_list(struct store *st, struct org *o, const struct list_query *q,
               struct buf *out);

#endif
