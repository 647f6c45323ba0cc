#!/usr/bin/env bats
# daytona-emulator: wire differences fixed in issue 14 — resize with a disk
# on a running sandbox, networkBlockAll with an allow list, the domain
# allow-list rule, linkedSandbox, and the error texts of resize, recover,
# snapshot state, gpuType with a snapshot, the per-sandbox maxima and the
# allow lists as the Daytona server v0.190.0 words them
# (docs/daytona-api-notes.md).

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

@test "domainAllowList: example.123, 1.2.3.4 and a.b are refused, in v0.190's words" {
	emu_start --transition-ms 0
	for bad in example.123 1.2.3.4 a.b 'ok.com, x.1'; do
		emu_api POST /sandbox "{\"domainAllowList\":\"$bad\"}" >/dev/null
		[ "$EMU_STATUS" = 400 ]
		want=${bad##* }
		[ "$(msg)" = "Invalid domain: \"$want\". Must be a valid domain name" ]
	done
	emu_api POST /sandbox '{"name":"d","domainAllowList":"a.io, *.example.com,,"}' >/dev/null
	[ "$EMU_STATUS" = 200 ]
	emu_api POST /sandbox/d/network-settings '{"domainAllowList":"1.2.3.4"}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(msg)" = 'Invalid domain: "1.2.3.4". Must be a valid domain name' ]
	emu_api POST /sandbox/d/network-settings '{"domainAllowList":"a.io,b.io,c.io,d.io,e.io,f.io,g.io,h.io,i.io,j.io,k.io"}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(msg)" = "Domain allow list cannot contain more than 10 domains" ]
	# the update checks the domains before the networks; create the reverse
	emu_api POST /sandbox/d/network-settings '{"domainAllowList":"x.1","networkAllowList":"nope"}' >/dev/null
	[[ "$(msg)" == "Invalid domain:"* ]]
	emu_api POST /sandbox '{"domainAllowList":"x.1","networkAllowList":"nope"}' >/dev/null
	[[ "$(msg)" == "Invalid IP address:"* ]]
}

@test "networkAllowList: each CIDR checked as v0.190 does, with its messages" {
	emu_start --transition-ms 0
	check() {
		emu_api POST /sandbox "{\"networkAllowList\":\"$1\"}" >/dev/null
		[ "$EMU_STATUS" = 400 ]
		[ "$(msg)" = "$2" ]
	}
	check 10.0.0.0 'Invalid network format: "10.0.0.0". Missing CIDR prefix length (e.g., /24)'
	check '10.0.0.0/8, 1.2.3.4/' 'Invalid network format: "1.2.3.4/". Missing CIDR prefix length (e.g., /24)'
	check 10.0.0.0/33 'Invalid CIDR prefix length: 10.0.0.0/33. Prefix must be between 0 and 32'
	check 256.1.1.1/8 'Invalid IP address: "256.1.1.1" in network "256.1.1.1/8". Must be a valid IPv4 address'
	check 010.1.1.1/8 'Invalid IP address: "010.1.1.1" in network "010.1.1.1/8". Must be a valid IPv4 address'
	check 1.0.0.0/8,2.0.0.0/8,3.0.0.0/8,4.0.0.0/8,5.0.0.0/8,6.0.0.0/8,7.0.0.0/8,8.0.0.0/8,9.0.0.0/8,10.0.0.0/8,11.0.0.0/8 \
		'Network allow list cannot contain more than 10 networks'
	# parseInt() reads "8x" as 8: Daytona takes it, so does the emulator
	emu_api POST /sandbox '{"networkAllowList":"10.0.0.0/8x"}' >/dev/null
	[ "$EMU_STATUS" = 200 ]
}

@test "resize, recover, maxima, gpuType with a snapshot, snapshot state: v0.190's texts" {
	emu_start --transition-ms 0
	emu_api POST /sandbox '{"name":"r"}' >/dev/null
	emu_api POST /sandbox/r/resize '{"cpu":2,"memory":2}' >/dev/null
	[ "$EMU_STATUS" = 200 ]
	emu_api POST /sandbox/r/resize '{"cpu":1}' >/dev/null
	[ "$(msg)" = "Sandbox must be in stopped state to decrease the number of CPU cores" ]
	emu_api POST /sandbox/r/resize '{"memory":1}' >/dev/null
	[ "$(msg)" = "Sandbox must be in stopped state to decrease memory" ]
	emu_api POST /sandbox/r/resize '{"cpu":5}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(msg)" = "$(printf 'CPU request 5 exceeds maximum allowed per sandbox (4).\nNeed higher resource limits per-sandbox? Contact us at support@daytona.io and let us know about your use case.')" ]
	emu_api POST /sandbox/r/resize '{"memory":9}' >/dev/null
	[[ "$(msg)" == "Memory request 9GB exceeds maximum allowed per sandbox (8GB)."* ]]
	emu_api POST /sandbox/r/stop >/dev/null
	emu_api POST /sandbox/r/resize '{"disk":11}' >/dev/null
	[[ "$(msg)" == "Disk request 11GB exceeds maximum allowed per sandbox (10GB)."* ]]
	emu_api POST /sandbox/r/archive >/dev/null
	emu_api POST /sandbox/r/resize '{"cpu":3}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(msg)" = "Sandbox must be in started or stopped state to resize" ]
	# create: the same maxima and wording
	emu_api POST /sandbox '{"buildInfo":{"dockerfileContent":"FROM x\n"},"memory":64}' >/dev/null
	[ "$(msg)" = "$(printf 'Memory request 64GB exceeds maximum allowed per sandbox (8GB).\nNeed higher resource limits per-sandbox? Contact us at support@daytona.io and let us know about your use case.')" ]
	# recover
	emu_api POST /sandbox '{"name":"e"}' >/dev/null
	emu_api POST /sandbox/e/recover >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(msg)" = "Sandbox is not in a recoverable state" ]
	emu_hook POST sandbox/e '{"recoverable":true}' >/dev/null
	emu_api POST /sandbox/e/recover >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(msg)" = "Sandbox must be in error state to recover" ]
	# gpuType with a snapshot
	emu_api POST /sandbox '{"snapshot":"daytona-small","gpuType":["H100"]}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(msg)" = "Cannot specify GPU type when creating sandbox from snapshot. GPU type is inherited from snapshot." ]
	emu_api POST /sandbox '{"gpuType":[]}' >/dev/null
	[ "$EMU_STATUS" = 200 ]
}

@test "a snapshot that is not active: 'Snapshot NAME is STATE' (v0.190)" {
	emu_start --transition-ms 0 --build-ms 400
	emu_api POST /snapshots '{"name":"img","imageName":"ubuntu:24.04"}' >/dev/null
	emu_api POST /sandbox '{"snapshot":"img"}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[[ "$(msg)" =~ ^Snapshot\ img\ is\ (pending|building)$ ]]
	sleep 0.5
	emu_api POST /snapshots/img/deactivate >/dev/null
	[ "$EMU_STATUS" = 200 ]
	emu_api POST /sandbox '{"snapshot":"img"}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(msg)" = "Snapshot img is inactive" ]
	emu_api POST /sandbox '{"snapshot":"nope"}' >/dev/null
	[ "$(msg)" = "Snapshot nope not found. Did you add it through the Daytona Dashboard?" ]
}

@test "linkedSandbox: v0.190's rules and texts — the new one ephemeral, the target found, not linked, started or stopped" {
	emu_start --transition-ms 0
	emu_api POST /sandbox '{"linkedSandbox":"nope"}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(msg)" = "Linked sandboxes must be ephemeral (set autoDeleteInterval to 0)" ]
	emu_api POST /sandbox '{"linkedSandbox":"nope","autoDeleteInterval":0}' >/dev/null
	[ "$EMU_STATUS" = 404 ]
	[ "$(msg)" = "Sandbox with ID or name nope not found" ]
	# the target need not be ephemeral itself
	tid=$(emu_api POST /sandbox '{"name":"keep"}' | emu_json 'd["id"]')
	emu_api POST /sandbox '{"name":"l","linkedSandbox":"keep","autoDeleteInterval":0}' >sb.json
	[ "$EMU_STATUS" = 200 ]
	[ "$(emu_json 'd["linkedSandboxId"]' <sb.json)" = "$tid" ]
	lid=$(emu_json 'd["id"]' <sb.json)
	emu_api POST /sandbox '{"linkedSandbox":"l","autoDeleteInterval":0}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(msg)" = "Linked sandbox $lid is itself linked to another sandbox; chained links are not allowed" ]
	emu_api POST /sandbox/keep/stop >/dev/null
	emu_api POST /sandbox/keep/archive >/dev/null
	emu_api POST /sandbox '{"linkedSandbox":"keep","autoDeleteInterval":0}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(msg)" = "Linked sandbox must be in STARTED or STOPPED state with an assigned runner (current: archived)" ]
	emu_api POST /sandbox '{"buildInfo":{"dockerfileContent":"FROM x\n"},"linkedSandbox":"keep"}' >/dev/null
	[ "$(msg)" = "linkedSandbox is not supported with declarative builds. Create a sandbox from a snapshot" ]
}
