/*
 * Unit tests for daytona/: the Sandbox JSON mapping, states, key/value maps,
 * and the client against the fake transport (requests per route, error
 * mapping, retries, backoff, Retry-After, budgets, pagination, secrets).
 */
#include "common/base.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/fileutil.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "daytona/call.h"
#include "daytona/client.h"
#include "daytona/transport-fake.h"
#include "daytona/transport.h"
#include "tests/unit/rnd.h"

#define TEST_KEY "dtn_secret_KEY_0123456789abcdef"

static const char full_json[] =
        "{\"id\":\"0b3c2a5e-1111-4222-8333-944445555666\","
        "\"organizationId\":\"org-1\",\"name\":\"browser agent\","
        "\"target\":\"us\",\"snapshot\":null,\"user\":\"daytona\","
        "\"env\":{\"B\":\"2\",\"A\":\"1\"},"
        "\"labels\":{\"team\":\"agents\",\"sandform.dev/stack\":\"default\","
        "\"n\":7},"
        "\"public\":true,\"networkBlockAll\":false,"
        "\"networkAllowList\":\"10.0.0.0/8\",\"domainAllowList\":null,"
        "\"cpu\":2,\"gpu\":0,\"memory\":4,\"disk\":5,"
        "\"state\":\"pending_build\",\"desiredState\":\"started\","
        "\"errorReason\":null,\"recoverable\":false,"
        "\"autoStopInterval\":0,\"autoArchiveInterval\":1440,"
        "\"autoDeleteInterval\":-1,"
        "\"volumes\":[{\"volumeId\":\"v1\",\"mountPath\":\"/data\","
        "\"subpath\":\"team-a\"},{\"volumeId\":\"v2\",\"mountPath\":\"/x\"}],"
        "\"buildInfo\":{\"dockerfileContent\":\"FROM img:1\\n\","
        "\"snapshotRef\":\"daytona-abc:daytona\",\"contextHashes\":[]},"
        "\"createdAt\":\"2025-01-01T00:00:00.000Z\","
        "\"updatedAt\":\"2025-01-01T00:00:01.500Z\","
        "\"lastActivityAt\":null,\"sandboxClass\":\"container\","
        "\"toolboxProxyUrl\":\"https://proxy/toolbox\",\"extra\":[1,2]}";

static const char item_json[] =
        "{\"id\":\"id-1\",\"name\":\"one\",\"state\":\"started\","
        "\"desiredState\":\"started\",\"labels\":{}}";

struct fx {
	struct dt_fake *f;
	struct dt_client *c;
};

static struct dt_client *
make_client(struct dt_fake *f, int max_retries)
{
	struct dt_config cfg = DT_CONFIG_INIT;
	struct dt_client *c = NULL;

	cfg.api_key = TEST_KEY;
	cfg.base_url = "https://fake.test/api/";
	cfg.organization_id = "org-1";
	cfg.target = "eu";
	cfg.version = "9.9.9";
	cfg.max_retries = max_retries;
	cfg.transport = dt_fake_transport(f);
	cfg.clock = dt_fake_clock(f);
	assert_int_equal(dt_client_new(&cfg, &c), 0);
	return c;
}

static int
setup(void **state)
{
	struct fx *x = xcalloc(1, sizeof(*x));

	x->f = dt_fake_new();
	x->c = make_client(x->f, 0);
	*state = x;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *x = *state;

	dt_client_free(x->c);
	dt_fake_free(x->f);
	free(x);
	return 0;
}

static const struct dt_fake_req *
req(struct fx *x, size_t i)
{
	const struct dt_fake_req *r = dt_fake_request(x->f, i);

	assert_non_null(r);
	return r;
}

/* ---- JSON mapping ------------------------------------------------------ */

static void
test_sandbox_full(void **state)
{
	cJSON *j = cJSON_Parse(full_json);
	struct dt_sandbox *sb = NULL;

	(void)state;
	assert_int_equal(dt_sandbox_from_json(j, 1, &sb), 0);
	assert_string_equal(sb->id, "0b3c2a5e-1111-4222-8333-944445555666");
	assert_string_equal(sb->name, "browser agent");
	assert_string_equal(sb->organization_id, "org-1");
	assert_string_equal(sb->target, "us");
	assert_null(sb->snapshot);
	assert_string_equal(sb->user, "daytona");
	assert_int_equal(sb->env.n, 2);
	assert_string_equal(sb->env.v[0].key, "A");
	assert_string_equal(strmap_get(&sb->env, "B"), "2");
	assert_int_equal(sb->labels.n, 3);
	assert_string_equal(sb->labels.v[0].key, "n");
	assert_string_equal(strmap_get(&sb->labels, "n"), "7");
	assert_string_equal(strmap_get(&sb->labels, "sandform.dev/stack"),
	                    "default");
	assert_true(sb->is_public);
	assert_false(sb->network_block_all);
	assert_true(sb->present & DT_HAS_NETWORK_BLOCK_ALL);
	assert_string_equal(sb->network_allow_list, "10.0.0.0/8");
	assert_null(sb->domain_allow_list);
	assert_int_equal(sb->cpu, 2);
	assert_int_equal(sb->memory, 4);
	assert_int_equal(sb->disk, 5);
	assert_int_equal(sb->state, DT_STATE_PENDING_BUILD);
	assert_string_equal(sb->state_raw, "pending_build");
	assert_int_equal(sb->desired_state, DT_STATE_STARTED);
	assert_null(sb->error_reason);
	assert_int_equal(sb->auto_stop_interval, 0);
	assert_true(sb->present & DT_HAS_AUTO_STOP);
	assert_int_equal(sb->auto_archive_interval, 1440);
	assert_int_equal(sb->auto_delete_interval, -1);
	assert_int_equal(sb->n_volumes, 2);
	assert_string_equal(sb->volumes[0].subpath, "team-a");
	assert_null(sb->volumes[1].subpath);
	assert_string_equal(sb->dockerfile_content, "FROM img:1\n");
	assert_string_equal(sb->snapshot_ref, "daytona-abc:daytona");
	assert_int_equal(sb->created_at_ms, 1735689600000LL);
	assert_int_equal(sb->updated_at_ms, 1735689601500LL);
	assert_null(sb->last_activity_at);
	assert_int_equal(sb->last_activity_at_ms, 0);
	assert_string_equal(sb->sandbox_class, "container");
	assert_true(sb->is_full);
	dt_sandbox_free(sb);
	cJSON_Delete(j);
}

static void
test_sandbox_nulls(void **state)
{
	static const char *nulls =
	        "{\"id\":\"x\",\"name\":null,\"snapshot\":null,\"env\":null,"
	        "\"labels\":null,\"public\":null,\"cpu\":null,"
	        "\"state\":null,\"volumes\":null,\"buildInfo\":null,"
	        "\"autoStopInterval\":null,\"createdAt\":null}";
	cJSON *j = cJSON_Parse(nulls);
	cJSON *e = cJSON_Parse("{}");
	cJSON *bad = cJSON_Parse("{\"cpu\":\"two\"}");
	cJSON *arr = cJSON_Parse("[]");
	struct dt_sandbox *sb = NULL;

	(void)state;
	assert_int_equal(dt_sandbox_from_json(j, 1, &sb), 0);
	assert_string_equal(sb->id, "x");
	assert_null(sb->name);
	assert_int_equal(sb->labels.n, 0);
	assert_int_equal(sb->present, 0);
	assert_int_equal(sb->state, DT_STATE_NONE);
	assert_int_equal(sb->n_volumes, 0);
	dt_sandbox_free(sb);

	assert_int_equal(dt_sandbox_from_json(e, 0, &sb), 0);
	assert_null(sb->id);
	assert_int_equal(sb->present, 0);
	assert_false(sb->is_full);
	dt_sandbox_free(sb);

	assert_int_equal(dt_sandbox_from_json(bad, 1, &sb), SF_EINVALID);
	assert_null(sb);
	assert_non_null(strstr(sf_error_last(), "'cpu'"));
	assert_int_equal(dt_sandbox_from_json(arr, 1, &sb), SF_EINVALID);
	cJSON_Delete(j);
	cJSON_Delete(e);
	cJSON_Delete(bad);
	cJSON_Delete(arr);
}

/* The plain strings live in the sandbox's own allocation: a repeated key
 * counts once (the first), a bad string after maps were read frees them
 * (LeakSanitizer), dt_sandbox_set_str replaces an inline string and a
 * copied one alike, and a dup owns copies (ASAN: no double free). */
static void
test_sandbox_inline(void **state)
{
	cJSON *j = cJSON_Parse(
	        "{\"id\":\"first\",\"id\":\"second\",\"labels\":{\"a\":\"1\"},"
	        "\"name\":\"n\",\"updatedAt\":\"2026-01-02T03:04:05.000Z\","
	        "\"networkAllowList\":\"10.0.0.0/8\",\"env\":{\"K\":\"V\"}}");
	cJSON *bad = cJSON_Parse("{\"labels\":{\"a\":\"1\"},\"env\":{\"K\":"
	                         "\"V\"},\"volumes\":[{\"volumeId\":\"v\"}],"
	                         "\"name\":\"n\",\"target\":7}");
	struct dt_sandbox *sb = NULL, *d;

	(void)state;
	assert_int_equal(dt_sandbox_from_json(j, 1, &sb), 0);
	assert_string_equal(sb->id, "first");
	assert_string_equal(sb->name, "n");
	assert_true(sb->updated_at_ms > 0);
	assert_true(sb->inline_len > 0);
	dt_sandbox_set_str(sb, &sb->network_allow_list, "192.168.0.0/16");
	assert_string_equal(sb->network_allow_list, "192.168.0.0/16");
	dt_sandbox_set_str(sb, &sb->network_allow_list, "");
	dt_sandbox_set_str(sb, &sb->name, NULL);
	assert_null(sb->name);
	d = dt_sandbox_dup(sb);
	assert_int_equal(d->inline_len, 0);
	dt_sandbox_set_str(d, &d->id, "other");
	assert_string_equal(sb->id, "first");
	dt_sandbox_free(d);
	dt_sandbox_free(sb);

	sb = NULL;
	assert_int_equal(dt_sandbox_from_json(bad, 1, &sb), SF_EINVALID);
	assert_null(sb);
	assert_non_null(strstr(sf_error_last(), "'target'"));
	cJSON_Delete(j);
	cJSON_Delete(bad);
}

/* A string most sandboxes repeat (organization, snapshot, state...) is
 * one shared copy; when the bounded pool is full, copies are inline
 * again, and every sandbox still frees cleanly (ASAN). */
static void
test_sandbox_interned(void **state)
{
	struct dt_sandbox *a = NULL, *b = NULL, *v[5000];
	char text[256];
	cJSON *j;
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		j = cJSON_Parse(
		        "{\"id\":\"x\",\"name\":\"n\",\"organizationId\":"
		        "\"org-1\",\"snapshot\":\"s1\",\"state\":"
		        "\"started\"}");
		assert_int_equal(dt_sandbox_from_json(j, 0, i ? &b : &a), 0);
		cJSON_Delete(j);
	}
	assert_ptr_equal(a->organization_id, b->organization_id);
	assert_ptr_equal(a->snapshot, b->snapshot);
	assert_ptr_equal(a->state_raw, b->state_raw);
	assert_int_equal(a->state, DT_STATE_STARTED);
	assert_ptr_not_equal(a->id, b->id); /* not a shared field */
	assert_string_equal(b->snapshot, "s1");
	dt_sandbox_set_str(b, &b->snapshot, "s2"); /* the shared one stays */
	assert_string_equal(a->snapshot, "s1");
	assert_string_equal(b->snapshot, "s2");
	dt_sandbox_free(b);
	dt_sandbox_free(a);
	/* more distinct values than the pool holds */
	for (i = 0; i < 5000; i++) {
		snprintf(text, sizeof(text),
		         "{\"id\":\"i\",\"name\":\"n\",\"snapshot\":"
		         "\"snapshot-with-a-long-name-%04zu\"}",
		         i);
		j = cJSON_Parse(text);
		v[i] = NULL;
		assert_int_equal(dt_sandbox_from_json(j, 0, &v[i]), 0);
		cJSON_Delete(j);
	}
	for (i = 0; i < 5000; i++) {
		snprintf(text, sizeof(text), "snapshot-with-a-long-name-%04zu",
		         i);
		assert_string_equal(v[i]->snapshot, text);
	}
	assert_true(v[4999]->inline_len > strlen(text)); /* copied inline */
	for (i = 0; i < 5000; i++)
		dt_sandbox_free(v[i]);
}

