#!/bin/sh
# run-fuzz.sh SECONDS [BUILDDIR [TARGET]]: configure a separate clang build
# with libFuzzer (CC=clang --enable-fuzzing, which adds ASan; UBSan too),
# build a fuzz target and fuzz it for SECONDS (default 60), starting from
# its seed corpus. TARGET is fuzz-loader (the manifest loader, the
# default), fuzz-pagescan (the list page scanner against cJSON) or
# fuzz-yaml (yfast against libyaml). New inputs go to
# BUILDDIR/fuzz-corpus (fuzz-corpus-pagescan, fuzz-corpus-yaml), crashes to
# BUILDDIR/fuzz-artifacts; the exit status is libFuzzer's (non-zero on a
# crash, leak or timeout).
set -eu

secs=${1:-60}
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${2:-${FUZZ_BUILDDIR:-$src/build-fuzz}}

mkdir -p "$build"
cd "$build"
if [ ! -f Makefile ]; then
	"$src/configure" CC=clang --enable-fuzzing --enable-ubsan \
		--disable-dependency-tracking >configure.log 2>&1 || {
		tail -20 configure.log >&2
		exit 1
	}
fi
target=${3:-fuzz-loader}
case $target in
fuzz-loader)
	corpus=fuzz-corpus seeds=$src/tests/fuzz/corpus
	set -- -dict="$src/tests/fuzz/manifest.dict"
	;;
fuzz-pagescan)
	corpus=fuzz-corpus-pagescan seeds=$src/tests/fuzz/corpus-page
	set --
	;;
fuzz-yaml)
	corpus=fuzz-corpus-yaml seeds=$src/tests/fuzz/corpus
	set -- -dict="$src/tests/fuzz/manifest.dict"
	;;
*)
	echo "run-fuzz.sh: unknown target '$target'" >&2
	exit 2
	;;
esac
make -j2 "tests/fuzz/$target" >make.log 2>&1 || {
	tail -40 make.log >&2
	exit 1
}
mkdir -p "$corpus" fuzz-artifacts
exec "./tests/fuzz/$target" -max_total_time="$secs" -timeout=10 \
	-rss_limit_mb=1024 -max_len=65536 -print_final_stats=1 \
	-artifact_prefix=fuzz-artifacts/ "$@" "$corpus" "$seeds"
