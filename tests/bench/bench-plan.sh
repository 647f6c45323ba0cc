#!/bin/sh
# bench-plan.sh: sandform plan over 10,000 managed, up-to-date sandboxes.
#
#   tests/bench/bench-plan.sh [BUILDDIR]    (default: the current directory)
#
# Not a timed test: run it by hand on a build without sanitizers
# (../configure && make) and read the medians it prints. It starts its own
# daytona-emulator on a free loopback port, seeds N sandboxes (N=10000,
# override with BENCH_N) labelled exactly as sandform labels what it
# creates (the labels are taken from 'sandform plan --refresh=false' on
# the same manifest), writes N manifests identical but for the name (one
# multi-document file), plans once to rebuild the fresh state from the
# labels, then runs 'sandform plan' BENCH_RUNS times (default 3) and
# reports for each: HTTP requests (from the emulator's request log), GETs
# of a single sandbox, user+system CPU, maximum RSS, and wall time. Then
# the same with the emulator's --latency-ms 50.
#
# Expectations (issue 4): at most 51 requests, no per-sandbox GET, under
# 1 s CPU and 100 MiB RSS. Issue 13, at BENCH_N=100000: N/200 requests,
# under 150 MiB RSS and 1.5 s CPU. BENCH_LATENCY=0 skips the pass with
# --latency-ms 50. The fast pass then repeats the runs ("fast-applied")
# with a state as apply writes it: every record also holds its last
# applied spec, which a state rebuilt from labels lacks. Each pass ends
# with the SDK's side ("sdk-fast", "sdk-latency50"): the official SDK
# listing the same N sandboxes (tests/bench/sdk-list.mjs), the same
# figures, when Node.js and the SDK are installed (./setup.sh); SF_SDK_MODULES
# and NODE as in bench-sdk-create.sh.
set -eu

# shellcheck source=tests/bench/lib.sh
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
NODE=${NODE:-node}
SDK_MODULES=${SF_SDK_MODULES:-$HERE/../conformance/node_modules}
B=${1:-.}
B=$(cd "$B" && pwd)
SANDFORM=${SANDFORM:-$B/sandform}
EMU=${DAYTONA_EMULATOR:-$B/daytona-emulator}
N=${BENCH_N:-10000}
RUNS=${BENCH_RUNS:-3}
bench_begin sf-bench-plan
T=$bench_tmp

start_emu() {
	bench_emu_start "$EMU" "$T" bench-key "$@"
	URL=$bench_url
	DAYTONA_API_URL="$URL/api"
	DAYTONA_API_KEY=bench-key
	export DAYTONA_API_URL DAYTONA_API_KEY
}

# The manifests: N documents, identical but for the name, 10,000 a file
# (a manifest file is at most 4 MiB).
mkdir -p "$T/m"
python3 - "$N" "$T/m" <<'EOF'
import sys
n, d = int(sys.argv[1]), sys.argv[2]
for f in range(0, n, 10000):
    with open("%s/part-%03d.yaml" % (d, f // 10000), "w") as o:
        for i in range(f, min(n, f + 10000)):
            o.write("---\napiVersion: sandform.dev/v1\nkind: Sandbox\n"
                    "metadata: {name: b-%05d, labels: {team: bench}}\n"
                    "spec: {snapshot: daytona-small, autoStopInterval: 0, "
                    "autoArchiveInterval: 1440, public: false, "
                    "state: started}\n" % i)
EOF
head -n 6 "$T/m/part-000.yaml" >"$T/one.yaml"
cd "$T"
LABELS=$("$SANDFORM" plan one.yaml --json --refresh=false --state "$T/probe.db" |
	python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["actions"][0]["steps"][0]["labels"]))')

seed() {
	curl -sS -o /dev/null -w '%{http_code}' -X POST \
		-H 'Content-Type: application/json' \
		--data-binary "{\"count\":$N,\"namePrefix\":\"b-\",\"create\":{\"snapshot\":\"daytona-small\",\"autoStopInterval\":0,\"autoArchiveInterval\":1440,\"labels\":$LABELS}}" \
		"$URL/_emulator/seed" | grep -q 200
}

# measure CMD [ARG...]: run CMD once, the emulator's request log cleared
# first; sets rc, cpu (user+system s), rss (max, MiB), wall (s) and reqs
# (requests the emulator logged); "$T/run.txt" also holds the last line
# CMD printed
measure() {
	curl -sS -X DELETE "$URL/_emulator/requests" >/dev/null
	python3 - "$@" <<'EOF' >"$T/run.txt"
import resource, subprocess, sys, time
t0 = time.monotonic()
p = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE,
                   stderr=subprocess.PIPE)
wall = time.monotonic() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
out = (p.stdout.decode().strip().splitlines() or
       p.stderr.decode().strip().splitlines())
print(p.returncode, "%.3f" % (ru.ru_utime + ru.ru_stime),
      "%.1f" % (ru.ru_maxrss / 1024.0), "%.3f" % wall,
      out[-1] if out else "-")
EOF
	read -r rc cpu rss wall last <"$T/run.txt" || true
	reqs=$(curl -sS "$URL/_emulator/requests" | grep -c . || true)
}

