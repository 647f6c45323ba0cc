/*
 * Unit tests for emulator/db.c: lookups by id and name, delete's rename,
 * transitions on the clock, the platform lifecycle, list pagination with
 * cursors, label containment and sorting, and SQLite persistence.
 */
#include "common/base.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "common/buf.h"
#include "common/hash.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "emulator/db.h"

static struct emu_db *
mkdb(const char *path)
{
	struct emudb_opts o = { 0 };
	struct emu_db *db;

	o.time_scale = 1;
	o.state_path = path;
	assert_int_equal(emudb_new(&o, &db), 0);
	return db;
}

static struct sandbox *
add(struct emu_db *db, struct org *o, const char *name, const char *label)
{
	struct sandbox *sb = sandbox_new();

	uuid_v4(sb->id);
	sb->name = xstrdup(name);
	sb->user = xstrdup("daytona");
	sb->target = xstrdup("us");
	sb->snapshot = xstrdup("daytona-small");
	sb->cpu = sb->memory = 1;
	sb->disk = 3;
	if (label)
		kvmap_set(&sb->labels, "team", label);
	emudb_insert(db, o, sb, true);
	return sb;
}

static void
test_find_and_delete(void **unused)
{
	struct emu_db *db = mkdb(NULL);
	struct org *o = emudb_org_add(db, "k1"), *o2 = emudb_org_add(db, "k2");
	struct sandbox *sb;
	char id[37];

	(void)unused;
	assert_ptr_not_equal(o, o2);
	assert_ptr_equal(emudb_org_by_key(db, "k1"), o);
	assert_null(emudb_org_by_key(db, "nope"));
	sb = add(db, o, "web", NULL);
	memcpy(id, sb->id, 37);
	assert_ptr_equal(emudb_find(db, o, "web"), sb);
	assert_ptr_equal(emudb_find(db, o, id), sb);
	assert_null(emudb_find(db, o, "WEB"));  /* names are case-sensitive */
	assert_null(emudb_find(db, o2, "web")); /* another organization */
	assert_null(emudb_find(db, o2, id));
	assert_true(emudb_name_taken(db, o, "web"));

	emudb_delete(db, sb);
	assert_non_null(strstr(sb->name, "DESTROYED_web_"));
	assert_null(emudb_find(db, o, "web"));
	assert_false(emudb_name_taken(db, o, "web"));
	assert_ptr_equal(emudb_find(db, o, id), sb); /* still destroying */
	emudb_tick(db, false);                       /* delete_ms is 0 */
	assert_int_equal(sb->state, ST_DESTROYED);
	assert_null(emudb_find(db, o, id));
	/* purged a day later on the emulated clock */
	emudb_advance(db, EMU_DESTROYED_PURGE_MS + 1000);
	emudb_tick(db, true);
	assert_null(emudb_find_any(db, id));
	emudb_free(db);
}

static void
test_transitions(void **unused)
{
	struct emu_db *db = mkdb(NULL);
	struct org *o = emudb_org_add(db, "k");
	struct sandbox *sb = sandbox_new();

	(void)unused;
	uuid_v4(sb->id);
	sb->name = xstrdup("t");
	emudb_insert(db, o, sb, false);
	assert_int_equal(sb_derived_state(sb, false), ST_CREATING);
	emudb_tick(db, false);
	assert_int_equal(sb->state, ST_CREATING);
	emudb_tick(db, false);
	assert_int_equal(sb->state, ST_STARTED);
	assert_string_not_equal(sb->runner_id, "");

	emudb_stop(db, sb);
	assert_int_equal(sb_derived_state(sb, false), ST_STOPPING);
	emudb_tick(db, false);
	assert_int_equal(sb->state, ST_STOPPED);
	emudb_archive(db, sb);
	assert_int_equal(sb->state, ST_ARCHIVING);
	emudb_tick(db, false);
	assert_int_equal(sb->state, ST_ARCHIVED);
	assert_string_equal(sb->runner_id, "");
	emudb_start(db, sb);
	assert_int_equal(sb_derived_state(sb, false), ST_ARCHIVED);
	assert_int_equal(sb_derived_state(sb, true), ST_RESTORING);
	emudb_tick(db, false);
	assert_int_equal(sb->state, ST_RESTORING);
	emudb_tick(db, false);
	assert_int_equal(sb->state, ST_STARTED);

	/* an ephemeral sandbox is deleted by stop */
	sb->auto_delete = 0;
	emudb_stop(db, sb);
	assert_int_equal(sb->desired, DS_DESTROYED);
	assert_non_null(strstr(sb->name, "DESTROYED_t_"));
	emudb_free(db);
}

