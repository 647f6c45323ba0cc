#!/bin/bash
# bench-state-pg.sh: the PostgreSQL state against the SQLite state.
#
#   tests/bench/bench-state-pg.sh [BUILDDIR]   (default: the current directory)
#
# Not a timed test: run it by hand on a build without sanitizers
# (../configure && make) and read the medians it prints. It starts its own
# daytona-emulator and PostgreSQL server (tests/e2e/lib/pg.bash: a
# temporary directory, a free loopback port; as root, the server runs as
# an unprivileged user) and removes both on exit.
#
# 1. plan: N (BENCH_N, default 10,000) managed, up-to-date sandboxes, as
#    tests/bench/bench-plan.sh seeds them; one plan per backend rebuilds
#    the fresh state from the labels, then BENCH_RUNS (default 3) plans
#    each, alternating, reporting CPU (user+system), peak RSS and wall
#    time, and their medians. Target: PostgreSQL at most 1.5 times SQLite.
# 2. concurrent applies: S stacks (BENCH_STACKS, default 20) of M creates
#    each (BENCH_CREATES, default 200) applied at once, one process per
#    stack, all sharing one PostgreSQL database, against the same with one
#    SQLite file per stack; BENCH_RUNS rounds each (every round on a fresh
#    emulator), reporting the wall time of the whole round and the median.
#    Different stacks must never wait for each other: every apply runs
#    without --lock-timeout, so a lock held by another stack would make it
#    exit 3; the round fails then.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/bench/lib.sh
. "$here/lib.sh"
# shellcheck source=tests/e2e/lib/pg.bash
. "$here/../e2e/lib/pg.bash"

B=${1:-.}
B=$(cd "$B" && pwd)
SANDFORM=${SANDFORM:-$B/sandform}
EMU=${DAYTONA_EMULATOR:-$B/daytona-emulator}
N=${BENCH_N:-10000}
RUNS=${BENCH_RUNS:-3}
STACKS=${BENCH_STACKS:-20}
CREATES=${BENCH_CREATES:-200}
SF_BUILDDIR=$B # the cached server template goes there
export SF_BUILDDIR
# Debian's python3: a version manager's shim would add its own CPU time to
# what RUSAGE_CHILDREN reports
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi

pg_available || { echo "bench: PostgreSQL is not installed (Debian package 'postgresql')" >&2; exit 1; }
[ -x "$SANDFORM" ] || { echo "bench: no sandform at $SANDFORM" >&2; exit 1; }
bench_begin sf-bench-state-pg
T=$bench_tmp
# shellcheck disable=SC2064
trap "pg_stop; bench_end" EXIT
pg_start

start_emu() {
	bench_emu_start "$EMU" "$T" bench-key --threads 8 "$@"
	URL=$bench_url
	DAYTONA_API_URL="$URL/api"
	DAYTONA_API_KEY=bench-key
	export DAYTONA_API_URL DAYTONA_API_KEY
}

# ---- 1. plan of N up-to-date sandboxes ----------------------------------

mkdir -p "$T/m"
"$PY" - "$N" >"$T/m/all.yaml" <<'EOF'
import sys
for i in range(int(sys.argv[1])):
    print("---\napiVersion: sandform.dev/v1\nkind: Sandbox\n"
          "metadata: {name: b-%05d, labels: {team: bench}}\n"
          "spec: {snapshot: daytona-small, autoStopInterval: 0, "
          "autoArchiveInterval: 1440, public: false, state: started}" % i)
EOF
head -n 6 "$T/m/all.yaml" >"$T/one.yaml"
cd "$T"
LABELS=$("$SANDFORM" plan one.yaml --json --refresh=false --state "$T/probe.db" |
	"$PY" -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["actions"][0]["steps"][0]["labels"]))')

start_emu
curl -sS -o /dev/null -X POST -H 'Content-Type: application/json' \
	--data-binary "{\"count\":$N,\"namePrefix\":\"b-\",\"create\":{\"snapshot\":\"daytona-small\",\"autoStopInterval\":0,\"autoArchiveInterval\":1440,\"labels\":$LABELS}}" \
	"$URL/_emulator/seed"

SQLITE_STATE=$T/state.db
PG_STATE=$(pg_url bench_plan)

