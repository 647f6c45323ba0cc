#!/bin/sh
# run-fuzz.sh SECONDS [BUILDDIR]: configure a separate clang build with
# libFuzzer (CC=clang --enable-fuzzing, which adds ASan; UBSan too), build
# the manifest loader target and fuzz it for SECONDS (default 60), starting
# from the seed corpus. New inputs go to BUILDDIR/fuzz-corpus, crashes to
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
make -j2 tests/fuzz/fuzz-loader >make.log 2>&1 || {
	tail -40 make.log >&2
	exit 1
}
mkdir -p fuzz-corpus fuzz-artifacts
exec ./tests/fuzz/fuzz-loader -max_total_time="$secs" -timeout=10 \
	-rss_limit_mb=1024 -max_len=65536 -print_final_stats=1 \
	-artifact_prefix=fuzz-artifacts/ \
	-dict="$src/tests/fuzz/manifest.dict" \
	fuzz-corpus "$src/tests/fuzz/corpus"
