/*
 * Unit tests for common/: buf, strnum, timeutil, hash, fileutil, error,
 * validate, redact.
 */
#include "common/base.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <pthread.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/escape.h"
#include "common/fileutil.h"
#include "common/hash.h"
#include "common/intern.h"
#include "common/redact.h"
#include "common/arena.h"
#include "common/jsonscan.h"
#include "common/jsonutil.h"
#include "common/nameix.h"
#include "common/strmap.h"
#include "common/strnum.h"
#include "common/suggest.h"
#include "common/timeutil.h"
#include "common/validate.h"
#include "common/workpool.h"
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
	/* decimal seconds, minutes, hours and plain numbers */
	assert_int_equal(strnum_duration_ms("0.1s", &ms), 0);
	assert_int_equal(ms, 100);
	assert_int_equal(strnum_duration_ms("1.5s", &ms), 0);
	assert_int_equal(ms, 1500);
	assert_int_equal(strnum_duration_ms("0.25", &ms), 0);
	assert_int_equal(ms, 250);
	assert_int_equal(strnum_duration_ms("1.5m", &ms), 0);
	assert_int_equal(ms, 90000);
	assert_int_equal(strnum_duration_ms("0.001h", &ms), 0);
	assert_int_equal(ms, 3600);
	assert_int_equal(strnum_duration_ms("100ms", &ms), 0);
	assert_int_equal(ms, 100);
	/* finer than a millisecond, malformed fractions */
	assert_int_equal(strnum_duration_ms("0.5ms", &ms), -1);
	assert_int_equal(strnum_duration_ms("0.0001s", &ms), -1);
	assert_int_equal(strnum_duration_ms(".5s", &ms), -1);
	assert_int_equal(strnum_duration_ms("1.s", &ms), -1);
	assert_int_equal(strnum_duration_ms("1.2.3s", &ms), -1);
	assert_int_equal(strnum_duration_ms("1.-5s", &ms), -1);
	assert_int_equal(strnum_duration_ms("1e3s", &ms), -1);
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
	/* the canonical form is read without sscanf and timegm: the same
	 * as timegm over leap years, centuries, a carried day and a leap
	 * second; other forms still take the general path */
	{
		static const char *const texts[] = {
			"1970-01-01T00:00:00Z",     "1969-12-31T23:59:59.999Z",
			"2000-02-29T12:00:00.5Z",   "2100-03-01T00:00:00Z",
			"2024-04-31T10:20:30.040Z", "2026-12-31T23:59:60Z",
			"9999-12-31T23:59:59Z",     "0001-01-01T00:00:00Z",
			"2026-1-2T3:4:5Z",
		};
		size_t i;

		for (i = 0; i < sizeof(texts) / sizeof(*texts); i++) {
			struct tm tm;
			int y, mo, d, h, mi, sec, n = 0, frac = 0;
			int64_t want;

			memset(&tm, 0, sizeof(tm));
			assert_int_equal(sscanf(texts[i],
			                        "%4d-%2d-%2dT%2d:%2d:%2d%n", &y,
			                        &mo, &d, &h, &mi, &sec, &n),
			                 6);
			if (texts[i][n] == '.')
				frac = (int)strtol(texts[i] + n + 1, NULL, 10);
			if (frac && strlen(texts[i] + n + 1) == 2)
				frac *= 100; /* ".5Z" */
			else if (frac && strlen(texts[i] + n + 1) == 3)
				frac *= 10;
			tm.tm_year = y - 1900;
			tm.tm_mon = mo - 1;
			tm.tm_mday = d;
			tm.tm_hour = h;
			tm.tm_min = mi;
			tm.tm_sec = sec;
			want = (int64_t)timegm(&tm) * 1000 + frac;
			assert_int_equal(time_parse_iso(texts[i], &ms), 0);
			assert_int_equal(ms, want);
		}
	}
	assert_int_equal(time_parse_iso("2025-13-01T00:00:00Z", &ms), 0);
	assert_int_equal(time_parse_iso("2025-01-01T00:00:0xZ", &ms), -1);
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

/* strmap: sorted inserts, replace, delete, copy, equality, JSON, and the
 * NULL rules (a NULL map reads as empty). */
