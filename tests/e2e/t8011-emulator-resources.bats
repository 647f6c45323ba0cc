#!/usr/bin/env bats
# daytona-emulator: /volumes, /snapshots and /secret of the 0.218 API
# (issue 14) — CRUD, states on the transition clock, and sandbox creates
# that name an unknown or unready volume or snapshot (400), and --state
# keeping them across a restart.

bats_require_minimum_version 1.5.0
load lib/emulator

setup() { emu_default_setup; }
teardown() { emu_default_teardown; }

msg() { echo "$EMU_BODY" | emu_json 'd["message"]'; }
field() { echo "$EMU_BODY" | emu_json "d[\"$1\"]"; }
# poll PATH until its state is STATE ("404" waits for a 404)
poll() {
	local path=$1 want=$2 i st
	for i in $(seq 200); do
		st=$(emu_api GET "$path" | emu_json 'd.get("state", "")' 2>/dev/null)
		[ "$(cat "$BATS_TEST_TMPDIR/emu.status")" = 404 ] && st=404
		[ "$st" = "$want" ] && return 0
		sleep 0.05
	done
	return 1
}

@test "volumes: pending_create -> ready, by id and name, delete pending_delete -> gone" {
	emu_start --transition-ms 0 --create-ms 2500 --delete-ms 2000
	emu_api POST /volumes '{"name":"data"}' >/dev/null
	[ "$EMU_STATUS" = 200 ]
	[ "$(field state)" = pending_create ]
	id=$(field id)
	emu_api POST /volumes '{"name":"data"}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(msg)" = "Volume with name data already exists" ]
	emu_api DELETE "/volumes/$id" >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(msg)" = "Volume must be in 'ready' state in order to be deleted" ]
	poll "/volumes/$id" ready
	[ "$(emu_api GET /volumes/by-name/data | emu_json 'd["id"]')" = "$id" ]
	[ "$(emu_api GET /volumes | emu_json '[v["name"] for v in d]')" = '["data"]' ]
	emu_api GET /volumes/by-name/nope >/dev/null
	[ "$EMU_STATUS" = 404 ]
	[ "$(msg)" = "Volume with name nope not found" ]
	emu_api DELETE "/volumes/$id" >/dev/null
	[ "$EMU_STATUS" = 200 ]
	[ "$(emu_api GET "/volumes/$id" | emu_json 'd["state"]')" = pending_delete ]
	poll "/volumes/$id" 404
	emu_api GET "/volumes/$id" >/dev/null
	[ "$(msg)" = "Volume with ID $id not found" ]
}

@test "a sandbox create naming an unknown volume is 400; a known one is stored by id" {
	emu_start --transition-ms 0
	emu_api POST /sandbox '{"volumes":[{"volumeId":"nope","mountPath":"/d"}]}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(msg)" = "Volume with ID or name nope not found" ]
	id=$(emu_api POST /volumes '{"name":"v1"}' | emu_json 'd["id"]')
	emu_api POST /sandbox '{"volumes":[{"volumeId":"v1","mountPath":"/d"}]}' >/dev/null
	[ "$EMU_STATUS" = 200 ]
	[ "$(echo "$EMU_BODY" | emu_json 'd["volumes"][0]["volumeId"]')" = "$id" ]
}

@test "snapshots: pending -> building -> active, deactivate/activate, delete, used by a create" {
	emu_start --transition-ms 0 --build-ms 2000 --delete-ms 2000
	emu_api POST /snapshots '{"name":"vmimg","imageName":"ubuntu:24.04","cpu":2,"memory":4,"disk":8,"sandboxClass":"linux-vm"}' >/dev/null
	[ "$EMU_STATUS" = 200 ]
	[ "$(field state)" = pending ]
	[ "$(echo "$EMU_BODY" | emu_json '[d["cpu"], d["mem"], d["disk"], d["sandboxClass"], d["general"]]')" = '[2, 4, 8, "linux-vm", false]' ]
	emu_api POST /sandbox '{"snapshot":"vmimg"}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[[ "$(msg)" =~ ^Snapshot\ vmimg\ is\ (pending|building)$ ]]
	seen=
	for i in $(seq 100); do
		st=$(emu_api GET /snapshots/vmimg | emu_json 'd["state"]')
		[ "$st" = building ] && seen=1
		[ "$st" = active ] && break
		sleep 0.05
	done
	[ "$seen" = 1 ]
	[ "$st" = active ]
	[ "$(emu_api GET /snapshots | emu_json '[d["total"], d["items"][0]["name"]]')" = '[1, "vmimg"]' ]
	emu_api POST /sandbox '{"name":"s","snapshot":"vmimg"}' >sb.json
	[ "$EMU_STATUS" = 200 ]
	[ "$(emu_json '[d["snapshot"], d["cpu"], d["memory"], d["disk"], d["sandboxClass"]]' <sb.json)" = '["vmimg", 2, 4, 8, "linux-vm"]' ]
	emu_api POST /snapshots/vmimg/deactivate >/dev/null
	[ "$(field state)" = inactive ]
	emu_api POST /sandbox '{"snapshot":"vmimg"}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(msg)" = "Snapshot vmimg is inactive" ]
	emu_api POST /snapshots/vmimg/activate >/dev/null
	[ "$(field state)" = active ]
	emu_api POST /snapshots '{"name":"vmimg","imageName":"x"}' >/dev/null
	[ "$EMU_STATUS" = 409 ]
	emu_api POST /snapshots '{"name":"noimg"}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	emu_api DELETE /snapshots/vmimg >/dev/null
	[ "$EMU_STATUS" = 200 ]
	[ "$(emu_api GET /snapshots/vmimg | emu_json 'd["state"]')" = removing ]
	poll /snapshots/vmimg 404
}

