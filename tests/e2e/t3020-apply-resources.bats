#!/usr/bin/env bats
# Declared volumes and snapshots against daytona-emulator (issue 14): they
# are created before the sandboxes that use them (and waited for), the
# next plan is empty; a reference to one that neither exists nor is
# declared is a plan error at the manifest's file:line:column; removed,
# they are deleted after the sandboxes that used them; one still used by a
# sandbox outside the stack is kept (said in the plan); a snapshot whose
# build fails fails the apply with the API's errorReason and the sandbox
# that needs it is not created; destroy deletes them last; state list
# shows their records.

bats_require_minimum_version 1.5.0

load lib/emulator
load lib/apply

setup() { apply_setup --transition-ms 30; }
teardown() { emu_stop; }

# res: m/res.yaml, volume data1 and snapshot py1 (EXTRA: more snapshot spec)
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

@test "volume and snapshot are created before the sandbox that uses them; the next plan is empty" {
	res
	user w1
	run --separate-stderr "$SANDFORM" plan m --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | emu_json '[(r["kind"], r["name"], r["action"]) for r in d["resources"]]')" = '[["volume", "data1", "create"], ["snapshot", "py1", "create"]]' ]
	[ "$(echo "$output" | emu_json 'd["summary"]["create"]')" = 3 ]
	run --separate-stderr "$SANDFORM" apply m --auto-approve
	echo "$output$stderr"
	[ "$status" -eq 0 ]
	[[ "$output" == *"volume/data1: create done"* ]]
	[[ "$output" == *"snapshot/py1: create done"* ]]
	# order: the volume, the snapshot, then the sandbox
	[ "$(calls | tr '\n' ,)" = "POST volumes,POST snapshots,POST sandbox," ]
	[ "$(emu_api GET /volumes/by-name/data1 | emu_json 'd["state"]')" = ready ]
	[ "$(emu_api GET /snapshots/py1 | emu_json 'd["state"]')" = active ]
	[ "$(emu_api GET /snapshots/py1 | emu_json 'd["cpu"]')" = 2 ]
	[ "$(emu_api GET /sandbox/w1 | emu_json 'd["state"]')" = started ]
	emu_hook DELETE /requests >/dev/null
	run --separate-stderr "$SANDFORM" plan m --detailed-exitcode
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"No changes."* ]]
	# up to date: the stack's list page, the volumes, the snapshot; no
	# walk of the organization
	emu_requests
	[ "$(emu_requests | grep -c '"path":"/api/sandbox"')" = 1 ]
	[ "$(emu_requests | wc -l)" = 3 ]
	run --separate-stderr "$SANDFORM" state list
	echo "$output"
	[[ "$output" == *"<volume>data1"* ]]
	[[ "$output" == *"<snapshot>py1"* ]]
	# a changed image replaces the snapshot, and the sandbox built
	# from it
	res python:3.13
	run --separate-stderr "$SANDFORM" plan m
	echo "$output"
	[[ "$output" == *"-/+ snapshot py1 (replace)"* ]]
	[[ "$output" == *"spec.image: python:3.12 -> python:3.13"* ]]
	[[ "$output" == *"-/+ w1 (replace)"*"snapshot py1 is replaced"* ]]
	[[ "$output" == *"2 to replace"* ]]
}

@test "a reference to a volume or snapshot that neither exists nor is declared is a plan error at its line" {
	printf '%s\n' 'apiVersion: sandform.dev/v1' 'kind: Sandbox' \
		'metadata: {name: lost}' 'spec:' '  snapshot: nowhere' \
		'  volumes: [{volume: ghost, mountPath: /data}]' >m/lost.yaml
	run --separate-stderr "$SANDFORM" plan m
	echo "$output$stderr"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"m/lost.yaml:5:13: spec.snapshot: snapshot 'nowhere' neither exists in Daytona nor is declared"* ]]
	[[ "$stderr" == *"m/lost.yaml:6:12: spec.volumes[0].volume: volume 'ghost' neither exists in Daytona nor is declared"* ]]
	run --separate-stderr "$SANDFORM" apply m --auto-approve
	[ "$status" -eq 1 ]
	[ "$(calls | wc -l)" -eq 0 ]
	# a server snapshot exists: no error
	sed -i 's/nowhere/daytona-small/; /volumes:/d' m/lost.yaml
	run --separate-stderr "$SANDFORM" plan m
	echo "$output$stderr"
	[ "$status" -eq 0 ]
}

