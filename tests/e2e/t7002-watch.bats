#!/usr/bin/env bats
# sandform watch (issue 12, the loop for one stack): an out-of-band stop
# corrected within 3 cycles at --interval 1s; detect-only changes nothing;
# --once exit statuses for cron and CI; a bad revision is not applied (the
# last good one is enforced) and the metrics say so; SIGTERM ends the loop
# with status 0; SIGHUP starts a cycle at once; the metrics file is the
# Prometheus text format.

bats_require_minimum_version 1.5.0

load lib/emulator
load lib/apply

setup() {
	apply_setup --transition-ms 10
	export SANDFORM_STACK=w
	WATCH_PID=
}

teardown() {
	if [ -n "$WATCH_PID" ]; then kill -KILL "$WATCH_PID" 2>/dev/null || true; fi
	emu_stop
}

# wait_for CMD...: until CMD succeeds, at most 15 s
wait_for() {
	local i
	for ((i = 0; i < 150; i++)); do
		if "$@"; then return 0; fi
		sleep 0.1
	done
	return 1
}

state_is() { [ "$(emu_api GET "/sandbox/$1" | json 'd["state"]')" = "$2" ]; }

@test "watch --once: 0 when converged, 2 with changes in detect-only mode, which changes nothing" {
	mk web
	run "$SANDFORM" watch m --once --detect-only
	echo "$output"
	[ "$status" -eq 2 ]
	[[ "$output" == *"watch: cycle 1 of stack 'w': detected (0 drifted, 1 change; "* ]]
	[ "$(emu_api GET /sandbox | json 'len(d["items"])')" = 0 ]
	run "$SANDFORM" watch m --once
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"applied"* ]]
	state_is web started
	run "$SANDFORM" watch m --once --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | tail -1 | json 'd["result"], d["changes"]')" = "('converged', 0)" ]
	# drift in detect-only: reported, not corrected
	emu_hook POST /sandbox/web '{"state":"stopped"}' >/dev/null
	run "$SANDFORM" watch m --once --detect-only --metrics-file metrics.prom
	[ "$status" -eq 2 ]
	[[ "$output" == *"(1 drifted, 1 change; "* ]]
	state_is web stopped
	grep -q '^sandform_drift_sandboxes{stack="w",category="state"} 1$' metrics.prom
	grep -q '^sandform_reconcile_total{stack="w",result="detected"} 1$' metrics.prom
	grep -q '^sandform_sandboxes{stack="w",state="stopped"} 1$' metrics.prom
	grep -q '^sandform_sandboxes{stack="w",state="started"} 0$' metrics.prom
	grep -q '^sandform_api_requests_total{bucket="authenticated",code="200"} ' metrics.prom
	! grep -q 'bucket="sandbox-lifecycle"' metrics.prom
}

@test "the loop: an out-of-band stop is corrected within 3 cycles; SIGHUP runs a cycle now; SIGTERM exits 0" {
	mk web
	"$SANDFORM" apply m --auto-approve >/dev/null
	"$SANDFORM" watch m --interval 1s --metrics-file metrics.prom >watch.out 2>watch.err &
	WATCH_PID=$!
	wait_for grep -q 'cycle 1 ' watch.out
	emu_hook POST /sandbox/web '{"state":"stopped"}' >/dev/null
	wait_for state_is web started
	cycles=$(grep -c '^watch: cycle' watch.out)
	[ "$cycles" -le 4 ]
	grep -q 'applied (1 drifted' watch.out
	# a long interval, then SIGHUP: a cycle at once
	kill -TERM "$WATCH_PID"
	wait "$WATCH_PID"
	status=$?
	WATCH_PID=
	[ "$status" -eq 0 ]
	"$SANDFORM" watch m --interval 10m >watch2.out 2>&1 &
	WATCH_PID=$!
	wait_for grep -q 'cycle 1 ' watch2.out
	kill -HUP "$WATCH_PID"
	wait_for grep -q 'cycle 2 ' watch2.out
	kill -TERM "$WATCH_PID"
	wait "$WATCH_PID"
	status=$?
	WATCH_PID=
	[ "$status" -eq 0 ]
	# the metrics file: the text format, counters that add up
	grep -q '^# TYPE sandform_reconcile_total counter$' metrics.prom
	grep -q '^sandform_reconcile_duration_seconds_bucket{stack="w",le="+Inf"} ' metrics.prom
	grep -q '^sandform_last_success_timestamp_seconds{stack="w"} [1-9]' metrics.prom
	[ "$(grep '^sandform_reconcile_total{stack="w",result="applied"}' metrics.prom | cut -d' ' -f2)" -ge 1 ]
}

