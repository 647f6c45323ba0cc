# state/: see DESIGN.md §2. Sources are added to libsandform.la.
libsandform_la_SOURCES += state/store.c state/store.h state/backend.h \
	state/location.c state/location.h state/migrate.c \
	state/store-sqlite.c state/store-sqlite.h state/store-sqlite-copy.c \
	state/statefile.c state/statefile.h \
	state/store-pg.c state/store-pg.h state/store-pg-lock.c \
	state/store-pg-copy.c
# libpq: the PostgreSQL backend (libtool hands -lpq on to every program
# that links libsandform.la).
libsandform_la_CFLAGS += $(PQ_CFLAGS)
libsandform_la_LIBADD += $(PQ_LIBS)

# The store's tests: the contract every backend passes (run once per
# backend the suite lists) and each backend's own.
SF_STORE_TEST_COMMON = tests/unit/test_store_common.c tests/unit/test_store.h

check_PROGRAMS += tests/unit/unit-store-contract
TESTS += tests/unit/unit-store-contract
tests_unit_unit_store_contract_SOURCES = tests/unit/test_store_contract.c \
	$(SF_STORE_TEST_COMMON)
tests_unit_unit_store_contract_CFLAGS = $(SF_UNIT_CFLAGS)
tests_unit_unit_store_contract_LDADD = $(SF_UNIT_LIBS)

check_PROGRAMS += tests/unit/unit-store-sqlite
TESTS += tests/unit/unit-store-sqlite
tests_unit_unit_store_sqlite_SOURCES = tests/unit/test_store_sqlite.c \
	$(SF_STORE_TEST_COMMON)
tests_unit_unit_store_sqlite_CFLAGS = $(SF_UNIT_CFLAGS)
tests_unit_unit_store_sqlite_LDADD = $(SF_UNIT_LIBS)

# The PostgreSQL backend's own tests. Without SF_TEST_PG_URL only those
# that need no server run (the others are skipped); the wrapper below
# starts a server and runs them, and the contract's PostgreSQL target,
# against it (SKIP, exit 77, without PostgreSQL).
check_PROGRAMS += tests/unit/unit-store-pg
TESTS += tests/unit/unit-store-pg
tests_unit_unit_store_pg_SOURCES = tests/unit/test_store_pg.c \
	$(SF_STORE_TEST_COMMON)
tests_unit_unit_store_pg_CFLAGS = $(SF_UNIT_CFLAGS) $(PQ_CFLAGS)
tests_unit_unit_store_pg_LDADD = $(SF_UNIT_LIBS) $(PQ_LIBS)
TESTS += tests/unit/store-pg-server.sh
dist_noinst_SCRIPTS += tests/unit/store-pg-server.sh

# A helper of the end-to-end tests, not a test: it writes through the
# store API what only a running or interrupted run leaves in a state.
check_PROGRAMS += tests/store-tool
tests_store_tool_SOURCES = tests/unit/test_store_tool.c
tests_store_tool_CFLAGS = $(AM_CFLAGS) $(SF_DEPS_CFLAGS)
tests_store_tool_LDADD = libsandform.la

TESTS += tests/e2e/t2500-state.bats
EXTRA_DIST += tests/e2e/t2500-state.bats
TESTS += tests/e2e/t2501-state-rm.bats
EXTRA_DIST += tests/e2e/t2501-state-rm.bats

# PostgreSQL end to end: each file starts its own server (tests/e2e/lib/
# pg.bash; SKIP without PostgreSQL).
SF_PG_E2E = tests/e2e/t2510-state-pg.bats tests/e2e/t2511-state-pg-locks.bats \
	tests/e2e/t2512-state-pg-faults.bats tests/e2e/t2513-state-pg-migrate.bats
TESTS += $(SF_PG_E2E)
EXTRA_DIST += $(SF_PG_E2E) tests/e2e/lib/pg.bash docs/state-backends.md
# The benchmark (run by hand against a build without sanitizers).
dist_noinst_SCRIPTS += tests/bench/bench-state-pg.sh

# The PostgreSQL cluster template the tests copy (tests/e2e/lib/pg.bash).
clean-local: clean-local-pg
clean-local-pg:
	-rm -rf tests/pg-template-* tests/pg-template.lock
.PHONY: clean-local-pg
