# state/: see DESIGN.md §2. Sources are added to libsandform.la.
libsandform_la_SOURCES += state/store.c state/store.h

check_PROGRAMS += tests/unit/unit-store
TESTS += tests/unit/unit-store
tests_unit_unit_store_SOURCES = tests/unit/test_store.c
tests_unit_unit_store_CFLAGS = $(SF_UNIT_CFLAGS)
tests_unit_unit_store_LDADD = $(SF_UNIT_LIBS)

TESTS += tests/e2e/t2500-state.bats
EXTRA_DIST += tests/e2e/t2500-state.bats
TESTS += tests/e2e/t2501-state-rm.bats
EXTRA_DIST += tests/e2e/t2501-state-rm.bats
