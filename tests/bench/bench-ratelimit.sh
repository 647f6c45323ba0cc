#!/bin/sh
# Rate-limited apply against its bound (issue 13, item 1), not a timed
# test: daytona-emulator with --rate-limit create=L/W (default 300/60) on a
# free loopback port; N creates (default 600) applied at parallelism C
# (default 32) with a fresh state, RUNS times (default 3). The bound is the
# windows the creates need after the first, (ceil(N/L) - 1) * W seconds,
# plus one create. Prints per run and the medians: wall seconds, wall/bound
# and the 429 answers (share of requests). Target: <= 1.1x the bound, 429s
# <= 2% of requests. Then the same with the official SDK (sdk-ratelimit.mjs:
# a create loop that sleeps Retry-After on 429), when Node.js and the SDK
# are there. Run it from a build directory without sanitizers.
#
# Usage: tests/bench/bench-ratelimit.sh [N [C [L/W]]]
# Environment: SANDFORM (default ./sandform), DAYTONA_EMULATOR (default
#   ./daytona-emulator), RUNS (default 3), NODE (default node),
#   SF_SDK_MODULES (default tests/conformance/node_modules of this tree).
set -eu

n=${1:-600}
conc=${2:-32}
lw=${3:-300/60}
runs=${RUNS:-3}
lim=${lw%/*}
win=${lw#*/}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/bench/lib.sh
. "$here/lib.sh"
sandform=${SANDFORM:-./sandform}
emulator=${DAYTONA_EMULATOR:-./daytona-emulator}
node=${NODE:-node}
modules=${SF_SDK_MODULES:-$here/../conformance/node_modules}

[ -x "$sandform" ] || { echo "bench: no sandform at $sandform (set SANDFORM)" >&2; exit 1; }
[ -x "$emulator" ] || { echo "bench: no daytona-emulator at $emulator (set DAYTONA_EMULATOR)" >&2; exit 1; }

bench_begin sf-bench-ratelimit
tmp=$bench_tmp
key=bench-$$
bench_emu_start "$emulator" "$tmp" "$key" --latency-ms 20 --transition-ms 200 \
	--threads 8 --rate-limit "create=$lw"
url=$bench_url

mkdir "$tmp/m"
i=0
while [ $i -lt "$n" ]; do
	printf -- '---\napiVersion: sandform.dev/v1\nkind: Sandbox\nmetadata:\n  name: rl-%05d\nspec:\n  snapshot: daytona-small\n  autoStopInterval: 0\n' "$i"
	i=$((i + 1))
done >"$tmp/m/rl.yaml"

bound=$(python3 -c "import math; print((math.ceil($n / $lim) - 1) * $win + 0.5)")
echo "bench-ratelimit: N=$n parallelism=$conc limit=$lim per ${win}s bound_s=$bound"
# measure SIDE: RUNS runs of one side, each from a reset emulator in a new
# window; prints each run and the medians
measure() {
	side=$1
	: >"$tmp/runs"
	r=0
	while [ $r -lt "$runs" ]; do
		rm -f "$tmp/state.db"*
		curl -fsS -X POST "$url/_emulator/reset" >/dev/null
		# a new window for the run: the emulator's buckets start over
		sleep "$win"
		start=$(date +%s.%N)
		if [ "$side" = sandform ]; then
			DAYTONA_API_URL=$url/api DAYTONA_API_KEY=$key \
				SANDFORM_STATE=$tmp/state.db \
				"$sandform" apply "$tmp/m" --stack rl --auto-approve \
				--parallelism "$conc" >/dev/null 2>"$tmp/err" ||
				{ echo "bench: apply failed:" >&2; tail -3 "$tmp/err" >&2; exit 1; }
		else
			SF_EMU_URL=$url SF_EMU_KEY=$key SF_SDK_MODULES=$modules \
				"$node" "$here/sdk-ratelimit.mjs" "$n" "$conc" \
				>/dev/null 2>"$tmp/err" ||
				{ echo "bench: the SDK loop failed:" >&2; tail -3 "$tmp/err" >&2; exit 1; }
		fi
		end=$(date +%s.%N)
		curl -fsS "$url/_emulator/requests" >"$tmp/log"
		python3 - "$tmp/log" "$start" "$end" "$bound" >>"$tmp/runs" <<'PY'
import json, sys
total = t429 = 0
for line in open(sys.argv[1]):
    line = line.strip()
    if not line:
        continue
    d = json.loads(line)
    if not d.get("path", "").startswith("/api/"):
        continue
    total += 1
    t429 += d.get("status") == 429
wall = float(sys.argv[3]) - float(sys.argv[2])
print("%.1f %.2f %d %d" % (wall, wall / float(sys.argv[4]), t429, total))
PY
		tail -1 "$tmp/runs" | awk -v s="$side" '{ printf "%s run: wall_s=%s ratio=%s 429s=%s of %s requests\n", s, $1, $2, $3, $4 }'
		r=$((r + 1))
	done
	echo "$side median: wall_s=$(cut -d' ' -f1 "$tmp/runs" | bench_median)" \
		"ratio=$(cut -d' ' -f2 "$tmp/runs" | bench_median)" \
		"429s=$(cut -d' ' -f3 "$tmp/runs" | bench_median)" \
		"requests=$(cut -d' ' -f4 "$tmp/runs" | bench_median)"
}

measure sandform
if command -v "$node" >/dev/null 2>&1 &&
	[ -f "$modules/@daytonaio/sdk/package.json" ]; then
	measure sdk
else
	echo "sdk: not measured (no $node or no @daytonaio/sdk in $modules)"
fi
