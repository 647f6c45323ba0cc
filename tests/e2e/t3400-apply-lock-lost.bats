#!/usr/bin/env bats
# A run that loses its stack lock (force-unlocked by someone, or its lease
# ran out and another run took it) stops mutating at once: calls in flight
# finish and are recorded, nothing new is sent, it says why and exits 1.
# The next apply converges without a duplicate.

bats_require_minimum_version 1.5.0

load lib/emulator
load lib/apply

setup() { apply_setup --transition-ms 30 --latency-ms 300; }
teardown() { emu_stop; }

# lock_id: the stack lock's id, "" while there is none (or the read met a
# busy database)
lock_id() {
	python3 -c '
import sqlite3
r = sqlite3.connect(".sandform/state.db", timeout=10).execute("select id from locks").fetchone()
print(r[0] if r else "")' 2>/dev/null || true
}

# wait_apply N: until the run holds the lock (its id in $id) and N creates
# went through (a slow machine may need a while)
wait_apply() {
	local i
	id=
	for ((i = 0; i < 1200; i++)); do
		[ -z "$id" ] && id=$(lock_id)
		[ -n "$id" ] && [ "$(creates_ok)" -ge "$1" ] && break
		sleep 0.05
	done
	[ -n "$id" ] && [ "$(creates_ok)" -ge "$1" ]
}

@test "force-unlocked while applying: stops making calls, says why, exits 1; the next apply converges" {
	mk_many s 40
	"$SANDFORM" apply m --auto-approve --parallelism 2 >run.out 2>run.err &
	pid=$!
	wait_apply 2
	run --separate-stderr "$SANDFORM" force-unlock "$id"
	[ "$status" -eq 0 ]
	before=$(creates_ok)
	t0=$(date +%s)
	rc=0
	wait "$pid" || rc=$?
	t1=$(date +%s)
	cat run.err >&2
	[ "$rc" -eq 1 ]
	grep -q "lost the stack lock of stack 'default': it was released" run.err
	grep -q "lost the stack lock while running" run.err
	grep -q "Apply incomplete: " run.out
	# noticed within seconds; at most the calls in flight (2) finished
	[ $((t1 - t0)) -le 10 ]
	after=$(creates_ok)
	[ "$after" -le $((before + 2)) ]
	[ "$after" -lt 40 ]
	# it made no call after it stopped
	n=$(n_requests)
	sleep 1
	[ "$(n_requests)" -eq "$n" ]
	# every sandbox that exists is recorded; the next apply finishes
	[ "$(live_names | wc -l)" -eq "$("$SANDFORM" state list --json | json 'len(d["records"])')" ]
	run --separate-stderr "$SANDFORM" apply m --auto-approve
	[ "$status" -eq 0 ]
	[ "$(live_names)" = "$(declared_names)" ]
	[ "$(creates_409)" = 0 ]
	[ "$(creates_ok)" = 40 ]
}

@test "the lock taken by another run while applying: the first stops and names the new holder" {
	mk_many s 20
	"$SANDFORM" apply m --auto-approve --parallelism 1 --json >run.out 2>run.err &
	pid=$!
	wait_apply 1
	# as if its lease had run out and another run had taken the stack
	python3 -c '
import sqlite3
c = sqlite3.connect(".sandform/state.db")
c.execute("update locks set id = ?, holder = ?, pid = 1", ("00000000-0000-4000-8000-0000000000aa", "apply"))
c.commit()'
	rc=0
	wait "$pid" || rc=$?
	cat run.err >&2
	[ "$rc" -eq 1 ]
	grep -q "lost the stack lock of stack 'default': it is now held by pid 1 on " run.err
	summary=$(tail -1 run.out)
	[ "$(echo "$summary" | json 'd["event"], d["interrupted"], d["left"] > 0')" = "('summary', True, True)" ]
	[ "$(creates_ok)" -lt 20 ]
}
