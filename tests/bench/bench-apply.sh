#!/bin/sh
# sandform side of the apply benchmark (issue 5), not a timed test: starts
# daytona-emulator with --latency-ms 50 --transition-ms 1000 on a free
# loopback port, writes N manifests (default 1000, snapshot-based), runs
# `sandform apply --auto-approve --parallelism C` (default 32) with a fresh
# state, and reports the wall time, the HTTP requests the emulator answered
# (its counters, per route) and sandform's peak RSS (also per create), for
# each of BENCH_RUNS runs (default 3, each from an empty emulator and a
# fresh state) and their medians. Issue 13: at most 3 KiB per create. Run it from a build
# directory configured without sanitizers. With SF_BENCH_SDK=1 it then runs
# tests/bench/bench-sdk-create.sh (the official SDK) with the same N, C and
# EMU_ARGS for comparison.
#
# Usage: tests/bench/bench-apply.sh [N [C]]
#        BENCH_MODE=drift tests/bench/bench-apply.sh [N [C]]
# Environment: SANDFORM (default ./sandform), DAYTONA_EMULATOR (default
#   ./daytona-emulator), EMU_ARGS (extra emulator flags, e.g.
#   "--max-wait-ms 0" for a server that answers create at once),
#   SF_BENCH_SDK=1 (also run the SDK side).
set -eu

n=${1:-1000}
conc=${2:-32}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/bench/lib.sh
. "$here/lib.sh"
sandform=${SANDFORM:-./sandform}
emulator=${DAYTONA_EMULATOR:-./daytona-emulator}

[ -x "$sandform" ] || { echo "bench: no sandform at $sandform (set SANDFORM)" >&2; exit 1; }
[ -x "$emulator" ] || { echo "bench: no daytona-emulator at $emulator (set DAYTONA_EMULATOR)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time missing (Debian package 'time')" >&2; exit 1; }

bench_begin sf-bench-apply
tmp=$bench_tmp

# BENCH_MODE=drift: the drift fix instead (issue 13, item 4): N (default
# 10,000) started sandboxes seeded with sandform's labels, the state
# rebuilt by one plan; each run stops BENCH_STOPPED of them (default 100)
# behind sandform's back and times `sandform apply` restarting them, with
# the requests it made per route (the plan's list walk included).
if [ "${BENCH_MODE:-create}" = drift ]; then
	n=${1:-10000}
	k=${BENCH_STOPPED:-100}
	key=bench-$$
	# shellcheck disable=SC2086
	bench_emu_start "$emulator" "$tmp" "$key" \
		--latency-ms 50 --transition-ms 1000 --threads 8 ${EMU_ARGS:-}
	url=$bench_url
	mkdir "$tmp/m"
	python3 - "$n" "$tmp/m" <<'PY'
