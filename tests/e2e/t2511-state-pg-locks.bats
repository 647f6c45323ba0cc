#!/usr/bin/env bats
# Stack locks on PostgreSQL (session advisory locks plus a holder row):
# two processes in different working directories ("two hosts": nothing
# local is shared) race on one stack and never create a name twice; kill
# -9 of the holder frees the lock with its database session, no
# force-unlock needed; force-unlock of a live holder asks, then ends its
# session and the holder stops; different stacks never wait for each
# other. Without PostgreSQL every test is skipped, never passed.

bats_require_minimum_version 1.5.0

load lib/emulator
load lib/apply
load lib/pg

setup_file() {
	pg_skip_unless_available
	pg_start
}

teardown_file() { pg_stop; }

setup() {
	apply_setup --transition-ms 30 --latency-ms 60
	export SANDFORM_STATE
	SANDFORM_STATE=$(pg_url "t$BATS_TEST_NUMBER")
	mkdir -p A B
}

teardown() {
	[ -z "${HOLDER:-}" ] || kill "$HOLDER" 2>/dev/null || true
	emu_stop
}

# on_host DIR CMD...: run sandform in DIR (a "host" of its own); in the
# background, (cd DIR && exec "$SANDFORM" ...) & makes $! sandform's pid
on_host() {
	local dir=$1
	shift
	(cd "$dir" && exec "$SANDFORM" "$@")
}

# share: the manifests of m/ in A/m and B/m
share() {
	rm -rf A/m B/m
	cp -r m A/m
	cp -r m B/m
}

# lock_id [STACK]: the stack's lock id, "" while it is free
lock_id() {
	"$SANDFORM" state info --json --stack "${1:-default}" 2>/dev/null |
		emu_json 'd["lock"]["id"] if d["lock"] else ""' 2>/dev/null || true
}

# wait_lock [STACK]: until a run holds the stack's lock (its id in $id)
wait_lock() {
	local i
	id=
	for ((i = 0; i < 600; i++)); do
		id=$(lock_id "${1:-default}")
		[ -n "$id" ] && return 0
		sleep 0.05
	done
	return 1
}

@test "two processes in different directories race on one stack: one waits or exits 3, never two creates of a name" {
	mk_many k 20
	share
	(cd A && exec "$SANDFORM" apply m --auto-approve >../a.out 2>../a.err) &
	a=$!
	(cd B && exec "$SANDFORM" apply m --auto-approve >../b.out 2>../b.err) &
	b=$!
	ra=0 rb=0
	wait "$a" || ra=$?
	wait "$b" || rb=$?
	echo "exits: $ra $rb" >&2
	cat a.err b.err >&2
	if [ "$ra" -eq 0 ] && [ "$rb" -eq 0 ]; then
		grep -q "No changes." a.out || grep -q "No changes." b.out
	else
		[ "$((ra + rb))" -eq 3 ]
		grep -q "is locked by another run: pid " a.err b.err
	fi
	[ "$(creates_409)" = 0 ]
	[ "$(creates_ok)" = 20 ]
	[ "$(live_names)" = "$(declared_names)" ]
	[ ! -e A/.sandform ] && [ ! -e B/.sandform ]

	# with --lock-timeout both succeed, one after the other
	mk_many j 20
	share
	emu_hook DELETE /requests >/dev/null
	(cd A && exec "$SANDFORM" apply m --auto-approve --allow-mass-delete --lock-timeout 60s >../c.out 2>../c.err) &
	c=$!
	(cd B && exec "$SANDFORM" apply m --auto-approve --allow-mass-delete --lock-timeout 60s >../d.out 2>../d.err) &
	d=$!
	wait "$c"
	wait "$d"
	[ "$(creates_409)" = 0 ]
	[ "$(creates_ok)" = 20 ]
	[ "$(live_names)" = "$(declared_names)" ]
}