static void
assert_same_json(const struct dt_sandbox *a, const struct dt_sandbox *b)
{
	cJSON *ja = dt_sandbox_to_json(a), *jb = dt_sandbox_to_json(b);

	assert_true(cJSON_Compare(ja, jb, 1));
	cJSON_Delete(ja);
	cJSON_Delete(jb);
}

static void
test_sandbox_roundtrip(void **state)
{
	cJSON *j = cJSON_Parse(full_json), *out;
	struct dt_sandbox *sb = NULL, *back = NULL, *dup;

	(void)state;
	assert_int_equal(dt_sandbox_from_json(j, 1, &sb), 0);
	out = dt_sandbox_to_json(sb);
	/* absent stays absent, null is dropped */
	assert_null(cJSON_GetObjectItem(out, "snapshot"));
	assert_null(cJSON_GetObjectItem(out, "lastActivityAt"));
	assert_int_equal(dt_sandbox_from_json(out, 1, &back), 0);
	assert_int_equal(back->present, sb->present);
	assert_same_json(sb, back);
	dup = dt_sandbox_dup(sb);
	assert_same_json(sb, dup);
	assert_ptr_not_equal(dup->labels.v, sb->labels.v);
	dt_sandbox_free(dup);
	dt_sandbox_free(back);
	dt_sandbox_free(sb);
	cJSON_Delete(out);
	cJSON_Delete(j);
}

/* dt_sandbox_print writes what cJSON prints for dt_sandbox_to_json (the
 * state compares the texts): escapes, volumes, buildInfo, env on or off,
 * network last; and a repeated key counts once, as cJSON's lookup did. */
static void
test_sandbox_print(void **state)
{
	static const char *const texts[] = {
		full_json,
		"{\"id\":\"x\",\"name\":"
		"\"q\\\"b\\\\s\\b\\f\\n\\r\\t\\u0001\\u00e9\","
		"\"labels\":{\"a\":\"1\",\"b\":2},\"cpu\":2.7,\"public\":true,"
		"\"volumes\":[{\"volumeId\":\"v\"},{\"mountPath\":\"/m\"}],"
		"\"buildInfo\":{\"snapshotRef\":\"r\"},\"networkBlockAll\":"
		"false,"
		"\"state\":\"started\",\"state\":\"stopped\"}",
		/* numbers: printed without printf, as cJSON prints them */
		"{\"id\":\"n\",\"autoDeleteInterval\":-1,\"autoStopInterval\":"
		"0,"
		"\"memory\":2147483647,\"gpu\":-2147483648,\"cpu\":1234567,"
		"\"disk\":-90}",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		cJSON *j = cJSON_Parse(texts[i]), *o;
		struct dt_sandbox *sb = NULL;
		struct buf b = BUF_INIT;
		char *want;

		assert_non_null(j);
		assert_int_equal(dt_sandbox_from_json(j, 1, &sb), 0);
		if (i == 1)
			assert_int_equal(sb->state, DT_STATE_STARTED);
		o = dt_sandbox_to_json(sb);
		want = cJSON_PrintUnformatted(o);
		dt_sandbox_print(sb, 0, &b);
		assert_string_equal(buf_cstr(&b), want);
		cJSON_free(want);
		/* the state's form: no env, the network settings last */
		cJSON_DeleteItemFromObjectCaseSensitive(o, "env");
		if (sb->present & DT_HAS_NETWORK_BLOCK_ALL) {
			cJSON_DeleteItemFromObjectCaseSensitive(
			        o, "networkBlockAll");
			cJSON_DeleteItemFromObjectCaseSensitive(
			        o, "networkAllowList");
			cJSON_DeleteItemFromObjectCaseSensitive(
			        o, "domainAllowList");
			cJSON_AddBoolToObject(o, "networkBlockAll",
			                      sb->network_block_all);
			cJSON_AddStringToObject(o, "networkAllowList",
			                        sb->network_allow_list
			                                ? sb->network_allow_list
			                                : "");
			cJSON_AddStringToObject(o, "domainAllowList",
			                        sb->domain_allow_list
			                                ? sb->domain_allow_list
			                                : "");
		}
		want = cJSON_PrintUnformatted(o);
		buf_reset(&b);
		dt_sandbox_print(sb, DT_PRINT_NO_ENV | DT_PRINT_NETWORK_LAST,
		                 &b);
		assert_string_equal(buf_cstr(&b), want);
		cJSON_free(want);
		buf_free(&b);
		cJSON_Delete(o);
		dt_sandbox_free(sb);
		cJSON_Delete(j);
	}
}

/* ---- a list page, scanned without a tree ----------------------------- */

/* ref_page: the page as cJSON reads it (what dt_list did before the
 * scanner): 0, 1 when the body is not a page, or an error. */
static int
ref_page(const char *body, size_t len, struct dt_page *out)
{
	cJSON *j = len > 0 ? cJSON_ParseWithLength(body, len) : NULL;
	cJSON *items = cJSON_GetObjectItemCaseSensitive(j, "items"), *e;
	cJSON *next = cJSON_GetObjectItemCaseSensitive(j, "nextCursor");
	int rc = cJSON_IsArray(items) ? 0 : 1;

	for (e = rc == 0 ? items->child : NULL; e != NULL; e = e->next) {
		struct dt_sandbox *sb;

		if ((rc = dt_sandbox_from_json(e, 0, &sb)) < 0)
			break;
		dt_sandbox_list_add(&out->items, sb);
	}
	if (rc == 0 && cJSON_IsString(next) && *next->valuestring)
		out->next_cursor = xstrdup(next->valuestring);
	cJSON_Delete(j);
	return rc;
}

/* same_page: a and b hold the same sandboxes and cursor */
static void
same_page(const struct dt_page *a, const struct dt_page *b)
{
	size_t i;

	assert_int_equal(a->items.n, b->items.n);
	if (a->next_cursor == NULL || b->next_cursor == NULL)
		assert_ptr_equal(a->next_cursor, b->next_cursor);
	else
		assert_string_equal(a->next_cursor, b->next_cursor);
	for (i = 0; i < a->items.n; i++) {
		const struct dt_sandbox *x = a->items.items[i];
		const struct dt_sandbox *y = b->items.items[i];
		struct buf bx = BUF_INIT, by = BUF_INIT;

		dt_sandbox_print(x, 0, &bx);
		dt_sandbox_print(y, 0, &by);
		assert_string_equal(buf_cstr(&bx), buf_cstr(&by));
		assert_int_equal(x->present, y->present);
		assert_int_equal(x->is_full, y->is_full);
		assert_int_equal(x->state, y->state);
		assert_int_equal(x->desired_state, y->desired_state);
		assert_true(x->created_at_ms == y->created_at_ms);
		assert_true(x->updated_at_ms == y->updated_at_ms);
		assert_true(x->last_activity_at_ms == y->last_activity_at_ms);
		buf_free(&bx);
		buf_free(&by);
	}
}

/*
 * check_scan: the scanner reads text as cJSON does, or gives up with an
 * empty page. Returns 1 when it read it.
 */
static int
check_scan(const char *text, size_t len)
{
	struct dt_page got = DT_PAGE_INIT, want = DT_PAGE_INIT;
	int rc = dt_page_scan(text, len, &got);

	if (rc == 0) {
		if (ref_page(text, len, &want) != 0)
			fail_msg("scanned what cJSON refuses: %.*s", (int)len,
			         text);
		same_page(&got, &want);
	} else {
		assert_int_equal(rc, 1);
		assert_int_equal(got.items.n, 0);
		assert_null(got.next_cursor);
	}
	dt_page_clear(&got);
	dt_page_clear(&want);
	return rc == 0;
}

static void
test_page_scan_cases(void **state)
{
	static const struct {
		const char *text;
		int scanned;
	} cases[] = {
		{ "{\"items\":[],\"nextCursor\":null}", 1 },
		{ "{\"items\":[]}", 1 },
		{ " \r\n{ \"items\" : [ { } ] , \"nextCursor\" : \"c2\" } x",
		  1 },
		{ "{\"nextCursor\":\"a\",\"nextCursor\":\"b\",\"items\":[]}",
		  1 },
		{ "{\"items\":[{\"id\":\"1\"}],\"items\":[]}", 1 },
		{ "{\"items\":[{\"id\":\"a\\\"b\\\\c\\/d\\n\",\"name\":\"n\","
		  "\"labels\":{\"k\":\"v\\t\",\"k\":\"w\",\"z\":null},"
		  "\"cpu\":4,\"memory\":-0,\"disk\":123456789012345,"
		  "\"public\":true,\"spot\":false,\"state\":\"started\","
		  "\"state\":\"stopped\",\"createdAt\":"
		  "\"2026-01-02T03:04:05.678Z\",\"extra\":{\"a\":[1,2.5e-3,"
		  "{\"b\":[true,false,null,\"\\n\"]}]},"
		  "\"volumes\":[{\"volumeId\":\"v\",\"mountPath\":\"/m\"}],"
		  "\"buildInfo\":{\"snapshotRef\":\"r\"},"
		  "\"outboundProxyUrl\":\"http://u:p@h:1\"}],"
		  "\"nextCursor\":\"\"}",
		  1 },
		/* the scanner gives up; cJSON decides */
		{ "{\"items\":[{\"name\":\"\\u00e9\"}]}", 0 },
		{ "{\"items\":[{\"labels\":{\"n\":1}}]}", 0 },
		{ "{\"items\":[{\"cpu\":1.5}]}", 0 },
		{ "{\"items\":[{\"cpu\":\"1\"}]}", 0 },
		{ "{\"items\":[{\"cpu\":1234567890123456}]}", 0 },
		{ "{\"items\":[{\"public\":1}]}", 0 },
		{ "{\"items\":[{\"name\":\"a\tb\"}]}", 0 },
		{ "{\"items\":[{\"volumes\":{}}]}", 0 },
		{ "{\"items\":[{\"id\":\"x\",}]}", 0 },
		{ "{\"items\":[{\"id\":\"x\"},]}", 0 },
		{ "{\"items\":[{\"x\":01}]}", 0 },
		{ "{\"items\":[{\"x\":\"\\q\"}]}", 0 },
		{ "{\"items\":null}", 0 },
		{ "{\"items\":[]", 0 },
		{ "{}", 0 },
		{ "[]", 0 },
		{ "", 0 },
		{ "\xef\xbb\xbf{\"items\":[]}", 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (check_scan(cases[i].text, strlen(cases[i].text)) !=
		    cases[i].scanned)
			fail_msg("case %zu: scanned should be %d", i,
			         cases[i].scanned);
	}
}

/* ---- random pages --------------------------------------------------- */

static void
rnd_ws(struct buf *b)
{
	static const char ws[] = " \t\r\n";

	while (rnd(4) == 0)
		buf_addch(b, ws[rnd(4)]);
}

static void
rnd_string(struct buf *b)
{
	/* pieces the scanner reads, whole words (times, states), and
	 * pieces it leaves to cJSON (a \u escape, a raw tab, a bad escape) */
	static const char *const plain[] = {
		"a",   "b",    "Z",        "0",   "-",   ":",   " ",
		"/",   "\\\"", "\\\\",     "\\/", "\\n", "\\t", "\\b",
		"\\f", "\\r",  "\xc3\xa9", "T",   ".",
	};
	static const char *const words[] = {
		"2026-01-02T03:04:05Z",
		"2026-01-02T03:04:05.123Z",
		"2026-13-02T03:04:05.1Z",
		"started",
		"stopped",
		"error",
	};
	static const char *const odd[] = { "\\u00e9", "\t", "\\x", "\\ud800" };
	unsigned n = rnd(6), i;

	buf_addch(b, '"');
	if (rnd(4) == 0)
		buf_addstr(b, words[rnd(sizeof(words) / sizeof(words[0]))]);
	else
		for (i = 0; i < n; i++)
			buf_addstr(b, rnd(40) == 0
			                      ? odd[rnd(4)]
			                      : plain[rnd(sizeof(plain) /
			                                  sizeof(plain[0]))]);
	buf_addch(b, '"');
}

static void rnd_value(struct buf *b, int depth, int kind);

/* the kinds a value is made as */
enum { V_ANY, V_STR, V_INT, V_BOOL, V_MAP, V_VOLUMES, V_BUILD };

static void
rnd_number(struct buf *b)
{
	static const char *const nums[] = {
		"0",
		"-0",
		"7",
		"-1",
		"1440",
		"2147483647",
		"-2147483648",
		"99999999999",
		"123456789012345",
		"1.5",
		"2e3",
		"-0.25E-2",
		"1234567890123456",
	};

	buf_addstr(b, nums[rnd(10) == 0 ? rnd(13) : rnd(9)]);
}

static void
rnd_object(struct buf *b, int depth, int values)
{
	unsigned n = rnd(4), i;

	buf_addch(b, '{');
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_addch(b, ',');
		rnd_ws(b);
		rnd_string(b);
		rnd_ws(b);
		buf_addch(b, ':');
		rnd_value(b, depth + 1, values);
	}
	rnd_ws(b);
	buf_addch(b, '}');
}

