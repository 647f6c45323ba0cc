#!/bin/sh
# SDK side of the apply benchmark (issue 5), not a timed test: starts
# daytona-emulator with --latency-ms 50 --transition-ms 1000 on a free
# loopback port, runs sdk-create.mjs (the official @daytonaio/sdk) for N
# sandboxes (default 1000) at concurrency C (default 32), and reports wall
# time, the total number of HTTP requests the emulator answered (its request
# counters) and the peak RSS of node.
#
# Usage: tests/bench/bench-sdk-create.sh [N [C]]
# Environment: DAYTONA_EMULATOR (default ./daytona-emulator, i.e. run from a
#   build directory), NODE (default node), SF_SDK_MODULES (node_modules with
#   @daytonaio/sdk; default tests/conformance/node_modules of this tree),
#   EMU_ARGS (extra emulator flags). The emulator's create waits for
#   `started` like the real API (up to 30 s), so the SDK needs no polling;
#   EMU_ARGS="--max-wait-ms 0" makes create answer at once and shows the
#   SDK's GET polling (100 ms steps) instead.
# Peak RSS is GNU time's %M when /usr/bin/time exists, else node's maxRSS.
set -eu

n=${1:-1000}
conc=${2:-32}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/bench/lib.sh
. "$here/lib.sh"
emulator=${DAYTONA_EMULATOR:-./daytona-emulator}
node=${NODE:-node}
modules=${SF_SDK_MODULES:-$here/../conformance/node_modules}

[ -x "$emulator" ] || { echo "bench: no daytona-emulator at $emulator (set DAYTONA_EMULATOR)" >&2; exit 1; }
[ -f "$modules/@daytonaio/sdk/package.json" ] ||
	{ echo "bench: @daytonaio/sdk not installed in $modules (npm ci in tests/conformance)" >&2; exit 1; }

bench_begin sf-bench-sdk
tmp=$bench_tmp

key=bench-$$
# shellcheck disable=SC2086
bench_emu_start "$emulator" "$tmp" "$key" \
	--latency-ms 50 --transition-ms 1000 ${EMU_ARGS:-}
url=$bench_url

# Start from an empty request log so only the SDK's requests are counted.
curl -fsS -X POST -H "Authorization: Bearer $key" "$url/_emulator/reset" >/dev/null

status=0
timer=
if bench_have_time; then
	timer="/usr/bin/time -f %M -o $tmp/rss"
fi
# shellcheck disable=SC2086
SF_EMU_URL=$url SF_EMU_KEY=$key SF_SDK_MODULES=$modules \
	$timer "$node" "$here/sdk-create.mjs" "$n" "$conc" >"$tmp/result" || status=$?
[ -s "$tmp/rss" ] || sed -n 's/.*"maxRssKiB":\([0-9]*\).*/\1/p' "$tmp/result" >"$tmp/rss"

curl -fsS -H "Authorization: Bearer $key" "$url/_emulator/counters" >"$tmp/counters"
"$node" -e '
const fs = require("fs");
const [counters, result, rss, n, conc] = process.argv.slice(1);
const c = JSON.parse(fs.readFileSync(counters, "utf8"));
const r = JSON.parse(fs.readFileSync(result, "utf8").trim().split("\n").pop());
const peak = fs.readFileSync(rss, "utf8").trim().split("\n").pop();
console.log(`sdk-create: N=${n} concurrency=${conc} ok=${r.ok} failed=${r.failed} wall_ms=${r.wallMs}` +
  ` http_requests=${c.total} node_peak_rss_kib=${peak}` +
  ` create_ms_median=${r.createMsMedian} create_ms_p95=${r.createMsP95}`);
for (const [k, v] of Object.entries(c.routes).sort((a, b) => b[1] - a[1])) console.log(`  ${v}\t${k}`);
' "$tmp/counters" "$tmp/result" "$tmp/rss" "$n" "$conc"
exit $status
