# emulator/: daytona-emulator, a local Daytona-compatible API server. It
# shares only common/ with sandform. Everything but main.c lives in
# libemulator.la so the unit tests can link it.
noinst_LTLIBRARIES += libemulator.la
libemulator_la_SOURCES = \
	emulator/api.h \
	emulator/api-create.c \
	emulator/api-list.c \
	emulator/api-sandbox.c \
	emulator/body.c emulator/body.h \
	emulator/db.c emulator/db.h \
	emulator/resources.c emulator/resources.h \
	emulator/faults.c emulator/faults.h \
	emulator/hooks.c emulator/hooks.h \
	emulator/htab.c emulator/htab.h \
	emulator/http.c emulator/http.h \
	emulator/internal.h \
	emulator/jsnum.c emulator/jsnum.h \
	emulator/model.c emulator/model.h \
	emulator/routes.c emulator/routes.h \
	emulator/server.c emulator/server.h \
	emulator/utf8.c emulator/utf8.h
libemulator_la_CFLAGS = $(AM_CFLAGS) $(MHD_CFLAGS) $(CJSON_CFLAGS) \
	$(SQLITE_CFLAGS)
libemulator_la_LIBADD = libcommon.la $(MHD_LIBS) $(CJSON_LIBS) \
	$(SQLITE_LIBS) -lpthread -lm

bin_PROGRAMS += daytona-emulator
daytona_emulator_SOURCES = emulator/main.c
daytona_emulator_CFLAGS = $(AM_CFLAGS) $(MHD_CFLAGS) $(CJSON_CFLAGS) \
	$(SQLITE_CFLAGS)
daytona_emulator_LDADD = libemulator.la

dist_man_MANS += docs/daytona-emulator.1

# Unit tests: the state machine and validators, the db, the server helpers.
EMU_UNIT_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(CJSON_CFLAGS) \
	$(SQLITE_CFLAGS) -DSF_UNITTEST
EMU_UNIT_LIBS = libemulator.la $(CMOCKA_LIBS)
check_PROGRAMS += tests/unit/unit-emu_model tests/unit/unit-emu_db \
	tests/unit/unit-emu_server tests/unit/unit-emu_jsnum
TESTS += tests/unit/unit-emu_model tests/unit/unit-emu_db \
	tests/unit/unit-emu_server tests/unit/unit-emu_jsnum
tests_unit_unit_emu_model_SOURCES = tests/unit/test_emu_model.c
tests_unit_unit_emu_model_CFLAGS = $(EMU_UNIT_CFLAGS)
tests_unit_unit_emu_model_LDADD = $(EMU_UNIT_LIBS)
tests_unit_unit_emu_db_SOURCES = tests/unit/test_emu_db.c
tests_unit_unit_emu_db_CFLAGS = $(EMU_UNIT_CFLAGS)
tests_unit_unit_emu_db_LDADD = $(EMU_UNIT_LIBS)
tests_unit_unit_emu_server_SOURCES = tests/unit/test_emu_server.c
tests_unit_unit_emu_server_CFLAGS = $(EMU_UNIT_CFLAGS) $(MHD_CFLAGS)
tests_unit_unit_emu_server_LDADD = $(EMU_UNIT_LIBS)
tests_unit_unit_emu_jsnum_SOURCES = tests/unit/test_emu_jsnum.c
tests_unit_unit_emu_jsnum_CFLAGS = $(EMU_UNIT_CFLAGS)
tests_unit_unit_emu_jsnum_LDADD = $(EMU_UNIT_LIBS)

# End-to-end tests (bats + curl), each test with its own emulator.
EMU_E2E = \
	tests/e2e/t8001-emulator-basics.bats \
	tests/e2e/t8002-emulator-create.bats \
	tests/e2e/t8003-emulator-lifecycle.bats \
	tests/e2e/t8004-emulator-list.bats \
	tests/e2e/t8005-emulator-faults.bats \
	tests/e2e/t8006-emulator-hooks.bats \
	tests/e2e/t8007-emulator-timing.bats \
	tests/e2e/t8008-emulator-0218-fields.bats \
	tests/e2e/t8009-emulator-0218-routes.bats \
	tests/e2e/t8010-emulator-wire.bats \
	tests/e2e/t8011-emulator-resources.bats
TESTS += $(EMU_E2E)
EXTRA_DIST += $(EMU_E2E) tests/e2e/lib/emulator.bash docs/daytona-api-notes.md

# The benchmark (run by hand against a build without sanitizers).
dist_noinst_SCRIPTS += tests/bench/bench-emulator.sh