static void
rnd_value(struct buf *b, int depth, int kind)
{
	static const char *const lits[] = { "true", "false", "null" };

	rnd_ws(b);
	if (kind == V_ANY || rnd(40) == 0)
		kind = depth > 3 ? (int)rnd(3) + 1 : (int)rnd(6);
	switch (kind) {
	case V_STR:
		rnd_string(b);
		break;
	case V_INT:
		rnd_number(b);
		break;
	case V_BOOL:
		buf_addstr(b, lits[rnd(3)]);
		break;
	case V_MAP:
		/* label values: mostly strings */
		rnd_object(b, depth, rnd(30) == 0 ? V_ANY : V_STR);
		break;
	case V_VOLUMES:
		buf_addstr(b, "[{\"volumeId\":");
		rnd_string(b);
		buf_addstr(b, ",\"mountPath\":\"/m\"}]");
		break;
	case V_BUILD:
		buf_addstr(b, "{\"snapshotRef\":");
		rnd_string(b);
		buf_addch(b, '}');
		break;
	default: {
		unsigned n = rnd(3), i;

		if (rnd(2)) {
			rnd_object(b, depth, V_ANY);
			break;
		}
		buf_addch(b, '[');
		for (i = 0; i < n; i++) {
			if (i > 0)
				buf_addch(b, ',');
			rnd_value(b, depth + 1, V_ANY);
		}
		buf_addch(b, ']');
	}
	}
	rnd_ws(b);
}

static void
rnd_item(struct buf *b)
{
	static const struct {
		const char *key;
		int kind;
	} keys[] = {
		{ "id", V_STR },
		{ "name", V_STR },
		{ "organizationId", V_STR },
		{ "snapshot", V_STR },
		{ "user", V_STR },
		{ "state", V_STR },
		{ "desiredState", V_STR },
		{ "target", V_STR },
		{ "sandboxClass", V_STR },
		{ "errorReason", V_STR },
		{ "createdAt", V_STR },
		{ "updatedAt", V_STR },
		{ "lastActivityAt", V_STR },
		{ "labels", V_MAP },
		{ "env", V_MAP },
		{ "cpu", V_INT },
		{ "memory", V_INT },
		{ "autoStopInterval", V_INT },
		{ "autoDeleteInterval", V_INT },
		{ "public", V_BOOL },
		{ "recoverable", V_BOOL },
		{ "volumes", V_VOLUMES },
		{ "buildInfo", V_BUILD },
		{ "outboundProxyUrl", V_STR },
		{ "unknownField", V_ANY },
	};
	unsigned n = rnd(12), i;

	rnd_ws(b);
	buf_addch(b, '{');
	for (i = 0; i < n; i++) {
		unsigned k = rnd(sizeof(keys) / sizeof(keys[0]));

		if (i > 0)
			buf_addch(b, ',');
		rnd_ws(b);
		buf_add_json_string(b, keys[k].key);
		rnd_ws(b);
		buf_addch(b, ':');
		rnd_value(b, 1, keys[k].kind);
	}
	buf_addch(b, '}');
	rnd_ws(b);
}

static void
rnd_page(struct buf *b)
{
	unsigned n = rnd(5), i;

	rnd_ws(b);
	buf_addch(b, '{');
	if (rnd(4) == 0) {
		buf_addstr(b, "\"total\":");
		rnd_value(b, 1, V_ANY);
		buf_addch(b, ',');
	}
	buf_addstr(b, "\"items\":[");
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_addch(b, ',');
		rnd_item(b);
	}
	buf_addstr(b, "],\"nextCursor\":");
	rnd_value(b, 1, V_STR);
	buf_addch(b, '}');
}

/*
 * Random pages (and random damage to them): whatever the scanner reads,
 * cJSON reads to the same sandboxes; what it does not, it leaves to
 * cJSON. SF_SCAN_SEED picks another sequence.
 */
static void
test_page_scan_random(void **state)
{
	struct buf b = BUF_INIT;
	unsigned i, scanned = 0, cases = 4000;

	(void)state;
	rnd_seed("SF_SCAN_SEED", 88172645463325252ULL);
	for (i = 0; i < cases; i++) {
		buf_reset(&b);
		rnd_page(&b);
		if (i % 4 == 3 && b.len > 0) {
			/* damage: a byte changed, dropped, or the end cut */
			size_t at = rnd((unsigned)b.len);
			char *d = b.data;

			switch (rnd(3)) {
			case 0:
				d[at] = "{}[]\",:\\ 0an"[rnd(12)];
				break;
			case 1:
				memmove(d + at, d + at + 1, b.len - at - 1);
				buf_truncate(&b, b.len - 1);
				break;
			default:
				buf_truncate(&b, at);
			}
		}
		scanned += (unsigned)check_scan(b.data, b.len);
	}
	buf_free(&b);
	/* the usual pages must take the fast path, or it tests nothing */
	if (scanned < cases / 4)
		fail_msg("only %u of %u pages scanned", scanned, cases);
	print_message("scanned %u of %u random pages\n", scanned, cases);
}

/* dt_list reads a page the scanner gives up on as before (cJSON) */
static void
test_list_unscanned(void **state)
{
	struct fx *x = *state;
	struct dt_page p = DT_PAGE_INIT;

	dt_fake_push(x->f, 200, NULL,
	             "{\"items\":[{\"id\":\"1\",\"name\":\"\\u00e9\","
	             "\"labels\":{\"n\":1}}],\"nextCursor\":\"c\"}");
	assert_int_equal(dt_list(x->c, NULL, &p, NULL), 0);
	assert_int_equal(p.items.n, 1);
	assert_string_equal(p.items.items[0]->name, "\xc3\xa9");
	assert_string_equal(strmap_get(&p.items.items[0]->labels, "n"), "1");
	assert_string_equal(p.next_cursor, "c");
	dt_page_clear(&p);
	dt_fake_push(x->f, 200, NULL, "{\"items\":[{\"cpu\":\"x\"}]}");
	assert_int_equal(dt_list(x->c, NULL, &p, NULL), SF_EINVALID);
	assert_int_equal(p.items.n, 0);
	dt_fake_push(x->f, 200, NULL, "{\"items\":{}}");
	assert_true(dt_list(x->c, NULL, &p, NULL) < 0);
	dt_fake_push(x->f, 200, NULL,
	             "{\"items\":[{\"id\":\"2\",\"labels\":{\"a\":\"b\"}}]}");
	assert_int_equal(dt_list(x->c, NULL, &p, NULL), 0);
	assert_int_equal(p.items.n, 1);
	assert_string_equal(strmap_get(&p.items.items[0]->labels, "a"), "b");
	assert_null(p.next_cursor);
	dt_page_clear(&p);
}

static void
test_states(void **state)
{
	int i, n_stable = 0, n_error = 0, n_trans = 0;

	(void)state;
	for (i = 1; i < DT_STATE_COUNT; i++) {
		const char *name = dt_state_name((enum dt_state)i);
		int s = dt_state_is_stable((enum dt_state)i);
		int e = dt_state_is_error((enum dt_state)i);
		int t = dt_state_is_transitional((enum dt_state)i);

		assert_true(*name != '\0');
		assert_int_equal(dt_state_parse(name), i);
		assert_int_equal(s + e + t, 1);
		n_stable += s;
		n_error += e;
		n_trans += t;
	}
	assert_int_equal(DT_STATE_COUNT - 1, 22);
	assert_int_equal(n_stable, 5);
	assert_int_equal(n_error, 2);
	assert_int_equal(n_trans, 15);
	assert_true(dt_state_is_transitional(DT_STATE_UNKNOWN));
	assert_true(dt_state_is_error(DT_STATE_BUILD_FAILED));
	assert_int_equal(dt_state_parse("resized"), DT_STATE_NONE);
	assert_int_equal(dt_state_parse(NULL), DT_STATE_NONE);
	assert_false(dt_state_is_transitional(DT_STATE_NONE));
}

static void
push_sandbox(struct fx *x, int status)
{
	dt_fake_push(x->f, status, NULL, full_json);
}

