#!/usr/bin/env bats
# daytona-emulator: fault injection (--latency-ms, --fail-rate, --drop-rate,
# deterministic with --seed) and rate-limit buckets (daytona-api.md §11).

bats_require_minimum_version 1.5.0
load lib/emulator

setup() { emu_default_setup; }
teardown() { emu_default_teardown; }

# codes N: the HTTP codes of N sequential GETs (000 for a dropped one)
codes() {
	local i out=
	for ((i = 0; i < $1; i++)); do
		out+="$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer test-key' "$DAYTONA_API_URL/sandbox?limit=1") "
	done
	echo "$out"
}

# emu_json_lines PYEXPR: PYEXPR over each JSON line on stdin, space-joined
emu_json_lines() {
	local l out=()
	while IFS= read -r l; do
		out+=("$(emu_json "$1" <<<"$l")")
	done
	echo "${out[*]}"
}

@test "--fail-rate answers 5xx with the error body, deterministically per seed" {
	emu_start --fail-rate 0.5 --seed 42
	a=$(codes 30)
	[[ "$a" == *200* ]]
	[[ "$a" =~ 50[023] ]]
	emu_api GET /sandbox >/dev/null
	emu_stop
	emu_start --fail-rate 0.5 --seed 42
	b=$(codes 30)
	[ "$a" = "$b" ]
	emu_stop
	emu_start --fail-rate 0.5 --seed 43
	c=$(codes 30)
	[ "$a" != "$c" ]
	# a failure has the standard body
	emu_stop
	emu_start --fail-rate 1
	emu_api GET /sandbox >/dev/null
	[[ "$EMU_STATUS" =~ ^50[023]$ ]]
	[ "$(echo "$EMU_BODY" | emu_json 'd["statusCode"]')" = "$EMU_STATUS" ]
	# hooks are never faulted, and log the failure
	emu_hook GET requests >/dev/null
	[ "$EMU_STATUS" = 200 ]
	[[ "$EMU_BODY" == *"\"status\":$(echo "$EMU_BODY" | head -1 | emu_json 'd["status"]')"* ]]
	# a faulted request keeps its route's bucket in the log
	emu_api POST /sandbox/x/stop >/dev/null
	emu_api POST /sandbox '{}' >/dev/null
	[ "$(emu_requests | emu_json_lines 'd["bucket"]')" = "other lifecycle create" ]
}

@test "--drop-rate closes connections without an answer, deterministically" {
	emu_start --drop-rate 0.5 --seed 7
	a=$(codes 20)
	[[ "$a" == *000* ]]
	[[ "$a" == *200* ]]
	emu_stop
	emu_start --drop-rate 0.5 --seed 7
	[ "$(codes 20)" = "$a" ]
	run curl -sS -H 'Authorization: Bearer test-key' "$DAYTONA_API_URL/sandbox"
	# either answered or "Empty reply from server" (52)
	[ "$status" -eq 0 ] || [ "$status" -eq 52 ]
	emu_stop
	emu_start --drop-rate 1
	run curl -sS -H 'Authorization: Bearer test-key' "$DAYTONA_API_URL/sandbox"
	[ "$status" -eq 52 ]
	emu_hook GET counters >/dev/null
	[ "$EMU_STATUS" = 200 ]
	[ "$(emu_requests | emu_json_lines '[d["status"], d["bucket"]]')" = '[0, "other"]' ]
}

@test "--latency-ms delays API answers but not hooks" {
	emu_start --latency-ms 600
	t0=$(date +%s%N)
	emu_api GET /sandbox >/dev/null
	t1=$(date +%s%N)
	[ "$EMU_STATUS" = 200 ]
	[ $(((t1 - t0) / 1000000)) -ge 590 ]
	t0=$(date +%s%N)
	emu_hook GET counters >/dev/null
	t1=$(date +%s%N)
	[ $(((t1 - t0) / 1000000)) -lt 500 ]
	# slow requests wait side by side, not behind each other (in a row,
	# twelve would take 7.2 s)
	t0=$(date +%s%N)
	pids=()
	for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
		curl -s -o /dev/null -H 'Authorization: Bearer test-key' "$DAYTONA_API_URL/sandbox" &
		pids+=($!)
	done
	wait "${pids[@]}"
	t1=$(date +%s%N)
	[ $(((t1 - t0) / 1000000)) -lt 3000 ]
}

@test "rate-limit buckets: headers on every answer, 429 with Retry-After" {
	emu_start --rate-limit other=3/60 --rate-limit create=1/1 --transition-ms 0
	for i in 1 2 3; do
		curl -sS -D h$i -o /dev/null -H 'Authorization: Bearer test-key' "$DAYTONA_API_URL/sandbox"
	done
	grep -qi '^X-RateLimit-Limit-authenticated: 3' h1
	grep -qi '^X-RateLimit-Remaining-authenticated: 2' h1
	grep -qi '^X-RateLimit-Remaining-authenticated: 0' h3
	grep -qi '^X-RateLimit-Reset-authenticated: [0-9]' h3
	code=$(curl -sS -D h4 -o body -w '%{http_code}' -H 'Authorization: Bearer test-key' "$DAYTONA_API_URL/sandbox")
	[ "$code" = 429 ]
	grep -qi '^Retry-After-authenticated: [0-9]' h4
	[ "$(emu_json 'd["error"]' <body)" = "Too Many Requests" ]
	# another bucket has its own counter
	emu_api POST /sandbox '{"name":"a"}' >/dev/null
	[ "$EMU_STATUS" = 200 ]
	emu_api POST /sandbox '{"name":"b"}' >/dev/null
	[ "$EMU_STATUS" = 429 ]
	sleep 1.1
	curl -sS -D h5 -o /dev/null -H 'Authorization: Bearer test-key' -H 'Content-Type: application/json' -d '{"name":"b"}' "$DAYTONA_API_URL/sandbox"
	grep -qi '^X-RateLimit-Limit-sandbox-create: 1' h5
	! grep -qi 'X-RateLimit-.*-authenticated' h5
	# lifecycle is not limited here: no headers
	curl -sS -D h6 -o /dev/null -X POST -H 'Authorization: Bearer test-key' "$DAYTONA_API_URL/sandbox/a/stop"
	! grep -qi 'X-RateLimit' h6
	# config and hooks are not throttled
	curl -sS -D h7 -o /dev/null "$DAYTONA_API_URL/config"
	! grep -qi 'X-RateLimit' h7
	[ "$(emu_requests | grep -c '"status":429')" -eq 2 ]
}

