#!/usr/bin/env bats
# daytona-emulator: command line, port file, auth, error bodies, routing,
# body limits and shutdown.

bats_require_minimum_version 1.5.0
load lib/emulator

setup() { emu_default_setup; }
teardown() { emu_default_teardown; }

@test "--help and --version exit 0; no key or a bad option exit 1" {
	run "$DAYTONA_EMULATOR" --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"--rate-limit"* ]]
	run "$DAYTONA_EMULATOR" --version
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^daytona-emulator\ [0-9]+\.[0-9]+ ]]
	run "$DAYTONA_EMULATOR" --listen 127.0.0.1:0
	[ "$status" -eq 1 ]
	[[ "$output" == *"--api-key"* ]]
	run "$DAYTONA_EMULATOR" --api-key k --rate-limit bogus=1/1
	[ "$status" -eq 1 ]
	run "$DAYTONA_EMULATOR" --api-key k --fail-rate 2
	[ "$status" -eq 1 ]
	run "$DAYTONA_EMULATOR" --api-key k --listen nowhere:x
	[ "$status" -eq 1 ]
}

@test "start-up errors name what was given: the option, the real port" {
	for opt in create-ms build-ms start-ms stop-ms archive-ms delete-ms resize-ms; do
		run --separate-stderr "$DAYTONA_EMULATOR" --api-key k "--$opt" x
		[ "$status" -eq 1 ]
		[[ "$stderr" == "daytona-emulator: --$opt: 'x' is invalid (expected a whole number from 0 to "* ]]
	done
	# out of range: the range is named
	run --separate-stderr "$DAYTONA_EMULATOR" --api-key k --create-ms -1
	[ "$status" -eq 1 ]
	[[ "$stderr" =~ ^"daytona-emulator: --create-ms: '-1' is too small (expected a whole number from 0 to "[0-9]+")"$ ]]
	emu_start
	# the port is taken: one message, naming it (not libmicrohttpd's "port 0")
	run --separate-stderr timeout 10 "$DAYTONA_EMULATOR" --api-key k --listen "127.0.0.1:$EMU_PORT"
	[ "$status" -eq 1 ]
	[ "$stderr" = "daytona-emulator: 127.0.0.1:$EMU_PORT: cannot listen: Address already in use" ]
	# an unwritable port file: the file given, not the temporary beside it
	run --separate-stderr timeout 10 "$DAYTONA_EMULATOR" --api-key k --port-file "$BATS_TEST_TMPDIR/no/p"
	[ "$status" -eq 1 ]
	[ "$stderr" = "daytona-emulator: --port-file $BATS_TEST_TMPDIR/no/p: No such file or directory" ]
}

@test "port 0 picks a free port, written to the port file and printed" {
	emu_start
	[[ "$EMU_PORT" =~ ^[0-9]+$ ]]
	[ "$EMU_PORT" -gt 0 ]
	grep -q "port $EMU_PORT" "$BATS_TEST_TMPDIR/emu.out"
	emu_api GET /config >/dev/null
	[ "$EMU_STATUS" = 200 ]
}

@test "GET /config is public and names the default snapshot" {
	emu_start --default-snapshot daytona-medium
	body=$(curl -sS "$DAYTONA_API_URL/config")
	[ "$(echo "$body" | emu_json 'd["defaultSnapshot"]')" = daytona-medium ]
	[ "$(echo "$body" | emu_json 'd["maxAutoArchiveInterval"]')" = 43200 ]
}

@test "missing, wrong and malformed credentials give the 401 error body" {
	emu_start
	for auth in "" "Authorization: Bearer nope" "Authorization: Basic dGVzdA==" "Authorization: Bearer"; do
		body=$(curl -sS -w '\n%{http_code}' ${auth:+-H "$auth"} "$DAYTONA_API_URL/sandbox?limit=5")
		[ "$(echo "$body" | tail -1)" = 401 ]
		json=$(echo "$body" | head -1)
		[ "$(echo "$json" | emu_json 'd["message"]')" = "Invalid credentials" ]
		[ "$(echo "$json" | emu_json 'd["error"]')" = "Unauthorized" ]
		[ "$(echo "$json" | emu_json 'd["statusCode"]')" = 401 ]
		[ "$(echo "$json" | emu_json 'd["path"]')" = "/api/sandbox?limit=5" ]
		[[ "$(echo "$json" | emu_json 'd["timestamp"]')" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{3}Z$ ]]
	done
	curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: bearer test-key" "$DAYTONA_API_URL/sandbox" | grep -qx 200
}

