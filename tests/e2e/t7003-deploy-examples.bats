#!/usr/bin/env bats
# The deployment examples of examples/deploy (issue 12) are checked, not
# only shown: each file is parsed (the workflows by sandform's YAML parser,
# the systemd units as INI, the cron line field by field) and the sandform
# commands in it run against the emulator, in a project directory with a
# stack file, with the paths of a real machine moved into the test's own.

bats_require_minimum_version 1.5.0

load lib/emulator
load lib/sandbox

setup() {
	DEPLOY="$SF_SRCDIR/examples/deploy"
	Y2J="$SF_BUILDDIR/tests/yaml2json"
	cd "$BATS_TEST_TMPDIR"
	unset SANDFORM_STATE SANDFORM_STACK VNC_PASSWORD NOTIFY_SOCKET
	emu_start --transition-ms 10
	mkdir -p proj/sandboxes proj/.sandform
	cat >proj/sandform.yaml <<'YAML'
apiVersion: sandform.dev/v1
kind: Stack
metadata: {name: deploy}
spec:
  sources: [{path: sandboxes}]
YAML
	sandbox_yaml web t '  env: {VNC_PASSWORD: {secretEnv: VNC_PASSWORD}}' >proj/sandboxes/web.yaml
	BIN="$BATS_TEST_TMPDIR/bin"
	mkdir -p "$BIN"
	ln -sf "$SANDFORM" "$BIN/sandform"
	export SANDFORM_STATE="$BATS_TEST_TMPDIR/state.db"
	WATCH_PID=
}

teardown() {
	if [ -n "$WATCH_PID" ]; then kill -KILL "$WATCH_PID" 2>/dev/null || true; fi
	emu_stop
}

# ci_commands FILE: "JOB<TAB>COMMAND" for every sandform command of a CI
# file (GitHub's steps' run:, GitLab's script:)
ci_commands() {
	"$Y2J" "$1" | python3 -c '
import json, sys
doc = json.load(sys.stdin)[0]
jobs = doc.get("jobs") or {k: v for k, v in doc.items() if isinstance(v, dict) and "script" in v}
for name, job in jobs.items():
    lines = [s.get("run", "") for s in job.get("steps", [])] + job.get("script", [])
    for line in lines:
        if line.startswith("sandform "):
            print(name + "\t" + line)'
}

# in_proj CMD: CMD (a shell line) in the project with sandform on PATH
in_proj() {
	(cd proj && PATH="$BIN:$PATH" sh -c "$1")
}

stop_web() {
	emu_hook POST /sandbox/web '{"state":"stopped"}' >/dev/null
}

@test "GitHub Actions: plan on pull requests without secrets, apply on main, a drift job that fails on exit 2" {
	run ci_commands "$DEPLOY/.github/workflows/sandform.yml"
	echo "$output"
	[ "$status" -eq 0 ]
	cmds=$output
	[ "$(cut -f1 <<<"$cmds" | sort -u | tr '\n' ' ')" = "apply drift plan " ]
	"$Y2J" "$DEPLOY/.github/workflows/sandform.yml" | python3 -c '
import json, sys
d = json.load(sys.stdin)[0]
assert set(d["on"]) == {"pull_request", "push", "schedule"}, d["on"]
assert "VNC_PASSWORD" not in d["jobs"]["plan"]["env"]
assert "VNC_PASSWORD" in d["jobs"]["apply"]["env"]
assert d["jobs"]["drift"]["if"] == "github.event_name == '"'"'schedule'"'"'"'
	while IFS=$'\t' read -r job cmd; do
		case $job in
		plan) run in_proj "$cmd" ;;
		apply) VNC_PASSWORD=v run in_proj "$cmd" ;;
		drift) run in_proj "$cmd" ;;
		esac
		echo "$job: $cmd: $status"
		[ "$status" -eq 0 ]
	done <<<"$(grep -v '^drift' <<<"$cmds")"
	[ "$(emu_api GET /sandbox/web | json 'd["state"]')" = started ]
	drift=$(grep '^drift' <<<"$cmds" | cut -f2)
	[ "$drift" = "sandform drift" ]
	run in_proj "$drift"
	[ "$status" -eq 0 ]
	stop_web
	run in_proj "$drift"
	echo "$output"
	[ "$status" -eq 2 ] # the scheduled job fails
}

