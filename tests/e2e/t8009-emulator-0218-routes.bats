#!/usr/bin/env bats
# daytona-emulator: the sandbox routes of the 0.218 API (issue 14) —
# autopause/{n}, ttl/{n}, PUT secrets, pause and resume of linux-vm
# sandboxes, auto-pause on the emulated clock (docs/daytona-api-notes.md).

bats_require_minimum_version 1.5.0
load lib/emulator

setup() { emu_default_setup; }
teardown() { emu_default_teardown; }

msg() { echo "$EMU_BODY" | emu_json 'd["message"]'; }
field() { echo "$EMU_BODY" | emu_json "d[\"$1\"]"; }

@test "autopause/{n}: pausable classes only, exclusive with auto-stop, not ephemeral" {
	emu_start --transition-ms 0
	emu_api POST /sandbox '{"name":"c"}' >/dev/null
	emu_api POST /sandbox/c/autopause/10 >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(msg)" = "Auto-pause is not supported for this sandbox class" ]
	emu_api POST /sandbox/c/autopause/0 >/dev/null
	[ "$EMU_STATUS" = 201 ]
	emu_api POST /sandbox '{"name":"v","snapshot":"daytona-vm"}' >/dev/null
	emu_api POST /sandbox/v/autopause/15 >/dev/null
	[ "$EMU_STATUS" = 201 ]
	[ "$(field autoPauseInterval)" = 15 ]
	emu_api POST /sandbox/v/autostop/5 >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(msg)" = "At most one of autoStopInterval and autoPauseInterval may be non-zero" ]
	emu_api POST /sandbox/v/autopause/0 >/dev/null
	emu_api POST /sandbox/v/autostop/5 >/dev/null
	[ "$EMU_STATUS" = 201 ]
	emu_api POST /sandbox/v/autopause/5 >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(msg)" = "At most one of autoStopInterval and autoPauseInterval may be non-zero" ]
	emu_api POST /sandbox/v/autopause/-1 >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(msg)" = "Auto-pause interval must be non-negative" ]
	emu_api POST /sandbox '{"name":"e","snapshot":"daytona-vm","autoDeleteInterval":0}' >/dev/null
	emu_api POST /sandbox/e/autopause/5 >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(msg)" = "Auto-pause is not allowed for ephemeral sandboxes" ]
}

@test "ttl/{n}: re-anchored from now, 0 clears, expiry destroys" {
	emu_start --transition-ms 0
	emu_api POST /sandbox '{"name":"t"}' >/dev/null
	emu_hook POST clock/advance '{"ms":600000}' >/dev/null
	emu_api POST /sandbox/t/ttl/5 >/dev/null
	[ "$EMU_STATUS" = 201 ]
	dest=$(field autoDestroyAt)
	upd=$(field updatedAt)
	[ "$(python3 -c "import datetime as t,sys;f=lambda s:t.datetime.fromisoformat(s.replace('Z','+00:00'));print(round((f(sys.argv[2])-f(sys.argv[1])).total_seconds()))" "$upd" "$dest")" = 300 ]
	emu_api POST /sandbox/t/ttl/0 >/dev/null
	[ "$(echo "$EMU_BODY" | emu_json '"autoDestroyAt" in d')" = false ]
	emu_api POST /sandbox/t/ttl/-3 >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(msg)" = "TTL must be non-negative" ]
	emu_api POST /sandbox/t/ttl/1 >/dev/null
	emu_hook POST clock/advance '{"ms":61000}' >/dev/null
	emu_api GET /sandbox/t >/dev/null
	[ "$EMU_STATUS" = 404 ]
}

@test "PUT secrets replaces the set; [] detaches; malformed or unknown is 400" {
	emu_start --transition-ms 0
	emu_secrets a b c
	id=$(emu_api POST /sandbox '{"name":"s","secrets":[{"A":"a"}]}' | emu_json 'd["id"]')
	emu_api PUT /sandbox/s/secrets '{"secrets":[{"B":"b"},{"C":"c"}]}' >/dev/null
	[ "$EMU_STATUS" = 200 ]
	[ "$(echo "$EMU_BODY" | emu_json '"secrets" in d')" = false ]
	[ "$(emu_hook GET "sandbox/$id" | emu_json 'd["secrets"]')" = '[{"B": "b"}, {"C": "c"}]' ]
	emu_api PUT /sandbox/s/secrets '{"secrets":[]}' >/dev/null
	[ "$EMU_STATUS" = 200 ]
	[ "$(emu_hook GET "sandbox/$id" | emu_json 'd["secrets"]')" = '[]' ]
	emu_api PUT /sandbox/s/secrets '{}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	# an unknown name: 400, and the set is left as it was
	emu_api PUT /sandbox/s/secrets '{"secrets":[{"A":"a"}]}' >/dev/null
	emu_api PUT /sandbox/s/secrets '{"secrets":[{"B":"b"},{"D":"nope"}]}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(echo "$EMU_BODY" | emu_json 'd["message"]')" = "Secret with name nope not found" ]
	[ "$(emu_hook GET "sandbox/$id" | emu_json 'd["secrets"]')" = '[{"A": "a"}]' ]
	# a deleted secret is unknown to later calls
	emu_api DELETE "/secret/c" >/dev/null
	emu_api PUT /sandbox/s/secrets '{"secrets":[{"C":"c"}]}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
}

@test "pause and resume a linux-vm sandbox; a container answers 422" {
	emu_start --transition-ms 1200
	emu_api POST /sandbox '{"name":"c"}' >/dev/null
	emu_api POST /sandbox/c/pause >/dev/null
	[ "$EMU_STATUS" = 422 ]
	[ "$(msg)" = "Pausing is not supported for this sandbox" ]
	emu_api POST /sandbox '{"name":"v","snapshot":"daytona-vm"}' >/dev/null
	[ "$(field state)" = started ]
	emu_api POST /sandbox/v/pause >/dev/null
	[ "$EMU_STATUS" = 200 ]
	[ "$(field state)" = pausing ]
	[ "$(field desiredState)" = paused ]
	emu_api POST /sandbox/v/pause >/dev/null
	[ "$EMU_STATUS" = 409 ]
	emu_wait_state v paused
	emu_api POST /sandbox/v/pause >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(msg)" = "Sandbox is not started" ]
	# start resumes: resuming, then started
	emu_api POST /sandbox/v/start >/dev/null
	[ "$EMU_STATUS" = 200 ]
	[ "$(field state)" = started ]
	# a paused sandbox can be stopped
	emu_api POST /sandbox/v/pause >/dev/null
	emu_wait_state v paused
	emu_api POST /sandbox/v/stop >/dev/null
	[ "$EMU_STATUS" = 200 ]
	emu_wait_state v stopped
}

@test "auto-pause pauses an idle linux-vm sandbox on the emulated clock; containers are left alone" {
	emu_start --transition-ms 0
	emu_api POST /sandbox '{"name":"v","snapshot":"daytona-vm","autoPauseInterval":5}' >/dev/null
	emu_api POST /sandbox '{"name":"c","autoStopInterval":0}' >/dev/null
	emu_hook POST clock/advance '{"ms":240000}' >/dev/null
	[ "$(emu_api GET /sandbox/v | emu_json 'd["state"]')" = started ]
	emu_hook POST clock/advance '{"ms":120000}' >/dev/null
	emu_wait_state v paused
	[ "$(emu_api GET /sandbox/c | emu_json 'd["state"]')" = started ]
}
