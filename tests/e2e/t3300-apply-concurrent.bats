#!/usr/bin/env bats
# Reliability: two applies started together on one stack, and SIGTERM.
# One run holds the stack's lock; the other exits 3 naming it (or, with
# --lock-timeout, waits and then finds nothing to do). A name is never
# created twice: the emulator's request log shows no create refused with
# 409 and no more successful creates than names. SIGTERM stops new calls,
# lets the ones in flight finish and be recorded, exits 1 with a note, and
# the next apply finishes the job. A plan makes its requests without the
# lock, so a slow server during a plan never locks out an apply.

bats_require_minimum_version 1.5.0

load lib/emulator
load lib/apply

setup() { apply_setup --transition-ms 30 --latency-ms 20; }
teardown() { emu_stop; }

@test "two applies at once: one exits 3 (or waits), never two creates of a name" {
	mk_many k 20
	"$SANDFORM" apply m --auto-approve >a.out 2>a.err &
	a=$!
	"$SANDFORM" apply m --auto-approve >b.out 2>b.err &
	b=$!
	ra=0 rb=0
	wait "$a" || ra=$?
	wait "$b" || rb=$?
	echo "exits: $ra $rb" >&2
	cat a.err b.err >&2
	# one converged; the other was locked out, or ran after it (no-op)
	if [ "$ra" -eq 0 ] && [ "$rb" -eq 0 ]; then
		grep -q "No changes." a.out || grep -q "No changes." b.out
	else
		[ "$((ra + rb))" -eq 3 ]
		grep -q "is locked by another run: pid " a.err b.err
	fi
	[ "$(creates_409)" = 0 ]
	[ "$(creates_ok)" = 20 ]
	[ "$(live_names)" = "$(declared_names)" ]

	# with --lock-timeout both succeed, one after the other
	mk_many j 20
	emu_hook DELETE /requests >/dev/null
	"$SANDFORM" apply m --auto-approve --allow-mass-delete --lock-timeout 60s >c.out 2>c.err &
	c=$!
	"$SANDFORM" apply m --auto-approve --allow-mass-delete --lock-timeout 60s >d.out 2>d.err &
	d=$!
	wait "$c"
	wait "$d"
	[ "$(creates_409)" = 0 ]
	[ "$(creates_ok)" = 20 ]
	[ "$(live_names)" = "$(declared_names)" ]
}

@test "a plan's requests run without the stack's lock: a slow server never locks out an apply" {
	emu_stop
	emu_start --transition-ms 30 --latency-ms 2500
	export SANDFORM_STACK=slow
	mk web
	mkdir e
	"$SANDFORM" plan m >p.out 2>p.err &
	p=$!
	sleep 1 # the plan waits for its first page
	run --separate-stderr "$SANDFORM" apply e --auto-approve
	echo "$stderr" >&2
	[ "$status" -eq 0 ]
	[[ "$output" == *"No changes."* ]]
	wait "$p"
	grep -q "+ web" p.out
}

@test "SIGTERM: calls in flight finish and are recorded; exit 1; the next apply finishes" {
	emu_stop
	emu_start --transition-ms 30 --latency-ms 100
	mk_many t 24
	"$SANDFORM" apply m --auto-approve --parallelism 2 --json >run.out 2>run.err &
	pid=$!
	for ((i = 0; i < 200; i++)); do
		grep -q '"event":"done"' run.out 2>/dev/null && break
		sleep 0.05
	done
	kill -TERM "$pid"
	rc=0
	wait "$pid" || rc=$?
	cat run.err >&2
	[ "$rc" -eq 1 ]
	grep -q "stopping: no new calls" run.err
	grep -q '"event":"left"' run.out
	summary=$(tail -1 run.out)
	[ "$(echo "$summary" | json 'd["event"], d["interrupted"], d["left"] > 0, d["done"] > 0')" = "('summary', True, True, True)" ]
	# every sandbox that exists is recorded (nothing untracked)
	live=$(live_names | wc -l)
	recorded=$("$SANDFORM" state list --json | json 'len(d["records"])')
	[ "$live" -eq "$recorded" ]
	[ "$live" -lt 24 ]
	run --separate-stderr "$SANDFORM" apply m --auto-approve
	[ "$status" -eq 0 ]
	[ "$(live_names)" = "$(declared_names)" ]
	[ "$(creates_409)" = 0 ]
	[ "$(creates_ok)" = 24 ]
}
