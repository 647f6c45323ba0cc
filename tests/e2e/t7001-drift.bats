#!/usr/bin/env bats
# sandform drift (issue 12, the read-only part): only GETs; exit 0 without
# drift, 2 (or --diff-exit-code) with it; the categories of what changed
# outside sandform, apart from changes the manifests ask for; no drift for
# a sandbox Daytona stopped by its own policy when the manifest leaves
# state unset; ignore rules (--ignore, the stack file's ignore:) that plan
# and apply honour too; findings recorded and read back with --history.

bats_require_minimum_version 1.5.0

load lib/emulator
load lib/apply

setup() {
	apply_setup --transition-ms 10
	export SANDFORM_STACK=drift
}

teardown() { emu_stop; }

# relabel NAME KEY VALUE: change one label outside sandform, keeping the rest
relabel() {
	local labels
	labels=$(emu_api GET "/sandbox/$1" | python3 -c '
import json, sys
d = json.load(sys.stdin)["labels"]
d[sys.argv[1]] = sys.argv[2]
print(json.dumps({"labels": d}))' "$2" "$3")
	emu_hook POST "/sandbox/$1" "$labels" >/dev/null
}

methods() {
	emu_requests | python3 -c '
import json, sys
for line in sys.stdin:
    d = json.loads(line)
    if d["path"].startswith("/api/"):
        print(d["method"])' | sort -u
}

@test "drift: read-only, exit 0 then 2 with each category; manifest changes are not drift" {
	mk web
	mk db '  public: false'
	mk gone
	"$SANDFORM" apply m --auto-approve >/dev/null
	run --separate-stderr "$SANDFORM" drift m
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == "No drift in stack 'drift'"* ]]
	emu_hook DELETE /requests >/dev/null
	# outside sandform: web stopped and relabelled, db made public,
	# gone deleted
	emu_hook POST /sandbox/web '{"state":"stopped"}' >/dev/null
	relabel web team other
	emu_hook POST /sandbox/db '{"public":true}' >/dev/null
	emu_api DELETE /sandbox/gone >/dev/null
	emu_hook DELETE /requests >/dev/null
	# and a change the manifests ask for: pending, not drift
	sandbox_yaml db t2 '  public: false' >m/db.yaml
	run --separate-stderr "$SANDFORM" drift m
	echo "$output"
	echo "$stderr"
	[ "$status" -eq 2 ]
	[[ "$output" == *"Drift in stack 'drift': 4 differences made outside sandform"* ]]
	[[ "$output" == *"web (state) spec.state: stopped, expected started"* ]]
	[[ "$output" == *"web (labels) metadata.labels.team: other, expected t"* ]] || [[ "$output" == *"web (labels) labels.team: other, expected t"* ]]
	[[ "$output" == *"db (settings) spec.public: true, expected false"* ]]
	[[ "$output" == *"gone (missing) sandbox: (deleted), expected (exists: "* ]]
	[[ "$output" != *"db (labels)"* ]]
	[[ "$output" == *"change from the manifests is pending"* ]] || [[ "$output" == *"changes from the manifests are pending"* ]]
	# read-only: GETs only
	[ "$(methods)" = "GET" ]
	run "$SANDFORM" drift m --diff-exit-code 1 --json
	[ "$status" -eq 1 ]
	[ "$(echo "$output" | json 'd["drift"], len(d["findings"]), d["counts"]["state"], d["counts"]["missing"]')" = "(True, 4, 1, 1)" ]
	[ "$(echo "$output" | json '[f for f in d["findings"] if f["name"] == "db"][0]["live"]')" = "true" ]
}

@test "a sandbox Daytona stopped by its own policy is not drift when state is unset" {
	printf 'apiVersion: sandform.dev/v1\nkind: Sandbox\nmetadata:\n  name: idle\nspec:\n  snapshot: daytona-small\n  autoStopInterval: 15\n' >m/idle.yaml
	"$SANDFORM" apply m --auto-approve >/dev/null
	emu_hook POST /sandbox/idle '{"state":"stopped"}' >/dev/null
	run "$SANDFORM" drift m
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == "No drift"* ]]
}

