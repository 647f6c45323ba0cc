#!/usr/bin/env bats
# daytona-emulator: wire differences fixed in issue 14 — resize with a disk
# on a running sandbox, networkBlockAll with an allow list, the domain
# allow-list rule, linkedSandbox (docs/daytona-api-notes.md).

bats_require_minimum_version 1.5.0
load lib/emulator

setup() { emu_default_setup; }
teardown() { emu_default_teardown; }

msg() { echo "$EMU_BODY" | emu_json 'd["message"]'; }

@test "resize naming the disk of a running sandbox is 400 even when it is unchanged" {
	emu_start --transition-ms 0
	emu_api POST /sandbox '{"name":"r"}' >/dev/null
	emu_api POST /sandbox/r/resize '{"cpu":2,"disk":3}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(msg)" = "Disk resize can only be performed on a stopped sandbox" ]
	emu_api POST /sandbox/r/resize '{"disk":3}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(msg)" = "Disk resize can only be performed on a stopped sandbox" ]
	emu_api POST /sandbox/r/resize '{"cpu":2}' >/dev/null
	[ "$EMU_STATUS" = 200 ]
}

@test "create with networkBlockAll true and an allow list keeps both" {
	emu_start --transition-ms 0
	emu_api POST /sandbox '{"name":"n","networkBlockAll":true,"networkAllowList":"10.0.0.0/8"}' >sb.json
	[ "$EMU_STATUS" = 200 ]
	[ "$(emu_json '[d["networkBlockAll"], d["networkAllowList"]]' <sb.json)" = '[true, "10.0.0.0/8"]' ]
	[ "$(emu_api GET /sandbox | emu_json '[d["items"][0]["networkBlockAll"], d["items"][0]["networkAllowList"]]')" = '[true, "10.0.0.0/8"]' ]
}

@test "domainAllowList: example.123, 1.2.3.4 and a.b are refused" {
	emu_start --transition-ms 0
	for bad in example.123 1.2.3.4 a.b 'ok.com,x.1'; do
		emu_api POST /sandbox "{\"domainAllowList\":\"$bad\"}" >/dev/null
		[ "$EMU_STATUS" = 400 ]
		[ "$(msg)" = "domainAllowList must be a comma-separated list of domain names (e.g. example.com, *.example.com)" ]
	done
	emu_api POST /sandbox '{"name":"d","domainAllowList":"a.io,*.example.com"}' >/dev/null
	[ "$EMU_STATUS" = 200 ]
	emu_api POST /sandbox/d/network-settings '{"domainAllowList":"1.2.3.4"}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
}

@test "linkedSandbox: must exist, both ephemeral, not linked itself" {
	emu_start --transition-ms 0
	emu_api POST /sandbox '{"linkedSandbox":"nope","autoDeleteInterval":0}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(msg)" = "Linked sandbox nope not found" ]
	emu_api POST /sandbox '{"name":"keep"}' >/dev/null
	emu_api POST /sandbox '{"linkedSandbox":"keep","autoDeleteInterval":0}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(msg)" = "Linked sandboxes must be ephemeral (autoDeleteInterval=0)" ]
	tid=$(emu_api POST /sandbox '{"name":"eph","autoDeleteInterval":0}' | emu_json 'd["id"]')
	emu_api POST /sandbox '{"linkedSandbox":"eph"}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(msg)" = "Linked sandboxes must be ephemeral (autoDeleteInterval=0)" ]
	emu_api POST /sandbox '{"name":"l","linkedSandbox":"eph","autoDeleteInterval":0}' >sb.json
	[ "$EMU_STATUS" = 200 ]
	[ "$(emu_json 'd["linkedSandboxId"]' <sb.json)" = "$tid" ]
	emu_api POST /sandbox '{"linkedSandbox":"l","autoDeleteInterval":0}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(msg)" = "The linked sandbox is itself linked to another sandbox" ]
}
