#!/usr/bin/env bats
# Plans after out-of-band changes (made through the emulator's
# /_emulator/sandbox hook) and after manifest changes: state, labels,
# settings, resources, errors, create-only fields, and secrets.

bats_require_minimum_version 1.5.0

load lib/emulator
load lib/plan

setup() { plan_setup; }
teardown() { emu_stop; }

applied() {
	"$SANDFORM" apply m --auto-approve >/dev/null 2>&1
	emu_hook DELETE /requests >/dev/null
}

# img [EXTRA_SPEC_YAML]: write m/img.yaml, an image sandbox
img() {
	{
		printf 'apiVersion: sandform.dev/v1\nkind: Sandbox\n'
		printf 'metadata: {name: img}\nspec:\n  image: python:3.12-slim\n'
		if [ -n "${1-}" ]; then printf '%s\n' "$1"; fi
	} >m/img.yaml
}

actions() {
	"$SANDFORM" plan m --json 2>/dev/null |
		json '[(a["name"], a["action"]) for a in d["actions"]]'
}

@test "state: stopped out of band is drift only when state is declared" {
	sbx web
	sbx free
	sed -i '/state: started/d' m/free.yaml
	applied
	emu_hook POST /sandbox/web '{"state":"stopped","desiredState":"stopped"}' >/dev/null
	emu_hook POST /sandbox/free '{"state":"stopped","desiredState":"stopped"}' >/dev/null
	run --separate-stderr "$SANDFORM" plan m --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json '[(a["name"], a["action"], [(r["field"], r["old"], r["new"]) for r in a["reasons"]]) for a in d["actions"]]')" = "[('web', 'start', [('spec.state', 'stopped', 'started')])]" ]
	run --separate-stderr "$SANDFORM" plan m
	[[ "$output" == *"  > web (start)  m/web.yaml:1"* ]]
	only_gets
}

@test "labels: others' keys kept, ours restored, one PUT of the merged map" {
	sbx web
	applied
	spec=$(emu_api GET /sandbox/web | json 'd["labels"]["sandform.dev/spec"]')
	emu_hook POST /sandbox/web "{\"labels\":{\"sandform.dev/stack\":\"default\",\"sandform.dev/spec\":\"$spec\",\"team\":\"other\",\"code-toolbox-language\":\"python\"}}" >/dev/null
	run --separate-stderr "$SANDFORM" plan m --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json '[(a["action"], [(r["field"], r["old"], r["new"]) for r in a["reasons"]]) for a in d["actions"]]')" = "[('update', [('labels.team', 'other', 'agents'), ('labels.sandform.dev/labels', None, '[\"team\"]')])]" ]
	[ "$(echo "$output" | json 'sorted(d["actions"][0]["steps"][0]["labels"])')" = "['code-toolbox-language', 'sandform.dev/labels', 'sandform.dev/spec', 'sandform.dev/stack', 'team']" ]
}

@test "settings: public and autoStopInterval changed out of band" {
	sbx web "  public: false"
	applied
	emu_hook POST /sandbox/web '{"public":true,"autoStopInterval":60}' >/dev/null
	run --separate-stderr "$SANDFORM" plan m --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json '[s["op"] for s in d["actions"][0]["steps"]], d["actions"][0]["action"]')" = "(['set_public', 'set_autostop'], 'update')" ]
	run --separate-stderr "$SANDFORM" plan m
	[[ "$output" == *'spec.public: true -> false'* ]]
	[[ "$output" == *'spec.autoStopInterval: 60 -> 0'* ]]
}

@test "resources: cpu lowered out of band is a resize; disk below the manifest too" {
	img '  resources: {cpu: 2, memory: 2, disk: 5}
  autoStopInterval: 0'
	applied
	emu_wait_state img started
	emu_hook POST /sandbox/img '{"cpu":1}' >/dev/null
	run --separate-stderr "$SANDFORM" plan m --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json '[(a["action"], [s["op"] for s in a["steps"]]) for a in d["actions"]]')" = "[('resize', ['resize', 'wait_stable'])]" ]
	emu_hook POST /sandbox/img '{"cpu":2,"disk":3}' >/dev/null
	run --separate-stderr "$SANDFORM" plan m --json
	[ "$(echo "$output" | json '[(a["action"], [s["op"] for s in a["steps"]]) for a in d["actions"]]')" = "[('resize', ['stop', 'wait_stable', 'resize', 'wait_stable', 'start', 'wait_stable'])]" ]
}

