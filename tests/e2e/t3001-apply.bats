#!/usr/bin/env bats
# sandform apply and destroy against daytona-emulator: converge, the next
# plan is empty, confirmation rules, JSON events, saved plans (and stale
# ones, asked about like any other, not mixed with manifests, not for
# another --stack), secrets resolved before any call, updates and state
# changes, a failed resize starting the sandbox back, the summary covering
# the whole run, SIGTERM, preventDestroy (and --force-destroy typos), the
# lock (exit 3, force-unlock).

bats_require_minimum_version 1.5.0

load lib/emulator
load lib/apply

setup() { apply_setup --transition-ms 30; }
teardown() { emu_stop; }

@test "apply creates the stack; the next plan is empty; apply again is a no-op" {
	mk web
	mk api '  autoArchiveInterval: 120'
	mk worker '  public: true'
	run --separate-stderr "$SANDFORM" apply m --auto-approve
	[ "$status" -eq 0 ]
	[[ "$output" == *"Plan: 3 to create"* ]]
	[[ "$output" == *"Apply complete: 3 of 3 done, 0 failed"* ]]
	[ "$(live_names)" = "$(declared_names)" ]
	run "$SANDFORM" plan m --detailed-exitcode
	[ "$status" -eq 0 ]
	emu_hook DELETE /requests >/dev/null
	run --separate-stderr "$SANDFORM" apply m --auto-approve
	[ "$status" -eq 0 ]
	[[ "$output" == *"No changes."* ]]
	[ "$(creates_ok)" = 0 ]
	# the records name every sandbox
	run "$SANDFORM" state list --json
	[ "$(echo "$output" | json 'sorted(r["name"] for r in d["records"])')" = "['api', 'web', 'worker']" ]
}

@test "a lost state file: apply rebuilds the records, creates nothing twice" {
	mk web
	mk api
	"$SANDFORM" apply m --auto-approve >/dev/null
	rm -rf .sandform
	emu_hook DELETE /requests >/dev/null
	run --separate-stderr "$SANDFORM" apply m --auto-approve
	[ "$status" -eq 0 ]
	[ "$(creates_ok)" = 0 ]
	[ "$(live_names)" = "$(declared_names)" ]
	run "$SANDFORM" state list --json
	[ "$(echo "$output" | json 'sorted(r["name"] for r in d["records"])')" = "['api', 'web']" ]
}

@test "without a terminal apply refuses unless --auto-approve; nothing changes" {
	mk web
	run --separate-stderr "$SANDFORM" apply m </dev/null
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"--auto-approve"* ]]
	[ "$(live_names)" = "" ]
	[ "$(creates_ok)" = 0 ]
}

@test "--json: one event per line: plan, start, progress, done, summary" {
	mk web
	mk api
	run --separate-stderr "$SANDFORM" apply m --auto-approve --json
	[ "$status" -eq 0 ]
	# every stdout line is a JSON object with an event
	echo "$output" | python3 -c '
import json, sys
evs = [json.loads(l) for l in sys.stdin if l.strip()]
kinds = [e["event"] for e in evs]
assert kinds[0] == "plan", kinds
assert kinds[-1] == "summary", kinds
assert kinds.count("start") == 2 and kinds.count("done") == 2, kinds
s = evs[-1]
assert (s["total"], s["done"], s["failed"], s["left"]) == (2, 2, 0, 0), s
for e in evs[1:-1]:
    assert e["name"] in ("web", "api") and "elapsed_ms" in e, e
'
	# nothing to do: the plan event and a zero summary, whose requests
	# are the whole run's (the refresh)
	emu_hook DELETE /requests >/dev/null
	run --separate-stderr "$SANDFORM" apply m --auto-approve --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | wc -l)" = 2 ]
	[ "$(echo "$output" | tail -1 | json 'd["event"], d["total"], d["recovered"]')" = "('summary', 0, 0)" ]
	[ "$(echo "$output" | tail -1 | json 'd["requests"]')" = "$(n_requests)" ]
	[ "$(n_requests)" -gt 0 ]
}

