#!/usr/bin/env bats
# daytona-emulator: the /_emulator/ test hooks, the platform lifecycle on the
# emulated clock (--time-scale, clock/advance) and --state persistence.

bats_require_minimum_version 1.5.0
load lib/emulator

setup() { emu_default_setup; }
teardown() { emu_default_teardown; }

@test "the request log lists exactly the API calls, oldest first; DELETE clears it" {
	emu_start --transition-ms 0
	emu_api POST /sandbox '{"name":"a"}' >/dev/null
	emu_api GET '/sandbox?limit=2&states=started' >/dev/null
	emu_api GET /sandbox/nope >/dev/null
	emu_hook GET counters >/dev/null
	run emu_requests
	[ "${#lines[@]}" -eq 3 ]
	[ "${lines[0]}" = '{"method":"POST","path":"/api/sandbox","query":"","status":200,"bucket":"create"}' ]
	[ "${lines[1]}" = '{"method":"GET","path":"/api/sandbox","query":"limit=2&states=started","status":200,"bucket":"other"}' ]
	[ "${lines[2]}" = '{"method":"GET","path":"/api/sandbox/nope","query":"","status":404,"bucket":"other"}' ]
	emu_hook DELETE requests >/dev/null
	[ "$EMU_STATUS" = 200 ]
	[ -z "$(emu_requests)" ]
}

@test "counters count per route and per method" {
	emu_start --transition-ms 0
	emu_api POST /sandbox '{"name":"a"}' >/dev/null
	emu_api GET /sandbox/a >/dev/null
	emu_api GET /sandbox/a >/dev/null
	emu_api POST /sandbox/a/stop >/dev/null
	emu_hook GET counters >c.json
	[ "$(emu_json 'd["routes"]["GET /sandbox/{id}"]' <c.json)" = 2 ]
	[ "$(emu_json 'd["routes"]["POST /sandbox/{id}/stop"]' <c.json)" = 1 ]
	[ "$(emu_json 'd["methods"]' <c.json)" = '{"GET": 2, "POST": 2}' ]
	[ "$(emu_json 'd["total"]' <c.json)" = 4 ]
}

@test "reset empties the organization, the log and the counters" {
	emu_start --transition-ms 0
	emu_hook POST seed '{"count":5}' >/dev/null
	emu_api GET /sandbox >/dev/null
	emu_hook POST reset >/dev/null
	[ "$EMU_STATUS" = 200 ]
	[ -z "$(emu_requests)" ]
	[ "$(emu_api GET /sandbox | emu_json 'len(d["items"])')" = 0 ]
	emu_api POST /sandbox '{"name":"sb-00000"}' >/dev/null
	[ "$EMU_STATUS" = 200 ]
}

@test "seed creates N started sandboxes named prefix+00000" {
	emu_start
	emu_hook POST seed '{"count":3,"namePrefix":"b-","create":{"labels":{"k":"v"},"snapshot":"daytona-large"}}' >/dev/null
	[ "$EMU_STATUS" = 200 ]
	[ "$(echo "$EMU_BODY" | emu_json 'd["created"]')" = 3 ]
	emu_api GET /sandbox/b-00002 >sb.json
	[ "$(emu_json '[d["state"], d["labels"], d["cpu"]]' <sb.json)" = '["started", {"k": "v"}, 4]' ]
	emu_hook POST seed '{"count":"x"}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	emu_hook POST seed '{"count":1,"create":{"cpu":3}}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	# hooks are not in the request log; the one GET is
	[ "$(emu_requests | wc -l)" -eq 1 ]
}

@test "seed is all or nothing: one taken name is 409 and nothing is made" {
	emu_start --transition-ms 0
	emu_api POST /sandbox '{"name":"z-00001"}' >/dev/null
	emu_hook POST seed '{"count":3,"namePrefix":"z-"}' >/dev/null
	[ "$EMU_STATUS" = 409 ]
	[ "$(echo "$EMU_BODY" | emu_json 'd["message"]')" = "Sandbox with name z-00001 already exists" ]
	[ "$(emu_api GET /sandbox | emu_json '[i["name"] for i in d["items"]]')" = '["z-00001"]' ]
}

@test "a Bearer key on a hook selects its organization" {
	emu_start --api-key second --transition-ms 0
	curl -sS -o /dev/null -X POST -H 'Authorization: Bearer second' \
		-H 'Content-Type: application/json' -d '{"count":2,"namePrefix":"two-"}' "$EMU_URL/_emulator/seed"
	emu_hook POST seed '{"count":1,"namePrefix":"one-"}' >/dev/null
	[ "$(DAYTONA_API_KEY=second emu_api GET /sandbox | emu_json 'sorted(i["name"] for i in d["items"])')" = '["two-00000", "two-00001"]' ]
	[ "$(emu_api GET /sandbox | emu_json '[i["name"] for i in d["items"]]')" = '["one-00000"]' ]
}

