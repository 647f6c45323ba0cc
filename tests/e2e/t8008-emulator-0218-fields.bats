#!/usr/bin/env bats
# daytona-emulator: the sandbox fields of the 0.218 API (issue 14) —
# ttlMinutes/autoDestroyAt, autoPauseInterval, spot, kvm, outboundProxyUrl,
# gpuType, secrets, sandboxClass — stored, validated and echoed as the
# @daytona/api-client 0.218.0 models describe (docs/daytona-api-notes.md).

bats_require_minimum_version 1.5.0
load lib/emulator

setup() { emu_default_setup; }
teardown() { emu_default_teardown; }

msg() { echo "$EMU_BODY" | emu_json 'd["message"]'; }
IMG='"buildInfo":{"dockerfileContent":"FROM python:3.12\n"}'

@test "defaults: spot false, autoPauseInterval 0, no autoDestroyAt, container, kvm false" {
	emu_start --transition-ms 0
	emu_api POST /sandbox '{"name":"a"}' >sb.json
	[ "$EMU_STATUS" = 200 ]
	j() { emu_json "$1" <sb.json; }
	[ "$(j '[d["spot"], d["autoPauseInterval"], d["kvm"], d["sandboxClass"]]')" = '[false, 0, false, "container"]' ]
	[ "$(j '"autoDestroyAt" in d or "outboundProxyUrl" in d or "secrets" in d')" = false ]
	emu_api GET /sandbox >list.json
	[ "$(emu_json 'd["items"][0]["autoPauseInterval"]' <list.json)" = 0 ]
	[ "$(emu_json 'd["items"][0]["networkBlockAll"]' <list.json)" = false ]
}

@test "ttlMinutes sets autoDestroyAt; the sandbox is destroyed on expiry (time-scale)" {
	# 1 emulated minute in 0.1 s
	emu_start --transition-ms 0 --time-scale 600
	emu_api POST /sandbox '{"name":"t","ttlMinutes":1,"autoStopInterval":0}' >sb.json
	[ "$EMU_STATUS" = 200 ]
	created=$(emu_json 'd["createdAt"]' <sb.json)
	dest=$(emu_json 'd["autoDestroyAt"]' <sb.json)
	[ "$(python3 -c "import datetime as t,sys;f=lambda s:t.datetime.fromisoformat(s.replace('Z','+00:00'));print(int((f(sys.argv[2])-f(sys.argv[1])).total_seconds()))" "$created" "$dest")" = 60 ]
	# a stopped sandbox is destroyed too
	emu_api POST /sandbox '{"name":"s","ttlMinutes":2,"autoStopInterval":0}' >/dev/null
	emu_api POST /sandbox/s/stop >/dev/null
	for i in $(seq 60); do
		emu_api GET /sandbox/t >/dev/null
		[ "$EMU_STATUS" = 404 ] && break
		sleep 0.05
	done
	[ "$EMU_STATUS" = 404 ]
	for i in $(seq 60); do
		emu_api GET /sandbox/s >/dev/null
		[ "$EMU_STATUS" = 404 ] && break
		sleep 0.05
	done
	[ "$EMU_STATUS" = 404 ]
	# no TTL: still there
	emu_api POST /sandbox '{"name":"k","autoStopInterval":0}' >/dev/null
	sleep 0.3
	emu_api GET /sandbox/k >/dev/null
	[ "$EMU_STATUS" = 200 ]
}

@test "ttlMinutes expiry through clock/advance; negative ttl refused" {
	emu_start --transition-ms 0
	dest=$(emu_api POST /sandbox '{"name":"t","ttlMinutes":30}' | emu_json 'd["autoDestroyAt"]')
	[ "$(emu_api GET /sandbox | emu_json 'd["items"][0]["autoDestroyAt"]')" = "$dest" ]
	emu_hook POST clock/advance '{"ms":1740000}' >/dev/null
	emu_api GET /sandbox/t >/dev/null
	[ "$EMU_STATUS" = 200 ]
	emu_hook POST clock/advance '{"ms":61000}' >/dev/null
	emu_api GET /sandbox/t >/dev/null
	[ "$EMU_STATUS" = 404 ]
	emu_api POST /sandbox '{"ttlMinutes":-1}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(msg)" = "ttlMinutes must not be less than 0" ]
	emu_api POST /sandbox '{"ttlMinutes":"5"}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
}

