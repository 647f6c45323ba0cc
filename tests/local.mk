# tests/: unit (cmocka, one binary per module), e2e (bats), conformance
# (the official TypeScript SDK against the emulator), fuzz, bench.
# Unit test binaries are named tests/unit/unit-MODULE.
SF_UNIT_CFLAGS = $(AM_CFLAGS) $(SF_DEPS_CFLAGS) $(CMOCKA_CFLAGS) -DSF_UNITTEST
SF_UNIT_LIBS = libsftest.la libsandform.la $(CMOCKA_LIBS)

# The official-SDK conformance test and the SDK benchmark.
include tests/conformance/local.mk