@test "out-of-band changes: dashboard stop, relabel, resources, runner failure" {
	emu_start --transition-ms 0
	emu_api POST /sandbox '{"name":"x","labels":{"a":"1"}}' >/dev/null
	emu_hook POST sandbox/x '{"state":"stopped"}' >sb.json
	[ "$EMU_STATUS" = 200 ]
	[ "$(emu_json '[d["state"], d["desiredState"]]' <sb.json)" = '["stopped", "stopped"]' ]
	emu_hook POST sandbox/x '{"labels":{"b":"2"},"cpu":3,"memory":6,"disk":9,"public":true,"autoStopInterval":0}' >/dev/null
	emu_api GET /sandbox/x >sb.json
	[ "$(emu_json '[d["labels"], d["cpu"], d["memory"], d["disk"], d["public"], d["autoStopInterval"]]' <sb.json)" = '[{"b": "2"}, 3, 6, 9, true, 0]' ]
	emu_hook POST sandbox/x '{"state":"error","errorReason":"runner lost","recoverable":true}' >/dev/null
	emu_api GET /sandbox/x >sb.json
	[ "$(emu_json '[d["state"], d["desiredState"], d["errorReason"], d["recoverable"]]' <sb.json)" = '["error", "stopped", "runner lost", true]' ]
	emu_hook POST sandbox/x '{"state":"started","desiredState":"stopped"}' >/dev/null
	[ "$(emu_api GET /sandbox/x | emu_json 'd["state"]')" = stopping ]
	emu_hook GET sandbox/x >raw.json
	[ "$(emu_json '[d["_rawState"], d["state"], d["desiredState"]]' <raw.json)" = '["started", "stopping", "stopped"]' ]
	emu_hook GET sandbox/ghost >/dev/null
	[ "$EMU_STATUS" = 404 ]
	emu_hook POST sandbox/x '{"state":"sleeping"}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	emu_hook POST sandbox/ghost '{"state":"stopped"}' >/dev/null
	[ "$EMU_STATUS" = 404 ]
}

@test "hooks read a JSON body whatever its Content-Type (curl -d)" {
	emu_start --transition-ms 0
	emu_api POST /sandbox '{"name":"x"}' >/dev/null
	# curl -d sends application/x-www-form-urlencoded
	code=$(curl -sS -o out.json -w '%{http_code}' -d '{"state":"error","errorReason":"x"}' "$EMU_URL/_emulator/sandbox/x")
	[ "$code" = 200 ]
	[ "$(emu_api GET /sandbox/x | emu_json 'd["state"]')" = error ]
	code=$(curl -sS -o out.json -w '%{http_code}' -d '{"state":"bogus"}' "$EMU_URL/_emulator/sandbox/x")
	[ "$code" = 400 ]
	code=$(curl -sS -o out.json -w '%{http_code}' -H 'Content-Type: text/plain' -d '{"ms":960000}' "$EMU_URL/_emulator/clock/advance")
	[ "$code" = 200 ]
	code=$(curl -sS -o out.json -w '%{http_code}' -d '{"ms":' "$EMU_URL/_emulator/clock/advance")
	[ "$code" = 400 ]
	# the API itself still ignores a body not declared JSON, as NestJS does
	code=$(curl -sS -o out.json -w '%{http_code}' -H 'Authorization: Bearer test-key' -d '{"name":"<b>"}' "$DAYTONA_API_URL/sandbox")
	[ "$code" = 200 ]
}

@test "hooks need the Bearer key when bound beyond loopback" {
	emu_start --transition-ms 0 --listen 0.0.0.0:0
	emu_hook GET counters >/dev/null
	[ "$EMU_STATUS" = 401 ]
	[ "$(echo "$EMU_BODY" | emu_json 'd["message"]')" = "Invalid credentials" ]
	emu_hook POST reset >/dev/null
	[ "$EMU_STATUS" = 401 ]
	code=$(curl -sS -o out.json -w '%{http_code}' -H 'Authorization: Bearer wrong' "$EMU_URL/_emulator/counters")
	[ "$code" = 401 ]
	code=$(curl -sS -o out.json -w '%{http_code}' -H 'Authorization: Bearer test-key' "$EMU_URL/_emulator/counters")
	[ "$code" = 200 ]
	code=$(curl -sS -o out.json -w '%{http_code}' -XPOST -H 'Authorization: Bearer test-key' -d '{"count":1}' "$EMU_URL/_emulator/seed")
	[ "$code" = 200 ]
	[ "$(emu_api GET /sandbox | emu_json 'len(d["items"])')" = 1 ]
}

