#!/usr/bin/env bats
# daytona-emulator: start, stop, archive, delete, recover, resize and the
# metadata routes; the 400/409 order of daytona-api.md §13; 200 vs 201.

bats_require_minimum_version 1.5.0
load lib/emulator

setup() { emu_default_setup; }
teardown() { emu_default_teardown; }

msg() { echo "$EMU_BODY" | emu_json 'd["message"]'; }
state() { echo "$EMU_BODY" | emu_json 'd["state"]'; }

@test "stop, start and the conflicts while a transition runs" {
	emu_start --transition-ms 2500
	emu_api POST /sandbox '{"name":"s"}' >/dev/null
	emu_api POST /sandbox/s/start >/dev/null   # idempotent on started
	[ "$EMU_STATUS" = 200 ]
	[ "$(state)" = started ]
	emu_api POST /sandbox/s/stop >/dev/null
	[ "$EMU_STATUS" = 200 ]
	[ "$(state)" = stopping ]
	[ "$(echo "$EMU_BODY" | emu_json 'd["desiredState"]')" = stopped ]
	emu_api POST /sandbox/s/stop >/dev/null
	[ "$EMU_STATUS" = 409 ]
	[ "$(msg)" = "Sandbox state change in progress" ]
	emu_api POST /sandbox/s/start >/dev/null
	[ "$EMU_STATUS" = 409 ]
	emu_api DELETE /sandbox/s >/dev/null
	[ "$EMU_STATUS" = 409 ]
	emu_wait_state s stopped
	emu_api POST /sandbox/s/stop >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(msg)" = "Sandbox is not in a stoppable state" ]
	emu_api POST '/sandbox/s/stop?force=true' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	# start blocks until started
	emu_api POST /sandbox/s/start >/dev/null
	[ "$EMU_STATUS" = 200 ]
	[ "$(state)" = started ]
}

@test "archive needs stopped; start from archived returns archived then restores" {
	emu_start --transition-ms 600 --start-ms 3000
	emu_api POST /sandbox '{"name":"a"}' >/dev/null
	emu_api POST /sandbox/a/archive >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(msg)" = "Sandbox is not stopped" ]
	emu_api POST /sandbox/a/stop >/dev/null
	emu_api POST /sandbox/a/archive >/dev/null
	[ "$EMU_STATUS" = 409 ]
	emu_wait_state a stopped
	emu_api POST /sandbox/a/archive >/dev/null
	[ "$EMU_STATUS" = 200 ]
	[ "$(state)" = archiving ]
	emu_wait_state a archived
	[ "$(emu_api GET /sandbox/a | emu_json 'd["runnerId"]')" = null ]
	emu_api POST /sandbox/a/start >/dev/null
	[ "$EMU_STATUS" = 200 ]
	[ "$(state)" = archived ]
	[ "$(echo "$EMU_BODY" | emu_json 'd["desiredState"]')" = started ]
	# GET shows archived, the list shows restoring (§5.3)
	[ "$(emu_api GET /sandbox/a | emu_json 'd["state"]')" = archived ]
	[ "$(emu_api GET /sandbox | emu_json 'd["items"][0]["state"]')" = restoring ]
	emu_wait_state a started
}

@test "an ephemeral sandbox cannot be archived and is deleted by stop" {
	# a slow emulated clock keeps auto-delete (idle > 0 min) from racing
	emu_start --transition-ms 100 --time-scale 0.000001
	emu_api POST /sandbox '{"name":"eph","autoDeleteInterval":0}' >/dev/null
	emu_api POST /sandbox/eph/stop >/dev/null
	[ "$EMU_STATUS" = 200 ]
	[ "$(state)" = destroying ]
	[[ "$(echo "$EMU_BODY" | emu_json 'd["name"]')" == DESTROYED_eph_* ]]
	emu_api GET /sandbox/eph >/dev/null
	[ "$EMU_STATUS" = 404 ]
	emu_api POST /sandbox '{"name":"eph2","autoDeleteInterval":0}' >/dev/null
	emu_hook POST sandbox/eph2 '{"state":"stopped"}' >/dev/null
	emu_api POST /sandbox/eph2/archive >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(msg)" = "Ephemeral sandboxes cannot be archived" ]
}

