#!/usr/bin/env bats
# Declared volumes and snapshots in the stack-wide machinery (issue 14):
# destroy keeps the records of those it kept because a sandbox outside the
# stack uses them (a later destroy deletes them); a saved plan is refused
# when a volume or snapshot it touches changed since; --target names them
# (<volume>NAME, <snapshot>NAME) and a targeted sandbox brings along what
# it needs created; the mass-delete guard counts their deletes; drift
# reports a declared one that is missing or unusable.

bats_require_minimum_version 1.5.0

load lib/emulator
load lib/apply

setup() { apply_setup --transition-ms 30; }
teardown() { emu_stop; }

# res: m/res.yaml, volume data1 and snapshot py1
res() {
	printf '%s\n' 'apiVersion: sandform.dev/v1' 'kind: Volume' \
		'metadata:' '  name: data1' '---' \
		'apiVersion: sandform.dev/v1' 'kind: Snapshot' \
		'metadata:' '  name: py1' 'spec:' "  image: ${1:-python:3.12}" \
		'  resources: {cpu: 2, memory: 2, disk: 4}' >m/res.yaml
}

# user NAME: m/NAME.yaml, a sandbox of snapshot py1 mounting data1
user() {
	printf '%s\n' 'apiVersion: sandform.dev/v1' 'kind: Sandbox' \
		"metadata: {name: $1}" 'spec:' '  snapshot: py1' \
		'  volumes: [{volume: data1, mountPath: /data}]' >"m/$1.yaml"
}

# calls: the mutating requests in order, "METHOD PATH-KIND"
calls() {
	emu_requests | python3 -c '
import json, sys
for l in sys.stdin:
    if not l.strip():
        continue
    r = json.loads(l)
    if r["method"] in ("POST", "DELETE") and 200 <= r["status"] < 300:
        print(r["method"], r["path"].split("/")[2])
'
}

@test "destroy keeps the records of what it kept for a sandbox outside the stack; a later destroy deletes them" {
	res
	user w1
	run --separate-stderr "$SANDFORM" apply m --auto-approve
	[ "$status" -eq 0 ]
	mkdir -p other
	user w2
	mv m/w2.yaml other/
	run --separate-stderr "$SANDFORM" --stack other --state other.db apply other --auto-approve
	echo "$output$stderr"
	[ "$status" -eq 0 ]
	run --separate-stderr "$SANDFORM" destroy --auto-approve
	echo "$output$stderr"
	[ "$status" -eq 0 ]
	[ "$(emu_api GET /volumes/by-name/data1 | emu_json 'd["state"]')" = ready ]
	[ "$(emu_api GET /snapshots/py1 | emu_json 'd["state"]')" = active ]
	run --separate-stderr "$SANDFORM" state list
	echo "$output$stderr"
	[[ "$output" == *"<volume>data1"* ]]
	[[ "$output" == *"<snapshot>py1"* ]]
	[[ "$output" != *"w1"* ]]
	# still in use: a second destroy keeps them again, and says so
	run --separate-stderr "$SANDFORM" destroy --auto-approve
	echo "$output$stderr"
	[ "$status" -eq 0 ]
	[[ "$output" == *"= volume data1 (keep)"* ]]
	run --separate-stderr "$SANDFORM" state list
	[[ "$output" == *"<volume>data1"* ]]
	# the outsider gone, the stack's destroy deletes them and forgets
	run --separate-stderr "$SANDFORM" --stack other --state other.db destroy --auto-approve
	[ "$status" -eq 0 ]
	run --separate-stderr "$SANDFORM" destroy --auto-approve
	echo "$output$stderr"
	[ "$status" -eq 0 ]
	[ "$(emu_api GET /volumes | emu_json 'len(d)')" = 0 ]
	[ "$(emu_api GET /snapshots | emu_json 'd["total"]')" = 0 ]
	run --separate-stderr "$SANDFORM" state list
	[[ "$output" != *"<volume>"* ]]
	[[ "$output" != *"<snapshot>"* ]]
}

