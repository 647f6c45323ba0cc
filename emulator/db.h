/*
 * db: the emulator's organizations and their sandboxes — indexes by id
 * and by name, a lazily re-sorted index for list walks, the clocks that
 * drive transitions and the platform lifecycle, and optional SQLite
 * persistence.
 *
 * Locking: the db has one mutex; every function below except
 * emudb_new(), emudb_free(), emudb_lock(), emudb_unlock() and the
 * emudb_query_*() ones must be called with it held. Sandbox pointers returned
 * by lookups stay valid until the lock is released (a purge or reset may free
 * them afterwards). The db owns every sandbox inserted into it.
 */
#ifndef SF_EMULATOR_DB_H
#define SF_EMULATOR_DB_H

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

struct emu_db;
struct org;

/* Durations in real milliseconds; time_scale speeds up the emulated clock. */
struct emudb_opts {
	int64_t create_ms, build_ms, start_ms, stop_ms, archive_ms, delete_ms,
	        resize_ms;
	double time_scale;
	int64_t list_lag_ms;    /* new sandboxes reach the list this late */
	const char *state_path; /* NULL: in memory only */
};

int emudb_new(const struct emudb_opts *opts, struct emu_db **out);
void emudb_free(struct emu_db *db);
void emudb_lock(struct emu_db *db);
void emudb_unlock(struct emu_db *db);

/* emudb_org_add: an organization for api_key (its id is derived from it). */
struct org *emudb_org_add(struct emu_db *db, const char *api_key);
struct org *emudb_org_by_key(struct emu_db *db, const char *api_key);
struct org *emudb_org_first(struct emu_db *db);
const char *emudb_org_id(const struct org *o);
/* emudb_load: read persisted sandboxes of the known orgs (after org_add). */
int emudb_load(struct emu_db *db);

/*
 * The organization resources of resources.c in the state file (no-ops in
 * memory): emudb_res_put() writes one (kind "volume", "snapshot" or
 * "secret"; body its JSON) at once, emudb_res_delete() removes it, and
 * emudb_res_load() hands fn the stored ones of the known organizations in
 * the order they were first written. -1 (message set) on a write error.
 */
int emudb_res_put(struct emu_db *db, const char *kind, const char *id,
                  const char *org_id, const char *body);
int emudb_res_delete(struct emu_db *db, const char *id);
int emudb_res_load(struct emu_db *db,
                   void (*fn)(void *arg, const char *kind, const char *org_id,
                              const char *body),
                   void *arg);

/* emudb_opts_of: the options the db was made with (durations). */
const struct emudb_opts *emudb_opts_of(const struct emu_db *db);
/* The emulated wall clock (ms since the epoch). */
int64_t emudb_now(struct emu_db *db);
void emudb_advance(struct emu_db *db, int64_t ms);

/* Lookups: id first, then exact name; hidden sandboxes are not found. */
struct sandbox *emudb_find(struct emu_db *db, struct org *o, const char *key);
/* emudb_find_any: as emudb_find across all orgs (for test hooks). */
struct sandbox *emudb_find_any(struct emu_db *db, const char *key);
bool emudb_name_taken(struct emu_db *db, struct org *o, const char *name);

/*
 * emudb_org_usage: what o's sandboxes hold against the organization quota
 * (daytona-api.md §7): started and start-side transitional states count
 * cpu, memory and disk; stopped, paused and archiving count disk only.
 * except, when not NULL, is left out.
 */
void emudb_org_usage(struct emu_db *db, struct org *o,
                     const struct sandbox *except, int *cpu, int *memory,
                     int *disk);

/*
 * emudb_insert: take ownership of sb (id, name and fields set), stamp its
 * times and start its first transition (TM_CREATE or TM_BUILD by its state;
 * instant puts it straight into started).
 */
void emudb_insert(struct emu_db *db, struct org *o, struct sandbox *sb,
                  bool instant);

/* Actions, after sb_check() allowed them. */
void emudb_start(struct emu_db *db, struct sandbox *sb);
void emudb_stop(struct emu_db *db, struct sandbox *sb);
void emudb_archive(struct emu_db *db, struct sandbox *sb);
void emudb_pause(struct emu_db *db, struct sandbox *sb);
void emudb_delete(struct emu_db *db, struct sandbox *sb);
void emudb_recover(struct emu_db *db, struct sandbox *sb, bool skip_start);
void emudb_resize(struct emu_db *db, struct sandbox *sb, int cpu, int memory,
                  int disk);
/* emudb_snapshot: snapshotting for a while, then back to the state */
void emudb_snapshot(struct emu_db *db, struct sandbox *sb);
/* emudb_touch: record an in-place change (updatedAt, persistence). */
void emudb_touch(struct emu_db *db, struct sandbox *sb);
/* emudb_set_state: an out-of-band state change (test hook). */
void emudb_set_state(struct emu_db *db, struct sandbox *sb, enum sb_state state,
                     int desired);

/*
 * emudb_tick: advance due transitions; run the platform lifecycle when
 * force_lifecycle or EMU_LIFECYCLE_SCAN_MS passed; flush persistence.
 * Returns how many sandboxes changed state.
 */
int emudb_tick(struct emu_db *db, bool force_lifecycle);
/* emudb_reset: delete every sandbox of every organization at once. */
void emudb_reset(struct emu_db *db);
/* emudb_flush: write dirty sandboxes to the state file (no-op in memory). */
int emudb_flush(struct emu_db *db);

enum list_sort {
	SORT_LAST_ACTIVITY,
	SORT_CREATED,
	SORT_NAME,
	SORT_CPU,
	SORT_MEMORY,
	SORT_DISK,
};

/*
 * A list query. Its strings (cursor, prefixes) are borrowed from the
 * caller; labels, snapshots and regions are owned and freed by
 * emudb_query_clear().
 */
struct emudb_query {
	const char *cursor;
	int limit;
	const char *id_prefix, *name_prefix;
	struct kvmap labels;
	bool has_labels;
	bool include_errored_deleted;
	uint32_t states; /* bit per raw enum sb_state; 0 = any */
	char **snapshots, **regions;
	int n_snapshots, n_regions;
	uint32_t classes; /* bit per enum sb_class; 0 = any */
	int min_cpu, max_cpu, min_mem, max_mem, min_disk, max_disk; /* 0 any */
	int is_public, is_recoverable;                              /* -1 any */
	int64_t created_after, created_before, activity_after, activity_before;
	enum list_sort sort;
	bool desc;
};

void emudb_query_init(struct emudb_query *q);
void emudb_query_clear(struct emudb_query *q);

/*
 * emudb_list: answer a list query into out as the response JSON. Returns 0,
 * or -1 when the cursor is invalid (nothing appended).
 */
int emudb_list(struct emu_db *db, struct org *o, const struct emudb_query *q,
               struct buf *out);

#endif