@test "delete renames, answers destroying, then 404; a second delete is 409" {
	emu_start --transition-ms 400 --delete-ms 2500
	id=$(emu_api POST /sandbox '{"name":"d"}' | emu_json 'd["id"]')
	emu_api DELETE /sandbox/d >/dev/null
	[ "$EMU_STATUS" = 200 ]
	[ "$(state)" = destroying ]
	[ "$(echo "$EMU_BODY" | emu_json 'd["desiredState"]')" = destroyed ]
	[[ "$(echo "$EMU_BODY" | emu_json 'd["name"]')" =~ ^DESTROYED_d_[0-9]{13}$ ]]
	emu_api GET /sandbox/d >/dev/null
	[ "$EMU_STATUS" = 404 ]
	emu_api DELETE "/sandbox/$id" >/dev/null
	[ "$EMU_STATUS" = 409 ]
	sleep 2.7
	emu_api GET "/sandbox/$id" >/dev/null
	[ "$EMU_STATUS" = 404 ]
	[ "$(msg)" = "Sandbox with ID or name $id not found" ]
	emu_api DELETE "/sandbox/$id" >/dev/null
	[ "$EMU_STATUS" = 404 ]
	[ "$(emu_api GET /sandbox | emu_json 'len(d["items"])')" = 0 ]
}

@test "errored sandboxes: 400 for actions, delete hides them, recover restarts" {
	emu_start --transition-ms 100
	emu_api POST /sandbox '{"name":"e"}' >/dev/null
	emu_hook POST sandbox/e '{"state":"error","errorReason":"runner lost"}' >/dev/null
	for a in start stop archive; do
		emu_api POST "/sandbox/e/$a" >/dev/null
		[ "$EMU_STATUS" = 400 ]
		[ "$(msg)" = "Sandbox is in an errored state" ]
	done
	emu_api POST /sandbox/e/recover >/dev/null
	[ "$EMU_STATUS" = 400 ]
	emu_hook POST sandbox/e '{"recoverable":true}' >/dev/null
	emu_api POST /sandbox/e/recover >/dev/null
	[ "$EMU_STATUS" = 200 ]
	[ "$(state)" = started ]
	[ "$(echo "$EMU_BODY" | emu_json 'd["errorReason"]')" = null ]
	emu_hook POST sandbox/e '{"state":"error","errorReason":"x","recoverable":true}' >/dev/null
	emu_api POST '/sandbox/e/recover?skipStart=true' >/dev/null
	[ "$EMU_STATUS" = 200 ]
	[ "$(state)" = stopped ]
	emu_hook POST sandbox/e '{"state":"build_failed","errorReason":"bad Dockerfile"}' >/dev/null
	emu_api DELETE /sandbox/e >/dev/null
	[ "$EMU_STATUS" = 200 ]
	emu_api GET /sandbox/e >/dev/null
	[ "$EMU_STATUS" = 404 ]
	[ "$(emu_api GET /sandbox | emu_json 'len(d["items"])')" = 0 ]
	[ "$(emu_api GET '/sandbox?includeErroredDeleted=true' | emu_json 'd["items"][0]["state"]')" = build_failed ]
}

@test "resize: rules, 404 when disabled, values applied after resizing" {
	emu_start --transition-ms 800
	emu_api POST /sandbox '{"name":"r"}' >/dev/null
	emu_api POST /sandbox/r/resize '{}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(msg)" = "No resource changes specified - sandbox is already at the desired configuration" ]
	emu_api POST /sandbox/r/resize '{"disk":5}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	emu_api POST /sandbox/r/resize '{"cpu":0}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	emu_api POST /sandbox/r/resize '{"cpu":2,"memory":2}' >/dev/null
	[ "$EMU_STATUS" = 200 ]
	[ "$(state)" = resizing ]
	emu_api POST /sandbox/r/resize '{"cpu":3}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	emu_wait_state r started
	[ "$(emu_api GET /sandbox/r | emu_json '[d["cpu"], d["memory"]]')" = "[2, 2]" ]
	emu_api POST /sandbox/r/resize '{"cpu":1}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	emu_api POST /sandbox/r/stop >/dev/null
	emu_wait_state r stopped
	emu_api POST /sandbox/r/resize '{"disk":2}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(msg)" = "Sandbox disk size cannot be decreased" ]
	emu_api POST /sandbox/r/resize '{"cpu":1,"disk":6}' >/dev/null
	[ "$EMU_STATUS" = 200 ]
	emu_wait_state r stopped
	[ "$(emu_api GET /sandbox/r | emu_json '[d["cpu"], d["disk"]]')" = "[1, 6]" ]
	emu_stop
	emu_start --resize-disabled --transition-ms 0
	emu_api POST /sandbox '{"name":"r"}' >/dev/null
	emu_api POST /sandbox/r/resize '{"cpu":2}' >/dev/null
	[ "$EMU_STATUS" = 404 ]
	[ "$(msg)" = "Not Found" ]
}

