#!/usr/bin/env bats
# daytona-emulator: POST /sandbox — defaults, snapshot vs image path,
# validation and the blocking wait (daytona-api.md §4.4, §8).

bats_require_minimum_version 1.5.0
load lib/emulator

setup() { emu_default_setup; }
teardown() { emu_default_teardown; }

@test "create {} waits for started and applies the defaults (200)" {
	emu_start --transition-ms 200
	start=$(date +%s%N)
	emu_api POST /sandbox '{}' >sb.json
	end=$(date +%s%N)
	[ "$EMU_STATUS" = 200 ]
	[ $(((end - start) / 1000000)) -ge 150 ]
	j() { emu_json "$1" <sb.json; }
	[ "$(j 'd["state"]')" = started ]
	[ "$(j 'd["desiredState"]')" = started ]
	[ "$(j 'd["name"]')" = "$(j 'd["id"]')" ]
	[ "$(j 'd["snapshot"]')" = daytona-small ]
	[ "$(j '[d["cpu"], d["memory"], d["disk"], d["gpu"]]')" = "[1, 1, 3, 0]" ]
	[ "$(j '[d["autoStopInterval"], d["autoArchiveInterval"], d["autoDeleteInterval"]]')" = "[15, 10080, -1]" ]
	[ "$(j 'd["user"]')" = daytona ]
	[ "$(j 'd["public"]')" = false ]
	[ "$(j 'd["networkBlockAll"]')" = false ]
	[ "$(j 'd["env"]')" = "{}" ]
	[ "$(j 'd["labels"]')" = "{}" ]
	[ "$(j 'd["target"]')" = us ]
	[ "$(j 'd["sandboxClass"]')" = container ]
	[ "$(j 'd["volumes"]')" = "[]" ]
	[[ "$(j 'd["createdAt"]')" =~ ^[0-9-]{10}T[0-9:]{8}\.[0-9]{3}Z$ ]]
}

@test "create from a named snapshot copies its resources; unknown is 400" {
	emu_start --transition-ms 0
	emu_api POST /sandbox '{"name":"m","snapshot":"daytona-medium"}' >sb.json
	[ "$EMU_STATUS" = 200 ]
	[ "$(emu_json '[d["cpu"], d["memory"], d["disk"]]' <sb.json)" = "[2, 4, 8]" ]
	emu_api POST /sandbox '{"snapshot":"daytona-large"}' >sb.json
	[ "$(emu_json '[d["cpu"], d["memory"], d["disk"]]' <sb.json)" = "[4, 8, 10]" ]
	emu_api POST /sandbox '{"snapshot":"ubuntu:99"}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(echo "$EMU_BODY" | emu_json 'd["message"]')" = "Snapshot ubuntu:99 not found. Did you add it through the Daytona Dashboard?" ]
}

@test "--default-snapshot changes the server default" {
	emu_start --transition-ms 0 --default-snapshot daytona-medium
	[ "$(emu_api POST /sandbox '{}' | emu_json 'd["snapshot"]')" = daytona-medium ]
}

@test "resources with a snapshot are rejected; GPU must be ephemeral" {
	emu_start --transition-ms 0
	emu_api POST /sandbox '{"cpu":2}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(echo "$EMU_BODY" | emu_json 'd["message"]')" = "Cannot specify Sandbox resources when using a snapshot" ]
	emu_api POST /sandbox '{"snapshot":"daytona-small","memory":4}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	emu_api POST /sandbox '{"cpu":0,"memory":0}' >/dev/null
	[ "$EMU_STATUS" = 200 ]
	emu_api POST /sandbox '{"buildInfo":{"dockerfileContent":"FROM x\n"},"gpu":1}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(echo "$EMU_BODY" | emu_json 'd["message"]')" = "GPU sandboxes must be ephemeral - set autoDeleteInterval to 0" ]
	emu_api POST /sandbox '{"buildInfo":{"dockerfileContent":"FROM x\n"},"gpu":1,"autoDeleteInterval":0}' >/dev/null
	[ "$EMU_STATUS" = 200 ]
	emu_api POST /sandbox '{"buildInfo":{"dockerfileContent":"FROM x\n"},"snapshot":"daytona-small"}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(echo "$EMU_BODY" | emu_json 'd["message"]')" = "Cannot specify a snapshot when using a build info entry" ]
	emu_api POST /sandbox '{"cpu":-1}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(echo "$EMU_BODY" | emu_json 'd["message"]')" = "cpu must not be less than 0" ]
	emu_api POST /sandbox '{"buildInfo":{"dockerfileContent":"FROM x\n"},"cpu":64}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[[ "$(echo "$EMU_BODY" | emu_json 'd["message"]')" == "CPU request 64 exceeds maximum allowed per sandbox (4)."* ]]
}