@test "autoPauseInterval: linux-vm only, not ephemeral, exclusive with autoStopInterval" {
	emu_start --transition-ms 0
	emu_api POST /sandbox '{"autoPauseInterval":10}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(msg)" = "Auto-pause is not supported for this sandbox class" ]
	emu_api POST /sandbox '{"snapshot":"daytona-vm","autoPauseInterval":10,"autoStopInterval":5}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(msg)" = "At most one of autoStopInterval and autoPauseInterval may be non-zero" ]
	emu_api POST /sandbox '{"snapshot":"daytona-vm","autoPauseInterval":10,"autoDeleteInterval":0}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(msg)" = "Auto-pause is not allowed for ephemeral sandboxes" ]
	emu_api POST /sandbox '{"snapshot":"daytona-vm","autoPauseInterval":-1}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(msg)" = "autoPauseInterval must not be less than 0" ]
	# set: auto-stop off unless given
	emu_api POST /sandbox '{"name":"p","snapshot":"daytona-vm","autoPauseInterval":10}' >sb.json
	[ "$EMU_STATUS" = 200 ]
	[ "$(emu_json '[d["sandboxClass"], d["autoPauseInterval"], d["autoStopInterval"]]' <sb.json)" = '["linux-vm", 10, 0]' ]
	# neither given on a pausable class: pause after 60, no auto-stop
	emu_api POST /sandbox '{"name":"v","snapshot":"daytona-vm"}' >sb.json
	[ "$(emu_json '[d["autoPauseInterval"], d["autoStopInterval"]]' <sb.json)" = '[60, 0]' ]
	# auto-stop given: no default pause
	emu_api POST /sandbox '{"name":"w","snapshot":"daytona-vm","autoStopInterval":5}' >sb.json
	[ "$(emu_json '[d["autoPauseInterval"], d["autoStopInterval"]]' <sb.json)" = '[0, 5]' ]
	# 0 with a non-zero auto-stop is fine anywhere
	emu_api POST /sandbox '{"autoPauseInterval":0,"autoStopInterval":5}' >/dev/null
	[ "$EMU_STATUS" = 200 ]
	# the list filters by class
	[ "$(emu_api GET '/sandbox?sandboxClasses=linux-vm' | emu_json 'sorted(i["name"] for i in d["items"])')" = '["p", "v", "w"]' ]
}

@test "gpuType: the 0.218 enum, a preference list whose first is assigned; spot needs a GPU" {
	emu_start --transition-ms 0
	emu_api POST /sandbox "{$IMG,\"gpu\":1,\"autoDeleteInterval\":0,\"gpuType\":[\"H200\",\"H100\"],\"spot\":true}" >sb.json
	[ "$EMU_STATUS" = 200 ]
	[ "$(emu_json '[d["gpuType"], d["spot"], d["gpu"]]' <sb.json)" = '["H200", true, 1]' ]
	id=$(emu_json 'd["id"]' <sb.json)
	[ "$(emu_hook GET "sandbox/$id" | emu_json 'd["_gpuTypes"]')" = '["H200", "H100"]' ]
	emu_api POST /sandbox "{$IMG,\"gpu\":1,\"autoDeleteInterval\":0,\"gpuType\":\"MI355X\"}" >/dev/null
	[ "$EMU_STATUS" = 200 ]
	emu_api POST /sandbox "{$IMG,\"gpu\":1,\"autoDeleteInterval\":0,\"gpuType\":[\"A100\"]}" >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(msg)" = "each value in gpuType must be one of the following values: H100, H200, B300, RTX-PRO-6000, RTX-4090, RTX-5090, MI355X" ]
	emu_api POST /sandbox '{"gpuType":["H100"]}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(msg)" = "Cannot specify GPU type when creating sandbox from snapshot. GPU type is inherited from snapshot." ]
	emu_api POST /sandbox '{"spot":true}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(msg)" = "Spot is only supported for GPU sandboxes" ]
	emu_api POST /sandbox '{"spot":"yes"}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(msg)" = "spot must be a boolean value" ]
}