@test "GitLab CI: the same jobs by rules" {
	run ci_commands "$DEPLOY/.gitlab-ci.yml"
	echo "$output"
	[ "$(cut -f1 <<<"$output" | sort -u | tr '\n' ' ')" = "apply drift plan " ]
	jobs=$output
	for cmd in $(grep -P '^plan\t' <<<"$jobs" | cut -f2 | tr ' ' '~'); do
		run in_proj "${cmd//\~/ }"
		[ "$status" -eq 0 ]
	done
	VNC_PASSWORD=v run in_proj "$(grep -P '^apply\t' <<<"$jobs" | cut -f2)"
	[ "$status" -eq 0 ]
	stop_web
	run in_proj "$(grep -P '^drift\t' <<<"$jobs" | cut -f2)"
	[ "$status" -eq 2 ]
}

# unit KEY FILE: the value of KEY in a systemd unit file
unit() {
	python3 -c '
import configparser, sys
c = configparser.ConfigParser(strict=False, interpolation=None)
c.optionxform = str
c.read(sys.argv[2])
sec, key = sys.argv[1].split(".")
print(c[sec][key])' "$1" "$2"
}

# local_cmd LINE: a unit's or cron's command with this test's paths
local_cmd() {
	sed -e "s#/usr/local/bin/sandform#$BIN/sandform#g" \
		-e "s#/srv/infra#$BATS_TEST_TMPDIR/proj#g" \
		-e "s#/var/lib/prometheus/node-exporter#$BATS_TEST_TMPDIR#g" \
		-e "s#/etc/sandform/env#$BATS_TEST_TMPDIR/env#g" \
		-e "s#127.0.0.1:9464#127.0.0.1:0#g" <<<"$1"
}

@test "systemd: the service is Type=notify and its ExecStart loops until SIGTERM; the timer's service runs one cycle" {
	svc="$DEPLOY/systemd/sandform-watch.service"
	[ "$(unit Service.Type "$svc")" = notify ]
	[ -n "$(unit Service.WatchdogSec "$svc")" ]
	[ "$(unit Service.ExecReload "$svc")" = '/bin/kill -HUP $MAINPID' ]
	[ "$(unit Install.WantedBy "$svc")" = multi-user.target ]
	cmd=$(local_cmd "$(unit Service.ExecStart "$svc")")
	echo "$cmd"
	(cd proj && VNC_PASSWORD=v exec $cmd) >watch.out 2>watch.err &
	WATCH_PID=$!
	for ((i = 0; i < 150; i++)); do grep -q 'cycle 1 ' watch.out && break; sleep 0.1; done
	grep -q 'applied' watch.out
	[ -f sandform.prom ]
	kill -TERM "$WATCH_PID"
	wait "$WATCH_PID"
	WATCH_PID=
	once="$DEPLOY/systemd/sandform-once.service"
	[ "$(unit Service.Type "$once")" = oneshot ]
	stop_web
	cmd=$(local_cmd "$(unit Service.ExecStart "$once")")
	(cd proj && VNC_PASSWORD=v $cmd)
	[ "$(emu_api GET /sandbox/web | json 'd["state"]')" = started ]
	timer="$DEPLOY/systemd/sandform-once.timer"
	[ "$(unit Timer.OnCalendar "$timer")" = '*:0/15' ]
	[ "$(unit Install.WantedBy "$timer")" = timers.target ]
}

@test "cron: the line is five fields and a command that runs one cycle" {
	line=$(grep -v '^#' "$DEPLOY/crontab" | grep -v '^[A-Z]*=' | grep .)
	[ "$(wc -l <<<"$line")" -eq 1 ]
	python3 - "$line" <<'PY'
import re, sys
f = sys.argv[1].split(None, 5)
assert len(f) == 6, f
for v, hi in zip(f[:5], (59, 23, 31, 12, 7)):
    for part in v.split(","):
        m = re.fullmatch(r"(\*|\d+(-\d+)?)(/\d+)?", part)
        assert m, part
        for n in re.findall(r"\d+", part.split("/")[0]):
            assert int(n) <= hi, part
PY
	printf 'VNC_PASSWORD=v\nexport VNC_PASSWORD\n' >env
	cmd=$(local_cmd "$(cut -d' ' -f6- <<<"$line")")
	echo "$cmd"
	PATH="$BIN:$PATH" sh -c "$cmd"
	[ "$(emu_api GET /sandbox/web | json 'd["state"]')" = started ]
	grep -q 'cycle 1 ' proj/.sandform/cron.log
	[ -f proj/.sandform/metrics.prom ]
}