@test "an image build passes pending_build, building_snapshot, creating, started" {
	emu_start --transition-ms 600 --build-ms 1200
	emu_api POST /sandbox '{"name":"img","buildInfo":{"dockerfileContent":"FROM python:3.12\n","contextHashes":["b","a"]}}' >sb.json
	[ "$EMU_STATUS" = 200 ]
	# poll first, and cheaply (no Python): on a loaded machine the checks
	# below, or a slow poll, would outlast a phase
	seen=" "
	for i in $(seq 1 150); do
		s=$(curl -sS -H 'Authorization: Bearer test-key' "$DAYTONA_API_URL/sandbox/img" |
			grep -o '"state":"[a-z_]*"' | cut -d'"' -f4)
		[[ "$seen" == *" $s "* ]] || seen="$seen$s "
		[ "$s" = started ] && break
		sleep 0.02
	done
	[ "$seen" = " pending_build building_snapshot creating started " ]
	[ "$(emu_json 'd["state"]' <sb.json)" = pending_build ]
	[ "$(emu_json 'd["snapshot"]' <sb.json)" = null ]
	[ "$(emu_json '[d["cpu"], d["memory"], d["disk"]]' <sb.json)" = "[1, 1, 3]" ]
	[ "$(emu_json 'd["buildInfo"]["dockerfileContent"] == "FROM python:3.12\n"' <sb.json)" = true ]
	want=$(printf 'FROM python:3.12\nab' | sha256sum | cut -d' ' -f1)
	[ "$(emu_json 'd["buildInfo"]["snapshotRef"]' <sb.json)" = "daytona-$want:daytona" ]
	# the list item has no buildInfo
	[ "$(emu_api GET /sandbox | emu_json '"buildInfo" in d["items"][0]')" = false ]
}

@test "a taken name is 409; the name of a deleted sandbox is free at once" {
	emu_start --transition-ms 0
	emu_api POST /sandbox '{"name":"dup"}' >/dev/null
	emu_api POST /sandbox '{"name":"dup"}' >/dev/null
	[ "$EMU_STATUS" = 409 ]
	[ "$(echo "$EMU_BODY" | emu_json 'd["message"]')" = "Sandbox with name dup already exists" ]
	[ "$(echo "$EMU_BODY" | emu_json 'd["error"]')" = "Conflict" ]
	emu_api DELETE /sandbox/dup >/dev/null
	[ "$EMU_STATUS" = 200 ]
	emu_api POST /sandbox '{"name":"dup"}' >/dev/null
	[ "$EMU_STATUS" = 200 ]
	# names are case-sensitive
	emu_api POST /sandbox '{"name":"DUP"}' >/dev/null
	[ "$EMU_STATUS" = 200 ]
}

@test "unsafe names are rejected" {
	emu_start --transition-ms 0
	for n in '<b>x' 'see https://x' 'www.example' 'a\u0007b'; do
		emu_api POST /sandbox "{\"name\":\"$n\"}" >/dev/null
		[ "$EMU_STATUS" = 400 ]
		[ "$(echo "$EMU_BODY" | emu_json 'd["message"]')" = "name must not contain HTML tags, URLs, or control characters" ]
	done
	emu_api POST /sandbox '{"name":"fine name (1)"}' >/dev/null
	[ "$EMU_STATUS" = 200 ]
	[ "$(emu_api GET '/sandbox/fine%20name%20(1)' | emu_json 'd["name"]')" = "fine name (1)" ]
}