static void
test_headers(void **state)
{
	struct fx *x = *state;
	struct dt_result r = DT_RESULT_INIT;
	const struct dt_fake_req *q;

	push_sandbox(x, 200);
	assert_int_equal(dt_get(x->c, "browser agent/1", &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.attempts, 1);
	assert_non_null(r.sandbox);
	assert_string_equal(r.sandbox->name, "browser agent");
	q = req(x, 0);
	assert_string_equal(q->method, "GET");
	assert_string_equal(
	        q->url, "https://fake.test/api/sandbox/browser%20agent%2F1");
	assert_non_null(
	        strstr(q->headers, "Authorization: Bearer " TEST_KEY "\n"));
	assert_non_null(strstr(q->headers, "User-Agent: sandform/9.9.9\n"));
	assert_non_null(strstr(q->headers, "X-Daytona-Source: sandform\n"));
	assert_non_null(strstr(q->headers, "X-Daytona-Organization-ID: "
	                                   "org-1\n"));
	assert_null(strstr(q->headers, "Content-Type"));
	assert_string_equal(q->body, "");
	dt_result_clear(&r);
	assert_null(r.sandbox);

	assert_int_equal(dt_get(x->c, "", &r), SF_EINVALID);
	assert_int_equal(dt_fake_n_requests(x->f), 1);
}

struct route_case {
	const char *method;
	const char *path;
	const char *body; /* NULL: not checked; "": none */
};

static void
check_req(struct fx *x, size_t i, const struct route_case *rc)
{
	const struct dt_fake_req *q = req(x, i);

	assert_string_equal(q->method, rc->method);
	assert_string_equal(q->path, rc->path);
	if (rc->body != NULL) {
		cJSON *want, *got;

		if (*rc->body == '\0') {
			assert_string_equal(q->body, "");
			return;
		}
		want = cJSON_Parse(rc->body);
		got = cJSON_Parse(q->body);
		assert_non_null(want);
		if (got == NULL || !cJSON_Compare(want, got, 1))
			fail_msg("body %s, want %s", q->body, rc->body);
		assert_non_null(
		        strstr(q->headers, "Content-Type: application/json\n"));
		cJSON_Delete(want);
		cJSON_Delete(got);
	}
}

static void
test_routes(void **state)
{
	static const struct route_case want[] = {
		{ "POST", "/api/sandbox/a/start", "" },
		{ "POST", "/api/sandbox/a/stop", "" },
		{ "POST", "/api/sandbox/a/stop?force=true", "" },
		{ "POST", "/api/sandbox/a/archive", "" },
		{ "DELETE", "/api/sandbox/a", "" },
		{ "POST", "/api/sandbox/a/recover", "" },
		{ "POST", "/api/sandbox/a/resize", "{\"cpu\":2,\"disk\":9}" },
		{ "PUT", "/api/sandbox/a/labels",
		  "{\"labels\":{\"k\":\"v\",\"sandform.dev/stack\":\"s\"}}" },
		{ "POST", "/api/sandbox/a/public/true", "" },
		{ "POST", "/api/sandbox/a/public/false", "" },
		{ "POST", "/api/sandbox/a/autostop/0", "" },
		{ "POST", "/api/sandbox/a/autoarchive/1440", "" },
		{ "POST", "/api/sandbox/a/autodelete/-1", "" },
		{ "POST", "/api/sandbox/a/network-settings",
		  "{\"networkBlockAll\":false,\"networkAllowList\":\"\"}" },
		{ "GET", "/api/config", "" },
	};
	struct fx *x = *state;
	struct dt_result r = DT_RESULT_INIT;
	struct strmap labels = STRMAP_INIT;
	struct dt_network net = { 1, 0, "", NULL };
	struct dt_server_config sc;
	size_t i;

	for (i = 0; i < 14; i++)
		push_sandbox(x, i % 2 ? 201 : 200);
	dt_fake_push(x->f, 200, NULL,
	             "{\"defaultSnapshot\":\"daytona-small\","
	             "\"maxAutoArchiveInterval\":43200}");
	strmap_set(&labels, "sandform.dev/stack", "s");
	strmap_set(&labels, "k", "v");
	assert_int_equal(dt_start(x->c, "a", &r), 0);
	assert_non_null(r.sandbox);
	assert_int_equal(dt_stop(x->c, "a", 0, &r), 0);
	assert_int_equal(r.status, 201);
	assert_int_equal(dt_stop(x->c, "a", 1, NULL), 0);
	assert_int_equal(dt_archive(x->c, "a", &r), 0);
	assert_int_equal(dt_delete(x->c, "a", &r), 0);
	assert_int_equal(dt_recover(x->c, "a", &r), 0);
	assert_int_equal(dt_resize(x->c, "a", 2, 0, 9, &r), 0);
	assert_int_equal(dt_set_labels(x->c, "a", &labels, &r), 0);
	assert_int_equal(dt_set_setting(x->c, "a", DT_SET_PUBLIC, 1, &r), 0);
	assert_int_equal(dt_set_setting(x->c, "a", DT_SET_PUBLIC, 0, &r), 0);
	assert_int_equal(dt_set_setting(x->c, "a", DT_SET_AUTO_STOP, 0, &r), 0);
	assert_int_equal(
	        dt_set_setting(x->c, "a", DT_SET_AUTO_ARCHIVE, 1440, &r), 0);
	assert_int_equal(dt_set_setting(x->c, "a", DT_SET_AUTO_DELETE, -1, &r),
	                 0);
	assert_int_equal(dt_set_network(x->c, "a", &net, &r), 0);
	assert_int_equal(dt_get_config(x->c, &sc, &r), 0);
	assert_string_equal(sc.default_snapshot, "daytona-small");
	assert_int_equal(sc.max_auto_archive_interval, 43200);
	dt_server_config_clear(&sc);
	assert_int_equal(dt_fake_n_requests(x->f), 15);
	for (i = 0; i < 15; i++)
		check_req(x, i, &want[i]);

	/* refused locally, nothing sent */
	assert_int_equal(dt_resize(x->c, "a", 0, 0, 0, &r), SF_EINVALID);
	net.has_block_all = 0;
	net.allow_list = NULL;
	assert_int_equal(dt_set_network(x->c, "a", &net, &r), SF_EINVALID);
	assert_int_equal(dt_start(x->c, NULL, &r), SF_EINVALID);
	assert_int_equal(dt_fake_n_requests(x->f), 15);
	dt_result_clear(&r);
	strmap_clear(&labels);
}

static void
test_create_body(void **state)
{
	struct fx *x = *state;
	struct dt_result r = DT_RESULT_INIT;
	struct strmap env = STRMAP_INIT, labels = STRMAP_INIT;
	struct dt_volume vols[1];
	struct dt_create cr;
	struct route_case want = {
		"POST", "/api/sandbox",
		"{\"name\":\"web 1\",\"buildInfo\":{\"dockerfileContent\":"
		"\"FROM whitezxj/sandbox:0.1.0\\n\"},\"user\":\"daytona\","
		"\"env\":{\"A\":\"1\"},\"labels\":{\"t\":\"x\"},"
		"\"public\":false,\"networkBlockAll\":true,"
		"\"target\":\"eu\",\"cpu\":2,\"memory\":4,\"disk\":5,"
		"\"autoStopInterval\":0,\"autoArchiveInterval\":0,"
		"\"autoDeleteInterval\":-1,\"volumes\":[{\"volumeId\":"
		"\"datasets\",\"mountPath\":\"/data\",\"subpath\":\"team-a\"}]}"
	};
	struct route_case want2 = { "POST", "/api/sandbox",
		                    "{\"snapshot\":\"daytona-small\","
		                    "\"target\":\"us\"}" };

	vols[0].volume_id = xstrdup("datasets");
	vols[0].mount_path = xstrdup("/data");
	vols[0].subpath = xstrdup("team-a");
	memset(&cr, 0, sizeof(cr));
	strmap_set(&env, "A", "1");
	strmap_set(&labels, "t", "x");
	cr.name = "web 1";
	cr.image = "whitezxj/sandbox:0.1.0";
	cr.snapshot = "ignored-with-image";
	cr.user = "daytona";
	cr.env = &env;
	cr.labels = &labels;
	cr.has_setting[DT_SET_PUBLIC] = 1;
	cr.has_network_block_all = 1;
	cr.network_block_all = 1;
	cr.cpu = 2;
	cr.memory = 4;
	cr.disk = 5;
	cr.has_setting[DT_SET_AUTO_STOP] = 1;
	cr.has_setting[DT_SET_AUTO_ARCHIVE] = 1;
	cr.has_setting[DT_SET_AUTO_DELETE] = 1;
	cr.setting[DT_SET_AUTO_DELETE] = -1;
	cr.volumes = vols;
	cr.n_volumes = 1;
	push_sandbox(x, 200);
	assert_int_equal(dt_create(x->c, &cr, &r), 0);
	assert_non_null(r.sandbox);
	check_req(x, 0, &want);

	memset(&cr, 0, sizeof(cr));
	cr.snapshot = "daytona-small";
	cr.target = "us";
	push_sandbox(x, 201);
	assert_int_equal(dt_create(x->c, &cr, &r), 0);
	check_req(x, 1, &want2);
	dt_result_clear(&r);
	free(vols[0].volume_id);
	free(vols[0].mount_path);
	free(vols[0].subpath);
	strmap_clear(&env);
	strmap_clear(&labels);
}

/* the 0.218 routes, create fields and sandbox fields (issue 14) */
static void
test_0218(void **state)
{
	static const struct route_case want[] = {
		{ "POST", "/api/sandbox/a/autopause/30", "" },
		{ "POST", "/api/sandbox/a/ttl/120", "" },
		{ "PUT", "/api/sandbox/a/secrets",
		  "{\"secrets\":[{\"HF\":\"hf-token\"},{\"OPENAI\":\"oa\"}]}" },
		{ "PUT", "/api/sandbox/a/secrets", "{\"secrets\":[]}" },
		{ "POST", "/api/sandbox/a/pause", "" },
		{ "POST", "/api/sandbox",
		  "{\"name\":\"g\",\"buildInfo\":{\"dockerfileContent\":"
		  "\"FROM cuda\\n\"},\"autoStopInterval\":0,"
		  "\"autoPauseInterval\":30,\"target\":\"eu\",\"gpu\":1,"
		  "\"ttlMinutes\":0,"
		  "\"spot\":true,\"kvm\":true,\"outboundProxyUrl\":"
		  "\"http://p:3128\",\"gpuType\":[\"H100\",\"B300\"],"
		  "\"secrets\":[{\"HF\":\"hf-token\"},{\"OPENAI\":\"oa\"}]}" },
	};
	static const char *const gpus[] = { "H100", "B300" };
	struct fx *x = *state;
	struct dt_result r = DT_RESULT_INIT;
	struct strmap secrets = STRMAP_INIT, none = STRMAP_INIT;
	struct dt_sandbox *sb = NULL, *back = NULL;
	struct dt_create cr;
	cJSON *j;
	char *text;
	int v;
	size_t i;

	strmap_set(&secrets, "OPENAI", "oa");
	strmap_set(&secrets, "HF", "hf-token");
	for (i = 0; i < 6; i++)
		push_sandbox(x, 200);
	assert_int_equal(dt_set_setting(x->c, "a", DT_SET_AUTO_PAUSE, 30, &r),
	                 0);
	assert_int_equal(dt_set_ttl(x->c, "a", 120, &r), 0);
	assert_int_equal(dt_set_secrets(x->c, "a", &secrets, &r), 0);
	assert_int_equal(dt_set_secrets(x->c, "a", &none, &r), 0);
	assert_int_equal(dt_pause(x->c, "a", &r), 0);
	memset(&cr, 0, sizeof(cr));
	cr.name = "g";
	cr.image = "cuda";
	cr.gpu = 1;
	cr.has_setting[DT_SET_AUTO_STOP] = 1;
	cr.has_setting[DT_SET_AUTO_PAUSE] = 1;
	cr.setting[DT_SET_AUTO_PAUSE] = 30;
	cr.has_ttl = 1;
	cr.spot = 1;
	cr.kvm = 1;
	cr.outbound_proxy_url = "http://p:3128";
	cr.gpu_types = gpus;
	cr.n_gpu_types = 2;
	cr.secrets = &secrets;
	assert_int_equal(dt_create(x->c, &cr, &r), 0);
	assert_int_equal(dt_fake_n_requests(x->f), 6);
	for (i = 0; i < 6; i++)
		check_req(x, i, &want[i]);
	dt_result_clear(&r);
	strmap_clear(&secrets);

	/* the Sandbox of 0.218: read, and written back as it came */
	j = cJSON_Parse("{\"id\":\"i\",\"name\":\"n\",\"sandboxClass\":"
	                "\"linux-vm\",\"spot\":true,\"kvm\":false,"
	                "\"gpuType\":\"H100\",\"autoPauseInterval\":45,"
	                "\"autoDestroyAt\":\"2026-12-05T12:00:00.000Z\","
	                "\"outboundProxyUrl\":\"http://p:3128\","
	                "\"state\":\"paused\",\"labels\":{}}");
	assert_int_equal(dt_sandbox_from_json(j, 1, &sb), 0);
	assert_string_equal(sb->sandbox_class, "linux-vm");
	assert_int_equal(sb->state, DT_STATE_PAUSED);
	assert_true(sb->spot && (sb->present & DT_HAS_SPOT));
	assert_true(!sb->kvm && (sb->present & DT_HAS_KVM));
	assert_string_equal(sb->auto_destroy_at, "2026-12-05T12:00:00.000Z");
	assert_string_equal(sb->outbound_proxy_url, "http://p:3128");
	assert_int_equal(dt_sandbox_setting(sb, DT_SET_AUTO_PAUSE, &v), 0);
	assert_int_equal(v, 45);
	cJSON_Delete(j);
	j = dt_sandbox_to_json(sb);
	assert_int_equal(dt_sandbox_from_json(j, 1, &back), 0);
	assert_string_equal(back->auto_destroy_at, sb->auto_destroy_at);
	assert_int_equal(back->present, sb->present);
	dt_sandbox_free(back);
	back = dt_sandbox_dup(sb);
	assert_string_equal(back->outbound_proxy_url, "http://p:3128");
	dt_sandbox_free(back);
	dt_sandbox_free(sb);
	cJSON_Delete(j);
	/* a proxy URL's credentials (set outside sandform) are masked as
	 * they are read: neither the state nor a plan can keep them */
	j = cJSON_Parse("{\"id\":\"i\",\"labels\":{},\"outboundProxyUrl\":"
	                "\"https://bob:pr0xyPw@p:3128/x\"}");
	assert_int_equal(dt_sandbox_from_json(j, 1, &sb), 0);
	assert_string_equal(sb->outbound_proxy_url, "https://***@p:3128/x");
	cJSON_Delete(j);
	j = dt_sandbox_to_json(sb);
	text = cJSON_PrintUnformatted(j);
	assert_null(strstr(text, "pr0xyPw"));
	cJSON_free(text);
	dt_sandbox_free(sb);
	cJSON_Delete(j);
	/* absent on an older server: no bit, no value */
	j = cJSON_Parse("{\"id\":\"i\",\"labels\":{}}");
	assert_int_equal(dt_sandbox_from_json(j, 0, &sb), 0);
	assert_int_equal(dt_sandbox_setting(sb, DT_SET_AUTO_PAUSE, &v), -1);
	assert_false(sb->present & (DT_HAS_SPOT | DT_HAS_KVM));
	assert_null(sb->auto_destroy_at);
	dt_sandbox_free(sb);
	cJSON_Delete(j);
}

/* ---- responses and errors ---------------------------------------------- */

static void
test_any_2xx(void **state)
{
	struct fx *x = *state;
	struct dt_result r = DT_RESULT_INIT;

	dt_fake_push(x->f, 204, NULL, NULL);
	assert_int_equal(dt_start(x->c, "a", &r), 0);
	assert_int_equal(r.status, 204);
	assert_null(r.sandbox);
	/* PUT labels may answer only {labels}: success, no sandbox */
	dt_fake_push(x->f, 200, NULL, "{\"labels\":{\"a\":\"b\"}}");
	assert_int_equal(dt_set_labels(x->c, "a", NULL, &r), 0);
	assert_null(r.sandbox);
	dt_fake_push(x->f, 299, NULL, "not json");
	assert_int_equal(dt_archive(x->c, "a", &r), 0);
	/* a GET needs a sandbox */
	dt_fake_push(x->f, 200, NULL, "not json");
	assert_int_equal(dt_get(x->c, "a", &r), SF_EINVALID);
	dt_fake_push(x->f, 200, NULL, "{\"nextCursor\":null}");
	{
		struct dt_page p = DT_PAGE_INIT;

		assert_int_equal(dt_list(x->c, NULL, &p, &r), SF_EINVALID);
		dt_page_clear(&p);
	}
	dt_result_clear(&r);
}

struct err_case {
	int status;
	const char *body;
	int code;
	const char *msg;
};

static void
test_error_mapping(void **state)
{
	static const struct err_case cases[] = {
		{ 404,
		  "{\"path\":\"/api/sandbox/x\",\"statusCode\":404,"
		  "\"error\":\"Not Found\",\"message\":\"Sandbox with ID or "
		  "name x not found\"}",
		  SF_ENOTFOUND,
		  "daytona: 404 Sandbox with ID or name x not found" },
		{ 409,
		  "{\"statusCode\":409,\"message\":\"Sandbox with name x "
		  "already exists\"}",
		  SF_EEXISTS,
		  "daytona: 409 Sandbox with name x already exists" },
		{ 409, "{\"message\":\"Sandbox state change in progress\"}",
		  SF_ECONFLICT,
		  "daytona: 409 Sandbox state change in progress" },
		{ 400,
		  "{\"message\":\"Sandbox failed to start: oom\","
		  "\"error\":\"Bad Request\"}",
		  SF_EINVALID, "daytona: 400 Sandbox failed to start: oom" },
		{ 400, "{\"message\":[\"cpu must be >= 0\",\"bad name\"]}",
		  SF_EINVALID, "daytona: 400 cpu must be >= 0, bad name" },
		{ 422, "{\"message\":\"Pausing is not supported\"}",
		  SF_EINVALID, "daytona: 422 Pausing is not supported" },
		{ 401, "{\"message\":\"Invalid credentials\"}", SF_EAUTH,
		  "daytona: 401 Invalid credentials; check DAYTONA_API_KEY (or "
		  "--api-key-file) and DAYTONA_API_URL "
		  "(https://fake.test/api)" },
		{ 403, "{\"message\":\"Access denied\"}", SF_EAUTH,
		  "daytona: 403 Access denied" },
		{ 429,
		  "{\"error\":\"Too Many Requests\",\"message\":"
		  "\"ThrottlerException: Too Many Requests\"}",
		  SF_ERATELIMIT,
		  "daytona: 429 ThrottlerException: Too Many Requests" },
		{ 503,
		  "{\"message\":\"Service is currently under maintenance\"}",
		  SF_ENET,
		  "daytona: 503 Service is currently under maintenance" },
		{ 500, "<html>oops</html>", SF_ENET,
		  "daytona: 500 (not the API's JSON: no Content-Type, 17 "
		  "bytes: '<html>oops</html>')" },
		{ 418, "{\"error\":\"I'm a teapot\"}", SF_ERROR,
		  "daytona: 418 I'm a teapot" },
	};
	struct dt_fake *f = dt_fake_new();
	struct dt_client *c = make_client(f, -1);
	struct dt_result r = DT_RESULT_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		dt_fake_push(f, cases[i].status, NULL, cases[i].body);
		assert_int_equal(dt_start(c, "x", &r), cases[i].code);
		assert_int_equal(r.status, cases[i].status);
		assert_null(r.sandbox);
		assert_string_equal(sf_error_last(), cases[i].msg);
	}
	assert_int_equal(dt_fake_n_requests(f), i);

	dt_fake_push_failure(f, DT_HTTP_CONNECT, "Connection refused");
	assert_int_equal(dt_get(c, "x", &r), SF_ENET);
	assert_int_equal(r.status, 0);
	assert_string_equal(sf_error_last(), "daytona: GET /sandbox/x: cannot "
	                                     "connect: Connection refused");
	dt_result_clear(&r);
	dt_client_free(c);
	dt_fake_free(f);
}