# plan_once LABEL STATE: one plan; appends "cpu rss wall" to figures.LABEL
plan_once() {
	"$PY" - "$SANDFORM" "$T/m" "$2" <<'EOF' >"$T/run.txt"
import resource, subprocess, sys, time
sf, m, state = sys.argv[1:4]
t0 = time.monotonic()
p = subprocess.run([sf, "plan", m, "--state", state, "--detailed-exitcode"],
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
wall = time.monotonic() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
last = p.stdout.decode().strip().splitlines()[-1] if p.stdout.strip() else "-"
print(p.returncode, "%.3f" % (ru.ru_utime + ru.ru_stime),
      "%.1f" % (ru.ru_maxrss / 1024.0), "%.3f" % wall, last)
EOF
	read -r rc cpu rss wall last <"$T/run.txt" || true
	printf 'plan %-10s exit=%s cpu=%ss rss=%sMiB wall=%ss (%s)\n' "$1" "$rc" \
		"$cpu" "$rss" "$wall" "$last"
	[ "$rc" = 0 ] || { echo "bench: the plan was not empty" >&2; exit 1; }
	echo "$cpu $rss $wall" >>"$T/figures.$1"
}

median_of() { cut -d' ' -f"$2" "$T/figures.$1" | bench_median; }

# fresh states: rebuilt from the labels (not measured)
"$SANDFORM" plan "$T/m" --state "$SQLITE_STATE" >/dev/null
"$SANDFORM" plan "$T/m" --state "$PG_STATE" >/dev/null
i=0
while [ "$i" -lt "$RUNS" ]; do
	plan_once sqlite "$SQLITE_STATE"
	plan_once postgresql "$PG_STATE"
	i=$((i + 1))
done
for b in sqlite postgresql; do
	printf 'plan of %s up-to-date sandboxes, %-10s median cpu %ss, rss %sMiB, wall %ss\n' \
		"$N" "$b:" "$(median_of "$b" 1)" "$(median_of "$b" 2)" "$(median_of "$b" 3)"
done
"$PY" - "$(median_of sqlite 1)" "$(median_of postgresql 1)" \
	"$(median_of sqlite 3)" "$(median_of postgresql 3)" \
	"$(median_of sqlite 2)" "$(median_of postgresql 2)" <<'EOF'
import sys
c1, c2, w1, w2, r1, r2 = map(float, sys.argv[1:])
print("plan: postgresql/sqlite: cpu %.2fx, wall %.2fx, rss %.2fx (target <= 1.5x)"
      % (c2 / c1, w2 / w1, r2 / r1))
EOF
bench_emu_stop

# ---- 2. S stacks of M creates applied at once ---------------------------

for s in $(seq 1 "$STACKS"); do
	mkdir -p "$T/s$s"
	"$PY" - "$s" "$CREATES" >"$T/s$s/stack.yaml" <<'EOF'
import sys
s, m = int(sys.argv[1]), int(sys.argv[2])
for i in range(m):
    print("---\napiVersion: sandform.dev/v1\nkind: Sandbox\n"
          "metadata: {name: s%02d-%04d}\n"
          "spec: {snapshot: daytona-small, autoStopInterval: 0}" % (s, i))
EOF
done

# round LABEL BACKEND: every stack applied at once on a fresh emulator
round() {
	local s pids="" failed=0 t0 t1 pid
	start_emu --latency-ms 20 --transition-ms 200
	t0=$(date +%s.%N)
	for s in $(seq 1 "$STACKS"); do
		if [ "$2" = sqlite ]; then
			state="$T/s$s/state-$1.db"
		else
			state=$(pg_url "bench_$1")
		fi
		"$SANDFORM" apply "$T/s$s/stack.yaml" --stack "s$s" \
			--auto-approve --state "$state" \
			>"$T/s$s/$1.out" 2>"$T/s$s/$1.err" &
		pids="$pids $!"
	done
	for pid in $pids; do
		wait "$pid" || failed=$((failed + 1))
	done
	t1=$(date +%s.%N)
	bench_emu_stop
	if [ "$failed" -gt 0 ] || grep -l "locked" "$T"/s*/"$1".err >/dev/null 2>&1; then
		echo "bench: $failed of $STACKS applies failed or met a lock:" >&2
		cat "$T"/s*/"$1".err | sort | uniq -c | head -20 >&2
		exit 1
	fi
	wall=$("$PY" -c "print('%.2f' % ($t1 - $t0))")
	printf 'apply %s stacks x %s creates at once, %-10s wall %ss, all %s exited 0\n' \
		"$STACKS" "$CREATES" "$2:" "$wall" "$STACKS"
	echo "$wall" >>"$T/apply.$2"
}

i=0
while [ "$i" -lt "$RUNS" ]; do
	round "sqlite$i" sqlite
	round "pg$i" postgresql
	i=$((i + 1))
done
w1=$(bench_median <"$T/apply.sqlite")
w2=$(bench_median <"$T/apply.postgresql")
echo "apply of $STACKS x $CREATES: median wall sqlite ${w1}s, postgresql ${w2}s ($("$PY" -c "print('%.2f' % ($w2 / $w1))")x); no lock waits between stacks"
