# manifests/: the desired-sandbox model and its field table (spec), the
# spec label (spechash), secret references (secret), the incremental loader
# and its kinds (loader, doc, kind-*), value rules, the sources (source),
# YAML (ytree, and yfast for its common subset) and diagnostics (diag).
# DESIGN.md §2-3. Sources are added to libsandform.la.
libsandform_la_SOURCES += \
	manifests/diag.c manifests/diag.h \
	manifests/doc.c manifests/doc.h \
	manifests/kind-sandbox.c \
	manifests/kind-resource.c manifests/resource.c manifests/resource.h \
	manifests/kind-stack.c manifests/stack.h \
	manifests/loader.c manifests/manifest.h \
	manifests/rules.c manifests/rules.h \
	manifests/schema.c manifests/schema.h \
	manifests/secret.c manifests/secret.h \
	manifests/source.c manifests/source.h \
	manifests/ignorefile.c manifests/ignorefile.h \
	manifests/kind-stack-watch.c manifests/kind-stack-watch.h \
	manifests/spec.c manifests/spec.h \
	manifests/spechash.c manifests/spechash.h \
	manifests/yfast.c manifests/yfast.h \
	manifests/ytree.c manifests/ytree.h

check_PROGRAMS += tests/unit/unit-manifest
TESTS += tests/unit/unit-manifest
tests_unit_unit_manifest_SOURCES = tests/unit/test_manifest.c
tests_unit_unit_manifest_CFLAGS = $(SF_UNIT_CFLAGS)
tests_unit_unit_manifest_LDADD = $(SF_UNIT_LIBS)
check_PROGRAMS += tests/unit/unit-yfast
TESTS += tests/unit/unit-yfast
tests_unit_unit_yfast_SOURCES = tests/unit/test_yfast.c tests/unit/rnd.h
tests_unit_unit_yfast_CFLAGS = $(SF_UNIT_CFLAGS)
tests_unit_unit_yfast_LDADD = $(SF_UNIT_LIBS)

TESTS += tests/e2e/t0001-cli.bats tests/e2e/t1001-validate.bats
EXTRA_DIST += tests/e2e/t0001-cli.bats tests/e2e/t1001-validate.bats \
	tests/fixtures/manifests

dist_man_MANS += docs/sandform.1
EXTRA_DIST += docs/manifest.md \
	examples/browser-agent/browser-agent.yaml \
	examples/agent-pool/pool.yaml \
	examples/gpu-job/gpu-job.yaml

# libFuzzer targets (CC=clang --enable-fuzzing); tests/fuzz/run-fuzz.sh.
if ENABLE_FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz-loader tests/fuzz/fuzz-pagescan \
	tests/fuzz/fuzz-yaml
endif
tests_fuzz_fuzz_yaml_SOURCES = tests/fuzz/fuzz_yaml.c
tests_fuzz_fuzz_yaml_CFLAGS = $(AM_CFLAGS) $(SF_DEPS_CFLAGS)
tests_fuzz_fuzz_yaml_LDFLAGS = -fsanitize=fuzzer
tests_fuzz_fuzz_yaml_LDADD = libsandform.la
tests_fuzz_fuzz_pagescan_SOURCES = tests/fuzz/fuzz_pagescan.c
tests_fuzz_fuzz_pagescan_CFLAGS = $(AM_CFLAGS) $(SF_DEPS_CFLAGS)
tests_fuzz_fuzz_pagescan_LDFLAGS = -fsanitize=fuzzer
tests_fuzz_fuzz_pagescan_LDADD = libsandform.la
tests_fuzz_fuzz_loader_SOURCES = tests/fuzz/fuzz_loader.c
tests_fuzz_fuzz_loader_CFLAGS = $(AM_CFLAGS) $(SF_DEPS_CFLAGS)
tests_fuzz_fuzz_loader_LDFLAGS = -fsanitize=fuzzer
tests_fuzz_fuzz_loader_LDADD = libsandform.la
dist_noinst_SCRIPTS += tests/fuzz/run-fuzz.sh
EXTRA_DIST += tests/fuzz/corpus tests/fuzz/manifest.dict tests/fuzz/corpus-page
# Benchmark, run by hand (not a test): tests/bench/bench-validate.sh.
dist_noinst_SCRIPTS += tests/bench/bench-validate.sh tests/bench/gen-manifests.sh \
	tests/bench/bench-git.sh

# Git sources (issue 11): the source and its internal modules: the
# configuration, cache repositories, the remote (auth, TLS, host keys),
# known_hosts, signature verification, semver ranges, URLs.
libsandform_la_SOURCES += \
	manifests/source-git.c manifests/source-git.h \
	manifests/git-cache.c manifests/git-cache.h \
	manifests/git-config.c \
	manifests/git-knownhosts.c manifests/git-knownhosts.h \
	manifests/git-remote.c manifests/git-remote.h \
	manifests/git-semver.c manifests/git-semver.h \
	manifests/git-url.c manifests/git-url.h \
	manifests/git-verify.c manifests/git-verify.h

TESTS += tests/e2e/t6001-git-sources.bats tests/e2e/t6002-git-https.bats \
	tests/e2e/t6003-git-ssh.bats tests/e2e/t6004-git-verify.bats \
	tests/e2e/t6005-git-stackfile.bats
EXTRA_DIST += docs/gitops.md tests/e2e/t6001-git-sources.bats \
	tests/e2e/t6002-git-https.bats \
	tests/e2e/t6003-git-ssh.bats tests/e2e/t6004-git-verify.bats \
	tests/e2e/t6005-git-stackfile.bats tests/e2e/lib/gitserver.bash \
	tests/e2e/lib/lsan-libgit2.supp

check_PROGRAMS += tests/unit/unit-git
TESTS += tests/unit/unit-git
tests_unit_unit_git_SOURCES = tests/unit/test_git.c
tests_unit_unit_git_CFLAGS = $(SF_UNIT_CFLAGS)
tests_unit_unit_git_LDADD = $(SF_UNIT_LIBS)

# The JSON Schema of the manifest kinds (sandform schema), shipped as
# docs/sandform.schema.json; the e2e test checks the examples with it,
# through yaml2json (a helper, not a test) and a stdlib-only checker.
TESTS += tests/e2e/t1002-schema.bats
EXTRA_DIST += tests/e2e/t1002-schema.bats tests/e2e/lib/schema_check.py
dist_pkgdata_DATA = docs/sandform.schema.json
check_PROGRAMS += tests/yaml2json
tests_yaml2json_SOURCES = tests/unit/test_yaml2json.c
tests_yaml2json_CFLAGS = $(AM_CFLAGS) $(SF_DEPS_CFLAGS)
tests_yaml2json_LDADD = libsandform.la

# .sandformignore and the stack file's exclude: (issue 10)
TESTS += tests/e2e/t1003-sandformignore.bats
EXTRA_DIST += tests/e2e/t1003-sandformignore.bats