static void
test_lifecycle(void **unused)
{
	struct emu_db *db = mkdb(NULL);
	struct org *o = emudb_org_add(db, "k");
	struct sandbox *a = add(db, o, "a", NULL), *b = add(db, o, "b", NULL);
	struct sandbox *c = add(db, o, "c", NULL);

	(void)unused;
	b->auto_stop = 0; /* never */
	c->auto_stop = 60;
	emudb_advance(db, 16 * 60000);
	emudb_tick(db, true);
	assert_int_equal(a->desired, DS_STOPPED);
	assert_int_equal(b->desired, DS_STARTED);
	assert_int_equal(c->desired, DS_STARTED);
	emudb_tick(db, false);
	assert_int_equal(a->state, ST_STOPPED);
	/* stopped + auto-archive (7 days) */
	emudb_advance(db, 10081LL * 60000);
	emudb_tick(db, true);
	assert_int_equal(a->state, ST_ARCHIVING);
	emudb_tick(db, false);
	assert_int_equal(a->state, ST_ARCHIVED);
	/* auto-delete of a stopped sandbox */
	emudb_stop(db, c);
	emudb_tick(db, false);
	c->auto_delete = 5;
	emudb_advance(db, 6 * 60000);
	emudb_tick(db, true);
	assert_int_equal(c->desired, DS_DESTROYED);
	emudb_free(db);
}

/* walk every page of a query; returns the ids in order */
static int
walk(struct emu_db *db, struct org *o, struct emudb_query *q, char ***ids)
{
	int n = 0, pages = 0;
	char *cursor = NULL;

	*ids = NULL;
	for (;;) {
		struct buf b = BUF_INIT;
		cJSON *j, *it, *next;

		q->cursor = cursor;
		assert_int_equal(emudb_list(db, o, q, &b), 0);
		j = cJSON_Parse(b.data);
		assert_non_null(j);
		cJSON_ArrayForEach(it, cJSON_GetObjectItem(j, "items"))
		{
			*ids = xreallocarray(*ids, (size_t)n + 1,
			                     sizeof(char *));
			(*ids)[n++] = xstrdup(
			        cJSON_GetObjectItem(it, "name")->valuestring);
		}
		next = cJSON_GetObjectItem(j, "nextCursor");
		free(cursor);
		cursor = cJSON_IsString(next) ? xstrdup(next->valuestring)
		                              : NULL;
		cJSON_Delete(j);
		buf_free(&b);
		pages++;
		assert_true(pages < 1000);
		if (!cursor)
			break;
	}
	return n;
}

static void
free_ids(char **ids, int n)
{
	for (int i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

static void
test_list(void **unused)
{
	struct emu_db *db = mkdb(NULL);
	struct org *o = emudb_org_add(db, "k");
	struct emudb_query q;
	char **ids, name[32];
	int n;

	(void)unused;
	for (int i = 0; i < 250; i++) {
		snprintf(name, sizeof(name), "sb-%03d", i);
		add(db, o, name, i % 2 ? "odd" : "even");
	}
	emudb_query_init(&q);
	q.sort = SORT_NAME;
	q.desc = false;
	q.limit = 7;
	n = walk(db, o, &q, &ids);
	assert_int_equal(n, 250);
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "sb-%03d", i);
		assert_string_equal(ids[i], name);
	}
	free_ids(ids, n);

	q.desc = true;
	q.limit = 200;
	kvmap_set(&q.labels, "team", "odd");
	q.has_labels = true;
	n = walk(db, o, &q, &ids);
	assert_int_equal(n, 125);
	assert_string_equal(ids[0], "sb-249");
	assert_string_equal(ids[124], "sb-001");
	free_ids(ids, n);

	q.name_prefix = "SB-10";
	n = walk(db, o, &q, &ids);
	assert_int_equal(n, 5); /* 101 103 105 107 109 */
	free_ids(ids, n);
	emudb_query_clear(&q);

	/* default sort (lastActivityAt desc) walks everything once */
	emudb_query_init(&q);
	q.limit = 33;
	n = walk(db, o, &q, &ids);
	assert_int_equal(n, 250);
	free_ids(ids, n);
	emudb_query_clear(&q);

	emudb_query_init(&q);
	q.cursor = "!!not base64!!";
	{
		struct buf b = BUF_INIT;

		assert_int_equal(emudb_list(db, o, &q, &b), -1);
		q.cursor = "eyJmb28iOjF9"; /* {"foo":1} */
		assert_int_equal(emudb_list(db, o, &q, &b), -1);
		buf_free(&b);
	}
	emudb_query_clear(&q);
	emudb_free(db);
}