@test "kill -9 of the lock holder frees the lock with its session: the next run from elsewhere takes over at once" {
	mk_many s 30
	share
	(cd A && exec "$SANDFORM" apply m --auto-approve --parallelism 1 >../a.out 2>../a.err) &
	holder=$!
	wait_lock
	for ((i = 0; i < 400; i++)); do
		[ "$(creates_ok)" -ge 3 ] && break
		sleep 0.05
	done
	kill -KILL "$holder"
	wait "$holder" || true
	# the row still names the dead holder; its session is gone
	[ "$(lock_id)" = "$id" ]
	# no force-unlock, no --lock-timeout: taken over at once
	run --separate-stderr on_host B apply m --auto-approve
	echo "$stderr" >&2
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"taking over the lock of stack 'default' from pid $holder on "*"its database session ended"* ]]
	[ "$(live_names)" = "$(declared_names)" ]
	[ "$(creates_409)" = 0 ]
	[ "$(creates_ok)" = 30 ]
	[ "$(open_journal)" = 0 ]
	[ "$(lock_id)" = "" ]
}

@test "force-unlock of a live holder: asks first; --auto-approve ends its session, the holder stops, exit 1" {
	# a slow holder: it must still be at work after the questions below
	emu_stop
	emu_start --transition-ms 20 --latency-ms 200
	mk_many f 60
	share
	(cd A && exec "$SANDFORM" apply m --auto-approve --parallelism 1 >../a.out 2>../a.err) &
	holder=$!
	wait_lock
	# past its plan and at work (a lock lost before any call is exit 3:
	# nothing was changed), however slow the machine
	for ((i = 0; i < 600; i++)); do
		[ "$(creates_ok)" -ge 1 ] && break
		sleep 0.05
	done
	[ "$(creates_ok)" -ge 1 ]
	# no terminal, no --auto-approve: refused, nothing released
	run --separate-stderr on_host B force-unlock "$id" </dev/null
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"refusing to force-unlock without confirmation"* ]]
	[ "$(lock_id)" = "$id" ]
	# on a terminal it asks; anything but yes cancels
	run tty_sandform no force-unlock "$id"
	[ "$status" -eq 1 ]
	[[ "$output" == *"whose database session is still connected"* ]]
	[[ "$output" == *"cancelled"* ]]
	[ "$(lock_id)" = "$id" ]
	run --separate-stderr on_host B force-unlock "$id" --auto-approve
	[ "$status" -eq 0 ]
	[[ "$output" == *"Released lock $id of stack 'default'"*"its database session was ended"* ]]
	rc=0
	wait "$holder" || rc=$?
	cat a.err >&2
	[ "$rc" -eq 1 ]
	grep -q "lost the stack lock" a.err
	[ "$(creates_ok)" -lt 60 ]
	# it made no call after it stopped; the next run converges
	n=$(n_requests)
	sleep 1
	[ "$(n_requests)" -eq "$n" ]
	run --separate-stderr on_host B apply m --auto-approve
	[ "$status" -eq 0 ]
	[ "$(live_names)" = "$(declared_names)" ]
	[ "$(creates_409)" = 0 ]
	[ "$(creates_ok)" = 60 ]
}

@test "different stacks never wait for each other" {
	# stack "one" held (by a process that keeps its lock until killed)
	"$SF_BUILDDIR/tests/store-tool" "$SANDFORM_STATE" hold-lock stack=one info=apply >one.id 3>&- &
	HOLDER=$!
	for ((i = 0; i < 200; i++)); do [ -s one.id ] && break; sleep 0.05; done
	mk_many one 5
	mv m/many.yaml A/one.yaml
	mk_many two 15
	mv m/many.yaml B/two.yaml
	run --separate-stderr on_host A apply one.yaml --stack one --auto-approve
	[ "$status" -eq 3 ]
	# "two" goes ahead at once, from either directory
	run --separate-stderr on_host B apply two.yaml --stack two --auto-approve
	[ "$status" -eq 0 ]
	[ "$(live_names | grep -c '^two')" = 15 ]
	[ "$(lock_id one)" = "$(cat one.id)" ]
	kill "$HOLDER"
	wait "$HOLDER" || true
	HOLDER=
	# and "one" once its holder is gone, with no force-unlock
	run --separate-stderr on_host A apply one.yaml --stack one --auto-approve
	[ "$status" -eq 0 ]
	[ "$(live_names | grep -c '^one')" = 5 ]
}
