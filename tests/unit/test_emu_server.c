/*
 * Unit tests for the pure helpers of the emulator's server: percent-decoding
 * of paths and query strings, JSON bodies (escaped NULs, ill-formed UTF-8,
 * raw control characters), loopback addresses and the snapshot table.
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

#include <cjson/cJSON.h>
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
test_query_and_path(void **unused)
{
	static const char *const want[][2] = {
		{ "a", "1 2" },
		{ "c%zz", "x y%zz" },     /* malformed: kept, '+' replaced */
		{ "cursor", "%FF z" },    /* no UTF-8: the same */
		{ "ok", "\xe2\x82\xac" }, /* U+20AC */
		{ "e", "" },
		{ "", "v" },
	};
	struct http_query q;
	struct http_path p;

	(void)unused;
	http_query_parse("a=1+2&c%zz=x+y%zz&cursor=%FF+z&ok=%E2%82%AC&e&=v&",
	                 &q);
	assert_int_equal(q.n, 6);
	for (int i = 0; i < q.n; i++) {
		assert_string_equal(q.v[i].key, want[i][0]);
		assert_string_equal(q.v[i].value, want[i][1]);
	}
	assert_string_equal(http_query_get(&q, "cursor"), "%FF z");
	assert_null(http_query_get(&q, "nope"));
	http_query_free(&q);

	assert_int_equal(http_path_parse("/api/sandbox/%E2%82%AC/", &p), 0);
	assert_int_equal(p.n, 3);
	assert_string_equal(p.v[2], "\xe2\x82\xac");
	http_path_free(&p);
	assert_int_equal(http_path_parse("/api/sandbox/%FF", &p), -1);
	assert_int_equal(p.n, 0);
	assert_int_equal(http_path_parse("/api/sandbox/%ED%A0%80", &p), -1);
	assert_int_equal(http_path_parse("/api/sandbox/%zz", &p), -1);
	assert_int_equal(http_path_parse("/1/2/3/4/5/6/7/8/9", &p), -1);
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
check_utf8(const char *in, size_t len, const char *want)
{
	size_t n;
	char *got = body_utf8(in, len, &n);

	if (!want) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(got, want, n);
	free(got);
}

#define FFFD "\xef\xbf\xbd"

static void
test_body_utf8(void **unused)
{
	(void)unused;
	/* well-formed text is not copied */
	check_utf8("{\"a\":\"\xe2\x82\xac \xf0\x9f\x98\x80\"}", 15, NULL);
	check_utf8("", 0, NULL);
	/* one U+FFFD per maximal subpart, as WHATWG's decoder */
	check_utf8("a\xff"
	           "b",
	           3, "a" FFFD "b");
	check_utf8("\xc0\x80", 2, FFFD FFFD);          /* overlong */
	check_utf8("\xed\xa0\x80", 3, FFFD FFFD FFFD); /* a surrogate */
	check_utf8("\xf4\x90\x80\x80", 4, FFFD FFFD FFFD FFFD);
	check_utf8("\xe2\x82", 2, FFFD);      /* cut short at the end */
	check_utf8("\xe2\x82x", 3, FFFD "x"); /* cut short by a character */
	check_utf8("\xf0\x9f\x98\"", 4, FFFD "\"");
	check_utf8("\x80\xbf", 2, FFFD FFFD); /* lone continuations */
	/* a leading byte-order mark is dropped, a later one kept */
	check_utf8("\xef\xbb\xbf{}", 5, "{}");
	check_utf8("{\xef\xbb\xbf}", 5, NULL);
}

static void
test_body_parse(void **unused)
{
	static const char *const invalid[] = {
		"{\"name\":\"a\tb\"}", /* a raw tab in a string */
		"{\x01\"a\":1}",       /* a control character outside one */
		"{\"a\":\"x\\\x01\"}", /* escaped, still raw */
		"\"just a string\"",   /* strict: objects and arrays only */
		"{\"a\":",
	};
	struct resp r;
	cJSON *j;
	size_t len;
	const char *body = "{\"name\":\"a\xff\",\n\t\"n\":\"x\0y\"}";

	(void)unused;
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		memset(&r, 0, sizeof(r));
		assert_int_equal(body_parse(invalid[i], strlen(invalid[i]),
		                            "/p", &j, &r),
		                 -1);
		assert_null(j);
		assert_int_equal(r.status, 400);
		assert_string_equal(buf_cstr(&r.body),
		                    "{\"message\":\"Invalid JSON in request "
		                    "body\",\"error\":\"Bad Request\","
		                    "\"statusCode\":400}");
		buf_free(&r.body);
	}
	/* a raw NUL: invalid, never a value cut short */
	memset(&r, 0, sizeof(r));
	len = strlen(body) + 4;
	assert_int_equal(body_parse(body, len, "/p", &j, &r), -1);
	assert_int_equal(r.status, 400);
	buf_free(&r.body);
	/* ill-formed UTF-8 is replaced, white space between tokens is fine */
	memset(&r, 0, sizeof(r));
	body = "\xef\xbb\xbf{\"name\":\"a\xff\",\r\n\t\"n\":1}";
	assert_int_equal(body_parse(body, strlen(body), "/p", &j, &r), 0);
	assert_string_equal(
	        cJSON_GetObjectItemCaseSensitive(j, "name")->valuestring,
	        "a" FFFD);
	cJSON_Delete(j);
	buf_free(&r.body);
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
		cmocka_unit_test(test_query_and_path),
		cmocka_unit_test(test_json_nul),
		cmocka_unit_test(test_body_utf8),
		cmocka_unit_test(test_body_parse),
		cmocka_unit_test(test_loopback),
		cmocka_unit_test(test_snapshots),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