@test "each --api-key is its own organization" {
	emu_start --api-key second-key --transition-ms 0
	emu_api POST /sandbox '{"name":"mine"}' >/dev/null
	[ "$EMU_STATUS" = 200 ]
	DAYTONA_API_KEY=second-key emu_api GET /sandbox/mine >/dev/null
	[ "$EMU_STATUS" = 404 ]
	DAYTONA_API_KEY=second-key emu_api POST /sandbox '{"name":"mine"}' >/dev/null
	[ "$EMU_STATUS" = 200 ]
	org1=$(emu_api GET /sandbox/mine | emu_json 'd["organizationId"]')
	org2=$(DAYTONA_API_KEY=second-key emu_api GET /sandbox/mine | emu_json 'd["organizationId"]')
	[ "$org1" != "$org2" ]
	[ "$(emu_api GET /sandbox | emu_json 'len(d["items"])')" = 1 ]
}

@test "--api-key-file reads keys; -v logs requests but never the key" {
	printf '# keys\nfile-key-1\n\nfile-key-2\r\n' >keys
	emu_start --api-key-file keys -v
	DAYTONA_API_KEY=file-key-1 emu_api GET /sandbox >/dev/null
	[ "$EMU_STATUS" = 200 ]
	DAYTONA_API_KEY=file-key-2 emu_api GET '/sandbox?limit=1' >/dev/null
	[ "$EMU_STATUS" = 200 ]
	DAYTONA_API_KEY='# keys' emu_api GET /sandbox >/dev/null
	[ "$EMU_STATUS" = 401 ]
	grep -q 'GET /api/sandbox?limit=1 -> 200' "$BATS_TEST_TMPDIR/emu.log"
	! grep -q 'file-key\|test-key' "$BATS_TEST_TMPDIR/emu.log"
	run "$DAYTONA_EMULATOR" --api-key-file "$BATS_TEST_TMPDIR/missing"
	[ "$status" -eq 1 ]
}

@test "unknown routes and methods are 404 with the error body" {
	emu_start
	emu_api GET /nope >/dev/null
	[ "$EMU_STATUS" = 404 ]
	[ "$(echo "$EMU_BODY" | emu_json 'd["message"]')" = "Cannot GET /api/nope" ]
	emu_api GET '/nope?x=1' >/dev/null
	[ "$(echo "$EMU_BODY" | emu_json 'd["message"]')" = "Cannot GET /api/nope?x=1" ]
	emu_api PATCH /sandbox >/dev/null
	[ "$EMU_STATUS" = 404 ]
	[ "$(echo "$EMU_BODY" | emu_json 'd["message"]')" = "Cannot PATCH /api/sandbox" ]
	curl -sS -o /dev/null -w '%{http_code}' "$EMU_URL/elsewhere" | grep -qx 404
	emu_hook GET nothing-here >/dev/null
	[ "$EMU_STATUS" = 404 ]
}

@test "a path or query that does not decode to UTF-8 is never answered as raw bytes" {
	emu_start
	# decodeURIComponent() fails: the path is no route; qs keeps the text
	emu_api GET /sandbox/%FF >/dev/null
	[ "$EMU_STATUS" = 404 ]
	[ "$(echo "$EMU_BODY" | emu_json 'd["message"]')" = "Cannot GET /api/sandbox/%FF" ]
	emu_api GET '/sandbox?cursor=%C0%80+x' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(echo "$EMU_BODY" | emu_json 'd["message"]')" = "Invalid cursor provided: %C0%80 x" ]
	# well-formed escapes are decoded as before
	emu_api GET /sandbox/%E2%82%AC >/dev/null
	[ "$(echo "$EMU_BODY" | emu_json 'd["message"]')" = $'Sandbox with ID or name \xe2\x82\xac not found' ]
}