static void
test_strmap(void **state)
{
	static const char *const keys[] = { "m", "c", "x", "a", "q" };
	struct strmap m = STRMAP_INIT, cp = STRMAP_INIT, back = STRMAP_INIT;
	cJSON *j;
	size_t i;

	(void)state;
	assert_null(strmap_get(&m, "a"));
	assert_null(strmap_get(NULL, "a"));
	assert_int_equal(strmap_find(&m, "a"), -1);
	assert_int_equal(strmap_del(&m, "a"), 0);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		strmap_set(&m, keys[i], keys[i]);
	assert_int_equal(m.n, 5);
	for (i = 1; i < m.n; i++)
		assert_true(strcmp(m.v[i - 1].key, m.v[i].key) < 0);
	assert_string_equal(m.v[0].key, "a");
	assert_int_equal(strmap_find(&m, "q"), 3);
	assert_int_equal(strmap_find(&m, "b"), -2); /* would go at 1 */
	assert_int_equal(strmap_find(&m, "z"), -6);

	strmap_set(&m, "c", "new");
	assert_int_equal(m.n, 5);
	assert_string_equal(strmap_get(&m, "c"), "new");

	strmap_copy(&cp, &m);
	assert_true(strmap_equal(&m, &cp));
	strmap_set(&cp, "c", "other");
	assert_int_equal(cp.n, 5);
	assert_false(strmap_equal(&m, &cp));
	assert_true(strmap_equal(NULL, NULL));
	assert_true(strmap_equal(NULL, &back));
	assert_false(strmap_equal(NULL, &m));
	strmap_clear(&cp);
	strmap_copy(&cp, NULL);
	assert_int_equal(cp.n, 0);
	assert_null(cp.v);

	j = strmap_to_json(&m);
	assert_int_equal(strmap_from_json(j, "labels", &back), 0);
	assert_true(strmap_equal(&m, &back));
	cJSON_AddNumberToObject(j, "n", 1);
	assert_int_equal(strmap_from_json(j, "labels", &back), SF_EINVALID);
	assert_string_equal(sf_error_last(), "labels: value is not a string");
	assert_int_equal(back.n, 0);
	cJSON_Delete(j);
	assert_int_equal(strmap_from_json(NULL, "labels", &back), 0);

	assert_int_equal(strmap_del(&m, "m"), 1);
	assert_int_equal(strmap_del(&m, "m"), 0);
	assert_int_equal(m.n, 4);
	assert_null(strmap_get(&m, "m"));
	assert_string_equal(strmap_get(&m, "x"), "x");
	assert_string_equal(m.v[m.n - 1].key, "x");
	strmap_clear(&cp);
	strmap_clear(&m);
	strmap_clear(NULL);
	assert_int_equal(m.n, 0);
}

/* strmap growth: inserts past powers of two, into a copy (whose array is
 * sized by strmap_copy), replacing and deleting keep every pair intact
 * (ASAN catches an array too short); push keeps the written order. */
static void
test_strmap_grow(void **state)
{
	struct strmap m = STRMAP_INIT, cp = STRMAP_INIT, l = STRMAP_INIT;
	char k[16], v[16];
	int i;

	(void)state;
	for (i = 0; i < 70; i++) {
		snprintf(k, sizeof(k), "k%03d", (i * 37) % 70);
		snprintf(v, sizeof(v), "v%d", (i * 37) % 70);
		strmap_set(&m, k, v);
		if (i == 4 || i == 31) {
			strmap_clear(&cp);
			strmap_copy(&cp, &m);
			strmap_set(&cp, "zz", "last");
			strmap_set(&cp, "a", "first");
			assert_int_equal(cp.n, (size_t)i + 3);
		}
	}
	assert_int_equal(m.n, 70);
	for (i = 0; i < 70; i++) {
		snprintf(k, sizeof(k), "k%03d", i);
		snprintf(v, sizeof(v), "v%d", i);
		assert_string_equal(m.v[i].key, k);
		assert_string_equal(strmap_get(&m, k), v);
	}
	strmap_set(&m, "k010", "a much longer value than before");
	assert_string_equal(strmap_get(&m, "k010"),
	                    "a much longer value than before");
	assert_string_equal(m.v[10].key, "k010");
	assert_int_equal(strmap_del(&m, "k000"), 1);
	strmap_set(&m, "k999", "x");
	assert_int_equal(m.n, 70);
	assert_string_equal(strmap_get(&cp, "a"), "first");
	assert_string_equal(strmap_get(&cp, "k000"), "v0");

	strmap_push(&l, "b", "2");
	strmap_push(&l, "a", "1");
	strmap_push(&l, "b", "3");
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0].key, "b");
	assert_string_equal(l.v[1].value, "1");
	assert_string_equal(l.v[2].value, "3");
	strmap_clear(&l);
	strmap_clear(&cp);
	strmap_clear(&m);
}

/* strmap's pool: equal pairs are shared across maps and freed with the
 * last; removals in any order keep every pair findable (the table's
 * backward shift), and the pool is empty again when the maps are. */
static void
test_strmap_pool(void **state)
{
	enum { NM = 40, NK = 60 };
	struct strmap m[NM];
	size_t base = strmap_pool_size(), i, j, step;
	char k[16], v[16];

	(void)state;
	assert_true(base != SIZE_MAX);
	memset(m, 0, sizeof(m));
	for (i = 0; i < NM; i++)
		for (j = 0; j < NK; j++) {
			snprintf(k, sizeof(k), "key%zu", j);
			snprintf(v, sizeof(v), "v%zu", (i * j) % 7);
			strmap_set(&m[i], k, v);
		}
	/* key j has min(7, distinct (i * j) % 7) values: 1 for j % 7 == 0 */
	assert_int_equal(strmap_pool_size() - base,
	                 (NK / 7 + 1) * 1 + (NK - NK / 7 - 1) * 7);
	assert_ptr_equal(m[3].v[0].key, m[10].v[0].key); /* key0 = v0 */
	for (step = 0; step < (size_t)NM * NK; step++) {
		/* every (map, key) once, in a scrambled order (7919 is prime
		 * to NM * NK) */
		size_t at = (step * 7919) % ((size_t)NM * NK);
		size_t mi = at % NM, kj = at / NM;

		snprintf(k, sizeof(k), "key%zu", kj);
		strmap_del(&m[mi], k);
		if (step % 97 == 0) {
			assert_true(strmap_pool_size() != SIZE_MAX);
			for (i = 0; i < NM; i++)
				for (j = 0; j < m[i].n; j++) {
					size_t kk = strtoul(m[i].v[j].key + 3,
					                    NULL, 10);

					snprintf(v, sizeof(v), "v%zu",
					         (i * kk) % 7);
					assert_string_equal(m[i].v[j].value, v);
				}
		}
	}
	for (i = 0; i < NM; i++)
		strmap_clear(&m[i]);
	assert_int_equal(strmap_pool_size(), base);
}

