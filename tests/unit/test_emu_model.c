/*
 * Unit tests for emulator/model.c: derived states (§5.3), the pending
 * invariant (§5.2), the precondition order of §13 and the validators of §7.
 */
#include "common/base.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "common/buf.h"
#include "common/xalloc.h"
#include "emulator/model.h"

static struct sandbox *
mk(enum sb_state s, enum sb_desired d)
{
	struct sandbox *sb = sandbox_new();

	sb->state = s;
	sb->desired = d;
	return sb;
}

static void
test_derived_states(void **unused)
{
	static const struct {
		enum sb_state raw;
		enum sb_desired desired;
		enum sb_state get, list;
	} rows[] = {
		{ ST_STARTED, DS_STOPPED, ST_STOPPING, ST_STOPPING },
		{ ST_STARTED, DS_DESTROYED, ST_DESTROYING, ST_DESTROYING },
		{ ST_STOPPED, DS_STARTED, ST_STARTING, ST_STARTING },
		{ ST_STOPPED, DS_DESTROYED, ST_DESTROYING, ST_DESTROYING },
		{ ST_STOPPED, DS_ARCHIVED, ST_ARCHIVING, ST_ARCHIVING },
		{ ST_UNKNOWN, DS_STARTED, ST_CREATING, ST_CREATING },
		{ ST_ARCHIVED, DS_STARTED, ST_ARCHIVED, ST_RESTORING },
		{ ST_STARTED, DS_STARTED, ST_STARTED, ST_STARTED },
		{ ST_ERROR, DS_STARTED, ST_ERROR, ST_ERROR },
		{ ST_PENDING_BUILD, DS_STARTED, ST_PENDING_BUILD,
		  ST_PENDING_BUILD },
		{ ST_ARCHIVING, DS_ARCHIVED, ST_ARCHIVING, ST_ARCHIVING },
	};

	(void)unused;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct sandbox *sb = mk(rows[i].raw, rows[i].desired);

		assert_int_equal(sb_derived_state(sb, false), rows[i].get);
		assert_int_equal(sb_derived_state(sb, true), rows[i].list);
		sandbox_free(sb);
	}
}

static void
test_pending(void **unused)
{
	struct sandbox *sb = mk(ST_STARTED, DS_STARTED);

	(void)unused;
	assert_false(sb_pending(sb));
	sb->desired = DS_STOPPED;
	assert_true(sb_pending(sb));
	sb->state = ST_ERROR;
	assert_false(sb_pending(sb)); /* errors are never pending */
	sb->state = ST_BUILD_FAILED;
	assert_false(sb_pending(sb));
	sb->state = ST_STOPPED;
	sb->desired = DS_ARCHIVED;
	assert_false(sb_pending(sb)); /* desired archived never pending */
	sb->state = ST_UNKNOWN;
	sb->desired = DS_STARTED;
	assert_true(sb_pending(sb));
	sandbox_free(sb);
}

static void
test_hidden(void **unused)
{
	struct sandbox *sb = mk(ST_DESTROYED, DS_DESTROYED);

	(void)unused;
	assert_true(sb_hidden(sb));
	sb->state = ST_ERROR;
	assert_true(sb_hidden(sb));
	sb->desired = DS_STARTED;
	assert_false(sb_hidden(sb));
	sb->state = ST_STARTED;
	sb->desired = DS_DESTROYED; /* destroying: still visible */
	assert_false(sb_hidden(sb));
	sandbox_free(sb);
}

struct check_row {
	enum sb_state s;
	enum sb_desired d;
	int auto_delete;
	enum sb_action act;
	int want;
	const char *msg;
};