@test "a saved plan is refused when a volume or snapshot it touches changed since" {
	res
	"$SANDFORM" plan m --out p.json >/dev/null
	# the volume to create exists now
	emu_api POST /volumes '{"name":"data1"}' >/dev/null
	run --separate-stderr "$SANDFORM" apply --auto-approve p.json
	echo "$output$stderr"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"saved plan is stale: volume 'data1' exists now"* ]]
	[ -z "$(calls | grep 'POST snapshots')" ]
	# the snapshot to delete is gone
	run --separate-stderr "$SANDFORM" apply m --auto-approve
	echo "$output$stderr"
	[ "$status" -eq 0 ]
	rm m/res.yaml
	touch m/empty.yaml
	"$SANDFORM" plan m --allow-mass-delete --out p2.json >/dev/null
	id=$(emu_api GET /snapshots/py1 | emu_json 'd["id"]')
	emu_api DELETE "/snapshots/$id" >/dev/null
	sleep 0.3
	emu_hook DELETE /requests >/dev/null
	run --separate-stderr "$SANDFORM" apply --auto-approve p2.json
	echo "$output$stderr"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"saved plan is stale: snapshot 'py1' ($id) no longer exists"* ]]
	[ -z "$(calls | grep DELETE)" ]
	[ "$(emu_api GET /volumes/by-name/data1 | emu_json 'd["state"]')" = ready ]
	# made again under the same name: another id, still stale
	emu_api POST /snapshots '{"name":"py1","imageName":"python:3.12"}' >/dev/null
	run --separate-stderr "$SANDFORM" apply --auto-approve p2.json
	echo "$output$stderr"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"saved plan is stale: snapshot 'py1' changed since the plan was made (id $id, now "* ]]
}

@test "the mass-delete guard counts the deletes of volumes and snapshots" {
	res
	run --separate-stderr "$SANDFORM" apply m --auto-approve
	[ "$status" -eq 0 ]
	rm m/res.yaml
	touch m/empty.yaml
	run --separate-stderr "$SANDFORM" plan m
	echo "$output$stderr"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"refusing to delete 2 of the 2 sandboxes, volumes and snapshots of stack"*"--allow-mass-delete"* ]]
	run --separate-stderr "$SANDFORM" apply m --auto-approve
	[ "$status" -eq 1 ]
	[ "$(emu_api GET /volumes | emu_json 'len(d)')" = 1 ]
	# one of three (a sandbox stays) is under the half
	res
	user w1
	sed -i '/volumes:/d; s/snapshot: py1/snapshot: daytona-small/' m/w1.yaml
	run --separate-stderr "$SANDFORM" apply m --auto-approve
	[ "$status" -eq 0 ]
	printf '%s\n' 'apiVersion: sandform.dev/v1' 'kind: Volume' \
		'metadata:' '  name: data1' >m/res.yaml
	run --separate-stderr "$SANDFORM" plan m
	echo "$output$stderr"
	[ "$status" -eq 0 ]
	[[ "$output" == *"- snapshot py1 (delete)"* ]]
	rm m/res.yaml m/w1.yaml
	run --separate-stderr "$SANDFORM" apply m --allow-mass-delete --auto-approve
	echo "$output$stderr"
	[ "$status" -eq 0 ]
	[ "$(emu_api GET /volumes | emu_json 'len(d)')" = 0 ]
}