# last_line: what the measured command printed last
last_line() {
	sed 's/^[^ ]* [^ ]* [^ ]* [^ ]* //' "$T/run.txt"
}

# one_run LABEL FIGURES: plan once, print one line of figures
one_run() {
	measure "$SANDFORM" plan "$T/m" --state "$T/state.db" --detailed-exitcode
	gets=$(curl -sS "$URL/_emulator/requests" |
		grep -c '"path":"/api/sandbox/' || true)
	nonget=$(curl -sS "$URL/_emulator/requests" |
		grep -vc '"method":"GET"' || true)
	printf '%-10s exit=%s requests=%s single-GETs=%s non-GET=%s cpu=%ss rss=%sMiB wall=%ss (%s)\n' \
		"$1" "$rc" "$reqs" "$gets" "$nonget" "$cpu" "$rss" "$wall" \
		"$(last_line)"
	echo "$cpu $rss $wall $reqs" >>"$T/figures.$2"
}

report() {
	f="$T/figures.$1"
	printf '%s: median cpu %ss, rss %sMiB, wall %ss, requests %s (%s runs)\n' \
		"$1" "$(cut -d' ' -f1 "$f" | bench_median)" \
		"$(cut -d' ' -f2 "$f" | bench_median)" \
		"$(cut -d' ' -f3 "$f" | bench_median)" \
		"$(cut -d' ' -f4 "$f" | bench_median)" "$(wc -l <"$f")"
}

# runs LABEL: RUNS plans, then their medians
runs() {
	i=0
	while [ "$i" -lt "$RUNS" ]; do
		one_run "$1" "$1"
		i=$((i + 1))
	done
	report "$1"
}

# sdk_runs LABEL: the SDK side, RUNS times when Node.js and the SDK are
# there: sdk-list.mjs lists the N sandboxes (what a script needs to know
# what exists); the same figures as a plan's.
sdk_runs() {
	if ! command -v "$NODE" >/dev/null 2>&1 ||
		[ ! -d "$SDK_MODULES/@daytonaio/sdk" ]; then
		echo "$1: SKIP (no Node.js or no SDK in $SDK_MODULES; ./setup.sh installs them)"
		return 0
	fi
	SF_EMU_URL=$URL SF_EMU_KEY=bench-key SF_SDK_MODULES=$SDK_MODULES
	export SF_EMU_URL SF_EMU_KEY SF_SDK_MODULES
	i=0
	while [ "$i" -lt "$RUNS" ]; do
		measure "$NODE" --max-old-space-size=16384 "$HERE/sdk-list.mjs" \
			"$N" 1
		# the rest are the SDK's event socket (socket.io), which the
		# emulator does not serve
		pages=$(curl -sS "$URL/_emulator/requests" |
			grep -c '"path":"/api/sandbox"' || true)
		printf '%-10s exit=%s requests=%s list-pages=%s cpu=%ss rss=%sMiB wall=%ss (%s)\n' \
			"$1" "$rc" "$reqs" "$pages" "$cpu" "$rss" "$wall" \
			"$(last_line)"
		echo "$cpu $rss $wall $reqs" >>"$T/figures.$1"
		i=$((i + 1))
	done
	report "$1"
}

modes="fast latency50"
if [ "${BENCH_LATENCY:-1}" = 0 ]; then modes=fast; fi
for mode in $modes; do
	if [ "$mode" = fast ]; then start_emu; else start_emu --latency-ms 50; fi
	seed
	rm -f "$T/state.db"*
	one_run "$mode-rebuild" rebuild.$mode # fresh state: rebuilt from labels
	runs "$mode"
	# the state as apply writes it: every record also holds its last
	# applied spec (a state rebuilt from labels has none), taken from a
	# real apply of one sandbox and given each record's name
	if [ "$mode" = fast ]; then
		sed 's/name: b-00000/name: probe-0/' one.yaml >probe.yaml
		"$SANDFORM" apply probe.yaml --stack probe --auto-approve \
			--state "$T/probe2.db" >/dev/null
		python3 - "$T/probe2.db" "$T/state.db" <<'EOF'
import sqlite3, sys
a = sqlite3.connect(sys.argv[1]).execute(
    "select applied from records where name = 'probe-0'").fetchone()[0]
db = sqlite3.connect(sys.argv[2])
db.create_function("applied_for", 1, lambda n: a.replace("probe-0", n))
db.execute("update records set applied = applied_for(name)")
db.commit()
EOF
		runs "$mode-applied"
	fi
	sdk_runs "sdk-$mode"
	bench_emu_stop
done