@test "labels replace; public, autostop, autoarchive, autodelete answer 201" {
	emu_start --transition-ms 0
	emu_api POST /sandbox '{"name":"m","labels":{"a":"1","b":"2"}}' >/dev/null
	emu_api PUT /sandbox/m/labels '{"labels":{"c":"3"}}' >/dev/null
	[ "$EMU_STATUS" = 200 ]
	[ "$(echo "$EMU_BODY" | emu_json 'd["labels"]')" = '{"c": "3"}' ]
	emu_api PUT /sandbox/m/labels '{"nolabels":1}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	emu_api POST /sandbox/m/public/true >/dev/null
	[ "$EMU_STATUS" = 201 ]
	[ "$(echo "$EMU_BODY" | emu_json 'd["public"]')" = true ]
	emu_api POST /sandbox/m/public/yes >/dev/null
	[ "$(echo "$EMU_BODY" | emu_json 'd["public"]')" = false ]
	emu_api POST /sandbox/m/autostop/0 >/dev/null
	[ "$EMU_STATUS" = 201 ]
	[ "$(echo "$EMU_BODY" | emu_json 'd["autoStopInterval"]')" = 0 ]
	emu_api POST /sandbox/m/autostop/-5 >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(msg)" = "Auto-stop interval must be non-negative" ]
	emu_api POST /sandbox/m/autostop/abc >/dev/null
	[ "$EMU_STATUS" = 500 ]
	[ "$(msg)" = "An unexpected error occurred." ]
	emu_api POST /sandbox/m/autoarchive/0 >/dev/null
	[ "$EMU_STATUS" = 201 ]
	[ "$(echo "$EMU_BODY" | emu_json 'd["autoArchiveInterval"]')" = 43200 ]
	emu_api POST /sandbox/m/autoarchive/50000 >/dev/null
	[ "$(echo "$EMU_BODY" | emu_json 'd["autoArchiveInterval"]')" = 43200 ]
	emu_api POST /sandbox/m/autoarchive/-1 >/dev/null
	[ "$EMU_STATUS" = 400 ]
	emu_api POST /sandbox/m/autodelete/-1 >/dev/null
	[ "$EMU_STATUS" = 201 ]
	emu_api POST /sandbox/m/autodelete/30 >/dev/null
	[ "$(echo "$EMU_BODY" | emu_json 'd["autoDeleteInterval"]')" = 30 ]
	emu_api POST /sandbox/m/backup >/dev/null
	[ "$EMU_STATUS" = 201 ]
	id=$(emu_api GET /sandbox/m | emu_json 'd["id"]')
	emu_api POST "/sandbox/$id/last-activity" >/dev/null
	[ "$EMU_STATUS" = 201 ]
	emu_api POST /sandbox/m/last-activity >/dev/null
	[ "$EMU_STATUS" = 404 ]
	emu_api POST /sandbox/m/pause >/dev/null
	[ "$EMU_STATUS" = 422 ]
	emu_api GET /sandbox/m/build-logs-url >/dev/null
	[ "$EMU_STATUS" = 200 ]
	for r in labels public/true autostop/1 stop start archive recover resize network-settings; do
		m=POST; [ "$r" = labels ] && m=PUT
		emu_api $m "/sandbox/ghost/$r" '{"labels":{}}' >/dev/null
		[ "$EMU_STATUS" = 404 ]
	done
}