static void
test_preconditions(void **unused)
{
	static const struct check_row rows[] = {
		/* start */
		{ ST_STARTED, DS_STARTED, -1, ACT_START, 1, NULL },
		{ ST_ERROR, DS_STARTED, -1, ACT_START, 400,
		  "Sandbox is in an errored state" },
		{ ST_BUILD_FAILED, DS_STARTED, -1, ACT_START, 400,
		  "Sandbox is in an errored state" },
		{ ST_STARTED, DS_STOPPED, -1, ACT_START, 409,
		  "Sandbox state change in progress" },
		{ ST_STOPPED, DS_STOPPED, -1, ACT_START, 0, NULL },
		{ ST_ARCHIVED, DS_ARCHIVED, -1, ACT_START, 0, NULL },
		{ ST_STOPPED, DS_ARCHIVED, -1, ACT_START, 0, NULL },
		{ ST_ARCHIVING, DS_ARCHIVED, -1, ACT_START, 0, NULL },
		{ ST_UNKNOWN, DS_STARTED, -1, ACT_START, 409,
		  "Sandbox state change in progress" },
		{ ST_ARCHIVED, DS_STARTED, -1, ACT_START, 409,
		  "Sandbox state change in progress" },
		{ ST_DESTROYING, DS_DESTROYED, -1, ACT_START, 409, NULL },
		/* stop */
		{ ST_STARTED, DS_STARTED, -1, ACT_STOP, 0, NULL },
		{ ST_STOPPED, DS_STOPPED, -1, ACT_STOP, 400,
		  "Sandbox is not in a stoppable state" },
		{ ST_ERROR, DS_STOPPED, -1, ACT_STOP, 400,
		  "Sandbox is in an errored state" },
		{ ST_STARTED, DS_STOPPED, -1, ACT_STOP, 409, NULL },
		{ ST_ARCHIVED, DS_ARCHIVED, -1, ACT_STOP, 400, NULL },
		{ ST_PAUSED, DS_PAUSED, -1, ACT_STOP, 0, NULL },
		/* archive */
		{ ST_STOPPED, DS_STOPPED, -1, ACT_ARCHIVE, 0, NULL },
		{ ST_STOPPED, DS_STOPPED, 0, ACT_ARCHIVE, 400,
		  "Ephemeral sandboxes cannot be archived" },
		{ ST_STARTED, DS_STARTED, -1, ACT_ARCHIVE, 400,
		  "Sandbox is not stopped" },
		{ ST_STOPPED, DS_STARTED, -1, ACT_ARCHIVE, 409, NULL },
		{ ST_ERROR, DS_STOPPED, -1, ACT_ARCHIVE, 400,
		  "Sandbox is in an errored state" },
		/* delete */
		{ ST_STARTED, DS_STARTED, -1, ACT_DELETE, 0, NULL },
		{ ST_PENDING_BUILD, DS_STARTED, -1, ACT_DELETE, 0, NULL },
		{ ST_ERROR, DS_STARTED, -1, ACT_DELETE, 0, NULL },
		{ ST_ARCHIVING, DS_ARCHIVED, -1, ACT_DELETE, 0, NULL },
		{ ST_UNKNOWN, DS_STARTED, -1, ACT_DELETE, 409,
		  "Sandbox state change in progress" },
		{ ST_STARTED, DS_STOPPED, -1, ACT_DELETE, 409, NULL },
		{ ST_DESTROYING, DS_DESTROYED, -1, ACT_DELETE, 409, NULL },
		/* resize */
		{ ST_STARTED, DS_STARTED, -1, ACT_RESIZE, 0, NULL },
		{ ST_STOPPED, DS_STOPPED, -1, ACT_RESIZE, 0, NULL },
		{ ST_ARCHIVED, DS_ARCHIVED, -1, ACT_RESIZE, 400,
		  "Sandbox must be in started or stopped state to resize" },
		{ ST_STARTED, DS_STOPPED, -1, ACT_RESIZE, 409, NULL },
	};

	(void)unused;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct sandbox *sb = mk(rows[i].s, rows[i].d);
		const char *msg;
		int got;

		sb->auto_delete = rows[i].auto_delete;
		got = sb_check(sb, rows[i].act, &msg);
		if (got != rows[i].want)
			fail_msg("row %zu: got %d want %d", i, got,
			         rows[i].want);
		if (rows[i].msg)
			assert_string_equal(msg, rows[i].msg);
		sandbox_free(sb);
	}
}

static void
test_recover(void **unused)
{
	struct sandbox *sb = mk(ST_ERROR, DS_STARTED);
	const char *msg;

	(void)unused;
	assert_int_equal(sb_check(sb, ACT_RECOVER, &msg), 400);
	assert_string_equal(msg, "Sandbox is not in a recoverable state");
	sb->recoverable = true;
	assert_int_equal(sb_check(sb, ACT_RECOVER, &msg), 0);
	sb->state = ST_STARTED;
	assert_int_equal(sb_check(sb, ACT_RECOVER, &msg), 400);
	assert_string_equal(msg, "Sandbox must be in error state to recover");
	sandbox_free(sb);
}