@test "--target names volumes and snapshots; a targeted sandbox brings along what it needs created" {
	res
	user w1
	printf '%s\n' 'apiVersion: sandform.dev/v1' 'kind: Sandbox' \
		'metadata: {name: w2}' 'spec: {snapshot: daytona-small}' >m/w2.yaml
	printf '%s\n' 'apiVersion: sandform.dev/v1' 'kind: Volume' \
		'metadata: {name: spare}' >m/spare.yaml
	run --separate-stderr "$SANDFORM" plan m --target w1 --json
	echo "$output$stderr"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | emu_json '[(r["kind"], r["name"], r["action"]) for r in d["resources"]]')" = '[["volume", "data1", "create"], ["snapshot", "py1", "create"]]' ]
	[ "$(echo "$output" | emu_json '[a["name"] for a in d["actions"]]')" = '["w1"]' ]
	run --separate-stderr "$SANDFORM" plan m --target '<volume>nosuch'
	echo "$output$stderr"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"--target <volume>nosuch: stack 'default' has no declared or recorded volume of that name"* || "$stderr" == *"--target <volume>nosuch: stack '"*"' has no declared or recorded volume of that name"* ]]
	run --separate-stderr "$SANDFORM" apply m --target '<volume>spare' --auto-approve
	echo "$output$stderr"
	[ "$status" -eq 0 ]
	[ "$(calls | tr '\n' ,)" = "POST volumes," ]
	[ "$(emu_api GET /volumes/by-name/spare | emu_json 'd["state"]')" = ready ]
	run --separate-stderr "$SANDFORM" apply m --target w1 --auto-approve
	echo "$output$stderr"
	[ "$status" -eq 0 ]
	[ "$(calls | tr '\n' ,)" = "POST volumes,POST volumes,POST snapshots,POST sandbox," ]
	[ "$(live_names | tr '\n' ,)" = "w1," ]
	run --separate-stderr "$SANDFORM" apply m --auto-approve
	[ "$status" -eq 0 ]
	# removed: deleted only when targeted
	rm m/spare.yaml
	run --separate-stderr "$SANDFORM" plan m --target w2
	echo "$output$stderr"
	[[ "$output" != *"spare"* ]]
	run --separate-stderr "$SANDFORM" plan m --target '<volume>spare'
	echo "$output$stderr"
	[ "$status" -eq 0 ]
	[[ "$output" == *"- volume spare (delete)"* ]]
	[[ "$output" != *"w1"* ]]
	# destroy --target a sandbox leaves the volumes, snapshots and their
	# records alone
	emu_hook DELETE /requests >/dev/null
	run --separate-stderr "$SANDFORM" destroy --target w1 --auto-approve
	echo "$output$stderr"
	[ "$status" -eq 0 ]
	[ "$(calls | tr '\n' ,)" = "DELETE sandbox," ]
	run --separate-stderr "$SANDFORM" state list
	[[ "$output" == *"<volume>data1"* ]]
	[[ "$output" == *"<volume>spare"* ]]
	[[ "$output" == *"w2"* ]]
	run --separate-stderr "$SANDFORM" destroy --target '<volume>spare' --auto-approve
	echo "$output$stderr"
	[ "$status" -eq 0 ]
	[ "$(calls | tr '\n' ,)" = "DELETE sandbox,DELETE volumes," ]
	run --separate-stderr "$SANDFORM" state list
	[[ "$output" != *"<volume>spare"* ]]
	[[ "$output" == *"<volume>data1"* ]]
}

@test "drift: a declared volume deleted outside sandform, a snapshot inactive; never applied is pending, not drift" {
	res
	run --separate-stderr "$SANDFORM" drift m
	echo "$output$stderr"
	[ "$status" -eq 0 ]
	[[ "$output" == *"2 changes from the manifests are pending"* ]]
	run --separate-stderr "$SANDFORM" apply m --auto-approve
	[ "$status" -eq 0 ]
	run --separate-stderr "$SANDFORM" drift m
	echo "$output$stderr"
	[ "$status" -eq 0 ]
	vid=$(emu_api GET /volumes/by-name/data1 | emu_json 'd["id"]')
	emu_api DELETE "/volumes/$vid" >/dev/null
	sid=$(emu_api GET /snapshots/py1 | emu_json 'd["id"]')
	emu_api POST "/snapshots/$sid/deactivate" >/dev/null
	sleep 0.3
	run --separate-stderr "$SANDFORM" drift m
	echo "$output$stderr"
	[ "$status" -eq 2 ]
	[[ "$output" == *"<volume>data1 (missing) volume: (deleted), expected (exists)"* ]]
	[[ "$output" == *"<snapshot>py1 (state) state: inactive: no sandbox can be created from it until it is activated, expected active"* ]]
	run --separate-stderr "$SANDFORM" drift m --json
	echo "$output$stderr"
	[ "$status" -eq 2 ]
	[ "$(echo "$output" | emu_json '[(x["name"], x["category"]) for x in d["findings"]]')" = '[["<volume>data1", "missing"], ["<snapshot>py1", "state"]]' ]
	[ "$(echo "$output" | emu_json 'd["counts"]')" = '{"missing": 1, "state": 1}' ]
	# apply puts the volume back
	run --separate-stderr "$SANDFORM" apply m --auto-approve
	echo "$output$stderr"
	[ "$status" -eq 0 ]
	[ "$(emu_api GET /volumes/by-name/data1 | emu_json 'd["state"]')" = ready ]
}

@test "drift: a snapshot of the stack whose build failed is drift (state)" {
	printf '%s\n' 'apiVersion: sandform.dev/v1' 'kind: Snapshot' \
		'metadata: {name: broken}' 'spec:' '  build:' \
		'    dockerfile: "FROM python:3.12\nRUN false\n"' >m/res.yaml
	run --separate-stderr "$SANDFORM" apply m --auto-approve
	[ "$status" -eq 1 ]
	run --separate-stderr "$SANDFORM" drift m
	echo "$output$stderr"
	[ "$status" -eq 2 ]
	[[ "$output" == *"<snapshot>broken (state) state: error: Failed to build snapshot"*", expected active"* ]]
}
