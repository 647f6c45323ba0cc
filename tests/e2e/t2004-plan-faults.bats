#!/usr/bin/env bats
# plan under injected faults: 5xx answers and rate limits are retried (the
# walk is all GETs, so every call may be repeated) and the plan comes out
# the same; a server that keeps failing is an error, not an empty plan.
# The stacks are seeded with the emulator's /_emulator/seed hook, labelled
# the way sandform labels what it creates.

bats_require_minimum_version 1.5.0

load lib/emulator
load lib/plan

teardown() { emu_stop; }

# seed N: N sandboxes s-00000.. of stack default with the labels sandform
# gives a manifest of sbx(), and their manifests (m/seeded.yaml).
seed() {
	local n=$1 labels i
	sbx probe
	labels=$("$SANDFORM" plan m --json --refresh=false 2>/dev/null |
		python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin)["actions"][0]["steps"][0]["labels"]))')
	rm m/probe.yaml
	emu_hook POST /seed "{\"count\":$n,\"namePrefix\":\"s-\",\"create\":{\"snapshot\":\"daytona-small\",\"autoStopInterval\":0,\"labels\":$labels}}" >/dev/null
	[ "$(cat "$BATS_TEST_TMPDIR/emu.status")" = 200 ]
	# one multi-document file (quicker than n files)
	python3 - "$n" >m/seeded.yaml <<'EOF'
import sys
for i in range(int(sys.argv[1])):
    print("---\napiVersion: sandform.dev/v1\nkind: Sandbox\n"
          "metadata: {name: s-%05d, labels: {team: agents}}\n"
          "spec: {snapshot: daytona-small, autoStopInterval: 0, "
          "state: started}" % i)
EOF
	emu_hook DELETE /requests >/dev/null
}

@test "injected 5xx: retried, same plan, only GETs" {
	plan_setup --fail-rate 0.3 --seed 7
	seed 450
	sbx extra
	run --separate-stderr "$SANDFORM" plan m --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json '[(a["name"], a["action"]) for a in d["actions"]], d["managed"]')" = "([('extra', 'create')], 450)" ]
	# some answers were 5xx, and they were repeated
	emu_requests | grep -q '"status":5'
	only_gets
}

@test "rate limits: throttled requests wait and succeed" {
	plan_setup --rate-limit other=1/1
	seed 400
	t0=$(date +%s%N)
	run --separate-stderr "$SANDFORM" plan m --detailed-exitcode
	t1=$(date +%s%N)
	[ "$status" -eq 0 ]
	[ "$output" = "No changes." ]
	# two list pages in a bucket of one request per second: the second
	# waited for the window (paced or retried after a 429)
	[ $(((t1 - t0) / 1000000)) -ge 900 ]
	[ "$(emu_requests | grep -c '"status":200')" -eq 2 ]
	only_gets
}

@test "a server that keeps failing is an error, never an empty plan" {
	plan_setup --fail-rate 1
	sbx web
	run --separate-stderr "$SANDFORM" plan m --detailed-exitcode
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	# the waits between tries (of 2 s or more) are said as they start;
	# the error comes last
	[[ "$(tail -1 <<<"$stderr")" == "sandform plan: daytona: "* ]]
}

# r45 A1: lists are eventually consistent; a sandbox the walk does not
# return yet is not gone. Right after an apply of 30 (the lag outlasts the
# whole test), the plan confirms each record by id and wants nothing.
@test "a lagging list right after apply: nothing gone, nothing created again" {
	plan_setup --list-lag-ms 120000
	local i
	for i in $(seq -w 1 30); do sbx "n$i"; done
	"$SANDFORM" apply m --auto-approve >/dev/null 2>&1
	# the list does lag: the stack's walk returns none of them
	[ "$(emu_api GET /sandbox | json 'len(d["items"])')" = 0 ]
	emu_hook DELETE /requests >/dev/null
	run --separate-stderr "$SANDFORM" plan m --detailed-exitcode
	echo "$stderr" >&2
	[ "$status" -eq 0 ]
	[ "$output" = "No changes." ]
	only_gets
	# one GET per record, by id
	[ "$(emu_requests | python3 -c '
import json, re, sys
ids = [l for l in map(json.loads, filter(str.strip, sys.stdin))
       if re.fullmatch(r"/api/sandbox/[0-9a-f-]{36}", l["path"].split("?")[0])]
print(len(ids))')" = 30 ]
	# and apply creates nothing (no POST /sandbox answered 409)
	emu_hook DELETE /requests >/dev/null
	run --separate-stderr "$SANDFORM" apply m --auto-approve
	[ "$status" -eq 0 ]
	[[ "$output" == *"No changes."* ]]
	only_gets
}
