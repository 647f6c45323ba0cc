/*
 * db: the emulator's data — organizations, sandboxes and time.
 *
 * Two clocks: transitions (creating, stopping, ...) run on the monotonic
 * clock in real milliseconds so tests can make them short; the platform
 * lifecycle (auto-stop, auto-archive, auto-delete, purge) runs on the
 * emulated wall clock, which moves time_scale times faster than real time
 * and can be pushed forward by a test hook.
 *
 * Sandboxes with a running transition sit in an "active" array so a tick
 * touches only them. List walks use one sorted array per organization and
 * sort key, rebuilt only when the organization's version changed since it
 * was sorted (any change bumps it), so a walk over an idle organization
 * sorts once and then binary-searches each cursor.
 */
#include "common/base.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sqlite3.h>

#include "common/error.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "emulator/htab.h"
#include "emulator/db.h"

#define N_SORTS   6
#define RUNNER_ID "9e1f5c2a-6b0d-4c43-9a51-3f2e8d7c6b5a"

struct sorted {
	struct sandbox **v;
	int n;
	uint64_t version; /* org version it was built from; 0 = never */
};

struct org {
	char id[37];
	char key_hash[SF_SHA256_HEX_LEN + 1];
	struct sandbox **sbs;
	int n, cap;
	uint64_t version;
	struct sorted sorted[N_SORTS];
};

struct emu_db {
	pthread_mutex_t mu;
	struct emudb_opts opts;
	struct org **orgs;
	int n_orgs;
	struct htab *by_key;  /* key hash -> org */
	struct htab *by_id;   /* sandbox id -> sandbox */
	struct htab *by_name; /* "<org id>/<name>" -> sandbox */
	struct sandbox **active;
	int n_active, cap_active;
	int64_t wall_base, mono_base, offset;
	int64_t last_scan_mono;
	sqlite3 *sql;
	bool any_dirty;
	char **deleted_ids; /* purged since the last flush */
	int n_deleted;
};

/* --- clocks ----------------------------------------------------------- */

const struct emudb_opts *
emudb_opts_of(const struct emu_db *db)
{
	return &db->opts;
}

int64_t
emudb_now(struct emu_db *db)
{
	int64_t real = time_mono_ms() - db->mono_base;

	return db->wall_base + (int64_t)((double)real * db->opts.time_scale) +
	       db->offset;
}

void
emudb_advance(struct emu_db *db, int64_t ms)
{
	if (ms > 0)
		db->offset += ms;
}

/* --- orgs ------------------------------------------------------------- */

static void
uuid_from_hash(const char *hex, char out[37])
{
	/* xxxxxxxx-xxxx-4xxx-8xxx-xxxxxxxxxxxx from the first 32 hex digits */
	snprintf(out, 37, "%.8s-%.4s-4%.3s-8%.3s-%.12s", hex, hex + 8, hex + 13,
	         hex + 17, hex + 20);
}

struct org *
emudb_org_add(struct emu_db *db, const char *api_key)
{
	char h[SF_SHA256_HEX_LEN + 1];
	struct org *o;
	char *salted = xasprintf("daytona-emulator-org:%s", api_key);

	sha256_hex(salted, strlen(salted), h);
	free(salted);
	o = htab_get(db->by_key, h);
	if (o)
		return o;
	o = xcalloc(1, sizeof(*o));
	memcpy(o->key_hash, h, sizeof(h));
	uuid_from_hash(h, o->id);
	o->version = 1;
	db->orgs = xreallocarray(db->orgs, (size_t)db->n_orgs + 1,
	                         sizeof(*db->orgs));
	db->orgs[db->n_orgs++] = o;
	htab_put(db->by_key, o->key_hash, o);
	return o;
}

struct org *
emudb_org_by_key(struct emu_db *db, const char *api_key)
{
	char h[SF_SHA256_HEX_LEN + 1];
	char *salted = xasprintf("daytona-emulator-org:%s", api_key);

	sha256_hex(salted, strlen(salted), h);
	free(salted);
	return htab_get(db->by_key, h);
}

struct org *
emudb_org_first(struct emu_db *db)
{
	return db->n_orgs ? db->orgs[0] : NULL;
}

const char *
emudb_org_id(const struct org *o)
{
	return o->id;
}

static struct org *
org_by_id(struct emu_db *db, const char *id)
{
	for (int i = 0; i < db->n_orgs; i++)
		if (strcmp(db->orgs[i]->id, id) == 0)
			return db->orgs[i];
	return NULL;
}

/* --- indexes ---------------------------------------------------------- */

static char *
name_key(const struct org *o, const char *name)
{
	return xasprintf("%s/%s", o->id, name);
}

static void
mark(struct emu_db *db, struct sandbox *sb)
{
	sb->dirty = true;
	db->any_dirty = true;
	sb->org->version++;
}

static void
active_add(struct emu_db *db, struct sandbox *sb)
{
	if (sb->active_pos >= 0)
		return;
	if (db->n_active == db->cap_active) {
		db->cap_active = db->cap_active ? db->cap_active * 2 : 64;
		db->active = xreallocarray(db->active, (size_t)db->cap_active,
		                           sizeof(*db->active));
	}
	sb->active_pos = db->n_active;
	db->active[db->n_active++] = sb;
}

