#!/usr/bin/env bats
# The Daytona client against daytona-emulator, through 'sandform plan':
# injected 5xx and dropped connections are retried on GETs, the rate-limit
# budget slows down before a 429, the key never reaches the log, and
# network and auth failures say what happened.

load lib/emulator

setup() {
	cd "$BATS_TEST_TMPDIR"
	unset SANDFORM_STATE
	export VNC_PASSWORD=not-a-real-secret
	MANIFESTS="$SF_SRCDIR/examples/browser-agent"
}

teardown() {
	emu_stop
}

# seed N: N sandboxes no stack owns (plan --show-unmanaged lists them)
seed() {
	emu_hook POST /seed "{\"count\":$1}" >/dev/null
	[ "$EMU_STATUS" = 200 ]
}

# statuses: "METHOD STATUS" per logged request
statuses() {
	emu_requests | python3 -c '
import json, sys
for line in sys.stdin:
    d = json.loads(line)
    print(d["method"], d["status"])'
}

@test "5xx answers and dropped connections on list pages are retried" {
	emu_start --transition-ms 10 --fail-rate 0.35 --drop-rate 0.15 --seed 7
	seed 450
	run "$SANDFORM" plan -v --show-unmanaged "$MANIFESTS"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"(450)"* ]]
	[[ "$output" == *"1 to create"* ]]
	run statuses
	echo "$output"
	# only reads, and the faults really happened and were got past
	! grep -qv '^GET ' <<<"$output"
	grep -q '^GET 5[0-9][0-9]$' <<<"$output"
	[ "$(grep -c '^GET 200$' <<<"$output")" -ge 4 ]
}

@test "the rate-limit budget waits for the window instead of a 429" {
	emu_start --transition-ms 10 --rate-limit other=3/2
	seed 450
	run "$SANDFORM" plan -v --show-unmanaged "$MANIFESTS"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"rate-limit budget"* ]]
	run statuses
	echo "$output"
	! grep -q ' 429$' <<<"$output"
	[ "$(grep -c '^GET 200$' <<<"$output")" -ge 4 ]
}

@test "a 429 is waited out and retried" {
	emu_start --transition-ms 10 --rate-limit other=1/3
	seed 250
	# the first call starts the window; plan's walk then meets the limit
	# (a 3 s window: on a loaded machine plan may start over 1 s later)
	emu_api GET /sandbox >/dev/null
	run "$SANDFORM" plan -v --show-unmanaged "$MANIFESTS"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"(250)"* ]]
	run statuses
	echo "$output"
	grep -q '^GET 429$' <<<"$output"
}

@test "-vv logs every call but never the api key" {
	local key=sf-e2e-secret-0123456789
	emu_start --transition-ms 10 --api-key "$key"
	export DAYTONA_API_KEY=$key
	run "$SANDFORM" plan -vv "$MANIFESTS"
	[ "$status" -eq 0 ]
	[[ "$output" == *"GET /sandbox?labels="* ]]
	[[ "$output" != *"$key"* ]]
	[[ "$output" != *"Bearer"* ]]
	# and an api key file works the same, trailing newline and all
	printf '%s\n' "$key" >key.txt
	unset DAYTONA_API_KEY
	run "$SANDFORM" plan --api-key-file key.txt "$MANIFESTS"
	[ "$status" -eq 0 ]
	[[ "$output" != *"$key"* ]]
}

@test "a wrong key is a 401 with the server's message and where to look" {
	emu_start --transition-ms 10
	DAYTONA_API_KEY=wrong-key run "$SANDFORM" plan "$MANIFESTS"
	[ "$status" -eq 1 ]
	[[ "$output" == *"daytona: 401 Invalid credentials; check DAYTONA_API_KEY (or --api-key-file) and DAYTONA_API_URL ($DAYTONA_API_URL)"* ]]
	[[ "$output" != *"wrong-key"* ]]
}