static void
test_names(void **unused)
{
	static const char *const good[] = { "web-1", "my sandbox", "a<1",
		                            "é-ü",   "tab\there",  "x.y" };
	static const char *const bad[] = { "<b>bold",        "</x",
		                           "go to http://x", "HTTPS://x",
		                           "www.example",    "javascript:x",
		                           "bell\a",         "mailto:me",
		                           "del\x7f" };
	const char *msg;

	(void)unused;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(emu_valid_name(good[i], &msg), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(emu_valid_name(bad[i], &msg), -1);
		assert_string_equal(msg, "name must not contain HTML tags, "
		                         "URLs, or control characters");
	}
}

/* the message of one allow-list entry, "" when it is valid */
static char *
entry_msg(int (*fn)(const char *, struct buf *), const char *s)
{
	static char out[512];
	struct buf b = BUF_INIT;

	out[0] = '\0';
	if (fn(s, &b) < 0)
		snprintf(out, sizeof(out), "%s", buf_cstr(&b));
	else
		assert_int_equal(b.len, 0);
	buf_free(&b);
	return out;
}

/* v0.190.0 network-validation.util.ts validateNetworkAllowList */
static void
test_cidr(void **unused)
{
	int (*fn)(const char *, struct buf *) = emu_valid_network_entry;

	(void)unused;
	assert_string_equal(entry_msg(fn, "10.0.0.0/8"), "");
	assert_string_equal(entry_msg(fn, "0.0.0.0/0"), "");
	assert_string_equal(entry_msg(fn, "255.255.255.255/32"), "");
	/* parseInt(): a prefix it reads as NaN, or a number then more */
	assert_string_equal(entry_msg(fn, "10.0.0.0/8x"), "");
	assert_string_equal(entry_msg(fn, "10.0.0.0/x"), "");
	assert_string_equal(entry_msg(fn, "10.0.0.0/8/9"), "");
	assert_string_equal(entry_msg(fn, "10.0.0.0"),
	                    "Invalid network format: \"10.0.0.0\". Missing "
	                    "CIDR prefix length (e.g., /24)");
	assert_string_equal(entry_msg(fn, "10.0.0.0/"),
	                    "Invalid network format: \"10.0.0.0/\". Missing "
	                    "CIDR prefix length (e.g., /24)");
	assert_string_equal(entry_msg(fn, "10.0.0.0/33"),
	                    "Invalid CIDR prefix length: 10.0.0.0/33. Prefix "
	                    "must be between 0 and 32");
	assert_string_equal(entry_msg(fn, "10.0.0.0/-1"),
	                    "Invalid CIDR prefix length: 10.0.0.0/-1. Prefix "
	                    "must be between 0 and 32");
	assert_string_equal(entry_msg(fn, "256.0.0.0/8"),
	                    "Invalid IP address: \"256.0.0.0\" in network "
	                    "\"256.0.0.0/8\". Must be a valid IPv4 address");
	/* net.isIPv4(): no leading zero, four parts */
	assert_string_equal(entry_msg(fn, "01.0.0.0/8"),
	                    "Invalid IP address: \"01.0.0.0\" in network "
	                    "\"01.0.0.0/8\". Must be a valid IPv4 address");
	assert_non_null(strstr(entry_msg(fn, "10.0.0/8"), "Invalid IP"));
	assert_non_null(strstr(entry_msg(fn, "::1/128"), "Invalid IP"));
	assert_non_null(strstr(entry_msg(fn, "1000.0.0.0/8"), "Invalid IP"));
}

/* v0.190.0 validateDomainAllowList; the rule is validate_domain() */
static void
test_domains(void **unused)
{
	int (*fn)(const char *, struct buf *) = emu_valid_domain_entry;

	(void)unused;
	assert_string_equal(entry_msg(fn, "example.com"), "");
	assert_string_equal(entry_msg(fn, "*.example.com"), "");
	assert_string_equal(entry_msg(fn, "a-b.c0.io"), "");
	assert_string_equal(entry_msg(fn, "a.io"), "");
	assert_string_equal(entry_msg(fn, "localhost"),
	                    "Invalid domain: \"localhost\". Must be a valid "
	                    "domain name");
	/* issue 14: the top-level label is two letters or more */
	assert_string_equal(entry_msg(fn, "example.123"),
	                    "Invalid domain: \"example.123\". Must be a valid "
	                    "domain name");
	assert_non_null(strstr(entry_msg(fn, "1.2.3.4"), "Invalid domain"));
	assert_non_null(strstr(entry_msg(fn, "a.b"), "Invalid domain"));
	assert_non_null(strstr(entry_msg(fn, "example.c0m"), "Invalid"));
	assert_non_null(strstr(entry_msg(fn, "-a.com"), "Invalid"));
	assert_non_null(strstr(entry_msg(fn, "a..com"), "Invalid"));
	assert_non_null(strstr(entry_msg(fn, "a.com."), "Invalid"));
	assert_non_null(strstr(entry_msg(fn, "*.*.com"), "Invalid"));
	assert_non_null(strstr(entry_msg(fn, "http://a.com"), "Invalid"));
}