@test "clock/advance drives auto-stop, auto-archive and auto-delete" {
	emu_start --transition-ms 0
	emu_api POST /sandbox '{"name":"idle"}' >/dev/null
	emu_api POST /sandbox '{"name":"keep","autoStopInterval":0}' >/dev/null
	emu_api POST /sandbox '{"name":"gone","autoDeleteInterval":60}' >/dev/null
	emu_hook POST clock/advance '{"ms":840000}' >/dev/null   # 14 min
	[ "$(emu_api GET /sandbox/idle | emu_json 'd["state"]')" = started ]
	emu_hook POST clock/advance '{"ms":120000}' >/dev/null   # 16 min
	[[ "$(echo "$EMU_BODY" | emu_json 'd["now"]')" =~ Z$ ]]
	emu_wait_state idle stopped
	emu_wait_state gone stopped
	[ "$(emu_api GET /sandbox/keep | emu_json 'd["state"]')" = started ]
	emu_hook POST clock/advance '{"ms":3660000}' >/dev/null  # 61 min
	emu_api GET /sandbox/gone >/dev/null
	[ "$EMU_STATUS" = 404 ]
	emu_hook POST clock/advance '{"ms":604800000}' >/dev/null # 7 days
	emu_wait_state idle archived
	emu_hook POST clock/advance '{"ms":-1}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
}

@test "--time-scale makes 15 minutes of idleness pass in about a second" {
	emu_start --transition-ms 0 --time-scale 1800
	emu_api POST /sandbox '{"name":"fast"}' >/dev/null
	emu_wait_state fast stopped 60
	# lastActivityAt moved on with the state change
	[ "$(emu_api GET /sandbox/fast | emu_json 'd["desiredState"]')" = stopped ]
}

@test "--state keeps the organization across a restart" {
	emu_start --transition-ms 1000 --state "$BATS_TEST_TMPDIR/emu.db"
	emu_hook POST seed '{"count":3,"namePrefix":"p-","create":{"labels":{"k":"v"}}}' >/dev/null
	emu_api POST /sandbox/p-00001/stop >/dev/null
	emu_api DELETE /sandbox/p-00002 >/dev/null
	id0=$(emu_api GET /sandbox/p-00000 | emu_json 'd["id"]')
	emu_stop
	emu_start --transition-ms 100 --state "$BATS_TEST_TMPDIR/emu.db"
	[ "$(emu_api GET /sandbox/p-00000 | emu_json 'd["id"]')" = "$id0" ]
	[ "$(emu_api GET /sandbox/p-00000 | emu_json 'd["labels"]')" = '{"k": "v"}' ]
	emu_wait_state p-00001 stopped
	emu_api GET /sandbox/p-00002 >/dev/null
	[ "$EMU_STATUS" = 404 ]
	emu_stop
	# another key does not see it
	"$DAYTONA_EMULATOR" --help >/dev/null
	emu_start --api-key other --state "$BATS_TEST_TMPDIR/emu.db"
	[ "$(DAYTONA_API_KEY=other emu_api GET /sandbox | emu_json 'len(d["items"])')" = 0 ]
	[ "$(emu_api GET /sandbox | emu_json 'len(d["items"])')" = 2 ]
	! grep -q test-key "$BATS_TEST_TMPDIR/emu.db"
}

@test "--state files are private (0600) whatever the umask" {
	umask 022
	emu_start --transition-ms 0 --state "$BATS_TEST_TMPDIR/new.db"
	emu_api POST /sandbox '{"name":"s","env":{"SECRET":"v"}}' >/dev/null
	[ "$EMU_STATUS" = 200 ]
	[ "$(stat -c %a "$BATS_TEST_TMPDIR/new.db")" = 600 ]
	for f in "$BATS_TEST_TMPDIR"/new.db-*; do
		[ ! -e "$f" ] || [ "$(stat -c %a "$f")" = 600 ]
	done
	emu_stop
	# an existing file readable by others is tightened
	touch "$BATS_TEST_TMPDIR/old.db"
	chmod 0644 "$BATS_TEST_TMPDIR/old.db"
	emu_start --transition-ms 0 --state "$BATS_TEST_TMPDIR/old.db"
	[ "$(stat -c %a "$BATS_TEST_TMPDIR/old.db")" = 600 ]
}

@test "build-logs-url points at a hook that answers the logs as text" {
	emu_start --transition-ms 0
	emu_api POST /sandbox '{"name":"b"}' >/dev/null
	url=$(emu_api GET /sandbox/b/build-logs-url | emu_json 'd["url"]')
	[[ "$url" == "$EMU_URL/_emulator/build-logs/"* ]]
	run curl -sS -D head.txt "$url"
	[ "$status" -eq 0 ]
	[ "$output" = "daytona-emulator: build finished" ]
	grep -qi '^content-type: text/plain' head.txt
}
