#!/usr/bin/env bats
# sandform plan against daytona-emulator: an empty organization, a partly
# existing stack, a plan after apply is empty, the JSON document, saved
# plans, exit codes, and plan sending nothing but GETs.

bats_require_minimum_version 1.5.0

load lib/emulator
load lib/plan

setup() { plan_setup; }
teardown() {
	[ -z "${holder:-}" ] || kill "$holder" 2>/dev/null || true
	emu_stop
}

@test "empty organization: every manifest is a create; only GETs sent" {
	sbx web
	sbx api
	run --separate-stderr "$SANDFORM" plan m
	[ "$status" -eq 0 ]
	[[ "$output" == *"  + api (create)  m/api.yaml:1"* ]]
	[[ "$output" == *"  + web (create)  m/web.yaml:1"* ]]
	[[ "$output" == *"Plan: 2 to create, 0 to update, 0 to replace, 0 to delete."* ]]
	[[ "$output" != *$'\033['* ]] # not a terminal: no colour
	only_gets
	# nothing was created
	[ "$(emu_api GET /sandbox | json 'len(d["items"])')" = 0 ]
}

@test "--json: the versioned document" {
	sbx web
	run --separate-stderr "$SANDFORM" plan m --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json 'd["format_version"], d["stack"], d["summary"]["create"]')" = "('1', 'default', 1)" ]
	[ "$(echo "$output" | json '[(a["name"], a["action"], a["sandbox_id"], a["source"]) for a in d["actions"]]')" = "[('web', 'create', None, 'm/web.yaml:1')]" ]
	[ "$(echo "$output" | json 'd["actions"][0]["steps"][0]["labels"]["sandform.dev/stack"]')" = default ]
}

@test "--detailed-exitcode and --out: 2 with changes, a 0600 saved plan" {
	sbx web
	run --separate-stderr "$SANDFORM" plan m --detailed-exitcode --out p.json
	[ "$status" -eq 2 ]
	[ "$(stat -c %a p.json)" = 600 ]
	[ "$(json 'd["actions"][0]["action"]' <p.json)" = create ]
	[[ "$output" == *"Saved the plan to p.json"* ]]
}

@test "partly existing stack: only the missing one is created; after apply nothing" {
	sbx web
	"$SANDFORM" apply m --auto-approve >/dev/null 2>&1
	sbx api
	run --separate-stderr "$SANDFORM" plan m --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json '[(a["name"], a["action"]) for a in d["actions"]]')" = "[('api', 'create')]" ]
	"$SANDFORM" apply m --auto-approve >/dev/null 2>&1
	emu_hook DELETE /requests >/dev/null
	run --separate-stderr "$SANDFORM" plan m --detailed-exitcode
	[ "$status" -eq 0 ]
	[ "$output" = "No changes." ]
	only_gets
	# one list page, nothing else, for an up-to-date stack
	[ "$(emu_requests | grep -c '"path":"/api/sandbox"')" = 1 ]
	[ "$(emu_requests | wc -l)" = 1 ]
}

@test "a stack of its own: --stack keeps stacks apart" {
	sbx web
	"$SANDFORM" apply m --auto-approve --stack one >/dev/null 2>&1
	run --separate-stderr "$SANDFORM" plan m --stack two
	[ "$status" -eq 1 ]
	# the name is held by stack one's sandbox: say so, and never advise
	# importing it (that would take it away from stack one)
	[[ "$stderr" == *"a sandbox named 'web' (id "*") belongs to sandform stack 'one'; choose another name"* ]]
	[[ "$stderr" != *"state import"* ]]
	[[ "$output" != *"No changes."* ]]
	run --separate-stderr "$SANDFORM" plan m --stack one
	[ "$status" -eq 0 ]
	[ "$output" = "No changes." ]
}

@test "--refresh=false plans from the recorded state without any request" {
	sbx web
	"$SANDFORM" apply m --auto-approve >/dev/null 2>&1
	emu_hook DELETE /requests >/dev/null
	sbx web "  public: true"
	run --separate-stderr "$SANDFORM" plan m --refresh=false --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json 'd["refreshed"], [(a["name"], a["action"]) for a in d["actions"]]')" = "(False, [('web', 'update')])" ]
	[ "$(emu_requests | wc -l)" = 0 ]
}

@test "manifest errors fail the plan before any request" {
	printf 'apiVersion: sandform.dev/v1\nkind: Sandbox\nmetadata: {name: x}\nspec: {cpu: 2}\n' >m/bad.yaml
	run --separate-stderr "$SANDFORM" plan m
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"m/bad.yaml:4"* ]]
	[ "$(emu_requests | wc -l)" = 0 ]
}

@test "a locked stack is planned but nothing is recorded" {
	sbx web
	"$SANDFORM" apply m --auto-approve >/dev/null 2>&1
	rm -rf .sandform
	"$SANDFORM" state list >/dev/null
	"$SANDFORM" state import other sb-x --stack elsewhere >/dev/null
	# a running apply holds the lock (a process that takes it and waits)
	"$SF_BUILDDIR/tests/store-tool" .sandform/state.db hold-lock info=apply >lock.id 3>&- &
	holder=$!
	for ((i = 0; i < 100; i++)); do [ -s lock.id ] && break; sleep 0.05; done
	run --separate-stderr "$SANDFORM" plan m
	[ "$status" -eq 0 ]
	[ "$output" = "No changes." ]
	[[ "$stderr" == *"stack 'default' is locked by apply (pid $holder on $(uname -n)); planning without recording"* ]]
	[ "$("$SANDFORM" state info --json | json 'd["counts"]["records"]')" = 0 ]
	# once free, the plan records the rebuilt state and releases the lock
	"$SANDFORM" force-unlock "$(cat lock.id)" >/dev/null 2>&1
	kill "$holder"
	wait "$holder" || true
	run --separate-stderr "$SANDFORM" plan m
	[ "$status" -eq 0 ]
	[ "$("$SANDFORM" state info --json | json 'd["counts"]["records"], d["lock"]')" = "(1, None)" ]
}