/* arena: aligned, zeroed on request, a big request in a block of its own
 * while the current block is still cut, ownership, and reset/clear. */
static void
test_arena(void **state)
{
	struct arena a = ARENA_INIT;
	char *p, *q, *big, *z;
	size_t i;

	(void)state;
	assert_false(arena_owns(&a, &a));
	p = arena_alloc(&a, 3);
	memcpy(p, "ab", 3);
	q = arena_alloc(&a, 0);
	assert_int_equal((uintptr_t)q % 16, 0);
	big = arena_alloc(&a, 200000);
	memset(big, 1, 200000);
	z = arena_zalloc(&a, 40);
	for (i = 0; i < 40; i++)
		assert_int_equal(z[i], 0);
	assert_true(arena_owns(&a, p) && arena_owns(&a, big + 199999));
	assert_true(arena_owns(&a, z));
	assert_string_equal(p, "ab");
	arena_reset(&a);
	assert_false(arena_owns(&a, p));
	assert_non_null(a.blocks);
	for (i = 0; i < 10000; i++) /* several blocks */
		memset(arena_alloc(&a, 100), 2, 100);
	arena_clear(&a);
	assert_null(a.blocks);
	arena_clear(&a);
}

/* The JSON arena: trees parsed inside are freed with it (LeakSanitizer
 * sees a leak otherwise), a tree made before it is freed by cJSON_Delete
 * inside it (a leak otherwise), big strings get their own block, a nested
 * begin is a no-op, and after the end cJSON allocates with malloc again. */
static void
test_json_arena(void **state)
{
	struct json_arena a, inner;
	cJSON *before = cJSON_Parse("{\"a\":[1,2,3]}"), *j, *after;
	char *big = xmalloc(300000), *text;
	size_t i;

	(void)state;
	memset(big, 'x', 299999);
	big[299999] = '\0';
	json_arena_begin(&a);
	json_arena_begin(&inner);
	for (i = 0; i < 50; i++) {
		j = cJSON_Parse("{\"k\":\"v\",\"n\":[1,{\"x\":null}]}");
		assert_non_null(j);
		cJSON_AddStringToObject(j, "big", big);
		text = cJSON_PrintUnformatted(j);
		assert_non_null(strstr(text, "\"k\":\"v\""));
		cJSON_free(text);
		cJSON_Delete(j);
	}
	json_arena_end(&inner); /* nested: nothing yet */
	assert_non_null(a.mem.blocks);
	cJSON_Delete(before); /* malloc'ed: really freed */
	json_arena_end(&a);
	assert_null(a.mem.blocks);
	after = cJSON_CreateObject();
	cJSON_AddStringToObject(after, "k", "v");
	cJSON_Delete(after);
	free(big);
}

/* escape: controls, C1, bidi and zero-width are escaped, text is not. */
static void
test_escape(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "plain text", "plain text" },
		{ "caf\xc3\xa9 \xe6\x97\xa5", "caf\xc3\xa9 \xe6\x97\xa5" },
		{ "a\x1b[2Jb", "a\\x1b[2Jb" },
		{ "t\tn\nr\r", "t\\tn\\nr\\r" },
		{ "del\x7f", "del\\x7f" },
		{ "c1\xc2\x9b", "c1\\u{009B}" },
		{ "rtl\xe2\x80\xae"
		  "evil",
		  "rtl\\u{202E}evil" },
		{ "zw\xe2\x80\x8bsp", "zw\\u{200B}sp" },
		{ "bom\xef\xbb\xbf", "bom\\u{FEFF}" },
		{ "bad\xff", "bad\\xff" },
		{ "overlong\xc0\xaf", "overlong\\xc0\\xaf" },
		{ "cut\xe6\x97", "cut\\xe6\\x97" },
	};
	size_t i;
	char *e;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		e = esc_text(cases[i].in);
		assert_string_equal(e, cases[i].out);
		assert_int_equal(esc_needed(cases[i].in),
		                 strcmp(cases[i].in, cases[i].out) != 0);
		free(e);
	}
	e = esc_text(NULL);
	assert_string_equal(e, "");
	free(e);
	assert_true(esc_invisible(0x2066));
	assert_false(esc_invisible(0x20AC));
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
	/* prefixing the last message with context reads it whole */
	sf_error_set(SF_EINVALID, "format_version 2 is not supported");
	sf_error_set(SF_EINVALID, "%s: %s", "f.plan", sf_error_last());
	assert_string_equal(sf_error_last(),
	                    "f.plan: format_version 2 is not supported");
	sf_error_clear();
	assert_string_equal(sf_error_last(), "");
}