@test "removed from the manifests: the sandbox goes first, then its volume and snapshot" {
	res
	user w1
	run --separate-stderr "$SANDFORM" apply m --auto-approve
	[ "$status" -eq 0 ]
	rm m/res.yaml m/w1.yaml
	run --separate-stderr "$SANDFORM" plan m --allow-mass-delete
	echo "$output"
	[[ "$output" == *"- volume data1 (delete)"* ]]
	[[ "$output" == *"- snapshot py1 (delete)"* ]]
	[[ "$output" == *"3 to delete"* ]]
	run --separate-stderr "$SANDFORM" apply m --allow-mass-delete --auto-approve
	echo "$output$stderr"
	[ "$status" -eq 0 ]
	[ "$(calls | tr '\n' ,)" = "POST volumes,POST snapshots,POST sandbox,DELETE sandbox,DELETE volumes,DELETE snapshots," ]
	[ "$(emu_api GET /volumes | emu_json 'len(d)')" = 0 ]
	run --separate-stderr "$SANDFORM" state list
	echo "$output$stderr"
	[[ "$output$stderr" != *"<volume>"* ]]
	[[ "$output$stderr" != *"<snapshot>"* ]]
}

@test "still used by a sandbox outside the stack: kept, never deleted, and the plan says so" {
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
	# a snapshot used outside the stack is never replaced
	res python:3.13
	run --separate-stderr "$SANDFORM" plan m
	echo "$output$stderr"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"cannot replace snapshot 'py1' (spec.image: python:3.12 -> python:3.13): in use by sandbox w2 outside the stack"* ]]
	rm m/res.yaml m/w1.yaml
	run --separate-stderr "$SANDFORM" plan m --allow-mass-delete
	echo "$output"
	[[ "$output" == *"= volume data1 (keep)"*"in use by sandbox w2 outside the stack; not deleted"* ]]
	[[ "$output" == *"= snapshot py1 (keep)"*"in use by sandbox w2 outside the stack; not deleted"* ]]
	[[ "$output" == *"1 to delete"* ]]
	run --separate-stderr "$SANDFORM" apply m --allow-mass-delete --auto-approve
	echo "$output$stderr"
	[ "$status" -eq 0 ]
	[ "$(emu_api GET /volumes/by-name/data1 | emu_json 'd["state"]')" = ready ]
	[ "$(emu_api GET /snapshots/py1 | emu_json 'd["state"]')" = active ]
	[ -z "$(calls | grep -E 'DELETE (volumes|snapshots)')" ]
	# keep is not a change
	run --separate-stderr "$SANDFORM" plan m --detailed-exitcode
	[ "$status" -eq 0 ]
	# once the outsider is gone, the stack deletes what it created
	run --separate-stderr "$SANDFORM" --stack other --state other.db destroy --auto-approve
	[ "$status" -eq 0 ]
	run --separate-stderr "$SANDFORM" apply m --allow-mass-delete --auto-approve
	echo "$output$stderr"
	[ "$status" -eq 0 ]
	[ "$(emu_api GET /volumes | emu_json 'len(d)')" = 0 ]
}

@test "a snapshot whose build fails: the apply fails with the errorReason; its sandbox is not created" {
	printf '%s\n' 'apiVersion: sandform.dev/v1' 'kind: Snapshot' \
		'metadata: {name: broken}' 'spec:' '  build:' \
		'    dockerfile: "FROM python:3.12\nRUN false\n"' >m/res.yaml
	printf '%s\n' 'apiVersion: sandform.dev/v1' 'kind: Sandbox' \
		'metadata: {name: needs}' 'spec: {snapshot: broken}' >m/needs.yaml
	printf '%s\n' 'apiVersion: sandform.dev/v1' 'kind: Sandbox' \
		'metadata: {name: alone}' 'spec: {snapshot: daytona-small}' >m/alone.yaml
	run --separate-stderr "$SANDFORM" apply m --auto-approve
	echo "$output$stderr"
	[ "$status" -eq 1 ]
	[[ "$output" == *"snapshot/broken: create failed"*"is in state error: Failed to build snapshot: The command '/bin/sh -c false' returned a non-zero code: 1"* ]]
	[[ "$output" == *"needs: create failed"*"not run: needs snapshot 'broken' failed"* ]]
	[[ "$output" == *"alone: create done"* ]]
	[ "$(live_names | tr '\n' ,)" = "alone," ]
	# the next plan replaces the failed snapshot, saying why
	run --separate-stderr "$SANDFORM" plan m
	echo "$output"
	[[ "$output" == *"-/+ snapshot broken (replace)"*"state error: Failed to build snapshot"* ]]
}