static void
test_lists(void **unused)
{
	struct buf msg = BUF_INIT;
	const char *ten = "1.0.0.0/8,2.0.0.0/8,3.0.0.0/8,4.0.0.0/8,5.0.0.0/8,"
	                  "6.0.0.0/8,7.0.0.0/8,8.0.0.0/8,9.0.0.0/8,10.0.0.0/8";
	char *eleven = xasprintf("%s,11.0.0.0/8", ten);
	char *eleven_bad = xasprintf("nope,%s", ten);

	(void)unused;
	assert_int_equal(emu_valid_network_list("", &msg), 0);
	assert_int_equal(emu_valid_network_list("10.0.0.0/8, 1.2.3.4/32", &msg),
	                 0);
	assert_int_equal(emu_valid_network_list("10.0.0.0/8,nope", &msg), -1);
	assert_string_equal(buf_cstr(&msg),
	                    "Invalid IP address: \"nope\" in network "
	                    "\"nope\". Must be a valid IPv4 address");
	buf_reset(&msg);
	assert_int_equal(emu_valid_network_list(ten, &msg), 0);
	assert_int_equal(emu_valid_network_list(eleven, &msg), -1);
	assert_string_equal(buf_cstr(&msg),
	                    "Network allow list cannot contain more than 10 "
	                    "networks");
	/* the entries are checked before the count */
	buf_reset(&msg);
	assert_int_equal(emu_valid_network_list(eleven_bad, &msg), -1);
	assert_non_null(strstr(buf_cstr(&msg), "\"nope\""));
	buf_reset(&msg);
	assert_int_equal(emu_valid_domain_list("a.com,*.b.org", &msg), 0);
	/* empty entries are skipped, but counted */
	assert_int_equal(emu_valid_domain_list("a.com,,b.com", &msg), 0);
	assert_int_equal(emu_valid_domain_list("a.io,,,,,,,,,,b.io", &msg), -1);
	assert_string_equal(buf_cstr(&msg),
	                    "Domain allow list cannot contain more than 10 "
	                    "domains");
	buf_free(&msg);
	free(eleven);
	free(eleven_bad);
}

static void
test_mount_paths(void **unused)
{
	const char *msg;

	(void)unused;
	assert_int_equal(emu_valid_mount_path("/data", &msg), 0);
	assert_int_equal(emu_valid_mount_path("/home/daytona/x", &msg), 0);
	assert_int_equal(emu_valid_mount_path("data", &msg), -1);
	assert_int_equal(emu_valid_mount_path("/", &msg), -1);
	assert_int_equal(emu_valid_mount_path("/a//b", &msg), -1);
	assert_int_equal(emu_valid_mount_path("/a/../b", &msg), -1);
	assert_int_equal(emu_valid_mount_path("/a/.", &msg), -1);
	assert_int_equal(emu_valid_subpath("a/b", &msg), 0);
	assert_int_equal(emu_valid_subpath("./a", &msg), 0);
	assert_int_equal(emu_valid_subpath("/a", &msg), -1);
	assert_int_equal(emu_valid_subpath("a/../b", &msg), -1);
	assert_int_equal(emu_valid_subpath("a//b", &msg), -1);
}