static void
test_validate_display_string(void **state)
{
	(void)state;
	assert_int_equal(validate_display_string("web-1"), 0);
	assert_int_equal(validate_display_string("a<1 and b>2"), 0);
	assert_int_equal(validate_display_string("tab\there\r\n"), 0);
	assert_int_equal(validate_display_string("caf\xc3\xa9"), 0);
	assert_int_equal(validate_display_string("a\x01"
	                                         "b"),
	                 VALIDATE_CONTROL);
	assert_int_equal(validate_display_string("a\x7f"), VALIDATE_CONTROL);
	/* an opening without '>' is a tag for Daytona, not a whole tag */
	assert_int_equal(validate_display_string("a<b"), VALIDATE_TAG_OPEN);
	assert_int_equal(validate_display_string("x</i"), VALIDATE_TAG_OPEN);
	assert_int_equal(validate_display_string("<b>x"),
	                 VALIDATE_TAG_OPEN | VALIDATE_TAG);
	assert_int_equal(validate_display_string("<1 <a >"),
	                 VALIDATE_TAG_OPEN | VALIDATE_TAG);
	assert_int_equal(validate_display_string("see HTTPS://x"),
	                 VALIDATE_URL);
	assert_int_equal(validate_display_string("WWW.x"), VALIDATE_URL);
	assert_int_equal(validate_display_string("javascript:1"), VALIDATE_URL);
	assert_int_equal(validate_display_string("data"), 0);
	assert_int_equal(validate_display_string("\x02<a>http://"),
	                 VALIDATE_CONTROL | VALIDATE_TAG_OPEN | VALIDATE_TAG |
	                         VALIDATE_URL);
}

static void
test_validate_cidr(void **state)
{
	(void)state;
	assert_true(validate_cidr("10.0.0.0/8", 0));
	assert_true(validate_cidr("0.0.0.0/0", 0));
	assert_true(validate_cidr("255.255.255.255/32", 0));
	assert_false(validate_cidr("10.0.0.0", 0));
	assert_false(validate_cidr("10.0.0.0/33", 0));
	assert_false(validate_cidr("256.0.0.0/8", 0));
	assert_false(validate_cidr("1000.0.0.0/8", 0));
	assert_false(validate_cidr("10.0.0/8", 0));
	assert_false(validate_cidr("10.0.0.0/8x", 0));
	assert_false(validate_cidr("10.0.0.0/", 0));
	assert_false(validate_cidr("::1/128", 0));
	assert_false(validate_cidr("", 0));
	/* leading zeros: Daytona's rule takes them, the strict one not */
	assert_true(validate_cidr("01.2.3.4/08", 0));
	assert_false(validate_cidr("01.2.3.4/8", VALIDATE_NO_LEADING_ZERO));
	assert_false(validate_cidr("1.2.3.4/08", VALIDATE_NO_LEADING_ZERO));
	assert_true(validate_cidr("0.0.0.0/0", VALIDATE_NO_LEADING_ZERO));
	assert_true(validate_cidr("10.0.0.0/8", VALIDATE_NO_LEADING_ZERO));
}

static void
test_validate_domain(void **state)
{
	char long_label[80], long_name[300];

	(void)state;
	assert_true(validate_domain("example.com"));
	assert_true(validate_domain("*.example.com"));
	assert_true(validate_domain("a-b.c0.io"));
	assert_true(validate_domain("1a.com"));
	assert_true(validate_domain("A.EXAMPLE.Org"));
	assert_false(validate_domain("localhost"));
	assert_false(validate_domain("-a.com"));
	assert_false(validate_domain("a-.com"));
	assert_false(validate_domain("a..com"));
	assert_false(validate_domain("a.com."));
	assert_false(validate_domain(".a.com"));
	assert_false(validate_domain("*.*.com"));
	assert_false(validate_domain("*.com"));
	assert_false(validate_domain("*."));
	assert_false(validate_domain("a_b.com"));
	assert_false(validate_domain("http://a.com"));
	assert_false(validate_domain("a.com/x"));
	assert_false(validate_domain(""));
	/* the top-level label: letters only, two or more (issue 14) */
	assert_false(validate_domain("example.123"));
	assert_false(validate_domain("1.2.3.4"));
	assert_false(validate_domain("a.b"));
	assert_false(validate_domain("a.1com"));
	assert_false(validate_domain("example.c0m"));
	assert_false(validate_domain("a.co-m"));
	assert_true(validate_domain("a.io"));
	/* labels up to 63 bytes; the name and its last label unbounded */
	memset(long_label, 'a', 64);
	memcpy(long_label + 64, ".com", 5);
	assert_false(validate_domain(long_label));
	memmove(long_label + 63, long_label + 64, 5);
	assert_true(validate_domain(long_label));
	for (int i = 0; i < 140; i++)
		memcpy(long_name + 2 * i, "a.", 2);
	memcpy(long_name + 280, "com", 4);
	assert_true(validate_domain(long_name));
	memcpy(long_name, "a.", 2);
	memset(long_name + 2, 'x', 100);
	long_name[102] = '\0';
	assert_true(validate_domain(long_name));
}