@test "rate limits count per organization" {
	emu_start --api-key other-key --rate-limit lifecycle=1/60 --transition-ms 0
	emu_api POST /sandbox '{"name":"a"}' >/dev/null
	emu_api DELETE /sandbox/a >/dev/null
	[ "$EMU_STATUS" = 200 ]
	emu_api DELETE /sandbox/a >/dev/null
	[ "$EMU_STATUS" = 429 ]
	DAYTONA_API_KEY=other-key emu_api DELETE /sandbox/a >/dev/null
	[ "$EMU_STATUS" = 404 ]
}

@test "--throttle-rate injects 429s with Retry-After, deterministically" {
	emu_start --throttle-rate 0.5 --seed 3
	a=$(codes 20)
	[[ "$a" == *429* ]]
	[[ "$a" == *200* ]]
	emu_stop
	emu_start --throttle-rate 0.5 --seed 3
	[ "$(codes 20)" = "$a" ]
	emu_stop
	emu_start --throttle-rate 1
	code=$(curl -sS -D h -o body -w '%{http_code}' -H 'Authorization: Bearer test-key' "$DAYTONA_API_URL/sandbox")
	[ "$code" = 429 ]
	grep -qi '^Retry-After-authenticated: 1' h
	[ "$(emu_json 'd["statusCode"]' <body)" = 429 ]
	# unauthenticated and public routes are not throttled
	curl -sS -o /dev/null -w '%{http_code}' "$DAYTONA_API_URL/config" | grep -qx 200
	curl -sS -o /dev/null -w '%{http_code}' "$DAYTONA_API_URL/sandbox" | grep -qx 401
}

@test "--fault-after: the change happens, the answer is lost; without it nothing happens" {
	emu_start --fail-rate 1 --transition-ms 0
	emu_api POST /sandbox '{"name":"a"}' >/dev/null
	[[ "$EMU_STATUS" =~ ^50[023]$ ]]
	emu_hook POST sandbox/a '{}' >/dev/null
	[ "$EMU_STATUS" = 404 ]
	emu_stop
	emu_start --fail-rate 1 --fault-after --transition-ms 0
	emu_api POST /sandbox '{"name":"a"}' >/dev/null
	[[ "$EMU_STATUS" =~ ^50[023]$ ]]
	emu_hook POST sandbox/a '{}' >/dev/null
	[ "$EMU_STATUS" = 200 ]
	[ "$(echo "$EMU_BODY" | emu_json 'd["state"]')" = started ]
	emu_stop
	emu_start --drop-rate 1 --fault-after --transition-ms 0
	run curl -sS -X DELETE -H 'Authorization: Bearer test-key' "$DAYTONA_API_URL/sandbox/a"
	[ "$status" -eq 52 ]
	emu_hook POST seed '{"count":1,"namePrefix":"d-"}' >/dev/null
	run curl -sS -X POST -H 'Authorization: Bearer test-key' "$DAYTONA_API_URL/sandbox/d-00000/stop"
	[ "$status" -eq 52 ]
	emu_hook POST sandbox/d-00000 '{}' >/dev/null
	[ "$(echo "$EMU_BODY" | emu_json 'd["desiredState"]')" = stopped ]
	[ "$(emu_requests | tail -1 | emu_json 'd["status"]')" = 0 ]
}

@test "--error-rate ends transitions in error; create answers 400 and leaves it behind" {
	emu_start --error-rate 1 --transition-ms 50
	emu_api POST /sandbox '{"name":"f"}' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(echo "$EMU_BODY" | emu_json 'd["message"]')" = "Sandbox failed to start: Failed to create sandbox: emulated runner failure" ]
	emu_api GET /sandbox/f >sb.json
	[ "$(emu_json '[d["state"], d["recoverable"]]' <sb.json)" = '["error", true]' ]
	emu_api POST /sandbox/f/recover >/dev/null
	[ "$EMU_STATUS" = 400 ]
	emu_api POST /sandbox '{"name":"img","buildInfo":{"dockerfileContent":"FROM x\n"}}' >/dev/null
	[ "$EMU_STATUS" = 200 ]
	emu_wait_state img build_failed
	[ "$(emu_api GET /sandbox/img | emu_json 'd["recoverable"]')" = false ]
	emu_stop
	# deterministic per seed
	emu_start --error-rate 0.5 --seed 5 --transition-ms 0
	a=$(for i in $(seq 1 12); do emu_api POST /sandbox "{\"name\":\"s$i\"}" >/dev/null; printf '%s ' "$EMU_STATUS"; done)
	[[ "$a" == *200* ]]
	[[ "$a" == *400* ]]
	emu_stop
	emu_start --error-rate 0.5 --seed 5 --transition-ms 0
	b=$(for i in $(seq 1 12); do emu_api POST /sandbox "{\"name\":\"s$i\"}" >/dev/null; printf '%s ' "$EMU_STATUS"; done)
	[ "$a" = "$b" ]
}