@test "a DAYTONA_API_URL without /api: the 404 says where the API is" {
	emu_start --transition-ms 10
	DAYTONA_API_URL=$EMU_URL run --separate-stderr "$SANDFORM" plan "$MANIFESTS"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"daytona: 404 "*"DAYTONA_API_URL ($EMU_URL) does not end in /api"* ]]
	# with /api (and a trailing slash) there is no such hint
	DAYTONA_API_URL=$EMU_URL/api/ run --separate-stderr "$SANDFORM" plan "$MANIFESTS"
	[ "$status" -eq 0 ]
	[[ "$stderr" != *"does not end in /api"* ]]
}

@test "a server that echoes the key back gets *** into the message" {
	local key=sf-e2e-echoed-0123456789
	# answers every request 400, quoting the Authorization header and the
	# bare key, as a misbehaving proxy might
	python3 - "$BATS_TEST_TMPDIR/echo.port" <<'PY' &
import http.server, json, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        auth = self.headers.get("Authorization", "")
        body = json.dumps({"message": "bad header: %s (key %s)" % (auth, auth[7:])}).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write(str(s.server_port))
s.handle_request()
s.handle_request()
PY
	ECHO_PID=$!
	for ((i = 0; i < 100; i++)); do [ -s echo.port ] && break; sleep 0.05; done
	DAYTONA_API_URL=http://127.0.0.1:$(cat echo.port)/api DAYTONA_API_KEY=$key \
		run timeout 30 "$SANDFORM" plan -vv "$MANIFESTS"
	kill "$ECHO_PID" 2>/dev/null || true
	wait "$ECHO_PID" 2>/dev/null || true
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"daytona: 400 bad header: *** (key ***)"* ]]
	[[ "$output" != *"$key"* ]]
}

@test "nothing listening is a network error, not a hang" {
	DAYTONA_API_URL=http://127.0.0.1:1/api DAYTONA_API_KEY=k \
		run timeout 30 "$SANDFORM" plan "$MANIFESTS"
	[ "$status" -eq 1 ]
	[[ "$output" == *"cannot connect"* ]]
}

@test "connections are reused: an apply opens about one per call in flight" {
	emu_start --transition-ms 10 --latency-ms 20
	mkdir -p m
	for ((i = 0; i < 80; i++)); do
		printf -- '---\napiVersion: sandform.dev/v1\nkind: Sandbox\nmetadata:\n  name: c%03d\nspec:\n  snapshot: daytona-small\n  autoStopInterval: 0\n' "$i"
	done >m/many.yaml
	emu_hook POST /reset >/dev/null
	run "$SANDFORM" apply m --auto-approve --parallelism 8
	[ "$status" -eq 0 ]
	conns=$(curl -fsS "$EMU_URL/_emulator/counters" | python3 -c 'import json,sys; print(json.load(sys.stdin)["connections"])')
	total=$(curl -fsS "$EMU_URL/_emulator/counters" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
	echo "connections=$conns requests=$total"
	[ "$total" -ge 80 ]
	# parallelism + 2 (+1 for the counters request itself)
	[ "$conns" -le 11 ]
}

@test "connections stay within --parallelism: the refresh's GETs of new names too" {
	# 20 new names: the refresh GETs each one (fewer than
	# REFRESH_GET_MAX), which ran 8 at a time, on 8 connections, even at
	# --parallelism 1
	emu_start --transition-ms 10 --latency-ms 20
	mkdir -p m
	for ((i = 0; i < 20; i++)); do
		printf -- '---\napiVersion: sandform.dev/v1\nkind: Sandbox\nmetadata:\n  name: p%03d\nspec:\n  snapshot: daytona-small\n  autoStopInterval: 0\n' "$i"
	done >m/few.yaml
	emu_hook POST /reset >/dev/null
	run "$SANDFORM" apply m --auto-approve --parallelism 1
	[ "$status" -eq 0 ]
	counters=$(curl -fsS "$EMU_URL/_emulator/counters")
	conns=$(echo "$counters" | python3 -c 'import json,sys; print(json.load(sys.stdin)["connections"])')
	gets=$(emu_requests | grep -c '"path":"/api/sandbox/p0' || true)
	echo "connections=$conns single GETs=$gets"
	[ "$gets" -ge 20 ]
	# parallelism + 2 (+1 for the counters request itself)
	[ "$conns" -le 4 ]
}