static void
test_validate_secret_name(void **state)
{
	(void)state;
	assert_true(validate_secret_name("gh-token"));
	assert_true(validate_secret_name("_x"));
	assert_true(validate_secret_name("A_b-9"));
	assert_false(validate_secret_name(""));
	assert_false(validate_secret_name("1abc"));
	assert_false(validate_secret_name("-abc"));
	assert_false(validate_secret_name("a b"));
	assert_false(validate_secret_name("a.b"));
}

static void
test_validate_ipv4(void **state)
{
	(void)state;
	assert_true(validate_ipv4("0.0.0.0"));
	assert_true(validate_ipv4("255.255.255.255"));
	assert_true(validate_ipv4("10.1.20.3"));
	assert_false(validate_ipv4("01.1.1.1"));
	assert_false(validate_ipv4("256.1.1.1"));
	assert_false(validate_ipv4("1.1.1"));
	assert_false(validate_ipv4("1.1.1.1.1"));
	assert_false(validate_ipv4("1.1.1.1/8"));
	assert_false(validate_ipv4(""));
}

static void
test_validate_paths(void **state)
{
	(void)state;
	assert_int_equal(validate_mount_path("/data"), VALIDATE_PATH_OK);
	assert_int_equal(validate_mount_path("/a/b.c/d/"), VALIDATE_PATH_OK);
	assert_int_equal(validate_mount_path("/a/..b"), VALIDATE_PATH_OK);
	assert_int_equal(validate_mount_path("data"), VALIDATE_PATH_RELATIVE);
	assert_int_equal(validate_mount_path(""), VALIDATE_PATH_RELATIVE);
	assert_int_equal(validate_mount_path("/"), VALIDATE_PATH_ROOT);
	assert_int_equal(validate_mount_path("//"), VALIDATE_PATH_SLASHES);
	assert_int_equal(validate_mount_path("/a//b"), VALIDATE_PATH_SLASHES);
	assert_int_equal(validate_mount_path("/a/../b"), VALIDATE_PATH_DOT);
	assert_int_equal(validate_mount_path("/a/."), VALIDATE_PATH_DOT);
	assert_int_equal(validate_mount_path("/./a"), VALIDATE_PATH_DOT);

	assert_int_equal(validate_subpath("a/b"), VALIDATE_PATH_OK);
	assert_int_equal(validate_subpath("./a"), VALIDATE_PATH_OK);
	assert_int_equal(validate_subpath(""), VALIDATE_PATH_OK);
	assert_int_equal(validate_subpath("a/...b"), VALIDATE_PATH_OK);
	assert_int_equal(validate_subpath("/a"), VALIDATE_PATH_ABSOLUTE);
	assert_int_equal(validate_subpath("a//b"), VALIDATE_PATH_SLASHES);
	assert_int_equal(validate_subpath("a/../b"), VALIDATE_PATH_DOTDOT);
	assert_int_equal(validate_subpath(".."), VALIDATE_PATH_DOTDOT);

	assert_true(validate_has_segment("a/./b", "."));
	assert_true(validate_has_segment("..", ".."));
	assert_true(validate_has_segment("/x/..", ".."));
	assert_false(validate_has_segment("a/.b/c.", "."));
	assert_false(validate_has_segment("", "."));
}

static void
test_validate_uuid(void **state)
{
	(void)state;
	assert_true(validate_uuid("123e4567-e89b-12d3-a456-426614174000"));
	assert_true(validate_uuid("123E4567-E89B-12D3-A456-426614174000"));
	assert_false(validate_uuid("123e4567-e89b-12d3-a456-42661417400"));
	assert_false(validate_uuid("123e4567-e89b-12d3-a456-4266141740000"));
	assert_false(validate_uuid("123e4567xe89b-12d3-a456-426614174000"));
	assert_false(validate_uuid("123e4567-e89b-12d3-a456-42661417400g"));
	assert_false(validate_uuid(""));
}

/* redact: every registered value (and its JSON-escaped form) becomes ***
 * wherever it appears, the longest match wins, short values are refused,
 * and errors made by sf_error_set are masked too. */
/* SET: a string literal into s, with its NUL */
#define SET(s, lit) memcpy((s), (lit), sizeof(lit))