/* Daytona's own wording, one message per reason, in its check order. */
static void
test_mount_path_messages(void **unused)
{
	static const struct {
		const char *path, *msg;
	} mount[] = {
		{ "data", "Volume mount path must be an absolute path" },
		{ "", "Volume mount path must be an absolute path" },
		{ "/", "Volume mount path cannot be the root directory" },
		{ "/a//b", "Volume mount path cannot contain consecutive "
		           "slashes" },
		{ "//", "Volume mount path cannot contain consecutive slashes" },
		{ "/a/./b",
		  "Volume mount path cannot contain '.' or '..' segments" },
		{ "/a/..", "Volume mount path cannot contain '.' or '..' "
		           "segments" },
	},
	  sub[] = {
		  { "/a", "Volume subpath must be a relative path" },
		  { "a//b", "Volume subpath cannot contain consecutive "
		            "slashes" },
		  { "../a", "Volume subpath cannot contain '..' segments" },
		  { "a/..", "Volume subpath cannot contain '..' segments" },
	  };
	const char *msg;

	(void)unused;
	for (size_t i = 0; i < sizeof(mount) / sizeof(mount[0]); i++) {
		msg = NULL;
		assert_int_equal(emu_valid_mount_path(mount[i].path, &msg), -1);
		assert_non_null(msg);
		assert_string_equal(msg, mount[i].msg);
	}
	for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		msg = NULL;
		assert_int_equal(emu_valid_subpath(sub[i].path, &msg), -1);
		assert_non_null(msg);
		assert_string_equal(msg, sub[i].msg);
	}
	/* a valid path has no message */
	assert_int_equal(emu_valid_mount_path("/a/b", &msg), 0);
	assert_null(msg);
	assert_int_equal(emu_valid_subpath("a/./b", &msg), 0);
	assert_null(msg);
}

static void
test_kvmap(void **unused)
{
	struct kvmap hay = { NULL, 0 }, needle = { NULL, 0 };

	(void)unused;
	kvmap_set(&hay, "env", "prod");
	kvmap_set(&hay, "team", "a");
	kvmap_set(&hay, "team", "b");
	assert_int_equal(hay.n, 2);
	assert_string_equal(kvmap_get(&hay, "team"), "b");
	assert_true(kvmap_contains(&hay, &needle));
	kvmap_set(&needle, "env", "prod");
	assert_true(kvmap_contains(&hay, &needle));
	kvmap_set(&needle, "team", "a");
	assert_false(kvmap_contains(&hay, &needle));
	kvmap_clear(&hay);
	kvmap_clear(&needle);
}

static void
test_json_roundtrip(void **unused)
{
	struct sandbox *sb = mk(ST_STOPPED, DS_ARCHIVED), *back;
	struct buf b = BUF_INIT, b2 = BUF_INIT;
	cJSON *j;

	(void)unused;
	memcpy(sb->id, "11111111-2222-4333-8444-555555555555", 37);
	memcpy(sb->org_id, "aaaaaaaa-2222-4333-8444-555555555555", 37);
	sb->name = xstrdup("with \"quotes\"");
	sb->user = xstrdup("daytona");
	sb->target = xstrdup("us");
	sb->dockerfile = xstrdup("FROM alpine\n");
	sb->snapshot_ref = xstrdup("daytona-x:daytona");
	kvmap_set(&sb->labels, "a", "b");
	kvmap_set(&sb->env, "K", "V");
	sb->cpu = 2;
	sb->created_at = 1000;
	sandbox_to_json(sb, SBJ_PERSIST, &b);
	j = cJSON_Parse(b.data);
	assert_non_null(j);
	back = sandbox_from_persist(j);
	assert_non_null(back);
	sandbox_to_json(back, SBJ_PERSIST, &b2);
	assert_string_equal(b.data, b2.data);
	assert_int_equal(back->state, ST_STOPPED);
	assert_int_equal(back->desired, DS_ARCHIVED);
	cJSON_Delete(j);
	/* the list form shows the list's derived state and drops env */
	buf_reset(&b);
	sandbox_to_json(sb, SBJ_LIST, &b);
	assert_null(strstr(b.data, "\"env\""));
	assert_non_null(strstr(b.data, "\"state\":\"archiving\""));
	assert_null(strstr(b.data, "_rawState"));
	buf_free(&b);
	buf_free(&b2);
	sandbox_free(sb);
	sandbox_free(back);
}

/* the 0.218 fields survive a persist round trip; the API forms show them
 * where the 0.218 models do (sandbox.d.ts, sandbox-list-item.d.ts) */
