/*
 * Unit tests for emulator/store.c: lookups by id and name, delete's rename,
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
#include "emulator/store.h"

static struct store *
mkstore(const char *path)
{
	struct store_opts o = { 0 };
	struct store *st;

	o.time_scale = 1;
	o.state_path = path;
	assert_int_equal(store_new(&o, &st), 0);
	return st;
}

static struct sandbox *
add(struct store *st, struct org *o, const char *name, const char *label)
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
	store_insert(st, o, sb, true);
	return sb;
}

static void
test_find_and_delete(void **unused)
{
	struct store *st = mkstore(NULL);
	struct org *o = store_org_add(st, "k1"), *o2 = store_org_add(st, "k2");
	struct sandbox *sb;
	char id[37];

	(void)unused;
	assert_ptr_not_equal(o, o2);
	assert_ptr_equal(store_org_by_key(st, "k1"), o);
	assert_null(store_org_by_key(st, "nope"));
	sb = add(st, o, "web", NULL);
	memcpy(id, sb->id, 37);
	assert_ptr_equal(store_find(st, o, "web"), sb);
	assert_ptr_equal(store_find(st, o, id), sb);
	assert_null(store_find(st, o, "WEB"));  /* names are case-sensitive */
	assert_null(store_find(st, o2, "web")); /* another organization */
	assert_null(store_find(st, o2, id));
	assert_true(store_name_taken(st, o, "web"));

	store_delete(st, sb);
	assert_non_null(strstr(sb->name, "DESTROYED_web_"));
	assert_null(store_find(st, o, "web"));
	assert_false(store_name_taken(st, o, "web"));
	assert_ptr_equal(store_find(st, o, id), sb); /* still destroying */
	store_tick(st, false);                       /* delete_ms is 0 */
	assert_int_equal(sb->state, ST_DESTROYED);
	assert_null(store_find(st, o, id));
	/* purged a day later on the emulated clock */
	store_advance(st, EMU_DESTROYED_PURGE_MS + 1000);
	store_tick(st, true);
	assert_null(store_find_any(st, id));
	store_free(st);
}

static void
test_transitions(void **unused)
{
	struct store *st = mkstore(NULL);
	struct org *o = store_org_add(st, "k");
	struct sandbox *sb = sandbox_new();

	(void)unused;
	uuid_v4(sb->id);
	sb->name = xstrdup("t");
	store_insert(st, o, sb, false);
	assert_int_equal(sb_derived_state(sb, false), ST_CREATING);
	store_tick(st, false);
	assert_int_equal(sb->state, ST_CREATING);
	store_tick(st, false);
	assert_int_equal(sb->state, ST_STARTED);
	assert_string_not_equal(sb->runner_id, "");

	store_stop(st, sb);
	assert_int_equal(sb_derived_state(sb, false), ST_STOPPING);
	store_tick(st, false);
	assert_int_equal(sb->state, ST_STOPPED);
	store_archive(st, sb);
	assert_int_equal(sb->state, ST_ARCHIVING);
	store_tick(st, false);
	assert_int_equal(sb->state, ST_ARCHIVED);
	assert_string_equal(sb->runner_id, "");
	store_start(st, sb);
	assert_int_equal(sb_derived_state(sb, false), ST_ARCHIVED);
	assert_int_equal(sb_derived_state(sb, true), ST_RESTORING);
	store_tick(st, false);
	assert_int_equal(sb->state, ST_RESTORING);
	store_tick(st, false);
	assert_int_equal(sb->state, ST_STARTED);

	/* an ephemeral sandbox is deleted by stop */
	sb->auto_delete = 0;
	store_stop(st, sb);
	assert_int_equal(sb->desired, DS_DESTROYED);
	assert_non_null(strstr(sb->name, "DESTROYED_t_"));
	store_free(st);
}

static void
test_lifecycle(void **unused)
{
	struct store *st = mkstore(NULL);
	struct org *o = store_org_add(st, "k");
	struct sandbox *a = add(st, o, "a", NULL), *b = add(st, o, "b", NULL);
	struct sandbox *c = add(st, o, "c", NULL);

	(void)unused;
	b->auto_stop = 0; /* never */
	c->auto_stop = 60;
	store_advance(st, 16 * 60000);
	store_tick(st, true);
	assert_int_equal(a->desired, DS_STOPPED);
	assert_int_equal(b->desired, DS_STARTED);
	assert_int_equal(c->desired, DS_STARTED);
	store_tick(st, false);
	assert_int_equal(a->state, ST_STOPPED);
	/* stopped + auto-archive (7 days) */
	store_advance(st, 10081LL * 60000);
	store_tick(st, true);
	assert_int_equal(a->state, ST_ARCHIVING);
	store_tick(st, false);
	assert_int_equal(a->state, ST_ARCHIVED);
	/* auto-delete of a stopped sandbox */
	store_stop(st, c);
	store_tick(st, false);
	c->auto_delete = 5;
	store_advance(st, 6 * 60000);
	store_tick(st, true);
	assert_int_equal(c->desired, DS_DESTROYED);
	store_free(st);
}

