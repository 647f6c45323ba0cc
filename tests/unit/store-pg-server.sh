#!/bin/sh
# The PostgreSQL backend against a real server: starts one (tests/e2e/lib/
# pg.bash: a temporary directory, a free loopback port, an unprivileged
# user, stopped on exit), then runs the store contract's "postgresql"
# target and the backend's own tests (unit-store-pg) with SF_TEST_PG_URL
# naming it. Without PostgreSQL: SKIP (exit 77), never PASS.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
: "${SF_SRCDIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${SF_BUILDDIR:=.}"
# shellcheck source=tests/e2e/lib/pg.bash
. "$SF_SRCDIR/tests/e2e/lib/pg.bash"
if ! pg_available; then
	echo "SKIP: PostgreSQL is not installed (Debian package 'postgresql'; ./setup.sh installs it)"
	exit 77
fi
trap pg_stop EXIT
trap 'exit 1' INT TERM HUP
pg_start || exit 1
SF_TEST_PG_URL=$PG_URL
export SF_TEST_PG_URL
rc=0
"$SF_BUILDDIR/tests/unit/unit-store-contract" postgresql || rc=1
"$SF_BUILDDIR/tests/unit/unit-store-pg" || rc=1
exit $rc