static void
active_del(struct emu_db *db, struct sandbox *sb)
{
	int i = sb->active_pos;

	if (i < 0)
		return;
	db->active[i] = db->active[--db->n_active];
	db->active[i]->active_pos = i;
	sb->active_pos = -1;
}

static void
org_append(struct org *o, struct sandbox *sb)
{
	if (o->n == o->cap) {
		o->cap = o->cap ? o->cap * 2 : 64;
		o->sbs = xreallocarray(o->sbs, (size_t)o->cap, sizeof(*o->sbs));
	}
	sb->list_pos = o->n;
	o->sbs[o->n++] = sb;
	sb->org = o;
	o->version++;
}

static void
index_add(struct emu_db *db, struct org *o, struct sandbox *sb)
{
	char *k = name_key(o, sb->name);

	org_append(o, sb);
	htab_put(db->by_id, sb->id, sb);
	htab_put(db->by_name, k, sb);
	free(k);
}

/* remove sb from every index and free it */
static void
purge(struct emu_db *db, struct sandbox *sb)
{
	struct org *o = sb->org;
	char *k = name_key(o, sb->name);
	int i = sb->list_pos;

	if (htab_get(db->by_name, k) == sb)
		htab_del(db->by_name, k);
	free(k);
	htab_del(db->by_id, sb->id);
	active_del(db, sb);
	o->sbs[i] = o->sbs[--o->n];
	o->sbs[i]->list_pos = i;
	o->version++;
	if (db->sql) {
		db->deleted_ids = xreallocarray(db->deleted_ids,
		                                (size_t)db->n_deleted + 1,
		                                sizeof(char *));
		db->deleted_ids[db->n_deleted++] = xstrdup(sb->id);
		db->any_dirty = true;
	}
	sandbox_free(sb);
}

struct sandbox *
emudb_find(struct emu_db *db, struct org *o, const char *key)
{
	struct sandbox *sb = htab_get(db->by_id, key);
	char *k;

	if (sb && sb->org == o && !sb_hidden(sb))
		return sb;
	k = name_key(o, key);
	sb = htab_get(db->by_name, k);
	free(k);
	if (sb && !sb_hidden(sb))
		return sb;
	return NULL;
}

struct sandbox *
emudb_find_any(struct emu_db *db, const char *key)
{
	struct sandbox *sb = htab_get(db->by_id, key);

	if (sb && sb->state != ST_DESTROYED)
		return sb;
	for (int i = 0; i < db->n_orgs; i++) {
		char *k = name_key(db->orgs[i], key);

		sb = htab_get(db->by_name, k);
		free(k);
		if (sb && sb->state != ST_DESTROYED)
			return sb;
	}
	return NULL;
}

void
emudb_org_usage(struct emu_db *db, struct org *o, const struct sandbox *except,
                int *cpu, int *memory, int *disk)
{
	(void)db;
	*cpu = *memory = *disk = 0;
	for (int i = 0; i < o->n; i++) {
		const struct sandbox *sb = o->sbs[i];

		if (sb == except)
			continue;
		switch (sb_derived_state(sb, false)) {
		case ST_ARCHIVED:
		case ST_DESTROYED:
		case ST_DESTROYING:
		case ST_ERROR:
		case ST_BUILD_FAILED:
			break;
		case ST_STOPPED:
		case ST_PAUSED:
		case ST_ARCHIVING:
			*disk += sb->disk;
			break;
		default:
			*cpu += sb->cpu;
			*memory += sb->memory;
			*disk += sb->disk;
			break;
		}
	}
}

bool
emudb_name_taken(struct emu_db *db, struct org *o, const char *name)
{
	char *k = name_key(o, name);
	bool taken = htab_get(db->by_name, k) != NULL;

	free(k);
	return taken;
}

/* give sb a new name, keeping the name index right */
static void
rename_sandbox(struct emu_db *db, struct sandbox *sb, const char *name)
{
	char *k = name_key(sb->org, sb->name);

	if (htab_get(db->by_name, k) == sb)
		htab_del(db->by_name, k);
	free(k);
	free(sb->name);
	sb->name = xstrdup(name);
	k = name_key(sb->org, sb->name);
	htab_put(db->by_name, k, sb);
	free(k);
	mark(db, sb);
}

/* --- transitions ------------------------------------------------------ */

/* a state change: bumps lastActivityAt like the server's state events */
static void
set_state(struct emu_db *db, struct sandbox *sb, enum sb_state s)
{
	int64_t now = emudb_now(db);

	sb->state = s;
	sb->updated_at = now;
	sb->last_activity_at = now;
	if (s == ST_ARCHIVED || s == ST_DESTROYED)
		sb->runner_id[0] = '\0';
	else if (s == ST_STARTED || s == ST_CREATING)
		memcpy(sb->runner_id, RUNNER_ID, sizeof(RUNNER_ID));
	if (s == ST_DESTROYED)
		sb->destroyed_at = now;
	mark(db, sb);
}

static void
set_timer(struct emu_db *db, struct sandbox *sb, enum sb_timer t, int phase,
          int64_t ms)
{
	sb->timer = t;
	sb->timer_phase = phase;
	sb->timer_due = time_mono_ms() + (ms > 0 ? ms : 0);
	if (t == TM_NONE) {
		sb->timer_due = 0;
		active_del(db, sb);
	} else {
		active_add(db, sb);
	}
}