static void
test_redact(void **state)
{
	char s[256];
	size_t n;

	(void)state;
	redact_reset();
	SET(s, "nothing registered: hunter22 stays");
	assert_int_equal(redact_text(s, strlen(s)), strlen(s));
	assert_int_equal(redact_register("abc"), -1);
	assert_int_equal(redact_register(""), -1);
	assert_int_equal(redact_count(), 0);
	assert_int_equal(redact_register("hunter22"), 0);
	assert_int_equal(redact_register("hunter22"), 0); /* once */
	assert_int_equal(redact_count(), 1);
	assert_int_equal(redact_register("hunter22-long"), 0);
	assert_int_equal(redact_register("pa\"ss\nword"), 0);
	/* value + its escaped form */
	assert_int_equal(redact_count(), 4);

	SET(s, "hunter22 and hunter22-long and hunter2");
	redact_str(s);
	assert_string_equal(s, "*** and *** and hunter2");
	SET(s, "{\"v\":\"pa\\\"ss\\nword\"}");
	redact_str(s);
	assert_string_equal(s, "{\"v\":\"***\"}");
	/* only len bytes are looked at; the rest stays */
	SET(s, "xhunter22yhunter22");
	n = redact_text(s, 10);
	assert_int_equal(n, 5);
	assert_memory_equal(s, "x***y", 5);

	sf_error_set(SF_EINVALID, "server said: bad value 'hunter22'");
	assert_string_equal(sf_error_last(), "server said: bad value '***'");
	redact_reset();
	assert_int_equal(redact_count(), 0);
	SET(s, "hunter22");
	redact_str(s);
	assert_string_equal(s, "hunter22");
}

static void
test_suggest(void **state)
{
	static const char *const cmds[] = { "init",  "validate", "plan",
		                            "state", "apply",    "destroy" };
	static const char *const keys[] = { "image", "snapshot", NULL,
		                            "autoStopInterval" };

	(void)state;
	assert_int_equal(suggest_distance("plan", "plan"), 0);
	assert_int_equal(suggest_distance("pln", "plan"), 1);
	assert_int_equal(suggest_distance("paln", "plan"), 1); /* a swap */
	assert_int_equal(suggest_distance("Plan", "plan"), 1);
	assert_int_equal(suggest_distance("", "abc"), 3);
	assert_int_equal(suggest_distance("kitten", "sitting"), 3);
	assert_string_equal(suggest_closest("pln", cmds, 6), "plan");
	assert_string_equal(suggest_closest("aply", cmds, 6), "apply");
	assert_string_equal(suggest_closest("valdiate", cmds, 6), "validate");
	assert_string_equal(suggest_closest("destory", cmds, 6), "destroy");
	assert_string_equal(suggest_closest("State", cmds, 6), "state");
	/* equally near: the first */
	assert_string_equal(suggest_closest("plate", cmds, 6), "plan");
	assert_null(suggest_closest("plan", cmds, 6));
	assert_null(suggest_closest("frobnicate", cmds, 6));
	assert_null(suggest_closest("x", cmds, 6));
	assert_null(suggest_closest("", cmds, 6));
	assert_string_equal(suggest_closest("imgae", keys, 4), "image");
	assert_string_equal(suggest_closest("autoStopIntervall", keys, 4),
	                    "autoStopInterval");
	assert_string_equal(suggest_closest("autostopinterval", keys, 4),
	                    "autoStopInterval");
	assert_null(suggest_closest("replicas", keys, 4));
}

/* intern: one shared copy per string, known by address; long strings
 * and a full buffer are refused (the caller keeps its own copy), and
 * intern_free frees only what is not shared. */
static void
test_intern(void **state)
{
	char text[200], *own;
	const char *a, *b;
	size_t i, refused = 0;

	(void)state;
	a = intern_str("daytona-small", 13);
	b = intern_str("daytona-small-x", 13); /* the same 13 bytes */
	assert_non_null(a);
	assert_ptr_equal(a, b);
	assert_string_equal(a, "daytona-small");
	assert_true(intern_owns(a));
	assert_ptr_not_equal(intern_str("daytona", 7), a);
	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	assert_null(intern_str(text, strlen(text))); /* too long */
	own = intern_dup(text);
	assert_false(intern_owns(own));
	intern_free(own);       /* freed: ASAN would tell a leak */
	intern_free((char *)a); /* shared: not freed */
	assert_string_equal(a, "daytona-small");
	for (i = 0; i < 6000; i++) {
		snprintf(text, sizeof(text), "distinct-%zu", i);
		if (intern_str(text, strlen(text)) == NULL)
			refused++;
	}
	assert_true(refused > 0); /* bounded */
	own = intern_dup("distinct-5999-again");
	assert_false(intern_owns(own)); /* full: a copy of its own */
	intern_free(own);
	assert_ptr_equal(intern_str("daytona-small", 13), a); /* still there */
}

/* nameix: every name found, absent ones not, the first of a repeated
 * name kept, growth from a small hint keeps everything. */
static const char *
ix_name(const void *ctx, size_t i)
{
	return ((const char *const *)ctx)[i];
}

static void
test_nameix(void **state)
{
	enum { N = 5000 };
	static char names[N + 1][16];
	const char *v[N + 1];
	struct nameix x;
	size_t i;

	(void)state;
	for (i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "sb-%05zu", i);
		v[i] = names[i];
	}
	snprintf(names[N], sizeof(names[N]), "sb-%05d", 7); /* again */
	v[N] = names[N];
	nameix_init(&x, ix_name, v, 4);
	assert_int_equal(nameix_find(&x, "sb-00000"), -1);
	for (i = 0; i <= N; i++)
		nameix_add(&x, i);
	assert_int_equal(x.n, N); /* the repeat is not added */
	assert_true(2 * x.n <= x.mask + 1);
	for (i = 0; i < N; i++)
		assert_int_equal(nameix_find(&x, names[i]), (long)i);
	assert_int_equal(nameix_find(&x, "sb-00007"), 7); /* the first */
	assert_int_equal(nameix_find(&x, "sb-5000"), -1);
	assert_int_equal(nameix_find(&x, ""), -1);
	nameix_free(&x);
	assert_int_equal(nameix_find(&x, "sb-00001"), -1);
}