@test "a revision that fails to load is not applied; the last good one is enforced" {
	mk web
	"$SANDFORM" watch m --interval 1s --metrics-file metrics.prom >watch.out 2>watch.err &
	WATCH_PID=$!
	wait_for state_is web started
	# a broken manifest: reported, and what was good keeps being enforced
	printf 'apiVersion: sandform.dev/v1\nkind: Sandbox\nmetadata: {name: bad}\nspec: {cpu: [}\n' >m/bad.yaml
	wait_for grep -q 'the sources failed' watch.err
	emu_hook POST /sandbox/web '{"state":"stopped"}' >/dev/null
	wait_for state_is web started
	[ "$(emu_api GET /sandbox | json 'sorted(s["name"] for s in d["items"])')" = "['web']" ]
	wait_for grep -q '^sandform_source_failures_total{stack="w"} [1-9]' metrics.prom
	# fixed: the next cycle takes it
	rm m/bad.yaml
	mk api
	wait_for state_is api started
	kill -TERM "$WATCH_PID"
	wait "$WATCH_PID" || true
	WATCH_PID=
}

@test "watch refuses what a loop must not do" {
	run --separate-stderr "$SANDFORM" watch m --interval 10ms --once
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"--interval: '10ms' is shorter than 100ms"* ]]
	unset SANDFORM_STACK
	run --separate-stderr "$SANDFORM" watch m --once
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"--stack"* ]]
}

@test "--listen serves /metrics, /healthz and /readyz; systemd hears READY, STATUS, WATCHDOG and STOPPING" {
	mk web
	python3 - "$BATS_TEST_TMPDIR/notify.sock" >notify.log 2>&1 <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(20)
try:
    while True:
        m = s.recv(4096).decode()
        print(m, flush=True)
        if m == "STOPPING=1":
            break
except socket.timeout:
    pass
PY
	NOTIFY_PID=$!
	wait_for test -S notify.sock
	NOTIFY_SOCKET=$BATS_TEST_TMPDIR/notify.sock WATCHDOG_USEC=400000 \
		"$SANDFORM" watch m --interval 1s --listen 127.0.0.1:0 >watch.out 2>watch.err &
	WATCH_PID=$!
	wait_for grep -q 'serving /metrics' watch.err
	port=$(sed -n 's/.*on port \([0-9]*\)$/\1/p' watch.err)
	wait_for grep -q 'cycle 2 ' watch.out
	[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz")" = 200 ]
	[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz")" = 200 ]
	curl -s -D headers.txt "http://127.0.0.1:$port/metrics" >metrics.txt
	grep -qi '^content-type: text/plain; version=0.0.4' headers.txt
	grep -q '^sandform_reconcile_total{stack="w",result="applied"} 1$' metrics.txt
	cat metrics.txt
	grep -q '^sandform_sandboxes{stack="w",state="started"} 1$' metrics.txt
	grep -q '^sandform_sandboxes{stack="w",state="stopped"} 0$' metrics.txt
	grep -q '^sandform_sandboxes{stack="w",state="archived"} 0$' metrics.txt
	# the client's requests by rate-limit bucket and status: one create,
	# the list pages of two cycles
	grep -q '^# TYPE sandform_api_requests_total counter$' metrics.txt
	grep -q '^sandform_api_requests_total{bucket="sandbox-create",code="200"} 1$' metrics.txt
	n=$(sed -n 's/^sandform_api_requests_total{bucket="authenticated",code="200"} //p' metrics.txt)
	[ "$n" -ge 2 ]
	[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/nope")" = 404 ]
	[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$port/metrics")" = 405 ]
	kill -TERM "$WATCH_PID"
	wait "$WATCH_PID"
	WATCH_PID=
	wait "$NOTIFY_PID" || true
	cat notify.log
	[ "$(head -1 notify.log)" = "READY=1" ]
	grep -q '^STATUS=cycle 1: applied$' notify.log
	grep -q '^WATCHDOG=1$' notify.log
	[ "$(tail -1 notify.log)" = "STOPPING=1" ]
	# a bad address is refused before anything runs
	run --separate-stderr "$SANDFORM" watch m --once --listen nowhere
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"--listen: 'nowhere' is not ADDRESS:PORT"* ]]
}

# stackfile WATCH_YAML: a stack file for m/ with this watch: block
stackfile() {
	printf 'apiVersion: sandform.dev/v1\nkind: Stack\nmetadata: {name: w}\nspec:\n  sources: [{path: m}]\n  watch:\n%s\n' "$1" >sandform.yaml
}

