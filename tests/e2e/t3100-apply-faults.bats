#!/usr/bin/env bats
# Reliability: apply under injected faults. With 20% of requests answered
# 5xx, 5% of connections dropped unanswered and a tight create rate limit,
# 50 sandboxes converge in one apply, each exactly once.

bats_require_minimum_version 1.5.0

load lib/emulator
load lib/apply

setup() {
	apply_setup --transition-ms 30 --fail-rate 0.2 --drop-rate 0.05 \
		--rate-limit create=25/1 --seed 7
}
teardown() { emu_stop; }

@test "50 sandboxes converge under 5xx, drops and a create rate limit; no duplicates" {
	mk_many f 50
	run --separate-stderr "$SANDFORM" apply m --auto-approve --json
	echo "$stderr" | tail -5
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | tail -1 | json 'd["done"], d["failed"]')" = "(50, 0)" ]
	# exactly the declared sandboxes, each once; no create beyond one per
	# name succeeded (a dropped answer is adopted by name, not repeated)
	[ "$(live_names)" = "$(declared_names)" ]
	[ "$(live_names | wc -l)" = 50 ]
	[ "$(creates_ok)" -le 50 ]
	# the limiter and the faults were really in play
	[ "$(emu_requests | grep -c '"status":429')" -gt 0 ] ||
		[ "$(emu_requests | grep -c '"status":5')" -gt 0 ]
	run --separate-stderr "$SANDFORM" plan m --detailed-exitcode
	[ "$status" -eq 0 ]
}