@test "ignore rules: --ignore and the stack file's ignore: leave a difference alone in drift, plan and apply" {
	mk web
	mk api '  public: false'
	"$SANDFORM" apply m --auto-approve >/dev/null
	emu_hook POST /sandbox/web '{"state":"stopped"}' >/dev/null
	relabel api team other
	emu_hook POST /sandbox/api '{"public":true}' >/dev/null
	run "$SANDFORM" drift m --ignore state --ignore labels.team
	echo "$output"
	[ "$status" -eq 2 ]
	[[ "$output" == *"1 difference made outside sandform"* ]]
	[[ "$output" == *"api (settings) spec.public"* ]]
	run "$SANDFORM" drift m --ignore state --ignore 'labels.*' --ignore spec.public
	[ "$status" -eq 0 ]
	# a bad rule is refused before anything is read
	run --separate-stderr "$SANDFORM" drift m --ignore bogus
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"--ignore: 'bogus' is not an ignore rule"* ]]
	# the stack file's rules, honoured by apply: web stays stopped, api
	# keeps team=other; what is not ignored is put back
	cat >sandform.yaml <<'YAML'
apiVersion: sandform.dev/v1
kind: Stack
metadata: {name: drift}
spec:
  sources: [{path: m}]
  ignore: [state, labels.team]
YAML
	unset SANDFORM_STACK
	run "$SANDFORM" apply --auto-approve
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(emu_api GET /sandbox/web | json 'd["state"]')" = stopped ]
	[ "$(emu_api GET /sandbox/api | json 'd["labels"].get("team"), d["public"]')" = "('other', False)" ]
	run "$SANDFORM" drift
	[ "$status" -eq 0 ]
	run "$SANDFORM" plan --detailed-exitcode
	[ "$status" -eq 0 ]
	# without the rules both come back
	run --separate-stderr "$SANDFORM" --no-stack-file plan --detailed-exitcode m --stack drift
	echo "$output $stderr"
	[ "$status" -eq 2 ]
	# a rule that is not one, at its line and column
	sed -i 's/ignore: \[state, labels.team\]/ignore: [state, nope]/' sandform.yaml
	run --separate-stderr "$SANDFORM" drift
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"sandform.yaml:6:"*"'nope' is not an ignore rule"* ]]
}

@test "drift --history: first and last seen, resolved when a later run no longer sees it" {
	mk web
	"$SANDFORM" apply m --auto-approve >/dev/null
	run "$SANDFORM" drift --history
	[ "$status" -eq 0 ]
	[[ "$output" == *"0 drift runs, 0 differences"* ]]
	emu_hook POST /sandbox/web '{"state":"stopped"}' >/dev/null
	run "$SANDFORM" drift m
	[ "$status" -eq 2 ]
	run "$SANDFORM" drift m
	[ "$status" -eq 2 ]
	run "$SANDFORM" drift --history --json
	echo "$output"
	[ "$(echo "$output" | json 'd["runs"], len(d["findings"]), d["findings"][0]["resolved_at"]')" = "(2, 1, None)" ]
	"$SANDFORM" apply m --auto-approve >/dev/null
	run "$SANDFORM" drift m
	[ "$status" -eq 0 ]
	run "$SANDFORM" drift --history
	echo "$output"
	[[ "$output" == *"3 drift runs, 1 difference"* ]]
	[[ "$output" == *"web (state) spec.state: first seen "*", last seen "*", resolved "* ]]
	run "$SANDFORM" drift --history --json
	[ "$(echo "$output" | json 'd["findings"][0]["resolved_at"] is not None and d["findings"][0]["first_seen"] < d["findings"][0]["last_seen"] <= d["findings"][0]["resolved_at"]')" = True ]
}
