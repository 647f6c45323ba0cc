# emulator/: daytona-emulator, a local Daytona-compatible API server. It
# shares only common/ with sandform. Everything but main.c lives in
# libemulator.la so the unit tests can link it.
noinst_LTLIBRARIES += libemulator.la
libemulator_la_SOURCES = \
	emulator/htab.c emulator/htab.h \
	emulator/model.c emulator/model.h \
	emulator/server.c emulator/server.h \
	emulator/store.c emulator/store.h
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
