#!/usr/bin/env bats
# Ownership in plans: foreign sandboxes are never touched, a name held by
# one fails the plan, --show-unmanaged lists them, a lost state file is
# rebuilt from the labels without duplicates, removed manifests are deletes
# behind the mass-delete guard and preventDestroy, and state import adopts.

bats_require_minimum_version 1.5.0

load lib/emulator
load lib/plan

setup() { plan_setup; }
teardown() { emu_stop; }

foreign() {
	emu_api POST /sandbox "{\"name\":\"$1\",\"labels\":{\"owner\":\"bob\"}}" >/dev/null
	[ "$(cat "$BATS_TEST_TMPDIR/emu.status")" = 200 ]
}

@test "foreign sandboxes are untouched; a foreign name fails the plan" {
	foreign other
	sbx web
	run --separate-stderr "$SANDFORM" plan m --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json '[(a["name"], a["action"]) for a in d["actions"]]')" = "[('web', 'create')]" ]
	foreign web
	emu_hook DELETE /requests >/dev/null
	run --separate-stderr "$SANDFORM" plan m
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"a sandbox named 'web' (id "*") already exists in the organization and is not managed by stack 'default'; adopt it with 'sandform state import web "* ]]
	# the headline is the failure, not "No changes."
	[[ "$output" != *"No changes."* ]]
	[[ "$output" == *"Plan failed: 1 error (reported on stderr); nothing would be applied."* ]]
	run --separate-stderr "$SANDFORM" plan m --out p.json
	[ "$status" -eq 1 ]
	[ ! -e p.json ]
	only_gets
}

@test "--show-unmanaged lists the organization's sandboxes no stack owns" {
	foreign other
	foreign stray
	sbx web
	"$SANDFORM" apply m --auto-approve >/dev/null 2>&1
	run --separate-stderr "$SANDFORM" plan m --show-unmanaged
	[ "$status" -eq 0 ]
	[[ "$output" == *"Unmanaged sandboxes in the organization (2):"* ]]
	[[ "$output" == *"    other  "* ]]
	[[ "$output" == *"    stray  "* ]]
	[[ "$output" != *"    web  "* ]]
	run --separate-stderr "$SANDFORM" plan m --show-unmanaged --json
	[ "$(echo "$output" | json 'sorted(u["name"] for u in d["unmanaged"])')" = "['other', 'stray']" ]
}

@test "lost state file: rebuilt from the labels, no duplicates, no diff" {
	sbx web
	sbx api
	"$SANDFORM" apply m --auto-approve >/dev/null 2>&1
	rm -rf .sandform
	emu_hook DELETE /requests >/dev/null
	run --separate-stderr "$SANDFORM" plan m --detailed-exitcode
	[ "$status" -eq 0 ]
	[ "$output" = "No changes." ]
	[[ "$stderr" == *"rebuilt from the labels of 2 live sandboxes"* ]]
	run "$SANDFORM" state list --json
	[ "$(echo "$output" | json 'sorted(r["name"] for r in d["records"])')" = "['api', 'web']" ]
	[ "$(emu_api GET /sandbox | json 'len(d["items"])')" = 2 ]
	only_gets
}

@test "removed manifest: delete; the mass-delete guard; preventDestroy" {
	sbx a
	sbx b
	sbx c
	"$SANDFORM" apply m --auto-approve >/dev/null 2>&1
	rm m/c.yaml
	run --separate-stderr "$SANDFORM" plan m --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json '[(a["name"], a["action"], a["source"]) for a in d["actions"]]')" = "[('c', 'delete', 'removed from manifests')]" ]
	# two of three: refused unless asked for
	rm m/b.yaml
	run --separate-stderr "$SANDFORM" plan m
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"refusing to delete 2 of the 3 sandboxes of stack 'default'"*"--allow-mass-delete"* ]]
	run --separate-stderr "$SANDFORM" plan m --allow-mass-delete
	[ "$status" -eq 0 ]
	[[ "$output" == *"Plan: 0 to create, 0 to update, 0 to replace, 2 to delete."* ]]
	# preventDestroy refuses even after the manifest is gone
	sbx b "  lifecycle: {preventDestroy: true}"
	sbx c
	"$SANDFORM" apply m --auto-approve >/dev/null 2>&1
	rm m/b.yaml
	run --separate-stderr "$SANDFORM" plan m
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"refusing to delete 'b' (removed from manifests): lifecycle.preventDestroy is set"* ]]
}

@test "state import adopts a sandbox: the plan puts sandform's labels on it" {
	foreign web
	id=$(emu_api GET /sandbox/web | json 'd["id"]')
	sbx web
	"$SANDFORM" state import web "$id" >/dev/null
	run --separate-stderr "$SANDFORM" plan m --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json '[(a["name"], a["action"], a["sandbox_id"]) for a in d["actions"]]')" = "[('web', 'update', '$id')]" ]
	# the merged map keeps the owner's label
	[ "$(echo "$output" | json 'd["actions"][0]["steps"][0]["labels"]["owner"], d["actions"][0]["steps"][0]["labels"]["sandform.dev/stack"]')" = "('bob', 'default')" ]
}

# r45 A4: an imported sandbox has no spec label, so the list cannot vouch
# for its create-only fields: its GET by id is compared with the manifest.
@test "state import: a different env value forces a replace naming the key, never showing the live value" {
	emu_api POST /sandbox '{"name":"imp","snapshot":"daytona-small","env":{"A":"live-secret-1"}}' >/dev/null
	id=$(emu_api GET /sandbox/imp | json 'd["id"]')
	sbx imp '  env: {A: "2"}'
	"$SANDFORM" state import imp "$id" >/dev/null
	emu_hook DELETE /requests >/dev/null
	run --separate-stderr "$SANDFORM" plan m --detailed-exitcode
	[ "$status" -eq 2 ]
	[[ "$output" == *"-/+ imp (replace)"* ]]
	[[ "$output" == *'spec.env.A: (not shown) -> "2" (forces replacement)'* ]]
	[[ "$output$stderr" != *live-secret-1* ]]
	only_gets
	# the same value: adopted in place (labels only)
	sbx imp '  env: {A: "live-secret-1"}'
	run --separate-stderr "$SANDFORM" plan m --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json '[(a["name"], a["action"]) for a in d["actions"]]')" = "[('imp', 'update')]" ]
}