@test "errors: recoverable is a recover, otherwise a replace" {
	sbx web
	applied
	emu_hook POST /sandbox/web '{"state":"error","recoverable":true,"errorReason":"disk full"}' >/dev/null
	[ "$(actions)" = "[('web', 'recover')]" ]
	emu_hook POST /sandbox/web '{"state":"error","recoverable":false}' >/dev/null
	run --separate-stderr "$SANDFORM" plan m
	[[ "$output" == *"-/+ web (replace)"* ]]
	[[ "$output" == *'state: "error: disk full" -> (recreated) (forces replacement)'* ]]
}

@test "create-only fields: image and user force a replace with the field named" {
	img
	applied
	sed -i 's/python:3.12-slim/python:3.13-slim/' m/img.yaml
	run --separate-stderr "$SANDFORM" plan m
	[ "$status" -eq 0 ]
	[[ "$output" == *'-/+ img (replace)  m/img.yaml:1'* ]]
	[[ "$output" == *'spec.image: "python:3.12-slim" -> "python:3.13-slim" (forces replacement)'* ]]
	[[ "$output" == *"Plan: 0 to create, 0 to update, 1 to replace, 0 to delete."* ]]
	printf '  user: root\n' >>m/img.yaml
	run --separate-stderr "$SANDFORM" plan m --json
	[ "$(echo "$output" | json 'sorted(r["field"] for r in d["actions"][0]["reasons"] if r["forces_replace"])')" = "['spec.image', 'spec.user']" ]
}

@test "secrets: hashed, never shown, a change is a replace, a missing one is not compared" {
	sbx web "  env: {TOKEN: {secretEnv: SF_E2E_TOKEN}, MODE: fast}"
	export SF_E2E_TOKEN=hunter2-value-1
	applied
	run --separate-stderr "$SANDFORM" plan m --detailed-exitcode
	[ "$status" -eq 0 ]
	[ "$output" = "No changes." ]
	export SF_E2E_TOKEN=hunter2-value-2
	run --separate-stderr "$SANDFORM" plan m
	[ "$status" -eq 0 ]
	[[ "$output" == *"spec.env.TOKEN: (sensitive) -> (sensitive) (forces replacement)"* ]]
	[[ "$output$stderr" != *hunter2* ]]
	run --separate-stderr "$SANDFORM" plan m --json
	[[ "$output$stderr" != *hunter2* ]]
	! grep -rq hunter2 .sandform
	# a lost state has another key: the values cannot be compared, and
	# that is said, not turned into a replace on every fresh CI runner
	rm -rf .sandform
	run --separate-stderr "$SANDFORM" plan m --detailed-exitcode
	[ "$status" -eq 0 ]
	[ "$output" = "No changes." ]
	[[ "$stderr" == *"note: the secret env values of 1 sandbox cannot be compared"* ]]
	run --separate-stderr "$SANDFORM" plan m --detailed-exitcode
	[ "$status" -eq 0 ]
	# a plan without the secret (a pull request's pipeline) still plans
	# and says what it could not compare; apply needs it
	unset SF_E2E_TOKEN
	run --separate-stderr "$SANDFORM" plan m --detailed-exitcode
	[ "$status" -eq 0 ]
	[[ "$output" == *"spec.env.TOKEN: (secret not available: not compared)"* ]]
	run --separate-stderr "$SANDFORM" apply m --auto-approve
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"SF_E2E_TOKEN"* ]]
}

