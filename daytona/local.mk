# daytona/: see DESIGN.md §2. Sources are added to libsandform.la.
# The Daytona API client: client.h is the interface, transport.h the HTTP
# vtable (libcurl in production). transport-fake.h is an in-memory
# transport for the unit tests of every module: it is built into a
# test-only library (libsftest.la), never into libsandform.la or sandform.
libsandform_la_SOURCES += \
	daytona/call.h daytona/client.c daytona/client.h \
	daytona/config.c daytona/config.h \
	daytona/list.c \
	daytona/reply.c daytona/reply.h \
	daytona/resources.c \
	daytona/sandbox.c \
	daytona/transport.c daytona/transport.h

check_LTLIBRARIES += libsftest.la
libsftest_la_SOURCES = daytona/transport-fake.c daytona/transport-fake.h
libsftest_la_CFLAGS = $(AM_CFLAGS) $(SF_DEPS_CFLAGS)

check_PROGRAMS += tests/unit/unit-client
TESTS += tests/unit/unit-client
tests_unit_unit_client_SOURCES = tests/unit/test_client.c tests/unit/rnd.h
tests_unit_unit_client_CFLAGS = $(SF_UNIT_CFLAGS)
tests_unit_unit_client_LDADD = $(SF_UNIT_LIBS)

check_PROGRAMS += tests/unit/unit-client-reply
TESTS += tests/unit/unit-client-reply
tests_unit_unit_client_reply_SOURCES = tests/unit/test_client_reply.c
tests_unit_unit_client_reply_CFLAGS = $(SF_UNIT_CFLAGS)
tests_unit_unit_client_reply_LDADD = $(SF_UNIT_LIBS)

check_PROGRAMS += tests/unit/unit-client-curl
TESTS += tests/unit/unit-client-curl
tests_unit_unit_client_curl_SOURCES = tests/unit/test_client_curl.c
tests_unit_unit_client_curl_CFLAGS = $(SF_UNIT_CFLAGS)
tests_unit_unit_client_curl_LDADD = $(SF_UNIT_LIBS)

# End-to-end: the client against daytona-emulator (through sandform plan).
TESTS += tests/e2e/t2800-client.bats
EXTRA_DIST += tests/e2e/t2800-client.bats
# over TLS behind lighttpd with a test CA; off loopback inside unshare -n
TESTS += tests/e2e/t2810-client-tls.bats
EXTRA_DIST += tests/e2e/t2810-client-tls.bats