/* walk every page of a query; returns the ids in order */
static int
walk(struct store *st, struct org *o, struct list_query *q, char ***ids)
{
	int n = 0, pages = 0;
	char *cursor = NULL;

	*ids = NULL;
	for (;;) {
		struct buf b = BUF_INIT;
		cJSON *j, *it, *next;

		q->cursor = cursor;
		assert_int_equal(store_list(st, o, q, &b), 0);
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
	struct store *st = mkstore(NULL);
	struct org *o = store_org_add(st, "k");
	struct list_query q;
	char **ids, name[32];
	int n;

	(void)unused;
	for (int i = 0; i < 250; i++) {
		snprintf(name, sizeof(name), "sb-%03d", i);
		add(st, o, name, i % 2 ? "odd" : "even");
	}
	list_query_init(&q);
	q.sort = SORT_NAME;
	q.desc = false;
	q.limit = 7;
	n = walk(st, o, &q, &ids);
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
	n = walk(st, o, &q, &ids);
	assert_int_equal(n, 125);
	assert_string_equal(ids[0], "sb-249");
	assert_string_equal(ids[124], "sb-001");
	free_ids(ids, n);

	q.name_prefix = "SB-10";
	n = walk(st, o, &q, &ids);
	assert_int_equal(n, 5); /* 101 103 105 107 109 */
	free_ids(ids, n);
	list_query_clear(&q);

	/* default sort (lastActivityAt desc) walks everything once */
	list_query_init(&q);
	q.limit = 33;
	n = walk(st, o, &q, &ids);
	assert_int_equal(n, 250);
	free_ids(ids, n);
	list_query_clear(&q);

	list_query_init(&q);
	q.cursor = "!!not base64!!";
	{
		struct buf b = BUF_INIT;

		assert_int_equal(store_list(st, o, &q, &b), -1);
		q.cursor = "eyJmb28iOjF9"; /* {"foo":1} */
		assert_int_equal(store_list(st, o, &q, &b), -1);
		buf_free(&b);
	}
	list_query_clear(&q);
	store_free(st);
}

static void
test_list_states(void **unused)
{
	struct store *st = mkstore(NULL);
	struct org *o = store_org_add(st, "k");
	struct sandbox *a = add(st, o, "a", NULL), *b = add(st, o, "b", NULL);
	struct list_query q;
	char **ids;
	int n;

	(void)unused;
	store_set_state(st, b, ST_ERROR, -1);
	store_delete(st, b); /* errored + desired destroyed */
	store_stop(st, a);   /* raw started, shown stopping */
	list_query_init(&q);
	q.states = 1u << ST_STARTED;
	n = walk(st, o, &q, &ids);
	assert_int_equal(n, 1);
	free_ids(ids, n);
	q.states = 0;
	n = walk(st, o, &q, &ids);
	assert_int_equal(n, 1); /* the errored-deleted one is hidden */
	free_ids(ids, n);
	q.include_errored_deleted = true;
	n = walk(st, o, &q, &ids);
	assert_int_equal(n, 2);
	free_ids(ids, n);
	list_query_clear(&q);
	store_free(st);
}

static void
test_persistence(void **unused)
{
	char path[] = "/tmp/emu-store-XXXXXX";
	int fd = mkstemp(path);
	struct store *st;
	struct org *o;
	struct sandbox *sb;
	char id[37];

	(void)unused;
	assert_true(fd >= 0);
	close(fd);
	unlink(path);
	st = mkstore(path);
	o = store_org_add(st, "k");
	sb = add(st, o, "keep", "x");
	memcpy(id, sb->id, 37);
	add(st, o, "gone", NULL);
	store_delete(st, store_find(st, o, "gone"));
	assert_int_equal(store_flush(st), 0);
	store_free(st);

	st = mkstore(path);
	store_org_add(st, "other"); /* not loaded: another key */
	o = store_org_add(st, "k");
	assert_int_equal(store_load(st), 0);
	sb = store_find(st, o, "keep");
	assert_non_null(sb);
	assert_string_equal(sb->id, id);
	assert_string_equal(kvmap_get(&sb->labels, "team"), "x");
	assert_int_equal(sb->state, ST_STARTED);
	assert_null(store_find(st, o, "gone"));
	store_free(st);
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
	struct store *st = mkstore(NULL);
	struct org *o = store_org_add(st, "k");
	struct sandbox *a = add(st, o, "a", NULL), *b = add(st, o, "b", NULL);
	struct sandbox *c = add(st, o, "c", NULL);
	int cpu, mem, disk;

	(void)unused;
	store_stop(st, b);
	store_tick(st, false); /* b stopped: disk only */
	store_set_state(st, c, ST_ERROR, -1);
	store_org_usage(st, o, NULL, &cpu, &mem, &disk);
	assert_int_equal(cpu, 1);
	assert_int_equal(mem, 1);
	assert_int_equal(disk, 6);
	store_org_usage(st, o, a, &cpu, &mem, &disk);
	assert_int_equal(cpu, 0);
	assert_int_equal(disk, 3);

	/* an injected failure ends the start in a recoverable error */
	b->will_fail = true;
	store_start(st, b);
	store_tick(st, false);
	assert_int_equal(b->state, ST_ERROR);
	assert_true(b->recoverable);
	assert_non_null(strstr(b->error_reason, "emulated"));
	assert_false(b->will_fail);
	store_free(st);
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