/* strmap_set_all gives the map strmap_set one by one gives: random keys
 * with repeats, into empty and non-empty maps, below and above the batch */
static void
test_strmap_set_all(void **state)
{
	static const char *const words[] = { "a",   "b", "team",
		                             "env", "z", "sandform.dev/x",
		                             "" };
	uint32_t rnd = 7;
	size_t iter, base = strmap_pool_size();

	(void)state;
	for (iter = 0; iter < 2000; iter++) {
		const char *keys[40], *vals[40];
		struct strmap a = STRMAP_INIT, b = STRMAP_INIT;
		size_t n, i;

#define NEXT() (rnd = rnd * 1103515245u + 12345u, (rnd >> 16) & 0x7fff)
		n = NEXT() % (iter % 10 == 0 ? 40 : 8);
		for (i = 0; i < n; i++) {
			keys[i] = words[NEXT() % 7];
			vals[i] = words[NEXT() % 7];
		}
		if (NEXT() % 4 == 0) {
			strmap_set(&a, "pre", "1");
			strmap_set(&b, "pre", "1");
		}
		strmap_set_all(&a, keys, vals, n);
		for (i = 0; i < n; i++)
			strmap_set(&b, keys[i], vals[i]);
		assert_true(strmap_equal(&a, &b));
		for (i = 1; i < a.n; i++)
			assert_true(strcmp(a.v[i - 1].key, a.v[i].key) < 0);
		strmap_clear(&a);
		strmap_clear(&b);
#undef NEXT
	}
	assert_int_equal(strmap_pool_size(), base); /* every pair let go */
}

