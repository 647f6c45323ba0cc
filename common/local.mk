# common/: small shared helpers, linked by sandform and daytona-emulator.
noinst_LTLIBRARIES += libcommon.la
libcommon_la_SOURCES = \
	common/banned.h \
	common/buf.c common/buf.h \
	common/error.c common/error.h \
	common/exitcodes.h \
	common/fileutil.c common/fileutil.h \
	common/hash.c common/hash.h \
	common/log.c common/log.h \
	common/strnum.c common/strnum.h \
	common/timeutil.c common/timeutil.h \
	common/xalloc.c common/xalloc.h
libcommon_la_CFLAGS = $(AM_CFLAGS) $(CRYPTO_CFLAGS)
libcommon_la_LIBADD = $(CRYPTO_LIBS)