@test "the stack file's watch: mode, suspend and deny windows; mistakes at their line and column" {
	mk web
	unset SANDFORM_STACK
	stackfile '    mode: detect'
	run "$SANDFORM" watch --once
	[ "$status" -eq 2 ]
	[ "$(emu_api GET /sandbox | json 'len(d["items"])')" = 0 ]
	stackfile '    suspend: true'
	run "$SANDFORM" watch --once
	[ "$status" -eq 0 ]
	[[ "$output" == *"stack 'w' is suspended"* ]]
	[ "$(emu_api GET /sandbox | json 'len(d["items"])')" = 0 ]
	stackfile '    denyWindows: [{start: "00:00", end: "24:00"}]'
	run "$SANDFORM" watch --once
	echo "$output"
	[ "$status" -eq 2 ]
	[[ "$output" == *"in the deny window of "*"sandform.yaml:7:"*": detection only"* ]]
	[ "$(emu_api GET /sandbox | json 'len(d["items"])')" = 0 ]
	# a window that is not now: applies
	day=$(date -u +%a | tr 'A-Z' 'a-z')
	stackfile "    denyWindows: [{days: [$day], start: \"00:00\", end: \"00:01\"}, {days: [$day], start: \"23:59\", end: \"24:00\"}]"
	now=$(date -u +%H%M)
	if [ "$now" != 0000 ] && [ "$now" != 2359 ]; then
		run "$SANDFORM" watch --once
		[ "$status" -eq 0 ]
		[ "$(emu_api GET /sandbox | json 'len(d["items"])')" = 1 ]
	fi
	stackfile '    mode: sometimes
    denyWindows: [{days: [someday], start: "25:00"}]
    notify: [{url: "ftp://x", format: xml, events: [boom]}]
    interval: 1ms'
	run --separate-stderr "$SANDFORM" watch --once
	echo "$stderr"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"sandform.yaml:7:11: spec.watch.mode: 'sometimes' is not a mode (expected apply or detect)"* ]]
	[[ "$stderr" == *"spec.watch.denyWindows[0].days[0]: 'someday' is not a day"* ]]
	[[ "$stderr" == *"spec.watch.denyWindows[0].start: '25:00' is not a time"* ]]
	[[ "$stderr" == *"spec.watch.notify[0].url: 'ftp://x' is not an http:// or https:// URL"* ]]
	[[ "$stderr" == *"spec.watch.notify[0].format: 'xml' is not a format"* ]]
	[[ "$stderr" == *"spec.watch.notify[0].events[0]: 'boom' is not an event"* ]]
	[[ "$stderr" == *"spec.watch.interval: '1ms' is not a duration of 100ms or more"* ]]
}

@test "notify: a webhook receiver gets drift detected and corrected, signed; Slack's body; recovered" {
	mk web
	unset SANDFORM_STACK
	python3 - "$BATS_TEST_TMPDIR/hooks.log" "$BATS_TEST_TMPDIR/hook.port" <<'PY' &
import http.server, json, sys
log, portfile = sys.argv[1], sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with open(log, "a") as f:
            f.write(json.dumps({"path": self.path, "sig": self.headers.get("X-Sandform-Signature"), "body": body.decode()}) + "\n")
        self.send_response(204)
        self.end_headers()
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(portfile, "w").write(str(s.server_address[1]))
s.timeout = 2
for _ in range(15):
    s.handle_request()
PY
	HOOK_PID=$!
	WATCH_PID=$HOOK_PID # killed by teardown if the test fails
	wait_for test -s hook.port
	port=$(cat hook.port)
	stackfile "    notify:
      - {url: \"http://127.0.0.1:$port/json\", secretEnv: HOOK_KEY, events: [drift-detected, drift-corrected, recovered]}
      - {url: \"http://127.0.0.1:$port/slack\", format: slack, events: [drift-corrected]}"
	export HOOK_KEY=hook-secret-key
	"$SANDFORM" watch --once >/dev/null
	emu_hook POST /sandbox/web '{"state":"stopped"}' >/dev/null
	run "$SANDFORM" watch --once
	[ "$status" -eq 0 ]
	wait_for test "$(wc -l <hooks.log 2>/dev/null || echo 0)" -ge 3
	kill "$HOOK_PID" 2>/dev/null || true
	WATCH_PID=
	cat hooks.log
	python3 - hooks.log <<'PY'
import hashlib, hmac, json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
js = [r for r in rows if r["path"] == "/json"]
events = sorted(json.loads(r["body"])["event"] for r in js)
assert events == ["drift-corrected", "drift-detected"], events
for r in js:
    want = "sha256=" + hmac.new(b"hook-secret-key", r["body"].encode(), hashlib.sha256).hexdigest()
    assert r["sig"] == want, (r["sig"], want)
    b = json.loads(r["body"])
    assert b["stack"] == "w" and b["drift"] == 1, b
sl = [r for r in rows if r["path"] == "/slack"]
assert len(sl) == 1 and sl[0]["sig"] is None, sl
assert "drift-corrected in stack 'w'" in json.loads(sl[0]["body"])["text"], sl
assert "hook-secret-key" not in open(sys.argv[1]).read().replace(js[0]["sig"], "")
PY
}
