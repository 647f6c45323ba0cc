/* Unit tests for common/: buf, strnum, timeutil, hash, fileutil, error. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/fileutil.h"
#include "common/hash.h"
#include "common/strnum.h"
#include "common/timeutil.h"
#include "common/xalloc.h"

static void
test_buf_basic(void **state)
{
	struct buf b = BUF_INIT;
	char *s;
	size_t len;

	(void)state;
	assert_string_equal(buf_cstr(&b), "");
	assert_int_equal(buf_addstr(&b, "abc"), 0);
	assert_int_equal(buf_addf(&b, "-%d-", 42), 0);
	assert_int_equal(buf_addch(&b, 'z'), 0);
	assert_string_equal(buf_cstr(&b), "abc-42-z");
	buf_truncate(&b, 3);
	assert_string_equal(b.data, "abc");
	s = buf_detach(&b, &len);
	assert_int_equal(len, 3);
	assert_string_equal(s, "abc");
	assert_null(b.data);
	free(s);
	s = buf_detach(&b, NULL); /* empty buffer detaches to "" */
	assert_string_equal(s, "");
	free(s);
}

static void
test_buf_cap(void **state)
{
	struct buf b;

	(void)state;
	buf_init_max(&b, 8);
	assert_int_equal(buf_addstr(&b, "12345678"), 0);
	assert_int_equal(buf_addch(&b, '9'), -1);
	assert_int_equal(buf_addf(&b, "%s", "x"), -1);
	assert_string_equal(buf_cstr(&b), "12345678");
	buf_free(&b);
}

static void
test_buf_grow_large(void **state)
{
	struct buf b = BUF_INIT;
	int i;

	(void)state;
	for (i = 0; i < 10000; i++)
		buf_addstr(&b, "0123456789");
	assert_int_equal(b.len, 100000);
	assert_int_equal(b.data[99999], '9');
	assert_int_equal(b.data[100000], '\0');
	buf_free(&b);
}

static void
test_buf_json_string(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	buf_add_json_string(&b, "a\"b\\c\nd\x01");
	assert_string_equal(buf_cstr(&b), "\"a\\\"b\\\\c\\nd\\u0001\"");
	buf_free(&b);
}

static void
test_strnum(void **state)
{
	long long v = 0;
	const char *err;

	(void)state;
	assert_int_equal(strnum_parse("42", 0, 100, &v, &err), 0);
	assert_int_equal(v, 42);
	assert_int_equal(strnum_parse("-1", -1, 100, &v, &err), 0);
	assert_int_equal(v, -1);
	assert_int_equal(strnum_parse("101", 0, 100, &v, &err), -1);
	assert_string_equal(err, "too large");
	assert_int_equal(strnum_parse("-2", -1, 100, &v, &err), -1);
	assert_string_equal(err, "too small");
	assert_int_equal(strnum_parse("4x", 0, 100, &v, &err), -1);
	assert_string_equal(err, "invalid");
	assert_int_equal(strnum_parse("", 0, 100, &v, &err), -1);
	assert_int_equal(strnum_parse(" 4", 0, 100, &v, &err), -1);
	assert_int_equal(strnum_parse("99999999999999999999", 0, 100, &v, &err),
	                 -1);
	assert_string_equal(err, "too large");
}

static void
test_duration(void **state)
{
	long long ms = 0;

	(void)state;
	assert_int_equal(strnum_duration_ms("500ms", &ms), 0);
	assert_int_equal(ms, 500);
	assert_int_equal(strnum_duration_ms("30s", &ms), 0);
	assert_int_equal(ms, 30000);
	assert_int_equal(strnum_duration_ms("5m", &ms), 0);
	assert_int_equal(ms, 300000);
	assert_int_equal(strnum_duration_ms("2h", &ms), 0);
	assert_int_equal(ms, 7200000);
	assert_int_equal(strnum_duration_ms("7", &ms), 0);
	assert_int_equal(ms, 7000);
	assert_int_equal(strnum_duration_ms("m", &ms), -1);
	assert_int_equal(strnum_duration_ms("5x", &ms), -1);
	assert_int_equal(strnum_duration_ms("", &ms), -1);
	assert_int_equal(strnum_duration_ms("-5s", &ms), -1);
}

static void
test_iso_time(void **state)
{
	char s[SF_ISO8601_LEN + 1];
	int64_t ms = 0;

	(void)state;
	time_format_iso(1735689600123LL, s);
	assert_string_equal(s, "2025-01-01T00:00:00.123Z");
	assert_int_equal(time_parse_iso(s, &ms), 0);
	assert_int_equal(ms, 1735689600123LL);
	assert_int_equal(time_parse_iso("2025-01-01T00:00:00Z", &ms), 0);
	assert_int_equal(ms, 1735689600000LL);
	assert_int_equal(time_parse_iso("2025-01-01 00:00:00Z", &ms), -1);
	assert_int_equal(time_parse_iso("2025-01-01T00:00:00.1+01", &ms), -1);
}

static void
test_hash(void **state)
{
	char hex[SF_SHA256_HEX_LEN + 1];
	char uuid[37];

	(void)state;
	sha256_hex("abc", 3, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a3"
	                         "96177a9cb410ff61f20015ad");
	/* RFC 4231 test case 2 */
	hmac_sha256_hex("Jefe", 4, "what do ya want for nothing?", 28, hex);
	assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f08"
	                         "9d2739839dec58b964ec3843");
	uuid_v4(uuid);
	assert_int_equal(strlen(uuid), 36);
	assert_int_equal(uuid[14], '4');
	assert_true(strchr("89ab", uuid[19]) != NULL);
}

static void
test_file_atomic_and_read(void **state)
{
	char dir[] = "/tmp/sf-test-common-XXXXXX";
	char *path, *sub;
	struct buf b = BUF_INIT;
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	sub = xasprintf("%s/a/b/c", dir);
	assert_int_equal(file_mkdir_p(sub, 0700), 0);
	path = xasprintf("%s/f.txt", sub);
	assert_int_equal(file_write_atomic(path, "hello", 5, 0600), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(file_read(path, 0, &b), 0);
	assert_string_equal(buf_cstr(&b), "hello");
	buf_reset(&b);
	assert_int_equal(file_read(path, 4, &b), SF_EINVALID);
	assert_non_null(strstr(sf_error_last(), "larger than 4 bytes"));
	assert_int_equal(file_read(sub, 0, &b), SF_EINVALID);
	assert_non_null(strstr(sf_error_last(), "not a regular file"));
	buf_free(&b);
	unlink(path);
	free(path);
	rmdir(sub);
	free(sub);
	sub = xasprintf("%s/a/b", dir);
	rmdir(sub);
	free(sub);
	sub = xasprintf("%s/a", dir);
	rmdir(sub);
	free(sub);
	rmdir(dir);
}

static void
test_error(void **state)
{
	(void)state;
	assert_int_equal(sf_error_set(SF_ENOTFOUND, "sandbox '%s'", "x"),
	                 SF_ENOTFOUND);
	assert_string_equal(sf_error_last(), "sandbox 'x'");
	assert_string_equal(sf_error_name(SF_ELOCKED), "locked");
	sf_error_clear();
	assert_string_equal(sf_error_last(), "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_basic),
		cmocka_unit_test(test_buf_cap),
		cmocka_unit_test(test_buf_grow_large),
		cmocka_unit_test(test_buf_json_string),
		cmocka_unit_test(test_strnum),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_iso_time),
		cmocka_unit_test(test_hash),
		cmocka_unit_test(test_file_atomic_and_read),
		cmocka_unit_test(test_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
