# manifests/: the manifest model, YAML loader, validation, secret refs
# (DESIGN.md §2-3). Sources are added to libsandform.la.
libsandform_la_SOURCES += \
	manifests/diag.h \
	manifests/manifest.h
libsandform_la_SOURCES += \
	manifests/diag.c \
	manifests/manifest.c \
	manifests/ytree.c manifests/ytree.h

check_PROGRAMS += tests/unit/unit-manifest
TESTS += tests/unit/unit-manifest
tests_unit_unit_manifest_SOURCES = tests/unit/test_manifest.c
tests_unit_unit_manifest_CFLAGS = $(SF_UNIT_CFLAGS)
tests_unit_unit_manifest_LDADD = $(SF_UNIT_LIBS)

TESTS += tests/e2e/t0001-cli.bats tests/e2e/t1001-validate.bats
EXTRA_DIST += tests/e2e/t0001-cli.bats tests/e2e/t1001-validate.bats \
	tests/fixtures/manifests

dist_man_MANS += docs/sandform.1
EXTRA_DIST += docs/manifest.md \
	examples/browser-agent/browser-agent.yaml \
	examples/agent-pool/pool.yaml \
	examples/gpu-job/gpu-job.yaml