/* strmap_scan_json reads what strmap_from_json reads, or gives up (1) */
static void
test_strmap_scan_json(void **state)
{
	static const struct {
		const char *text;
		int scanned;
	} cases[] = {
		{ "{}", 1 },
		{ " { \"b\" : \"2\", \"a\":\"1\" } trailing", 1 },
		{ "{\"k\":\"v\\\"\\\\\\n\",\"k\":\"w\"}", 1 },
		{ "{\"sandform.dev/owned\":\"[\\\"team\\\"]\"}", 1 },
		{ "{\"a\":\"\\u00e9\"}", 0 },
		{ "{\"a\":1}", 0 },
		{ "{\"a\":null}", 0 },
		{ "null", 0 },
		{ "[]", 0 },
		{ "{\"a\":\"b\",}", 0 },
		{ "{\"a\":\"b\"", 0 },
		{ "", 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct strmap got = STRMAP_INIT, want = STRMAP_INIT;
		cJSON *j = cJSON_Parse(cases[i].text);
		int rc = strmap_scan_json(cases[i].text, strlen(cases[i].text),
		                          &got);

		if (rc != !cases[i].scanned)
			fail_msg("case %zu: rc %d", i, rc);
		if (rc == 0) {
			assert_int_equal(strmap_from_json(j, "labels", &want),
			                 0);
			assert_true(strmap_equal(&got, &want));
		} else {
			assert_int_equal(got.n, 0);
		}
		strmap_clear(&got);
		strmap_clear(&want);
		cJSON_Delete(j);
	}
}

/* jsonscan: what it reads, and where it gives up (-1) */
static void
test_jsonscan(void **state)
{
	static const char *const skips[] = {
		"1",
		"-0.5e+3",
		"\"a\\\"b\"",
		"[]",
		"{}",
		"[1,[2,{\"a\":[]}]]",
		"{\"a\":{\"b\":null},\"c\":true}",
		" false ",
	};
	static const char *const bad[] = {
		"01",       "1.",  "-",    "+1",         "\"\\u0041\"",
		"\"a\tb\"", "\"a", "[1,]", "{\"a\":1,}", "{\"a\"}",
		"{1:2}",    "tru", "nul",  "[",          "\"\\q\"",
	};
	char scratch[64], deep[2 * JSCAN_MAX_DEPTH + 3];
	struct jscan s;
	const char *t, *from;
	size_t i, n;
	double d;

	(void)state;
	for (i = 0; i < sizeof(skips) / sizeof(skips[0]); i++) {
		jscan_init(&s, skips[i], strlen(skips[i]), scratch,
		           sizeof(scratch));
		assert_int_equal(jscan_skip(&s, &from), 0);
		assert_ptr_equal(jscan_peek(&s) < 0 ? NULL : s.p, NULL);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		jscan_init(&s, bad[i], strlen(bad[i]), scratch,
		           sizeof(scratch));
		if (jscan_skip(&s, NULL) == 0 && jscan_peek(&s) < 0)
			fail_msg("'%s' read as a whole value", bad[i]);
	}
	/* a string without escapes points into the text, with them into
	 * scratch, decoded and NUL-terminated */
	t = "\"plain\" \"a\\n\\/\\\\\"";
	jscan_init(&s, t, strlen(t), scratch, sizeof(scratch));
	assert_int_equal(jscan_string(&s, &from, &n), 0);
	assert_ptr_equal(from, t + 1);
	assert_int_equal(n, 5);
	assert_int_equal(jscan_string(&s, &from, &n), 0);
	assert_ptr_equal(from, scratch);
	assert_string_equal(from, "a\n/\\");
	assert_int_equal(n, 4);
	/* scratch too small: gives up */
	jscan_init(&s, t, strlen(t), scratch, 4);
	assert_int_equal(jscan_string_z(&s, &from, &n), -1);
	/* integers of at most 15 digits */
	t = "123456789012345 -7 1234567890123456 1.0";
	jscan_init(&s, t, strlen(t), scratch, sizeof(scratch));
	assert_int_equal(jscan_int(&s, &d), 0);
	assert_true(d == 123456789012345.0);
	assert_int_equal(jscan_int(&s, &d), 0);
	assert_true(d == -7.0);
	assert_int_equal(jscan_int(&s, &d), -1);
	/* nesting beyond JSCAN_MAX_DEPTH gives up; at it, reads */
	for (n = JSCAN_MAX_DEPTH; n <= JSCAN_MAX_DEPTH + 1; n++) {
		memset(deep, '[', n);
		memset(deep + n, ']', n);
		jscan_init(&s, deep, 2 * n, scratch, sizeof(scratch));
		assert_int_equal(jscan_skip(&s, NULL),
		                 n == JSCAN_MAX_DEPTH ? 0 : -1);
	}
	t = "[1 ,2]x";
	jscan_init(&s, t, strlen(t), scratch, sizeof(scratch));
	assert_int_equal(jscan_expect(&s, '['), 0);
	assert_int_equal(jscan_int(&s, &d), 0);
	assert_int_equal(jscan_more(&s, ']'), 1);
	assert_int_equal(jscan_int(&s, &d), 0);
	assert_int_equal(jscan_more(&s, ']'), 0);
	assert_int_equal(jscan_more(&s, ']'), -1);
	assert_int_equal(jscan_literal(&s), -1);
}

/* workpool: every job once, on no more threads than asked for */
struct pool_probe {
	pthread_mutex_t mu;
	unsigned *done;
	int running, most;
};

static void
pool_job(void *arg, size_t i)
{
	struct pool_probe *p = arg;

	pthread_mutex_lock(&p->mu);
	p->done[i]++;
	if (++p->running > p->most)
		p->most = p->running;
	pthread_mutex_unlock(&p->mu);
	usleep(200); /* long enough for the others to start */
	pthread_mutex_lock(&p->mu);
	p->running--;
	pthread_mutex_unlock(&p->mu);
}

static void
test_workpool(void **state)
{
	static const size_t ns[] = { 0, 1, 5, 64, 300 };
	static const size_t maxes[] = { 1, 2, 8, WORKPOOL_MAX, 1000 };
	struct pool_probe p;
	size_t a, b, i;

	(void)state;
	for (a = 0; a < sizeof(ns) / sizeof(ns[0]); a++)
		for (b = 0; b < sizeof(maxes) / sizeof(maxes[0]); b++) {
			memset(&p, 0, sizeof(p));
			pthread_mutex_init(&p.mu, NULL);
			p.done = xcalloc(ns[a] + 1, sizeof(*p.done));
			workpool_run(ns[a], maxes[b], pool_job, &p);
			for (i = 0; i < ns[a]; i++)
				assert_int_equal(p.done[i], 1);
			assert_true((size_t)p.most <= maxes[b]);
			assert_true(p.most <= WORKPOOL_MAX);
			if (ns[a] > 0)
				assert_true(p.most >= 1);
			free(p.done);
			pthread_mutex_destroy(&p.mu);
		}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_basic),
		cmocka_unit_test(test_nameix),
		cmocka_unit_test(test_intern),
		cmocka_unit_test(test_buf_cap),
		cmocka_unit_test(test_buf_grow_large),
		cmocka_unit_test(test_buf_json_string),
		cmocka_unit_test(test_strnum),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_iso_time),
		cmocka_unit_test(test_hash),
		cmocka_unit_test(test_strmap),
		cmocka_unit_test(test_strmap_grow),
		cmocka_unit_test(test_strmap_pool),
		cmocka_unit_test(test_arena),
		cmocka_unit_test(test_json_arena),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_file_atomic_and_read),
		cmocka_unit_test(test_error),
		cmocka_unit_test(test_validate_display_string),
		cmocka_unit_test(test_validate_cidr),
		cmocka_unit_test(test_validate_domain),
		cmocka_unit_test(test_validate_ipv4),
		cmocka_unit_test(test_validate_secret_name),
		cmocka_unit_test(test_validate_paths),
		cmocka_unit_test(test_validate_uuid),
		cmocka_unit_test(test_redact),
		cmocka_unit_test(test_suggest),
		cmocka_unit_test(test_jsonscan),
		cmocka_unit_test(test_strmap_scan_json),
		cmocka_unit_test(test_strmap_set_all),
		cmocka_unit_test(test_workpool),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