@test "the summary counts the whole run: refresh and recovery requests and time" {
	mk web
	mk api
	"$SANDFORM" apply m --auto-approve >/dev/null
	mk web '  public: true'
	# an open create intent, as a killed run leaves it
	"$SF_BUILDDIR/tests/store-tool" .sandform/state.db intent name=gone1 action=create >/dev/null
	[ "$(open_journal)" = 1 ]
	emu_hook DELETE /requests >/dev/null
	run --separate-stderr "$SANDFORM" apply m --auto-approve --json
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"recovered 1 interrupted action"* ]]
	[ "$(echo "$output" | tail -1 | json 'd["done"], d["recovered"]')" = "(1, 1)" ]
	# recovery's lookup, the refresh and the call: all counted
	[ "$(echo "$output" | tail -1 | json 'd["requests"]')" = "$(n_requests)" ]
	[ "$(n_requests)" -ge 3 ]
	[ "$(open_journal)" = 0 ]
	mk web '  public: false'
	run --separate-stderr "$SANDFORM" apply m --auto-approve
	[ "$status" -eq 0 ]
	[[ "$output" == *"Apply complete: 1 of 1 done, 0 failed in "*"s ("*" API requests)"* ]]
}

@test "a missing secret fails before any call; nothing is created" {
	mk web
	mk app '  env: {TOKEN: {secretEnv: SF_TEST_NO_SUCH_SECRET}}'
	unset SF_TEST_NO_SUCH_SECRET
	run --separate-stderr "$SANDFORM" apply m --auto-approve
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"SF_TEST_NO_SUCH_SECRET"* ]]
	[ "$(creates_ok)" = 0 ]
	[ "$(live_names)" = "" ]
}

@test "secret values reach the create body only, never output or state" {
	mk app '  env: {TOKEN: {secretEnv: SF_TEST_SECRET}, PLAIN: hello}'
	export SF_TEST_SECRET=s3cr3t-value-xyz
	run --separate-stderr "$SANDFORM" apply m --auto-approve -v --json
	[ "$status" -eq 0 ]
	[[ "$output$stderr" != *s3cr3t-value-xyz* ]]
	! grep -a -q s3cr3t-value-xyz .sandform/state.db*
	[ "$(emu_api GET /sandbox/app | json 'd["env"]["TOKEN"]')" = s3cr3t-value-xyz ]
	run "$SANDFORM" plan m --detailed-exitcode
	[ "$status" -eq 0 ]
}

@test "updates, stop and start converge; out-of-band stop is repaired" {
	mk web
	mk api
	"$SANDFORM" apply m --auto-approve >/dev/null
	mk web '  public: true
  autoArchiveInterval: 60'
	mk api
	sed -i 's/state: started/state: stopped/' m/api.yaml
	run --separate-stderr "$SANDFORM" apply m --auto-approve
	[ "$status" -eq 0 ]
	[ "$(emu_api GET /sandbox/api | json 'd["state"]')" = stopped ]
	[ "$(emu_api GET /sandbox/web | json 'd["public"], d["autoArchiveInterval"]')" = "(True, 60)" ]
	run "$SANDFORM" plan m --detailed-exitcode
	[ "$status" -eq 0 ]
	emu_hook POST /sandbox/web '{"state":"stopped"}' >/dev/null
	run "$SANDFORM" plan m --detailed-exitcode
	[ "$status" -eq 2 ]
	run --separate-stderr "$SANDFORM" apply m --auto-approve
	[ "$status" -eq 0 ]
	[ "$(emu_api GET /sandbox/web | json 'd["state"]')" = started ]
}

@test "a sandbox that does not settle in --timeout fails; the rest converge; recorded" {
	emu_stop
	emu_start --transition-ms 30 --build-ms 4000 --max-wait-ms 0
	mk web
	cat >m/slow.yaml <<'Y'
apiVersion: sandform.dev/v1
kind: Sandbox
metadata:
  name: slow
spec:
  image: python:3.12
  autoStopInterval: 0
Y
	run --separate-stderr "$SANDFORM" apply m --auto-approve --timeout 1s --json
	[ "$status" -eq 1 ]
	echo "$output" | grep '"event":"error"' | grep -q '"name":"slow".*timed out'
	[ "$(echo "$output" | tail -1 | json 'd["done"], d["failed"]')" = "(1, 1)" ]
	# the slow one exists and is tracked: nothing untracked, no duplicate
	[ "$(live_names | tr '\n' ' ')" = "slow web " ]
	run "$SANDFORM" state list --json
	[ "$(echo "$output" | json 'sorted(r["name"] for r in d["records"])')" = "['slow', 'web']" ]
}

