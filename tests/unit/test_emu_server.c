/*
 * Unit tests for the pure helpers of the emulator's server: percent-decoding of
 * paths and query strings, and the snapshot table.
 */
#include "common/base.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "emulator/api.h"
#include "emulator/body.h"
#include "emulator/http.h"

static void
check_decode(const char *in, bool plus, const char *want)
{
	char *got = http_percent_decode(in, strlen(in), plus);

	if (!want) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void
test_percent_decode(void **unused)
{
	(void)unused;
	check_decode("plain", false, "plain");
	check_decode("a%20b", false, "a b");
	check_decode("a+b", false, "a+b");
	check_decode("a+b", true, "a b");
	check_decode("%7B%22k%22%3A%22v%22%7D", true, "{\"k\":\"v\"}");
	check_decode("%2F", false, "/");
	check_decode("%zz", false, NULL);
	check_decode("%2", false, NULL);
	check_decode("%", false, NULL);
	check_decode("", false, "");
	/* a length shorter than the string stops there */
	{
		char *got = http_percent_decode("ab%20", 2, false);

		assert_string_equal(got, "ab");
		free(got);
	}
}

static void
test_json_nul(void **unused)
{
	static const char *const none[] = {
		"{\"name\":\"a\"}",
		"{\"name\":\"a\\\\u0000\"}",
		"{\"name\":\"a\\u0001\"}",
		"{\"n\":\"\\\\\\\\u0000\"}",
		"\\u000",
	};
	static const struct {
		const char *body, *msg;
	} nul[] = {
		{ "{\"name\":\"a\\u0000b\"}",
		  "name must not contain HTML tags, URLs, or control "
		  "characters" },
		{ "{\"name\":\"ok\",\"labels\":{\"k\\u0000x\":\"v\"}}",
		  "labels must not contain control characters" },
		{ "{\"env\":{\"A\":\"x\\u0000y\"},\"name\":\"ok\"}",
		  "env must not contain control characters" },
		{ "{\"volumes\":[{\"mountPath\":\"/a\\u0000\"}]}",
		  "volumes must not contain control characters" },
		{ "[\"\\u0000\"]",
		  "request body must not contain NUL characters" },
	};
	char *m;

	(void)unused;
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
		assert_int_equal(body_find_nul(none[i], strlen(none[i])), -1);
	{
		const char *three =
		        "{\"a\":\"\\\\\\u0000\"}"; /* \\ then \u0000 */

		assert_int_equal(body_find_nul(three, strlen(three)), 8);
	}
	/* the length bounds the scan */
	assert_int_equal(body_find_nul("\"\\u0000\"", 6), -1);
	for (size_t i = 0; i < sizeof(nul) / sizeof(nul[0]); i++) {
		assert_true(body_find_nul(nul[i].body, strlen(nul[i].body)) >=
		            0);
		m = body_nul_message(nul[i].body, strlen(nul[i].body));
		assert_string_equal(m, nul[i].msg);
		free(m);
	}
}

static void
test_loopback(void **unused)
{
	static const struct {
		const char *addr;
		bool loopback;
	} v[] = {
		{ "127.0.0.1", true },
		{ "127.1.2.3", true },
		{ "0.0.0.0", false },
		{ "10.0.0.1", false },
		{ "::1", true },
		{ "::", false },
		{ "::ffff:127.0.0.1", true },
		{ "::ffff:10.0.0.1", false },
		{ "fe80::1", false },
	};
	struct sockaddr_storage ss;

	(void)unused;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		memset(&ss, 0, sizeof(ss));
		if (strchr(v[i].addr, ':')) {
			struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;

			a6->sin6_family = AF_INET6;
			assert_int_equal(
			        inet_pton(AF_INET6, v[i].addr, &a6->sin6_addr),
			        1);
		} else {
			struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;

			a4->sin_family = AF_INET;
			assert_int_equal(
			        inet_pton(AF_INET, v[i].addr, &a4->sin_addr),
			        1);
		}
		assert_int_equal(http_addr_is_loopback(&ss), v[i].loopback);
	}
}

static void
test_snapshots(void **unused)
{
	const char *name;
	int cpu, mem, disk;

	(void)unused;
	assert_int_equal(
	        api_snapshot_lookup("daytona-small", &name, &cpu, &mem, &disk),
	        0);
	assert_int_equal(cpu * 100 + mem * 10 + disk, 113);
	assert_int_equal(
	        api_snapshot_lookup("daytona-medium", &name, &cpu, &mem, &disk),
	        0);
	assert_int_equal(cpu * 100 + mem * 10 + disk, 248);
	assert_int_equal(
	        api_snapshot_lookup("daytona-large", &name, &cpu, &mem, &disk),
	        0);
	assert_int_equal(cpu, 4);
	assert_int_equal(mem, 8);
	assert_int_equal(disk, 10);
	/* by id, answering the name */
	assert_int_equal(api_snapshot_lookup("3f0c1b7e-1a2b-4c3d-8e4f-"
	                                     "000000000002",
	                                     &name, &cpu, &mem, &disk),
	                 0);
	assert_string_equal(name, "daytona-medium");
	assert_int_equal(
	        api_snapshot_lookup("ubuntu:22.04", &name, &cpu, &mem, &disk),
	        -1);
	assert_int_equal(
	        api_snapshot_lookup("Daytona-Small", &name, &cpu, &mem, &disk),
	        -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_percent_decode),
		cmocka_unit_test(test_json_nul),
		cmocka_unit_test(test_loopback),
		cmocka_unit_test(test_snapshots),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