@test "destroy deletes the stack's volumes and snapshots after its sandboxes" {
	res
	user w1
	run --separate-stderr "$SANDFORM" apply m --auto-approve
	[ "$status" -eq 0 ]
	run --separate-stderr "$SANDFORM" destroy --auto-approve
	echo "$output$stderr"
	[ "$status" -eq 0 ]
	[ "$(calls | tr '\n' ,)" = "POST volumes,POST snapshots,POST sandbox,DELETE sandbox,DELETE volumes,DELETE snapshots," ]
	[ "$(emu_api GET /volumes | emu_json 'len(d)')" = 0 ]
	[ "$(emu_api GET /snapshots | emu_json 'd["total"]')" = 0 ]
}

@test "preventDestroy refuses deleting a declared volume" {
	printf '%s\n' 'apiVersion: sandform.dev/v1' 'kind: Volume' \
		'metadata: {name: keepme}' 'spec:' \
		'  lifecycle: {preventDestroy: true}' >m/v.yaml
	run --separate-stderr "$SANDFORM" apply m --auto-approve
	[ "$status" -eq 0 ]
	run --separate-stderr "$SANDFORM" destroy --auto-approve
	echo "$output$stderr"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"refusing to destroy volume 'keepme': lifecycle.preventDestroy is set"* ]]
	[ "$(emu_api GET /volumes/by-name/keepme | emu_json 'd["state"]')" = ready ]
}

@test "state import-volume and import-snapshot adopt live ones; state rm forgets without touching them" {
	emu_api POST /volumes '{"name":"old-vol"}' >/dev/null
	emu_api POST /snapshots '{"name":"old-snap","imageName":"python:3.12"}' >/dev/null
	sleep 0.3
	run --separate-stderr "$SANDFORM" state import-volume old-vol
	echo "$output$stderr"
	[ "$status" -eq 0 ]
	run --separate-stderr "$SANDFORM" state import-snapshot old-snap
	[ "$status" -eq 0 ]
	run --separate-stderr "$SANDFORM" state import-snapshot daytona-small
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"a server snapshot"* ]]
	run --separate-stderr "$SANDFORM" state import-volume nowhere
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"no such one in the organization"* ]]
	run --separate-stderr "$SANDFORM" state list
	[[ "$output" == *"<volume>old-vol"* ]]
	# imported and not declared: the next plan deletes them
	touch m/empty.yaml
	run --separate-stderr "$SANDFORM" plan m
	echo "$output"
	[[ "$output" == *"- volume old-vol (delete)"* ]]
	[[ "$output" == *"- snapshot old-snap (delete)"* ]]
	# declared: kept as they are
	printf '%s\n' 'apiVersion: sandform.dev/v1' 'kind: Volume' \
		'metadata: {name: old-vol}' >m/v.yaml
	run --separate-stderr "$SANDFORM" plan m
	[[ "$output" != *"old-vol"* ]]
	run --separate-stderr "$SANDFORM" state rm '<snapshot>old-snap'
	echo "$output$stderr"
	[ "$status" -eq 0 ]
	[[ "$output" == *"it is untouched in Daytona"* ]]
	run --separate-stderr "$SANDFORM" plan m --detailed-exitcode
	[ "$status" -eq 0 ]
	[ "$(emu_api GET /snapshots/old-snap | emu_json 'd["state"]')" = active ]
}