@test "a snapshot build under --error-rate 1 ends in error" {
	emu_start --transition-ms 0 --build-ms 100 --error-rate 1
	emu_api POST /snapshots '{"name":"bad","imageName":"x"}' >/dev/null
	sleep 0.3
	[ "$(emu_api GET /snapshots/bad | emu_json 'd["state"]')" = error ]
}

@test "a Dockerfile with RUN false ends in error with the build step's errorReason; server snapshots answer by name" {
	emu_start --transition-ms 0 --build-ms 100
	emu_api POST /snapshots '{"name":"bad","buildInfo":{"dockerfileContent":"FROM python:3.12\nRUN false\n"}}' >/dev/null
	[ "$EMU_STATUS" = 200 ]
	poll /snapshots/bad error
	[ "$(emu_api GET /snapshots/bad | emu_json 'd["errorReason"]')" = "Failed to build snapshot: The command '/bin/sh -c false' returned a non-zero code: 1" ]
	emu_api POST /snapshots '{"name":"good","buildInfo":{"dockerfileContent":"FROM python:3.12\nRUN true\n"}}' >/dev/null
	poll /snapshots/good active
	emu_api GET /snapshots/daytona-small >/dev/null
	[ "$EMU_STATUS" = 200 ]
	[ "$(field general)" = true ]
	[ "$(field state)" = active ]
	id=$(field id)
	[ "$(emu_api GET "/snapshots/$id" | emu_json 'd["name"]')" = daytona-small ]
	[ "$(emu_api GET /snapshots | emu_json '[s["name"] for s in d["items"]]')" = '["good", "bad"]' ]
}