@test "--timeout 500ms is honoured in milliseconds, not rounded to 0s" {
	emu_stop
	emu_start --transition-ms 30 --build-ms 4000 --max-wait-ms 0
	cat >m/slow.yaml <<'Y'
apiVersion: sandform.dev/v1
kind: Sandbox
metadata:
  name: slow
spec:
  image: python:3.12
  autoStopInterval: 0
Y
	t0=$(date +%s%N)
	run --separate-stderr "$SANDFORM" apply m -auto-approve -timeout=500ms
	t1=$(date +%s%N)
	echo "$stderr"
	[ "$status" -eq 1 ]
	[[ "$stderr$output" == *"timed out after 500ms waiting"* ]]
	# well before the 4 s build is over
	[ $(((t1 - t0) / 1000000)) -lt 3500 ]
	run --separate-stderr "$SANDFORM" apply m --auto-approve --timeout 0ms
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"--timeout: invalid duration '0ms'"* ]]
}

@test "replace: delete, wait until gone, create again under the same name" {
	mk web
	"$SANDFORM" apply m --auto-approve >/dev/null
	old=$(emu_api GET /sandbox/web | json 'd["id"]')
	sed -i 's/snapshot: daytona-small/snapshot: daytona-medium/' m/web.yaml
	run --separate-stderr "$SANDFORM" apply m --auto-approve
	[ "$status" -eq 0 ]
	new=$(emu_api GET /sandbox/web | json 'd["id"], d["snapshot"]')
	[[ "$new" == *daytona-medium* ]]
	[[ "$new" != *"$old"* ]]
	[ "$(live_names)" = web ]
	run "$SANDFORM" plan m --detailed-exitcode
	[ "$status" -eq 0 ]
}

@test "a saved plan runs exactly; a stale one is refused naming the sandbox" {
	mk web
	mk api
	"$SANDFORM" apply m --auto-approve >/dev/null
	mk web '  public: true'
	"$SANDFORM" plan m --out p.json >/dev/null
	# the saved plan was the review: shown and run without asking again,
	# even without a terminal (terraform apply PLANFILE)
	run --separate-stderr "$SANDFORM" apply p.json </dev/null
	[ "$status" -eq 0 ]
	[[ "$output" == *"spec.public"*"Apply complete: 1 of 1 done"* ]]
	[[ "$output" != *"Do you want"* ]]
	[ "$(emu_api GET /sandbox/web | json 'd["public"]')" = True ]
	mk api '  public: true'
	"$SANDFORM" plan m --out p2.json >/dev/null
	emu_hook POST /sandbox/api '{"state":"stopped"}' >/dev/null
	run --separate-stderr "$SANDFORM" apply --auto-approve p2.json
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"stale"*"'api'"* ]]
	[ "$(emu_api GET /sandbox/api | json 'd["public"]')" = False ]
}

@test "a saved plan is not mixed with manifest paths nor applied to another --stack" {
	mk web
	"$SANDFORM" plan m --out p.json >/dev/null
	run --separate-stderr "$SANDFORM" apply --auto-approve p.json m
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"'p.json' is a saved plan; a saved plan can't be combined with manifest paths"* ]]
	[[ "$stderr" != *"unknown key"* ]]
	run --separate-stderr "$SANDFORM" apply --auto-approve m p.json
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"can't be combined"* ]]
	run --separate-stderr "$SANDFORM" apply --auto-approve --stack other p.json
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"p.json is a plan for stack 'default', not 'other' (--stack); nothing was changed"* ]]
	[ "$(creates_ok)" = 0 ]
	[ "$(live_names)" = "" ]
	# the plan's own stack, named or not, applies
	run --separate-stderr "$SANDFORM" apply --auto-approve --stack default p.json
	[ "$status" -eq 0 ]
	[ "$(live_names)" = web ]
}