@test "path numbers are read as the server reads them: Number(), then its checks" {
	emu_start --transition-ms 0
	emu_api POST /sandbox '{"name":"n"}' >/dev/null
	# "+value": 1e3 is 1000, 0x10 is 16, white space around is trimmed
	emu_api POST /sandbox/n/autostop/1e3 >/dev/null
	[ "$EMU_STATUS" = 201 ]
	[ "$(echo "$EMU_BODY" | emu_json 'd["autoStopInterval"]')" = 1000 ]
	emu_api POST /sandbox/n/autostop/%200x10%C2%A0 >/dev/null
	[ "$EMU_STATUS" = 201 ]
	[ "$(echo "$EMU_BODY" | emu_json 'd["autoStopInterval"]')" = 16 ]
	# what an int column cannot hold fails in the database (500)
	for v in 2147483648 1.5 abc Infinity; do
		emu_api POST "/sandbox/n/autostop/$v" >/dev/null
		[ "$EMU_STATUS" = 500 ] || { echo "autostop/$v gave $EMU_STATUS"; false; }
		[ "$(msg)" = "An unexpected error occurred." ]
	done
	emu_api POST /sandbox/n/autostop/-Infinity >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(msg)" = "Auto-stop interval must be non-negative" ]
	[ "$(emu_api GET /sandbox/n | emu_json 'd["autoStopInterval"]')" = 16 ]
	# auto-archive clamps before the column: Infinity is the maximum
	emu_api POST /sandbox/n/autoarchive/Infinity >/dev/null
	[ "$EMU_STATUS" = 201 ]
	[ "$(echo "$EMU_BODY" | emu_json 'd["autoArchiveInterval"]')" = 43200 ]
	emu_api POST /sandbox/n/autoarchive/NaN >/dev/null
	[ "$EMU_STATUS" = 500 ]
	emu_api POST /sandbox/n/autodelete/-2147483648 >/dev/null
	[ "$EMU_STATUS" = 201 ]
	[ "$(echo "$EMU_BODY" | emu_json 'd["autoDeleteInterval"]')" = -2147483648 ]
	emu_api POST /sandbox/n/autodelete/-2147483649 >/dev/null
	[ "$EMU_STATUS" = 500 ]
	# preview: only a number outside 1..65535 is refused, the rest is printed
	emu_api GET /sandbox/n/ports/8e3/preview-url >/dev/null
	[ "$EMU_STATUS" = 200 ]
	[[ "$(echo "$EMU_BODY" | emu_json 'd["url"]')" == https://8000-* ]]
	emu_api GET /sandbox/n/ports/x/preview-url >/dev/null
	[ "$EMU_STATUS" = 200 ]
	[[ "$(echo "$EMU_BODY" | emu_json 'd["url"]')" == https://NaN-* ]]
	emu_api GET /sandbox/n/ports/65536/preview-url >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(msg)" = "Invalid port" ]
	# a GPU sandbox refuses every auto-delete change, whatever the number
	emu_api POST /sandbox '{"name":"g","gpu":1,"autoDeleteInterval":0,"buildInfo":{"dockerfileContent":"FROM x"}}' >/dev/null
	[ "$EMU_STATUS" = 200 ]
	emu_api POST /sandbox/g/autodelete/abc >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(msg)" = "GPU sandboxes must remain ephemeral" ]
}

@test "network-settings: validation and the block-all/allow-list rules" {
	emu_start --transition-ms 0
	emu_api POST /sandbox '{"name":"n"}' >/dev/null
	emu_api POST /sandbox/n/network-settings '{}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	emu_api POST /sandbox/n/network-settings '{"networkAllowList":"1.2.3.4"}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	emu_api POST /sandbox/n/network-settings '{"networkAllowList":"1.2.3.4/32"}' >/dev/null
	[ "$EMU_STATUS" = 200 ]
	[ "$(echo "$EMU_BODY" | emu_json '[d["networkBlockAll"], d["networkAllowList"]]')" = '[false, "1.2.3.4/32"]' ]
	# block-all and the allow list are kept side by side (issue 14)
	emu_api POST /sandbox/n/network-settings '{"networkBlockAll":true}' >/dev/null
	[ "$(echo "$EMU_BODY" | emu_json '[d["networkBlockAll"], d["networkAllowList"]]')" = '[true, "1.2.3.4/32"]' ]
	emu_api POST /sandbox/n/network-settings '{"networkAllowList":"10.0.0.0/8","domainAllowList":"a.io"}' >/dev/null
	[ "$(echo "$EMU_BODY" | emu_json '[d["networkBlockAll"], d["networkAllowList"], d["domainAllowList"]]')" = '[true, "10.0.0.0/8", "a.io"]' ]
	emu_api POST /sandbox/n/network-settings '{"domainAllowList":""}' >/dev/null
	[ "$(echo "$EMU_BODY" | emu_json 'd["domainAllowList"]')" = null ]
	emu_api POST /sandbox/n/network-settings '{"networkBlockAll":false}' >/dev/null
	[ "$(echo "$EMU_BODY" | emu_json '[d["networkBlockAll"], d["networkAllowList"]]')" = '[false, "10.0.0.0/8"]' ]
	emu_api POST /sandbox/n/network-settings '{"networkAllowList":""}' >/dev/null
	[ "$(echo "$EMU_BODY" | emu_json 'd["networkAllowList"]')" = null ]
}

@test "metadata routes work in any live state, also during transitions" {
	emu_start --transition-ms 1500
	emu_api POST /sandbox '{"name":"t"}' >/dev/null
	emu_api POST /sandbox/t/stop >/dev/null
	emu_api PUT /sandbox/t/labels '{"labels":{"x":"y"}}' >/dev/null
	[ "$EMU_STATUS" = 200 ]
	[ "$(state)" = stopping ]
	emu_api POST /sandbox/t/autostop/30 >/dev/null
	[ "$EMU_STATUS" = 201 ]
}

@test "--quota: create and start count against the organization totals" {
	emu_start --quota 4/8/20 --transition-ms 0
	emu_api POST /sandbox '{"name":"m1","snapshot":"daytona-medium"}' >/dev/null
	[ "$EMU_STATUS" = 200 ]
	emu_api POST /sandbox '{"name":"m2","snapshot":"daytona-medium"}' >/dev/null
	[ "$EMU_STATUS" = 200 ]
	emu_api POST /sandbox '{"name":"m3","snapshot":"daytona-medium"}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[[ "$(msg)" == "Total CPU limit exceeded. Maximum allowed: 4."* ]]
	emu_api GET /sandbox/m3 >/dev/null
	[ "$EMU_STATUS" = 404 ]
	emu_api POST /sandbox/m1/stop >/dev/null
	emu_wait_state m1 stopped
	emu_api POST /sandbox '{"name":"s1"}' >/dev/null
	[ "$EMU_STATUS" = 200 ]
	emu_api POST /sandbox/m1/start >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[[ "$(msg)" == "Total CPU limit exceeded."* ]]
	emu_api POST /sandbox '{"name":"s2"}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[[ "$(msg)" == "Total disk limit exceeded. Maximum allowed: 20GiB."* ]]
	emu_api POST /sandbox/m1/archive >/dev/null
	emu_wait_state m1 archived
	emu_api POST /sandbox '{"name":"s2"}' >/dev/null
	[ "$EMU_STATUS" = 200 ]
	run "$DAYTONA_EMULATOR" --api-key k --quota 10/10
	[ "$status" -eq 1 ]
}

@test "snapshot passes through snapshotting; fork is 422; preview URLs" {
	emu_start --transition-ms 600
	emu_api POST /sandbox '{"name":"p"}' >/dev/null
	emu_api POST /sandbox/p/snapshot '{}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	emu_api POST /sandbox/p/snapshot '{"name":"snap-1"}' >/dev/null
	[ "$EMU_STATUS" = 200 ]
	[ "$(state)" = snapshotting ]
	emu_api POST /sandbox/p/stop >/dev/null
	[ "$EMU_STATUS" = 409 ]
	emu_wait_state p started
	emu_api POST /sandbox/p/fork '{}' >/dev/null
	[ "$EMU_STATUS" = 422 ]
	emu_api GET /sandbox/p/ports/3000/preview-url >/dev/null
	[ "$EMU_STATUS" = 200 ]
	[[ "$(echo "$EMU_BODY" | emu_json 'd["url"]')" == https://3000-*.proxy.app.daytona.io ]]
	emu_api GET /sandbox/p/ports/0/preview-url >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(emu_requests | grep -c '"bucket":"create"')" -eq 2 ]
}