void
emudb_touch(struct emu_db *db, struct sandbox *sb)
{
	sb->updated_at = emudb_now(db);
	mark(db, sb);
}

void
emudb_insert(struct emu_db *db, struct org *o, struct sandbox *sb, bool instant)
{
	int64_t now = emudb_now(db);

	memcpy(sb->org_id, o->id, sizeof(o->id));
	sb->created_at = sb->updated_at = sb->last_activity_at = now;
	if (sb->ttl_minutes > 0)
		sb->auto_destroy_at = now + (int64_t)sb->ttl_minutes * 60000;
	if (!instant && db->opts.list_lag_ms > 0)
		sb->list_after = time_mono_ms() + db->opts.list_lag_ms;
	index_add(db, o, sb);
	mark(db, sb);
	if (instant) {
		sb->desired = DS_STARTED;
		set_state(db, sb, ST_STARTED);
	} else if (sb->state == ST_PENDING_BUILD) {
		set_timer(db, sb, TM_BUILD, 0, db->opts.build_ms / 2);
	} else {
		sb->state = ST_UNKNOWN;
		set_timer(db, sb, TM_CREATE, 0, db->opts.create_ms / 2);
	}
}

void
emudb_start(struct emu_db *db, struct sandbox *sb)
{
	sb->desired = DS_STARTED;
	if (sb->state == ST_ARCHIVED) {
		set_state(db, sb, ST_ARCHIVED);
		set_timer(db, sb, TM_RESTORE, 0, db->opts.start_ms / 2);
	} else {
		/* stopped, archiving (cancels the archive) or paused */
		set_state(db, sb, sb->state);
		set_timer(db, sb, TM_START, 0, db->opts.start_ms);
	}
}

static void
delete_now(struct emu_db *db, struct sandbox *sb)
{
	char *name =
	        xasprintf("DESTROYED_%s_%" PRId64, sb->name, emudb_now(db));

	rename_sandbox(db, sb, name);
	free(name);
	sb->desired = DS_DESTROYED;
	if (sb_errored(sb)) {
		/* errored rows stay as they are until the purge */
		set_timer(db, sb, TM_NONE, 0, 0);
		emudb_touch(db, sb);
		return;
	}
	if (sb->state != ST_STARTED && sb->state != ST_STOPPED)
		sb->state = ST_DESTROYING;
	set_state(db, sb, sb->state);
	set_timer(db, sb, TM_DESTROY, 0, db->opts.delete_ms);
}

void
emudb_stop(struct emu_db *db, struct sandbox *sb)
{
	if (sb->auto_delete == 0) {
		delete_now(db, sb);
		return;
	}
	sb->desired = DS_STOPPED;
	set_state(db, sb, sb->state);
	set_timer(db, sb, TM_STOP, 0, db->opts.stop_ms);
}

void
emudb_archive(struct emu_db *db, struct sandbox *sb)
{
	sb->desired = DS_ARCHIVED;
	set_state(db, sb, ST_ARCHIVING);
	set_timer(db, sb, TM_ARCHIVE, 0, db->opts.archive_ms);
}

void
emudb_pause(struct emu_db *db, struct sandbox *sb)
{
	sb->desired = DS_PAUSED;
	set_state(db, sb, sb->state);
	set_timer(db, sb, TM_PAUSE, 0, db->opts.stop_ms);
}

void
emudb_delete(struct emu_db *db, struct sandbox *sb)
{
	delete_now(db, sb);
}

void
emudb_recover(struct emu_db *db, struct sandbox *sb, bool skip_start)
{
	free(sb->error_reason);
	sb->error_reason = NULL;
	sb->recoverable = false;
	if (skip_start) {
		sb->desired = DS_STOPPED;
		set_state(db, sb, ST_STOPPED);
		set_timer(db, sb, TM_NONE, 0, 0);
	} else {
		sb->desired = DS_STARTED;
		set_state(db, sb, ST_STOPPED);
		set_timer(db, sb, TM_START, 0, db->opts.start_ms);
	}
}

void
emudb_resize(struct emu_db *db, struct sandbox *sb, int cpu, int memory,
             int disk)
{
	sb->resize_prev = sb->state;
	sb->resize_cpu = cpu;
	sb->resize_memory = memory;
	sb->resize_disk = disk;
	set_state(db, sb, ST_RESIZING);
	set_timer(db, sb, TM_RESIZE, 0, db->opts.resize_ms);
}

void
emudb_snapshot(struct emu_db *db, struct sandbox *sb)
{
	sb->resize_prev = sb->state;
	sb->resize_cpu = sb->resize_memory = sb->resize_disk = 0;
	set_state(db, sb, ST_SNAPSHOTTING);
	set_timer(db, sb, TM_RESIZE, 0, db->opts.resize_ms);
}

void
emudb_set_state(struct emu_db *db, struct sandbox *sb, enum sb_state state,
                int desired)
{
	set_timer(db, sb, TM_NONE, 0, 0);
	if (desired >= 0)
		sb->desired = (enum sb_desired)desired;
	else if (sb_stable_desired(state) >= 0)
		sb->desired = (enum sb_desired)sb_stable_desired(state);
	set_state(db, sb, state);
}