@test "HEAD answers every GET route with its status and headers, no body" {
	emu_start --transition-ms 0
	emu_api POST /sandbox '{"name":"h"}' >/dev/null
	for path in /api/sandbox /api/sandbox/h /api/volumes /api/snapshots /api/config /_emulator/counters; do
		len=$(curl -sS -H 'Authorization: Bearer test-key' "$EMU_URL$path" | wc -c)
		curl -sS -I -o /dev/null -D head.txt -w '%{http_code} %{size_download}\n' \
			-H 'Authorization: Bearer test-key' "$EMU_URL$path" >got.txt
		[ "$(cat got.txt)" = "200 0" ]
		grep -qix "content-length: $len"$'\r' head.txt
		grep -qi '^content-type: application/json' head.txt
	done
	run curl -sS -I -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer test-key' "$EMU_URL/api/sandbox/nope"
	[ "$output" = 404 ]
	run curl -sS -I -o /dev/null -w '%{http_code}' "$EMU_URL/api/sandbox"
	[ "$output" = 401 ]
	# HEAD is not POST: no HEAD route where there is no GET
	run curl -sS -I -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer test-key' "$EMU_URL/api/sandbox/h/stop"
	[ "$output" = 404 ]
	[ "$(emu_api GET /sandbox/h | emu_json 'd["state"]')" = started ]
	[ "$(emu_requests | sed -n 3p)" = '{"method":"HEAD","path":"/api/sandbox","query":"","status":200,"bucket":"other"}' ]
}

@test "malformed JSON gets the body-parser shape; wrong types get 400" {
	emu_start
	emu_api POST /sandbox '{"name": ' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$EMU_BODY" = '{"message":"Invalid JSON in request body","error":"Bad Request","statusCode":400}' ]
	emu_api POST /sandbox '{"name": 5, "public": "yes", "cpu": "x"}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	msg=$(echo "$EMU_BODY" | emu_json 'd["message"]')
	[[ "$msg" == *"name must be a string"* ]]
	[[ "$msg" == *"public must be a boolean value"* ]]
	[[ "$msg" == *"cpu must be an integer number"* ]]
	emu_api PUT /sandbox/x/labels '[1,2' >/dev/null
	[ "$EMU_STATUS" = 400 ]
}

@test "bodies over 1 MiB are 413; 1 MiB exactly is read" {
	emu_start --transition-ms 0
	python3 -c 'import json; print(json.dumps({"name":"big","env":{"X":"a"*(1024*1024)}}))' >big.json
	code=$(curl -sS -o resp -w '%{http_code}' -H "Authorization: Bearer test-key" \
		-H 'Content-Type: application/json' --data-binary @big.json "$DAYTONA_API_URL/sandbox")
	[ "$code" = 413 ]
	[ "$(emu_json 'd["statusCode"]' <resp)" = 413 ]
	python3 -c 'import json; s=json.dumps({"name":"fits","env":{"X":""}}); print(json.dumps({"name":"fits","env":{"X":"a"*(1024*1024-len(s)-1)}}), end="")' >fits.json
	[ "$(stat -c %s fits.json)" -eq 1048575 ]
	code=$(curl -sS -o resp -w '%{http_code}' -H "Authorization: Bearer test-key" \
		-H 'Content-Type: application/json' --data-binary @fits.json "$DAYTONA_API_URL/sandbox")
	[ "$code" = 200 ]
	# the server is still healthy
	emu_api GET /sandbox/big >/dev/null
	[ "$EMU_STATUS" = 404 ]
}

@test "SIGTERM and SIGINT stop it cleanly with status 0" {
	emu_start
	kill -TERM "$EMU_PID"
	st=0
	wait "$EMU_PID" || st=$?
	[ "$st" -eq 0 ]
	EMU_PID=
	emu_start
	kill -INT "$EMU_PID"
	wait "$EMU_PID" || st=$?
	[ "$st" -eq 0 ]
	EMU_PID=
	! grep -qi "error\|leak" "$BATS_TEST_TMPDIR/emu.log"
}

@test "SIGTERM while a create is waiting still answers it" {
	emu_start --transition-ms 5000
	curl -sS -o resp -w '%{http_code}' -H "Authorization: Bearer test-key" \
		-H 'Content-Type: application/json' -d '{"name":"w"}' "$DAYTONA_API_URL/sandbox" >code &
	cpid=$!
	sleep 0.3
	kill -TERM "$EMU_PID"
	st=0
	wait "$EMU_PID" || st=$?
	[ "$st" -eq 0 ]
	EMU_PID=
	wait "$cpid"
	[ "$(cat code)" = 200 ]
	[ "$(emu_json 'd["state"]' <resp)" = creating ]
}

@test "it binds loopback by default" {
	emu_start
	hexport=$(printf '%04X' "$EMU_PORT")
	# state 0A = LISTEN; 0100007F = 127.0.0.1
	run awk -v p=":$hexport" '$2 ~ p"$" && $4 == "0A" { print $2 }' /proc/net/tcp
	[ "$output" = "0100007F:$hexport" ]
}