/* ---- retries ----------------------------------------------------------- */

static void
test_retry_idempotent(void **state)
{
	struct fx *x = *state;
	struct dt_result r = DT_RESULT_INIT;
	struct dt_server_config sc;
	struct dt_stats st;
	size_t i;

	dt_fake_push(x->f, 503, NULL, "{\"message\":\"maintenance\"}");
	dt_fake_push_failure(x->f, DT_HTTP_DROPPED, "Empty reply");
	dt_fake_push(x->f, 500, NULL, NULL);
	dt_fake_push_failure(x->f, DT_HTTP_TIMEOUT, "timeout");
	dt_fake_push(x->f, 429, NULL, NULL);
	push_sandbox(x, 200);
	assert_int_equal(dt_get(x->c, "a", &r), 0);
	assert_int_equal(r.attempts, 6);
	assert_int_equal(r.status, 200);
	assert_non_null(r.sandbox);
	dt_client_stats(x->c, &st);
	assert_int_equal(st.requests, 6);
	assert_int_equal(st.retries, 5);
	assert_int_equal(st.net_failures, 2);
	assert_int_equal(st.server_errors, 2);
	assert_int_equal(st.throttled, 1);
	assert_int_equal(dt_fake_n_sleeps(x->f), 5);

	/* the same for every safe write */
	for (i = 0; i < 5; i++) {
		dt_fake_push(x->f, 502, NULL, NULL);
		push_sandbox(x, 201);
	}
	dt_fake_push_failure(x->f, DT_HTTP_CONNECT, "refused");
	dt_fake_push(x->f, 200, NULL, "{\"defaultSnapshot\":\"s\"}");
	assert_int_equal(dt_set_labels(x->c, "a", NULL, &r), 0);
	assert_int_equal(r.attempts, 2);
	assert_int_equal(dt_set_setting(x->c, "a", DT_SET_PUBLIC, 1, &r), 0);
	assert_int_equal(dt_set_setting(x->c, "a", DT_SET_AUTO_STOP, 1, &r), 0);
	assert_int_equal(dt_set_setting(x->c, "a", DT_SET_AUTO_DELETE, 1, &r),
	                 0);
	assert_int_equal(dt_start(x->c, "a", &r), 0);
	assert_int_equal(r.attempts, 2);
	assert_int_equal(dt_get_config(x->c, &sc, &r), 0);
	assert_int_equal(r.attempts, 2);
	assert_string_equal(sc.default_snapshot, "s");
	dt_server_config_clear(&sc);

	/* retries are bounded: DT_MAX_RETRIES + 1 attempts */
	for (i = 0; i < DT_MAX_RETRIES + 3; i++)
		dt_fake_push(x->f, 500, NULL, "{\"message\":\"boom\"}");
	assert_int_equal(dt_get(x->c, "a", &r), SF_ENET);
	assert_int_equal(r.attempts, DT_MAX_RETRIES + 1);
	assert_string_equal(sf_error_last(), "daytona: 500 boom (after 6 "
	                                     "attempts)");
	assert_int_equal(dt_fake_pending(x->f), 2);
	dt_result_clear(&r);
}

static void
test_no_blind_retry(void **state)
{
	struct fx *x = *state;
	struct dt_result r = DT_RESULT_INIT;
	struct dt_create cr;
	size_t n = 0;

	memset(&cr, 0, sizeof(cr));
	cr.name = "a";
	dt_fake_push(x->f, 503, NULL, NULL);
	assert_int_equal(dt_create(x->c, &cr, &r), SF_ENET);
	assert_int_equal(r.attempts, 1);
	assert_int_equal(r.status, 503);
	assert_int_equal(dt_fake_n_requests(x->f), ++n);
	dt_fake_push_failure(x->f, DT_HTTP_TIMEOUT, "timed out");
	assert_int_equal(dt_create(x->c, &cr, &r), SF_ENET);
	assert_int_equal(dt_fake_n_requests(x->f), ++n);
	dt_fake_push_failure(x->f, DT_HTTP_DROPPED, "reset");
	assert_int_equal(dt_delete(x->c, "a", &r), SF_ENET);
	assert_int_equal(dt_fake_n_requests(x->f), ++n);
	dt_fake_push(x->f, 500, NULL, NULL);
	assert_int_equal(dt_delete(x->c, "a", &r), SF_ENET);
	assert_int_equal(dt_fake_n_requests(x->f), ++n);
	dt_fake_push(x->f, 502, NULL, NULL);
	assert_int_equal(dt_stop(x->c, "a", 0, &r), SF_ENET);
	assert_int_equal(dt_fake_n_requests(x->f), ++n);
	dt_fake_push(x->f, 502, NULL, NULL);
	assert_int_equal(dt_archive(x->c, "a", &r), SF_ENET);
	assert_int_equal(dt_fake_n_requests(x->f), ++n);
	dt_fake_push(x->f, 502, NULL, NULL);
	assert_int_equal(dt_recover(x->c, "a", &r), SF_ENET);
	assert_int_equal(dt_fake_n_requests(x->f), ++n);
	dt_fake_push(x->f, 502, NULL, NULL);
	assert_int_equal(dt_resize(x->c, "a", 1, 0, 0, &r), SF_ENET);
	assert_int_equal(dt_fake_n_requests(x->f), ++n);
	/* 4xx is never retried, on any route */
	dt_fake_push(x->f, 409, NULL, "{\"message\":\"in progress\"}");
	assert_int_equal(dt_get(x->c, "a", &r), SF_ECONFLICT);
	assert_int_equal(dt_fake_n_requests(x->f), ++n);
	assert_int_equal(dt_fake_n_sleeps(x->f), 0);
	/* 429 means the server did nothing: even create is repeated */
	dt_fake_push(x->f, 429, "Retry-After-sandbox-create: 2", NULL);
	push_sandbox(x, 200);
	assert_int_equal(dt_create(x->c, &cr, &r), 0);
	assert_int_equal(r.attempts, 2);
	assert_int_equal(dt_fake_n_requests(x->f), n + 2);
	dt_result_clear(&r);
}

