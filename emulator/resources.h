/*
 * resources: the organization resources of the 0.218 API that sandboxes
 * refer to — volumes (/volumes), snapshots (/snapshots) and secrets
 * (/secret) — kept in memory and, with --state, in the state file (each
 * written as it changes; a secret's value is never kept anywhere), with
 * states that follow real time from their creation, scaled by the
 * transition durations:
 *
 *	volume    pending_create -> ready; delete: pending_delete -> gone
 *	snapshot  pending -> building -> active (error under --error-rate);
 *	          deactivate: inactive; delete: removing -> gone
 *
 * Every function runs with the db lock held (as the handlers do).
 */
#ifndef SF_EMULATOR_RESOURCES_H
#define SF_EMULATOR_RESOURCES_H

#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "emulator/model.h"
#include "emulator/routes.h"

struct emu_volume;
struct emu_snapshot;
struct emu_secret;

struct emu_db;

struct emu_res {
	struct emu_db *db; /* --state persistence (res_load); NULL: none */
	struct emu_volume **vols;
	int n_vols;
	struct emu_snapshot **snaps;
	int n_snaps;
	struct emu_secret **secrets;
	int n_secrets;
};

/* res_free: free everything, the state file untouched (shutdown). */
void res_free(struct emu_res *res);
/* res_reset: remove everything, from the state file too (the reset hook). */
void res_reset(struct emu_res *res);
/*
 * res_load: the resources of db's state file back into the empty res, and
 * every later change written to it (a no-op without --state); -1 with
 * the message set when it cannot be read.
 */
int res_load(struct emu_res *res, struct emu_db *db);

/*
 * res_volume_resolve: a volume of org_id by id or name for a sandbox
 * create: 0 with its id in out; -1 with *msg (static or in buf) when
 * unknown or not ready.
 */
int res_volume_resolve(struct emu_res *res, const char *org_id, const char *key,
                       char out[37], char *buf, size_t bufsz);
/* What a sandbox create takes from a snapshot. */
struct res_snap {
	const char *name;
	int cpu, mem, disk;
	enum sb_class cls;
};

struct emudb_opts;
/*
 * res_snapshot_resolve: an organization snapshot by name or id: 0 with
 * out set when active; 1 when unknown; -1 with the message in buf
 * ("Snapshot X is building") when it exists but is not active.
 */
int res_snapshot_resolve(struct emu_res *res, const struct emudb_opts *op,
                         const char *org_id, const char *key,
                         struct res_snap *out, char *buf, size_t bufsz);

/* res_secret_name_ok: ^[a-zA-Z_][a-zA-Z0-9_-]*$ (the SDK's pattern). */
bool res_secret_name_ok(const char *name);
/*
 * res_secret_check: a sandbox's secrets entry names a secret of org_id: 0,
 * or -1 with "Secret with name X not found" appended to msg.
 */
int res_secret_check(struct emu_res *res, const char *org_id, const char *name,
                     struct buf *msg);

route_fn api_volume_create;
route_fn api_volume_list;
route_fn api_volume_get;
route_fn api_volume_by_name;
route_fn api_volume_delete;
route_fn api_snapshots_create;
route_fn api_snapshots_list;
route_fn api_snapshots_get;
route_fn api_snapshots_delete;
route_fn api_snapshots_activate;
route_fn api_snapshots_deactivate;
route_fn api_secret_create;
route_fn api_secret_list;
route_fn api_secret_get;
route_fn api_secret_update;
route_fn api_secret_delete;

#endif