/* an injected failure at the end of a transition (--error-rate) */
static void
fail(struct emu_db *db, struct sandbox *sb, enum sb_state s, const char *why)
{
	sb->will_fail = false;
	free(sb->error_reason);
	sb->error_reason = xstrdup(why);
	sb->recoverable = s == ST_ERROR;
	set_state(db, sb, s);
	set_timer(db, sb, TM_NONE, 0, 0);
}

/*
 * Phase 0 of a two-phase timer ends: show mid and run the same timer's
 * second phase for the rest of ms. False when phase 1 is the one firing.
 */
static bool
first_half(struct emu_db *db, struct sandbox *sb, enum sb_state mid, int64_t ms)
{
	if (sb->timer_phase != 0)
		return false;
	set_state(db, sb, mid);
	set_timer(db, sb, sb->timer, 1, ms - ms / 2);
	return true;
}

/* one due timer fires: the next phase of the transition */
static void
fire(struct emu_db *db, struct sandbox *sb)
{
	const struct emudb_opts *op = &db->opts;

	if (sb->will_fail) {
		if (sb->timer == TM_BUILD && sb->timer_phase == 1) {
			fail(db, sb, ST_BUILD_FAILED,
			     "Failed to build snapshot: emulated build "
			     "failure");
			return;
		}
		if ((sb->timer == TM_CREATE && sb->timer_phase == 1) ||
		    sb->timer == TM_START ||
		    (sb->timer == TM_RESTORE && sb->timer_phase == 1)) {
			fail(db, sb, ST_ERROR,
			     sb->timer == TM_CREATE
			             ? "Failed to create sandbox: emulated "
			               "runner failure"
			             : "Failed to start sandbox: emulated "
			               "runner failure");
			return;
		}
	}

	switch (sb->timer) {
	case TM_CREATE:
		if (first_half(db, sb, ST_CREATING, op->create_ms))
			return;
		set_state(db, sb, ST_STARTED);
		break;
	case TM_BUILD:
		if (first_half(db, sb, ST_BUILDING_SNAPSHOT, op->build_ms))
			return;
		set_state(db, sb, ST_CREATING);
		set_timer(db, sb, TM_CREATE, 1, op->create_ms);
		return;
	case TM_START:
		set_state(db, sb, ST_STARTED);
		break;
	case TM_RESTORE:
		if (first_half(db, sb, ST_RESTORING, op->start_ms))
			return;
		set_state(db, sb, ST_STARTED);
		break;
	case TM_STOP:
		set_state(db, sb, ST_STOPPED);
		break;
	case TM_PAUSE:
		set_state(db, sb, ST_PAUSED);
		break;
	case TM_ARCHIVE:
		set_state(db, sb, ST_ARCHIVED);
		break;
	case TM_DESTROY:
		set_state(db, sb, ST_DESTROYED);
		break;
	case TM_RESIZE:
		if (sb->resize_cpu)
			sb->cpu = sb->resize_cpu;
		if (sb->resize_memory)
			sb->memory = sb->resize_memory;
		if (sb->resize_disk)
			sb->disk = sb->resize_disk;
		set_state(db, sb, sb->resize_prev);
		break;
	case TM_NONE:
		break;
	}
	set_timer(db, sb, TM_NONE, 0, 0);
}

/* the platform crons of §5.5, on the emulated clock */
static void
lifecycle(struct emu_db *db)
{
	int64_t now = emudb_now(db);

	for (int oi = 0; oi < db->n_orgs; oi++) {
		struct org *o = db->orgs[oi];

		for (int i = 0; i < o->n; i++) {
			struct sandbox *sb = o->sbs[i];
			int64_t idle = now - sb->last_activity_at;

			if (sb->state == ST_DESTROYED ||
			    (sb_errored(sb) && sb->desired == DS_DESTROYED)) {
				if (now - sb->updated_at >
				    EMU_DESTROYED_PURGE_MS) {
					purge(db, sb);
					i--;
				}
				continue;
			}
			if (sb->auto_destroy_at && now >= sb->auto_destroy_at &&
			    sb->desired != DS_DESTROYED) {
				log_debug("ttl expired %s", sb->id);
				delete_now(db, sb);
				continue;
			}
			if (sb->timer != TM_NONE || sb_pending(sb))
				continue;
			if (sb->state == ST_STARTED &&
			    sb->desired == DS_STARTED && sb->auto_stop > 0 &&
			    idle > (int64_t)sb->auto_stop * 60000) {
				log_debug("auto-stop %s", sb->id);
				emudb_stop(db, sb);
			} else if (sb->state == ST_STARTED &&
			           sb->desired == DS_STARTED &&
			           sb->auto_pause > 0 &&
			           sb_class_pausable(sb->sclass) &&
			           idle > (int64_t)sb->auto_pause * 60000) {
				log_debug("auto-pause %s", sb->id);
				emudb_pause(db, sb);
			} else if (sb->state == ST_STOPPED &&
			           sb->desired == DS_STOPPED &&
			           sb->auto_delete >= 0 &&
			           idle > (int64_t)sb->auto_delete * 60000) {
				log_debug("auto-delete %s", sb->id);
				delete_now(db, sb);
			} else if (sb->state == ST_STOPPED &&
			           sb->desired == DS_STOPPED &&
			           sb->auto_archive > 0 &&
			           idle > (int64_t)sb->auto_archive * 60000) {
				log_debug("auto-archive %s", sb->id);
				emudb_archive(db, sb);
			}
		}
	}
}

