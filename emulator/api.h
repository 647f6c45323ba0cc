/*
 * api: the handlers of daytona-emulator's /api routes, one per route of
 * routes.c's table, with the validation and the service rules of
 * daytona-api.md §4 and §13. They live in three files:
 *
 *	api-create.c   POST /sandbox (also used by the seed hook), snapshots,
 *	               the per-sandbox maxima and the organization quota
 *	api-list.c     GET /sandbox: the list query
 *	api-sandbox.c  GET /config and the routes of one sandbox
 *
 * Every handler runs with the db lock held (see routes.h).
 */
#ifndef SF_EMULATOR_API_H
#define SF_EMULATOR_API_H

#include <cjson/cJSON.h>

#include "emulator/routes.h"

struct org;
struct kvmap;
struct req;
struct sandbox;
struct server;

/* api-create.c */
route_fn api_create;
/*
 * api_build_sandbox: validate a CreateSandbox body of organization o and
 * fill a new sandbox (not yet in the db). NULL with c->r set to the error
 * answer.
 */
struct sandbox *api_build_sandbox(struct route_call *c, struct org *o,
                                  const cJSON *body);
/*
 * api_check_quota: the organization quota (--quota), checked by create
 * and start like the service does: sb would run with its cpu, memory and
 * disk on top of what the other sandboxes of c->o hold. 0, or -1 with a
 * 400 answer.
 */
int api_check_quota(struct route_call *c, const struct sandbox *sb);
/*
 * api_check_maxima: the per-sandbox maxima (EMU_MAX_*) of create and
 * resize, checked cpu, memory, disk: 0, or -1 with v0.190.0's 400 answered.
 */
int api_check_maxima(struct route_call *c, int cpu, int memory, int disk);
/*
 * api_check_secrets: every secret a sandbox's secrets map names is an
 * organization secret of o (GET /secret): 0, or -1 with a 400 answered.
 */
int api_check_secrets(struct route_call *c, struct org *o,
                      const struct kvmap *secrets);
/* api_snapshot_lookup: a known snapshot by name or id: its name and
 * resources; -1 when unknown. */
int api_snapshot_lookup(const char *name_or_id, const char **name, int *cpu,
                        int *memory, int *disk);

/* api_snapshot_general_id: the id of a server snapshot (every
 * organization's, general: true) by name or id; NULL when unknown. */
const char *api_snapshot_general_id(const char *name_or_id);

/* api_snapshot_class: the sandbox class of a snapshot (by name). */
enum sb_class api_snapshot_class(const char *name);

/* api-list.c */
route_fn api_list;

/* api-sandbox.c */
route_fn api_config;
route_fn api_get;
route_fn api_delete;
route_fn api_start;
route_fn api_stop;
route_fn api_archive;
route_fn api_recover;
route_fn api_pause;
route_fn api_resize;
route_fn api_labels;
route_fn api_public;
route_fn api_autostop;
route_fn api_autoarchive;
route_fn api_autodelete;
route_fn api_autopause;
route_fn api_ttl;
route_fn api_secrets;
route_fn api_network;
route_fn api_backup;
route_fn api_activity;
route_fn api_build_logs;
route_fn api_snapshot;
route_fn api_fork;
route_fn api_preview;
/*
 * api_wait_started: create, start and recover wait for sb to reach
 * `started` (at most --max-wait-ms) like the server's 30 s wait: suspend
 * the request, or answer sb with status at once when there is nothing to
 * wait for.
 */
void api_wait_started(struct route_call *c, struct sandbox *sb, int status);
/* api_wait_over: answer a request that api_wait_started() suspended. */
void api_wait_over(struct route_call *c);

#endif