static void
test_backoff_bounds(void **state)
{
	int retry, k;

	(void)state;
	for (retry = 1; retry <= 12; retry++) {
		int64_t d = 200LL << (retry - 1);

		if (d > 20000)
			d = 20000;
		for (k = 0; k < 50; k++) {
			int64_t w = dt_backoff_ms(retry, 200, 20000);

			assert_true(w >= d / 2);
			assert_true(w <= d);
		}
	}
	assert_true(dt_backoff_ms(40, 200, 20000) <= 20000);
}

static void
test_backoff_sleeps(void **state)
{
	struct fx *x = *state;
	struct dt_result r = DT_RESULT_INIT;
	int i;

	for (i = 0; i < 5; i++)
		dt_fake_push(x->f, 503, NULL, NULL);
	push_sandbox(x, 200);
	assert_int_equal(dt_get(x->c, "a", &r), 0);
	assert_int_equal(dt_fake_n_sleeps(x->f), 5);
	for (i = 0; i < 5; i++) {
		int64_t d = DT_BACKOFF_BASE_MS << i;
		int64_t w = dt_fake_sleep(x->f, (size_t)i);

		if (d > DT_BACKOFF_MAX_MS)
			d = DT_BACKOFF_MAX_MS;
		assert_true(w >= d / 2 && w <= d);
		/* each request went out after the previous sleep */
		assert_true(req(x, (size_t)i + 1)->at_ms -
		                    req(x, (size_t)i)->at_ms >=
		            w);
	}
	dt_result_clear(&r);
}

static void
test_retry_after(void **state)
{
	struct fx *x = *state;
	struct dt_result r = DT_RESULT_INIT;

	dt_fake_push(x->f, 429,
	             "Retry-After-authenticated: 7\n"
	             "X-RateLimit-Remaining-authenticated: 0\n"
	             "X-RateLimit-Reset-authenticated: 7",
	             NULL);
	push_sandbox(x, 200);
	assert_int_equal(dt_get(x->c, "a", &r), 0);
	assert_int_equal(dt_fake_slept_total(x->f), 7000);
	assert_int_equal(req(x, 1)->at_ms - req(x, 0)->at_ms, 7000);

	/* plain Retry-After (failed-auth middleware) */
	dt_fake_push(x->f, 429, "Retry-After: 3", NULL);
	push_sandbox(x, 200);
	assert_int_equal(dt_delete(x->c, "a", &r), 0);
	assert_int_equal(req(x, 3)->at_ms - req(x, 2)->at_ms, 3000);

	/* a huge Retry-After is capped */
	dt_fake_push(x->f, 429, "Retry-After-sandbox-lifecycle: 86400", NULL);
	push_sandbox(x, 200);
	assert_int_equal(dt_start(x->c, "a", &r), 0);
	assert_int_equal(req(x, 5)->at_ms - req(x, 4)->at_ms,
	                 DT_RETRY_AFTER_MAX_MS);

	dt_result_clear(&r);
}

static void
test_retry_after_blocks_bucket(void **state)
{
	struct dt_fake *f = dt_fake_new();
	struct dt_client *c = make_client(f, -1);
	struct dt_result r = DT_RESULT_INIT;

	(void)state;
	dt_fake_push(f, 429, "Retry-After-authenticated: 5", NULL);
	assert_int_equal(dt_get(c, "a", &r), SF_ERATELIMIT);
	/* the next call in that bucket waits out the block ... */
	dt_fake_push(f, 200, NULL, full_json);
	assert_int_equal(dt_get(c, "a", &r), 0);
	assert_int_equal(dt_fake_request(f, 1)->at_ms -
	                         dt_fake_request(f, 0)->at_ms,
	                 5000);
	/* ... but other buckets do not */
	dt_fake_push(f, 200, NULL, full_json);
	assert_int_equal(dt_stop(c, "a", 0, &r), 0);
	assert_int_equal(dt_fake_request(f, 2)->at_ms,
	                 dt_fake_request(f, 1)->at_ms);
	dt_result_clear(&r);
	dt_client_free(c);
	dt_fake_free(f);
}

static void
test_budget(void **state)
{
	struct fx *x = *state;
	struct dt_result r = DT_RESULT_INIT;
	struct dt_stats st;
	size_t i;
	int64_t t0;

	/* plenty left: no waiting */
	dt_fake_push(x->f, 200,
	             "X-RateLimit-Limit-authenticated: 100\n"
	             "X-RateLimit-Remaining-authenticated: 90\n"
	             "X-RateLimit-Reset-authenticated: 60",
	             full_json);
	for (i = 0; i < 5; i++)
		push_sandbox(x, 200);
	for (i = 0; i < 6; i++)
		assert_int_equal(dt_get(x->c, "a", &r), 0);
	assert_int_equal(dt_fake_n_sleeps(x->f), 0);

	/* 10 of 100 left with 60 s to go: spread, ~6 s apart */
	dt_fake_push(x->f, 200,
	             "X-RateLimit-Limit-authenticated: 100\n"
	             "X-RateLimit-Remaining-authenticated: 10\n"
	             "X-RateLimit-Reset-authenticated: 60",
	             full_json);
	assert_int_equal(dt_get(x->c, "a", &r), 0);
	t0 = dt_fake_now(x->f);
	for (i = 0; i < 10; i++)
		push_sandbox(x, 200);
	for (i = 0; i < 10; i++)
		assert_int_equal(dt_get(x->c, "a", &r), 0);
	/* all 10 fit in the window and none was a 429 */
	assert_true(dt_fake_now(x->f) - t0 <= 60000);
	assert_true(dt_fake_now(x->f) - t0 >= 50000);
	for (i = 8; i < 16; i++) {
		int64_t gap = req(x, i + 1)->at_ms - req(x, i)->at_ms;

		assert_true(gap >= 5000 && gap <= 6100);
	}
	dt_client_stats(x->c, &st);
	assert_true(st.paced >= 8);
	assert_int_equal(st.throttled, 0);

	/* nothing left: wait for the reset; other buckets are not slowed */
	dt_fake_push(x->f, 200,
	             "X-RateLimit-Remaining-sandbox-lifecycle: 0\n"
	             "X-RateLimit-Reset-sandbox-lifecycle: 30",
	             full_json);
	assert_int_equal(dt_start(x->c, "a", &r), 0);
	t0 = dt_fake_now(x->f);
	push_sandbox(x, 200);
	push_sandbox(x, 200);
	assert_int_equal(dt_create(x->c, &(struct dt_create){ 0 }, &r), 0);
	assert_int_equal(dt_fake_now(x->f), t0);
	assert_int_equal(dt_stop(x->c, "a", 0, &r), 0);
	assert_int_equal(dt_fake_now(x->f) - t0, 30000);
	dt_result_clear(&r);
}

static void
test_retry_after_503(void **state)
{
	struct fx *x = *state;
	struct dt_result r = DT_RESULT_INIT;

	dt_fake_push(x->f, 503, "Retry-After: 4",
	             "{\"message\":\"Service is currently under "
	             "maintenance. Please try again later.\"}");
	push_sandbox(x, 200);
	assert_int_equal(dt_get(x->c, "a", &r), 0);
	assert_int_equal(req(x, 1)->at_ms - req(x, 0)->at_ms, 4000);
	dt_result_clear(&r);
}

static void *
cancel_later(void *arg)
{
	time_sleep_ms(150);
	dt_client_cancel(arg);
	return NULL;
}

static void
test_cancel(void **state)
{
	struct dt_fake *f = dt_fake_new();
	struct dt_config cfg = DT_CONFIG_INIT;
	struct dt_client *c = NULL;
	struct dt_result r = DT_RESULT_INIT;
	pthread_t th;
	int64_t t0;

	(void)state;
	/* the real clock, so that the wait is really cut short */
	cfg.api_key = TEST_KEY;
	cfg.base_url = "https://fake.test/api";
	cfg.transport = dt_fake_transport(f);
	assert_int_equal(dt_client_new(&cfg, &c), 0);
	dt_fake_push(f, 429, "Retry-After-authenticated: 60", NULL);
	t0 = time_mono_ms();
	assert_int_equal(pthread_create(&th, NULL, cancel_later, c), 0);
	assert_int_equal(dt_get(c, "a", &r), SF_EINTR);
	assert_true(time_mono_ms() - t0 < 3000);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(dt_fake_n_requests(f), 1);
	/* later calls fail at once, sending nothing */
	assert_int_equal(dt_create(c, &(struct dt_create){ .name = "n" }, &r),
	                 SF_EINTR);
	assert_non_null(strstr(sf_error_last(), "interrupted"));
	assert_int_equal(dt_fake_n_requests(f), 1);
	dt_result_clear(&r);
	dt_client_free(c);
	dt_fake_free(f);
}

/* ---- lists ------------------------------------------------------------- */

static char *
page_json(int from, int n, const char *next)
{
	struct buf b = BUF_INIT;
	int i;

	buf_addstr(&b, "{\"items\":[");
	for (i = 0; i < n; i++)
		buf_addf(&b,
		         "%s{\"id\":\"id-%d\",\"name\":\"sb-%d\","
		         "\"state\":\"started\",\"labels\":{\"a\":\"b\"}}",
		         i ? "," : "", from + i, from + i);
	buf_addstr(&b, "],\"nextCursor\":");
	if (next)
		buf_add_json_string(&b, next);
	else
		buf_addstr(&b, "null");
	buf_addch(&b, '}');
	return buf_detach(&b, NULL);
}

static void
push_page(struct fx *x, int from, int n, const char *next)
{
	char *s = page_json(from, n, next);

	dt_fake_push(x->f, 200, NULL, s);
	free(s);
}

static void
test_list_query(void **state)
{
	struct fx *x = *state;
	struct strmap labels = STRMAP_INIT;
	enum dt_state states[] = { DT_STATE_STARTED, DT_STATE_BUILD_FAILED };
	struct dt_list_query q;
	struct dt_page p = DT_PAGE_INIT;
	struct dt_result r = DT_RESULT_INIT;

	memset(&q, 0, sizeof(q));
	strmap_set(&labels, "sandform.dev/stack", "my stack");
	q.labels = &labels;
	q.name_prefix = "web";
	q.states = states;
	q.n_states = 2;
	q.sort = "createdAt";
	q.order = "asc";
	q.limit = 500;
	q.cursor = "eyJ+/=";
	q.include_errored_deleted = 1;
	push_page(x, 0, 2, "c2");
	assert_int_equal(dt_list(x->c, &q, &p, &r), 0);
	assert_string_equal(
	        req(x, 0)->path,
	        "/api/sandbox?labels=%7B%22sandform.dev%2Fstack%22%3A%22my%"
	        "20stack%22%7D&name=web&states=started&states=build_failed&"
	        "includeErroredDeleted=true&sort=createdAt&order=asc&limit="
	        "200&cursor=eyJ%2B%2F%3D");
	assert_int_equal(p.items.n, 2);
	assert_false(p.items.items[0]->is_full);
	assert_string_equal(p.items.items[1]->name, "sb-1");
	assert_string_equal(p.next_cursor, "c2");
	dt_page_clear(&p);
	assert_null(p.next_cursor);
	{
		struct buf b = BUF_INIT;

		dt_url_escape(&b, "a~b c/é");
		assert_string_equal(buf_cstr(&b), "a~b%20c%2F%C3%A9");
		buf_free(&b);
	}
	strmap_clear(&labels);
	dt_result_clear(&r);
}

static int
stop_at(void *arg, struct dt_sandbox *sb)
{
	int *seen = arg;

	dt_sandbox_free(sb);
	return ++*seen == 5 ? 42 : 0;
}