static void
test_json_new_fields(void **unused)
{
	struct sandbox *sb = mk(ST_STARTED, DS_STARTED), *back;
	struct buf b = BUF_INIT, b2 = BUF_INIT;
	cJSON *j;

	(void)unused;
	memcpy(sb->id, "11111111-2222-4333-8444-555555555555", 37);
	memcpy(sb->org_id, "aaaaaaaa-2222-4333-8444-555555555555", 37);
	sb->name = xstrdup("vm");
	sb->user = xstrdup("daytona");
	sb->target = xstrdup("us");
	sb->sclass = SC_LINUX_VM;
	sb->kvm = true;
	sb->spot = true;
	sb->auto_pause = 60;
	sb->ttl_minutes = 5;
	sb->auto_destroy_at = 300000;
	sb->outbound_proxy_url = xstrdup("http://u:p@proxy:3128");
	sandbox_add_gpu_type(sb, "H200");
	sandbox_add_gpu_type(sb, "H100");
	kvmap_set(&sb->secrets, "TOKEN", "gh-token");
	sandbox_to_json(sb, SBJ_PERSIST, &b);
	j = cJSON_Parse(b.data);
	assert_non_null(j);
	back = sandbox_from_persist(j);
	assert_non_null(back);
	sandbox_to_json(back, SBJ_PERSIST, &b2);
	assert_string_equal(b.data, b2.data);
	assert_int_equal(back->sclass, SC_LINUX_VM);
	assert_int_equal(back->n_gpu_types, 2);
	assert_string_equal(kvmap_get(&back->secrets, "TOKEN"), "gh-token");
	cJSON_Delete(j);
	buf_reset(&b);
	sandbox_to_json(sb, SBJ_FULL, &b);
	assert_non_null(strstr(b.data, "\"gpuType\":\"H200\""));
	assert_non_null(strstr(b.data, "\"autoPauseInterval\":60"));
	assert_non_null(
	        strstr(b.data, "\"autoDestroyAt\":\"1970-01-01T00:05:00"));
	assert_non_null(strstr(b.data, "\"sandboxClass\":\"linux-vm\""));
	assert_non_null(strstr(b.data, "\"outboundProxyUrl\""));
	assert_non_null(strstr(b.data, "\"kvm\":true"));
	assert_non_null(strstr(b.data, "\"spot\":true"));
	assert_null(strstr(b.data, "gh-token")); /* never in the API */
	buf_reset(&b);
	sandbox_to_json(sb, SBJ_LIST, &b);
	assert_null(strstr(b.data, "\"outboundProxyUrl\""));
	assert_non_null(strstr(b.data, "\"autoDestroyAt\""));
	assert_non_null(strstr(b.data, "\"networkBlockAll\""));
	buf_free(&b);
	buf_free(&b2);
	sandbox_free(sb);
	sandbox_free(back);
}

static void
test_classes(void **unused)
{
	(void)unused;
	assert_int_equal(sb_class_parse("linux-vm"), SC_LINUX_VM);
	assert_int_equal(sb_class_parse("container"), SC_CONTAINER);
	assert_int_equal(sb_class_parse("vm"), -1);
	assert_string_equal(sb_class_name(SC_WINDOWS), "windows");
	assert_true(sb_class_pausable(SC_LINUX_VM));
	assert_false(sb_class_pausable(SC_CONTAINER));
	assert_true(emu_is_gpu_type("MI355X"));
	assert_true(emu_is_gpu_type("RTX-5090"));
	assert_false(emu_is_gpu_type("A100"));
	assert_int_equal(emu_n_gpu_types, 7);
}

static void
test_names_parse(void **unused)
{
	(void)unused;
	for (int i = 0; i < ST__COUNT; i++)
		assert_int_equal(sb_state_parse(sb_state_name(i)), i);
	for (int i = 0; i < DS__COUNT; i++)
		assert_int_equal(sb_desired_parse(sb_desired_name(i)), i);
	assert_int_equal(sb_state_parse("bogus"), -1);
	assert_int_equal(sb_state_parse("started,stopped"), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_derived_states),
		cmocka_unit_test(test_pending),
		cmocka_unit_test(test_hidden),
		cmocka_unit_test(test_preconditions),
		cmocka_unit_test(test_recover),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_cidr),
		cmocka_unit_test(test_domains),
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_mount_paths),
		cmocka_unit_test(test_mount_path_messages),
		cmocka_unit_test(test_kvmap),
		cmocka_unit_test(test_json_roundtrip),
		cmocka_unit_test(test_names_parse),
		cmocka_unit_test(test_json_new_fields),
		cmocka_unit_test(test_classes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