@test "a resize that fails after stopping the sandbox starts it back; a 404 is remembered" {
	emu_stop
	emu_start --transition-ms 30 --resize-disabled
	cat >m/big.yaml <<'Y'
apiVersion: sandform.dev/v1
kind: Sandbox
metadata:
  name: big
spec:
  image: python:3.12
  autoStopInterval: 0
  resources: {cpu: 2, memory: 2, disk: 8}
Y
	"$SANDFORM" apply m --auto-approve >/dev/null
	[ "$(emu_api GET /sandbox/big | json 'd["state"]')" = started ]
	sed -i 's/disk: 8/disk: 10/' m/big.yaml
	emu_hook DELETE /requests >/dev/null
	run --separate-stderr "$SANDFORM" apply m --auto-approve
	[ "$status" -eq 1 ]
	[[ "$output" == *"resize is not available for this organization"*"the next plan replaces"*"; started it again"* ]]
	# stop, resize (404), start: the sandbox runs again
	emu_requests | grep -q '"path":"/api/sandbox/[^"]*/start"'
	[ "$(emu_api GET /sandbox/big | json 'd["state"]')" = started ]
	run "$SANDFORM" state info --json
	[ "$(echo "$output" | json 'd["settings"]["resize_unavailable"]')" = "$DAYTONA_API_URL" ]
}

@test "SIGTERM: the report tells actions not started from ones in flight; done ones are not left" {
	emu_stop
	emu_start --transition-ms 3000 --latency-ms 200
	mk_many s 20
	"$SANDFORM" apply m --auto-approve --parallelism 4 >run.out 2>run.err &
	pid=$!
	for ((i = 0; i < 200; i++)); do
		[ "$(creates_ok)" -gt 0 ] && break
		sleep 0.05
	done
	kill -TERM "$pid"
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" -eq 1 ]
	created=$(creates_ok)
	left=$(grep -c 'left (not started)' run.out || true)
	# every create that was sent is done (recorded, its wait skipped);
	# every other one never started; nothing is "in flight"
	[ "$created" -ge 1 ]
	[ "$left" -ge 1 ]
	[ $((created + left)) -eq 20 ]
	! grep -q 'in flight' run.out
	grep -q "Apply incomplete: $created of 20 done, 0 failed, $left left" run.out
	grep -q "interrupted: $left actions left" run.err
	run "$SANDFORM" state list --json
	[ "$(echo "$output" | json 'len(d["records"])')" = "$created" ]
}

@test "a stop that only skipped waits still exits 1 and says so" {
	emu_stop
	emu_start --transition-ms 20000
	# an image create returns at once; its build is the long wait
	printf 'apiVersion: sandform.dev/v1\nkind: Sandbox\nmetadata: {name: web}\nspec: {image: "python:3.12"}\n' >m/web.yaml
	"$SANDFORM" apply m --auto-approve >run.out 2>run.err &
	pid=$!
	for ((i = 0; i < 200; i++)); do
		[ "$(creates_ok)" -gt 0 ] && break
		sleep 0.05
	done
	sleep 0.3 # into the wait for the build
	kill -TERM "$pid"
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" -eq 1 ]
	grep -q 'not waited for' run.out
	grep -q 'interrupted: every call was made; 1 action not waited for' run.err
}

@test "destroy deletes the stack, honours preventDestroy, empties the records" {
	mk web
	mk keep '  lifecycle: {preventDestroy: true}'
	emu_api POST /sandbox '{"name":"foreign","labels":{"team":"other"}}' >/dev/null
	"$SANDFORM" apply m --auto-approve >/dev/null
	run --separate-stderr "$SANDFORM" destroy --auto-approve
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"refusing to destroy 'keep'"*"--force-destroy keep"* ]]
	[ "$(live_names | tr '\n' ' ')" = "foreign keep web " ]
	# a --force-destroy naming nothing of the stack is a typo: refused
	run --separate-stderr "$SANDFORM" destroy --auto-approve --force-destroy keep --force-destroy kepp
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"--force-destroy kepp: stack 'default' has no sandbox of that name"* ]]
	[[ "$stderr" == *"nothing was changed"* ]]
	[ "$(live_names | tr '\n' ' ')" = "foreign keep web " ]
	run --separate-stderr "$SANDFORM" destroy --auto-approve --force-destroy foreign
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"--force-destroy foreign: stack 'default' has no sandbox"* ]]
	run --separate-stderr "$SANDFORM" destroy --auto-approve --force-destroy keep
	[ "$status" -eq 0 ]
	[ "$(live_names)" = foreign ]
	run --separate-stderr "$SANDFORM" state list --json
	[ "$(echo "$output" | json 'len(d["records"])')" = 0 ]
}

