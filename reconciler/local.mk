# reconciler/: the core library (DESIGN.md §2): the spec and its hash, the
# refresh walk, the diff (plan), plan output and saved plans, and the
# executor (apply). It never prints and never reads argv: cli/ does.
libsandform_la_SOURCES += \
	reconciler/labels.c reconciler/labels.h \
	reconciler/create.c reconciler/create.h \
	reconciler/plan.c reconciler/plan.h reconciler/plan-build.h \
	reconciler/plan-diff.c reconciler/plan-res.c \
	reconciler/plan-ignore.c \
	reconciler/planout.c reconciler/planout.h \
	reconciler/refresh.c reconciler/refresh.h \
	reconciler/resources.c reconciler/resources.h \
	reconciler/apply.c reconciler/apply.h reconciler/apply-int.h \
	reconciler/apply-steps.c reconciler/apply-wait.c \
	reconciler/apply-recover.c \
	reconciler/reconcile.c reconciler/reconcile.h
check_PROGRAMS += tests/unit/unit-plan
TESTS += tests/unit/unit-plan
tests_unit_unit_plan_SOURCES = tests/unit/test_plan.c
tests_unit_unit_plan_CFLAGS = $(SF_UNIT_CFLAGS)
tests_unit_unit_plan_LDADD = $(SF_UNIT_LIBS)
EXTRA_DIST += tests/demo.sh
TESTS += tests/e2e/t2010-stacks.bats
EXTRA_DIST += tests/e2e/t2010-stacks.bats
TESTS += tests/e2e/t2001-plan.bats
EXTRA_DIST += tests/e2e/t2001-plan.bats tests/e2e/lib/plan.bash \
	tests/e2e/lib/sandbox.bash
TESTS += tests/e2e/t2002-plan-ownership.bats
EXTRA_DIST += tests/e2e/t2002-plan-ownership.bats
TESTS += tests/e2e/t2003-plan-changes.bats
EXTRA_DIST += tests/e2e/t2003-plan-changes.bats
TESTS += tests/e2e/t3001-apply.bats
EXTRA_DIST += tests/e2e/t3001-apply.bats tests/e2e/lib/apply.bash
TESTS += tests/e2e/t3005-apply-observe.bats
EXTRA_DIST += tests/e2e/t3005-apply-observe.bats
TESTS += tests/e2e/t3010-apply-0218.bats
EXTRA_DIST += tests/e2e/t3010-apply-0218.bats
TESTS += tests/e2e/t3020-apply-resources.bats
EXTRA_DIST += tests/e2e/t3020-apply-resources.bats
TESTS += tests/e2e/t3021-resources-stack.bats
EXTRA_DIST += tests/e2e/t3021-resources-stack.bats
TESTS += tests/e2e/t3510-saved-plan-integrity.bats
EXTRA_DIST += tests/e2e/t3510-saved-plan-integrity.bats
TESTS += tests/e2e/t3520-secret-redaction.bats
EXTRA_DIST += tests/e2e/t3520-secret-redaction.bats
TESTS += tests/e2e/t2004-plan-faults.bats
EXTRA_DIST += tests/e2e/t2004-plan-faults.bats
dist_noinst_SCRIPTS += tests/bench/bench-plan.sh
EXTRA_DIST += tests/bench/lib.sh
EXTRA_DIST += docs/plan-format.md
TESTS += tests/e2e/t3100-apply-faults.bats tests/e2e/t3200-apply-crash.bats \
	tests/e2e/t3300-apply-concurrent.bats tests/e2e/t3400-apply-lock-lost.bats
EXTRA_DIST += tests/e2e/t3100-apply-faults.bats \
	tests/e2e/t3200-apply-crash.bats tests/e2e/t3300-apply-concurrent.bats \
	tests/e2e/t3400-apply-lock-lost.bats
check_PROGRAMS += tests/unit/unit-apply
TESTS += tests/unit/unit-apply
tests_unit_unit_apply_SOURCES = tests/unit/test_apply.c
tests_unit_unit_apply_CFLAGS = $(SF_UNIT_CFLAGS)
tests_unit_unit_apply_LDADD = $(SF_UNIT_LIBS)
dist_noinst_SCRIPTS += tests/bench/bench-apply.sh
dist_noinst_SCRIPTS += tests/bench/bench-conn.sh
dist_noinst_SCRIPTS += tests/bench/bench-ratelimit.sh
dist_noinst_SCRIPTS += tests/bench/bench-watch.sh
TESTS += tests/e2e/t0002-cli-settings.bats
EXTRA_DIST += tests/e2e/t0002-cli-settings.bats
check_PROGRAMS += tests/unit/unit-reconcile
TESTS += tests/unit/unit-reconcile
tests_unit_unit_reconcile_SOURCES = tests/unit/test_reconcile.c
tests_unit_unit_reconcile_CFLAGS = $(SF_UNIT_CFLAGS)
tests_unit_unit_reconcile_LDADD = $(SF_UNIT_LIBS)
