#!/usr/bin/env bats
# sandform watch on a git source served by git daemon (issue 12): a pushed
# commit is applied on the next cycle; a commit that does not load is not
# applied (the last good revision keeps being enforced, the metric counts
# the failure) until a good one follows; the run records, the cycle lines
# and the message name the failed revision beside the enforced one.

bats_require_minimum_version 1.5.0

load lib/emulator
load lib/gitserver
load lib/sandbox

setup() {
	gitsrv_setup
	gsbx web
	gpush one
	emu_start --transition-ms 10
	export SANDFORM_STACK=gw
	WATCH_PID=
}

teardown() {
	if [ -n "$WATCH_PID" ]; then kill -KILL "$WATCH_PID" 2>/dev/null || true; fi
	gitsrv_teardown
	emu_stop
}

wait_for() {
	local i
	for ((i = 0; i < 200; i++)); do
		if "$@"; then return 0; fi
		sleep 0.1
	done
	return 1
}

names() { emu_api GET /sandbox | json 'sorted(s["name"] for s in d["items"])'; }
names_are() { [ "$(names)" = "$1" ]; }
api_started() { [ "$(emu_api GET /sandbox/api 2>/dev/null | json 'd.get("state")' 2>/dev/null)" = started ]; }

@test "a pushed commit is applied on the next cycle; a bad one is not, the last good one is enforced" {
	gitd_start
	"$SANDFORM" watch --git "$GITD_URL" --ref main --path deploy --interval 1s \
		--metrics-file metrics.prom >watch.out 2>watch.err &
	WATCH_PID=$!
	wait_for names_are "['web']"
	gsbx api
	gpush two
	wait_for names_are "['api', 'web']"
	grep -q "at main@sha1:$(ghead)" watch.out || wait_for grep -q "at main@sha1:$(ghead)" watch.out
	good=$(ghead)
	# a commit that does not load: not applied
	printf 'apiVersion: sandform.dev/v1\nkind: Sandbox\nmetadata: {name: bad}\nspec: {cpu: [}\n' >"$GITSRV_WORK/deploy/bad.yaml"
	gpush bad
	wait_for grep -q 'the sources failed' watch.err
	bad=$(ghead)
	# the failed revision is named; the good one is still the one enforced
	grep -q "the sources failed at revision main@sha1:$bad (.*); enforcing the last good revision main@sha1:$good" watch.err
	wait_for grep -q "at main@sha1:$good (main@sha1:$bad failed to load): " watch.out
	# deleted outside sandform: put back from the last good revision
	emu_api DELETE /sandbox/api >/dev/null
	wait_for api_started || { cat watch.out; head -5 watch.err; false; }
	[ "$(names)" = "['api', 'web']" ]
	grep -q "enforcing the last good revision main@sha1:$good" watch.err
	wait_for grep -q '^sandform_source_failures_total{stack="gw"} [1-9]' metrics.prom
	grep -q "^sandform_source_revision_info{stack=\"gw\",revision=\"main@sha1:$good\"} 1$" metrics.prom
	# fixed: taken on the next cycle
	rm "$GITSRV_WORK/deploy/bad.yaml"
	gsbx db
	gpush fixed
	wait_for names_are "['api', 'db', 'web']"
	kill -TERM "$WATCH_PID"
	wait "$WATCH_PID"
	WATCH_PID=
	# the run records: a cycle on the bad commit names the good commit
	# as enforced and the bad one as failed
	run "$SANDFORM" state history --json
	[ "$status" -eq 0 ]
	echo "$output" | python3 -c '
import json, sys
good, bad = sys.argv[1], sys.argv[2]
runs = json.load(sys.stdin)["runs"]
failed = [r for r in runs if (r["counts"] or {}).get("failed_revision")]
assert failed, runs
for r in failed:
    assert r["git_commit"] == good, r
    assert r["counts"]["failed_revision"] == "main@sha1:" + bad, r
assert not any(r["git_commit"] == bad for r in runs), runs
' "$good" "$bad"
	run "$SANDFORM" state history
	echo "$output"
	[[ "$output" == *"@${good:0:12} (failed: ${bad:0:12})"* ]]
}