@test "an escaped NUL is refused with 400, never cut short" {
	emu_start --transition-ms 0
	emu_api POST /sandbox '{"name":"a\u0000b"}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(echo "$EMU_BODY" | emu_json 'd["message"]')" = "name must not contain HTML tags, URLs, or control characters" ]
	emu_api POST /sandbox '{"name":"t2","labels":{"k\u0000a":"v","k\u0000b":"w"}}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(echo "$EMU_BODY" | emu_json 'd["message"]')" = "labels must not contain control characters" ]
	emu_api POST /sandbox '{"name":"t3","env":{"A":"x\u0000y"}}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(echo "$EMU_BODY" | emu_json 'd["message"]')" = "env must not contain control characters" ]
	# nothing was created, under a cut name or otherwise
	[ "$(emu_api GET /sandbox | emu_json 'len(d["items"])')" = 0 ]
	# an escaped backslash before u0000 is text, not a NUL
	emu_api POST /sandbox '{"name":"t4\\u0000"}' >/dev/null
	[ "$EMU_STATUS" = 200 ]
	[ "$(echo "$EMU_BODY" | emu_json 'd["name"]')" = 't4\u0000' ]
	# a label change is checked too
	emu_api PUT /sandbox/t4%5Cu0000/labels '{"labels":{"k":"a\u0000"}}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
}

@test "ill-formed UTF-8 is decoded as the server decodes it, never stored as sent" {
	emu_start --transition-ms 0
	# Node's decoder: each ill-formed sequence becomes one U+FFFD, in names,
	# label keys and values and env alike; the answer is valid UTF-8
	emu_api POST /sandbox $'{"name":"a\xffb","labels":{"k\xc3":"v\xed\xa0\x80"},"env":{"E":"\xf0\x9f\x98"}}' >/dev/null
	[ "$EMU_STATUS" = 200 ]
	printf '%s' "$EMU_BODY" | "$EMU_PYTHON" -c 'import sys; sys.stdin.buffer.read().decode("utf-8")'
	[ "$(echo "$EMU_BODY" | emu_json 'd["name"] == "a\ufffdb"')" = true ]
	[ "$(echo "$EMU_BODY" | emu_json 'd["labels"] == {"k\ufffd": "v\ufffd\ufffd\ufffd"}')" = true ]
	[ "$(echo "$EMU_BODY" | emu_json 'd["env"] == {"E": "\ufffd"}')" = true ]
	[ "$(emu_api GET /sandbox/a%EF%BF%BDb | emu_json 'd["name"] == "a\ufffdb"')" = true ]
	# an overlong NUL in a label replacement is two U+FFFD, not a NUL
	emu_api PUT /sandbox/a%EF%BF%BDb/labels $'{"labels":{"t":"\xc0\x80"}}' >/dev/null
	[ "$EMU_STATUS" = 200 ]
	[ "$(echo "$EMU_BODY" | emu_json 'd["labels"] == {"t": "\ufffd\ufffd"}')" = true ]
	# a leading byte-order mark is dropped
	emu_api POST /sandbox $'\xef\xbb\xbf{"name":"bom"}' >/dev/null
	[ "$EMU_STATUS" = 200 ]
	# raw control characters are invalid JSON: a raw NUL cuts nothing short
	printf '{"name":"t\tab"}' >tab.json
	printf '{"name":"nul\000x"}' >nul.json
	printf '{\001"name":"ctl"}' >ctl.json
	for f in tab.json nul.json ctl.json; do
		code=$(curl -sS -o resp -w '%{http_code}' -H 'Authorization: Bearer test-key' \
			-H 'Content-Type: application/json' --data-binary "@$f" "$DAYTONA_API_URL/sandbox")
		[ "$code" = 400 ]
		[ "$(cat resp)" = '{"message":"Invalid JSON in request body","error":"Bad Request","statusCode":400}' ]
	done
	[ "$(emu_api GET /sandbox | emu_json 'sorted(i["name"] for i in d["items"])')" = '["a\ufffdb", "bom"]' ]
}

