/*
 * Unit tests for the pure helpers of emulator/server.c: percent-decoding of
 * paths and query strings, and the snapshot table.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "emulator/server.h"

static void
check_decode(const char *in, bool plus, const char *want)
{
	char *got = emu_percent_decode(in, strlen(in), plus);

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
		char *got = emu_percent_decode("ab%20", 2, false);

		assert_string_equal(got, "ab");
		free(got);
	}
}

static void
test_snapshots(void **unused)
{
	const char *name;
	int cpu, mem, disk;

	(void)unused;
	assert_int_equal(
	        emu_snapshot_lookup("daytona-small", &name, &cpu, &mem, &disk),
	        0);
	assert_int_equal(cpu * 100 + mem * 10 + disk, 113);
	assert_int_equal(
	        emu_snapshot_lookup("daytona-medium", &name, &cpu, &mem, &disk),
	        0);
	assert_int_equal(cpu * 100 + mem * 10 + disk, 248);
	assert_int_equal(
	        emu_snapshot_lookup("daytona-large", &name, &cpu, &mem, &disk),
	        0);
	assert_int_equal(cpu, 4);
	assert_int_equal(mem, 8);
	assert_int_equal(disk, 10);
	/* by id, answering the name */
	assert_int_equal(emu_snapshot_lookup("3f0c1b7e-1a2b-4c3d-8e4f-"
	                                     "000000000002",
	                                     &name, &cpu, &mem, &disk),
	                 0);
	assert_string_equal(name, "daytona-medium");
	assert_int_equal(
	        emu_snapshot_lookup("ubuntu:22.04", &name, &cpu, &mem, &disk),
	        -1);
	assert_int_equal(
	        emu_snapshot_lookup("Daytona-Small", &name, &cpu, &mem, &disk),
	        -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_percent_decode),
		cmocka_unit_test(test_snapshots),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
