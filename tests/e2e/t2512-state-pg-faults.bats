#!/usr/bin/env bats
# Failures around a PostgreSQL state: the database stopped in the middle
# of an apply (the run stops, exit 1, says why; nothing is half done: the
# next run, once the database is back, converges without a duplicate);
# runs killed with SIGKILL at several moments, each finished by the next
# run from another working directory; the holder's session ended by an
# administrator. Without PostgreSQL every test is skipped, never passed.

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
	apply_setup --transition-ms 20 --latency-ms 60
	export SANDFORM_STATE
	SANDFORM_STATE=$(pg_url "t$BATS_TEST_NUMBER")
	mkdir -p B
}

teardown() {
	emu_stop
	# a test that stopped the server leaves it running for the next
	pg_resume >/dev/null 2>&1 || true
}

# wait_creates N: until N creates went through
wait_creates() {
	local i
	for ((i = 0; i < 600; i++)); do
		[ "$(creates_ok)" -ge "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

recorded_names() {
	"$SANDFORM" state list --json | emu_json '"\n".join(sorted(r["name"] for r in d["records"]))'
}

@test "the database stopped mid-apply: exit 1 with a clear message, nothing half done; the next run recovers" {
	emu_stop
	emu_start --transition-ms 20 --latency-ms 150
	mk_many d 60
	"$SANDFORM" apply m --auto-approve --parallelism 2 >run.out 2>run.err &
	pid=$!
	wait_creates 4
	pg_halt
	rc=0
	wait "$pid" || rc=$?
	cat run.err >&2
	[ "$rc" -eq 1 ]
	grep -q "lost the database session holding the lock of stack 'default'" run.err
	# it stopped: no call after it ended
	n=$(n_requests)
	sleep 1
	[ "$(n_requests)" -eq "$n" ]
	[ "$(creates_ok)" -lt 60 ]
	# with the database down every command says so and changes nothing
	run --separate-stderr "$SANDFORM" plan m
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"cannot connect"* ]]
	run --separate-stderr "$SANDFORM" apply m --auto-approve
	[ "$status" -eq 1 ]
	[ "$(n_requests)" -eq "$n" ]
	# back: from another directory, the next run converges
	pg_resume
	run --separate-stderr bash -c 'cd B && exec "$SANDFORM" apply ../m --auto-approve'
	echo "$stderr" >&2
	[ "$status" -eq 0 ]
	[ "$(live_names)" = "$(declared_names)" ]
	[ "$(recorded_names)" = "$(declared_names)" ]
	[ "$(creates_409)" = 0 ]
	[ "$(creates_ok)" = 60 ]
	[ "$(open_journal)" = 0 ]
	run "$SANDFORM" plan m --detailed-exitcode
	[ "$status" -eq 0 ]
}

@test "SIGKILL at several moments: the next run, from another directory, finishes without a duplicate" {
	local trial open_seen=0 i
	mk_many k 24
	for trial in 1 2 3 4; do
		# a different stack each time: some to create, some to delete
		"$EMU_PYTHON" - "$trial" <<'PY'
import random, sys
r = random.Random(int(sys.argv[1]))
names = sorted(r.sample(["k%03d" % i for i in range(1, 33)], 24))
with open("m/many.yaml", "w") as f:
    for n in names:
        f.write("---\napiVersion: sandform.dev/v1\nkind: Sandbox\n"
                "metadata:\n  name: %s\nspec:\n  snapshot: daytona-small\n"
                "  autoStopInterval: 0\n" % n)
PY
		# killed once the emulator has answered TRIAL mutating calls
		# (a fixed delay could fall before the first call or after the
		# last on a loaded machine): at parallelism 2 the next call is
		# then under way, its intent journaled
		emu_hook DELETE /requests >/dev/null
		"$SANDFORM" apply m --auto-approve --allow-mass-delete --parallelism 2 >/dev/null 2>&1 &
		pid=$!
		for ((i = 0; i < 600; i++)); do
			[ "$(mutations)" -ge "$trial" ] && break
			# ended already (a zombie until waited for)
			case "$(ps -o stat= -p "$pid" 2>/dev/null)" in
			"" | Z*) break ;;
			esac
			sleep 0.02
		done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" || true
		[ "$(open_journal)" -gt 0 ] && open_seen=$((open_seen + 1))
		run --separate-stderr bash -c 'cd B && exec "$SANDFORM" apply ../m --auto-approve --allow-mass-delete'
		echo "trial $trial: $stderr" >&2
		[ "$status" -eq 0 ]
		[ "$(live_names)" = "$(declared_names)" ]
		[ "$(recorded_names)" = "$(declared_names)" ]
		[ "$(open_journal)" = 0 ]
		[ "$(creates_409)" = 0 ] # this trial's log: no duplicate create
	done
	# the kills hit calls under way: intents were committed before them
	echo "# trials that left open journal entries: $open_seen of 4" >&3
	[ "$open_seen" -ge 1 ]
}

@test "an administrator ends the holder's session: the run stops mutating, exit 1; the next converges" {
	emu_stop
	emu_start --transition-ms 20 --latency-ms 150
	mk_many s 60
	"$SANDFORM" apply m --auto-approve --parallelism 1 >run.out 2>run.err &
	pid=$!
	wait_creates 3
	[ "$(pg_sql "SELECT count(pg_terminate_backend(session_pid)) FROM t$BATS_TEST_NUMBER.locks")" = 1 ]
	rc=0
	wait "$pid" || rc=$?
	cat run.err >&2
	[ "$rc" -eq 1 ]
	grep -q "lost the database session holding the lock" run.err
	[ "$(creates_ok)" -lt 60 ]
	run --separate-stderr "$SANDFORM" apply m --auto-approve
	[ "$status" -eq 0 ]
	[ "$(live_names)" = "$(declared_names)" ]
	[ "$(creates_409)" = 0 ]
	[ "$(creates_ok)" = 60 ]
}