static void
test_pagination(void **state)
{
	struct fx *x = *state;
	struct dt_sandbox_list all = DT_SANDBOX_LIST_INIT;
	struct dt_list_query q;
	size_t pages = 0;
	int seen = 0;

	memset(&q, 0, sizeof(q));
	q.sort = "createdAt";
	push_page(x, 0, 3, "c1");
	push_page(x, 3, 3, "c2");
	push_page(x, 6, 1, NULL);
	assert_int_equal(dt_list_all_into(x->c, &q, &all, &pages), 0);
	assert_int_equal(pages, 3);
	assert_int_equal(all.n, 7);
	assert_string_equal(all.items[6]->id, "id-6");
	assert_string_equal(req(x, 0)->path,
	                    "/api/sandbox?sort=createdAt&limit=200");
	assert_string_equal(req(x, 1)->path,
	                    "/api/sandbox?sort=createdAt&limit=200&cursor=c1");
	assert_string_equal(req(x, 2)->path,
	                    "/api/sandbox?sort=createdAt&limit=200&cursor=c2");
	dt_sandbox_list_free(&all);

	/* a failing page: nothing is appended */
	push_page(x, 0, 3, "c1");
	dt_fake_push(x->f, 400, NULL, "{\"message\":\"Invalid cursor\"}");
	assert_int_equal(dt_list_all_into(x->c, &q, &all, &pages), SF_EINVALID);
	assert_int_equal(all.n, 0);

	/* a cursor that does not advance */
	push_page(x, 0, 1, "same");
	push_page(x, 1, 1, "same");
	assert_int_equal(dt_list_all_into(x->c, &q, &all, &pages), SF_EINVALID);
	assert_non_null(strstr(sf_error_last(), "cursors loop"));
	dt_sandbox_list_free(&all);

	/* the callback can stop the walk */
	push_page(x, 0, 3, "c1");
	push_page(x, 3, 3, "c2");
	assert_int_equal(dt_list_all(x->c, &q, stop_at, &seen, &pages), 42);
	assert_int_equal(seen, 5);
	assert_int_equal(pages, 2);
}

/*
 * A server whose walk never ends costs pages, not memory (issue 9, item
 * 2): a new cursor with the same items, two cursors that alternate, a
 * page larger than asked for, and the page bound.
 */
static void
test_list_never_ends(void **state)
{
	struct fx *x = *state;
	struct dt_sandbox_list all = DT_SANDBOX_LIST_INIT;
	struct dt_list_query q;
	size_t pages = 0;
	char cur[32];
	int i;

	memset(&q, 0, sizeof(q));
	q.sort = "createdAt";
	/* new cursors, the same items */
	push_page(x, 0, 2, "a1");
	push_page(x, 0, 2, "a2");
	assert_int_equal(dt_list_all_into(x->c, &q, &all, &pages), SF_EINVALID);
	assert_non_null(strstr(sf_error_last(), "page 2 repeats sandbox"));
	assert_int_equal(pages, 2);
	assert_int_equal(all.n, 0);
	/* two cursors taking turns, with fresh items */
	push_page(x, 0, 1, "b1");
	push_page(x, 1, 1, "b2");
	push_page(x, 2, 1, "b1");
	assert_int_equal(dt_list_all_into(x->c, &q, &all, &pages), SF_EINVALID);
	assert_non_null(strstr(sf_error_last(), "page 3 gives a cursor"));
	/* more items than the limit asked for */
	q.limit = 2;
	push_page(x, 0, 3, NULL);
	assert_int_equal(dt_list_all_into(x->c, &q, &all, &pages), SF_EINVALID);
	assert_non_null(strstr(sf_error_last(), "more than the 2 asked for"));
	/* the page bound: fresh cursors and items forever */
	q.limit = 1;
	for (i = 0; i < DT_LIST_MAX_PAGES; i++) {
		snprintf(cur, sizeof(cur), "c%d", i);
		push_page(x, i, 1, cur);
	}
	assert_int_equal(dt_list_all_into(x->c, &q, &all, &pages), SF_EINVALID);
	assert_non_null(strstr(sf_error_last(), "never ends the walk"));
	assert_int_equal(pages, DT_LIST_MAX_PAGES);
	dt_sandbox_list_free(&all);
}

static void
test_hostile_responses(void **state)
{
	struct fx *x = *state;
	struct dt_page p = DT_PAGE_INIT;
	struct dt_result r = DT_RESULT_INIT;
	struct buf deep = BUF_INIT;
	char *huge;
	int i;

	/* truncated page, items of the wrong type, an item that is not an
	 * object, a field of the wrong type: refused, nothing half-filled */
	dt_fake_push(x->f, 200, NULL, "{\"items\":[{\"id\":\"a\"},{\"id\"");
	dt_fake_push(x->f, 200, NULL, "{\"items\":{\"id\":\"a\"}}");
	dt_fake_push(x->f, 200, NULL, "{\"items\":[{\"id\":\"a\"},7]}");
	dt_fake_push(x->f, 200, NULL,
	             "{\"items\":[{\"id\":\"a\",\"labels\":[]}]}");
	for (i = 0; i < 4; i++) {
		assert_int_equal(dt_list(x->c, NULL, &p, &r), SF_EINVALID);
		assert_int_equal(p.items.n, 0);
		assert_null(p.next_cursor);
	}
	/* absurd numbers are clamped, nested label values kept as text */
	dt_fake_push(x->f, 200, NULL,
	             "{\"id\":\"a\",\"cpu\":1e300,\"memory\":-1e300,"
	             "\"disk\":2.9,\"labels\":{\"o\":{\"x\":[1]},\"n\":null}}");
	assert_int_equal(dt_get(x->c, "a", &r), 0);
	assert_int_equal(r.sandbox->cpu, 2147483647);
	assert_int_equal(r.sandbox->memory, -2147483647 - 1);
	assert_int_equal(r.sandbox->disk, 2);
	assert_string_equal(strmap_get(&r.sandbox->labels, "o"), "{\"x\":[1]}");
	assert_null(strmap_get(&r.sandbox->labels, "n"));
	/* nesting deeper than cJSON allows is just not a sandbox */
	for (i = 0; i < 5000; i++)
		buf_addstr(&deep, "[");
	dt_fake_push(x->f, 200, NULL, buf_cstr(&deep));
	assert_int_equal(dt_get(x->c, "a", &r), SF_EINVALID);
	/* an error body that is huge or not JSON keeps a bounded message */
	huge = xmalloc(100000);
	memset(huge, 'x', 99999);
	huge[99999] = '\0';
	buf_reset(&deep);
	buf_addf(&deep, "{\"message\":\"%s\"}", huge);
	dt_fake_push(x->f, 400, NULL, buf_cstr(&deep));
	assert_int_equal(dt_start(x->c, "a", &r), SF_EINVALID);
	assert_true(strlen(sf_error_last()) < 4096);
	/* a body over DT_MAX_BODY is refused, not retried, not stored */
	free(huge);
	huge = xmalloc(DT_MAX_BODY + 2);
	memset(huge, ' ', DT_MAX_BODY + 1);
	huge[DT_MAX_BODY + 1] = '\0';
	dt_fake_push(x->f, 200, NULL, huge);
	assert_int_equal(dt_get(x->c, "a", &r), SF_ENET);
	assert_int_equal(r.attempts, 1);
	assert_non_null(strstr(sf_error_last(), "too large"));
	free(huge);
	buf_free(&deep);
	dt_page_clear(&p);
	dt_result_clear(&r);
}

/* ---- configuration and secrets ----------------------------------------- */

static void
test_config_env(void **state)
{
	char path[] = "/tmp/sf-keyXXXXXX";
	struct dt_config cfg = DT_CONFIG_INIT;
	struct dt_client *c = NULL;
	int fd;

	(void)state;
	unsetenv("DAYTONA_API_URL");
	unsetenv("DAYTONA_TARGET");
	unsetenv("DAYTONA_ORGANIZATION_ID");
	unsetenv("DAYTONA_API_KEY");
	assert_int_equal(dt_config_from_env(&cfg, NULL, NULL), SF_EAUTH);
	assert_int_equal(dt_client_new(&cfg, &c), SF_EAUTH);

	setenv("DAYTONA_API_KEY", "envkey", 1);
	assert_int_equal(dt_config_from_env(&cfg, NULL, NULL), 0);
	assert_string_equal(cfg.api_key, "envkey");
	assert_string_equal(cfg.base_url, "https://app.daytona.io/api");
	assert_null(cfg.target);
	assert_null(cfg.organization_id);
	dt_config_clear(&cfg);
	assert_null(cfg.api_key);

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "filekey\r\n\n", 10), 10);
	close(fd);
	setenv("DAYTONA_API_URL", "http://127.0.0.1:9/api", 1);
	setenv("DAYTONA_TARGET", "us", 1);
	setenv("DAYTONA_ORGANIZATION_ID", "org-9", 1);
	assert_int_equal(dt_config_from_env(&cfg, path, NULL), 0);
	assert_string_equal(cfg.api_key, "filekey");
	assert_string_equal(cfg.base_url, "http://127.0.0.1:9/api");
	assert_string_equal(cfg.target, "us");
	assert_string_equal(cfg.organization_id, "org-9");
	/* calling again replaces, no leak */
	assert_int_equal(dt_config_from_env(&cfg, path, NULL), 0);
	dt_config_clear(&cfg);

	assert_int_equal(truncate(path, 0), 0);
	assert_int_equal(dt_config_from_env(&cfg, path, NULL), SF_EINVALID);
	unlink(path);
	assert_true(dt_config_from_env(&cfg, path, NULL) < 0);

	setenv("DAYTONA_API_URL", "ftp://x/api", 1);
	assert_int_equal(dt_config_from_env(&cfg, NULL, NULL), SF_EINVALID);
	cfg.api_key = "a\nb";
	assert_int_equal(dt_client_new(&cfg, &c), SF_EINVALID);
	assert_null(c);
	unsetenv("DAYTONA_API_URL");
	unsetenv("DAYTONA_TARGET");
	unsetenv("DAYTONA_ORGANIZATION_ID");
	unsetenv("DAYTONA_API_KEY");
}

static void
test_key_never_logged(void **state)
{
	struct fx *x = *state;
	struct dt_result r = DT_RESULT_INIT;
	struct buf out = BUF_INIT;
	char path[] = "/tmp/sf-logXXXXXX";
	int fd, saved;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	log_set_level(LOG_TRACE);
	dt_fake_push(x->f, 401, NULL, "{\"message\":\"Invalid credentials\"}");
	assert_int_equal(dt_get(x->c, "a", &r), SF_EAUTH);
	assert_null(strstr(sf_error_last(), TEST_KEY));
	dt_fake_push_failure(x->f, DT_HTTP_CONNECT, "refused");
	assert_int_equal(dt_delete(x->c, "a", &r), SF_ENET);
	assert_null(strstr(sf_error_last(), TEST_KEY));
	push_sandbox(x, 200);
	assert_int_equal(
	        dt_create(x->c, &(struct dt_create){ .name = "n" }, &r), 0);
	log_set_level(LOG_WARN);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	assert_int_equal(file_read(path, 0, &out), 0);
	unlink(path);
	/* the log has the calls, not the key */
	assert_non_null(strstr(buf_cstr(&out), "GET /sandbox/a -> 401"));
	assert_non_null(strstr(buf_cstr(&out), "POST /sandbox -> 200"));
	assert_null(strstr(buf_cstr(&out), TEST_KEY));
	assert_null(strstr(buf_cstr(&out), "Bearer"));
	buf_free(&out);
	dt_result_clear(&r);
}

/*
 * echo_key: a server (or proxy) that repeats the Authorization header and
 * the bare key back: in the error message for a 400, in errorReason for a
 * 200 sandbox.
 */
static int
echo_key(void *arg, const struct dt_fake_req *r, struct dt_http_response *resp)
{
	const char *h = strstr(r->headers, "Authorization: ");
	const char *key = arg;
	char auth[256];
	size_t n;

	assert_non_null(h);
	h += strlen("Authorization: ");
	n = strcspn(h, "\n");
	assert_true(n < sizeof(auth));
	memcpy(auth, h, n);
	auth[n] = '\0';
	if (strcmp(r->method, "GET") == 0) {
		resp->status = 200;
		buf_addf(&resp->body,
		         "{\"id\":\"i\",\"name\":\"n\",\"state\":\"error\","
		         "\"errorReason\":\"token %s rejected (%s)\","
		         "\"labels\":{\"kind\":\"%s\"}}",
		         key, auth, key);
	} else {
		resp->status = 400;
		buf_addf(&resp->body,
		         "{\"message\":\"bad header: %s; key=%s; kind\"}", auth,
		         key);
	}
	return 0;
}