int
emudb_tick(struct emu_db *db, bool force_lifecycle)
{
	int64_t mono = time_mono_ms();
	int changed = 0;

	for (int i = 0; i < db->n_active;) {
		struct sandbox *sb = db->active[i];

		if (sb->timer_due <= mono) {
			fire(db, sb);
			changed++;
			/* fire may have removed sb from the array */
			if (i < db->n_active && db->active[i] == sb)
				i++;
		} else {
			i++;
		}
	}
	if (force_lifecycle ||
	    mono - db->last_scan_mono >= EMU_LIFECYCLE_SCAN_MS) {
		db->last_scan_mono = mono;
		lifecycle(db);
		if (db->any_dirty)
			emudb_flush(db);
	}
	return changed;
}

void
emudb_reset(struct emu_db *db)
{
	for (int oi = 0; oi < db->n_orgs; oi++) {
		struct org *o = db->orgs[oi];

		while (o->n > 0)
			purge(db, o->sbs[o->n - 1]);
	}
	emudb_flush(db);
}

/* --- list ------------------------------------------------------------- */

void
emudb_query_init(struct emudb_query *q)
{
	memset(q, 0, sizeof(*q));
	q->limit = EMU_LIST_LIMIT_DEFAULT;
	q->is_public = q->is_recoverable = -1;
	q->created_after = q->activity_after = INT64_MIN;
	q->created_before = q->activity_before = INT64_MAX;
	q->sort = SORT_LAST_ACTIVITY;
	q->desc = true;
}

void
emudb_query_clear(struct emudb_query *q)
{
	kvmap_clear(&q->labels);
	for (int i = 0; i < q->n_snapshots; i++)
		free(q->snapshots[i]);
	free(q->snapshots);
	for (int i = 0; i < q->n_regions; i++)
		free(q->regions[i]);
	free(q->regions);
	memset(q, 0, sizeof(*q));
}

static int64_t
sort_num(const struct sandbox *sb, enum list_sort k)
{
	switch (k) {
	case SORT_LAST_ACTIVITY:
		return sb->last_activity_at;
	case SORT_CREATED:
		return sb->created_at;
	case SORT_CPU:
		return sb->cpu;
	case SORT_MEMORY:
		return sb->memory;
	case SORT_DISK:
		return sb->disk;
	case SORT_NAME:
		break;
	}
	return 0;
}

static _Thread_local enum list_sort cmp_key;

static int
cmp_sb(const void *a, const void *b)
{
	const struct sandbox *x = *(struct sandbox *const *)a;
	const struct sandbox *y = *(struct sandbox *const *)b;
	int c;

	if (cmp_key == SORT_NAME) {
		c = strcmp(x->name, y->name);
	} else {
		int64_t u = sort_num(x, cmp_key), v = sort_num(y, cmp_key);

		c = u < v ? -1 : u > v;
	}
	return c ? c : strcmp(x->id, y->id);
}

static struct sorted *
sorted_for(struct org *o, enum list_sort k)
{
	struct sorted *s = &o->sorted[k];

	if (s->version == o->version && s->n == o->n)
		return s;
	s->v = xreallocarray(s->v, (size_t)o->n + 1, sizeof(*s->v));
	if (o->n > 0) /* o->sbs is NULL in an empty organization */
		memcpy(s->v, o->sbs, (size_t)o->n * sizeof(*s->v));
	s->n = o->n;
	cmp_key = k;
	qsort(s->v, (size_t)s->n, sizeof(*s->v), cmp_sb);
	s->version = o->version;
	return s;
}

static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void
base64_add(struct buf *out, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16;

		if (i + 1 < n)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		buf_addch(out, b64[(v >> 18) & 63]);
		buf_addch(out, b64[(v >> 12) & 63]);
		buf_addch(out, i + 1 < n ? b64[(v >> 6) & 63] : '=');
		buf_addch(out, i + 2 < n ? b64[v & 63] : '=');
	}
}

static int
base64_decode(const char *s, struct buf *out)
{
	unsigned v = 0;
	int bits = 0;

	for (; *s && *s != '='; s++) {
		const char *p = strchr(b64, *s);

		if (*s == '-')
			p = b64 + 62;
		else if (*s == '_')
			p = b64 + 63;
		if (!p)
			return -1;
		v = (v << 6) | (unsigned)(p - b64);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf_addch(out, (char)((v >> bits) & 0xff));
		}
	}
	return 0;
}

static void
cursor_add(struct buf *out, const struct sandbox *sb, enum list_sort k)
{
	struct buf j = BUF_INIT;

	buf_addstr(&j, "{\"sortValue\":");
	if (k == SORT_NAME)
		buf_add_json_string(&j, sb->name);
	else
		buf_addf(&j, "%" PRId64, sort_num(sb, k));
	buf_addf(&j, ",\"id\":\"%s\"}", sb->id);
	buf_addch(out, '"');
	base64_add(out, (const unsigned char *)j.data, j.len);
	buf_addch(out, '"');
	buf_free(&j);
}

