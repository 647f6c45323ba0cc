#!/bin/sh
# sandform watch at scale (issue 12), not a timed test: daytona-emulator on
# a free loopback port seeded with N sandboxes of one stack (default
# 10,000), their manifests, and an unchanged source. Reports, as medians of
# RUNS (default 3), one cycle's API requests and CPU (watch --once: the
# whole process, start-up and loading the manifests included; target: the
# list pages only, < 1 s CPU), then the RSS of one watch process after 10
# and after CYCLES (default 1,000) cycles at --interval 100ms (target: flat).
# Run it from a build directory configured without sanitizers.
#
# Usage: tests/bench/bench-watch.sh [N [CYCLES]]
# Environment: SANDFORM, DAYTONA_EMULATOR (default ./sandform,
#   ./daytona-emulator), RUNS.
set -eu

n=${1:-10000}
cycles=${2:-1000}
runs=${RUNS:-3}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/bench/lib.sh
. "$here/lib.sh"
sandform=${SANDFORM:-./sandform}
emulator=${DAYTONA_EMULATOR:-./daytona-emulator}
[ -x "$sandform" ] || { echo "bench: no sandform at $sandform" >&2; exit 1; }
[ -x "$emulator" ] || { echo "bench: no daytona-emulator at $emulator" >&2; exit 1; }
bench_have_time || { echo "bench: /usr/bin/time missing (Debian package 'time')" >&2; exit 1; }

bench_begin sf-bench-watch
tmp=$bench_tmp
watch_pid=
stop_watch() {
	if [ -n "$watch_pid" ]; then kill "$watch_pid" 2>/dev/null || true; fi
	bench_end
}
trap stop_watch EXIT
key=bench-$$
bench_emu_start "$emulator" "$tmp" "$key" --threads 4
url=$bench_url
export DAYTONA_API_URL=$url/api DAYTONA_API_KEY=$key SANDFORM_STATE=$tmp/state.db
mkdir "$tmp/m"

# the labels sandform gives such a manifest, then N seeded sandboxes
printf 'apiVersion: sandform.dev/v1\nkind: Sandbox\nmetadata:\n  name: probe\nspec:\n  snapshot: daytona-small\n  autoStopInterval: 0\n' >"$tmp/m/probe.yaml"
labels=$("$sandform" plan "$tmp/m" --json --refresh=false --stack bw |
	python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin)["actions"][0]["steps"][0]["labels"]))')
rm "$tmp/m/probe.yaml" "$tmp/state.db"*
curl -fsS -X POST "$url/_emulator/seed" \
	-d "{\"count\":$n,\"namePrefix\":\"s-\",\"create\":{\"snapshot\":\"daytona-small\",\"autoStopInterval\":0,\"labels\":$labels}}" >/dev/null
python3 -c '
import sys
for i in range(int(sys.argv[1])):
    print("---\napiVersion: sandform.dev/v1\nkind: Sandbox\nmetadata:\n  name: s-%05d\nspec:\n  snapshot: daytona-small\n  autoStopInterval: 0" % i)' "$n" >"$tmp/m/seeded.yaml"
"$sandform" watch "$tmp/m" --once --stack bw >/dev/null 2>&1 # records the stack

total() {
	curl -fsS "$url/_emulator/counters" | python3 -c 'import json, sys; print(json.load(sys.stdin)["total"])'
}

: >"$tmp/once"
i=0
while [ $i -lt "$runs" ]; do
	before=$(total)
	/usr/bin/time -f '%U %S' -o "$tmp/t" "$sandform" watch "$tmp/m" --once --stack bw >/dev/null 2>&1
	after=$(total)
	read -r u s <"$tmp/t"
	echo "$((after - before)) $(echo "$u + $s" | bc)" >>"$tmp/once"
	i=$((i + 1))
done
echo "bench-watch: N=$n sandboxes, unchanged source"
echo "one cycle (watch --once): requests=$(cut -d' ' -f1 "$tmp/once" | bench_median) cpu_s=$(cut -d' ' -f2 "$tmp/once" | bench_median) (median of $runs)"

rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
"$sandform" watch "$tmp/m" --stack bw --interval 100ms --jitter 0 >"$tmp/loop.out" 2>"$tmp/loop.err" &
watch_pid=$!
wait_cycle() {
	while ! grep -q "^watch: cycle $1 " "$tmp/loop.out"; do
		kill -0 "$watch_pid" 2>/dev/null || { cat "$tmp/loop.err" >&2; exit 1; }
		sleep 0.05
	done
}
start=$(date +%s)
wait_cycle 10
r10=$(rss "$watch_pid")
wait_cycle "$cycles"
rn=$(rss "$watch_pid")
end=$(date +%s)
kill -TERM "$watch_pid"
wait "$watch_pid" || true
watch_pid=
echo "loop at --interval 100ms: rss_kib after 10 cycles=$r10, after $cycles cycles=$rn ($((end - start)) s)"