static void
test_key_redacted(void **state)
{
	struct fx *x = *state;
	struct dt_result r = DT_RESULT_INIT;
	struct dt_config cfg = DT_CONFIG_INIT;
	struct dt_client *c = NULL;

	/* a long key: "Bearer <key>" and the key itself become *** */
	dt_fake_set_handler(x->f, echo_key, (void *)TEST_KEY);
	assert_int_equal(dt_start(x->c, "a", &r), SF_EINVALID);
	assert_string_equal(sf_error_last(), "daytona: 400 bad header: ***; "
	                                     "key=***; kind");
	assert_int_equal(dt_get(x->c, "a", &r), 0);
	assert_string_equal(r.sandbox->error_reason,
	                    "token *** rejected (***)");
	assert_string_equal(strmap_get(&r.sandbox->labels, "kind"), "***");
	/* a transport error that quotes the header */
	dt_fake_set_handler(x->f, NULL, NULL);
	dt_fake_push_failure(x->f, DT_HTTP_DROPPED,
	                     "proxy said: Bearer " TEST_KEY " " TEST_KEY);
	assert_int_equal(dt_delete(x->c, "a", &r), SF_ENET);
	assert_string_equal(sf_error_last(), "daytona: DELETE /sandbox/a: "
	                                     "connection dropped: proxy said: "
	                                     "*** ***");
	dt_result_clear(&r);

	/* a short key is redacted after "Bearer " only, words stay whole */
	cfg.api_key = "kin";
	cfg.base_url = "https://fake.test/api";
	cfg.max_retries = -1;
	cfg.transport = dt_fake_transport(x->f);
	cfg.clock = dt_fake_clock(x->f);
	assert_int_equal(dt_client_new(&cfg, &c), 0);
	dt_fake_set_handler(x->f, echo_key, (void *)"kin");
	assert_int_equal(dt_start(c, "a", &r), SF_EINVALID);
	assert_string_equal(sf_error_last(), "daytona: 400 bad header: ***; "
	                                     "key=kin; kind");
	dt_result_clear(&r);
	dt_client_free(c);
}

/* plain_http_warnings: how many times two calls through a client for url
 * warn about plain http on stderr; *text gets the first warning line. */
static int
plain_http_warnings(const char *url, char *text, size_t size)
{
	struct dt_fake *f = dt_fake_new();
	struct dt_config cfg = DT_CONFIG_INIT;
	struct dt_client *c = NULL;
	struct dt_result r = DT_RESULT_INIT;
	struct buf out = BUF_INIT;
	char path[] = "/tmp/sf-warnXXXXXX";
	const char *p, *hit;
	int fd, saved, n = 0;

	cfg.api_key = TEST_KEY;
	cfg.base_url = url;
	cfg.transport = dt_fake_transport(f);
	cfg.clock = dt_fake_clock(f);
	assert_int_equal(dt_client_new(&cfg, &c), 0);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	dt_fake_push(f, 200, NULL, item_json);
	dt_fake_push(f, 200, NULL, item_json);
	assert_int_equal(dt_get(c, "a", &r), 0);
	assert_int_equal(dt_get(c, "b", &r), 0);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	assert_int_equal(file_read(path, 0, &out), 0);
	unlink(path);
	text[0] = '\0';
	for (p = buf_cstr(&out); (hit = strstr(p, "plain http")) != NULL;
	     p = hit + 1)
		n++;
	if (n > 0)
		snprintf(text, size, "%.*s", (int)strcspn(buf_cstr(&out), "\n"),
		         buf_cstr(&out));
	assert_null(strstr(buf_cstr(&out), TEST_KEY));
	buf_free(&out);
	dt_result_clear(&r);
	dt_client_free(c);
	dt_fake_free(f);
	return n;
}

static void
test_plain_http_warning(void **state)
{
	static const char *const quiet[] = {
		"https://example.com/api",  "http://127.0.0.1:3000/api",
		"http://127.9.8.7/api",     "http://localhost:3000/api",
		"HTTP://LocalHost/api",     "http://[::1]:3000/api",
		"http://u:p@127.0.0.1/api", "http://[::ffff:127.0.0.1]/api",
	};
	static const char *const loud[] = {
		"http://example.com/api",
		"http://127.0.0.1.example.com/api",
		"http://127.0.0.1@example.com:80/api",
		"http://10.0.0.1:3000",
		"http://[2001:db8::1]:3000/api",
	};
	char text[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++)
		if (plain_http_warnings(quiet[i], text, sizeof(text)) != 0)
			fail_msg("%s: unexpected warning: %s", quiet[i], text);
	for (i = 0; i < sizeof(loud) / sizeof(loud[0]); i++)
		if (plain_http_warnings(loud[i], text, sizeof(text)) != 1)
			fail_msg("%s: not warned exactly once", loud[i]);
	assert_int_equal(plain_http_warnings("http://u:secret@example.com/api",
	                                     text, sizeof(text)),
	                 1);
	assert_non_null(strstr(text, "warning: sending the daytona api key "
	                             "over plain http to 'example.com'"));
	assert_null(strstr(text, "secret"));
}

/* ---- threads ----------------------------------------------------------- */

static int
answer_sandbox(void *arg, const struct dt_fake_req *r,
               struct dt_http_response *resp)
{
	(void)arg;
	(void)r;
	resp->status = 200;
	dt_http_response_add_header(resp, "X-RateLimit-Remaining-authenticated",
	                            "1000");
	buf_addstr(&resp->body, item_json);
	return 0;
}

static void *
worker(void *arg)
{
	struct dt_client *c = arg;
	struct dt_result r = DT_RESULT_INIT;
	int i, bad = 0;

	for (i = 0; i < 50; i++) {
		if (dt_get(c, "one", &r) != 0 || r.sandbox == NULL ||
		    strcmp(r.sandbox->name, "one") != 0)
			bad++;
		dt_result_clear(&r);
	}
	return (void *)(intptr_t)bad;
}

static void
test_threads(void **state)
{
	struct fx *x = *state;
	pthread_t th[4];
	struct dt_stats st;
	void *ret;
	int i;

	dt_fake_set_handler(x->f, answer_sandbox, NULL);
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, worker, x->c), 0);
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], &ret), 0);
		assert_int_equal((intptr_t)ret, 0);
	}
	dt_client_stats(x->c, &st);
	assert_int_equal(st.requests, 200);
	assert_int_equal(dt_fake_n_requests(x->f), 200);
}

/* A limiter like Daytona's throttler: limit requests per window of the
 * fake clock, counted as each is handled; the answer then takes real time
 * to arrive, so parallel callers have requests the server has counted
 * and they have not heard of. */
struct limiter {
	pthread_mutex_t mu;
	struct dt_fake *f;
	int limit, count, n429;
	int64_t window_end;
};

static int
answer_limited(void *arg, const struct dt_fake_req *r,
               struct dt_http_response *resp)
{
	struct limiter *l = arg;
	int64_t now = dt_fake_now(l->f);
	char v[32];
	int over;

	(void)r;
	pthread_mutex_lock(&l->mu);
	if (now >= l->window_end) {
		l->window_end = now + 60000;
		l->count = 0;
	}
	over = l->count >= l->limit;
	l->count += !over;
	l->n429 += over;
	snprintf(v, sizeof(v), "%d", l->limit - l->count);
	dt_http_response_add_header(resp, "X-RateLimit-Remaining-authenticated",
	                            v);
	snprintf(v, sizeof(v), "%d", l->limit);
	dt_http_response_add_header(resp, "X-RateLimit-Limit-authenticated", v);
	snprintf(v, sizeof(v), "%lld",
	         (long long)((l->window_end - now + 999) / 1000));
	dt_http_response_add_header(resp, "X-RateLimit-Reset-authenticated", v);
	if (over)
		dt_http_response_add_header(resp, "Retry-After-authenticated",
		                            v);
	pthread_mutex_unlock(&l->mu);
	usleep(2000);
	resp->status = over ? 429 : 200;
	buf_addstr(&resp->body,
	           over ? "{\"message\":\"Too Many Requests\"}" : item_json);
	return 0;
}

static void *
worker10(void *arg)
{
	struct dt_client *c = arg;
	struct dt_result r = DT_RESULT_INIT;
	int i, bad = 0;

	for (i = 0; i < 10; i++) {
		bad += dt_get(c, "one", &r) != 0;
		dt_result_clear(&r);
	}
	return (void *)(intptr_t)bad;
}

/* Parallel callers never send more into a window than the server's last
 * count less their requests in flight: no 429 at the window's end. */
static void
test_budget_parallel(void **state)
{
	struct fx *x = *state;
	struct limiter l = { .f = x->f, .limit = 40 };
	pthread_t th[8];
	void *ret;
	int i;

	pthread_mutex_init(&l.mu, NULL);
	dt_fake_set_handler(x->f, answer_limited, &l);
	for (i = 0; i < 8; i++)
		assert_int_equal(pthread_create(&th[i], NULL, worker10, x->c),
		                 0);
	for (i = 0; i < 8; i++) {
		assert_int_equal(pthread_join(th[i], &ret), 0);
		assert_int_equal((intptr_t)ret, 0);
	}
	/* 80 calls over two windows of 40 */
	assert_int_equal(l.n429, 0);
	assert_int_equal(dt_fake_n_requests(x->f), 80);
	pthread_mutex_destroy(&l.mu);
}

/* ---- the libcurl transport, without a server ---------------------------- */

static void
test_curl_refused(void **state)
{
	struct dt_config cfg = DT_CONFIG_INIT;
	struct dt_client *c = NULL;
	struct dt_result r = DT_RESULT_INIT;
	struct dt_stats st;

	(void)state;
	cfg.api_key = TEST_KEY;
	cfg.base_url = "http://127.0.0.1:1/api";
	cfg.max_retries = -1;
	assert_int_equal(dt_client_new(&cfg, &c), 0);
	assert_int_equal(dt_get(c, "a", &r), SF_ENET);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(sf_error_last(), "cannot connect"));
	assert_null(strstr(sf_error_last(), TEST_KEY));
	dt_client_stats(c, &st);
	assert_int_equal(st.net_failures, 1);
	dt_client_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sandbox_full),
		cmocka_unit_test(test_sandbox_nulls),
		cmocka_unit_test(test_sandbox_inline),
		cmocka_unit_test(test_sandbox_interned),
		cmocka_unit_test(test_sandbox_roundtrip),
		cmocka_unit_test(test_sandbox_print),
		cmocka_unit_test(test_page_scan_cases),
		cmocka_unit_test(test_page_scan_random),
		cmocka_unit_test_setup_teardown(test_list_unscanned, setup,
		                                teardown),
		cmocka_unit_test(test_states),
		cmocka_unit_test_setup_teardown(test_headers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_routes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_body, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_0218, setup, teardown),
		cmocka_unit_test_setup_teardown(test_any_2xx, setup, teardown),
		cmocka_unit_test(test_error_mapping),
		cmocka_unit_test_setup_teardown(test_retry_idempotent, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_no_blind_retry, setup,
		                                teardown),
		cmocka_unit_test(test_backoff_bounds),
		cmocka_unit_test_setup_teardown(test_backoff_sleeps, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_retry_after, setup,
		                                teardown),
		cmocka_unit_test(test_retry_after_blocks_bucket),
		cmocka_unit_test_setup_teardown(test_retry_after_503, setup,
		                                teardown),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test_setup_teardown(test_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_query, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_list_never_ends, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_pagination, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_hostile_responses, setup,
		                                teardown),
		cmocka_unit_test(test_config_env),
		cmocka_unit_test_setup_teardown(test_key_never_logged, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_key_redacted, setup,
		                                teardown),
		cmocka_unit_test(test_plain_http_warning),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_budget_parallel, setup,
		                                teardown),
		cmocka_unit_test(test_curl_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