static int
cursor_parse(const char *c, enum list_sort k, struct sandbox *probe)
{
	struct buf raw = BUF_INIT;
	cJSON *j = NULL, *sv, *id;
	int rc = -1;

	if (base64_decode(c, &raw) < 0)
		goto out;
	j = cJSON_ParseWithLength(buf_cstr(&raw), raw.len);
	if (!cJSON_IsObject(j))
		goto out;
	sv = cJSON_GetObjectItemCaseSensitive(j, "sortValue");
	id = cJSON_GetObjectItemCaseSensitive(j, "id");
	if (!cJSON_IsString(id) || strlen(id->valuestring) > 36)
		goto out;
	memcpy(probe->id, id->valuestring, strlen(id->valuestring) + 1);
	if (k == SORT_NAME) {
		if (!cJSON_IsString(sv))
			goto out;
		probe->name = xstrdup(sv->valuestring);
	} else {
		int64_t v;

		if (!cJSON_IsNumber(sv))
			goto out;
		v = (int64_t)sv->valuedouble;
		probe->last_activity_at = probe->created_at = v;
		probe->cpu = probe->memory = probe->disk = (int)v;
	}
	rc = 0;
out:
	cJSON_Delete(j);
	buf_free(&raw);
	return rc;
}

static bool
has_prefix_ci(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

static bool
in_list(char **v, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (s && strcmp(v[i], s) == 0)
			return true;
	return false;
}

static bool
matches(const struct sandbox *sb, const struct emudb_query *q, int64_t mono)
{
	if (sb->state == ST_DESTROYED)
		return false;
	if (sb->list_after > mono)
		return false; /* not yet in the (eventually consistent) index */
	if (!q->include_errored_deleted && sb_errored(sb) &&
	    sb->desired == DS_DESTROYED)
		return false;
	if (q->states && !(q->states & (1u << sb->state)))
		return false;
	if (q->id_prefix && !has_prefix_ci(sb->id, q->id_prefix))
		return false;
	if (q->name_prefix && !has_prefix_ci(sb->name, q->name_prefix))
		return false;
	if (q->has_labels && !kvmap_contains(&sb->labels, &q->labels))
		return false;
	if (q->n_snapshots &&
	    !in_list(q->snapshots, q->n_snapshots, sb->snapshot))
		return false;
	if (q->n_regions && !in_list(q->regions, q->n_regions, sb->target))
		return false;
	if (q->classes && !(q->classes & (1u << sb->sclass)))
		return false;
	if ((q->min_cpu && sb->cpu < q->min_cpu) ||
	    (q->max_cpu && sb->cpu > q->max_cpu) ||
	    (q->min_mem && sb->memory < q->min_mem) ||
	    (q->max_mem && sb->memory > q->max_mem) ||
	    (q->min_disk && sb->disk < q->min_disk) ||
	    (q->max_disk && sb->disk > q->max_disk))
		return false;
	if (q->is_public >= 0 && sb->public_ != (q->is_public == 1))
		return false;
	if (q->is_recoverable >= 0 &&
	    sb->recoverable != (q->is_recoverable == 1))
		return false;
	if (sb->created_at < q->created_after ||
	    sb->created_at > q->created_before ||
	    sb->last_activity_at < q->activity_after ||
	    sb->last_activity_at > q->activity_before)
		return false;
	return true;
}

int
emudb_list(struct emu_db *db, struct org *o, const struct emudb_query *q,
           struct buf *out)
{
	struct sorted *s = sorted_for(o, q->sort);
	struct sandbox probe;
	int i, step = q->desc ? -1 : 1, count = 0;
	int64_t mono = time_mono_ms();
	const struct sandbox *last = NULL;
	bool more = false;

	(void)db;
	memset(&probe, 0, sizeof(probe));
	if (q->cursor) {
		int lo = 0, hi = s->n;

		if (cursor_parse(q->cursor, q->sort, &probe) < 0) {
			free(probe.name);
			return -1;
		}
		/* first index whose element is > probe (ascending order) */
		cmp_key = q->sort;
		while (lo < hi) {
			int mid = lo + (hi - lo) / 2;
			const struct sandbox *pp = &probe;

			if (cmp_sb(&s->v[mid], &pp) <= 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (q->desc) {
			/* last index whose element is < probe */
			lo = 0;
			hi = s->n;
			while (lo < hi) {
				int mid = lo + (hi - lo) / 2;
				const struct sandbox *pp = &probe;

				if (cmp_sb(&s->v[mid], &pp) < 0)
					lo = mid + 1;
				else
					hi = mid;
			}
			i = lo - 1;
		} else {
			i = lo;
		}
		free(probe.name);
	} else {
		i = q->desc ? s->n - 1 : 0;
	}
	buf_addstr(out, "{\"items\":[");
	for (; i >= 0 && i < s->n; i += step) {
		if (!matches(s->v[i], q, mono))
			continue;
		if (count == q->limit) {
			more = true;
			break;
		}
		if (count++)
			buf_addch(out, ',');
		sandbox_to_json(s->v[i], SBJ_LIST, out);
		last = s->v[i];
	}
	buf_addstr(out, "],\"nextCursor\":");
	if (more && last)
		cursor_add(out, last, q->sort);
	else
		buf_addstr(out, "null");
	buf_addch(out, '}');
	return 0;
}

/* --- persistence ------------------------------------------------------ */

static int
sql_exec(sqlite3 *sql, const char *stmt)
{
	char *err = NULL;

	if (sqlite3_exec(sql, stmt, NULL, NULL, &err) != SQLITE_OK) {
		sf_error_set(SF_EIO, "state file: %s", err ? err : "error");
		sqlite3_free(err);
		return SF_EIO;
	}
	return 0;
}

/*
 * sql_private: create the state file with EMU_STATE_FILE_MODE before SQLite
 * opens it (whatever the umask; SQLite gives its -wal and -shm files the
 * same mode), or take group and other access away from an existing one:
 * the bodies it stores include env values, which are sandform's resolved
 * secrets once apply runs against the emulator.
 */
static int
sql_private(const char *path)
{
	struct stat sb;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, EMU_STATE_FILE_MODE);
	int rc = 0;

	if (fd < 0)
		return sf_error_set(SF_EIO, "%s: %s", path, strerror(errno));
	if (fstat(fd, &sb) != 0 ||
	    (S_ISREG(sb.st_mode) && (sb.st_mode & 077) != 0 &&
	     fchmod(fd, EMU_STATE_FILE_MODE) != 0))
		rc = sf_error_set(SF_EIO, "%s: %s", path, strerror(errno));
	close(fd);
	return rc;
}

static int
sql_open(struct emu_db *db)
{
	if (sql_private(db->opts.state_path) < 0)
		return SF_EIO;
	if (sqlite3_open(db->opts.state_path, &db->sql) != SQLITE_OK) {
		sf_error_set(SF_EIO, "%s: %s", db->opts.state_path,
		             sqlite3_errmsg(db->sql));
		return SF_EIO;
	}
	sqlite3_busy_timeout(db->sql, 5000);
	if (sql_exec(db->sql,
	             "PRAGMA journal_mode=WAL;"
	             "PRAGMA synchronous=NORMAL;"
	             "CREATE TABLE IF NOT EXISTS sandboxes ("
	             " id TEXT PRIMARY KEY, org_id TEXT NOT NULL,"
	             " body TEXT NOT NULL);"
	             "CREATE TABLE IF NOT EXISTS resources ("
	             " id TEXT PRIMARY KEY, kind TEXT NOT NULL,"
	             " org_id TEXT NOT NULL, body TEXT NOT NULL);") < 0)
		return SF_EIO;
	return 0;
}

int
emudb_load(struct emu_db *db)
{
	sqlite3_stmt *stmt = NULL;
	int rc = 0, n = 0;

	if (!db->sql)
		return 0;
	if (sqlite3_prepare_v2(db->sql, "SELECT org_id, body FROM sandboxes",
	                       -1, &stmt, NULL) != SQLITE_OK) {
		rc = sf_error_set(SF_EIO, "%s: %s", db->opts.state_path,
		                  sqlite3_errmsg(db->sql));
		goto out;
	}
	while (sqlite3_step(stmt) == SQLITE_ROW) {
		const char *oid = (const char *)sqlite3_column_text(stmt, 0);
		const char *body = (const char *)sqlite3_column_text(stmt, 1);
		struct org *o = oid ? org_by_id(db, oid) : NULL;
		cJSON *j;
		struct sandbox *sb;

		if (!o || !body)
			continue; /* another key's organization: kept */
		j = cJSON_Parse(body);
		sb = j ? sandbox_from_persist(j) : NULL;
		cJSON_Delete(j);
		if (!sb || htab_get(db->by_id, sb->id)) {
			sandbox_free(sb);
			continue;
		}
		index_add(db, o, sb);
		if (sb->timer != TM_NONE)
			set_timer(db, sb, sb->timer, sb->timer_phase, 0);
		n++;
	}
	log_info("loaded %d sandboxes from %s", n, db->opts.state_path);
out:
	sqlite3_finalize(stmt);
	return rc;
}

/* one statement with up to four text parameters, run to completion */
static int
sql_run(struct emu_db *db, const char *stmt, const char *const *args, int n)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;

	if (sqlite3_prepare_v2(db->sql, stmt, -1, &st, NULL) != SQLITE_OK)
		goto fail;
	for (int i = 0; i < n; i++)
		sqlite3_bind_text(st, i + 1, args[i], -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto fail;
	goto out;
fail:
	rc = sf_error_set(SF_EIO, "%s: %s", db->opts.state_path,
	                  sqlite3_errmsg(db->sql));
	log_error("%s", sf_error_last());
out:
	sqlite3_finalize(st);
	return rc;
}

int
emudb_res_put(struct emu_db *db, const char *kind, const char *id,
              const char *org_id, const char *body)
{
	const char *args[] = { id, kind, org_id, body };

	if (!db->sql)
		return 0;
	return sql_run(db,
	               /* an update keeps the rowid: the load order */
	               "INSERT INTO resources (id, kind, org_id, body) "
	               "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (id) DO UPDATE "
	               "SET body = excluded.body",
	               args, 4);
}

int
emudb_res_delete(struct emu_db *db, const char *id)
{
	const char *args[] = { id };

	if (!db->sql)
		return 0;
	return sql_run(db, "DELETE FROM resources WHERE id = ?1", args, 1);
}

int
emudb_res_load(struct emu_db *db,
               void (*fn)(void *arg, const char *kind, const char *org_id,
                          const char *body),
               void *arg)
{
	sqlite3_stmt *st = NULL;
	int rc = 0, n = 0;

	if (!db->sql)
		return 0;
	if (sqlite3_prepare_v2(db->sql,
	                       "SELECT kind, org_id, body FROM resources "
	                       "ORDER BY rowid",
	                       -1, &st, NULL) != SQLITE_OK) {
		rc = sf_error_set(SF_EIO, "%s: %s", db->opts.state_path,
		                  sqlite3_errmsg(db->sql));
		goto out;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *kind = (const char *)sqlite3_column_text(st, 0);
		const char *oid = (const char *)sqlite3_column_text(st, 1);
		const char *body = (const char *)sqlite3_column_text(st, 2);

		if (!kind || !oid || !body || !org_by_id(db, oid))
			continue; /* another key's organization: kept */
		fn(arg, kind, oid, body);
		n++;
	}
	log_info("loaded %d volumes, snapshots and secrets from %s", n,
	         db->opts.state_path);
out:
	sqlite3_finalize(st);
	return rc;
}

int
emudb_flush(struct emu_db *db)
{
	sqlite3_stmt *put = NULL, *del = NULL;
	struct buf b = BUF_INIT;
	int rc = 0;

	if (!db->sql) {
		db->any_dirty = false;
		return 0;
	}
	if (!db->any_dirty)
		return 0;
	if (sql_exec(db->sql, "BEGIN") < 0)
		return SF_EIO;
	if (sqlite3_prepare_v2(db->sql,
	                       "INSERT OR REPLACE INTO sandboxes (id, org_id, "
	                       "body) VALUES (?1, ?2, ?3)",
	                       -1, &put, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db->sql, "DELETE FROM sandboxes WHERE id = ?1",
	                       -1, &del, NULL) != SQLITE_OK) {
		rc = sf_error_set(SF_EIO, "%s: %s", db->opts.state_path,
		                  sqlite3_errmsg(db->sql));
		goto out;
	}
	for (int i = 0; i < db->n_deleted; i++) {
		sqlite3_bind_text(del, 1, db->deleted_ids[i], -1,
		                  SQLITE_STATIC);
		sqlite3_step(del);
		sqlite3_reset(del);
	}
	for (int oi = 0; oi < db->n_orgs; oi++) {
		struct org *o = db->orgs[oi];

		for (int i = 0; i < o->n; i++) {
			struct sandbox *sb = o->sbs[i];

			if (!sb->dirty)
				continue;
			buf_reset(&b);
			sandbox_to_json(sb, SBJ_PERSIST, &b);
			sqlite3_bind_text(put, 1, sb->id, -1, SQLITE_STATIC);
			sqlite3_bind_text(put, 2, sb->org_id, -1,
			                  SQLITE_STATIC);
			sqlite3_bind_text(put, 3, b.data, (int)b.len,
			                  SQLITE_STATIC);
			if (sqlite3_step(put) != SQLITE_DONE) {
				rc = sf_error_set(SF_EIO, "%s: %s",
				                  db->opts.state_path,
				                  sqlite3_errmsg(db->sql));
				goto out;
			}
			sqlite3_reset(put);
			sb->dirty = false;
		}
	}
out:
	sqlite3_finalize(put);
	sqlite3_finalize(del);
	buf_free(&b);
	if (rc == 0)
		rc = sql_exec(db->sql, "COMMIT");
	else
		sql_exec(db->sql, "ROLLBACK");
	if (rc == 0) {
		for (int i = 0; i < db->n_deleted; i++)
			free(db->deleted_ids[i]);
		db->n_deleted = 0;
		db->any_dirty = false;
	} else {
		log_error("%s", sf_error_last());
	}
	return rc;
}

/* --- lifetime --------------------------------------------------------- */

int
emudb_new(const struct emudb_opts *opts, struct emu_db **out)
{
	struct emu_db *db = xcalloc(1, sizeof(*db));
	int rc;

	db->opts = *opts;
	if (db->opts.time_scale <= 0)
		db->opts.time_scale = 1;
	pthread_mutex_init(&db->mu, NULL);
	db->by_key = htab_new();
	db->by_id = htab_new();
	db->by_name = htab_new();
	db->wall_base = time_now_ms();
	db->mono_base = time_mono_ms();
	db->last_scan_mono = db->mono_base;
	if (opts->state_path && (rc = sql_open(db)) < 0) {
		emudb_free(db);
		return rc;
	}
	*out = db;
	return 0;
}

void
emudb_free(struct emu_db *db)
{
	if (!db)
		return;
	if (db->sql) {
		emudb_flush(db);
		sqlite3_close(db->sql);
	}
	for (int oi = 0; oi < db->n_orgs; oi++) {
		struct org *o = db->orgs[oi];

		for (int i = 0; i < o->n; i++)
			sandbox_free(o->sbs[i]);
		free(o->sbs);
		for (int k = 0; k < N_SORTS; k++)
			free(o->sorted[k].v);
		free(o);
	}
	for (int i = 0; i < db->n_deleted; i++)
		free(db->deleted_ids[i]);
	free(db->deleted_ids);
	free(db->orgs);
	free(db->active);
	htab_free(db->by_key);
	htab_free(db->by_id);
	htab_free(db->by_name);
	pthread_mutex_destroy(&db->mu);
	free(db);
}

void
emudb_lock(struct emu_db *db)
{
	pthread_mutex_lock(&db->mu);
}

void
emudb_unlock(struct emu_db *db)
{
	pthread_mutex_unlock(&db->mu);
}