@test "killed while a snapshot builds: the next apply adopts it, waits for it, and creates the sandbox" {
	emu_stop
	emu_start --transition-ms 30 --build-ms 8000
	res
	user w1
	"$SANDFORM" apply m --auto-approve >apply1.log 2>&1 &
	pid=$!
	for i in $(seq 400); do
		calls | grep -q 'POST snapshots' && break
		sleep 0.05
	done
	sleep 0.5
	kill -9 "$pid"
	wait "$pid" || true
	cat apply1.log
	[ "$(emu_api GET /snapshots/py1 | emu_json 'd["state"]')" != active ]
	run --separate-stderr "$SANDFORM" state list
	echo "$output"
	[[ "$output" == *"<snapshot>py1"* ]]
	run --separate-stderr "$SANDFORM" apply m --auto-approve
	echo "$output$stderr"
	[ "$status" -eq 0 ]
	[ "$(calls | grep -c 'POST snapshots')" = 1 ]
	[ "$(calls | grep -c 'POST volumes')" = 1 ]
	[ "$(emu_api GET /sandbox/w1 | emu_json 'd["state"]')" = started ]
	run --separate-stderr "$SANDFORM" plan m --detailed-exitcode
	[ "$status" -eq 0 ]
}

@test "a replaced snapshot replaces the stack's sandboxes built from it: old sandboxes, old snapshot, new snapshot, new sandboxes" {
	res
	user w1
	user w2
	user w3
	printf '%s\n' 'apiVersion: sandform.dev/v1' 'kind: Sandbox' \
		'metadata: {name: other}' 'spec: {snapshot: daytona-small}' >m/other.yaml
	run --separate-stderr "$SANDFORM" apply m --auto-approve
	echo "$output$stderr"
	[ "$status" -eq 0 ]
	old1=$(emu_api GET /sandbox/w1 | emu_json 'd["id"]')
	oldo=$(emu_api GET /sandbox/other | emu_json 'd["id"]')
	res python:3.13
	# w3, removed at the same time, is deleted before the snapshot too
	rm m/w3.yaml
	run --separate-stderr "$SANDFORM" plan m
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"- w3 (delete)"* ]]
	[[ "$output" == *"-/+ snapshot py1 (replace)"* ]]
	[[ "$output" == *"w1"*"spec.snapshot: \"py1\" -> (rebuilt); snapshot py1 is replaced (forces replacement)"* ]]
	[[ "$output" == *"w2"*"snapshot py1 is replaced"* ]]
	[[ "$output" == *"3 to replace"* ]]
	run --separate-stderr "$SANDFORM" plan m --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | emu_json '[(a["name"], a["action"]) for a in d["actions"]]')" = '[["w1", "replace"], ["w2", "replace"], ["w3", "delete"]]' ]
	[ "$(echo "$output" | emu_json '[(r["field"], r["note"], r["forces_replace"]) for r in d["actions"][0]["reasons"] if r.get("note")]')" = '[["spec.snapshot", "snapshot py1 is replaced", true]]' ]
	emu_hook DELETE /requests >/dev/null
	run --separate-stderr "$SANDFORM" apply m --auto-approve
	echo "$output$stderr"
	[ "$status" -eq 0 ]
	# the old sandboxes go, then the old snapshot; the new one is built
	# before the new sandboxes are created
	[ "$(calls | tr '\n' ,)" = "DELETE sandbox,DELETE sandbox,DELETE sandbox,DELETE snapshots,POST snapshots,POST sandbox,POST sandbox," ]
	[[ "$output" == *"Apply complete: 4 of 4 done, 0 failed"* ]]
	[ -z "$(live_names | grep -x w3)" ]
	[ "$(emu_api GET /snapshots/py1 | emu_json 'd["imageName"]')" = python:3.13 ]
	[ "$(emu_api GET /sandbox/w1 | emu_json 'd["state"]')" = started ]
	[ "$(emu_api GET /sandbox/w1 | emu_json 'd["id"]')" != "$old1" ]
	[ "$(emu_api GET /sandbox/other | emu_json 'd["id"]')" = "$oldo" ]

	run --separate-stderr "$SANDFORM" plan m --detailed-exitcode
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "a platform secret deleted after plan --out: apply refuses before creating any volume, snapshot or sandbox" {
	emu_secrets api-key
	res
	printf '%s\n' 'apiVersion: sandform.dev/v1' 'kind: Sandbox' \
		'metadata: {name: w1}' 'spec:' '  snapshot: py1' \
		'  volumes: [{volume: data1, mountPath: /data}]' \
		'  secrets:' '    API_KEY: api-key' >m/w1.yaml
	run --separate-stderr "$SANDFORM" plan m --out saved.plan
	echo "$output$stderr"
	[ "$status" -eq 0 ]
	id=$(emu_api GET /secret | emu_json '[s["id"] for s in d if s["name"] == "api-key"][0]')
	emu_api DELETE "/secret/$id" >/dev/null
	[ "$(emu_api GET /secret | emu_json 'len(d)')" = 0 ]
	emu_hook DELETE /requests >/dev/null
	run --separate-stderr "$SANDFORM" apply saved.plan --auto-approve
	echo "$output$stderr"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"m/w1.yaml"*"spec.secrets.API_KEY: the organization has no secret 'api-key'"*"nothing was changed"* ]]
	# one GET /secret, nothing created
	[ "$(emu_requests | grep -c '"path":"/api/secret"')" = 1 ]
	[ -z "$(calls)" ]
	[ "$(emu_api GET /volumes | emu_json 'len(d)')" = 0 ]
	[ -z "$(live_names)" ]
	emu_api GET /snapshots/py1 >/dev/null || true
	[ "$EMU_STATUS" = 404 ]
	# the same from the manifests: plan refuses it at its line
	run --separate-stderr "$SANDFORM" apply m --auto-approve
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"m/w1.yaml:8:"*"spec.secrets.API_KEY: the organization has no secret 'api-key'"* ]]
	[ -z "$(calls)" ]
}

