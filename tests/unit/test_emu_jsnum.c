/*
 * Unit tests for emulator/jsnum.c: JavaScript's Number(string) and
 * String(number), checked against what Node.js gives for the same text.
 */
#include "common/base.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>

#include <cmocka.h>

#include "emulator/jsnum.h"

static void
test_parse(void **unused)
{
	static const struct {
		const char *in;
		double want;
	} v[] = {
		{ "0", 0 },
		{ "42", 42 },
		{ "1e3", 1000 },
		{ "1E3", 1000 },
		{ "+7", 7 },
		{ "-7", -7 },
		{ ".5", 0.5 },
		{ "5.", 5 },
		{ "-.5e1", -5 },
		{ "0x10", 16 },
		{ "0XfF", 255 },
		{ "0o17", 15 },
		{ "0b101", 5 },
		{ "", 0 },
		{ "   ", 0 },
		{ " \t12\n ", 12 },
		{ "\xc2\xa0"
		  "3\xe3\x80\x80",
		  3 }, /* U+00A0, U+3000 */
		{ "\xef\xbb\xbf"
		  "4\xe2\x80\xa8",
		  4 }, /* U+FEFF, U+2028 */
		{ "2147483648", 2147483648.0 },
		{ "1e999", INFINITY },
		{ "-Infinity", -INFINITY },
		{ "+Infinity", INFINITY },
	};
	static const char *const nan[] = {
		"abc",
		"1e",
		".",
		"e3",
		"1_000",
		"0x",
		"-0x10",
		"+0b1",
		"0b2",
		"0o8",
		"1.2.3",
		"Inf",
		"infinity",
		"NaN",
		"nan",
		"0x1p3",
		"1 2",
		"\xe2\x80\x8b"
		"1", /* U+200B is no white space */
		"\xc2\x85"
		"1", /* nor is U+0085 */
	};

	(void)unused;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		double got = jsnum_parse(v[i].in);

		if (isinf(v[i].want))
			assert_true(isinf(got) && (got > 0) == (v[i].want > 0));
		else
			assert_true(got == v[i].want);
	}
	for (size_t i = 0; i < sizeof(nan) / sizeof(nan[0]); i++)
		assert_true(isnan(jsnum_parse(nan[i])));
	assert_true(signbit(jsnum_parse("-0")));
}

static void
test_integers(void **unused)
{
	(void)unused;
	assert_true(jsnum_is_int32(2147483647.0));
	assert_true(jsnum_is_int32(-2147483648.0));
	assert_false(jsnum_is_int32(2147483648.0));
	assert_false(jsnum_is_int32(1.5));
	assert_false(jsnum_is_int32(NAN));
	assert_false(jsnum_is_int32(INFINITY));
	assert_true(jsnum_is_integer(1e20));
	assert_false(jsnum_is_integer(INFINITY));
}

static void
test_format(void **unused)
{
	static const struct {
		double in;
		const char *want;
	} v[] = {
		{ 0, "0" },
		{ -0.0, "0" },
		{ 1000, "1000" },
		{ -3, "-3" },
		{ 1.5, "1.5" },
		{ 0.1 + 0.2, "0.30000000000000004" },
		{ 1e20, "100000000000000000000" },
		{ 1e21, "1e+21" },
		{ 1.5e300, "1.5e+300" },
		{ 0.000001, "0.000001" },
		{ 1e-7, "1e-7" },
		{ 1.25e-7, "1.25e-7" },
		{ 123456789.125, "123456789.125" },
		{ 5e-324, "5e-324" },
		{ 1.7976931348623157e308, "1.7976931348623157e+308" },
		{ 9007199254740993.0, "9007199254740992" },
		{ INFINITY, "Infinity" },
		{ -INFINITY, "-Infinity" },
		{ NAN, "NaN" },
	};
	char out[JSNUM_FORMAT_MAX];

	(void)unused;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		jsnum_format(v[i].in, out);
		assert_string_equal(out, v[i].want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