import sys
n, d = int(sys.argv[1]), sys.argv[2]
for f in range(0, n, 10000):
    with open("%s/part-%03d.yaml" % (d, f // 10000), "w") as o:
        for i in range(f, min(n, f + 10000)):
            o.write("---\napiVersion: sandform.dev/v1\nkind: Sandbox\n"
                    "metadata: {name: d-%05d, labels: {team: bench}}\n"
                    "spec: {snapshot: daytona-small, autoStopInterval: 0, "
                    "autoArchiveInterval: 1440, public: false, "
                    "state: started}\n" % i)
PY
	head -n 6 "$tmp/m/part-000.yaml" >"$tmp/one.yaml"
	labels=$("$sandform" plan "$tmp/one.yaml" --stack bench --json \
		--refresh=false --state "$tmp/probe.db" |
		python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["actions"][0]["steps"][0]["labels"]))')
	curl -fsS -o /dev/null -X POST -H "Authorization: Bearer $key" \
		-H 'Content-Type: application/json' \
		--data-binary "{\"count\":$n,\"namePrefix\":\"d-\",\"create\":{\"snapshot\":\"daytona-small\",\"autoStopInterval\":0,\"autoArchiveInterval\":1440,\"labels\":$labels}}" \
		"$url/_emulator/seed"
	export DAYTONA_API_URL="$url/api" DAYTONA_API_KEY="$key"
	export SANDFORM_STATE="$tmp/state.db"
	"$sandform" plan "$tmp/m" --stack bench >/dev/null # rebuild the state
	runs=${BENCH_RUNS:-3}
	r=0
	while [ $r -lt "$runs" ]; do
		r=$((r + 1))
		i=0
		while [ $i -lt "$k" ]; do
			curl -fsS -o /dev/null -X POST -H "Authorization: Bearer $key" \
				"$url/api/sandbox/$(printf 'd-%05d' $((i * (n / k))))/stop"
			i=$((i + 1))
		done
		sleep 1.5 # the emulator's transitions end
		curl -fsS -X DELETE "$url/_emulator/requests" >/dev/null
		curl -fsS -H "Authorization: Bearer $key" "$url/_emulator/counters" >"$tmp/c0"
		st=0
		/usr/bin/time -f '%e %M' -o "$tmp/time" \
			"$sandform" apply "$tmp/m" --stack bench --auto-approve \
				--parallelism "$conc" --json >"$tmp/out" 2>"$tmp/err" || st=$?
		curl -fsS -H "Authorization: Bearer $key" "$url/_emulator/counters" >"$tmp/c1"
		read -r wall rss <"$tmp/time"
		python3 - "$tmp/c0" "$tmp/c1" "$wall" "$rss" "$(tail -1 "$tmp/out")" "$k" "$n" <<'PY' | tee -a "$tmp/lines"
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
s = json.loads(sys.argv[5])
print("sandform-drift: N=%s stopped=%s done=%s failed=%s wall_s=%s "
      "http_requests=%d summary_requests=%s peak_rss_kib=%s"
      % (sys.argv[7], sys.argv[6], s.get("done"), s.get("failed"),
         sys.argv[3], b["total"] - a["total"], s.get("requests"), sys.argv[4]))
for k, v in sorted(b["routes"].items(), key=lambda kv: -kv[1]):
    d = v - a["routes"].get(k, 0)
    if d:
        print("  %d\t%s" % (d, k))
PY
		[ $st -eq 0 ] || { echo "bench: sandform apply exited $st" >&2; tail -5 "$tmp/err" >&2; }
	done
	grep '^sandform-drift' "$tmp/lines" | sed 's/.*wall_s=\([^ ]*\) http_requests=\([^ ]*\).*/\1 \2/' >"$tmp/figures"
	printf 'sandform-drift: median of %s runs: wall_s=%s http_requests=%s\n' "$runs" \
		"$(cut -d' ' -f1 "$tmp/figures" | bench_median)" \
		"$(cut -d' ' -f2 "$tmp/figures" | bench_median)"
	exit 0
fi

key=bench-$$
# shellcheck disable=SC2086
bench_emu_start "$emulator" "$tmp" "$key" \
	--latency-ms 50 --transition-ms 1000 --threads 8 ${EMU_ARGS:-}
url=$bench_url

mkdir "$tmp/m"
i=0
while [ $i -lt "$n" ]; do
	printf -- '---\napiVersion: sandform.dev/v1\nkind: Sandbox\nmetadata:\n  name: bench-%05d\n  labels: {bench: apply}\nspec:\n  snapshot: daytona-small\n  autoStopInterval: 0\n' "$i"
	i=$((i + 1))
done >"$tmp/m/bench.yaml"

runs=${BENCH_RUNS:-3}
status=0
r=0
while [ $r -lt "$runs" ]; do
	r=$((r + 1))
	# each run from nothing: an empty emulator and a fresh state
	curl -fsS -X POST "$url/_emulator/reset" >/dev/null 2>&1 ||
		curl -fsS -X DELETE "$url/_emulator/requests" >/dev/null
	rm -f "$tmp/state.db"*
	st=0
	DAYTONA_API_URL=$url/api DAYTONA_API_KEY=$key SANDFORM_STATE=$tmp/state.db \
		/usr/bin/time -f '%e %M' -o "$tmp/time" \
		"$sandform" apply "$tmp/m" --stack bench --auto-approve \
			--parallelism "$conc" --json \
		>"$tmp/out" 2>"$tmp/err" || st=$?
	curl -fsS "$url/_emulator/counters" >"$tmp/counters"
	read -r wall rss <"$tmp/time"
	summary=$(tail -1 "$tmp/out")
	python3 - "$tmp/counters" "$n" "$conc" "$wall" "$rss" "$summary" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
s = json.loads(sys.argv[6])
# the summary's elapsed_ms and requests cover the whole run (recovery,
# refresh, apply); requests must match the emulator's count
print("sandform-apply: N=%s parallelism=%s done=%s failed=%s wall_s=%s "
      "http_requests=%s summary_requests=%s peak_rss_kib=%s "
      "kib_per_create=%.2f run_s=%.1f"
      % (sys.argv[2], sys.argv[3], s.get("done"), s.get("failed"),
         sys.argv[4], c["total"], s.get("requests"), sys.argv[5],
         float(sys.argv[5]) / max(1, int(sys.argv[2])),
         s.get("elapsed_ms", 0) / 1000))
for k, v in sorted(c["routes"].items(), key=lambda kv: -kv[1]):
    print("  %d\t%s" % (v, k))
PY
	echo "$wall $rss $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total"])' "$tmp/counters")" >>"$tmp/figures"
	if [ $st -ne 0 ]; then
		status=$st
		echo "bench: sandform apply exited $st" >&2
		tail -5 "$tmp/err" >&2
	fi
done
rss_med=$(cut -d' ' -f2 "$tmp/figures" | bench_median)
printf 'sandform-apply: median of %s runs: wall_s=%s peak_rss_kib=%s kib_per_create=%s http_requests=%s\n' \
	"$runs" "$(cut -d' ' -f1 "$tmp/figures" | bench_median)" "$rss_med" \
	"$(awk -v r="$rss_med" -v n="$n" 'BEGIN { printf "%.2f", r / n }')" \
	"$(cut -d' ' -f3 "$tmp/figures" | bench_median)"

if [ "${SF_BENCH_SDK:-0}" = 1 ]; then
	bench_emu_stop
	DAYTONA_EMULATOR=$emulator sh "$here/bench-sdk-create.sh" "$n" "$conc"
fi
exit $status