@test "a secretEnv not set when a saved plan is applied: refused before creating any volume or snapshot" {
	res
	printf '%s\n' 'apiVersion: sandform.dev/v1' 'kind: Sandbox' \
		'metadata: {name: w1}' 'spec:' '  snapshot: py1' \
		'  env: {TOKEN: {secretEnv: SF_T3020_TOKEN}}' >m/w1.yaml
	SF_T3020_TOKEN=t0ken run --separate-stderr "$SANDFORM" plan m --out saved.plan
	[ "$status" -eq 0 ]
	unset SF_T3020_TOKEN
	run --separate-stderr "$SANDFORM" apply saved.plan --auto-approve
	echo "$output$stderr"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"SF_T3020_TOKEN' is not set"*"nothing was changed"* ]]
	[ -z "$(calls)" ]
	[ "$(emu_api GET /volumes | emu_json 'len(d)')" = 0 ]
}

# outsider_gets: the GETs of single sandboxes in the request log
outsider_gets() {
	emu_requests | grep -c '"method":"GET","path":"/api/sandbox/' || true
}

@test "the users of a volume to delete: one GET per outsider, in parallel, and none while the stack still references it" {
	emu_stop
	emu_start --transition-ms 30 --latency-ms 250
	printf '%s\n' 'apiVersion: sandform.dev/v1' 'kind: Volume' \
		'metadata: {name: data1}' >m/vol.yaml
	printf '%s\n' 'apiVersion: sandform.dev/v1' 'kind: Sandbox' \
		'metadata: {name: w1}' 'spec:' '  snapshot: daytona-small' \
		'  volumes: [{volume: data1, mountPath: /data}]' >m/w1.yaml
	run --separate-stderr "$SANDFORM" apply m --auto-approve
	echo "$output$stderr"
	[ "$status" -eq 0 ]
	emu_hook POST /seed '{"count":32,"namePrefix":"out-","create":{"snapshot":"daytona-small"}}' >/dev/null
	# no longer declared but still referenced by w1: kept, and nobody
	# outside the stack is looked for (no walk, no GET)
	rm m/vol.yaml
	emu_hook DELETE /requests >/dev/null
	run --separate-stderr "$SANDFORM" plan m
	echo "$output$stderr"
	[ "$status" -eq 0 ]
	[[ "$output" == *"= volume data1 (keep)"*"still referenced by sandbox w1 of the stack"* ]]
	[ "$(outsider_gets)" = 0 ]
	[ "$(emu_requests | grep -c '"path":"/api/sandbox"')" = 1 ]
	# a delete: the organization is walked and each of the 32 outsiders
	# is a GET (list items carry no volumes), 8 at a time: the emulator
	# holds each for 250 ms, so one after another it never holds more
	# than one at once
	rm m/w1.yaml
	emu_hook DELETE /requests >/dev/null
	run --separate-stderr "$SANDFORM" plan m --allow-mass-delete
	echo "$output$stderr"
	[ "$status" -eq 0 ]
	[[ "$output" == *"- volume data1 (delete)"* ]]
	[ "$(outsider_gets)" = 32 ]
	max=$(emu_hook GET /counters | emu_json 'd["maxWaiting"]')
	echo "most calls held at once: $max"
	[ "$max" -ge 4 ]
}