@test "kvm: linux-vm snapshots only" {
	emu_start --transition-ms 0
	emu_api POST /sandbox '{"kvm":true}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(msg)" = "KVM is only supported for linux-vm sandboxes" ]
	emu_api POST /sandbox "{$IMG,\"kvm\":true}" >/dev/null
	[ "$EMU_STATUS" = 400 ]
	emu_api POST /sandbox '{"snapshot":"daytona-vm","kvm":true}' >sb.json
	[ "$EMU_STATUS" = 200 ]
	[ "$(emu_json 'd["kvm"]' <sb.json)" = true ]
}

@test "outboundProxyUrl: http(s) URL, echoed on single reads only" {
	emu_start --transition-ms 0
	emu_api POST /sandbox '{"name":"x","outboundProxyUrl":"http://user:pw@proxy.corp:3128"}' >sb.json
	[ "$EMU_STATUS" = 200 ]
	[ "$(emu_json 'd["outboundProxyUrl"]' <sb.json)" = "http://user:pw@proxy.corp:3128" ]
	[ "$(emu_api GET /sandbox/x | emu_json 'd["outboundProxyUrl"]')" = "http://user:pw@proxy.corp:3128" ]
	[ "$(emu_api GET /sandbox | emu_json '"outboundProxyUrl" in d["items"][0]')" = false ]
	for bad in socks5://p:1080 proxy.corp:3128 'http://' 'https:///x'; do
		emu_api POST /sandbox "{\"outboundProxyUrl\":\"$bad\"}" >/dev/null
		[ "$EMU_STATUS" = 400 ]
		[ "$(msg)" = "outboundProxyUrl must be a URL address" ]
	done
}

@test "secrets: stored (never shown by the API), malformed or unknown refused" {
	emu_start --transition-ms 0
	emu_api POST /sandbox '{"name":"s","secrets":[{"GH_TOKEN":"gh"}]}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(msg)" = "Secret with name gh not found" ]
	emu_secrets gh npm
	emu_api POST /sandbox '{"name":"s","secrets":[{"GH_TOKEN":"gh"},{"NPM_TOKEN":"npm"}]}' >sb.json
	[ "$EMU_STATUS" = 200 ]
	[ "$(emu_json '"secrets" in d' <sb.json)" = false ]
	id=$(emu_json 'd["id"]' <sb.json)
	[ "$(emu_hook GET "sandbox/$id" | emu_json 'd["secrets"]')" = '[{"GH_TOKEN": "gh"}, {"NPM_TOKEN": "npm"}]' ]
	for bad in '{"A":"b"}' '["a"]' '[{"A":1}]' '[{"A":""}]'; do
		emu_api POST /sandbox "{\"secrets\":$bad}" >/dev/null
		[ "$EMU_STATUS" = 400 ]
		[ "$(msg)" = "secrets must be an array of objects mapping an environment variable to a secret name" ]
	done
}

@test "the new fields survive a restart with --state" {
	emu_start --transition-ms 0 --state "$BATS_TEST_TMPDIR/st.db"
	emu_secrets b
	emu_api POST /sandbox '{"name":"v","snapshot":"daytona-vm","kvm":true,"ttlMinutes":90,"outboundProxyUrl":"https://p:1","secrets":[{"A":"b"}]}' >a.json
	[ "$EMU_STATUS" = 200 ]
	emu_stop
	emu_start --transition-ms 0 --state "$BATS_TEST_TMPDIR/st.db"
	emu_api GET /sandbox/v >b.json
	[ "$EMU_STATUS" = 200 ]
	keys='[d[k] for k in ("sandboxClass","kvm","autoDestroyAt","outboundProxyUrl","autoPauseInterval","autoStopInterval")]'
	[ "$(emu_json "$keys" <a.json)" = "$(emu_json "$keys" <b.json)" ]
}
