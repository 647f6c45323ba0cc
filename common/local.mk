# common/: small shared helpers, linked by sandform and daytona-emulator.
noinst_LTLIBRARIES += libcommon.la
libcommon_la_SOURCES = \
	common/arena.c common/arena.h \
	common/banned.h common/base.h \
	common/buf.c common/buf.h \
	common/cancel.h \
	common/error.c common/error.h \
	common/escape.c common/escape.h \
	common/exitcodes.h \
	common/fileutil.c common/fileutil.h \
	common/hash.c common/hash.h \
	common/intern.c common/intern.h \
	common/jsonscan.c common/jsonscan.h \
	common/jsonutil.c common/jsonutil.h \
	common/log.c common/log.h \
	common/nameix.c common/nameix.h \
	common/workpool.c common/workpool.h \
	common/redact.c common/redact.h \
	common/strnum.c common/strnum.h \
	common/suggest.c common/suggest.h \
	common/timeutil.c common/timeutil.h \
	common/validate.c common/validate.h \
	common/xalloc.c common/xalloc.h
libcommon_la_SOURCES += common/strmap.c common/strmap.h
libcommon_la_CFLAGS = $(AM_CFLAGS) $(CRYPTO_CFLAGS) $(CJSON_CFLAGS)
libcommon_la_LIBADD = $(CRYPTO_LIBS) $(CJSON_LIBS)

check_PROGRAMS += tests/unit/unit-common
TESTS += tests/unit/unit-common
tests_unit_unit_common_SOURCES = tests/unit/test_common.c
tests_unit_unit_common_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_unit_common_LDADD = libcommon.la $(CMOCKA_LIBS)
