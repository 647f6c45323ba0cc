#!/bin/sh
# bench-emulator.sh: throughput of daytona-emulator with 10,000 sandboxes.
#
#   tests/bench/bench-emulator.sh [path/to/daytona-emulator]
#
# Build the emulator WITHOUT sanitizers for this (a separate build dir:
# ../configure CFLAGS=-O2 && make daytona-emulator). Measures, RUNS times
# each (default 3), and prints the medians:
#   - GET /api/sandbox/{id} requests/s with wrk, 256 connections, 2 threads
#   - a full label-filtered list walk (limit 200) over 5,000 matches of
#     10,000 sandboxes, in ms (one client, pages fetched one after another)
# Needs wrk and python3 (Debian packages wrk, python3). Talks only to
# 127.0.0.1.
set -eu

# shellcheck source=tests/bench/lib.sh
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"

EMU=${1:-${DAYTONA_EMULATOR:-./daytona-emulator}}
RUNS=${RUNS:-3}
DURATION=${DURATION:-5s}
CONNS=${CONNS:-256}
N=${N:-10000}

command -v wrk >/dev/null || { echo "bench: wrk not found (apt-get install wrk)" >&2; exit 1; }
[ -x "$EMU" ] || { echo "bench: $EMU is not executable" >&2; exit 1; }
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3

bench_begin sf-bench-emulator
tmp=$bench_tmp

bench_emu_start "$EMU" "$tmp" bench-key --threads 2
url=$bench_url

half=$((N / 2))
for team in a b; do
	curl -sS -o /dev/null -X POST -H 'Content-Type: application/json' \
		-d "{\"count\":$half,\"namePrefix\":\"$team-\",\"create\":{\"labels\":{\"team\":\"$team\",\"tier\":\"bench\"}}}" \
		"$url/_emulator/seed"
done
id=$(curl -sS -H 'Authorization: Bearer bench-key' "$url/api/sandbox/a-01234" |
	"$PY" -c 'import json,sys; print(json.load(sys.stdin)["id"])')

: >"$tmp/get"
: >"$tmp/walk"
for r in $(seq 1 "$RUNS"); do
	wrk -t2 -c"$CONNS" -d"$DURATION" -H 'Authorization: Bearer bench-key' \
		"$url/api/sandbox/$id" >"$tmp/wrk.$r"
	if grep -q 'Non-2xx' "$tmp/wrk.$r"; then
		echo "bench: non-2xx answers:" >&2
		cat "$tmp/wrk.$r" >&2
		exit 1
	fi
	awk '/Requests\/sec/ { print int($2) }' "$tmp/wrk.$r" >>"$tmp/get"
	grep -h 'Socket errors' "$tmp/wrk.$r" >&2 || true

	"$PY" - "$url" "$half" >>"$tmp/walk" <<'EOF'
import json, sys, time, urllib.parse, urllib.request
url = sys.argv[1]
labels = urllib.parse.quote(json.dumps({"team": "a"}))
cursor, n, pages = None, 0, 0
t0 = time.monotonic()
while True:
    q = "limit=200&labels=" + labels
    if cursor:
        q += "&cursor=" + urllib.parse.quote(cursor, safe="")
    req = urllib.request.Request(url + "/api/sandbox?" + q,
                                 headers={"Authorization": "Bearer bench-key"})
    with urllib.request.urlopen(req) as resp:
        d = json.load(resp)
    n += len(d["items"])
    pages += 1
    cursor = d["nextCursor"]
    if not cursor:
        break
ms = (time.monotonic() - t0) * 1000
if n != int(sys.argv[2]):
    sys.exit("walk returned %d sandboxes" % n)
print("%.1f" % ms)
EOF
done

echo "sandboxes:                         $N"
echo "GET /sandbox/{id}, $CONNS connections: $(bench_median <"$tmp/get") req/s (median of $RUNS: $(tr '\n' ' ' <"$tmp/get"))"
echo "label-filtered walk ($half of $N, limit 200): $(bench_median <"$tmp/walk") ms (median of $RUNS: $(tr '\n' ' ' <"$tmp/walk"))"