# r45 A3: v0.190's list items had no network settings (an out-of-band
# change showed as a new updatedAt, and only then was the sandbox read
# again); 0.218's carry them (sandbox-list-item.d.ts), and so does the
# emulator: the change is seen from the list alone (issue 14).
@test "network changed out of band: seen from the list item, zero GETs" {
	sbx web '  network: {allowList: ["10.0.0.0/8"], domainAllowList: ["*.example.com"]}'
	applied
	"$SANDFORM" plan m --detailed-exitcode >/dev/null 2>&1
	emu_hook DELETE /requests >/dev/null
	# unchanged: the label walk only
	run --separate-stderr "$SANDFORM" plan m --detailed-exitcode
	[ "$status" -eq 0 ]
	[ "$output" = "No changes." ]
	[ "$(emu_requests | json_lines 'sum(1 for l in L if l["path"].startswith("/api/sandbox/"))')" = 0 ]
	id=$(emu_api GET /sandbox/web | json 'd["id"]')
	emu_api POST "/sandbox/$id/network-settings" '{"networkAllowList":"0.0.0.0/0","domainAllowList":""}' >/dev/null
	emu_hook DELETE /requests >/dev/null
	run --separate-stderr "$SANDFORM" plan m --detailed-exitcode
	[ "$status" -eq 2 ]
	[[ "$output" == *"~ web (update)"* ]]
	# only the changed settings, each named (r45 B19)
	[[ "$output" == *'spec.network.allowList: "0.0.0.0/0" -> "10.0.0.0/8"'* ]]
	[[ "$output" == *'spec.network.domainAllowList: "" -> "*.example.com"'* ]]
	[[ "$output" != *"spec.network:"* ]]
	[ "$(emu_requests | json_lines 'sum(1 for l in L if l["path"].startswith("/api/sandbox/"))')" = 0 ]
	# planned again without applying: still shown, no GET
	emu_hook DELETE /requests >/dev/null
	run --separate-stderr "$SANDFORM" plan m --detailed-exitcode
	[ "$status" -eq 2 ]
	[[ "$output" == *'spec.network.allowList: "0.0.0.0/0"'* ]]
	[ "$(emu_requests | json_lines 'sum(1 for l in L if l["path"].startswith("/api/sandbox/"))')" = 0 ]
	# apply restores it; then nothing to do
	"$SANDFORM" apply m --auto-approve >/dev/null 2>&1
	run --separate-stderr "$SANDFORM" plan m --detailed-exitcode
	[ "$status" -eq 0 ]
	[ "$(emu_api GET /sandbox/web | json 'd["networkAllowList"]')" = "10.0.0.0/8" ]
}

# The shared resize_unavailable rule: after a resize answered 404 at this
# API (apply remembers it in the state), the plan replaces instead.
@test "resize disabled for the organization: the next plan is a replace, with the reason" {
	emu_stop
	emu_start --transition-ms 20 --resize-disabled
	img '  resources: {cpu: 1}
  autoStopInterval: 0'
	applied
	emu_wait_state img started
	img '  resources: {cpu: 2}
  autoStopInterval: 0'
	run --separate-stderr "$SANDFORM" plan m --json
	[ "$(echo "$output" | json 'd["actions"][0]["action"]')" = resize ]
	run --separate-stderr "$SANDFORM" apply m --auto-approve
	[ "$status" -ne 0 ]
	run --separate-stderr "$SANDFORM" plan m --detailed-exitcode
	[ "$status" -eq 2 ]
	[[ "$output" == *"-/+ img (replace)"* ]]
	[[ "$output" == *"spec.resources.cpu: 1 -> 2; resize is not available for this organization (forces replacement)"* ]]
	# a trailing '/' names the same API
	DAYTONA_API_URL="$DAYTONA_API_URL/" run --separate-stderr "$SANDFORM" plan m --json
	[ "$(echo "$output" | json 'd["actions"][0]["action"]')" = replace ]
	# the setting is per API URL: another one still plans a resize
	DAYTONA_API_URL="http://localhost:$EMU_PORT/api" run --separate-stderr "$SANDFORM" plan m --json
	[ "$(echo "$output" | json 'd["actions"][0]["action"]')" = resize ]
}