@test "a held lock: exit 3 naming the holder; --lock-timeout waits; force-unlock" {
	emu_stop
	emu_start --transition-ms 30 --latency-ms 150
	mk_many s 8
	# the first run holds the lock while it works (slow API, one call at
	# a time); it has the lock once its plan event is out
	"$SANDFORM" apply m --auto-approve --json --parallelism 1 >first.out 2>first.err &
	first=$!
	for ((i = 0; i < 200; i++)); do
		grep -q '"event":"plan"' first.out 2>/dev/null && break
		sleep 0.05
	done
	run --separate-stderr "$SANDFORM" apply m --auto-approve
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"locked by another run: pid $first on "* ]]
	[[ "$stderr" == *"force-unlock "* ]]
	# --lock-timeout waits for the first run to finish, then finds
	# nothing to do
	run --separate-stderr "$SANDFORM" apply m --auto-approve --lock-timeout 60s
	[ "$status" -eq 0 ]
	[[ "$output" == *"No changes."* ]]
	wait "$first"
	[ "$(live_names)" = "$(declared_names)" ]
	# force-unlock: an unknown id fails; a real one is released
	run --separate-stderr "$SANDFORM" force-unlock 00000000-0000-4000-8000-000000000000
	[ "$status" -eq 1 ]
	for n in x1 x2 x3 x4 x5; do mk $n; done
	"$SANDFORM" apply m --auto-approve --json --parallelism 1 >/dev/null 2>&1 &
	holder=$!
	for ((i = 0; i < 200; i++)); do
		id=$("$SANDFORM" state info --json 2>/dev/null |
			emu_json 'd["lock"]["id"] if d["lock"] else ""') || true
		[ -n "$id" ] && break
		sleep 0.05
	done
	kill -STOP "$holder"
	run --separate-stderr "$SANDFORM" force-unlock "$id"
	kill -CONT "$holder"
	wait "$holder" || true
	[ "$status" -eq 0 ]
	[[ "$output" == *"Released lock $id of stack 'default'"* ]]
}

@test "Terraform-style options: apply -auto-approve -parallelism=2, plan -detailed-exitcode" {
	mk web
	mk api
	run --separate-stderr "$SANDFORM" apply m -auto-approve -parallelism=2
	[ "$status" -eq 0 ]
	[[ "$output" == *"Apply complete: 2 of 2 done, 0 failed"* ]]
	[ "$(live_names)" = "$(declared_names)" ]
	run "$SANDFORM" plan m -detailed-exitcode
	[ "$status" -eq 0 ]
	rm m/api.yaml
	run "$SANDFORM" plan -detailed-exitcode m
	[ "$status" -eq 2 ]
}

@test "the summary's time leaves out the prompt; a reader that goes away does not stop a run between a call and its record" {
	mk web
	TTY_DELAY=3 run tty_sandform yes apply m
	echo "$output"
	[ "$status" -eq 0 ]
	secs=$(sed -n 's/.*Apply complete: 1 of 1 done, 0 failed in \([0-9.]*\)s.*/\1/p' <<<"$output" | tr -d '\r')
	echo "summary: ${secs}s"
	python3 -c "import sys; sys.exit(0 if float('$secs') < 2.5 else 1)"
	# stdout closed early (| head): every create happens once and is
	# recorded; the closed stdout is an error at the end
	mk_many p 20
	run bash -c 'set -o pipefail; "$SANDFORM" apply m --auto-approve --parallelism 4 | head -c 1 >/dev/null'
	[ "$status" -ne 0 ]
	[ "$status" -ne 141 ] # not killed by SIGPIPE
	[ "$(creates_ok)" -eq 21 ]
	run "$SANDFORM" plan m --detailed-exitcode
	[ "$status" -eq 0 ]
}