static void
test_list_states(void **unused)
{
	struct emu_db *db = mkdb(NULL);
	struct org *o = emudb_org_add(db, "k");
	struct sandbox *a = add(db, o, "a", NULL), *b = add(db, o, "b", NULL);
	struct emudb_query q;
	char **ids;
	int n;

	(void)unused;
	emudb_set_state(db, b, ST_ERROR, -1);
	emudb_delete(db, b); /* errored + desired destroyed */
	emudb_stop(db, a);   /* raw started, shown stopping */
	emudb_query_init(&q);
	q.states = 1u << ST_STARTED;
	n = walk(db, o, &q, &ids);
	assert_int_equal(n, 1);
	free_ids(ids, n);
	q.states = 0;
	n = walk(db, o, &q, &ids);
	assert_int_equal(n, 1); /* the errored-deleted one is hidden */
	free_ids(ids, n);
	q.include_errored_deleted = true;
	n = walk(db, o, &q, &ids);
	assert_int_equal(n, 2);
	free_ids(ids, n);
	emudb_query_clear(&q);
	emudb_free(db);
}

static void
test_persistence(void **unused)
{
	char path[] = "/tmp/emu-db-XXXXXX";
	int fd = mkstemp(path);
	struct emu_db *db;
	struct org *o;
	struct sandbox *sb;
	char id[37];

	(void)unused;
	assert_true(fd >= 0);
	close(fd);
	unlink(path);
	db = mkdb(path);
	o = emudb_org_add(db, "k");
	sb = add(db, o, "keep", "x");
	memcpy(id, sb->id, 37);
	add(db, o, "gone", NULL);
	emudb_delete(db, emudb_find(db, o, "gone"));
	assert_int_equal(emudb_flush(db), 0);
	emudb_free(db);

	db = mkdb(path);
	emudb_org_add(db, "other"); /* not loaded: another key */
	o = emudb_org_add(db, "k");
	assert_int_equal(emudb_load(db), 0);
	sb = emudb_find(db, o, "keep");
	assert_non_null(sb);
	assert_string_equal(sb->id, id);
	assert_string_equal(kvmap_get(&sb->labels, "team"), "x");
	assert_int_equal(sb->state, ST_STARTED);
	assert_null(emudb_find(db, o, "gone"));
	emudb_free(db);
	unlink(path);
	{
		char *wal = xasprintf("%s-wal", path), *shm;

		shm = xasprintf("%s-shm", path);
		unlink(wal);
		unlink(shm);
		free(wal);
		free(shm);
	}
}

static void
test_usage_and_failures(void **unused)
{
	struct emu_db *db = mkdb(NULL);
	struct org *o = emudb_org_add(db, "k");
	struct sandbox *a = add(db, o, "a", NULL), *b = add(db, o, "b", NULL);
	struct sandbox *c = add(db, o, "c", NULL);
	int cpu, mem, disk;

	(void)unused;
	emudb_stop(db, b);
	emudb_tick(db, false); /* b stopped: disk only */
	emudb_set_state(db, c, ST_ERROR, -1);
	emudb_org_usage(db, o, NULL, &cpu, &mem, &disk);
	assert_int_equal(cpu, 1);
	assert_int_equal(mem, 1);
	assert_int_equal(disk, 6);
	emudb_org_usage(db, o, a, &cpu, &mem, &disk);
	assert_int_equal(cpu, 0);
	assert_int_equal(disk, 3);

	/* an injected failure ends the start in a recoverable error */
	b->will_fail = true;
	emudb_start(db, b);
	emudb_tick(db, false);
	assert_int_equal(b->state, ST_ERROR);
	assert_true(b->recoverable);
	assert_non_null(strstr(b->error_reason, "emulated"));
	assert_false(b->will_fail);
	emudb_free(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find_and_delete),
		cmocka_unit_test(test_transitions),
		cmocka_unit_test(test_lifecycle),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_list_states),
		cmocka_unit_test(test_persistence),
		cmocka_unit_test(test_usage_and_failures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