@test "organization secrets: create, list, get, update, delete; the value is never shown" {
	emu_start --transition-ms 0
	emu_api POST /secret '{"name":"gh-token","value":"s3cr3t-value","description":"GitHub"}' >/dev/null
	[ "$EMU_STATUS" = 201 ]
	id=$(field id)
	[[ "$EMU_BODY" != *s3cr3t-value* ]]
	[[ "$(field placeholder)" == dtn_secret_* ]]
	emu_api POST /secret '{"name":"gh-token","value":"x"}' >/dev/null
	[ "$EMU_STATUS" = 409 ]
	for bad in 'bad name' 1abc -abc ''; do
		emu_api POST /secret "{\"name\":\"$bad\",\"value\":\"x\"}" >/dev/null
		[ "$EMU_STATUS" = 400 ]
		[ "$(msg)" = 'name must match /^[a-zA-Z_][a-zA-Z0-9_-]*$/ regular expression' ]
	done
	emu_api POST /secret '{"name":"_ok-1","value":"x"}' >/dev/null
	[ "$EMU_STATUS" = 201 ]
	emu_api DELETE /secret/_ok-1 >/dev/null
	[ "$(emu_api GET /secret | emu_json '[s["name"] for s in d]')" = '["gh-token"]' ]
	emu_api PATCH "/secret/$id" '{"value":"new","description":"GH"}' >/dev/null
	[ "$EMU_STATUS" = 200 ]
	[ "$(field description)" = GH ]
	[[ "$(emu_api GET "/secret/$id")" != *new\"* ]]
	emu_api DELETE "/secret/$id" >/dev/null
	[ "$EMU_STATUS" = 200 ]
	emu_api GET "/secret/$id" >/dev/null
	[ "$EMU_STATUS" = 404 ]
}

@test "reset clears volumes, snapshots and secrets" {
	emu_start --transition-ms 0
	emu_api POST /volumes '{"name":"v"}' >/dev/null
	emu_api POST /secret '{"name":"s","value":"x"}' >/dev/null
	emu_hook POST reset >/dev/null
	[ "$(emu_api GET /volumes)" = '[]' ]
	[ "$(emu_api GET /secret)" = '[]' ]
}

@test "--state keeps volumes, snapshots and secrets across a restart; a transition in flight ends on time; reset clears the file too" {
	st="$BATS_TEST_TMPDIR/st.db"
	emu_start --transition-ms 0 --create-ms 0 --build-ms 0 --delete-ms 60000 --state "$st"
	vid=$(emu_api POST /volumes '{"name":"data"}' | emu_json 'd["id"]')
	emu_api POST /volumes '{"name":"gone"}' >/dev/null
	emu_api POST /snapshots '{"name":"vmimg","imageName":"ubuntu:24.04","cpu":2,"memory":4,"disk":8,"sandboxClass":"linux-vm"}' >/dev/null
	emu_api POST /snapshots '{"name":"old","imageName":"ubuntu:22.04"}' >/dev/null
	poll /snapshots/old active
	emu_api POST /snapshots/old/deactivate >/dev/null
	[ "$EMU_STATUS" = 200 ]
	sid=$(emu_api POST /secret '{"name":"gh","value":"s3cr3t-value","description":"GitHub"}' | emu_json 'd["id"]')
	emu_secrets npm
	emu_api DELETE /secret/npm >/dev/null
	emu_api DELETE "/volumes/$(emu_api GET /volumes/by-name/gone | emu_json 'd["id"]')" >/dev/null
	[ "$EMU_STATUS" = 200 ]
	before_v=$(emu_api GET /volumes)
	before_s=$(emu_api GET /snapshots)
	before_k=$(emu_api GET /secret)
	emu_stop
	# the value of a secret is in no file
	! grep -rqa s3cr3t-value "$BATS_TEST_TMPDIR"/st.db*
	emu_start --transition-ms 0 --create-ms 0 --build-ms 0 --delete-ms 60000 --state "$st"
	[ "$(emu_api GET /volumes)" = "$before_v" ]
	[ "$(emu_api GET /snapshots)" = "$before_s" ]
	[ "$(emu_api GET /secret)" = "$before_k" ]
	[ "$(emu_api GET /volumes/by-name/gone | emu_json 'd["state"]')" = pending_delete ]
	[ "$(emu_api GET /snapshots/old | emu_json 'd["state"]')" = inactive ]
	[ "$(emu_api GET "/secret/$sid" | emu_json 'd["description"]')" = GitHub ]
	# still usable: a sandbox names them, an update is kept
	emu_api POST /sandbox '{"name":"vm","snapshot":"vmimg","volumes":[{"volumeId":"data","mountPath":"/d"}],"secrets":[{"GH_TOKEN":"gh"}]}' >sb.json
	[ "$EMU_STATUS" = 200 ]
	[ "$(emu_json '[d["sandboxClass"], d["cpu"], d["volumes"][0]["volumeId"]]' <sb.json)" = "[\"linux-vm\", 2, \"$vid\"]" ]
	emu_api POST /sandbox '{"secrets":[{"X":"npm"}]}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	emu_api PATCH "/secret/$sid" '{"description":"GH"}' >/dev/null
	emu_stop
	# a deletion in flight finishes on time across a restart
	emu_start --transition-ms 0 --create-ms 0 --build-ms 0 --delete-ms 0 --state "$st"
	[ "$(emu_api GET "/secret/$sid" | emu_json 'd["description"]')" = GH ]
	[ "$(emu_api GET /volumes | emu_json '[v["name"] for v in d]')" = '["data"]' ]
	emu_hook POST reset >/dev/null
	emu_stop
	emu_start --transition-ms 0 --state "$st"
	[ "$(emu_api GET /volumes)" = '[]' ]
	[ "$(emu_api GET /secret)" = '[]' ]
	[ "$(emu_api GET /snapshots | emu_json 'd["total"]')" = 0 ]
}

@test "without --state nothing outlives the emulator" {
	emu_start --transition-ms 0
	emu_api POST /volumes '{"name":"v"}' >/dev/null
	emu_secrets s
	emu_stop
	emu_start --transition-ms 0
	[ "$(emu_api GET /volumes)" = '[]' ]
	[ "$(emu_api GET /secret)" = '[]' ]
}