@test "network lists and volumes are validated; a volume name resolves to its id" {
	emu_start --transition-ms 0
	vol=$(emu_api POST /volumes '{"name":"data"}' | emu_json 'd["id"]')
	emu_api POST /sandbox '{"networkAllowList":"10.0.0.0/8,300.1.1.1/8"}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	emu_api POST /sandbox '{"networkAllowList":"1.0.0.0/8,2.0.0.0/8,3.0.0.0/8,4.0.0.0/8,5.0.0.0/8,6.0.0.0/8,7.0.0.0/8,8.0.0.0/8,9.0.0.0/8,10.0.0.0/8,11.0.0.0/8"}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	emu_api POST /sandbox '{"domainAllowList":"ok.com,bad_domain"}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	for v in '{"volumeId":"v","mountPath":"rel"}' '{"volumeId":"v","mountPath":"/"}' \
		'{"volumeId":"v","mountPath":"/a/../b"}' '{"volumeId":"v","mountPath":"/a//b"}' \
		'{"volumeId":"v","mountPath":"/a","subpath":"/abs"}' '{"volumeId":"v","mountPath":"/a","subpath":"x/../y"}' \
		'{"mountPath":"/a"}'; do
		emu_api POST /sandbox "{\"volumes\":[$v]}" >/dev/null
		[ "$EMU_STATUS" = 400 ]
	done
	emu_api POST /sandbox '{"name":"net","networkAllowList":"10.0.0.0/8","domainAllowList":"*.example.com","volumes":[{"volumeId":"data","mountPath":"/data","subpath":"x/y"}]}' >sb.json
	[ "$EMU_STATUS" = 200 ]
	[ "$(emu_json 'd["networkAllowList"]' <sb.json)" = 10.0.0.0/8 ]
	[ "$(emu_json 'd["domainAllowList"]' <sb.json)" = '*.example.com' ]
	vid=$(emu_json 'd["volumes"][0]["volumeId"]' <sb.json)
	[ "$vid" = "$vol" ]
	[ "$(emu_json 'd["volumes"][0]["subpath"]' <sb.json)" = x/y ]
	emu_api POST /sandbox '{"volumes":[{"volumeId":"data","mountPath":"/d2"}]}' >sb2.json
	[ "$(emu_json 'd["volumes"][0]["volumeId"]' <sb2.json)" = "$vid" ]
}

@test "intervals: negative is 400, autoArchive 0 means the maximum and is clamped" {
	emu_start --transition-ms 0
	emu_api POST /sandbox '{"autoStopInterval":-1}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(emu_api POST /sandbox '{"autoArchiveInterval":0}' | emu_json 'd["autoArchiveInterval"]')" = 43200 ]
	[ "$(emu_api POST /sandbox '{"autoArchiveInterval":99999}' | emu_json 'd["autoArchiveInterval"]')" = 43200 ]
	[ "$(emu_api POST /sandbox '{"autoArchiveInterval":60,"autoStopInterval":0,"autoDeleteInterval":30}' | emu_json '[d["autoArchiveInterval"],d["autoStopInterval"],d["autoDeleteInterval"]]')" = "[60, 0, 30]" ]
}

@test "unknown regions are 404; env and labels are stored; unknown fields ignored" {
	emu_start --transition-ms 0
	emu_api POST /sandbox '{"target":"mars"}' >/dev/null
	[ "$EMU_STATUS" = 404 ]
	[ "$(echo "$EMU_BODY" | emu_json 'd["message"]')" = "Region not found" ]
	emu_api POST /sandbox '{"name":"e","target":"eu","env":{"A":"1"},"labels":{"k":"v"},"public":true,"user":"root","whatever":[1]}' >sb.json
	[ "$EMU_STATUS" = 200 ]
	[ "$(emu_json '[d["target"], d["env"], d["labels"], d["public"], d["user"]]' <sb.json)" = '["eu", {"A": "1"}, {"k": "v"}, true, "root"]' ]
}

@test "--max-wait-ms caps the create wait and 0 answers at once" {
	emu_start --transition-ms 2000 --max-wait-ms 200
	emu_api POST /sandbox '{"name":"slow"}' >sb.json
	[ "$EMU_STATUS" = 200 ]
	[ "$(emu_json 'd["state"]' <sb.json)" = creating ]
	emu_stop
	emu_start --transition-ms 5000 --max-wait-ms 0
	start=$(date +%s%N)
	emu_api POST /sandbox '{"name":"now"}' >sb.json
	end=$(date +%s%N)
	[ $(((end - start) / 1000000)) -lt 2500 ]
	[ "$(emu_json 'd["state"]' <sb.json)" = creating ]
}

@test "a sandbox that fails while create waits gives 400 and stays behind" {
	emu_start --transition-ms 3000
	curl -sS -o resp -w '%{http_code}' -H "Authorization: Bearer test-key" \
		-H 'Content-Type: application/json' -d '{"name":"doomed"}' "$DAYTONA_API_URL/sandbox" >code &
	cpid=$!
	sleep 0.3
	emu_hook POST sandbox/doomed '{"state":"error","errorReason":"runner lost","recoverable":true}' >/dev/null
	[ "$EMU_STATUS" = 200 ]
	wait "$cpid"
	[ "$(cat code)" = 400 ]
	[ "$(emu_json 'd["message"]' <resp)" = "Sandbox failed to start: runner lost" ]
	[ "$(emu_api GET /sandbox/doomed | emu_json 'd["state"]')" = error ]
}
