#!/usr/bin/env bats
# How apply looks at the sandboxes it waits for (issue 13, item 4): after
# the plan's walk of the stack, the waits of a drift fix walk only the
# stack's recent changes (lastEventAfter), a page a tick, never the whole
# stack's list again; deletions, which a list never shows, are looked at
# by GET. Request counts from the emulator's log, no timing.

bats_require_minimum_version 1.5.0

load lib/emulator
load lib/apply

teardown() { emu_stop; }

# seed N: N started sandboxes s-00000.. of stack default labelled as
# sandform labels what it creates, their manifests (state: started) in
# m/seeded.yaml, and the state rebuilt by one plan.
seed() {
	local n=$1 labels
	mk probe
	labels=$("$SANDFORM" plan m --json --refresh=false --state probe.db 2>/dev/null |
		python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin)["actions"][0]["steps"][0]["labels"]))')
	rm -f m/probe.yaml probe.db*
	emu_hook POST /seed "{\"count\":$n,\"namePrefix\":\"s-\",\"create\":{\"snapshot\":\"daytona-small\",\"autoStopInterval\":0,\"labels\":$labels}}" >/dev/null
	[ "$(cat "$BATS_TEST_TMPDIR/emu.status")" = 200 ]
	python3 - "$n" >m/seeded.yaml <<'PY'
import sys
for i in range(int(sys.argv[1])):
    print("---\napiVersion: sandform.dev/v1\nkind: Sandbox\n"
          "metadata: {name: s-%05d, labels: {team: t}}\n"
          "spec: {snapshot: daytona-small, autoStopInterval: 0, "
          "state: started}" % i)
PY
	"$SANDFORM" plan m >/dev/null 2>&1
}

# lists: "whole recent" counts of list requests in the log: without and
# with lastEventAfter
lists() {
	emu_requests | python3 -c '
import json, sys
w = r = 0
for l in sys.stdin:
    if not l.strip():
        continue
    q = json.loads(l)
    if q["method"] == "GET" and q["path"] == "/api/sandbox":
        if "lastEventAfter=" in q.get("query", ""):
            r += 1
        else:
            w += 1
print(w, r)'
}

@test "a drift fix waits on the stack's recent changes, not a second walk of the stack" {
	apply_setup --transition-ms 400 --max-wait-ms 0
	seed 450
	for i in 00010 00100 00200 00300 00400 00449; do
		emu_api POST "/sandbox/s-$i/stop" >/dev/null
	done
	emu_wait_state s-00449 stopped
	emu_wait_state s-00010 stopped
	emu_hook DELETE /requests >/dev/null
	run --separate-stderr "$SANDFORM" apply m --auto-approve --parallelism 8
	[ "$status" -eq 0 ]
	[[ "$output" == *"6 of 6 done, 0 failed"* ]]
	read -r whole recent < <(lists)
	echo "lists: whole=$whole recent=$recent" >&2
	# the plan's walk of 450 is 3 pages; the waits walked recent changes
	[ "$whole" -eq 3 ]
	[ "$recent" -ge 1 ]
	run "$SANDFORM" plan m --detailed-exitcode
	[ "$status" -eq 0 ]
}

@test "deletions in the same run are waited for with GETs: a list never shows the gone" {
	apply_setup --transition-ms 300 --max-wait-ms 0
	seed 1000
	for i in 00100 00500 00900 00999; do
		emu_api POST "/sandbox/s-$i/stop" >/dev/null
	done
	emu_wait_state s-00999 stopped
	emu_wait_state s-00100 stopped
	python3 - <<'PY'
import re
s = open("m/seeded.yaml").read().split("---\n")
keep = [d for d in s if d and not re.search(r"name: s-0000[0-2],", d)]
open("m/seeded.yaml", "w").write("".join("---\n" + d for d in keep))
PY
	emu_hook DELETE /requests >/dev/null
	run --separate-stderr "$SANDFORM" apply m --auto-approve --parallelism 8
	[ "$status" -eq 0 ]
	[[ "$output" == *"7 of 7 done, 0 failed"* ]]
	read -r whole recent < <(lists)
	echo "lists: whole=$whole recent=$recent" >&2
	# the plan's walk is 5 pages. With seven jobs waiting, the poller's
	# cost model picks a whole walk (5 pages for 7 jobs) on a tick where
	# the jobs have no anchor yet; its absences then tell the deletions.
	# How many such ticks come first depends on the machine's load (CI's
	# distcheck builds saw one and two: whole=10 and 15), so the test
	# bounds them: at most three whole walks after the plan's, and the
	# waits otherwise walked recent changes. With no extra whole walk the
	# deletions were looked at by id, with GETs of single sandboxes.
	[ "$recent" -ge 1 ]
	[ "$whole" -ge 5 ]
	[ "$whole" -le 20 ]
	if [ "$whole" -eq 5 ]; then
		[ "$(emu_requests | grep -c '"method":"GET","path":"/api/sandbox/')" -ge 3 ]
	fi
	[ "$(live_names | grep -c '^s-0000[0-2]$')" -eq 0 ]
	run "$SANDFORM" plan m --detailed-exitcode
	[ "$status" -eq 0 ]
}
