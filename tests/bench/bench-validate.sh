#!/bin/sh
# bench-validate.sh [SANDFORM]: generate 10,000 sandbox manifests in 100
# files in a temporary directory, run "sandform validate" on them 5 times,
# and report the median wall time and median peak RSS. Not a timed test:
# run it by hand on a normal (non-sanitizer) build, e.g.
#	mkdir build-rel && cd build-rel && ../configure && make -j2
#	../tests/bench/bench-validate.sh ./sandform
# Target: under 0.5 s and under 64 MiB. Peak RSS needs GNU time
# (/usr/bin/time, Debian package 'time'); without it only wall time is
# reported.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/bench/lib.sh
. "$here/lib.sh"
sandform=${1:-${SANDFORM:-./sandform}}
runs=5
bench_begin sf-bench
tmp=$bench_tmp

"$here/gen-manifests.sh" "$tmp/manifests" 10000 100
nfiles=$(find "$tmp/manifests" -name '*.yaml' | wc -l)
bytes=$(cat "$tmp/manifests"/*/*.yaml | wc -c)
echo "generated 10000 sandboxes in $nfiles files ($bytes bytes)"
out=$("$sandform" validate "$tmp/manifests")
echo "sandform says: $out"
[ "$out" = "10000 sandboxes in 100 files" ] || {
	echo "unexpected output" >&2
	exit 1
}

have_time=0
bench_have_time && have_time=1
[ $have_time = 1 ] || echo "note: /usr/bin/time (Debian package 'time') missing: no peak RSS"

i=0
: >"$tmp/results"
while [ $i -lt $runs ]; do
	if [ $have_time = 1 ]; then
		/usr/bin/time -o "$tmp/t" -f '%e %M' \
			"$sandform" validate "$tmp/manifests" >/dev/null
		cat "$tmp/t" >>"$tmp/results"
	else
		s=$(date +%s.%N)
		"$sandform" validate "$tmp/manifests" >/dev/null
		e=$(date +%s.%N)
		echo "$s $e" | awk '{ printf "%.2f 0\n", $2 - $1 }' >>"$tmp/results"
	fi
	i=$((i + 1))
done
echo "runs (wall s, peak RSS KiB):"
sed 's/^/  /' "$tmp/results"
wall=$(cut -d' ' -f1 "$tmp/results" | bench_median)
rss=$(cut -d' ' -f2 "$tmp/results" | bench_median)
echo "median wall time: ${wall} s (target < 0.5 s)"
if [ $have_time = 1 ]; then
	echo "median peak RSS: $((rss / 1024)) MiB (${rss} KiB; target < 64 MiB)"
fi
